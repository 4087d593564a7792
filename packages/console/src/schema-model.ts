// Turns a settings JSON Schema (GET /api/schema, zod's output) into the fields of a form, and converts
// between what a control shows and the settings value. Pure: schema-form.tsx renders the model, the
// specs pin it down. Only the shapes zod emits for plugin settings are understood; anything else falls
// back to a JSON text field rather than being left out.
import type { JSONSchema } from './api-types';
import { humanize, words } from './humanize';

export interface Option {
  readonly label: string;
  /** The settings value the option stands for. */
  readonly value: unknown;
}

/** One way a union field can be filled: a constant, a boolean, or an object (with its own fields). */
export interface Variant {
  readonly label: string;
  /** The value written when the variant is picked. */
  readonly initial: unknown;
  readonly matches: (value: unknown) => boolean;
  /** For an object variant: its fields (the discriminator left out). */
  readonly fields?: readonly Field[];
}

export type FieldKind =
  | { readonly kind: 'text'; readonly secret: boolean }
  | { readonly kind: 'number'; readonly integer: boolean }
  /** A number or a string (durations such as 5000 or "5s"): digits become a number. */
  | { readonly kind: 'scalar' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly options: readonly Option[] }
  /** Strings, typed as comma-separated values. */
  | { readonly kind: 'list' }
  | { readonly kind: 'object'; readonly fields: readonly Field[] }
  | { readonly kind: 'union'; readonly variants: readonly Variant[]; readonly selectLabel: string; readonly discriminator?: string }
  /** A string → string map, typed as one `key: value` per line. */
  | { readonly kind: 'map' }
  /** Anything else, as JSON text. */
  | { readonly kind: 'json' };

export type Field = {
  readonly key: string;
  /** Dotted path from the form's root: `authentication.password` (the form of API issue paths). */
  readonly path: string;
  readonly label: string;
  readonly description?: string;
  readonly required: boolean;
  readonly default?: unknown;
  /** What to show in an empty control: the default, else the first example. */
  readonly placeholder?: string;
} & FieldKind;

const SECRET_KEYS = new Set(['password', 'passphrase', 'secret', 'token']);

/** Secret fields are write-only in the schema; the key names are a safety net for schemas that forget it. */
export function isSecret(key: string, schema: JSONSchema): boolean {
  return schema.writeOnly === true || SECRET_KEYS.has(key.toLowerCase());
}

function typesOf(schema: JSONSchema): string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

function members(schema: JSONSchema): readonly JSONSchema[] | undefined {
  return schema.anyOf ?? schema.oneOf;
}

/** A schema that says nothing a form can fill (a function in the code API, `{}` for a Buffer). */
function isOpaque(schema: JSONSchema): boolean {
  return typesOf(schema).length === 0 && schema.const === undefined && schema.enum === undefined
    && members(schema) === undefined && schema.properties === undefined;
}

function isStringArray(schema: JSONSchema): boolean {
  return typesOf(schema).includes('array') && schema.items !== undefined && typesOf(schema.items).includes('string');
}

function isScalar(schema: JSONSchema): boolean {
  const types = typesOf(schema);
  return schema.const === undefined && schema.enum === undefined && types.length > 0
    && types.every((t) => t === 'string' || t === 'integer' || t === 'number');
}

/** Text for a placeholder: lists comma-separated, everything else as JSON-ish text. */
export function display(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The form fields of an object schema's properties: required ones first, each group in schema order. */
export function fieldsOf(schema: JSONSchema, prefix = '', omit: readonly string[] = []): Field[] {
  const required = new Set(schema.required ?? []);
  const fields: Field[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (omit.includes(key) || property.const !== undefined) continue;
    const field = fieldOf(key, property, prefix, required.has(key));
    if (field !== undefined) fields.push(field);
  }
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** One field, or undefined for a property a form cannot fill (code-API-only settings). */
export function fieldOf(key: string, schema: JSONSchema, prefix: string, required: boolean): Field | undefined {
  const path = prefix === '' ? key : `${prefix}.${key}`;
  const kind = kindOf(key, schema, path);
  if (kind === undefined) return undefined;
  const placeholderSource = schema.default !== undefined ? schema.default : schema.examples?.[0];
  const placeholder = kind.kind === 'boolean' || kind.kind === 'object' || kind.kind === 'union' ? undefined : display(placeholderSource);
  return {
    key,
    path,
    label: humanize(key),
    required,
    ...(schema.description === undefined ? {} : { description: schema.description }),
    ...(schema.default === undefined ? {} : { default: schema.default }),
    ...(placeholder === undefined || placeholder === '' ? {} : { placeholder }),
    ...kind,
  };
}

function kindOf(key: string, schema: JSONSchema, path: string): FieldKind | undefined {
  if (schema.enum !== undefined) return { kind: 'enum', options: schema.enum.map((value) => ({ label: String(value), value })) };
  const union = members(schema);
  if (union !== undefined) return unionKind(key, schema, union, path);
  const types = typesOf(schema);
  if (types.includes('boolean') && types.length === 1) return { kind: 'boolean' };
  if (types.includes('integer') || types.includes('number')) {
    return types.includes('string') ? { kind: 'scalar' } : { kind: 'number', integer: !types.includes('number') };
  }
  if (types.includes('string')) return { kind: 'text', secret: isSecret(key, schema) };
  if (isStringArray(schema)) return { kind: 'list' };
  if (types.includes('object') && schema.properties !== undefined) return { kind: 'object', fields: fieldsOf(schema, path) };
  if (types.includes('object') && typeof schema.additionalProperties === 'object' && typesOf(schema.additionalProperties).includes('string')) return { kind: 'map' };
  if (isOpaque(schema)) return undefined;
  return { kind: 'json' };
}

function unionKind(key: string, schema: JSONSchema, union: readonly JSONSchema[], path: string): FieldKind | undefined {
  const usable = union.filter((member) => !isOpaque(member) && !needsOpaque(member));
  if (usable.length === 0) return undefined;
  // string | string[] (bootstrap hosts as EMQX accepts them): one comma-separated list.
  if (usable.some(isStringArray) && usable.every((m) => isStringArray(m) || isScalar(m))) return { kind: 'list' };
  // integer | "5s": a number or a duration.
  if (usable.every(isScalar)) {
    const types = new Set(usable.flatMap(typesOf));
    if (types.size === 1 && types.has('string')) return { kind: 'text', secret: isSecret(key, schema) };
    return types.has('string') ? { kind: 'scalar' } : { kind: 'number', integer: !types.has('number') };
  }
  // 0 | 1 | 2, 4 | 5: a select.
  if (usable.every((m) => m.const !== undefined)) return { kind: 'enum', options: usable.map((m) => ({ label: String(m.const), value: m.const })) };
  const discriminators = new Set<string>();
  const variants: Variant[] = [];
  const discriminatedLabels = new Set<Variant>();
  for (const member of usable) {
    if (member.const !== undefined) {
      const constant = member.const;
      variants.push({ label: String(constant), initial: constant, matches: (v) => v === constant });
    } else if (typesOf(member).includes('boolean')) {
      variants.push({ label: 'No', initial: false, matches: (v) => v === false });
      variants.push({ label: 'Yes', initial: true, matches: (v) => v === true });
    } else if (typesOf(member).includes('object') || member.properties !== undefined) {
      const discriminator = discriminatorOf(member);
      if (discriminator === undefined) {
        // Told apart by their keys: { userProperty } vs { topicSegment } ("User property", "Topic segment").
        const keys = (member.required ?? []).length > 0 ? member.required! : Object.keys(member.properties ?? {});
        const own = (v: unknown): boolean => isPlainObject(v) && keys.every((k) => k in v);
        variants.push({ label: keys.map(humanize).join(' + ') || 'Custom settings', initial: {}, matches: own, fields: fieldsOf(member, path) });
        continue;
      }
      discriminators.add(discriminator.key);
      const fields = fieldsOf(member, path, [discriminator.key]);
      for (const value of discriminator.values) {
        const variant: Variant = {
          label: String(value),
          initial: { [discriminator.key]: value },
          matches: (v) => isPlainObject(v) && v[discriminator.key] === value,
          fields,
        };
        discriminatedLabels.add(variant);
        variants.push(variant);
      }
    } else if (isScalar(member)) {
      variants.push({ label: 'Value', initial: '', matches: (v) => typeof v === 'string' || typeof v === 'number' });
    }
  }
  if (variants.length === 0) return { kind: 'json' };
  const loose = variants.filter((v) => v.fields !== undefined && !discriminatedLabels.has(v));
  if (loose.length === 1) {
    const index = variants.indexOf(loose[0]!);
    variants[index] = { ...loose[0]!, label: 'Custom settings', matches: isPlainObject };
  }
  const discriminator = discriminators.size === 1 ? [...discriminators][0] : undefined;
  return {
    kind: 'union',
    variants,
    selectLabel: discriminator === undefined ? humanize(key) : humanize(discriminator),
    ...(discriminator === undefined ? {} : { discriminator }),
  };
}

/** An object member with a required property the form cannot fill (oauthbearer's tokenProvider). */
function needsOpaque(member: JSONSchema): boolean {
  const properties = member.properties ?? {};
  return (member.required ?? []).some((key) => properties[key] !== undefined && isOpaque(properties[key]!));
}

function discriminatorOf(member: JSONSchema): { key: string; values: readonly unknown[] } | undefined {
  for (const key of member.required ?? []) {
    const property = member.properties?.[key];
    if (property?.const !== undefined) return { key, values: [property.const] };
    if (property?.enum !== undefined) return { key, values: property.enum };
  }
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The variant a union's value stands for; with no value, the one of the default. */
export function variantIndex(variants: readonly Variant[], value: unknown, fallback: unknown): number {
  const probe = value === undefined ? fallback : value;
  return variants.findIndex((v) => v.matches(probe));
}

/** Comma-separated text → list of strings (empty items dropped); '' → undefined. */
export function parseList(text: string): string[] | undefined {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length === 0 ? undefined : items;
}

/** Number or duration text → 5000 or "5s"; '' → undefined. */
export function parseScalar(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** `key: value` lines → map; '' → undefined. Lines without a colon are reported. */
export function parseMap(text: string): { value?: Record<string, string>; error?: string } {
  const entries: [string, string][] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `line ${index + 1}: write key: value` };
    entries.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return entries.length === 0 ? {} : { value: Object.fromEntries(entries) };
}

export function showMap(value: unknown): string {
  if (!isPlainObject(value)) return '';
  return Object.entries(value).map(([k, v]) => `${k}: ${display(v)}`).join('\n');
}

/** Settings value at a dotted path. */
export function getPath(root: Record<string, unknown>, path: string): unknown {
  let current: unknown = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/**
 * A copy of `root` with the value at a dotted path set (undefined removes the key; objects left empty
 * by a removal are removed too, so an untouched section stays absent from the config).
 */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  const copy: Record<string, unknown> = { ...root };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const child = isPlainObject(root[head]) ? root[head] : {};
  const next = setPath(child, rest.join('.'), value);
  if (Object.keys(next).length === 0 && value === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** The first error for a field: its own path, or a path inside it (`bootstrapHosts[0]`, `retry.retries` for `retry`). */
export function errorFor(errors: Readonly<Record<string, string>> | undefined, path: string): string | undefined {
  if (errors === undefined) return undefined;
  if (errors[path] !== undefined) return errors[path];
  const inside = Object.keys(errors).find((p) => p.startsWith(`${path}[`));
  return inside === undefined ? undefined : errors[inside];
}

/** Issue paths as the API sends them (`bootstrapHosts.0`, `authentication.password`) → field paths. */
export function errorsFromIssues(issues: readonly { path: string; message: string }[] | undefined): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues ?? []) {
    const path = issue.path.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
    const fieldPath = path.split('.').filter((part) => !/^\d+$/.test(part)).join('.');
    errors[fieldPath] ??= issue.message;
  }
  return errors;
}

/** Fields that a new user needs besides the required ones: how to connect and authenticate. */
export function isProminent(field: Field): boolean {
  if (field.required) return true;
  if (field.kind === 'union' && field.variants.some((v) => v.fields !== undefined && v.fields.length > 0)) return true;
  const w = words(field.key);
  return w.length === 1 && (w[0] === 'username' || w[0] === 'password');
}
