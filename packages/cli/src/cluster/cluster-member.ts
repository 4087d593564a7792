import { hostname } from 'node:os';
import type { Integration, Logger } from '@sluice/core';
import { KafkaClusterTopic, parseKafkaConnectorConfig, type KafkaConnectorOptions } from '@sluice/kafka';
import type { LoadedConfig } from '../config-file';
import type { FileConfigStore } from '../config-store/file-config-store';
import { ClusterConfigSync } from './cluster-config-sync';
import { configTopicOf, memberIdOf, statusTopicOf, type ClusterConfig } from './cluster-config';
import { ClusterStatus, countersOfSnapshot, type ClusterView } from './cluster-status';
import { incarnationOf, takeOver, takeoverDuty, type Incarnation } from './session-takeover';
import type { SharedLogFactory } from './shared-log';

/**
 * One `sluice run` process as a member of a cluster (the config's `cluster:` section): the shared config
 * on `_sluice-<cluster>-config` (ClusterConfigSync) and the members' status on `_sluice-<cluster>-status`
 * (ClusterStatus), both on the Kafka cluster of the connector `cluster.connector` names. Kafka orders and
 * keeps; no consensus of our own (see docs/cluster.md).
 */
export class ClusterMember {
  readonly id: string;
  readonly config: ClusterConfig;
  readonly sync: ClusterConfigSync;
  private status: ClusterStatus | undefined;
  private stopping: Promise<void> | undefined;
  private watcher: NodeJS.Timeout | undefined;
  /** The takeover in progress: one at a time. */
  private takingOver: Promise<unknown> | undefined;
  /** Incarnations of dead members this member has taken over (or is taking over). */
  private readonly takenOver = new Set<Incarnation>();
  private readonly stopped = new AbortController();

  private constructor(config: ClusterConfig, private readonly makeLog: (topic: string, topicConfig: Record<string, string>) => SharedLogFactory, file: FileConfigStore, private readonly logger: Logger) {
    this.config = config;
    this.id = memberIdOf(config);
    this.sync = new ClusterConfigSync(this.id, makeLog(configTopicOf(config.name), CONFIG_TOPIC_CONFIG), file, logger.child('config'));
  }

  /**
   * Joins the cluster before the integration is built: reads the config topic, seeds it or writes the
   * cluster's shared config into the file. `mirrored` says the file changed (load it again).
   */
  static async join(loaded: LoadedConfig, file: FileConfigStore, logger: Logger): Promise<{ member: ClusterMember; mirrored: boolean }> {
    const config = loaded.config.cluster;
    if (config === undefined) throw new Error('ClusterMember.join needs a cluster: section');
    const connector = clusterConnector(loaded);
    const makeLog = (topic: string, topicConfig: Record<string, string>): SharedLogFactory => (onRecord) => new KafkaClusterTopic(connector, {
      topic, topicConfig, onRecord, groupPrefix: `sluice-cluster-${config.name}-${memberIdOf(config)}`,
    }, logger.child('kafka'));
    const member = new ClusterMember(config, makeLog, file, logger);
    try {
      const { mirrored } = await member.sync.join();
      logger.info('joined the cluster', { cluster: config.name, member: member.id, topic: configTopicOf(config.name) });
      return { member, mirrored };
    } catch (error) {
      await member.sync.close().catch(() => undefined);
      throw new Error(`cannot join cluster "${config.name}" through connector "${config.connector}": ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Starts publishing this member's status and reading everyone's (once the integration runs), and watching
   * for members that died: their MQTT sessions are taken over (session-takeover.ts). `load` reads the config
   * as it runs now (the member's file).
   */
  async startStatus(app: Integration, load: () => LoadedConfig): Promise<void> {
    this.status = new ClusterStatus({
      cluster: this.config.name,
      member: this.id,
      host: hostname(),
      statusIntervalMs: this.config.statusIntervalMs,
      memberTimeoutMs: this.config.memberTimeoutMs,
      snapshot: () => {
        const metrics = app.metrics.snapshot();
        return { rules: countersOfSnapshot(metrics.rules), actions: countersOfSnapshot(metrics.actions), configRevision: this.sync.appliedRevision };
      },
    }, this.makeLog(statusTopicOf(this.config.name), STATUS_TOPIC_CONFIG), this.logger.child('status'));
    await this.status.start();
    const status = this.status;
    const takeovers = this.logger.child('takeover');
    this.watcher = setInterval(() => {
      if (this.takingOver !== undefined || !status.seesLongEnough()) return;
      const [dead] = takeoverDuty(status.view(), this.takenOver);
      if (dead === undefined) return;
      this.takenOver.add(incarnationOf(dead));
      takeovers.warn('a member stopped publishing its status: taking over its MQTT sessions', { member: dead.id, lastSeen: dead.lastSeen });
      this.takingOver = takeOver(dead.id, { self: this.id, app, load, settleMs: TAKEOVER_SETTLE_MS, maxMs: TAKEOVER_MAX_MS, signal: this.stopped.signal, logger: takeovers })
        .then(() => (this.stopped.signal.aborted ? undefined : status.markTakenOver(dead.id)))
        .catch((error: unknown) => {
          // tried again at a later tick: its messages wait in its session until someone takes it over
          this.takenOver.delete(incarnationOf(dead));
          takeovers.error('taking over a dead member\'s sessions failed; trying again', { member: dead.id, error: (error as Error).message });
        })
        .finally(() => (this.takingOver = undefined));
    }, this.config.statusIntervalMs);
    this.watcher.unref();
  }

  view(): ClusterView | undefined {
    return this.status?.view();
  }

  /** Stops following the config topic and says `stopped` on the status topic. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.watcher !== undefined) clearInterval(this.watcher);
      this.stopped.abort();
      await this.takingOver;
      await this.sync.close().catch(() => undefined);
      await this.status?.stop().catch((error: unknown) => this.logger.warn('cluster status not closed cleanly', { error: (error as Error).message }));
    })();
    return this.stopping;
  }
}

/** A taken-over session counts as drained after this long with nothing received or pending. */
const TAKEOVER_SETTLE_MS = 2_000;
/** A takeover source is removed after this long whatever it still receives (new messages go to the live members). */
const TAKEOVER_MAX_MS = 120_000;

/** Every revision has a key of its own (see ClusterConfigSync.publish): compaction keeps them all, retention never drops the seed. */
const CONFIG_TOPIC_CONFIG = { 'cleanup.policy': 'compact' };
/**
 * One record per member survives compaction; members gone for a week are forgotten. Hourly segments: compaction
 * never touches the segment being written, so with Kafka's default (7 days) a starting member would replay a
 * week of status records (one per member every statusIntervalMs) instead of about one per member.
 */
const STATUS_TOPIC_CONFIG = { 'cleanup.policy': 'compact,delete', 'retention.ms': String(7 * 24 * 3600 * 1000), 'segment.ms': String(3600 * 1000) };

/** The settings of the Kafka connector `cluster.connector` names (checked when the file loaded: assertClusterConnector). */
function clusterConnector(loaded: LoadedConfig): ReturnType<typeof parseKafkaConnectorConfig> {
  const entry = loaded.config.connectors.find((c) => c['id'] === loaded.config.cluster?.connector && c.type === 'kafka');
  if (entry === undefined) throw new Error(`cluster.connector names no type: kafka connector`);
  const { type: _type, ...options } = entry;
  return parseKafkaConnectorConfig(options as unknown as KafkaConnectorOptions);
}
