import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ConnectionTestReport, ConnectionTestStage } from '@sluice/core';
import { Client } from 'pg';
import { hostAndPort, type PostgresConnectorConfig } from './postgres-config';
import { redact } from './postgres-errors';
import { clientSettings } from './postgres-pool';

/** The number a PostgreSQL client sends to ask for TLS before the startup message (protocol 1234.5679). */
const SSL_REQUEST_CODE = 80_877_103;

/**
 * The staged connection test: TCP → TLS (PostgreSQL's SSLRequest, then the handshake and the certificate
 * check) → authentication (a real login with the configured role) → database (`SELECT 1` in it). Stops at
 * the first failing stage; details say what to change and never hold the password. Never throws for an
 * unreachable server.
 */
export async function testPostgresConnection(config: PostgresConnectorConfig): Promise<ConnectionTestReport> {
  const stages: ConnectionTestStage[] = [];
  const finish = (): ConnectionTestReport => ({ connectorId: config.id, ok: stages.every((s) => s.ok), stages });
  const fail = (stage: string, detail: string): ConnectionTestReport => {
    stages.push({ stage, ok: false, detail: redact(detail, config.password) });
    return finish();
  };
  const { host, port } = hostAndPort(config.server);

  // 1. TCP
  const tcp = await withSocket(host, port, config.connectTimeoutMs, async () => undefined);
  if (!tcp.ok) return fail('tcp', `cannot reach ${config.server}: ${socketHint(tcp, config.connectTimeoutMs)}`);
  stages.push({ stage: 'tcp', ok: true, detail: `reached ${config.server}` });

  // 2. TLS
  if (config.ssl?.enable === true) {
    const tls = await tlsStage(host, port, config);
    if (tls !== undefined) return fail('tls', tls);
    stages.push({ stage: 'tls', ok: true, detail: config.ssl.rejectUnauthorized
      ? `TLS handshake done; certificate verified against ${config.ssl.ca === undefined ? "Node's bundled public CAs" : 'the configured CA'}`
      : 'TLS handshake done; the certificate was NOT verified (ssl.rejectUnauthorized is false)' });
  }

  // 3. authentication, 4. database
  const client = new Client(clientSettings(config));
  client.on('error', () => {}); // a connection lost after the test is of no interest
  try {
    try {
      await client.connect();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '3D000') {
        stages.push({ stage: 'authentication', ok: true, detail: `logged in as "${config.username}"` });
        return fail('database', `database "${config.database}" does not exist on ${config.server}: create it, or fix database`);
      }
      return fail('authentication', authenticationHint(config, error));
    }
    stages.push({ stage: 'authentication', ok: true, detail: `logged in as "${config.username}"` });
    try {
      const result = await client.query<{ version: string }>('SELECT 1, current_setting(\'server_version\') AS version');
      stages.push({ stage: 'database', ok: true, detail: `database "${config.database}" answers SELECT 1 (PostgreSQL ${result.rows[0]?.version ?? 'unknown'})` });
    } catch (error) {
      return fail('database', `SELECT 1 in database "${config.database}" failed: ${messageOf(error)}`);
    }
    return finish();
  } finally {
    await client.end().catch(() => undefined);
  }
}

type SocketResult = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

/** Connects, runs `body` on the socket, closes; a failure or a timeout becomes a result, never a throw. */
function withSocket(host: string, port: number, timeoutMs: number, body: (socket: Socket) => Promise<string | undefined>): Promise<SocketResult & { readonly answer?: string }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    let settled = false;
    const done = (result: SocketResult & { readonly answer?: string }): void => {
      if (settled) return;
      settled = true;
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code ?? 'ERROR', message: error.message }));
    socket.once('connect', () => {
      body(socket).then(
        (answer) => done(answer === undefined ? { ok: true } : { ok: true, answer }),
        (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code ?? 'ERROR', message: error.message }),
      );
    });
  });
}

/** SSLRequest, the server's one-byte answer, then the handshake on the same socket. Undefined when it worked. */
async function tlsStage(host: string, port: number, config: PostgresConnectorConfig): Promise<string | undefined> {
  const ssl = config.ssl as NonNullable<PostgresConnectorConfig['ssl']>;
  const result = await withSocket(host, port, config.connectTimeoutMs, async (socket) => {
    const answer = await new Promise<string>((resolve, reject) => {
      socket.once('data', (data: Buffer) => resolve(data.subarray(0, 1).toString('latin1')));
      socket.once('close', () => reject(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' })));
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(SSL_REQUEST_CODE, 4);
      socket.write(request);
    });
    if (answer !== 'S') return answer;
    const options: ConnectionOptions = {
      socket,
      rejectUnauthorized: ssl.rejectUnauthorized,
      ...(ssl.ca === undefined ? {} : { ca: ssl.ca }),
      ...(isIP(host) === 0 ? { servername: host } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const secure = tlsConnect(options, () => {
        secure.destroy();
        resolve();
      });
      secure.once('error', reject);
    });
    return 'S';
  });
  if (result.ok && result.answer === 'S') return undefined;
  if (result.ok) return `${config.server} does not accept TLS (it answered the SSLRequest with "N"): enable ssl on the server, or leave out ssl`;
  if (result.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server certificate does not carry the host name "${host}": ${result.message}`;
  if (/CERT|SELF_SIGNED|UNABLE_TO/.test(result.code)) {
    return `certificate not trusted (${result.code}): give the CA that signed the server certificate as ssl.ca${ssl.ca === undefined ? ' (none is configured, so only public CAs are trusted)' : ''}`;
  }
  return `TLS handshake with ${config.server} failed (${result.code}): ${result.message}`;
}

function authenticationHint(config: PostgresConnectorConfig, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  if (code === '28P01') {
    return `password authentication failed for role "${config.username}": check username and password (the password is not shown)`;
  }
  if (code === '28000') {
    return `the server refused role "${config.username}" (${message}): check pg_hba.conf on the server for an entry for this host, role and database, and that the role may log in`;
  }
  if (config.password === undefined && /password/i.test(message)) {
    return `the server asks role "${config.username}" for a password, and none is configured: set password`;
  }
  if (code === '53300') return `the server has no connection slot left (too many connections): lower poolSize here or raise max_connections there`;
  if (/timeout/i.test(message)) return `no login within ${config.connectTimeoutMs} ms (connectTimeoutMs): ${message}`;
  return `login as "${config.username}" failed: ${message}`;
}

function socketHint(result: { code: string; message: string }, timeoutMs: number): string {
  switch (result.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve: check server';
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens on that port; check the port and that PostgreSQL runs (listen_addresses)';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs} ms (connectTimeoutMs): a firewall, a wrong address, or a host that is down`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host: check the address and the network';
    default:
      return `${result.code}: ${result.message}`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
