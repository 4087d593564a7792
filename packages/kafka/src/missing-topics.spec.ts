import { describe, expect, it } from '@jest/globals';
import { MissingTopics } from './missing-topics';

describe(MissingTopics.name, () => {
  it('remembers a topic for the given time, then forgets it', () => {
    let now = 1000;
    const missing = new MissingTopics(500, () => now);
    expect(missing.has('t')).toBe(false);
    missing.mark('t');
    expect([missing.has('t'), missing.has('u')]).toEqual([true, false]);
    now = 1499;
    expect(missing.has('t')).toBe(true);
    now = 1500;
    expect(missing.has('t')).toBe(false);
  });
});
