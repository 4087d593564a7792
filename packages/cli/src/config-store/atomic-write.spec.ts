import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { writeFileAtomic } from './atomic-write';

describe(writeFileAtomic.name, () => {
  it('replaces the file with the given mode and leaves nothing else in the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-atomic-'));
    const file = join(dir, 'f.yaml');
    writeFileSync(file, 'old\n');
    await writeFileAtomic(file, 'new\n', 0o600);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['f.yaml']);
  });

  it('leaves the original and no temp file when the last check refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-atomic-'));
    const file = join(dir, 'f.yaml');
    writeFileSync(file, 'old\n');
    await expect(writeFileAtomic(file, 'new\n', 0o644, async () => {
      expect(readdirSync(dir)).toHaveLength(2); // the temp file is complete by now
      throw new Error('changed on disk');
    })).rejects.toThrow('changed on disk');
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['f.yaml']);
  });
});
