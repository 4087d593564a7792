import type { BrowsedRecord } from '@sluice/core';

/** Bytes shown to a person: UTF-8 text when they are valid UTF-8, else hex. */
export interface Shown {
  readonly text: string;
  readonly encoding: 'utf8' | 'hex';
  /** Only the first MAX_SHOWN_BYTES were shown. */
  readonly truncated?: true;
}

/** A record as the Messages page gets it (the API's BrowsedRecord). */
export interface ShownRecord {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Shown | null;
  readonly value: Shown | null;
  readonly headers: Readonly<Record<string, Shown>>;
}

/** How much of a key, value or header is shown: enough to read, bounded so a page of records stays light. */
export const MAX_SHOWN_BYTES = 64 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes as UTF-8 when the bytes are valid UTF-8 (`fatal`: no U+FFFD replacement hiding binary data),
 * hex otherwise. A value cut at MAX_SHOWN_BYTES may end inside a character: that partial character is left
 * out rather than making the whole value hex.
 */
export function showBytes(bytes: Buffer, originalSize = bytes.length): Shown {
  // a browser may have cut the bytes already (originalSizes): still a value that was not shown whole
  const truncated = bytes.length > MAX_SHOWN_BYTES || originalSize > bytes.length;
  const shown = truncated ? bytes.subarray(0, MAX_SHOWN_BYTES) : bytes;
  try {
    // stream: true keeps an incomplete last character back instead of failing on it; a fresh decoder
    // then, since the kept bytes would otherwise prefix the next call's input
    const text = truncated ? new TextDecoder('utf-8', { fatal: true }).decode(shown, { stream: true }) : strictUtf8.decode(shown);
    return truncated ? { text, encoding: 'utf8', truncated: true } : { text, encoding: 'utf8' };
  } catch {
    const text = shown.toString('hex');
    return truncated ? { text, encoding: 'hex', truncated: true } : { text, encoding: 'hex' };
  }
}

export function showRecord(record: BrowsedRecord): ShownRecord {
  const headers: Record<string, Shown> = Object.create(null) as Record<string, Shown>;
  const sizes = record.originalSizes;
  for (const name of Object.keys(record.headers)) {
    const bytes = record.headers[name] as Buffer;
    headers[name] = showBytes(bytes, sizes?.headers !== undefined && Object.hasOwn(sizes.headers, name) ? sizes.headers[name] : undefined);
  }
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : showBytes(record.key, sizes?.key),
    value: record.value === null ? null : showBytes(record.value, sizes?.value),
    headers,
  };
}
