/**
 * `tensorrt-node bench MODEL.engine`: throughput and latency as trtexec measures them: a
 * warm-up left out, then calls until a duration and a number of calls are both reached, on one
 * or more execution contexts in parallel.
 */
import { BENCH_HELP, BENCH_OPTIONS, benchmarkOptions, checkTensorRTOnlyFlags, reportBenchmark } from './bench-options.js';
import { describeFeeds, INPUT_HELP, INPUT_OPTIONS, inputFeeds, withShapeHint } from './io-options.js';
import { openSession, SESSION_HELP, SESSION_OPTIONS } from './session-options.js';
import { parseCommandLine } from './usage.js';

const HELP = `Usage: tensorrt-node bench MODEL.engine [options]

Measures an engine's throughput (qps) and latency (min, mean, median, percentiles, max) after
a warm-up that is not counted, as trtexec does.

Options:
${SESSION_HELP}
${INPUT_HELP}
${BENCH_HELP}
  -h, --help                 show this help

Example:
  tensorrt-node bench mlp.engine --shapes x:4x8 --duration 5 --streams 2 --exportTimes times.json`;

export async function benchCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    ...SESSION_OPTIONS,
    ...INPUT_OPTIONS,
    ...BENCH_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const options = await benchmarkOptions(values);
  const { session, profile } = await openSession(positionals, values);
  try {
    checkTensorRTOnlyFlags(session, values);
    const feeds = await inputFeeds(session, values, profile);
    // One call first, so that a shape outside the profile is reported as the --shapes mistake it is.
    await withShapeHint(values, () => session.run(feeds));
    console.log(`inputs: ${describeFeeds(session, feeds)}`);
    await reportBenchmark(session, feeds, options, values.exportTimes);
  } finally {
    session.dispose();
  }
}
