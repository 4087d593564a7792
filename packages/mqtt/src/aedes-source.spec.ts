// RecentPublishers (aedes-source.ts): the publisher of recent deliveries, for message.acked's from_clientid.
import { describe, expect, it } from '@jest/globals';
import { RecentPublishers } from './aedes-source';

describe('RecentPublishers', () => {
  it('past the bound forgets only the oldest delivery, so the acks of recent ones keep their publisher', () => {
    const publishers = new RecentPublishers(3);
    for (const counter of [1, 2, 3]) publishers.remember(counter, `p${counter}`);
    publishers.remember(4, 'p4');
    expect([1, 2, 3, 4].map((counter) => publishers.get(counter))).toEqual([undefined, 'p2', 'p3', 'p4']);
    expect(publishers.size).toBe(3);
  });

  it('at 10,000 (the bound of the embedded broker) keeps the latest 10,000 after 25,000 deliveries', () => {
    const publishers = new RecentPublishers(10_000);
    for (let counter = 0; counter < 25_000; counter++) publishers.remember(counter, `p${counter % 7}`);
    expect(publishers.size).toBe(10_000);
    expect(publishers.get(14_999)).toBeUndefined();
    expect(publishers.get(15_000)).toBe(`p${15_000 % 7}`);
    expect(publishers.get(24_999)).toBe(`p${24_999 % 7}`);
  });

  it('remembering a delivery again (one publish to several subscribers) evicts nothing', () => {
    const publishers = new RecentPublishers(2);
    publishers.remember(1, 'a');
    publishers.remember(2, 'b');
    publishers.remember(2, 'b');
    expect([publishers.get(1), publishers.get(2)]).toEqual(['a', 'b']);
  });
});
