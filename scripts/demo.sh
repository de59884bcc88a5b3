#!/usr/bin/env bash
# The main command. Today: builds mongosim, starts it on a free port, and shows real clients
# (pymongo, mongosh) using it. As the migration lands, this becomes the whole journey: two
# mongosims, data, live writes, copy, catch-up, cut-over, equal.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target mongosim mongoshift incr_bench copy_bench

work="$(mktemp -d /tmp/mongoshift-demo-XXXXXX)"
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  for p in ${sim_pids:-}; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/db"
coproc SIM { exec ./build/bin/mongosim --port 0 --dbpath "$work/db" 2>"$work/mongosim.log"; }
sim_pid=$SIM_PID
read -r first_line <&"${SIM[0]}"
echo "$first_line"
hostport="${first_line#mongosim listening on }"
uri="mongodb://$hostport/?replicaSet=rs0"
echo "== pymongo against $uri"
/usr/bin/python3 scripts/demo_client.py "$uri"
if [ -x .tools/node_modules/.bin/mongosh ]; then
  echo "== mongosh against $uri"
  .tools/node_modules/.bin/mongosh --quiet "$uri" --eval '
    const d = db.getSiblingDB("demo");
    print("collections:", JSON.stringify(d.getCollectionNames()));
    print("orders by status:", JSON.stringify(d.orders.aggregate([{$group: {_id: "$status", n: {$sum: 1}}}, {$sort: {_id: 1}}]).toArray()));
    print("indexes:", JSON.stringify(d.orders.getIndexes().map(i => i.name)));
    print("server:", db.version(), "primary:", db.hello().isWritablePrimary);'
else
  echo "== mongosh not installed (scripts/setup.sh installs it from npm); skipped"
fi
# The full copy: generated data, `mongoshift run` with its live progress, an equality check.
bash scripts/demo_copy.sh
# The migration journey: two mongosims, data, live writes during the copy, catch-up,
# "not delayed", cut-over with `mongoshift stop`, and a byte-for-byte comparison.
source scripts/demo_lib.sh
echo "== migration: two mongosims"
start_sim source
start_sim target
echo "source $source_uri, destination $target_uri"
./build/bin/incr_bench --load "$source_uri" --db shop --rate 20000 --seconds 3
cat >"$work/task.yaml" <<EOF
name: demo-migration
source:
  uri: $source_uri
destination:
  uri: $target_uri
objects:
  include: [shop]
incremental:
  checkpoint_seconds: 1
EOF
ms() { ./build/bin/mongoshift --state-dir "$work/state" "$@"; }
echo "== live writes on the source during the copy and after it"
./build/bin/incr_bench --load "$source_uri" --db shop --rate 2000 --seconds 8 &
writer=$!
echo "== mongoshift run (precheck, schema, full copy, incremental)"
ms run --task "$work/task.yaml" --json >"$work/run.log" 2>&1 &
run_pid=$!
sim_pids="$sim_pids $run_pid"
wait "$writer"
echo "== writes stopped; waiting for the incremental phase to catch up"
detail=""
for _ in $(seq 120); do
  detail="$(ms status --task "$work/task.yaml" --json 2>/dev/null | grep -o '"detail": *"[^"]*"' | head -1 || true)"
  case "$detail" in *"not delayed"*) break ;; esac
  sleep 1
done
echo "mongoshift status: ${detail:-unknown}"
echo "== cut-over: mongoshift stop"
ms stop --task "$work/task.yaml"
wait "$run_pid"
grep -o '"detail":"[^"]*stop writes[^"]*"' "$work/run.log" | head -1 || true
cat "$work"/state/reports/*-final.json
echo "== source and destination compared"
./build/bin/incr_bench --compare "$source_uri" "$target_uri" --db shop
echo "== demo done"
