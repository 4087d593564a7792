import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from './api-error';

/**
 * Server-sent events (`text/event-stream`) for the console: the live metrics and the Kafka records it
 * follows. The console reads them with fetch() and a ReadableStream (EventSource cannot send the token).
 */

/** A comment line every this many milliseconds keeps proxies and idle timeouts from closing a quiet stream. */
export const PING_INTERVAL_MS = 15_000;

/**
 * Bytes a stream may have waiting for a client that does not read. A snapshot is left out beyond it (the
 * next one says it all); a follow that cannot keep up is closed (the console reconnects) rather than
 * holding records in memory without a bound.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One open event stream; written only through send() and comment(). */
export class EventStream {
  private closed = false;
  private readonly ping: NodeJS.Timeout;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly raw: ServerResponse) {
    this.ping = setInterval(() => this.comment('ping'), PING_INTERVAL_MS);
    this.ping.unref();
    raw.on('close', () => this.finish());
    // the client may have left while the route was still checking (a topic lookup): its 'close' is past
    if (raw.destroyed) this.finish();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Writes one event. False, and nothing written, when the stream is closed or the client is more than
   * MAX_BUFFERED_BYTES behind.
   */
  send(event: string, data: unknown): boolean {
    if (this.closed || this.raw.writableLength > MAX_BUFFERED_BYTES) return false;
    // JSON has no raw newlines, so one data line holds it
    this.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  }

  comment(text: string): void {
    if (!this.closed) this.raw.write(`: ${text}\n\n`);
  }

  /** Runs `listener` once when the stream closes (client gone, close(), server closing). */
  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Ends the response; the client sees the stream end. */
  close(): void {
    if (this.closed) return;
    this.raw.end();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ping);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/**
 * The event streams of one kind that one API (one server) holds open, at most `max` at a time: each holds a
 * connection, a timer and, for a follow, a Kafka consumer. All of them are ended when the server closes,
 * before it waits for its connections, so `fastify.close()` does not hang on a console left open.
 */
export class EventStreams {
  private readonly open = new Set<EventStream>();

  constructor(app: FastifyInstance, private readonly max: number, private readonly what: string) {
    app.addHook('preClose', (done) => {
      this.closeAll();
      done();
    });
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Takes the reply over (Fastify neither sends nor logs it afterwards) and answers 200 with the stream's
   * headers; 429 when `max` streams are open already (thrown before anything is written).
   */
  start(reply: FastifyReply): EventStream {
    this.assertRoom();
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-content-type-options': 'nosniff',
      // nginx and similar proxies would otherwise hold events back to fill their buffers
      'x-accel-buffering': 'no',
      // the connection ends with the stream: a keep-alive socket left behind would hold up a server closing
      connection: 'close',
    });
    reply.raw.flushHeaders();
    const stream = new EventStream(reply.raw);
    this.open.add(stream);
    stream.onClose(() => this.open.delete(stream));
    return stream;
  }

  /** Throws the 429 when `max` streams are open (before work that a refusal would waste). */
  assertRoom(): void {
    if (this.open.size >= this.max) {
      throw new ApiError(429, { error: `at most ${this.max} ${this.what} may be open at a time on this server; close one (another browser tab?) and try again` }, { headers: { 'retry-after': '5' } });
    }
  }

  closeAll(): void {
    for (const stream of [...this.open]) stream.close();
  }
}
