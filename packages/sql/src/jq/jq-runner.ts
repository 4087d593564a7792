import { RuleEvaluationError } from '@sluice/core';
import { readFileSync } from 'node:fs';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { JQ_WORKER_SOURCE } from './jq-worker-source';
import { WASM_PAGE, capWasmMemory } from './wasm-memory';

const REQUEST = 0;
const DONE = 1;
const READY = 2;
/** Written to DONE when the worker thread stopped ('error' or 'exit'): no reply will come. */
const STOPPED = -1;

/**
 * How long a worker may take to load jq (and compile its program) when a caller waits for it: the first
 * run of a runner, and compile checks. A cold start takes 100–500 ms, more on a loaded machine. A worker
 * replacing a stopped one starts in the background instead, and calls fail fast until it is ready.
 */
const START_TIMEOUT_MS = 10_000;
/** At most one warning per this many ms about stopped jq workers (a crash would repeat per message). */
const WARN_EVERY_MS = 60_000;
/**
 * Most programs with a worker of their own, per runner: each worker is a thread with its own V8 heap and
 * WebAssembly memory (16 MiB at least), so a few rules with jq do not cost hundreds of megabytes.
 */
const MAX_DEDICATED = 4;
/** A dedicated program unused this long gives its worker up to a newly compiled one (5 minutes). */
const IDLE_MS = 5 * 60_000;
/** Longest piece of jq's own error text kept in a message. */
const MAX_MESSAGE = 300;

/** What one jq run is given besides the program and input. */
export interface JqRunOptions {
  /** Wall-clock budget in ms; past it the worker is terminated and the call fails. */
  readonly timeoutMs: number;
  /** Longest output accepted (characters of jq's compact output, all values together). */
  readonly maxOutput: number;
  /**
   * Only compile the program (jq is given no input, so nothing of it runs), ignoring `input`; waits for
   * a worker that is still starting instead of failing fast.
   */
  readonly check?: boolean;
  /**
   * End jq after this input instead of keeping it for the next: for programs that read further inputs
   * themselves (`input`, `inputs`), which would otherwise take the next messages.
   */
  readonly oneShot?: boolean;
}

/** The outcome of one run: jq's compact output (one JSON text per value), or why there is none. */
export type JqOutcome =
  | { readonly kind: 'ok'; readonly lines: string[] }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'restarting' }
  | { readonly kind: 'too-big'; readonly size: number }
  | { readonly kind: 'aborted'; readonly message: string };

interface Reply {
  readonly out?: string;
  readonly error?: string;
  readonly tooBig?: number;
  readonly fatal?: string;
}

interface LiveWorker {
  readonly thread: Worker;
  readonly control: Int32Array;
  readonly port: MessagePort;
  requests: number;
  /** The request that loads the worker's program (0: none); the worker is ready once it is DONE. */
  primed: number;
  ready: boolean;
  /** Why the thread stopped by itself, once it did ('error' or 'exit' seen). */
  stopped?: string;
  /** Terminated by the runner: its 'exit' is expected. */
  retired: boolean;
}

/**
 * Runs jq programs synchronously on worker threads, so that a program that never ends (`repeat(1)`)
 * or allocates without bound (`[range(1e9)]`) can be stopped: a WebAssembly call cannot be interrupted
 * on its own thread, but the caller can stop waiting (Atomics.wait with the budget as timeout),
 * terminate the worker, and start another for the next call. Memory is capped in the WebAssembly
 * module itself (capWasmMemory), so an allocation past the cap aborts the run inside the worker.
 *
 * A worker keeps jq running on the last program it was given and streams inputs into it, so jq compiles
 * a program once, not per call (see jq-worker-source.ts). Programs written in rules (dedicate) get a
 * worker of their own, up to MAX_DEDICATED, and one unused for IDLE_MS gives its worker up to a new one
 * (after rules were replaced): interleaved rules would otherwise make one worker restart jq at every
 * switch. Other programs (taken from messages, or past the cap) share one worker.
 *
 * The caller blocks while jq runs: rules are evaluated synchronously, and the budget bounds the block.
 * Workers are unref'd, so they never keep a process alive.
 */
export class JqRunner {
  private shared: LiveWorker | undefined;
  /** Programs with a worker of their own (undefined until their first run, or after it was stopped). */
  private readonly dedicated = new Map<string, LiveWorker | undefined>();
  /** When each dedicated program was last dedicated or run (performance.now()), to free idle ones. */
  private readonly lastUse = new Map<string, number>();
  /** jq's compiled WebAssembly module, shared by every worker this runner starts (compiled once). */
  private module: object | undefined;

  constructor(
    /** Largest WebAssembly memory of one jq instance, in bytes (whole 64 KiB pages). */
    readonly maxMemory: number,
    /** Milliseconds on a monotonic clock, for IDLE_MS. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Gives `program` a worker of its own (started at its first run), while fewer than MAX_DEDICATED
   * programs have one or one of them is idle; returns whether it has one.
   */
  dedicate(program: string): boolean {
    if (!this.dedicated.has(program)) {
      if (this.dedicated.size >= MAX_DEDICATED && !this.freeIdle()) return false;
      this.dedicated.set(program, undefined);
    }
    this.lastUse.set(program, this.now());
    return true;
  }

  /**
   * Takes the worker from the dedicated program used least recently, if that was more than IDLE_MS ago
   * (its rule was most likely removed or replaced); the program then shares the common worker. A program
   * still in use keeps its worker, so rules taking turns never make workers start again and again.
   */
  private freeIdle(): boolean {
    let oldest: string | undefined;
    for (const program of this.dedicated.keys()) {
      if (oldest === undefined || (this.lastUse.get(program) ?? 0) < (this.lastUse.get(oldest) ?? 0)) oldest = program;
    }
    if (oldest === undefined || this.now() - (this.lastUse.get(oldest) ?? 0) < IDLE_MS) return false;
    const worker = this.dedicated.get(oldest);
    if (worker !== undefined) this.replace(worker, false);
    this.dedicated.delete(oldest);
    this.lastUse.delete(oldest);
    return true;
  }

  /**
   * Runs `program` on `input`, which must be one complete JSON text (jq would wait for the rest of a
   * partial one). Never throws for what jq does; see JqOutcome. Throws a RuleEvaluationError when jq
   * cannot be started at all.
   */
  run(program: string, input: string, options: JqRunOptions): JqOutcome {
    const check = options.check === true;
    const own = !check && this.dedicated.has(program);
    if (own) this.lastUse.set(program, this.now());
    let worker = own ? this.dedicated.get(program) : this.shared;
    if (worker === undefined) {
      // A cold start: the caller waits for it, outside the call's budget (the first run must not pay it).
      worker = this.start(own ? program : undefined);
      if (own) this.dedicated.set(program, worker);
      else this.shared = worker;
      if (!this.awaitReady(worker, START_TIMEOUT_MS)) this.failStart(worker, `no answer within ${START_TIMEOUT_MS} ms`);
    } else if (!worker.ready && !this.awaitReady(worker, check ? START_TIMEOUT_MS : 0)) {
      if (check) this.failStart(worker, `no answer within ${START_TIMEOUT_MS} ms`);
      return { kind: 'restarting' };
    }
    if (worker.stopped !== undefined) return this.lost(worker);
    worker.requests += 1;
    const request = worker.requests;
    worker.port.postMessage({ program, input, check, oneShot: options.oneShot === true, maxOutput: options.maxOutput });
    Atomics.store(worker.control, REQUEST, request);
    Atomics.notify(worker.control, REQUEST);
    if (!waitFor(worker.control, DONE, request, options.timeoutMs, STOPPED)) {
      if (worker.stopped !== undefined || Atomics.load(worker.control, DONE) === STOPPED) return this.lost(worker);
      this.replace(worker, true);
      return { kind: 'timeout' };
    }
    const reply = receiveMessageOnPort(worker.port)?.message as Reply | undefined;
    if (reply === undefined || reply.fatal !== undefined) {
      this.replace(worker, true);
      return { kind: 'aborted', message: reply?.fatal ?? 'the jq worker gave no reply' };
    }
    if (reply.error !== undefined) return { kind: 'error', message: cleanMessage(reply.error) };
    if (reply.tooBig !== undefined) return { kind: 'too-big', size: reply.tooBig };
    const out = reply.out ?? '';
    return { kind: 'ok', lines: out === '' ? [] : out.slice(0, out.endsWith('\n') ? -1 : undefined).split('\n') };
  }

  /** Terminates every worker; the next run starts new ones. */
  stop(): void {
    if (this.shared !== undefined) this.replace(this.shared, false);
    for (const worker of this.dedicated.values()) if (worker !== undefined) this.replace(worker, false);
  }

  /** The outcome for a worker whose thread stopped by itself (crashed): replaced, with the reason. */
  private lost(worker: LiveWorker): JqOutcome {
    const reason = worker.stopped ?? 'the jq worker stopped';
    this.replace(worker, true);
    return { kind: 'aborted', message: reason };
  }

  /**
   * Terminates `worker` (stuck past its budget, aborted, crashed, or no longer needed). With `restart`,
   * a replacement starts at once in the background: the next calls fail fast ('restarting') until it
   * is ready, instead of blocking the caller while jq loads. Without, its program starts one at its next run.
   */
  private replace(worker: LiveWorker, restart: boolean): void {
    let program: string | undefined;
    let owner: 'shared' | 'dedicated' | undefined;
    if (this.shared === worker) {
      this.shared = undefined;
      owner = 'shared';
    }
    for (const [dedicatedTo, own] of this.dedicated) {
      if (own === worker) {
        this.dedicated.set(dedicatedTo, undefined);
        program = dedicatedTo;
        owner = 'dedicated';
      }
    }
    worker.retired = true;
    worker.port.close();
    void worker.thread.terminate();
    if (!restart || owner === undefined) return;
    const next = this.start(program);
    if (owner === 'shared') this.shared = next;
    else this.dedicated.set(program as string, next);
  }

  /**
   * Waits up to timeoutMs for `worker` to have loaded jq (and its program, if it has one); returns
   * whether it has. A worker that failed to load is replaced and the failure thrown.
   */
  private awaitReady(worker: LiveWorker, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    if (!waitFor(worker.control, READY, 1, timeoutMs, 2)) {
      if (Atomics.load(worker.control, READY) !== 2) return false;
      const reason = receiveMessageOnPort(worker.port)?.message as Reply | undefined;
      this.failStart(worker, reason?.fatal ?? 'it gave no reason');
    }
    if (worker.primed !== 0) {
      if (!waitFor(worker.control, DONE, worker.primed, Math.max(deadline - performance.now(), 0), STOPPED)) {
        if (Atomics.load(worker.control, DONE) !== STOPPED) return false;
        this.failStart(worker, worker.stopped ?? 'the jq worker stopped');
      }
      // The reply to the priming request: a program that does not compile says so again when it runs.
      const reply = receiveMessageOnPort(worker.port)?.message as Reply | undefined;
      if (reply?.fatal !== undefined) this.failStart(worker, reply.fatal);
    }
    worker.ready = true;
    return true;
  }

  /** Gives up on a worker that could not load jq: the next run tries a cold start again. */
  private failStart(worker: LiveWorker, reason: string): never {
    this.replace(worker, false);
    throw new RuleEvaluationError(`function jq(): jq could not be started (${reason})`);
  }

  /**
   * Starts a worker without waiting for it. With `program`, the worker's first request starts jq on it,
   * so jq has compiled it (and WebAssembly has warmed up) before the first message's budget starts.
   */
  private start(program?: string): LiveWorker {
    this.module ??= compileJqModule(this.maxMemory);
    const control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(JQ_WORKER_SOURCE, {
      eval: true,
      workerData: { control, port: port2, jqPath: require.resolve('jq-wasm'), wasmModule: this.module },
      transferList: [port2],
      // jq's memory is the WebAssembly memory capped above; the worker's own JavaScript needs little.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      stdout: true,
      stderr: true,
    });
    thread.unref();
    const worker: LiveWorker = { thread, control, port: port1, requests: 0, primed: 0, ready: false, retired: false };
    // A thread that stops by itself (an error in the worker, its heap limit) will never reply: say so in
    // DONE, so a caller that has not started waiting yet gets the reason at once. While a caller waits, its
    // thread cannot run these handlers: it sees the stop when its wait ends (at the budget).
    const stopped = (reason: string): void => {
      if (worker.retired || worker.stopped !== undefined) return;
      worker.stopped = `the jq worker stopped: ${reason}`;
      Atomics.store(control, DONE, STOPPED);
      Atomics.notify(control, DONE);
      this.warn(worker.stopped);
    };
    thread.on('error', (error: Error) => stopped(error.message));
    thread.on('exit', (code: number) => stopped(`exit code ${code}`));
    if (program !== undefined) {
      port1.postMessage({ program, input: '', check: false, oneShot: false, maxOutput: 0 });
      worker.requests = 1;
      worker.primed = 1;
      Atomics.store(control, REQUEST, 1);
    }
    return worker;
  }

  private lastWarning = -Infinity;

  /** A process warning, at most one per WARN_EVERY_MS (a worker that keeps crashing would flood the log). */
  private warn(message: string): void {
    const now = performance.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    process.emitWarning(`function jq(): ${message} (jq is started again; further such warnings are held back for a minute)`, {
      code: 'SLUICE_JQ_WORKER_STOPPED',
    });
  }
}

/** jq's WebAssembly module with its memory capped at `maxMemory` bytes (compiled once per runner). */
function compileJqModule(maxMemory: number): object {
  const binary = readFileSync(require.resolve('jq-wasm/jq.wasm'));
  return new Wasm.Module(capWasmMemory(binary, Math.floor(maxMemory / WASM_PAGE)));
}

/** The WebAssembly global, typed for the one use here (the compiler options load no DOM or wasm typings). */
const Wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly;

/**
 * Blocks until control[slot] is `expected` (or `failed`, which returns false), for at most timeoutMs.
 * Atomics.wait may return early (another value was written first), hence the loop on the clock.
 */
function waitFor(control: Int32Array, slot: number, expected: number, timeoutMs: number, failed?: number): boolean {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = Atomics.load(control, slot);
    if (value === expected) return true;
    if (value === failed) return false;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(control, slot, value, left);
  }
}

/**
 * jq's stderr as one line: its `jq: error...` lines joined (the source excerpt and caret it prints under
 * a syntax error are left out), without the input's device name, cut to MAX_MESSAGE characters.
 */
function cleanMessage(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim().replace(/:$/, ''));
  const jqLines = lines.filter((line) => line.startsWith('jq: '));
  const text = (jqLines.length > 0 ? jqLines : lines.filter((line) => line !== ''))
    .join('; ')
    .replace(/ \(at \/dev\/stdin:\d+\)/g, '');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
