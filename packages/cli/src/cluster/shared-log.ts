/** A record of a shared log as its reader is handed it. */
export interface SharedLogRecord {
  readonly offset: bigint;
  readonly key: string;
  readonly value: Buffer;
}

/**
 * The one-partition log the members of a cluster share (KafkaClusterTopic in `sluice run`): every member
 * writes to it and reads it whole, in one order. An interface so that the config logic can be unit-tested
 * over an in-memory log.
 */
export interface SharedLog {
  /** Starts reading from the first record; resolves once every record present at the call was handed over. */
  open(): Promise<void>;
  /** Appends; answers the record's offset once stored. */
  write(key: string, value: Buffer): Promise<bigint>;
  /** Resolves once the record at `offset` was handed over. */
  readThrough(offset: bigint): Promise<void>;
  close(): Promise<void>;
}

/** Makes a log that hands each record it reads to `onRecord`, in offset order. */
export type SharedLogFactory = (onRecord: (record: SharedLogRecord) => void) => SharedLog;
