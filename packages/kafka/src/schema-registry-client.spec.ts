import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchemaRegistryClient, SchemaRegistryError } from './schema-registry-client';

/** A local registry stand-in that answers 200 and then trickles one space every 50 ms, never ending the body. */
async function tricklingServer(): Promise<{ server: Server; url: string; closed: Array<Promise<void>> }> {
  const closed: Array<Promise<void>> = [];
  const server = createServer((_req, res) => {
    closed.push(new Promise((resolve) => res.on('close', () => resolve())));
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, closed };
}

describe(SchemaRegistryClient.name, () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it('gives up a call whose answer trickles in past requestTimeout (an overall deadline, not an idle one)', async () => {
    const trickling = await tricklingServer();
    server = trickling.server;
    const client = new SchemaRegistryClient({ url: trickling.url, timeoutMs: 400 });
    const outcome = await client.register('readings-value', '"string"', 'AVRO').then(
      () => 'answered',
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(SchemaRegistryError);
    expect([(outcome as SchemaRegistryError).retriable, (outcome as Error).message]).toEqual([
      true,
      `schema registry ${trickling.url}: no complete answer within 400 ms while registering the schema under subject "readings-value"`,
    ]);
    // the request was torn down, so the registry's side sees its connection close (else this times out)
    expect(trickling.closed).toHaveLength(1);
    await trickling.closed[0];
  }, 4000);
});
