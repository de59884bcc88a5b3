#!/bin/bash
# Runs mongosh_check.js with mongosh ($1) against MONGOSIM_URI (see run_with_mongosim.sh);
# reports the check as skipped (77) when mongosh is not installed.
set -u
mongosh=$1
if [ ! -x "$mongosh" ]; then
  echo "SKIPPED: mongosh is not installed at $mongosh (scripts/setup.sh installs it from npm)"
  exit 77
fi
exec "$mongosh" "$MONGOSIM_URI" --quiet --norc --file "$(dirname "$0")/mongosh_check.js"
