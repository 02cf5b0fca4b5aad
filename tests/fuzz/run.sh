#!/usr/bin/env bash
# Builds the libFuzzer target tests/fuzz/request_fuzz.cpp in its own clang tree and runs it.
#   tests/fuzz/run.sh [SECONDS]     default 60 (ctest's fuzz_smoke uses 30)
# Environment: MVI_FUZZ_BUILD_DIR (default <repo>/build-fuzz), MVI_FUZZ_JOBS (parallel build jobs, default 2).
# The seeds in tests/fuzz/corpus/ are read, never written: new inputs go to $MVI_FUZZ_BUILD_DIR/corpus, and a crash
# leaves its input in $MVI_FUZZ_BUILD_DIR/artifacts/ (reproduce: build-fuzz/tests/fuzz/request_fuzz FILE).
# Exit status: 0 when the run ended without a finding, non-zero otherwise (or when the build fails).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
RUN_SECONDS="${1:-60}"
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
cmake --build "$BUILD" --target request_fuzz -- -j "$JOBS"
echo "fuzz: build took $(( $(date +%s) - started )) s"

mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
"$BUILD/tests/fuzz/request_fuzz" \
  -max_total_time="$RUN_SECONDS" \
  -max_len=24576 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  -dict="$REPO/tests/fuzz/http.dict" \
  -artifact_prefix="$BUILD/artifacts/" \
  "$BUILD/corpus" "$REPO/tests/fuzz/corpus"
echo "fuzz: no finding in ${RUN_SECONDS} s"
