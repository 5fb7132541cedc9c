/**
 * The speed the city's vehicles drive at when nothing holds them, as the
 * detectors see it: a high quantile (QUANTILE) of the speeds they report for
 * moving vehicles (a tracking detector's vehicles; a stop-line loop's or a
 * counting camera's mean speed of an interval in which vehicles passed).
 * The brain's twin gives it to the vehicles it draws and places, which
 * otherwise drive at CityFlow's default top speed (11.1 m/s) whatever the
 * city: on a grid whose vehicles and limits are 16.7 m/s its vehicles fell
 * behind the street's by 28 m a report, and the stretch beyond the cameras'
 * view held too many of them (grid 4x4, default devices).
 *
 * A quantile, not a maximum: reported speeds carry the devices' noise. Not a
 * mean: vehicles in view slow for the stop line. The twin's vehicles are held
 * to each lane's limit by the engine all the same, so an estimate above it
 * costs nothing there. Observations lose weight by half every HALF_LIFE
 * observations, so the estimate follows a change, in BINS of BIN m/s.
 */
import { DecayingHistogram, type DecayingHistogramState } from './decaying-histogram.js';

const BIN = 0.25;
const BINS = 200; // up to 50 m/s
/** below this a vehicle is not driving freely (queued, starting, stopping) */
const MOVING = 2;
const QUANTILE = 0.95;
const HALF_LIFE = 5000;
/** observations before there is an estimate */
const MIN_SAMPLES = 200;

export type FreeSpeedState = DecayingHistogramState;

export class FreeSpeed {
  private readonly h = new DecayingHistogram(BINS, HALF_LIFE, 'free-speed');

  /** One reported speed, m/s (anything not a finite number above MOVING is not a moving vehicle's, and is ignored). */
  observe(speed: number): void {
    if (!(speed > MOVING && speed < Infinity)) return;
    this.h.add(Math.min(BINS - 1, Math.floor(speed / BIN)));
  }

  /** The free speed, m/s (the top of the QUANTILE bin), or undefined before MIN_SAMPLES observations. */
  estimate(): number | undefined {
    const h = this.h;
    if (h.samples < MIN_SAMPLES) return undefined;
    const bins = h.bins, total = h.total;
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      acc += bins[b];
      if (acc >= QUANTILE * total) return (b + 1) * BIN;
    }
    return BINS * BIN;
  }

  exportState(): FreeSpeedState {
    return this.h.exportState();
  }

  importState(s: FreeSpeedState): void {
    this.h.importState(s);
  }
}
