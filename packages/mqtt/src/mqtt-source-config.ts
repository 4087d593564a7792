import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '@sluice/core';
import { z } from 'zod';
import { compileTopicPattern } from './identity';

const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
export const SECURE_PROTOCOLS = new Set(['mqtts:', 'wss:']);

/** Checks a topic pattern once at config time, so a typo is reported before anything connects. */
function identitySource(field: string, example: string) {
  return z.union([
    z.strictObject({ userProperty: z.string().min(1).describe('Name of the MQTT 5 user property carrying the value.') }),
    z.strictObject({
      topicSegment: z.string().min(1).superRefine((pattern, ctx) => {
        try {
          compileTopicPattern(pattern, field);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }).describe(`Topic pattern with a \`{${field}}\` level, e.g. \`${example}\`.`),
    }),
  ], { error: 'expected { userProperty: "<name>" } or { topicSegment: "<pattern with {' + field + '}>" }' })
    .describe(`\`{ userProperty: <name> }\` (MQTT 5) or \`{ topicSegment: "${example}" }\`.`);
}

/** A broker URL (mqtt, mqtts, ws, wss) without credentials; shared by the source and the publish connector. */
export const MqttUrl = z.string().superRefine((url, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL: expected e.g. mqtt://localhost:1883' });
    return;
  }
  if (!URL_PROTOCOLS.has(parsed.protocol)) {
    ctx.addIssue({ code: 'custom', message: 'the scheme must be mqtt://, mqtts://, ws:// or wss://' });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // URLs end up in logs and status; credentials belong in `username` and `password`.
    ctx.addIssue({ code: 'custom', message: 'put credentials in username/password, not in the URL' });
  }
})
  .describe('Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://`, without credentials.')
  .meta({ examples: ['mqtt://127.0.0.1:1883', 'mqtts://broker.example.com:8883', 'wss://broker.example.com:8084/mqtt'] });

/** TLS options of an MQTT client connection; shared by the source and the publish connector. */
export const Tls = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM text of the CA(s) to trust instead of the system store.'),
    caFile: z.string().min(1).optional().describe('Path of a PEM file with the CA(s) to trust.'),
    cert: z.string().min(1).optional().describe('Client certificate (PEM), for brokers that authenticate clients by certificate.'),
    certFile: z.string().min(1).optional().describe('Path of the client certificate (PEM).'),
    key: z.string().min(1).optional().describe('Client private key (PEM).'),
    keyFile: z.string().min(1).optional().describe('Path of the client private key (PEM).'),
    verify: z.boolean().default(true).describe('Verify the broker\'s certificate and host name. Turning it off is for local experiments only.'),
    serverName: z.string().min(1).optional().describe('Host name to send as SNI and to check the certificate against, when it differs from the URL\'s.'),
  })
  .describe('TLS settings; needs an `mqtts://` or `wss://` URL.')
  .superRefine((tls, ctx) => {
    for (const [inline, file] of [['ca', 'caFile'], ['cert', 'certFile'], ['key', 'keyFile']] as const) {
      if (tls[inline] !== undefined && tls[file] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [file], message: `give either ${inline} or ${file}, not both` });
      }
    }
    const hasCert = tls.cert !== undefined || tls.certFile !== undefined;
    const hasKey = tls.key !== undefined || tls.keyFile !== undefined;
    if (hasCert !== hasKey) {
      ctx.addIssue({ code: 'custom', path: [hasCert ? 'key' : 'cert'], message: 'a client certificate needs both cert and key' });
    }
  });

/** TLS options only make sense with a TLS URL; shared by the source and the publish connector. */
export function checkTlsUrl(config: { readonly url: string; readonly tls?: unknown }, ctx: z.RefinementCtx): void {
  if (config.tls !== undefined && URL.canParse(config.url) && !SECURE_PROTOCOLS.has(new URL(config.url).protocol)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls options need an mqtts:// or wss:// URL' });
  }
}

export const MqttSourceConfig = z
  .strictObject({
    id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only')
      .describe('Unique source id, e.g. `plant`; also the base of the derived client id.'),
    url: MqttUrl,
    username: z.string().min(1).optional().describe('MQTT username.'),
    password: z.string().optional().describe('MQTT password; use `${env:NAME}` or `${file:/path}`.'),
    clientId: z.string().min(1).max(65535).optional().describe('Fixed client id. Derived from `id` (`sluice-<id>`) when the session is persistent, random otherwise.'),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5).describe('4 = MQTT 3.1.1, 5 = MQTT 5 (user properties, Receive Maximum).'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1).describe('QoS of the subscriptions; the broker delivers at most this QoS.'),
    tls: Tls.optional(),
    session: z
      .strictObject({
        persistent: z.boolean().optional().describe('Keep the session (subscriptions and unacknowledged messages) while Sluice is away. Default: true when qos >= 1.'),
        sessionExpiry: z.number().int().min(1).max(0xffffffff).default(86_400).describe('MQTT 5 only: seconds the broker keeps the session after a disconnect.'),
        shareGroupLeave: z.enum(['end-session', 'keep-session']).default('end-session').describe(
          'With `shareGroup`, what a stop does. `end-session`: unsubscribe the shared filters as the stop begins (the broker routes '
          + 'nothing more to this member), wait up to `leaveDrainTimeout` for what was delivered to be acknowledged, then end the '
          + 'session (MQTT 5: DISCONNECT with Session Expiry Interval 0; MQTT 3.1.1 has no such field, the broker keeps the session '
          + 'without subscriptions). If messages are still unacknowledged then, the session is kept for them and a warning says how '
          + 'many. `keep-session`: leave the subscriptions and the session as they are (Mosquitto goes on routing a share of the '
          + 'stream into the offline session). Use `end-session` on Mosquitto and `keep-session` on HiveMQ CE, where the unsubscribe '
          + 'stalled the rest of the group (docs/operations.md, "Scaling out"). Ignored without `shareGroup`: a persistent session '
          + 'outside a share group is always kept.'),
        leaveDrainTimeout: z.number().int().min(0).max(600_000).default(5_000).describe(
          'Milliseconds a leaving share-group member waits, after unsubscribing, for its delivered messages to be acknowledged before it decides whether the session can end.'),
      })
      .prefault({})
      .describe('MQTT session settings.'),
    keepalive: z.number().int().min(0).max(65535).default(30).describe('Seconds between PINGREQs when idle (0 turns keepalive off, which hides dead connections).'),
    connectTimeout: z.number().int().min(100).default(30_000).describe('Milliseconds to wait for CONNACK.'),
    // At least 100: reconnecting is how redelivery happens, so it cannot be turned off.
    reconnectPeriod: z.number().int().min(100).default(1_000).describe('Milliseconds between reconnection attempts.'),
    delivery: z.enum(['at-least-once', 'at-most-once']).default('at-least-once').describe('`at-least-once`: a message is acknowledged to the broker only once every action stored it. `at-most-once`: acknowledged on receipt.'),
    // On 3.1.1 the broker's own limit (Mosquitto: max_inflight_messages, 20) applies too.
    maxInflight: z.number().int().min(1).max(65535).default(20).describe('Messages handed to the rules and not yet acknowledged (advertised as Receive Maximum on MQTT 5).'),
    shareGroup: z.string().min(1).regex(/^[^/+#]+$/, "a share group name cannot contain '/', '+' or '#'").optional()
      .describe('Subscribe as `$share/<shareGroup>/<filter>` so several Sluice instances split the load.'),
    identity: z
      .strictObject({
        clientid: identitySource('clientid', 'devices/{clientid}/telemetry').optional(),
        username: identitySource('username', 'users/{username}/#').optional(),
      })
      .default({})
      .describe('Where the `clientid` and `username` columns come from in client mode (the broker does not forward the publisher\'s identity).'),
  })
  .describe('Client mode: subscribe to an existing MQTT broker (Mosquitto, EMQX, HiveMQ ...).')
  .superRefine((config, ctx) => {
    checkTlsUrl(config, ctx);
    if (config.identity.clientid !== undefined || config.identity.username !== undefined) {
      const usesProperty = [config.identity.clientid, config.identity.username].some((s) => s !== undefined && 'userProperty' in s);
      if (usesProperty && config.protocolVersion !== 5) {
        ctx.addIssue({ code: 'custom', path: ['identity'], message: 'user properties exist only in MQTT 5: set protocolVersion 5 or use topicSegment' });
      }
    }
  })
  .transform((config) => {
    // The session default depends on qos: a QoS 0 subscription has nothing for the broker to keep.
    const persistent = config.session.persistent ?? config.qos >= 1;
    const clientId = config.clientId ?? (persistent ? `sluice-${config.id}` : undefined);
    return { ...config, clientId, session: { ...config.session, persistent } };
  });

export type MqttSourceOptions = z.input<typeof MqttSourceConfig>;
export type MqttSourceConfig = z.output<typeof MqttSourceConfig>;

export const parseMqttSourceConfig = (input: MqttSourceOptions): MqttSourceConfig => parseConfig('mqtt', MqttSourceConfig, input);

/** TLS material read from files, ready for the client. */
export interface TlsMaterial {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** Reads the TLS files once, at module creation, so a missing file is a ConfigError before connecting. */
export function loadTls(config: { readonly tls?: z.output<typeof Tls> | undefined }): TlsMaterial | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const read = (inline: string | undefined, file: string | undefined, path: string): string | Buffer | undefined => {
    if (inline !== undefined) return inline;
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError('mqtt', [{ path: `tls.${path}`, message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }], { cause: error });
    }
  };
  const ca = read(tls.ca, tls.caFile, 'caFile');
  const cert = read(tls.cert, tls.certFile, 'certFile');
  const key = read(tls.key, tls.keyFile, 'keyFile');
  return {
    rejectUnauthorized: tls.verify,
    ...(ca !== undefined && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    ...(tls.serverName !== undefined && { servername: tls.serverName }),
  };
}

/** `mqtts://broker:8883`: scheme, host and port only, safe for logs and error messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(invalid url)';
  }
}
