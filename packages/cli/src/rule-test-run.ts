import { RuleSyntaxError, messageColumns, parseJsonExact, stringifyJson, type Message, type RuleOutput } from '@sluice/core';
import { SqlRuleEngine, type SqlRuleEngineOptions } from '@sluice/sql';

/**
 * EMQX's "Enable Test": one rule evaluated on one simulated message, and each action's templated settings
 * rendered for every output. Shared by `sluice rule test` (commands/rule-test.ts) and the HTTP API's
 * `POST /api/rules/test` (http/rule-test-routes.ts), which only format the result differently.
 */

/** The simulated message: what an MQTT client would publish. */
export interface RuleTestMessage {
  readonly topic: string;
  /** UTF-8 text; default empty. */
  readonly payload?: string | undefined;
  readonly clientid?: string | undefined;
  readonly username?: string | undefined;
  readonly qos?: 0 | 1 | 2 | undefined;
  /** MQTT 5 user properties; a key sent twice is a list. */
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

export interface RuleTestInput {
  readonly sql: string;
  /** Action definitions as written in a rule (`connector`, `id`, then the connector's settings). */
  readonly actions?: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined;
  readonly message: RuleTestMessage;
}

export interface RuleTestOptions {
  /** The rule engine's limits (the config's `sql.limits`): the test evaluates as the running rules do. */
  readonly engine?: SqlRuleEngineOptions | undefined;
  /**
   * Most characters of output JSON and rendered settings kept (an answer over HTTP must stay bounded: a
   * FOREACH may make 10,000 outputs of megabytes each). Past it, the rest is left out and `truncated` set.
   */
  readonly maxRenderedChars?: number | undefined;
}

/** One action's rendering of one output: its templated settings as the connector would see them. */
export interface RenderedRecord {
  readonly topic?: string;
  readonly key?: string;
  readonly value?: string;
  /** From `extHeaders` (`[{key, value}]`) and a `headers` placeholder yielding a map or `[{key, value}]`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Every other string setting holding `${...}`, rendered (what `sluice rule test -c` prints). */
  readonly other?: Readonly<Record<string, string>>;
}

export interface RenderedAction {
  readonly actionIndex: number;
  readonly connector: string;
  readonly id?: string;
  /** One per output, in the order of the outputs. */
  readonly records: readonly RenderedRecord[];
}

export type RuleTestResult =
  | { readonly kind: 'syntax-error'; readonly error: RuleSyntaxError }
  | { readonly kind: 'evaluation-error'; readonly error: string }
  | {
    readonly kind: 'evaluated';
    /** False when FROM or WHERE filtered the message out (no output, and not a FOREACH). */
    readonly matched: boolean;
    /** The FROM topic filters, for the "no result" explanation. */
    readonly topics: readonly string[];
    /** Each output as the JSON text a `${.}` template renders (floats keep `.0`, binaries as UTF-8 text). */
    readonly outputs: readonly string[];
    readonly rendered: readonly RenderedAction[];
    /** Outputs or records were left out to stay within maxRenderedChars. */
    readonly truncated: boolean;
  };

/** Settings of an action that name it rather than configure what it sends. */
const NOT_RENDERED: ReadonlySet<string> = new Set(['connector', 'id', 'extHeaders', 'headers', 'fallbackActions', 'buffer']);
const RECORD_FIELDS: ReadonlySet<string> = new Set(['topic', 'key', 'value']);

/**
 * Compiles and evaluates the rule on the message with an engine of its own (the running rules' kv_store
 * and proc_dict state is neither read nor changed), then renders every action's templates per output.
 * Never throws for the rule's or the message's fault: those are the result's `kind`.
 */
export function runRuleTest(input: RuleTestInput, options: RuleTestOptions = {}): RuleTestResult {
  const engine = new SqlRuleEngine(options.engine);
  let rule;
  try {
    rule = engine.compileRule(input.sql);
  } catch (error) {
    if (error instanceof RuleSyntaxError) return { kind: 'syntax-error', error };
    throw error;
  }
  let outputs: RuleOutput[];
  try {
    outputs = rule.evaluate(messageColumns(simulatedMessage(input.message), 'sluice@127.0.0.1'));
  } catch (error) {
    return { kind: 'evaluation-error', error: (error as Error).message };
  }
  const matched = outputs.length > 0 || /^\s*foreach\b/i.test(input.sql);
  let budget = options.maxRenderedChars ?? Number.POSITIVE_INFINITY;
  let truncated = false;
  const spend = (text: string): boolean => {
    budget -= text.length;
    if (budget < 0) truncated = true;
    return !truncated;
  };
  try {
    const asJson = engine.compileTemplate('${.}');
    const shown: string[] = [];
    for (const output of outputs) {
      const text = asJson.render(output);
      if (!spend(text)) break;
      shown.push(text);
    }
    const renderers = (input.actions ?? []).map((action, actionIndex) => ({ action, actionIndex, render: actionRenderer(engine, action) }));
    const rendered: RenderedAction[] = renderers.map(({ action, actionIndex }) => ({
      actionIndex,
      connector: String(action['connector']),
      ...(typeof action['id'] === 'string' ? { id: action['id'] } : {}),
      records: [] as RenderedRecord[],
    }));
    for (let o = 0; o < shown.length && !truncated; o++) {
      for (const { actionIndex, render } of renderers) {
        const record = render(outputs[o] as RuleOutput);
        if (!spend(JSON.stringify(record))) break;
        (rendered[actionIndex]?.records as RenderedRecord[]).push(record);
      }
    }
    return { kind: 'evaluated', matched, topics: rule.topics, outputs: shown, rendered, truncated };
  } catch (error) {
    // rendering checks the engine's limits too (a JSON text over maxStringSize)
    return { kind: 'evaluation-error', error: (error as Error).message };
  }
}

/** The message as the MQTT source would hand it over (peer 127.0.0.1, received now). */
function simulatedMessage(message: RuleTestMessage): Message {
  const properties = message.userProperties === undefined || Object.keys(message.userProperties).length === 0
    ? undefined
    : { userProperties: message.userProperties as Record<string, string | string[]> };
  return {
    sourceId: 'rule-test',
    topic: message.topic,
    payload: Buffer.from(message.payload ?? '', 'utf8'),
    qos: message.qos ?? 0,
    retain: false,
    dup: false,
    clientId: message.clientid,
    username: message.username,
    peerHost: '127.0.0.1',
    receivedAt: Date.now(),
    properties,
  };
}

/** Compiles an action's templates once; the result renders one output into a record. */
function actionRenderer(engine: SqlRuleEngine, action: Readonly<Record<string, unknown>>): (output: RuleOutput) => RenderedRecord {
  const fields: Array<[string, ReturnType<SqlRuleEngine['compileTemplate']>]> = [];
  const others: Array<[string, ReturnType<SqlRuleEngine['compileTemplate']>]> = [];
  for (const [setting, value] of Object.entries(action)) {
    if (typeof value !== 'string' || NOT_RENDERED.has(setting)) continue;
    if (RECORD_FIELDS.has(setting)) fields.push([setting, engine.compileTemplate(value)]);
    else if (value.includes('${')) others.push([setting, engine.compileTemplate(value)]);
  }
  const extHeaders = Array.isArray(action['extHeaders'])
    ? (action['extHeaders'] as unknown[]).flatMap((entry) => {
      const { key, value } = (entry ?? {}) as { key?: unknown; value?: unknown };
      return typeof key === 'string' && typeof value === 'string' ? [[engine.compileTemplate(key), engine.compileTemplate(value)] as const] : [];
    })
    : [];
  const headerPlaceholder = typeof action['headers'] === 'string' ? engine.compileTemplate(action['headers']) : undefined;
  return (output) => {
    const record: { -readonly [K in keyof RenderedRecord]: RenderedRecord[K] } = {};
    for (const [setting, template] of fields) record[setting as 'topic' | 'key' | 'value'] = template.render(output);
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    let hasHeaders = false;
    if (headerPlaceholder !== undefined) {
      for (const [key, value] of placeholderHeaders(headerPlaceholder.render(output))) {
        headers[key] = value;
        hasHeaders = true;
      }
    }
    for (const [key, value] of extHeaders) {
      const name = key.render(output);
      if (name === '') continue; // as the Kafka connector does: an entry whose key renders empty is left out
      headers[name] = value.render(output);
      hasHeaders = true;
    }
    if (hasHeaders) record.headers = { ...headers };
    if (others.length > 0) record.other = Object.fromEntries(others.map(([setting, template]) => [setting, template.render(output)]));
    return record;
  };
}

/** Entries of a `headers` placeholder's text: a JSON map, or a JSON list of `{key, value}`; nothing else. */
function placeholderHeaders(text: string): Array<[string, string]> {
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text); // integers beyond 2^53 keep their digits, as the Kafka connector keeps them
  } catch {
    return [];
  }
  const asText = (value: unknown): string => (typeof value === 'string' ? value : (stringifyJson(value) ?? ''));
  if (Array.isArray(parsed)) {
    return parsed.flatMap((entry) => {
      const { key, value } = (entry ?? {}) as { key?: unknown; value?: unknown };
      return typeof key === 'string' ? [[key, asText(value)] as [string, string]] : [];
    });
  }
  if (typeof parsed === 'object' && parsed !== null) return Object.entries(parsed).map(([key, value]) => [key, asText(value)]);
  return [];
}
