// Issue 5, scenario 7 (configs): bad config files and rules are refused before anything starts, by the
// real `sluice validate` path (file loading, secret references, every plugin's options, rule SQL, action
// settings). Each message names the file and the path of the setting and says what is wrong; no
// secret of the config ever appears in it. Nothing connects, so no broker is touched.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '@sluice/cli';

const MQTT_SECRET = 'S3cret-mqtt-d7f1';
const KAFKA_SECRET = 'S3cret-kafka-92ab';
const ENV_SECRET = 'S3cret-env-55c0';

// Loosely typed on purpose: the cases break the config in ways its types would not allow.
type Config = Record<string, any>;

/** A valid config: every case breaks one thing in a copy of it. */
function valid(): Config {
  return {
    sources: [{ type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', username: 'sluice', password: MQTT_SECRET }],
    connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: ['127.0.0.1:19092'], authentication: { mechanism: 'plain', username: 'u', password: KAFKA_SECRET } }],
    rules: [{ id: 'temp', sql: 'SELECT payload.t as t FROM "t/#"', actions: [{ connector: 'kafka', topic: 'out', value: '${t}' }] }],
  };
}

interface Case {
  readonly name: string;
  /** Changes the valid config, or gives the raw file text. */
  readonly change: ((c: Config) => void) | string;
  /** The config path the message must name ('' for file-level problems). */
  readonly path: string;
  /** What the message must say about it. */
  readonly says: RegExp;
}

const CASES: Case[] = [
  // file level
  { name: 'YAML syntax error', change: 'sources:\n  - type: mqtt\n   id: [unclosed\n', path: '', says: /\.yaml:\d+:\d+: / },
  { name: 'empty file', change: '', path: '', says: /sources|rules|expected/i },
  { name: 'a list instead of a map', change: '- a\n- b\n', path: '', says: /object|map|expected/i },
  { name: 'duplicate key', change: 'rules: []\nrules: []\nsources: []\n', path: '', says: /unique|duplicate/i },
  // top level
  { name: 'unknown top-level key', change: (c) => (c['rulez'] = []), path: '', says: /rulez/ },
  // (a config without rules is valid since the console: it adds them to the file)
  { name: 'rules not a list', change: (c) => (c['rules'] = { id: 'x' }), path: 'rules', says: /array/i },
  { name: 'sources missing', change: (c) => delete c['sources'], path: 'sources', says: /./ },
  { name: 'negative stopTimeoutMs', change: (c) => (c['stopTimeoutMs'] = -1), path: 'stopTimeoutMs', says: />=|greater|negative|too small/i },
  { name: 'http.port not a number', change: (c) => (c['http'] = { port: 'eighty' }), path: 'http.port', says: /number/i },
  { name: 'unknown log level', change: (c) => (c['log'] = { level: 'loud' }), path: 'log.level', says: /expected|invalid|one of/i },
  // secret references
  { name: 'unset environment variable', change: (c) => (c['connectors'][0].authentication.password = '${env:SLUICE_DELIVERY_UNSET_VAR}'), path: 'connectors[0].authentication.password', says: /SLUICE_DELIVERY_UNSET_VAR/ },
  { name: 'missing secret file', change: (c) => (c['sources'][0].password = '${file:/nonexistent/sluice-secret}'), path: 'sources[0].password', says: /nonexistent\/sluice-secret/ },
  // sources
  { name: 'unknown source type', change: (c) => (c['sources'][0].type = 'amqp'), path: 'sources[0].type', says: /amqp|mqtt/ },
  { name: 'source url missing', change: (c) => delete c['sources'][0].url, path: 'sources[0].url', says: /./ },
  { name: 'credentials in the source url', change: (c) => (c['sources'][0].url = `mqtt://sluice:${MQTT_SECRET}@127.0.0.1:1883`), path: 'sources[0].url', says: /username|password|credential/i },
  { name: 'unsupported url scheme', change: (c) => (c['sources'][0].url = 'http://127.0.0.1:1883'), path: 'sources[0].url', says: /mqtt/ },
  { name: 'qos 3', change: (c) => (c['sources'][0].qos = 3), path: 'sources[0].qos', says: /./ },
  { name: 'maxInflight 0', change: (c) => (c['sources'][0].maxInflight = 0), path: 'sources[0].maxInflight', says: />=|greater|too small/i },
  { name: 'reconnectPeriod 0', change: (c) => (c['sources'][0].reconnectPeriod = 0), path: 'sources[0].reconnectPeriod', says: />=|greater|too small/i },
  { name: 'share group with a slash', change: (c) => (c['sources'][0].shareGroup = 'a/b'), path: 'sources[0].shareGroup', says: /cannot contain/ },
  { name: 'unknown delivery mode', change: (c) => (c['sources'][0].delivery = 'exactly-once'), path: 'sources[0].delivery', says: /at-least-once|at-most-once/ },
  { name: 'protocol version 3', change: (c) => (c['sources'][0].protocolVersion = 3), path: 'sources[0].protocolVersion', says: /./ },
  { name: 'unreadable CA file', change: (c) => Object.assign(c['sources'][0], { url: 'mqtts://127.0.0.1:8883', tls: { caFile: '/nonexistent/ca.pem' } }), path: 'sources[0].tls.caFile', says: /cannot read|ENOENT/ },
  { name: 'misspelt source option', change: (c) => (c['sources'][0].keepAlive = 10), path: 'sources[0]', says: /keepAlive/ },
  { name: 'duplicate source ids', change: (c) => c['sources'].push({ ...c['sources'][0] }), path: 'sources', says: /plant/ },
  // connectors
  { name: 'unknown connector type', change: (c) => (c['connectors'][0].type = 'pulsar'), path: 'connectors[0].type', says: /pulsar|kafka/ },
  { name: 'no bootstrap hosts', change: (c) => (c['connectors'][0].bootstrapHosts = []), path: 'connectors[0].bootstrapHosts', says: /./ },
  { name: 'bootstrap host with a bad port', change: (c) => (c['connectors'][0].bootstrapHosts = ['kafka.example.com:ninety']), path: 'connectors[0].bootstrapHosts', says: /port/i },
  { name: 'tls options on a plain mqtt url', change: (c) => (c['sources'][0].tls = { caFile: '/tmp/ca.pem' }), path: 'sources[0].tls', says: /mqtts/ },
  { name: 'unknown SASL mechanism', change: (c) => (c['connectors'][0].authentication.mechanism = 'kerberos-ish'), path: 'connectors[0].authentication', says: /./ },
  { name: 'ssl ca and caFile both', change: (c) => (c['connectors'][0].ssl = { ca: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----', caFile: '/tmp/ca.pem' }), path: 'connectors[0].ssl', says: /not both/ },
  // rules
  { name: 'rule without SQL', change: (c) => (c['rules'][0].sql = ''), path: 'rules[0].sql', says: /SQL/ },
  { name: 'SQL syntax error', change: (c) => (c['rules'][0].sql = 'SELEC payload FROM "t/#"'), path: 'rules[0].sql', says: /./ },
  { name: 'SQL without FROM', change: (c) => (c['rules'][0].sql = 'SELECT payload'), path: 'rules[0].sql', says: /FROM/i },
  { name: 'SQL unclosed string', change: (c) => (c['rules'][0].sql = 'SELECT \'abc FROM "t/#"'), path: 'rules[0].sql', says: /./ },
  { name: 'rule id with a space', change: (c) => (c['rules'][0].id = 'my rule'), path: 'rules[0].id', says: /letters, digits/ },
  { name: 'duplicate rule ids', change: (c) => c['rules'].push({ ...c['rules'][0], actions: [] }), path: 'rules[1].id', says: /already/ },
  { name: 'rule reads an unknown source', change: (c) => (c['rules'][0].sources = ['nowhere']), path: 'rules[0].sources', says: /nowhere/ },
  { name: 'misspelt rule key', change: (c) => (c['rules'][0].actoins = []), path: 'rules[0]', says: /actoins/ },
  { name: 'enabled is a string', change: (c) => (c['rules'][0].enabled = 'yes'), path: 'rules[0].enabled', says: /boolean/i },
  // actions
  { name: 'action names an unknown connector', change: (c) => (c['rules'][0].actions[0].connector = 'kafka2'), path: 'rules[0].actions[0].connector', says: /kafka2/ },
  { name: 'action without topic', change: (c) => delete c['rules'][0].actions[0].topic, path: 'rules[0].actions[0].topic', says: /./ },
  { name: 'misspelt action setting', change: (c) => (c['rules'][0].actions[0].topik = 'x'), path: 'rules[0].actions[0]', says: /topik/ },
  { name: 'duplicate action ids', change: (c) => c['rules'][0].actions.push({ ...c['rules'][0].actions[0], id: 'temp:kafka' }), path: 'rules[0].actions[1].id', says: /already/ },
  { name: 'unknown requiredAcks', change: (c) => (c['rules'][0].actions[0].requiredAcks = 'some'), path: 'rules[0].actions[0].requiredAcks', says: /all|leader|none/ },
  { name: 'key_dispatch with an empty key', change: (c) => Object.assign(c['rules'][0].actions[0], { partitionStrategy: 'key_dispatch', key: '' }), path: 'rules[0].actions[0].key', says: /key_dispatch needs a key/ },
  { name: 'headers not a single placeholder', change: (c) => (c['rules'][0].actions[0].headers = 'x-${a}'), path: 'rules[0].actions[0].headers', says: /single placeholder/ },
];

describe('bad configs and rules are refused at start, naming file, path and problem (issue 5, scenario 7)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bad-configs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const file = path.join(dir, `case-${i}.yaml`);
    if (typeof c.change === 'string') {
      writeFileSync(file, c.change);
    } else {
      const config = valid();
      c.change(config);
      writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML: the loader locates lines the same way
    }
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['validate', '-c', file], { out: (t) => out.push(t), err: (t) => err.push(t), env: { SLUICE_SECRET: ENV_SECRET } });
    const message = err.join('\n');

    expect({ code, out }).toEqual({ code: 2, out: [] });
    expect(message).toContain(file);
    if (c.path !== '') expect(message).toContain(`${c.path}`);
    expect(message).toMatch(c.says);
    for (const secret of [MQTT_SECRET, KAFKA_SECRET, ENV_SECRET]) expect(message).not.toContain(secret);
  });
});
