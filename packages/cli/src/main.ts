import { ConfigError } from '@sluice/core';
import { connectorTest } from './commands/connector-test';
import { demo } from './commands/demo';
import { processIo, type CommandIo } from './commands/io';
import { ruleTest } from './commands/rule-test';
import { run } from './commands/run';
import { validate } from './commands/validate';
import { CliError, ExitCode } from './exit-codes';
import { cliVersion } from './version';

export const mainHelp = `Usage: sluice <command> [options]

Streams MQTT messages through SQL rules into Kafka.

Commands:
  run -c <config>              run a config file in the foreground
  validate -c <config>         check a config file without connecting
  rule test --sql <rule> ...   evaluate a rule against one message
  connector test -c <config>   staged connection test of the connectors
  demo                         the temperature/humidity flow on local brokers
  version                      print the version

Run \`sluice <command> --help\` for a command's options. Exit codes: 0 ok, 1 failed, 2 invalid usage
or config, 3 could not start.`;

/** Runs one command line; returns the exit code. Never calls process.exit itself (bin.ts does). */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await run(rest, io);
      case 'validate':
        return await validate(rest, io);
      case 'rule':
        if (rest[0] !== 'test') throw new CliError('usage: sluice rule test --sql <rule> --topic <topic> [--payload <text>] (see --help)', ExitCode.invalid);
        return await ruleTest(rest.slice(1), io);
      case 'connector':
        if (rest[0] !== 'test') throw new CliError('usage: sluice connector test -c <config> [connector-id] (see --help)', ExitCode.invalid);
        return await connectorTest(rest.slice(1), io);
      case 'demo':
        return await demo(rest, io);
      case 'version':
      case '--version':
        io.out(cliVersion());
        return ExitCode.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(mainHelp);
        return command === undefined ? ExitCode.invalid : ExitCode.ok;
      default:
        throw new CliError(`unknown command "${command}"\n\n${mainHelp}`, ExitCode.invalid);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      io.err(error.message);
      return ExitCode.invalid;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.err(`${error.message} (see --help)`);
      return ExitCode.invalid;
    }
    throw error;
  }
}
