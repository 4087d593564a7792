import type { Message } from '../message';
import type { ActionContext, Sink } from '../sink';
import { silentLogger } from '../logger';

/** A problem a contract check found, phrased for the author of the sink. */
export class ContractViolation extends Error {}

const sampleMessage: Message = {
  sourceId: 'contract',
  topic: 'contract/check',
  payload: Buffer.from('{"n":1}'),
  qos: 1,
  retain: false,
  dup: false,
  clientId: 'contract-client',
  username: undefined,
  peerHost: undefined,
  receivedAt: Date.now(),
  properties: undefined,
};

/**
 * Checks the parts of the Sink contract every sink must honour: a stable non-empty id, createAction()
 * before start(), send() resolving once stored, stop() after start(). Runs against the real sink the
 * factory builds (with whatever it connects to). Throws ContractViolation naming the broken rule.
 */
export async function checkSinkContract(
  makeSink: () => Sink | Promise<Sink>,
  actionSettings: Readonly<Record<string, unknown>>,
  templates: ActionContext['templates'],
): Promise<void> {
  const sink = await makeSink();
  if (typeof sink.id !== 'string' || sink.id.length === 0) throw new ContractViolation('sink.id must be a non-empty string');
  const action = sink.createAction(actionSettings, {
    id: 'contract:action',
    ruleId: 'contract',
    templates,
    logger: silentLogger,
    dropped: () => {},
  });
  if (action.id !== 'contract:action') throw new ContractViolation('action.id must be the id given in the ActionContext');
  const controller = new AbortController();
  await sink.start(controller.signal);
  try {
    const sent = action.send({ n: 1, clientid: 'contract-client' }, sampleMessage);
    if (!(sent instanceof Promise)) throw new ContractViolation('action.send() must return a Promise');
    await sent;
    await action.close?.();
  } finally {
    controller.abort();
    await sink.stop();
  }
}
