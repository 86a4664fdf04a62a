/**
 * Logger: receives every message of the builders and runtimes made with it, like TensorRT's
 * ILogger. Messages arrive asynchronously on the event loop, never on a worker thread.
 */
import { DisposedError } from './errors.js';
import { native, type NativeLogger } from './native.js';
import { expectFunction, expectOneOf, expectObject } from './validate.js';

export type Severity = 'internal-error' | 'error' | 'warning' | 'info' | 'verbose';
export const SEVERITIES: readonly Severity[] = ['internal-error', 'error', 'warning', 'info', 'verbose'];

export interface LoggerOptions {
  /** Messages less severe than this are dropped in native code. Default 'warning'. */
  minSeverity?: Severity;
  /** Receives each message; default prints to stderr. Errors it throws are swallowed. */
  onMessage?: (severity: Severity, message: string) => void;
}

function printToStderr(severity: Severity, message: string): void {
  process.stderr.write(`[tensorrt-node] ${severity.toUpperCase()}: ${message}\n`);
}

export class Logger {
  readonly minSeverity: Severity;
  #native: NativeLogger | undefined;
  #warnedOnce = new Set<string>();

  /** @throws InvalidArgumentError for an unknown severity or a non-function onMessage */
  constructor(options: LoggerOptions = {}) {
    expectObject(options, 'Logger options');
    this.minSeverity = options.minSeverity === undefined ? 'warning' : expectOneOf(options.minSeverity, SEVERITIES, 'minSeverity');
    const onMessage = options.onMessage === undefined ? printToStderr : expectFunction<(s: Severity, m: string) => void>(options.onMessage, 'onMessage');
    this.#native = new native.Logger(SEVERITIES.indexOf(this.minSeverity), (severity: number, message: string) => {
      try {
        onMessage(SEVERITIES[severity] ?? 'error', message);
      } catch {
        // A logging callback must not break a build or an inference.
      }
    });
  }

  /** Sends a message through this logger, as the backends do. */
  log(severity: Severity, message: string): void {
    this.handle().log(SEVERITIES.indexOf(expectOneOf(severity, SEVERITIES, 'severity')), message);
  }

  /** Logs `message` at 'warning' the first time this logger sees `key`. */
  warnOnce(key: string, message: string): void {
    if (this.#warnedOnce.has(key)) return;
    this.#warnedOnce.add(key);
    this.log('warning', message);
  }

  /** @internal the native logger, for builders and runtimes */
  handle(): NativeLogger {
    if (!this.#native) throw new DisposedError('Logger');
    return this.#native;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /**
   * Stops delivering messages. Idempotent. Builders and runtimes already made with this logger
   * keep working (they share its native sink); creating new ones with it throws.
   */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

let defaultLogger: Logger | undefined;

/** The logger used when none is given: warnings and errors to stderr. */
export function getDefaultLogger(): Logger {
  if (!defaultLogger || defaultLogger.disposed) defaultLogger = new Logger();
  return defaultLogger;
}
