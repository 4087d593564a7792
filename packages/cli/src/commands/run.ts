import { dirname, join } from 'node:path';
import { realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Integration, Logger } from '@sluice/core';
import { ClusterConfigStore } from '../cluster/cluster-config-store';
import { ClusterMember } from '../cluster/cluster-member';
import { composeFromConfig, sqlEngineOptions } from '../compose';
import { loadConfigFile, type LoadedConfig } from '../config-file';
import { FileConfigStore } from '../config-store/file-config-store';
import { CliError, ExitCode } from '../exit-codes';
import { startHttpServer } from '../http-server';
import { createLogger, scrub } from '../logger';
import { ConfigReloader, watchConfigFile } from '../reload';
import { SecretFields } from '../secret-fields';
import { logConnectorStates } from '../state-log';
import type { CommandIo } from './io';

export const runHelp = `Usage: sluice run -c <config> [options]

Runs the sources, connectors, rules and actions of a config file in the foreground. SIGTERM or SIGINT
stops intake, drains in-flight messages (stopTimeoutMs, default 30 s) and exits. SIGHUP re-reads the
config: changed rules, actions, sources and connectors are swapped without dropping or duplicating
messages (in-flight ones finish on the old ones); changed runner settings (node, http, log, sql,
plugins, stopTimeoutMs, rateIntervalMs) are reported as needing a restart; an invalid file is refused
(its errors are logged) and the running configuration stays. What the REST API creates, edits or
deletes is written into the config file (comments and references kept) and applied the same way.

With a cluster: section the process joins a cluster (docs/cluster.md): the file's sources, connectors
and rules are replaced by the cluster's (or seed them on first start), API changes apply on every
member, and SIGHUP publishes the file's shared sections to the cluster when they differ.

Options:
  -c, --config <file>   config file (YAML or JSON), required
  --no-http             do not start the HTTP endpoint (/metrics, /healthz, /readyz, /api)
  --watch               also reload when the config file changes
  --log-format <f>      json | pretty (default: pretty on a terminal, json otherwise)
  -h, --help            this help

Exit codes: 0 stopped cleanly, 2 invalid config, 3 could not start (e.g. a connector unreachable).`;

export async function run(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      'no-http': { type: 'boolean' },
      watch: { type: 'boolean' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(runHelp);
    return ExitCode.ok;
  }
  if (values.config === undefined) throw new CliError('-c <config> is required\n\n' + runHelp, ExitCode.invalid);
  const file = values.config;
  let loaded = loadConfigFile(file, io.env);
  const format = values['log-format'] ?? loaded.config.log.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') throw new CliError('--log-format must be json or pretty', ExitCode.invalid);
  const secrets = new Set(loaded.secrets);
  const logger = createLogger({ level: loaded.config.log.level, format, secrets });
  // what the API creates, edits or deletes is written into the config file and applied by a reload
  const fileStore = new FileConfigStore({ file, env: io.env });
  const joined = loaded.config.cluster === undefined
    ? undefined
    : await ClusterMember.join(loaded, fileStore, logger.child('cluster')).catch((error: unknown) => {
      throw new CliError(`could not start: ${scrub(String((error as Error).message), secrets)}`, ExitCode.startFailed);
    });
  const cluster = joined?.member;
  if (joined?.mirrored === true) {
    // the file now holds the cluster's sources, connectors and rules
    loaded = loadConfigFile(file, io.env);
    for (const secret of loaded.secrets) secrets.add(secret);
  }
  const app = await composeFromConfig(loaded, logger).catch(async (error: unknown) => {
    await cluster?.stop();
    throw error;
  });

  // Installed before start so that an early SIGHUP does not kill the process (its default action).
  let reloader: ConfigReloader | undefined;
  const onHangup = (): void => {
    if (reloader === undefined) {
      logger.warn('SIGHUP during start-up ignored; send it again once ready', {});
      return;
    }
    logger.info('SIGHUP: reloading the config', { file });
    void (cluster === undefined ? reloader.reload('SIGHUP') : publishThenReload(cluster, reloader, 'SIGHUP', logger));
  };
  process.on('SIGHUP', onHangup);
  try {
    return await runStarted(app, loaded, { file, store: fileStore, cluster }, values.watch === true, values['no-http'] === true, io, logger, secrets, (r) => (reloader = r));
  } finally {
    process.off('SIGHUP', onHangup);
    await cluster?.stop();
  }
}

/**
 * A SIGHUP or file change of a cluster member: the file's shared sections become the cluster's next
 * revision when they differ (every member applies it), then the file is reloaded here. When another
 * member's change came first, that one is written into the file instead (the hand edit is lost: logged).
 */
async function publishThenReload(member: ClusterMember, reloader: ConfigReloader, trigger: string, logger: Logger): Promise<void> {
  try {
    const outcome = await member.sync.publishFile();
    if (outcome === 'published') logger.info('the config file\'s sources, connectors and rules are now the cluster\'s', { trigger });
    if (outcome === 'conflict') logger.warn('another member changed the cluster config first; its revision replaces this file\'s sections', { trigger });
  } catch (error) {
    logger.error('the config file could not be published to the cluster; this member reloads it alone', { trigger, error: (error as Error).message });
  }
  const outcome = await reloader.reload(trigger);
  // runs what the file says: the cluster's revision when the file matches it
  if (outcome.applied && (await member.sync.fileMatchesCluster())) member.sync.markApplied(member.sync.current?.revision);
}

/** Where the running config comes from: its file, the store the API writes through, and the cluster it is shared in. */
interface ConfigHome {
  readonly file: string;
  readonly store: FileConfigStore;
  readonly cluster: ClusterMember | undefined;
}

async function runStarted(
  app: Integration,
  loaded: LoadedConfig,
  { file, store: fileStore, cluster }: ConfigHome,
  watchFile: boolean,
  noHttp: boolean,
  io: CommandIo,
  logger: Logger,
  secrets: Set<string>,
  ready: (reloader: ConfigReloader) => void,
): Promise<number> {
  try {
    await app.start();
  } catch (error) {
    // printed to stderr as it is, not through the logger: scrubbed here
    throw new CliError(`could not start: ${scrub(String((error as Error).message), secrets)}`, ExitCode.startFailed);
  }
  logStartupSummary(app, logger);
  // the API answers the fields that came from secret references as [redacted], by position (see SecretFields)
  const secretFields = new SecretFields();
  secretFields.add(loaded);
  const reloader = new ConfigReloader(file, io.env, app, loaded, logger.child('reload'), secrets, (next) => secretFields.add(next));
  const store = cluster === undefined ? fileStore : new ClusterConfigStore(fileStore, cluster.sync, join(dirname(realpathSync(file)), 'secrets'), logger.child('cluster'));
  if (cluster !== undefined) {
    await cluster.startStatus(app, () => loadConfigFile(file, io.env));
    // another member's change, already written into the file: applied here as a reload
    cluster.sync.follow(async (revision) => {
      const outcome = await reloader.reload('cluster');
      if (!outcome.applied) logger.error('the cluster\'s config revision was refused here; this member runs its previous config', { revision: revision.revision.slice(0, 12), by: revision.member, error: outcome.error });
      return outcome.applied;
    });
  }
  const http = loaded.config.http.enabled && !noHttp
    ? await startHttpServer(app, { ...loaded.config.http, secrets, secretFields, ruleEngine: sqlEngineOptions(loaded.config), config: { store, reloader, plugins: loaded.plugins, env: io.env, cluster } }, logger.child('http'))
    : undefined;
  if (http !== undefined) logger.info('http endpoint listening', { url: `http://${http.address.address}:${http.address.port}`, routes: ['/metrics', '/healthz', '/readyz', '/api/rules', '/api/actions', '/api/connectors', '/api/sources', '/api/config'] });

  const states = logConnectorStates(app, logger.child('connectors'));
  ready(reloader);
  const watcher = watchFile
    ? watchConfigFile(file, () => void (cluster === undefined ? reloader.reload('file change') : publishThenReload(cluster, reloader, 'file change', logger)))
    : undefined;
  logger.info('ready', { file, reload: watchFile ? 'SIGHUP or file change' : 'SIGHUP' });

  await waitForSignal(logger);
  watcher?.close();
  await http?.close();
  // no cluster change is applied while the integration drains; the others see this member stopped
  await cluster?.stop();
  await app.stop();
  states.check();
  states.stop();
  return ExitCode.ok;
}

function logStartupSummary(app: Integration, logger: Logger): void {
  for (const rule of app.rules()) {
    logger.info('rule running', { rule: rule.id, topics: rule.topics, actions: rule.actions.map((a) => `${a.id} → ${a.connector}`), enabled: rule.enabled });
  }
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
