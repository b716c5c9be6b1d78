# shellcheck shell=bash
# lib.sh: what the cases of the integration suite share, and the suite's life cycle.
#
# Sourced by fixture.sh (ctest's it_setup and it_cleanup: the clusters, once per ctest run),
# case.sh (each ctest test it_NN_...: one case) and run.sh (by hand: clusters, cases, stop).
# Sourcing it sets variables and defines functions; it starts nothing.
#
# The suite runs against two throwaway clusters (tools/pgcluster.sh), a source and a target,
# their sockets in a work directory of their own; database "src" of the source holds
# tests/integration/sample.sql. Every copy a case makes is proved with compare.sh (plain SQL,
# independent of pgsluice).
#
# Writing a case: add a file cases/NN_what_it_proves.sh (NN, two digits, its place in the
# order; re-run cmake, or cmake --build, for ctest to see it as it_NN_what_it_proves):
#   line 1     "# " and what the case proves, in one line: its title in the reports
#   optional   "# timeout: SECONDS", how long the case may run (default 300; ctest's TIMEOUT
#              for it is 60 s more); past it the case is ended and fails
#   a function case_main, the case. It runs in a subshell of its own with set +e (set -u and
#              pipefail stay), stdin from /dev/null, stdout and stderr into its log; it fails
#              with fail MESSAGE (or any exit other than 0). It may set an EXIT trap to put back
#              what it changed outside its databases, and define helpers of its own in its file.
#   It has: $case_dir, an empty directory of its own; $bin, the pgsluice under test; the
#   helpers below; the clusters, which the cases share, one after another, in the order of
#   their numbers: create the databases it writes under names of its own (create_dst), and put
#   back any setting it changes. A cluster of its own: extra_cluster_start.
# Every process a case starts has PGSLUICE_IT_RUN and PGSLUICE_IT_CASE in its environment:
# whatever of them outlives the case (a daemon, the child of a killed process) is ended then.

here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -P -- "$here/../.." && pwd)

# shellcheck disable=SC1091  # tools/pgcluster.sh, found at run time
. "$repo/tools/pgcluster.sh"
bindir=$(pgcluster_bindir) || return 2
psql_bin=$bindir/psql
pg_dump_bin=$bindir/pg_dump
pg_restore_bin=$bindir/pg_restore
if [ ! -x "$psql_bin" ]; then psql_bin=$(command -v psql) || return 2; fi
if [ ! -x "$pg_dump_bin" ]; then pg_dump_bin=$(command -v pg_dump) || return 2; fi
if [ ! -x "$pg_restore_bin" ]; then pg_restore_bin=$(command -v pg_restore) || return 2; fi
compare=$here/compare.sh
python=$(command -v python3 || true)

case_pid=""
case_watchdog=""

# ---------------------------------------------------------------------------------------------
# The life cycle: work directory, clusters, cases
# ---------------------------------------------------------------------------------------------

# it_init PGSLUICE_BINARY SOURCE_PORT TARGET_PORT [LOGDIR]: the run's variables, and its work
# directory $tmp (the clusters' directories and sockets, the cases' directories); the logs go
# into LOGDIR (default $tmp/logs).
it_init() {
  bin=$1
  case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
  if [ ! -x "$bin" ]; then
    echo "\"$bin\" is not an executable pgsluice binary" >&2
    return 2
  fi
  src_port=$2
  dst_port=$3
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-it.XXXXXX") || return 2
  chmod 0711 "$tmp"            # the cluster owner (postgres, when run as root) must reach it
  src_dir=$tmp/source
  dst_dir=$tmp/target
  logs=${4:-$tmp/logs}
  mkdir -p "$logs" || return 2
  rm -f "$logs"/*.log
}

# it_env_write FILE: the run's variables, as shell assignments that case.sh and fixture.sh read.
it_env_write() {
  local v
  {
    echo "# the clusters of an integration run (tests/integration/fixture.sh setup)"
    for v in bin tmp src_dir dst_dir src_port dst_port logs; do printf '%s=%q\n' "$v" "${!v}"; done
  } >"$1"
}

# it_start: starts both clusters and loads sample.sql into database src of the source; says
# "Bail out!" and returns 2 if it cannot.
it_start() {
  local load_start
  echo "# pgsluice integration suite: $bin"
  echo "# work directory $tmp"
  if ! pgcluster_start "$src_dir" "$src_port" >"$logs/setup.log" 2>&1 \
     || ! pgcluster_start "$dst_dir" "$dst_port" >>"$logs/setup.log" 2>&1; then
    echo "Bail out! could not start the clusters"
    cat "$logs/setup.log"
    return 2
  fi
  load_start=$(now)
  if ! { psql_src postgres -c "CREATE DATABASE src" &&
         psql_src src -f "$here/sample.sql"; } >>"$logs/setup.log" 2>&1; then
    echo "Bail out! could not load sample.sql"
    tail -n 30 "$logs/setup.log"
    return 2
  fi
  echo "# sample.sql loaded in $(elapsed "$load_start") s"
}

# it_stop: ends what the cases left running, stops both clusters and those the cases started,
# and removes the work directory (PGSLUICE_IT_KEEP=1 keeps it, and its logs).
it_stop() {
  [ -n "${tmp:-}" ] && [ -d "$tmp" ] || return 0
  it_sweep PGSLUICE_IT_RUN "$tmp"
  pgcluster_stop "$src_dir" >/dev/null 2>&1 || true
  pgcluster_stop "$dst_dir" >/dev/null 2>&1 || true
  it_stop_clusters "$tmp/extra-clusters"
  if [ "${PGSLUICE_IT_KEEP:-0}" = 1 ]; then
    echo "# kept $tmp"
  else
    case "$tmp" in */pgsluice-it.*) rm -rf "$tmp" ;; esac
  fi
}

# it_stop_clusters LIST: stops the clusters whose directories file LIST names, one a line.
it_stop_clusters() {
  local dir
  [ -f "$1" ] || return 0
  while read -r dir; do pgcluster_stop "$dir" >/dev/null 2>&1 || true; done <"$1"
}

# kill_tree PID: ends a process and everything it started, children first.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    kill_tree "$child"
  done
  kill "$1" 2>/dev/null || true
}

# it_sweep NAME VALUE: ends every process with NAME=VALUE in its environment, that is, every
# process a case started (see it_run_case) that is still there: a daemon, or the child of a
# process that was killed. A server's own processes (postgres) are left to pg_ctl.
it_sweep() {
  local f pid
  local -a left=()
  while read -r f; do
    pid=${f#/proc/}
    pid=${pid%/environ}
    if [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
      continue
    fi
    echo "# ending process $pid, left behind: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    kill "$pid" 2>/dev/null && left+=("$pid")
  done < <(grep -lsxzaF -- "$1=$2" /proc/[0-9]*/environ)
  for _ in $(seq 50); do
    [ ${#left[@]} -gt 0 ] || return 0
    # still there, and not a zombie its new parent has yet to reap
    mapfile -t left < <(for pid in "${left[@]}"; do
                          awk '$3 != "Z" { print $1 }' "/proc/$pid/stat" 2>/dev/null
                        done)
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

# it_run_case FILE [NUMBER]: runs the case of FILE (cases/NN_name.sh) against the clusters, its
# output into $logs/NN_name.log; prints "ok NUMBER - NN_name: title (seconds)" or "not ok ...",
# then the tail of the log (PGSLUICE_IT_TAIL lines, default 40), and returns the case's status.
# A case that runs past its "# timeout:" (default 300 s) is ended, and fails.
it_run_case() {
  local file=$1 name title limit start status secs number
  name=$(basename "$file" .sh)
  number=${2:-$((10#${name%%_*}))}
  title=$(sed -n '1s/^# *//p' "$file")
  limit=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$file" | head -n 1)
  limit=${limit:-300}
  case_dir=$tmp/case-${name%%_*}
  mkdir -p "$case_dir"
  log=$logs/$name.log
  : >"$log"   # then appended to: what the runner adds comes after all the case wrote
  start=$(now)
  # In the background, so that a signal reaches the caller's trap at once rather than after the
  # case; the case's own EXIT trap, if any, is its subshell's.
  (
    set +e
    export PGSLUICE_IT_RUN=$tmp PGSLUICE_IT_CASE=$case_dir
    # shellcheck source=/dev/null
    . "$file" && case_main
  ) >>"$log" 2>&1 </dev/null &
  case_pid=$!
  it_timed_out=0
  trap 'it_timed_out=1' USR1
  ( sleep "$limit" && kill -USR1 $$ ) >/dev/null 2>&1 </dev/null &
  case_watchdog=$!
  status=0
  wait "$case_pid" || status=$?
  if [ "$it_timed_out" = 1 ] && kill -0 "$case_pid" 2>/dev/null; then
    echo "the case ran for more than its $limit s" >>"$log"
    status=124
  else
    case_pid=""
  fi
  it_case_end
  secs=$(elapsed "$start")
  if [ "$status" -eq 0 ]; then
    echo "ok $number - $name: $title ($secs s)"
  else
    echo "not ok $number - $name: $title ($secs s)"
    tail -n "${PGSLUICE_IT_TAIL:-40}" "$log" | sed 's/^/#   /'
    echo "#   (log: $log)"
  fi
  return "$status"
}

# it_case_end: after a case, or instead of its end: ends it if it still runs, its watchdog, the
# clusters it started and the processes it left.
it_case_end() {
  if [ -n "$case_pid" ]; then
    echo "# ending the case, and what it started" >>"$log"
    kill_tree "$case_pid"
    wait "$case_pid" 2>/dev/null
  fi
  if [ -n "$case_watchdog" ]; then
    kill_tree "$case_watchdog"
    wait "$case_watchdog" 2>/dev/null
  fi
  case_pid=""
  case_watchdog=""
  {
    it_stop_clusters "$tmp/clusters-${case_dir##*/}"
    it_sweep PGSLUICE_IT_CASE "$case_dir"
  } >>"$log" 2>&1
}

# ---------------------------------------------------------------------------------------------
# Helpers, usable inside the cases
# ---------------------------------------------------------------------------------------------

src_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$src_dir" "$src_port" "$1"; }
dst_conn() { printf 'host=%s port=%s user=postgres dbname=%s' "$dst_dir" "$dst_port" "$1"; }
# psql_src DB ARGS... / psql_dst DB ARGS...: quiet, unaligned, stop on the first error.
psql_src() { local db=$1; shift; "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(src_conn "$db")" "$@"; }
psql_dst() { local db=$1; shift; "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(dst_conn "$db")" "$@"; }

# fail MESSAGE: ends the current case as failed.
fail() {
  echo "FAIL: $*"
  exit 1
}

# create_dst DB: a new, empty target database.
create_dst() {
  psql_dst postgres -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\"" || fail "could not create target database $1"
}

# schema_copy SRCDB DSTDB: creates DSTDB on the target with the schema of SRCDB, no rows.
schema_copy() {
  create_dst "$2"
  "$pg_dump_bin" --schema-only -d "$(src_conn "$1")" >"$case_dir/schema-$2.sql" || fail "pg_dump --schema-only failed"
  psql_dst "$2" -f "$case_dir/schema-$2.sql" >/dev/null || fail "could not load the schema into $2"
}

# sluice ARGS...: runs pgsluice (with a time limit) and keeps its stdout in $case_dir/out and
# its stderr in $case_dir/err, both also copied to the case log; returns its exit status.
sluice() {
  local status=0
  echo "+ pgsluice $*"
  timeout --kill-after=10 "${PGSLUICE_IT_TIMEOUT:-180}" "$bin" "$@" >"$case_dir/out" 2>"$case_dir/err" || status=$?
  echo "--- stdout"; cat "$case_dir/out"
  echo "--- stderr"; cat "$case_dir/err"
  echo "--- exit status $status"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "pgsluice did not finish within ${PGSLUICE_IT_TIMEOUT:-180} s"
  fi
  return "$status"
}

# expect_identical SRCDB DSTDB: compare.sh must find both databases identical.
expect_identical() {
  local status=0
  echo "+ compare.sh $1 $2"
  "$compare" "$(src_conn "$1")" "$(dst_conn "$2")" >"$case_dir/compare.out" 2>&1 || status=$?
  cat "$case_dir/compare.out"
  [ "$status" -eq 0 ] || fail "compare.sh found differences between $1 and $2 (exit $status)"
}

# tables_json DB: every table with storage of the source database, as a JSON array of
# [schema, name, quoted schema.name] (relkind 'r': leaf partitions, not partitioned parents).
tables_json() {
  psql_src "$1" -c "SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname,
                                                              format('%I.%I', n.nspname, c.relname))
                                             ORDER BY n.nspname, c.relname), '[]')
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind = 'r' AND n.nspname !~ '^pg_'
                      AND n.nspname NOT IN ('information_schema', 'pgsluice')" >"$case_dir/tables.json" \
    || fail "could not list the tables of $1"
}

# one_line_error WHAT PASSWORD: $case_dir/err holds exactly one line, a pgsluice error naming
# WHAT (source or target); the password is in neither stdout nor stderr.
one_line_error() {
  local lines
  lines=$(grep -c . "$case_dir/err" || true)
  [ "$lines" -eq 1 ] || fail "stderr has $lines lines, not one"
  grep -q '^pgsluice: ' "$case_dir/err" || fail "the error does not start with \"pgsluice: \""
  grep -qi "$1" "$case_dir/err" || fail "the error does not mention the $1"
  if grep -qF -- "$2" "$case_dir/out" "$case_dir/err"; then fail "the password appears in the output"; fi
}

# closed_port: a TCP port on 127.0.0.1 where nothing listens.
closed_port() {
  if [ -n "$python" ]; then
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    echo 9   # discard: nothing listens there on a test machine
  fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# slow_setup DB: database slow on the source (one keyed table of ~10 MB), and target database
# DB with its schema, where loading rows is slowed down by a CHECK constraint that sleeps now
# and then: unlike a trigger, session_replication_role and DISABLE TRIGGER cannot turn it off.
slow_setup() {
  if [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'slow'")" = 0 ]; then
    psql_src postgres -c "CREATE DATABASE slow" || fail "could not create database slow"
    psql_src slow -c "CREATE TABLE slow_t (id bigint PRIMARY KEY, pad text NOT NULL)" \
      -c "INSERT INTO slow_t SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 80000) AS i" \
      -c "VACUUM ANALYZE slow_t" || fail "could not fill database slow"
  fi
  schema_copy slow "$1"
  psql_dst "$1" <<'SQL' || fail "could not add the slow-down constraint"
CREATE FUNCTION slow_down(id bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF id % 50 = 0 THEN
    PERFORM pg_sleep(0.01);
  END IF;
  RETURN true;
END
$$;
ALTER TABLE slow_t ADD CONSTRAINT slow_down CHECK (slow_down(id)) NOT VALID;
SQL
}

# expect_chunks_done DB: every chunk of every run in DB's record is done, none twice.
expect_chunks_done() {
  local left
  left=$(psql_dst "$1" -c "SELECT count(*) FILTER (WHERE status <> 'done') || '/' || count(*) FROM pgsluice.chunk") \
    || fail "could not read the chunk records of $1"
  echo "chunks not done / all: $left"
  [ "${left%%/*}" = 0 ] && [ "${left#*/}" -gt 0 ] || fail "chunks of $1 are not all done: $left"
}

# big_setup: database big on the source, large enough (about 250 MB in 2 MB chunks) that a
# clone can be caught mid-data, with a keyless table (ctid chunks), a sequence and indexes
# that make post-data take a moment.
big_setup() {
  [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'big'")" = 0 ] || return 0
  psql_src postgres -c "CREATE DATABASE big" >/dev/null || fail "could not create database big"
  psql_src big >/dev/null <<'SQL' || fail "could not fill database big"
CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL, pad text NOT NULL);
INSERT INTO big SELECT i, i % 1000, repeat(md5(i::text), 3) FROM generate_series(1, 1200000) AS i;
CREATE INDEX big_n ON big (n);
CREATE INDEX big_pad ON big (pad);
CREATE TABLE big_nokey (a int, b text);
INSERT INTO big_nokey SELECT i % 5000, md5(i::text) FROM generate_series(1, 300000) AS i;
CREATE SEQUENCE big_seq;
SELECT setval('big_seq', 4242);
VACUUM ANALYZE;
SQL
}

# start_clone DB ARGS...: pgsluice clone from big into DB in the background, in a process group
# of its own (a pod eviction takes all of it); its pid in $clone_pid.
start_clone() {
  local db=$1
  shift
  echo "+ pgsluice clone --source big --target $db --keep-record $* &"
  setsid "$bin" clone --source "$(src_conn big)" --target "$(dst_conn "$db")" --progress-interval 0 --keep-record "$@" \
    >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
}

# wait_for DB SQL: waits until SQL, run on target database DB, prints t (errors count as not
# yet), while the clone runs; fails if the clone ends first.
wait_for() {
  local db=$1 sql=$2 deadline=$(( $(date +%s) + 120 ))
  while [ "$(psql_dst "$db" -c "$sql" 2>/dev/null)" != t ]; do
    kill -0 "$clone_pid" 2>/dev/null || { cat "$case_dir/err"; fail "the clone ended before: $sql"; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for: $sql"
    sleep 0.05
  done
}

# resume DB: resumes the last run into DB; it must finish, and leave DB identical to big with
# every chunk done once.
resume() {
  sluice clone --resume last --source "$(src_conn big)" --target "$(dst_conn "$1")" --jobs 2 \
    --progress-interval 0 --keep-record || fail "pgsluice clone --resume exited with status $?"
  expect_identical big "$1"
  expect_chunks_done "$1"
}

# extra_cluster_start DIR PORT [NAME=VALUE...]: a cluster of a case's own, with the settings
# given; the case's end stops it, and the suite's, whatever becomes of the case.
extra_cluster_start() {
  local dir=$1 port=$2
  shift 2
  echo "$dir" >>"$tmp/extra-clusters"
  echo "$dir" >>"$tmp/clusters-${case_dir##*/}"
  PGCLUSTER_CONF="$*" pgcluster_start "$dir" "$port" || fail "could not start the cluster in $dir"
}

# own_cluster_pair [SOURCE_SETTINGS [TARGET_SETTINGS]]: a source and a target cluster of the case's
# own (the suite's share their roles with every case), which src_conn, psql_src and the others then
# reach; each SETTINGS is a list of NAME=VALUE separated by spaces.
own_cluster_pair() {
  local p1 p2
  p1=$(closed_port)
  p2=$(closed_port)
  while [ "$p2" = "$p1" ]; do p2=$(closed_port); done
  # shellcheck disable=SC2086 # each setting a word
  extra_cluster_start "$case_dir/vsrc" "$p1" ${1:-}
  # shellcheck disable=SC2086
  extra_cluster_start "$case_dir/vdst" "$p2" ${2:-}
  src_dir=$case_dir/vsrc src_port=$p1 dst_dir=$case_dir/vdst dst_port=$p2
}

# follow_cluster_pair DB SCALE [source-only]: own_cluster_pair with logical replication from the source,
# database DB on both (on the source only, for a clone --all-databases) and pgbench's tables of scale
# SCALE in the source's.
follow_cluster_pair() {
  own_cluster_pair "wal_level=logical max_replication_slots=10 max_wal_senders=10" \
    "max_replication_slots=10 max_logical_replication_workers=6"
  psql_src postgres -c "CREATE DATABASE $1" >/dev/null || fail "could not create the source database"
  [ "${3:-}" = source-only ] || psql_dst postgres -c "CREATE DATABASE $1" >/dev/null \
    || fail "could not create the target database"
  "$bindir/pgbench" -i -q -s "$2" -h "$src_dir" -p "$src_port" -U postgres "$1" >"$case_dir/init.out" 2>&1 \
    || { cat "$case_dir/init.out"; fail "pgbench -i failed"; }
}

# pgbench_start DB RATE SECONDS: pgbench writing to source database DB at RATE transactions a second
# for SECONDS, in the background; its pid in pgbench_pid, its output in $case_dir/pgbench.out.
pgbench_start() {
  "$bindir/pgbench" -n -c 2 -R "$2" -T "$3" -h "$src_dir" -p "$src_port" -U postgres "$1" \
    >"$case_dir/pgbench.out" 2>&1 &
  pgbench_pid=$!
}

# small_cluster_shape: on the source, roles vf_app and "vf owner" (a password, a comment, a membership,
# settings), databases vf_main (owner, comment, ACL, settings; a keyed and a keyless table), vf_files
# (8 large objects) and vf_skip.
small_cluster_shape() {
  psql_src postgres >/dev/null <<'SQL' || fail "could not make the source's roles and databases"
CREATE ROLE vf_app LOGIN PASSWORD 'app secret' CONNECTION LIMIT 5 VALID UNTIL '2031-01-01 00:00:00+00';
CREATE ROLE "vf owner" NOLOGIN;
COMMENT ON ROLE vf_app IS 'the application';
GRANT "vf owner" TO vf_app WITH ADMIN OPTION;
ALTER ROLE vf_app SET search_path = "$user", public;
CREATE DATABASE vf_main OWNER "vf owner" CONNECTION LIMIT 20;
CREATE DATABASE vf_files;
CREATE DATABASE vf_skip;
COMMENT ON DATABASE vf_main IS 'the main one';
REVOKE TEMPORARY ON DATABASE vf_main FROM PUBLIC;
GRANT CREATE ON DATABASE vf_main TO vf_app;
ALTER DATABASE vf_main SET work_mem = '8MB';
ALTER ROLE vf_app IN DATABASE vf_main SET maintenance_work_mem = '64MB';
SQL
  psql_src vf_main >/dev/null <<'SQL' || fail "could not fill vf_main"
CREATE TABLE account (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO account (name) SELECT 'acct ' || i FROM generate_series(1, 20000) AS i;
CREATE TABLE note (body text);
INSERT INTO note VALUES ('a'), ('a'), ('b');
SQL
  psql_src vf_files -c "SELECT lo_from_bytea(90000 + i, decode(repeat(md5(i::text), 40 * i), 'hex'))
                        FROM generate_series(1, 8) i" >/dev/null || fail "could not make vf_files' large objects"
  psql_src vf_skip -c "CREATE TABLE left_out (id int)" >/dev/null || fail "could not fill vf_skip"
}
