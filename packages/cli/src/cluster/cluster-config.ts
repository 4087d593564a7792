import { hostname } from 'node:os';
import { z } from 'zod';

/** Kafka topic names allow these characters; the cluster name goes into two of them. */
const TOPIC_SAFE = /^[A-Za-z0-9._-]+$/;

/** The `cluster:` section: run this process as one member of a cluster of `sluice run` processes. */
export const ClusterConfig = z.strictObject({
  name: z.string().min(1).max(100).regex(TOPIC_SAFE, 'a cluster name may hold letters, digits, `.`, `_` and `-` only (it names Kafka topics and the MQTT share group)')
    .describe('The cluster this member joins. Names its Kafka topics (`_sluice-<name>-config`, `_sluice-<name>-status`) and the MQTT share group its MQTT sources subscribe through.'),
  connector: z.string().min(1)
    .describe('The id of a `type: kafka` connector under `connectors:` whose cluster holds the cluster topics (its bootstrap hosts, TLS and SASL settings are used).'),
  member: z.string().min(1).max(100).regex(TOPIC_SAFE, 'a member id may hold letters, digits, `.`, `_` and `-` only (it goes into MQTT client ids)').optional()
    .describe('This member\'s id, unique in the cluster and the same across its restarts (its MQTT sessions are named after it, so a restarted member resumes them). Default: the host name. Give it as `${env:…}` when members share a host.'),
  statusIntervalMs: z.number().int().min(200).max(60_000).default(2_000)
    .describe('How often this member publishes its status and metrics to the status topic.'),
  memberTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(10_000)
    .describe('A member whose last status is older than this is shown as gone.'),
});
export type ClusterConfig = z.output<typeof ClusterConfig>;

/** The member id of this process: the configured one, else the host name made topic-safe. */
export function memberIdOf(config: ClusterConfig): string {
  return config.member ?? (hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'member');
}

export function configTopicOf(cluster: string): string {
  return `_sluice-${cluster}-config`;
}

export function statusTopicOf(cluster: string): string {
  return `_sluice-${cluster}-status`;
}
