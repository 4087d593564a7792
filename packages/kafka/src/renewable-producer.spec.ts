import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { protocolError } from '../test/fixtures/fake-metadata';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { RenewableProducer } from './renewable-producer';

const batch = { topicMessages: [{ topic: 't', messages: [{ value: 'v' }] }] };

describe(RenewableProducer.name, () => {
  function make(): { renewable: RenewableProducer; made: FakeProducer[]; clock: { now: number } } {
    const made: FakeProducer[] = [];
    const clock = { now: 0 };
    const renewable = new RenewableProducer(() => {
      const producer = new FakeProducer();
      producer.manual = true;
      made.push(producer);
      return producer;
    }, silentLogger, () => clock.now);
    return { renewable, made, clock };
  }

  it('sends on a fresh producer after renew, and disconnects the old one once its sends have settled', async () => {
    const { renewable, made } = make();
    await renewable.connect();
    const before = renewable.sendBatch(batch);
    await renewable.renew('topic deleted');
    expect(made).toHaveLength(2);
    expect(made[1]?.connected).toBe(true);
    expect(made[0]?.connected).toBe(true);
    const after = renewable.sendBatch(batch);
    expect([made[0]?.open.length, made[1]?.open.length]).toEqual([1, 1]);
    made[0]?.settle();
    await before;
    await turn();
    expect(made[0]?.connected).toBe(false);
    made[1]?.settle();
    await after;
    await renewable.disconnect();
    expect(made[1]?.connected).toBe(false);
  });

  it('renews at most once per 5 s, and not before it is connected', async () => {
    const { renewable, made, clock } = make();
    await renewable.renew('early');
    expect(made).toHaveLength(1);
    await renewable.connect();
    await renewable.renew('first');
    clock.now = 4_999;
    await renewable.renew('too soon');
    expect(made).toHaveLength(2);
    clock.now = 5_000;
    await renewable.renew('later');
    expect(made).toHaveLength(3);
    await renewable.disconnect();
  });

  it.each(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH'])('after %s, sends the retry on a new producer (new producer id), at most once per 5 s', async (type) => {
    const { renewable, made, clock } = make();
    await renewable.connect();
    const failed = renewable.sendBatch(batch);
    made[0]?.settle(protocolError(type));
    await expect(failed).rejects.toMatchObject({ type });
    const retry = renewable.sendBatch(batch);
    await turn();
    expect(made).toHaveLength(2);
    expect([made[0]?.open.length, made[1]?.open.length]).toEqual([0, 1]);
    expect(made[0]?.connected).toBe(false);
    // refused again on the new producer within 5 s: no renewal yet, the send goes on it (the pipeline backs off)
    made[1]?.settle(protocolError(type));
    await expect(retry).rejects.toMatchObject({ type });
    const again = renewable.sendBatch(batch);
    await turn();
    expect([made.length, made[1]?.open.length]).toEqual([2, 1]);
    made[1]?.settle(protocolError(type));
    await expect(again).rejects.toMatchObject({ type });
    clock.now = 5_000;
    const later = renewable.sendBatch(batch);
    await turn();
    expect([made.length, made[2]?.open.length]).toEqual([3, 1]);
    made[2]?.settle();
    await later;
    await renewable.disconnect();
  });

  it('does not renew for other failures, nor for a refusal from a producer already replaced', async () => {
    const { renewable, made, clock } = make();
    await renewable.connect();
    const sends = [renewable.sendBatch(batch), renewable.sendBatch(batch), renewable.sendBatch(batch)];
    made[0]?.settle(protocolError('NOT_LEADER_FOR_PARTITION'));
    await expect(sends[0]).rejects.toBeDefined();
    expect(made).toHaveLength(1);
    made[0]?.settle(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    await expect(sends[1]).rejects.toBeDefined();
    await turn();
    expect(made).toHaveLength(2);
    clock.now = 10_000;
    made[0]?.settle(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER')); // the old producer's: the new one is fine
    await expect(sends[2]).rejects.toBeDefined();
    await turn();
    expect(made).toHaveLength(2);
    await renewable.disconnect();
  });

  it('keeps the current producer when the new one cannot connect', async () => {
    const first = new FakeProducer();
    first.manual = true;
    const failing = new FakeProducer();
    failing.connectError = new Error('Connection error: ECONNREFUSED');
    const made = [first, failing];
    const renewable = new RenewableProducer(() => made.shift() as FakeProducer, silentLogger);
    await renewable.connect();
    await renewable.renew('topic deleted');
    const sent = renewable.sendBatch(batch);
    expect(first.open).toHaveLength(1);
    first.settle();
    await sent;
    await renewable.disconnect();
    expect(first.connected).toBe(false);
  });
});
