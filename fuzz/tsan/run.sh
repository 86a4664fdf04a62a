#!/usr/bin/env bash
# `npm run test:tsan`: builds fuzz/tsan/threads_tsan.cc with ThreadSanitizer (gcc) against
# the calibration histogram, HistogramAdd and the sim, into build-fuzz/tsan/, and runs it on
# a few seed models. A data race is reported by TSan and fails the run (halt_on_error).
# Then the N-API side (scripts/test-tsan-addon.sh): the addon built with TSan into build-tsan/,
# and the threading vitest suites against it (the calibration pool, the thread-safe-function
# completions, AsyncWorkers, the JS calibrator). Arguments go to that vitest run.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build-fuzz/tsan
mkdir -p "$out"
sources=($(node -p "require('./scripts/sim-sources.cjs').join(' ')") native/backend/types.cc native/calibration/*.cc \
  native/binding/histogram_add.cc fuzz/tsan/threads_tsan.cc)
if [ ! -x "$out/threads_tsan" ] || [ -n "$(find native fuzz/tsan -newer "$out/threads_tsan" -print -quit)" ]; then
  echo "test:tsan: building $out/threads_tsan (a few minutes)"
  # Each source compiled separately so JOBS cores share the work.
  printf '%s\n' "${sources[@]}" | xargs -P "${JOBS:-2}" -I{} sh -c \
    'g++ -std=c++17 -O1 -g -fsanitize=thread -DTNRT_SIM_NO_CPU_CLONES -Inative -c "$1" -o "$2/$(echo "$1" | tr / _).o"' _ {} "$out"
  g++ -fsanitize=thread "$out"/*.o -lpthread -o "$out/threads_tsan"
fi
# TNRT_SIM_NO_CPU_CLONES (gemm_core.h): no ifunc multiversioning, whose resolvers would run
# instrumented before the TSan runtime starts.
# second_deadlock_stack: both stacks of a lock-order inversion, not one.
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" "$out/threads_tsan" fuzz/corpus/onnx/conv.onnx fuzz/corpus/onnx/mlp.onnx fuzz/corpus/onnx/shapes.onnx \
  fuzz/corpus/onnx/loops.onnx
echo "test:tsan: standalone harness passed"
bash scripts/test-tsan-addon.sh "$@"
