// Runs selected backend-agnostic suites on backend 'tensorrt': the real adapter
// (native/tensorrt) over the TensorRT double. Started by scripts/test-tensorrt-double.mjs,
// which builds both and sets TENSORRT_NODE_ADAPTER.
import { defineConfig } from 'vitest/config';

// The suites that run here; TNRT_DOUBLE_SUITES (comma-separated paths) overrides the list.
// Left out: suites that never reach a backend (tensor, onnx-io, calibration maths, cli), and
// event-loop: its one backend test counts loop turns during a deserialize that takes about a
// millisecond on the double; the other times a calibration histogram, not a backend.
const SUITES = [
  'test/tensorrt-double/double.test.ts',
  'test/tensorrt-double/options.test.ts',
  'test/tensorrt-double/benchmark.test.ts',
  'test/build-and-run.test.ts',
  'test/api.test.ts',
  'test/errors.test.ts',
  'test/workers.test.ts',
  'test/precision.test.ts',
  'test/implicit-precision.test.ts',
  'test/float16.test.ts',
  'test/int8.test.ts',
  'test/onnxruntime-crosscheck.test.ts',
  'test/sim-math-ops.test.ts',
  'test/sim-shape-ops.test.ts',
  'test/shape-tensors.test.ts',
];

// Tests of those suites that check what only the sim does, deselected by name.
const SIM_ONLY = [
  // Calls the addon's native classes with backend 'sim' directly, past lib/backend.ts.
  'checks again in native code when the TypeScript checks are bypassed',
  // Its workers load dist/ themselves, without setup.ts, so they build on the sim.
  'loads and runs the addon in four workers at once',
];
// TensorRT 11 has no implicit precision (no kFP16/kINT8 flags, no calibrators): the suite's
// tests of it expect a backend that has it; its TensorRT 11 refusal test still runs.
if (Number(process.env.TNRT_DOUBLE_TRT_MAJOR) >= 11) {
  SIM_ONLY.push(
    'INT8 calibrator protocol on the sim',
    'INT8 and FP16 engines against float32',
    'calibrator failures, aborts and the event loop',
    'setFlag / clearFlag / getFlag, with validation',
    'int8 without a calibrator, and flags on a strongly typed network, are refused',
  );
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: process.env.TNRT_DOUBLE_SUITES ? process.env.TNRT_DOUBLE_SUITES.split(',') : SUITES,
    setupFiles: ['test/tensorrt-double/setup.ts'],
    testNamePattern: new RegExp(`^(?!.*(${SIM_ONLY.map(escape).join('|')}))`),
    testTimeout: 60_000,
    pool: 'forks',
  },
});
