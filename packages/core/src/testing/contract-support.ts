import type { Message } from '../message';

/** A problem a contract check found, phrased for the author of the plugin. */
export class ContractViolation extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ContractViolation';
  }
}

/** How long a check waits for one promise of the plugin before it calls it hung (10 s unless set). */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10_000;

/** Distinguishes "still pending after the timeout" from any value a plugin could settle with. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `promise`, or TIMED_OUT when it has not settled within `ms`. Rejections pass through. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Awaits `promise` and throws ContractViolation(`what` ...) when it hangs for longer than `ms`. */
export async function settleWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const result = await within(promise, ms);
  if (result === TIMED_OUT) throw new ContractViolation(`${what} did not settle within ${ms} ms (it must never hang)`);
  return result;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A message as a source would hand it over; `payload` says which one it is. */
export function contractMessage(payload: string): Message {
  return {
    sourceId: 'contract',
    topic: 'contract/check',
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    dup: false,
    clientId: 'contract-client',
    username: undefined,
    peerHost: undefined,
    receivedAt: Date.now(),
    properties: undefined,
  };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
