/**
 * What the command line prints besides results: --verbose and --quiet (global flags, taken by
 * main.ts before a command parses its own), the backend logger they imply, and build progress,
 * drawn as a bar on a terminal and written as plain lines otherwise (logs, CI).
 */
import type { ProgressEvent } from '../builder-config.js';
import type { CalibrationData, CalibrationFeeds } from '../calibration/collect-statistics.js';
import { Logger, type Severity } from '../logger.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

let verbosity: Verbosity = 'normal';

export function setVerbosity(value: Verbosity): void {
  verbosity = value;
}

export function getVerbosity(): Verbosity {
  return verbosity;
}

/**
 * The backend logger for a command: --verbose shows everything the backend logs, --quiet only
 * errors, else `fallback` (a command's own --log-level, or warnings).
 */
export function cliLogger(fallback: Severity = 'warning'): Logger {
  return new Logger({ minSeverity: verbosity === 'verbose' ? 'verbose' : verbosity === 'quiet' ? 'error' : fallback });
}

/** An informational line on stderr, left out under --quiet. */
export function note(line: string): void {
  if (verbosity !== 'quiet') process.stderr.write(`${line}\n`);
}

const BAR_WIDTH = 24;

/**
 * A build's progress events as the user sees them: on a TTY one line redrawn in place
 * (`[#####.....] Building engine 12/40  1.3s`); otherwise a line when a phase starts, at each
 * quarter of its steps, and when it finishes, each with the elapsed time. Silent under --quiet.
 * Call finish() when the build is over, to end the redrawn line.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (event: ProgressEvent) => void; finish: () => void } {
  const started = performance.now();
  const steps = new Map<string, number>();
  const reported = new Map<string, number>();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  let drawn = false;
  const draw = (phase: string, step: number) => {
    const total = steps.get(phase) ?? 0;
    const filled = total > 0 ? Math.round((BAR_WIDTH * Math.min(step, total)) / total) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
    const line = `${bar} ${phase}${total > 0 ? ` ${step}/${total}` : ''}  ${elapsed()}`;
    stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 80) - 1)).padEnd(Math.min(79, (stream.columns ?? 80) - 1))}`);
    drawn = true;
  };
  const onProgress = (event: ProgressEvent) => {
    if (verbosity === 'quiet') return;
    if (event.kind === 'phaseStart') steps.set(event.phase, event.steps);
    if (stream.isTTY) {
      draw(event.phase, event.kind === 'step' ? event.step + 1 : event.kind === 'phaseFinish' ? (steps.get(event.phase) ?? 0) : 0);
      return;
    }
    const total = steps.get(event.phase) ?? 0;
    if (event.kind === 'phaseStart') stream.write(`${event.phase}: started${total > 0 ? ` (${total} steps)` : ''}  ${elapsed()}\n`);
    else if (event.kind === 'phaseFinish') stream.write(`${event.phase}: done  ${elapsed()}\n`);
    else if (total >= 4) {
      const quarter = Math.floor((4 * (event.step + 1)) / total);
      if (quarter > (reported.get(event.phase) ?? 0) && quarter < 4) {
        reported.set(event.phase, quarter);
        stream.write(`${event.phase}: ${event.step + 1}/${total}  ${elapsed()}\n`);
      }
    }
  };
  const finish = () => {
    if (drawn) stream.write('\n');
    drawn = false;
  };
  return { onProgress, finish };
}

/**
 * Calibration batches that report their reading as progress, in the events a build reports:
 * phase 'Calibrating', one step a batch, `total` steps. Each pass over the data is a phase.
 */
export function withBatchProgress(data: CalibrationData, total: number, onProgress: (event: ProgressEvent) => void): AsyncIterable<CalibrationFeeds> {
  const phase = 'Calibrating';
  return {
    async *[Symbol.asyncIterator]() {
      onProgress({ kind: 'phaseStart', phase, parent: '', steps: total });
      let step = 0;
      try {
        for await (const batch of data) {
          yield batch;
          onProgress({ kind: 'step', phase, step: step++ });
        }
      } finally {
        onProgress({ kind: 'phaseFinish', phase });
      }
    },
  };
}
