/*
 * The body of the jq worker thread, run with `new Worker(JQ_WORKER_SOURCE, { eval: true })`. It is a
 * string rather than a file so that the same code runs from the package's dist and under ts-jest (which
 * cannot start a .ts file as a worker) without a build step copying files.
 *
 * Protocol (slots of the Int32Array `control` over a SharedArrayBuffer):
 *   REQUEST  the caller bumps it after posting a request on `port`; the worker waits on it
 *   DONE     the worker sets it to the request's number after posting the reply; the caller waits on it
 *   READY    0 while loading, 1 once jq is loaded, 2 when loading failed (the reason is posted)
 * Both sides read messages with receiveMessageOnPort, so neither needs its event loop to turn: the
 * caller stays synchronous, and the worker serves requests in a blocking loop.
 *
 * A request is { program, input, nullInput, maxOutput }; a reply is { out } (jq's compact output, one
 * value per line), { error } (jq's own message: compile or run-time error), { tooBig } (the output's
 * length, over maxOutput), or { fatal } (the WebAssembly instance aborted, e.g. out of memory: the
 * caller must replace this worker).
 */
export const JQ_WORKER_SOURCE = `
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { control, port, jqPath, wasmModule } = workerData;
const REQUEST = 0, DONE = 1, READY = 2;
const COMPACT = ['-c'], COMPACT_NULL_INPUT = ['-c', '-n'];

function serve(jq, request) {
  let result;
  try {
    result = jq.raw(request.input, request.program, request.nullInput ? COMPACT_NULL_INPUT : COMPACT);
  } catch (error) {
    return { fatal: String((error && error.message) || error) };
  }
  if (result.exitCode !== 0 && result.stderr !== '') return { error: result.stderr };
  if (result.stdout.length > request.maxOutput) return { tooBig: result.stdout.length };
  return { out: result.stdout };
}

require(jqPath).loadJq({ wasmModule }).then(
  (jq) => {
    Atomics.store(control, READY, 1);
    Atomics.notify(control, READY);
    let seen = 0;
    for (;;) {
      Atomics.wait(control, REQUEST, seen);
      seen = Atomics.load(control, REQUEST);
      const received = receiveMessageOnPort(port);
      port.postMessage(received === undefined ? { fatal: 'no request was posted' } : serve(jq, received.message));
      Atomics.store(control, DONE, seen);
      Atomics.notify(control, DONE);
    }
  },
  (error) => {
    port.postMessage({ fatal: String((error && error.message) || error) });
    Atomics.store(control, READY, 2);
    Atomics.notify(control, READY);
  },
);
`;
