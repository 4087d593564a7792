import type { Message } from '../message';
import type { MessageReceiver, Settle, Source } from '../source';
import { ContractViolation, DEFAULT_SETTLE_TIMEOUT_MS, describeError, settleWithin, sleep } from './contract-support';

/** How checkSourceContract drives the source under test. */
export interface SourceContractHarness {
  /**
   * Builds the source. With `redelivers`, every call must open the same session (same client id,
   * persistent session) so that what one instance left unsettled reaches the next.
   */
  readonly makeSource: () => Source | Promise<Source>;
  /** The topic filters the source is started with. */
  readonly filters: readonly string[];
  /**
   * Publishes each payload, in order, as one message the source must receive (to a topic matching
   * `filters`, at a QoS that is acknowledged, e.g. QoS 1): through the broker, a device client, or
   * InMemorySource.push(). `source` is the instance currently started, or the last one stopped. When
   * the source is paused, a real broker keeps what is published; a source with no broker may drop it.
   */
  readonly publish: (payloads: readonly string[], source: Source) => void | Promise<void>;
  /**
   * The source has a persistent session or broker: messages received but not settled before stop()
   * come back after a restart, and settled ones do not. Checked only when true.
   */
  readonly redelivers?: boolean;
  /** How long any one promise of the source may stay pending before the suite calls it hung (10 s unless set). */
  readonly settleTimeoutMs?: number;
  /** How long the suite waits to be satisfied that no more (or no duplicate) messages arrive (500 ms unless set). */
  readonly quietMs?: number;
}

interface Delivery {
  readonly message: Message;
  readonly settle: Settle;
  readonly text: string;
}

/** A MessageReceiver that records every delivery and lets the suite wait for particular payloads. */
class Recorder implements MessageReceiver {
  readonly deliveries: Delivery[] = [];
  private wake: (() => void) | undefined;

  /**
   * @param settleOnArrival payloads settled as soon as they arrive, as the runtime settles a message
   *   stored at once: a device that resends what was not acknowledged may send one message at a time,
   *   each only once the one before is acknowledged (mqtt.js does after a reconnection).
   */
  constructor(private readonly source: Source, private readonly settleOnArrival: ReadonlySet<string>) {}

  receive(message: Message, settle: Settle): void {
    if (typeof settle !== 'function') throw new ContractViolation(`source "${this.source.id}" called receive() without a settle function`);
    const text = Buffer.isBuffer(message.payload) ? message.payload.toString() : String(message.payload);
    this.deliveries.push({ message, settle, text });
    if (this.settleOnArrival.has(text)) settle();
    this.wake?.();
  }

  /** Deliveries of these payloads (one each, first seen), once all arrived. */
  async waitFor(payloads: readonly string[], timeoutMs: number, what: string): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = payloads.map((p) => this.deliveries.find((d) => d.text === p));
      if (found.every((d) => d !== undefined)) return found as Delivery[];
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing = payloads.filter((_, i) => found[i] === undefined);
        throw new ContractViolation(`${what}: ${missing.length} of ${payloads.length} messages did not arrive within ${timeoutMs} ms (missing ${missing.join(', ')})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  count(payload: string): number {
    let n = 0;
    for (const d of this.deliveries) if (d.text === payload) n++;
    return n;
  }
}

/**
 * Checks a source against the Source contract (see core's source.ts) and throws a ContractViolation
 * naming the first rule it breaks. Runs against the real source (and broker) the harness builds.
 *
 * - `source.id` is a non-empty string; `start(receiver, filters, signal)` resolves once subscribed, and
 *   `status()`, if provided, says `connected`.
 * - delivery and acknowledgement: every message published is handed to `receiver.receive(message,
 *   settle)` once, with `message.sourceId` = the source's id, its topic and its payload as a Buffer;
 *   settle() returns without throwing; a settled message is not delivered again (within `quietMs`, and
 *   with `redelivers` not after a restart either).
 * - stop without settling: `pause()` and `stop()` finish although messages are unsettled (they are left to
 *   the broker); with `redelivers`, a new instance of the same session receives them again.
 * - pause and drain: after `pause()` no new message is handed over, and settle() of messages received
 *   before still works (the runtime drains in-flight messages between pause() and stop()); with
 *   `redelivers` those settled during the drain do not come back after a restart, and those published
 *   while paused are not lost: they arrive after the restart.
 */
export async function checkSourceContract(harness: SourceContractHarness): Promise<void> {
  const timeoutMs = harness.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const quietMs = harness.quietMs ?? 500;
  const run = `contract-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const batch = (name: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${run}-${name}${i + 1}`);
  const settled = batch('settled', 3);
  const unsettled = batch('unsettled', 3);
  const drained = batch('drained', 2);
  const whilePaused = batch('paused', 2);

  let current: { source: Source; recorder: Recorder; controller: AbortController; stopped: boolean } | undefined;
  const startOne = async (what: string, settleOnArrival: readonly string[] = []) => {
    const source = await harness.makeSource();
    if (typeof source.id !== 'string' || source.id.length === 0) throw new ContractViolation('source.id must be a non-empty string');
    const recorder = new Recorder(source, new Set(settleOnArrival));
    const controller = new AbortController();
    current = { source, recorder, controller, stopped: false };
    await settleWithin(source.start(recorder, harness.filters, controller.signal), timeoutMs, `${what}: source.start()`);
    const state = source.status?.().state;
    if (state !== undefined && state !== 'connected') throw new ContractViolation(`${what}: status() is "${state}" after start() resolved; start() resolves once subscribed`);
    return current;
  };
  const stopOne = async (what: string) => {
    if (current === undefined || current.stopped) return;
    current.source.pause();
    current.stopped = true;
    current.controller.abort();
    await settleWithin(current.source.stop(), timeoutMs, `${what}: source.stop()`);
  };
  const settleAll = (deliveries: readonly Delivery[], what: string): void => {
    for (const d of deliveries) {
      try {
        d.settle();
      } catch (error) {
        throw new ContractViolation(`${what}: settle() threw ${describeError(error)}; it must only acknowledge (or not) the message`);
      }
    }
  };

  try {
    // --- delivery and acknowledgement -------------------------------------------------------------------
    let { source, recorder } = await startOne('delivery');
    await harness.publish(settled, source);
    const got = await recorder.waitFor(settled, timeoutMs, 'delivery');
    for (const d of got) {
      if (d.message.sourceId !== source.id) throw new ContractViolation(`delivery: message.sourceId is "${d.message.sourceId}", expected the source's id "${source.id}"`);
      if (typeof d.message.topic !== 'string' || d.message.topic.length === 0) throw new ContractViolation('delivery: message.topic must be the non-empty topic the message was published to');
      if (!Buffer.isBuffer(d.message.payload)) throw new ContractViolation('delivery: message.payload must be a Buffer');
    }
    settleAll(got, 'acknowledgement');
    await sleep(quietMs);
    for (const p of settled) {
      if (recorder.count(p) !== 1) throw new ContractViolation(`acknowledgement: message ${p} was handed over ${recorder.count(p)} times; a settled message is delivered once`);
    }

    // --- stop without settling ----------------------------------------------------------------------------
    await harness.publish(unsettled, source);
    await recorder.waitFor(unsettled, timeoutMs, 'stop without settling');
    await stopOne('stop without settling (messages left unsettled)');
    ({ source, recorder } = await startOne('restart', unsettled));
    if (harness.redelivers === true) await recorder.waitFor(unsettled, timeoutMs, 'redelivery after a stop that left messages unsettled');

    // --- pause and drain -----------------------------------------------------------------------------------
    await harness.publish(drained, source);
    const inFlight = await recorder.waitFor(drained, timeoutMs, 'pause and drain');
    source.pause();
    await harness.publish(whilePaused, source);
    settleAll(inFlight, 'settle after pause()');
    await sleep(quietMs);
    for (const p of whilePaused) {
      if (recorder.count(p) > 0) throw new ContractViolation(`pause: message ${p}, published after pause(), was handed over; a paused source takes no new messages`);
    }
    await stopOne('stop after the drain');

    if (harness.redelivers === true) {
      ({ source, recorder } = await startOne('restart after the drain', whilePaused));
      await recorder.waitFor(whilePaused, timeoutMs, 'messages published while paused (they must stay with the broker, not be lost)');
      await sleep(quietMs);
      for (const p of [...settled, ...unsettled, ...drained]) {
        if (recorder.count(p) > 0) throw new ContractViolation(`acknowledgement: message ${p} was settled before the restart but delivered again; settle() must acknowledge it to the broker`);
      }
      await stopOne('final stop');
    }
  } finally {
    await stopOne('cleanup').catch(() => undefined);
  }
}
