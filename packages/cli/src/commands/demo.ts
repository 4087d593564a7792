import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { createIntegration, silentLogger, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttBrokerModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { CliError, ExitCode } from '../exit-codes';
import { releaseLocalKafka, startLocalKafka, stopCommand, type KafkaOrigin } from './demo-kafka';
import type { CommandIo } from './io';

export const demoHelp = `Usage: sluice demo [options]

Runs the temperature/humidity flow end to end on this machine: an embedded MQTT broker, a local Kafka
broker (started from Maven Central jars by the project's scripts, unless --kafka is given), three
simulated devices, the rule

  SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"

with a Kafka action (topic emqx, key \${clientid}, value {"temp": \${temp}, "hum": \${hum}}), a live
consumer printing what lands in topic emqx, and the rule/action statistics. Ctrl-C stops everything.

When the demo ends (Ctrl-C, SIGTERM, --duration, or an error) it stops the local Kafka broker if it
started it (waiting for the JVM to exit, at most 40 s). A local broker that was already running (started
by npm run kafka:start, a test run, another demo) is left running, and the demo says how to stop it
(npm run kafka:stop); so is a --kafka broker.

Options:
  --kafka <host:port>   use this Kafka (PLAINTEXT) instead of starting the local one
  --keep-kafka          leave the local Kafka broker running at the end even if the demo started it
  --mqtt-port <port>    port of the embedded MQTT broker (default 1884; 1883 is usually Mosquitto)
  --duration <seconds>  stop by itself after this long (exit 1 if no record came back from Kafka)
  --interval <ms>       how often each device publishes (default 1000)
  -h, --help            this help

Exit codes: 0 stopped (Ctrl-C, or --duration ended with records read back), 1 --duration ended and no
record came back from Kafka, 2 bad option or no local Kafka script, 3 the local Kafka broker did not start.`;

const RULE_SQL = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"';
const DEVICES = ['sensor-1', 'sensor-2', 'sensor-3'];

export async function demo(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      kafka: { type: 'string' },
      'keep-kafka': { type: 'boolean' },
      'mqtt-port': { type: 'string', default: '1884' },
      duration: { type: 'string' },
      interval: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(demoHelp);
    return ExitCode.ok;
  }
  const mqttPort = positiveInt('--mqtt-port', values['mqtt-port']);
  const intervalMs = positiveInt('--interval', values.interval);
  const durationMs = values.duration === undefined ? undefined : positiveInt('--duration', values.duration) * 1000;
  const keepKafka = values['keep-kafka'] === true;

  // Listening from the start: a Ctrl-C while Kafka starts must still lead to the cleanup below.
  const stop = stopOnSignal(io);
  try {
    const origin: KafkaOrigin = values.kafka !== undefined ? { kind: 'given', bootstrap: values.kafka } : await startLocalKafka(io);
    try {
      return await runFlow(origin.bootstrap, { mqttPort, intervalMs, durationMs }, stop, io);
    } finally {
      await releaseLocalKafka(origin, keepKafka, io);
    }
  } finally {
    stop.dispose();
  }
}

interface StopSignal {
  readonly requested: Promise<void>;
  isRequested(): boolean;
  request(): void;
  dispose(): void;
}

/**
 * `npm run demo` sends one Ctrl-C twice (the terminal's SIGINT and the one npm forwards to its child): only a
 * signal this long after the first counts as a second, impatient one.
 */
const FORCE_AFTER_MS = 2000;

/** SIGINT/SIGTERM request a clean stop; a second one (later than FORCE_AFTER_MS) gives up on the cleanup and exits at once. */
function stopOnSignal(io: CommandIo): StopSignal {
  let requested = false;
  let firstSignalAt = 0;
  let resolveRequested = (): void => {};
  const promise = new Promise<void>((r) => {
    resolveRequested = r;
  });
  const request = (): void => {
    requested = true;
    resolveRequested();
  };
  const onSignal = (): void => {
    if (firstSignalAt !== 0 && Date.now() - firstSignalAt < FORCE_AFTER_MS) return;
    if (firstSignalAt !== 0) {
      io.err(`sluice demo: stopping without cleaning up; the local Kafka broker may still be running: \`${stopCommand(process.env)}\` stops it`);
      process.exit(130);
    }
    firstSignalAt = Date.now();
    io.out('\nstopping...');
    request();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: promise,
    isRequested: () => requested,
    request,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

interface FlowOptions {
  readonly mqttPort: number;
  readonly intervalMs: number;
  readonly durationMs: number | undefined;
}

/** The MQTT → rule → Kafka flow with its consumer, until a signal or --duration; everything it opens it closes. */
async function runFlow(bootstrap: string, opts: FlowOptions, stop: StopSignal, io: CommandIo): Promise<number> {
  const { mqttPort, intervalMs, durationMs } = opts;
  if (stop.isRequested()) return ExitCode.ok;
  const kafka = new Kafka({ clientId: 'sluice-demo', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  await ensureTopic(kafka, 'emqx');

  const app = await createIntegration({
    modules: [
      mqttBrokerModule({ id: 'demo-broker', host: '127.0.0.1', port: mqttPort }),
      sqlModule(),
      kafkaModule({ id: 'local-kafka', bootstrapHosts: [bootstrap] }),
    ],
    rules: [{
      id: 'temp_hum',
      sql: RULE_SQL,
      actions: [{ connector: 'local-kafka', id: 'kafka_emqx', topic: 'emqx', key: '${clientid}', value: '{"temp": ${temp}, "hum": ${hum}}' }],
    }],
    logger: silentLogger,
    rateIntervalMs: 1000,
  });

  const consumer = kafka.consumer({ groupId: `sluice-demo-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
  let consumed = 0;
  const devices: mqtt.MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  let started = false;
  try {
    // A new consumer group only reads what arrives after it joined: wait for the assignment first.
    const joined = new Promise<void>((resolveJoin) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
        remove();
        resolveJoin();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'emqx', fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        consumed++;
        io.out(`kafka  emqx[${partition}]  key=${message.key?.toString() ?? 'null'}  value=${message.value?.toString() ?? 'null'}`);
      },
    });
    await Promise.race([joined, stop.requested]);
    if (stop.isRequested()) return ExitCode.ok;

    await app.start();
    started = true;
    io.out(`sluice demo: embedded MQTT broker on mqtt://127.0.0.1:${mqttPort}, Kafka at ${bootstrap}`);
    io.out(`rule temp_hum: ${RULE_SQL}`);
    io.out('devices sensor-1..3 publish to temp_hum/emqx; Ctrl-C to stop\n');

    // The embedded broker (Aedes) speaks MQTT 3.1.1.
    for (const clientId of DEVICES) devices.push(mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId, protocolVersion: 4 }));
    timers.push(setInterval(() => {
      for (const device of devices) {
        const reading = { temp: (20 + Math.random() * 10).toFixed(1), hum: (35 + Math.random() * 20).toFixed(1) };
        device.publish('temp_hum/emqx', JSON.stringify(reading), { qos: 1 });
      }
    }, intervalMs));
    timers.push(setInterval(() => io.out(statsLine(app)), 5000));
    if (durationMs !== undefined) timers.push(setTimeout(stop.request, durationMs));

    await stop.requested;
  } finally {
    for (const timer of timers) clearInterval(timer);
    await Promise.all(devices.map((device) => device.endAsync()));
    // Closes the embedded MQTT broker too (it lives in this process).
    await app.stop();
    if (started) {
      // Give the consumer a moment to print the last records before it leaves.
      await new Promise((r) => setTimeout(r, 1000));
    }
    await consumer.disconnect();
  }
  io.out(statsLine(app));
  io.out(`\n${consumed} record(s) read back from Kafka topic emqx`);
  io.out(`embedded MQTT broker on port ${mqttPort} closed`);
  return consumed > 0 || durationMs === undefined ? ExitCode.ok : ExitCode.failed;
}

function statsLine(app: Integration): string {
  const rule = app.metrics.rule('temp_hum');
  const action = app.metrics.action('kafka_emqx');
  if (rule === undefined || action === undefined) return '';
  return (
    `stats  rule temp_hum: matched=${rule.matched} passed=${rule.passed} failed=${rule.failed} rate=${rule['matched.rate'].current.toFixed(1)}/s` +
    ` | action kafka_emqx: success=${action.success} failed=${action.failed} dropped=${action.dropped} inflight=${action.inflight} queuing=${action.queuing}`
  );
}

async function ensureTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

function positiveInt(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} expects a positive integer, got "${String(text)}"`, ExitCode.invalid);
  return n;
}
