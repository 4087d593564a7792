import { describe, expect, it } from '@jest/globals';
import { Fifo } from './fifo';

describe(Fifo.name, () => {
  it('gives items back in the order they came, across compactions', () => {
    const queue = new Fifo<number>();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      queue.push(i);
      if (i % 3 === 0) out.push(queue.shift() as number);
    }
    while (queue.length > 0) out.push(queue.shift() as number);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
  });

  it('peeks without removing and clears', () => {
    const queue = new Fifo<string>();
    queue.push('a');
    queue.push('b');
    expect([queue.peek(), queue.length]).toEqual(['a', 2]);
    queue.clear();
    expect(queue.length).toBe(0);
  });
});
