#!/usr/bin/env bash
# demo.sh: pgsluice in one command, on two throwaway clusters.
#
# Starts a source and a target PostgreSQL cluster in a temporary directory (Unix sockets only,
# no TCP), fills database "demo" on the source with pgbench's tables (scale 5) and with
# tests/integration/sample.sql (every type, key shape and table kind pgsluice must copy),
# creates an empty "demo" on the target, clones it with `pgsluice clone --jobs 2`, then proves
# the copy identical with tests/integration/compare.sh, which reads both databases in plain SQL.
# The clusters are stopped and the directory removed on exit, even on failure.
#
# Usage: tools/demo.sh     (installs the build dependencies and builds build/pgsluice first)
# Environment: PGSLUICE (a pgsluice binary to use instead of building one), DEMO_SCALE (pgbench
# scale, default 5),
# DEMO_JOBS (default 2), DEMO_KEEP=1 keeps the directory and leaves the clusters running.
set -euo pipefail

repo=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
pgsluice=${PGSLUICE:-$repo/build/pgsluice}
scale=${DEMO_SCALE:-5}
jobs=${DEMO_JOBS:-2}

if [ -z "${PGSLUICE:-}" ]; then
  echo "== installing build dependencies and building $pgsluice"
  "$repo/tools/deps.sh" build
  cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSLUICE_TESTS=OFF >/dev/null
  cmake --build "$repo/build" -j "$(nproc)" >/dev/null
fi
if [ ! -x "$pgsluice" ]; then
  echo "demo: no pgsluice binary at \"$pgsluice\"" >&2
  exit 2
fi

# shellcheck disable=SC1091  # tools/pgcluster.sh, beside this script
. "$repo/tools/pgcluster.sh"
bindir=$(pgcluster_bindir)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-demo.XXXXXX")
chmod 0711 "$tmp"            # the cluster owner (postgres, when run as root) must reach it
src_dir=$tmp/source
dst_dir=$tmp/target
src_port=55432
dst_port=55433

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo "demo: kept $tmp; the clusters still run: tools/pgcluster.sh stop $src_dir; tools/pgcluster.sh stop $dst_dir" >&2
  else
    pgcluster_stop "$src_dir" >/dev/null 2>&1 || true
    pgcluster_stop "$dst_dir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }
seconds() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

step "starting a source and a target cluster in $tmp"
pgcluster_start "$src_dir" "$src_port"
pgcluster_start "$dst_dir" "$dst_port"
src=$(pgcluster_conninfo "$src_dir" "$src_port" demo)
dst=$(pgcluster_conninfo "$dst_dir" "$dst_port" demo)
echo "source: $src"
echo "target: $dst"

step "loading the source database: pgbench -i -s $scale, then tests/integration/sample.sql"
start=$(date +%s.%N)
"$bindir/createdb" -h "$src_dir" -p "$src_port" -U postgres demo
"$bindir/pgbench" -i -q -s "$scale" -h "$src_dir" -p "$src_port" -U postgres demo >"$tmp/load.log" 2>&1 \
  || { cat "$tmp/load.log" >&2; exit 1; }
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$src" -f "$repo/tests/integration/sample.sql" >>"$tmp/load.log" 2>&1 \
  || { tail -n 20 "$tmp/load.log" >&2; exit 1; }
"$bindir/psql" -X -A -t -d "$src" -c \
  "SELECT format('%s tables, %s in all, loaded in $(seconds "$start") s',
                 count(*) FILTER (WHERE c.relkind IN ('r', 'p')), pg_size_pretty(pg_database_size(current_database())))
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"

step "creating an empty target database"
"$bindir/createdb" -h "$dst_dir" -p "$dst_port" -U postgres demo

step "pgsluice clone --source ... --target ... --jobs $jobs"
"$pgsluice" clone --source "$src" --target "$dst" --jobs "$jobs"

step "proving the copy identical with tests/integration/compare.sh (plain SQL, no pgsluice)"
"$repo/tests/integration/compare.sh" "$src" "$dst"
