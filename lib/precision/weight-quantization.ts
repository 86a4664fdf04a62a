/**
 * Symmetric per-channel int8 quantization of constant weights, as TensorRT wants them: along
 * one axis, scale_c = max|w_c| / 127 and q = round-half-to-even(w / scale_c), zero point 0.
 * Max |w| maps to exactly ±127, so nothing saturates and -128 is never used (TensorRT's
 * symmetric range).
 */
export interface QuantizedWeights {
  values: Int8Array;
  /** One float32 scale per index along the axis. */
  scales: Float32Array;
}

/** Round half to even, the rounding QuantizeLinear specifies. */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  // Math.round takes halves up; a half whose round-up is odd goes down instead.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantizes `values` (row-major, shape `dims`) per index along `axis`. A channel that is all
 * zeros gets scale 1 (any positive scale stores it exactly; 0 would divide by zero).
 */
export function quantizePerChannel(values: Float32Array, dims: readonly number[], axis: number): QuantizedWeights {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const maxAbs = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      for (let k = 0; k < inner; k++) maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(values[base + k]!));
    }
  }
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const out = new Int8Array(values.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      // Divide by the float32 scale that is stored, so that DequantizeLinear reproduces w as closely as it can.
      const s = scales[c]!;
      const base = (o * channels + c) * inner;
      for (let k = 0; k < inner; k++) out[base + k] = Math.max(-127, Math.min(127, roundHalfToEven(values[base + k]! / s)));
    }
  }
  return { values: out, scales };
}
