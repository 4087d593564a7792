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
 * A request is { program, input, check, oneShot, maxOutput }; a reply is { out } (jq's compact output, one
 * value per line), { error } (jq's own message: compile or run-time error, or halt_error's text with a
 * non-zero status), { tooBig } (the output's
 * length, over maxOutput), or { fatal } (the WebAssembly instance aborted, e.g. out of memory: the
 * caller must replace this worker).
 *
 * Compiled once: jq-wasm runs jq's command line, which compiles the program (and jq's builtins) each
 * time it starts. So the worker keeps one jq running per program and streams the inputs into it: jq
 * reads /dev/stdin, and the worker answers those reads itself (the WebAssembly imports fd_read, fd_write
 * and openat are wrapped when the module is instantiated). Each request's input is one line of JSON;
 * when jq asks for more input, it has written every output of the previous one (--unbuffered), so that
 * is the moment to reply and wait for the next request. A request for another program (or a
 * compile check) ends the running jq with end-of-input, and a new one starts. A check runs jq on no input at
 * all: jq compiles the program and ends without running it, so the program's text cannot make it work. A oneShot
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
let out = [], outSize = 0;
let seen = 0;

// jq's stderr for the active request, as the last STDERR_TAIL bytes (a ring): debug and stderr may write
// without bound, and only the end is needed (a halt_error text, a compile error).
const STDERR_TAIL = 64 * 1024;
const tail = new Uint8Array(STDERR_TAIL);
let tailSize = 0;      // bytes written to stderr by the active request (its last STDERR_TAIL kept)
// jq reports an uncaught error with one fprintf to (unbuffered) stderr starting 'jq: error': the first
// write of such a call marks the request failed, and the message is kept apart (up to MAX_ERROR bytes,
// to its newline), wherever debug or stderr output without a newline put it.
const ERROR_MARK = encoder.encode('jq: error');
const MAX_ERROR = 4096;
let failed = false, capturing = false, errorText = '';

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
  out = []; outSize = 0;
  tailSize = 0; failed = false; capturing = false; errorText = '';
  input = encoder.encode(request.input + NEWLINE);
  inputAt = 0;
}

/**
 * The reply to the active request from what jq wrote: its error, else its outputs. exitCode is jq's exit
 * status when jq ended while serving the request (undefined while it keeps running): 2 and 3 are usage
 * and compile errors (stderr says which), any other non-zero status is halt_error's.
 */
function finish(exitCode) {
  const request = active;
  active = null;
  if (exitCode === 2 || exitCode === 3) return reply({ error: stderrText() });
  if (failed) return reply({ error: errorText });
  if (exitCode !== undefined && exitCode !== 0) {
    const text = stderrText().split(NEWLINE).join(' ').trim();
    return reply({ error: 'jq: error: halt_error with exit status ' + exitCode + (text === '' ? '' : ': ' + text) });
  }
  if (outSize > request.maxOutput) return reply({ tooBig: outSize });
  reply({ out: decoder.decode(concat(out)) });
}

/** What the active request wrote to stderr (its last STDERR_TAIL bytes). */
function stderrText() {
  if (tailSize <= STDERR_TAIL) return decoder.decode(tail.subarray(0, tailSize));
  const at = tailSize % STDERR_TAIL;
  return decoder.decode(concat([tail.subarray(at), tail.subarray(0, at)]));
}

function keepStderr(chunk) {
  if (chunk.length >= STDERR_TAIL) chunk = chunk.subarray(chunk.length - STDERR_TAIL);
  const at = tailSize % STDERR_TAIL, first = Math.min(chunk.length, STDERR_TAIL - at);
  tail.set(chunk.subarray(0, first), at);
  tail.set(chunk.subarray(first), 0);
  tailSize += chunk.length;
  if (!capturing) return;
  const end = chunk.indexOf(10);
  const part = end === -1 ? chunk : chunk.subarray(0, end + 1);
  if (errorText.length < MAX_ERROR) errorText += decoder.decode(part.subarray(0, MAX_ERROR - errorText.length));
  if (end !== -1) capturing = false;
}

/** Whether the bytes of one fd_write call (its iovecs in order) start with ERROR_MARK. */
function startsWithMark(words, bytes, iov, iovcnt) {
  let matched = 0;
  for (let i = 0; i < iovcnt && matched < ERROR_MARK.length; i++) {
    const pointer = words[(iov + i * 8) >> 2], length = words[(iov + i * 8 + 4) >> 2];
    for (let j = 0; j < length && matched < ERROR_MARK.length; j++, matched++) {
      if (bytes[pointer + j] !== ERROR_MARK[matched]) return false;
    }
  }
  return matched === ERROR_MARK.length;
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
  if (active !== null && (active.oneShot || active.check)) return null;
  if (active !== null) finish();
  const request = takeRequest();
  if (request.invalid || request.check || request.program !== running) { queued = request; return null; }
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
    if (fd === 2 && active !== null && !capturing && startsWithMark(words, bytes, iov, iovcnt)) {
      failed = true;
      capturing = errorText === '';   // keep the first error's text
    }
    for (let i = 0; i < iovcnt; i++) {
      const pointer = words[(iov + i * 8) >> 2], length = words[(iov + i * 8 + 4) >> 2];
      total += length;
      if (fd === 2) { if (active !== null) keepStderr(bytes.subarray(pointer, pointer + length)); continue; }
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

// A check (compile only) reads the input like a stream, but gets none: jq compiles the program and ends
// without running it. WARM_UP runs once on null input.
const STREAM = ['-c', '--unbuffered'], CHECK = ['-c'], WARM_UP = ['-c', '-n'];

function serve(jq) {
  for (;;) {
    const request = queued !== null ? queued : takeRequest();
    queued = null;
    if (request.invalid) { reply({ fatal: 'no request was posted' }); continue; }
    begin(request);
    running = request.check ? null : request.program;
    if (request.check) input = new Uint8Array(0);
    let exitCode;
    try {
      exitCode = jq.raw('', request.program, request.check ? CHECK : STREAM).exitCode;
    } catch (error) {
      return reply({ fatal: String((error && error.message) || error) });
    }
    running = null;
    stdinFd = -1;
    input = null;
    // jq ended while serving a request: a compile error, halt or halt_error, a one-shot program, or a check
    if (active !== null) finish(exitCode);
  }
}

require(jqPath).loadJq({ instantiateWasm }).then(
  (jq) => {
    // The first run of a fresh instance is slow (WebAssembly tiers up, jq builds its builtins' tables):
    // pay it here, under the start timeout, rather than inside the first message's budget.
    jq.raw('null', '.', WARM_UP);
    Atomics.store(control, READY, 1);
    Atomics.notify(control, READY);
    try {
      serve(jq);
    } catch (error) {
      // a fault in this code, not jq's: answer the request waiting, so the caller replaces this worker now
      reply({ fatal: 'the jq worker failed: ' + String((error && error.message) || error) });
    }
  },
  (error) => {
    port.postMessage({ fatal: String((error && error.message) || error) });
    Atomics.store(control, READY, 2);
    Atomics.notify(control, READY);
  },
);
`;
