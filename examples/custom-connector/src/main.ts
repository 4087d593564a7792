import { createIntegration, connectorModule, type Integration } from '@sluice/core';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { WebhookConnector } from './webhook-connector';

export { WebhookConnector } from './webhook-connector';

export interface ExampleOptions {
  readonly mqttUrl: string;
  readonly webhookUrl: string;
  /** MQTT topic filter of the rule. */
  readonly filter: string;
  /** Fixed client id: the broker keeps this session's unacknowledged messages across reconnects. */
  readonly clientId?: string;
}

/** Composes an MQTT source, the SQL engine and the webhook connector; alerts on hot readings only. */
export async function createWebhookBridge(options: ExampleOptions): Promise<Integration> {
  return createIntegration({
    modules: [
      // A persistent session (the default for QoS 1): a message the webhook refused with a 5xx is redelivered.
      mqttModule({ id: 'sensors', url: options.mqttUrl, protocolVersion: 5, clientId: options.clientId ?? 'sluice-webhook-example' }),
      sqlModule(),
      connectorModule(new WebhookConnector('webhook', options.webhookUrl)),
    ],
    rules: [{
      id: 'hot',
      sql: `SELECT topic, payload.temp as temp FROM "${options.filter}" WHERE payload.temp > 30`,
      actions: [{ connector: 'webhook', path: '/alerts', body: '{"sensor": "${topic}", "temp": ${temp}}' }],
    }],
  });
}

// `npm start -w @sluice-examples/custom-connector` runs it against local services until Ctrl-C.
if (require.main === module) {
  void (async () => {
    const app = await createWebhookBridge({ mqttUrl: 'mqtt://127.0.0.1:1883', webhookUrl: 'http://127.0.0.1:8080', filter: 'sensors/#' });
    await app.start();
    process.once('SIGINT', () => void app.stop());
  })();
}
