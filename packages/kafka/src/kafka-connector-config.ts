import { parseConfig, SINGLE_PLACEHOLDER } from '@sluice/core';
import { z } from 'zod';
import { byteSize, duration, durationOrInfinity } from './units';

const DEFAULT_PORT = 9092;

/** 'a:9093, b' or ['a:9093', 'b'] → ['a:9093', 'b:9092']; EMQX accepts the comma-separated form. */
const bootstrapHosts = z
  .union([z.string(), z.array(z.string())])
  .transform((value, ctx) => {
    const items = (Array.isArray(value) ? value : value.split(','))
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'give at least one host:port' });
      return z.NEVER;
    }
    const hosts: string[] = [];
    for (const item of items) {
      const host = withDefaultPort(item);
      if (host === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port (the port must be 1-65535)` });
        return z.NEVER;
      }
      hosts.push(host);
    }
    return hosts;
  });

function withDefaultPort(item: string): string | undefined {
  // [::1]:9092, host:9092, host; a bare IPv6 address without brackets is ambiguous and refused
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d+))?$/.exec(item);
  if (match === null) return undefined;
  const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return `${match[1] as string}:${port}`;
}

const secret = z.string().min(1);
const pem = z.union([z.string().min(1), z.instanceof(Buffer)]);

/** Returns a token for SASL OAUTHBEARER; called by kafkajs whenever it (re)authenticates. */
export type OauthTokenProvider = () => Promise<{ value: string }>;

const authentication = z.union([
  z.literal('none'),
  z.strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: secret,
  }),
  z.strictObject({
    mechanism: z.literal('oauthbearer'),
    tokenProvider: z.custom<OauthTokenProvider>((value) => typeof value === 'function', {
      message: 'must be a function returning a promise of { value: token }',
    }),
  }),
], { error: 'must be "none", { mechanism: "plain" | "scram-sha-256" | "scram-sha-512", username, password } or { mechanism: "oauthbearer", tokenProvider }' });

const sslOptions = z
  .strictObject({
    enable: z.boolean().default(true),
    /** PEM of the CA(s) that signed the broker certificate; without it, Node's bundled public CAs are used. */
    ca: pem.optional(),
    caFile: z.string().min(1).optional(),
    /** Client certificate and key, for brokers that authenticate clients by certificate (mTLS). */
    cert: pem.optional(),
    certFile: z.string().min(1).optional(),
    key: pem.optional(),
    keyFile: z.string().min(1).optional(),
    passphrase: secret.optional(),
    /** SNI and the name the certificate must carry; defaults to the host name of each broker. */
    serverName: z.string().min(1).optional(),
    /** Verify the broker certificate. EMQX defaults to verify_none; Sluice does not. */
    verify: z.boolean().default(true),
  })
  .superRefine((ssl, ctx) => {
    for (const [inline, file] of [['ca', 'caFile'], ['cert', 'certFile'], ['key', 'keyFile']] as const) {
      if (ssl[inline] !== undefined && ssl[file] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [file], message: `give ${inline} or ${file}, not both` });
      }
    }
    const hasCert = ssl.cert !== undefined || ssl.certFile !== undefined;
    const hasKey = ssl.key !== undefined || ssl.keyFile !== undefined;
    if (hasCert !== hasKey) {
      ctx.addIssue({ code: 'custom', path: [hasCert ? 'key' : 'cert'], message: 'a client certificate needs both cert and key' });
    }
  });

const retry = z.strictObject({
  /** Attempts kafkajs makes on a retriable error before the record fails as retriable. */
  retries: z.number().int().nonnegative().default(5),
  initialRetryTime: duration.default(300),
  maxRetryTime: duration.default(30_000),
});

/** A Kafka connector: one cluster connection shared by every action that names it. */
export const KafkaConnectorConfig = z.strictObject({
  id: z.string().min(1),
  bootstrapHosts,
  clientId: z.string().min(1).default('sluice'),
  authentication: authentication.default('none'),
  ssl: z.union([z.boolean(), sslOptions]).default(false),
  /** TCP connect (kafkajs connectionTimeout); SASL gets the same budget (authenticationTimeout). */
  connectTimeout: duration.default(5_000),
  /** How long a request may wait for its reply before kafkajs treats it as timed out. */
  requestTimeout: duration.default(30_000),
  /** Budget of the metadata and topic checks in the connection test. */
  metadataRequestTimeout: duration.default(5_000),
  /** Metadata (partition counts, leaders) is refreshed at least this often (kafkajs metadataMaxAge). */
  partitionCountRefreshInterval: duration.default(60_000),
  /** Let a produce to an unknown topic create it with the broker's defaults. Off, as in EMQX. */
  allowAutoTopicCreation: z.boolean().default(false),
  /**
   * kafkajs's idempotent producer (no duplicates from its own retries): forces requiredAcks all and one
   * produce request at a time per connector. Off by default: kafkajs marks it experimental.
   */
  idempotent: z.boolean().default(false),
  retry: retry.default({ retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 }),
}).superRefine((config, ctx) => {
  if (config.idempotent && config.retry.retries < 1) {
    ctx.addIssue({ code: 'custom', path: ['retry', 'retries'], message: 'an idempotent producer needs at least 1 retry' });
  }
});
export type KafkaConnectorOptions = z.input<typeof KafkaConnectorConfig>;
export type KafkaConnectorConfig = z.output<typeof KafkaConnectorConfig>;
export type KafkaAuthentication = KafkaConnectorConfig['authentication'];
export type KafkaSslOptions = Exclude<KafkaConnectorConfig['ssl'], boolean>;

export function parseKafkaConnectorConfig(input: KafkaConnectorOptions): KafkaConnectorConfig {
  return parseConfig('kafka', KafkaConnectorConfig, input);
}


/** The settings of one action (what EMQX calls the action's `parameters`). */
export const KafkaActionSettings = z
  .strictObject({
    /** The connector the action names; the runtime has already routed on it. */
    connector: z.string().optional(),
    /** Kafka topic; a template such as `t-${payload.site}`. A placeholder without a value fails that record. */
    topic: z.string().min(1),
    /** Record key; renders to a null key when empty. */
    key: z.string().default('${clientid}'),
    /** Record value; `${.}` is the whole rule output as JSON. */
    value: z.string().default('${.}'),
    /** Milliseconds since the epoch; anything that is not an integer falls back to the time of sending. */
    timestamp: z.string().default('${timestamp}'),
    /** One placeholder yielding a map, a [{key, value}] list, or their JSON text, e.g. `${pub_props}`. */
    headers: z.string().regex(SINGLE_PLACEHOLDER, 'must be a single placeholder such as "${pub_props}"').optional(),
    /** Extra headers; key and value are templates. */
    extHeaders: z.array(z.strictObject({ key: z.string().min(1), value: z.string() })).default([]),
    /** How non-string header values of `headers` are written: as text (none) or as JSON (json, strings quoted). */
    headerValueEncodeMode: z.enum(['none', 'json']).default('none'),
    /** Copy the MQTT 5 user properties of the message into record headers (repeated keys stay repeated). */
    userPropertiesAsHeaders: z.boolean().default(true),
    requiredAcks: z.enum(['all', 'leader', 'none']).default('all'),
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'),
    partitionStrategy: z.enum(['random', 'key_dispatch', 'round_robin']).default('random'),
    /** Produce only to the first N partitions of the topic; all partitions when absent. */
    partitionsLimit: z.number().int().positive().optional(),
    /** Upper bound of one produce request (estimated from key, value and header sizes). */
    maxBatchBytes: byteSize.default(896 * 1024),
    /**
     * Upper bound of records in one produce request. kafkajs groups a request's records by partition
     * in time quadratic in the records per partition, so very large requests cost more CPU than they
     * save; 500 keeps that cost small while still amortising the round trip.
     */
    maxBatchRecords: z.number().int().positive().default(500),
    /** Wait this long for more records before sending; 0 sends on the next turn of the event loop. */
    maxLingerTime: duration.default(0),
    /**
     * `async`: a produce request waits for Kafka's reply as long as the connector's requestTimeout and
     * retries allow. `sync`: a request unanswered after `syncQueryTimeout` fails its records at once
     * (retriable: retried as `maxRetries` allows, or left to the MQTT broker), which bounds how long a
     * message's acknowledgement can wait on one request; a reply that comes later counts `late_reply`.
     * Either way each send resolves only when Kafka has the record, and up to `maxInflight` requests run.
     */
    queryMode: z.enum(['async', 'sync']).default('async'),
    /** The reply deadline of a produce request in `sync` query mode. */
    syncQueryTimeout: duration.default(5_000),
    /** Produce requests of this action awaiting their acknowledgement; 1 keeps the order per partition. */
    maxInflight: z.number().int().positive().default(10),
    /** The action's buffer of records accepted and not yet acknowledged by Kafka (in memory). */
    buffer: z.strictObject({
      /**
       * Bytes (estimated) the action may hold: waiting, in flight, or back for a retry. For the whole
       * action, not per partition: kafkajs picks the partition only when the request is built.
       */
      limit: byteSize.default(256 * 1024 ** 2),
      /** When full: hold new sends (MQTT acks wait), or drop the oldest waiting / the new record. */
      overflow: z.enum(['backpressure', 'drop_oldest', 'drop_newest']).default('backpressure'),
      /** A record waiting longer than this is dropped (counted `dropped.expired`); 'infinity' keeps it. */
      maxBatchAge: durationOrInfinity.default(Number.POSITIVE_INFINITY),
      /**
       * `memory`: lost on restart. `disk`: each record is appended to a segment file (fdatasync) before its
       * send resolves, and what Kafka had not acknowledged is sent again on the next start. `hybrid`: in
       * memory while `limit` allows (sends resolve on Kafka's ack), then on disk up to `diskLimit` (sends
       * resolve once written), read back into memory in order as room frees.
       */
      mode: z.enum(['memory', 'disk', 'hybrid']).default('memory'),
      /** Directory of the disk buffers; each action uses a subdirectory named after its id. */
      dir: z.string().min(1).optional(),
      /** A disk buffer's segment file is closed and a new one started past this size. */
      segmentBytes: byteSize.default(10 * 1024 ** 2),
      /** `hybrid` only: estimated bytes of records waiting on disk for room in memory; then `overflow` applies. */
      diskLimit: byteSize.default(1024 ** 3),
    }).default({ limit: 256 * 1024 ** 2, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, mode: 'memory', segmentBytes: 10 * 1024 ** 2, diskLimit: 1024 ** 3 }),
    /**
     * Retries of a record after a retriable failure (each a full kafkajs send with the connector's
     * `retry`), then it fails as retriable (the MQTT message is left to the broker). 'infinity' keeps
     * retrying while the buffer back-pressures the source.
     */
    maxRetries: z.union([z.number().int().nonnegative(), z.literal('infinity').transform(() => Number.POSITIVE_INFINITY)])
      .default(Number.POSITIVE_INFINITY),
    /** Pause before the next retry: `initial`, doubling per consecutive failed request, up to `max`. */
    retryBackoff: z.strictObject({ initial: duration.default(1_000), max: duration.default(30_000) })
      .default({ initial: 1_000, max: 30_000 }),
  })
  .superRefine((settings, ctx) => {
    if (settings.partitionStrategy === 'key_dispatch' && settings.key.trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'key_dispatch needs a key template' });
    }
    const onDisk = settings.buffer.mode !== 'memory';
    if (onDisk && settings.buffer.dir === undefined) {
      ctx.addIssue({ code: 'custom', path: ['buffer', 'dir'], message: `a ${settings.buffer.mode} buffer needs a directory` });
    }
    if (settings.buffer.mode === 'hybrid' && settings.buffer.overflow === 'drop_oldest') {
      ctx.addIssue({ code: 'custom', path: ['buffer', 'overflow'], message: "must be 'backpressure' or 'drop_newest' with a hybrid buffer (its oldest records may be on disk, already acknowledged)" });
    }
    if (onDisk && settings.maxRetries !== Number.POSITIVE_INFINITY) {
      ctx.addIssue({ code: 'custom', path: ['maxRetries'], message: "must be 'infinity' with a disk buffer: its records are acknowledged to MQTT already and wait on disk until Kafka takes them" });
    }
    if (settings.queryMode === 'sync' && settings.syncQueryTimeout === 0) {
      ctx.addIssue({ code: 'custom', path: ['syncQueryTimeout'], message: "must be more than 0 in 'sync' query mode (every request would time out)" });
    }
    if (settings.retryBackoff.initial > settings.retryBackoff.max) {
      ctx.addIssue({ code: 'custom', path: ['retryBackoff', 'initial'], message: 'must not exceed retryBackoff.max' });
    }
  });
export type KafkaActionOptions = z.input<typeof KafkaActionSettings>;
export type KafkaActionSettings = z.output<typeof KafkaActionSettings>;

/** Throws ConfigError naming the action and each bad setting's path. */
export function parseKafkaActionSettings(input: unknown, actionId: string): KafkaActionSettings {
  return parseConfig(`kafka action "${actionId}"`, KafkaActionSettings, input);
}
