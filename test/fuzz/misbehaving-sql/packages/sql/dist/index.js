'use strict';
// A deliberately broken rule engine for the fuzz harness self-test: each of the repros
// misbehaves in one of the ways the harness must catch; every other rule is a RuleSyntaxError.
const { RuleEvaluationError, RuleSyntaxError } = require('../../core/dist/index.js');

class SqlFloat {}
let calls = 0;

function compileRule(sql) {
  calls++;
  if (sql.includes("'^(a+)+$'")) for (;;); // a hang
  if (sql.includes('gunzip(payload) AS x')) process.abort(); // a crash
  if (sql.includes('pad(payload.s')) throw new TypeError('pad is broken'); // a wrong error class
  if (sql.includes('"a/#/b"') && calls > 1) process.abort(); // a crash only after other cases ran
  if (sql.includes('AS "__proto__" FROM')) return { topics: ['#'], evaluate: () => [Object.create([])] }; // a swapped prototype
  if (sql.includes('payload.p) AS r')) return { topics: ['#'], evaluate: () => { throw new RuleEvaluationError('fine'); } };
  if (sql.includes('[1..200000000]')) return { topics: ['#'], evaluate: () => [{ x: 1 }] };
  throw new RuleSyntaxError('no', 1, 1);
}

class SqlRuleEngine {
  compileRule(sql) {
    return compileRule(sql);
  }
}

module.exports = { RuleEvaluationError, RuleSyntaxError, SqlFloat, SqlRuleEngine, compileRule };
