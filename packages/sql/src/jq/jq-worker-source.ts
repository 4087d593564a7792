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
 * A request is { program, input, nullInput, oneShot, maxOutput }; a reply is { out } (jq's compact output, one
 * value per line), { error } (jq's own message: compile or run-time error), { tooBig } (the output's
 * length, over maxOutput), or { fatal } (the WebAssembly instance aborted, e.g. out of memory: the
 * caller must replace this worker).
 *
 * Compiled once: jq-wasm runs jq's command line, which compiles the program (and jq's builtins) each
 * time it starts. So the worker keeps one jq running per program and streams the inputs into it: jq
 * reads /dev/stdin, and the worker answers those reads itself (the WebAssembly imports fd_read, fd_write
 * and openat are wrapped when the module is instantiated). Each request's input is one line of JSON;
 * when jq asks for more input, it has written every output of the previous one (--unbuffered), so that
 * is the moment to reply and wait for the next request. A request for another program (or a
 * compile check, nullInput) ends the running jq with end-of-input, and a new one starts. A oneShot
 * request (a program that calls input or inputs, which would read the next messages) gets the end of
 * input after its value, so its jq ends with it. The input must
 * be one complete JSON value (the caller checks it): jq's parser would otherwise wait for the rest.
 */
export const JQ_WORKER_SOURCE = `
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { control, port, jqPath, wasmModule } = workerData;
const REQUEST = 0, DONE = 1, READY = 2;
const NEWLINE = String.fromCharCode(10);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let memory;            // the instance's WebAssembly.Memory (its buffer changes when it grows)
let stdinFd = -1;      // the descriptor jq opened /dev/stdin as
let input = null;      // bytes of the current request's input not read yet (null: none)
let inputAt = 0;
let active = null;     // the request being served
let queued = null;     // a request that ends the running jq, to serve next
let out = [], outSize = 0, err = [];
let seen = 0;

function takeRequest() {
  Atomics.wait(control, REQUEST, seen);
  seen = Atomics.load(control, REQUEST);
  const received = receiveMessageOnPort(port);
  return received === undefined ? { invalid: true } : received.message;
}

function reply(message) {
  port.postMessage(message);
  Atomics.store(control, DONE, seen);
  Atomics.notify(control, DONE);
}

function begin(request) {
  active = request;
  out = []; outSize = 0; err = [];
  input = encoder.encode(request.input + NEWLINE);
  inputAt = 0;
}

/** The reply to the active request from what jq wrote: its first error, else its outputs. */
function finish() {
  const request = active;
  active = null;
  // jq's errors and its compile error count; warnings, debug and stderr output do not fail the call
  const errors = decoder.decode(concat(err)).split(NEWLINE)
    .filter((line) => line.startsWith('jq: error') || (line.startsWith('jq: ') && line.includes(' compile error')));
  if (errors.length > 0) return reply({ error: errors.join(NEWLINE) });
  if (outSize > request.maxOutput) return reply({ tooBig: outSize });
  reply({ out: decoder.decode(concat(out)) });
}

function concat(chunks) {
  let size = 0;
  for (const c of chunks) size += c.length;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.length; }
  return all;
}

/** jq wants more input: the active request is done; wait for the next, or end this jq (null: end of input). */
function nextInput() {
  // a program that reads inputs itself (input, inputs) gets its one value and then the end of input
  if (active !== null && active.oneShot) return null;
  if (active !== null) finish();
  const request = takeRequest();
  if (request.invalid || request.nullInput || request.program !== running) { queued = request; return null; }
  begin(request);
  return input;
}

let running = null;    // the program of the jq now running

function cString(pointer) {
  const bytes = new Uint8Array(memory.buffer);
  let end = pointer;
  while (bytes[end] !== 0) end++;
  return decoder.decode(bytes.subarray(pointer, end));
}

function instantiateWasm(imports, onSuccess) {
  const env = imports.a;
  const key = {};
  for (const name of Object.keys(env)) key[env[name].name] = name;
  const open = env[key.___syscall_openat], read = env[key._fd_read], write = env[key._fd_write];
  if (!open || !read || !write) throw new Error('jq-wasm changed: openat, fd_read or fd_write not found among its imports');
  env[key.___syscall_openat] = (dirfd, path, flags, varargs) => {
    const fd = open(dirfd, path, flags, varargs);
    if (cString(path) === '/dev/stdin') stdinFd = fd;
    return fd;
  };
  env[key._fd_read] = (fd, iov, iovcnt, pnum) => {
    if (fd !== stdinFd) return read(fd, iov, iovcnt, pnum);
    if (input === null || inputAt >= input.length) { input = nextInput(); inputAt = 0; }
    const words = new Uint32Array(memory.buffer), bytes = new Uint8Array(memory.buffer);
    let total = 0;
    for (let i = 0; input !== null && i < iovcnt && inputAt < input.length; i++) {
      const pointer = words[(iov + i * 8) >> 2], length = words[(iov + i * 8 + 4) >> 2];
      const n = Math.min(length, input.length - inputAt);
      bytes.set(input.subarray(inputAt, inputAt + n), pointer);
      inputAt += n;
      total += n;
    }
    words[pnum >> 2] = total;
    return 0;
  };
  env[key._fd_write] = (fd, iov, iovcnt, pnum) => {
    if (fd !== 1 && fd !== 2) return write(fd, iov, iovcnt, pnum);
    const words = new Uint32Array(memory.buffer), bytes = new Uint8Array(memory.buffer);
    let total = 0;
    for (let i = 0; i < iovcnt; i++) {
      const pointer = words[(iov + i * 8) >> 2], length = words[(iov + i * 8 + 4) >> 2];
      total += length;
      if (fd === 2) { if (err.length < 64) err.push(bytes.slice(pointer, pointer + length)); continue; }
      outSize += length;
      // past the limit the output is counted, not kept: the reply will say it is too big
      if (active !== null && outSize <= active.maxOutput) out.push(bytes.slice(pointer, pointer + length));
    }
    words[pnum >> 2] = total;
    return 0;
  };
  WebAssembly.instantiate(wasmModule, imports).then((instance) => {
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memory = value;
    onSuccess(instance, wasmModule);
  });
  return {};
}

const STREAM = ['-c', '--unbuffered'], CHECK = ['-c', '-n'];

function serve(jq) {
  for (;;) {
    const request = queued !== null ? queued : takeRequest();
    queued = null;
    if (request.invalid) { reply({ fatal: 'no request was posted' }); continue; }
    begin(request);
    running = request.nullInput ? null : request.program;
    try {
      jq.raw('', request.program, request.nullInput ? CHECK : STREAM);
    } catch (error) {
      return reply({ fatal: String((error && error.message) || error) });
    }
    running = null;
    stdinFd = -1;
    input = null;
    // jq ended while serving a request: a compile error, input it could not parse, halt, or a check
    if (active !== null) finish();
  }
}

require(jqPath).loadJq({ instantiateWasm }).then(
  (jq) => {
    // The first run of a fresh instance is slow (WebAssembly tiers up, jq builds its builtins' tables):
    // pay it here, under the start timeout, rather than inside the first message's budget.
    jq.raw('null', '.', CHECK);
    Atomics.store(control, READY, 1);
    Atomics.notify(control, READY);
    serve(jq);
  },
  (error) => {
    port.postMessage({ fatal: String((error && error.message) || error) });
    Atomics.store(control, READY, 2);
    Atomics.notify(control, READY);
  },
);
`;
