/** How webster and green-wave share a cycle's green time among its phases. */

/**
 * Writes greens g_j = max(minGreen, λ·y_j) into `out`: λ = total / Y (the
 * plain proportional split), or with `exact`, the λ for which the greens sum
 * to `total` exactly (to n·minGreen if that is more).
 */
export function splitGreen(y: ArrayLike<number>, Y: number, total: number, minGreen: number, out: Float64Array, exact = false): void {
  const n = y.length;
  if (!(Y > 0)) {
    out.fill(Math.max(minGreen, total / n));
    return;
  }
  let lambda = total / Y;
  if (exact) {
    // water-filling: phases pinned at minGreen leave the rest to the others, in proportion to y
    const pinned = new Uint8Array(n);
    for (let changed = true; changed; ) {
      changed = false;
      let rest = total, ySum = 0;
      for (let j = 0; j < n; j++) {
        if (pinned[j]) rest -= minGreen;
        else ySum += y[j];
      }
      lambda = ySum > 0 ? rest / ySum : 0;
      for (let j = 0; j < n; j++) {
        if (!pinned[j] && lambda * y[j] < minGreen) {
          pinned[j] = 1;
          changed = true;
        }
      }
    }
  }
  let big = 0, given = 0;
  for (let j = 0; j < n; j++) {
    out[j] = Math.max(minGreen, lambda * y[j]);
    given += out[j];
    if (y[j] > y[big]) big = j;
  }
  // rounding (or every phase pinned) can leave a little over; the busiest phase takes it
  if (exact && given < total) out[big] += total - given;
}
