import { describe, expect, it } from '@jest/globals';
import { Container } from 'inversify';
import { RuleEngine } from '@sluice/core';
import { sqlModule } from './sql-module';
import { SqlRuleEngine } from './sql-rule-engine';

describe(sqlModule.name, () => {
  it('binds core RuleEngine to one SqlRuleEngine', async () => {
    const container = new Container();
    await container.load(sqlModule());
    const engine = container.get<RuleEngine>(RuleEngine);
    expect(engine).toBeInstanceOf(SqlRuleEngine);
    expect(container.get<RuleEngine>(RuleEngine)).toBe(engine);
    const rule = engine.compileRule('SELECT clientid FROM "a/#"');
    expect(rule.evaluate({ topic: 'a/b', clientid: 'c' })).toEqual([{ clientid: 'c' }]);
    expect(engine.compileTemplate('${clientid}').render({ clientid: 'c' })).toBe('c');
  });
});

describe(SqlRuleEngine.name, () => {
  it('keeps kv_store state per engine', () => {
    const one = new SqlRuleEngine();
    const two = new SqlRuleEngine();
    one.compileRule("SELECT kv_store_put('k', 1) AS r FROM \"t\"").evaluate({ topic: 't' });
    const read = "SELECT kv_store_get('k') AS r FROM \"t\"";
    expect(one.compileRule(read).evaluate({ topic: 't' })).toEqual([{ r: 1 }]);
    expect(two.compileRule(read).evaluate({ topic: 't' })).toEqual([{ r: undefined }]);
  });
});
