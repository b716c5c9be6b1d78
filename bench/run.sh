#!/usr/bin/env bash
# bench/run.sh: where pgsluice stands against its peers and against the floor.
#
# Starts a source and a target PostgreSQL cluster on this machine (tools/pgcluster.sh: Unix
# sockets in a temporary directory under /tmp, the same settings for both, durable: fsync and
# synchronous_commit on), generates a dataset in the source, then runs the contenders side by
# side, interleaved round after round (A B C D A B C D ...):
#
#   clone     pgsluice clone --jobs N
#             pgcopydb clone --table-jobs N --index-jobs N        (Debian package pgcopydb)
#             pg_dump -Fd -j N, then pg_restore -j N
#             the target-side floor: the target alone loading the same rows from binary files
#             on its own disk (N sessions of TRUNCATE + COPY FREEZE), then building the same
#             indexes (pg_restore --section=post-data -j N)
#   verify    pgsluice verify --jobs N                             (when pgsluice has it)
#             server-side hashing as pgcopydb's compare data does: count(*) and
#             sum(hashtext(row::text)) per table, N tables at a time per side, both sides at once
#             the read floor: every table read by its own server as COPY (FORMAT binary) to
#             /dev/null, N at a time per side, both sides at once
#
# Every clone goes into a fresh target database, which tests/integration/compare.sh (plain SQL,
# independent of pgsluice) then compares with the source, table by table (row count and digest)
# and sequence by sequence. A copy that differs, a verification contender that finds a
# difference between two identical databases, or a contender that exits with an error is
# reported at once, loudly, with its log; the run goes on, the report marks that contender
# DISQUALIFIED (no median, no ratio: a fast wrong copy can never win), and the harness exits
# with status 1. Performance targets that are missed are reported, not fatal.
#
# Modes (each is one invocation; give several to run them one after the other, scaling first):
#   (default)   the standard comparison on the standard dataset at --scale: pgbench's tables
#               plus wide, nopk, uuidt and skew (bench/sql/standard.sql); 1.3 GB at SCALE 30
#   --shapes    the same comparison on three shapes that each stress one thing: one very large
#               table, 10,000 small tables, large TOASTed values (bench/sql/shape_*.sql)
#   --scaling   pgsluice clone alone on the standard dataset at SCALE 10, 30 and 100 with
#               --jobs N, and at --scale with --jobs 1, 2 and 4
#   --rate      pgsluice clone alone on the standard dataset at --scale, with --max-rate
#               (--rate-cap, default 25MB) and without, round after round: each clone's COPY
#               bytes over its data phase, against the cap; then a clone that pgsluice throttle
#               pauses from another process: the bytes both servers' COPYs have moved 2 s and
#               7 s after the pause (equal: every row stopped within 2 s), then --resume
#
# Results: a table on stdout; bench/results/<time>-<what>.json (machine, versions, settings,
# every round, medians, ratios, targets) and a PNG beside it (gnuplot); latest.json and
# latest.png (latest-shapes.*, latest-scaling.*) are the newest of each mode.
#
# Usage: bench/run.sh [--scale 30] [--jobs 2] [--rounds 3] [--standard] [--shapes] [--scaling]
#                     [--scaling-scales "10 30 100"] [--scaling-jobs "1 2 4"]
#                     [--many-tables 10000] [--rate] [--rate-cap 25MB] [--keep]
# Environment: PGSLUICE (a pgsluice binary to use instead of building build-bench/pgsluice),
# BENCH_PG_CONF (more name=value server settings, for both clusters), BENCH_RESULTS (where the
# results go, default bench/results), TMPDIR (where the clusters live, default /tmp).
#
# Exit status: 0 the benchmark ran (whether or not the targets were met), 1 a copy differed or a
# contender failed (the report is still written), 2 bad usage or a setup failure.
set -euo pipefail

here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -P -- "$here/.." && pwd)

# ---------------------------------------------------------------------------------------------
# Options

scale=30
jobs=2
rounds=3
run_standard=0
run_shapes=0
run_scaling=0
run_rate=0
rate_cap=25MB
scaling_scales="10 30 100"
scaling_jobs="1 2 4"
keep=0
many_tables=10000
results_dir=${BENCH_RESULTS:-$here/results}
command_line="bench/run.sh${*:+ $*}"

usage() {
  sed -n '/^# Usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

is_count() { case "$1" in ''|*[!0-9]*) return 1 ;; *) [ "$1" -ge 1 ] ;; esac; }

while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=${2:-}; shift 2 || usage ;;
    --jobs|-j) jobs=${2:-}; shift 2 || usage ;;
    --rounds) rounds=${2:-}; shift 2 || usage ;;
    --standard) run_standard=1; shift ;;
    --shapes) run_shapes=1; shift ;;
    --scaling) run_scaling=1; shift ;;
    --rate) run_rate=1; shift ;;
    --rate-cap) rate_cap=${2:-}; shift 2 || usage ;;
    --scaling-scales) scaling_scales=${2:-}; shift 2 || usage ;;
    --scaling-jobs) scaling_jobs=${2:-}; shift 2 || usage ;;
    --many-tables) many_tables=${2:-}; shift 2 || usage ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "bench: unknown option \"$1\"" >&2; usage ;;
  esac
done
for value in "$scale" "$jobs" "$rounds" "$many_tables" $scaling_scales $scaling_jobs; do
  is_count "$value" || { echo "bench: \"$value\" is not a positive whole number" >&2; exit 2; }
done
case "$rate_cap" in
  [1-9]*MB|[1-9]*kB|[1-9]*GB) ;;
  *) echo "bench: --rate-cap \"$rate_cap\" is not a size such as 25MB" >&2; exit 2 ;;
esac
if [ $((run_standard + run_shapes + run_scaling + run_rate)) -eq 0 ]; then
  run_standard=1
fi

# The server settings of both clusters: durable (fsync, synchronous_commit, full_page_writes as
# PostgreSQL ships them), sized for a 24 GB machine, checkpoints spaced out so that one does not
# land by chance inside one contender's run (the harness checkpoints before every run instead).
# max_locks_per_transaction: pg_dump and pgsluice lock every table of the 10,000-table shape.
pg_conf="shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=30min maintenance_work_mem=512MB"
pg_conf+=" max_parallel_maintenance_workers=2 synchronous_commit=on fsync=on wal_level=replica"
pg_conf+=" max_locks_per_transaction=256"
pg_conf+="${BENCH_PG_CONF:+ $BENCH_PG_CONF}"

# ---------------------------------------------------------------------------------------------
# Output helpers

started_at=$(date +%s.%N)
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }

# show_log LOG: the last lines of a log, on stderr.
show_log() {
  if [ -n "${1:-}" ] && [ -s "$1" ]; then
    printf -- '--- last lines of %s:\n' "$1"
    tail -n 40 "$1"
    printf -- '---\n'
  fi
}

# fail WHAT LOG: the setup (a dataset, the floor's files) failed: say so, show the log, stop.
fail() {
  { printf '\nbench: error: %s\n' "$1"; show_log "${2:-}"; printf 'bench: stopping\n'; } >&2
  exit 2
}

# flag WHAT LOG: a contender failed, or its copy is not identical to the source: say so loudly
# and show the log. The run goes on, so that the report shows the other contenders too and
# marks this one DISQUALIFIED, and then exits with status 1.
failures=()
flag() {
  failures+=("$1")
  { printf '\nbench: FAILED: %s\n' "$1"; show_log "${2:-}"; printf '\n'; } >&2
}

# ---------------------------------------------------------------------------------------------
# Dependencies, the pgsluice binary, the clusters

say "installing what the benchmark needs (tools/deps.sh bench)"
"$repo/tools/deps.sh" bench || die "tools/deps.sh bench failed"
for tool in python3 gnuplot pgcopydb; do
  command -v "$tool" >/dev/null || die "\"$tool\" is missing after tools/deps.sh bench"
done

if [ -n "${PGSLUICE:-}" ]; then
  pgsluice_src=$PGSLUICE
else
  # A build directory of its own, so that the benchmark never reconfigures the developers'.
  say "building pgsluice (RelWithDebInfo) in build-bench/"
  cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSLUICE_TESTS=OFF \
    >/dev/null || die "cmake could not configure build-bench/"
  cmake --build "$repo/build-bench" -j "$(nproc)" >/dev/null || die "the build of pgsluice failed"
  pgsluice_src=$repo/build-bench/pgsluice
fi
[ -x "$pgsluice_src" ] || die "no pgsluice binary at \"$pgsluice_src\""

# shellcheck disable=SC1091  # tools/pgcluster.sh, found at run time
. "$repo/tools/pgcluster.sh"
bindir=$(pgcluster_bindir) || die "no PostgreSQL server binaries"
compare=$repo/tests/integration/compare.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-bench.XXXXXX") || die "could not make a temporary directory"
chmod 0711 "$work"           # the cluster owner (postgres, when run as root) must reach it
src_dir=$work/source
dst_dir=$work/target
src_port=55442
dst_port=55443
clk_tck=$(getconf CLK_TCK)   # /proc's CPU times are in these ticks
raw=$work/raw                # measurements, the report's input
logs=$work/logs
mkdir -p "$raw/json" "$raw/samples" "$logs"
sampler_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
  # Children still running (a contender interrupted by Ctrl-C) die with their clusters.
  if [ "$keep" = 1 ]; then
    echo "bench: kept $work; the clusters still run: tools/pgcluster.sh stop $src_dir; tools/pgcluster.sh stop $dst_dir" >&2
  else
    pgcluster_stop "$src_dir" >/dev/null 2>&1 || true
    pgcluster_stop "$dst_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

# One binary for the whole run, whatever happens to the build directory meanwhile.
pgsluice=$work/pgsluice
cp "$pgsluice_src" "$pgsluice"
# pgsluice verify joins the benchmark as soon as the binary has it.
verify_available=0
verify_json=0
if verify_help=$("$pgsluice" verify --help 2>&1); then
  verify_available=1
  case "$verify_help" in *--json*) verify_json=1 ;; esac
fi

compare_options=""
stack_kb=$(ulimit -s)
if [ "$stack_kb" = unlimited ] || { is_count "$stack_kb" && [ "$stack_kb" -ge 8192 ]; }; then
  compare_options="-c max_stack_depth=7MB"
fi

# The OS user that runs both servers, and so owns the floor's files.
if [ "$(id -u)" -eq 0 ]; then cluster_owner=${PGCLUSTER_USER:-postgres}; else cluster_owner=$(id -un); fi
floor_root=$work/floor
mkdir -p "$floor_root"
chown "$cluster_owner" "$floor_root" 2>/dev/null || true
chmod 0700 "$floor_root"

say "starting the source and the target cluster in $work"
export PGCLUSTER_DEFAULTS=0
export PGCLUSTER_CONF="$pg_conf"
pgcluster_start "$src_dir" "$src_port" || die "the source cluster did not start"
pgcluster_start "$dst_dir" "$dst_port" || die "the target cluster did not start"
unset PGCLUSTER_CONF PGCLUSTER_DEFAULTS

# Connection strings (libpq key=value for psql, pg_dump, pgsluice; URIs for pgcopydb).
src_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$src_dir" "$src_port" "$1"; }
dst_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$dst_dir" "$dst_port" "$1"; }
src_uri() { printf 'postgres:///%s?host=%s&port=%s&user=postgres' "$1" "$src_dir" "$src_port"; }
dst_uri() { printf 'postgres:///%s?host=%s&port=%s&user=postgres' "$1" "$dst_dir" "$dst_port"; }

# psql_src DB ARGS... / psql_dst DB ARGS...: psql with no .psqlrc, stopping at the first error.
psql_src() { local db=$1; shift; "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$(src_conn "$db")" "$@"; }
psql_dst() { local db=$1; shift; "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$(dst_conn "$db")" "$@"; }

# fresh_target DB: an empty target database of that name.
fresh_target() {
  psql_dst postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\"" \
    -c "CREATE DATABASE \"$1\"" >/dev/null
}
drop_target() {
  psql_dst postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
}

# settle: before every timed run, write out both servers' dirty buffers, so that no contender
# pays for the previous one's checkpoint.
settle() {
  psql_src postgres -c CHECKPOINT >/dev/null
  psql_dst postgres -c CHECKPOINT >/dev/null
  sync
}

# cluster_cpu DIR: the CPU seconds (user and system) the cluster in DIR has used so far: its
# postmaster's own, those of the children it has reaped (backends that ended: cutime, cstime)
# and those of its children still running. Fields after the command name of /proc/PID/stat, which
# may hold spaces: $12 utime, $13 stime, $14 cutime, $15 cstime.
cluster_cpu() {
  local pm
  pm=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) && [ -r "/proc/$pm/stat" ] || { echo 0; return; }
  { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null; done; } |
    awk -v hz="$clk_tck" '{ sub(/^.*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 }
                          END { printf "%.2f", t / hz }'
}

# cpu_mark before a timed run, cpu_read after it: cpu_used becomes "source=S,target=T", the CPU
# seconds both servers spent meanwhile, which record writes beside the run. The servers' CPU
# bounds what any client of theirs can do: on N cores no run is shorter than their sum over N.
cpu_used=-
cpu_mark() {
  cpu_src0=$(cluster_cpu "$src_dir")
  cpu_dst0=$(cluster_cpu "$dst_dir")
}
cpu_read() {
  sleep 0.2                                           # the ended backends reaped
  cpu_used=$(awk -v a="$cpu_src0" -v b="$(cluster_cpu "$src_dir")" -v c="$cpu_dst0" -v d="$(cluster_cpu "$dst_dir")" \
    'BEGIN { printf "source=%.2f,target=%.2f", b - a, d - c }')
}

# record DATASET SECTION CONTENDER JOBS ROUND SECONDS STATUS [PHASES] [JSON] [SAMPLES]: one line of
# runs.tsv, with the servers' CPU of the run (cpu_used) last.
# STATUS: ok; wrong (the copy or the verdict was wrong); failed (the contender exited with an
# error). Also sets last_status, which compare_dataset reads.
last_status=ok
record() {
  last_status=$7
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:--}" "${9:--}" \
    "${10:--}" "$cpu_used" >>"$raw/runs.tsv"
  cpu_used=-
}

# check_copy DATASET TARGETDB WHAT: compare.sh; sets copy_status to ok, or to wrong after
# flagging the copy.
copy_status=ok
check_copy() {
  local log=$logs/compare-$2.log
  # compare.sh reads all tables in one UNION ALL query, which 10,000 tables nest deeper than
  # the default max_stack_depth (2MB) allows; 7MB fits the usual 8 MB stack limit.
  if ! PGOPTIONS="${compare_options:-}" "$compare" "$(src_conn "$1")" "$(dst_conn "$2")" >"$log" 2>&1; then
    flag "$3: the copy in target database \"$2\" is NOT identical to the source \"$1\" (tests/integration/compare.sh: $(tail -n 1 "$log"))" "$log"
    copy_status=wrong
    return
  fi
  say "    identical: $(tail -n 1 "$log")"
  copy_status=ok
}

# wait_pids PID...: waits for every PID; returns 1 if any exited non-zero.
wait_pids() {
  local pid bad=0
  for pid in "$@"; do
    wait "$pid" || bad=1
  done
  return "$bad"
}

# ---------------------------------------------------------------------------------------------
# Datasets

# dataset_done DB KIND SCALE: VACUUM ANALYZE, then the dataset's facts for the report.
dataset_done() {
  local db=$1 kind=$2 at_scale=$3
  psql_src "$db" -c "VACUUM ANALYZE" >/dev/null
  psql_src "$db" -A -t -F $'\t' -c "
    SELECT '$db', '$kind', $at_scale, pg_database_size(current_database()),
           count(*), coalesce(sum(c.reltuples)::bigint, 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'" \
    >>"$raw/datasets.tsv"
}

# make_standard DB SCALE: pgbench's tables, then bench/sql/standard.sql.
make_standard() {
  local db=$1 at_scale=$2 t0
  t0=$(now)
  say "generating the standard dataset at SCALE $at_scale in source database \"$db\""
  psql_src postgres -c "CREATE DATABASE \"$db\"" >/dev/null
  "$bindir/pgbench" -i -q -s "$at_scale" "$(src_conn "$db")" >"$logs/gen-$db.log" 2>&1 \
    || fail "pgbench -i -s $at_scale" "$logs/gen-$db.log"
  psql_src "$db" -v scale="$at_scale" -f "$here/sql/standard.sql" >>"$logs/gen-$db.log" 2>&1 \
    || fail "bench/sql/standard.sql" "$logs/gen-$db.log"
  dataset_done "$db" standard "$at_scale"
  say "    $(awk -F '\t' -v db="$db" '$1 == db { printf "%.0f MB, %d tables", $4 / 1048576, $5 }' "$raw/datasets.tsv") in $(elapsed "$t0" "$(now)") s"
}

# make_shape DB SHAPE SCALE: one of bench/sql/shape_{big,many,toast}.sql.
make_shape() {
  local db=$1 shape=$2 at_scale=$3 t0
  t0=$(now)
  say "generating shape \"$shape\" at SCALE $at_scale in source database \"$db\""
  psql_src postgres -c "CREATE DATABASE \"$db\"" >/dev/null
  psql_src "$db" -v scale="$at_scale" -v tables="$many_tables" -f "$here/sql/shape_$shape.sql" \
    >"$logs/gen-$db.log" 2>&1 || fail "bench/sql/shape_$shape.sql" "$logs/gen-$db.log"
  dataset_done "$db" "$shape" "$at_scale"
  say "    $(awk -F '\t' -v db="$db" '$1 == db { printf "%.0f MB, %d tables", $4 / 1048576, $5 }' "$raw/datasets.tsv") in $(elapsed "$t0" "$(now)") s"
}

# list_tables DB: writes $work/tables-DB.tsv: heap+TOAST bytes, quoted name, floor file; the
# largest first. Every table with storage outside the system schemas, as pgsluice copies them.
list_tables() {
  local db=$1
  psql_src "$db" -A -t -F $'\t' -c "
    SELECT pg_table_size(c.oid), format('%I.%I', n.nspname, c.relname),
           '$floor_root/$db/' || lpad(row_number() OVER (ORDER BY c.oid)::text, 6, '0') || '.bin'
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relpersistence <> 't'
      AND n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'pgsluice')
    ORDER BY 1 DESC, 2" >"$work/tables-$db.tsv"
}

# split_tables DB N PREFIX: deals the tables out to N sessions, largest first, each to the
# session with the fewest bytes so far; writes PREFIX.0 .. PREFIX.N-1 (name and file per line).
split_tables() {
  local i
  for ((i = 0; i < $2; i++)); do : >"$3.$i"; done
  awk -F '\t' -v n="$2" -v out="$3" '
    { best = 0
      for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
      load[best] += $1 + 8192
      print $2 "\t" $3 > (out "." best) }' "$work/tables-$1.tsv"
}

# prepare_floor DB: the floor's inputs, made once before the rounds (not timed): every table
# of the source written by the source server as COPY (FORMAT binary) to a file that the target
# server can read, and a schema-only dump for pre-data and post-data.
prepare_floor() {
  local db=$1 t0 name file
  t0=$(now)
  say "writing the floor's files for \"$db\" (each table as COPY binary, and the schema)"
  mkdir -p "$floor_root/$db"
  chown "$cluster_owner" "$floor_root/$db" 2>/dev/null || true
  list_tables "$db"
  {
    echo '\set ON_ERROR_STOP 1'
    while IFS=$'\t' read -r _ name file; do
      printf "COPY %s TO '%s' (FORMAT binary);\n" "$name" "$file"
    done <"$work/tables-$db.tsv"
  } >"$work/floor-dump-$db.sql"
  psql_src "$db" -f "$work/floor-dump-$db.sql" >"$logs/floor-files-$db.log" 2>&1 \
    || fail "writing the floor's files" "$logs/floor-files-$db.log"
  "$bindir/pg_dump" -Fc --schema-only -f "$work/schema-$db.dump" -d "$(src_conn "$db")" \
    >>"$logs/floor-files-$db.log" 2>&1 || fail "pg_dump --schema-only" "$logs/floor-files-$db.log"
  say "    $(du -sm "$floor_root/$db" | cut -f1) MB of files in $(elapsed "$t0" "$(now)") s"
}

# ---------------------------------------------------------------------------------------------
# The throughput sampler: every 0.5 s, the target database's size and the bytes of the COPYs in
# flight on the target (pg_stat_progress_copy), from a psql of its own (\watch), so that
# pgsluice's throughput over a run can be drawn.

start_sampler() {  # start_sampler TARGETDB OUTFILE
  printf '%s\n\\watch 0.5\n' "SELECT extract(epoch FROM clock_timestamp())::numeric(16,3),
      coalesce((SELECT pg_database_size(oid) FROM pg_database WHERE datname = '$1'), 0),
      (SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy)" |
    "$bindir/psql" -X -q -A -t -F $'\t' -d "$(dst_conn postgres)" >"$2" 2>"$logs/sampler.log" &
  sampler_pid=$!
}

stop_sampler() {
  [ -n "$sampler_pid" ] || return 0
  kill -INT "$sampler_pid" 2>/dev/null || true      # psql ends \watch on SIGINT, then exits
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
}

# ---------------------------------------------------------------------------------------------
# Clone contenders. Each: CONTENDER DATASET ROUND JOBS TARGETDB; a fresh target database, a
# checkpoint, the timed run, the record, then the check against the source.

clone_pgsluice() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 status json=$raw/json/$1-pgsluice-j$3-r$2.json
  local samples=$raw/samples/$1-pgsluice-j$3-r$2.tsv log=$logs/$1-pgsluice-j$3-r$2.log
  fresh_target "$tgt"
  settle
  start_sampler "$tgt" "$samples"
  cpu_mark
  t0=$(now)
  if "$pgsluice" clone --source "$(src_conn "$db")" --target "$(dst_conn "$tgt")" --jobs "$n" \
       --json "$json" --progress-interval 0 -q >"$log" 2>&1; then
    t1=$(now)
    cpu_read
    stop_sampler
    say "    pgsluice clone: $(elapsed "$t0" "$t1") s"
    check_copy "$db" "$tgt" "pgsluice clone (round $round)"
    status=$copy_status
  else
    t1=$(now)
    cpu_read
    stop_sampler
    flag "pgsluice clone (round $round) exited with an error" "$log"
    status=failed
  fi
  record "$db" clone pgsluice "$n" "$round" "$(elapsed "$t0" "$t1")" "$status" - "$json" "$samples"
}

clone_pgcopydb() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 status dir=$work/pgcopydb log=$logs/$1-pgcopydb-r$2.log
  fresh_target "$tgt"
  rm -rf "$dir"
  settle
  cpu_mark
  t0=$(now)
  # pgcopydb runs pg_dump and pg_restore from PATH; its defaults otherwise (it ends with
  # VACUUM ANALYZE on the target: that is what its users get).
  if PATH=$bindir:$PATH pgcopydb clone --source "$(src_uri "$db")" --target "$(dst_uri "$tgt")" \
       --table-jobs "$n" --index-jobs "$n" --dir "$dir" >"$log" 2>&1; then
    t1=$(now)
    cpu_read
    say "    pgcopydb clone: $(elapsed "$t0" "$t1") s"
    check_copy "$db" "$tgt" "pgcopydb clone (round $round)"
    status=$copy_status
  else
    t1=$(now)
    cpu_read
    flag "pgcopydb clone (round $round) exited with an error" "$log"
    status=failed
  fi
  record "$db" clone pgcopydb "$n" "$round" "$(elapsed "$t0" "$t1")" "$status"
  rm -rf "$dir"
}

clone_pgdump() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 t2 status=ok dir=$work/dump log=$logs/$1-pg_dump-r$2.log
  fresh_target "$tgt"
  rm -rf "$dir"
  settle
  cpu_mark
  t0=$(now)
  if ! "$bindir/pg_dump" -Fd -j "$n" -f "$dir" -d "$(src_conn "$db")" >"$log" 2>&1; then
    flag "pg_dump -Fd -j $n (round $round) exited with an error" "$log"
    status=failed
  fi
  t1=$(now)
  if [ "$status" = ok ] && ! "$bindir/pg_restore" -j "$n" -d "$(dst_conn "$tgt")" "$dir" >>"$log" 2>&1; then
    flag "pg_restore -j $n (round $round) exited with an error" "$log"
    status=failed
  fi
  t2=$(now)
  cpu_read
  local sizes=-
  if [ "$status" = ok ]; then
    say "    pg_dump + pg_restore: $(elapsed "$t0" "$t2") s"
    check_copy "$db" "$tgt" "pg_dump + pg_restore (round $round)"
    status=$copy_status
    sizes=$raw/json/$1-pg_dump-r$2.json
    printf '{"dump_bytes": %s}\n' "$(du -sb "$dir" | cut -f1)" >"$sizes"
  fi
  record "$db" clone pg_dump "$n" "$round" "$(elapsed "$t0" "$t2")" "$status" \
    "dump=$(elapsed "$t0" "$t1"),restore=$(elapsed "$t1" "$t2")" "$sizes"
  rm -rf "$dir"
}

# pgsluice dump into a directory, then pgsluice restore from it: the spill path. The phases
# give dump and restore MB/s; the sizes (COPY bytes, file bytes) the compression ratio.
clone_spill() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 t2 status=ok dir=$work/spill log=$logs/$1-spill-r$2.log
  local sizes=$raw/json/$1-spill-r$2.json
  fresh_target "$tgt"
  rm -rf "$dir"
  settle
  cpu_mark
  t0=$(now)
  if ! "$pgsluice" dump --source "$(src_conn "$db")" --dir "$dir" --jobs "$n" --progress-interval 0 >"$log" 2>&1; then
    flag "pgsluice dump --jobs $n (round $round) exited with an error" "$log"
    status=failed
  fi
  t1=$(now)
  if [ "$status" = ok ] && ! "$pgsluice" restore --dir "$dir" --target "$(dst_conn "$tgt")" --jobs "$n" \
       --progress-interval 0 >>"$log" 2>&1; then
    flag "pgsluice restore --jobs $n (round $round) exited with an error" "$log"
    status=failed
  fi
  t2=$(now)
  cpu_read
  if [ "$status" = ok ]; then
    say "    pgsluice dump + restore: $(elapsed "$t0" "$t2") s"
    check_copy "$db" "$tgt" "pgsluice dump + restore (round $round)"
    status=$copy_status
    python3 - "$dir/manifest.json" "$dir" >"$sizes" <<'EOF' || sizes=-
import json, os, sys
m = json.load(open(sys.argv[1]))
files = sum(os.path.getsize(os.path.join(sys.argv[2], f)) for f in os.listdir(sys.argv[2]))
print(json.dumps({"copy_bytes": sum(c["bytes"] for c in m["chunks"]), "dump_bytes": files}))
EOF
  fi
  record "$db" clone spill "$n" "$round" "$(elapsed "$t0" "$t2")" "$status" \
    "dump=$(elapsed "$t0" "$t1"),restore=$(elapsed "$t1" "$t2")" "$sizes"
  rm -rf "$dir"
}

# pgsluice clone --spill with a slow target: --jobs readers against one loader. The phases say
# when the last chunk was read (and the source snapshot released) and when the data step ended.
clone_spillclone() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 status dir=$work/spillclone phases=-
  local json=$raw/json/$1-spillclone-r$2.json log=$logs/$1-spillclone-r$2.log
  fresh_target "$tgt"
  rm -rf "$dir"
  settle
  cpu_mark
  t0=$(now)
  if "$pgsluice" clone --source "$(src_conn "$db")" --target "$(dst_conn "$tgt")" --jobs "$n" --load-jobs 1 \
       --spill "$dir" --json "$json" --progress-interval 0 >"$log" 2>&1; then
    t1=$(now)
    cpu_read
    say "    pgsluice clone --spill: $(elapsed "$t0" "$t1") s"
    check_copy "$db" "$tgt" "pgsluice clone --spill (round $round)"
    status=$copy_status
    phases=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print("read=%.3f,data=%.3f,released=%d" % (r["spill"]["seconds_read"], r["seconds"]["data"], r["spill"]["snapshot_released"]))' "$json") \
      || phases=-
  else
    t1=$(now)
    cpu_read
    flag "pgsluice clone --spill (round $round) exited with an error" "$log"
    status=failed
  fi
  record "$db" clone spillclone "$n" "$round" "$(elapsed "$t0" "$t1")" "$status" "$phases"
  rm -rf "$dir"
}

clone_floor() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 t2 i name file status=ok log=$logs/$1-floor-r$2.log
  local -a pids=()
  fresh_target "$tgt"
  if ! "$bindir/pg_restore" --section=pre-data -d "$(dst_conn "$tgt")" "$work/schema-$db.dump" >"$log" 2>&1; then
    flag "target-side floor (round $round): pg_restore --section=pre-data exited with an error" "$log"
    record "$db" clone floor "$n" "$round" 0 failed
    return
  fi
  split_tables "$db" "$n" "$work/floor-bin"
  for ((i = 0; i < n; i++)); do
    {
      echo '\set ON_ERROR_STOP 1'
      while IFS=$'\t' read -r name file; do
        printf "BEGIN;\nTRUNCATE %s;\nCOPY %s FROM '%s' (FORMAT binary, FREEZE);\nCOMMIT;\n" "$name" "$name" "$file"
      done <"$work/floor-bin.$i"
    } >"$work/floor-load.$i.sql"
  done
  settle
  : >"$logs/last-sessions.log"
  cpu_mark
  t0=$(now)
  for ((i = 0; i < n; i++)); do
    psql_dst "$tgt" -f "$work/floor-load.$i.sql" >>"$logs/last-sessions.log" 2>&1 &
    pids+=("$!")
  done
  if ! wait_pids "${pids[@]}"; then
    flag "target-side floor (round $round): a COPY FROM session failed" "$logs/last-sessions.log"
    status=failed
  fi
  t1=$(now)
  if [ "$status" = ok ] && ! "$bindir/pg_restore" --section=post-data -j "$n" -d "$(dst_conn "$tgt")" \
                              "$work/schema-$db.dump" >>"$log" 2>&1; then
    flag "target-side floor (round $round): pg_restore --section=post-data exited with an error" "$log"
    status=failed
  fi
  t2=$(now)
  cpu_read
  if [ "$status" = ok ]; then
    say "    target-side floor: $(elapsed "$t0" "$t2") s"
    check_copy "$db" "$tgt" "target-side floor (round $round)"
    status=$copy_status
  fi
  record "$db" clone floor "$n" "$round" "$(elapsed "$t0" "$t2")" "$status" \
    "load=$(elapsed "$t0" "$t1"),indexes=$(elapsed "$t1" "$t2")"
}

# ---------------------------------------------------------------------------------------------
# Verification contenders, over the source and a target that holds an identical copy (checked
# by compare.sh when it was made). Each: CONTENDER DATASET ROUND JOBS TARGETDB.

verify_pgsluice() {
  local db=$1 round=$2 n=$3 tgt=$4 t0 t1 code=0 status=ok log=$logs/verify-$1-r$2.log json=-
  local -a extra=()
  if [ "$verify_json" = 1 ]; then
    json=$raw/json/$db-verify-j$n-r$round.json
    extra=(--json "$json")
  fi
  settle
  cpu_mark
  t0=$(now)
  "$pgsluice" verify --source "$(src_conn "$db")" --target "$(dst_conn "$tgt")" --jobs "$n" \
    "${extra[@]}" --progress-interval 0 -q >"$log" 2>&1 || code=$?
  t1=$(now)
  cpu_read
  case "$code" in
    0) say "    pgsluice verify: $(elapsed "$t0" "$t1") s" ;;
    1) flag "pgsluice verify (round $round) found differences between the source and an identical copy" "$log"
       status=wrong ;;
    *) flag "pgsluice verify (round $round) exited with an error (status $code)" "$log"
       status=failed ;;
  esac
  record "$db" verify verify "$n" "$round" "$(elapsed "$t0" "$t1")" "$status" - "$json"
}

# run_both_sides DATASET TARGETDB N KIND: N sessions on each side at once, each running its
# share of the tables as KIND (hash or read); writes $work/side-{source,target}.out and sets
# VERIFY_T0 and VERIFY_T1; returns 1 if a session failed.
run_both_sides() {
  local db=$1 tgt=$2 n=$3 kind=$4 i side name lit
  local -a pids=()
  split_tables "$db" "$n" "$work/verify-bin"
  for ((i = 0; i < n; i++)); do
    while IFS=$'\t' read -r name _; do
      if [ "$kind" = hash ]; then
        lit=${name//\'/\'\'}
        printf "SELECT '%s', count(*), sum(hashtext(r::text)::bigint) FROM ONLY %s AS r;\n" "$lit" "$name"
      else
        printf "COPY %s TO '/dev/null' (FORMAT binary);\n" "$name"
      fi
    done <"$work/verify-bin.$i" >"$work/verify-$kind.$i.sql"
  done
  settle
  : >"$logs/last-sessions.log"
  for side in source target; do rm -f "$work/side-$side".*; done
  cpu_mark
  VERIFY_T0=$(now)
  for ((i = 0; i < n; i++)); do
    psql_src "$db" -A -t -F $'\t' -f "$work/verify-$kind.$i.sql" >"$work/side-source.$i" 2>>"$logs/last-sessions.log" &
    pids+=("$!")
    psql_dst "$tgt" -A -t -F $'\t' -f "$work/verify-$kind.$i.sql" >"$work/side-target.$i" 2>>"$logs/last-sessions.log" &
    pids+=("$!")
  done
  if ! wait_pids "${pids[@]}"; then
    VERIFY_T1=$(now)
    cpu_read
    return 1
  fi
  for side in source target; do
    cat "$work/side-$side".* | LC_ALL=C sort >"$work/side-$side.out"
  done
  VERIFY_T1=$(now)
  cpu_read
}

verify_hashing() {
  local db=$1 round=$2 n=$3 tgt=$4 status=ok
  if ! run_both_sides "$db" "$tgt" "$n" hash; then
    flag "server-side hashing (round $round): a session failed" "$logs/last-sessions.log"
    status=failed
  elif ! cmp -s "$work/side-source.out" "$work/side-target.out"; then
    diff "$work/side-source.out" "$work/side-target.out" >"$logs/hash-diff.log" || true
    flag "server-side hashing (round $round) found differences between the source and an identical copy" "$logs/hash-diff.log"
    status=wrong
  else
    say "    server-side hashing: $(elapsed "$VERIFY_T0" "$VERIFY_T1") s ($(wc -l <"$work/side-source.out") tables agree)"
  fi
  record "$db" verify hashing "$n" "$round" "$(elapsed "$VERIFY_T0" "$VERIFY_T1")" "$status"
}

verify_readfloor() {
  local db=$1 round=$2 n=$3 tgt=$4 status=ok
  if ! run_both_sides "$db" "$tgt" "$n" read; then
    flag "read floor (round $round): a session failed" "$logs/last-sessions.log"
    status=failed
  else
    say "    read floor: $(elapsed "$VERIFY_T0" "$VERIFY_T1") s"
  fi
  record "$db" verify readfloor "$n" "$round" "$(elapsed "$VERIFY_T0" "$VERIFY_T1")" "$status"
}

# ---------------------------------------------------------------------------------------------
# pgsluice plan before any clone: its estimate of the clone's time, and its chunks, which the
# report compares with those of pgsluice clone.
plan_dataset() {
  local db=$1 json=$raw/json/$1-plan.json log=$logs/$1-plan.log estimate
  settle
  if "$pgsluice" plan --source "$(src_conn "$db")" --jobs "$jobs" --json "$json" >"$log" 2>&1; then
    estimate=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["estimate"]["seconds"])' "$json")
    say "    pgsluice plan: the clone should take about $estimate s"
    record "$db" plan plan "$jobs" 1 "$estimate" ok - "$json"
  else
    flag "pgsluice plan exited with an error" "$log"
    record "$db" plan plan "$jobs" 1 0 failed
  fi
}

# One dataset, all contenders, interleaved round after round. The first copy that compare.sh
# proves identical (pgsluice's of round 1, unless it was wrong) is kept as the verification
# target; the other copies are dropped once checked.

compare_dataset() {
  local db=$1 round contender verify_target=verify_$1 have_verify_target=0
  prepare_floor "$db"
  plan_dataset "$db"
  drop_target "$verify_target"
  for ((round = 1; round <= rounds; round++)); do
    say "$db: round $round of $rounds"
    for contender in pgsluice pgcopydb pgdump spill spillclone floor; do
      "clone_$contender" "$db" "$round" "$jobs" "c_$db"
      if [ "$have_verify_target" = 0 ] && [ "$last_status" = ok ]; then
        psql_dst postgres -c "ALTER DATABASE \"c_$db\" RENAME TO \"$verify_target\"" >/dev/null
        have_verify_target=1
      else
        drop_target "c_$db"
      fi
    done
    if [ "$have_verify_target" = 0 ]; then
      flag "$db: no identical copy to verify against: verification skipped in round $round"
      continue
    fi
    if [ "$verify_available" = 1 ]; then
      verify_pgsluice "$db" "$round" "$jobs" "$verify_target"
    fi
    verify_hashing "$db" "$round" "$jobs" "$verify_target"
    verify_readfloor "$db" "$round" "$jobs" "$verify_target"
  done
  drop_target "$verify_target"
  rm -rf "${floor_root:?}/$db"
}

# ---------------------------------------------------------------------------------------------
# The rate cap and the pause (--rate). Each clone: a fresh target, a checkpoint, the run, the
# check against the source, a line of rate.tsv (round, cap, COPY bytes, data-phase seconds,
# whole seconds, status).

rate_clone() {  # rate_clone DB ROUND CAP TARGETDB
  local db=$1 round=$2 cap=$3 tgt=$4 json=$raw/json/rate-$3-r$2.json log=$logs/rate-$3-r$2.log
  local t0 t1 status figures="0	0"
  fresh_target "$tgt"
  settle
  t0=$(now)
  if "$pgsluice" clone --source "$(src_conn "$db")" --target "$(dst_conn "$tgt")" --jobs "$jobs" \
       --max-rate "$cap" --json "$json" --progress-interval 0 -q >"$log" 2>&1; then
    t1=$(now)
    figures=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print("%d\t%.3f" % (r["bytes"], r["seconds"]["data"]))' "$json")
    say "    pgsluice clone --max-rate $cap: $(elapsed "$t0" "$t1") s, $(echo "$figures" | awk -F '\t' '{ printf "%.1f MB/s in the data step", $1 / 1048576 / $2 }')"
    check_copy "$db" "$tgt" "pgsluice clone --max-rate $cap (round $round)"
    status=$copy_status
  else
    t1=$(now)
    flag "pgsluice clone --max-rate $cap (round $round) exited with an error" "$log"
    status=failed
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$cap" "$figures" "$(elapsed "$t0" "$t1")" "$status" >>"$raw/rate.tsv"
  drop_target "$tgt"
}

# copy_progress: the bytes that the COPYs in flight have moved so far on each server.
copy_progress() {
  printf 'source=%s,target=%s' \
    "$(psql_src postgres -A -t -c "SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy")" \
    "$(psql_dst postgres -A -t -c "SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy")"
}

# rate_pause DB CAP TARGETDB: a clone at CAP, paused by pgsluice throttle from another process
# once its data step has run a few seconds, resumed 7 s later; a line of pause.tsv (the COPY
# bytes 2 s and 7 s after the pause, the seconds from the resume to the end, status).
rate_pause() {
  local db=$1 cap=$2 tgt=$3 log=$logs/rate-pause.log pid at2=- at7=- t_resume t_end status=ok tries=0
  fresh_target "$tgt"
  settle
  "$pgsluice" clone --source "$(src_conn "$db")" --target "$(dst_conn "$tgt")" --jobs "$jobs" \
    --max-rate "$cap" --progress-interval 1 >"$log" 2>&1 &
  pid=$!
  until [ "$(psql_src postgres -A -t -c "SELECT count(*) FROM pg_stat_progress_copy")" -gt 0 ]; do
    tries=$((tries + 1))
    if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -gt 600 ]; then break; fi
    sleep 0.1
  done
  sleep 3
  if ! "$pgsluice" throttle --target "$(dst_conn "$tgt")" --run last --pause >>"$log" 2>&1; then
    flag "pgsluice throttle --pause exited with an error" "$log"
    status=failed
  else
    sleep 2; at2=$(copy_progress)
    sleep 5; at7=$(copy_progress)
    say "    paused: COPY bytes in flight 2 s after the pause $at2, 7 s after it $at7"
    "$pgsluice" throttle --target "$(dst_conn "$tgt")" --run last --resume >>"$log" 2>&1 \
      || { flag "pgsluice throttle --resume exited with an error" "$log"; status=failed; }
  fi
  t_resume=$(now)
  if wait "$pid"; then
    t_end=$(now)
    say "    resumed: finished $(elapsed "$t_resume" "$t_end") s later"
    check_copy "$db" "$tgt" "pgsluice clone paused and resumed"
    [ "$status" = ok ] && status=$copy_status
  else
    t_end=$(now)
    flag "the paused pgsluice clone exited with an error" "$log"
    status=failed
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$cap" "$at2" "$at7" "$(elapsed "$t_resume" "$t_end")" "$status" >>"$raw/pause.tsv"
  drop_target "$tgt"
}

# rate_report NAME: the table on stdout, the JSON in the results (and latest-rate.json).
rate_report() {
  python3 - "$raw" "$results_dir" "$1" "$rate_cap" "$command_line" "$scale" "$jobs" <<'EOF'
import json, os, shutil, statistics, sys
raw, results, name, cap_text, command, scale, jobs = sys.argv[1:8]
units = {"kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
cap = int(cap_text[:-2]) * units[cap_text[-2:]]
runs = []
for line in open(os.path.join(raw, "rate.tsv")):
    rnd, c, nbytes, secs, total, status = line.rstrip("\n").split("\t")
    runs.append({"round": int(rnd), "max_rate": c, "bytes": int(nbytes), "data_seconds": float(secs),
                 "seconds": float(total), "status": status,
                 "bytes_per_second": int(nbytes) / float(secs) if float(secs) > 0 else 0})
pauses = []
for line in open(os.path.join(raw, "pause.tsv")):
    c, at2, at7, after, status = line.rstrip("\n").split("\t")
    pauses.append({"max_rate": c, "copy_bytes_2s_after_pause": at2, "copy_bytes_7s_after_pause": at7,
                   "seconds_from_resume_to_end": float(after), "status": status,
                   "stopped_within_2s": status == "ok" and at2 != "-" and at2 == at7})
def median(cap_value):
    ok = [r["bytes_per_second"] for r in runs if r["max_rate"] == cap_value and r["status"] == "ok"]
    return statistics.median(ok) if ok else None
capped, free = median(cap_text), median("0")
ratio = capped / cap if capped else None
targets = [
    {"what": "clone --max-rate %s: data-step rate at most the cap + 10%%" % cap_text,
     "value": ratio, "limit": 1.10, "met": ratio is not None and ratio <= 1.10},
    {"what": "clone --max-rate %s: not idle, at least 90%% of the cap" % cap_text,
     "value": ratio, "limit": 0.90, "met": ratio is not None and ratio >= 0.90},
    {"what": "throttle --pause stops every row within 2 s",
     "value": None, "limit": None, "met": bool(pauses) and all(p["stopped_within_2s"] for p in pauses)},
]
out = {"mode": "rate", "command": command, "scale": int(scale), "jobs": int(jobs), "max_rate": cap_text,
       "max_rate_bytes_per_second": cap, "runs": runs, "pauses": pauses,
       "median_bytes_per_second": {"capped": capped, "uncapped": free}, "targets": targets}
os.makedirs(results, exist_ok=True)
path = os.path.join(results, name + ".json")
with open(path, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
shutil.copyfile(path, os.path.join(results, "latest-rate.json"))
mb = lambda v: "%.1f MB/s" % (v / 1048576) if v else "-"
print("rate cap on the standard dataset at SCALE %s, --jobs %s (%s)" % (scale, jobs, path))
print("  %-28s %s (median of %d)" % ("clone, no cap", mb(free), sum(1 for r in runs if r["max_rate"] == "0")))
print("  %-28s %s (median of %d), %.2fx the cap" % ("clone --max-rate " + cap_text, mb(capped),
      sum(1 for r in runs if r["max_rate"] == cap_text), ratio or 0))
for p in pauses:
    print("  %-28s 2 s after: %s; 7 s after: %s; resumed to the end in %.1f s" % (
          "throttle --pause", p["copy_bytes_2s_after_pause"], p["copy_bytes_7s_after_pause"],
          p["seconds_from_resume_to_end"]))
for t in targets:
    print("  %-4s %s%s" % ("PASS" if t["met"] else "FAIL", t["what"],
          "" if t["value"] is None else " (%.2f)" % t["value"]))
EOF
}

# ---------------------------------------------------------------------------------------------
# Facts for the report: versions and settings.

meta() { printf '%s\t%s\n' "$1" "$2" >>"$raw/meta.tsv"; }
: >"$raw/meta.tsv"
: >"$raw/runs.tsv"
: >"$raw/datasets.tsv"
meta command "$command_line"
meta pgsluice_version "$("$pgsluice" --version 2>&1 | head -n 1)"
meta postgresql_version "$("$bindir/postgres" --version)"
meta pg_dump_version "$("$bindir/pg_dump" --version)"
meta pgcopydb_version "$(pgcopydb --version 2>/dev/null | head -n 1)"
meta gnuplot_version "$(gnuplot --version)"
meta postgresql_conf "$pg_conf"
meta scale "$scale"
meta jobs "$jobs"
meta rounds "$rounds"
meta verify_available "$verify_available"
meta scaling_scales "$scaling_scales"
meta scaling_jobs "$scaling_jobs"
meta many_tables "$many_tables"
meta pgcopydb_options "clone --table-jobs $jobs --index-jobs $jobs --dir DIR (defaults otherwise: one COPY per table, VACUUM ANALYZE at the end)"
meta pg_dump_options "pg_dump -Fd -j $jobs (default compression), then pg_restore -j $jobs"
meta spill_options "pgsluice dump --jobs $jobs --dir DIR (zstd level 1), then pgsluice restore --jobs $jobs --dir DIR"
meta spillclone_options "pgsluice clone --spill DIR --jobs $jobs --load-jobs 1 (a target slowed to one loading session)"
meta pgsluice_options "clone --jobs $jobs --progress-interval 0 -q --json FILE (defaults otherwise)"
meta verify_options "verify --jobs $jobs --progress-interval 0 -q --json FILE (defaults otherwise)"
meta floor_method "COPY (FORMAT binary) files written by the source server beforehand; timed: $jobs sessions of BEGIN; TRUNCATE; COPY FROM file (FORMAT binary, FREEZE); COMMIT (largest table first, each to the least loaded session), then pg_restore --section=post-data -j $jobs"
meta hashing_method "per table SELECT count(*), sum(hashtext(r::text)::bigint) FROM ONLY t AS r; $jobs sessions per side, both sides at once (pgcopydb compare data's queries)"
meta readfloor_method "per table COPY t TO '/dev/null' (FORMAT binary) by its own server; $jobs sessions per side, both sides at once"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

report() {  # report MODE NAME: the table on stdout, the JSON and the PNG in the results
  if ! python3 "$here/report.py" --mode "$1" --raw "$raw" --results "$results_dir" --name "$2" \
         --started "$started_at"; then
    # Keep the measurements, so that the report can be made again without running again.
    rm -rf "$results_dir/$2-raw.tmp"
    cp -r "$raw" "$results_dir/$2-raw.tmp"
    die "the report could not be written; the measurements are in $results_dir/$2-raw.tmp"
  fi
}

# Scaling first: the standard report's SCALE 100 target quotes the newest scaling results.
if [ "$run_scaling" = 1 ]; then
  : >"$raw/runs.tsv"; : >"$raw/datasets.tsv"; rm -f "$raw"/json/* "$raw"/samples/*
  # Every configuration once per round, interleaved: (scale, jobs N) for each scale, then
  # (--scale, jobs J) for each J; a configuration listed twice runs once.
  declare -a configs=()
  for s in $scaling_scales; do configs+=("$s:$jobs"); done
  for j in $scaling_jobs; do configs+=("$scale:$j"); done
  mapfile -t configs < <(printf '%s\n' "${configs[@]}" | awk '!seen[$0]++')
  mapfile -t scales_needed < <(printf '%s\n' "${configs[@]}" | cut -d: -f1 | awk '!seen[$0]++')
  for s in "${scales_needed[@]}"; do make_standard "s$s" "$s"; done
  for ((round = 1; round <= rounds; round++)); do
    for config in "${configs[@]}"; do
      s=${config%%:*}; j=${config#*:}
      say "scaling: round $round of $rounds: SCALE $s, --jobs $j"
      clone_pgsluice "s$s" "$round" "$j" "c_s$s"
      drop_target "c_s$s"
    done
  done
  report scaling "$stamp-scaling"
  for s in "${scales_needed[@]}"; do psql_src postgres -c "DROP DATABASE \"s$s\"" >/dev/null; done
fi

if [ "$run_rate" = 1 ]; then
  : >"$raw/rate.tsv"; : >"$raw/pause.tsv"
  make_standard "rate" "$scale"
  for ((round = 1; round <= rounds; round++)); do
    say "rate: round $round of $rounds"
    rate_clone rate "$round" 0 c_rate
    rate_clone rate "$round" "$rate_cap" c_rate
  done
  say "rate: a clone at --max-rate $rate_cap, paused and resumed by pgsluice throttle"
  rate_pause rate "$rate_cap" c_rate
  rate_report "$stamp-rate-s$scale"
  psql_src postgres -c 'DROP DATABASE rate' >/dev/null
fi

if [ "$run_standard" = 1 ]; then
  : >"$raw/runs.tsv"; : >"$raw/datasets.tsv"; rm -f "$raw"/json/* "$raw"/samples/*
  make_standard "standard" "$scale"
  compare_dataset "standard"
  report standard "$stamp-s$scale"
  psql_src postgres -c 'DROP DATABASE standard' >/dev/null
fi

if [ "$run_shapes" = 1 ]; then
  : >"$raw/runs.tsv"; : >"$raw/datasets.tsv"; rm -f "$raw"/json/* "$raw"/samples/*
  for shape in big many toast; do
    make_shape "shape_$shape" "$shape" "$scale"
    compare_dataset "shape_$shape"
    psql_src postgres -c "DROP DATABASE shape_$shape" >/dev/null
  done
  report shapes "$stamp-shapes-s$scale"
fi

say "done in $(elapsed "$started_at" "$(now)") s"
if [ ${#failures[@]} -gt 0 ]; then
  {
    printf '\nbench: FAILED: %d run(s) failed or made a wrong copy; they are marked DISQUALIFIED in the report:\n' \
      "${#failures[@]}"
    printf '  - %s\n' "${failures[@]}"
  } >&2
  exit 1
fi
