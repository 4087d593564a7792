import { describe, expect, it } from '@jest/globals';
import { DROPPED, IntegrationError, type SendResult, silentLogger } from '@sluice/core';
import { actionContext } from '../test/fixtures/fake-templates';
import { FakeProducer } from '../test/fixtures/fake-producer';
import { mqttMessage } from '../test/fixtures/messages';
import { KafkaConnector } from './kafka-connector';
import { parseKafkaConnectorConfig } from './kafka-connector-config';
import type { OverflowPolicy } from './record-batcher';
import { heldBeforeRender } from './record-renderer';
import { SchemaRegistryError, type RegisteredSchema, type SchemaRegistryClient } from './schema-registry-client';
import { SchemaValueEncoder, SchemaWaitQueue, SubjectPending } from './schema-value-encoder';
import { compileCodec } from './value-codecs';

const AVRO = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'temp', type: 'double' }] });

/** A registry that answers from a script: each call takes the next outcome (an id, a schema, or an error). */
class ScriptedRegistry {
  readonly calls: string[] = [];
  constructor(private readonly outcomes: Array<number | RegisteredSchema | SchemaRegistryError>) {}
  readonly url = 'http://registry.test:8081';
  private next(): number | RegisteredSchema {
    const outcome = this.outcomes.shift();
    if (outcome === undefined) throw new Error('no more scripted answers');
    if (outcome instanceof SchemaRegistryError) throw outcome;
    return outcome;
  }
  async register(subject: string): Promise<number> {
    this.calls.push(`register ${subject}`);
    return this.next() as number;
  }
  async latest(subject: string): Promise<RegisteredSchema> {
    this.calls.push(`latest ${subject}`);
    return this.next() as RegisteredSchema;
  }
}

const encoderWith = (registry: ScriptedRegistry, options: { schema?: boolean; subject?: string } = {}): SchemaValueEncoder =>
  new SchemaValueEncoder({ connectorId: 'k', actionId: 'r:k' }, registry as unknown as SchemaRegistryClient, {
    schemaType: 'AVRO',
    codec: options.schema === false ? undefined : compileCodec('AVRO', AVRO),
    subject: options.subject,
    backoff: { initial: 5, max: 20 },
  });

/** encode(), waiting for the registry as KafkaAction does. */
async function encodeWaiting(encoder: SchemaValueEncoder, output: Record<string, unknown>, topic: string): Promise<Buffer> {
  for (;;) {
    try {
      return encoder.encode(output, topic);
    } catch (error) {
      if (!(error instanceof SubjectPending)) throw error;
      await encoder.track(error.ready);
    }
  }
}

const unreachable = (): SchemaRegistryError => new SchemaRegistryError('schema registry http://registry.test:8081 cannot be reached while registering: ECONNREFUSED', true);

describe(SchemaValueEncoder.name, () => {
  it('registers the schema under <topic>-value once and frames every record with its id', async () => {
    const registry = new ScriptedRegistry([7]);
    const encoder = encoderWith(registry);
    const first = await encodeWaiting(encoder, { temp: 1.5 }, 'readings');
    const second = encoder.encode({ temp: 2.5 }, 'readings');
    expect(registry.calls).toEqual(['register readings-value']);
    expect([first.readUInt8(0), first.readUInt32BE(1), second.readUInt32BE(1)]).toEqual([0, 7, 7]);
  });

  it('gives each topic of a templated topic its own subject', async () => {
    const registry = new ScriptedRegistry([1, 2]);
    const encoder = encoderWith(registry);
    const ids = [];
    for (const topic of ['a', 'b', 'a', 'b']) ids.push((await encodeWaiting(encoder, { temp: 1 }, topic)).readUInt32BE(1));
    expect([registry.calls, ids]).toEqual([['register a-value', 'register b-value'], [1, 2, 1, 2]]);
  });

  it('uses a fixed subject for every topic when one is given', async () => {
    const registry = new ScriptedRegistry([3]);
    const encoder = encoderWith(registry, { subject: 'shared' });
    await encodeWaiting(encoder, { temp: 1 }, 'a');
    await encodeWaiting(encoder, { temp: 1 }, 'b');
    expect(registry.calls).toEqual(['register shared']);
  });

  it('reads the latest schema of the subject when the action gives none', async () => {
    const registry = new ScriptedRegistry([{ id: 11, schema: AVRO, schemaType: 'AVRO' }]);
    const encoder = encoderWith(registry, { schema: false });
    expect((await encodeWaiting(encoder, { temp: 1 }, 't')).readUInt32BE(1)).toBe(11);
    expect(registry.calls).toEqual(['latest t-value']);
  });

  it('keeps records waiting while the registry cannot be reached, says why, and sends them once it answers', async () => {
    const registry = new ScriptedRegistry([unreachable(), unreachable(), 5]);
    const encoder = encoderWith(registry);
    const waiting = [encodeWaiting(encoder, { temp: 1 }, 't'), encodeWaiting(encoder, { temp: 2 }, 't')];
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(encoder.waiting).toBe(2);
    expect(encoder.problem).toMatch(/cannot be reached while registering: ECONNREFUSED; records for subject "t-value" wait/);
    const framed = await Promise.all(waiting);
    expect(framed.map((value) => value.readUInt32BE(1))).toEqual([5, 5]);
    expect(registry.calls).toHaveLength(3);
    expect([encoder.waiting, encoder.problem]).toEqual([0, undefined]);
  });

  it('fails records, not retriable, when the registry refuses the subject for good, and asks again later', async () => {
    const registry = new ScriptedRegistry([new SchemaRegistryError('schema registry http://registry.test:8081 refused registering: HTTP 409', false, 409)]);
    const encoder = encoderWith(registry);
    const failure = await encodeWaiting(encoder, { temp: 1 }, 't').catch((error: unknown) => error);
    expect(IntegrationError.is(failure) && !failure.retriable && failure.message).toMatch(/HTTP 409; the record is not sent \(asked again after 10 s\)/);
    // remembered: the next record fails at once, without a call
    expect(() => encoder.encode({ temp: 1 }, 't')).toThrow(/HTTP 409/);
    expect(registry.calls).toHaveLength(1);
  });

  it('refuses a latest schema of another type than valueSchema.type', async () => {
    const registry = new ScriptedRegistry([{ id: 1, schema: '{}', schemaType: 'JSON' }]);
    const failure = await encodeWaiting(encoderWith(registry, { schema: false }), { temp: 1 }, 't').catch((error: unknown) => error);
    expect((failure as Error).message).toMatch(/subject "t-value" in http:\/\/registry.test:8081 is JSON, but valueSchema.type asks for AVRO/);
  });

  it('fails an output that does not fit, naming the field, not retriable', async () => {
    const encoder = encoderWith(new ScriptedRegistry([1]));
    await encodeWaiting(encoder, { temp: 1 }, 't');
    let failure: unknown;
    try {
      encoder.encode({ temp: 'n/a' }, 't');
    } catch (error) {
      failure = error;
    }
    expect(IntegrationError.is(failure) && !failure.retriable).toBe(true);
    expect((failure as Error).message).toBe('the rule output does not fit the Avro schema of subject "t-value": field "temp": the text "n/a" does not fit Avro type "double"; the record is not sent');
  });

  it('lets waiting records go back to the broker (retriable) when the action closes', async () => {
    const encoder = encoderWith(new ScriptedRegistry([unreachable(), unreachable(), unreachable()]));
    const waiting = encodeWaiting(encoder, { temp: 1 }, 't').catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 1));
    encoder.close();
    const failure = await waiting;
    expect(IntegrationError.is(failure) && failure.retriable && failure.message).toMatch(/closed while its records waited for the schema registry/);
  });

  it('prepare() resolves a subject before the first record', async () => {
    const registry = new ScriptedRegistry([4]);
    const encoder = encoderWith(registry);
    encoder.prepare('t');
    encoder.prepare('t');
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(encoder.encode({ temp: 1 }, 't').readUInt32BE(1)).toBe(4);
    expect(registry.calls).toEqual(['register t-value']);
  });
});

describe(SchemaWaitQueue.name, () => {
  /** A `ready` the test settles. */
  const deferred = (): { promise: Promise<void>; resolve: () => void } => {
    let resolve = (): void => {};
    const promise = new Promise<void>((done) => (resolve = done));
    return { promise, resolve };
  };

  it('drops a record that outlived maxBatchAge while it waited, when its schema id comes', async () => {
    let clock = 1_000;
    const queue = new SchemaWaitQueue({ bufferLimit: 1000, overflow: 'backpressure', maxBatchAge: 60_000, bufferedBytes: () => 0, now: () => clock });
    const early = deferred();
    const stale = queue.hold(100, early.promise, clock);
    const fresh = queue.hold(100, early.promise, clock + 30_000);
    clock += 60_001;
    early.resolve();
    expect(await Promise.all([stale, fresh])).toEqual(['expired', undefined]);
    expect([queue.size, queue.bytes]).toEqual([0, 0]);
  });

  it('counts the batcher\'s bytes with its own against the limit', async () => {
    const queue = new SchemaWaitQueue({ bufferLimit: 1000, overflow: 'drop_newest', maxBatchAge: Infinity, bufferedBytes: () => 950 });
    expect(await queue.hold(100, deferred().promise, Date.now())).toBe('queue_full');
  });
});

describe('KafkaAction with valueSchema while the registry cannot be reached', () => {
  // nothing listens on port 1 of the loopback: every registry call fails at once, retriable, and records wait
  const registryAway = parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: '127.0.0.1:1', schemaRegistry: { url: 'http://127.0.0.1:1' } });
  const schema = { type: 'record', name: 'R', fields: [{ name: 'temp', type: 'double' }] };
  // a waiting record counts what the runtime keeps for it (heldBeforeRender): a limit of 2.5 of them holds two
  const waiting = heldBeforeRender(mqttMessage());
  const actionWith = (overflow: OverflowPolicy, maxBatchAge: number | string) =>
    new KafkaConnector(registryAway, new FakeProducer(), silentLogger)
      .createAction({ topic: 'readings', valueSchema: { type: 'avro', schema }, buffer: { limit: Math.floor(2.5 * waiting), overflow, maxBatchAge } }, actionContext('r:k'));
  const sendThree = (action: ReturnType<typeof actionWith>): Array<Promise<SendResult | Error>> =>
    [1, 2, 3].map((temp) => action.send({ temp }, mqttMessage()).catch((error: Error) => error));

  it('drops the newest record past buffer.limit (queue_full) and expires the waiting ones after maxBatchAge', async () => {
    const action = actionWith('drop_newest', 300);
    const sends = sendThree(action);
    expect(await sends[2]).toBe(DROPPED.queue_full);
    expect([action.metrics()['queuing'], action.metrics()['queuing_bytes']]).toEqual([2, 2 * waiting]);
    // dropped during the outage, not held for as long as the registry is away
    expect(await Promise.all(sends.slice(0, 2))).toEqual([DROPPED.expired, DROPPED.expired]);
    expect([action.metrics()['queuing'], action.metrics()['queuing_bytes']]).toEqual([0, 0]);
    await action.close();
  });

  it('drops the oldest waiting record for a new one with drop_oldest', async () => {
    const action = actionWith('drop_oldest', 'infinity');
    const sends = sendThree(action);
    expect(await sends[0]).toBe(DROPPED.queue_full);
    expect(action.metrics()['queuing']).toBe(2);
    await action.close();
    const left = await Promise.all(sends.slice(1));
    expect(left.map((outcome) => IntegrationError.is(outcome) && outcome.retriable)).toEqual([true, true]);
  });

  it('keeps every record waiting, its message unacknowledged, with backpressure (until the action closes)', async () => {
    const action = actionWith('backpressure', 'infinity');
    const sends = sendThree(action);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(action.metrics()['queuing']).toBe(3);
    await action.close();
    const left = await Promise.all(sends);
    expect(left.map((outcome) => IntegrationError.is(outcome) && outcome.retriable)).toEqual([true, true, true]);
  });
});
