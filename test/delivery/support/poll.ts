// Waiting for a condition instead of sleeping a guessed time: the scenarios poll what they can observe
// (metrics, broker state) with generous upper bounds, and say what they last saw when the bound is hit.
import { sleep } from './load';

/**
 * Calls `read` every `intervalMs` until `done(value)` holds, and returns that value. After `timeoutMs`
 * throws naming `what` and the last value read, so a failure says how far things got.
 */
export async function pollUntil<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 60000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await sleep(intervalMs);
  }
}
