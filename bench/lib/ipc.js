'use strict';
// Child processes of the benchmark: forked with an IPC channel, killed when the runner exits, and
// answered by request/reply messages ({ type, id, ... }) so the runner can await a child's figures.
const { fork } = require('node:child_process');

const live = new Set();
function killAll() {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killAll);

class Worker {
  constructor(file, { args = [], execArgv = [], env = {}, name = file } = {}) {
    this.name = name;
    this.child = fork(file, args, { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    live.add(this.child);
    this.nextId = 1;
    this.waiting = new Map();
    this.listeners = new Set();
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        for (const { reject } of this.waiting.values()) reject(new Error(`${this.name} exited (${code ?? signal}) before answering`));
        this.waiting.clear();
        resolve({ code, signal });
      });
    });
    this.child.on('message', (msg) => {
      if (msg && msg.replyTo !== undefined && this.waiting.has(msg.replyTo)) {
        const { resolve, reject } = this.waiting.get(msg.replyTo);
        this.waiting.delete(msg.replyTo);
        if (msg.error) reject(new Error(`${this.name}: ${msg.error}`));
        else resolve(msg);
        return;
      }
      for (const listener of this.listeners) listener(msg);
    });
  }

  on(listener) {
    this.listeners.add(listener);
  }

  send(msg) {
    if (this.child.connected) this.child.send(msg);
  }

  /** Sends a request and resolves with the child's reply; rejects after timeoutMs. */
  request(type, body = {}, timeoutMs = 60000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send({ ...body, type, id });
    });
  }

  /** Asks the child to stop cleanly, then kills it if it has not exited after graceMs. */
  async stop(graceMs = 15000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** In a child: answers requests with handlers[type](msg) (sync or async) and exits on 'exit'. */
function serve(handlers, onExit) {
  process.on('message', async (msg) => {
    if (msg.type === 'exit') {
      try {
        if (onExit) await onExit();
      } finally {
        process.exit(0);
      }
      return;
    }
    const handler = handlers[msg.type];
    if (!handler) {
      process.send?.({ replyTo: msg.id, error: `unknown request ${msg.type}` });
      return;
    }
    try {
      const reply = (await handler(msg)) ?? {};
      process.send?.({ ...reply, replyTo: msg.id });
    } catch (err) {
      process.send?.({ replyTo: msg.id, error: err && err.stack ? err.stack : String(err) });
    }
  });
  // The runner going away must not leave a child behind.
  process.on('disconnect', () => process.exit(0));
}

module.exports = { Worker, serve, killAll };
