import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { connectAsync } from 'mqtt';
import { randomName, startMosquitto, type TestMosquitto } from '../../../../scripts/testkit';
import { Closer, Collector, mqttSource, publisher, range } from '../source-harness';

// Issue #13: on Mosquitto 2.0 a shared-subscription member that stops keeps its persistent session and its
// share of the stream (the bench scale stall; docs/operations.md, "Scaling out"). These pin down what Sluice
// relies on: its share waits in the session and comes back to the same client id, and ending the session
// (what an operator does for a member gone for good) gives the whole stream to the members still there.
// The same departure on HiveMQ: hivemq-shared-subscription.int.spec.ts.
jest.setTimeout(30_000);
const closer = new Closer();
let broker: TestMosquitto;
let topic: string;
let group: string;

beforeAll(async () => {
  // The bench's settings: nothing dropped for an away client.
  broker = await startMosquitto({ settings: { max_queued_messages: 0, max_inflight_messages: 1000 } });
});

afterAll(async () => {
  await broker?.dispose();
});

beforeEach(() => {
  topic = randomName('it-share');
  group = randomName('g').replace(/-/g, '');
});

afterEach(async () => {
  await closer.closeAll();
});

// keep-session: what every stop did before shareGroupLeave (its default, end-session: shared-subscription-leave.int.spec.ts).
const member = (clientId: string) => mqttSource({ id: 'it', url: broker.url, clientId, reconnectPeriod: 200, shareGroup: group, session: { sessionExpiry: 60, shareGroupLeave: 'keep-session' } });

const numbers = (...collectors: Collector[]): number[] => collectors.flatMap((c) => c.payloads()).map(Number).sort((x, y) => x - y);

async function waitForTotal(total: number, ...collectors: Collector[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (collectors.reduce((n, c) => n + c.deliveries.length, 0) < total) {
    if (Date.now() > deadline) throw new Error(`${collectors.map((c) => c.deliveries.length).join(' + ')} of ${total} messages arrived`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function settling(): Collector {
  const c = new Collector();
  c.onReceive = (d) => d.settle();
  return c;
}

describe('a member leaving a shared subscription on Mosquitto 2.0', () => {
  it('keeps its share in its session while away; the same client id gets it when it comes back', async () => {
    const idA = randomName('it-a');
    const first = member(idA);
    await first.start(settling().receiver, [topic], new AbortController().signal);
    const b = settling();
    await closer.source(member(randomName('it-b'))).start(b.receiver, [topic], new AbortController().signal);
    await first.stop();
    const pub = closer.client(await publisher(broker.url));
    await Promise.all(range(100).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));

    const back = settling();
    await closer.source(member(idA)).start(back.receiver, [topic], new AbortController().signal);
    await waitForTotal(100, b, back);
    expect(numbers(b, back)).toEqual(range(100));
    // What was published while it was away and reached it only now: its share, kept by the broker.
    expect(back.deliveries.length).toBeGreaterThan(0);
    expect(b.deliveries.length).toBeLessThan(100);
  });

  it('gives the members still there every message once the departed member\'s session is ended', async () => {
    const idA = randomName('it-a');
    const first = member(idA);
    await first.start(settling().receiver, [topic], new AbortController().signal);
    const b = settling();
    await closer.source(member(randomName('it-b'))).start(b.receiver, [topic], new AbortController().signal);
    await first.stop();
    // What docs/operations.md tells an operator to do for a member gone for good: a clean connection with its id.
    const ender = await connectAsync(broker.url, { clientId: idA, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    await ender.endAsync();

    const pub = closer.client(await publisher(broker.url));
    await Promise.all(range(100).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));
    await waitForTotal(100, b);
    expect(numbers(b)).toEqual(range(100));
  });
});
