import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader (or a crash) sees either the old file or the new one,
 * never a half-written one: a temp file in the same directory (a rename across file systems is not
 * atomic), fsync, rename over the target, fsync of the directory so the rename itself survives a crash.
 * `beforeRename` runs last, just before the rename, and may throw to abandon the write (the temp file is
 * removed either way).
 */
export async function writeFileAtomic(path: string, data: string, mode: number, beforeRename?: () => Promise<void>): Promise<void> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode); // the umask narrowed the mode given to open()
    await beforeRename?.();
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some file systems (and Windows) refuse to fsync a directory; the rename has happened all the same.
  } finally {
    await handle?.close();
  }
}
