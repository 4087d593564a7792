// Issue #11, behaviour 1: order per partition while nothing fails, at the Kafka action's DEFAULT settings
// (maxInflight 10, no idempotent producer). One MQTT client publishes numbered QoS 1 messages one after
// another into a 1-partition topic; the broker hands them to Sluice in that order, so the topic must hold
// them in that order: offsets follow the sequence numbers, none missing, none doubled (nothing fails, so
// nothing is retried and nothing may repeat).
//
// Before the per-partition pipeline, kafkajs could reach the broker with two concurrent requests of one
// partition swapped (it awaits between sendBatch() and the socket write), and the 5-message repro
// stored offsets 1 and 2 swapped. The race needs records that arrive a few turns of the event loop apart,
// which is how an MQTT subscription delivers a stream: one message per read, often.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, startMosquitto, topicRecordCount, type TestMosquitto,
} from '@sluice/testkit';
import { connectDevices, type Devices } from './support/devices';
import { pollUntil } from './support/poll';
import { startSluice, type SluiceProcess } from './support/processes';

/** Rounds of the repro (5 messages published one after another, then wait until stored); the first is the repro itself. */
const ROUNDS = 20;
const PER_ROUND = 5;
/** The second test: one publisher, this many messages, one every STREAM_GAP_MS (a live stream, ~800/s). */
const STREAM = 5000;
const STREAM_GAP_MS = 1;
const ACTION = 'order:kafka';

interface Order {
  readonly records: number;
  /** Sequence numbers in offset order that are not the expected next one: `offset:value` (at most 10). */
  readonly outOfPlace: string[];
}

/** Reads the whole 1-partition topic and says where its values differ from 0, 1, 2, … */
async function orderOf(topic: string, expected: number): Promise<Order> {
  const stored = await topicRecordCount(topic);
  const records = await consumeRecords(topic, stored, 60000);
  const outOfPlace: string[] = [];
  let count = 0;
  records.forEach((record, i) => {
    if (record.partition !== 0 || Number(record.value) !== i) {
      count++;
      if (outOfPlace.length < 10) outOfPlace.push(`${record.offset}:${record.value}`);
    }
  });
  if (stored !== expected || count > 0) console.log(`[order] ${topic}: ${stored} records (expected ${expected}); ${count} out of place, the first (offset:value): ${outOfPlace.join(' ') || 'none'}`);
  return { records: stored, outOfPlace };
}

describe('order per partition at the default maxInflight (issue #11)', () => {
  let sluice: SluiceProcess | undefined;
  let mosquitto: TestMosquitto | undefined;
  let devices: Devices | undefined;
  let topic: string;

  beforeEach(async () => {
    topic = randomName('partition-order');
    await createTopic(topic, 1);
  });

  afterEach(async () => {
    await devices?.close();
    devices = undefined;
    sluice?.kill('SIGKILL');
    await sluice?.exited();
    sluice = undefined;
    await mosquitto?.dispose();
    mosquitto = undefined;
    await deleteTopic(topic).catch(() => undefined);
  });

  /**
   * `sluice run` reading `<prefix>/#` from `url` into the topic, the action at its defaults apart from the
   * templates. A process of its own, as in the issue: a publisher in the same process as Sluice hands it
   * its messages in bursts (one turn of the event loop each), which hides the race.
   */
  const start = async (url: string, prefix: string): Promise<SluiceProcess> => {
    sluice = await startSluice({
      sources: [{ type: 'mqtt', id: 'plant', url, clientId: randomName('sluice'), session: { persistent: false } }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
      rules: [{ id: 'order', sql: `SELECT payload.seq as seq FROM "${prefix}/#"`, actions: [{ connector: 'kafka', topic, value: '${seq}' }] }],
    });
    return sluice;
  };
  const counters = async (running: SluiceProcess): Promise<{ success: number; failed: number; dropped: number }> => {
    const metrics = await running.metrics();
    const get = (name: string): number => {
      const value = metrics.get(`${name}{action="${ACTION}"}`);
      if (value === undefined) throw new Error(`GET /metrics has no ${name}{action="${ACTION}"}`);
      return value;
    };
    return { success: get('sluice_action_success_total'), failed: get('sluice_action_failed_total'), dropped: get('sluice_action_dropped_total') };
  };

  it(`the issue's repro, ${ROUNDS} times: ${PER_ROUND} messages published one after another by one client are stored in order`, async () => {
    const prefix = randomName('order5');
    const running = await start(mqttUrl(), prefix);
    for (let round = 0; round < ROUNDS; round++) {
      const payloads = Array.from({ length: PER_ROUND }, (_, i) => JSON.stringify({ seq: round * PER_ROUND + i }));
      // one client, each publish awaiting its PUBACK from Mosquitto before the next, as in the issue
      await publish(mqttUrl(), `${prefix}/dev`, payloads, { qos: 1 });
      await pollUntil(`round ${round} to be stored`, () => counters(running), (m) => m.success + m.failed >= (round + 1) * PER_ROUND);
    }
    expect(await counters(running)).toEqual({ success: ROUNDS * PER_ROUND, failed: 0, dropped: 0 });
    expect(await orderOf(topic, ROUNDS * PER_ROUND)).toEqual({ records: ROUNDS * PER_ROUND, outOfPlace: [] });
  }, 120000);

  it(`${STREAM} messages from one publisher at QoS 1, ~1 ms apart, are stored in publish order, none missing`, async () => {
    // A broker of the test's own with unlimited queues: the shared one drops QoS 1 messages past its
    // default max_queued_messages (1000) while Sluice's 20-message window is full.
    mosquitto = await startMosquitto({ settings: { max_queued_messages: 0, max_queued_bytes: 0 } });
    const prefix = randomName('order5000');
    const running = await start(mosquitto.url, prefix);
    devices = await connectDevices(mosquitto.url, 1, 'order-pub');
    const publisher = devices.list[0];
    if (publisher === undefined) throw new Error('no publisher');
    // Paced rather than in one burst: a burst fills Sluice's 20-message window at once, and each window
    // goes out as one request while the next waits for its acknowledgements; a live stream arrives a few
    // messages at a time, so several requests of the partition are in flight together.
    await publisher.publish(`${prefix}/dev`, Array.from({ length: STREAM }, (_, seq) => JSON.stringify({ seq })), STREAM_GAP_MS);
    await pollUntil('every message to be stored', () => counters(running), (m) => m.success + m.failed >= STREAM, 120000);
    expect(await counters(running)).toEqual({ success: STREAM, failed: 0, dropped: 0 });
    expect(await orderOf(topic, STREAM)).toEqual({ records: STREAM, outOfPlace: [] });
  }, 180000);
});
