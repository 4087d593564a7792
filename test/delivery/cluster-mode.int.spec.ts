// Issue #13, points 3 to 5, through `sluice run`: two members of one cluster (a `cluster:` section naming a Kafka
// connector), on a test-owned Mosquitto 2.0.11 and on a private HiveMQ CE 2025.5, with the project's Kafka.
//
// - The first member seeds the config topic `_sluice-<cluster>-config`; the second starts with no rules and takes
//   the cluster's. The MQTT source needs no share group in the file: cluster mode subscribes through one named after
//   the cluster, so the members share a numbered stream (read back from Kafka: none missing), and GET /api/cluster on
//   either member shows both and the counters summed from the status topic. A rule written through one member's REST
//   API runs on the other (the time is printed; the 2 s goal is a bench figure: npm run bench:cluster), and a member
//   stopped with SIGTERM is shown as stopped.
// - A member joining mid-stream runs the cluster's config and takes a share (zero lost).
// - A member stopped with SIGTERM mid-stream (a scale-down): zero lost, shown stopped and not taken over; with the
//   broker's recommended `session.shareGroupLeave` its client id then finds no session on Mosquitto (end-session)
//   and its empty one on HiveMQ (keep-session).
// - A member SIGKILLed mid-stream and never started again: after memberTimeoutMs the other member takes over its
//   MQTT session (on Mosquitto that is where its share waits; HiveMQ has already handed it on) and ends it. Zero lost.
//
// HiveMQ does not split a group round-robin: the member killed is the one that has received more, and the split is
// only checked on Mosquitto (where it is round-robin) by the printed figures and the sum.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, randomName } from '@sluice/testkit';
import { HIVEMQ, MOSQUITTO, sessionPresent, type Broker, type BrokerUnderTest } from './support/brokers';
import { readBack, sleep, startLoad, summary, type Load } from './support/load';
import { pollUntil } from './support/poll';
import { kafkaAlive, killKafka, restartKafka, startSluice, stopAll, type SluiceProcess } from './support/processes';

const TOTAL = 2000;

interface ClusterView {
  readonly members: ReadonlyArray<{ readonly id: string; readonly state: string; readonly self: boolean; readonly takenOverBy?: string }>;
  readonly totals: { readonly rules: Record<string, Record<string, number>>; readonly actions: Record<string, Record<string, number>> };
}

/** A stream rate each broker keeps up with (HiveMQ CE keeps 50 messages unacknowledged per client). */
const CLUSTER_BROKERS = [{ ...MOSQUITTO, rate: 1000 }, { ...HIVEMQ, rate: 500 }];

const api = async <T>(sluice: SluiceProcess, path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
  const res = await fetch(`http://127.0.0.1:${sluice.port}${path}`, init);
  return { status: res.status, body: (await res.json()) as T };
};
const clusterView = async (sluice: SluiceProcess): Promise<ClusterView> => (await api<ClusterView>(sluice, '/api/cluster')).body;
const received = async (sluice: SluiceProcess): Promise<number> => (await sluice.metrics()).get('sluice_source_received_total{source="plant"}') ?? 0;

/**
 * A fresh broker, Kafka topic, MQTT prefix and cluster name per test (and everything stopped after it), and the
 * helpers the cases share. Registers its beforeEach/afterEach in the describe block it is called from.
 */
function clusterOn(brokerUnderTest: BrokerUnderTest, memberTimeoutMs: number) {
  let broker: Broker;
  let cluster: string;
  let kafkaTopic: string;
  let mqttPrefix: string;
  const loads: Load[] = [];
  const sluices: SluiceProcess[] = [];

  beforeEach(async () => {
    broker = await brokerUnderTest.start();
    cluster = randomName('cluster');
    kafkaTopic = randomName('cluster-out');
    mqttPrefix = randomName('seq');
    await createTopic(kafkaTopic, 3);
  }, 120_000);

  afterEach(async () => {
    for (const load of loads.splice(0)) await load.close();
    await stopAll(sluices);
    await broker.stop();
    // a test that killed Kafka and failed before restarting it
    if (!kafkaAlive()) await restartKafka();
    for (const topic of [kafkaTopic, `_sluice-${cluster}-config`, `_sluice-${cluster}-status`]) await deleteTopic(topic).catch(() => undefined);
  }, 120_000);

  return {
    async member(id: string, rules: unknown[]): Promise<SluiceProcess> {
      const sluice = await startSluice({
        cluster: { name: cluster, connector: 'kafka', member: id, statusIntervalMs: 300, memberTimeoutMs },
        sources: [{ type: 'mqtt', id: 'plant', url: broker.url, maxInflight: 50, session: { shareGroupLeave: brokerUnderTest.shareGroupLeave } }],
        connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
        rules,
      });
      sluices.push(sluice);
      return sluice;
    },
    /** Numbered messages under this test's MQTT prefix. */
    async stream(total: number, ratePerSecond: number): Promise<Load> {
      const load = await startLoad({ url: broker.url, topicPrefix: mqttPrefix, total, publishers: 2, ratePerSecond });
      loads.push(load);
      return load;
    },
    /** The rule `seq`, writing each message's number with the value template `value`. */
    seqRule: (value = '${seq}'): Record<string, unknown> =>
      ({ id: 'seq', sql: `SELECT payload.seq as seq FROM "${mqttPrefix}/#"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value }] }),
    copyRule: (): Record<string, unknown> =>
      ({ sql: `SELECT payload.seq as seq FROM "${mqttPrefix}/copy"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value: 'copy-${seq}' }] }),
    /** Reads the topic back: every number below `total` is expected. */
    readAll: (total: number): ReturnType<typeof readBack> => readBack(kafkaTopic, Array.from({ length: total }, (_, i) => i), 120_000),
    brokerUrl: (): string => broker.url,
  };
}

describe.each(CLUSTER_BROKERS)('cluster mode on $name: two sluice run members sharing config, work and status (issue #13)', (brokerUnderTest) => {
  const { member, stream, seqRule, copyRule, readAll, brokerUrl } = clusterOn(brokerUnderTest, 3000);

  /** Two members carrying a stream, and the one that has received more once an eighth of it went through. */
  const twoMembersMidStream = async (): Promise<{ busier: SluiceProcess; busierId: string; other: SluiceProcess; load: Load }> => {
    const members = [await member('m1', [seqRule()]), await member('m2', [])] as const;
    const load = await stream(TOTAL, brokerUnderTest.rate / 2);
    const counts = await pollUntil('an eighth of the stream to reach the members',
      async () => [await received(members[0]), await received(members[1])] as const, ([a, b]) => a + b >= TOTAL / 8, 30_000);
    // the busier one: HiveMQ may feed one member only, and stopping an idle one would test nothing
    const first = counts[0] >= counts[1];
    return { busier: first ? members[0] : members[1], busierId: first ? 'm1' : 'm2', other: first ? members[1] : members[0], load };
  };

  it('shares the seeded config, carries a stream with none lost, sums the members\' counters, spreads an API rule change, shows a stopped member', async () => {
    const first = await member('m1', [seqRule()]);
    const second = await member('m2', []);
    // the second member's file had no rules: it runs the cluster's
    expect((await api<Array<{ id: string }>>(second, '/api/rules')).body.map((r) => r.id)).toEqual(['seq']);

    const load = await stream(TOTAL, brokerUnderTest.rate);
    expect(await load.finished(60_000)).toBe(TOTAL);
    const read = await readAll(TOTAL);
    console.log(summary(`${brokerUnderTest.name}: cluster of two members`, TOTAL, read));
    expect(read.missing).toEqual([]);
    const split = [await received(first), await received(second)] as const;
    console.log(`[cluster] ${brokerUnderTest.name}: messages received per member: ${split.join(', ')}`);

    // either member's view: both running, the rule's counters summed over the two
    const view = await pollUntil('the status topic to show the whole stream', () => clusterView(second),
      (v) => (v.totals.rules['seq']?.['matched'] ?? 0) >= split[0] + split[1], 15_000);
    expect(view.members.map((m) => [m.id, m.state, m.self])).toEqual([['m1', 'running', false], ['m2', 'running', true]]);
    expect(view.totals.rules['seq']?.['matched']).toBe(split[0] + split[1]);
    expect(split[0] + split[1]).toBeGreaterThanOrEqual(TOTAL);

    // a rule written through the first member's API runs on the second
    const started = Date.now();
    const put = await api<{ revision: string }>(first, '/api/rules/copy', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(copyRule()) });
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

  it('a member joining mid-stream takes the cluster\'s config and a share of the stream, zero lost', async () => {
    const first = await member('m1', [seqRule()]);
    // 10 s: a member takes a few seconds to start, and must join while most of the stream is still to come
    const load = await stream(TOTAL, 200);
    await pollUntil('a tenth of the stream to reach the first member', () => received(first), (n) => n >= TOTAL / 10, 30_000);
    const joining = await member('m2', []);
    expect((await api<Array<{ id: string }>>(joining, '/api/rules')).body.map((r) => r.id)).toEqual(['seq']);
    expect(await load.finished(60_000)).toBe(TOTAL);

    const read = await readAll(TOTAL);
    console.log(summary(`${brokerUnderTest.name}: cluster, a member joining mid-stream`, TOTAL, read));
    expect(read.missing).toEqual([]);
    const split = [await received(first), await received(joining)] as const;
    console.log(`[cluster] ${brokerUnderTest.name}: received by the first member, by the one that joined: ${split.join(', ')}`);
    expect(split[0] + split[1]).toBeGreaterThanOrEqual(TOTAL);
    expect(split[1]).toBeGreaterThan(0);
  }, 240_000);

  it(`a member stopped with SIGTERM mid-stream (scale-down, ${brokerUnderTest.shareGroupLeave}): zero lost, shown stopped, not taken over`, async () => {
    const { busier: leaving, busierId: leavingId, other: staying, load } = await twoMembersMidStream();
    leaving.kill('SIGTERM');
    expect(await leaving.exited()).toBe(0);
    expect(await load.finished(60_000)).toBe(TOTAL);

    const read = await readAll(TOTAL);
    console.log(summary(`${brokerUnderTest.name}: cluster, a member scaled down mid-stream`, TOTAL, read));
    expect(read.missing).toEqual([]);
    // longer than memberTimeoutMs (3 s): a member that said it stopped is not taken over
    await sleep(4000);
    const view = await clusterView(staying);
    expect(view.members.find((m) => m.id === leavingId)).toEqual(expect.objectContaining({ state: 'stopped' }));
    expect(view.members.find((m) => m.id === leavingId)?.takenOverBy).toBeUndefined();
    expect(staying.log()).not.toContain('taking over its MQTT sessions');
    // nothing left queued for it: end-session left no session; keep-session left it (HiveMQ routes nothing there)
    expect(await sessionPresent(brokerUrl(), `sluice-plant-${leavingId}`)).toBe(brokerUnderTest.shareGroupLeave === 'keep-session');
  }, 240_000);

  it('a member SIGKILLed mid-stream and never started again: another member takes over its MQTT session, zero lost', async () => {
    const { busier: victim, busierId: victimId, other: survivor, load } = await twoMembersMidStream();
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited();
    expect(await load.finished(60_000)).toBe(TOTAL);

    // Mosquitto keeps routing the dead member's share into its session until the survivor takes it over
    const read = await readAll(TOTAL);
    console.log(summary(`${brokerUnderTest.name}: cluster, a member killed and never restarted`, TOTAL, read));
    expect(read.missing).toEqual([]);
    const view = await pollUntil('the dead member to be shown taken over', () => clusterView(survivor),
      (v) => v.members.some((m) => m.id === victimId && m.state === 'stopped'), 60_000);
    console.log(`[cluster] ${brokerUnderTest.name}: dead member taken over ${Date.now() - killedAt} ms after the SIGKILL (memberTimeoutMs 3000, settle 2000)`);
    expect(view.members.find((m) => m.id === victimId)).toMatchObject({ state: 'stopped', takenOverBy: victimId === 'm1' ? 'm2' : 'm1' });
    expect(survivor.log()).toContain('taking over its MQTT sessions');
  }, 240_000);
});

// Mosquitto only: the cluster topics are Kafka's, whichever MQTT broker feeds the members.
describe('cluster mode through a Kafka restart, then a rule changed while messages flow (issue #13)', () => {
  // 40 s at 250 msg/s: Kafka goes down ~7 s in and the change comes once it is back (10-25 s later on a busy
  // machine), so messages still arrive after it. At 6,000 (24 s) a CI run once saw the change land (Kafka slow to
  // come back, the change 5.6 s after the first try) after the last message had been evaluated.
  const STREAM = 10000;
  // memberTimeoutMs far shorter than the outage: each member's status goes stale, and none may take the other over
  const { member, stream, seqRule, readAll } = clusterOn(MOSQUITTO, 3000);

  it('config and status topics recover: a change after the restart reaches both members, each message is evaluated by one rule version, none lost, no member taken over', async () => {
    const members = [await member('m1', [seqRule()]), await member('m2', [])] as const;
    const load = await stream(STREAM, 250);
    await pollUntil('a sixth of the stream', async () => (await received(members[0])) + (await received(members[1])), (n) => n >= STREAM / 6, 30_000);
    await killKafka();
    await sleep(2000);
    await restartKafka();

    // the change, through the second member, once its config topic answers again
    const changedAt = Date.now();
    const put = await pollUntil('the API change to be taken after the restart', async () => (await api<unknown>(members[1], '/api/rules/seq', {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seqRule('{"seq": ${seq}, "v": 2}')),
    })).status, (status) => status === 200, 60_000, 500);
    expect(put).toBe(200);
    const valueOn = async (sluice: SluiceProcess): Promise<unknown> =>
      (await api<{ definition: { actions: Array<{ value: string }> } }>(sluice, '/api/rules/seq')).body.definition.actions[0]?.value;
    await pollUntil('both members on the new rule', async () => [await valueOn(members[0]), await valueOn(members[1])],
      (values) => values.every((v) => v === '{"seq": ${seq}, "v": 2}'), 15_000, 50);
    console.log(`[cluster] after the Kafka restart, a rule change reached both members ${Date.now() - changedAt} ms after the first PUT was tried`);

    expect(await load.finished(90_000)).toBe(STREAM);
    const read = await readAll(STREAM);
    console.log(summary('cluster through a Kafka restart and a rule change', STREAM, read));
    expect(read.missing).toEqual([]);
    // every record is one version's output, whole: a bare number (old) or {"seq": n, "v": 2} (new)
    const versions = read.values;
    const old = versions.filter((v) => /^\d+$/.test(v)).length;
    const renewed = versions.filter((v) => /^\{"seq": \d+, "v": 2\}$/.test(v)).length;
    console.log(`[cluster] records by rule version: old ${old}, new ${renewed}`);
    expect(old + renewed).toBe(versions.length);
    expect(renewed).toBeGreaterThan(0);
    // the status topic recovered too: both members running in either member's view
    const view = await pollUntil('both members running after the restart', () => clusterView(members[0]),
      (v) => v.members.filter((m) => m.state === 'running').length === 2, 30_000);
    expect(view.members.map((m) => m.id)).toEqual(['m1', 'm2']);
    // Kafka was away longer than memberTimeoutMs, yet neither member took the other over
    await sleep(4000);
    for (const sluice of members) expect(sluice.log()).not.toContain('taking over its MQTT sessions');
    expect((await clusterView(members[1])).members.map((m) => [m.id, m.state, m.takenOverBy])).toEqual([['m1', 'running', undefined], ['m2', 'running', undefined]]);
  }, 300_000);
});

describe('GET /api/cluster outside cluster mode', () => {
  const sluices: SluiceProcess[] = [];
  afterEach(() => stopAll(sluices));

  it('answers 404 with how to enable it', async () => {
    const alone = await startSluice({ sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl() }], rules: [] });
    sluices.push(alone);
    const answer = await api<{ error: string }>(alone, '/api/cluster');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatch(/cluster: section/);
  }, 60_000);
});
