/**
 * Lets one produce request through at a time. kafkajs's idempotent producer is documented as
 * experimental and loses track of sequence numbers under concurrent sends (kafkajs#598), so with
 * `idempotent` on, every action of the connector queues its requests here.
 */
export class SendGate {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
