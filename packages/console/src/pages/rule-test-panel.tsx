import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { ActionDefinition, RenderedRecord, RuleTestResult, TestMessage } from '../api-types';
import type { SqlError } from '../components/sql-editor';
import { describeProblems, parseUserProperties, sampleTopic } from '../rule-text';
import { indentJson } from '../json-indent';

export interface RuleTestPanelProps {
  readonly id: string;
  /** The SQL in the editor now (saved or not). */
  readonly sql: string;
  /** The actions as the editor holds them now, so their templates render too. */
  readonly actions: readonly ActionDefinition[];
  /** A syntax error of the SQL tested: the editor underlines it (undefined clears it). */
  readonly onSyntaxError: (error: SqlError | undefined) => void;
}

/** EMQX's Enable Test defaults, except the payload: the journey's sensor reading. */
const DEFAULT_PAYLOAD = '{"temp": "27.5", "hum": "41.8"}';

/**
 * EMQX's "Enable Test": the rule (as edited, unsaved) evaluated on a simulated message through
 * `POST api/rules/test`; shows the outputs and each action's rendered topic, key, value and headers,
 * as `sluice rule test -c` prints them. Nothing is published or sent.
 */
export function RuleTestPanel({ id, sql, actions, onSyntaxError }: RuleTestPanelProps) {
  const [topic, setTopic] = useState(() => sampleTopic(sql) ?? '');
  const [payload, setPayload] = useState(DEFAULT_PAYLOAD);
  const [clientid, setClientid] = useState('c_emqx');
  const [username, setUsername] = useState('u_emqx');
  const [qos, setQos] = useState<0 | 1 | 2>(1);
  const [userProperties, setUserProperties] = useState('');
  const [result, setResult] = useState<RuleTestResult | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [syntaxNote, setSyntaxNote] = useState<string | undefined>(undefined);
  const [propertiesProblem, setPropertiesProblem] = useState<string | undefined>(undefined);
  const [running, setRunning] = useState(false);

  const run = async (): Promise<void> => {
    const properties = parseUserProperties(userProperties);
    const problem = describeProblems(properties.problems);
    setPropertiesProblem(problem);
    if (problem !== undefined) return;
    const message: TestMessage = {
      topic, payload, qos,
      ...(clientid === '' ? {} : { clientid }),
      ...(username === '' ? {} : { username }),
      ...(Object.keys(properties.value).length === 0 ? {} : { userProperties: { ...properties.value } }),
    };
    setRunning(true);
    setFailure(undefined);
    setSyntaxNote(undefined);
    try {
      const answer = await api<RuleTestResult>('api/rules/test', { method: 'POST', body: { sql, actions, message } });
      setResult(answer);
      onSyntaxError(undefined);
    } catch (e) {
      setResult(undefined);
      if (e instanceof ApiError && e.body.code === 'ERR_RULE_SYNTAX' && e.body.line !== undefined && e.body.column !== undefined) {
        const syntax = { line: e.body.line, column: e.body.column, message: e.body.error };
        onSyntaxError(syntax);
        // the editor shows it (underline and alert); one alert per error
        setSyntaxNote(`The SQL has a syntax error at line ${syntax.line}, column ${syntax.column}: see the editor.`);
      } else {
        setFailure(e instanceof ApiError ? e.body.error : String(e));
      }
    } finally {
      setRunning(false);
    }
  };

  return (
    <div id={id} class="card rule-test" role="region" aria-label="Enable Test">
      <h2>Test with a simulated message</h2>
      <div class="test-grid">
        <div class="field">
          <label for={`${id}-topic`}>Topic</label>
          <input id={`${id}-topic`} type="text" class="mono" value={topic} spellcheck={false} onInput={(e) => setTopic(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={`${id}-clientid`}>Client ID</label>
          <input id={`${id}-clientid`} type="text" value={clientid} spellcheck={false} onInput={(e) => setClientid(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={`${id}-username`}>Username</label>
          <input id={`${id}-username`} type="text" value={username} spellcheck={false} autoComplete="off" onInput={(e) => setUsername(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={`${id}-qos`}>QoS</label>
          <select id={`${id}-qos`} value={String(qos)} onChange={(e) => setQos(Number(e.currentTarget.value) as 0 | 1 | 2)}>
            <option value="0">0</option><option value="1">1</option><option value="2">2</option>
          </select>
        </div>
        <div class="field wide">
          <label for={`${id}-payload`}>Payload</label>
          <textarea id={`${id}-payload`} class="mono" rows={4} value={payload} spellcheck={false} onInput={(e) => setPayload(e.currentTarget.value)} />
        </div>
        <div class="field wide">
          <label for={`${id}-props`}>User properties</label>
          <textarea id={`${id}-props`} class="mono" rows={2} value={userProperties} spellcheck={false} placeholder="site=lab"
            aria-invalid={propertiesProblem !== undefined} aria-describedby={`${id}-props-hint ${id}-props-error`}
            onInput={(e) => setUserProperties(e.currentTarget.value)} />
          <p class="hint" id={`${id}-props-hint`}>MQTT 5 user properties, one name=value per line.</p>
          <p class="field-error" id={`${id}-props-error`} hidden={propertiesProblem === undefined}>{propertiesProblem}</p>
        </div>
      </div>
      <button type="button" class="button-primary" onClick={() => void run()} disabled={running || topic.trim() === ''}>{running ? 'Running…' : 'Run test'}</button>
      <div class="test-output" role="region" aria-label="Test output" aria-live="polite">
        {failure !== undefined && <p role="alert" class="alert alert-error">{failure}</p>}
        {syntaxNote !== undefined && <p class="alert alert-error">{syntaxNote}</p>}
        {result !== undefined && <TestResult result={result} actions={actions} />}
        {result === undefined && failure === undefined && syntaxNote === undefined && <p class="muted">Run the test to see the rule's output here.</p>}
      </div>
    </div>
  );
}

function TestResult({ result, actions }: { result: RuleTestResult; actions: readonly ActionDefinition[] }) {
  if (result.error !== undefined) return <p role="alert" class="alert alert-error">Evaluation failed: {result.error}</p>;
  if (!result.matched) {
    return <p class="alert alert-info">No output: the topic does not match the rule's FROM, or WHERE filtered the message out.</p>;
  }
  return (
    <>
      <h3>Output</h3>
      <pre class="json">{outputsText(result.outputTexts ?? result.outputs)}</pre>
      {(result.rendered ?? []).map((action) => (
        <section key={action.actionIndex} class="rendered-action" aria-label={`Action ${action.actionIndex + 1} rendered`}>
          <h3>Action {action.actionIndex + 1} → {action.connector}{action.id === undefined ? '' : ` (${action.id})`}</h3>
          {action.records.length === 0 && <p class="muted">No record (the rule gave no output).</p>}
          {action.records.map((record, i) => <Rendered key={i} record={record} numbered={action.records.length > 1 ? i + 1 : undefined} />)}
        </section>
      ))}
      {actions.length === 0 && <p class="muted">Add an action to see the Kafka record it would write.</p>}
    </>
  );
}

/** The API also renders an action's other templated settings (timestamp ...) under `other`. */
type RenderedWithOther = RenderedRecord & { readonly other?: Readonly<Record<string, string>> };

function Rendered({ record, numbered }: { record: RenderedWithOther; numbered: number | undefined }) {
  const headers = Object.entries(record.headers ?? {});
  const other = Object.entries(record.other ?? {});
  return (
    <dl class="rendered">
      {numbered !== undefined && <><dt>Record</dt><dd>{numbered}</dd></>}
      {record.topic !== undefined && <><dt>Topic</dt><dd><code>{record.topic}</code></dd></>}
      {record.key !== undefined && <><dt>Key</dt><dd><code>{record.key === '' ? '(empty: null key)' : record.key}</code></dd></>}
      {record.value !== undefined && <><dt>Value</dt><dd><code class="block">{record.value}</code></dd></>}
      <dt>Headers</dt>
      <dd>{headers.length === 0 ? <span class="muted">none</span> : <ul class="plain">{headers.map(([k, v]) => <li key={k}><code>{k}: {v}</code></li>)}</ul>}</dd>
      {other.map(([setting, value]) => <Fragment key={setting}><dt>{setting}</dt><dd><code>{value}</code></dd></Fragment>)}
    </dl>
  );
}

/**
 * The outputs as JSON text, indented. The API sends each output as the text a `${.}` template renders
 * (`outputTexts`: floats keep `.0`, integers beyond 2^53 keep every digit) and as an object; the text is
 * indented without being parsed, since parsing it here would round those integers.
 */
function outputsText(outputs: readonly unknown[]): string {
  const parts = outputs.map((o) => (typeof o === 'string' ? indentJson(o) : JSON.stringify(o, null, 2)));
  return parts.length === 1 ? (parts[0] as string) : `[\n${parts.join(',\n')}\n]`;
}
