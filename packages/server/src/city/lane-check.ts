import type { Network } from '@citybrain/engine';
import type { EventCheck } from '../ingest.js';

/**
 * Refuses a lane or plate event whose lane the network does not have, a
 * tracked object further from the stop line than the lane is long, or
 * whose lane is not on a road into the event's intersection (which is what
 * the token's scope allows): otherwise the estimate would take a report for
 * any lane of the city, a neighbour's approaches included (the roads leaving
 * an intersection are its neighbours' approach lanes), from a device scoped
 * to one intersection. An AVL position is refused alike when the network has
 * no such road or lane, or the lane is shorter than its distance.
 */
export function laneCheck(net: Network): EventCheck {
  return (e, path) => {
    if (e.kind === 'avl') {
      const r = net.roadIndex.get(e.road);
      if (r === undefined) return `${path}.road: the network has no road "${e.road}"`;
      const n = net.roadLaneCount[r];
      if (e.lane >= n) return `${path}.lane: road "${e.road}" has ${n} lane${n === 1 ? '' : 's'} (0..${n - 1}), not lane ${e.lane}`;
      const length = net.length[net.roadFirstLane[r] + e.lane];
      if (e.distance > length) return `${path}.distance: ${e.distance} m is beyond the end of lane ${e.road}_${e.lane} (${Math.round(length * 100) / 100} m long)`;
      return undefined;
    }
    if (e.kind !== 'lane' && !(e.kind === 'plate' && e.lane !== undefined)) return undefined;
    const lane = e.lane!;
    const l = net.laneIndex.get(lane);
    if (l === undefined) return `${path}.lane: the network has no lane "${lane}"`;
    if (net.interIndex.get(e.intersection) !== net.roadEndInter[net.laneRoad[l]]) {
      return `${path}.lane: lane "${lane}" is not on a road into intersection "${e.intersection}"`;
    }
    // a distance past the lane's start is measured from the wrong end, or in feet
    const far = e.kind === 'lane' ? e.objects?.findIndex((o) => o.distance > net.length[l]) ?? -1 : -1;
    if (far >= 0) {
      const d = (e as Extract<typeof e, { kind: 'lane' }>).objects![far].distance;
      return `${path}.objects[${far}].distance: ${d} m is beyond lane "${lane}", which is ${Math.round(net.length[l] * 10) / 10} m long (distance is metres to the stop line)`;
    }
    return undefined;
  };
}
