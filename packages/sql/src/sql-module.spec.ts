import { describe, expect, it } from '@jest/globals';
import { Container } from 'inversify';
import { ConfigError, RuleEngine, RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
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

describe('sqlModule limits', () => {
  it('gives the bound engine the configured limits, and refuses bad ones at once', async () => {
    const container = new Container();
    await container.load(sqlModule({ limits: { maxStringSize: 10 } }));
    const rule = container.get<RuleEngine>(RuleEngine).compileRule('SELECT pad(clientid, 11) AS p FROM "t"');
    expect(() => rule.evaluate({ topic: 't', clientid: 'c' })).toThrow(RuleEvaluationError);
    expect(() => sqlModule({ limits: { maxListLength: 0 } })).toThrow(ConfigError);
  });
});

describe('sqlModule parse limits', () => {
  it('refuses a rule text over the engine\'s maxRuleLength and accepts it under the default', () => {
    const rule = `SELECT payload.a AS a FROM "t" WHERE ${'payload.b = 1 OR '.repeat(10)}false`;
    expect(() => new SqlRuleEngine({ parseLimits: { maxRuleLength: 100 } }).compileRule(rule)).toThrow(RuleSyntaxError);
    expect(new SqlRuleEngine().compileRule(rule).topics).toEqual(['t']);
  });

  it('refuses a depth over the ceiling as a ConfigError naming the key', () => {
    expect(() => sqlModule({ parseLimits: { maxDepth: 5000 } })).toThrow(/parseLimits\.maxDepth/);
    expect(() => sqlModule({ parseLimits: { maxDepth: 0 } })).toThrow(ConfigError);
  });
});
