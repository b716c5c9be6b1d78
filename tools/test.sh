#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (Debian packages), builds the
# normal and the sanitizer (ASan + UBSan) builds, and runs
#   - the unit tests (Criterion, no server) in both builds,
#   - the fuzz targets (libFuzzer, clang) for a short time each,
#   - the integration suite (throwaway clusters that ctest starts and stops) in both builds;
# and checks that a Release build with Debian's hardening flags builds cleanly.
# Usage: tools/test.sh [unit|fuzz|integration]...   (default: all of them)
# Environment: JOBS (parallel build jobs), FUZZ_SECONDS (per fuzz target, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(unit fuzz integration)
want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

tools/deps.sh test
jobs=${JOBS:-$(nproc)}

build() {  # build DIR CMAKE_ARGS...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSLUICE_TESTS=ON -DPGSLUICE_WERROR=ON "$@" \
    >"$dir.cmake.log" 2>&1 \
    || { cat "$dir.cmake.log" >&2; return 1; }
  cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || { cat "$dir.build.log" >&2; return 1; }
}

declare -a results=()
passed=0
failed=0
step() {  # step NAME COMMAND...: runs a test step and records it
  local name=$1; shift
  echo "== $name"
  if "$@"; then results+=("ok      $name"); passed=$((passed + 1))
  else results+=("FAILED  $name"); failed=$((failed + 1)); fi
}

mkdir -p build build-asan
build build
build build-asan -DPGSLUICE_SANITIZE=ON
# What a packager builds: Release (-O3), and Debian's hardening flags, warnings as errors here.
release_build() {
  rm -rf build-release && mkdir build-release &&
    CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -Wdate-time -D_FORTIFY_SOURCE=2" \
    LDFLAGS="-Wl,-z,relro -Wl,-z,now" build build-release -DCMAKE_BUILD_TYPE=Release -DPGSLUICE_TESTS=OFF
}
step "release build (Debian's flags)" release_build

if want unit; then
  step "unit tests" ctest --test-dir build -L unit --output-on-failure
  step "unit tests (sanitizers)" ctest --test-dir build-asan -L unit --output-on-failure
fi
if want fuzz; then
  mkdir -p build-fuzz
  if CC=clang build build-fuzz -DPGSLUICE_FUZZ=ON -DPGSLUICE_TESTS=OFF -DPGSLUICE_FUZZ_SECONDS="${FUZZ_SECONDS:-30}"; then
    # one fuzzer per core: each is a single thread
    step "fuzz targets" ctest --test-dir build-fuzz -L fuzz -j "$jobs" --output-on-failure
  else
    results+=("FAILED  fuzz build"); failed=$((failed + 1))
  fi
fi
if want integration; then
  # one ctest test per case (it_NN_...), against clusters started once per build (it_setup);
  # the two builds' clusters listen on ports of their own (PGSLUICE_IT_PORT)
  step "integration" ctest --test-dir build -L integration --output-on-failure
  step "integration (sanitizers)" env ASAN_OPTIONS=detect_leaks=1 \
    LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" ctest --test-dir build-asan -L integration --output-on-failure
fi

echo
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
