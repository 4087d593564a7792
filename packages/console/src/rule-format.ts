/** How the rule pages show numbers: counts with thousands separators, rates in msg/s. Pure (jest). */

const counts = new Intl.NumberFormat('en-US');

/** A counter, e.g. 12,345. */
export function formatCount(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : counts.format(value);
}

/** A rate in messages per second: two decimals below 10, one below 100, none above. */
export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '–';
  const digits = perSecond === 0 ? 0 : perSecond < 10 ? 2 : perSecond < 100 ? 1 : 0;
  return `${perSecond.toFixed(digits)} msg/s`;
}

/** The counts of a breakdown that are not zero, e.g. "queue full 3, expired 1"; undefined when all are. */
export function breakdown(parts: ReadonlyArray<readonly [label: string, value: number | undefined]>): string | undefined {
  const shown = parts.filter(([, value]) => value !== undefined && value > 0).map(([label, value]) => `${label} ${formatCount(value)}`);
  return shown.length === 0 ? undefined : shown.join(', ');
}
