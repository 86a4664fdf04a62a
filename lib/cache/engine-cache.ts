/**
 * Building through the engine cache: look the plan up by its key, else build it once (other
 * processes starting at the same time wait for that build instead of repeating it), store it,
 * and keep the directory within its size bound. Problems with the cache itself (an unusable
 * directory, a damaged entry, a stored plan the runtime refuses) are warnings through the
 * build's logger, followed by a plain build: the cache can cost time, never the result.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { type BackendName, type BackendOption, resolveBackend } from '../backend.js';
import { CancelledError, EngineInvalidError } from '../errors.js';
import { getDefaultLogger, type Logger } from '../logger.js';
import { type ModelSource, readModelSource } from '../model-source.js';
import { expectInteger, expectObject, expectString } from '../validate.js';
import { describeBuildEnvironment } from './build-environment.js';
import { tryLock, type BuildLock } from './build-lock.js';
import { cacheKey, keyFields, normalizeBuildOptions } from './cache-key.js';
import { EngineCacheStore } from './cache-store.js';
import { digestModel } from './model-digest.js';

/** buildEngine's and InferenceSession.create's `cache` option. */
export interface EngineCacheOptions {
  /** The cache directory, created if missing. Entries are `KEY.engine-cache` files; `head -2` shows what each one is. */
  dir: string;
  /**
   * The most bytes the directory's entries may take: after each build or hit the least
   * recently used entries are removed until they fit (the entry in use always stays).
   * Default: unbounded.
   */
  maxBytes?: number;
  /**
   * Stands for `calibration.calibrationData` in the key when the batches come from an
   * iterable that can be read only once (an array of batches is hashed instead): any string
   * that changes whenever the data does, such as a data set version.
   */
  calibrationDataKey?: string;
}

/** What the cache did for a build. */
export interface CacheOutcome {
  /** The plan came from the cache: nothing was built. */
  hit: boolean;
  /** The cache key, hex SHA-256 of the entry's fields. */
  key: string;
  /** The entry file. */
  path: string;
  /** The entry is on disk now (false when the directory could not be written). */
  stored: boolean;
}

export interface BuiltEngine {
  engine: Uint8Array;
  /** The timing cache after a build; empty on a hit. */
  timingCache: Uint8Array;
  backend: BackendName;
}

/** The build options the cache reads itself; all of them, these included, are keyed as normalizeBuildOptions says. */
export interface CacheableBuildOptions {
  cache?: EngineCacheOptions;
  backend?: BackendOption;
  logger?: Logger;
  device?: number;
  signal?: AbortSignal;
}

/** How long a process waiting for another's build sleeps between looks, at first and at most. */
const FIRST_WAIT_MS = 50;
const LONGEST_WAIT_MS = 1_000;

/**
 * Resolves to `use(plan)` for the plan of `model` built with `options`: the cached one when
 * the cache has it, else one built by `build` (on the backend this resolves 'auto' to, which
 * the key names, from the very bytes the key hashes: the model is read once) and stored. When `use` refuses a cached plan with EngineInvalidError, the
 * entry is rebuilt once with a warning; errors of a fresh build or its `use` propagate.
 *
 * @throws InvalidArgumentError for bad cache options or build options the key cannot cover;
 *   CancelledError when `options.signal` aborts while waiting for another process's build;
 *   whatever `build` and `use` throw
 */
export async function buildWithEngineCache<T>(
  model: string | Uint8Array | ArrayBufferLike,
  options: CacheableBuildOptions,
  build: (backend: BackendName, source: ModelSource) => Promise<BuiltEngine>,
  use: (built: BuiltEngine & { cache: CacheOutcome }) => Promise<T>,
): Promise<T> {
  const cache = expectCacheOptions(options.cache);
  const logger = options.logger ?? getDefaultLogger();
  const source = await readModelSource(model);
  const { bytes, modelDir } = source;
  const backend = resolveBackend(options.backend, logger).name;
  const device = options.device === undefined ? 0 : expectInteger(options.device, 'buildEngine option device', 0);
  const fields = keyFields(
    await digestModel(bytes, modelDir),
    await normalizeBuildOptions(options as Record<string, unknown>, cache.calibrationDataKey),
    await describeBuildEnvironment(backend, device, logger),
  );
  const key = cacheKey(fields);
  const store = new EngineCacheStore(cache.dir);
  const outcome = (hit: boolean, stored: boolean): CacheOutcome => ({ hit, key, path: store.entryPath(key), stored });

  const buildUncached = async (why: string): Promise<T> => {
    logger.log('warning', `engine cache ${cache.dir}: ${why}; building without the cache`);
    return use({ ...(await build(backend, source)), cache: outcome(false, false) });
  };
  try {
    await store.open();
  } catch (error) {
    return buildUncached(`the directory cannot be created (${describeFsError(error)})`);
  }

  // Set once the entry was unusable or its plan failed to load: later rounds build instead of reading it again.
  let distrust = false;
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
    if (!distrust) {
      const entry = await store.read(key);
      if (entry && 'plan' in entry) {
        await store.touch(key);
        if (cache.maxBytes !== undefined) await store.evict(cache.maxBytes, key);
        logger.log('info', `engine cache hit: ${store.entryPath(key)} (built ${entry.header.built}); nothing to build`);
        try {
          return await use({ engine: entry.plan, timingCache: new Uint8Array(0), backend, cache: outcome(true, true) });
        } catch (error) {
          if (!(error instanceof EngineInvalidError)) throw error;
          logger.log('warning', `engine cache entry ${store.entryPath(key)} does not load (${error.message.split('\n')[0]}); rebuilding it`);
          distrust = true;
        }
      } else if (entry) {
        logger.log('warning', `engine cache entry ${store.entryPath(key)} is unusable: ${entry.problem}; rebuilding it`);
        await store.remove(key);
        // An entry that could not be removed (or is damaged again) must not send this call round in circles.
        distrust = true;
      }
    }

    let lock: BuildLock | 'held';
    try {
      lock = await tryLock(store.lockPath(key));
    } catch (error) {
      return buildUncached(`a lock file cannot be created (${describeFsError(error)})`);
    }
    if (lock === 'held') {
      try {
        await sleep(wait, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        throw new CancelledError('the build was cancelled while another process was building the same engine for the cache');
      }
      continue;
    }
    let built: BuiltEngine;
    let stored = true;
    try {
      // The holder this process waited for may have stored the entry just before the lock was free.
      if (!distrust && (await store.exists(key))) continue;
      logger.log('info', `engine cache miss: building ${store.entryPath(key)}`);
      built = await build(backend, source);
      try {
        await store.write(key, fields, built.engine);
        if (cache.maxBytes !== undefined) await store.evict(cache.maxBytes, key);
      } catch (error) {
        stored = false;
        logger.log('warning', `engine cache ${cache.dir}: the engine was built but cannot be stored (${describeFsError(error)})`);
      }
    } finally {
      await lock.release();
    }
    return use({ ...built, cache: outcome(false, stored) });
  }
}

function expectCacheOptions(value: unknown): EngineCacheOptions {
  const o = expectObject(value, 'cache');
  const cache: EngineCacheOptions = { dir: expectString(o.dir, 'cache.dir') };
  if (o.maxBytes !== undefined) cache.maxBytes = expectInteger(o.maxBytes, 'cache.maxBytes', 1, Number.MAX_SAFE_INTEGER);
  if (o.calibrationDataKey !== undefined) cache.calibrationDataKey = expectString(o.calibrationDataKey, 'cache.calibrationDataKey');
  return cache;
}

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.path ? ` on ${e.path}` : ''}` : String(e.message ?? error);
}
