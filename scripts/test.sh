#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, runs every test,
# then builds again under AddressSanitizer + UndefinedBehaviorSanitizer and runs every test
# once more. Exit status is non-zero when anything fails.
#   scripts/test.sh            # both builds
#   SKIP_SANITIZE=1 scripts/test.sh   # the plain build only (quick local loop)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh

jobs="${JOBS:-$(nproc)}"
run_suite() {
  local dir="$1"; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -G Ninja -DMONGOSHIFT_WERROR=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${SKIP_SANITIZE:-0}" != "1" ]; then
  # Sanitizer runs skip the benchmarks' build; ASAN_OPTIONS keep leak checks on.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMONGOSHIFT_SANITIZE=ON -DMONGOSHIFT_BENCH=OFF
fi
echo "== all tests passed"
