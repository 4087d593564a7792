import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';

/** Characters of an action id kept as they are in its directory name; others become `_`. */
const UNSAFE = /[^A-Za-z0-9._-]/g;
/** Length of the readable part of a directory name (ids may be long; file names may not). */
const READABLE_LENGTH = 64;

/**
 * The directory name of an action's disk buffer: a readable part (the id with characters other than
 * letters, digits, `.`, `_`, `-` turned into `_`, at most 64 of them), `+`, and the first 24 hex digits
 * of the SHA-256 of the exact id. The hash makes the mapping one-to-one: `victim:kafka` and
 * `victim_kafka` share the readable part but never a directory (on case-insensitive file systems too,
 * since the hash sees the case). `+` never occurs in the names of earlier versions, so an old directory
 * can never be mistaken for a new one.
 */
export function bufferDirName(actionId: string): string {
  const readable = actionId.replace(UNSAFE, '_').slice(0, READABLE_LENGTH);
  const digest = createHash('sha256').update(actionId, 'utf8').digest('hex').slice(0, 24);
  return `${readable}+${digest}`;
}

/** The name earlier versions used: many ids map to one name, and `..` is the parent directory. */
function legacyDirName(actionId: string): string {
  return actionId.replace(UNSAFE, '_');
}

/**
 * The directory of an action's disk buffer under `parent` (`buffer.dir`). A log that an earlier version
 * left under the old name (the id with unsafe characters as `_`) is moved to the new name the first time
 * the action opens it, so records waiting on disk are still sent after an upgrade. Only a directory that
 * holds a disk buffer's own files is moved (never, say, the parent of other buffers that happens to
 * have the old name of some id). When two ids shared
 * the old name, the first action opened after the upgrade takes that log (they shared it before, too).
 */
export function actionBufferDir(parent: string, actionId: string): string {
  const dir = path.join(parent, bufferDirName(actionId));
  const legacyName = legacyDirName(actionId);
  if (legacyName === '' || legacyName === '.' || legacyName === '..' || existsSync(dir)) return dir;
  const legacy = path.join(parent, legacyName);
  if (looksLikeDiskBuffer(legacy)) {
    try {
      renameSync(legacy, dir);
    } catch {
      // another process holds it, or the parent is read-only: the new directory starts empty and the
      // old one stays where an operator can find it
    }
  }
  return dir;
}

/** A directory holding a disk buffer's files (its `committed` mark or a `<16 digits>.seg` segment). */
function looksLikeDiskBuffer(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name === 'committed' || /^\d{16}\.seg$/.test(name));
  } catch {
    return false;
  }
}
