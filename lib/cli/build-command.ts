/** `tensorrt-node build MODEL.onnx -o MODEL.engine`: trtexec-style engine building. */
import { writeFile } from 'node:fs/promises';

import { buildEngine, buildEngineWithCache, type ProfileEntry } from '../build-engine.js';
import { ACCURACY_HELP, ACCURACY_OPTIONS, parseFailBelow, reportAccuracy } from './accuracy-report.js';
import { digestCalibrationFiles } from './calibration-files.js';
import { calibrationShapes, float16Plan, INT8_HELP, INT8_OPTIONS, int8Plan, withCalibrationProgress } from './int8-options.js';
import { summarizePrecision } from './precision-report.js';
import { SEVERITIES, type Severity } from '../logger.js';
import { cliLogger, progressReporter } from './output.js';
import { checkDynamicInputsShaped, checkReadableFile, checkWritableFile } from './preflight.js';
import type { ShapeRange } from '../optimization-profile.js';
import { parseShapeSpec, parseValueSpec } from '../shapes.js';
import type { HardwareCompatibilityLevel, ProfilingVerbosity } from '../builder-config.js';
import { backendOption, DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, parseCommandLine, UsageError } from './usage.js';

/** --hardwareCompatibilityLevel values: ours, and trtexec's spelling ampere+. */
const HARDWARE_LEVELS: Record<string, HardwareCompatibilityLevel> = {
  none: 'none',
  ampereplus: 'ampereplus',
  'ampere+': 'ampereplus',
  sameComputeCapability: 'sameComputeCapability',
};

/** --profilingVerbosity values: trtexec's spellings, and ours. */
const PROFILING_VERBOSITY: Record<string, ProfilingVerbosity> = {
  detailed: 'detailed',
  layer_names_only: 'layerNamesOnly',
  layerNamesOnly: 'layerNamesOnly',
  none: 'none',
};

const HELP = `Usage: tensorrt-node build MODEL.onnx -o MODEL.engine [options]

Builds an engine from an ONNX model and writes it to a file.

Options:
  -o, --output FILE          where to write the engine (required)
  --backend NAME             auto (default), tensorrt or sim
  --shapes SPEC              fix dynamic dimensions, e.g. x:1x3x224x224,y:1x10
  --min-shapes SPEC          optimization profile minimum shapes (with --opt-shapes, --max-shapes)
  --opt-shapes SPEC          optimization profile shapes to tune for
  --max-shapes SPEC          optimization profile maximum shapes
  --values SPEC              fix a shape-tensor input's values, e.g. s:2x3 (its elements, x-separated)
  --min-values SPEC          range of shape-tensor values (with --opt-values, --max-values)
  --opt-values SPEC
  --max-values SPEC
  --fp16                     build in float16 (the model is rewritten to float16 first)
  --int8                     build in INT8: calibrate, insert Q/DQ, build (see --calib-*);
                             with --fp16 too, the ops left in float run in float16
${INT8_HELP}
${ACCURACY_HELP}
  --no-accuracy              skip the accuracy report against a float32 build
  --workspace MIB            workspace memory pool limit in MiB
  --timing-cache FILE        read the timing cache from FILE if it exists, and write it back
  --cache DIR                engine cache: copy the engine from DIR if one was built there
                             with the same model, options, backend and GPU, else build it
                             and store it there (as the cache option of buildEngine)
  --noTF32                   no TF32 tensor-core math for float32 layers (TensorRT enables it
                             by default; results then match a float32 reference more closely)
  --versionCompatible        build a version-compatible plan (loading it needs
                             --engineHostCodeAllowed, or engineHostCodeAllowed in code)
  --excludeLeanRuntime       with --versionCompatible: leave the lean runtime out of the plan
  --hardwareCompatibilityLevel LEVEL
                             none (default), ampere+ or sameComputeCapability
  --profilingVerbosity LEVEL what the plan records about its layers for 'inspect': detailed
                             (default), layer_names_only or none (trtexec's spellings)
${DEVICE_AND_PLUGIN_HELP}
  --log-level LEVEL          internal-error, error, warning (default), info or verbose
  -h, --help                 show this help

Example:
  tensorrt-node build model.onnx -o model.engine --min-shapes x:1x3x224x224 \\
    --opt-shapes x:8x3x224x224 --max-shapes x:32x3x224x224 --fp16`;

export async function buildCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    output: { type: 'string', short: 'o' },
    backend: { type: 'string' },
    shapes: { type: 'string' },
    'min-shapes': { type: 'string' },
    'opt-shapes': { type: 'string' },
    'max-shapes': { type: 'string' },
    values: { type: 'string' },
    'min-values': { type: 'string' },
    'opt-values': { type: 'string' },
    'max-values': { type: 'string' },
    workspace: { type: 'string' },
    fp16: { type: 'boolean' },
    int8: { type: 'boolean' },
    ...INT8_OPTIONS,
    ...ACCURACY_OPTIONS,
    'no-accuracy': { type: 'boolean' },
    'timing-cache': { type: 'string' },
    cache: { type: 'string' },
    noTF32: { type: 'boolean' },
    versionCompatible: { type: 'boolean' },
    excludeLeanRuntime: { type: 'boolean' },
    hardwareCompatibilityLevel: { type: 'string' },
    profilingVerbosity: { type: 'string' },
    ...DEVICE_AND_PLUGIN_OPTIONS,
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one ONNX model');
  if (!values.output) throw new UsageError('missing -o/--output FILE');
  const backend = backendOption(values.backend);
  const level = (values['log-level'] ?? 'warning') as Severity;
  if (!SEVERITIES.includes(level)) throw new UsageError(`--log-level must be one of ${SEVERITIES.join(', ')}`);

  const ranges = ['min-shapes', 'opt-shapes', 'max-shapes'] as const;
  const given = ranges.filter((r) => values[r] !== undefined);
  if (values.shapes && given.length > 0) throw new UsageError('use either --shapes or --min/--opt/--max-shapes');
  if (given.length > 0 && given.length < 3) throw new UsageError('--min-shapes, --opt-shapes and --max-shapes go together');
  let profiles: Record<string, ProfileEntry>[] | undefined;
  if (given.length === 3) {
    const [min, opt, max] = ranges.map((r) => parseShapeSpec(values[r]!, `--${r}`));
    const profile: Record<string, ShapeRange> = {};
    for (const name of Object.keys(min!)) {
      if (!opt![name] || !max![name]) throw new UsageError(`input '${name}' needs --min-shapes, --opt-shapes and --max-shapes`);
      profile[name] = { min: min![name]!, opt: opt![name]!, max: max![name]! };
    }
    profiles = [profile];
  }
  // Shape-tensor values join the profile; fixed --shapes become a profile of their own then.
  const valueRanges = ['min-values', 'opt-values', 'max-values'] as const;
  const givenValues = valueRanges.filter((r) => values[r] !== undefined);
  if (values.values && givenValues.length > 0) throw new UsageError('use either --values or --min/--opt/--max-values');
  if (givenValues.length > 0 && givenValues.length < 3) throw new UsageError('--min-values, --opt-values and --max-values go together');
  let shapesOption = values.shapes;
  if (values.values || givenValues.length === 3) {
    const [min, opt, max] = values.values
      ? [0, 1, 2].map(() => parseValueSpec(values.values!, '--values'))
      : valueRanges.map((r) => parseValueSpec(values[r]!, `--${r}`));
    const profile: Record<string, ProfileEntry> = { ...profiles?.[0] };
    if (shapesOption) {
      for (const [name, dims] of Object.entries(parseShapeSpec(shapesOption, '--shapes'))) profile[name] = { min: dims, opt: dims, max: dims };
      shapesOption = undefined;
    }
    for (const name of Object.keys(min!)) {
      if (!opt![name] || !max![name]) throw new UsageError(`shape tensor '${name}' needs --min-values, --opt-values and --max-values`);
      profile[name] = { ...profile[name], values: { min: min![name]!, opt: opt![name]!, max: max![name]! } } as ProfileEntry;
    }
    profiles = [profile];
  }
  let workspace: number | undefined;
  if (values.workspace !== undefined) {
    workspace = Number(values.workspace);
    if (!Number.isFinite(workspace) || workspace <= 0) throw new UsageError('--workspace takes a size in MiB');
  }
  let timingCache: Uint8Array | undefined;
  if (values['timing-cache']) {
    const { readFile } = await import('node:fs/promises');
    timingCache = await readFile(values['timing-cache']).catch(() => undefined);
  }

  const hardwareLevel = values.hardwareCompatibilityLevel;
  if (hardwareLevel !== undefined && !HARDWARE_LEVELS[hardwareLevel]) throw new UsageError(`--hardwareCompatibilityLevel must be one of ${Object.keys(HARDWARE_LEVELS).join(', ')}`);
  const verbosity = values.profilingVerbosity;
  if (verbosity !== undefined && !Object.hasOwn(PROFILING_VERBOSITY, verbosity)) throw new UsageError(`--profilingVerbosity must be one of ${Object.keys(PROFILING_VERBOSITY).join(', ')}`);
  if (values.excludeLeanRuntime && !values.versionCompatible) throw new UsageError('--excludeLeanRuntime goes with --versionCompatible');

  // Mistakes in paths and shapes are reported now, not after the build.
  await checkReadableFile(positionals[0]!, 'MODEL.onnx');
  await checkWritableFile(values.output, '-o/--output');
  if (values['timing-cache']) await checkWritableFile(values['timing-cache'], '--timing-cache');

  const logger = cliLogger(level);
  const started = performance.now();
  const progress = progressReporter();
  const common = {
    logger,
    ...(backend && { backend }),
    ...(shapesOption && { shapes: shapesOption }),
    ...(profiles && { profiles }),
    ...(workspace && { memoryPoolLimits: { workspace: Math.round(workspace * 1024 * 1024) } }),
    ...(timingCache && { timingCache }),
    ...(values.noTF32 && { tf32: false }),
    ...(values.versionCompatible && { versionCompatible: true }),
    ...(values.excludeLeanRuntime && { excludeLeanRuntime: true }),
    ...(hardwareLevel !== undefined && { hardwareCompatibility: HARDWARE_LEVELS[hardwareLevel]! }),
    ...(verbosity !== undefined && { profilingVerbosity: PROFILING_VERBOSITY[verbosity]! }),
    ...deviceAndPlugins(values),
  };
  const precision = values.int8 ? 'int8' : values.fp16 ? 'fp16' : 'fp32';
  const failBelow = parseFailBelow(values['fail-below']);
  if (failBelow !== undefined && (precision === 'fp32' || values['no-accuracy'])) throw new UsageError('--fail-below needs --fp16 or --int8 and the accuracy report');
  if (precision === 'fp32') {
    const stray = (['min-cosine', 'validation-data', 'fp16-block'] as const).find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --fp16 or --int8`);
  }
  if (precision === 'int8' && !values.fp16 && values['fp16-block']) throw new UsageError('--fp16-block with --int8 needs --fp16 too (the float ops then run in float16)');
  if (precision !== 'int8') {
    const stray = (['calib-shapes', 'int8-include', 'int8-exclude'] as const).find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --int8`);
  }
  // Batch files are read at --calib-shapes, else the fixed --shapes, else the profile's opt shapes.
  const optShapes = Object.fromEntries(Object.entries(profiles?.[0] ?? {}).flatMap(([name, e]) => ('opt' in e && e.opt ? [[name, [...e.opt]]] : [])));
  const batchShapes = calibrationShapes(values, values.shapes ? parseShapeSpec(values.shapes, '--shapes') : optShapes);
  const int8 = precision === 'int8' ? await int8Plan(positionals[0]!, values, batchShapes) : undefined;
  if (int8 && values.fp16) int8.calibration.floatOpsIn = 'float16';
  const float16 = precision === 'fp16' ? await float16Plan(positionals[0]!, values, batchShapes) : undefined;
  if (!profiles) await checkDynamicInputsShaped(positionals[0]!, new Set(Object.keys(shapesOption ? parseShapeSpec(shapesOption, '--shapes') : {})));
  // What the engine cache keys the user's data by: the files that shape the plan (for float16,
  // those its activations are checked on; an accuracy target's batches are hashed).
  const dataDir = float16 ? (values['validation-data'] ?? values['calib-data']) : values['calib-data'];
  const result = await buildEngineWithCache(positionals[0]!, {
    ...common,
    precision,
    ...(int8 && { calibration: withCalibrationProgress(int8, progress.onProgress) }),
    ...(float16 && Object.keys(float16.options).length > 0 && { float16: float16.options }),
    ...(values.cache && { cache: { dir: values.cache, ...(dataDir && { calibrationDataKey: await digestCalibrationFiles(dataDir) }) } }),
    onProgress: progress.onProgress,
  }).finally(progress.finish);
  await writeFile(values.output, result.engine);
  if (values['timing-cache'] && result.timingCache.byteLength > 0) await writeFile(values['timing-cache'], result.timingCache);
  const ms = (performance.now() - started).toFixed(0);
  const how = result.cache?.hit ? `copied from the engine cache (${result.cache.path})` : 'built';
  console.log(`${how} ${values.output} (${result.engine.byteLength} bytes, backend ${result.backend}, ${precision}${int8 && values.fp16 ? ' with fp16' : ''}) in ${ms} ms`);
  const targeted = result.int8Report?.accuracy ? summarizePrecision(result.int8Report, 'INT8') : result.float16Report ? summarizePrecision(result.float16Report, 'float16') : undefined;
  if (targeted) {
    console.log(targeted.lines.join('\n'));
    if (targeted.warning) console.error(targeted.warning);
  }
  if (precision !== 'fp32' && !values['no-accuracy']) {
    // The reduced-precision engine against a float32 build of the same model, on the user's
    // data (--validation-data, else held-out calibration batches, or for fp16 the calibration
    // data), else on seeded random inputs (so the report is reproducible).
    // From the cache too, when there is one: a cached reduced-precision build should not
    // cost a float32 build each time for its report.
    const reference = await buildEngine(positionals[0]!, { ...common, backend: result.backend, ...(values.cache && { cache: { dir: values.cache } }) });
    const load = { backend: result.backend, logger, ...deviceAndPlugins(values), ...(values.versionCompatible && { engineHostCodeAllowed: true }) };
    await reportAccuracy({
      modelPath: positionals[0]!,
      precision,
      reference,
      candidate: result.engine,
      load,
      data: (int8 ?? float16)?.reportData,
      failBelow,
    });
  }
}
