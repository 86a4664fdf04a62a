/**
 * convertToFloat16, the library's entry point: the plain conversion of float16.ts, or with
 * `minCosine` the accuracy-targeted one of fp16-targets.ts, which builds on the plain one (so
 * this dispatch lives above both rather than in float16.ts).
 */
import { convertModelToFloat16, type Float16Options } from './float16.js';
import { convertToFloat16WithReport, type Float16TargetOptions } from './fp16-targets.js';

/**
 * Converts a float32 ONNX model to float16: float32 initializers, Constant and ConstantOfShape
 * values and intermediate tensors become float16; graph inputs and outputs stay float32 unless
 * `keepIoTypes: false`, with Cast nodes at the edges; nodes named by `blockList` (by op type or
 * node name), operators that need float32 (Range, quantization, sequences, Resize's scales
 * and roi...), a Log with the arithmetic computing its argument, and every consumer of an
 * initializer or constant beyond float16's range (|x| > 65504) stay float32 with Casts around
 * them. If, Loop and Scan bodies are converted by the same rules; a body computes in float16
 * when its node does, and a blocked If, Loop or Scan keeps its body float32. With
 * `calibrationData` or `validationData` the float32 model first runs on that data (on
 * `backend`, at `shapes`) and every main-graph node whose activations exceed float16's range
 * stays float32 too, with the nodes reading them; they are named through `logger` and in the
 * report given to `onReport` (values inside bodies are not measured: a warning says so). Without data a warning says
 * that activations were not checked. With `minCosine` (and `validationData`) the nodes float16
 * hurts most also stay float32 until every output's cosine against float32 on `validationData`
 * reaches it (convertToFloat16WithReport, which also says which nodes and whether it held).
 * `model` is ONNX bytes or a path; external data is loaded, and when `outputPath` is given the
 * result is written there (with its weights in external data again if the input had them).
 * Resolves to the converted model's bytes.
 * Throws InvalidArgumentError for bad options or unreadable files, OnnxParseError for bytes
 * that are not an ONNX model, and InvalidArgumentError when a model over 2 GiB is asked for
 * inline (give outputPath); with data, as quantizeInt8's calibration does for empty data or a
 * batch that does not fit the model.
 */
export async function convertToFloat16(model: Uint8Array | ArrayBufferLike | string, options: Float16Options = {}): Promise<Uint8Array> {
  if (typeof options === 'object' && options !== null && options.minCosine !== undefined) {
    return (await convertToFloat16WithReport(model, options as Float16TargetOptions)).model;
  }
  return convertModelToFloat16(model, options);
}
