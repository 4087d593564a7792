import { createServer, type Server } from 'node:http';
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

  // The service's own routes; Sluice's numbers are just data it can serve.
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      const connectors = sluice.status();
      const ready = Object.values(connectors).every((s) => s.state === 'connected');
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, connectors }));
    } else if (req.url === '/pipeline') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sluice.metrics.snapshot()));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));

  return {
    server,
    sluice,
    // One shutdown for the whole service: stop taking requests, then let Sluice drain its in-flight messages.
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await sluice.stop();
    },
  };
}

if (require.main === module) {
  void startService({ port: 3000, mqttUrl: 'mqtt://127.0.0.1:1883', mqttClientId: 'my-service-sluice', kafkaBootstrap: '127.0.0.1:19092', kafkaTopic: 'telemetry', deviceRoot: 'devices' }).then((service) => {
    process.once('SIGTERM', () => void service.close());
    process.once('SIGINT', () => void service.close());
  });
}
