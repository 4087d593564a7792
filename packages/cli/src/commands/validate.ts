import { parseArgs } from 'node:util';
import { silentLogger } from '@sluice/core';
import { composeFromConfig } from '../compose';
import { loadConfigFile } from '../config-file';
import { CliError, ExitCode } from '../exit-codes';
import type { CommandIo } from './io';

export const validateHelp = `Usage: sluice validate -c <config>

Checks a config file without connecting to anything: its shape (unknown keys are errors), each
plugin's options, secret references, every rule's SQL and every action's settings and templates.

Exit codes: 0 valid, 2 invalid (every problem is listed as file:line:column: path: message).`;

export async function validate(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.out(validateHelp);
    return ExitCode.ok;
  }
  if (values.config === undefined) throw new CliError('-c <config> is required\n\n' + validateHelp, ExitCode.invalid);
  const loaded = loadConfigFile(values.config, io.env);
  const app = await composeFromConfig(loaded, silentLogger);
  const rules = app.rules();
  io.out(`${values.config} is valid: ${loaded.config.sources.length} source(s), ${loaded.config.connectors.length} connector(s), ${rules.length} rule(s), ${rules.reduce((n, r) => n + r.actions.length, 0)} action(s)`);
  return ExitCode.ok;
}
