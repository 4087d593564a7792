import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { FakeProducer } from '../test/fixtures/fake-producer';
import { actionContext } from '../test/fixtures/fake-templates';
import { actionBufferDir, bufferDirName } from './buffer-dir';
import { KafkaConnector } from './kafka-connector';
import { parseKafkaConnectorConfig } from './kafka-connector-config';

describe(bufferDirName.name, () => {
  it('gives distinct ids distinct directories, even when they differ only in unsafe characters or case', () => {
    const ids = ['victim:kafka', 'victim_kafka', 'victim/kafka', 'Victim:kafka', 'victim:kafka#2', '..', '.', 'a'.repeat(300), `${'a'.repeat(300)}b`];
    const names = ids.map(bufferDirName);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(ids.length);
    expect(bufferDirName('victim:kafka')).toMatch(/^victim_kafka\+[0-9a-f]{24}$/);
  });

  it('never names the parent or the directory itself, and stays short for long ids', () => {
    for (const id of ['..', '.', '', 'a'.repeat(10_000)]) {
      const name = bufferDirName(id);
      expect(name).not.toMatch(/^\.{1,2}$/);
      expect(name).not.toContain('/');
      expect(name.length).toBeLessThanOrEqual(64 + 1 + 24);
    }
  });
});

describe(actionBufferDir.name, () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'sluice-buffer-dir-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('moves a log an earlier version left under the old name to the new one', () => {
    mkdirSync(path.join(parent, 'r_kafka'));
    writeFileSync(path.join(parent, 'r_kafka', '0000000000000000.seg'), 'x');
    const dir = actionBufferDir(parent, 'r:kafka');
    expect(dir).toBe(path.join(parent, bufferDirName('r:kafka')));
    expect(readdirSync(parent)).toEqual([bufferDirName('r:kafka')]);
    expect(readdirSync(dir)).toEqual(['0000000000000000.seg']);
  });

  it('moves nothing that is not a disk buffer (the parent of other buffers named like an old id)', () => {
    mkdirSync(path.join(parent, 'buffers', 'x'), { recursive: true });
    expect(actionBufferDir(parent, 'buffers')).toBe(path.join(parent, bufferDirName('buffers')));
    expect(readdirSync(parent)).toEqual(['buffers']);
  });
});

describe('disk buffers of a KafkaConnector', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'sluice-buffer-dir-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('actions "victim:kafka" and "victim_kafka" never share a log', async () => {
    const connector = new KafkaConnector(parseKafkaConnectorConfig({ id: 'kafka', bootstrapHosts: '127.0.0.1:1' }), new FakeProducer(), silentLogger);
    const settings = { topic: 't', buffer: { mode: 'disk', dir: parent } };
    const victim = connector.createAction(settings, actionContext('victim:kafka'));
    const other = connector.createAction(settings, actionContext('victim_kafka'));
    expect(readdirSync(parent).sort()).toEqual([bufferDirName('victim:kafka'), bufferDirName('victim_kafka')].sort());
    await Promise.all([victim.close(), other.close()]);
  });
});
