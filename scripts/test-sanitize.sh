#!/usr/bin/env bash
# `npm run test:sanitize`: the test suite and the fuzz regression corpus against an addon
# built with AddressSanitizer and UndefinedBehaviorSanitizer (gcc).
#
# The sanitizer build goes to build-sanitize/ (a staging folder whose sources are symlinks
# to the checkout), never to build/, and the tests load it through TENSORRT_NODE_ADDON
# (lib/native.ts). Node itself is not instrumented, so the sanitizer runtimes are preloaded.
# Usage: scripts/test-sanitize.sh [vitest args...]   (JOBS=n for the build, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

. scripts/sanitizer-stage.sh
stage=build-sanitize/src
make_stage "$stage"
# -O1 and frame pointers keep reports readable; CXXFLAGS/LDFLAGS are appended by gyp's
# Makefile after binding.gyp's own flags, so -O1 wins over its -O3.
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g"
addon="$root/$stage/build/Release/tensorrt_node.node"
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "test:sanitize: building the ASan+UBSan addon into $stage/build (takes a few minutes)"
  (cd "$stage" && CC=gcc CXX=g++ CFLAGS="$sanitize" CXXFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" \
    JOBS=${JOBS:-2} node_gyp rebuild >"$root/build-sanitize/build.log" 2>&1) ||
    { tail -40 build-sanitize/build.log; echo "test:sanitize: the sanitizer build failed (log: build-sanitize/build.log)" >&2; exit 1; }
fi

# detect_leaks=0: Node and V8 keep allocations to exit by design. abort_on_error: a report
# ends the process with a signal the runner sees. halt_on_error: UBSan stops at the first
# report instead of printing and carrying on.
export TENSORRT_NODE_ADDON="$addon"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:detect_odr_violation=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

status=0
echo "test:sanitize: vitest under ASan+UBSan"
# Excluded, each for a stated reason (see vitest.sanitize.config.ts).
node node_modules/vitest/vitest.mjs run --config vitest.sanitize.config.ts "$@" || status=1

echo "test:sanitize: fuzz regression corpus under ASan+UBSan"
node fuzz/node/main.mjs --replay --target pipeline,engine,calibration-cache,shape-spec || status=1

[ $status -eq 0 ] && echo "test:sanitize: passed" || echo "test:sanitize: FAILED (sanitizer reports, when any, are in the output above)" >&2
exit $status
