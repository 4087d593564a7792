/**
 * Pure helpers of the Messages page: the bounded list of records it shows, and how a long key or value
 * is folded. No DOM here, so they run under jest.
 */

/** The fields of a browsed record these helpers read. */
export interface RecordPosition {
  readonly partition: number;
  readonly offset: string;
}

/** Most records kept on the page while following (the API answers at most 500 at a time too). */
export const MAX_SHOWN_RECORDS = 500;

/** Characters of a value shown before it is folded; a value with a line break is always folded. */
export const FOLD_AFTER = 120;

/**
 * The list with `record` appended (newest last, as the API answers), unless it is already there (a
 * follow that reconnects may send a record again); the oldest ones are dropped past `max`.
 */
export function appendNewest<T extends RecordPosition>(records: readonly T[], record: T, max = MAX_SHOWN_RECORDS): T[] {
  const duplicate = records.some((r) => r.partition === record.partition && r.offset === record.offset);
  if (duplicate) return records as T[];
  const next = [...records, record];
  return next.length > max ? next.slice(next.length - max) : next;
}

/**
 * The folded preview of a text: its whitespace collapsed (indented JSON reads as one line), at most
 * FOLD_AFTER characters, then "…"; undefined when the text is one short line and is shown whole.
 */
export function shownPreview(text: string, max = FOLD_AFTER): string | undefined {
  if (!text.includes('\n') && text.length <= max) return undefined;
  return `${text.replace(/\s+/g, ' ').trim().slice(0, max)}…`;
}

/** An epoch-milliseconds string as local date and time with milliseconds; the text as given when not a number. */
export function formatTimestamp(epochMs: string): string {
  const ms = Number(epochMs);
  if (!Number.isFinite(ms) || epochMs.trim() === '') return epochMs;
  const date = new Date(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
