/**
 * The time gap the city's drivers keep behind the vehicle ahead, as tracking
 * detectors see it: for two vehicles in a row on a lane, both moving at
 * least MOVING m/s, the gap from the one's rear to the other's front divided
 * by the follower's speed. A driver who follows closely keeps the gap
 * speed x headwayTime (the engine's car following), so the gaps pile up at
 * the headway time, and the vehicles further apart spread above it: the
 * estimate is the mode of their histogram (in BIN s bins, refined by a
 * parabola through the highest bin and its neighbours), which the devices'
 * position noise spreads but does not move. The brain's twin gives it to the
 * vehicles it draws and places, which otherwise keep CityFlow's default 2 s
 * whatever the city: on a grid whose vehicles keep 1.5 s its queues left
 * slower than the street's.
 *
 * Measured on the default devices' reports: grid 4x4 (1.5 s) 1.48 s, HZ1
 * (2 s) 2.05 s, JN1 (2 s) 1.97 s. Observations lose weight by half every
 * HALF_LIFE observations, so the estimate follows a change.
 */
import { DecayingHistogram, type DecayingHistogramState } from './decaying-histogram.js';

const BIN = 0.1;
const BINS = 60; // up to 6 s: gaps beyond are vehicles not following
/** m/s both vehicles move at least: slower, the noise of a few metres is a large share of the time gap */
const MOVING = 5;
const HALF_LIFE = 5000;
/** gaps observed before there is an estimate */
const MIN_SAMPLES = 300;
/** s: an estimate is kept within these (outside them, the mode of noise, not of drivers) */
const LOWEST = 0.5;
const HIGHEST = 5;

export type HeadwayState = DecayingHistogramState;

export class Headway {
  private readonly h = new DecayingHistogram(BINS, HALF_LIFE, 'headway');

  /**
   * Two vehicles in a row on a lane: the leader's and the follower's distance to the stop line (their fronts, m)
   * and speeds (m/s), `length` the leader's length (m). Pairs not both moving, or not in that order, are ignored.
   */
  observe(leaderDistance: number, leaderSpeed: number, followerDistance: number, followerSpeed: number, length: number): void {
    if (!(leaderSpeed >= MOVING && followerSpeed >= MOVING && followerSpeed < Infinity)) return;
    const gap = (followerDistance - leaderDistance - length) / followerSpeed;
    if (!(gap >= 0 && gap < BINS * BIN)) return;
    this.h.add(Math.floor(gap / BIN));
  }

  /** The headway time, s, or undefined before MIN_SAMPLES gaps. */
  estimate(): number | undefined {
    if (this.h.samples < MIN_SAMPLES) return undefined;
    const bins = this.h.bins;
    let m = 0;
    for (let b = 1; b < BINS; b++) if (bins[b] > bins[m]) m = b;
    const lo = m > 0 ? bins[m - 1] : 0, hi = m + 1 < BINS ? bins[m + 1] : 0, c = bins[m];
    const curve = lo - 2 * c + hi;
    // the parabola's top, within the bin (a flat top: its middle)
    const shift = curve < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (lo - hi)) / curve)) : 0;
    return Math.max(LOWEST, Math.min(HIGHEST, (m + 0.5 + shift) * BIN));
  }

  exportState(): HeadwayState {
    return this.h.exportState();
  }

  importState(s: HeadwayState): void {
    this.h.importState(s);
  }
}
