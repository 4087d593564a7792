import { describe, expect, it } from '@jest/globals';
import { compileRule } from './rule';
import { SqlRuleEngine } from './sql-rule-engine';

const connected = { event: 'client.connected', clientid: 'c1', timestamp: 1, node: 'n' };
const delivered = { event: 'message.delivered', clientid: 'c2', topic: 't/a', payload: '{"x":1}', qos: 1 };
const publish = (topic: string) => ({ event: 'message.publish', topic, payload: '{"x":1}', clientid: 'c1' });

describe('events in FROM (RULE-SQL.md §5.1)', () => {
  it('matches an event by its event topic, under its current or its legacy name', () => {
    for (const from of ['$events/client/connected', '$events/client_connected', '$events/client/+', '$events/#']) {
      expect(compileRule(`SELECT clientid FROM "${from}"`).evaluate(connected)).toEqual([{ clientid: 'c1' }]);
    }
    expect(compileRule('SELECT clientid FROM "$events/client/disconnected"').evaluate(connected)).toEqual([]);
  });

  it('never matches an event by its topic column, nor a publish by an event filter', () => {
    expect(compileRule('SELECT * FROM "t/#"').evaluate(delivered)).toEqual([]);
    expect(compileRule('SELECT topic FROM "$events/message_delivered"').evaluate(delivered)).toEqual([{ topic: 't/a' }]);
    expect(compileRule('SELECT topic FROM "$events/message_delivered", "t/#"').evaluate(publish('t/a'))).toEqual([{ topic: 't/a' }]);
    expect(compileRule('SELECT topic FROM "$events/message_delivered"').evaluate(publish('t/a'))).toEqual([]);
  });

  it('reads an event\'s payload as a publish\'s (message.delivered carries one)', () => {
    expect(compileRule('SELECT payload.x AS x FROM "$events/message/delivered"').evaluate(delivered)).toEqual([{ x: 1 }]);
  });
});

describe('the metadata column', () => {
  const engine = new SqlRuleEngine();

  it('holds the rule id, by name, by path and in SELECT *', () => {
    expect(engine.compileRule('SELECT metadata, metadata.rule_id AS id FROM "t/#"', { ruleId: 'r1' }).evaluate(publish('t/a'))).toEqual([{ metadata: { rule_id: 'r1' }, id: 'r1' }]);
    const [all] = engine.compileRule('SELECT * FROM "t/#"', { ruleId: 'r2' }).evaluate(publish('t/a'));
    expect(all?.['metadata']).toEqual({ rule_id: 'r2' });
    expect(engine.compileRule('SELECT 1 AS one FROM "t/#" WHERE metadata.rule_id = \'r3\'', { ruleId: 'r3' }).evaluate(publish('t/a'))).toEqual([{ one: 1 }]);
  });

  it('is one constant per rule: two rules on one input each see their own id, nothing allocated per message', () => {
    const a = engine.compileRule('SELECT metadata FROM "t/#"', { ruleId: 'a' });
    const b = engine.compileRule('SELECT metadata FROM "t/#"', { ruleId: 'b' });
    const input = publish('t/a');
    const [first] = a.evaluate(input);
    const [again] = a.evaluate(publish('t/b'));
    expect(first?.['metadata']).toEqual({ rule_id: 'a' });
    expect(b.evaluate(input)[0]?.['metadata']).toEqual({ rule_id: 'b' });
    expect(again?.['metadata']).toBe(first?.['metadata']);
    expect(Object.isFrozen(first?.['metadata'])).toBe(true);
  });

  it('is there in FOREACH without DO, and an alias named metadata wins over it', () => {
    const rule = engine.compileRule('FOREACH payload.xs AS x FROM "t/#"', { ruleId: 'f' });
    const [out] = rule.evaluate({ event: 'message.publish', topic: 't/a', payload: '{"xs":[1]}' });
    expect(out).toMatchObject({ x: 1, metadata: { rule_id: 'f' } });
    expect(engine.compileRule('SELECT 1 AS metadata FROM "t/#"', { ruleId: 'm' }).evaluate(publish('t/a'))).toEqual([{ metadata: 1 }]);
  });

  it('without a rule id, is read from the input (as a test harness may give it)', () => {
    expect(compileRule('SELECT metadata.rule_id AS id FROM "t/#"').evaluate({ ...publish('t/a'), metadata: { rule_id: 'given' } })).toEqual([{ id: 'given' }]);
    expect(compileRule('SELECT metadata FROM "t/#"').evaluate(publish('t/a'))).toEqual([{ metadata: undefined }]);
  });
});
