import type { Simulation } from './simulation.js';

/**
 * Replay in CityFlow's format, so its web player and ours read the same files:
 * a roadnet log (static geometry) and one text line per step with every
 * vehicle as `x y heading id laneChange length width,` followed after `;` by
 * each signalised road's lanes as `roadId g r …,` (g: all of the lane's
 * movements green, r: some red, i: unsignalised).
 */
export function replayRoadnet(sim: Simulation): object {
  const net = sim.net;
  const nodes = net.interIds.map((id, i) => {
    const w = net.interWidth[i] || 5;
    const x = net.interX[i], y = net.interY[i];
    return {
      id,
      point: [x, y],
      virtual: net.interVirtual[i] === 1,
      ...(net.interVirtual[i] ? {} : { width: net.interWidth[i] }),
      outline: [x - w, y - w, x + w, y - w, x + w, y + w, x - w, y + w],
    };
  });
  const edges = net.roadIds.map((id, r) => {
    const first = net.roadFirstLane[r];
    const n = net.roadLaneCount[r];
    // the road's own axis is the left edge of lane 0, recovered from the lane centre line
    const s = net.ptStart[first], e = net.ptStart[first + 1];
    const half = net.width[first] / 2;
    const points: number[][] = [];
    for (let p = s; p < e; p++) {
      const q = p + 1 < e ? p + 1 : p;
      const o = p + 1 < e ? p : p - 1;
      const dx = net.ptX[q] - net.ptX[o], dy = net.ptY[q] - net.ptY[o];
      const len = Math.hypot(dx, dy) || 1;
      points.push([net.ptX[p] - (dy / len) * half, net.ptY[p] + (dx / len) * half]);
    }
    return {
      id,
      from: net.interIds[net.roadStartInter[r]],
      to: net.interIds[net.roadEndInter[r]],
      points,
      nLane: n,
      laneWidths: Array.from(net.width.subarray(first, first + n)),
    };
  });
  return { static: { nodes, edges } };
}

/** Writes one step of replay; reuse one recorder per simulation to avoid reallocations. */
export class ReplayRecorder {
  private buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };
  constructor(private readonly sim: Simulation) {}

  frame(): string {
    const sim = this.sim;
    const net = sim.net;
    const n = sim.vehicleStates(this.buf);
    const { xyhs, ids } = this.buf;
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      const v = ids[k];
      // lane change is always 0: a lane change is made within one step, never seen under way
      parts.push(`${r2(xyhs[4 * k])} ${r2(xyhs[4 * k + 1])} ${r2(xyhs[4 * k + 2])} ${sim.vehicleId(v)} 0 ${r2(sim.vehicleLength(v))} ${r2(sim.vehicleWidth(v))},`);
    }
    parts.push(';');
    for (let r = 0; r < net.roadIds.length; r++) {
      const end = net.roadEndInter[r];
      if (net.interVirtual[end]) continue;
      let s = net.roadIds[r];
      const implicit = sim.phaseCount(end) <= 1;
      for (let l = net.roadFirstLane[r]; l < net.roadFirstLane[r] + net.roadLaneCount[r]; l++) {
        if (implicit) {
          s += ' i';
          continue;
        }
        let go = true;
        for (let o = net.laneOutStart[l]; o < net.laneOutStart[l + 1]; o++) if (!sim.linkGreen(net.laneOutList[o])) go = false;
        s += go ? ' g' : ' r';
      }
      parts.push(s + ',');
    }
    return parts.join('');
  }
}

function r2(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}
