/**
 * The mean squared error that symmetric int8 quantization with a given clipping threshold
 * makes on a tensor, estimated from its |x| histogram: what method 'auto' compares its
 * candidate thresholds by. Quantize-dequantize maps x to s * round(x / s) with s = t / 127
 * when |x| <= t, and to ±t beyond, so the error is a sawtooth of amplitude s / 2 inside the
 * range and grows as (|x| - t)^2 outside it. The values in a bin are taken as spread evenly
 * over it (the histogram keeps no finer detail), so each bin contributes its count times the
 * mean of the squared error over the bin, integrated exactly.
 */

/**
 * Integral of (x - s * round(x / s))^2 from -s/2 to x (x >= -s/2): whole periods contribute
 * s^3 / 12 each, the partial one the integral of its ramp.
 */
function sawtoothIntegral(x: number, s: number): number {
  const shifted = x + s / 2;
  const periods = Math.floor(shifted / s);
  const ramp = shifted - periods * s - s / 2; // in [-s/2, s/2)
  return (periods * s ** 3) / 12 + (ramp ** 3 + (s / 2) ** 3) / 3;
}

/** Integral of the squared quantization error over [a, b] (0 <= a <= b) for threshold t. */
function squaredErrorIntegral(a: number, b: number, t: number): number {
  const s = t / 127;
  let sum = 0;
  const inside = Math.min(b, t);
  if (inside > a) sum += sawtoothIntegral(inside, s) - sawtoothIntegral(a, s);
  const outside = Math.max(a, t);
  if (b > outside) sum += ((b - t) ** 3 - (outside - t) ** 3) / 3;
  return sum;
}

/**
 * Estimated mean of (x - dequantize(quantize(x)))^2 over the values a histogram holds, for
 * clipping threshold `threshold` (> 0). `counts[k]` holds |x| in [k, k + 1) * binWidth.
 * Returns 0 for an empty histogram.
 */
export function quantizationMeanSquaredError(counts: ArrayLike<number>, binWidth: number, threshold: number): number {
  let total = 0;
  let sum = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (c === 0) continue;
    total += c;
    sum += (c * squaredErrorIntegral(k * binWidth, (k + 1) * binWidth, threshold)) / binWidth;
  }
  return total === 0 ? 0 : sum / total;
}
