import { describe, expect, it } from '@jest/globals';
import { RateMeter } from './rate-meter';

describe(RateMeter.name, () => {
  it('counts the messages of the first interval (a new rule shows its first burst)', () => {
    const meter = new RateMeter(1000);
    meter.sample(5);
    expect(meter.current).toBe(5);
    expect(meter.max).toBe(5);
    meter.sample(5);
    expect(meter.current).toBe(0);
    expect(meter.max).toBe(5);
  });

  it('counts from zero again after reset, as the counters do', () => {
    const meter = new RateMeter(1000);
    meter.sample(10);
    meter.reset();
    meter.sample(3);
    expect(meter.current).toBe(3);
    expect(meter.max).toBe(3);
  });
});
