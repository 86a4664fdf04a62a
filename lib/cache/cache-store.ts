/**
 * The engine cache directory: one entry file per key (`KEY.engine-cache`), written atomically
 * (a temporary file in the same directory, flushed to disk, then renamed over the entry), so
 * a reader sees a whole entry or none, whatever process crashes or races it. An entry's
 * modification time is its last use: hits touch it, and eviction removes the least recently
 * used entries first.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';

import type { CacheKeyFields } from './cache-key.js';
import { type DecodedEntry, decodeEntry, encodeEntryHeader } from './entry-file.js';

const ENTRY_SUFFIX = '.engine-cache';
const TEMP_SUFFIX = '.tmp';
/** A temporary file this old was left by a writer that crashed. */
const ABANDONED_TEMP_MS = 60 * 60 * 1000;

export class EngineCacheStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  entryPath(key: string): string {
    return join(this.dir, `${key}${ENTRY_SUFFIX}`);
  }

  lockPath(key: string): string {
    return join(this.dir, `${key}.lock`);
  }

  /** Creates the directory. @throws the file system's error when it cannot be created */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** The entry for `key`: undefined when there is none, else its plan or why it is unusable. */
  async read(key: string): Promise<DecodedEntry | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.entryPath(key));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return { problem: `it cannot be read (${code ?? (error as Error).message})` };
    }
    return decodeEntry(bytes, key);
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.entryPath(key)).then(() => true, () => false);
  }

  /** Writes the entry atomically. @throws the file system's error (the temporary file is removed) */
  async write(key: string, fields: CacheKeyFields, plan: Uint8Array): Promise<void> {
    const temp = join(this.dir, `.${key}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.write(encodeEntryHeader(key, fields, plan));
        await handle.write(plan);
        // Flushed before the rename: after a power cut the entry is the old one or the new
        // one, never a new name over unwritten blocks.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.entryPath(key));
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    await this.#syncDirectory();
  }

  /** Makes the rename itself durable. Not every platform can open a directory (Windows); there it is skipped. */
  async #syncDirectory(): Promise<void> {
    try {
      const handle = await open(this.dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // best effort
    }
  }

  async remove(key: string): Promise<void> {
    await unlink(this.entryPath(key)).catch(() => {});
  }

  /** Marks the entry as just used. A read-only cache directory still serves hits, so failures are ignored. */
  async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(this.entryPath(key), now, now).catch(() => {});
  }

  /**
   * Removes the least recently used entries until the directory's entries total at most
   * `maxBytes`, never the entry `keep` (the one just used, even if it alone is larger), and
   * temporary files abandoned by crashed writers. Resolves to the removed entries' paths.
   */
  async evict(maxBytes: number, keep: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: { path: string; bytes: number; used: number }[] = [];
    const now = Date.now();
    for (const name of names) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      if (name.endsWith(ENTRY_SUFFIX)) entries.push({ path, bytes: info.size, used: info.mtimeMs });
      else if (name.endsWith(TEMP_SUFFIX) && now - info.mtimeMs > ABANDONED_TEMP_MS) await unlink(path).catch(() => {});
    }
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    const removed: string[] = [];
    const kept = this.entryPath(keep);
    for (const entry of entries.sort((a, b) => a.used - b.used)) {
      if (total <= maxBytes) break;
      if (entry.path === kept) continue;
      await unlink(entry.path).catch(() => {});
      total -= entry.bytes;
      removed.push(entry.path);
    }
    return removed;
  }
}
