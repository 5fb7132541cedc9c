import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '@citybrain/control';
import type { NetworkView } from './contract.js';

export type { NetworkView } from './contract.js';

const TYPES = ['go_straight', 'turn_right', 'turn_left', 'go_straight'] as const;

export function networkView(net: Network, phases: readonly IntersectionPhases[], regions: { id: string; intersections: number[] }[]): NetworkView {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const byInter = new Map(phases.map((p) => [p.intersection, p]));
  const intersections = net.interIds.map((id, i) => {
    const ph = byInter.get(i);
    const nPhases = net.interPhaseStart[i + 1] - net.interPhaseStart[i];
    const rl0 = net.interRoadLinkStart[i];
    const list = [];
    for (let p = 0; p < nPhases; p++) {
      const avail = net.phaseAvailStart[net.interPhaseStart[i] + p];
      const movements = [];
      for (let r = rl0; r < net.interRoadLinkStart[i + 1]; r++) {
        if (!net.phaseAvail[avail + r - rl0]) continue;
        movements.push({ from: net.roadIds[net.roadLinkStartRoad[r]], to: net.roadIds[net.roadLinkEndRoad[r]], type: TYPES[net.roadLinkType[r]] ?? 'go_straight' });
      }
      list.push({ index: p, movements });
    }
    return {
      id, x: net.interX[i], y: net.interY[i], width: net.interWidth[i], virtual: net.interVirtual[i] === 1,
      signalised: ph !== undefined, greens: ph?.greens ?? [], yellow: ph ? ph.yellow : null, phases: list,
    };
  });
  const roads = net.roadIds.map((id, r) => {
    const lanes = [];
    for (let l = net.roadFirstLane[r]; l < net.roadFirstLane[r] + net.roadLaneCount[r]; l++) {
      const points: [number, number][] = [];
      for (let p = net.ptStart[l]; p < net.ptStart[l + 1]; p++) {
        const x = round2(net.ptX[p]), y = round2(net.ptY[p]);
        points.push([x, y]);
        if (x < minX) minX = x;
        if (y < minY) minY = y;
        if (x > maxX) maxX = x;
        if (y > maxY) maxY = y;
      }
      lanes.push({ id: net.laneId(l), width: net.width[l], maxSpeed: net.maxSpeed[l], length: round2(net.length[l]), points });
    }
    const name = net.roadNames[r];
    return { id, ...(name !== null ? { name } : {}), from: net.interIds[net.roadStartInter[r]], to: net.interIds[net.roadEndInter[r]], lanes };
  });
  const laneOrder: string[] = [];
  for (let l = 0; l < net.nLanes; l++) laneOrder.push(net.laneId(l));
  return {
    bounds: { minX, minY, maxX, maxY },
    intersections,
    roads,
    laneOrder,
    regions: regions.map((g) => ({ id: g.id, intersections: g.intersections.map((i) => net.interIds[i]) })),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
