/**
 * The values rules compute with, and how they map onto JavaScript.
 *
 * EMQX (Erlang) keeps integers and floats apart: `4/2` is `2.0`, `str(2.0)` is `'2.0'`, `is_float(2.0)`
 * is true. A JavaScript number cannot tell `2` from `2.0`, so:
 *   - an integer is a JS number for which Number.isInteger() is true;
 *   - a float is a JS number that is not an integer (27.5), or, when its value happens to be
 *     integral, an SqlFloat wrapping it (2.0). Only integral floats are boxed, so the common case
 *     (27.5 from a JSON payload) stays a plain number on the hot path.
 * Other kinds: `undefined` is EMQX's missing value, `null` is JSON null (a different value), strings are
 * JS strings (UTF-8 text), binary data that is not text (zip, hexstr2bin results) is a Buffer, lists
 * are arrays and maps are plain objects.
 */
export type SqlValue = undefined | null | boolean | number | SqlFloat | string | Buffer | SqlValue[] | SqlMap;
export interface SqlMap {
  [key: string]: SqlValue;
}

/** A float whose value is integral (2.0). valueOf/toJSON make it behave as a number for outside code. */
export class SqlFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
  toString(): string {
    return formatFloat(this.value);
  }
}

/** Makes a float of any JS number: boxes integral values so they stay floats. */
export function makeFloat(n: number): number | SqlFloat {
  return Number.isInteger(n) ? new SqlFloat(n) : n;
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function isFloat(v: unknown): v is number | SqlFloat {
  return (typeof v === 'number' && !Number.isInteger(v)) || v instanceof SqlFloat;
}

export function isNumber(v: unknown): v is number | SqlFloat {
  return typeof v === 'number' || v instanceof SqlFloat;
}

/** The JS number of an integer or float value (callers check isNumber first). */
export function numberOf(v: number | SqlFloat): number {
  return typeof v === 'number' ? v : v.value;
}

export function isMap(v: unknown): v is SqlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof SqlFloat) && !Buffer.isBuffer(v);
}

/**
 * EMQX's float text: at most 10 decimals, trailing zeros dropped but one kept (`2.0`, `3.1415926536`,
 * `0.300000004`). Very large or small magnitudes use exponent notation as Erlang's short form does.
 */
export function formatFloat(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e16 || abs < 1e-10)) {
    // Outside fixed notation's useful range: shortest round-trip digits with an exponent.
    const text = n.toExponential();
    const [mantissa = '', exponent = ''] = text.split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${exponent.replace('+', '')}`;
  }
  let text = n.toFixed(10);
  text = text.replace(/0+$/, '');
  if (text.endsWith('.')) text += '0';
  if (text === '-0.0') text = '-0.0';
  return text;
}
