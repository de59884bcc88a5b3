#!/usr/bin/env bash
# The main command. Today: builds mongosim, starts it on a free port, and shows real clients
# (pymongo, mongosh) using it. As the migration lands, this becomes the whole journey: two
# mongosims, data, live writes, copy, catch-up, cut-over, equal.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target mongosim

work="$(mktemp -d /tmp/mongoshift-demo-XXXXXX)"
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
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
echo "== demo done"
