// The Kafka action's retry metrics on `sluice run`'s GET /metrics, made real: Kafka is paused (SIGSTOP)
// while messages arrive, so the partition's produce request goes unanswered and fails at the `sync` query
// mode's reply timeout (retriable). The request is still open in kafkajs, so the partition sends nothing
// more until its late reply comes (a second request beside it could reorder the partition, issue #11): the
// other records wait behind it. After SIGCONT the late answer arrives, then the retry and the rest are stored. Read back with the strict exposition parser and checked against the traffic
// and against the REST API's view of the same action. Like the other delivery scenarios, this pauses the
// broker named by the broker file: point SLUICE_KAFKA_BROKER_FILE at a private broker when others share it.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';
import { parseExposition, value, type Family } from '../../packages/cli/test/prometheus-text';
import { signalKafka, startSluice, type SluiceProcess } from './support/processes';
import { sleep } from './support/load';

const ACTION = 'numbers:kafka';
const MESSAGES = 10;

describe('Kafka action retry metrics on GET /metrics across a Kafka pause', () => {
  let kafkaTopic: string;
  let sluice: SluiceProcess | undefined;

  beforeEach(async () => {
    kafkaTopic = randomName('connector-metrics-retries');
    await createTopic(kafkaTopic, 1);
  });

  afterEach(async () => {
    sluice?.kill('SIGKILL');
    await sluice?.exited();
    sluice = undefined;
    await deleteTopic(kafkaTopic);
  });

  it('retried while paused, one request of the partition awaited while paused, retried.success for every retried record after SIGCONT, late replies counted; equal to the REST view', async () => {
    const mqttTopic = `${randomName('numbers')}/n`;
    sluice = await startSluice({
      sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl(), clientId: randomName('sluice-retries'), protocolVersion: 5, session: { persistent: false } }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
      rules: [{
        id: 'numbers',
        sql: `SELECT payload.n as n FROM "${mqttTopic}"`,
        actions: [{
          connector: 'kafka', topic: kafkaTopic, value: '${n}',
          queryMode: 'sync', syncQueryTimeout: '300ms', maxRetries: 'infinity', retryBackoff: { initial: '100ms', max: '500ms' },
        }],
      }],
    });
    const running = sluice;
    const scrape = async (): Promise<Map<string, Family>> => {
      const res = await fetch(`http://127.0.0.1:${running.port}/metrics`);
      expect(res.status).toBe(200);
      return parseExposition(await res.text());
    };
    const series = (families: Map<string, Family>, name: string, labels = `{action="${ACTION}"}`): number => value(families, name, labels);
    const until = async (condition: (families: Map<string, Family>) => boolean): Promise<Map<string, Family>> => {
      for (;;) {
        const families = await scrape();
        if (condition(families)) return families;
        await sleep(100);
      }
    };

    signalKafka('SIGSTOP');
    let held: Map<string, Family>;
    try {
      await publish(mqttUrl(), mqttTopic, Array.from({ length: MESSAGES }, (_, n) => JSON.stringify({ n })), { qos: 1, protocolVersion: 5 });
      // The first request timed out: its records are back for a retry (each failure of a record counts one).
      held = await until((f) => series(f, 'sluice_source_received_total', '{source="plant"}') === MESSAGES && series(f, 'sluice_action_retried_total') >= 1);
      // ... and while its reply is awaited, no other request of the partition goes (nothing more is retried)
      await sleep(1500);
      const later = await scrape();
      expect(series(later, 'sluice_action_retried_total')).toBe(series(held, 'sluice_action_retried_total'));
      expect(series(later, 'sluice_action_late_reply_total')).toBe(0);
    } finally {
      signalKafka('SIGCONT');
    }
    expect({
      success: series(held, 'sluice_action_success_total'),
      retriedSuccess: series(held, 'sluice_action_retried_success_total'),
      retriedFailed: series(held, 'sluice_action_retried_failed_total'),
      queuing: series(held, 'sluice_action_queuing'),
      connectorQueuing: series(held, 'sluice_action_connector_queuing'),
    }).toEqual({ success: 0, retriedSuccess: 0, retriedFailed: 0, queuing: MESSAGES, connectorQueuing: MESSAGES });
    expect(series(held, 'sluice_action_queuing_bytes')).toBeGreaterThan(0);

    const retriedWhilePaused = series(held, 'sluice_action_retried_total');
    const done = await until((f) => series(f, 'sluice_action_success_total') === MESSAGES && series(f, 'sluice_action_connector_inflight') === 0);
    // the late answers to timed-out requests stored some records as well: at least one copy of each
    expect(await topicRecordCount(kafkaTopic)).toBeGreaterThanOrEqual(MESSAGES);
    const rest = ((await (await fetch(`http://127.0.0.1:${running.port}/api/actions/${encodeURIComponent(ACTION)}`)).json()) as { metrics: { connector: Record<string, number> } }).metrics.connector;
    const after = await scrape(); // a late reply may still have been on its way during `done`: compare like with like
    expect({
      retried: series(after, 'sluice_action_retried_total'),
      retriedSuccess: series(after, 'sluice_action_retried_success_total'),
      retriedFailed: series(after, 'sluice_action_retried_failed_total'),
      lateReply: series(after, 'sluice_action_late_reply_total'),
      queuingBytes: series(after, 'sluice_action_queuing_bytes'),
      connectorQueuing: series(after, 'sluice_action_connector_queuing'),
    }).toEqual({
      retried: rest['retried'], retriedSuccess: rest['retried.success'], retriedFailed: 0, lateReply: rest['late_reply'], queuingBytes: 0, connectorQueuing: 0,
    });
    // every record retried while paused was stored by a retry; on a slow machine a request after SIGCONT can
    // miss its 300 ms deadline too, so more records may have been retried (and answered late), never fewer
    expect(series(done, 'sluice_action_retried_success_total')).toBeGreaterThanOrEqual(retriedWhilePaused);
    expect(series(after, 'sluice_action_retried_total')).toBeGreaterThanOrEqual(series(after, 'sluice_action_retried_success_total'));
    // the timed-out request's records came back as its late reply
    expect(series(after, 'sluice_action_late_reply_total')).toBeGreaterThanOrEqual(retriedWhilePaused);
  }, 120000);
});
