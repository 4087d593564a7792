// Issue 10 items 1 and 4, through the real path: devices publish to Mosquitto, Sluice's MQTT source takes
// the messages, a rule and a Kafka action (or a republish action) send them on, and what Kafka (or Mosquitto)
// stored is read back. Nothing is mocked.
//  - one device whose MQTT 5 user properties are named `toString`, `constructor`, `__proto__`,
//    `hasOwnProperty` must not make the other devices' records of the same produce request disappear, and
//    its own properties arrive as headers of those exact names;
//  - binary payloads (not UTF-8) arrive byte for byte as Kafka key, value and header value, and republished.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, type Integration, silentLogger } from '@sluice/core';
import { mqttModule, mqttPublishModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, type ConsumedRecord, createTopic, deleteTopic, kafkaBroker, kafkaBrokerFile, mqttUrl, publish, randomName, subscribeMqtt, type MqttSubscription } from '@sluice/testkit';
import { kafkaModule } from '../../src/kafka-module';

const HOSTILE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];

let app: Integration | undefined;
let kafkaTopic: string;
let prefix: string;
const subscriptions: MqttSubscription[] = [];

beforeEach(async () => {
  kafkaTopic = randomName('isolation');
  prefix = randomName('dev');
  await createTopic(kafkaTopic, 3);
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await Promise.all(subscriptions.splice(0).map((s) => s.close()));
  await deleteTopic(kafkaTopic);
});

async function start(sql: string, actions: Array<{ connector: string } & Record<string, unknown>>): Promise<Integration> {
  app = await createIntegration({
    logger: silentLogger,
    modules: [
      mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('it-src'), protocolVersion: 5, session: { persistent: false } }),
      sqlModule(),
      kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
      mqttPublishModule({ id: 'republish', url: mqttUrl(), protocolVersion: 5 }),
    ],
    rules: [{ id: 'r', sql, actions }],
  });
  await app.start();
  return app;
}

/** The user properties of the hostile device: each name its own key (`__proto__` too), values naming it. */
function hostileProperties(n: number): Record<string, string> {
  const properties = Object.create(null) as Record<string, string>;
  for (const name of HOSTILE_NAMES) properties[name] = `${name}-${n}`;
  return properties;
}

/**
 * The header keys of every record of the topic, read from the broker's log files by Kafka's own Java tool
 * (kafkajs's consumer cannot be used for this: it builds the headers it decodes on a plain object, so it
 * reads `toString` through the prototype).
 */
async function headerKeysWithJava(topic: string): Promise<string[][]> {
  const dataDir = path.join(path.dirname(kafkaBrokerFile()), 'data');
  const jars = path.resolve(__dirname, '../../../../.cache/kafka', kafkaBroker().version, 'jars');
  const files = readdirSync(dataDir)
    .filter((dir) => dir.startsWith(`${topic}-`) && /^\d+$/.test(dir.slice(topic.length + 1)))
    .flatMap((dir) => readdirSync(path.join(dataDir, dir)).filter((f) => f.endsWith('.log')).map((f) => path.join(dataDir, dir, f)));
  const { stdout } = await promisify(execFile)('java', ['-cp', `${jars}${path.sep}*`, 'kafka.tools.DumpLogSegments', '--deep-iteration', '--files', files.join(',')],
    { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').flatMap((line) => {
    const keys = /headerKeys: \[(.*?)\]/.exec(line);
    return keys === null ? [] : [keys[1] === '' ? [] : (keys[1] as string).split(',').map((k) => k.trim())];
  });
}

/** The bytes kafkajs's consumer decoded for header `name` (it may have put an inherited value beside them). */
function headerBytes(record: ConsumedRecord, name: string): Buffer[] {
  const raw = Object.prototype.hasOwnProperty.call(record.rawHeaders, name) ? record.rawHeaders[name] : undefined;
  return (Array.isArray(raw) ? raw : [raw]).filter((v): v is Buffer => Buffer.isBuffer(v));
}

describe('one device cannot make other devices lose records (issue 10 item 1)', () => {
  it('user properties named toString, constructor, __proto__, hasOwnProperty: every record arrives, the names carried verbatim', async () => {
    const running = await start(`SELECT payload FROM "${prefix}/#"`, [
      // batches gather records for 20 ms, so the hostile device's records share produce requests with the others'
      { connector: 'kafka', topic: kafkaTopic, key: '', value: '${payload}', maxLingerTime: '20ms' },
    ]);
    const normal = (device: string): Promise<void> =>
      publish(mqttUrl(), `${prefix}/${device}`, Array.from({ length: 30 }, (_, n) => `${device}:${n}`), { qos: 1, protocolVersion: 5 });
    const hostile = async (): Promise<void> => {
      for (let n = 0; n < 10; n++) {
        await publish(mqttUrl(), `${prefix}/hostile`, `hostile:${n}`, { qos: 1, protocolVersion: 5, properties: { userProperties: hostileProperties(n) } });
      }
    };
    await Promise.all([normal('a'), hostile(), normal('b'), normal('c')]);

    const records = await consumeRecords(kafkaTopic, 100, 15_000);
    const values = records.map((r) => r.value ?? '');
    for (const device of ['a', 'b', 'c']) {
      expect(values.filter((v) => v.startsWith(`${device}:`)).sort()).toEqual(Array.from({ length: 30 }, (_, n) => `${device}:${n}`).sort());
    }
    const hostileRecords = records.filter((r) => r.value?.startsWith('hostile:') === true);
    expect(hostileRecords).toHaveLength(10);
    for (const record of hostileRecords) {
      const n = Number(record.value?.slice('hostile:'.length));
      for (const name of HOSTILE_NAMES) expect(headerBytes(record, name).map((b) => b.toString('utf8'))).toEqual([`${name}-${n}`]);
    }
    // what Kafka's Java decoder finds in the log: exactly these names, in order, on each of the device's records
    const keys = await headerKeysWithJava(kafkaTopic);
    expect(keys.filter((k) => k.length > 0)).toEqual(Array.from({ length: 10 }, () => HOSTILE_NAMES));
    expect(running.metrics.action('r:kafka')).toMatchObject({ matched: 100, success: 100, failed: 0 });
  });
});

describe('binary payloads arrive byte for byte (issue 10 item 4)', () => {
  // several KB of random bytes with the sequences UTF-8 decoding would replace by EF BF BD
  const payloads = (): Buffer[] => [
    Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0xc3, 0x28]),
    Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xed, 0xa0, 0x80, 0xf8, 0x88]), randomBytes(4096), Buffer.from([0xc3])]),
    randomBytes(8192),
  ];

  it('as Kafka value, key and header value (SELECT payload, ${payload})', async () => {
    const running = await start(`SELECT payload FROM "${prefix}/bin"`, [
      { connector: 'kafka', topic: kafkaTopic, key: '${payload}', value: '${payload}', extHeaders: [{ key: 'raw', value: '${payload}' }] },
    ]);
    const sent = payloads();
    await publish(mqttUrl(), `${prefix}/bin`, sent, { qos: 1, protocolVersion: 5 });

    const records = await consumeRecords(kafkaTopic, sent.length, 15_000);
    const byValue = new Map(records.map((r) => [r.valueBytes?.toString('hex'), r]));
    for (const bytes of sent) {
      const record = byValue.get(bytes.toString('hex'));
      expect(record?.valueBytes?.equals(bytes)).toBe(true);
      expect(record?.keyBytes?.equals(bytes)).toBe(true);
      expect(headerBytes(record as ConsumedRecord, 'raw').map((b) => b.toString('hex'))).toEqual([bytes.toString('hex')]);
    }
    expect(running.metrics.action('r:kafka')).toMatchObject({ success: sent.length, failed: 0 });
  });

  it('as the payload of a republish (SELECT payload as p, ${p}), read back from Mosquitto', async () => {
    const subscription = await subscribeMqtt(mqttUrl(), `${prefix}/out`, { qos: 1 });
    subscriptions.push(subscription);
    await start(`SELECT payload as p FROM "${prefix}/bin"`, [{ connector: 'republish', topic: `${prefix}/out`, payload: '${p}', qos: 1 }]);
    const sent = payloads();
    await publish(mqttUrl(), `${prefix}/bin`, sent, { qos: 1, protocolVersion: 5 });

    const received = await subscription.waitFor(sent.length, 15_000);
    expect(received.map((m) => m.payload.toString('hex'))).toEqual(sent.map((b) => b.toString('hex')));
  });
});
