#!/usr/bin/env bash
# Builds the native libFuzzer targets (fuzz/native/*_fuzzer.cc) with clang, libFuzzer, ASan
# and UBSan into build-fuzz/. The sim, the backend helpers and the histogram code have no
# N-API dependency, so the targets link them directly; the N-API binding is not built here.
# Objects are rebuilt when their source, or any header, is newer.
# Usage: fuzz/native/build.sh            (JOBS=n to set parallelism, default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."

CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz/native/build.sh: $CXX not found; install clang and libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
OUT=build-fuzz
JOBS=${JOBS:-2}
# -O1 keeps the fuzzers fast enough while stack traces stay readable; UBSan traps nothing
# silently: -fno-sanitize-recover makes every report a crash libFuzzer saves.
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -Inative -Ifuzz/native)

library_sources=($(node -p "require('./scripts/sim-sources.cjs').join(' ')") native/backend/types.cc native/calibration/*.cc fuzz/native/sim_pipeline.cc)
mkdir -p "$OUT/obj"

object_of() { echo "$OUT/obj/$(echo "$1" | tr '/' '_' | sed 's/\.cc$/.o/')"; }

# Compile what is out of date, JOBS at a time; -fsanitize=fuzzer-no-link instruments for
# coverage without pulling in libFuzzer's main() (that comes at link time).
# A header newer than an object makes it stale too: objects compiled against two layouts of one
# class link without complaint and crash as wild jumps in destructors (false findings).
newest_header=$(ls -t native/sim/*.h native/sim/kernels/*.h native/backend/*.h native/calibration/*.h fuzz/native/*.h 2>/dev/null | head -1)
stale=()
for src in "${library_sources[@]}"; do
  obj=$(object_of "$src")
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then stale+=("$src"); fi
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "fuzz/native/build.sh: compiling ${#stale[@]} source(s) with $CXX"
  printf '%s\n' "${stale[@]}" | xargs -P "$JOBS" -I{} sh -c \
    "$CXX ${FLAGS[*]} -fsanitize=fuzzer-no-link -c {} -o \"$OUT/obj/\$(echo {} | tr '/' '_' | sed 's/\\.cc\$/.o/')\""
fi

objects=()
for src in "${library_sources[@]}"; do objects+=("$(object_of "$src")"); done
for target in fuzz/native/*_fuzzer.cc; do
  name=$(basename "$target" .cc)
  if [ ! -f "$OUT/$name" ] || [ "$target" -nt "$OUT/$name" ] || [ ${#stale[@]} -gt 0 ]; then
    "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$target" "${objects[@]}" -ldl -lpthread -o "$OUT/$name"
    echo "fuzz/native/build.sh: built $OUT/$name"
  fi
done
