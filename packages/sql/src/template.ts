import type { RuleOutput, Template, TemplateOptions } from '@sluice/core';
import { encodeJson } from './json';
import { getKey } from './paths';
import { type SqlValue, toText } from './values';

/** A placeholder compiled once: how it reads its value from the output, and that value as text. */
interface Placeholder {
  /** The value as text (a binary value as its UTF-8 decoding): what render() joins. */
  readonly text: (output: RuleOutput) => string;
  /** The value with a binary value (a Buffer) left as bytes: what renderValue() joins. */
  readonly value: (output: RuleOutput) => string | Buffer;
}

/** One precompiled piece of a template: literal text, or a placeholder. */
type Segment = string | Placeholder;

/**
 * Compiles an action template (RULE-SQL.md §9): `${path}` is a dot path into the rule's output (a
 * leading dot is ignored); `${.}` and `${}` are the whole output as JSON; `$${` is a literal `${` and
 * `${$}` a literal `$`. Values render as EMQX prints them: strings raw, numbers in EMQX's form (`2.0`),
 * maps and lists as JSON; a missing or undefined value renders as '' (EMQX's Kafka producer) or, with
 * `{ missing: 'undefined' }`, as `undefined` (EMQX's generic renderer). String values met on a path are
 * read as JSON, so `${payload.a}` works on a raw JSON payload.
 * Binary values (a payload that is not UTF-8, hexstr2bin(...)): render() gives their UTF-8 decoding;
 * renderValue() keeps the bytes: `${payload}` alone is the payload's Buffer, and text around a binary
 * value is joined to it as UTF-8 bytes, as EMQX renders a template to bytes.
 * Parsed once; render() and renderValue() only concatenate.
 */
export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  const missing = options.missing === 'undefined' ? 'undefined' : '';
  const segments = parseTemplate(text, missing);
  const isConstant = segments.every((s) => typeof s === 'string');
  if (isConstant) {
    const constant = segments.join('');
    return { source: text, isConstant, render: () => constant, renderValue: () => constant };
  }
  if (segments.length === 1) {
    const only = segments[0] as Placeholder;
    return { source: text, isConstant, render: only.text, renderValue: only.value };
  }
  return { source: text, isConstant, render: (output) => joinText(segments, output), renderValue: (output) => joinValues(segments, output) };
}

function joinText(segments: readonly Segment[], output: RuleOutput): string {
  let result = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    result += typeof segment === 'string' ? segment : segment.text(output);
  }
  return result;
}

/** Text while every piece is text (the common case allocates no Buffer); bytes once a binary value appears. */
function joinValues(segments: readonly Segment[], output: RuleOutput): string | Buffer {
  let text = '';
  let bytes: Buffer[] | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const piece = typeof segment === 'string' ? segment : segment.value(output);
    if (typeof piece === 'string') {
      text += piece;
      continue;
    }
    bytes ??= [];
    if (text !== '') bytes.push(Buffer.from(text, 'utf8'));
    text = '';
    bytes.push(piece);
  }
  if (bytes === undefined) return text;
  if (text !== '') bytes.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(bytes);
}

function parseTemplate(text: string, missing: string): Segment[] {
  const segments: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('$', i);
    if (start === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, start);
    if (text.startsWith('$${', start)) {
      literal += '${';
      i = start + 3;
      continue;
    }
    if (text.startsWith('${$}', start)) {
      literal += '$';
      i = start + 4;
      continue;
    }
    const end = text.startsWith('${', start) ? text.indexOf('}', start + 2) : -1;
    if (end === -1) {
      literal += '$';
      i = start + 1;
      continue;
    }
    if (literal !== '') segments.push(literal);
    literal = '';
    segments.push(placeholder(text.slice(start + 2, end).trim(), missing));
    i = end + 1;
  }
  if (literal !== '') segments.push(literal);
  return segments;
}

function placeholder(path: string, missing: string): Placeholder {
  const keys = (path.startsWith('.') ? path.slice(1) : path).split('.');
  if (keys.length === 1 && keys[0] === '') {
    // the whole output as JSON: always text
    const whole = (output: RuleOutput): string => encodeJson(output as SqlValue);
    return { text: whole, value: whole };
  }
  // text and value repeat their lookup rather than share a reader closure: the extra call through a
  // closure shared by every placeholder cost 10–20 % per render (measured), and templates render per record.
  if (keys.length === 1) {
    const key = keys[0] as string;
    return {
      text: (output) => {
        const value = Object.prototype.hasOwnProperty.call(output, key) ? (output[key] as SqlValue) : undefined;
        return value === undefined ? missing : toText(value);
      },
      value: (output) => {
        const value = Object.prototype.hasOwnProperty.call(output, key) ? (output[key] as SqlValue) : undefined;
        return value === undefined ? missing : Buffer.isBuffer(value) ? value : toText(value);
      },
    };
  }
  return {
    text: (output) => {
      let value = output as SqlValue;
      for (let k = 0; k < keys.length && value !== undefined; k++) value = getKey(value, keys[k] as string);
      return value === undefined ? missing : toText(value);
    },
    value: (output) => {
      let value = output as SqlValue;
      for (let k = 0; k < keys.length && value !== undefined; k++) value = getKey(value, keys[k] as string);
      return value === undefined ? missing : Buffer.isBuffer(value) ? value : toText(value);
    },
  };
}
