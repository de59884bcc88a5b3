#!/bin/bash
# Prints docs/fidelity.md's count tables: every registered spec suite on every emulated version,
# run by spec_runner against a fresh mongosim with the skip file, as a Markdown table per group.
#   tests/spec/fidelity_report.sh [BUILD_DIR] [VERSIONS...]   (default: build 4.4 5.0 6.0 7.0 8.0)
# "skipped" counts both tests whose runOnRequirements exclude that version and skip-file
# entries (the latter are also given separately as "listed").
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(4.4 5.0 6.0 7.0 8.0)
runner=$build/bin/spec_runner
if [ ! -x "$runner" ]; then
  echo "no spec_runner at $runner (build the spec_runner target first)" >&2
  exit 2
fi
report() {  # title, then MODE:SUITE pairs
  local title=$1
  shift
  echo "### $title"
  echo
  printf '| suite |'
  for v in "${versions[@]}"; do printf ' %s |' "$v"; done
  printf '\n|---|'
  for v in "${versions[@]}"; do printf -- '---|'; done
  printf '\n'
  for ms in "$@"; do
    mode=${ms%%:*}
    s=${ms#*:}
    printf '| %s |' "$s"
    for v in "${versions[@]}"; do
      out=$("$runner" --suite "$s" --mode "$mode" --server-version "$v" --skips "$here/skips.txt" --quiet 2>/dev/null)
      last=$(printf '%s\n' "$out" | tail -1)
      listed=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) listed in the skip file.*/\1/p' | tail -1)
      p=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1/p')
      f=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\2/p')
      k=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\3/p')
      if [ -z "$p" ]; then printf ' error |'; else printf ' %s / %s / %s (%s listed) |' "$p" "$f" "$k" "${listed:-0}"; fi
    done
    printf '\n'
  done
  echo
}
echo "Cells: passed / failed / skipped (of which listed in tests/spec/skips.txt)."
echo
report "Issue 3 suites: CRUD, catalog, indexes and the runner's self-checks" pass:crud/unified \
  pass:collection-management pass:index-management pass:unified-format-valid-pass fail:unified-format-valid-fail \
  invalid:unified-format-invalid
report "Issue 4 suites: replication surface" pass:change-streams/unified pass:transactions/unified \
  pass:retryable-writes/unified pass:retryable-reads/unified pass:sessions pass:command-monitoring
echo "### Skip file entries by suite and reason"
echo
echo "| entries | suite | reason |"
echo "|---:|---|---|"
grep -v '^#' "$here/skips.txt" | grep -v '^$' | sed 's|^\([^/]*\)/.* # \(.*\)$|\1\t\2|' | sort | uniq -c | sort -rn |
  sed 's/^ *\([0-9]*\) \([^\t]*\)\t\(.*\)$/| \1 | \2 | \3 |/'
