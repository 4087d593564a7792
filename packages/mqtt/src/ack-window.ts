/**
 * One message waiting for its acknowledgement. `send` is what puts the acknowledgement on the wire
 * (unknown until the client library produced it); `settled` turns true when the receiver is done.
 */
export interface AckSlot {
  readonly messageId: number;
  send: (() => void) | undefined;
  settled: boolean;
}

/**
 * Releases acknowledgements in arrival order while letting messages settle in any order.
 *
 * The MQTT spec requires a client to send PUBACK (QoS 1) and PUBREC (QoS 2) in the order the PUBLISH
 * packets arrived, but the actions storing a message finish in any order. Each message gets a slot at
 * the tail; a slot's acknowledgement goes out once it and every slot before it are settled and armed.
 * The window belongs to one connection: when that connection ends, `discard()` drops every slot, so an
 * acknowledgement can never be sent on a later connection where its packet id may mean another message.
 */
export class AckWindow {
  private slots: AckSlot[] = [];
  private head = 0;
  private discarded = false;

  /**
   * @param onRelease called after each acknowledgement was sent (frees a place in the window);
   *   `sent` is the number sent in the batch that just went out.
   */
  constructor(private readonly onRelease: (sent: number) => void = () => {}) {}

  /** Slots opened and not yet acknowledged. */
  get size(): number {
    return this.slots.length - this.head;
  }

  get isDiscarded(): boolean {
    return this.discarded;
  }

  /** A new message arrived: its slot goes to the tail. */
  open(messageId: number): AckSlot {
    const slot: AckSlot = { messageId, send: undefined, settled: false };
    if (!this.discarded) this.slots.push(slot);
    return slot;
  }

  /**
   * The newest unarmed slot carrying `messageId` gets its acknowledgement. Returns false when no slot
   * waits for one (the caller then decides what to do with the acknowledgement).
   */
  arm(messageId: number, send: () => void): boolean {
    if (this.discarded) return false;
    for (let i = this.slots.length - 1; i >= this.head; i--) {
      const slot = this.slots[i] as AckSlot;
      if (slot.messageId === messageId && slot.send === undefined) {
        slot.send = send;
        if (i === this.head) this.release();
        return true;
      }
    }
    return false;
  }

  /** The receiver is done with the slot's message; acknowledgements that became due go out now. */
  settle(slot: AckSlot): void {
    if (slot.settled) return;
    slot.settled = true;
    if (!this.discarded && this.slots[this.head] === slot) this.release();
  }

  /**
   * Several messages are done at once: their acknowledgements that became due go out in one release (one
   * onRelease call), so the client library writes them together.
   */
  settleAll(slots: readonly AckSlot[]): void {
    for (let i = 0; i < slots.length; i++) (slots[i] as AckSlot).settled = true;
    if (!this.discarded && this.head < this.slots.length && (this.slots[this.head] as AckSlot).settled) this.release();
  }

  /** The connection is gone (or must be dropped): nothing in the window will ever be acknowledged. */
  discard(): void {
    this.discarded = true;
    this.slots = [];
    this.head = 0;
  }

  private release(): void {
    let sent = 0;
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head] as AckSlot;
      if (!slot.settled || slot.send === undefined) break;
      this.head++;
      slot.send();
      sent++;
      // send() may end the connection synchronously (a failed write): stop at once.
      if (this.discarded) return;
    }
    // Compact now and then instead of shifting per message: O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    if (sent > 0) this.onRelease(sent);
  }
}
