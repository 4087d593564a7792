// Message rates for the overview, from two snapshots of counters (sources have counters, not rates).
import type { StreamSnapshot } from './api-types';

/** Per-second rate of a counter between two readings; 0 when there is no earlier reading or it went back (a reset). */
export function perSecond(previous: number | undefined, current: number, previousAt: number | undefined, currentAt: number): number {
  if (previous === undefined || previousAt === undefined || currentAt <= previousAt || current < previous) return 0;
  return ((current - previous) * 1000) / (currentAt - previousAt);
}

/** Sum of a counter over a map of metrics. */
export function total<M>(metrics: Readonly<Record<string, M>> | undefined, pick: (m: M) => number): number {
  let sum = 0;
  for (const m of Object.values(metrics ?? {})) sum += pick(m);
  return sum;
}

/** Messages received per second over every source, and records stored per second over every action. */
export function flowRates(previous: StreamSnapshot | undefined, current: StreamSnapshot | undefined): { in: number; out: number } {
  if (current === undefined) return { in: 0, out: 0 };
  const inNow = total(current.sources, (m) => m.received);
  const outNow = total(current.actions, (m) => m.success);
  if (previous === undefined) return { in: 0, out: 0 };
  return {
    in: perSecond(total(previous.sources, (m) => m.received), inNow, previous.at, current.at),
    out: perSecond(total(previous.actions, (m) => m.success), outNow, previous.at, current.at),
  };
}

/** A rate as people read it: "0", "0.4", "12", "1.2k" msg/s. */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return '0';
  if (rate < 10) return String(Math.round(rate * 10) / 10);
  if (rate < 1000) return String(Math.round(rate));
  return `${Math.round(rate / 100) / 10}k`;
}

/** A counter with thousands separators. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}
