// core's sink contract suite on the example's WebhookSink, against a real (local) HTTP server: what a
// plugin author runs on their own sink. The server answers what the test says, to provoke each failure.
import { afterEach, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkSinkContract } from '@sluice/core/testing';
import { compileTemplate } from '@sluice/sql';
import { WebhookSink } from '../src/webhook-sink';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

it('passes the sink contract: 5xx and an unreachable server are retriable, 4xx is final', async () => {
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

  await checkSinkContract(() => new WebhookSink('hook', url), { path: '/records' }, { compileTemplate }, {
    stored: () => stored,
    invalidActionSettings: [{ path: 42 }, { body: { template: '${.}' } }],
    failures: { retriable: answer(503), final: answer(400) },
  });
  // nothing listens on port 1: the POST itself fails, which is retriable too
  await checkSinkContract(() => new WebhookSink('hook', url), { path: '/records' }, { compileTemplate }, {
    stored: () => stored,
    failures: { retriable: { makeSink: () => new WebhookSink('down', 'http://127.0.0.1:1') } },
  });
});
