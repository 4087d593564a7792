'use strict';
// Stand-in for @sluice/core's build, for the fuzz harness self-test (test/fuzz/fuzz-harness.int.spec.ts).
class IntegrationError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}
class RuleSyntaxError extends IntegrationError {
  constructor(message, line, column) {
    super('ERR_RULE_SYNTAX', message);
    this.line = line;
    this.column = column;
  }
}
class RuleEvaluationError extends IntegrationError {
  constructor(message) {
    super('ERR_RULE_EVALUATION', message);
  }
}
const messageColumns = (message) => ({ topic: message.topic, payload: message.payload });
module.exports = { IntegrationError, RuleSyntaxError, RuleEvaluationError, messageColumns };
