import type { Logger } from './logger';

/**
 * Warnings about per-message failures, at most one line per key per interval, carrying how many were
 * suppressed in between: a failing rule at 10,000 messages/s must not write 10,000 log lines a second.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger, private readonly intervalMs = 10_000) {}

  warn(key: string, message: string, fields: () => Record<string, unknown>): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(message, suppressed > 0 ? { ...fields(), suppressedSinceLast: suppressed } : fields());
  }
}
