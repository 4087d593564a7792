// A form generated from a settings JSON Schema (GET /api/schema): required fields first, the rest folded in
// "More settings" with their defaults as placeholders; secrets write-only. Used for connectors, sources and
// the "More settings" of actions. The value is the settings object itself: untouched optional fields stay
// absent, so what is saved is what the user typed and the defaults stay the schema's.
import { useId, useRef, useState } from 'preact/hooks';
import type { ComponentChildren, JSX, TargetedEvent } from 'preact';
import type { JSONSchema } from '../api-types';
import { REDACTED } from '../api-types';
import {
  type Field, display, errorFor, errorsFromIssues, fieldsOf, getPath, isPlainObject, isProminent, parseList, parseMap, parseScalar, setPath, showMap, variantIndex,
} from '../schema-model';

export interface SchemaFormProps {
  schema: JSONSchema;
  value: Record<string, unknown>;
  onChange(value: Record<string, unknown>): void;
  /** Messages by field path (`bootstrapHosts`, `authentication.password`), e.g. from errorsFromIssues(). */
  errors?: Record<string, string>;
  /** Paths of secret fields that have a stored value (besides those whose value is "[redacted]"). */
  storedSecrets?: Set<string>;
  /** Top-level keys the page renders itself (`id`, `type`). Constant properties are always left out. */
  omit?: readonly string[];
  /** Show every field unfolded (no "More settings"). */
  unfolded?: boolean;
  /** API issues with paths relative to this form's value; merged into `errors`. */
  issues?: readonly { path: string; message: string }[];
  /** Accepted for callers that namespace ids; ids are unique without it (useId). */
  idPrefix?: string;
}

interface Context {
  readonly value: Record<string, unknown>;
  readonly set: (path: string, value: unknown) => void;
  readonly errors: Readonly<Record<string, string>> | undefined;
  readonly storedSecrets: ReadonlySet<string> | undefined;
}

export function SchemaForm(props: SchemaFormProps): JSX.Element {
  const fields = fieldsOf(props.schema, '', props.omit ?? []);
  const errors = props.issues === undefined ? props.errors : { ...errorsFromIssues(props.issues), ...props.errors };
  const context: Context = {
    value: props.value,
    set: (path, value) => props.onChange(setPath(props.value, path, value)),
    errors,
    storedSecrets: props.storedSecrets,
  };
  const shown = props.unfolded === true ? fields : fields.filter(isProminent);
  const folded = props.unfolded === true ? [] : fields.filter((f) => !isProminent(f));
  const foldedHasError = folded.some((f) => hasErrorInside(errors, f.path));
  return (
    <div class="schema-form">
      {shown.map((field) => <FieldControl key={field.path} field={field} context={context} />)}
      {folded.length > 0 && (
        <details class="more-settings" open={foldedHasError || undefined}>
          <summary>More settings</summary>
          <div class="more-settings-body">
            {folded.map((field) => <FieldControl key={field.path} field={field} context={context} />)}
          </div>
        </details>
      )}
    </div>
  );
}

function hasErrorInside(errors: Readonly<Record<string, string>> | undefined, path: string): boolean {
  return errors !== undefined && Object.keys(errors).some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`));
}

/**
 * The required mark, outside the <label> so the control's accessible name is the label text alone
 * (screen readers get aria-required on the control instead).
 */
export function Required(): JSX.Element {
  return <span class="required" aria-hidden="true">*</span>;
}

/** Renders descriptions' `code` spans as <code>. */
export function Described(props: { text: string }): JSX.Element {
  const parts = props.text.split('`');
  return <>{parts.map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}

function FieldControl(props: { field: Field; context: Context }): JSX.Element {
  const { field, context } = props;
  if (field.kind === 'object') {
    return (
      <fieldset class="field-group">
        <legend>{field.label}</legend>
        {field.description !== undefined && <p class="hint"><Described text={field.description} /></p>}
        {field.fields.map((child) => <FieldControl key={child.path} field={child} context={context} />)}
      </fieldset>
    );
  }
  if (field.kind === 'union') return <UnionControl field={field} context={context} />;
  return <ScalarControl field={field} context={context} />;
}

function UnionControl(props: { field: Field & { kind: 'union' }; context: Context }): JSX.Element {
  const { field, context } = props;
  const id = useId();
  const value = getPath(context.value, field.path);
  const selected = variantIndex(field.variants, value, field.default);
  const variant = selected === -1 ? undefined : field.variants[selected];
  const error = errorFor(context.errors, field.discriminator === undefined ? field.path : `${field.path}.${field.discriminator}`);
  const onSelect = (event: TargetedEvent<HTMLSelectElement>): void => {
    if (event.currentTarget.value === '') {
      context.set(field.path, undefined);
      return;
    }
    const picked = field.variants[Number(event.currentTarget.value)];
    if (picked === undefined) return;
    // Picking what the default stands for removes the setting: the config keeps only what differs.
    const isDefault = field.default !== undefined && picked.matches(field.default);
    context.set(field.path, isDefault && !field.required ? undefined : structuredClone(picked.initial));
  };
  const select = (
    <div class="field">
      <label for={id}>{field.selectLabel}</label>{field.required && field.discriminator === undefined && <Required />}
      <select id={id} value={selected === -1 ? '' : String(selected)} onChange={onSelect}
        aria-invalid={error !== undefined || undefined} aria-describedby={`${id}-hint ${id}-error`}>
        {(selected === -1 || (!field.required && field.default === undefined)) && <option value="">{field.required ? 'Choose…' : 'Not set'}</option>}
        {field.variants.map((v, i) => (
          <option key={i} value={String(i)}>{v.label}{field.default !== undefined && v.matches(field.default) ? ' (default)' : ''}</option>
        ))}
      </select>
      {field.description !== undefined && <p class="hint" id={`${id}-hint`}><Described text={field.description} /></p>}
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
  const children = variant?.fields !== undefined && isPlainObject(value)
    ? variant.fields.map((child) => <FieldControl key={child.path} field={child} context={context} />)
    : undefined;
  // A discriminated union (authentication: mechanism + its fields) is one group named after the key. Any
  // other (ssl: no / yes / custom settings) is a select named after the key, and the picked variant's
  // fields follow in a group of their own; the select stays in place so it keeps focus while switching.
  if (field.discriminator !== undefined) {
    return (
      <fieldset class="field-group">
        <legend>{field.label}</legend>
        {select}
        {children}
      </fieldset>
    );
  }
  return (
    <>
      {select}
      {children !== undefined && children.length > 0 && (
        <fieldset class="field-group">
          <legend>{field.label} settings</legend>
          {children}
        </fieldset>
      )}
    </>
  );
}

function FieldError(props: { id: string; message: string | undefined }): JSX.Element | null {
  if (props.message === undefined) return <span id={props.id} hidden />;
  return <p class="field-error" id={props.id}>{props.message}</p>;
}

function ScalarControl(props: { field: Exclude<Field, { kind: 'object' | 'union' }>; context: Context }): JSX.Element {
  const { field, context } = props;
  const id = useId();
  const value = getPath(context.value, field.path);
  const error = errorFor(context.errors, field.path);
  const describedBy = `${id}-hint ${id}-error`;
  const common = {
    id,
    'aria-invalid': error !== undefined || undefined,
    'aria-describedby': describedBy,
    'aria-required': field.required || undefined,
  };
  let control: ComponentChildren;
  let inline = false;
  switch (field.kind) {
    case 'boolean': {
      inline = true;
      const checked = typeof value === 'boolean' ? value : field.default === true;
      control = (
        <input type="checkbox" {...common} checked={checked}
          onChange={(e) => context.set(field.path, e.currentTarget.checked === field.default && !field.required ? undefined : e.currentTarget.checked)} />
      );
      break;
    }
    case 'enum': {
      const index = field.options.findIndex((o) => o.value === value);
      control = (
        <select {...common} value={index === -1 ? '' : String(index)}
          onChange={(e) => context.set(field.path, e.currentTarget.value === '' ? undefined : field.options[Number(e.currentTarget.value)]?.value)}>
          {(!field.required || index === -1) && (
            <option value="">{field.default !== undefined ? `Default (${display(field.default)})` : field.required ? 'Choose…' : 'Not set'}</option>
          )}
          {field.options.map((o, i) => <option key={i} value={String(i)}>{o.label}</option>)}
        </select>
      );
      break;
    }
    case 'text':
      control = field.secret
        ? <SecretInput field={field} common={common} value={value} context={context} />
        : (
          <input type="text" {...common} value={typeof value === 'string' ? value : display(value)} placeholder={field.placeholder}
            autocomplete="off" spellcheck={false}
            onInput={(e) => context.set(field.path, e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />
        );
      break;
    case 'number':
      control = (
        <input type="number" {...common} value={typeof value === 'number' ? String(value) : display(value)} placeholder={field.placeholder}
          step={field.integer ? 1 : 'any'}
          onInput={(e) => context.set(field.path, e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))} />
      );
      break;
    case 'scalar':
      control = (
        <input type="text" {...common} value={display(value)} placeholder={field.placeholder} autocomplete="off" spellcheck={false}
          onInput={(e) => context.set(field.path, parseScalar(e.currentTarget.value))} />
      );
      break;
    case 'list':
      control = <ListInput common={common} value={value} placeholder={field.placeholder} onChange={(v) => context.set(field.path, v)} />;
      break;
    case 'map':
      control = <MapInput common={common} value={value} onChange={(v) => context.set(field.path, v)} />;
      break;
    case 'json':
      control = <JsonInput common={common} value={value} onChange={(v) => context.set(field.path, v)} />;
      break;
  }
  const hint = hintOf(field);
  return (
    <div class={inline ? 'field field-inline' : 'field'}>
      {inline && control}
      <label for={id}>{field.label}</label>{field.required && <Required />}
      {!inline && control}
      <p class="hint" id={`${id}-hint`}>{hint}</p>
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}

function hintOf(field: Field): ComponentChildren {
  const parts: ComponentChildren[] = [];
  if (field.description !== undefined) parts.push(<Described text={field.description} />);
  if (field.kind === 'list') parts.push(' Comma-separated.');
  if (field.kind === 'map') parts.push(' One key: value per line.');
  if (field.kind === 'boolean' && field.default !== undefined) parts.push(` Default: ${field.default === true ? 'on' : 'off'}.`);
  return parts;
}

type Common = Record<string, unknown> & { id: string };

/** `${env:NAME}` / `${file:/path}`: a secret the config file takes from elsewhere (shown as written by the API). */
const REFERENCE = /^\$\{(env|file):[^}]+\}$/;

/**
 * A write-only field: the stored value is never shown; empty keeps it, typing replaces it. A secret held by a
 * reference keeps the reference (named in the placeholder) until something is typed.
 */
function SecretInput(props: { field: Field; common: Common; value: unknown; context: Context }): JSX.Element {
  const { field, common, value, context } = props;
  // The stored form, remembered while the user types over it (clearing the field brings it back).
  const keptRef = useRef<string | undefined>(undefined);
  if (typeof value === 'string' && (value === REDACTED || REFERENCE.test(value))) keptRef.current = value;
  const kept = keptRef.current;
  const stored = kept !== undefined || context.storedSecrets?.has(field.path) === true;
  const typed = typeof value === 'string' && value !== REDACTED && value !== kept ? value : '';
  const placeholder = kept !== undefined && kept !== REDACTED
    ? `from ${kept} — leave empty to keep`
    : stored ? 'stored — leave empty to keep' : field.placeholder;
  return (
    <input type="password" {...common} value={typed} autocomplete="new-password" placeholder={placeholder}
      onInput={(e) => {
        const text = e.currentTarget.value;
        context.set(field.path, text !== '' ? text : kept ?? (stored ? REDACTED : undefined));
      }} />
  );
}

/** Keeps the typed text while the user edits (so "a, " does not lose its comma); the value is the parsed list. */
function ListInput(props: { common: Common; value: unknown; placeholder: string | undefined; onChange(value: string[] | undefined): void }): JSX.Element {
  const shown = display(props.value);
  const [text, setText] = useState(shown);
  const current = display(parseList(text)) === display(props.value) ? text : shown;
  return (
    <input type="text" {...props.common} value={current} placeholder={props.placeholder} autocomplete="off" spellcheck={false}
      onInput={(e) => {
        setText(e.currentTarget.value);
        props.onChange(parseList(e.currentTarget.value));
      }} />
  );
}

function MapInput(props: { common: Common; value: unknown; onChange(value: Record<string, string> | undefined): void }): JSX.Element {
  const [text, setText] = useState(showMap(props.value));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  return (
    <>
      <textarea {...props.common} rows={3} value={text} spellcheck={false}
        onInput={(e) => {
          setText(e.currentTarget.value);
          const parsed = parseMap(e.currentTarget.value);
          setProblem(parsed.error);
          if (parsed.error === undefined) props.onChange(parsed.value);
        }} />
      {problem !== undefined && <p class="field-error">{problem}</p>}
    </>
  );
}

function JsonInput(props: { common: Common; value: unknown; onChange(value: unknown): void }): JSX.Element {
  const [text, setText] = useState(props.value === undefined ? '' : JSON.stringify(props.value, null, 2));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  return (
    <>
      <textarea {...props.common} rows={4} value={text} spellcheck={false} class="mono"
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          if (next.trim() === '') {
            setProblem(undefined);
            props.onChange(undefined);
            return;
          }
          try {
            props.onChange(JSON.parse(next));
            setProblem(undefined);
          } catch {
            setProblem('not valid JSON yet');
          }
        }} />
      {problem !== undefined && <p class="field-error">{problem}</p>}
    </>
  );
}
