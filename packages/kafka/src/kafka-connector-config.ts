import { parseConfig, SINGLE_PLACEHOLDER } from '@sluice/core';
import { z } from 'zod';
import { byteSize, duration, durationOrInfinity } from './units';

const DEFAULT_PORT = 9092;

/** 'a:9093, b' or ['a:9093', 'b'] → ['a:9093', 'b:9092']; EMQX accepts the comma-separated form. */
const bootstrapHosts = z
  .union([z.string(), z.array(z.string())])
  // Examples here, before the transform: zod leaves a transforming schema's own examples out of the input-side JSON Schema.
  .meta({ examples: [['kafka-1:9092', 'kafka-2:9092'], 'kafka-1:9092,kafka-2', '[::1]:9092'] })
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
  })
  .describe('`[h1:9092, h2:9092]`, or one comma-separated string as EMQX accepts (`h1:9092,h2`); the port defaults to 9092; `[::1]:9092` for IPv6.');

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
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism.'),
    username: z.string().min(1).describe('SASL username.'),
    password: secret.describe('SASL password; use `${env:NAME}` or `${file:/path}`.'),
  }),
  z.strictObject({
    mechanism: z.literal('oauthbearer').describe('SASL mechanism.'),
    tokenProvider: z.custom<OauthTokenProvider>((value) => typeof value === 'function', {
      message: 'must be a function returning a promise of { value: token }',
    }).describe('A function returning a promise of `{ value: token }` (code API only; a config file cannot give one).'),
  }),
], { error: 'must be "none", { mechanism: "plain" | "scram-sha-256" | "scram-sha-512", username, password } or { mechanism: "oauthbearer", tokenProvider }' });

const sslOptions = z
  .strictObject({
    enable: z.boolean().default(true).describe('Use TLS; lets a config keep its TLS block while turning TLS off.'),
    ca: pem.optional().describe('PEM (text, or a Buffer in code) of the CA(s) that signed the broker certificate; without it, Node\'s bundled public CAs are trusted.'),
    caFile: z.string().min(1).optional().describe('Path of a PEM file with the CA(s).'),
    cert: pem.optional().describe('Client certificate (PEM), for brokers that authenticate clients by certificate (mTLS); needs `key` or `keyFile`.'),
    certFile: z.string().min(1).optional().describe('Path of the client certificate (PEM).'),
    key: pem.optional().describe('Client private key (PEM).'),
    keyFile: z.string().min(1).optional().describe('Path of the client private key (PEM).'),
    passphrase: secret.optional().describe('Passphrase of the private key.'),
    serverName: z.string().min(1).optional().describe('SNI and the name the certificate must carry; defaults to the host name of each broker.'),
    verify: z.boolean().default(true).describe('Verify the broker certificate and host name. EMQX defaults to `verify_none`; Sluice does not.'),
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

/**
 * kafkajs's own retries of one request. Short: the action retries on its own (per partition, as soon as the
 * connector's metadata probe sees Kafka answer), so a request must not sleep for seconds inside kafkajs after
 * the broker is back (issue #11: resume within 2 s).
 */
const RETRY_DEFAULT = { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } as const;
const retry = z.strictObject({
  retries: z.number().int().nonnegative().default(RETRY_DEFAULT.retries).describe('Attempts after the first before a request fails (at least 1 with `idempotent`).'),
  initialRetryTime: duration.default(RETRY_DEFAULT.initialRetryTime).describe('First back-off: milliseconds or a duration.'),
  maxRetryTime: duration.default(RETRY_DEFAULT.maxRetryTime).describe('Longest back-off: milliseconds or a duration.'),
});

/** TLS of an https schema registry: the Kafka TLS block's fields that apply to one HTTPS server. */
const registryTls = z.strictObject({
  ca: pem.optional().describe('PEM of the CA(s) that signed the registry certificate; without it, Node\'s bundled public CAs are trusted.'),
  caFile: z.string().min(1).optional().describe('Path of a PEM file with the CA(s).'),
  cert: pem.optional().describe('Client certificate (PEM), for a registry that authenticates clients by certificate; needs `key` or `keyFile`.'),
  certFile: z.string().min(1).optional().describe('Path of the client certificate (PEM).'),
  key: pem.optional().describe('Client private key (PEM).'),
  keyFile: z.string().min(1).optional().describe('Path of the client private key (PEM).'),
  passphrase: secret.optional().describe('Passphrase of the private key.'),
  verify: z.boolean().default(true).describe('Verify the registry certificate and host name.'),
}).superRefine((tls, ctx) => {
  for (const [inline, file] of [['ca', 'caFile'], ['cert', 'certFile'], ['key', 'keyFile']] as const) {
    if (tls[inline] !== undefined && tls[file] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [file], message: `give ${inline} or ${file}, not both` });
    }
  }
  if ((tls.cert !== undefined || tls.certFile !== undefined) !== (tls.key !== undefined || tls.keyFile !== undefined)) {
    ctx.addIssue({ code: 'custom', path: [tls.cert !== undefined || tls.certFile !== undefined ? 'key' : 'cert'], message: 'a client certificate needs both cert and key' });
  }
});

const schemaRegistry = z.strictObject({
  url: z.string().min(1)
    .refine((text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// URL without credentials in it (give them in schemaRegistry.authentication)')
    .describe('Base URL of a Confluent-compatible schema registry REST API: `http://registry:8081` (Confluent), `http://apicurio:8080/apis/ccompat/v7` (Apicurio Registry).')
    .meta({ examples: ['http://registry:8081', 'https://apicurio.example.com/apis/ccompat/v7'] }),
  authentication: z.union([
    z.literal('none'),
    z.strictObject({
      username: z.string().min(1).describe('Basic-auth user (Confluent Cloud: the API key).'),
      password: secret.describe('Basic-auth password (Confluent Cloud: the API secret); use `${env:NAME}` or `${file:/path}`.'),
    }),
  ], { error: 'must be "none" or { username, password } (HTTP basic auth)' }).default('none').describe('`none`, or `{ username, password }` for HTTP basic auth.'),
  tls: registryTls.optional().describe('TLS options for an `https://` URL (CA, client certificate, verification); without them Node\'s bundled public CAs are trusted and verification is on.'),
  requestTimeout: duration.default(10_000).describe('How long one registry request may take: milliseconds or a duration.'),
}).describe('The schema registry that actions with `valueSchema` register or read their schemas in (Confluent wire format; see docs/kafka.md).');

export const KafkaConnectorConfig = z.strictObject({
  id: z.string().min(1).describe('Unique connector id; actions name it in `connector`.'),
  bootstrapHosts,
  clientId: z.string().min(1).default('sluice').describe('Kafka client id the producer announces (quotas, broker logs).'),
  authentication: authentication.default('none').describe('`none`, `{ mechanism: plain | scram-sha-256 | scram-sha-512, username, password }` (SASL), or `{ mechanism: oauthbearer, tokenProvider }` where kafkajs calls `tokenProvider()` whenever it authenticates (code API only: a config file cannot give a function).'),
  ssl: z.union([z.boolean(), sslOptions]).default(false).describe('`true` for TLS with Node\'s bundled public CAs and verification on, or TLS options.'),
  connectTimeout: duration.default(5_000).describe('TCP connect budget (kafkajs `connectionTimeout`); SASL gets the same: milliseconds or a duration such as `5s`.'),
  requestTimeout: duration.default(30_000).describe('How long a request, produce requests included, may wait for its reply: milliseconds or a duration.'),
  metadataRequestTimeout: duration.default(5_000).describe('Budget of the metadata and topic checks in the connection test: milliseconds or a duration.'),
  partitionCountRefreshInterval: duration.default(60_000).describe('The metadata of the actions\' topics (partition counts, leaders) is fetched again at least this often (also kafkajs\'s `metadataMaxAge`), so added partitions are used: milliseconds or a duration. Independently, while a topic is missing or a partition failing, the connector asks Kafka every 500 ms.'),
  allowAutoTopicCreation: z.boolean().default(false).describe('Ask Kafka to create an unknown topic, as a produce to it would: the broker creates it only if its `auto.create.topics.enable` allows, with its defaults. Off, as in EMQX: records of a missing topic wait until it is created.'),
  idempotent: z.boolean().default(false).describe('kafkajs\'s idempotent producer: its own retries cannot write duplicates. Forces `requiredAcks: all` on every action (others are refused) and lets one produce request of the connector through at a time (kafkajs loses track of sequence numbers under concurrent sends, kafkajs#598), which lowers throughput. Off because kafkajs marks it experimental.'),
  retry: retry.default(RETRY_DEFAULT).describe('kafkajs\'s own retries of a request on retriable errors (connect, metadata and produce requests), before it fails as retriable and the action\'s `maxRetries` and `retryBackoff` take over. Short by default (2 retries, 100 ms doubling up to 1 s) so that a request does not sleep inside kafkajs while the broker is already back: the action retries as soon as the connector\'s metadata probe (every 500 ms) sees Kafka answer.'),
  schemaRegistry: schemaRegistry.optional(),
}).describe('One kafkajs connection, shared by every action that names the connector.').superRefine((config, ctx) => {
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
    // The runtime has already routed on it; accepted so that the whole action entry passes this strict schema.
    connector: z.string().optional().describe('Id of the connector the action writes through.'),
    topic: z.string().min(1)
      .describe('Kafka topic, a template: `emqx`, `t-${payload.site}`. A placeholder without a value fails that record (not retriable): it is never sent to a topic such as `t-`.')
      .meta({ examples: ['emqx', 't-${payload.site}'] }),
    key: z.string().default('${clientid}').describe('Record key template; an empty rendering gives a null key.'),
    value: z.string().default('${.}')
      .describe('Record value template; `${.}` is the whole rule output as JSON. An empty rendering is an empty value, not a null (a null would be a tombstone in a compacted topic).')
      .meta({ examples: ['${.}', '{"temp": ${temp}, "hum": ${hum}}'] }),
    timestamp: z.string().default('${timestamp}').describe('Record timestamp template, milliseconds since the epoch; anything that is not an integer (missing, a date string) falls back to the time of sending.'),
    check: z.strictObject({
      key: z.enum(['none', 'json']).default('none').describe('`json`: a rendered key must be one valid JSON text (an empty key, sent as a null key, passes).'),
      value: z.enum(['none', 'json']).default('none').describe('`json`: a rendered value must be one valid JSON text.'),
    }).default({ key: 'none', value: 'none' })
      .describe('Checks of the rendered record before it is sent; beyond EMQX, which sends whatever the templates render. A record that fails a check is not sent: its send fails (not retriable), so it is counted `failed` and `rejected.invalid_json`, goes to the fallback actions, and the warning says where the text stops being JSON. Off (`none`) by default, as in EMQX.')
      .meta({ examples: [{ value: 'json' }, { key: 'json', value: 'json' }] }),
    valueSchema: z.strictObject({
      type: z.enum(['avro', 'json']).describe('`avro` (Apache Avro binary) or `json` (JSON Schema; the value is the output as JSON text).'),
      schema: z.union([z.string().min(1), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional()
        .describe('The schema, as a map or its JSON text: registered under the subject (POST /subjects/{subject}/versions, which gives the id of an identical schema already there). Left out: the subject\'s latest version in the registry is used (GET /subjects/{subject}/versions/latest).')
        .meta({ examples: [{ type: 'record', name: 'Reading', fields: [{ name: 'clientid', type: 'string' }, { name: 'temp', type: 'double' }] }] }),
      subject: z.string().min(1).optional().describe('The registry subject; defaults to `<topic>-value` (TopicNameStrategy) of each record\'s topic.'),
    }).optional()
      .describe('Encode the record value, the whole rule output, with an Avro schema or JSON Schema in the Confluent wire format (byte 0, the 4-byte big-endian schema id, the encoded output) against the connector\'s `schemaRegistry`. Replaces the `value` template. An output that does not fit the schema fails the record (not retriable; `rejected.schema`, fallbacks); while the registry cannot be reached the records wait and the connector reports `disconnected` with the reason.'),
    headers: z.string().regex(SINGLE_PLACEHOLDER, 'must be a single placeholder such as "${pub_props}"').optional()
      .describe('One placeholder yielding a map, a [{key, value}] list, or their JSON text, e.g. `${pub_props}`; its entries become record headers. Any other value fails the record (not retriable).')
      .meta({ examples: ['${pub_props}'] }),
    extHeaders: z.array(z.strictObject({
      key: z.string().min(1).describe('Header name template.'),
      value: z.string().describe('Header value template.'),
    })).default([])
      .describe('Extra record headers, e.g. `[{ key: source, value: "sluice-${clientid}" }]`; an entry whose key renders empty is left out.'),
    headerValueEncodeMode: z.enum(['none', 'json']).default('none').describe('How values from `headers` are written: `none` = strings as they are, numbers and booleans as text, maps as JSON; `json` = every value as JSON (strings quoted).'),
    userPropertiesAsHeaders: z.boolean().default(true).describe('Copy the MQTT 5 user properties of the message into record headers (a key sent twice stays two headers). EMQX needs `${pub_props}` in `headers` for this; turn it off if you map `${pub_props}` there yourself.'),
    requiredAcks: z.enum(['all', 'leader', 'none']).default('all').describe('Acknowledgement Kafka gives before a record counts as stored: `all` in-sync replicas (-1), the `leader` only (1), or `none` (0).'),
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none').describe('Compression of produce requests; the codecs are described in docs/kafka.md (Compression).'),
    partitionStrategy: z.enum(['random', 'key_dispatch', 'round_robin']).default('random').describe('`random` (among partitions that have a leader), `round_robin`, or `key_dispatch` (murmur2 of the key as the Java client computes it, so other producers put the same key on the same partition; a null key goes round-robin).'),
    partitionsLimit: z.number().int().positive().optional().describe('Produce only to partitions 0..N-1 of the topic; all partitions when absent.'),
    maxBatchBytes: byteSize.default(896 * 1024).describe('Upper bound of one produce request, estimated from key, value and headers (one partition\'s batch, or the batches of one topic\'s partitions that share a leader); a single larger record still goes, alone. Bytes or a size such as `896KB`.'),
    // 500 keeps kafkajs's quadratic grouping cheap while still amortising the round trip.
    maxBatchRecords: z.number().int().positive().default(500).describe('Upper bound of records in one produce request: kafkajs groups a request\'s records by partition in time quadratic in their number, so very large requests cost more CPU than they save.'),
    maxLingerTime: duration.default(0).describe('Wait this long for more records before sending: milliseconds or a duration such as `5ms`. 0 sends on the next turn of the event loop, so records that arrive together share a request without delaying any of them.'),
    queryMode: z.enum(['async', 'sync']).default('async').describe('`async`: a produce request waits for Kafka\'s reply as long as the connector\'s `requestTimeout` and `retry` allow. `sync`: a request unanswered after `syncQueryTimeout` fails its records at once as retriable (retried as `maxRetries` allows, or left to the MQTT broker when retries are used up), which bounds how long a message\'s acknowledgement can wait on one request; a later reply counts `late_reply`. The retry and the partition\'s next records still wait for that late reply (or the connector\'s `requestTimeout`): kafkajs keeps the request open, and a second request of the partition beside it could reorder the partition. Either way a send resolves only when Kafka has the record, and up to `maxInflight` requests run.'),
    syncQueryTimeout: duration.default(5_000).describe('The reply deadline of a produce request in `sync` query mode: milliseconds or a duration; more than 0.'),
    maxLingerBytes: byteSize.default(10 * 1024 ** 2).describe('A partition\'s batch is sent once its waiting records reach this many estimated bytes, without waiting out `maxLingerTime` (EMQX `max_linger_bytes`). The effective value is the smaller of this and `maxBatchBytes`; a batch also goes at `maxBatchRecords` records. Bytes or a size such as `10MB`.'),
    maxInflight: z.number().int().positive().default(10).describe('Produce requests of this action awaiting Kafka\'s reply, across all its partitions. A partition has at most one request in flight at a time, which keeps the order of its records at any `maxInflight`; more partitions than `maxInflight` take turns.'),
    buffer: z.strictObject({
      limit: byteSize.default(256 * 1024 ** 2).describe('Estimated heap the records the action holds in memory may take, all partitions together: waiting (for a partition, a request slot, or a topic\'s metadata), in flight or back for a retry; `overflow` applies past it. A record counts its key, value and headers plus about 1.3 KB and its MQTT payload (the objects around it; docs/kafka.md, Buffering). `perPartitionLimit` bounds one partition. A record larger than the limit still goes when the buffer is empty. Bytes or a size such as `256MB`.'),
      perPartitionLimit: byteSize.optional().describe('Estimated heap the records of one partition may take, counted as for `limit` (EMQX `buffer.per_partition_limit`): past it, `overflow` applies to the records of that partition only, so one slow or failing partition cannot fill `limit` for the others. With `overflow: backpressure` a send held for a full partition also holds the sends that came after it (held sends are let in in arrival order) and keeps its MQTT message unacknowledged, so the others flow on only with `drop_oldest` or `drop_newest`. Absent: no limit beyond `limit`. Bytes or a size such as `16MB`.'),
      overflow: z.enum(['backpressure', 'drop_oldest', 'drop_newest']).default('backpressure').describe('When full: `backpressure` holds new sends (the source keeps the MQTT acknowledgement, the broker keeps the data); `drop_oldest` drops the oldest records still waiting (not those in flight; when nothing waits, the new one); `drop_newest` drops the new record. A dropped record\'s send resolves (its message is acknowledged) and is counted `dropped.queue_full`. EMQX only drops the oldest.'),
      maxBatchAge: durationOrInfinity.default(Number.POSITIVE_INFINITY).describe('A record that waited longer than this since it was accepted is dropped instead of sent (its send resolves; counted `dropped.expired`); checked whenever the action is about to send, so also after an outage. Milliseconds, a duration, or `infinity` to keep it.'),
      mode: z.enum(['memory', 'disk', 'hybrid']).default('memory').describe('`memory`: lost on restart. `disk`: a record is appended to a segment file under `buffer.dir` (and fdatasync\'d) before its send resolves, and what Kafka had not acknowledged is sent again when the connector next starts; templated topics included (EMQX refuses a disk buffer with a templated topic). `hybrid`: records stay in memory while `limit` allows (their sends resolve on Kafka\'s ack); past that they are appended to the disk log (their sends resolve once written) up to `diskLimit`, and read back into memory, oldest first, as room frees, so a long outage does not stop intake; order is kept. A topic Kafka fails or does not have has its records parked: written to the log only as they come (sends resolve once written), and read back once it answers, while the other topics stay in memory, so one missing topic neither stops the others nor fills memory.'),
      dir: z.string().min(1).optional().describe('Directory of the disk buffers; each action writes to a subdirectory named after its id: the id with characters other than letters, digits, `.`, `_`, `-` as `_` (at most 64), `+` and a hash of the exact id, e.g. `temp_hum_kafka+3c1f…`, so two ids never share one. Required with `mode: disk` or `hybrid`. An action created through the REST API may set it only inside `http.dataDir`.'),
      segmentBytes: byteSize.default(10 * 1024 ** 2).describe('A disk buffer\'s segment file is closed and a new one started past this size; a segment is deleted once Kafka has acknowledged all its records. Bytes or a size such as `10MB`.'),
      diskLimit: byteSize.default(1024 ** 3).describe('`hybrid` only: estimated bytes of the records waiting on disk, spilled (for room in memory) or parked (for their topic); past it, `overflow` applies (`backpressure` or `drop_newest`; `drop_oldest` is refused, the oldest records being on disk and already acknowledged). Bytes or a size such as `1GB`.'),
    }).default({ limit: 256 * 1024 ** 2, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, mode: 'memory', segmentBytes: 10 * 1024 ** 2, diskLimit: 1024 ** 3 })
      .describe('The action\'s buffer of records accepted and not yet acknowledged by Kafka (see "Buffering" in docs/kafka.md).'),
    maxRetries: z.union([z.number().int().nonnegative(), z.literal('infinity').transform(() => Number.POSITIVE_INFINITY)])
      .default(Number.POSITIVE_INFINITY)
      .describe('Times a record is sent again after a retriable failure (each try a whole kafkajs send with the connector\'s `retry`). Exhausted: the send fails as retriable (the MQTT message stays with the broker), counted `retried.failed`. A number or `infinity`, which is sound because the buffer back-pressures the source instead of growing; must be `infinity` with a disk buffer.'),
    retryBackoff: z.strictObject({
      initial: duration.default(1_000).describe('First pause: milliseconds or a duration.'),
      max: duration.default(30_000).describe('Longest pause: milliseconds or a duration.'),
    }).default({ initial: 1_000, max: 30_000 })
      .describe('Pause of a partition\'s sending after a retriable failure; the action\'s other partitions keep sending. The partition waits at least `initial`, then retries as soon as the connector\'s metadata probe (every 500 ms) finds Kafka answering for its topic; if Kafka answers but the request fails again, the pause doubles, up to `max`. Reset by a success.'),
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
    if (settings.valueSchema !== undefined && settings.value !== '${.}') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'leave value out with valueSchema: the value is the rule output encoded with the schema (shape it in the rule\'s SELECT)' });
    }
    if (settings.valueSchema !== undefined && settings.check.value !== 'none') {
      ctx.addIssue({ code: 'custom', path: ['check', 'value'], message: 'must be "none" with valueSchema: the schema decides what a value may hold' });
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
