/** `n` rounded to `digits` decimals: how decisions, reports and profiles keep their figures. */
export function roundTo(n: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}
