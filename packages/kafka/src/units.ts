import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const DURATION_FACTOR: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i;
const SIZE_FACTOR: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * A duration as EMQX writes it ('5s', '500ms', '1m') or a number of milliseconds; parses to milliseconds.
 * Kept permissive on input so configs copied from EMQX work, strict on output (an integer).
 */
export const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(DURATION, 'must be a duration such as "500ms", "5s" or "1m", or a number of milliseconds'),
]).transform((value) => {
  if (typeof value === 'number') return value;
  const [, amount, unit] = DURATION.exec(value) as RegExpExecArray;
  return Math.round(Number(amount) * (DURATION_FACTOR[unit as string] as number));
});

/** A byte size as EMQX writes it ('896KB', '1MB') or a number of bytes; parses to bytes (1KB = 1024 B). */
export const byteSize = z.union([
  z.number().int().positive(),
  z.string().regex(SIZE, 'must be a size such as "896KB" or "1MB", or a number of bytes'),
]).transform((value) => {
  if (typeof value === 'number') return value;
  const [, amount, unit] = SIZE.exec(value) as RegExpExecArray;
  return Math.round(Number(amount) * (SIZE_FACTOR[(unit as string).toLowerCase()] as number));
});

/** A duration, or 'infinity' (EMQX's word for "no limit"); parses to milliseconds or Infinity. */
export const durationOrInfinity = z.union([
  z.literal('infinity').transform(() => Number.POSITIVE_INFINITY),
  duration,
]);
