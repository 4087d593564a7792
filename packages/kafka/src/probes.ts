import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** 'h:9092' or '[::1]:9092' → { host, port }; the config schema has already normalised it. */
export function parseHostPort(address: string): HostPort {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

export type ProbeResult = { readonly ok: true; readonly authorized?: boolean } | { readonly ok: false; readonly code: string; readonly message: string };

/** Opens and closes a TCP connection. */
export function tcpProbe({ host, port }: HostPort, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (result: ProbeResult): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` }));
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code ?? 'ERROR', message: error.message }));
  });
}

/** Completes a TLS handshake with the given options (verification included) and closes. */
export function tlsProbe({ host, port }: HostPort, options: ConnectionOptions, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
    const socket = tlsConnect({ ...options, host, port, ...(servername === undefined ? {} : { servername }) });
    const done = (result: ProbeResult): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs} ms` }));
    socket.once('secureConnect', () => done({ ok: true, authorized: socket.authorized }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code ?? 'ERROR', message: error.message }));
    socket.once('close', () => done({ ok: false, code: 'ECONNRESET', message: 'the server closed the connection during the TLS handshake' }));
  });
}
