const formats = new Map<number, Intl.NumberFormat>();

/**
 * `1,234.5`: grouped thousands, at most `digits` decimals, as explanations and reasons show
 * numbers. One Intl.NumberFormat per precision: toLocaleString builds one per call, too slow for
 * the optimizer, where every excluded option gets a reason.
 */
export function grouped(n: number, digits = 1): string {
  let format = formats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { maximumFractionDigits: digits });
    formats.set(digits, format);
  }
  return format.format(n);
}
