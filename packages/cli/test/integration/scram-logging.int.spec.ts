// Issue 10, item 13: an operator chasing a connection problem sets `log.level: debug` and
// KAFKAJS_LOG_LEVEL=debug; that must not break the SCRAM login it is meant to explain (pino's wildcard
// redaction threw on the Buffers of kafkajs's SASL exchange, and the failure was reported as a bad
// password). Each case loads a real config file whose password is a secret reference, builds the CLI's
// logger as `sluice run` does, and logs in to the test Kafka's SASL_SSL listener: the connector starts, a
// message goes through, the staged connection test passes, and the password is nowhere in the output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Integration } from '@sluice/core';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, type KafkaCredentials } from '@sluice/testkit';
import { composeFromConfig } from '../../src/compose';
import { loadConfigFile } from '../../src/config-file';
import { createLogger } from '../../src/logger';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const PASSWORD_VARIABLE = 'SLUICE_TEST_KAFKA_PASSWORD';

interface Case {
  readonly level: (typeof LEVELS)[number];
  readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
  /** KAFKAJS_LOG_LEVEL for the case; undefined leaves it unset. */
  readonly kafkajsLevel: string | undefined;
}

const CASES: Case[] = [
  ...LEVELS.map((level): Case => ({ level, mechanism: 'scram-sha-256', kafkajsLevel: 'debug' })),
  ...LEVELS.map((level): Case => ({ level, mechanism: 'scram-sha-512', kafkajsLevel: 'debug' })),
  { level: 'debug', mechanism: 'scram-sha-256', kafkajsLevel: undefined },
];

/** Every piece of `secret` of 8 characters or more (a cut-short rendering still gives a secret away). */
function pieces(secret: string, length = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= secret.length; i++) out.push(secret.slice(i, i + length));
  return out;
}

describe('SCRAM login over SASL_SSL with the CLI logger at every level', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-scram-logging-'));
  const savedKafkajsLevel = process.env['KAFKAJS_LOG_LEVEL'];
  let kafkaTopic: string;
  let app: Integration | undefined;

  beforeAll(async () => {
    kafkaTopic = randomName('scram-logging');
    await createTopic(kafkaTopic, 1);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    if (savedKafkajsLevel === undefined) delete process.env['KAFKAJS_LOG_LEVEL'];
    else process.env['KAFKAJS_LOG_LEVEL'] = savedKafkajsLevel;
  });

  afterAll(async () => {
    await deleteTopic(kafkaTopic);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES)('log.level $level, $mechanism, KAFKAJS_LOG_LEVEL=$kafkajsLevel: logs in, delivers, passes the connection test, never logs the password', async ({ level, mechanism, kafkajsLevel }) => {
    const broker = kafkaBroker();
    const user: KafkaCredentials = mechanism === 'scram-sha-256' ? broker.users.scram256 : broker.users.scram512;
    if (kafkajsLevel === undefined) delete process.env['KAFKAJS_LOG_LEVEL'];
    else process.env['KAFKAJS_LOG_LEVEL'] = kafkajsLevel;

    const mqttTopic = `${randomName('scram-logging')}/in`;
    const file = join(dir, `${level}-${mechanism}-${kafkajsLevel ?? 'unset'}.json`);
    writeFileSync(file, JSON.stringify({
      sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl(), clientId: randomName('sluice-scram'), protocolVersion: 5, qos: 1, session: { persistent: false } }],
      connectors: [{
        type: 'kafka',
        id: 'secure',
        bootstrapHosts: [broker.saslSsl],
        ssl: { caFile: broker.caFile },
        authentication: { mechanism, username: user.username, password: `\${env:${PASSWORD_VARIABLE}}` },
      }],
      rules: [{ id: 'r', sql: `SELECT payload.n as n FROM "${mqttTopic}"`, actions: [{ connector: 'secure', id: 'out', topic: kafkaTopic, value: '${n}' }] }],
      http: { enabled: false },
      log: { level, format: 'json' },
    }));

    const loaded = loadConfigFile(file, { ...process.env, [PASSWORD_VARIABLE]: user.password });
    expect(loaded.secrets.has(user.password)).toBe(true);
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ level: loaded.config.log.level, format: 'json', secrets: new Set(loaded.secrets), destination });

    app = await composeFromConfig(loaded, logger);
    await app.start();
    await publish(mqttUrl(), mqttTopic, '{"n": 42}', { qos: 1, protocolVersion: 5 });
    // the test timeout bounds this wait
    while ((app.metrics.rule('r')?.['actions.success'] ?? 0) < 1) {
      expect(app.metrics.rule('r')?.['actions.failed'] ?? 0).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [report] = await app.testConnections();
    expect(report?.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['tls', true], ['sasl', true], ['metadata', true], [`topic ${kafkaTopic}`, true]]);

    const output = chunks.join('');
    if (level === 'debug' && kafkajsLevel === 'debug') {
      // the SASL exchange was logged (the path that broke), without its bytes
      expect(output).toContain('Response SaslAuthenticate');
      expect(output).not.toContain('authBytes');
    }
    for (const piece of pieces(user.password)) expect(output).not.toContain(piece);
  });
});
