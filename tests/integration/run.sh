#!/usr/bin/env bash
# run.sh PGSLUICE_BINARY [CASE...]: the integration suite of pgsluice, by hand, against two
# throwaway clusters.
#
# ctest runs the same suite as one test per case (ctest --test-dir build -L integration, or
# one case: ctest --test-dir build -R it_04), the clusters started once by its fixture (see
# tests/CMakeLists.txt and fixture.sh). This script does the same in one process: it starts a
# source and a target cluster (tools/pgcluster.sh) in a temporary directory, loads
# tests/integration/sample.sql into database "src" of the source, runs the cases of cases/
# (all of them in the order of their numbers, or those named, in the order given), each with
# case.sh's runner from lib.sh, and stops the clusters on any exit.
#
# A CASE is a case's number (4 or 04) or the name of its file (04_data_only_..., with or
# without .sh); PGSLUICE_IT_CASES="4 7" names them too. Prints TAP-style "ok N - name" / "not
# ok N - name" lines, the tail of the log of each failing case, and at the end "N passed, M
# failed"; exits 1 if any case failed, 2 if the suite could not start. The temporary directory
# is removed on any exit (set PGSLUICE_IT_KEEP=1 to keep it and the logs).
#   tests/integration/run.sh build/pgsluice          all cases
#   tests/integration/run.sh build/pgsluice 4 07     cases 04 and 07
# PGSLUICE_IT_TIMEOUT limits each pgsluice run (seconds, default 180), PGSLUICE_IT_DEADLINE the
# whole suite (default 1200: the cases not begun by then fail), PGSLUICE_IT_PORT the source's
# port (default 54401; the target's is the next).
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: run.sh PGSLUICE_BINARY [CASE...]" >&2
  exit 2
fi
here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh" || exit 2
port=${PGSLUICE_IT_PORT:-54401}
it_init "$1" "$port" "$((port + 1))" || exit 2
shift

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -z "$case_pid" ] || it_case_end
  it_stop
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The cases to run, as files: all, or those named.
declare -a files=() wanted=()
read -r -a wanted <<<"${PGSLUICE_IT_CASES:-}" || true
wanted+=("$@")
if [ ${#wanted[@]} -eq 0 ]; then
  files=("$here"/cases/[0-9][0-9]_*.sh)
else
  for want in "${wanted[@]}"; do
    want=${want%.sh}
    case "$want" in
      [0-9]) want=0$want ;;
    esac
    match=""
    for file in "$here/cases/$want"_*.sh "$here/cases/$want.sh"; do
      [ -f "$file" ] && { match=$file; break; }
    done
    if [ -z "$match" ]; then
      echo "run.sh: no case \"$want\" in $here/cases" >&2
      exit 2
    fi
    files+=("$match")
  done
fi

suite_start=$(now)
deadline=${PGSLUICE_IT_DEADLINE:-1200}   # seconds
it_start || exit 2

number=0
passed=0
failed=0
for file in "${files[@]}"; do
  number=$((number + 1))
  if [ "$(awk -v a="$suite_start" -v b="$(now)" 'BEGIN { print int(b - a) }')" -ge "$deadline" ]; then
    failed=$((failed + 1))
    echo "not ok $number - $(basename "$file" .sh): $(sed -n '1s/^# *//p' "$file") (not run: the suite passed its ${deadline} s deadline)"
    continue
  fi
  if it_run_case "$file" "$number"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "1..$number"
echo "# total $(elapsed "$suite_start") s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
