import type { FastifyInstance, FastifyReply } from 'fastify';
import { IntegrationError, type Integration, type RecordBrowser } from '@sluice/core';
import { scrub } from '../logger';
import { idParams, type IdParams } from './api-context';
import { ApiError } from './api-error';
import { EventStreams } from './event-stream';
import { showRecord, type ShownRecord } from './shown-bytes';
import type { SluiceApiOptions } from './sluice-api';

/** Follows (`/messages/stream`) one server holds open: each one is a Kafka consumer of its own. */
export const MAX_FOLLOWS = 4;
export const DEFAULT_MESSAGES_LIMIT = 50;
export const MAX_MESSAGES_LIMIT = 500;
/**
 * Reads of the latest records (`/messages`) one server runs at a time: each opens a Kafka consumer group and
 * holds up to MAX_MESSAGES_LIMIT records (each cut at 64 KiB per key, value and header) for up to
 * BROWSE_TIMEOUT_MS. 429 beyond.
 */
export const MAX_LATEST_READS = 4;
/**
 * Characters of shown keys, values and headers one `/messages` answer holds at most (hex doubles binary
 * bytes). Past it the oldest records are left out and `truncated: true` is set.
 */
export const MAX_MESSAGES_ANSWER_CHARS = 8 * 1024 * 1024;
/** How long a topic listing or a read of the latest records may take before the answer is a 504. */
export const BROWSE_TIMEOUT_MS = 30_000;

/** Kafka's own rule for topic names: 1 to 249 of letters, digits, `.`, `_` and `-`. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

interface MessagesQuery {
  readonly topic?: string | string[];
  readonly limit?: string | string[];
}

/**
 * The console's Messages page: what a connector wrote, read back through its RecordBrowser (Kafka's):
 * `GET /api/connectors/:id/topics`, `GET /api/connectors/:id/messages?topic&limit` (the latest records)
 * and `GET /api/connectors/:id/messages/stream?topic` (server-sent `event: record` for each new one).
 * Keys, values and headers are shown as UTF-8 text or hex (shown-bytes.ts). 404 for an unknown connector,
 * 501 for one that cannot browse, 400 for a bad topic or limit, 502 when the external system fails.
 */
export function messagesRoutes(app: FastifyInstance, options: SluiceApiOptions): void {
  const integration = options.integration;
  const follows = new EventStreams(app, MAX_FOLLOWS, 'follows of a topic (/messages/stream)');
  const latestReads = new ReadSlots(MAX_LATEST_READS, 'reads of the latest records (/messages)');
  const failed = (id: string, error: unknown): ApiError => browseError(id, error, options.secrets);

  app.get<{ Params: IdParams }>('/api/connectors/:id/topics', { exposeHeadRoute: true, schema: { params: idParams } }, async (request, reply) => {
    const browser = browserOf(integration, request.params.id);
    try {
      return { topics: await withTimeout(reply, () => browser.topics()) };
    } catch (error) {
      throw failed(request.params.id, error);
    }
  });

  app.get<{ Params: IdParams; Querystring: MessagesQuery }>('/api/connectors/:id/messages', { exposeHeadRoute: true, schema: { params: idParams } }, async (request, reply) => {
    const id = request.params.id;
    const browser = browserOf(integration, id);
    const topic = topicOf(request.query);
    const limit = limitOf(request.query);
    const slot = latestReads.take();
    try {
      await existingTopic(reply, browser, id, topic, slot);
      const records = await withTimeout(reply, (signal) => slot.hold(browser.latest(topic, limit, signal)));
      return boundedAnswer(records.map(showRecord));
    } catch (error) {
      throw failed(id, error);
    } finally {
      slot.release();
    }
  });

  app.get<{ Params: IdParams; Querystring: MessagesQuery }>('/api/connectors/:id/messages/stream', { exposeHeadRoute: false, schema: { params: idParams } }, async (request, reply) => {
    const id = request.params.id;
    const browser = browserOf(integration, id);
    const topic = topicOf(request.query);
    follows.assertRoom(); // the 429 before a Kafka round trip
    try {
      // an unknown topic is a 404 now rather than a stream that fails (and a consumer that may create it)
      await existingTopic(reply, browser, id, topic);
    } catch (error) {
      throw failed(id, error);
    }
    startFollow(follows, reply, browser, topic, (error) => failed(id, error).message);
  });
}

/** Streams the topic's new records until the client leaves, the server closes, or the follow fails. */
function startFollow(follows: EventStreams, reply: FastifyReply, browser: RecordBrowser, topic: string, describe: (error: unknown) => string): void {
  const stream = follows.start(reply);
  const stop = new AbortController();
  stream.onClose(() => stop.abort());
  if (stream.isClosed) return; // the client left while the topic was looked up
  // follow() called inside then(): a synchronous throw becomes a rejection like any other, after the hijack
  Promise.resolve().then(() => browser.follow(topic, (record) => {
    // a client this far behind would make the records pile up in memory: it reconnects and catches up
    if (!stream.send('record', showRecord(record))) stream.close();
  }, stop.signal)).then(
    () => stream.close(),
    (error: unknown) => {
      stream.send('error', { error: describe(error) });
      stream.close();
    },
  );
}

function browserOf(integration: Integration, id: string): RecordBrowser {
  if (!integration.connectorIds().includes(id)) throw new ApiError(404, { error: `no connector has the id "${id}"` });
  const browser = integration.browser(id);
  if (browser === undefined) {
    throw new ApiError(501, { error: `connector "${id}" cannot show what it wrote (only Kafka connectors can)`, code: 'ERR_NOT_SUPPORTED' });
  }
  return browser;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function topicOf(query: MessagesQuery): string {
  const topic = single(query.topic);
  if (topic !== undefined && TOPIC_NAME.test(topic)) return topic;
  throw ApiError.badRequest(topic === undefined
    ? 'name one topic: ?topic=<name> (GET /api/connectors/<id>/topics lists them)'
    : `"${topic.slice(0, 100)}" is not a Kafka topic name (1 to 249 letters, digits, ".", "_" or "-")`);
}

function limitOf(query: MessagesQuery): number {
  if (query.limit === undefined) return DEFAULT_MESSAGES_LIMIT;
  const text = single(query.limit);
  const limit = text !== undefined && /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (limit >= 1 && limit <= MAX_MESSAGES_LIMIT) return limit;
  throw ApiError.badRequest(`limit must be a whole number from 1 to ${MAX_MESSAGES_LIMIT} (default ${DEFAULT_MESSAGES_LIMIT})`);
}

async function existingTopic(reply: FastifyReply, browser: RecordBrowser, id: string, topic: string, slot?: ReadSlot): Promise<void> {
  const topics = await withTimeout(reply, () => (slot === undefined ? browser.topics() : slot.hold(browser.topics())));
  if (!topics.includes(topic)) throw new ApiError(404, { error: `connector "${id}" has no topic "${topic}"` });
}

/**
 * Runs a read, given a signal that aborts when the client leaves or BROWSE_TIMEOUT_MS passes; the answer
 * is a 504 then, even when the read ignores the signal.
 */
function withTimeout<T>(reply: FastifyReply, read: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const gone = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) gone.abort();
  };
  const timeout = AbortSignal.timeout(BROWSE_TIMEOUT_MS);
  const signal = AbortSignal.any([gone.signal, timeout]);
  reply.raw.once('close', onClose);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new ApiError(504, { error: `the connector did not answer within ${BROWSE_TIMEOUT_MS / 1000} s` }));
    signal.addEventListener('abort', onAbort, { once: true });
    read(signal).then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
      reply.raw.off('close', onClose);
    });
  });
}

/** The shown records, newest kept first within MAX_MESSAGES_ANSWER_CHARS; `truncated` when older ones were left out. */
function boundedAnswer(records: readonly ShownRecord[]): { records: ShownRecord[]; truncated?: true } {
  let budget = MAX_MESSAGES_ANSWER_CHARS;
  let first = records.length;
  while (first > 0) {
    const record = records[first - 1] as ShownRecord;
    budget -= (record.key?.text.length ?? 0) + (record.value?.text.length ?? 0);
    for (const name of Object.keys(record.headers)) budget -= name.length + (record.headers[name]?.text.length ?? 0);
    if (budget < 0) break;
    first--;
  }
  return first === 0 ? { records: [...records] } : { records: records.slice(first), truncated: true };
}

/**
 * A bounded number of reads in flight. A slot is held until every call to the connector it was lent to has
 * settled, not only until the answer: a read answered 504 (or whose client left) still holds its consumer
 * group until kafkajs lets go of it, and must not make room for another one meanwhile.
 */
class ReadSlots {
  private inUse = 0;

  constructor(private readonly max: number, private readonly what: string) {}

  /** A slot, or the 429 when all are taken. */
  take(): ReadSlot {
    if (this.inUse >= this.max) {
      throw new ApiError(429, { error: `at most ${this.max} ${this.what} may run at a time on this server; try again in a few seconds` }, { headers: { 'retry-after': '5' } });
    }
    this.inUse++;
    let pending = 0;
    let routeDone = false;
    let freed = false;
    const free = (): void => {
      if (!routeDone || pending > 0 || freed) return;
      freed = true;
      this.inUse--;
    };
    return {
      hold: <T>(read: Promise<T>): Promise<T> => {
        pending++;
        const settled = (): void => {
          pending--;
          free();
        };
        read.then(settled, settled);
        return read;
      },
      release: (): void => {
        routeDone = true;
        free();
      },
    };
  }
}

interface ReadSlot {
  /** `read`, with the slot held until it settles. */
  hold<T>(read: Promise<T>): Promise<T>;
  /** The route is done with the slot: it is free once every held read has settled. */
  release(): void;
}

/** An ApiError as it is; anything else is the external system's failure: a 502 with its message, scrubbed. */
function browseError(id: string, error: unknown, secrets: ReadonlySet<string> | undefined): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const text = secrets === undefined ? message : scrub(message, secrets);
  return new ApiError(502, {
    error: `reading from connector "${id}" failed: ${text.slice(0, 500)}`,
    ...(IntegrationError.is(error) ? { code: error.code } : {}),
  });
}
