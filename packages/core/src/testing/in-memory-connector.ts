import type { Message } from '../message';
import type { RuleOutput } from '../rule-engine';
import { NotConnectedError } from '../errors';
import { type ActionContext, DROPPED, type Connector, type Action } from '../connector';

/** One record an InMemoryConnector stored. */
export interface StoredRecord {
  readonly actionId: string;
  readonly output: RuleOutput;
  readonly message: Message;
  /** The action's `template` setting rendered with the output, when the action has one. */
  readonly rendered: string | undefined;
}

/**
 * A Connector for tests and examples. Stores what it is sent in `records`. `behaviour` decides per send: resolve
 * at once (default), fail, hold until release() — to test draining and in-flight metrics — or drop it on
 * purpose, as a full buffer would (`'drop'`: resolves with DROPPED.queue_full, stores nothing). Like a real
 * connector whose connection is closed, it refuses sends after stop() (retriable) until it is started again.
 */
export class InMemoryConnector implements Connector {
  readonly records: StoredRecord[] = [];
  started = false;
  /** Set by stop(), cleared by start(): a send in between rejects (a connector never accepts work it cannot store). */
  private stopped = false;
  behaviour: (output: RuleOutput, message: Message) => 'store' | 'hold' | 'drop' | Error = () => 'store';
  private readonly held: Array<() => void> = [];

  constructor(readonly id = 'memory') {}

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    const template = typeof settings['template'] === 'string' ? context.templates.compileTemplate(settings['template']) : undefined;
    const store = (output: RuleOutput, message: Message): void => {
      this.records.push({ actionId: context.id, output, message, rendered: template?.render(output) });
    };
    return {
      id: context.id,
      send: (output, message) => {
        if (this.stopped) return Promise.reject(new NotConnectedError(this.id, `in-memory connector "${this.id}" is stopped`));
        const decision = this.behaviour(output, message);
        if (decision instanceof Error) return Promise.reject(decision);
        if (decision === 'drop') return Promise.resolve(DROPPED.queue_full);
        if (decision === 'store') {
          store(output, message);
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          this.held.push(() => {
            store(output, message);
            resolve();
          });
        });
      },
      queued: () => this.held.length,
    };
  }

  /** Stores every held record and resolves their sends. */
  release(): void {
    for (const finish of this.held.splice(0)) finish();
  }

  get heldCount(): number {
    return this.held.length;
  }

  async start(): Promise<void> {
    this.started = true;
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.started = false;
    this.stopped = true;
  }
}
