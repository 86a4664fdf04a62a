#!/usr/bin/env bash
# Builds the addon with -fsanitize=thread into build-tsan/ (a staging folder whose sources are
# symlinks to the checkout, like test:sanitize's build-sanitize/; never build/), when it is
# missing or older than the sources, and prints its path on the last line. Shared by
# `npm run test:tsan` (scripts/test-tsan-addon.sh) and `test:tensorrt-double --sanitize=thread`,
# which both need the binding instrumented: uninstrumented, its mutexes, atomics and
# shared_ptr hand-offs are invisible to TSan, which then reports the code they order (ours in
# the adapter and the TensorRT double) as racing.
# Usage: scripts/build-tsan-addon.sh   (JOBS=n for the build, default 2; progress on stderr)
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
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp scripts/build-tsan-addon.sh -newer "$addon" -print -quit)" ]; then
  echo "build-tsan-addon: building the TSan addon into $stage/build (several minutes on 2 cores)" >&2
  start=$SECONDS
  # configure + build, not rebuild: the source list is read again (binding.gyp globs the
  # folders), and make recompiles only what changed since the last run (it follows headers).
  # -Bsymbolic-functions: the addon calls its own instrumented copies of inline library code
  # (shared_ptr's reference counting above all), not node's uninstrumented ones, which the
  # dynamic linker would otherwise prefer; through node's copies TSan misses the atomics that
  # order an object's last use on one thread before its destruction on another.
  (cd "$stage" && export CC=gcc CXX=g++ CFLAGS="$tsan" CXXFLAGS="$tsan" LDFLAGS="-fsanitize=thread -Wl,-Bsymbolic-functions" \
    JOBS=${JOBS:-2} && { node_gyp configure && node_gyp build; } >"$root/build-tsan/build.log" 2>&1) ||
    { tail -40 build-tsan/build.log >&2; echo "build-tsan-addon: the TSan addon build failed (log: build-tsan/build.log)" >&2; exit 1; }
  echo "build-tsan-addon: addon built in $((SECONDS - start)) s" >&2
fi
echo "$addon"
