#!/usr/bin/env bash
# Second half of `npm run test:tsan`: the N-API side's threads under ThreadSanitizer. Builds
# the addon with -fsanitize=thread into build-tsan/ (a staging folder whose sources are
# symlinks to the checkout, like test:sanitize's build-sanitize/; never build/) and runs the
# threading suites (vitest.tsan.config.ts) against it through TENSORRT_NODE_ADDON, with the
# TSan runtime preloaded into an uninstrumented node (as test:tensorrt-double --sanitize=thread).
# Usage: scripts/test-tsan-addon.sh [vitest args...]   (JOBS=n for the build, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

. scripts/sanitizer-stage.sh
stage=build-tsan/src
make_stage "$stage"
# -O1 -g: readable reports; gyp appends CXXFLAGS after binding.gyp's -O3, so -O1 wins.
# TNRT_SIM_NO_CPU_CLONES (gemm_core.h): no ifunc multiversioning, whose resolvers would run
# instrumented code before the (preloaded) TSan runtime has started.
tsan="-fsanitize=thread -fno-omit-frame-pointer -O1 -g -DTNRT_SIM_NO_CPU_CLONES"
addon="$root/$stage/build/Release/tensorrt_node.node"
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp scripts/test-tsan-addon.sh -newer "$addon" -print -quit)" ]; then
  echo "test:tsan: building the TSan addon into $stage/build (several minutes on 2 cores)"
  start=$SECONDS
  # configure + build, not rebuild: the source list is read again (binding.gyp globs the
  # folders), and make recompiles only what changed since the last run (it follows headers).
  # -Bsymbolic-functions: the addon calls its own instrumented copies of inline library code
  # (shared_ptr's reference counting above all), not node's uninstrumented ones, which the
  # dynamic linker would otherwise prefer; through node's copies TSan misses the atomics that
  # order an object's last use on one thread before its destruction on another.
  (cd "$stage" && export CC=gcc CXX=g++ CFLAGS="$tsan" CXXFLAGS="$tsan" LDFLAGS="-fsanitize=thread -Wl,-Bsymbolic-functions" \
    JOBS=${JOBS:-2} && { node_gyp configure && node_gyp build; } >"$root/build-tsan/build.log" 2>&1) ||
    { tail -40 build-tsan/build.log; echo "test:tsan: the TSan addon build failed (log: build-tsan/build.log)" >&2; exit 1; }
  echo "test:tsan: addon built in $((SECONDS - start)) s"
fi

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
