/**
 * A histogram whose observations lose weight by half every `halfLife`
 * observations, so what it estimates follows a change: the twin's free speed
 * (FreeSpeed) and headway (Headway) are read from one each. Each new
 * observation weighs `weight`, which grows by 2^(1 / halfLife): older ones
 * weigh less in proportion, and nothing is rescaled per observation (only
 * once the weight passes 1e100, all of it at once).
 */
export interface DecayingHistogramState {
  bins: Float64Array;
  /** what the next observation weighs */
  weight: number;
  /** the bins' sum */
  total: number;
  /** observations so far, unweighted */
  samples: number;
}

export class DecayingHistogram {
  private s: DecayingHistogramState;
  private readonly growth: number;

  /** `what` names the histogram in a refused state's error ("free-speed", "headway"). */
  constructor(readonly nBins: number, halfLife: number, private readonly what: string) {
    this.s = { bins: new Float64Array(nBins), weight: 1, total: 0, samples: 0 };
    this.growth = Math.pow(2, 1 / halfLife);
  }

  /** One observation in bin `b` (0 <= b < nBins). */
  add(b: number): void {
    const s = this.s;
    s.bins[b] += s.weight;
    s.total += s.weight;
    s.samples++;
    s.weight *= this.growth;
    if (s.weight > 1e100) {
      for (let k = 0; k < this.nBins; k++) s.bins[k] /= s.weight;
      s.total /= s.weight;
      s.weight = 1;
    }
  }

  get bins(): Float64Array {
    return this.s.bins;
  }

  get total(): number {
    return this.s.total;
  }

  get samples(): number {
    return this.s.samples;
  }

  exportState(): DecayingHistogramState {
    return { ...this.s, bins: this.s.bins.slice() };
  }

  /** A state exported by a histogram of as many bins; `total` may be absent (a headway state from before it kept one). */
  importState(s: DecayingHistogramState): void {
    if (s.bins?.length !== this.nBins) throw new RangeError(`brain twin state: ${this.what} bins must be ${this.nBins}, got ${s.bins?.length}`);
    const bins = s.bins.slice();
    this.s = { ...s, bins, total: s.total ?? bins.reduce((a, b) => a + b, 0) };
  }
}
