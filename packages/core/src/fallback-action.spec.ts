import { describe, expect, it } from '@jest/globals';
import { ActionWriteError } from './errors';
import { withFallbacks } from './fallback-action';
import type { Message } from './message';
import { ActionCounters } from './metrics';
import type { ActionContext } from './connector';
import { InMemoryConnector } from './testing';

const context = (id: string): ActionContext => ({
  id,
  ruleId: 'r',
  templates: { compileTemplate: (text) => ({ source: text, isConstant: true, render: () => text }) },
  logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => context(id).logger } as unknown as ActionContext['logger'],
  dropped: () => undefined,
});

const message = { topic: 't', payload: Buffer.from('x') } as unknown as Message;
const forGood = new ActionWriteError('main', 'MESSAGE_TOO_LARGE', { retriable: false });
const forNow = new ActionWriteError('main', 'broker away', { retriable: true });

function setup(fallbackCount = 1) {
  const main = new InMemoryConnector('main');
  const fallbacks = Array.from({ length: fallbackCount }, (_, i) => new InMemoryConnector(`dlq${i}`));
  const counters = new ActionCounters(1000);
  const action = withFallbacks(
    main.createAction({}, context('r:main')),
    fallbacks.map((connector, i) => connector.createAction({}, context(`r:main/fallback-${i + 1}`))),
    counters,
  );
  return { main, fallbacks, counters, action };
}

describe(withFallbacks.name, () => {
  it('stores through the primary and leaves the fallbacks alone while it succeeds', async () => {
    const { main, fallbacks, counters, action } = setup();
    await action.send({ n: 1 }, message);
    expect(main.records).toHaveLength(1);
    expect(fallbacks[0]?.records).toHaveLength(0);
    expect(counters).toMatchObject({ fallbackSuccess: 0, fallbackFailed: 0 });
  });

  it('sends an output the primary refuses for good to every fallback, then rejects with the primary error (counted failed, acknowledged)', async () => {
    const { main, fallbacks, counters, action } = setup(2);
    main.behaviour = () => forGood;
    await expect(action.send({ n: 1 }, message)).rejects.toBe(forGood);
    expect(fallbacks.map((f) => f.records.map((r) => r.output))).toEqual([[{ n: 1 }], [{ n: 1 }]]);
    expect(counters).toMatchObject({ fallbackSuccess: 2, fallbackFailed: 0 });
  });

  it('sends an output the primary dropped on purpose to every fallback, and still resolves as dropped', async () => {
    const { main, fallbacks, counters, action } = setup(2);
    main.behaviour = () => 'drop';
    await expect(action.send({ n: 1 }, message)).resolves.toEqual({ dropped: 'queue_full' });
    expect(fallbacks.map((f) => f.records.map((r) => r.output))).toEqual([[{ n: 1 }], [{ n: 1 }]]);
    expect(counters).toMatchObject({ fallbackSuccess: 2, fallbackFailed: 0 });
  });

  it('counts a fallback that drops the output too as fallback.failed; a fallback that gives up for now leaves the message to the broker', async () => {
    const { main, fallbacks, counters, action } = setup(2);
    main.behaviour = () => 'drop';
    (fallbacks[0] as InMemoryConnector).behaviour = () => 'drop';
    await expect(action.send({ n: 1 }, message)).resolves.toEqual({ dropped: 'queue_full' });
    expect(counters).toMatchObject({ fallbackSuccess: 1, fallbackFailed: 1 });
    (fallbacks[1] as InMemoryConnector).behaviour = () => forNow;
    await expect(action.send({ n: 2 }, message)).rejects.toBe(forNow);
    expect(counters).toMatchObject({ fallbackSuccess: 1, fallbackFailed: 3 });
  });

  it('does not use the fallbacks when the primary gives up for now: the broker redelivers', async () => {
    const { main, fallbacks, counters, action } = setup();
    main.behaviour = () => forNow;
    await expect(action.send({ n: 1 }, message)).rejects.toBe(forNow);
    expect(fallbacks[0]?.records).toHaveLength(0);
    expect(counters).toMatchObject({ fallbackSuccess: 0, fallbackFailed: 0 });
  });

  it('leaves the message to the broker when a fallback gives up for now', async () => {
    const { main, fallbacks, counters, action } = setup(2);
    main.behaviour = () => forGood;
    const away = new ActionWriteError('dlq1', 'dlq away', { retriable: true });
    (fallbacks[1] as InMemoryConnector).behaviour = () => away;
    await expect(action.send({ n: 1 }, message)).rejects.toBe(away);
    expect(counters).toMatchObject({ fallbackSuccess: 1, fallbackFailed: 1 });
  });

  it('counts a fallback that fails for good and still rejects with the primary error (acknowledged)', async () => {
    const { main, fallbacks, counters, action } = setup();
    main.behaviour = () => forGood;
    (fallbacks[0] as InMemoryConnector).behaviour = () => new Error('bug in the fallback connector');
    await expect(action.send({ n: 1 }, message)).rejects.toBe(forGood);
    expect(counters).toMatchObject({ fallbackSuccess: 0, fallbackFailed: 1 });
  });

  it('treats a synchronous throw of the primary as a failure for good', async () => {
    const { main, fallbacks, counters, action } = setup();
    const bug = new TypeError('bug');
    main.behaviour = () => {
      throw bug;
    };
    await expect(action.send({ n: 1 }, message)).rejects.toBe(bug);
    expect(fallbacks[0]?.records).toHaveLength(1);
    expect(counters.fallbackSuccess).toBe(1);
  });

  it('passes sendNow on to the primary and the fallbacks that batch, and has none when none does', () => {
    const { action } = setup();
    expect(action.sendNow).toBeUndefined();
    const told: string[] = [];
    const batching = (id: string) => ({ ...new InMemoryConnector(id).createAction({}, context(id)), sendNow: () => void told.push(id) });
    const plain = new InMemoryConnector('plain').createAction({}, context('plain'));
    const wrapped = withFallbacks(batching('main'), [plain, batching('dlq')], new ActionCounters(1000));
    wrapped.sendNow?.();
    expect(told).toEqual(['main', 'dlq']);
  });

  it('queues and closes the primary and the fallbacks', async () => {
    const { main, fallbacks, action } = setup();
    main.behaviour = () => 'hold';
    (fallbacks[0] as InMemoryConnector).behaviour = () => 'hold';
    const held = action.send({ n: 1 }, message);
    expect(action.queued?.()).toBe(1);
    main.release();
    await held;
    await expect(action.close?.()).resolves.toBeUndefined();
  });
});
