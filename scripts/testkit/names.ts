import { randomUUID } from 'node:crypto';

/** A unique name for a topic, group or client id: `<prefix>-<uuid>` (valid as a Kafka topic name). */
export function randomName(prefix = 'it'): string {
  return `${prefix}-${randomUUID()}`;
}
