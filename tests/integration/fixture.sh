#!/usr/bin/env bash
# fixture.sh: the clusters of the integration suite, as ctest's fixture it_clusters has them.
#
#   fixture.sh setup ENV_FILE PGSLUICE_BINARY SOURCE_PORT   (test it_setup)
#     starts a source (SOURCE_PORT) and a target (SOURCE_PORT + 1) cluster in a new temporary
#     directory, loads sample.sql into database src of the source, and writes ENV_FILE: the
#     directories, ports and binary that case.sh runs each case with. The logs go into the
#     directory "logs" beside ENV_FILE. Clusters of an earlier run that ENV_FILE still names
#     (one that was killed before its cleanup) are stopped first.
#   fixture.sh cleanup ENV_FILE                               (test it_cleanup)
#     ends what the cases left running, stops the clusters, those the cases started too, and
#     removes the temporary directory (PGSLUICE_IT_KEEP=1 keeps it) and ENV_FILE.
#
# ctest runs the cleanup after the last case however the cases ended: failed, or timed out.
set -uo pipefail

here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh" || exit 2

cleanup() {  # cleanup ENV_FILE
  [ -f "$1" ] || return 0
  # shellcheck disable=SC1090  # written by the setup
  . "$1" || return 1
  it_stop
  rm -f "$1"
}

case "${1:-} $#" in
  "setup 4")
    env_file=$2
    cleanup "$env_file"
    mkdir -p "$(dirname "$env_file")" || exit 2
    it_init "$3" "$4" "$(($4 + 1))" "$(dirname "$env_file")/logs" || exit 2
    # written first: a setup that fails half-way leaves the cleanup what to stop
    it_env_write "$env_file" || exit 2
    it_start
    ;;
  "cleanup 2")
    cleanup "$2"
    ;;
  *)
    echo "usage: fixture.sh setup ENV_FILE PGSLUICE_BINARY SOURCE_PORT | cleanup ENV_FILE" >&2
    exit 2
    ;;
esac
