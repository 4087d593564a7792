import { IntegrationError } from '../errors';
import { silentLogger } from '../logger';
import type { RuleOutput } from '../rule-engine';
import { type ActionContext, DROPPED, type DropReason, isDropped, type SendResult, type Connector, type Action } from '../connector';
import { ContractViolation, contractMessage, DEFAULT_SETTLE_TIMEOUT_MS, describeError, settleWithin } from './contract-support';

type Settings = Readonly<Record<string, unknown>>;

/**
 * One situation the suite puts a connector in (a failure, a drop). Everything is optional: by default the
 * suite uses the connector and action settings of the main run and the default output.
 */
export interface ConnectorScenario {
  /** A connector of its own for this scenario (started and stopped by the suite), e.g. one pointed at a refusing server. */
  readonly makeConnector?: () => Connector | Promise<Connector>;
  /** Action settings of their own, e.g. a topic the external system refuses. */
  readonly actionSettings?: Settings;
  /** The output to send, e.g. one too large for the external system. */
  readonly output?: RuleOutput;
  /** Called after start() and before the send: make the external system fail (stop it, answer 5xx, fill the buffer ...). */
  readonly arrange?: (connector: Connector, action: Action) => void | Promise<void>;
  /**
   * Undoes arrange(). For the retriable failure the suite then checks that the connector recovered: a new send
   * of the same action must be stored.
   */
  readonly restore?: (connector: Connector, action: Action) => void | Promise<void>;
}

/** What the caller tells checkConnectorContract about the connector, to let the suite check more than the basics. */
export interface ConnectorContractOptions {
  /**
   * How many records the external system holds now (rows, topic records, POSTs received). With it the
   * suite checks that a resolved send really stored its record, exactly once, and that a send after
   * stop() was not resolved without storing. Without it, a connector that resolves and stores nothing passes
   * the success checks: give it whenever the system can be read back.
   */
  readonly stored?: () => number | Promise<number>;
  /** Action settings createAction() must refuse with a ConfigError (wrong types, missing required fields). */
  readonly invalidActionSettings?: readonly Settings[];
  /**
   * How to make a send fail. A connector that claims a kind of failure here must reject that send with an
   * IntegrationError (ActionWriteError) whose `retriable` says which: `retriable` = trying again later can
   * succeed (the message stays with the broker), `final` = it cannot (the message is counted failed).
   * Leave out what the connector cannot simulate; the rest of the suite still runs.
   */
  readonly failures?: { readonly retriable?: ConnectorScenario; readonly final?: ConnectorScenario };
  /** How to make the connector drop a record on purpose (a full buffer): the send must resolve with DROPPED[reason]. */
  readonly drop?: ConnectorScenario & { readonly reason?: DropReason };
  /** Sends in flight at once in the concurrency and close checks (20 unless set). */
  readonly concurrentSends?: number;
  /** How long any one promise of the connector may stay pending before the suite calls it hung (10 s unless set). */
  readonly settleTimeoutMs?: number;
}

/** The outcome of one send: what it settled with. */
type Outcome = { readonly ok: true; readonly result: SendResult } | { readonly ok: false; readonly error: unknown };

const DROP_REASONS: ReadonlySet<string> = new Set(Object.keys(DROPPED));

/**
 * Checks a connector against the Connector contract (see core's connector.ts) and throws a ContractViolation naming the
 * first rule it breaks. Runs against the real connector the factory builds, with whatever it connects to.
 *
 * What every connector is checked for:
 * - `connector.id` is a non-empty string; `createAction()` (called before `start()`, as the runtime does)
 *   returns an action with the id of its ActionContext, and refuses each of `options.invalidActionSettings`
 *   with a ConfigError.
 * - success: `send()` returns a Promise that resolves with `undefined` once the record is stored (with
 *   `options.stored`: the record is there when the send resolves).
 * - concurrency: many sends started before any resolves all settle, each resolving `undefined` (with
 *   `options.stored`: every record stored exactly once); `queued()`, if provided, is a non-negative integer
 *   and 0 once every send settled; `metrics()`, if provided, gives finite numbers; `metricKinds` says
 *   `counter` or `gauge`.
 * - close while sends are pending: `close()` (if any) then `stop()` with sends in flight; both finish, and
 *   every pending send settles: stored, or rejected with a *retriable* IntegrationError (a close is not
 *   the record's fault; the broker must deliver the message again). None hangs.
 * - a send after `stop()` is not accepted silently: it rejects, or (with `options.stored`) it did store.
 *
 * What a connector is checked for when the caller says how to provoke it:
 * - `options.failures.retriable`: the send rejects with an IntegrationError whose `retriable` is true; after
 *   `restore()` a send is stored again.
 * - `options.failures.final`: the send rejects with an IntegrationError whose `retriable` is false.
 * - `options.drop`: the send resolves with `DROPPED[reason]` (`isDropped()`), and nothing is stored for it.
 *
 * A connector that always resolves fails every check the caller opts in to, and with `options.stored` also the
 * success checks. The 4th argument is optional: older calls with three arguments run the basic checks.
 */
export async function checkConnectorContract(
  makeConnector: () => Connector | Promise<Connector>,
  actionSettings: Settings,
  templates: ActionContext['templates'],
  options: ConnectorContractOptions = {},
): Promise<void> {
  const timeoutMs = options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const concurrent = options.concurrentSends ?? 20;
  const stored = options.stored;
  const count = async (): Promise<number> => (stored === undefined ? 0 : await settleWithin(Promise.resolve(stored()), timeoutMs, 'options.stored()'));
  const context = (id: string): ActionContext => ({ id, ruleId: 'contract', templates, logger: silentLogger, dropped: () => {} });
  let serial = 0;
  const output = (): RuleOutput => ({ n: ++serial, clientid: 'contract-client' });
  /** Sends and waits for the outcome, never longer than the timeout. */
  const attempt = async (action: Action, out: RuleOutput, what: string): Promise<Outcome> => {
    let sent: Promise<SendResult>;
    try {
      sent = action.send(out, contractMessage(JSON.stringify(out)));
    } catch (error) {
      throw new ContractViolation(`${what}: send() threw synchronously (${describeError(error)}); it must return a Promise and reject it instead`);
    }
    if (!(sent instanceof Promise)) throw new ContractViolation(`${what}: send() must return a Promise`);
    return settleWithin(sent.then((result): Outcome => ({ ok: true, result }), (error: unknown): Outcome => ({ ok: false, error })), timeoutMs, `${what}: send()`);
  };

  // --- basics -----------------------------------------------------------------------------------------
  const connector = await makeConnector();
  if (typeof connector.id !== 'string' || connector.id.length === 0) throw new ContractViolation('connector.id must be a non-empty string');
  for (const [i, invalid] of (options.invalidActionSettings ?? []).entries()) {
    let refused: unknown;
    try {
      connector.createAction(invalid, context(`contract:invalid${i}`));
    } catch (error) {
      refused = error;
    }
    if (refused === undefined) throw new ContractViolation(`createAction() accepted invalidActionSettings[${i}] ${safeJson(invalid)}; it must throw a ConfigError`);
    if (!IntegrationError.is(refused) || refused.code !== 'ERR_CONFIG_INVALID') {
      throw new ContractViolation(`createAction() refused invalidActionSettings[${i}] with ${describeError(refused)}; it must be a ConfigError naming the setting`);
    }
  }
  const action = connector.createAction(actionSettings, context('contract:action'));
  if (action.id !== 'contract:action') throw new ContractViolation('action.id must be the id given in the ActionContext');
  checkGauges(action, 'before any send');

  const controller = new AbortController();
  await settleWithin(connector.start(controller.signal), timeoutMs, 'connector.start()');
  let stopped = false;
  try {
    // --- success --------------------------------------------------------------------------------------
    const before = await count();
    const first = await attempt(action, output(), 'success');
    if (!first.ok) throw new ContractViolation(`success: send() rejected with ${describeError(first.error)}; with the external system available it must resolve`, { cause: first.error });
    if (first.result !== undefined) throw new ContractViolation(`success: send() resolved with ${safeJson(first.result)}; a stored record resolves with undefined`);
    if (stored !== undefined && (await count()) < before + 1) throw new ContractViolation('success: send() resolved but the record is not stored (options.stored() did not grow); resolve only once it is stored');

    // --- concurrency ----------------------------------------------------------------------------------
    const beforeMany = await count();
    const many = await Promise.all(Array.from({ length: concurrent }, (_, i) => attempt(action, output(), `concurrency (send ${i + 1} of ${concurrent})`)));
    const failed = many.find((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    if (failed !== undefined) throw new ContractViolation(`concurrency: a send rejected with ${describeError(failed.error)}; ${concurrent} concurrent sends must all be stored`, { cause: failed.error });
    const odd = many.find((o) => o.ok && o.result !== undefined);
    if (odd !== undefined) throw new ContractViolation(`concurrency: a send resolved with ${safeJson((odd as { result: unknown }).result)} instead of undefined`);
    if (stored !== undefined) {
      const added = (await count()) - beforeMany;
      if (added !== concurrent) throw new ContractViolation(`concurrency: ${concurrent} sends resolved but ${added} records were stored; each must be stored exactly once`);
    }
    checkGauges(action, 'after the concurrent sends settled');
    if (action.queued !== undefined && action.queued() !== 0) throw new ContractViolation(`queued() is ${action.queued()} after every send settled; it counts records accepted but not yet stored`);

    // --- drops and failures ---------------------------------------------------------------------------
    if (options.drop !== undefined) await checkDrop(options.drop);
    if (options.failures?.retriable !== undefined) await checkFailure(options.failures.retriable, true);
    if (options.failures?.final !== undefined) await checkFailure(options.failures.final, false);

    // --- close while sends are pending ----------------------------------------------------------------
    const beforeClose = await count();
    const pending = Array.from({ length: concurrent }, (_, i) => attempt(action, output(), `close while pending (send ${i + 1})`));
    if (action.close !== undefined) await settleWithin(action.close(), timeoutMs, 'close with sends pending: action.close()');
    controller.abort();
    stopped = true;
    await settleWithin(connector.stop(), timeoutMs, 'close with sends pending: connector.stop()');
    const outcomes = await Promise.all(pending);
    let resolved = 0;
    for (const outcome of outcomes) {
      if (outcome.ok) {
        resolved++;
        continue;
      }
      if (!IntegrationError.is(outcome.error) || !outcome.error.retriable) {
        throw new ContractViolation(
          `close while pending: a pending send rejected with ${describeError(outcome.error)}; a send cut short by close/stop must reject retriable (the broker delivers the message again) or be stored`,
          { cause: outcome.error },
        );
      }
    }
    if (stored !== undefined && (await count()) < beforeClose + resolved) {
      throw new ContractViolation(`close while pending: ${resolved} sends resolved but fewer records were stored; a send resolves only once stored`);
    }

    // --- send after stop --------------------------------------------------------------------------------
    const beforeLate = await count();
    const late = await attempt(action, output(), 'send after stop()');
    if (late.ok && !isDropped(late.result)) {
      if (stored === undefined) throw new ContractViolation('send after stop(): send() resolved; after stop() a send must reject (give options.stored if the connector really stores it)');
      if ((await count()) < beforeLate + 1) throw new ContractViolation('send after stop(): send() resolved but nothing was stored; it must reject');
    }
  } finally {
    if (!stopped) {
      controller.abort();
      await connector.stop().catch(() => undefined);
    }
  }

  /** Runs `scenario` on its own connector, or on the main one (then `action` is reused when the settings are the same). */
  async function inScenario<T>(scenario: ConnectorScenario, what: string, body: (s: Connector, a: Action) => Promise<T>): Promise<T> {
    const own = scenario.makeConnector === undefined ? undefined : await scenario.makeConnector();
    const target = own ?? connector;
    const scenarioAction = own === undefined && scenario.actionSettings === undefined
      ? action
      : target.createAction(scenario.actionSettings ?? actionSettings, context(`contract:${what}`));
    const ownController = new AbortController();
    if (own !== undefined) await settleWithin(own.start(ownController.signal), timeoutMs, `${what}: start() of the scenario's connector`);
    try {
      return await body(target, scenarioAction);
    } finally {
      if (scenarioAction !== action) await scenarioAction.close?.().catch(() => undefined);
      if (own !== undefined) {
        ownController.abort();
        await own.stop().catch(() => undefined);
      }
    }
  }

  async function checkDrop(scenario: ConnectorScenario & { readonly reason?: DropReason }): Promise<void> {
    await inScenario(scenario, 'drop', async (target, scenarioAction) => {
      await scenario.arrange?.(target, scenarioAction);
      const before = await count();
      const outcome = await attempt(scenarioAction, scenario.output ?? output(), 'drop');
      await scenario.restore?.(target, scenarioAction);
      if (!outcome.ok) throw new ContractViolation(`drop: send() rejected with ${describeError(outcome.error)}; a record dropped on purpose resolves with DROPPED[reason]`, { cause: outcome.error });
      if (!isDropped(outcome.result) || !DROP_REASONS.has(outcome.result.dropped)) {
        throw new ContractViolation(`drop: send() resolved with ${safeJson(outcome.result)}; a record dropped on purpose resolves with DROPPED[reason] (queue_full, expired or other)`);
      }
      if (scenario.reason !== undefined && outcome.result.dropped !== scenario.reason) {
        throw new ContractViolation(`drop: send() resolved with DROPPED.${outcome.result.dropped}, expected DROPPED.${scenario.reason}`);
      }
      if (stored !== undefined && (await count()) !== before) throw new ContractViolation('drop: the send said dropped but a record was stored');
    });
  }

  async function checkFailure(scenario: ConnectorScenario, retriable: boolean): Promise<void> {
    const what = retriable ? 'retriable failure' : 'final failure';
    await inScenario(scenario, what, async (target, scenarioAction) => {
      await scenario.arrange?.(target, scenarioAction);
      let outcome: Outcome;
      try {
        outcome = await attempt(scenarioAction, scenario.output ?? output(), what);
      } finally {
        await scenario.restore?.(target, scenarioAction);
      }
      if (outcome.ok) {
        throw new ContractViolation(`${what}: send() resolved (${safeJson(outcome.result)}) although the scenario makes the external system fail; it must reject`);
      }
      if (!IntegrationError.is(outcome.error)) {
        throw new ContractViolation(`${what}: send() rejected with ${describeError(outcome.error)}; it must reject with an IntegrationError (ActionWriteError) carrying \`retriable\``, { cause: outcome.error });
      }
      if (outcome.error.retriable !== retriable) {
        throw new ContractViolation(`${what}: send() rejected with retriable: ${String(outcome.error.retriable)} (${outcome.error.message}); expected retriable: ${String(retriable)}`, { cause: outcome.error });
      }
      if (retriable && scenario.restore !== undefined) {
        const again = await attempt(scenarioAction, output(), `${what}: send after restore()`);
        if (!again.ok) throw new ContractViolation(`${what}: after restore() a send still rejects (${describeError(again.error)}); the connector must recover`, { cause: again.error });
      }
    });
  }
}

/** queued() and metrics() are read by exporters at any time: plain numbers, never a throw. */
function checkGauges(action: Action, when: string): void {
  if (action.queued !== undefined) {
    const queued = action.queued();
    if (!Number.isInteger(queued) || queued < 0) throw new ContractViolation(`queued() ${when} returned ${String(queued)}; it must be a non-negative integer`);
  }
  if (action.metrics !== undefined) {
    for (const [key, value] of Object.entries(action.metrics())) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ContractViolation(`metrics() ${when}: "${key}" is ${String(value)}; every metric must be a finite number`);
    }
  }
  for (const [key, kind] of Object.entries(action.metricKinds ?? {})) {
    if (kind !== 'counter' && kind !== 'gauge') throw new ContractViolation(`metricKinds["${key}"] is ${String(kind)}; it must be 'counter' or 'gauge'`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
