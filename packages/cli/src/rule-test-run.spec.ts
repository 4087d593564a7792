import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { CommandIo } from './commands/io';
import { ExitCode } from './exit-codes';
import { main } from './main';
import { runRuleTest } from './rule-test-run';

const seed = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"';
const message = { topic: 'temp_hum/emqx', payload: '{"temp": "27.5", "hum": "41.8"}', clientid: 'sensor-1', userProperties: { site: 'lyon' } };

describe(runRuleTest.name, () => {
  it('evaluates the rule and renders each action\'s topic, key, value and headers per output', () => {
    const action = {
      connector: 'upstash', id: 'to_kafka', topic: 'emqx/${clientid}', key: '${clientid}', value: '{"temp": ${temp}, "hum": ${hum}}',
      extHeaders: [{ key: 'device', value: 'd-${clientid}' }, { key: '${missing}', value: 'left out' }], note: 'at ${temp}', plain: 'no placeholder',
    };
    const result = runRuleTest({ sql: seed, actions: [action], message });
    expect(result).toEqual({
      kind: 'evaluated', matched: true, topics: ['temp_hum/emqx'], truncated: false,
      outputs: [expect.stringMatching(/^\{"timestamp":\d+,"clientid":"sensor-1","temp":"27.5","hum":"41.8"\}$/)],
      rendered: [{ actionIndex: 0, connector: 'upstash', id: 'to_kafka', records: [{ topic: 'emqx/sensor-1', key: 'sensor-1', value: '{"temp": 27.5, "hum": 41.8}', headers: { device: 'd-sensor-1' }, other: { note: 'at 27.5' } }] }],
    });
  });

  it('renders a headers placeholder yielding a map (EMQX\'s ${pub_props})', () => {
    const result = runRuleTest({ sql: 'SELECT pub_props FROM "t"', actions: [{ connector: 'k', headers: '${pub_props}' }], message: { ...message, topic: 't' } });
    expect(result.kind === 'evaluated' && result.rendered[0]?.records[0]?.headers).toEqual({ 'User-Property': '{"site":"lyon"}', 'User-Property-Pairs': '[{"key":"site","value":"lyon"}]' });
  });

  it('says matched: false when FROM or WHERE filter the message out; FOREACH with no item still matched', () => {
    expect(runRuleTest({ sql: seed, message: { topic: 'other' } })).toMatchObject({ kind: 'evaluated', matched: false, outputs: [] });
    expect(runRuleTest({ sql: 'SELECT * FROM "t" WHERE payload.x > 1', message: { topic: 't', payload: '{"x": 0}' } })).toMatchObject({ matched: false });
    expect(runRuleTest({ sql: 'FOREACH payload.items as i FROM "t"', message: { topic: 't', payload: '{"items": []}' } })).toMatchObject({ matched: true, outputs: [] });
  });

  it('reports a syntax error with its line and column, an evaluation error with its message', () => {
    const syntax = runRuleTest({ sql: 'SELECT a,\nFROM "t"', message });
    expect(syntax.kind === 'syntax-error' && [syntax.error.line, syntax.error.column]).toEqual([2, 1]);
    expect(runRuleTest({ sql: 'SELECT payload.x FROM "t"', message: { topic: 't', payload: 'not json' } })).toEqual({ kind: 'evaluation-error', error: expect.stringContaining('not valid JSON') });
  });

  it('evaluates with the engine limits it is given (the config\'s sql.limits)', () => {
    const sql = 'SELECT concat(payload, payload) as twice FROM "t"';
    expect(runRuleTest({ sql, message: { topic: 't', payload: 'abcdefgh' } })).toMatchObject({ kind: 'evaluated', matched: true });
    expect(runRuleTest({ sql, message: { topic: 't', payload: 'abcdefgh' } }, { engine: { limits: { maxStringSize: 10 } } })).toEqual({ kind: 'evaluation-error', error: expect.stringContaining('maxStringSize') });
  });

  it('stops rendering past maxRenderedChars and says so', () => {
    const result = runRuleTest({ sql: 'FOREACH [1..100] as i DO i FROM "t"', actions: [{ connector: 'k', value: 'v${i}' }], message: { topic: 't' } }, { maxRenderedChars: 200 });
    expect(result).toMatchObject({ kind: 'evaluated', truncated: true });
    if (result.kind !== 'evaluated') return;
    expect(result.outputs.length).toBeGreaterThan(0);
    expect(result.outputs.length).toBeLessThan(100);
    expect(result.rendered[0]?.records.length).toBeLessThanOrEqual(result.outputs.length);
  });
});

describe('sluice rule test -c (the same code)', () => {
  it('prints the outputs and the rendered settings of the rule\'s actions', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-rule-test-'));
    try {
      const file = path.join(dir, 'sluice.yaml');
      writeFileSync(file, [
        'sources: [{ type: mqtt, id: plant, url: "mqtt://127.0.0.1:1883" }]',
        'connectors: [{ type: kafka, id: upstash, bootstrapHosts: ["127.0.0.1:9092"] }]',
        'rules:',
        '  - id: temp_hum',
        `    sql: ${seed}`,
        '    actions: [{ connector: upstash, topic: emqx, key: "${clientid}", value: \'{"temp": ${temp}, "hum": ${hum}}\', extHeaders: [{ key: site, value: "s-${clientid}" }] }]',
      ].join('\n'));
      const out: string[] = [];
      const err: string[] = [];
      const io: CommandIo = { out: (line) => void out.push(line), err: (line) => void err.push(line), env: {} };
      const code = await main(['rule', 'test', '-c', file, '--topic', 'temp_hum/emqx', '--payload', message.payload, '--clientid', 'sensor-1'], io);
      expect([code, err]).toEqual([ExitCode.ok, []]);
      expect(out.join('\n')).toContain('action → upstash\n  topic: emqx\n  key: sensor-1\n  value: {"temp": 27.5, "hum": 41.8}\n  headers: {"site":"s-sensor-1"}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
