/**
 * Error classes. Every error tensorrt-node throws is a {@link TensorRTError}; the subclasses
 * tell what went wrong so callers can branch on `instanceof` instead of parsing messages, and
 * `code` carries the same information as a string for logs.
 */
import type { DataType } from './dtype.js';

export type TensorRTErrorCode =
  | 'ERR_TENSORRT_INVALID_ARGUMENT'
  | 'ERR_TENSORRT_PARSE'
  | 'ERR_TENSORRT_UNSUPPORTED'
  | 'ERR_TENSORRT_SHAPE'
  | 'ERR_TENSORRT_DTYPE'
  | 'ERR_TENSORRT_ENGINE_INVALID'
  | 'ERR_TENSORRT_BACKEND_UNAVAILABLE'
  | 'ERR_TENSORRT_CANCELLED'
  | 'ERR_TENSORRT_DISPOSED'
  | 'ERR_TENSORRT_INTERNAL';

/** Base class of every error thrown by tensorrt-node. */
export class TensorRTError extends Error {
  readonly code: TensorRTErrorCode;
  /** The logger's recent error messages at the time of failure, when the backend logged any. */
  readonly logMessages: readonly string[];

  constructor(message: string, code: TensorRTErrorCode = 'ERR_TENSORRT_INTERNAL', logMessages: readonly string[] = [], options?: ErrorOptions) {
    super(logMessages.length ? `${message}\nBackend log:\n  ${logMessages.join('\n  ')}` : message, options);
    this.name = new.target.name;
    this.code = code;
    this.logMessages = logMessages;
  }
}

/** An option or argument of the wrong type or value. */
export class InvalidArgumentError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[], options?: ErrorOptions) {
    super(message, 'ERR_TENSORRT_INVALID_ARGUMENT', logMessages, options);
  }
}

/**
 * A value the element type cannot hold: outside its range, not an integer for an integer type,
 * or a finite number that would round to Infinity. Thrown instead of wrapping or rounding it.
 */
export class OutOfRangeError extends InvalidArgumentError {
  /** The element type the value was meant for. */
  readonly dtype: DataType;
  /** Index of the first value that does not fit. */
  readonly index: number;
  readonly value: number | bigint;

  constructor(message: string, dtype: DataType, index: number, value: number | bigint) {
    super(message);
    this.dtype = dtype;
    this.index = index;
    this.value = value;
  }
}

/** One error reported by the ONNX parser. */
export interface ParserErrorDetail {
  /** Name of the node the error is about ('' if none). */
  node: string;
  /** Index of that node in the graph (-1 if none). */
  nodeIndex: number;
  /** Operator type of that node, e.g. 'Conv'. */
  op: string;
  description: string;
}

/** The ONNX model could not be parsed. `parserErrors` lists every error the parser reported. */
export class OnnxParseError extends TensorRTError {
  readonly parserErrors: readonly ParserErrorDetail[];
  constructor(message: string, parserErrors: readonly ParserErrorDetail[] = [], logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_PARSE', logMessages);
    this.parserErrors = parserErrors;
  }
}

/** An operator or feature the selected backend does not support. */
export class UnsupportedError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_UNSUPPORTED', logMessages);
  }
}

/** A shape that does not fit the network, the engine or the active optimization profile. */
export class ShapeError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_SHAPE', logMessages);
  }
}

/** A tensor of the wrong element type. */
export class DataTypeError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_DTYPE', logMessages);
  }
}

/** Engine bytes that are corrupt, truncated, or made by another backend or version. */
export class EngineInvalidError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_ENGINE_INVALID', logMessages);
  }
}

/** The requested backend cannot run here; the message says why and how to fix it. */
export class BackendUnavailableError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[], options?: ErrorOptions) {
    super(message, 'ERR_TENSORRT_BACKEND_UNAVAILABLE', logMessages, options);
  }
}

/** A build stopped by its AbortSignal. */
export class CancelledError extends TensorRTError {
  constructor(message: string, logMessages?: readonly string[]) {
    super(message, 'ERR_TENSORRT_CANCELLED', logMessages);
  }
}

/** A method called on an object after its dispose(). */
export class DisposedError extends TensorRTError {
  constructor(what: string) {
    super(`${what} has been disposed; create a new one instead of reusing it`, 'ERR_TENSORRT_DISPOSED');
  }
}

interface NativeErrorShape {
  message?: unknown;
  code?: unknown;
  logMessages?: unknown;
  parserErrors?: unknown;
}

/**
 * Converts an error thrown by the addon into the matching typed error. `callSite` is an Error
 * created before the native call: its stack replaces the native one, which only ever points at
 * the addon's internals.
 */
export function fromNativeError(error: unknown, callSite?: Error): TensorRTError {
  if (error instanceof TensorRTError) return error;
  const e = (error ?? {}) as NativeErrorShape;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const log = Array.isArray(e.logMessages) ? (e.logMessages as string[]) : [];
  let typed: TensorRTError;
  switch (e.code) {
    case 'ERR_TENSORRT_INVALID_ARGUMENT': typed = new InvalidArgumentError(message, log); break;
    case 'ERR_TENSORRT_PARSE':
      typed = new OnnxParseError(message, Array.isArray(e.parserErrors) ? (e.parserErrors as ParserErrorDetail[]) : [], log);
      break;
    case 'ERR_TENSORRT_UNSUPPORTED': typed = new UnsupportedError(message, log); break;
    case 'ERR_TENSORRT_SHAPE': typed = new ShapeError(message, log); break;
    case 'ERR_TENSORRT_DTYPE': typed = new DataTypeError(message, log); break;
    case 'ERR_TENSORRT_ENGINE_INVALID': typed = new EngineInvalidError(message, log); break;
    case 'ERR_TENSORRT_BACKEND_UNAVAILABLE': typed = new BackendUnavailableError(message, log); break;
    case 'ERR_TENSORRT_CANCELLED': typed = new CancelledError(message, log); break;
    case 'ERR_TENSORRT_DISPOSED': typed = new TensorRTError(message, 'ERR_TENSORRT_DISPOSED'); break;
    default: typed = new TensorRTError(message, 'ERR_TENSORRT_INTERNAL', log);
  }
  if (callSite?.stack) {
    const frames = callSite.stack.split('\n').slice(1).join('\n');
    typed.stack = `${typed.name}: ${typed.message}\n${frames}`;
  }
  return typed;
}

/** Runs a synchronous native call, converting what it throws. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNativeError(error, new Error());
  }
}

/** Awaits an asynchronous native call, converting its rejection and keeping the caller's stack. */
export async function awaitNative<T>(start: () => Promise<T>): Promise<T> {
  const callSite = new Error();
  try {
    return await start();
  } catch (error) {
    throw fromNativeError(error, callSite);
  }
}
