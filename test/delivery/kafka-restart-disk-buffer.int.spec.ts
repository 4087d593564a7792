// A Kafka broker restart while an action uses the disk buffer, through the real `sluice run` and the shared
// Mosquitto. Messages published during the outage are written to disk and acknowledged to MQTT at once
// (not left to the broker); when the broker is back (restarted over its data dir) every one of them is in
// the topic. The variants stop Sluice during the outage (SIGTERM: a clean stop; SIGKILL: a crash) and start
// a new process once the broker is back, which sends what the disk buffer holds.
//
// Duplicates: the disk buffer promises at least once ("after a crash, records from the committed number on
// are sent again", disk-buffer.ts), and a kafkajs retry of a request the broker stored but did not answer
// could double a record. Neither can happen here, so every record must be there exactly once: the broker is
// killed only when Sluice has nothing in flight, a record sent to a dead broker is never stored, and each
// disk append writes the committed number after the acknowledgements of every earlier record (those of the
// first phase arrived before the broker died), so a new process replays exactly the outage's records.
//
// Kills and restarts the Kafka broker the tests point at: run in band with the other delivery scenarios
// (jest's maxWorkers is 1), never beside other suites.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';
import { readBack, summary } from './support/load';
import { pollUntil } from './support/poll';
import { kafkaAlive, killKafka, restartKafka, startSluice, type SluiceProcess } from './support/processes';

const BEFORE = 50;
const DURING = 300;
const AFTER = 50;
const ACTION = 'action="seq:kafka"';
const SOURCE = 'source="plant"';

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);
const payloads = (seqs: readonly number[]): string[] => seqs.map((seq) => JSON.stringify({ seq }));

describe('a Kafka broker restart while the action uses the disk buffer', () => {
  let topic: string;
  let prefix: string;
  let dir: string;
  const sluices: SluiceProcess[] = [];

  beforeEach(async () => {
    topic = randomName('disk-outage');
    prefix = randomName('disk-seq');
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-disk-outage-'));
    await createTopic(topic, 3);
  });

  afterEach(async () => {
    for (const sluice of sluices.splice(0)) {
      sluice.kill('SIGKILL');
      await sluice.exited();
    }
    // a failed test must not leave the broker dead for the suites after it
    if (!kafkaAlive()) await restartKafka();
    await deleteTopic(topic).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const launch = async (): Promise<SluiceProcess> => {
    const sluice = await startSluice({
      // no persistent session: whatever the second process sends of the outage's messages comes from the disk, not from Mosquitto
      sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), session: { persistent: false } }],
      // a refused connection fails a send after one quick kafkajs retry
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap], connectTimeout: 1000, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 } }],
      rules: [{
        id: 'seq',
        sql: `SELECT payload.seq as seq FROM "${prefix}/#"`,
        // back-off capped at 1 s: the records go soon after the broker is back
        actions: [{ connector: 'kafka', topic, key: '', value: '${seq}', buffer: { mode: 'disk', dir }, retryBackoff: { initial: 200, max: 1000 } }],
      }],
    });
    sluices.push(sluice);
    return sluice;
  };

  /** Selected counters of a process, for the assertions and for the poll's last-seen message. */
  const counters = async (sluice: SluiceProcess): Promise<Record<string, number | undefined>> => {
    const m = await sluice.metrics();
    return {
      received: m.get(`sluice_source_received_total{${SOURCE}}`),
      acknowledged: m.get(`sluice_source_acknowledged_total{${SOURCE}}`),
      leftToBroker: m.get(`sluice_source_left_to_broker_total{${SOURCE}}`),
      success: m.get(`sluice_action_success_total{${ACTION}}`),
      failed: m.get(`sluice_action_failed_total{${ACTION}}`),
      dropped: m.get(`sluice_action_dropped_total{${ACTION}}`),
      queuing: m.get(`sluice_action_queuing{${ACTION}}`),
    };
  };

  const segmentFiles = (): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.seg'));

  /** Phase 1 and 2, shared by the variants: records stored with Kafka up, then the broker killed and the outage's messages on disk. */
  const throughOutage = async (sluice: SluiceProcess): Promise<void> => {
    await publish(mqttUrl(), `${prefix}/a`, payloads(range(0, BEFORE)), { qos: 1 });
    // stored in Kafka and nothing left in flight: the broker dies between requests
    await pollUntil('the records sent before the outage to reach Kafka', () => counters(sluice), (c) => c['success'] === BEFORE && c['queuing'] === 0);

    await killKafka();
    await publish(mqttUrl(), `${prefix}/a`, payloads(range(1000, DURING)), { qos: 1 });
    // on disk and acknowledged to Mosquitto while Kafka is away; all of them wait for Kafka
    const during = await pollUntil('the outage messages to be on disk and acknowledged', () => counters(sluice),
      (c) => c['acknowledged'] === BEFORE + DURING && c['queuing'] === DURING);
    expect(during).toEqual({ received: BEFORE + DURING, acknowledged: BEFORE + DURING, leftToBroker: 0, success: BEFORE + DURING, failed: 0, dropped: 0, queuing: DURING });
    expect(segmentFiles().length).toBeGreaterThan(0);
  };

  /**
   * Phase 3: new messages once the disk buffer is sent; then the topic read back, each number exactly once.
   * `receivedBefore`: messages this process had received over MQTT before the phase.
   */
  const afterOutage = async (sluice: SluiceProcess, name: string, receivedBefore: number): Promise<void> => {
    await pollUntil('the disk buffer to be sent to Kafka', () => counters(sluice), (c) => c['queuing'] === 0);
    await publish(mqttUrl(), `${prefix}/a`, payloads(range(2000, AFTER)), { qos: 1 });
    await pollUntil('the records sent after the outage to reach Kafka', () => counters(sluice), (c) => c['acknowledged'] === receivedBefore + AFTER && c['queuing'] === 0);

    const everything = [...range(0, BEFORE), ...range(1000, DURING), ...range(2000, AFTER)];
    const read = await readBack(topic, everything, 60000);
    console.log(summary(name, everything.length, read));
    expect(read.missing).toEqual([]);
    expect(read.duplicates).toBe(0);
    // and nothing else: as many records in the topic as distinct numbers published
    expect(await topicRecordCount(topic)).toBe(everything.length);
  };

  it('one process rides out the outage: the disk-buffered records are delivered once the broker is back, exactly once', async () => {
    const sluice = await launch();
    await throughOutage(sluice);
    await restartKafka();
    await afterOutage(sluice, 'disk buffer, kafka restarted', BEFORE + DURING);
    expect(await counters(sluice)).toEqual({
      received: BEFORE + DURING + AFTER, acknowledged: BEFORE + DURING + AFTER, leftToBroker: 0,
      success: BEFORE + DURING + AFTER, failed: 0, dropped: 0, queuing: 0,
    });
  }, 120000);

  it.each(['SIGTERM', 'SIGKILL'] as const)('Sluice stopped with %s during the outage: a new process sends the disk buffer once the broker is back, exactly once', async (signal) => {
    const first = await launch();
    await throughOutage(first);
    first.kill(signal);
    // a clean stop while Kafka is away ends (the records stay on disk for the next start); a crash is a crash
    expect(await first.exited()).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
    expect(segmentFiles().length).toBeGreaterThan(0);

    await restartKafka();
    const second = await launch();
    await afterOutage(second, `disk buffer, sluice ${signal} during the outage`, 0);
    // The second process received only the last phase over MQTT; the outage's records came from the disk.
    expect(await counters(second)).toEqual({ received: AFTER, acknowledged: AFTER, leftToBroker: 0, success: AFTER, failed: 0, dropped: 0, queuing: 0 });
  }, 120000);
});
