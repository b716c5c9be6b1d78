#!/usr/bin/env bash
# case.sh ENV_FILE CASE_FILE: one case of the integration suite, as ctest runs it (test
# it_NN_name), against the clusters that fixture.sh setup started and described in ENV_FILE.
#
# Prints "ok N - NN_name: title (seconds)", or "not ok ..." with the tail of the case's log
# (PGSLUICE_IT_TAIL lines, default 40; the whole log is LOGDIR/NN_name.log, beside ENV_FILE),
# and exits with the case's status. A case that runs past its "# timeout:" is ended and fails;
# so does one whose case.sh is interrupted or terminated. Either way its processes are ended, and
# the clusters it started stopped. See lib.sh for how to write a case.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: case.sh ENV_FILE CASE_FILE" >&2
  exit 2
fi
here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh" || exit 2
if [ ! -f "$1" ]; then
  echo "case.sh: no \"$1\": the clusters are not up (ctest's it_setup starts them)" >&2
  exit 2
fi
# shellcheck disable=SC1090  # written by fixture.sh setup
. "$1" || exit 2

trap '[ -z "$case_pid" ] || it_case_end' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
it_run_case "$2"
