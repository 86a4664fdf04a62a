// A case process: runs the fuzz cases its parent (case-pool.mjs) sends, one at a time, and
// answers with how each ended. A native crash, a hang or a memory blow-up ends or stalls this
// process; the parent sees that and records the case, which is why cases never run in the
// fuzzer's own process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TensorRTError } from '../../dist/index.js';
import { runCalibrationCache, runEngine, runNpy, runPipeline, runShapeSpec } from './public-api-cases.mjs';

// Empty, so external-data references in mutated models find nothing to read.
const modelDir = mkdtempSync(join(tmpdir(), 'tnrt-fuzz-'));

const runners = {
  pipeline: (bytes) => runPipeline(bytes, modelDir),
  engine: runEngine,
  'calibration-cache': runCalibrationCache,
  'shape-spec': runShapeSpec,
  npy: runNpy,
};

function describeError(e) {
  if (e instanceof TensorRTError) return { outcome: 'typed', code: e.code, message: e.message };
  const error = e instanceof Error ? e : new Error(String(e));
  return { outcome: 'js-error', name: error.name, message: error.message, stack: error.stack };
}

process.on('message', async ({ id, target, bytes }) => {
  let answer;
  try {
    await runners[target](bytes);
    answer = { outcome: 'ok' };
  } catch (e) {
    answer = describeError(e);
  }
  process.send({ id, ...answer });
});

// A rejection nobody awaited (a promise the library forgot) is a finding like a thrown one;
// the parent sees the exit code and the stack on stderr.
process.on('unhandledRejection', (e) => {
  process.stderr.write(`unhandled rejection: ${e?.stack ?? e}\n`);
  process.exit(70);
});
process.send({ ready: true });
