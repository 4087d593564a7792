import { parseConfig } from '@sluice/core';
import { z } from 'zod';

const DEFAULT_PORT = 5432;

/** 'db.example.com', 'db:6432' or '[::1]:5432' → the same with the port always written. */
const server = z.string().transform((value, ctx) => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+)(?::(\d+))?$/.exec(value.trim());
  const port = match?.[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host or host:port (the port 1-65535), e.g. "127.0.0.1:5432"' });
    return z.NEVER;
  }
  return `${match[1] as string}:${port}`;
});

const ssl = z.strictObject({
  enable: z.boolean().default(true).describe('Connect over TLS.'),
  ca: z.string().min(1).optional()
    .describe("PEM of the CA that signed the server certificate; without it, Node's bundled public CAs are trusted."),
  rejectUnauthorized: z.boolean().default(true)
    .describe('Verify the server certificate (and its host name). Turn off only for a test server with a self-signed certificate.'),
});

/** One `connectors[]` entry of `type: postgres` (its `type` left out). */
export const PostgresConnectorConfig = z.strictObject({
  id: z.string().min(1).describe('Unique connector id; actions name it as their `connector`.').meta({ examples: ['warehouse'] }),
  server: server.describe('host:port of the PostgreSQL server; the port defaults to 5432.').meta({ examples: ['127.0.0.1:5432', 'db.internal'] }),
  database: z.string().min(1).describe('Database to connect to.').meta({ examples: ['iot'] }),
  username: z.string().min(1).describe('Role to log in as.').meta({ examples: ['sluice'] }),
  password: z.string().min(1).optional()
    .describe('Password of the role. A secret: it never appears in logs, errors or metrics. Leave it out for trust or peer authentication.'),
  ssl: ssl.optional().describe('TLS to the server; left out, the connection is plain TCP.'),
  poolSize: z.number().int().min(1).max(1000).default(8)
    .describe('Connections kept open; batches of all actions of the connector are written over them in parallel.'),
  connectTimeoutMs: z.number().int().positive().default(5_000)
    .describe('How long connecting (TCP, TLS and authentication) may take before it counts as failed (retriable).'),
  queryTimeoutMs: z.number().int().positive().default(15_000)
    .describe('How long one statement may wait for its answer before the write fails as retriable.'),
});
export type PostgresConnectorOptions = z.input<typeof PostgresConnectorConfig>;
export type PostgresConnectorConfig = z.output<typeof PostgresConnectorConfig>;

/** The settings of one action on a postgres connector (`rules[].actions[]`, `connector` left out). */
export const PostgresActionSettings = z.strictObject({
  sql: z.string().min(1)
    .describe('The statement run per rule output. Each ${path} placeholder becomes a bind parameter ($1, $2 ...), never SQL text; '
      + 'a missing value binds NULL. An INSERT ... VALUES (...) is batched into one multi-row INSERT.')
    .meta({ examples: ['INSERT INTO temp_hum(clientid, temp, hum, ts) VALUES (${clientid}, ${temp}, ${hum}, to_timestamp(${timestamp}::double precision / 1000))'] }),
  batchSize: z.number().int().min(1).max(10_000).default(100)
    .describe('At most this many outputs are written together (one multi-row INSERT, or one transaction).'),
  batchTimeMs: z.number().int().min(0).max(60_000).default(5)
    .describe('How long the first output of a batch waits for others before the batch is written.'),
});
export type PostgresActionOptions = z.input<typeof PostgresActionSettings>;
export type PostgresActionSettings = z.output<typeof PostgresActionSettings>;

export function parsePostgresConnectorConfig(input: PostgresConnectorOptions): PostgresConnectorConfig {
  return parseConfig('postgres', PostgresConnectorConfig, input);
}

export function parsePostgresActionSettings(input: unknown, actionId: string): PostgresActionSettings {
  return parseConfig(`postgres action "${actionId}"`, PostgresActionSettings, input);
}

/** 'h:5432' or '[::1]:5432' (normalised by the schema) → host and port. */
export function hostAndPort(address: string): { readonly host: string; readonly port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
