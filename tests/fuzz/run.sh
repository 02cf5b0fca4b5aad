#!/usr/bin/env bash
# Builds a libFuzzer target of tests/fuzz in its own clang tree and runs it.
#   tests/fuzz/run.sh [SECONDS] [TARGET]     default 60 s and request_fuzz (the HTTP request path);
#                                            build_fuzz: validate + build with the embedded interpreter
# ctest runs each for 30 s (fuzz_smoke, fuzz_build_smoke).
# Environment: MVI_FUZZ_BUILD_DIR (default <repo>/build-fuzz), MVI_FUZZ_JOBS (parallel build jobs, default 2).
# The seeds in tests/fuzz/corpus/ are read, never written: new inputs go to $MVI_FUZZ_BUILD_DIR/corpus, and a crash
# leaves its input in $MVI_FUZZ_BUILD_DIR/artifacts/ (reproduce: build-fuzz/tests/fuzz/request_fuzz FILE).
# Exit status: 0 when the run ended without a finding, non-zero otherwise (or when the build fails).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
RUN_SECONDS="${1:-60}"
TARGET="${2:-request_fuzz}"
BUILD="${MVI_FUZZ_BUILD_DIR:-$REPO/build-fuzz}"
JOBS="${MVI_FUZZ_JOBS:-2}"

for tool in clang-14 clang++-14 cmake ninja; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done

started=$(date +%s)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$REPO" -B "$BUILD" -G Ninja \
    -DMVI_BUILD_FUZZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=/usr/bin/python3 >"$BUILD.configure.log" 2>&1 \
    || { cat "$BUILD.configure.log" >&2; exit 1; }
  mv "$BUILD.configure.log" "$BUILD/configure.log"
fi
cmake --build "$BUILD" --target "$TARGET" -- -j "$JOBS"
echo "fuzz: build took $(( $(date +%s) - started )) s"

CORPUS="$BUILD/corpus-$TARGET"
SEEDS=()
if [ "$TARGET" = request_fuzz ]; then SEEDS=("$REPO/tests/fuzz/corpus"); fi
mkdir -p "$CORPUS" "$BUILD/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ "$TARGET" = build_fuzz ]; then
  # The interpreter's own allocator hides its blocks from ASan; its leaks at exit are not ours.
  export PYTHONMALLOC=malloc
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$REPO/tests/fuzz/lsan.supp:print_suppressions=0}"
  export PYTHONDONTWRITEBYTECODE=1
fi
"$BUILD/tests/fuzz/$TARGET" \
  -max_total_time="$RUN_SECONDS" \
  -max_len=24576 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  $([ "$TARGET" = request_fuzz ] && echo "-dict=$REPO/tests/fuzz/http.dict") \
  $([ "$TARGET" = build_fuzz ] && echo "-len_control=0 -max_len=2048") \
  -artifact_prefix="$BUILD/artifacts/$TARGET-" \
  "$CORPUS" "${SEEDS[@]}"
echo "fuzz: no finding in ${RUN_SECONDS} s"
