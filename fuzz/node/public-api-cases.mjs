// What one fuzz case does with its input, through the library's public API (and, for the two
// text parsers, the functions the CLI and calibration call). Runs inside a case process
// (case-child.mjs): a native crash there ends that process, not the fuzzer.
// Each function resolves when the input was handled (accepted or refused with an error);
// the error, if any, is for the caller to classify.
import { Builder, Logger, Runtime, Tensor, TensorRTError, parseShapeSpec } from '../../dist/index.js';
import { parseCalibrationCache } from '../../dist/calibration/calibration-cache.js';
import { STORAGE, storageLength } from '../../dist/dtype.js';
import { npyToTensor, readNpy } from '../../dist/npy.js';

// Larger inputs are not executed: filling gigabytes finds nothing new (outputs are not
// capped, see the RSS limit in case-pool.mjs).
const MAX_INPUT_ELEMENTS = 1 << 20;
const quiet = new Logger({ minSeverity: 'error', onMessage: () => {} });

function zeros(dtype, dims) {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_INPUT_ELEMENTS) return undefined;
  return new Tensor(dtype, new STORAGE[dtype](storageLength(dtype, count)), dims);
}

/** Executes an engine once per profile (up to 4) at the profile's min and max shapes. */
async function executeProfiles(engine) {
  for (let p = 0; p < Math.min(engine.numOptimizationProfiles, 4); p++) {
    for (const end of ['min', 'max']) {
      const context = engine.createExecutionContext();
      try {
        context.setOptimizationProfile(p);
        const feeds = {};
        for (const input of engine.inputs) {
          const dims = input.shape.some((d) => d < 0) ? engine.getProfileShape(input.name, p)[end] : input.shape;
          const tensor = zeros(input.dtype, dims);
          if (!tensor) return;
          if (input.shape.some((d) => d < 0)) context.setInputShape(input.name, dims);
          feeds[input.name] = tensor;
        }
        await context.execute(feeds);
      } finally {
        context.dispose();
      }
    }
  }
}

/**
 * What a loaded engine promises about a profile (TensorRT's own rules): per dim
 * 0 <= min <= opt <= max, matching the input's static dims. An engine that loads but breaks
 * them is a finding even without a crash: the load checks let a forged engine through.
 * Thrown as a plain Error so the case is classified as a js-error.
 */
function checkProfile(input, range) {
  const { min, opt, max } = range;
  const ok = [min, opt, max].every((d) => d.length === input.shape.length) &&
    input.shape.every((s, i) => min[i] >= 0 && min[i] <= opt[i] && opt[i] <= max[i] && (s < 0 || (min[i] === s && max[i] === s)));
  if (!ok) throw new Error(`profile invariant broken for '${input.name}' [${input.shape}]: min [${min}] opt [${opt}] max [${max}]`);
}

/** Sim engine bytes: load, query, serialize again, execute. */
export async function runEngine(bytes) {
  const runtime = new Runtime({ backend: 'sim', logger: quiet });
  try {
    const engine = await runtime.deserializeCudaEngine(bytes);
    void engine.numLayers;
    void engine.deviceMemorySize;
    for (let p = 0; p < engine.numOptimizationProfiles; p++) {
      for (const input of engine.inputs) {
        let range;
        try {
          range = engine.getProfileShape(input.name, p);
        } catch (e) {
          // A static input may have no range to report; refusing is fine, but only typed.
          if (input.shape.some((d) => d < 0) || !(e instanceof TensorRTError)) throw e;
          continue;
        }
        checkProfile(input, range);
      }
    }
    await engine.serialize();
    await executeProfiles(engine);
  } finally {
    runtime.dispose();
  }
}

/**
 * ONNX bytes: parse, build with every dynamic dim at 1, serialize, deserialize, execute.
 * `modelDir` is an empty folder: external data references must fail, not read files.
 */
export async function runPipeline(bytes, modelDir) {
  const builder = new Builder({ backend: 'sim', logger: quiet });
  try {
    const network = builder.createNetworkV2();
    await builder.createOnnxParser(network).parse(bytes, modelDir);
    const config = builder.createBuilderConfig();
    const profile = builder.createOptimizationProfile();
    let dynamic = false;
    for (const input of network.inputs) {
      if (!input.shape.some((d) => d < 0)) continue;
      const fixed = input.shape.map((d) => (d < 0 ? 1 : d));
      profile.setDimensions(input.name, { min: fixed, opt: fixed, max: fixed });
      dynamic = true;
    }
    if (dynamic) config.addOptimizationProfile(profile);
    const plan = await builder.buildSerializedNetwork(network, config);
    await runEngine(plan);
  } finally {
    builder.dispose();
  }
}

/** Calibration cache bytes: parse (the parser also decodes UTF-8). */
export async function runCalibrationCache(bytes) {
  parseCalibrationCache(bytes);
}

/** A trtexec-style shape spec ("x:1x3x224x224,y:4"). */
export async function runShapeSpec(bytes) {
  parseShapeSpec(new TextDecoder().decode(bytes));
}

/** A NumPy .npy file, as the CLI's --loadInputs reads it. */
export async function runNpy(bytes) {
  npyToTensor(readNpy(bytes, 'input.npy'));
}
