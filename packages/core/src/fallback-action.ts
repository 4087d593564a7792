import { IntegrationError } from './errors';
import type { Message } from './message';
import type { ActionCounters } from './metrics';
import type { RuleOutput } from './rule-engine';
import { isDropped, type SendResult, type Action } from './connector';

/**
 * An action with fallback actions (EMQX's `fallback_actions`): when the primary refuses an output for
 * good (a non-retriable error: too large, unknown topic, not authorized) or drops it on purpose (buffer
 * full, too old), the output goes to every fallback action, in parallel.
 *
 * The send then still ends as the primary's did (rejects with its error, or resolves as dropped), so the
 * runtime counts the action `failed` or `dropped` and acknowledges the message exactly as it would without
 * fallbacks; `fallback.success` / `fallback.failed` on the primary's counters say where the output went.
 * If a fallback gives up for now (retriable), the send rejects with that error instead: the message is left
 * to the broker and the whole path runs again on redelivery. A fallback that fails for good, or drops the
 * output too, is counted `fallback.failed` and nothing more is tried. A retriable failure of the primary
 * never reaches the fallbacks: the broker redelivers the message.
 */
export function withFallbacks(primary: Action, fallbacks: readonly Action[], counters: ActionCounters): Action {
  /** Sends to every fallback; returns the first retriable failure among them, if any. */
  const toFallbacks = async (output: RuleOutput, message: Message): Promise<unknown> => {
    const results = await Promise.allSettled(fallbacks.map((fallback) => callSend(fallback, output, message)));
    let retriable: unknown;
    for (const result of results) {
      if (result.status === 'fulfilled' && !isDropped(result.value)) {
        counters.fallbackSuccess++;
      } else {
        counters.fallbackFailed++;
        if (result.status === 'rejected' && retriable === undefined && IntegrationError.is(result.reason) && result.reason.retriable) retriable = result.reason;
      }
    }
    return retriable;
  };
  const onFailure = async (error: unknown, output: RuleOutput, message: Message): Promise<never> => {
    if (IntegrationError.is(error) && error.retriable) throw error;
    throw (await toFallbacks(output, message)) ?? error;
  };
  const onDropped = async (result: SendResult, output: RuleOutput, message: Message): Promise<SendResult> => {
    const retriable = await toFallbacks(output, message);
    if (retriable !== undefined) throw retriable;
    return result;
  };
  const action: Action = {
    id: primary.id,
    send: (output, message) => callSend(primary, output, message).then(
      (result) => (isDropped(result) ? onDropped(result, output, message) : result),
      (error: unknown) => onFailure(error, output, message),
    ),
    close: async () => {
      // The primary first: flushing it may still hand outputs to the fallbacks.
      await primary.close?.();
      for (const fallback of fallbacks) await fallback.close?.();
    },
  };
  const withQueued: Action =
    primary.queued !== undefined || fallbacks.some((f) => f.queued !== undefined)
      ? { ...action, queued: () => fallbacks.reduce((n, f) => n + (f.queued?.() ?? 0), primary.queued?.() ?? 0) }
      : action;
  // The primary's own connector metrics (retries, latency ...) and their kinds stay visible behind the wrapper.
  const primaryMetrics = primary.metrics?.bind(primary);
  const withMetrics: Action = primaryMetrics === undefined ? withQueued : { ...withQueued, metrics: primaryMetrics };
  const withKinds: Action = primary.metricKinds === undefined ? withMetrics : { ...withMetrics, metricKinds: primary.metricKinds };
  // a linger of the primary or a fallback must end when a source stalls, behind the wrapper too
  const batching = [primary, ...fallbacks].filter((a) => a.sendNow !== undefined);
  if (batching.length === 0) return withKinds;
  return { ...withKinds, sendNow: () => batching.forEach((a) => a.sendNow?.()) };
}

/** send() that turns a synchronous throw into a rejection, as the runtime does. */
function callSend(action: Action, output: RuleOutput, message: Message): Promise<SendResult> {
  try {
    return action.send(output, message);
  } catch (error) {
    return Promise.reject(error);
  }
}
