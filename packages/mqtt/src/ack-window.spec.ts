import { describe, expect, it } from '@jest/globals';
import { AckWindow } from './ack-window';

/** Opens `n` slots and arms each like mqtt.js would (the ack is produced right after the PUBLISH). */
function fill(window: AckWindow, n: number, sent: number[]) {
  return Array.from({ length: n }, (_, i) => {
    const slot = window.open(i + 1);
    window.arm(i + 1, () => sent.push(i + 1));
    return slot;
  });
}

describe(AckWindow.name, () => {
  describe('.settleAll', () => {
    it('releases every acknowledgement that became due in one release, in arrival order', () => {
      const sent: number[] = [];
      const releases: number[] = [];
      const window = new AckWindow((n) => releases.push(n));
      const slots = fill(window, 5, sent);
      window.settleAll([slots[0]!, slots[1]!, slots[3]!]);
      expect(sent).toEqual([1, 2]);
      window.settleAll([slots[4]!, slots[2]!]);
      expect(sent).toEqual([1, 2, 3, 4, 5]);
      expect(releases).toEqual([2, 3]);
    });

    it('sends nothing while the oldest slot has no acknowledgement yet', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const first = window.open(1);
      const second = window.open(2);
      window.arm(2, () => sent.push(2));
      window.settleAll([first, second]);
      expect(sent).toEqual([]);
      window.arm(1, () => sent.push(1));
      expect(sent).toEqual([1, 2]);
    });
  });

  describe('.settle', () => {
    it('sends nothing while the oldest message is unsettled, then everything due in arrival order', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const slots = fill(window, 4, sent);
      window.settle(slots[1]!);
      window.settle(slots[3]!);
      expect(sent).toEqual([]);
      window.settle(slots[0]!);
      expect(sent).toEqual([1, 2]);
      window.settle(slots[2]!);
      expect(sent).toEqual([1, 2, 3, 4]);
      expect(window.size).toBe(0);
    });

    it('acknowledges each message exactly once whatever the settle order (200 shuffled)', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const slots = fill(window, 200, sent);
      const order = slots.map((_, i) => i).sort(() => Math.random() - 0.5);
      for (const i of order) {
        window.settle(slots[i]!);
        window.settle(slots[i]!); // a second settle changes nothing
      }
      expect(sent).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('tells the owner how many acknowledgements each release sent', () => {
      const released: number[] = [];
      const window = new AckWindow((n) => released.push(n));
      const slots = fill(window, 3, []);
      window.settle(slots[2]!);
      window.settle(slots[1]!);
      window.settle(slots[0]!);
      expect(released).toEqual([3]);
    });
  });

  describe('.arm', () => {
    it('waits for the acknowledgement when the message settled before the client produced it', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const slot = window.open(7);
      window.settle(slot);
      expect(sent).toEqual([]);
      expect(window.arm(7, () => sent.push(7))).toBe(true);
      expect(sent).toEqual([7]);
    });

    it('matches the newest unarmed slot when a packet id comes back', () => {
      const sent: string[] = [];
      const window = new AckWindow();
      const first = window.open(5);
      window.arm(5, () => sent.push('first'));
      const second = window.open(5);
      window.arm(5, () => sent.push('second'));
      window.settle(second);
      window.settle(first);
      expect(sent).toEqual(['first', 'second']);
    });

    it('returns false when no slot waits for that id', () => {
      const window = new AckWindow();
      expect(window.arm(9, () => {})).toBe(false);
    });
  });

  describe('.discard', () => {
    it('never sends an acknowledgement of a discarded window, even when settles come later', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const slots = fill(window, 3, sent);
      window.settle(slots[0]!);
      window.discard();
      window.settle(slots[1]!);
      window.settle(slots[2]!);
      expect(sent).toEqual([1]);
      expect(window.open(4)).toBeDefined();
      expect(window.size).toBe(0);
      expect(window.arm(4, () => sent.push(4))).toBe(false);
    });

    it('stops a release in progress when sending an acknowledgement ends the connection', () => {
      const sent: number[] = [];
      const window = new AckWindow();
      const a = window.open(1);
      window.arm(1, () => {
        sent.push(1);
        window.discard();
      });
      const b = window.open(2);
      window.arm(2, () => sent.push(2));
      window.settle(b);
      window.settle(a);
      expect(sent).toEqual([1]);
    });
  });

  it('keeps working past its compaction point', () => {
    const sent: number[] = [];
    const window = new AckWindow();
    for (let i = 1; i <= 5000; i++) {
      const slot = window.open(i % 65535);
      window.arm(i % 65535, () => sent.push(i));
      window.settle(slot);
    }
    expect(sent).toHaveLength(5000);
    expect(window.size).toBe(0);
  });
});
