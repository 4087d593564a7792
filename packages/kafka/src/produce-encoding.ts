/**
 * Produce request bodies (Produce v3 to v7 share one layout) written in one pass into one Buffer, byte for byte
 * what kafkajs 2.2.4 writes, for uncompressed record batches.
 *
 * Why: kafkajs builds every record as an Encoder of its own (a Buffer each, a Long for each timestamp delta,
 * an object spread of each message) and copies them into the batch, the batch into the request: about 9 µs
 * per record on the project machine, a sixth of the at-least-once path's CPU per message. This writes each
 * record straight into the request's buffer, its size counted first. `installProduceEncoding` puts it in
 * kafkajs's produce request; the response side, the retries and the connection stay kafkajs's.
 */
import type { IHeaders, Message } from 'kafkajs';

/** kafkajs's crc32C of a record batch (unsigned), the same function its RecordBatch uses. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;

/** One partition's messages, as kafkajs hands them to its produce request. */
export interface PartitionData {
  readonly partition: number;
  readonly firstSequence?: number | undefined;
  readonly messages: readonly Message[];
}

export interface TopicData {
  readonly topic: string;
  readonly partitions: readonly PartitionData[];
}

/** The arguments kafkajs passes to a produce request of version 3 and later. */
export interface ProduceRequestArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null | undefined;
  /** kafkajs passes a Long (or a number); -1 when not idempotent. */
  readonly producerId?: { toString(): string } | number | undefined;
  readonly producerEpoch?: number | undefined;
  readonly topicData: readonly TopicData[];
}

const TRANSACTIONAL = 16;
const NO_HEADERS: ReadonlyArray<[string, unknown]> = Object.freeze([]);
/** firstOffset, batchLength, partitionLeaderEpoch, magic, crc: the batch header before what the CRC covers. */
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4;
/** attributes .. firstSequence, then the records' count. */
const BATCH_BODY_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

/** A varint's size in bytes, for a value already zigzag-encoded (≥ 0, below 2^53). */
function varintSize(zigzagged: number): number {
  let size = 1;
  while (zigzagged >= 128) {
    zigzagged = Math.floor(zigzagged / 128);
    size += 1;
  }
  return size;
}

/** Kafka's zigzag encoding, in Number arithmetic (exact below 2^52 in magnitude). */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Byte length of a key, value or header value as kafkajs writes it (null: none; not a Buffer: its String()). */
function bytesOf(value: unknown): number {
  if (value === null || value === undefined) return -1;
  if (Buffer.isBuffer(value)) return value.length;
  return Buffer.byteLength(String(value), 'utf8');
}

/** The headers of a message as kafkajs flattens them: a key per value, arrays as repeated keys, in key order. */
function headerPairs(headers: IHeaders | undefined): ReadonlyArray<[string, unknown]> {
  if (headers === undefined) return NO_HEADERS;
  const pairs: Array<[string, unknown]> = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) for (const item of value) pairs.push([key, item]);
    else pairs.push([key, value]);
  }
  return pairs;
}

/** Writes the request into one Buffer; see the module comment. Only for record batches without compression. */
export function encodeProduceRequest(args: ProduceRequestArgs): Buffer {
  const now = Date.now();
  const producerId = args.producerId === undefined ? -1n : BigInt(args.producerId.toString());
  const transactionalId = args.transactionalId ?? null;
  const attributes = transactionalId === null ? 0 : TRANSACTIONAL;

  // first pass: sizes (every record's, its strings' byte lengths kept for the second pass)
  const lengths: number[] = [];
  const headersOf: Array<ReadonlyArray<[string, unknown]>> = [];
  const timestampsOf: Array<{ first: bigint; max: bigint; timestamps: number[] }> = [];
  let size = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
  for (const topic of args.topicData) {
    size += 2 + Buffer.byteLength(topic.topic, 'utf8') + 4;
    for (const data of topic.partitions) {
      const batchTimes = timestampsOfBatch(data.messages, now);
      timestampsOf.push(batchTimes);
      const { timestamps } = batchTimes;
      const first = Number(batchTimes.first);
      let records = 0;
      for (let i = 0; i < data.messages.length; i += 1) {
        const message = data.messages[i] as Message;
        const keyBytes = bytesOf(message.key);
        const valueBytes = bytesOf(message.value);
        const pairs = headerPairs(message.headers);
        headersOf.push(pairs);
        let headerBytes = varintSize(zigzag(pairs.length));
        for (const [key, value] of pairs) {
          const k = Buffer.byteLength(key, 'utf8');
          if (value === undefined) throw new TypeError(`header "${key}" has no value`);
          const v = bytesOf(value);
          lengths.push(k, v);
          headerBytes += varintSize(zigzag(k)) + k + varintSize(zigzag(v)) + Math.max(v, 0);
        }
        const body = 1 + varintSize(zigzag((timestamps[i] as number) - first)) + varintSize(zigzag(i))
          + varintSize(zigzag(keyBytes)) + Math.max(keyBytes, 0) + varintSize(zigzag(valueBytes)) + Math.max(valueBytes, 0) + headerBytes;
        lengths.push(keyBytes, valueBytes, body);
        records += varintSize(zigzag(body)) + body;
      }
      size += 4 + 4 + BATCH_HEAD + BATCH_BODY_HEAD + records;
    }
  }

  // second pass: write
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let nextLength = 0;
  let nextHeaders = 0;
  let nextTimestamps = 0;
  const varint = (value: number): void => {
    let rest = zigzag(value);
    while (rest >= 128) {
      out[at++] = (rest % 128) | 128;
      rest = Math.floor(rest / 128);
    }
    out[at++] = rest;
  };
  const bytes = (value: unknown, length: number): void => {
    varint(length);
    if (length <= 0) return;
    if (Buffer.isBuffer(value)) at += value.copy(out, at);
    else at += out.write(String(value), at, length, 'utf8');
  };
  const string16 = (value: string | null): void => {
    if (value === null) {
      at = out.writeInt16BE(-1, at);
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    at = out.writeInt16BE(length, at);
    at += out.write(value, at, length, 'utf8');
  };

  string16(transactionalId);
  at = out.writeInt16BE(args.acks, at);
  at = out.writeInt32BE(args.timeout, at);
  at = out.writeInt32BE(args.topicData.length, at);
  for (const topic of args.topicData) {
    string16(topic.topic);
    at = out.writeInt32BE(topic.partitions.length, at);
    for (const data of topic.partitions) {
      const { first: firstTimestamp, max: maxTimestamp, timestamps } = timestampsOf[nextTimestamps++] as { first: bigint; max: bigint; timestamps: number[] };
      const first = Number(firstTimestamp);
      at = out.writeInt32BE(data.partition, at);
      const sizeAt = at;
      at += 4; // the record set's size, once known
      const batchStart = at;
      at = out.writeBigInt64BE(0n, at); // firstOffset
      const lengthAt = at;
      at += 4; // batchLength
      at = out.writeInt32BE(0, at); // partitionLeaderEpoch, as kafkajs writes it
      at = out.writeInt8(2, at); // magic
      const crcAt = at;
      at += 4;
      const crcFrom = at;
      at = out.writeInt16BE(attributes, at);
      at = out.writeInt32BE(data.messages.length - 1, at); // lastOffsetDelta
      at = out.writeBigInt64BE(firstTimestamp, at);
      at = out.writeBigInt64BE(maxTimestamp, at);
      at = out.writeBigInt64BE(producerId, at);
      at = out.writeInt16BE(args.producerEpoch ?? 0, at);
      at = out.writeInt32BE(data.firstSequence ?? 0, at);
      at = out.writeInt32BE(data.messages.length, at);
      for (let i = 0; i < data.messages.length; i += 1) {
        const message = data.messages[i] as Message;
        const pairs = headersOf[nextHeaders++] as ReadonlyArray<[string, unknown]>;
        const headerLengths = nextLength;
        nextLength += pairs.length * 2;
        const keyBytes = lengths[nextLength++] as number;
        const valueBytes = lengths[nextLength++] as number;
        varint(lengths[nextLength++] as number);
        out[at++] = 0; // attributes
        varint((timestamps[i] as number) - first);
        varint(i);
        bytes(message.key, keyBytes);
        bytes(message.value, valueBytes);
        varint(pairs.length);
        for (let h = 0; h < pairs.length; h += 1) {
          const [key, value] = pairs[h] as [string, unknown];
          bytes(key, lengths[headerLengths + 2 * h] as number);
          bytes(value, lengths[headerLengths + 2 * h + 1] as number);
        }
      }
      out.writeInt32BE(at - batchStart, sizeAt);
      out.writeInt32BE(at - lengthAt - 4, lengthAt);
      out.writeUInt32BE(crc32C(out.subarray(crcFrom, at)), crcAt);
    }
  }
  // allocUnsafe: a byte not written would send old heap contents to Kafka
  if (at !== size) throw new Error(`produce request encoded to ${at} bytes, ${size} counted`);
  return out;
}

/**
 * The batch's first and largest timestamps and each record's, as kafkajs computes them: a record's delta is from
 * its timestamp, or the encoding's `now` when it has none (or a falsy one); the first and max come from the
 * records whose timestamp is not null (kafkajs sorts them as strings, which for millisecond timestamps of one era
 * is numeric order), else from `now`. The first and max are written exactly from their digits (kafkajs reads them
 * as a Long), also past 2^53; the deltas are Numbers in both.
 */
function timestampsOfBatch(messages: readonly Message[], now: number): { first: bigint; max: bigint; timestamps: number[] } {
  let first = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let firstGiven: string | number = now;
  let maxGiven: string | number = now;
  const timestamps = new Array<number>(messages.length);
  for (let i = 0; i < messages.length; i += 1) {
    const given = (messages[i] as Message).timestamp as string | number | null | undefined;
    timestamps[i] = given ? Number(given) : now;
    if (given === undefined || given === null) continue;
    const value = Number(given);
    if (value < first) {
      first = value;
      firstGiven = given;
    }
    if (value > max) {
      max = value;
      maxGiven = given;
    }
  }
  return { first: toInt64(firstGiven), max: toInt64(maxGiven), timestamps };
}

/** A timestamp as the int64 kafkajs writes: the digits themselves when it is a string of digits. */
function toInt64(value: string | number): bigint {
  if (typeof value === 'string' && DIGITS.test(value)) return BigInt(value);
  return BigInt(Math.trunc(Number(value)));
}

const DIGITS = /^-?\d{1,19}$/;

const INSTALLED = Symbol.for('sluice.kafka.produceEncoding');

/** kafkajs's produce API definition: `protocol({ version })` gives the request builder of that version. */
interface ProduceDefinition {
  protocol: (which: { version: number }) => ProduceBuilder;
  [INSTALLED]?: true;
}
type ProduceBuilder = (args: ProduceRequestArgs & { compression?: number }) => { request: { encode: () => Promise<unknown> }; response: unknown };

/**
 * Makes kafkajs's produce requests of version 3 and later (every Kafka since 0.11) use encodeProduceRequest when
 * their records are not compressed; compressed ones keep kafkajs's encoder. kafkajs looks the definition up
 * for every request (broker.produce -> lookupRequest -> definition.protocol), so wrapping `protocol` on the
 * module object covers every producer of this kafkajs, ours and any other in the process; the bytes are the
 * same (produce-encoding.spec.ts). Pinned to kafkajs 2.2.4's module layout; idempotent.
 */
export function installProduceEncoding(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const definition = require('kafkajs/src/protocol/requests/produce') as ProduceDefinition;
  if (definition[INSTALLED]) return;
  const kafkajsProtocol = definition.protocol;
  definition.protocol = ({ version }) => {
    const build = kafkajsProtocol({ version });
    if (version < 3) return build;
    return (args) => {
      const built = build(args);
      if ((args.compression ?? 0) !== 0) return built;
      // kafkajs only reads `buf` (to check) and `buffer` of what encode() resolves to (protocol/request.js)
      built.request.encode = async () => {
        const bytes = encodeProduceRequest(args);
        return { buf: bytes, buffer: bytes };
      };
      return built;
    };
  };
  definition[INSTALLED] = true;
}
