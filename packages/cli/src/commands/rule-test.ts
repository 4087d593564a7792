import { parseArgs } from 'node:util';
import type { RuleSyntaxError } from '@sluice/core';
import type { SqlRuleEngineOptions } from '@sluice/sql';
import { sqlEngineOptions } from '../compose';
import { loadConfigFile } from '../config-file';
import { CliError, ExitCode } from '../exit-codes';
import { runRuleTest } from '../rule-test-run';
import type { CommandIo } from './io';

export const ruleTestHelp = `Usage: sluice rule test --sql <rule> --topic <topic> [options]
       sluice rule test -c <config> --rule <id> --topic <topic> [options]

Evaluates a rule against one message, as EMQX's "Enable Test" does, and prints the outputs as JSON.
With a config file, the rule's SQL comes from the file and each action's templates are rendered too.

Options:
  --sql <text>          the rule SQL
  -c, --config <file>   a config file (YAML or JSON) holding the rule
  --rule <id>           the rule to test from the config file
  --topic <topic>       the message topic (required)
  --payload <text>      the message payload (default: empty)
  --clientid <id>       publisher client id
  --username <name>     publisher username
  --qos <0|1|2>         QoS (default 0)
  --user-property k=v   an MQTT 5 user property (repeatable)
  -h, --help            this help

Exit codes: 0 outputs printed (possibly an empty list for FOREACH), 1 syntax error, evaluation error
or no match (FROM or WHERE filtered the message out), 2 bad usage.`;

export async function ruleTest(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      sql: { type: 'string' },
      config: { type: 'string', short: 'c' },
      rule: { type: 'string' },
      topic: { type: 'string' },
      payload: { type: 'string', default: '' },
      clientid: { type: 'string' },
      username: { type: 'string' },
      qos: { type: 'string', default: '0' },
      'user-property': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(ruleTestHelp);
    return ExitCode.ok;
  }
  if (values.topic === undefined) throw new CliError('--topic is required\n\n' + ruleTestHelp, ExitCode.invalid);
  const qos = Number(values.qos) as 0 | 1 | 2;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new CliError('--qos must be 0, 1 or 2', ExitCode.invalid);

  let sql = values.sql;
  let actions: ReadonlyArray<Readonly<Record<string, unknown>>> = [];
  let engine: SqlRuleEngineOptions | undefined;
  if (values.config !== undefined) {
    const loaded = loadConfigFile(values.config, io.env);
    engine = sqlEngineOptions(loaded.config); // the limits the rule runs with
    const rule = loaded.config.rules.find((r) => r.id === values.rule) ?? (values.rule === undefined && loaded.config.rules.length === 1 ? loaded.config.rules[0] : undefined);
    if (rule === undefined) {
      throw new CliError(`name the rule to test with --rule (rules in ${values.config}: ${loaded.config.rules.map((r) => r.id).join(', ')})`, ExitCode.invalid);
    }
    sql ??= rule.sql;
    actions = rule.actions;
  }
  if (sql === undefined) throw new CliError('give the rule with --sql, or a config file with -c and --rule\n\n' + ruleTestHelp, ExitCode.invalid);

  const userProperties: Record<string, string | string[]> = {};
  for (const pair of values['user-property'] ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--user-property expects key=value, got "${pair}"`, ExitCode.invalid);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const existing = userProperties[key];
    userProperties[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const message = { topic: values.topic, payload: values.payload, clientid: values.clientid, username: values.username, qos, userProperties };
  const result = runRuleTest({ sql, actions, message }, { engine });
  if (result.kind === 'syntax-error') {
    io.err(describeSyntaxError(sql, result.error));
    return ExitCode.failed;
  }
  if (result.kind === 'evaluation-error') {
    io.err(`evaluation failed: ${result.error}`);
    return ExitCode.failed;
  }
  if (!result.matched) {
    io.err(`no result: the topic "${values.topic}" does not match FROM (${result.topics.join(', ')}) or WHERE filtered the message out`);
    return ExitCode.failed;
  }
  io.out(`[${result.outputs.join(',\n ')}]`);
  for (const action of result.rendered) {
    io.out(`\naction → ${action.connector}${action.id === undefined ? '' : ` (${action.id})`}`);
    for (const record of action.records) {
      const lines = Object.entries({ ...record, ...record.other, other: undefined })
        .filter(([, value]) => value !== undefined)
        .map(([setting, value]) => `  ${setting}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      io.out(lines.join('\n'));
    }
  }
  return ExitCode.ok;
}

/** The rule with a caret under the error position, then the message. */
export function describeSyntaxError(sql: string, error: RuleSyntaxError): string {
  const lines = sql.split('\n');
  const line = lines[error.line - 1] ?? '';
  const gutter = `${error.line} | `;
  // The message already names the line and column.
  return [`syntax error: ${error.message}`, '', `${gutter}${line}`, `${' '.repeat(gutter.length + Math.max(0, error.column - 1))}^`].join('\n');
}
