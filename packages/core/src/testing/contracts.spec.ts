import { describe, expect, it } from '@jest/globals';
import { ConfigError, ActionWriteError } from '../errors';
import type { Message } from '../message';
import type { RuleOutput } from '../rule-engine';
import { type ActionContext, DROPPED, type Connector, type Action } from '../connector';
import type { MessageReceiver, Source } from '../source';
import { checkConnectorContract, checkSourceContract, ContractViolation, type ConnectorContractOptions } from './contracts';
import { InMemoryConnector } from './in-memory-connector';
import { InMemorySource } from './in-memory-source';

const templates: ActionContext['templates'] = { compileTemplate: (text: string) => ({ render: () => text }) } as unknown as ActionContext['templates'];
const fast = { settleTimeoutMs: 300, quietMs: 30 };

/** InMemoryConnector's failure and drop switches, as a plugin author would wire their own. */
function memoryOptions(connector: InMemoryConnector): ConnectorContractOptions {
  const fail = (error: Error | 'drop') => ({ arrange: () => void (connector.behaviour = () => error), restore: () => void (connector.behaviour = () => 'store') });
  return {
    stored: () => connector.records.length,
    failures: { retriable: fail(new ActionWriteError(connector.id, 'away', { retriable: true })), final: fail(new ActionWriteError(connector.id, 'refused')) },
    drop: { ...fail('drop'), reason: 'queue_full' },
    settleTimeoutMs: fast.settleTimeoutMs,
  };
}

/** A connector whose every send resolves at once and stores nothing: what the suite must refuse. */
class AlwaysResolves implements Connector {
  readonly id = 'always';
  createAction(_settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    return { id: context.id, send: () => Promise.resolve() };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** A connector that stores in `records`; `flaw` picks the one rule it breaks. */
class FlawedConnector implements Connector {
  readonly id = 'flawed';
  readonly records: RuleOutput[] = [];
  down = false;
  private readonly pending = new Set<() => void>();
  constructor(private readonly flaw: 'none' | 'wrong-retriable' | 'plain-error' | 'hang-on-close' | 'final-on-close' | 'duplicates' | 'lax-settings' | 'accepts-after-stop') {}

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    if (this.flaw !== 'lax-settings' && settings['table'] !== undefined && typeof settings['table'] !== 'string') {
      throw new ConfigError(`flawed action "${context.id}"`, [{ path: 'table', message: 'must be a string' }]);
    }
    return {
      id: context.id,
      send: (output) => {
        if (this.down) {
          if (this.flaw === 'plain-error') return Promise.reject(new Error('away'));
          return Promise.reject(new ActionWriteError(this.id, 'away', { retriable: this.flaw !== 'wrong-retriable' }));
        }
        if (this.stopped) return this.flaw === 'accepts-after-stop' ? Promise.resolve() : Promise.reject(new ActionWriteError(this.id, 'stopped', { retriable: true }));
        // every write takes a tick, so a close finds sends pending
        return new Promise<void>((resolve, reject) => {
          const finish = (): void => {
            this.pending.delete(finish);
            this.records.push(output);
            if (this.flaw === 'duplicates') this.records.push(output);
            resolve();
          };
          this.pending.add(finish);
          this.cut.set(finish, reject);
          setTimeout(() => {
            if (this.pending.has(finish)) finish();
          }, 5);
        });
      },
    };
  }

  private stopped = false;
  private readonly cut = new Map<() => void, (error: Error) => void>();
  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
    for (const finish of this.pending) {
      this.pending.delete(finish);
      if (this.flaw === 'hang-on-close') continue; // the send's promise is never settled
      this.cut.get(finish)?.(new ActionWriteError(this.id, 'stopped', { retriable: this.flaw !== 'final-on-close' }));
    }
  }
}

function flawedOptions(connector: FlawedConnector): ConnectorContractOptions {
  return {
    stored: () => connector.records.length,
    invalidActionSettings: [{ table: 42 }],
    failures: { retriable: { arrange: () => void (connector.down = true), restore: () => void (connector.down = false) } },
    settleTimeoutMs: fast.settleTimeoutMs,
  };
}

describe('checkConnectorContract', () => {
  it("passes core's InMemoryConnector with failures, drops and read-back", async () => {
    const connector = new InMemoryConnector('mem');
    await checkConnectorContract(() => connector, {}, templates, memoryOptions(connector));
    expect(connector.records.length).toBeGreaterThan(20);
  });

  it('still runs with the three arguments of older calls', async () => {
    await checkConnectorContract(() => new InMemoryConnector(), {}, templates);
  });

  it('passes a connector that keeps every rule', async () => {
    const connector = new FlawedConnector('none');
    await checkConnectorContract(() => connector, {}, templates, flawedOptions(connector));
  });

  it('refuses a connector that always resolves once it claims failures, drops or a read-back', async () => {
    const claims: Array<[ConnectorContractOptions, RegExp]> = [
      [{ failures: { retriable: {} } }, /retriable failure: send\(\) resolved/],
      [{ failures: { final: {} } }, /final failure: send\(\) resolved/],
      [{ drop: {} }, /drop: send\(\) resolved with undefined/],
      [{ stored: () => 0 }, /success: send\(\) resolved but the record is not stored/],
    ];
    for (const [options, expected] of claims) {
      await expect(checkConnectorContract(() => new AlwaysResolves(), {}, templates, options)).rejects.toThrow(expected);
    }
    await expect(checkConnectorContract(() => new AlwaysResolves(), {}, templates, { failures: {} })).rejects.toThrow(/send after stop\(\): send\(\) resolved/);
  });

  it.each([
    ['wrong-retriable', /retriable failure: send\(\) rejected with retriable: false/],
    ['plain-error', /must reject with an IntegrationError/],
    ['hang-on-close', /close while pending \(send 1\): send\(\) did not settle within 300 ms/],
    ['final-on-close', /a send cut short by close\/stop must reject retriable/],
    ['duplicates', /20 sends resolved but 40 records were stored/],
    ['lax-settings', /accepted invalidActionSettings\[0\] \{"table":42\}/],
  ] as const)('refuses a connector with the flaw %s', async (flaw, expected) => {
    const connector = new FlawedConnector(flaw);
    const outcome = checkConnectorContract(() => connector, {}, templates, flawedOptions(connector));
    await expect(outcome).rejects.toThrow(expected);
    await expect(outcome).rejects.toBeInstanceOf(ContractViolation);
  });

  it('refuses a send after stop() that resolves without storing', async () => {
    const connector = new FlawedConnector('accepts-after-stop');
    await expect(checkConnectorContract(() => connector, {}, templates, flawedOptions(connector))).rejects.toThrow(/send after stop\(\): send\(\) resolved but nothing was stored/);
  });

  it('uses a scenario connector of its own and reports a drop that is not DROPPED', async () => {
    const connector = new InMemoryConnector('mem');
    const other = new InMemoryConnector('other');
    other.behaviour = () => new ActionWriteError('other', 'refused');
    await checkConnectorContract(() => connector, {}, templates, { stored: () => connector.records.length, failures: { final: { makeConnector: () => other } } });
    const wrongDrop = { ...memoryOptions(connector), drop: { arrange: () => void (connector.behaviour = () => 'store') } };
    await expect(checkConnectorContract(() => connector, {}, templates, wrongDrop)).rejects.toThrow(/drop: send\(\) resolved with undefined/);
    expect(DROPPED.queue_full.dropped).toBe('queue_full');
  });
});

/** One subscriber's session on a broker: what is not acknowledged is delivered again on the next start. */
class FakeBroker {
  readonly messages: Array<{ payload: string; acked: boolean; inflight: boolean }> = [];
  session: BrokerSource | undefined;

  publish(payload: string): void {
    this.messages.push({ payload, acked: false, inflight: false });
    this.session?.flush();
  }
}

type SourceFlaw = 'none' | 'ack-on-receipt' | 'ignores-pause' | 'delivers-twice' | 'never-acks' | 'loses-while-paused';

/** A source over FakeBroker; `flaw` picks the one rule it breaks. */
class BrokerSource implements Source {
  readonly id = 'broker';
  private receiver: MessageReceiver | undefined;
  private paused = false;
  constructor(private readonly broker: FakeBroker, private readonly flaw: SourceFlaw) {}

  async start(receiver: MessageReceiver): Promise<void> {
    this.receiver = receiver;
    for (const m of this.broker.messages) m.inflight = false;
    this.broker.session = this;
    this.flush();
  }

  flush(): void {
    for (const m of this.broker.messages) {
      if (m.acked || m.inflight || this.receiver === undefined) continue;
      if (this.paused && this.flaw !== 'ignores-pause') {
        if (this.flaw === 'loses-while-paused') m.acked = true;
        continue;
      }
      m.inflight = true;
      if (this.flaw === 'ack-on-receipt') m.acked = true;
      const message = { sourceId: this.id, topic: 't', payload: Buffer.from(m.payload), qos: 1, retain: false, dup: false, clientId: undefined, username: undefined, peerHost: undefined, receivedAt: Date.now(), properties: undefined } satisfies Message;
      const settle = (error?: Error): void => {
        if (error === undefined && this.flaw !== 'never-acks') m.acked = true;
      };
      this.receiver.receive(message, settle);
      if (this.flaw === 'delivers-twice') this.receiver.receive(message, settle);
    }
  }

  pause(): void {
    this.paused = true;
  }

  async stop(): Promise<void> {
    this.receiver = undefined;
    if (this.broker.session === this) this.broker.session = undefined;
  }
}

describe('checkSourceContract', () => {
  it("passes core's InMemorySource (no broker behind it: no redelivery to check)", async () => {
    await checkSourceContract({
      makeSource: () => new InMemorySource('mem'),
      filters: ['t/#'],
      publish: (payloads, source) => {
        const memory = source as InMemorySource;
        if (memory.paused) return; // nothing keeps what is published to a paused in-memory source
        for (const p of payloads) memory.push('t/x', p);
      },
      ...fast,
    });
  });

  const brokerHarness = (flaw: SourceFlaw) => {
    const broker = new FakeBroker();
    return { makeSource: () => new BrokerSource(broker, flaw), filters: ['t'], publish: (payloads: readonly string[]) => payloads.forEach((p) => broker.publish(p)), redelivers: true, ...fast };
  };

  it('passes a source with a broker session that keeps every rule', async () => {
    await checkSourceContract(brokerHarness('none'));
  });

  it.each([
    ['ack-on-receipt', /redelivery after a stop that left messages unsettled: 3 of 3 messages did not arrive/],
    ['ignores-pause', /published after pause\(\), was handed over/],
    ['delivers-twice', /was handed over 2 times/],
    ['never-acks', /was settled before the restart but delivered again/],
    ['loses-while-paused', /published while paused \(they must stay with the broker, not be lost\): 2 of 2/],
  ] as const)('refuses a source with the flaw %s', async (flaw, expected) => {
    const outcome = checkSourceContract(brokerHarness(flaw));
    await expect(outcome).rejects.toThrow(expected);
    await expect(outcome).rejects.toBeInstanceOf(ContractViolation);
  });

  it('does not check redelivery of a source that says it has no session', async () => {
    await checkSourceContract({ ...brokerHarness('ack-on-receipt'), redelivers: false });
  });
});
