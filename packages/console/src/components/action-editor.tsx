import { useState } from 'preact/hooks';
import type { ActionDraft } from '../action-draft';
import { DEDICATED_SETTINGS, DEFAULT_KEY, DEFAULT_VALUE } from '../action-draft';
import type { ConnectorView, JSONSchema, SchemaCatalog } from '../api-types';
import { href } from '../paths';
import { issuesUnder } from '../rule-text';
import { SchemaForm } from './schema-form';

export interface ActionEditorProps {
  /** 0-based; the fieldset says "Action N" with N = index + 1. */
  readonly index: number;
  readonly draft: ActionDraft;
  readonly onChange: (draft: ActionDraft) => void;
  readonly onRemove: () => void;
  readonly connectors: readonly ConnectorView[];
  readonly schemas: SchemaCatalog | undefined;
  /** The refusal's issues by rule-relative path (`actions[0].topic` → its messages). */
  readonly issues: ReadonlyMap<string, readonly string[]>;
  /** Lines of Headers that could not be read, as one sentence (checked before anything is sent). */
  readonly headersProblem?: string | undefined;
}

/** The connector type's action schema and which of the dedicated settings it has. */
export function actionSchemaOf(connectors: readonly ConnectorView[], schemas: SchemaCatalog | undefined, connectorId: string): { schema: JSONSchema | undefined; known: ReadonlySet<string> } {
  const type = connectors.find((c) => c.id === connectorId)?.type;
  const schema = type === undefined ? undefined : schemas?.actions[type];
  // before the schema is known (or for an unknown connector) the Kafka fields are shown: the journey's case
  const known = new Set<string>(schema?.properties === undefined ? DEDICATED_SETTINGS : DEDICATED_SETTINGS.filter((s) => schema.properties?.[s] !== undefined));
  return { schema, known };
}

/** Settings with fields of their own in the action editor, left out of its schema form. */
const OWN_FIELDS: readonly string[] = ['connector', 'id', 'fallbackActions', ...DEDICATED_SETTINGS];

/**
 * One action of a rule: a "Connector" select, then what the Kafka record gets (Topic, Key, Value, Headers),
 * then the connector's other action settings folded under "More settings" (a form from its JSON Schema).
 * A refused setting's message shows under its field.
 */
export function ActionEditor({ index, draft, onChange, onRemove, connectors, schemas, issues, headersProblem }: ActionEditorProps) {
  const base = `actions[${index}]`;
  const idBase = `action-${index}`;
  const { schema, known } = actionSchemaOf(connectors, schemas, draft.connector);
  const set = (patch: Partial<ActionDraft>): void => onChange({ ...draft, ...patch });
  const at = (setting: string): string[] => issuesUnder(issues, `${base}.${setting}`);
  const shownPaths = ['connector', ...DEDICATED_SETTINGS].map((s) => `${base}.${s}`);
  // issues of the other settings: the schema form shows those it has a field for, this list the rest
  const otherIssues = [...issues].filter(([path]) => (path === base || path.startsWith(`${base}.`) || path.startsWith(`${base}[`))
    && !shownPaths.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)));
  const restIssues = otherIssues.map(([path, messages]) => ({ path: path.slice(base.length + 1), messages }));
  const connectorKnown = connectors.some((c) => c.id === draft.connector);

  return (
    <fieldset class="field-group action-editor">
      <legend>Action {index + 1}</legend>
      <div class="field">
        <label for={`${idBase}-connector`}>Connector</label>
        {connectors.length === 0 ? (
          <p class="hint">No connectors yet. <a href={href('connectors')}>Create one</a> to send rule results to Kafka.</p>
        ) : (
          <select id={`${idBase}-connector`} value={draft.connector} onChange={(e) => set({ connector: e.currentTarget.value })}
            aria-invalid={at('connector').length > 0 || !connectorKnown} aria-describedby={`${idBase}-connector-error`}>
            {!connectorKnown && <option value={draft.connector}>{draft.connector === '' ? 'Choose a connector' : `${draft.connector} (not found)`}</option>}
            {connectors.map((c) => <option key={c.id} value={c.id}>{c.id} ({c.type})</option>)}
          </select>
        )}
        <FieldError id={`${idBase}-connector-error`} messages={at('connector')} />
      </div>

      {known.has('topic') && (
        <TextField id={`${idBase}-topic`} label="Topic" value={draft.topic} required placeholder="emqx"
          hint="Kafka topic; a template such as t-${payload.site} is rendered per message." messages={at('topic')}
          onInput={(topic) => set({ topic })} />
      )}
      {known.has('key') && (
        <TextField id={`${idBase}-key`} label="Key" value={draft.key} placeholder={DEFAULT_KEY}
          hint="Record key template; empty gives a null key." messages={at('key')} onInput={(key) => set({ key })} />
      )}
      {known.has('value') && (
        <TextField id={`${idBase}-value`} label="Value" value={draft.value} placeholder={DEFAULT_VALUE} multiline
          hint={'Record value template; ${.} is the whole rule output as JSON, e.g. {"temp": ${temp}, "hum": ${hum}}.'}
          messages={at('value')} onInput={(value) => set({ value })} />
      )}
      {known.has('extHeaders') && (
        <TextField id={`${idBase}-headers`} label="Headers" value={draft.headersText} multiline placeholder={'source: sluice-${clientid}'}
          hint="One header per line as name: value; both are templates."
          messages={[...(headersProblem === undefined ? [] : [headersProblem]), ...at('extHeaders')]}
          onInput={(headersText) => set({ headersText })} />
      )}

      {schema !== undefined && <MoreSettings schema={schema} draft={draft} set={set} issues={restIssues} />}
      {schema === undefined && restIssues.length > 0 && <FieldError id={`${idBase}-other-error`} messages={restIssues.flatMap(({ path, messages }) => messages.map((m) => `${path}: ${m}`))} />}

      <div class="action-editor-foot">
        <button type="button" class="link-danger" onClick={onRemove}>Remove action {index + 1}</button>
      </div>
    </fieldset>
  );
}

/**
 * The connector's other action settings, folded. The form is made only while open: its many fields
 * ("Header value encode mode" ...) stay out of the page, and out of the way of the fields above, until asked for.
 */
function MoreSettings({ schema, draft, set, issues }: { schema: JSONSchema; draft: ActionDraft; set: (patch: Partial<ActionDraft>) => void; issues: ReadonlyArray<{ path: string; messages: readonly string[] }> }) {
  const [open, setOpen] = useState(false);
  const shown = open || issues.length > 0;
  return (
    <details class="more-settings" open={shown} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>More settings</summary>
      {shown && (
        <div class="more-settings-body">
          <SchemaForm schema={schema} value={draft.rest as Record<string, unknown>} omit={OWN_FIELDS} unfolded
            onChange={(rest) => set({ rest })}
            errors={Object.fromEntries(issues.map(({ path, messages }) => [path, messages.join('; ')]))} />
        </div>
      )}
    </details>
  );
}

interface TextFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
  readonly messages: readonly string[];
  readonly hint?: string;
  readonly placeholder?: string;
  readonly required?: boolean;
  readonly multiline?: boolean;
}

function TextField({ id, label, value, onInput, messages, hint, placeholder, required = false, multiline = false }: TextFieldProps) {
  const described = [hint === undefined ? '' : `${id}-hint`, `${id}-error`].filter(Boolean).join(' ');
  const common = {
    id, value, placeholder, required, spellcheck: false, autoComplete: 'off',
    'aria-invalid': messages.length > 0, 'aria-describedby': described, class: 'mono',
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {multiline
        ? <textarea {...common} rows={Math.min(6, Math.max(2, value.split('\n').length))} onInput={(e) => onInput(e.currentTarget.value)} />
        : <input type="text" {...common} onInput={(e) => onInput(e.currentTarget.value)} />}
      {hint !== undefined && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      <FieldError id={`${id}-error`} messages={messages} />
    </div>
  );
}

/** The messages of a refused field, right under it (empty: nothing shown, the id still resolves). */
export function FieldError({ id, messages }: { id: string; messages: readonly string[] }) {
  return (
    <p id={id} class="field-error" hidden={messages.length === 0}>
      {messages.join('; ')}
    </p>
  );
}
