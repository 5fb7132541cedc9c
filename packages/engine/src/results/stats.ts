/** Student's t at 0.975 (two-sided 95%) for 1..30 degrees of freedom; the normal's 1.96 is within 2% beyond. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface MeanCi {
  mean: number;
  /** half-width of the 95% confidence interval of the mean (Student's t); null with one sample */
  ci95: number | null;
  n: number;
}

/** Mean and 95% confidence half-width of independent samples (e.g. one KPI over seeds). */
export function meanCi(xs: readonly number[]): MeanCi {
  const n = xs.length;
  if (n === 0) return { mean: NaN, ci95: null, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: null, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
  return { mean, ci95: (t * Math.sqrt(variance)) / Math.sqrt(n), n };
}
