/**
 * Cosine similarity from running sums, with one rule for the cases the formula leaves
 * undefined, so that compare, the accuracy report and the float16 search judge alike.
 */

/**
 * dot / (||a|| ||b||) from dot = Σ a·b, aa = Σ a², bb = Σ b². Two all-zero vectors are
 * identical (1); an all-zero vector against a non-zero one shares no direction with it (0);
 * sums that are not finite (NaN or ±Inf among the values, or an overflow) give NaN.
 */
export function cosineSimilarity(dot: number, aa: number, bb: number): number {
  if (!Number.isFinite(dot) || !Number.isFinite(aa) || !Number.isFinite(bb)) return NaN;
  if (aa === 0 && bb === 0) return 1;
  if (aa === 0 || bb === 0) return 0;
  // Each root on its own: aa * bb can overflow where the two norms do not.
  return dot / (Math.sqrt(aa) * Math.sqrt(bb));
}
