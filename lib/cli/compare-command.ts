/**
 * `tensorrt-node compare MODEL.onnx --backends sim,onnxruntime`: runs one model on several
 * backends with the same inputs and compares every output with the first backend's, as
 * `polygraphy run --trt --onnxrt` does; exit code 1 when an output differs beyond tolerance.
 */
import { buildEngine } from '../build-engine.js';
import { DATA_TYPES, type DataType } from '../dtype.js';
import { UnsupportedError } from '../errors.js';
import { InferenceSession } from '../inference-session.js';
import { modelIO } from '../model-inspection.js';
import { readModel } from '../onnx/model-io.js';
import { compareOutputs, type OutputDifference } from '../output-comparison.js';
import { Tensor } from '../tensor.js';
import { INPUT_OPTIONS, inputPlan, loadInput } from './io-options.js';
import { runOnOnnxRuntime } from './onnxruntime-runner.js';
import { checkDynamicInputsShaped } from './preflight.js';
import { randomTensor } from './random-inputs.js';
import { formatDims, formatTable } from './table.js';
import { CheckFailedError, DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, parseCommandLine, UsageError } from './usage.js';

const RUNNERS = ['sim', 'tensorrt', 'onnxruntime'] as const;
type Runner = (typeof RUNNERS)[number];

const HELP = `Usage: tensorrt-node compare MODEL.onnx [options]

Runs the model on two or more backends with the same inputs and compares each output with
the first backend's: largest absolute and relative error, cosine similarity, and how many
elements lie outside atol + rtol * |reference|. Exits with code 1 when any output mismatches.

Options:
  --backends LIST            two or more of sim, tensorrt, onnxruntime, comma-separated; the
                             first is the reference (default sim,onnxruntime; onnxruntime needs
                             the optional onnxruntime-node package)
  --shapes SPEC              shapes of the dynamic inputs, e.g. x:1x3x224x224
  --loadInputs NAME:FILE     an input's data: .npy, or raw little-endian bytes as trtexec
                             reads them; comma-separated or repeated; other inputs get
                             seeded random values
  --input NAME=FILE          the same, one input per flag
  --val-range [NAME:]MIN,MAX range of random values, for one input or (no NAME) all
                             (default -1,1 for floats, 0,9 for integers); repeatable
  --seed N                   seed for random inputs (default 1)
  --atol X                   absolute tolerance (default 1e-5)
  --rtol X                   relative tolerance (default 1e-5)
  --format FORMAT            text (default) or json
${DEVICE_AND_PLUGIN_HELP}
  -h, --help                 show this help

Example:
  tensorrt-node compare model.onnx --backends sim,onnxruntime --atol 1e-4 --rtol 1e-3`;

/** One output of one backend against the reference backend. */
interface OutputComparison extends OutputDifference {
  output: string;
  backend: Runner;
  reference: Runner;
  dims: number[];
  passed: boolean;
}

function tolerance(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || x < 0) throw new UsageError(`${flag} takes a number >= 0, got '${value}'`);
  return x;
}

function runnersOption(value: string | undefined): Runner[] {
  const list = (value ?? 'sim,onnxruntime').split(',').map((s) => s.trim()).filter((s) => s);
  for (const r of list) if (!RUNNERS.includes(r as Runner)) throw new UsageError(`--backends takes sim, tensorrt and onnxruntime, got '${r}'`);
  if (new Set(list).size !== list.length) throw new UsageError('--backends names a backend twice');
  if (list.length < 2) throw new UsageError('--backends needs at least two backends to compare, e.g. --backends sim,onnxruntime');
  return list as Runner[];
}

function formatNumber(x: number): string {
  return Number.isNaN(x) ? '-' : x === 0 ? '0' : x.toExponential(3);
}

export async function compareCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    backends: { type: 'string' },
    ...INPUT_OPTIONS,
    atol: { type: 'string' },
    rtol: { type: 'string' },
    format: { type: 'string' },
    ...DEVICE_AND_PLUGIN_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one ONNX model');
  const modelPath = positionals[0]!;
  const runners = runnersOption(values.backends);
  const tolerances = { atol: tolerance(values.atol, '--atol', 1e-5), rtol: tolerance(values.rtol, '--rtol', 1e-5) };
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got '${format}'`);

  const { model } = await readModel(modelPath, { loadExternalData: false }).catch((error: Error) => {
    throw new UsageError(`cannot read the model ${modelPath}: ${error.message}`);
  });
  const { inputs } = modelIO(model.graph!);
  const { shapes, files, range, seed, random } = inputPlan(values, inputs.map((i) => i.name), 'the model');
  // Every backend builds at one shape, so each dynamic input needs one.
  await checkDynamicInputsShaped(modelPath, new Set(Object.keys(shapes)), false);

  // The same inputs for every backend: loaded, else seeded random at the given or static shape.
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs) {
    const dims = shapes[input.name] ?? input.shape;
    if (!dims) throw new UsageError(`input '${input.name}' has no shape in the model: give it with --shapes ${input.name}:DIMS`);
    if (!DATA_TYPES.includes(input.dtype as DataType)) throw new UnsupportedError(`input '${input.name}' has element type ${input.dtype}, which tensorrt-node cannot feed`);
    const dtype = input.dtype as DataType;
    const given = files.get(input.name);
    feeds[input.name] = given ? await loadInput({ dtype }, input.name, given.file, dims as number[], true, given.flag) : randomTensor(dtype, dims as number[], random, range(input.name));
  }

  const results = new Map<Runner, Record<string, Tensor>>();
  for (const runner of runners) {
    if (runner === 'onnxruntime') {
      results.set(runner, await runOnOnnxRuntime(modelPath, feeds));
      continue;
    }
    const engine = await buildEngine(modelPath, { backend: runner, ...(values.shapes && { shapes: values.shapes }), ...deviceAndPlugins(values) });
    const session = await InferenceSession.create(engine, { backend: runner, ...deviceAndPlugins(values) });
    try {
      results.set(runner, await session.run(feeds));
    } finally {
      session.dispose();
    }
  }

  const [reference, ...others] = runners as [Runner, ...Runner[]];
  const referenceOutputs = results.get(reference)!;
  const comparisons: OutputComparison[] = [];
  for (const backend of others) {
    const outputs = results.get(backend)!;
    for (const [output, expected] of Object.entries(referenceOutputs)) {
      const actual = outputs[output];
      if (!actual) throw new CheckFailedError(`backend ${backend} produced no output '${output}' (it produced: ${Object.keys(outputs).join(', ')})`);
      const difference = compareOutputs(expected, actual, tolerances);
      comparisons.push({ output, backend, reference, dims: [...actual.dims], ...difference, passed: difference.shapesMatch && difference.mismatches === 0 });
    }
  }

  if (format === 'json') {
    console.log(JSON.stringify({ model: modelPath, backends: runners, reference, ...tolerances, seed, inputs: Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, { dtype: t.dtype, dims: [...t.dims] }])), comparisons }, null, 2));
  } else {
    console.log(`${modelPath}: ${others.join(', ')} against ${reference}; atol ${tolerances.atol}, rtol ${tolerances.rtol}; inputs ${Object.entries(feeds).map(([n, t]) => `${n} ${t.dtype} ${formatDims(t.dims)}`).join(', ')}${files.size ? '' : ` (random, seed ${seed})`}`);
    const rows = comparisons.map((c) => [
      c.output, c.backend, c.shapesMatch ? formatDims(c.dims) : `${formatDims(c.dims)} (shape differs)`,
      formatNumber(c.maxAbsError), formatNumber(c.maxRelError), Number.isNaN(c.cosine) ? '-' : c.cosine.toFixed(6),
      `${c.mismatches}/${c.count}`, c.passed ? 'PASS' : 'FAIL',
    ]);
    console.log(formatTable([['output', 'backend', 'shape', 'max abs', 'max rel', 'cosine', 'mismatches', 'result'], ...rows]));
  }
  const failed = comparisons.filter((c) => !c.passed);
  if (failed.length > 0) {
    throw new CheckFailedError(`${failed.length} of ${comparisons.length} output comparison(s) failed: ${failed.map((c) => `${c.output} on ${c.backend}`).join(', ')} (tolerances: atol ${tolerances.atol}, rtol ${tolerances.rtol})`);
  }
}
