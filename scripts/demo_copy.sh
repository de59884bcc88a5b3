#!/usr/bin/env bash
# The full-copy part of the demo: two mongosims, a generated data set (200,000 mixed
# ~500-byte documents, DEMO_DOCS to change it), `mongoshift run` of schema + full copy with its
# live progress display, `mongoshift status` afterwards, and a byte-for-byte comparison.
# Expects the binaries in build/bin (scripts/demo.sh builds them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
docs="${DEMO_DOCS:-200000}"
work="$(mktemp -d /tmp/mongoshift-copy-demo-XXXXXX)"
sim_pids=""
cleanup() {
  for p in $sim_pids; do kill "$p" 2>/dev/null || true; done
  for p in $sim_pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source scripts/demo_lib.sh
echo "== full copy: two mongosims, $docs generated documents"
start_sim copysrc
start_sim copydst
./build/bin/copy_bench --generate "$copysrc_uri" --docs "$docs"
cat >"$work/task.yaml" <<YAML
name: demo-full-copy
source:
  uri: $copysrc_uri
destination:
  uri: $copydst_uri
migration_types: [schema, full]
objects:
  include: [bench]
YAML
ms() { ./build/bin/mongoshift --state-dir "$work/state" "$@"; }
ms precheck --task "$work/task.yaml" --ignore-warning source.writes_during_copy >/dev/null || true
echo "== mongoshift run (live progress)"
if [ -t 1 ]; then
  ms run --task "$work/task.yaml"
else
  ms run --task "$work/task.yaml" | tail -n 3
fi
echo "== mongoshift status"
ms status --task "$work/task.yaml"
echo "== source and destination compared"
./build/bin/incr_bench --compare "$copysrc_uri" "$copydst_uri" --db bench
