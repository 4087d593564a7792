import { IntegrationError } from './errors';
import type { Message } from './message';
import type { ActionCounters } from './metrics';
import type { RuleOutput } from './rule-engine';
import type { SinkAction } from './sink';

/**
 * An action with fallback actions (EMQX's `fallback_actions`): when the primary refuses an output for
 * good (a non-retriable error: too large, unknown topic, not authorized), the output goes to every
 * fallback action, in parallel.
 *
 * The send then still rejects with the primary's error, so the runtime counts the action `failed` and
 * acknowledges the message exactly as it would without fallbacks; `fallback.success` / `fallback.failed`
 * on the primary's counters say where the output went. If a fallback gives up for now (retriable), the
 * send rejects with that error instead: the message is left to the broker and the whole path runs again
 * on redelivery. A fallback that fails for good is counted and nothing more is tried.
 * A retriable failure of the primary never reaches the fallbacks: the broker redelivers the message.
 */
export function withFallbacks(primary: SinkAction, fallbacks: readonly SinkAction[], counters: ActionCounters): SinkAction {
  const fallBack = async (error: unknown, output: RuleOutput, message: Message): Promise<never> => {
    if (IntegrationError.is(error) && error.retriable) throw error;
    const results = await Promise.allSettled(fallbacks.map((fallback) => callSend(fallback, output, message)));
    let retriable: unknown;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        counters.fallbackSuccess++;
      } else {
        counters.fallbackFailed++;
        if (retriable === undefined && IntegrationError.is(result.reason) && result.reason.retriable) retriable = result.reason;
      }
    }
    throw retriable ?? error;
  };
  const action: SinkAction = {
    id: primary.id,
    send: (output, message) => callSend(primary, output, message).catch((error: unknown) => fallBack(error, output, message)),
    close: async () => {
      // The primary first: flushing it may still hand outputs to the fallbacks.
      await primary.close?.();
      for (const fallback of fallbacks) await fallback.close?.();
    },
  };
  const withQueued: SinkAction =
    primary.queued !== undefined || fallbacks.some((f) => f.queued !== undefined)
      ? { ...action, queued: () => fallbacks.reduce((n, f) => n + (f.queued?.() ?? 0), primary.queued?.() ?? 0) }
      : action;
  // The primary's own sink metrics (retries, latency ...) and their kinds stay visible behind the wrapper.
  const primaryMetrics = primary.metrics?.bind(primary);
  const withMetrics: SinkAction = primaryMetrics === undefined ? withQueued : { ...withQueued, metrics: primaryMetrics };
  return primary.metricKinds === undefined ? withMetrics : { ...withMetrics, metricKinds: primary.metricKinds };
}

/** send() that turns a synchronous throw into a rejection, as the runtime does. */
function callSend(action: SinkAction, output: RuleOutput, message: Message): Promise<void> {
  try {
    return action.send(output, message);
  } catch (error) {
    return Promise.reject(error);
  }
}
