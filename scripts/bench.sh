#!/usr/bin/env bash
# Runs the benchmarks and writes their results to docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target mongosim mongosim_bench repl_bench mongoshift copy_bench
# Each bench exits 3 when a target is missed; run them all and exit with the last failure.
status=0
./build/bin/mongosim_bench --docs "${DOCS:-1000000}" --finds "${FINDS:-100000}" --write docs/benchmarks.md || status=$?
./build/bin/repl_bench --docs "${DOCS:-1000000}" --write docs/benchmarks.md || status=$?
./build/bin/copy_bench --docs "${COPY_DOCS:-2000000}" --write docs/benchmarks.md || status=$?
exit "$status"
