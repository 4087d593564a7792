import { ConfigError } from '@sluice/core';
import { memberIdOf, type ClusterConfig } from './cluster-config';

type SourceEntry = { readonly type: string } & Readonly<Record<string, unknown>>;

/**
 * The MQTT sources of a cluster member as they run: subscribed through the share group named after the
 * cluster (the broker splits the stream between the members), each with a client id of this member's own
 * (`sluice-<source id>-<member>`, so each member has its own persistent session, resumed after a restart).
 * An entry that sets `shareGroup` or `clientId` keeps its own. Applied when the file is loaded, never
 * stored: the shared config stays the same text on every member.
 */
export function clusterSources(sources: readonly SourceEntry[], cluster: ClusterConfig): SourceEntry[] {
  const member = memberIdOf(cluster);
  return sources.map((entry) => entry.type !== 'mqtt' ? entry : {
    ...entry,
    shareGroup: entry['shareGroup'] ?? cluster.name,
    clientId: entry['clientId'] ?? `sluice-${String(entry['id'])}-${member}`,
  });
}

/**
 * `cluster.connector` must name a `type: kafka` connector of the file: checked when the file loads, so that
 * `sluice validate`, a reload and an API write that removes that connector are refused like any broken reference.
 */
export function assertClusterConnector(config: { readonly cluster?: ClusterConfig | undefined; readonly connectors: readonly SourceEntry[] }): void {
  const wanted = config.cluster?.connector;
  if (wanted === undefined || config.connectors.some((c) => c['id'] === wanted && c.type === 'kafka')) return;
  const kafkaIds = config.connectors.filter((c) => c.type === 'kafka').map((c) => String(c['id']));
  throw new ConfigError('sluice', [{
    path: 'cluster.connector',
    message: `names ${JSON.stringify(wanted)}, which is not a type: kafka connector under connectors: (${kafkaIds.length === 0 ? 'there is none' : `kafka connectors: ${kafkaIds.join(', ')}`})`,
  }]);
}
