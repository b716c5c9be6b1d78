# shellcheck shell=bash disable=SC2154,SC2034  # the caller's variables, and those given to it
# bench/lib.sh: what the shape benchmarks (cluster.sh, follow.sh, repair.sh) share, sourced by
# them: messages, the pgsluice binary, a work directory with a source and a target cluster,
# stopped and removed at the end whatever happens.
#
# Before sourcing: bench_name (the script's path, for messages), repo (the checkout), keep (1: leave the
# clusters running and the directory in place). bench_start then gives pgsluice, bindir, compare,
# work, logs, src_dir, dst_dir and src_conn, dst_conn, psql_src, psql_dst (unaligned, tuples only).
# A script with something of its own to stop at the end defines bench_stop_extra.

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$bench_name" "$*" >&2; exit 2; }
now() { date +%s.%N; }

bench_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if declare -F bench_stop_extra >/dev/null; then bench_stop_extra || true; fi
  if [ "$keep" = 1 ]; then
    echo "$bench_name: kept $work; the clusters still run" >&2
  else
    pgcluster_stop "$dst_dir" >/dev/null 2>&1 || true
    pgcluster_stop "$src_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$status"
}

# bench_start SRC_PORT DST_PORT SRC_SETTINGS DST_SETTINGS: installs what is needed, builds pgsluice
# (unless $PGSLUICE names a binary), starts both clusters (durable, sized for the machine, with the
# settings given) in a new temporary directory.
bench_start() {
  local pgsluice_src base_conf
  say "installing what the benchmark needs (tools/deps.sh bench)"
  "$repo/tools/deps.sh" bench >/dev/null || die "tools/deps.sh bench failed"
  if [ -n "${PGSLUICE:-}" ]; then
    pgsluice_src=$PGSLUICE
  else
    say "building pgsluice (RelWithDebInfo) in build-bench/"
    cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSLUICE_TESTS=OFF >/dev/null \
      || die "cmake could not configure build-bench/"
    cmake --build "$repo/build-bench" -j "$(nproc)" >/dev/null || die "the build of pgsluice failed"
    pgsluice_src=$repo/build-bench/pgsluice
  fi
  # shellcheck disable=SC1091  # tools/pgcluster.sh, found at run time
  . "$repo/tools/pgcluster.sh"
  bindir=$(pgcluster_bindir) || die "no PostgreSQL server binaries"
  compare=$repo/tests/integration/compare.sh
  work=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-bench-$(basename "$bench_name" .sh).XXXXXX") || die "no temporary directory"
  chmod 0711 "$work"
  src_dir=$work/source dst_dir=$work/target src_port=$1 dst_port=$2
  logs=$work/logs
  mkdir -p "$logs"
  trap bench_cleanup EXIT
  trap 'echo "$bench_name: interrupted" >&2; exit 130' INT
  trap 'echo "$bench_name: terminated" >&2; exit 143' TERM
  pgsluice=$work/pgsluice
  cp "$pgsluice_src" "$pgsluice"

  say "starting the source and the target cluster in $work"
  base_conf="shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=30min maintenance_work_mem=512MB synchronous_commit=on fsync=on"
  PGCLUSTER_DEFAULTS=0 PGCLUSTER_CONF="$base_conf $3" pgcluster_start "$src_dir" "$src_port" >"$logs/start.log" 2>&1 \
    || die "the source cluster did not start"
  PGCLUSTER_DEFAULTS=0 PGCLUSTER_CONF="$base_conf $4" pgcluster_start "$dst_dir" "$dst_port" >>"$logs/start.log" 2>&1 \
    || die "the target cluster did not start"
}

src_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$src_dir" "$src_port" "$1"; }
dst_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$dst_dir" "$dst_port" "$1"; }
psql_src() { local db=$1; shift; "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(src_conn "$db")" "$@"; }
psql_dst() { local db=$1; shift; "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(dst_conn "$db")" "$@"; }
