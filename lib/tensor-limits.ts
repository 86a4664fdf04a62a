/**
 * The maxTensorBytes rule: how large one tensor may be before a build, an engine load or an
 * execute refuses it. A model or engine is untrusted input; a few hundred bytes of ONNX can
 * describe a 16 GiB activation, and nothing else stops the process from trying to allocate it.
 */
import { expectInteger, invalid } from './validate.js';

/**
 * The default limit, 4 GiB: above any tensor of a model that fits one GPU alongside its
 * weights, far below what a hostile model can ask for. The TENSORRT_NODE_MAX_TENSOR_BYTES
 * environment variable sets another default; the `maxTensorBytes` options override both.
 */
export const DEFAULT_MAX_TENSOR_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Resolves a `maxTensorBytes` option: the value given (an integer from 1 to
 * Number.MAX_SAFE_INTEGER), else TENSORRT_NODE_MAX_TENSOR_BYTES, else 4 GiB.
 * @throws InvalidArgumentError for a value or environment variable that is not such an integer
 */
export function resolveMaxTensorBytes(value: unknown, what: string): number {
  if (value !== undefined) return expectInteger(value, what, 1, Number.MAX_SAFE_INTEGER);
  const fromEnv = process.env.TENSORRT_NODE_MAX_TENSOR_BYTES;
  if (fromEnv === undefined || fromEnv === '') return DEFAULT_MAX_TENSOR_BYTES;
  if (!/^[0-9]+$/.test(fromEnv.trim())) invalid('an integer number of bytes >= 1', 'TENSORRT_NODE_MAX_TENSOR_BYTES', fromEnv);
  return expectInteger(Number(fromEnv.trim()), 'TENSORRT_NODE_MAX_TENSOR_BYTES', 1, Number.MAX_SAFE_INTEGER);
}
