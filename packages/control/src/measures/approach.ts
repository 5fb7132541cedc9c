import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '../core/controller.js';
import { linkExits } from './lane-exits.js';

/**
 * The queue on an approach, where the lane at the stop line is only its last
 * stretch. Imported maps split a street wherever OSM splits its way: at a
 * pedestrian crossing (a signal with one green), a driveway or a change of
 * lane count, leaving lanes of 0.2-8 m before a junction. Such a lane holds
 * one standing vehicle at most, while the queue that waits for its green
 * stands on the lanes upstream, which lead nowhere else and whose own
 * junctions give them no choice. A controller weighing the queue at the stop
 * line sees 1 there however long the queue behind; a queue detector set back
 * on the street, as real ones are, sees it.
 *
 * Per lane entering a signal with a choice of greens: its standing vehicles
 * plus those on every lane upstream that feeds it through junctions without a
 * choice (no signal, or a signal with one green) and whose exits all lie on
 * the road it feeds (one that also turns off elsewhere is another approach),
 * a lane that feeds several lanes counting for each its share. The generated
 * grids and the five real scenarios have no such lane (every road runs
 * between signals with a choice, or enters the network): there the queue is
 * the lane's own.
 */
export class ApproachQueue {
  /** per lane, rows of upstream lanes and their weights (compressed: start[l] .. start[l + 1] - 1) */
  private readonly start: Int32Array;
  private readonly lanes: Int32Array;
  private readonly weights: Float64Array;
  /** the queue per lane, approaches folded in (fill) */
  readonly queue: Float64Array;

  constructor(net: Network, ixs: readonly IntersectionPhases[]) {
    const n = net.nLanes;
    const exits = linkExits(net);
    const choice = new Uint8Array(n);
    const root = new Uint8Array(n);
    for (const ix of ixs) {
      if (ix.greens.length < 2) continue;
      for (const l of ix.inLanes) choice[l] = root[l] = 1;
    }
    this.start = new Int32Array(n + 1);
    const lanes: number[] = [], weights: number[] = [];
    // per root, road by road upstream: a chain lane's exits all lie on one road, so the lanes upstream form a tree
    // of roads, and a lane's weight (the share of its vehicles bound for the root) follows from its exits' weights,
    // each lane once
    const weight = new Float64Array(n);
    const stamp = new Int32Array(n);
    for (let l = 0; l < n; l++) {
      if (root[l]) {
        stamp[l] = l + 1;
        weight[l] = 1;
        let layer = [l];
        while (layer.length > 0) {
          const next: number[] = [];
          for (const x of layer) {
            for (let k = net.laneInStart[x]; k < net.laneInStart[x + 1]; k++) {
              const u = net.linkStartLane[net.laneInList[k] - n];
              if (choice[u] || stamp[u] === l + 1) continue;
              let other = false;
              for (let e = exits.start[u]; e < exits.start[u + 1]; e++) if (net.laneRoad[exits.lanes[e]] !== net.laneRoad[x]) other = true;
              if (other) continue;
              stamp[u] = l + 1;
              next.push(u);
            }
          }
          for (const u of next) {
            let w = 0;
            for (let e = exits.start[u]; e < exits.start[u + 1]; e++) {
              const o = exits.lanes[e];
              if (stamp[o] === l + 1 && !next.includes(o)) w += weight[o];
            }
            weight[u] = w / (exits.start[u + 1] - exits.start[u]);
            lanes.push(u);
            weights.push(weight[u]);
          }
          layer = next;
        }
      }
      this.start[l + 1] = lanes.length;
    }
    this.lanes = Int32Array.from(lanes);
    this.weights = Float64Array.from(weights);
    this.queue = new Float64Array(n);
  }

  /** Folds `queue` (standing vehicles per lane) into this.queue. */
  fill(queue: ArrayLike<number>): Float64Array {
    const out = this.queue;
    for (let l = 0; l < out.length; l++) {
      let v = queue[l];
      for (let k = this.start[l]; k < this.start[l + 1]; k++) v += this.weights[k] * queue[this.lanes[k]];
      out[l] = v;
    }
    return out;
  }
}
