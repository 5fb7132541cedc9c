/** `x` rounded to `d` decimals: how every figure the commands print and report is rounded. */
export function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
