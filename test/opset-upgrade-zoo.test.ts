// upgradeOpset on the real models of the zoo (test/zoo/models.mjs, where the cache holds them):
// each converted to 13 (the PaddleOCR models are at 9 and 11), 18 and 23 where that is above
// its opset, and run on onnxruntime-node against the model as shipped, on the zoo's realistic
// inputs (speech-like audio, rendered text and documents; stateful models carry their state).
import { describe, expect, it } from 'vitest';

import { defaultOpset, parseModel, upgradeOpset, writeModel } from '../lib/index.js';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { compare, isCached, loadModel, makeContext, ortRunner, runSteps } from './zoo/harness.mjs';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { manifest } from './zoo/models.mjs';

interface Entry {
  name: string;
  inputs(context: unknown): Promise<unknown>;
}
type Outputs = Record<string, { data: Float32Array; shapes: string[] }>;

const entries = (manifest as Entry[]).filter((e) => isCached(e));
const TARGETS = [13, 18, 23];
const MIN_COSINE = 0.99999;

describe.skipIf(entries.length === 0)('upgradeOpset on the zoo: converted = shipped, on onnxruntime', () => {
  const context = makeContext(manifest);
  for (const entry of entries) {
    it(entry.name, { timeout: 300_000 }, async () => {
      const original: Uint8Array = loadModel(entry);
      const from = defaultOpset(parseModel(original));
      const input = await entry.inputs(context);
      const run = async (bytes: Uint8Array): Promise<Outputs> => {
        const runner = await ortRunner(bytes);
        try {
          return (await runSteps(runner, input)).outputs;
        } finally {
          await runner.dispose();
        }
      };
      const expected = await run(original);
      const lines: string[] = [];
      for (const target of TARGETS.filter((t) => t > from)) {
        const model = parseModel(original);
        const { rewritten } = upgradeOpset(model, target);
        const got = await run(await writeModel(model));
        for (const [name, e] of Object.entries(expected)) {
          const c = compare(got[name]!.data, e.data) as { cosine: number; maxAbs: number; nonFinite: number };
          lines.push(`${entry.name} ${from} -> ${target} (${rewritten} nodes rewritten) ${name}: cosine ${c.cosine.toFixed(7)}, max abs ${c.maxAbs.toExponential(1)}`);
          expect(got[name]!.shapes, name).toEqual(e.shapes);
          expect(c.nonFinite, name).toBe(0);
          expect(c.cosine, `${name} at opset ${target}`).toBeGreaterThanOrEqual(MIN_COSINE);
        }
      }
      console.log(lines.join('\n') || `${entry.name}: already at opset ${from}`);
    });
  }
});
