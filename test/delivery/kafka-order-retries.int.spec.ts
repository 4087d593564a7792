// Issue #11, behaviour 1 across retries: order per partition at the default maxInflight (10) when requests
// fail and are retried, with and without the idempotent producer. Three devices publish numbered QoS 1
// messages, ~1 ms apart, through `sluice run`; the action keys records by device (the device's id in the
// payload: a subscriber does not learn the publisher's client id; key_dispatch). Kafka is paused (SIGSTOP)
// between two phases, so the requests in flight fail as retriable and the action retries them while the
// broker still holds the originals in its socket; after SIGCONT it answers both. A third phase follows.
// Each device's records must sit on its key's partition, complete, and in publish order once repeats of
// records already stored are set aside.
//
// - Without idempotent, `queryMode: sync` (500 ms): every request misses its deadline, so retries are many.
// - With idempotent, `queryMode: async` and a 2 s requestTimeout: kafkajs times the request out, retries it
//   itself, gives up, and the action retries it; every one of those tries carries the batch's sequence
//   number, so the broker drops the ones it has already written: no repeats at all. (With `sync` the action
//   retries while kafkajs still holds the original request; kafkajs numbers the retry as a new batch once
//   the original is answered, so a record can be stored twice: seen in a run, and not promised.)
//
// - With idempotent and 12 devices on a 12-partition topic: the connector lets one idempotent request through
//   at a time (SendGate: kafkajs loses track of sequence numbers under concurrent sends), so requests never
//   time out side by side; the requests of every other partition queue behind the one that timed out and its
//   retries, and each partition's sequence numbers must still line up after the pause (no repeats, no
//   OUT_OF_ORDER_SEQUENCE_NUMBER).
//
// Pauses the Kafka broker the tests point at: run in band with the other delivery scenarios (jest's
// maxWorkers is 1), never beside other suites.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { javaKeyPartition } from '@sluice/kafka';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName, startMosquitto, topicRecordCount, type TestMosquitto } from '@sluice/testkit';
import { connectDevices, type Devices } from './support/devices';
import { sleep } from './support/load';
import { pollUntil } from './support/poll';
import { signalKafka, startSluice, type SluiceProcess } from './support/processes';

/** Messages per device in each phase (before, during and after the pause). */
const PER_PHASE = 200;
const ACTION = 'order:kafka';

describe('order per partition across retries at the default maxInflight (issue #11)', () => {
  let mosquitto: TestMosquitto;
  let sluice: SluiceProcess | undefined;
  let devices: Devices | undefined;
  let paused = false;
  let topic: string;

  beforeEach(async () => {
    topic = randomName('order-retries');
    // unlimited queues: while Kafka is paused the broker holds what Sluice has not acknowledged
    mosquitto = await startMosquitto({ settings: { max_queued_messages: 0, max_queued_bytes: 0 } });
  });

  afterEach(async () => {
    if (paused) signalKafka('SIGCONT');
    paused = false;
    await devices?.close();
    devices = undefined;
    sluice?.kill('SIGKILL');
    await sluice?.exited();
    sluice = undefined;
    await mosquitto.dispose();
    await deleteTopic(topic).catch(() => undefined);
  });

  it.each([
    ['without idempotent (sync deadline): a retry may repeat records, never reorder first occurrences', false, 3, 3],
    ['with idempotent (async, kafkajs request timeout): no repeats either', true, 3, 3],
    ['with idempotent, 12 devices on 12 partitions: every partition\'s requests queue behind the timed-out one, still no repeats', true, 12, 12],
  ])('%s', async (_title, idempotent, DEVICES, PARTITIONS) => {
    await createTopic(topic, PARTITIONS);
    const prefix = randomName('order-retries');
    sluice = await startSluice({
      sources: [{ type: 'mqtt', id: 'plant', url: mosquitto.url, clientId: randomName('sluice'), session: { persistent: false } }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap], idempotent, ...(idempotent ? { requestTimeout: '2s' } : {}) }],
      rules: [{
        id: 'order',
        sql: `SELECT payload.dev as dev, payload.seq as seq FROM "${prefix}/#"`,
        actions: [{
          connector: 'kafka', topic, key: '${dev}', value: '${seq}', partitionStrategy: 'key_dispatch',
          ...(idempotent ? {} : { queryMode: 'sync', syncQueryTimeout: '500ms' }), retryBackoff: { initial: '200ms', max: '1s' },
        }],
      }],
    });
    const running = sluice;
    const metric = async (name: string): Promise<number> => {
      const value = (await running.metrics()).get(`${name}{action="${ACTION}"}`);
      if (value === undefined) throw new Error(`GET /metrics has no ${name}{action="${ACTION}"}`);
      return value;
    };
    devices = await connectDevices(mosquitto.url, DEVICES, 'order-retries');
    const all = devices;
    const publishPhase = (phase: number): Promise<void[]> => Promise.all(all.list.map((device) => device.publish(`${prefix}/${device.clientId}`,
      Array.from({ length: PER_PHASE }, (_, i) => JSON.stringify({ dev: device.clientId, seq: phase * PER_PHASE + i })), 1)));

    await publishPhase(0);
    await pollUntil('the first phase to be stored', () => metric('sluice_action_success_total'), (n) => n === DEVICES * PER_PHASE);
    signalKafka('SIGSTOP');
    paused = true;
    const during = publishPhase(1);
    await pollUntil('requests to fail and be retried while Kafka is paused', () => metric('sluice_action_retried_total'), (n) => n > 0, 60000);
    // a few more rounds of deadlines and retries before the broker answers
    await sleep(3000);
    signalKafka('SIGCONT');
    paused = false;
    await during;
    await publishPhase(2);
    const total = DEVICES * PER_PHASE * 3;
    await pollUntil('every record to be stored', () => metric('sluice_action_success_total'), (n) => n === total, 120000).catch((error: unknown) => {
      console.log(`[order-retries] sluice run's log (warnings and errors), the end:\n${running.log().slice(-4000)}`);
      throw error;
    });
    expect({ failed: await metric('sluice_action_failed_total'), dropped: await metric('sluice_action_dropped_total') }).toEqual({ failed: 0, dropped: 0 });
    expect(await metric('sluice_action_retried_total')).toBeGreaterThan(0);

    const stored = await topicRecordCount(topic);
    const records = await consumeRecords(topic, stored, 60000);
    const byDevice = new Map<string, Array<{ partition: number; offset: bigint; seq: number }>>();
    for (const record of records) {
      const list = byDevice.get(record.key as string) ?? [];
      list.push({ partition: record.partition, offset: BigInt(record.offset), seq: Number(record.value) });
      byDevice.set(record.key as string, list);
    }
    expect([...byDevice.keys()].sort()).toEqual(all.list.map((d) => d.clientId).sort());
    let repeats = 0;
    for (const { clientId } of all.list) {
      const list = (byDevice.get(clientId) ?? []).sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
      expect(new Set(list.map((r) => r.partition))).toEqual(new Set([javaKeyPartition(clientId, PARTITIONS)]));
      const firstSeen: number[] = [];
      const seen = new Set<number>();
      for (const { seq } of list) {
        if (seen.has(seq)) continue;
        seen.add(seq);
        firstSeen.push(seq);
      }
      // complete, and in publish order once repeats of already stored records are set aside
      expect({ clientId, firstSeen }).toEqual({ clientId, firstSeen: Array.from({ length: PER_PHASE * 3 }, (_, i) => i) });
      repeats += list.length - firstSeen.length;
    }
    const partitions = new Set(all.list.map((d) => javaKeyPartition(d.clientId, PARTITIONS))).size;
    console.log(`[order-retries] idempotent ${idempotent}, ${DEVICES} devices on ${partitions} partitions: ${await metric('sluice_action_retried_total')} records retried, ${repeats} stored twice`);
    if (idempotent) expect(repeats).toBe(0);
  }, 240000);
});
