#!/bin/bash
# Runs a real client against a fresh mongosim:
#   run_with_mongosim.sh MONGOSIM [mongosim flags...] -- PROGRAM [args...]
# Starts MONGOSIM on port 0 with a temporary dbpath (unless MONGOSHIFT_TEST_URI names a server
# to use instead), runs PROGRAM with MONGOSIM_URI set, then stops mongosim with SIGTERM and
# requires it to exit 0. PROGRAM's exit status is returned (77 = skipped, for ctest); a missing
# PROGRAM is reported as skipped with that reason.
set -u
mongosim=$1
shift
flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  flags+=("$1")
  shift
done
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
  echo "usage: run_with_mongosim.sh MONGOSIM [flags...] -- PROGRAM [args...]" >&2
  exit 2
fi
if [ ! -x "$1" ]; then
  echo "SKIPPED: $1 is not installed${CLIENT_MISSING_HINT:+ ($CLIENT_MISSING_HINT)}"
  exit 77
fi

if [ -n "${MONGOSHIFT_TEST_URI:-}" ]; then
  MONGOSIM_URI=$MONGOSHIFT_TEST_URI "$@"
  exit $?
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mongosim-client-XXXXXX")
mkdir -p "$tmp/db" "$tmp/home"
mkfifo "$tmp/stdout"
"$mongosim" --port 0 --dbpath "$tmp/db" "${flags[@]}" >"$tmp/stdout" 2>"$tmp/mongosim.log" &
pid=$!
exec 3<"$tmp/stdout"
line=""
read -r -t 30 line <&3
exec 3<&-
prefix="mongosim listening on "
if [ "${line#"$prefix"}" = "$line" ]; then
  echo "mongosim did not start (first line '$line'):" >&2
  cat "$tmp/mongosim.log" >&2
  kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
  exit 1
fi
host_port=${line#"$prefix"}
# Clients keep their state (mongosh's config and history) in the temporary home.
HOME="$tmp/home" MONGOSIM_URI="mongodb://$host_port/?replicaSet=rs0" "$@"
status=$?
kill -TERM "$pid"
wait "$pid"
ms_status=$?
if [ $ms_status -ne 0 ]; then
  echo "mongosim exited with status $ms_status after the client; its log:" >&2
  tail -50 "$tmp/mongosim.log" >&2
  [ $status -eq 0 ] && status=1
fi
if [ $status -ne 0 ] && [ $status -ne 77 ]; then
  echo "--- mongosim log (tail) ---" >&2
  tail -30 "$tmp/mongosim.log" >&2
fi
rm -rf "$tmp"
exit $status
