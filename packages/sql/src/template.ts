import type { RuleOutput, Template, TemplateOptions } from '@sluice/core';
import { encodeJson } from './json';
import { getKey } from './paths';
import { type SqlValue, toText } from './values';

/** One precompiled piece of a template: literal text, or a function of the output. */
type Segment = string | ((output: RuleOutput) => string);

/**
 * Compiles an action template (RULE-SQL.md §9): `${path}` is a dot path into the rule's output (a
 * leading dot is ignored); `${.}` and `${}` are the whole output as JSON; `$${` is a literal `${` and
 * `${$}` a literal `$`. Values render as EMQX prints them: strings raw, numbers in EMQX's form (`2.0`),
 * maps and lists as JSON; a missing or undefined value renders as '' (EMQX's Kafka producer) or, with
 * `{ missing: 'undefined' }`, as `undefined` (EMQX's generic renderer). String values met on a path are
 * read as JSON, so `${payload.a}` works on a raw JSON payload.
 * Parsed once; render() only concatenates.
 */
export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  const missing = options.missing === 'undefined' ? 'undefined' : '';
  const segments = parseTemplate(text, missing);
  const isConstant = segments.every((s) => typeof s === 'string');
  const constant = isConstant ? segments.join('') : '';
  let render: (output: RuleOutput) => string;
  if (isConstant) render = () => constant;
  else if (segments.length === 1) render = segments[0] as (output: RuleOutput) => string;
  else {
    render = (output) => {
      let result = '';
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i] as Segment;
        result += typeof segment === 'string' ? segment : segment(output);
      }
      return result;
    };
  }
  return { source: text, isConstant, render };
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

function placeholder(path: string, missing: string): (output: RuleOutput) => string {
  const keys = (path.startsWith('.') ? path.slice(1) : path).split('.');
  if (keys.length === 1 && keys[0] === '') return (output) => encodeJson(output as SqlValue);
  if (keys.length === 1) {
    const key = keys[0] as string;
    return (output) => {
      const value = Object.prototype.hasOwnProperty.call(output, key) ? (output[key] as SqlValue) : undefined;
      return value === undefined ? missing : toText(value);
    };
  }
  return (output) => {
    let value = output as SqlValue;
    for (let k = 0; k < keys.length && value !== undefined; k++) value = getKey(value, keys[k] as string);
    return value === undefined ? missing : toText(value);
  };
}
