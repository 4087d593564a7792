// The custom connector example against a real Mosquitto and a real (local) HTTP server.
import { afterEach, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Integration } from '@sluice/core';
import { mqttUrl, publish, randomName } from '@sluice/testkit';
import { createWebhookBridge } from '../src/main';

let app: Integration | undefined;
let server: Server | undefined;
afterEach(async () => {
  await app?.stop();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

it('POSTs the hot readings to the webhook and acknowledges the rest at once', async () => {
  const received: Array<{ url: string; body: string }> = [];
  let answer = 500;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body });
      // The first POST fails with a 5xx (the message must come back and succeed). It answers late, so the
      // cool reading published right after has surely reached Sluice, waiting behind it unacknowledged.
      const status = answer;
      answer = 200;
      setTimeout(() => res.writeHead(status).end(), status === 500 ? 300 : 0);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const prefix = randomName('sensors');

  app = await createWebhookBridge({ mqttUrl: mqttUrl(), webhookUrl: `http://127.0.0.1:${port}`, filter: `${prefix}/#`, clientId: randomName('webhook-example') });
  await app.start();
  await publish(mqttUrl(), `${prefix}/a`, ['{"temp": 35}', '{"temp": 20}'], { qos: 1 });
  await waitFor(() => received.length >= 2);
  // the webhook has the second POST before Sluice has its answer: wait until both sends are counted
  await waitFor(() => {
    const rule = app?.metrics.rule('hot');
    return rule !== undefined && rule['actions.success'] + rule['actions.failed'] >= 2;
  });

  // The 5xx left the message with the broker, which delivered it again: same body, twice.
  expect(received).toEqual([
    { url: '/alerts', body: `{"sensor": "${prefix}/a", "temp": 35}` },
    { url: '/alerts', body: `{"sensor": "${prefix}/a", "temp": 35}` },
  ]);
  // Acknowledgements go out in order, so the cool reading behind the refused one came back too: both
  // were evaluated twice. The cool one never reaches the webhook.
  expect(app.metrics.rule('hot')).toMatchObject({ matched: 4, passed: 2, 'failed.no_result': 2, 'actions.failed': 1, 'actions.success': 1 });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
