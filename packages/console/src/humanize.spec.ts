import { describe, expect, it } from '@jest/globals';
import { humanize, words } from './humanize';

describe('humanize', () => {
  it.each([
    ['bootstrapHosts', 'Bootstrap hosts'],
    ['clientId', 'Client ID'],
    ['id', 'ID'],
    ['ssl', 'SSL'],
    ['sasl', 'SASL'],
    ['tls', 'TLS'],
    ['qos', 'QoS'],
    ['mqtt', 'MQTT'],
    ['maxInflight', 'Max inflight'],
    ['partitionCountRefreshInterval', 'Partition count refresh interval'],
    ['caFile', 'CA file'],
    ['url', 'URL'],
    ['failed.no_result', 'Failed no result'],
    ['leftToBroker', 'Left to broker'],
    ['HTTPServer', 'Http server'],
  ])('%s → %s', (key, label) => {
    expect(humanize(key)).toBe(label);
  });

  it('splits snake, kebab and dotted keys', () => {
    expect(words('dropped.queue_full')).toEqual(['dropped', 'queue', 'full']);
    expect(words('max-batch-bytes')).toEqual(['max', 'batch', 'bytes']);
  });
});
