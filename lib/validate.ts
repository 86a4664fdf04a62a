/**
 * The one validation helper: every option is checked here, once, with a message that says
 * what was expected, for which option, and what arrived.
 */
import { InvalidArgumentError } from './errors.js';

/** A short, readable description of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Throws InvalidArgumentError("Expected <expected> for <what> but received <value>"). */
export function invalid(expected: string, what: string, value: unknown): never {
  throw new InvalidArgumentError(`Expected ${expected} for ${what} but received ${describe(value)}`);
}

export function expectInteger(value: unknown, what: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = min === -Infinity ? (max === Infinity ? '' : ` <= ${max}`) : max === Infinity ? ` >= ${min}` : ` in [${min}, ${max}]`;
    invalid(`an integer${range}`, what, value);
  }
  return value;
}

export function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) invalid('a non-empty string', what, value);
  return value;
}

export function expectFunction<T>(value: unknown, what: string): T {
  if (typeof value !== 'function') invalid('a function', what, value);
  return value as T;
}

export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('an object', what, value);
  return value as Record<string, unknown>;
}

export function expectOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    invalid(`one of ${allowed.map((a) => `'${a}'`).join(', ')}`, what, value);
  }
  return value as T;
}

/** A shape: an array of integers >= 0 (or >= -1 where dynamic dimensions are allowed). */
export function expectDims(value: unknown, what: string, allowDynamic = false): number[] {
  const min = allowDynamic ? -1 : 0;
  if (!Array.isArray(value) || value.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < min)) {
    invalid(`an array of integers >= ${min}`, what, value);
  }
  return [...(value as number[])];
}

/**
 * Bytes from a Uint8Array, Buffer, other TypedArray, DataView, ArrayBuffer or SharedArrayBuffer
 * (views over a SharedArrayBuffer included). A view of the caller's memory, not a copy: the
 * addon copies what a worker thread reads.
 */
export function expectBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return new Uint8Array(value);
  invalid('a Uint8Array, Buffer, ArrayBuffer or SharedArrayBuffer', what, value);
}

export function expectAbortSignal(value: unknown, what: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) invalid('an AbortSignal', what, value);
  return value;
}
