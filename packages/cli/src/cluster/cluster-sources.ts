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
