import { describe, expect, it } from '@jest/globals';
import { ConfigError, IntegrationError } from '@sluice/core';
import { kafkaModule } from './kafka-module';
import { parseKafkaActionSettings, parseKafkaConnectorConfig } from './kafka-connector-config';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(IntegrationError.is(error)).toBe(true);
    expect((error as IntegrationError).code).toBe('ERR_CONFIG_INVALID');
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseKafkaConnectorConfig', () => {
  it('fills the defaults of the schema', () => {
    const config = parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: ['127.0.0.1:9092'] });
    expect(config).toEqual({
      id: 'k', bootstrapHosts: ['127.0.0.1:9092'], clientId: 'sluice', authentication: 'none', ssl: false,
      connectTimeout: 5000, requestTimeout: 30000, metadataRequestTimeout: 5000, partitionCountRefreshInterval: 60000,
      allowAutoTopicCreation: false, idempotent: false, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps kafkajs retries short by default, and an idempotent producer with the defaults is valid', () => {
    expect(parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', idempotent: true }).retry).toEqual({ retries: 2, initialRetryTime: 100, maxRetryTime: 1000 });
    expect(parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', retry: { maxRetryTime: '5s' } }).retry).toEqual({ retries: 2, initialRetryTime: 100, maxRetryTime: 5000 });
  });

  it('accepts a comma-separated host list and adds the default port 9092', () => {
    const config = parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a.example.com, b.example.com:19092,[::1]' });
    expect(config.bootstrapHosts).toEqual(['a.example.com:9092', 'b.example.com:19092', '[::1]:9092']);
  });

  it('parses EMQX-style durations', () => {
    const config = parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', connectTimeout: '10s', requestTimeout: '1m', metadataRequestTimeout: 750 });
    expect([config.connectTimeout, config.requestTimeout, config.metadataRequestTimeout]).toEqual([10_000, 60_000, 750]);
  });

  it('keeps a TLS object with verification on by default', () => {
    const config = parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', ssl: { ca: 'PEM' } });
    expect(config.ssl).toEqual({ enable: true, ca: 'PEM', verify: true });
  });

  describe('when the options are wrong', () => {
    it('names every bad path and never echoes a secret', () => {
      const error = configError(() => parseKafkaConnectorConfig({
        id: '', bootstrapHosts: 'broker:99999',
        authentication: { mechanism: 'scram-sha-265', username: 'u', password: 'hunter2-secret' } as never,
        connectTimeout: 'soon' as never,
      }));
      const paths = error.issues.map((issue) => issue.path);
      expect(paths).toEqual(expect.arrayContaining(['id', 'bootstrapHosts', 'authentication', 'connectTimeout']));
      expect(error.message).not.toContain('hunter2-secret');
      expect(error.message).toContain('"broker:99999" is not host:port');
    });

    it('refuses an unknown key (a typo) at once', () => {
      const error = configError(() => parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', clientid: 'x' } as never));
      expect(error.issues[0]?.message).toMatch(/clientid/);
    });

    it('refuses both ca and caFile, and a certificate without its key', () => {
      const error = configError(() => parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', ssl: { ca: 'x', caFile: '/x', cert: 'c' } }));
      expect(error.issues.map((issue) => issue.path).sort()).toEqual(['ssl.caFile', 'ssl.key']);
    });

    it('kafkaModule throws ConfigError for an unreadable CA file before connecting', () => {
      const error = configError(() => kafkaModule({ id: 'k', bootstrapHosts: 'a', ssl: { caFile: '/nonexistent/ca.pem' } }));
      expect(error.issues).toEqual([{ path: 'ssl.caFile', message: 'cannot read "/nonexistent/ca.pem" (ENOENT)' }]);
    });

    it('requires a function as OAUTHBEARER token provider', () => {
      const error = configError(() => parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', authentication: { mechanism: 'oauthbearer', tokenProvider: 'x' } as never }));
      expect(error.issues[0]?.path).toMatch(/^authentication/);
    });
  });
});

describe('parseKafkaActionSettings', () => {
  it('uses EMQX defaults: key ${clientid}, value ${.}, timestamp ${timestamp}, acks all', () => {
    expect(parseKafkaActionSettings({ topic: 'emqx' }, 'r:k')).toEqual({
      topic: 'emqx', key: '${clientid}', value: '${.}', timestamp: '${timestamp}', extHeaders: [], check: { key: 'none', value: 'none' },
      headerValueEncodeMode: 'none', userPropertiesAsHeaders: true, requiredAcks: 'all', compression: 'none',
      partitionStrategy: 'random', maxBatchBytes: 896 * 1024, maxBatchRecords: 500, maxLingerTime: 0, maxLingerBytes: 10 * 1024 * 1024, maxInflight: 10, queryMode: 'async', syncQueryTimeout: 5000,
      buffer: { limit: 256 * 1024 * 1024, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, mode: 'memory', segmentBytes: 10 * 1024 * 1024, diskLimit: 1024 ** 3 },
      maxRetries: Number.POSITIVE_INFINITY, retryBackoff: { initial: 1000, max: 30_000 },
    });
  });

  it("parses the buffer and retry settings, 'infinity' included", () => {
    const settings = parseKafkaActionSettings({
      topic: 't', buffer: { limit: '1MB', overflow: 'drop_oldest', maxBatchAge: '30s' }, maxRetries: 'infinity', retryBackoff: { initial: '100ms' },
    }, 'r:k');
    expect([settings.buffer, settings.maxRetries, settings.retryBackoff]).toEqual([
      { limit: 1024 * 1024, overflow: 'drop_oldest', maxBatchAge: 30_000, mode: 'memory', segmentBytes: 10 * 1024 * 1024, diskLimit: 1024 ** 3 }, Number.POSITIVE_INFINITY, { initial: 100, max: 30_000 },
    ]);
    expect(parseKafkaActionSettings({ topic: 't', buffer: { maxBatchAge: 'infinity' }, maxRetries: 3 }, 'r:k')).toMatchObject({
      buffer: { maxBatchAge: Number.POSITIVE_INFINITY }, maxRetries: 3,
    });
  });

  it('reads maxLingerBytes and buffer.perPartitionLimit as sizes; a partition has no limit of its own by default', () => {
    const settings = parseKafkaActionSettings({ topic: 't', maxLingerBytes: '64KB', buffer: { perPartitionLimit: '16MB' } }, 'r:k');
    expect([settings.maxLingerBytes, settings.buffer.perPartitionLimit]).toEqual([64 * 1024, 16 * 1024 * 1024]);
    expect(parseKafkaActionSettings({ topic: 't' }, 'r:k').buffer.perPartitionLimit).toBeUndefined();
    const error = configError(() => parseKafkaActionSettings({ topic: 't', maxLingerBytes: 'lots', buffer: { perPartitionLimit: -1 } }, 'r:k'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['buffer.perPartitionLimit', 'maxLingerBytes']);
  });

  it("reads the query mode, and refuses a zero syncQueryTimeout in 'sync' mode", () => {
    expect(parseKafkaActionSettings({ topic: 't', queryMode: 'sync', syncQueryTimeout: '2s' }, 'r:k')).toMatchObject({ queryMode: 'sync', syncQueryTimeout: 2000 });
    const error = configError(() => parseKafkaActionSettings({ topic: 't', queryMode: 'sync', syncQueryTimeout: 0 }, 'r:k'));
    expect(error.issues).toEqual([expect.objectContaining({ path: 'syncQueryTimeout', message: expect.stringContaining('more than 0') })]);
  });

  it('refuses a disk buffer without a directory or with a retry limit', () => {
    const error = configError(() => parseKafkaActionSettings({ topic: 't-${a}', buffer: { mode: 'disk' }, maxRetries: 3 }, 'r:k'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['buffer.dir', 'maxRetries']);
    expect(parseKafkaActionSettings({ topic: 't-${a}', buffer: { mode: 'disk', dir: '/var/lib/sluice' } }, 'r:k').buffer).toMatchObject({ mode: 'disk', dir: '/var/lib/sluice' });
  });

  it('refuses an unknown overflow policy and a back-off that starts above its maximum', () => {
    const error = configError(() => parseKafkaActionSettings({
      topic: 't', buffer: { overflow: 'drop_all' }, retryBackoff: { initial: '1m', max: '1s' },
    }, 'r:k'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['buffer.overflow']);
    const backoff = configError(() => parseKafkaActionSettings({ topic: 't', retryBackoff: { initial: '1m', max: '1s' } }, 'r:k'));
    expect(backoff.issues.map((issue) => issue.path)).toEqual(['retryBackoff.initial']);
  });

  it('parses sizes and durations', () => {
    const settings = parseKafkaActionSettings({ topic: 't', maxBatchBytes: '1MB', maxLingerTime: '5ms' }, 'r:k');
    expect([settings.maxBatchBytes, settings.maxLingerTime]).toEqual([1024 * 1024, 5]);
  });

  it('names the action and each bad setting', () => {
    const error = configError(() => parseKafkaActionSettings({
      topic: '', requiredAcks: 'all_isr', headers: 'x-${a}', extHeaders: [{ key: 'k' }], maxInflight: 0,
    }, 'temp_hum:kafka'));
    expect(error.message).toContain('kafka action "temp_hum:kafka"');
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['extHeaders[0].value', 'headers', 'maxInflight', 'requiredAcks', 'topic']);
  });

  it('refuses key_dispatch without a key template', () => {
    const error = configError(() => parseKafkaActionSettings({ topic: 't', partitionStrategy: 'key_dispatch', key: '' }, 'r:k'));
    expect(error.issues).toEqual([{ path: 'key', message: 'key_dispatch needs a key template' }]);
  });

  it('takes valueSchema with its schema as a map or JSON text, and refuses a value template or value check beside it', () => {
    expect(parseKafkaActionSettings({ topic: 't', valueSchema: { type: 'avro', schema: { type: 'string' } } }, 'r:k').valueSchema)
      .toEqual({ type: 'avro', schema: { type: 'string' } });
    expect(parseKafkaActionSettings({ topic: 't', valueSchema: { type: 'json', schema: '{}', subject: 's' } }, 'r:k').valueSchema)
      .toEqual({ type: 'json', schema: '{}', subject: 's' });
    const error = configError(() => parseKafkaActionSettings({ topic: 't', value: '${temp}', check: { value: 'json' }, valueSchema: { type: 'protobuf' } }, 'r:k'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['valueSchema.type']);
    const both = configError(() => parseKafkaActionSettings({ topic: 't', value: '${temp}', check: { value: 'json' }, valueSchema: { type: 'avro' } }, 'r:k'));
    expect(both.issues.map((issue) => issue.path).sort()).toEqual(['check.value', 'value']);
  });
});

describe('schemaRegistry', () => {
  const connector = (schemaRegistry: unknown): unknown => parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'h', schemaRegistry } as never).schemaRegistry;

  it('takes a URL, basic auth and TLS options, with a 10 s request timeout by default', () => {
    expect(connector({ url: 'https://r:8081', authentication: { username: 'u', password: 'p' }, tls: { verify: false } }))
      .toEqual({ url: 'https://r:8081', authentication: { username: 'u', password: 'p' }, tls: { verify: false }, requestTimeout: 10_000 });
  });

  it('refuses credentials inside the URL, other schemes, and a certificate without its key, without quoting the values', () => {
    const error = configError(() => connector({ url: 'http://u:secret@r:8081', tls: { cert: 'PEM' } }));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['schemaRegistry.tls.key', 'schemaRegistry.url']);
    expect(error.message).not.toContain('secret');
    expect(configError(() => connector({ url: 'ftp://r' })).issues[0]?.message).toMatch(/http:\/\/ or https:\/\/ URL without credentials/);
  });
});
