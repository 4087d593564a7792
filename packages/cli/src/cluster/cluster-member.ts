import { hostname } from 'node:os';
import { ConfigError, type Integration, type Logger } from '@sluice/core';
import { KafkaClusterTopic, parseKafkaConnectorConfig, type KafkaConnectorOptions } from '@sluice/kafka';
import type { LoadedConfig } from '../config-file';
import type { FileConfigStore } from '../config-store/file-config-store';
import { ClusterConfigSync } from './cluster-config-sync';
import { configTopicOf, memberIdOf, statusTopicOf, type ClusterConfig } from './cluster-config';
import { ClusterStatus, countersOfSnapshot, type ClusterView } from './cluster-status';
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

  /** Starts publishing this member's status and reading everyone's (once the integration runs). */
  async startStatus(app: Integration): Promise<void> {
    this.status = new ClusterStatus({
      cluster: this.config.name,
      member: this.id,
      host: hostname(),
      statusIntervalMs: this.config.statusIntervalMs,
      memberTimeoutMs: this.config.memberTimeoutMs,
      snapshot: () => {
        const metrics = app.metrics.snapshot();
        return { rules: countersOfSnapshot(metrics.rules), actions: countersOfSnapshot(metrics.actions), configRevision: this.sync.current?.revision };
      },
    }, this.makeLog(statusTopicOf(this.config.name), STATUS_TOPIC_CONFIG), this.logger.child('status'));
    await this.status.start();
  }

  view(): ClusterView | undefined {
    return this.status?.view();
  }

  /** Stops following the config topic and says `stopped` on the status topic. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.sync.close().catch(() => undefined);
      await this.status?.stop().catch((error: unknown) => this.logger.warn('cluster status not closed cleanly', { error: (error as Error).message }));
    })();
    return this.stopping;
  }
}

/** Every revision has a key of its own (see ClusterConfigSync.publish): compaction keeps them all, retention never drops the seed. */
const CONFIG_TOPIC_CONFIG = { 'cleanup.policy': 'compact' };
/** One record per member survives compaction; members gone for a week are forgotten. */
const STATUS_TOPIC_CONFIG = { 'cleanup.policy': 'compact,delete', 'retention.ms': String(7 * 24 * 3600 * 1000) };

/** The settings of the Kafka connector `cluster.connector` names (resolved secrets), checked. */
function clusterConnector(loaded: LoadedConfig): ReturnType<typeof parseKafkaConnectorConfig> {
  const cluster = loaded.config.cluster;
  const index = loaded.config.connectors.findIndex((entry) => entry['id'] === cluster?.connector);
  const entry = loaded.config.connectors[index];
  if (entry === undefined || entry.type !== 'kafka') {
    const kafkaIds = loaded.config.connectors.filter((c) => c.type === 'kafka').map((c) => String(c['id']));
    throw new ConfigError('sluice', [{
      path: 'cluster.connector',
      message: `names ${JSON.stringify(cluster?.connector)}, which is not a type: kafka connector under connectors: (${kafkaIds.length === 0 ? 'there is none' : `kafka connectors: ${kafkaIds.join(', ')}`})`,
    }]);
  }
  const { type: _type, ...options } = entry;
  return parseKafkaConnectorConfig(options as unknown as KafkaConnectorOptions);
}
