/** `tensorrt-node quantize MODEL.onnx -o MODEL.int8.onnx`: calibrate and insert Q/DQ, no build. */
import { buildEngine } from '../build-engine.js';
import { quantizeInt8WithReport } from '../precision/int8.js';
import { parseShapeSpec } from '../shapes.js';
import { ACCURACY_HELP, ACCURACY_OPTIONS, parseFailBelow, reportAccuracy } from './accuracy-report.js';
import { calibrationShapes, INT8_HELP, INT8_OPTIONS, int8Plan, withCalibrationProgress } from './int8-options.js';
import { cliLogger, progressReporter } from './output.js';
import { summarizePrecision } from './precision-report.js';
import { checkReadableFile, checkWritableFile } from './preflight.js';
import { backendOption, parseCommandLine, UsageError } from './usage.js';

const HELP = `Usage: tensorrt-node quantize MODEL.onnx -o MODEL.int8.onnx [options]

Calibrates a float model and writes it with explicit INT8 QuantizeLinear/DequantizeLinear
pairs (symmetric, per-channel weights, per-tensor activations), which TensorRT 10 and 11 build
as INT8 engines.

Options:
  -o, --output FILE          where to write the quantized model (required)
  --shapes SPEC              input shapes of the calibration batches, e.g. x:8x3x224x224
${INT8_HELP}
${ACCURACY_HELP}
                             (quantize reports accuracy only with one of these two; without
                             --validation-data it uses the held-out calibration batches)
  --fp16-rest                run the float ops left around the quantized ones in float16
                             (and the layers --min-cosine keeps float; see --fp16-block)
  --backend NAME             backend that runs calibration: auto (default), tensorrt or sim
  -h, --help                 show this help

Example:
  tensorrt-node quantize model.onnx -o model.int8.onnx --calib-data calib/ --shapes x:8x3x224x224`;

export async function quantizeCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    output: { type: 'string', short: 'o' },
    shapes: { type: 'string' },
    ...INT8_OPTIONS,
    ...ACCURACY_OPTIONS,
    'fp16-rest': { type: 'boolean' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one ONNX model');
  if (!values.output) throw new UsageError('missing -o/--output FILE');
  const backend = backendOption(values.backend);
  if (values['fp16-block'] && !values['fp16-rest']) throw new UsageError('--fp16-block goes with --fp16-rest');
  const shapes = values.shapes ? parseShapeSpec(values.shapes, '--shapes') : {};
  await checkReadableFile(positionals[0]!, 'MODEL.onnx');
  await checkWritableFile(values.output, '-o/--output');
  const failBelow = parseFailBelow(values['fail-below']);
  const batchShapes = calibrationShapes(values, shapes);
  const plan = await int8Plan(positionals[0]!, values, batchShapes);
  const data = plan.validation || failBelow !== undefined ? plan.reportData : undefined;
  if (failBelow !== undefined && !data) throw new UsageError('--fail-below needs --validation-data DIR, or --calib-data with at least 5 batches (the last fifth is held out)');
  const started = performance.now();
  const progress = progressReporter();
  const { model: bytes, report } = await quantizeInt8WithReport(positionals[0]!, {
    ...withCalibrationProgress(plan, progress.onProgress),
    ...(values.shapes && { shapes }),
    ...(backend && { backend }),
    ...(values['fp16-rest'] && { floatOpsIn: 'float16' as const }),
    outputPath: values.output,
    // Shows, with --verbose, which thresholds calibration method 'auto' kept.
    logger: cliLogger(),
  }).finally(progress.finish);
  console.log(`wrote ${values.output} (${bytes.byteLength} bytes, ${report.int8Nodes.length} nodes in INT8) in ${(performance.now() - started).toFixed(0)} ms`);
  if (report.accuracy) {
    const summary = summarizePrecision(report, 'INT8');
    console.log(summary.lines.join('\n'));
    if (summary.warning) console.error(summary.warning);
  }
  if (data) {
    // Both built at the batches' shapes, which the report feeds.
    const build = { ...(backend && { backend }), ...(Object.keys(batchShapes).length > 0 && { shapes: batchShapes }) };
    const reference = await buildEngine(positionals[0]!, build);
    const candidate = await buildEngine(bytes, build);
    await reportAccuracy({ modelPath: positionals[0]!, precision: 'int8', reference, candidate, load: { backend: backend ?? 'auto' }, data, failBelow });
  }
}
