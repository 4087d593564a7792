import { expect, it } from '@jest/globals';
import type { MqttSourceOptions } from '../src/mqtt-source-config';
import { randomName } from '../../../scripts/testkit';
import { type Closer, Collector, mqttSource, publisher, range, recordingLogger, resumeSession } from './source-harness';

/**
 * Issue #13, point 4, on one real broker: a Sluice MQTT source in a `$share` group with a persistent session
 * that stops (its stop() is the SIGTERM path) unsubscribes, drains and ends its session, so nothing is
 * stranded in it; with a message still unacknowledged after leaveDrainTimeout it keeps the session.
 */
export function shareGroupLeaveSpecs(broker: () => { readonly url: string }, closer: Closer): void {
  let group = '';
  let topic = '';
  const fresh = (): void => {
    topic = randomName('it-leave');
    group = randomName('g').replace(/-/g, '');
  };
  const member = (clientId: string, options: Partial<MqttSourceOptions> = {}, lines: string[] = []) =>
    mqttSource({ id: 'it', url: broker().url, clientId, reconnectPeriod: 200, shareGroup: group, session: { sessionExpiry: 60 }, ...options }, recordingLogger(lines));
  const settling = (): Collector => {
    const c = new Collector();
    c.onReceive = (d) => d.settle();
    return c;
  };
  const publishNumbered = async (n: number, from = 1): Promise<void> => {
    const pub = closer.client(await publisher(broker().url));
    await Promise.all(range(n, from).map((i) => pub.publishAsync(topic, String(i), { qos: 1 })));
  };
  const sorted = (c: Collector): number[] => c.payloads().map(Number).sort((x, y) => x - y);

  it('a member that stops leaves the group: the one still there receives all N, the departed client id has no session', async () => {
    fresh();
    const idA = randomName('it-a');
    const lines: string[] = [];
    const first = member(idA, {}, lines);
    await first.start(settling().receiver, [topic], new AbortController().signal);
    const b = settling();
    await closer.source(member(randomName('it-b'))).start(b.receiver, [topic], new AbortController().signal);
    first.pause();
    await first.stop();
    expect(lines.some((l) => l.startsWith('INFO left the share group and ended the session'))).toBe(true);

    await publishNumbered(200);
    await b.waitFor(200);
    expect(sorted(b)).toEqual(range(200));
    const resumed = await resumeSession(broker().url, idA);
    expect(resumed).toEqual({ sessionPresent: false, payloads: [] });
  });

  it('messages delivered before the stop and settled during the drain are acknowledged, then the session ends', async () => {
    fresh();
    const idA = randomName('it-a');
    const lines: string[] = [];
    const held = new Collector(); // settles nothing by itself
    const first = member(idA, { session: { sessionExpiry: 60, leaveDrainTimeout: 5_000 } }, lines);
    await first.start(held.receiver, [topic], new AbortController().signal);
    // HiveMQ hands a shared-subscription member one unacknowledged message at a time, Mosquitto up to maxInflight.
    await publishNumbered(5);
    await held.waitFor(1);
    first.pause();
    const stopping = first.stop();
    setTimeout(() => {
      for (const d of held.deliveries) d.settle();
      held.onReceive = (d) => d.settle();
    }, 300);
    await stopping;
    expect(lines.some((l) => l.startsWith('INFO left the share group and ended the session'))).toBe(true);
    expect(await resumeSession(broker().url, idA)).toEqual({ sessionPresent: false, payloads: [] });
  });

  it('a message still unacknowledged after leaveDrainTimeout keeps the session, with a warning; the client id gets it back', async () => {
    fresh();
    const idA = randomName('it-a');
    const lines: string[] = [];
    const held = new Collector();
    const first = member(idA, { session: { sessionExpiry: 60, leaveDrainTimeout: 300 } }, lines);
    await first.start(held.receiver, [topic], new AbortController().signal);
    await publishNumbered(3);
    await held.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // Mosquitto hands over all 3, HiveMQ 1 (see above)
    first.pause();
    await first.stop();
    const heldNumbers = sorted(held);
    const warning = lines.find((l) => l.startsWith('WARN leaving the share group with unacknowledged messages'));
    expect(warning).toContain(`"unacknowledged":${heldNumbers.length}`);

    // The session is there. Mosquitto delivers the held messages again to the same client id; HiveMQ put them
    // back in the group's queue when the member disconnected, and gives them to the next member of the group.
    // Either way none is lost: the client id and a new member get all 3 between them, each once.
    const resumed = await resumeSession(broker().url, idA);
    expect(resumed.sessionPresent).toBe(true);
    const next = settling();
    await closer.source(member(randomName('it-b'))).start(next.receiver, [topic], new AbortController().signal);
    await next.waitFor(3 - resumed.payloads.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...resumed.payloads.map(Number), ...sorted(next)].sort((x, y) => x - y)).toEqual(range(3));
  });
}
