import { RuleEvaluationError } from '@sluice/core';
import { isUtf8 } from 'node:buffer';
import type { Expr } from '../ast';
import { SqlFloat, describeValue, isMap, type SqlMap, type SqlValue } from '../values';
import type { FunctionContext, SqlFunction } from './types';

/**
 * Prepares a built-in for one call site from its arguments' syntax (literal ones are known before any
 * message): returns the implementation to use there, or undefined for the general one. Runs once per
 * site at compile time; may throw a RuleSyntaxError for a literal that can never work.
 */
export type Specializer = (args: readonly Expr[]) => SqlFunction | undefined;

/** One built-in: its SQL name, how many arguments it takes (min..max), the implementation, and its specializer. */
export type FunctionDef = readonly [name: string, minArgs: number, maxArgs: number, fn: SqlFunction, specialize?: Specializer];

/** The error every built-in raises: EMQX fails the rule for the message (`failed.exception`). */
export function fnError(name: string, message: string): RuleEvaluationError {
  return new RuleEvaluationError(`function ${name}(): ${message}`);
}

/** A function clause did not match: names the position and kind of the offending argument. */
export function badArg(name: string, position: number, expected: string, got: SqlValue): never {
  throw fnError(name, `argument ${position} must be ${expected}, got ${describeValue(got)}`);
}

/** Erlang binaries are strings or Buffers here; functions that work on text accept both. */
export function text(name: string, position: number, v: SqlValue): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return badArg(name, position, 'a string', v);
}

/** The bytes of a binary argument (strings are their UTF-8 encoding). */
export function bytes(name: string, position: number, v: SqlValue): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  return badArg(name, position, 'a string or binary', v);
}

/** An integer as a JS number: positions, lengths, counts. One beyond 2^53 (a bigint) cannot be any of those. */
export function integer(name: string, position: number, v: SqlValue): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return badArg(name, position, typeof v === 'bigint' ? 'an integer within ±(2^53 - 1)' : 'an integer', v);
}

/**
 * Any number (integer or float), as a JS number. An integer beyond 2^53 becomes the nearest double, as
 * Erlang's math functions convert it (Infinity past the double range, which float results refuse).
 */
export function number(name: string, position: number, v: SqlValue): number {
  if (typeof v === 'number') return v;
  if (v instanceof SqlFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return badArg(name, position, 'a number', v);
}

export function list(name: string, position: number, v: SqlValue): SqlValue[] {
  if (Array.isArray(v)) return v;
  return badArg(name, position, 'an array', v);
}

export function map(name: string, position: number, v: SqlValue): SqlMap {
  if (isMap(v)) return v;
  return badArg(name, position, 'a map', v);
}

/** One of a fixed set of option strings (EMQX matches them as binaries in function heads). */
export function option<T extends string>(name: string, position: number, v: SqlValue, allowed: readonly T[]): T {
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  if (s !== undefined && (allowed as readonly string[]).includes(s)) return s as T;
  return badArg(name, position, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
}

/**
 * Bytes produced by a function (decompression, base64/hex decoding) as a value: a string when they are
 * valid UTF-8 (so the result compares, concatenates and serialises like any text), else a Buffer.
 */
export function bytesValue(buf: Buffer): string | Buffer {
  return isUtf8(buf) ? buf.toString('utf8') : buf;
}

/** A float result; Erlang raises badarith where IEEE would give NaN or Infinity. */
export function floatResult(name: string, n: number): number | SqlFloat {
  if (!Number.isFinite(n)) throw fnError(name, 'bad arithmetic (result is not a finite number)');
  return Number.isInteger(n) ? new SqlFloat(n) : n;
}

export type { FunctionContext, SqlFunction };
