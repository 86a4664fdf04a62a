/**
 * Every input in test/fuzz-corpus/regressions/ (inputs that once crashed, hung or ran away
 * with memory, found by fuzzing) goes through every public-API fuzz target, each in a child
 * process (fuzz/node/case-pool.mjs), and must end in a typed TensorRTError or a clean result:
 * never a crash, a hang, a memory blow-up or an untyped error. Feeding an ONNX file to the
 * engine target and an engine to the pipeline is on purpose: each parser must refuse the
 * other's input cleanly too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain JavaScript module of the fuzzer, shared with `npm run fuzz`
import { CasePool, isFinding } from '../fuzz/node/case-pool.mjs';

const DIR = join(import.meta.dirname, 'fuzz-corpus', 'regressions');
const TARGETS = ['pipeline', 'engine', 'calibration-cache', 'shape-spec', 'npy'];
const files = readdirSync(DIR).filter((f) => extname(f) !== '.md').sort();

// Generous limits: under test:sanitize every case runs several times slower.
const pool = new CasePool({ timeoutMs: 30_000, rssLimitMb: 2048 });
afterAll(() => pool.close());

describe('fuzz regression corpus', () => {
  it('has inputs', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`${file}: typed error or clean result through every target`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, file)));
      const failures: string[] = [];
      for (const target of TARGETS) {
        const result = await pool.run(target, bytes);
        if (isFinding(result)) {
          const why = result.detail ?? `${result.name}: ${result.message}`;
          failures.push(`${target}: ${result.outcome} (${why})\n${(result.stack ?? result.stderr ?? '').slice(-2000)}`);
        }
      }
      expect(failures, failures.join('\n')).toEqual([]);
    }, 180_000);
  }
});
