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
const BIN = 0.25;
const BINS = 200; // up to 50 m/s
/** below this a vehicle is not driving freely (queued, starting, stopping) */
const MOVING = 2;
const QUANTILE = 0.95;
const HALF_LIFE = 5000;
/** observations before there is an estimate */
const MIN_SAMPLES = 200;
const GROWTH = Math.pow(2, 1 / HALF_LIFE);

export interface FreeSpeedState {
  bins: Float64Array;
  weight: number;
  total: number;
  samples: number;
}

export class FreeSpeed {
  // each new observation weighs `weight`, which grows: older ones weigh less in proportion, and nothing is rescaled per observation
  private s: FreeSpeedState = { bins: new Float64Array(BINS), weight: 1, total: 0, samples: 0 };

  /** One reported speed, m/s (anything not a finite number above MOVING is not a moving vehicle's, and is ignored). */
  observe(speed: number): void {
    if (!(speed > MOVING && speed < Infinity)) return;
    const s = this.s;
    s.bins[Math.min(BINS - 1, Math.floor(speed / BIN))] += s.weight;
    s.total += s.weight;
    s.samples++;
    s.weight *= GROWTH;
    if (s.weight > 1e100) {
      for (let b = 0; b < BINS; b++) s.bins[b] /= s.weight;
      s.total /= s.weight;
      s.weight = 1;
    }
  }

  /** The free speed, m/s (the top of the QUANTILE bin), or undefined before MIN_SAMPLES observations. */
  estimate(): number | undefined {
    const s = this.s;
    if (s.samples < MIN_SAMPLES) return undefined;
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      acc += s.bins[b];
      if (acc >= QUANTILE * s.total) return (b + 1) * BIN;
    }
    return BINS * BIN;
  }

  exportState(): FreeSpeedState {
    return { ...this.s, bins: this.s.bins.slice() };
  }

  importState(s: FreeSpeedState): void {
    if (s.bins?.length !== BINS) throw new RangeError(`brain twin state: free-speed bins must be ${BINS}, got ${s.bins?.length}`);
    this.s = { ...s, bins: s.bins.slice() };
  }
}
