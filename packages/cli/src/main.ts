import { ConfigError } from '@sluice/core';
import { connectorTest } from './commands/connector-test';
import { demo } from './commands/demo';
import { processIo, type CommandIo } from './commands/io';
import { ruleTest } from './commands/rule-test';
import { run } from './commands/run';
import { schema } from './commands/schema';
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
  schema [-c <config>]         the JSON Schema of config files, third-party plugins included
  demo                         the temperature/humidity flow on local brokers
  version                      print the version

Run \`sluice <command> --help\` for a command's options. Exit codes: 0 ok, 1 failed, 2 invalid usage
or config, 3 could not start. Signals to \`run\`: SIGTERM/SIGINT drain and stop, SIGHUP reloads the config.`;

const versionHelp = `Usage: sluice version

Prints the version of the sluice command (the version of @sluice/cli). Exit code 0.`;

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';

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
        if (isHelp(rest[0])) return await ruleTest(['--help'], io);
        if (rest[0] !== 'test') throw new CliError('usage: sluice rule test --sql <rule> --topic <topic> [--payload <text>] (see --help)', ExitCode.invalid);
        return await ruleTest(rest.slice(1), io);
      case 'connector':
        if (isHelp(rest[0])) return await connectorTest(['--help'], io);
        if (rest[0] !== 'test') throw new CliError('usage: sluice connector test -c <config> [connector-id] (see --help)', ExitCode.invalid);
        return await connectorTest(rest.slice(1), io);
      case 'schema':
        return await schema(rest, io);
      case 'demo':
        return await demo(rest, io);
      case 'version':
      case '--version':
        io.out(isHelp(rest[0]) ? versionHelp : cliVersion());
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
    // node:util parseArgs errors; matched by code, not instanceof (a TypeError from another realm under jest).
    const parseError = error as { code?: unknown; message?: unknown } | undefined;
    if (typeof parseError?.code === 'string' && parseError.code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${String(parseError.message)} (see --help)`);
      return ExitCode.invalid;
    }
    throw error;
  }
}
