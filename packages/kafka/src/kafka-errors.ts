import { ActionWriteError, type ActionRef } from '@sluice/core';

/**
 * Kafka error codes that trying again cannot fix for the records concerned. kafkajs marks some of them
 * retriable (UNKNOWN_TOPIC_OR_PARTITION may be transient right after a topic is created); we follow
 * EMQX and fail the records, after kafkajs's own retries have run out.
 */
const HINTS: ReadonlyMap<string, string> = new Map([
  ['UNKNOWN_TOPIC_OR_PARTITION', 'the topic does not exist: create it, or set allowAutoTopicCreation on the connector'],
  ['INVALID_TOPIC_EXCEPTION', 'the topic name is not valid in Kafka (letters, digits, ".", "_", "-"; at most 249 characters)'],
  ['TOPIC_AUTHORIZATION_FAILED', 'the user may not write to this topic: grant it WRITE (and DESCRIBE) on the topic'],
  ['CLUSTER_AUTHORIZATION_FAILED', 'the user lacks a cluster permission the producer needs'],
  ['MESSAGE_TOO_LARGE', "the record is larger than the topic's max.message.bytes: shrink it or raise the limit"],
  ['RECORD_LIST_TOO_LARGE', "the request is larger than the broker accepts: lower the action's maxBatchBytes"],
  ['INVALID_RECORD', 'the broker refused the record'],
  ['CORRUPT_MESSAGE', 'the broker found the record corrupt'],
  ['INVALID_TIMESTAMP', "the record's timestamp is outside the topic's accepted range"],
  ['POLICY_VIOLATION', 'a broker policy refused the request'],
  ['UNSUPPORTED_COMPRESSION_TYPE', 'the broker does not accept this compression codec'],
  ['INVALID_REQUIRED_ACKS', 'the broker refused the requiredAcks setting'],
]);

/** Programming errors inside the client: the same records would fail the same way again. */
const BUG_NAMES = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'KafkaJSNotImplemented']);

export interface Classification {
  readonly retriable: boolean;
  /** Kafka's error code (e.g. UNKNOWN_TOPIC_OR_PARTITION) or the kafkajs error name. */
  readonly reason: string;
  readonly hint: string | undefined;
}

/** Looks through kafkajs's wrappers (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError) for the root cause. */
export function classifyKafkaError(error: unknown): Classification {
  let current: unknown = error;
  let reason = errorName(error);
  let typed = false;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const record = current as { type?: unknown; name?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof record.type === 'string') {
      reason = record.type;
      typed = true;
      const hint = HINTS.get(record.type);
      if (hint !== undefined) return { retriable: false, reason, hint };
    }
    if (typeof record.name === 'string' && BUG_NAMES.has(record.name)) {
      return { retriable: false, reason: record.name, hint: undefined };
    }
    // name the root cause (KafkaJSConnectionError), not kafkajs's wrappers around it
    if (!typed && typeof record.name === 'string') reason = record.name;
    const next = record.cause ?? record.originalError;
    if (next === current) break;
    current = next;
  }
  // Everything else (leader changes, timeouts, broker away, disconnects, SASL refused) concerns the
  // connection, not the records: retriable, so the source keeps the messages and delivers them again.
  return { retriable: true, reason, hint: undefined };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export function toActionWriteError(action: ActionRef, topics: readonly string[], error: unknown): ActionWriteError {
  const { retriable, reason, hint } = classifyKafkaError(error);
  const message = error instanceof Error ? error.message : String(error);
  const target = topics.length === 1 ? `topic "${topics[0] as string}"` : `topics ${topics.map((t) => `"${t}"`).join(', ')}`;
  const text = `kafka produce to ${target} failed (${reason}${retriable ? ', retriable' : ''}): ${message}${hint === undefined ? '' : `: ${hint}`}`;
  return new ActionWriteError(action, text, { retriable, cause: error });
}
