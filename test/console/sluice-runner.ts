// The built `sluice run` as a child process, for the console journey: spawn it on a config file, wait for
// its `ready` log line, read its JSON log lines, stop it with SIGTERM and wait for the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = resolve(__dirname, '../../packages/cli/dist/bin.js');

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

export class SluiceRunner {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => this.take(text));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => this.take(text));
    this.exited = new Promise((whenExited) => child.once('exit', (code, signal) => whenExited(code ?? (signal === null ? null : -1))));
  }

  /** Spawns `node packages/cli/dist/bin.js run -c <file>` and resolves once it logged `ready`. */
  static async start(configFile: string, timeoutMs = 45_000): Promise<SluiceRunner> {
    const child = spawn(process.execPath, [BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    const runner = new SluiceRunner(child);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        runner.next('ready'),
        runner.exited.then((code) => {
          throw new Error(`sluice run exited with ${String(code)} before "ready"; its log:\n${runner.logTail()}`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`sluice run did not log "ready" within ${timeoutMs} ms; its log:\n${runner.logTail()}`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return runner;
  }

  /** The first log line (already seen or still to come) with this message. */
  next(msg: string, after = 0): Promise<LogLine> {
    const seen = this.lines.slice(after).find((l) => l.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine) => this.waiters.push({ match: (l) => l.msg === msg, resolve: resolveLine }));
  }

  /** The last log lines as text, for failure messages. */
  logTail(count = 30): string {
    return this.lines.slice(-count).map((l) => JSON.stringify(l)).join('\n');
  }

  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`, and an error saying so). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`sluice run did not exit within ${timeoutMs} ms of SIGTERM (killed); its log:\n${this.logTail()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, killed]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For afterAll: kill without waiting for a drain. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  private take(text: string): void {
    let line: LogLine;
    try {
      const parsed = JSON.parse(text) as unknown;
      line = typeof parsed === 'object' && parsed !== null && 'msg' in parsed ? (parsed as LogLine) : { msg: text };
    } catch {
      line = { msg: text };
    }
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
  }
}
