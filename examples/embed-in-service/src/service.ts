import type { Server } from 'node:http';
import Fastify from 'fastify';
import { sluiceApi, sluiceConsole } from '@sluice/cli';
import { createIntegration, type Integration, type Logger } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';

export interface ServiceOptions {
  readonly port: number;
  readonly mqttUrl: string;
  readonly mqttClientId: string;
  readonly kafkaBootstrap: string;
  readonly kafkaTopic: string;
  /** First topic level of the devices' telemetry: `<root>/<client id>/telemetry`. */
  readonly deviceRoot: string;
  /** The token Sluice's API (and so its console) asks for; the service reads it from its own secrets. */
  readonly sluiceToken: string;
  /** The built console to serve; default: @sluice/console's own build. */
  readonly consoleAssetsDir?: string | undefined;
}

/** A tiny stand-in for "your existing service": its own routes, its own logger, its own shutdown. */
export interface RunningService {
  readonly server: Server;
  readonly sluice: Integration;
  close(): Promise<void>;
}

// The host's logger, adapted to Sluice's Logger interface (pino or winston adapt the same way).
const hostLogger = (namespace: string): Logger => ({
  debug: () => {},
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', namespace, message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', namespace, message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', namespace, message, ...fields })),
  child: (child) => hostLogger(`${namespace}/${child}`),
});

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const sluice = await createIntegration({
    logger: hostLogger('sluice'),
    modules: [
      mqttModule({ id: 'plant', url: options.mqttUrl, clientId: options.mqttClientId, protocolVersion: 5,
                   identity: { clientid: { topicSegment: `${options.deviceRoot}/{clientid}/telemetry` } } }),
      sqlModule(),
      kafkaModule({ id: 'kafka', bootstrapHosts: [options.kafkaBootstrap] }),
    ],
    rules: [{
      id: 'telemetry',
      sql: `SELECT clientid, payload.temp as temp FROM "${options.deviceRoot}/+/telemetry"`,
      actions: [{ connector: 'kafka', id: 'to_kafka', topic: options.kafkaTopic, value: '{"device": "${clientid}", "temp": ${temp}}' }],
    }],
  });
  await sluice.start();

  const app = Fastify({ logger: false });

  // The service's own routes; Sluice's numbers are just data it can serve.
  app.get('/health', async (_request, reply) => {
    const connectors = sluice.status();
    const ready = Object.values(connectors).every((s) => s.state === 'connected');
    return reply.code(ready ? 200 : 503).send({ ready, connectors });
  });
  app.get('/pipeline', async () => sluice.metrics.snapshot());

  // Sluice's REST API and web console, both under /sluice: the console's pages call `api/...` relative to
  // where they are served, and every /sluice/api/ route needs the token (the console's login page asks for it).
  // Rules changed there live as long as the process: without a config store, connector and source writes
  // answer 501 (this service composes Sluice in code, so its code is the source of truth).
  await app.register(sluiceApi, { prefix: '/sluice', integration: sluice, token: options.sluiceToken, logger: hostLogger('sluice/http') });
  await app.register(sluiceConsole, { prefix: '/sluice', assetsDir: options.consoleAssetsDir });

  // Loopback only: a service reachable from other machines puts TLS in front (a proxy) before the token.
  await app.listen({ host: '127.0.0.1', port: options.port });

  return {
    server: app.server,
    sluice,
    // One shutdown for the whole service: stop taking requests (open console streams are ended), then let
    // Sluice drain its in-flight messages.
    async close() {
      await app.close();
      await sluice.stop();
    },
  };
}

if (require.main === module) {
  const token = process.env['SLUICE_API_TOKEN'];
  if (token === undefined || token === '') {
    console.error('set SLUICE_API_TOKEN: the token the console and the API under /sluice ask for');
    process.exit(2);
  }
  void startService({ port: 3000, mqttUrl: 'mqtt://127.0.0.1:1883', mqttClientId: 'my-service-sluice', kafkaBootstrap: '127.0.0.1:19092', kafkaTopic: 'telemetry', deviceRoot: 'devices', sluiceToken: token }).then((service) => {
    console.log('console: http://127.0.0.1:3000/sluice/');
    process.once('SIGTERM', () => void service.close());
    process.once('SIGINT', () => void service.close());
  });
}
