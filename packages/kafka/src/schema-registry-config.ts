import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type ConfigIssue } from '@sluice/core';
import type { KafkaConnectorConfig } from './kafka-connector-config';
import { SchemaRegistryClient } from './schema-registry-client';

type RegistryConfig = NonNullable<KafkaConnectorConfig['schemaRegistry']>;

/** The connector's schema registry client, TLS files read now; undefined when none is configured. */
export function createSchemaRegistryClient(config: KafkaConnectorConfig): SchemaRegistryClient | undefined {
  const registry = config.schemaRegistry;
  if (registry === undefined) return undefined;
  const tls = registryTls(registry);
  const auth = registry.authentication;
  return new SchemaRegistryClient({
    url: registry.url,
    timeoutMs: registry.requestTimeout,
    ...(auth === 'none' ? {} : { username: auth.username, password: auth.password }),
    ...(tls === undefined ? {} : { tls }),
  });
}

function registryTls(registry: RegistryConfig): ConnectionOptions | undefined {
  const tls = registry.tls;
  if (tls === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  const read = (inline: 'ca' | 'cert' | 'key', file: 'caFile' | 'certFile' | 'keyFile'): string | Buffer | undefined => {
    const value = tls[inline];
    if (value !== undefined) return value;
    const path = tls[file];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      // the path is not a secret; the file's content would be, and it never reaches the message
      issues.push({ path: `schemaRegistry.tls.${file}`, message: `cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` });
      return undefined;
    }
  };
  const options: ConnectionOptions = { rejectUnauthorized: tls.verify };
  const ca = read('ca', 'caFile');
  const cert = read('cert', 'certFile');
  const key = read('key', 'keyFile');
  if (issues.length > 0) throw new ConfigError('kafka', issues);
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (tls.passphrase !== undefined) options.passphrase = tls.passphrase;
  return options;
}
