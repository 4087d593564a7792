import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { definitionOf, draftOf, newDraft, type ActionDraft } from '../action-draft';
import { api, ApiError, type ApiErrorBody } from '../api';
import type { ConfigView, ConnectorView, RuleDefinition, RuleDetail, SchemaCatalog } from '../api-types';
import { ActionEditor, actionSchemaOf } from '../components/action-editor';
import { SqlEditor, type SqlError } from '../components/sql-editor';
import { href, navigate } from '../paths';
import { describeProblems, issuesByPath, issuesUnder, syntaxErrorText } from '../rule-text';
import { RuleTestPanel } from './rule-test-panel';
import './rules.css';

// The journey's seed rule (EMQX's documentation uses it too).
const STARTER_SQL = 'SELECT\n  timestamp, clientid, payload.temp as temp, payload.hum as hum\nFROM\n  "temp_hum/emqx"';
const RULE_ID_PATTERN = '[A-Za-z0-9][A-Za-z0-9_.:\\-/]*';

/** What the page holds of the rule being edited (the form), apart from its actions. */
interface RuleFields {
  readonly id: string;
  readonly sql: string;
  readonly description: string;
  readonly enabled: boolean;
  /** Kept as stored (not edited here). */
  readonly sources?: readonly string[] | undefined;
}

/** A refusal of Save: a syntax error (in the editor), issues by field, or a message for the whole form. */
interface Refusal {
  readonly syntax?: SqlError | undefined;
  readonly issues: ReadonlyMap<string, readonly string[]>;
  readonly message?: string | undefined;
  readonly conflict?: boolean;
}

const NO_ISSUES: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Create (`/rules/new`) or edit (`/rules/:id/edit`) a rule: Rule ID, the SQL editor, Enable Test, the
 * actions, then Save (`PUT api/rules/:id` with the config's revision as If-Match). A refusal is shown where
 * it happened: a syntax error underlined in the editor, a setting's message under its field.
 */
export function RuleEditPage({ id }: { id?: string }) {
  const creating = id === undefined;
  const [fields, setFields] = useState<RuleFields | undefined>(creating ? { id: '', sql: STARTER_SQL, description: '', enabled: true } : undefined);
  const [actions, setActions] = useState<ActionDraft[]>([]);
  const [revision, setRevision] = useState<string | undefined>(undefined);
  /** Ids of the stored rules: a new rule must not take one (PUT would replace that rule). */
  const [existingIds, setExistingIds] = useState<ReadonlySet<string>>(new Set());
  const [connectors, setConnectors] = useState<ConnectorView[]>([]);
  const [schemas, setSchemas] = useState<SchemaCatalog | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [refusal, setRefusal] = useState<Refusal | undefined>(undefined);
  const [headersProblems, setHeadersProblems] = useState<ReadonlyMap<number, string>>(new Map());
  const [saving, setSaving] = useState(false);
  const [testOpen, setTestOpen] = useState(false);
  const [testSyntax, setTestSyntax] = useState<SqlError | undefined>(undefined);
  const formError = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    const signal = abort.signal;
    const failed = (e: unknown): void => { if (!signal.aborted) setLoadError(messageOf(e)); };
    api<ConnectorView[]>('api/connectors', { signal }).then(setConnectors, failed);
    api<SchemaCatalog>('api/schema', { signal }).then(setSchemas, () => { /* the Kafka fields are shown without it */ });
    api<ConfigView>('api/config', { signal }).then(async (config) => {
      setRevision(config.revision);
      setExistingIds(new Set(config.rules.map((r) => r.id)));
      if (creating) return;
      // the stored form (references as written, secrets redacted); a rule made at run time only (a host
      // service without a config store) is read from the running rules instead
      const stored = config.rules.find((r) => r.id === id) ?? (await api<RuleDetail>(`api/rules/${encodeURIComponent(id)}`, { signal })).definition;
      load(stored);
    }, (e: unknown) => {
      if (e instanceof ApiError && e.status === 404 && !creating) {
        api<RuleDetail>(`api/rules/${encodeURIComponent(id)}`, { signal }).then((detail) => load(detail.definition), failed);
      } else if (!(e instanceof ApiError && e.status === 501)) failed(e);
    });
    return () => abort.abort();
  }, [id]);

  const load = (rule: RuleDefinition): void => {
    setFields({ id: rule.id, sql: rule.sql, description: rule.description ?? '', enabled: rule.enabled ?? true, sources: rule.sources });
    setActions((rule.actions ?? []).map(draftOf));
  };

  const syntax = refusal?.syntax ?? testSyntax;
  const issues = refusal?.issues ?? NO_ISSUES;

  const definitions = useMemo(() => actions.map((draft) => definitionOf(draft, actionSchemaOf(connectors, schemas, draft.connector).known)), [actions, connectors, schemas]);

  if (loadError !== undefined && fields === undefined) {
    return (
      <section class="page">
        <h1>{creating ? 'New rule' : `Edit ${id}`}</h1>
        <p role="alert" class="alert alert-error">{loadError}</p>
        <a href={href('rules')}>Back to the rules</a>
      </section>
    );
  }
  if (fields === undefined) return <section class="page"><h1>Edit {id}</h1><p aria-live="polite">Loading…</p></section>;

  const setField = (patch: Partial<RuleFields>): void => setFields((current) => (current === undefined ? current : { ...current, ...patch }));
  const onSqlChange = (sql: string): void => {
    setField({ sql });
    // the underline belongs to the text it was found in
    if (syntax !== undefined) {
      setTestSyntax(undefined);
      // a refusal that was only the syntax error goes with it
      setRefusal((current) => (current?.syntax === undefined ? current : undefined));
    }
  };

  const save = async (event: Event | undefined, ifMatch = revision): Promise<void> => {
    event?.preventDefault();
    const ruleId = fields.id.trim();
    if (creating && existingIds.has(ruleId)) {
      setRefusal({ issues: new Map([['id', [`a rule "${ruleId}" exists already; pick another id, or edit that rule`]]]) });
      return;
    }
    const problems = new Map<number, string>();
    definitions.forEach((d, i) => {
      const text = describeProblems(d.problems);
      if (text !== undefined) problems.set(i, text);
    });
    setHeadersProblems(problems);
    if (problems.size > 0) {
      // nothing sent: the lines are named under Headers, the summary says so
      setRefusal({ issues: NO_ISSUES });
      return;
    }
    const body: RuleDefinition = {
      id: ruleId,
      sql: fields.sql,
      enabled: fields.enabled,
      ...(fields.description.trim() === '' ? {} : { description: fields.description.trim() }),
      ...(fields.sources === undefined ? {} : { sources: fields.sources }),
      actions: definitions.map((d) => d.definition),
    };
    setSaving(true);
    setRefusal(undefined);
    try {
      await api(`api/rules/${encodeURIComponent(ruleId)}`, { method: 'PUT', body, ...(ifMatch === undefined ? {} : { ifMatch }) });
      navigate(`rules/${encodeURIComponent(ruleId)}`);
    } catch (e) {
      setRefusal(refusalOf(e));
      setSaving(false);
      requestAnimationFrame(() => formError.current?.querySelector<HTMLElement>('[role=alert]')?.focus());
    }
  };

  /** After a conflict: takes the stored revision as the one this page read, then saves again. */
  const saveOver = async (): Promise<void> => {
    try {
      const config = await api<ConfigView>('api/config');
      setRevision(config.revision);
      await save(undefined, config.revision);
    } catch (e) {
      setRefusal(refusalOf(e));
    }
  };

  const idIssues = issuesUnder(issues, 'id');
  const sqlIssues = issuesUnder(issues, 'sql').filter(() => refusal?.syntax === undefined);
  const generalIssues = [...issues].filter(([path]) => !(path === 'id' || path === 'sql' || path.startsWith('actions[')))
    .flatMap(([path, messages]) => messages.map((m) => (path === '' ? m : `${path}: ${m}`)));

  const back = href(creating ? 'rules' : `rules/${encodeURIComponent(fields.id)}`);
  return (
    <section class="page rule-edit" aria-labelledby="rule-edit-heading">
      <nav class="breadcrumb" aria-label="Breadcrumb"><a href={href('rules')}>Rules</a> › {creating ? 'New rule' : <a href={back}>{fields.id}</a>}</nav>
      <header class="page-header">
        <div>
          <h1 id="rule-edit-heading">{creating ? 'New rule' : `Edit rule ${fields.id}`}</h1>
          <p>{creating ? 'Write the SQL, try it with Enable Test, add an action, then Save.' : 'Changes apply when you save; in-flight messages finish on the old rule.'}</p>
        </div>
      </header>
      <form onSubmit={(e) => void save(e)} noValidate>
        <div class="card">
          <div class="field narrow">
            <label for="rule-id">Rule ID</label>
            <input id="rule-id" type="text" value={fields.id} readOnly={!creating} required pattern={RULE_ID_PATTERN} spellcheck={false} autoComplete="off"
              placeholder="temp_hum" aria-invalid={idIssues.length > 0} aria-describedby="rule-id-hint rule-id-error"
              onInput={(e) => setField({ id: e.currentTarget.value })} />
            <p class="hint" id="rule-id-hint">{creating ? 'Letters, digits and _ . : - /; used in metrics and the API.' : 'A saved rule keeps its id; create a new rule for another one.'}</p>
            <p id="rule-id-error" class="field-error" hidden={idIssues.length === 0}>{idIssues.join('; ')}</p>
          </div>

          <div class="field">
            {/* not a <label>: the editor is no form control; it is named "Rule SQL" by its aria-label */}
            <span class="label" aria-hidden="true">SQL</span>
            <SqlEditor id="rule-sql" value={fields.sql} onChange={onSqlChange} error={syntax} describedBy="rule-sql-error" />
            <div id="rule-sql-error">
              {syntax !== undefined && <p role="alert" class="field-error syntax-error">{syntaxErrorText(syntax)}</p>}
              {sqlIssues.length > 0 && <p role="alert" class="field-error">{sqlIssues.join('; ')}</p>}
            </div>
          </div>

          <div class="field narrow">
            <label for="rule-description">Description</label>
            <input id="rule-description" type="text" value={fields.description} placeholder="Optional, for operators" onInput={(e) => setField({ description: e.currentTarget.value })} />
          </div>
          <div class="field field-inline">
            <input id="rule-enabled" type="checkbox" checked={fields.enabled} onChange={(e) => setField({ enabled: e.currentTarget.checked })} aria-describedby="rule-enabled-hint" />
            <label for="rule-enabled">Enabled</label>
            <p class="hint" id="rule-enabled-hint">A disabled rule matches no messages.</p>
          </div>

          <div class="test-toggle">
            <button type="button" aria-expanded={testOpen} aria-controls="rule-test-panel" onClick={() => setTestOpen(!testOpen)}>
              {testOpen ? 'Hide test' : 'Enable Test'}
            </button>
            <span class="hint">Try the SQL and the actions' templates on a simulated message; nothing is published.</span>
          </div>
        </div>
        {testOpen && (
          <RuleTestPanel id="rule-test-panel" sql={fields.sql} actions={definitions.map((d) => d.definition)} onSyntaxError={setTestSyntax} />
        )}

        <h2 class="section-title">Actions</h2>
        {actions.length === 0 && (
          <p class="card empty">No actions yet: the rule's results go nowhere. Add an action to send them to a connector{connectors.length === 0 ? <> (<a href={href('connectors')}>create a connector</a> first)</> : null}.</p>
        )}
        {actions.map((draft, index) => (
          <ActionEditor key={index} index={index} draft={draft} connectors={connectors} schemas={schemas} issues={issues}
            headersProblem={headersProblems.get(index)}
            onChange={(next) => setActions(actions.map((a, i) => (i === index ? next : a)))}
            onRemove={() => setActions(actions.filter((_, i) => i !== index))} />
        ))}
        <button type="button" onClick={() => setActions([...actions, newDraft(connectors.find((c) => c.type === 'kafka')?.id ?? connectors[0]?.id ?? '')])}>Add action</button>

        <div ref={formError} class="form-feedback">
          {refusal?.conflict === true && (
            <div role="alert" tabIndex={-1} class="alert alert-error">
              <p>{refusal.message}</p>
              <div class="actions-row">
                <button type="button" onClick={() => void saveOver()}>Save mine over theirs</button>
                <a href={back}>Discard my edits</a>
              </div>
            </div>
          )}
          {refusal?.conflict !== true && (refusal?.message !== undefined || generalIssues.length > 0) && (
            <div role="alert" tabIndex={-1} class="alert alert-error">
              {refusal?.message !== undefined && <p>{refusal.message}</p>}
              {generalIssues.length > 0 && <ul>{generalIssues.map((m) => <li key={m}>{m}</li>)}</ul>}
            </div>
          )}
          {refusal !== undefined && refusal.syntax === undefined && refusal.message === undefined && generalIssues.length === 0 && (
            <p role="alert" tabIndex={-1} class="alert alert-error">Not saved: see the messages at the fields above.</p>
          )}
        </div>
        <div class="actions-row">
          <button type="submit" class="button-primary" disabled={saving}>{saving ? 'Saving…' : 'Save'}</button>
          <a class="button" href={back}>Cancel</a>
        </div>
      </form>
    </section>
  );
}

/** Where a refusal of PUT api/rules/:id goes on the page. */
function refusalOf(e: unknown): Refusal {
  if (!(e instanceof ApiError)) return { issues: NO_ISSUES, message: messageOf(e) };
  const body: ApiErrorBody = e.body;
  if (body.code === 'ERR_CONFIG_CONFLICT') {
    return { issues: NO_ISSUES, conflict: true, message: 'The config changed since this page read it (someone else saved). Your edits are still here.' };
  }
  if (body.code === 'ERR_RULE_SYNTAX' && body.line !== undefined && body.column !== undefined) {
    return { issues: NO_ISSUES, syntax: { line: body.line, column: body.column, message: body.error } };
  }
  if (body.issues !== undefined && body.issues.length > 0) return { issues: issuesByPath(body.issues) };
  return { issues: NO_ISSUES, message: body.error };
}

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.body.error : e instanceof Error ? e.message : String(e);
}
