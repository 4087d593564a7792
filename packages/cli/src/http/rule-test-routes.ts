import type { FastifyInstance } from 'fastify';
import { functionNames } from '@sluice/sql';
import { runRuleTest, type RuleTestInput, type RuleTestMessage } from '../rule-test-run';
import { ApiError } from './api-error';
import type { SluiceApiOptions } from './sluice-api';

/** Most actions a test renders (a rule has a handful; each is rendered for every output). */
export const MAX_TEST_ACTIONS = 32;
/** Most user properties a simulated message may carry. */
export const MAX_TEST_USER_PROPERTIES = 256;
/** The longest topic, client id or username: what an MQTT string can hold. */
const MAX_MQTT_STRING = 65_535;
/**
 * Characters of outputs and rendered settings one answer holds at most: a FOREACH may make 10,000 outputs
 * of megabytes each within the engine's limits, which no browser wants. Past it, `truncated: true`.
 */
export const MAX_RENDERED_CHARS = 4 * 1024 * 1024;

interface Issue {
  readonly path: string;
  readonly message: string;
}

/**
 * `POST /api/rules/test` (the console's "Enable Test": the rule on a simulated message, outputs and every
 * action's rendered topic, key, value and headers, as `sluice rule test -c` prints them; rule-test-run.ts
 * does the work for both) and `GET /api/sql/functions` (the built-ins' names, for completion). The body is
 * bounded by the API's parser (1 MiB); the evaluation runs with the engine's limits (`sql.limits`).
 */
export function ruleTestRoutes(app: FastifyInstance, options: SluiceApiOptions): void {
  const functions = { functions: functionNames() };
  app.get('/api/sql/functions', { exposeHeadRoute: true }, async () => functions);

  app.post<{ Body: unknown }>('/api/rules/test', async (request, reply) => {
    const input = testInput(request.body);
    const result = runRuleTest(input, { engine: options.ruleEngine, maxRenderedChars: MAX_RENDERED_CHARS });
    if (result.kind === 'syntax-error') {
      const { error } = result;
      throw new ApiError(400, { error: error.message, code: 'ERR_RULE_SYNTAX', line: error.line, column: error.column, issues: [{ path: 'sql', message: error.message }] }, { malformed: true });
    }
    if (result.kind === 'evaluation-error') return { matched: true, outputs: [], rendered: [], error: result.error };
    const rest = {
      rendered: result.rendered.map((action) => ({
        ...action,
        records: action.records.map(({ topic, key, value, headers }) => ({
          ...(topic === undefined ? {} : { topic }),
          ...(key === undefined ? {} : { key }),
          ...(value === undefined ? {} : { value }),
          ...(headers === undefined ? {} : { headers }),
        })),
      })),
      ...(result.truncated ? { truncated: true } : {}),
    };
    // Each output is the JSON text `${.}` renders (what an action would send), written into the answer as
    // it is rather than parsed and serialised again: JSON.parse would round an integer beyond 2^53 (a
    // nanosecond timestamp) and turn 2.0 into 2. outputTexts holds the same texts as strings, for a client
    // whose JSON parser rounds big integers (a browser's: the console shows these).
    const text = `{"matched":${result.matched ? 'true' : 'false'},"outputs":[${result.outputs.join(',')}],` +
      `"outputTexts":${JSON.stringify(result.outputs)},${JSON.stringify(rest).slice(1)}`;
    return reply.type('application/json; charset=utf-8').send(text);
  });
}

/** The body checked by hand, so that each refusal names its field (`message.qos`) in the API's error shape. */
function testInput(body: unknown): RuleTestInput {
  const issues: Issue[] = [];
  const refuse = (path: string, message: string): undefined => void issues.push({ path, message });
  if (!isObject(body)) {
    throw new ApiError(400, { error: 'the body must be { "sql": "SELECT ...", "actions": [...], "message": { "topic": "...", "payload": "..." } }' }, { malformed: true });
  }
  const sql = typeof body['sql'] === 'string' && body['sql'].trim() !== '' ? body['sql'] : refuse('sql', 'the rule SQL, a non-empty string');
  let actions: RuleTestInput['actions'] = [];
  if (body['actions'] !== undefined) {
    if (!Array.isArray(body['actions']) || body['actions'].length > MAX_TEST_ACTIONS) refuse('actions', `a list of at most ${MAX_TEST_ACTIONS} action definitions`);
    else {
      actions = body['actions'].flatMap((action: unknown, i) => {
        if (isObject(action) && typeof action['connector'] === 'string') return [action];
        refuse(`actions[${i}]`, 'an action definition: { "connector": "<id>", "topic": ..., "key": ..., "value": ... }');
        return [];
      });
    }
  }
  const message = isObject(body['message']) ? testMessage(body['message'], refuse) : refuse('message', 'the simulated message: { "topic": "...", "payload": "..." }');
  if (issues.length > 0 || sql === undefined || message === undefined) {
    throw new ApiError(400, { error: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), code: 'ERR_CONFIG_INVALID', issues }, { malformed: true });
  }
  return { sql, actions, message };
}

function testMessage(message: Record<string, unknown>, refuse: (path: string, message: string) => undefined): RuleTestMessage | undefined {
  const text = (key: string, required: boolean): string | undefined => {
    const value = message[key];
    if (value === undefined && !required) return undefined;
    if (typeof value === 'string' && value.length <= MAX_MQTT_STRING && (!required || value !== '')) return value;
    return refuse(`message.${key}`, `${required ? 'a non-empty' : 'a'} string of at most ${MAX_MQTT_STRING} characters`);
  };
  const topic = text('topic', true);
  const clientid = text('clientid', false);
  const username = text('username', false);
  const payload = message['payload'] === undefined || typeof message['payload'] === 'string' ? message['payload'] : refuse('message.payload', 'text (the body as a whole is at most 1 MiB)');
  const qos = message['qos'] === undefined || message['qos'] === 0 || message['qos'] === 1 || message['qos'] === 2 ? message['qos'] : refuse('message.qos', '0, 1 or 2');
  let userProperties: Record<string, string> | undefined;
  const given = message['userProperties'];
  if (given !== undefined) {
    const entries = isObject(given) ? Object.entries(given) : undefined;
    if (entries === undefined || entries.length > MAX_TEST_USER_PROPERTIES || entries.some(([, value]) => typeof value !== 'string')) {
      refuse('message.userProperties', `an object of at most ${MAX_TEST_USER_PROPERTIES} string values, e.g. { "site": "lyon" }`);
    } else {
      // keyed by what the caller sent (`__proto__` included): own properties only
      userProperties = Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(entries));
    }
  }
  if (topic === undefined) return undefined;
  return { topic, payload, clientid, username, qos, userProperties };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
