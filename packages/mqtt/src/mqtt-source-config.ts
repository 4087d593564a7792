import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '@sluice/core';
import { z } from 'zod';
import { compileTopicPattern } from './identity';

const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
export const SECURE_PROTOCOLS = new Set(['mqtts:', 'wss:']);

/** Checks a topic pattern once at config time, so a typo is reported before anything connects. */
function identitySource(field: string) {
  return z.union([
    z.strictObject({ userProperty: z.string().min(1) }),
    z.strictObject({
      topicSegment: z.string().min(1).superRefine((pattern, ctx) => {
        try {
          compileTopicPattern(pattern, field);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    }),
  ], { error: 'expected { userProperty: "<name>" } or { topicSegment: "<pattern with {' + field + '}>" }' });
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
});

/** TLS options of an MQTT client connection; shared by the source and the publish connector. */
export const Tls = z
  .strictObject({
    /** PEM text of the CA(s) to trust instead of the system store. */
    ca: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    /** Client certificate and key (PEM), for brokers that authenticate clients by certificate. */
    cert: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Verify the broker's certificate and host name. Turning it off is for local experiments only. */
    verify: z.boolean().default(true),
    /** Host name to send as SNI and to check the certificate against, when it differs from the URL's. */
    serverName: z.string().min(1).optional(),
  })
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
    /** Unique source id, e.g. 'plant'; also the base of the derived client id. */
    id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only'),
    url: MqttUrl,
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** Fixed client id. Derived from `id` (`sluice-<id>`) when the session is persistent, random otherwise. */
    clientId: z.string().min(1).max(65535).optional(),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    /** QoS of the subscriptions; the broker delivers at most this QoS. */
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    tls: Tls.optional(),
    session: z
      .strictObject({
        /** Keep the session (subscriptions and unacknowledged messages) while Sluice is away. Default: qos >= 1. */
        persistent: z.boolean().optional(),
        /** MQTT 5 only: seconds the broker keeps the session after a disconnect. */
        sessionExpiry: z.number().int().min(1).max(0xffffffff).default(86_400),
      })
      .prefault({}),
    /** Seconds between PINGREQs when idle (0 turns keepalive off, which hides dead connections). */
    keepalive: z.number().int().min(0).max(65535).default(30),
    /** Milliseconds to wait for CONNACK. */
    connectTimeout: z.number().int().min(100).default(30_000),
    /** Milliseconds between reconnection attempts. Must be positive: reconnecting is how redelivery happens. */
    reconnectPeriod: z.number().int().min(100).default(1_000),
    delivery: z.enum(['at-least-once', 'at-most-once']).default('at-least-once'),
    /**
     * Messages handed to the rules and not yet acknowledged. Advertised as Receive Maximum on MQTT 5
     * connections; on 3.1.1 the broker's own limit (Mosquitto: max_inflight_messages, 20) applies too.
     */
    maxInflight: z.number().int().min(1).max(65535).default(20),
    /** Subscribe as `$share/<shareGroup>/<filter>` so several Sluice connections split the load. */
    shareGroup: z.string().min(1).regex(/^[^/+#]+$/, "a share group name cannot contain '/', '+' or '#'").optional(),
    identity: z
      .strictObject({
        clientid: identitySource('clientid').optional(),
        username: identitySource('username').optional(),
      })
      .default({}),
  })
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
    return { ...config, clientId, session: { persistent, sessionExpiry: config.session.sessionExpiry } };
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
