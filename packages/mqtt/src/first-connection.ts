import type { MqttClient } from 'mqtt';

/**
 * Resolves on the client's first CONNACK; rejects with `refuse(reason, cause)` when the first attempt
 * errors, closes before CONNACK, or `signal` aborts. Listeners are removed either way, so mqtt.js's own
 * reconnects afterwards are the caller's to watch. `lastError` names why a close came, when known.
 */
export function firstConnection(
  client: MqttClient,
  signal: AbortSignal,
  refuse: (reason: string, cause?: unknown) => Error,
  lastError: () => string | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      reject(refuse(reason, cause));
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onClose = (): void => fail(lastError() ?? 'connection closed before CONNACK (timeout or refused)');
    const onAbort = (): void => fail('start was aborted', signal.reason);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
