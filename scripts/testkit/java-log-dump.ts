// Reads a topic's log segments with Kafka's own Java tool (kafka.tools.DumpLogSegments), so a test can
// check what the broker stored with the Java decoders rather than with the codecs the test itself loaded.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { kafkaBroker, kafkaBrokerFile } from './kafka';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

/** One record batch as the broker stored it. */
export interface StoredBatch {
  /** `none`, `gzip`, `snappy`, `lz4` or `zstd`: the codec Java found in the batch attributes. */
  readonly codec: string;
  /** The record values, decoded by the Java client's decompressor, as text. */
  readonly values: string[];
}

/**
 * Every batch of every partition of `topic`, decoded by the broker's own jars. The broker must be the local
 * test broker (its data directory sits beside broker.json, its jars under .cache/kafka/<version>).
 */
export async function dumpTopicWithJava(topic: string): Promise<StoredBatch[]> {
  const dataDir = path.join(path.dirname(kafkaBrokerFile()), 'data');
  const jars = path.join(ROOT, '.cache', 'kafka', kafkaBroker().version, 'jars');
  if (!existsSync(jars)) throw new Error(`no Kafka jars in ${jars}: run \`node scripts/kafka.js fetch\``);
  const segments = readdirSync(dataDir)
    .filter((dir) => dir.startsWith(`${topic}-`) && /^\d+$/.test(dir.slice(topic.length + 1)))
    .flatMap((dir) => readdirSync(path.join(dataDir, dir)).filter((f) => f.endsWith('.log')).map((f) => path.join(dataDir, dir, f)));
  if (segments.length === 0) throw new Error(`no log segments of topic "${topic}" under ${dataDir}`);
  const { stdout } = await run('java', [
    '-cp', `${jars}${path.sep}*`, 'kafka.tools.DumpLogSegments',
    '--deep-iteration', '--print-data-log', '--files', segments.join(','),
  ], { maxBuffer: 64 * 1024 * 1024 });
  return parseDump(stdout);
}

/** Batch lines carry `compresscodec: X`; the record lines under them (`| offset: ...`) end with `payload: V`. */
export function parseDump(text: string): StoredBatch[] {
  const batches: Array<{ codec: string; values: string[] }> = [];
  for (const line of text.split('\n')) {
    const codec = /\bcompresscodec: (\w+)/i.exec(line);
    if (codec !== null && !line.startsWith('|')) {
      batches.push({ codec: (codec[1] as string).toLowerCase(), values: [] });
      continue;
    }
    const payload = / payload: (.*)$/.exec(line);
    if (payload !== null && line.startsWith('|')) batches[batches.length - 1]?.values.push(payload[1] as string);
  }
  return batches;
}
