/**
 * Shared lifetime rules for every class that owns native state.
 *
 * - dispose() is explicit and idempotent; `using` works through Symbol.dispose.
 * - A parent disposes its live children first (a runtime its engines, an engine its
 *   contexts), as better-sqlite3 closes statements with their database. A child keeps its
 *   parent alive simply by referencing it, so dropping the parent without dispose() is safe.
 * - Any call after dispose throws DisposedError. GC finalizers in the addon are a backstop.
 */
import { DisposedError } from './errors.js';

export abstract class NativeResource {
  readonly #what: string;
  #disposed = false;
  #children = new Set<NativeResource>();
  #parent: NativeResource | undefined;

  protected constructor(what: string, parent?: NativeResource) {
    this.#what = what;
    if (parent) {
      parent.assertLive();
      this.#parent = parent;
      parent.#children.add(this);
    }
  }

  /** True once dispose() has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Throws DisposedError if this object (or its parent) has been disposed. */
  protected assertLive(): void {
    if (this.#disposed) throw new DisposedError(this.#what);
  }

  /** Releases the native state; children first. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const child of [...this.#children]) child.dispose();
    this.#disposed = true;
    if (this.#parent) this.#parent.#children.delete(this);
    this.#parent = undefined;
    this.releaseNative();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Frees the native handle. Called exactly once. */
  protected abstract releaseNative(): void;
}
