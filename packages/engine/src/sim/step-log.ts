/**
 * What the last step did that detectors report and the state does not keep: the stop-line
 * crossings, the admissions at the boundary and the vehicles that reached their route's
 * end, each as (vehicle handle, lane) pairs, and the vehicles that moved onto another
 * drivable (the move's own list). Not part of SimState: an imported state reads as none.
 * A fork copies it, so a fork reports the same last step.
 */
export class StepLog {
  /** stop-line crossings: vehicle handles and the lanes they left */
  exitVeh: Int32Array;
  exitLane: Int32Array;
  nExits = 0;
  /** admissions at the boundary (at most one per lane): handles and their first lanes */
  entryVeh: Int32Array;
  entryLane: Int32Array;
  nEntries = 0;
  /** vehicles that reached the end of their route, and the lanes they left from */
  endVeh: Int32Array;
  endLane: Int32Array;
  nEnds = 0;
  /** vehicles onto another drivable, in the order they join it (moveVehicles) */
  moved: Int32Array;

  constructor(nLanes: number, vehicles = 64) {
    this.entryVeh = new Int32Array(nLanes);
    this.entryLane = new Int32Array(nLanes);
    this.exitVeh = new Int32Array(vehicles);
    this.exitLane = new Int32Array(vehicles);
    this.endVeh = new Int32Array(vehicles);
    this.endLane = new Int32Array(vehicles);
    this.moved = new Int32Array(vehicles);
  }

  /** Room for `running` vehicles' exits, ends and moves, before a move writes them (what was logged is dropped when they grow). */
  reserve(running: number, capacity: number): void {
    if (this.moved.length >= running) return;
    this.moved = new Int32Array(capacity);
    this.exitVeh = new Int32Array(capacity);
    this.exitLane = new Int32Array(capacity);
    this.endVeh = new Int32Array(capacity);
    this.endLane = new Int32Array(capacity);
  }

  /** Nothing logged: a state imported from elsewhere has no last step here. */
  clear(): void {
    this.nExits = 0;
    this.nEntries = 0;
    this.nEnds = 0;
  }

  clone(): StepLog {
    const c = new StepLog(0, 0);
    this.copyInto(c);
    return c;
  }

  /** This log into `target`, reusing its buffers where they are large enough (a rollout loop's forkInto allocates nothing). */
  copyInto(target: StepLog): void {
    target.exitVeh = fit(target.exitVeh, this.exitVeh, this.nExits);
    target.exitLane = fit(target.exitLane, this.exitLane, this.nExits);
    target.endVeh = fit(target.endVeh, this.endVeh, this.nEnds);
    target.endLane = fit(target.endLane, this.endLane, this.nEnds);
    // the move's list is scratch: only its size carries over
    if (target.moved.length < this.moved.length) target.moved = new Int32Array(this.moved.length);
    target.entryVeh = fit(target.entryVeh, this.entryVeh, this.nEntries);
    target.entryLane = fit(target.entryLane, this.entryLane, this.nEntries);
    target.nExits = this.nExits;
    target.nEntries = this.nEntries;
    target.nEnds = this.nEnds;
  }
}

/** from[0..n) into `to` when it is as long as `from` (no allocation), else a copy of `from`. */
function fit(to: Int32Array, from: Int32Array, n: number): Int32Array {
  if (to.length < from.length) return from.slice();
  to.set(from.subarray(0, n));
  return to;
}
