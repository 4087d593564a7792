// Issue #13, point 3, through `sluice run`: two members of one cluster (a `cluster:` section naming a Kafka
// connector) on a real Mosquitto and Kafka. The first member seeds the config topic `_sluice-<cluster>-config`;
// the second starts with no rules and takes the cluster's. The MQTT source needs no share group in the file:
// cluster mode subscribes through one named after the cluster, so the members split a numbered stream (read back
// from Kafka: none missing) and GET /api/cluster on either member shows both and the summed counters from the
// status topic. A rule written through one member's REST API runs on the other (the time it took is printed;
// the 2 s goal is a figure, not an assertion), and a member stopped with SIGTERM is shown as stopped.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createTopic, deleteTopic, kafkaBroker, randomName, startMosquitto } from '@sluice/testkit';
import { readBack, startLoad, summary, type Load } from './support/load';
import { pollUntil } from './support/poll';
import { startSluice, stopAll, type SluiceProcess } from './support/processes';

const TOTAL = 2000;

interface ClusterView {
  readonly members: ReadonlyArray<{ readonly id: string; readonly state: string; readonly self: boolean; readonly takenOverBy?: string }>;
  readonly totals: { readonly rules: Record<string, Record<string, number>>; readonly actions: Record<string, Record<string, number>> };
}

describe('cluster mode: two sluice run members sharing config, work and status (issue #13)', () => {
  let broker: { url: string; dispose(): Promise<void> };
  let cluster: string;
  let kafkaTopic: string;
  let mqttPrefix: string;
  let load: Load | undefined;
  const sluices: SluiceProcess[] = [];

  beforeEach(async () => {
    broker = await startMosquitto({ settings: { persistence: true, max_queued_messages: 0, max_queued_bytes: 0 } });
    cluster = randomName('cluster');
    kafkaTopic = randomName('cluster-out');
    mqttPrefix = randomName('seq');
    await createTopic(kafkaTopic, 3);
  }, 120_000);

  afterEach(async () => {
    await load?.close();
    load = undefined;
    await stopAll(sluices);
    await broker.dispose();
    for (const topic of [kafkaTopic, `_sluice-${cluster}-config`, `_sluice-${cluster}-status`]) await deleteTopic(topic).catch(() => undefined);
  });

  const member = async (id: string, rules: unknown[]): Promise<SluiceProcess> => {
    const sluice = await startSluice({
      cluster: { name: cluster, connector: 'kafka', member: id, statusIntervalMs: 300, memberTimeoutMs: 3000 },
      sources: [{ type: 'mqtt', id: 'plant', url: broker.url, maxInflight: 50 }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
      rules,
    });
    sluices.push(sluice);
    return sluice;
  };

  const api = async <T>(sluice: SluiceProcess, path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
    const res = await fetch(`http://127.0.0.1:${sluice.port}${path}`, init);
    return { status: res.status, body: (await res.json()) as T };
  };
  const clusterView = async (sluice: SluiceProcess): Promise<ClusterView> => (await api<ClusterView>(sluice, '/api/cluster')).body;
  const received = async (sluice: SluiceProcess): Promise<number> => (await sluice.metrics()).get('sluice_source_received_total{source="plant"}') ?? 0;

  it('shares the seeded config, splits a stream with none lost, sums the members\' counters, spreads an API rule change, shows a stopped member', async () => {
    const seqRule = { id: 'seq', sql: `SELECT payload.seq as seq FROM "${mqttPrefix}/#"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${seq}' }] };
    const first = await member('m1', [seqRule]);
    const second = await member('m2', []);
    // the second member's file had no rules: it runs the cluster's
    expect((await api<Array<{ id: string }>>(second, '/api/rules')).body.map((r) => r.id)).toEqual(['seq']);

    load = await startLoad({ url: broker.url, topicPrefix: mqttPrefix, total: TOTAL, publishers: 2, ratePerSecond: 1000 });
    expect(await load.finished(60_000)).toBe(TOTAL);
    const read = await readBack(kafkaTopic, Array.from({ length: TOTAL }, (_, i) => i), 60_000);
    console.log(summary('cluster of two members', TOTAL, read));
    expect(read.missing).toEqual([]);
    const split = [await received(first), await received(second)];
    console.log(`[cluster] messages received per member: ${split.join(', ')}`);
    expect(split.every((n) => n > 0)).toBe(true);

    // either member's view: both running, the rule's counters summed over the two
    const view = await pollUntil('the status topic to show the whole stream', () => clusterView(second),
      (v) => (v.totals.rules['seq']?.['matched'] ?? 0) >= TOTAL, 15_000);
    expect(view.members.map((m) => [m.id, m.state, m.self])).toEqual([['m1', 'running', false], ['m2', 'running', true]]);
    expect(view.totals.rules['seq']?.['matched']).toBe(split[0]! + split[1]!);

    // a rule written through the first member's API runs on the second
    const copyRule = { sql: `SELECT payload.seq as seq FROM "${mqttPrefix}/copy"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value: 'copy-${seq}' }] };
    const started = Date.now();
    const put = await api<{ revision: string }>(first, '/api/rules/copy', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(copyRule) });
    expect(put.status).toBe(201);
    await pollUntil('the rule to run on the other member', async () => (await api<unknown>(second, '/api/rules/copy')).status, (status) => status === 200, 15_000, 20);
    console.log(`[cluster] a rule written through one member's API ran on the other ${Date.now() - started} ms after the PUT was sent`);
    const config = (await api<{ rules: Array<{ id: string }> }>(second, '/api/config')).body;
    expect(config.rules.map((r) => r.id)).toEqual(['seq', 'copy']);

    first.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    const after = await pollUntil('the stopped member to be shown stopped', () => clusterView(second), (v) => v.members.some((m) => m.id === 'm1' && m.state === 'stopped'), 15_000);
    expect(after.members.find((m) => m.id === 'm2')?.state).toBe('running');
  }, 240_000);

  it('a member SIGKILLed mid-stream and never started again: another member takes over its MQTT session, zero lost (Mosquitto)', async () => {
    const seqRule = { id: 'seq', sql: `SELECT payload.seq as seq FROM "${mqttPrefix}/#"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${seq}' }] };
    const survivor = await member('m1', [seqRule]);
    const victim = await member('m2', []);
    load = await startLoad({ url: broker.url, topicPrefix: mqttPrefix, total: TOTAL, publishers: 2, ratePerSecond: 500 });
    await pollUntil('the doomed member to receive a share', () => received(victim), (n) => n >= TOTAL / 8, 30_000);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited();
    expect(await load.finished(60_000)).toBe(TOTAL);

    // Mosquitto keeps routing the dead member's share into its session until the survivor takes it over
    const read = await readBack(kafkaTopic, Array.from({ length: TOTAL }, (_, i) => i), 90_000);
    console.log(summary('cluster: a member killed, never restarted', TOTAL, read));
    expect(read.missing).toEqual([]);
    const view = await pollUntil('the dead member to be shown taken over', () => clusterView(survivor),
      (v) => v.members.some((m) => m.id === 'm2' && m.state === 'stopped'), 60_000);
    console.log(`[cluster] dead member taken over ${Date.now() - killedAt} ms after the SIGKILL (memberTimeoutMs 3000, settle 2000)`);
    expect(view.members.find((m) => m.id === 'm2')).toMatchObject({ state: 'stopped', takenOverBy: 'm1' });
    expect(survivor.log()).toContain('taking over its MQTT sessions');
  }, 240_000);

  it('answers 404 with how to enable it outside cluster mode', async () => {
    const alone = await startSluice({
      sources: [{ type: 'mqtt', id: 'plant', url: broker.url }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
      rules: [],
    });
    sluices.push(alone);
    const answer = await api<{ error: string }>(alone, '/api/cluster');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatch(/cluster: section/);
  }, 60_000);
});
