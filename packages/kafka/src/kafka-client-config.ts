import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type ConfigIssue, type Logger } from '@sluice/core';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { kafkaLogCreator } from './kafka-log-creator';
import type { KafkaConnectorConfig, KafkaSslOptions } from './kafka-connector-config';

/** TLS options ready for tls.connect / kafkajs, with files read; undefined when TLS is off. */
export function resolveTls(config: KafkaConnectorConfig): ConnectionOptions | undefined {
  const ssl = config.ssl;
  if (ssl === false) return undefined;
  if (ssl === true) return { rejectUnauthorized: true };
  if (!ssl.enable) return undefined;
  const issues: ConfigIssue[] = [];
  const options: ConnectionOptions = { rejectUnauthorized: ssl.verify };
  const ca = pemOf(ssl, 'ca', 'caFile', issues);
  const cert = pemOf(ssl, 'cert', 'certFile', issues);
  const key = pemOf(ssl, 'key', 'keyFile', issues);
  if (issues.length > 0) throw new ConfigError('kafka', issues);
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (ssl.passphrase !== undefined) options.passphrase = ssl.passphrase;
  if (ssl.serverName !== undefined) options.servername = ssl.serverName;
  return options;
}

function pemOf(
  ssl: KafkaSslOptions,
  inline: 'ca' | 'cert' | 'key',
  file: 'caFile' | 'certFile' | 'keyFile',
  issues: ConfigIssue[],
): string | Buffer | undefined {
  const value = ssl[inline];
  if (value !== undefined) return value;
  const path = ssl[file];
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    // the path is not a secret; the file's content would be, and it is never read into the message
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    issues.push({ path: `ssl.${file}`, message: `cannot read "${path}" (${code})` });
    return undefined;
  }
}

export function toSasl(config: KafkaConnectorConfig): SASLOptions | undefined {
  const auth = config.authentication;
  if (auth === 'none') return undefined;
  switch (auth.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: auth.username, password: auth.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: auth.username, password: auth.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: auth.username, password: auth.password };
    case 'oauthbearer':
      return { mechanism: 'oauthbearer', oauthBearerProvider: auth.tokenProvider };
  }
}

/** The kafkajs client configuration of a connector. Reads TLS files: throws ConfigError when one is missing. */
export function toKafkaConfig(config: KafkaConnectorConfig, logger: Logger, brokers: readonly string[] = config.bootstrapHosts): KafkaConfig {
  const kafka: KafkaConfig = {
    clientId: config.clientId,
    brokers: [...brokers],
    connectionTimeout: config.connectTimeout,
    authenticationTimeout: Math.max(config.connectTimeout, 1_000),
    requestTimeout: config.requestTimeout,
    retry: { ...config.retry },
    logCreator: kafkaLogCreator(logger),
  };
  const ssl = resolveTls(config);
  if (ssl !== undefined) kafka.ssl = ssl;
  const sasl = toSasl(config);
  if (sasl !== undefined) kafka.sasl = sasl;
  return kafka;
}
