import { describe, expect, it } from '@jest/globals';
import { ClusterConfig } from './cluster-config';
import { clusterSources } from './cluster-sources';

const cluster = ClusterConfig.parse({ name: 'plant', connector: 'kafka', member: 'm1' });

describe('the MQTT sources of a cluster member', () => {
  it('subscribe through the cluster\'s share group with a client id of this member', () => {
    const [source] = clusterSources([{ type: 'mqtt', id: 'floor', url: 'mqtt://127.0.0.1:1883' }], cluster);
    expect(source).toMatchObject({ shareGroup: 'plant', clientId: 'sluice-floor-m1' });
  });

  it('keep a share group or client id the entry sets, and leave other source types alone', () => {
    const sources = clusterSources([
      { type: 'mqtt', id: 'floor', shareGroup: 'own', clientId: 'fixed' },
      { type: 'mqtt-broker', id: 'embedded', port: 1884 },
    ], cluster);
    expect(sources[0]).toMatchObject({ shareGroup: 'own', clientId: 'fixed' });
    expect(sources[1]).toEqual({ type: 'mqtt-broker', id: 'embedded', port: 1884 });
  });

  it('refuse a cluster name that could not name a Kafka topic', () => {
    expect(ClusterConfig.safeParse({ name: 'a/b', connector: 'kafka' }).success).toBe(false);
  });
});
