// A complete third-party controller for CityBrain: serve the phase with the
// longest queue. Plug it in with
//   npx citybrain simulate --roadnet R --flow F --plugin examples/longest-queue.mjs --controller longest-queue
//   npx citybrain serve --plugin examples/longest-queue.mjs
// The module's default export is a factory returning a Controller
// (see packages/control/README.md); `name` is how it is chosen.

/** @returns {import('@citybrain/control').Controller} */
export default function longestQueue() {
  return {
    name: 'longest-queue',
    decide(ix, status, env) {
      let best = status.green;
      let most = -1;
      for (const phase of ix.greens) {
        let queued = 0;
        for (const m of ix.movements[phase]) for (const lane of m.inLanes) queued += env.twin.laneWaitingCount(lane);
        if (queued > most) {
          most = queued;
          best = phase;
        }
      }
      return best;
    },
  };
}
