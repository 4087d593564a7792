import { createHash } from 'node:crypto';
import type { ConfigDocument } from '../config-store/config-store';
import { recordObject } from './record-json';

/** The part of a config the members of a cluster share: the rest (http, log, cluster, ...) is each member's. */
export interface SharedConfig {
  readonly sources: readonly unknown[];
  readonly connectors: readonly unknown[];
  readonly rules: readonly unknown[];
}

/** One record of the config topic: a revision of the shared config and the revision it was made from. */
export interface ConfigRevision {
  /** SHA-256 of the shared config's canonical JSON. */
  readonly revision: string;
  /** The revision the writer changed; null for the seed, written into an empty topic. */
  readonly basedOn: string | null;
  readonly shared: SharedConfig;
  /** Which member wrote it, and a token of the write, so that the writer recognises its own record. */
  readonly member: string;
  readonly write: string;
  readonly at: number;
}

/** The shared sections of a stored config, as stored (secret references as written). */
export function sharedConfigOf(document: ConfigDocument): SharedConfig {
  const list = (key: string): readonly unknown[] => (Array.isArray(document[key]) ? document[key] as unknown[] : []);
  return { sources: list('sources'), connectors: list('connectors'), rules: list('rules') };
}

export function revisionOf(shared: SharedConfig): string {
  return createHash('sha256').update(canonicalJson(shared)).digest('hex');
}

/** JSON with object keys sorted, so that two members' parses of the same config give the same revision. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    return `{${Object.keys(object).filter((k) => object[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The largest config record a member reads (a shared config is a few KiB; the bound is for a hostile writer). */
export const MAX_CONFIG_RECORD_BYTES = 4 << 20;

/** Parses a config topic record; undefined for one that is not a revision (a foreign writer, a damaged record). */
export function decodeRevision(value: Buffer): ConfigRevision | undefined {
  const r = recordObject(value, MAX_CONFIG_RECORD_BYTES);
  if (r === undefined) return undefined;
  const shared = r['shared'] as Record<string, unknown> | undefined;
  if (typeof r['revision'] !== 'string' || (r['basedOn'] !== null && typeof r['basedOn'] !== 'string')) return undefined;
  if (typeof r['member'] !== 'string' || typeof r['write'] !== 'string' || typeof r['at'] !== 'number') return undefined;
  if (typeof shared !== 'object' || shared === null || !['sources', 'connectors', 'rules'].every((k) => Array.isArray(shared[k]))) return undefined;
  const revision: ConfigRevision = {
    revision: r['revision'], basedOn: r['basedOn'] as string | null, member: r['member'], write: r['write'], at: r['at'],
    shared: { sources: shared['sources'] as unknown[], connectors: shared['connectors'] as unknown[], rules: shared['rules'] as unknown[] },
  };
  // the revision must be the hash of what the record holds: a record that lies about it is not one
  return revisionOf(revision.shared) === revision.revision ? revision : undefined;
}

export function encodeRevision(revision: ConfigRevision): Buffer {
  return Buffer.from(JSON.stringify(revision), 'utf8');
}

/**
 * The shared config as the config topic decides it, record after record. Kafka gives every member the
 * records in one order, so each member reaches the same decision for each record with no coordination:
 * a record is taken when it was made from the revision current at that point of the log (the seed: when
 * there is none yet), and refused otherwise (two members changed the same revision at once: the first
 * record wins, the second writer is told of a conflict). Optimistic concurrency on the log itself.
 */
export class ConfigHistory {
  private latest: ConfigRevision | undefined;
  /** Decisions on this member's records by write token, for the writer waiting to learn what became of it. */
  private readonly decided = new Map<string, boolean>();

  constructor(private readonly self: string) {}

  get current(): ConfigRevision | undefined {
    return this.latest;
  }

  /** Decides on the next record of the log; true when it became the current revision. */
  offer(record: ConfigRevision): boolean {
    const taken = record.basedOn === (this.latest?.revision ?? null);
    if (taken) this.latest = record;
    if (record.member === this.self) this.decided.set(record.write, taken);
    return taken;
  }

  /** What became of the record with this write token; undefined while it has not been read. Forgets it. */
  decision(write: string): boolean | undefined {
    const taken = this.decided.get(write);
    this.decided.delete(write);
    return taken;
  }
}
