import { parseArgs } from 'node:util';
import type { Integration, Logger } from '@sluice/core';
import { composeFromConfig } from '../compose';
import { loadConfigFile } from '../config-file';
import { CliError, ExitCode } from '../exit-codes';
import { startHttpServer } from '../http-server';
import { createLogger } from '../logger';
import type { CommandIo } from './io';

export const runHelp = `Usage: sluice run -c <config> [options]

Runs the sources, connectors, rules and actions of a config file in the foreground. SIGTERM or SIGINT
stops intake, drains in-flight messages (stopTimeoutMs, default 30 s) and exits.

Options:
  -c, --config <file>   config file (YAML or JSON), required
  --no-http             do not start the HTTP endpoint (/metrics, /healthz, /readyz, /api)
  --log-format <f>      json | pretty (default: pretty on a terminal, json otherwise)
  -h, --help            this help

Exit codes: 0 stopped cleanly, 2 invalid config, 3 could not start (e.g. a connector unreachable).`;

export async function run(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      'no-http': { type: 'boolean' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(runHelp);
    return ExitCode.ok;
  }
  if (values.config === undefined) throw new CliError('-c <config> is required\n\n' + runHelp, ExitCode.invalid);
  const loaded = loadConfigFile(values.config, io.env);
  const format = values['log-format'] ?? loaded.config.log.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') throw new CliError('--log-format must be json or pretty', ExitCode.invalid);
  const logger = createLogger({ level: loaded.config.log.level, format });
  const app = await composeFromConfig(loaded, logger);

  try {
    await app.start();
  } catch (error) {
    throw new CliError(`could not start: ${(error as Error).message}`, ExitCode.startFailed);
  }
  logStartupSummary(app, logger);
  const http = loaded.config.http.enabled && values['no-http'] !== true
    ? await startHttpServer(app, loaded.config.http, logger.child('http'))
    : undefined;
  if (http !== undefined) logger.info('http endpoint listening', { url: `http://${http.address.address}:${http.address.port}`, routes: ['/metrics', '/healthz', '/readyz', '/api/rules', '/api/actions'] });

  await waitForSignal(logger);
  await http?.close();
  await app.stop();
  return ExitCode.ok;
}

function logStartupSummary(app: Integration, logger: Logger): void {
  for (const rule of app.rules()) {
    logger.info('rule running', { rule: rule.id, topics: rule.topics, actions: rule.actions.map((a) => `${a.id} → ${a.connector}`), enabled: rule.enabled });
  }
  for (const [id, status] of Object.entries(app.status())) logger.info('connector', { id, state: status.state, ...(status.reason === undefined ? {} : { reason: status.reason }) });
}

function waitForSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info('stopping: draining in-flight messages', { signal });
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
