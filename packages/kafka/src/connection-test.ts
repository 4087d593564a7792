import type { ConnectionOptions } from 'node:tls';
import { type ConnectionTestReport, type ConnectionTestStage, type Logger, silentLogger } from '@sluice/core';
import { type Admin, Kafka } from 'kafkajs';
import { resolveTls, toKafkaConfig } from './kafka-client-config';
import { type KafkaConnectorConfig, type KafkaConnectorOptions, parseKafkaConnectorConfig } from './kafka-connector-config';
import { type HostPort, parseHostPort, tcpProbe, tlsProbe } from './probes';
import { createSchemaRegistryClient } from './schema-registry-config';

export interface ConnectionTestOptions {
  /** Topics to check (exist, every partition has a leader): the non-templated topics of the actions. */
  readonly topics?: readonly string[];
  readonly logger?: Logger;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/**
 * The staged connection test: TCP to each bootstrap host → TLS handshake and certificate check →
 * SASL (a real kafkajs connection) → cluster metadata and a TCP check of every advertised broker →
 * each given topic exists and has partition leaders. Stops at the first failing stage; every detail
 * says what was checked or what failed and what to change. Needs no started connector; never throws for
 * an unreachable cluster (a bad config still throws ConfigError).
 */
export async function testKafkaConnection(
  options: KafkaConnectorOptions | KafkaConnectorConfig,
  { topics = [], logger = silentLogger }: ConnectionTestOptions = {},
): Promise<ConnectionTestReport> {
  const config = parseKafkaConnectorConfig(options as KafkaConnectorOptions);
  const stages: ConnectionTestStage[] = [];
  const finish = (): ConnectionTestReport => ({ connectorId: config.id, ok: stages.every((s) => s.ok), stages });
  const fail = (stage: string, detail: string): ConnectionTestReport => {
    stages.push({ stage, ok: false, detail });
    return finish();
  };

  // 1. TCP
  const hosts = config.bootstrapHosts.map((address) => ({ address, ...parseHostPort(address) }));
  const tcp = await Promise.all(hosts.map((host) => tcpProbe(host, config.connectTimeout)));
  const reachable = hosts.filter((_, i) => tcp[i]?.ok === true);
  const unreachable = hosts.map((host, i) => ({ host, result: tcp[i] })).filter(({ result }) => result?.ok === false)
    .map(({ host, result }) => `${host.address} (${tcpHint(result as { code: string; message: string }, config.connectTimeout)})`);
  if (reachable.length === 0) return fail('tcp', `cannot reach any bootstrap host: ${unreachable.join('; ')}`);
  stages.push({ stage: 'tcp', ok: true, detail: `reached ${reachable.map((h) => h.address).join(', ')}`
    + (unreachable.length > 0 ? `; could not reach ${unreachable.join('; ')}` : '') });
  const first = reachable[0] as HostPort & { address: string };

  // 2. TLS
  const tls = resolveTls(config);
  if (tls !== undefined) {
    const result = await tlsProbe(first, tls, config.connectTimeout);
    if (!result.ok) return fail('tls', tlsFailure(first.address, result, tls));
    stages.push({ stage: 'tls', ok: true, detail: tls.rejectUnauthorized === false
      ? `TLS handshake with ${first.address} done; the certificate was NOT verified (ssl.verify is false)`
      : `TLS handshake with ${first.address} done; certificate verified against ${tls.ca === undefined ? "Node's bundled public CAs" : 'the configured CA'}` });
  }

  // 3. SASL (or the plain Kafka handshake) through kafkajs itself
  const kafka = new Kafka({
    ...toKafkaConfig(config, logger, reachable.map((h) => h.address)),
    requestTimeout: config.metadataRequestTimeout,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    const saslStage = config.authentication === 'none' ? 'handshake' : 'sasl';
    try {
      await admin.connect();
    } catch (error) {
      return fail(saslStage, await handshakeFailure(config, first, tls, error));
    }
    stages.push({ stage: saslStage, ok: true, detail: config.authentication === 'none'
      ? `the broker accepted an unauthenticated ${tls === undefined ? 'PLAINTEXT' : 'SSL'} connection`
      : config.authentication.mechanism === 'oauthbearer'
        ? 'authenticated with OAUTHBEARER'
        : `authenticated as "${config.authentication.username}" with ${mechanismName(config.authentication.mechanism)}` });

    // 4. metadata, and whether the brokers the cluster advertises are reachable from here
    let cluster: Awaited<ReturnType<Admin['describeCluster']>>;
    try {
      cluster = await admin.describeCluster();
    } catch (error) {
      return fail('metadata', `the cluster did not answer a metadata request within ${config.metadataRequestTimeout} ms: ${messageOf(error)}`);
    }
    const advertised = await Promise.all(cluster.brokers.map(async (broker) =>
      ({ broker, result: await tcpProbe({ host: broker.host, port: broker.port }, config.connectTimeout) })));
    const lost = advertised.filter(({ result }) => !result.ok);
    if (lost.length > 0) {
      return fail('metadata', lost.map(({ broker }) => `broker ${broker.nodeId} advertises ${broker.host}:${broker.port}, which cannot be reached from here`).join('; ')
        + ': producers connect to the advertised addresses, so fix advertised.listeners on the broker or the network path');
    }
    stages.push({ stage: 'metadata', ok: true, detail: `cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s) `
      + `(${cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(', ')}), controller ${cluster.controller ?? 'unknown'}` });

    // 5. topics
    for (const topic of topics) {
      const stage = `topic ${topic}`;
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = metadata.topics[0]?.partitions ?? [];
        const leaderless = partitions.filter((p) => p.leader < 0).map((p) => p.partitionId);
        if (partitions.length === 0) return fail(stage, `topic "${topic}" has no partitions`);
        if (leaderless.length > 0) {
          return fail(stage, `topic "${topic}": partition(s) ${leaderless.join(', ')} of ${partitions.length} have no leader; the brokers holding them are down`);
        }
        stages.push({ stage, ok: true, detail: `topic "${topic}" exists; all ${partitions.length} partition(s) have a leader` });
      } catch (error) {
        if ((error as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION' && config.allowAutoTopicCreation) {
          stages.push({ stage, ok: true, detail: topicFailure(topic, config, error) });
          continue;
        }
        return fail(stage, topicFailure(topic, config, error));
      }
    }

    // 6. the schema registry of actions with valueSchema: address, TLS and credentials in one cheap call
    const registry = createSchemaRegistryClient(config);
    if (registry !== undefined) {
      try {
        const subjects = await registry.subjects();
        stages.push({ stage: 'schema registry', ok: true, detail: `${registry.url} answered GET /subjects (${subjects.length} subject${subjects.length === 1 ? '' : 's'})` });
      } catch (error) {
        return fail('schema registry', messageOf(error));
      }
    }
    return finish();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function tcpHint(result: { code: string; message: string }, timeout: number): string {
  switch (result.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve: check the spelling in bootstrapHosts';
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens on that port; check the port and that Kafka runs';
    case 'ETIMEDOUT':
      return `no answer within ${timeout} ms (connectTimeout): a firewall, a wrong address, or a host that is down`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host: check the address and the network';
    default:
      return `${result.code}: ${result.message}`;
  }
}

function tlsFailure(address: string, result: { code: string; message: string }, tls: ConnectionOptions): string {
  if (UNTRUSTED.has(result.code)) {
    return `certificate not trusted: ${address} presented a certificate that is not signed by a CA this client trusts (${result.code}). `
      + `Give the CA that signed the broker certificate as ssl.ca or ssl.caFile${tls.ca === undefined ? ' (none is configured, so only public CAs are trusted)' : ''}`;
  }
  if (result.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `certificate does not match the host name: ${result.message}. Connect by a name the certificate carries, or set ssl.serverName to one`;
  }
  if (result.code === 'CERT_HAS_EXPIRED' || result.code === 'CERT_NOT_YET_VALID') {
    return `the broker certificate of ${address} is outside its validity period (${result.code}): renew it (or check this machine's clock)`;
  }
  if (result.code === 'ECONNRESET' || result.code === 'ETIMEDOUT' || result.code === 'EPROTO' || /wrong version number|packet length too long/i.test(result.message)) {
    return `${address} does not speak TLS (${result.code}): it is probably a PLAINTEXT or SASL_PLAINTEXT listener. Set ssl: false, or use the broker's SSL/SASL_SSL port`;
  }
  return `TLS handshake with ${address} failed (${result.code}): ${result.message}`;
}

async function handshakeFailure(config: KafkaConnectorConfig, first: HostPort & { address: string }, tls: ConnectionOptions | undefined, error: unknown): Promise<string> {
  const auth = config.authentication;
  const message = messageOf(error);
  const name = error instanceof Error ? error.name : '';
  if (auth !== 'none' && name === 'KafkaJSSASLAuthenticationError') {
    const mechanism = mechanismName(auth.mechanism);
    if (/mechanism is not supported/i.test(message)) {
      return `the broker does not enable SASL mechanism ${mechanism} on ${first.address}: use a mechanism the listener enables (ask the operator; Upstash uses SCRAM-SHA-256)`;
    }
    if (auth.mechanism === 'oauthbearer') return `SASL OAUTHBEARER authentication failed: ${message}: check the token the tokenProvider returns`;
    return `SASL authentication failed for user "${auth.username}" with ${mechanism}: check the username/password and the mechanism`;
  }
  if (tls === undefined) {
    // A SASL_SSL / SSL listener closes on plaintext bytes, which kafkajs reports as a closed connection
    // or a timeout. A TLS handshake that succeeds on the same port tells the user what is missing.
    const probe = await tlsProbe(first, { rejectUnauthorized: false }, config.connectTimeout);
    if (probe.ok) {
      return `${first.address} expects TLS (an SSL or SASL_SSL listener) but the connector has ssl off`
        + `${auth === 'none' ? '' : ', so SASL was attempted without TLS'}: set ssl: true (and ssl.ca/caFile for a private CA)`;
    }
  }
  const hint = auth === 'none' ? ': if the listener requires SASL, set authentication' : '';
  return `${auth === 'none' ? 'Kafka handshake' : `SASL ${mechanismName(auth.mechanism)} handshake`} with ${first.address} failed: ${message}${hint}`;
}

function topicFailure(topic: string, config: KafkaConnectorConfig, error: unknown): string {
  const type = (error as { type?: unknown }).type;
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    return `topic "${topic}" does not exist: create it${config.allowAutoTopicCreation ? ' (allowAutoTopicCreation is on, so the first record will create it with the broker defaults)' : ', or set allowAutoTopicCreation on the connector'}`;
  }
  if (type === 'TOPIC_AUTHORIZATION_FAILED') return `the user may not describe topic "${topic}": grant it DESCRIBE and WRITE on the topic`;
  if (type === 'INVALID_TOPIC_EXCEPTION') return `"${topic}" is not a valid Kafka topic name`;
  return `could not read the metadata of topic "${topic}": ${messageOf(error)}`;
}

function mechanismName(mechanism: string): string {
  return mechanism.toUpperCase();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
