import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, silentLogger } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName } from '@sluice/testkit';
import { bufferDirName } from '../../src/buffer-dir';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { mqttMessage } from '../fixtures/messages';

const broker = kafkaBroker();

describe('a disk-buffered Kafka action against a real broker', () => {
  let dir: string;
  let topic: string;
  let connectors: KafkaConnector[];
  const dropped: Array<[number, string]> = [];
  const context: ActionContext = {
    id: 'r:disk', ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: (count, reason) => dropped.push([count, reason]),
  };

  function newConnector(): KafkaConnector {
    const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
    const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    connectors.push(connector);
    return connector;
  }

  beforeEach(async () => {
    connectors = [];
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-disk-it-'));
    topic = randomName('kafka-disk');
    await createTopic(topic);
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    await deleteTopic(topic).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('acknowledges sends once on disk, and a new connector on the same directory delivers them (templated topic)', async () => {
    const settings = { topic: '${t}', key: '', value: '${n}', buffer: { mode: 'disk', dir }, retryBackoff: { initial: '1m', max: '1m' } };
    // a connector that never connected stands for Kafka being away
    const first = newConnector();
    const away = first.createAction(settings, context);
    await Promise.all([1, 2, 3].map((n) => away.send({ t: topic, n }, mqttMessage())));
    expect(away.queued()).toBe(3);
    await first.stop();
    expect(readdirSync(path.join(dir, bufferDirName('r:disk'))).some((name) => name.endsWith('.seg'))).toBe(true);

    const second = newConnector();
    second.createAction(settings, context);
    await second.start(new AbortController().signal);
    expect((await consumeRecords(topic, 3)).map((record) => String(record.value))).toEqual(['1', '2', '3']);
    await second.stop();
    // everything acknowledged: the segments are gone, and a third start has nothing to send
    expect(readdirSync(path.join(dir, bufferDirName('r:disk'))).filter((name) => name.endsWith('.seg'))).toEqual([]);
    expect(dropped).toEqual([]);
  });

  it('survives a process that dies without closing: a new process delivers every record it had stored', async () => {
    // the child runs the compiled package (dist), as `npm run test:integration` builds it first
    const output = execFileSync(process.execPath, [path.join(__dirname, '../fixtures/disk-writer.js'), dir, topic, '50'], { encoding: 'utf8' });
    expect(output).toBe('stored\n');
    const connector = newConnector();
    connector.createAction({ topic, key: '', value: '${n}', buffer: { mode: 'disk', dir } }, context);
    await connector.start(new AbortController().signal);
    const values = (await consumeRecords(topic, 50)).map((record) => Number(record.value));
    expect(values).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });
});
