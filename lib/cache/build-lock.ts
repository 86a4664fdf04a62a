/**
 * A lock file that lets one process build an engine while others starting at the same time
 * wait for its entry instead of building the same plan again. The lock only saves work:
 * entries are written atomically, so if it is ever broken wrongly, two builders still leave
 * one valid entry. A lock whose holder died is detected and taken over: by its pid (same
 * host) or by its age, since the holder touches it while it builds.
 */
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';

/** A holder that has not touched its lock for this long is presumed dead (a crash on another host, a frozen machine). */
export const STALE_LOCK_MS = 60_000;
const HEARTBEAT_MS = 5_000;

interface LockOwner {
  pid: number;
  host: string;
  /** Tells this lock from a later one taken by a process that reused the pid. */
  token: string;
}

export interface BuildLock {
  /** Removes the lock if it is still this process's. Never throws. */
  release(): Promise<void>;
}

/**
 * Takes the lock at `path`, removing it first if stale. Resolves to the lock, or to 'held'
 * when another live process holds it.
 * @throws the file system's error when the lock cannot be created (an unwritable directory)
 */
export async function tryLock(path: string, staleMs = STALE_LOCK_MS): Promise<BuildLock | 'held'> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}` };
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(owner));
      } catch (error) {
        // An ownerless lock would hold the others off until it went stale.
        await handle.close();
        await unlink(path).catch(() => {});
        throw error;
      }
      await handle.close();
      return heldLock(path, owner);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const stale = await staleLockToken(path, staleMs);
    if (stale === undefined) return 'held';
    // Another waiter may have removed the stale lock and taken a new one meanwhile: remove
    // only the lock that was judged stale.
    if (((await readOwner(path))?.token ?? '') === stale) await unlink(path).catch(() => {});
  }
  return 'held';
}

function heldLock(path: string, owner: LockOwner): BuildLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      const current = await readOwner(path);
      if (current?.token === owner.token) await unlink(path).catch(() => {});
    },
  };
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    // Gone, or created a moment ago and not written yet.
    return undefined;
  }
}

/**
 * The token of a lock whose holder is gone ('' when unreadable or already removed), or
 * undefined while it is live. Gone: its process has exited (same host), or it stopped touching
 * the lock.
 */
async function staleLockToken(path: string, staleMs: number): Promise<string | undefined> {
  let modified: number;
  try {
    modified = (await stat(path)).mtimeMs;
  } catch {
    return '';
  }
  const owner = await readOwner(path);
  const exited = owner !== undefined && owner.host === hostname() && Number.isInteger(owner.pid) && !processExists(owner.pid);
  return exited || Date.now() - modified > staleMs ? (owner?.token ?? '') : undefined;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
