#!/usr/bin/env bash
# Second half of `npm run test:tsan`: the N-API side's threads under ThreadSanitizer. Builds
# the addon with -fsanitize=thread into build-tsan/ (scripts/build-tsan-addon.sh) and runs the
# threading suites (vitest.tsan.config.ts) against it through TENSORRT_NODE_ADDON, with the
# TSan runtime preloaded into an uninstrumented node (as test:tensorrt-double --sanitize=thread).
# Usage: scripts/test-tsan-addon.sh [vitest args...]   (JOBS=n for the build, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

addon=$(scripts/build-tsan-addon.sh | tail -1)

# ignore_noninstrumented_modules: free/memcpy/pthread_* called from node, V8, libuv or vitest's
# bundler are not recorded as memory accesses (their own ordering is by atomics TSan cannot
# see, so it reported their teardown and messaging as races), while their locks still order
# our accesses. Our code is instrumented and fully checked; what this gives up is node's own
# copies of memory our threads write.
# halt_on_error + exitcode: the first race ends the worker with status 66, which vitest reports
# as a failed file. Suppressions (fuzz/tsan/addon.supp) name only node, V8 and
# libuv functions, which are not instrumented; nothing of ours is suppressed.
# report_signal_unsafe=0: as test:tensorrt-double; node's own signal handlers are not ours to judge.
export TENSORRT_NODE_ADDON="$addon"
export LD_PRELOAD="$(gcc -print-file-name=libtsan.so)${LD_PRELOAD:+ $LD_PRELOAD}"
export TSAN_OPTIONS="ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=66:second_deadlock_stack=1:report_signal_unsafe=0:suppressions=$root/fuzz/tsan/addon.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

echo "test:tsan: threading suites under TSan (vitest.tsan.config.ts)"
start=$SECONDS
status=0
node node_modules/vitest/vitest.mjs run --config vitest.tsan.config.ts "$@" || status=1
echo "test:tsan: vitest under TSan took $((SECONDS - start)) s"
exit $status
