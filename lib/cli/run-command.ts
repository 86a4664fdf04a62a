/**
 * `tensorrt-node run MODEL.engine`: run an engine once on given or random inputs, summarize
 * and save the outputs; with --bench (or any measurement flag) also measure it as `bench` does.
 */
import type { Tensor } from '../tensor.js';
import { BENCH_HELP, BENCH_OPTIONS, benchmarkOptions, checkTensorRTOnlyFlags, reportBenchmark } from './bench-options.js';
import { checkOutputPaths, describeFeeds, INPUT_HELP, INPUT_OPTIONS, inputFeeds, OUTPUT_HELP, OUTPUT_OPTIONS, withShapeHint, writeOutputs } from './io-options.js';
import { note } from './output.js';
import { openSession, SESSION_HELP, SESSION_OPTIONS } from './session-options.js';
import { parseCommandLine } from './usage.js';

const HELP = `Usage: tensorrt-node run MODEL.engine [options]

Runs an engine once and prints each output's name, shape and a summary of its values, and the
latency of that first call. With --bench, or any of the measurement flags, it then measures
throughput and latency as 'tensorrt-node bench' does (warm-up excluded).

Options:
${SESSION_HELP}
${INPUT_HELP}
${OUTPUT_HELP}
  --bench                    measure throughput and latency after the run
${BENCH_HELP}
  -h, --help                 show this help

Example:
  tensorrt-node run mlp.engine --shapes x:4x8 --loadInputs x:x.npy --save-outputs out/`;

function summarize(t: Tensor): string {
  const values = t.dtype === 'int64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.toFloat32());
  if (values.length === 0) return 'empty';
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const head = values.slice(0, 6).map((v) => Number(v.toPrecision(5))).join(', ');
  return `min ${min.toPrecision(5)}  max ${max.toPrecision(5)}  mean ${(sum / values.length).toPrecision(5)}  [${head}${values.length > 6 ? ', ...' : ''}]`;
}

export async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    ...SESSION_OPTIONS,
    ...INPUT_OPTIONS,
    ...OUTPUT_OPTIONS,
    bench: { type: 'boolean' },
    ...BENCH_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const bench = values.bench || Object.keys(BENCH_OPTIONS).some((flag) => values[flag as keyof typeof BENCH_OPTIONS] !== undefined);
  const options = bench ? await benchmarkOptions(values) : undefined;
  await checkOutputPaths(values);
  const { session, profile } = await openSession(positionals, values);
  try {
    if (bench) checkTensorRTOnlyFlags(session, values);
    const feeds = await inputFeeds(session, values, profile);
    const started = performance.now();
    const outputs = await withShapeHint(values, () => session.run(feeds));
    const firstMs = performance.now() - started;
    console.log(`backend ${session.backend}; inputs: ${describeFeeds(session, feeds)}`);
    for (const name of session.outputNames) {
      const t = outputs[name]!;
      console.log(`${name}\t${t.dtype} [${t.dims.join(', ')}]\t${summarize(t)}`);
    }
    console.log(`first call: ${firstMs.toFixed(3)} ms${bench ? '' : " (includes one-time setup; use --bench for steady-state latency)"}`);
    for (const line of await writeOutputs(outputs, values)) note(line);
    if (options) await reportBenchmark(session, feeds, options, values.exportTimes);
  } finally {
    session.dispose();
  }
}
