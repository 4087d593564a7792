// core's connector contract suite on the example's WebhookConnector, against a real (local) HTTP server: what a
// plugin author runs on their own connector. The server answers what the test says, to provoke each failure.
import { afterEach, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkConnectorContract } from '@sluice/core/testing';
import { compileTemplate } from '@sluice/sql';
import { WebhookConnector } from '../src/webhook-connector';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

it('passes the connector contract: 5xx and an unreachable server are retriable, 4xx is final', async () => {
  let status = 200;
  let stored = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (status < 300) stored++;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const answer = (code: number) => ({ arrange: () => void (status = code), restore: () => void (status = 200) });

  await checkConnectorContract(() => new WebhookConnector('hook', url), { path: '/records' }, { compileTemplate }, {
    stored: () => stored,
    invalidActionSettings: [{ path: 42 }, { body: { template: '${.}' } }],
    failures: { retriable: answer(503), final: answer(400) },
  });
  // nothing listens on port 1: the POST itself fails, which is retriable too
  await checkConnectorContract(() => new WebhookConnector('hook', url), { path: '/records' }, { compileTemplate }, {
    stored: () => stored,
    failures: { retriable: { makeConnector: () => new WebhookConnector('down', 'http://127.0.0.1:1') } },
  });
});
