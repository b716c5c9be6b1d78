#!/usr/bin/env bash
# run.sh PGSLUICE_BINARY: the integration suite of pgsluice, against two throwaway clusters.
#
# Starts a source and a target cluster (tools/pgcluster.sh) in a temporary directory, loads
# tests/integration/sample.sql into database "src" of the source, then runs the cases below,
# each against fresh target databases, and proves every copy with compare.sh (plain SQL,
# independent of pgsluice). Prints TAP-style "ok N - name" / "not ok N - name" lines, the tail
# of the log of each failing case, and at the end "N passed, M failed"; exits 1 if any case
# failed, 2 if the suite could not start. Both clusters are stopped and the temporary directory
# removed on any exit (set PGSLUICE_IT_KEEP=1 to keep the directory and its logs).
#
# Run by ctest (label integration) or by hand:  tests/integration/run.sh build/pgsluice
# PGSLUICE_IT_CASES="a c g" runs only those cases (letters as below); PGSLUICE_IT_TIMEOUT limits
# each pgsluice run (seconds, default 180), PGSLUICE_IT_DEADLINE the whole suite (default 1200).
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: run.sh PGSLUICE_BINARY" >&2
  exit 2
fi
here=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -P -- "$here/../.." && pwd)
bin=$1
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
  echo "run.sh: \"$bin\" is not an executable pgsluice binary" >&2
  exit 2
fi

# shellcheck disable=SC1091  # tools/pgcluster.sh, found at run time
. "$repo/tools/pgcluster.sh"
bindir=$(pgcluster_bindir) || exit 2
psql_bin=$bindir/psql
pg_dump_bin=$bindir/pg_dump
if [ ! -x "$psql_bin" ]; then psql_bin=$(command -v psql) || exit 2; fi
if [ ! -x "$pg_dump_bin" ]; then pg_dump_bin=$(command -v pg_dump) || exit 2; fi
compare=$here/compare.sh
python=$(command -v python3 || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-it.XXXXXX") || exit 2
chmod 0711 "$tmp"            # the cluster owner (postgres, when run as root) must reach it
src_dir=$tmp/source
dst_dir=$tmp/target
src_port=54401
dst_port=54402
logs=$tmp/logs
mkdir -p "$logs"

case_pid=""

# kill_tree PID: ends a process and everything it started, children first.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    kill_tree "$child"
  done
  kill "$1" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$case_pid" ]; then
    kill_tree "$case_pid"
    wait "$case_pid" 2>/dev/null
  fi
  pgcluster_stop "$src_dir" >/dev/null 2>&1 || true
  pgcluster_stop "$dst_dir" >/dev/null 2>&1 || true
  local extra
  if [ -f "$tmp/extra-clusters" ]; then
    while read -r extra; do pgcluster_stop "$extra" >/dev/null 2>&1 || true; done <"$tmp/extra-clusters"
  fi
  if [ "${PGSLUICE_IT_KEEP:-0}" = 1 ]; then
    echo "# kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# check_summary_names: every table of $case_dir/tables.json appears in $case_dir/out, by its
# name, its quoted name, or (for a name with control characters) an escaped form of it.
check_summary_names() {
  [ -n "$python" ] || { echo "no python3: summary names not checked"; return 0; }
  "$python" - "$case_dir/tables.json" "$case_dir/out" <<'EOF' || fail "the summary does not name every table"
import json, re, sys
tables = json.load(open(sys.argv[1], encoding="utf-8"))
out = open(sys.argv[2], encoding="utf-8", errors="replace").read()
missing = []
for schema, name, qname in tables:
    forms = {name, qname, qname.split(".", 1)[1] if qname.count(".") == 1 else qname}
    for form in list(forms):
        forms.add(form.encode("unicode_escape").decode("ascii"))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", "\\\\n", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", " ", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", "?", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", ".", form))
    if not any(f in out for f in forms):
        missing.append(schema + "." + name)
for m in missing:
    print("summary does not name table %r" % m)
print("summary names %d of %d tables" % (len(tables) - len(missing), len(tables)))
sys.exit(1 if missing else 0)
EOF
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

# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

case_a() {   # parallel clone with small chunks into an empty database, every table split
  create_dst dst_a
  tables_json src
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_a)" --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone exited with status $?"
  check_summary_names
  expect_identical src dst_a
  # compare.sh leaves the state schema out: a finished clone must have removed it
  [ "$(psql_dst dst_a -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the finished clone left its pgsluice schema"
}

case_b() {   # one job, default chunk size
  create_dst dst_b
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_b)" --jobs 1 \
    || fail "pgsluice clone exited with status $?"
  expect_identical src dst_b
}

case_c() {   # --data-only into a schema made beforehand
  schema_copy src dst_c
  [ "$(psql_dst dst_c -c 'SELECT count(*) FROM k_bigint')" = 0 ] || fail "the target schema copy holds rows"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_c)" --data-only --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone --data-only exited with status $?"
  expect_identical src dst_c
}

case_d() {   # a target table that already holds a row: refused, then --truncate
  local status=0 left
  schema_copy src dst_d
  psql_dst dst_d -c "INSERT INTO k_uuid VALUES ('12345678-1234-1234-1234-123456789abc', 'pre-existing row')" \
    || fail "could not insert the pre-existing row"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_d)" --data-only --jobs 2 --chunk-size 1MB \
    || status=$?
  [ "$status" -ne 0 ] || fail "pgsluice clone --data-only into a non-empty table exited 0"
  grep -q 'k_uuid' "$case_dir/err" || fail "the error does not name the table k_uuid"
  # the cause on the error line, the fix apart on its own hint line
  grep -q '^pgsluice: error: .*refused before it writes anything' "$case_dir/err" || fail "no error line says the clone was refused"
  grep -q '^pgsluice: hint: Each is listed above with its fix' "$case_dir/err" || fail "no hint line follows the error"
  left=$(psql_dst dst_d -c "SELECT count(*) FROM k_uuid WHERE v = 'pre-existing row'")
  [ "$left" = 1 ] || fail "the pre-existing row is gone ($left left)"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_d)" --data-only --truncate --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone --data-only --truncate exited with status $?"
  expect_identical src dst_d
}

case_e() {   # a target that already has the schema, without --data-only: refused, nothing changed
  local status=0
  schema_copy src dst_e
  psql_dst dst_e -c "INSERT INTO empty_t VALUES (1, 'marker')" || fail "could not insert the marker row"
  # (\restrict lines hold a random key that differs at every pg_dump run)
  "$pg_dump_bin" -d "$(dst_conn dst_e)" | grep -v '^\\\(un\)\{0,1\}restrict ' \
    >"$case_dir/before.sql" || fail "pg_dump of the target failed"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_e)" --jobs 2 || status=$?
  [ "$status" -ne 0 ] || fail "pgsluice clone into a database with the schema exited 0"
  grep -qiE 'exist|already|not empty|data-only' "$case_dir/err" \
    || fail "the error does not say that the target already has the schema"
  "$pg_dump_bin" -d "$(dst_conn dst_e)" | grep -v '^\\\(un\)\{0,1\}restrict ' \
    >"$case_dir/after.sql" || fail "pg_dump of the target failed"
  diff -u "$case_dir/before.sql" "$case_dir/after.sql" | head -n 40
  cmp -s "$case_dir/before.sql" "$case_dir/after.sql" || fail "the target changed"
}

case_f() {   # bad connections: one-line error, fast, no password shown
  local status start secs port password=s3cr3t-xyz
  create_dst dst_f
  port=$(closed_port)

  echo "== source: no such socket directory"
  status=0; start=$(now)
  sluice clone --source "host=/nonexistent port=1 user=postgres dbname=src password=$password" \
    --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 3 ] || fail "exit status $status, not 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  echo "== source: a connection string libpq cannot parse"
  status=0; start=$(now)
  sluice clone --source "dbname=src password=$password port" --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 2 ] || [ "$status" -eq 3 ] || fail "exit status $status, not 2 (bad usage) or 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  echo "== target: no such database"
  status=0; start=$(now)
  sluice clone --source "$(src_conn src) password=$password" \
    --target "$(dst_conn no_such_database) password=$password" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 4 ] || fail "exit status $status, not 4 (target error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error target "$password"

  echo "== target: nothing listens on 127.0.0.1:$port"
  status=0; start=$(now)
  sluice clone --source "$(src_conn src)" \
    --target "host=127.0.0.1 port=$port user=postgres dbname=dst_f password=$password" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 4 ] || fail "exit status $status, not 4 (target error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error target "$password"

  echo "== source: nothing listens on 127.0.0.1:$port, URI with a password"
  status=0; start=$(now)
  sluice clone --source "postgresql://postgres:$password@127.0.0.1:$port/src" \
    --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 3 ] || fail "exit status $status, not 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  # Nothing of the failed runs may be left in the target database.
  [ "$(psql_dst dst_f -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'pgsluice')")" = 0 ] \
    || fail "a failed run left objects in the target database"
}

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

# kill_copies SIDE DB CHUNK_SIZE MAX_KILLS [ARGS...]: runs pgsluice clone --data-only from
# database slow into target database DB, and while it runs terminates the backends on SIDE
# (source or target) whose query is a COPY, at most MAX_KILLS of them; leaves pgsluice's exit
# status in $status and the number of backends terminated in $kills.
kill_copies() {
  local side=$1 db=$2 chunk_size=$3 max_kills=$4 pid deadline n
  local -a killer
  shift 4
  status=0
  kills=0
  if [ "$side" = source ]; then killer=(psql_src slow); else killer=(psql_dst "$db"); fi
  echo "+ pgsluice clone --data-only --keep-record --jobs 2 --chunk-size $chunk_size $* (killing up to $max_kills $side COPY backends)"
  timeout --kill-after=10 "${PGSLUICE_IT_TIMEOUT:-180}" "$bin" clone --source "$(src_conn slow)" \
    --target "$(dst_conn "$db")" --data-only --keep-record --jobs 2 --chunk-size "$chunk_size" "$@" \
    >"$case_dir/out" 2>"$case_dir/err" &
  pid=$!
  deadline=$(( $(date +%s) + 120 ))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$kills" -lt "$max_kills" ]; then
      n=$("${killer[@]}" -c "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity
                              WHERE datname = current_database() AND pid <> pg_backend_pid()
                                AND backend_type = 'client backend'
                                AND query ~* '^\\s*(/\\*.*?\\*/\\s*)?copy\\M' LIMIT 1) p" 2>/dev/null) || n=0
      kills=$((kills + ${n:-0}))
    fi
    sleep 0.3
  done
  wait "$pid" || status=$?
  echo "--- stdout"; cat "$case_dir/out"
  echo "--- stderr"; cat "$case_dir/err"
  echo "--- exit status $status after $kills terminated $side backends"
  [ "$kills" -gt 0 ] || fail "no $side COPY backend was caught while pgsluice ran (exit $status)"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then fail "pgsluice did not finish in time"; fi
}

# expect_chunks_done DB: every chunk of every run in DB's record is done, none twice.
expect_chunks_done() {
  local left
  left=$(psql_dst "$1" -c "SELECT count(*) FILTER (WHERE status <> 'done') || '/' || count(*) FROM pgsluice.chunk") \
    || fail "could not read the chunk records of $1"
  echo "chunks not done / all: $left"
  [ "${left%%/*}" = 0 ] && [ "${left#*/}" -gt 0 ] || fail "chunks of $1 are not all done: $left"
}

case_g() {   # backends killed mid-chunk: retried on new connections; with --retries 0, the run fails
  local side size
  for side in target source; do
    slow_setup "slow_dst_$side"
    # on the source, one chunk larger than a worker's pipe (4 MB), so that the source is still
    # sending while the slowed target loads
    size=2MB
    [ "$side" = target ] || size=64MB
    kill_copies "$side" "slow_dst_$side" "$size" 2
    [ "$status" -eq 0 ] || fail "pgsluice exited $status although only $kills $side backends were terminated"
    grep -q 'retrying (attempt 2' "$case_dir/err" || fail "pgsluice did not say that it retried"
    expect_identical slow "slow_dst_$side"
    expect_chunks_done "slow_dst_$side"
  done
  slow_setup slow_dst_none
  kill_copies target slow_dst_none 2MB 1000 --retries 0
  [ "$status" -ne 0 ] || fail "pgsluice --retries 0 exited 0 although $kills target COPY backends were terminated"
  grep -q 'slow_t' "$case_dir/err" || fail "the error does not name the table slow_t"
  grep -qi 'chunk' "$case_dir/err" || fail "the error does not name the chunk"
  grep -q -- '--resume' "$case_dir/err" || fail "the error does not say how to resume"
}

case_j() {   # libpq's COPY functions, the path TLS connections take
  create_dst dst_j
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_j)" --jobs 2 --chunk-size 1MB \
    --no-direct-copy || fail "pgsluice clone --no-direct-copy exited with status $?"
  expect_identical src dst_j
}

case_k() {   # verify: a clone is identical; each difference made on the target alone is found
  local change name pattern status
  create_dst dst_k
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_k)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone exited with status $?"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice verify of a fresh clone exited with status $? (want 0)"
  grep -q 'identical' "$case_dir/out" || fail "verify did not say identical"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k)" --no-direct-copy --counts \
    || fail "pgsluice verify --counts --no-direct-copy exited with status $? (want 0)"

  # name^SQL run on a copy of the target^texts the report must hold, separated by ~. The chunk
  # size alternates: at 1MB the keyed tables are read whole, and one that differs is checked
  # again by its chunks; at 64kB most are too large to be read whole and go by key ranges.
  local n=0 split=0 ranged=0 size
  while IFS='^' read -r name change patterns; do
    [ -n "$name" ] || continue
    psql_dst postgres -c "DROP DATABASE IF EXISTS dst_k_changed" \
      -c "CREATE DATABASE dst_k_changed TEMPLATE dst_k" || fail "could not copy dst_k"
    psql_dst dst_k_changed -c "$change" >/dev/null || fail "could not apply change $name"
    status=0
    size=1MB
    [ $((n % 2)) -eq 0 ] || size=64kB
    n=$((n + 1))
    sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k_changed)" --jobs 2 \
      --chunk-size "$size" --progress-interval 0 -v || status=$?
    [ "$status" -eq 1 ] || fail "change $name (--chunk-size $size): verify exited with status $status (want 1)"
    IFS='~' read -r -a wanted <<<"$patterns"
    for pattern in "${wanted[@]}"; do
      grep -qF -- "$pattern" "$case_dir/out" || fail "change $name: the report does not say \"$pattern\""
    done
    grep -q 'differs: checking its [0-9]* chunks' "$case_dir/err" && split=$((split + 1))
    grep -Eq '\] pgsluice: chunk [0-9]+ of table .*\((.* AND .*|.*[<>].*)\) differs: ' "$case_dir/err" \
      && ranged=$((ranged + 1))
  done <<'CHANGES'
trailing space^UPDATE public.k_bigint SET payload = payload || ' ' WHERE id = 7^table public.k_bigint chunk~changed: (id)=(7): column payload: 64 bytes of text on the source, 65 on the target, first different at byte 64
minus zero to zero^UPDATE public.types_all SET c_double = '0' WHERE c_double::text = '-0'^column c_double: -0 on the source, 0 on the target
a NaN^UPDATE public.types_all SET c_double = 'NaN' WHERE id = 2^changed: (id)=(2): column c_double: 1.7976931348623157e+308 on the source, NaN on the target
one byte of a 10 MB value^UPDATE public.big_values SET b = set_byte(b, 5000000, (get_byte(b, 5000000) + 1) % 256) WHERE id = 1^changed: (id)=(1): column b: 22020099 bytes of text on the source, 22020099 on the target, first different at byte 1000000
a row deleted^DELETE FROM public.k_bigint WHERE id = 9223372036854775807^missing on the target: (id)=(9223372036854775807)
a row inserted^INSERT INTO public.k_bigint (id, n, payload) VALUES (-999999999999, 1, 'new')^extra on the target: (id)=(-999999999999)
a duplicate removed^DELETE FROM public.nokey WHERE ctid = (SELECT min(ctid) FROM public.nokey WHERE a = 5)^table public.nokey chunk 1~missing on the target: (a, b, c)=(5, dup e4da3b7fbbce2345d7772b0674a318d5
a row moved between partitions^UPDATE public.measurement SET city_id = 1 WHERE id = (SELECT min(id) FROM part_other.measurement_2022_c34)^table part_other.measurement_2022_c34 chunk 1~missing on the target: (id, logdate, city_id)=(~table public.measurement_2022_c12 chunk~extra on the target: (id, logdate, city_id)=(
a sequence behind^SELECT setval('public.seq_advanced', 1)^sequence public.seq_advanced is at
a missing table^DROP TABLE public.k_text CASCADE^table public.k_text is missing on the target
a column of another type^ALTER TABLE public.big_values ALTER COLUMN id TYPE bigint^column id of table public.big_values is of type integer on the source, bigint on the target
CHANGES
  [ "$split" -ge 2 ] || fail "only $split changes were found in a table read whole (want 2 or more)"
  [ "$ranged" -ge 2 ] || fail "only $ranged changes were found in a key range read as such (want 2 or more)"

  # --max-diffs: 200 rows deleted, 5 named, then the pass stops
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_k_changed" \
    -c "CREATE DATABASE dst_k_changed TEMPLATE dst_k" || fail "could not copy dst_k"
  psql_dst dst_k_changed -c "DELETE FROM public.k_bigint WHERE id % 250 = 3" >/dev/null || fail "could not delete rows"
  status=0
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k_changed)" --jobs 2 \
    --chunk-size 1MB --max-diffs 5 --json "$case_dir/verify.json" || status=$?
  [ "$status" -eq 1 ] || fail "--max-diffs 5: verify exited with status $status (want 1)"
  [ "$(grep -c '^  missing on the target: (id)=(' "$case_dir/out")" -eq 5 ] \
    || fail "--max-diffs 5: the report does not name exactly 5 rows"
  "$python" - "$case_dir/verify.json" <<'EOF' || fail "--max-diffs 5: the JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
rows = [d for c in r["chunks"] for d in c.get("rows", [])]
assert r["rows_different"] == 5 and len(rows) == 5 and r["rows_truncated"], r
assert all(d["kind"] == "missing" and d["key"].startswith("(id)=(") for d in rows), rows
EOF
}

case_l() {   # verify: no false difference in 20 runs over tables stored in other orders
  local i status sizes=(1MB 256kB 64MB 2MB)
  create_dst dst_l
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_l)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone exited with status $?"
  # Rewrite half the rows of every table in place: the same data, on other pages, in another order.
  psql_dst dst_l >/dev/null <<'SQL' || fail "could not reorder the target's rows"
SET session_replication_role = replica;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS t, a.attname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN LATERAL (SELECT attname FROM pg_attribute
                         WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
                           AND attidentity <> 'a' AND attgenerated = ''
                         ORDER BY attnum LIMIT 1) a ON true
           WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  LOOP
    EXECUTE format('UPDATE ONLY %s SET %I = %I WHERE random() < 0.5', r.t, r.attname, r.attname);
  END LOOP;
END $$;
VACUUM;
SQL
  for i in $(seq 1 20); do
    status=0
    sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_l)" --jobs 2 \
      --chunk-size "${sizes[$((i % 4))]}" --progress-interval 0 || status=$?
    [ "$status" -eq 0 ] || fail "run $i (--chunk-size ${sizes[$((i % 4))]}): verify exited with status $status (want 0)"
  done
}

case_m() {   # clone --verify: reads only the target, and finds a row the target changed
  create_dst dst_m
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_m)" --jobs 2 --chunk-size 1MB \
    --verify --keep-record --json "$case_dir/clone.json" || fail "pgsluice clone --verify exited with status $? (want 0)"
  grep -q 'reading the target against the digests' "$case_dir/err" || fail "the verify pass read the source"
  grep -q 'identical' "$case_dir/out" || fail "clone --verify did not say identical"
  [ "$(psql_dst dst_m -c "SELECT count(*) FILTER (WHERE target_digest IS DISTINCT FROM source_digest)
                          || '/' || count(target_digest) FROM pgsluice.chunk WHERE method <> 'ctid'")" \
    = "0/$(psql_dst dst_m -c "SELECT count(*) FROM pgsluice.chunk WHERE method <> 'ctid'")" ] \
    || fail "the chunk records do not hold the target digests the verification read"
  "$python" - "$case_dir/clone.json" <<'EOF' || fail "the JSON report of clone --verify is wrong"
import json, sys
v = json.load(open(sys.argv[1]))["verify"]
assert v["result"] == "identical" and v["target_only"] and v["chunks_different"] == 0, v
assert v["chunks_checked"] > 40 and v["rows_target"] == v["rows_source"] > 0, v
EOF
  # A trigger that fires even for replication-role sessions changes one row as it is loaded.
  schema_copy src dst_m2
  psql_dst dst_m2 >/dev/null <<'SQL' || fail "could not add the trigger"
CREATE FUNCTION public.tamper() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN IF NEW.id = 7 THEN NEW.payload := upper(NEW.payload); END IF; RETURN NEW; END $$;
CREATE TRIGGER tamper BEFORE INSERT ON public.k_bigint FOR EACH ROW EXECUTE FUNCTION public.tamper();
ALTER TABLE public.k_bigint ENABLE ALWAYS TRIGGER tamper;
SQL
  status=0
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_m2)" --jobs 2 --chunk-size 1MB \
    --data-only --verify || status=$?
  [ "$status" -eq 6 ] || fail "clone --verify of a changed copy exited with status $status (want 6)"
  grep -qF 'changed: (id)=(7): column payload: 8f14e45fceea167a5a36dedd4bea2543aab3238922bcc25a6f606eb525ffdc56 on the source, 8F14E45FCEEA167A5A36DEDD4BEA2543AAB3238922BCC25A6F606EB525FFDC56 on the target' \
    "$case_dir/out" || fail "clone --verify did not name the changed row"
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

# wait_log TEXT: waits until the background clone's stderr says TEXT; fails if it ends first.
wait_log() {
  local deadline=$(( $(date +%s) + 120 ))
  until grep -qF -- "$1" "$case_dir/err"; do
    kill -0 "$clone_pid" 2>/dev/null || { cat "$case_dir/err"; fail "the clone ended before saying: $1"; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for the clone to say: $1"
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

case_n() {   # killed (SIGKILL) early, mid-data, during post-data, interrupted (SIGINT): resumed
  local moment status
  big_setup
  while IFS='|' read -r moment sql; do
    create_dst "big_$moment"
    start_clone "big_$moment" --jobs 2 --chunk-size 2MB
    wait_for "big_$moment" "$sql"
    kill -KILL -- "-$clone_pid"
    wait "$clone_pid" 2>/dev/null
    echo "--- killed at moment $moment"; cat "$case_dir/err"
    resume "big_$moment"
  done <<'MOMENTS'
early|SELECT count(*) > 0 FROM pgsluice.run
data|SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'
post|SELECT step = 'post-data' FROM pgsluice.run
MOMENTS

  create_dst big_int
  start_clone big_int --jobs 2 --chunk-size 2MB
  wait_for big_int "SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'"
  kill -INT "$clone_pid"
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 5 ] || fail "an interrupted clone exited with status $status (want 5)"
  grep -q 'to go on: pgsluice clone --resume 1 ' "$case_dir/err" || fail "the interrupted clone did not print how to resume"
  [ "$(psql_dst big_int -c "SELECT status FROM pgsluice.run")" = interrupted ] || fail "the run is not recorded as interrupted"
  resume big_int

  # a finished run: nothing to do; another source: refused
  sluice clone --resume last --source "$(src_conn big)" --target "$(dst_conn big_int)" \
    || fail "resuming a finished run exited with status $?"
  grep -q 'is complete: there is nothing to resume' "$case_dir/err" || fail "resuming a finished run did not say so"
  status=0
  sluice clone --resume last --source "$(src_conn src)" --target "$(dst_conn big_int)" || status=$?
  [ "$status" -eq 2 ] || fail "resuming from another source exited with status $status (want 2)"
  grep -q 'was copying from another source' "$case_dir/err" || fail "resuming from another source did not say why"
}

case_o() {   # the target restarted mid-run (pg_ctl restart -m fast): retried; a permanent error stops at once
  local status t0
  big_setup
  create_dst big_restart
  start_clone big_restart --jobs 2 --chunk-size 2MB
  wait_for big_restart "SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'"
  echo "+ restarting the target"
  pgcluster_restart "$dst_dir" || fail "could not restart the target"
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone exited with status $status across a target restart (want 0)"
  grep -q 'retrying' "$case_dir/err" || fail "the clone did not say that it retried"
  expect_identical big big_restart
  expect_chunks_done big_restart

  # a target column of another type: refused before any row moves, naming both types
  schema_copy big big_type
  psql_dst big_type -c "ALTER TABLE public.big ALTER COLUMN n TYPE bigint" >/dev/null || fail "could not change the column"
  t0=$(now)
  status=0
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_type)" --data-only || status=$?
  [ "$status" -eq 4 ] || fail "a target column of another type: exit status $status (want 4)"
  awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a < 10) }' || fail "the permanent error took 10 s or more"
  grep -q 'column n of table public.big is of type bigint on the target, integer on the source' "$case_dir/err" \
    || fail "the error does not name the table, the column and both types"
  grep -q "fix: make the target.s tables match the source.s" "$case_dir/err" || fail "the error does not say the fix"
}

case_p() {   # three processes on one run, the first one killed mid-run: the others and a resume finish it
  local w1 w2 status workers
  big_setup
  create_dst big_multi
  start_clone big_multi --jobs 1 --chunk-size 2MB
  wait_for big_multi "SELECT count(*) > 0 FROM pgsluice.chunk"
  "$bin" worker --target "$(dst_conn big_multi)" --run last --jobs 1 --progress-interval 0 \
    >"$case_dir/w1.out" 2>"$case_dir/w1.err" &
  w1=$!
  "$bin" worker --target "$(dst_conn big_multi)" --run last --jobs 1 --progress-interval 0 \
    >"$case_dir/w2.out" 2>"$case_dir/w2.err" &
  w2=$!
  wait_for big_multi "SELECT count(DISTINCT split_part(worker, '/', 2)) >= 3 FROM pgsluice.chunk"
  "$bin" status --target "$(dst_conn big_multi)" >"$case_dir/status.out" || fail "pgsluice status failed"
  cat "$case_dir/status.out"
  grep -q '^chunks: [0-9]* in all: [0-9]* done, [0-9]* in flight' "$case_dir/status.out" || fail "status does not show the chunks"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null
  for pid in "$w1" "$w2"; do
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || { cat "$case_dir"/w*.err; fail "a worker exited with status $status"; }
  done
  cat "$case_dir/w1.err" "$case_dir/w2.err"
  # the state schema exists when they join: its "already exists" notices are for -v alone
  ! grep -q 'NOTICE' "$case_dir/w1.err" "$case_dir/w2.err" || fail "a server's notices reached stderr"
  resume big_multi
  workers=$(psql_dst big_multi -c "SELECT count(DISTINCT split_part(worker, '/', 2)) FROM pgsluice.chunk")
  echo "processes that copied chunks: $workers"
  [ "$workers" -ge 3 ] || fail "only $workers processes copied chunks"
}

# bad_restore NAME PATTERN: restores the damaged copy $case_dir/bad into a new database; it must
# exit 2 with PATTERN in its error and leave the target as it was (no table, no run record).
bad_restore() {
  local status=0
  create_dst dst_q_bad
  sluice restore --dir "$case_dir/bad" --target "$(dst_conn dst_q_bad)" --jobs 2 || status=$?
  [ "$status" -eq 2 ] || fail "$1: restore exited with status $status (want 2)"
  grep -qF -- "$2" "$case_dir/err" || fail "$1: the error does not say \"$2\""
  [ "$(psql_dst dst_q_bad -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')")" = 0 ] \
    || fail "$1: restore wrote to the target before refusing"
}

# damaged_copy: $case_dir/bad, a fresh copy of the dump; $chunk, the name of its 7th chunk file.
damaged_copy() {
  rm -rf "$case_dir/bad"
  cp -a "$case_dir/dump" "$case_dir/bad" || fail "could not copy the dump"
  chunk=$(cd "$case_dir/bad" && ls chunk-*.pgsl | sed -n 7p)
}

case_q() {   # dump, then restore: identical; a damaged dump refused before anything is written; ENOSPC
  local d=$case_dir/dump status chunk
  rm -rf "$d" "$case_dir/other"
  sluice dump --source "$(src_conn src)" --dir "$d" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice dump exited with status $?"
  [ "$(stat -c %a "$d")" = 700 ] || fail "the dump directory's mode is $(stat -c %a "$d"), not 700"
  [ -z "$(find "$d" -type f ! -perm 600)" ] || fail "files in the dump are not 0600: $(find "$d" -type f ! -perm 600)"
  "$python" -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["chunks"] and m["tables"], m' \
    "$d/manifest.json" || fail "the manifest is not JSON with tables and chunks"
  [ -s "$d/schema.dump" ] || fail "the dump lacks its schema"
  create_dst dst_q
  sluice restore --dir "$d" --target "$(dst_conn dst_q)" --jobs 2 --keep-record || fail "pgsluice restore exited with status $?"
  expect_identical src dst_q
  expect_chunks_done dst_q

  damaged_copy
  printf 'Z' | dd of="$case_dir/bad/$chunk" bs=1 seek=300 count=1 conv=notrunc status=none
  bad_restore "a flipped byte" "chunk file \"$case_dir/bad/$chunk\""
  damaged_copy
  truncate -s -100 "$case_dir/bad/$chunk"
  bad_restore "a truncated file" "chunk file \"$case_dir/bad/$chunk\""
  damaged_copy
  rm "$case_dir/bad/$chunk"
  bad_restore "a missing chunk" "chunk file \"$case_dir/bad/$chunk\" of table"
  sluice dump --source "$(src_conn src)" --dir "$case_dir/other" --jobs 2 --chunk-size 1MB \
    || fail "the second pgsluice dump exited with status $?"
  damaged_copy
  cp "$case_dir/other/manifest.json" "$case_dir/bad/manifest.json"
  bad_restore "a manifest from another dump" "belongs to another dump"
  damaged_copy
  rm "$case_dir/bad/manifest.json"
  bad_restore "not a dump" "is not a pgsluice dump"

  # a restore killed (SIGKILL) mid-data, then resumed
  big_setup
  rm -rf "$case_dir/big"
  sluice dump --source "$(src_conn big)" --dir "$case_dir/big" --jobs 2 --chunk-size 2MB \
    || fail "pgsluice dump of big exited with status $?"
  create_dst big_restored
  echo "+ pgsluice restore --dir big --target big_restored &"
  setsid "$bin" restore --dir "$case_dir/big" --target "$(dst_conn big_restored)" --jobs 2 \
    --progress-interval 0 >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
  wait_for big_restored "SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null
  sluice restore --resume last --dir "$case_dir/big" --target "$(dst_conn big_restored)" --jobs 2 \
    --keep-record || fail "pgsluice restore --resume exited with status $?"
  grep -q '([1-9][0-9]* before)' "$case_dir/out" || fail "the resumed restore did not skip the chunks loaded before"
  expect_identical big big_restored
  expect_chunks_done big_restored

  # a full disk: a 4 MB tmpfs in a mount namespace of the dump's own
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mkdir -p "$case_dir/small"
    status=0
    unshare -m sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && "$@"; s=$?; ls "$0/d" >"$0.ls"; exit $s' \
      "$case_dir/small" "$case_dir/small" "$bin" dump --source "$(src_conn src)" --dir "$case_dir/small/d" \
      --jobs 2 --chunk-size 1MB >"$case_dir/out" 2>"$case_dir/err" || status=$?
    cat "$case_dir/err"
    [ "$status" -eq 1 ] || fail "a dump onto a full disk exited with status $status (want 1)"
    grep -q 'No space left on device' "$case_dir/err" || fail "the error does not say the disk is full"
    grep -q 'the dump needs about [0-9]* MB more' "$case_dir/err" || fail "the error does not say how much space is needed"
    echo "left in the directory: $(tr '\n' ' ' <"$case_dir/small.ls")"
    ! grep -q -e '\.part$' -e manifest "$case_dir/small.ls" || fail "the full disk left a partial file or a manifest behind"
  else
    echo "# skipped the full-disk dump: it needs root and mount namespaces"
  fi

  # a database in SQL_ASCII whose table name and values are not UTF-8: the manifest and the
  # JSON report are still valid JSON, and the restore gives back the same name and rows
  psql_src postgres -c "DROP DATABASE IF EXISTS ascii_src" \
    -c "CREATE DATABASE ascii_src ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE 'C'" >/dev/null \
    || fail "could not create database ascii_src"
  printf 'CREATE TABLE "caf\351" (id int PRIMARY KEY, v text);
          INSERT INTO "caf\351" SELECT g, '"'"'\351t\351 '"'"' || g FROM generate_series(1, 1000) AS g;\n' \
    | PGCLIENTENCODING=SQL_ASCII psql_src ascii_src || fail "could not fill database ascii_src"
  psql_dst postgres -c "DROP DATABASE IF EXISTS ascii_dst" \
    -c "CREATE DATABASE ascii_dst ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE 'C'" >/dev/null \
    || fail "could not create database ascii_dst"
  rm -rf "$case_dir/ascii"
  sluice dump --source "$(src_conn ascii_src)" --dir "$case_dir/ascii" \
    || fail "pgsluice dump of a SQL_ASCII database exited with status $?"
  sluice restore --dir "$case_dir/ascii" --target "$(dst_conn ascii_dst)" \
    || fail "pgsluice restore of a SQL_ASCII dump exited with status $?"
  expect_identical ascii_src ascii_dst
  sluice verify --source "$(src_conn ascii_src)" --target "$(dst_conn ascii_dst)" --json "$case_dir/ascii.json" \
    || fail "pgsluice verify of the SQL_ASCII databases exited with status $?"
  if [ -n "$python" ]; then
    "$python" - "$case_dir/ascii/manifest.json" "$case_dir/ascii.json" <<'PY' || fail "the manifest or the report is not valid JSON, or lost the name"
import json, sys
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("ascii")   # every byte that is not UTF-8 is escaped
    assert "caf\\udce9" in text, path
    json.loads(text)
print("manifest and report: valid JSON, the name escaped as caf\\udce9")
PY
  fi
}

case_r() {   # clone --spill: identical, files gone; --keep-spill, --spill-limit; killed and resumed; a chunk held elsewhere
  local d=$case_dir/spill files chunks held holder gate status
  rm -rf "$d" "$case_dir/spill2" "$case_dir/spill3"
  create_dst dst_r
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_r)" --spill "$d" --jobs 2 --load-jobs 1 \
    --chunk-size 1MB --keep-record || fail "pgsluice clone --spill exited with status $?"
  expect_identical src dst_r
  expect_chunks_done dst_r
  grep -q 'source snapshot released' "$case_dir/err" || fail "the clone did not say it released the snapshot"
  grep -q '^spill: every chunk read' "$case_dir/out" || fail "the summary says nothing of the spill"
  [ "$(stat -c %a "$d")" = 700 ] || fail "the spill directory's mode is $(stat -c %a "$d"), not 700"
  [ -z "$(ls -A "$d")" ] || fail "the spill directory was not emptied: $(ls -R "$d")"

  # --keep-spill with a limit of two chunks' files: readers wait for the loader
  big_setup
  create_dst big_spill
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_spill)" --spill "$d" --keep-spill \
    --spill-limit 3MB --jobs 2 --load-jobs 1 --chunk-size 2MB --json "$case_dir/r.json" --keep-record \
    || fail "pgsluice clone --spill --keep-spill exited with status $?"
  expect_identical big big_spill
  expect_chunks_done big_spill
  files=$(find "$d/run-1" -name 'chunk-*.pgsl' -perm 600 | wc -l)
  chunks=$(psql_dst big_spill -c "SELECT count(*) FROM pgsluice.chunk")
  echo "chunk files kept: $files of $chunks"
  [ "$files" -eq "$chunks" ] || fail "--keep-spill kept $files files (mode 600) of $chunks chunks"
  "$python" - "$case_dir/r.json" "$d/run-1" <<'PY' || fail "the spill went past its limit, or the report lacks it"
import json, os, sys
s = json.load(open(sys.argv[1]))["spill"]
biggest = max(os.path.getsize(os.path.join(sys.argv[2], f)) for f in os.listdir(sys.argv[2]))
print("peak on disk %d bytes, limit %d, largest file %d; snapshot released: %s"
      % (s["peak_bytes"], s["limit"], biggest, s["snapshot_released"]))
# readers wait before a new chunk at the limit: at most two chunks (--jobs 2) get past it
assert 0 < s["peak_bytes"] <= s["limit"] + 2 * biggest, s
assert s["snapshot_released"] and s["seconds_read"] > 0, s
PY
  # another target's run 1 may not reuse the kept files
  create_dst big_spill_other
  status=0
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_spill_other)" --spill "$d" || status=$?
  [ "$status" -eq 2 ] || fail "a run into a spill directory holding another run's files exited $status (want 2)"
  grep -q 'holds files of another run' "$case_dir/err" || fail "the refusal does not say why"

  # killed (SIGKILL) mid-data, then resumed through the spill directory
  create_dst big_spill_kill
  start_clone big_spill_kill --spill "$case_dir/spill2" --jobs 2 --load-jobs 1 --chunk-size 2MB
  wait_for big_spill_kill "SELECT count(*) >= 10 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null
  sluice clone --resume last --source "$(src_conn big)" --target "$(dst_conn big_spill_kill)" \
    --spill "$case_dir/spill2" --jobs 2 --progress-interval 0 --keep-record \
    || fail "pgsluice clone --resume --spill exited with status $?"
  grep -q '([1-9][0-9]* done before)' "$case_dir/err" || fail "the resumed clone did not skip the chunks loaded before"
  expect_identical big big_spill_kill
  expect_chunks_done big_spill_kill
  [ -z "$(ls -A "$case_dir/spill2")" ] || fail "the resumed run left files: $(ls -R "$case_dir/spill2")"

  # a chunk another process holds from the start until after the snapshot is released, then
  # gives back: loaded from its file.  A session holds its record, as a process copying it
  # would, until the advisory lock that the gate session holds is let go.
  create_dst big_spill_held
  psql_dst big_spill_held -c "SELECT pg_advisory_lock(4242), pg_sleep(600)" >/dev/null 2>&1 &
  gate=$!
  clone_pid=$gate
  wait_for big_spill_held "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
  psql_dst big_spill_held >"$case_dir/held.out" 2>&1 <<'SQL' &
DO $$
DECLARE n int;
BEGIN
  LOOP  -- the chunk the readers come to last, as soon as the run has recorded its chunks
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
               WHERE s.nspname = 'pgsluice' AND c.relname = 'chunk') THEN
      EXECUTE 'SELECT chunk_no FROM pgsluice.chunk WHERE status = ''pending''
               ORDER BY est_bytes, chunk_no DESC LIMIT 1 FOR UPDATE SKIP LOCKED' INTO n;
      EXIT WHEN n IS NOT NULL;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RAISE NOTICE 'holding chunk %', n;
  PERFORM pg_advisory_lock(4242);
  RAISE EXCEPTION 'giving chunk % back', n;
END $$;
SQL
  holder=$!
  start_clone big_spill_held --spill "$case_dir/spill3" --jobs 2 --load-jobs 1 --chunk-size 2MB
  wait_log 'source snapshot released'
  wait_log 'another process is copying its chunk'
  psql_dst big_spill_held -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                              WHERE query LIKE '%pg_advisory_lock(4242), pg_sleep%' AND pid <> pg_backend_pid()" \
    >/dev/null || fail "could not end the gate session"
  wait "$gate" "$holder"
  cat "$case_dir/held.out"
  held=$(sed -n 's/.*giving chunk \([0-9]*\) back.*/\1/p' "$case_dir/held.out")
  [ -n "$held" ] || fail "the session did not hold a chunk"
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone with a chunk held elsewhere exited with status $status"
  expect_identical big big_spill_held
  expect_chunks_done big_spill_held
  [ "$(psql_dst big_spill_held -c "SELECT worker LIKE '%/load-%' FROM pgsluice.chunk WHERE chunk_no = $held")" = t ] \
    || fail "chunk $held was not loaded from its file"
  [ -z "$(ls -A "$case_dir/spill3")" ] || fail "the run left files: $(ls -R "$case_dir/spill3")"
}

# expect_finding SEVERITY SIDE CODE TEXT [FIX]: $case_dir/out (pgsluice check's report) has a
# finding of that severity, side and code whose line says TEXT, and whose fix line says FIX.
expect_finding() {
  local line
  line=$(grep -n -F -- "[$3]" "$case_dir/out" | grep -F -- "$4" | grep -E "^[0-9]+:$1 +$2 " | head -n 1)
  [ -n "$line" ] || fail "no \"$1 $2\" finding $3 that says \"$4\""
  if [ $# -ge 5 ]; then
    sed -n "$((${line%%:*} + 1))p" "$case_dir/out" | grep -E '^ +fix: ' | grep -qF -- "$5" \
      || fail "the fix of finding $3 does not say \"$5\""
  fi
}

# no_finding CODE: $case_dir/out has no blocker, warning or note of that code.
no_finding() {
  if grep -E '^(blocker|warning|note) ' "$case_dir/out" | grep -qF -- "[$1]"; then
    fail "an unexpected finding $1"
  fi
}

# chk_db SIDE DB: a new, empty database on the source (src) or target (dst) cluster.
chk_db() {
  "psql_$1" postgres -c "DROP DATABASE IF EXISTS \"$2\"" -c "CREATE DATABASE \"$2\"" >/dev/null \
    || fail "could not create database $2"
}

chk_share=""
chk_restarted=0

# chk_cleanup: what case s changed outside its databases, put back (on any exit of the case).
chk_cleanup() {
  if [ -n "$chk_share" ]; then
    rm -f "$chk_share/extension/chk_src_only.control" "$chk_share/extension/chk_src_only--1.0.sql"
  fi
  if [ "$chk_restarted" = 1 ]; then
    psql_src postgres -c "ALTER SYSTEM RESET old_snapshot_threshold" \
      -c "ALTER SYSTEM RESET max_locks_per_transaction" >/dev/null && pgcluster_restart "$src_dir"
  fi
}

case_s() {   # check: each finding on databases built to have it; exit 0 clean, 1 warnings, 2 blockers
  local status spill_dir pw=s3cr3t-xyz
  trap chk_cleanup EXIT

  echo "== a clean pair: one keyed table, an empty target"
  chk_db src chk_clean
  psql_src chk_clean -c "CREATE TABLE t (id int PRIMARY KEY, v text)" \
    -c "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) AS i" || fail "could not fill chk_clean"
  chk_db dst chk_clean_dst
  status=0
  sluice check --source "$(src_conn chk_clean)" --target "$(dst_conn chk_clean_dst)" || status=$?
  [ "$status" -eq 0 ] || fail "check of a clean pair exited with status $status (want 0)"
  grep -qx 'check: 0 blockers, 0 warnings, 0 notes' "$case_dir/out" || fail "the clean pair has findings"
  expect_finding ok both server_version "source PostgreSQL 15"
  expect_finding ok source source_privileges 'user "postgres" may read'
  expect_finding ok target target_privileges 'may record the run in schema "pgsluice"'
  expect_finding ok target extension_missing "are all available on the target"
  expect_finding ok target target_tables_exist "none of the source's tables (1)"
  expect_finding ok source connection_slots "the run opens 6 there"
  expect_finding ok source lock_table "the run holds about 2 locks"
  expect_finding ok local pg_tools "pg_dump and pg_restore of PostgreSQL"
  [ "$(psql_dst chk_clean_dst -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "check wrote its record schema into the target"

  echo "== warnings only: large objects, idle_session_timeout; notes for the rest"
  chk_db src chk_warn
  psql_src chk_warn <<'SQL' >/dev/null || fail "could not fill chk_warn"
CREATE TABLE k (id serial PRIMARY KEY, v text);
CREATE TABLE nokey (a int, b text);
CREATE TABLE ts (id int PRIMARY KEY, d tsvector);
CREATE UNLOGGED TABLE u (id int PRIMARY KEY);
CREATE TABLE big (id int PRIMARY KEY, pad text);
INSERT INTO big SELECT i, repeat('x', 100) FROM generate_series(1, 60000) AS i;
INSERT INTO nokey VALUES (1, 'a'), (1, 'a');
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM big;
SELECT lo_from_bytea(0, 'the contents of a large object');
ALTER DATABASE chk_warn SET statement_timeout = '5min';
ALTER DATABASE chk_warn SET idle_session_timeout = '1h';
SQL
  chk_db dst chk_warn_dst
  status=0
  sluice check --source "$(src_conn chk_warn)" --target "$(dst_conn chk_warn_dst)" --json "$case_dir/warn.json" \
    || status=$?
  [ "$status" -eq 1 ] || fail "check with warnings only exited with status $status (want 1)"
  grep -q '^check: 0 blockers, 2 warnings, ' "$case_dir/out" || fail "want 0 blockers and 2 warnings"
  expect_finding warning source large_objects "the source holds 1 large object" "pg_dump --format=custom --data-only --blobs"
  expect_finding warning source idle_session_timeout "idle_session_timeout is 1h on the source" "ALTER ROLE"
  expect_finding note source table_without_key "public.nokey" "a primary key"
  expect_finding note source text_format 'table public.ts moves as text, not binary: column d: type "tsvector"'
  expect_finding note source unlogged_tables "1 unlogged table is copied and stays unlogged on the target"
  expect_finding note source materialized_views "refreshed on the target after the data (REFRESH MATERIALIZED VIEW runs the query there): public.mv"
  expect_finding note source session_timeouts "statement_timeout is 5min"
  "$python" - "$case_dir/warn.json" <<'PY' || fail "the JSON report lacks a finding or a field"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "warnings" and r["blockers"] == 0 and r["warnings"] == 2, r
f = {x["code"]: x for x in r["findings"]}
for x in r["findings"]:
    assert set(x) == {"severity", "side", "code", "message", "fix", "objects"}, x
assert f["large_objects"]["severity"] == "warning" and f["large_objects"]["side"] == "source"
assert "--blobs" in f["large_objects"]["fix"], f["large_objects"]
assert f["table_without_key"]["objects"] == ["public.nokey"], f["table_without_key"]
assert f["unlogged_tables"]["objects"] == ["public.u"] and f["unlogged_tables"]["severity"] == "note"
assert f["materialized_views"]["objects"] == ["public.mv"]
assert f["text_format"]["objects"] == ["public.ts"]
assert f["server_version"]["severity"] == "ok" and f["server_version"]["fix"] is None
print("JSON: %d findings" % len(r["findings"]))
PY

  echo "== --spill: free space against the data (a 2 MB file system where root may mount one)"
  spill_dir=$case_dir/no/such/spill
  sluice check --source "$(src_conn chk_warn)" --target "$(dst_conn chk_warn_dst)" --spill "$spill_dir" >/dev/null
  expect_finding ok local spill_space "(\"$case_dir\") has"
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mkdir -p "$case_dir/small"
    status=0
    unshare -m sh -c 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"' "$case_dir/small" \
      "$bin" check --source "$(src_conn chk_warn)" --target "$(dst_conn chk_warn_dst)" \
      --spill "$case_dir/small/spill" --jobs 1 --chunk-size 64kB >"$case_dir/out" 2>"$case_dir/err" || status=$?
    cat "$case_dir/out" "$case_dir/err"
    [ "$status" -eq 1 ] || fail "check with a small spill file system exited with status $status (want 1)"
    expect_finding warning local spill_space "(\"$case_dir/small\") has 2.0 MB free" "--spill-limit 1MB"
  else
    echo "# skipped the small spill file system: it needs root and mount namespaces"
  fi

  echo "== --data-only as a user who is not a superuser: session_replication_role"
  psql_dst postgres -c "DROP DATABASE IF EXISTS chk_data" -c "DROP ROLE IF EXISTS chk_loader" \
    -c "CREATE ROLE chk_loader LOGIN" -c "CREATE DATABASE chk_data OWNER chk_loader" >/dev/null \
    || fail "could not create chk_data"
  "$pg_dump_bin" --schema-only -d "$(src_conn chk_warn)" | psql_dst chk_data >/dev/null \
    || fail "could not copy the schema of chk_warn"
  psql_dst chk_data -c "GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA public TO chk_loader" \
    -c "GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO chk_loader" \
    -c "ALTER MATERIALIZED VIEW mv OWNER TO chk_loader" >/dev/null || fail "could not grant chk_loader"
  status=0
  sluice check --data-only --source "$(src_conn chk_warn)" \
    --target "host=$dst_dir port=$dst_port user=chk_loader dbname=chk_data" || status=$?
  [ "$status" -eq 1 ] || fail "check --data-only with warnings only exited with status $status (want 1)"
  expect_finding warning target replication_role 'user "chk_loader" may not set session_replication_role' \
    "GRANT SET ON PARAMETER session_replication_role"
  expect_finding ok target target_tables_not_empty "all exist on the target, and are empty"
  no_finding target_privileges

  echo "== --data-only: a table missing, one with rows, a column of another type, a view not the user's"
  psql_dst chk_data -c "INSERT INTO k (v) VALUES ('already here')" -c "DROP TABLE u" \
    -c "ALTER TABLE nokey ALTER COLUMN a TYPE bigint" -c "ALTER MATERIALIZED VIEW mv OWNER TO postgres" \
    >/dev/null || fail "could not change chk_data"
  status=0
  sluice check --data-only --source "$(src_conn chk_warn)" \
    --target "host=$dst_dir port=$dst_port user=chk_loader dbname=chk_data" --json "$case_dir/data.json" \
    || status=$?
  [ "$status" -eq 2 ] || fail "check --data-only with blockers exited with status $status (want 2)"
  expect_finding blocker target target_table_missing "does not exist on the target" "create them first"
  expect_finding blocker target target_tables_not_empty "holds rows already: public.k" "--truncate"
  expect_finding blocker target target_columns_differ "column a of table public.nokey is of type bigint on the target, integer on the source"
  expect_finding blocker target target_privileges "may not refresh 1 of the target's materialized views" \
    "ALTER MATERIALIZED VIEW ... OWNER TO"
  "$python" - "$case_dir/data.json" <<'PY' || fail "the JSON report of --data-only is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
f = {x["code"]: x for x in r["findings"] if x["severity"] == "blocker"}
assert r["status"] == "blockers" and r["data_only"] is True, r
assert f["target_table_missing"]["objects"] == ["public.u"], f["target_table_missing"]
assert f["target_tables_not_empty"]["objects"] == ["public.k"], f["target_tables_not_empty"]
assert f["target_columns_differ"]["objects"] == ["public.nokey"], f["target_columns_differ"]
PY

  echo "== blockers: extension, role, tables and schema on the target, connections, pg_dump, read-only target"
  chk_db src chk_block
  psql_src postgres -c "DO \$\$BEGIN CREATE ROLE chk_owner; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" \
    -c "DO \$\$BEGIN CREATE ROLE chk_reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" \
    >/dev/null || fail "could not create the roles"
  psql_src chk_block <<'SQL' >/dev/null || fail "could not fill chk_block"
CREATE TABLE b1 (id int PRIMARY KEY);
CREATE TABLE b2 (id int PRIMARY KEY);
ALTER TABLE b2 OWNER TO chk_owner;
CREATE SCHEMA chk_s;
CREATE TABLE chk_s.hidden (id int PRIMARY KEY);
CREATE TABLE secret (id int PRIMARY KEY);
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON b1, secret TO chk_reader;
SQL
  chk_share=$(psql_src postgres -c "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
  if [ -n "$chk_share" ] && [ -w "$chk_share/extension" ]; then
    # an extension the target's server cannot install: its files exist only while the source creates it
    printf "comment = 'pgsluice check test'\ndefault_version = '1.0'\nrelocatable = true\n" \
      >"$chk_share/extension/chk_src_only.control"
    echo "CREATE FUNCTION chk_src_only() RETURNS int LANGUAGE sql AS 'SELECT 1';" \
      >"$chk_share/extension/chk_src_only--1.0.sql"
    psql_src chk_block -c "CREATE EXTENSION chk_src_only" >/dev/null || fail "could not create extension chk_src_only"
    rm -f "$chk_share/extension/chk_src_only.control" "$chk_share/extension/chk_src_only--1.0.sql"
  else
    chk_share=""
    echo "# skipped the missing extension: the server's extension directory is not writable"
  fi
  chk_db dst chk_block_dst
  psql_dst chk_block_dst -c "CREATE TABLE b1 (id int)" -c "CREATE SCHEMA chk_s" \
    -c "ALTER DATABASE chk_block_dst SET default_transaction_read_only = on" >/dev/null \
    || fail "could not prepare chk_block_dst"
  status=0
  sluice check --source "$(src_conn chk_block)" --target "$(dst_conn chk_block_dst)" --jobs 256 \
    --pg-bindir /nonexistent --json "$case_dir/block.json" || status=$?
  [ "$status" -eq 2 ] || fail "check with blockers exited with status $status (want 2)"
  if [ -n "$chk_share" ]; then
    expect_finding blocker target extension_missing "not available on the target" "install their packages on the target"
    grep -F '[extension_missing]' "$case_dir/out" | grep -q 'chk_src_only' || fail "extension_missing does not name chk_src_only"
  fi
  expect_finding blocker target roles_missing "do not exist on the target" "pg_dumpall --roles-only"
  grep -F '[roles_missing]' "$case_dir/out" | grep -q 'chk_owner' || fail "roles_missing does not name chk_owner"
  expect_finding blocker target target_tables_exist "exists on the target already" "--data-only"
  expect_finding blocker target target_schemas_exist "on the target already: the schema step's CREATE SCHEMA fails on it: chk_s"
  expect_finding blocker source connection_slots "the run opens 258 there" "lower --jobs to"
  expect_finding blocker target connection_slots "the run opens 258 there" "lower --jobs to"
  expect_finding blocker local pg_tools 'in "/nonexistent"' "--pg-bindir"
  expect_finding blocker target target_read_only "default_transaction_read_only is on" "default_transaction_read_only = off"
  "$python" - "$case_dir/block.json" <<'PY' || fail "the JSON report of the blockers is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "blockers" and r["jobs"] == 256, r
b = {x["code"]: x for x in r["findings"] if x["severity"] == "blocker"}
assert b["target_tables_exist"]["objects"] == ["public.b1"], b["target_tables_exist"]
assert b["target_schemas_exist"]["objects"] == ["chk_s"], b["target_schemas_exist"]
assert "chk_owner" in b["roles_missing"]["objects"], b["roles_missing"]
assert all(x["fix"] for x in r["findings"] if x["severity"] == "blocker"), "a blocker without a fix"
if "extension_missing" in b:
    assert b["extension_missing"]["objects"] == ["chk_src_only"], b["extension_missing"]
PY

  echo "== privileges: a source user without USAGE, SELECT, and under row security; a target user without CREATE"
  psql_dst postgres -c "DO \$\$BEGIN CREATE ROLE chk_nocreate LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" \
    >/dev/null || fail "could not create chk_nocreate"
  chk_db dst chk_priv_dst
  status=0
  sluice check --source "host=$src_dir port=$src_port user=chk_reader dbname=chk_block" \
    --target "host=$dst_dir port=$dst_port user=chk_nocreate dbname=chk_priv_dst" || status=$?
  [ "$status" -eq 2 ] || fail "check without privileges exited with status $status (want 2)"
  expect_finding blocker source source_privileges 'user "chk_reader" has no USAGE privilege on 1 of the source'"'"'s schemas that hold tables to copy: chk_s' "GRANT USAGE ON SCHEMA"
  expect_finding blocker source source_privileges 'may not read 2 of the source'"'"'s tables and sequences (no SELECT privilege): chk_s.hidden, public.b2' "GRANT SELECT ON them"
  expect_finding blocker source source_row_security "public.secret" "BYPASSRLS"
  expect_finding blocker target target_privileges 'user "chk_nocreate" has no CREATE privilege on database "chk_priv_dst"' "GRANT CREATE ON DATABASE"
  expect_finding blocker target target_privileges "may not create objects in 1 of the target's schemas" "GRANT USAGE, CREATE ON SCHEMA"

  echo "== the same database on both sides; a server that cannot be reached, with a password"
  status=0
  sluice check --source "$(src_conn chk_clean)" --target "$(src_conn chk_clean)" || status=$?
  [ "$status" -eq 2 ] || fail "check of a database against itself exited with status $status (want 2)"
  expect_finding blocker both same_database "the source and the target are the same database"
  status=0
  sluice check --source "host=/nonexistent port=1 user=postgres dbname=chk_clean password=$pw" \
    --target "$(dst_conn chk_clean_dst) password=$pw" || status=$?
  [ "$status" -eq 2 ] || fail "check with an unreachable source exited with status $status (want 2)"
  expect_finding blocker source connection_failed "could not connect to source" "pg_hba.conf"
  if grep -qF -- "$pw" "$case_dir/out" "$case_dir/err"; then fail "the password appears in the output"; fi
  expect_finding ok target target_privileges 'may record the run'

  echo "== bad usage"
  status=0
  sluice check --source "$(src_conn chk_clean)" || status=$?
  [ "$status" -eq 2 ] || fail "check without a target exited with status $status (want 2)"
  status=0
  sluice check --source "$(src_conn chk_clean)" --target "$(dst_conn chk_clean_dst)" --jobs 0 || status=$?
  [ "$status" -eq 2 ] || fail "check --jobs 0 exited with status $status (want 2)"

  echo "== settings of a restart: old_snapshot_threshold, max_locks_per_transaction against 300 tables"
  chk_db src chk_locks
  psql_src chk_locks -c "DO \$\$BEGIN FOR i IN 1..300 LOOP
                           EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY)', i); END LOOP; END\$\$" \
    >/dev/null || fail "could not create 300 tables"
  chk_db dst chk_locks_dst
  chk_restarted=1
  psql_src postgres -c "ALTER SYSTEM SET old_snapshot_threshold = '10min'" \
    -c "ALTER SYSTEM SET max_locks_per_transaction = 10" >/dev/null || fail "could not change the source's settings"
  pgcluster_restart "$src_dir" || fail "could not restart the source"
  status=0
  sluice check --source "$(src_conn chk_locks)" --target "$(dst_conn chk_locks_dst)" || status=$?
  [ "$status" -eq 1 ] || fail "check with these settings exited with status $status (want 1)"
  expect_finding warning source old_snapshot_threshold "old_snapshot_threshold is 10min on the source" \
    "set old_snapshot_threshold = -1"
  expect_finding warning source lock_table "the run holds about 600 locks at once on the source" \
    "raise max_locks_per_transaction to 12 or more"
  sluice check --source "$(src_conn chk_locks)" --target "$(dst_conn chk_locks_dst)" --data-only -v
  expect_finding ok source lock_table "the run holds about 300 locks"
  expect_finding blocker target target_table_missing "300 of the source's tables do not exist on the target"
  grep -q '^ *all 300: public.t1, public.t2, .*, public.t300$' "$case_dir/out" || fail "-v does not list all 300 tables"
}

case_t() {   # no password in output, logs, JSON or ps; progress lines when piped, a live block in a terminal
  local pw=Sekrit-pw-4242 json=$case_dir/t.json status=0 session=pgsluice-it-$$ screen last
  # into a target slowed down (slow_setup), so that the data takes seconds however fast the build
  # is: the progress lines below need it to last more than one interval
  slow_setup slow_pw
  # the clusters trust local connections and ignore the password: it must show nowhere all the same
  echo "+ pgsluice clone --source '... password=***' --target 'postgresql://postgres:***@...' --data-only -v &"
  setsid "$bin" clone --source "$(src_conn slow) password=$pw" \
    --target "postgresql://postgres:$pw@/slow_pw?host=$dst_dir&port=$dst_port" --data-only --jobs 2 --chunk-size 2MB \
    --progress-interval 1 --json "$json" -v >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
  : >"$case_dir/ps"
  # the arguments are masked when the program starts: sample from its first log line on (under a
  # sanitizer the runtime's own start-up comes before that)
  while kill -0 "$clone_pid" 2>/dev/null; do
    grep -q 'pgsluice: ' "$case_dir/err" && ps -eo args >>"$case_dir/ps"
    sleep 0.2
  done
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone with passwords exited with status $status"
  expect_identical slow slow_pw
  grep 'pgsluice clone' "$case_dir/ps" | head -n 1
  grep -q 'pgsluice clone .*password=xxxx.*postgres:xxxx' "$case_dir/ps" || fail "ps did not show the clone with its passwords masked"
  if grep -qF -- "$pw" "$case_dir/out" "$case_dir/err" "$json" "$case_dir/ps"; then
    fail "the password appears in: $(grep -lF -- "$pw" "$case_dir/out" "$case_dir/err" "$json" "$case_dir/ps" | tr '\n' ' ')"
  fi

  # piped: progress as log lines, at least one a second, and no escape codes
  grep -c 'data: [0-9]* of [0-9]* chunks, [0-9]* of [0-9]* tables, [0-9]* rows, .* MB/s, ETA' "$case_dir/err" \
    | { read -r n; echo "progress lines: $n"; [ "$n" -ge 1 ]; } || fail "no progress line in the log"
  if grep -q $'\033' "$case_dir/out" "$case_dir/err"; then fail "escape codes in output that is not a terminal"; fi
  # -v: each line with its time and the thread that wrote it
  grep -q '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]\{3\} \[main\] pgsluice: ' "$case_dir/err" \
    || fail "-v lines lack the time or the thread"
  grep -q '^[0-9:.]* \[data [12]\] pgsluice: chunk [0-9]* of public\.slow_t: ' "$case_dir/err" \
    || fail "-v lines of the workers do not name the worker"

  # in a terminal: a live block that changes while the data moves, then the summary; into a
  # slowed target again
  if ! command -v tmux >/dev/null; then echo "# skipped the terminal display: no tmux"; return 0; fi
  slow_setup slow_tty
  tmux new-session -d -s "$session" -x 160 -y 45 \
    "$bin clone --source '$(src_conn slow)' --target '$(dst_conn slow_tty)' --data-only --jobs 2 --chunk-size 256kB; echo EXIT=\$?; sleep 60"
  : >"$case_dir/screens"
  for _ in $(seq 600); do
    screen=$(tmux capture-pane -p -t "$session")
    printf '%s\n=====\n' "$screen" >>"$case_dir/screens"
    case "$screen" in *EXIT=*) break ;; esac
    sleep 0.2
  done
  tmux kill-session -t "$session"
  last=$(awk 'BEGIN { RS = "=====\n" } { s = $0 } END { print s }' "$case_dir/screens")
  echo "$last"
  grep -o '\] data: [0-9]* of [0-9]* chunks' "$case_dir/screens" | sort -u >"$case_dir/bars"
  echo "distinct bars seen: $(wc -l <"$case_dir/bars")"
  [ "$(wc -l <"$case_dir/bars")" -ge 2 ] || fail "the live display did not change while the data moved"
  grep -q 'data .* public\.slow_t  chunk [0-9]* of [0-9]*' "$case_dir/screens" || fail "the live display showed no busy worker"
  case "$last" in *EXIT=0*) ;; *) fail "the clone in the terminal did not exit 0" ;; esac
  case "$last" in *"step "*"seconds"*"post-data"*"total"*) ;; *) fail "the terminal does not end with the summary" ;; esac
  case "$last" in *"] data:"*) fail "the live block stayed on the screen after the run" ;; esac
  expect_identical slow slow_tty
}

case_u() {   # plan lists the clone's chunks and an estimate; metrics served and written during the clone
  local port scrapes=0 rising status=0
  big_setup
  sluice plan --source "$(src_conn big)" --jobs 2 --chunk-size 2MB --json "$case_dir/plan.json" \
    || fail "pgsluice plan exited with status $?"
  grep -q '^estimate with --jobs 2: about [0-9]* s' "$case_dir/out" || fail "the plan gives no estimate"
  grep -q '^public\.big .* key .* binary  primary key (id)' "$case_dir/out" || fail "the plan does not show big's key and split"
  grep -q '^no usable key .*public\.big_nokey' "$case_dir/out" || fail "the plan does not name the table without a key"

  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  create_dst big_metrics
  start_clone big_metrics --jobs 2 --chunk-size 2MB --json "$case_dir/clone.json" \
    --metrics-listen "127.0.0.1:$port" --metrics-file "$case_dir/metrics.prom"
  while kill -0 "$clone_pid" 2>/dev/null; do
    if curl -fsS "http://127.0.0.1:$port/metrics" >"$case_dir/scrape.tmp" 2>/dev/null; then
      scrapes=$((scrapes + 1))
      mv "$case_dir/scrape.tmp" "$case_dir/scrape.$scrapes"
    fi
    sleep 0.2
  done
  wait "$clone_pid" || status=$?
  [ "$status" -eq 0 ] || { cat "$case_dir/err"; fail "the clone with metrics exited with status $status"; }
  expect_identical big big_metrics
  echo "scrapes during the run: $scrapes"
  [ "$scrapes" -ge 2 ] || fail "fewer than two scrapes answered during the run"
  rising=$(for i in $(seq "$scrapes"); do
             awk '$1 ~ /^pgsluice_bytes_total/ { print $2 }' "$case_dir/scrape.$i"
           done | awk 'NR > 1 && $1 > last { n++ } { last = $1 } END { print n + 0 }')
  echo "scrapes with more bytes than the one before: $rising"
  [ "$rising" -ge 1 ] || fail "pgsluice_bytes_total did not rise between scrapes"
  promtool check metrics <"$case_dir/scrape.$scrapes" || fail "promtool rejects the scraped metrics"
  promtool check metrics <"$case_dir/metrics.prom" || fail "promtool rejects the metrics file"
  [ ! -e "$case_dir/metrics.prom.tmp" ] || fail "the metrics file's temporary file was left behind"
  "$python" - "$case_dir/plan.json" "$case_dir/clone.json" "$case_dir/metrics.prom" <<'PY' || fail "the plan, the clone and the metrics disagree"
import json, re, sys
plan, clone = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
chunks = lambda r: {t["name"]: [c["where"] for c in t["chunks"]] for t in r["tables"]}
assert chunks(plan) == chunks(clone), "the plan's chunks are not the clone's"
n = sum(len(t["chunks"]) for t in clone["tables"])
m = dict(re.findall(r'^(pgsluice_\w+)\{[^}]*\} (\S+)$', open(sys.argv[3]).read(), re.M))
print("chunks %d; metrics file: done %s, bytes %s, rows %s; estimate %.1f s, clone %.1f s"
      % (n, m["pgsluice_chunks_done_total"], m["pgsluice_bytes_total"], m["pgsluice_rows_total"],
         plan["estimate"]["seconds"], clone["seconds"]["total"]))
assert int(float(m["pgsluice_chunks_done_total"])) == n and int(float(m["pgsluice_bytes_total"])) == clone["bytes"]
assert int(float(m["pgsluice_rows_total"])) == clone["rows"] and plan["estimate"]["seconds"] > 0
PY
}

# only_these DB REGEX: every relation of target database DB (tables, partitioned tables,
# sequences, views, materialized views) has a schema.name that REGEX matches.
only_these() {
  local extra
  extra=$(psql_dst "$1" -v re="$2" <<'SQL'
SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND n.nspname !~ '^pg_'
  AND n.nspname NOT IN ('information_schema', 'pgsluice')
  AND n.nspname || '.' || c.relname !~ :'re'
SQL
) || fail "could not list the relations of $1"
  [ -z "$extra" ] || fail "the target holds relations that were not chosen: $extra"
}

case_v() {   # --table, --exclude-table, --schema, --exclude-schema: pg_dump's patterns, strict, kept by a resume
  local chosen='^(public\.(measurement.*|k_(bigint|uuid|numeric|tstz|composite)|fk_parent.*)|part_other\.measurement.*|select\..*)$'
  local by_schema='^(select\.from|Sch.*)$'

  # --table: a partitioned table brings its partitions (here in two schemas), an owned sequence
  # comes with its table; the schemas the partitions need are missing, so the checks refuse
  # the clone before it writes anything
  create_dst dst_v
  create_dst dst_v_check
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' --exclude-table k_text --table '"select".*' --table fk_parent \
    && fail "a clone whose schemas are missing on the target succeeded"
  grep -q 'target_schemas_missing' "$case_dir/err" && grep -q 'part_other' "$case_dir/err" \
    || fail "the refusal does not name the missing schema"
  [ "$(psql_dst dst_v -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the refused clone left its state schema"
  # check says so beforehand, and names the schemas
  sluice check --source "$(src_conn src)" --target "$(dst_conn dst_v_check)" --table measurement --table '"select".*'
  [ $? -eq 2 ] || fail "check did not find the missing schemas a blocker"
  grep -q 'target_schemas_missing' "$case_dir/out" || fail "check does not report the missing schemas"
  grep -q 'part_other' "$case_dir/out" || fail "check does not name part_other"
  if grep -q 'target_schemas_exist\|target_tables_exist.*blocker\|blocker.*target_tables_exist' "$case_dir/out"; then
    fail "check finds tables or schemas in the way of a --table clone into an empty database"
  fi
  # made; a view in the place of the owned sequence (which the checks do not look for) fails the
  # schema step once the run is recorded; dropped, and resumed without the options: the run's
  # record keeps its tables
  psql_dst dst_v -c 'CREATE SCHEMA part_other' -c 'CREATE SCHEMA "select"' \
    -c 'CREATE VIEW public.fk_parent_id_seq AS SELECT 1 AS x' >/dev/null || fail "could not create the schemas"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' --exclude-table k_text --table '"select".*' --table fk_parent \
    && fail "a clone whose sequence's name is taken on the target succeeded"
  grep -q 'fk_parent_id_seq' "$case_dir/err" || fail "the error does not name fk_parent_id_seq"
  psql_dst dst_v -c 'DROP VIEW public.fk_parent_id_seq' >/dev/null || fail "could not drop the view"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --resume last \
    --keep-record --json "$case_dir/v.json" || fail "the resumed clone exited with status $?"
  COMPARE_ONLY=$chosen expect_identical src dst_v
  only_these dst_v "$chosen"
  grep -q '"selection": {"table": \["measurement", "K_\*", "\\"select\\"\.\*", "fk_parent"\], "exclude-table": \["k_text"\]}' \
    "$case_dir/v.json" || fail "the JSON report does not give the run's patterns"
  psql_dst dst_v -c "SELECT last_value FROM fk_parent_id_seq" | grep -qx "$(psql_src src -c "SELECT last_value FROM fk_parent_id_seq")" \
    || fail "the owned sequence fk_parent_id_seq was not set"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --resume last --table k_uuid \
    && fail "a resume with other table options was accepted"
  grep -q 'chose its tables with' "$case_dir/err" || fail "the refusal does not say why"

  # verify takes the same choice on both sides; without it, the tables left out differ
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' -T k_text --table '"select".*' --table fk_parent \
    || fail "verify of the chosen tables exited with status $?"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --counts
  [ $? -eq 1 ] || fail "verify of the whole database did not find the tables left out"

  # plan lists the chosen tables only
  sluice plan --source "$(src_conn src)" --table 'measurement' -N part_other \
    || fail "plan exited with status $?"
  grep -q '^public\.measurement_old ' "$case_dir/out" || fail "the plan lacks a partition of measurement"
  if grep -q 'part_other\|k_bigint' "$case_dir/out"; then fail "the plan lists tables it was not given"; fi

  # --schema, with quotes and a wildcard (the schema's name has capitals, a quote and a newline);
  # an excluded sequence stays out
  create_dst dst_v_schema
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_schema)" --jobs 2 \
    -n '"select"' --schema '"Sch"*' --exclude-table '"select".seq*' \
    || fail "the clone by schema exited with status $?"
  COMPARE_ONLY=$by_schema expect_identical src dst_v_schema
  only_these dst_v_schema "$by_schema"

  # dump takes them too
  sluice dump --source "$(src_conn src)" --dir "$case_dir/dump" --table k_uuid \
    || fail "dump --table exited with status $?"
  create_dst dst_v_restore
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn dst_v_restore)" \
    || fail "restore of the chosen table exited with status $?"
  COMPARE_ONLY='^public\.k_uuid$' expect_identical src dst_v_restore
  only_these dst_v_restore '^public\.k_uuid$'

  # a pattern that matches nothing, or cannot be read, stops before anything is written
  create_dst dst_v_none
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --table k_uuid --table 'no_such*'
  [ $? -eq 2 ] || fail "a --table that matches nothing did not exit with status 2"
  grep -q -- '--table "no_such\*" matches no table' "$case_dir/err" || fail "the error does not name the pattern"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --schema nowhere
  [ $? -eq 2 ] || fail "a --schema that matches nothing did not exit with status 2"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --schema a.b
  [ $? -eq 2 ] || fail "a schema pattern with a dot did not exit with status 2"
  grep -q 'invalid pattern "a.b" for --schema' "$case_dir/err" || fail "the error does not name the bad pattern"
  only_these dst_v_none '^$'
}

# rate_setup: database rate on the source, one keyed table of about 80 MB of COPY data, so that
# a clone capped at 10 MB/s takes seconds.
rate_setup() {
  [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'rate'")" = 0 ] || return 0
  psql_src postgres -c "CREATE DATABASE rate" >/dev/null || fail "could not create database rate"
  psql_src rate >/dev/null <<'SQL' || fail "could not fill database rate"
CREATE TABLE rate_t (id bigint PRIMARY KEY, pad text NOT NULL);
INSERT INTO rate_t SELECT i, repeat(md5(i::text), 5) FROM generate_series(1, 450000) AS i;
VACUUM ANALYZE;
SQL
}

# moved_bytes DB SIDE: COPY bytes moved so far into target database DB (chunks done, and what
# the COPYs in flight have taken: pg_stat_progress_copy), or, with SIDE source, what the
# source's COPYs in flight have sent.
moved_bytes() {
  if [ "$2" = source ]; then
    psql_src postgres -c "SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy
                          WHERE command = 'COPY TO'"
  else
    psql_dst "$1" -c "SELECT (SELECT coalesce(sum(bytes), 0) FROM pgsluice.chunk WHERE status = 'done')
                             + (SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy
                                WHERE command = 'COPY FROM' AND datname = current_database())"
  fi
}

# rate_of JSON EXPR CAP LOW HIGH: the MB/s that python EXPR computes from report JSON (as r)
# must lie within [LOW, HIGH].
rate_of() {
  [ -n "$python" ] || { echo "no python3: the rate is not checked"; return 0; }
  "$python" - "$@" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
mb_s = eval(sys.argv[2])
print("%.2f MB/s at --max-rate %s" % (mb_s, sys.argv[3]))
sys.exit(0 if float(sys.argv[4]) <= mb_s <= float(sys.argv[5]) else 1)
EOF
}

# summary_rate CAP LOW HIGH: the "N MB/s;" of a dump's or restore's summary in $case_dir/out
# lies within [LOW, HIGH].
summary_rate() {
  local mb_s
  mb_s=$(grep -o '[0-9.]* MB/s;' "$case_dir/out" | head -n 1 | cut -d' ' -f1)
  echo "${mb_s:-no} MB/s at --max-rate $1"
  [ -n "$mb_s" ] && awk -v r="$mb_s" -v lo="$2" -v hi="$3" 'BEGIN { exit !(r >= lo && r <= hi) }'
}

case_y() {   # --max-rate caps the data rate; throttle pauses, resumes and re-caps a running run, workers included
  local status t_resume m1 m2 s1 s2 total rest worker
  rate_setup

  # (a) the data rate of a capped clone: at most the cap + 10%, and not idle
  create_dst rate_cap
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_cap)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 10MB --progress-interval 0 --json "$case_dir/cap.json" \
    || fail "clone --max-rate 10MB exited with status $?"
  expect_identical rate rate_cap
  rate_of "$case_dir/cap.json" 'r["bytes"] / 1048576.0 / r["seconds"]["data"]' 10MB 5 11 \
    || fail "the capped clone's data rate is off the cap"
  # verify counts the source's bytes only: half of what it reads
  sluice verify --source "$(src_conn rate)" --target "$(dst_conn rate_cap)" --jobs 2 --chunk-size 4MB \
    --max-rate 40MB --progress-interval 0 --json "$case_dir/verify.json" || fail "verify --max-rate exited with status $?"
  rate_of "$case_dir/verify.json" 'r["bytes"] / 2 / 1048576.0 / r["seconds"]' 40MB 20 44 \
    || fail "the capped verify's source rate is off the cap"
  # dump counts what it reads from the source, restore what it writes to the target: their
  # summaries give the data step's MB/s
  sluice dump --source "$(src_conn rate)" --dir "$case_dir/dump" --jobs 2 --chunk-size 4MB --max-rate 30MB \
    --progress-interval 0 || fail "dump --max-rate exited with status $?"
  summary_rate 30MB 15 33 || fail "the capped dump's rate is off the cap"
  create_dst rate_restore
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn rate_restore)" --jobs 2 --max-rate 30MB \
    --progress-interval 0 || fail "restore --max-rate exited with status $?"
  summary_rate 30MB 15 33 || fail "the capped restore's rate is off the cap"
  expect_identical rate rate_restore

  # (b) a clone and a worker on one run, paused from another process: within 2 s no byte moves
  create_dst rate_pause
  echo "+ pgsluice clone --source rate --target rate_pause --max-rate 5MB &"
  setsid "$bin" clone --source "$(src_conn rate)" --target "$(dst_conn rate_pause)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 5MB --progress-interval 1 --keep-record --json "$case_dir/pause.json" \
    >"$case_dir/clone.out" 2>"$case_dir/clone.err" &
  clone_pid=$!
  wait_for rate_pause "SELECT count(*) > 0 FROM pgsluice.chunk"
  "$bin" worker --target "$(dst_conn rate_pause)" --run last --jobs 1 --progress-interval 0 \
    >"$case_dir/worker.out" 2>"$case_dir/worker.err" &
  worker=$!
  wait_for rate_pause "SELECT count(*) >= 2 FROM pgsluice.process WHERE heartbeat_at > now() - interval '3 s'"
  wait_for rate_pause "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  sluice throttle --target "$(dst_conn rate_pause)" --run last --pause || fail "throttle --pause exited with status $?"
  grep -q 'run 1: paused' "$case_dir/err" || fail "throttle --pause did not say the run is paused"
  sleep 2
  m1=$(moved_bytes rate_pause target); s1=$(moved_bytes rate_pause source)
  sleep 3
  m2=$(moved_bytes rate_pause target); s2=$(moved_bytes rate_pause source)
  echo "moved into the target: $m1 then $m2 bytes; sent by the source's COPYs in flight: $s1 then $s2 bytes"
  kill -0 "$clone_pid" 2>/dev/null || fail "the clone ended while paused"
  [ "$m1" = "$m2" ] || fail "bytes still moved into the target 2 s after the pause: $m1 then $m2"
  [ "$s1" = "$s2" ] || fail "the source still sent bytes 2 s after the pause: $s1 then $s2"
  [ "$m1" -gt 0 ] || fail "nothing had moved before the pause"
  sluice status --target "$(dst_conn rate_pause)" || fail "status exited with status $?"
  grep -q '^rate: capped at 5.0 MB/s, paused' "$case_dir/out" || fail "status does not say the run is paused at its cap"
  grep -q ', 2 processes live' "$case_dir/out" || fail "status does not count the clone and the worker"
  sluice status --target "$(dst_conn rate_pause)" --json - || fail "status --json exited with status $?"
  grep -q '"max_rate": 5242880, "paused": true' "$case_dir/out" || fail "status --json does not give the cap and the pause"

  # (c) resumed with a new cap: every process takes it, and the rest goes at the new rate
  sluice throttle --target "$(dst_conn rate_pause)" --run last --resume --max-rate 40MB \
    || fail "throttle --resume --max-rate exited with status $?"
  t_resume=$(now)
  wait_for rate_pause "SELECT bool_and(status = 'done') FROM pgsluice.chunk"
  rest=$(elapsed "$t_resume")
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/clone.err"
  [ "$status" -eq 0 ] || fail "the throttled clone exited with status $status"
  status=0
  wait "$worker" || status=$?
  cat "$case_dir/worker.err"
  [ "$status" -eq 0 ] || fail "the worker exited with status $status"
  expect_identical rate rate_pause
  grep -q 'paused (chunks in flight wait' "$case_dir/clone.err" || fail "the clone did not say it was paused"
  grep -q 'paused (chunks in flight wait' "$case_dir/worker.err" || fail "the worker did not say it was paused"
  grep -q ', paused$' "$case_dir/clone.err" || fail "the progress lines do not say paused"
  grep -q 'resumed by pgsluice throttle' "$case_dir/clone.err" || fail "the clone did not say it was resumed"
  grep -q 'capped at 40.0 MB/s' "$case_dir/clone.err" || fail "the clone did not take the new cap"
  total=$(psql_dst rate_pause -c "SELECT sum(bytes) FROM pgsluice.chunk") || fail "could not read the chunks' bytes"
  echo "after the resume: the chunks done in $rest s, $(( (total - m2) / 1048576 )) MB"
  # at the old cap the rest would take (total - m2) / 5 MB/s; at 40 MB/s an eighth of that
  awk -v t="$rest" -v left="$(( total - m2 ))" 'BEGIN { exit !(t < left / 5242880 / 2) }' \
    || fail "the rest took $rest s: the new cap was not taken"

  # throttle on runs it cannot change: clear errors
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run 1 --pause || status=$?
  [ "$status" -eq 2 ] || fail "throttle on a finished run exited with status $status (want 2)"
  grep -q 'run 1 is done, not running: throttle changes a running run only' "$case_dir/err" \
    || fail "throttle on a finished run did not say why"
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run 99 --pause || status=$?
  [ "$status" -eq 2 ] || fail "throttle on a run that does not exist exited with status $status (want 2)"
  grep -q 'there is no run 99' "$case_dir/err" || fail "throttle on a run that does not exist did not name it"
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run last || status=$?
  [ "$status" -eq 2 ] || fail "throttle with nothing to change exited with status $status (want 2)"
  status=0
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_pause)" --max-rate fast || status=$?
  [ "$status" -eq 2 ] && grep -q 'invalid value "fast" for --max-rate' "$case_dir/err" \
    || fail "a bad --max-rate was not refused by name"

  # a record of layout 1 (before throttle): status reads it, throttle refuses it and says why
  create_dst rate_old
  psql_dst rate_old >/dev/null <<'SQL' || fail "could not make a layout 1 record"
CREATE SCHEMA pgsluice;
CREATE TABLE pgsluice.pgsluice_state_version (version int NOT NULL);
INSERT INTO pgsluice.pgsluice_state_version VALUES (1);
CREATE TABLE pgsluice.run (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source_fingerprint text NOT NULL,
  source text NOT NULL, snapshot text, best_effort boolean NOT NULL, options jsonb NOT NULL, status text NOT NULL,
  step text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz, last_error text);
CREATE TABLE pgsluice.chunk (run_id bigint NOT NULL REFERENCES pgsluice.run (id) ON DELETE CASCADE,
  chunk_no int NOT NULL, table_name text NOT NULL, seq int NOT NULL, method text NOT NULL, predicate text,
  est_bytes bigint NOT NULL, frozen boolean NOT NULL, status text NOT NULL DEFAULT 'pending', rows bigint,
  bytes bigint, source_digest text, target_digest text, attempts int NOT NULL DEFAULT 0, worker text,
  started_at timestamptz, finished_at timestamptz, last_error text, PRIMARY KEY (run_id, chunk_no));
INSERT INTO pgsluice.run (source_fingerprint, source, best_effort, options, status, step)
  VALUES ('?/x/1', 'dbname=x', false, '{}', 'running', 'data');
SQL
  sluice status --target "$(dst_conn rate_old)" || fail "status of a layout 1 record exited with status $?"
  grep -q '^rate: no cap, 0 processes live' "$case_dir/out" || fail "status of a layout 1 record does not show it uncapped"
  status=0
  sluice throttle --target "$(dst_conn rate_old)" --run last --pause || status=$?
  [ "$status" -eq 2 ] && grep -q 'has layout 1, from a pgsluice without throttle' "$case_dir/err" \
    || fail "throttle on a layout 1 record was not refused with the reason"
  # the next run brings the schema to layout 2, the old record with it
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_old)" --jobs 2 --progress-interval 0 --keep-record \
    || fail "a clone beside a layout 1 record exited with status $?"
  expect_identical rate rate_old
  [ "$(psql_dst rate_old -c "SELECT max(version) FROM pgsluice.pgsluice_state_version")" = 2 ] \
    || fail "the state schema was not brought to layout 2"
  [ "$(psql_dst rate_old -c "SELECT string_agg(id || ':' || max_rate || ':' || paused, ' ' ORDER BY id) FROM pgsluice.run")" \
    = "1:0:false 2:0:false" ] || fail "the runs' records after the layout change are not as expected"

  # a run an older pgsluice recorded (layout 1), interrupted, goes on with this one
  create_dst rate_resume
  echo "+ pgsluice clone --source rate --target rate_resume --max-rate 5MB &  (then SIGINT)"
  "$bin" clone --source "$(src_conn rate)" --target "$(dst_conn rate_resume)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 5MB --progress-interval 0 >"$case_dir/resume.out" 2>"$case_dir/err" &
  clone_pid=$!
  wait_for rate_resume "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  kill -INT "$clone_pid"
  status=0
  wait "$clone_pid" || status=$?
  clone_pid=""
  [ "$status" -eq 5 ] || fail "the interrupted clone exited with status $status (want 5)"
  psql_dst rate_resume -c "DROP TABLE pgsluice.process" \
    -c "ALTER TABLE pgsluice.run DROP COLUMN max_rate, DROP COLUMN paused" \
    -c "UPDATE pgsluice.pgsluice_state_version SET version = 1" >/dev/null || fail "could not make the record layout 1"
  sluice clone --resume last --source "$(src_conn rate)" --target "$(dst_conn rate_resume)" --jobs 2 --keep-record \
    || fail "the resume of a layout 1 run exited with status $?"
  expect_identical rate rate_resume
  [ "$(psql_dst rate_resume -c "SELECT max(version) FROM pgsluice.pgsluice_state_version")" = 2 ] \
    || fail "the resume did not bring the state schema to layout 2"
}

case_h() {   # --best-effort: no shared snapshot
  create_dst dst_h
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_h)" --best-effort --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone --best-effort exited with status $?"
  expect_identical src dst_h
}

case_i() {   # --json: valid JSON with a digest for every chunk of every table
  create_dst dst_i
  tables_json src
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_i)" --jobs 2 --chunk-size 1MB \
    --json "$case_dir/report.json" || fail "pgsluice clone --json exited with status $?"
  [ -s "$case_dir/report.json" ] || fail "no JSON report written"
  [ -n "$python" ] || { echo "no python3: JSON not checked"; return 0; }
  "$python" -m json.tool "$case_dir/report.json" >/dev/null || fail "the report is not valid JSON"
  "$python" - "$case_dir/tables.json" "$case_dir/report.json" <<'EOF' || fail "the report lacks per-chunk digests"
# A chunk is an object with a digest-like key ("digest", "hash", "checksum", ...) that is an
# element of a list held under a key naming chunks, or that has a scalar under a key naming a
# chunk ("chunk": 3). Its
# table is named by a string in it or in an object around it: "schema.name" (quoted or not),
# or schema and name as separate strings.
import json, re, sys
tables = json.load(open(sys.argv[1], encoding="utf-8"))
report = json.load(open(sys.argv[2], encoding="utf-8"))
digest_key = re.compile(r"digest|hash|checksum|xxh", re.I)
chunk_key = re.compile(r"chunk", re.I)
contexts = []
def walk(node, strings, in_chunk_list):
    if isinstance(node, dict):
        here = strings + [v for v in node.values() if isinstance(v, str)]
        has_digest = any(digest_key.search(k) and isinstance(v, (str, int)) and v not in ("", None)
                         for k, v in node.items())
        if has_digest and (in_chunk_list or any(chunk_key.search(k) and not isinstance(v, (list, dict))
                                                for k, v in node.items())):
            contexts.append(set(here))
        for k, v in node.items():
            walk(v, here, isinstance(v, list) and bool(chunk_key.search(k)))
    elif isinstance(node, list):
        for v in node:
            walk(v, strings, in_chunk_list)
walk(report, [], False)
missing = []
for schema, name, qname in tables:
    qualified = {schema + "." + name, qname}
    if not any(ctx & qualified or (schema in ctx and name in ctx) for ctx in contexts):
        missing.append(qname)
for m in missing:
    print("no per-chunk digest for table %s" % m)
print("%d chunk digests found; %d of %d tables covered" % (len(contexts), len(tables) - len(missing), len(tables)))
if missing and isinstance(report, dict):
    print("top-level keys of the report: %s" % ", ".join(report.keys()))
sys.exit(1 if missing or not contexts else 0)
EOF
  # The tables of 2 to 16 chunks and at most half the data went in whole, those of 4 MB and
  # more frozen; --split-all splits them.
  expect_identical src dst_i
  sluice plan --source "$(src_conn src)" --jobs 2 --chunk-size 1MB --split-all --json "$case_dir/split.json" \
    || fail "pgsluice plan --split-all exited with status $?"
  "$python" - "$case_dir/split.json" "$case_dir/report.json" <<'EOF' || fail "the tables read whole are not the ones the rule names"
import json, sys
split = json.load(open(sys.argv[1], encoding="utf-8"))["tables"]
clone = {t["name"]: t for t in json.load(open(sys.argv[2], encoding="utf-8"))["tables"]}
total = sum(t["bytes"] for t in split)
wrong = []
whole = 0
for t in split:
    n = len(t["chunks"])
    want_whole = 2 <= n <= 16 and t["bytes"] * 2 <= total
    got = clone[t["name"]]
    whole += want_whole
    if want_whole != (got["split"] == "whole" and n > 1):
        wrong.append("%s: %d chunks with --split-all, %s in the clone" % (t["name"], n, got["split"]))
    elif want_whole and got["chunks"][0]["freeze"] != (t["bytes"] >= 4 << 20):
        wrong.append("%s: %d bytes, loaded whole with freeze %s" % (t["name"], t["bytes"], got["chunks"][0]["freeze"]))
for w in wrong:
    print(w)
print("%d tables read whole" % whole)
sys.exit(1 if wrong or whole == 0 else 0)
EOF
}

# hostile_schema DB: as an unprivileged owner "mallory", tables keyed by varchar, by a domain over
# bigint and by her own enum, and, in public (on every default search path), operators for
# exactly those key types, functions that shadow built-ins for them and a cast of her enum to
# text. Each planted function calls public.planted(), which, in a superuser's session, writes
# a file into $case_dir/trace naming itself: a trace that pgsluice ran code of the database.
hostile_schema() {
  local db=$1 conn
  mkdir -p "$case_dir/trace" && chmod 0777 "$case_dir/trace"
  psql_src postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS mallory" \
    -c "CREATE ROLE mallory LOGIN" -c "CREATE DATABASE $db OWNER mallory" || fail "could not create $db"
  psql_src "$db" -c "GRANT CREATE ON SCHEMA public TO mallory" || fail "could not open public to mallory"
  conn="$(src_conn "$db") user=mallory"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -v trace="$case_dir/trace" -d "$conn" \
    -f "$here/hostile.sql" >"$case_dir/hostile.log" 2>&1 \
    || { cat "$case_dir/hostile.log"; fail "could not plant the hostile schema"; }
  # the trap works: an ordinary superuser's query with the default search_path springs it
  psql_src "$db" -c "SELECT count(*) FROM public.by_varchar WHERE k >= 'key-003999'" \
    -c "SELECT quote_ident('x')" >/dev/null || fail "the planted objects could not be called by a superuser"
  ls "$case_dir/trace" | grep -q '^varchar_ge-' || fail "a superuser's call of the planted operator left no trace"
  ls "$case_dir/trace" | grep -q '^quote_ident_text-' \
    || fail "the database's search_path setting did not put the planted quote_ident first"
  rm -f "$case_dir/trace"/*
  psql_dst postgres -c "DROP ROLE IF EXISTS mallory" -c "CREATE ROLE mallory LOGIN" \
    || fail "could not create mallory on the target"
}

# no_trace WHAT: no planted function ran since the last call.
no_trace() {
  local left
  left=$(ls "$case_dir/trace")
  [ -z "$left" ] || fail "$1 ran code planted in the database: $(echo $left)"
  echo "no planted code ran during $1"
}

case_w() {   # a hostile schema's operators, functions and casts run in none of pgsluice's sessions
  local status=0 want
  hostile_schema hostile
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w" -c "CREATE DATABASE dst_w OWNER mallory" \
    || fail "could not create dst_w"
  # the owner of the target database puts public first there too, for what the restore plants
  "$psql_bin" -X -q -d "$(dst_conn dst_w) user=mallory" -c "ALTER DATABASE dst_w SET search_path = public, pg_catalog" \
    || fail "could not set dst_w's search_path"
  sluice plan --source "$(src_conn hostile)" --jobs 2 --chunk-size 64kB --split-all \
    || fail "pgsluice plan exited with status $?"
  grep -q 'by_varchar' "$case_dir/out" || fail "the plan does not list by_varchar"
  no_trace "plan"
  sluice check --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 || status=$?
  [ "$status" -le 1 ] || fail "pgsluice check exited with status $status"
  no_trace "check"
  sluice clone --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    --split-all --json "$case_dir/clone.json" || fail "pgsluice clone exited with status $?"
  no_trace "clone --split-all"
  "$python" - "$case_dir/clone.json" <<'EOF' || fail "the keyed tables were not copied in key ranges"
import json, sys
r = json.load(open(sys.argv[1]))
seen = 0
for t in r["tables"]:
    if t["name"] in ("public.by_varchar", "public.by_domain", "public.by_enum", "public.by_text_name",
                     "public.by_citext"):
        assert len(t["chunks"]) > 2, (t["name"], len(t["chunks"]))
        seen += 1
    if t["name"] == "public.by_citext":
        assert all("OPERATOR(public.>=)" in c["where"] or "OPERATOR(public.<)" in c["where"]
                   for c in t["chunks"] if c.get("where")), t["chunks"][:2]
assert seen == 5, seen
EOF
  expect_identical hostile dst_w
  # The planted objects are part of the schema, so the target has them too: the verify's
  # sessions must call them on neither side, in the chunk reads nor in the drill-down.
  sluice verify --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice verify exited with status $? (want 0)"
  no_trace "verify"
  psql_dst dst_w -c "UPDATE public.by_varchar SET v = 'changed' WHERE k = 'key-002500'" \
    -c "DELETE FROM public.by_domain WHERE k = 1500" \
    -c "UPDATE public.by_enum SET v = 'changed' WHERE n = 77" \
    -c "UPDATE public.by_text_name SET v = 'changed' WHERE k = 'name-9'" >/dev/null \
    || fail "could not change the target"
  rm -f "$case_dir/trace"/*
  status=0
  sluice verify --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    || status=$?
  [ "$status" -eq 1 ] || fail "verify of a changed target exited with status $status (want 1)"
  for want in "changed: (k)=(key-002500)" "missing on the target: (k)=(1500)" \
              "changed: (m, n)=(ok, 77)" "changed: (k)=(name-9)"; do
    grep -qF -- "$want" "$case_dir/out" || fail "the report does not say \"$want\""
  done
  no_trace "verify's drill-down"
  sluice dump --source "$(src_conn hostile)" --dir "$case_dir/dump" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice dump exited with status $?"
  no_trace "dump"
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w2" -c "CREATE DATABASE dst_w2 OWNER mallory" \
    -c "ALTER DATABASE dst_w2 SET search_path = public, pg_catalog" || fail "could not create dst_w2"
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn dst_w2)" --jobs 2 \
    || fail "pgsluice restore exited with status $?"
  no_trace "restore"
  expect_identical hostile dst_w2

  # The owner of a target database makes the state schema before the first run, with a table
  # of the state's whose trigger would run planted code at pgsluice's first INSERT: refused.
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w3" -c "CREATE DATABASE dst_w3 OWNER mallory" \
    || fail "could not create dst_w3"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(dst_conn dst_w3) user=mallory" >/dev/null <<'EOF' \
    || fail "could not plant a state schema in dst_w3"
CREATE SCHEMA pgsluice;
CREATE TABLE pgsluice.pgsluice_state_version (version int NOT NULL);
INSERT INTO pgsluice.pgsluice_state_version VALUES (2);
CREATE TABLE pgsluice.run (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source_fingerprint text);
CREATE FUNCTION pgsluice.fire() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM public.planted('state_trigger');
  RETURN NEW;
END $f$;
CREATE TRIGGER fire BEFORE INSERT ON pgsluice.run FOR EACH ROW EXECUTE FUNCTION pgsluice.fire();
EOF
  status=0
  sluice clone --source "$(src_conn hostile)" --target "$(dst_conn dst_w3)" --jobs 2 || status=$?
  [ "$status" -eq 4 ] || fail "a clone into a state schema of the database's owner exited $status (want 4)"
  grep -q 'the schema "pgsluice" on the target belongs to role mallory' "$case_dir/err" \
    || fail "the refusal does not name the schema and its owner"
  [ "$(psql_dst dst_w3 -c "SELECT count(*) FROM pgsluice.run")" = 0 ] || fail "the planted run table got a row"
  # status, throttle and cleanup read such a record no more than a run does (a view of its owner's
  # in the place of a table would run her code)
  for cmd in "status" "cleanup --run last"; do
    status=0
    sluice $cmd --target "$(dst_conn dst_w3)" || status=$?
    [ "$status" -ne 0 ] && grep -q 'the schema "pgsluice" on the target belongs to role mallory' "$case_dir/err" \
      || fail "pgsluice $cmd read a state schema of the database's owner (exit $status)"
  done
  [ "$(psql_dst dst_w3 -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'public'")" = 0 ] || fail "the refused clone wrote into dst_w3"

  # A domain whose CHECK calls a function of its owner's: a cast to the domain runs it, so the
  # sessions that only read (plan, verify, dump) cast key boundaries to the base type. (Loading
  # such rows runs the CHECK on the target, as any load does: the copy here is the owner's.)
  psql_src postgres -c "DROP DATABASE IF EXISTS hostile_chk" -c "CREATE DATABASE hostile_chk OWNER mallory" \
    || fail "could not create hostile_chk"
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w4" -c "CREATE DATABASE dst_w4 OWNER mallory" \
    || fail "could not create dst_w4"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(src_conn hostile_chk) user=mallory" >/dev/null <<EOF \
    || fail "could not plant the checked domain"
CREATE TABLE public.trace_dir (path text NOT NULL);
INSERT INTO public.trace_dir VALUES ('$case_dir/trace');
$(sed -n '/^CREATE FUNCTION public.planted/,/^END \$f\$;/p' "$here/hostile.sql")
CREATE FUNCTION public.dcheck(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
  AS \$f\$ BEGIN PERFORM public.planted('domain_check'); RETURN \$1 > -1000000; END \$f\$;
CREATE DOMAIN public.dchecked AS bigint CHECK (public.dcheck(VALUE));
CREATE DOMAIN public.dchecked2 AS public.dchecked;
CREATE TABLE public.by_checked (k public.dchecked2 PRIMARY KEY, v text);
INSERT INTO public.by_checked SELECT i, pg_catalog.repeat('c', 200) FROM pg_catalog.generate_series(1, 4000) i;
EOF
  "$pg_dump_bin" -d "$(src_conn hostile_chk)" --no-owner | "$psql_bin" -X -q -v ON_ERROR_STOP=1 \
    -d "$(dst_conn dst_w4) user=mallory" >/dev/null || fail "could not copy hostile_chk as its owner"
  rm -f "$case_dir/trace"/*
  sluice plan --source "$(src_conn hostile_chk)" --jobs 2 --chunk-size 64kB --split-all \
    || fail "pgsluice plan of hostile_chk exited with status $?"
  grep -q 'by_checked .* key ' "$case_dir/out" || fail "the plan does not split by_checked by its key"
  sluice verify --source "$(src_conn hostile_chk)" --target "$(dst_conn dst_w4)" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice verify of hostile_chk exited with status $? (want 0)"
  rm -rf "$case_dir/dump_chk"
  sluice dump --source "$(src_conn hostile_chk)" --dir "$case_dir/dump_chk" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice dump of hostile_chk exited with status $?"
  no_trace "plan, verify and dump of a table keyed by a checked domain"
  grep -q "'::bigint" "$case_dir/dump_chk/manifest.json" || fail "the dump's ranges do not cast to the base type"
}

# extra_cluster_start DIR PORT [NAME=VALUE...]: a cluster of a case's own, with the settings
# given; the suite's exit stops it, whatever becomes of the case.
extra_cluster_start() {
  local dir=$1 port=$2
  shift 2
  echo "$dir" >>"$tmp/extra-clusters"
  PGCLUSTER_CONF="$*" pgcluster_start "$dir" "$port" || fail "could not start the cluster in $dir"
}

# make_cert DIR NAME CA: a key and a certificate for localhost and 127.0.0.1, signed by CA
# (DIR/CA.key, DIR/CA.crt); make_ca DIR NAME: a self-signed CA.
make_ca() {
  openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=pgsluice test $2" \
    -keyout "$1/$2.key" -out "$1/$2.crt" 2>>"$1/openssl.log" || fail "could not make the CA $2"
}
make_cert() {
  openssl req -new -nodes -newkey rsa:2048 -subj "/CN=localhost" \
    -keyout "$1/$2.key" -out "$1/$2.csr" 2>>"$1/openssl.log" || fail "could not make the key $2"
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >"$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.crt" -CAkey "$1/$3.key" -CAcreateserial -days 2 \
    -extfile "$1/$2.ext" -out "$1/$2.crt" 2>>"$1/openssl.log" || fail "could not sign the certificate $2"
}

case_tls() {   # TLS on both sides, verify-full: clone and verify through libpq's COPY; a wrong CA fails in one line
  local pki=$case_dir/pki src_port_tls dst_port_tls sconn dconn status=0 c
  command -v openssl >/dev/null || fail "openssl is not installed"
  mkdir -p "$pki"
  make_ca "$pki" ca
  make_ca "$pki" other_ca
  make_cert "$pki" server ca
  # the server reads its key as the cluster's owner, and only from a file no one else may read
  chown "$(pgcluster__owner):" "$pki/server.key" "$pki/server.crt" && chmod 0600 "$pki/server.key" \
    || fail "could not hand the server key to the cluster's owner"
  chmod 0755 "$pki"
  # TCP only with TLS: a connection that is not encrypted is refused outright
  printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n' \
    >"$pki/pg_hba.conf"
  src_port_tls=$(closed_port)
  dst_port_tls=$(closed_port)
  while [ "$dst_port_tls" = "$src_port_tls" ]; do dst_port_tls=$(closed_port); done
  for c in tls_source:"$src_port_tls" tls_target:"$dst_port_tls"; do
    extra_cluster_start "$case_dir/${c%%:*}" "${c#*:}" listen_addresses=127.0.0.1 ssl=on \
      ssl_cert_file="$pki/server.crt" ssl_key_file="$pki/server.key" hba_file="$pki/pg_hba.conf"
  done
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_source" -p "$src_port_tls" -U postgres -d postgres \
    -c "CREATE DATABASE src" >/dev/null || fail "could not create src on the TLS source"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_source" -p "$src_port_tls" -U postgres -d src \
    -f "$here/sample.sql" >"$case_dir/load.log" 2>&1 || fail "could not load sample.sql into the TLS source"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_target" -p "$dst_port_tls" -U postgres -d postgres \
    -c "CREATE DATABASE dst" >/dev/null || fail "could not create dst on the TLS target"
  tls_conn() {   # tls_conn PORT DB CA
    printf 'host=localhost hostaddr=127.0.0.1 port=%s user=postgres dbname=%s sslmode=verify-full sslrootcert=%s' \
      "$1" "$2" "$pki/$3.crt"
  }
  sconn=$(tls_conn "$src_port_tls" src ca)
  dconn=$(tls_conn "$dst_port_tls" dst ca)
  "$psql_bin" -X -A -t -d "$sconn" -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
    >"$case_dir/ssl" || fail "psql could not connect through TLS"
  [ "$(cat "$case_dir/ssl")" = t ] || fail "the session through TCP is not encrypted"
  "$psql_bin" -X -A -t -d "host=127.0.0.1 port=$src_port_tls user=postgres dbname=src sslmode=disable" -c "SELECT 1" \
    >/dev/null 2>&1 && fail "the TLS source takes connections without TLS"

  # (the server refuses TCP without TLS, so every session of the clone, its pg_dump and
  # pg_restore included, is encrypted, and the workers move rows through libpq's COPY functions)
  sluice clone --source "$sconn" --target "$dconn" --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone through TLS exited with status $?"
  echo "+ compare.sh (TLS source, TLS target)"
  "$compare" "$sconn" "$dconn" >"$case_dir/compare.out" 2>&1 || { cat "$case_dir/compare.out"; fail "compare.sh found differences"; }
  cat "$case_dir/compare.out"
  sluice verify --source "$sconn" --target "$dconn" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice verify through TLS exited with status $? (want 0)"
  grep -q 'identical' "$case_dir/out" || fail "verify did not say identical"

  # a CA that did not sign the server's certificate: refused at once, in one line
  sluice verify --source "$(tls_conn "$src_port_tls" src other_ca)" --target "$dconn" || status=$?
  [ "$status" -eq 2 ] || fail "verify with the wrong CA for the source exited with status $status (want 2)"
  one_line_error "certificate" "no password here"
  status=0
  sluice clone --source "$sconn" --target "$(tls_conn "$dst_port_tls" dst other_ca)" || status=$?
  [ "$status" -eq 4 ] || fail "clone with the wrong CA for the target exited with status $status (want 4)"
  one_line_error "certificate" "no password here"
}

# z_cleanup: the roles case z made on the source cluster, and their database, dropped.
z_cleanup() {
  psql_src postgres -c "DROP DATABASE IF EXISTS z_src" -c "DROP ROLE IF EXISTS z_owner" \
    -c "DROP ROLE IF EXISTS z_reader" -c "DROP ROLE IF EXISTS z_dumper" >/dev/null 2>&1
}

# z_untouched DB: target database DB holds no state schema and no relation at all.
z_untouched() {
  [ "$(psql_dst "$1" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "$2: the target has a pgsluice schema"
  [ "$(psql_dst "$1" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')")" = 0 ] \
    || fail "$2: the target holds relations"
}

# z_has_record DB: 1 when target database DB has the pgsluice schema, else 0.
z_has_record() { psql_dst "$1" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'"; }

case_z() {   # checks first: a refused run writes nothing; a finished run leaves no record; cleanup
  local status
  trap z_cleanup EXIT
  z_cleanup
  # a role on the source only, owning a table
  psql_src postgres -c "CREATE ROLE z_owner" -c "CREATE ROLE z_reader LOGIN" -c "CREATE DATABASE z_src" >/dev/null \
    || fail "could not create the roles and database"
  psql_src z_src -c "CREATE TABLE z_t (id serial PRIMARY KEY, note text)" \
    -c "INSERT INTO z_t (note) SELECT 'row ' || g FROM generate_series(1, 5000) g" \
    -c "ALTER TABLE z_t OWNER TO z_owner" >/dev/null || fail "could not fill z_src"

  # (a) the role is missing on the target: refused with the finding and its fix, nothing written
  create_dst dst_z
  status=0
  sluice clone --source "$(src_conn z_src)" --target "$(dst_conn dst_z)" --jobs 2 || status=$?
  [ "$status" -eq 4 ] || fail "a clone whose role is missing on the target exited $status (want 4)"
  grep -q 'blocker  target  1 role that owns objects .*: z_owner \[roles_missing\]' "$case_dir/err" \
    || fail "the refusal does not give the check's finding"
  grep -q 'fix: create them on the target first (pg_dumpall --roles-only' "$case_dir/err" \
    || fail "the refusal does not give the fix"
  grep -q 'refused before it writes anything' "$case_dir/err" || fail "the refusal does not say nothing was written"
  ! grep -q -- '--resume' "$case_dir/err" || fail "a refused clone says how to resume"
  z_untouched dst_z "the refused clone"
  # with --no-owner the role is not needed; (b) the finished run leaves no record
  sluice clone --source "$(src_conn z_src)" --target "$(dst_conn dst_z)" --jobs 2 --no-owner -v \
    --json "$case_dir/z.json" || fail "the clone with --no-owner exited with status $?"
  sed -n 's/.*\(checks: .* in [0-9.]* s\).*/\1/p' "$case_dir/err"
  expect_identical z_src dst_z
  [ "$(z_has_record dst_z)" = 0 ] || fail "a finished clone left its pgsluice schema"
  grep -q 'its record is removed from the target, with the state schema' "$case_dir/err" \
    || fail "the clone does not say that it removed its record"
  "$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["record_removed"] and r["tables"], r' \
    "$case_dir/z.json" || fail "the JSON report lacks the run or says the record stays"
  # status and a worker of the finished run: its record is gone, which says it finished
  status=0
  "$bin" status --target "$(dst_conn dst_z)" >"$case_dir/status.out" 2>&1 || status=$?
  cat "$case_dir/status.out"
  [ "$status" -eq 2 ] && grep -q 'a run that finished removed its record (unless it ran with --keep-record)' \
    "$case_dir/status.out" || fail "status of a finished run does not say its record is removed (exit $status)"
  sluice worker --target "$(dst_conn dst_z)" --run 1 --jobs 1 || fail "a worker of a finished run exited with status $?"
  grep -q 'run 1 is finished' "$case_dir/err" || fail "the worker does not say that run 1 is finished"
  [ "$(z_has_record dst_z)" = 0 ] || fail "the worker of a finished run made a pgsluice schema"

  # --keep-record keeps it; cleanup removes the run and the schema
  create_dst dst_z_keep
  sluice clone --source "$(src_conn z_src)" --target "$(dst_conn dst_z_keep)" --jobs 2 --no-owner --keep-record \
    || fail "the clone with --keep-record exited with status $?"
  [ "$(psql_dst dst_z_keep -c "SELECT status || '/' || step FROM pgsluice.run")" = done/done ] \
    || fail "--keep-record did not keep the finished run's record"
  sluice status --target "$(dst_conn dst_z_keep)" || fail "status of a kept run exited with status $?"
  sluice cleanup --target "$(dst_conn dst_z_keep)" --run last || fail "cleanup exited with status $?"
  [ "$(z_has_record dst_z_keep)" = 0 ] || fail "cleanup of the only run left the pgsluice schema"

  # (c) a failed run keeps its record: a view takes the name of the table's sequence, which
  # the checks do not look for, so the schema step fails once the run is recorded
  create_dst dst_z_fail
  psql_dst dst_z_fail -c "CREATE VIEW public.z_t_id_seq AS SELECT 1 AS x" >/dev/null || fail "could not create the view"
  status=0
  sluice clone --source "$(src_conn z_src)" --target "$(dst_conn dst_z_fail)" --jobs 2 --no-owner || status=$?
  [ "$status" -ne 0 ] || fail "a clone whose schema step fails exited 0"
  [ "$(psql_dst dst_z_fail -c "SELECT status FROM pgsluice.run")" = failed ] \
    || fail "the failed run did not keep its record"
  grep -q -- '--resume 1' "$case_dir/err" || fail "the failed clone does not say how to resume"
  sluice cleanup --target "$(dst_conn dst_z_fail)" --run 1 || fail "cleanup of the failed run exited with status $?"
  grep -q 'run 1 removed, and the state schema with it' "$case_dir/err" || fail "cleanup does not say the schema went"
  [ "$(z_has_record dst_z_fail)" = 0 ] || fail "cleanup of the failed run left the pgsluice schema"

  # (d) dump: a user who may not read the table is refused before the directory is made;
  # restore into a target lacking the role: refused, nothing written; with --no-owner it loads
  status=0
  sluice dump --source "host=$src_dir port=$src_port user=z_reader dbname=z_src" --dir "$case_dir/zdump_denied" \
    --jobs 2 || status=$?
  [ "$status" -eq 3 ] || fail "a dump by a user who may not read the table exited $status (want 3)"
  grep -q 'blocker  source  user "z_reader" may not read 2 of the source.s tables and sequences .*\[source_privileges\]' \
    "$case_dir/err" || fail "the dump's refusal does not give the check's finding"
  [ ! -e "$case_dir/zdump_denied" ] || fail "the refused dump made its directory"
  rm -rf "$case_dir/zdump"
  sluice dump --source "$(src_conn z_src)" --dir "$case_dir/zdump" --jobs 2 || fail "pgsluice dump exited with status $?"
  create_dst dst_z_restore
  status=0
  sluice restore --dir "$case_dir/zdump" --target "$(dst_conn dst_z_restore)" --jobs 2 || status=$?
  [ "$status" -eq 4 ] || fail "a restore whose role is missing on the target exited $status (want 4)"
  grep -q 'z_owner \[roles_missing\]' "$case_dir/err" || fail "the restore's refusal does not give the check's finding"
  z_untouched dst_z_restore "the refused restore"
  sluice restore --dir "$case_dir/zdump" --target "$(dst_conn dst_z_restore)" --jobs 2 --no-owner \
    || fail "the restore with --no-owner exited with status $?"
  expect_identical z_src dst_z_restore
  [ "$(z_has_record dst_z_restore)" = 0 ] || fail "a finished restore left its pgsluice schema"

  # a role whose connection limit is just what the dump opens (2 workers, the snapshot's session,
  # pg_dump's): the session the dump holds while it checks is one of those, not another's
  psql_src postgres -c "CREATE ROLE z_dumper LOGIN CONNECTION LIMIT 4" >/dev/null || fail "could not create z_dumper"
  psql_src z_src -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO z_dumper" \
    -c "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO z_dumper" >/dev/null || fail "could not grant to z_dumper"
  sluice dump --source "host=$src_dir port=$src_port user=z_dumper dbname=z_src" --dir "$case_dir/zdump_limit" \
    --jobs 2 || fail "a dump within its role's connection limit exited with status $?"
  status=0
  sluice dump --source "host=$src_dir port=$src_port user=z_dumper dbname=z_src" --dir "$case_dir/zdump_over" \
    --jobs 3 || status=$?
  [ "$status" -eq 3 ] && grep -q 'connection_slots' "$case_dir/err" \
    || fail "a dump past its role's connection limit was not refused by the check (exit $status)"
}

# start_proxy SIDE AFTER [MATCH]: starts blackhole_proxy.py in front of SIDE's (source or target)
# socket, stalling the first connection that starts a COPY (or a statement starting with MATCH)
# after AFTER more bytes each way; sets $proxy_pid and $proxy_port. The case's EXIT trap ends it,
# and it exits by itself after 300 s.
start_proxy() {
  local sock
  if [ "$1" = source ]; then sock=$src_dir/.s.PGSQL.$src_port; else sock=$dst_dir/.s.PGSQL.$dst_port; fi
  rm -f "$case_dir/port"
  "$python" "$here/blackhole_proxy.py" --socket "$sock" --port-file "$case_dir/port" --after "$2" \
    --match "${3:-COPY}" --lifetime 300 2>"$case_dir/proxy.log" &
  proxy_pid=$!
  trap 'kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null' EXIT
  for _ in $(seq 100); do [ -s "$case_dir/port" ] && break; sleep 0.1; done
  [ -s "$case_dir/port" ] || fail "the proxy did not start: $(cat "$case_dir/proxy.log")"
  proxy_port=$(cat "$case_dir/port")
}

# stop_proxy SIDE: ends the proxy; it must have stalled a connection.
stop_proxy() {
  echo "--- proxy"; cat "$case_dir/proxy.log"
  kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null
  trap - EXIT
  grep -q 'stalled: nothing forwarded' "$case_dir/proxy.log" || fail "the proxy stalled no $1 connection"
}

# stalled_and_retried SIDE SECS: stderr says that a chunk's SIDE connection stalled and was
# retried, and the run took well under the proxy's 300 s (the stall, a backoff, the work).
stalled_and_retried() {
  grep -q "no byte moved on the $1 connection for 5 s" "$case_dir/err" || fail "no warning that the $1 connection stalled"
  grep -q "chunk [0-9]* of table .*no byte moved on the $1 connection.*retrying" "$case_dir/err" \
    || fail "the stall warning does not name the chunk, or the chunk was not retried"
  awk -v s="$2" 'BEGIN { exit !(s < 60) }' || fail "it took $2 s"
}

case_x() {   # stalls: a COPY connection given up and retried on either side; a stalled pg_restore killed, a slow one not
  local run side after extra start secs source target db
  [ -n "$python" ] || fail "python3 is needed for the stalling proxy"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn postgres)" --stall-timeout -1
  [ $? -eq 2 ] || fail "--stall-timeout -1 was not refused as bad usage"
  grep -q 'invalid value "-1" for --stall-timeout' "$case_dir/err" || fail "the usage error does not name --stall-timeout"
  # mid-rows on each side (256 kB pass first); then at the COPY statement itself, through libpq's
  # COPY functions on the source
  for run in "source 262144" "target 262144" "source 0 --no-direct-copy" "target 0"; do
    read -r side after extra <<<"$run"
    db=dst_x_${side}_$after
    create_dst "$db"
    start_proxy "$side" "$after"
    source=$(src_conn src)
    target=$(dst_conn "$db")
    if [ "$side" = source ]; then source="host=127.0.0.1 port=$proxy_port user=postgres dbname=src"
    else target="host=127.0.0.1 port=$proxy_port user=postgres dbname=$db"; fi
    start=$(now)
    status=0
    # shellcheck disable=SC2086  # $extra: no option, or one
    sluice clone --source "$source" --target "$target" --stall-timeout 5 --jobs 2 --keep-record -v $extra || status=$?
    secs=$(elapsed "$start")
    stop_proxy "$side"
    echo "clone through a $side stalled $after bytes after a COPY began: exit $status in $secs s"
    [ "$status" -eq 0 ] || fail "the clone through a stalling $side exited $status"
    stalled_and_retried "$side" "$secs"
    # a session blocked on its socket ignores a cancel: the retry ends it, or it holds the chunk's row
    grep -q "ended the $side's stalled session" "$case_dir/err" || fail "the stalled $side session was not ended"
    expect_identical src "$db"
    expect_chunks_done "$db"
  done

  # dump and restore: a stalled chunk file load is retried too
  rm -rf "$case_dir/dump"
  sluice dump --source "$(src_conn src)" --dir "$case_dir/dump" --jobs 2 || fail "dump failed"
  create_dst dst_x_restore
  start_proxy target 262144
  start=$(now)
  status=0
  sluice restore --dir "$case_dir/dump" --target "host=127.0.0.1 port=$proxy_port user=postgres dbname=dst_x_restore" \
    --stall-timeout 5 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy target
  [ "$status" -eq 0 ] || fail "the restore through a stalling target exited $status"
  stalled_and_retried target "$secs"
  expect_identical src dst_x_restore

  # verify retries nothing: a stalled side fails it, at once and by name, instead of a hang
  start_proxy source 262144
  start=$(now)
  status=0
  sluice verify --source "host=127.0.0.1 port=$proxy_port user=postgres dbname=src" \
    --target "$(dst_conn dst_x_restore)" --stall-timeout 5 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy source
  [ "$status" -eq 2 ] || fail "verify through a stalling source exited $status, not 2"
  grep -q "chunk [0-9]* of table .*no byte moved on the source connection for 5 s" "$case_dir/err" \
    || fail "verify's error does not name the chunk and the stalled side"
  awk -v s="$secs" 'BEGIN { exit !(s < 60) }' || fail "verify took $secs s"

  # pg_restore is silent through an index build: one that takes longer than the stall timeout is
  # working (its session is active) and must not be killed; one whose statement the network
  # swallowed is, and the run resumes
  if [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'slowidx'")" = 0 ]; then
    psql_src postgres -c "CREATE DATABASE slowidx" || fail "could not create database slowidx"
    psql_src slowidx <<'SQL' || fail "could not fill database slowidx"
CREATE FUNCTION slow_key(id int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM pg_catalog.pg_sleep(0.02);
  RETURN id;
END
$$;
CREATE TABLE slow_t (id int PRIMARY KEY, note text);
INSERT INTO slow_t SELECT i, md5(i::text) FROM generate_series(1, 250) AS i;
CREATE INDEX slow_t_key ON slow_t (slow_key(id));
SQL
  fi
  create_dst dst_x_slowidx
  start=$(now)
  sluice clone --source "$(src_conn slowidx)" --target "$(dst_conn dst_x_slowidx)" --stall-timeout 2 --jobs 2 \
    || fail "a clone whose index build outlasts --stall-timeout 2 failed"
  secs=$(elapsed "$start")
  echo "clone with a 5 s index build and --stall-timeout 2: $secs s"
  awk -v s="$secs" 'BEGIN { exit !(s > 5) }' || fail "the index build took no time ($secs s): nothing was proved"
  expect_identical slowidx dst_x_slowidx

  create_dst dst_x_stuckidx
  start_proxy target 0 "CREATE INDEX"
  start=$(now)
  status=0
  sluice clone --source "$(src_conn slowidx)" --target "host=127.0.0.1 port=$proxy_port user=postgres dbname=dst_x_stuckidx" \
    --stall-timeout 2 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy target
  [ "$status" -eq 4 ] || fail "a clone whose pg_restore stalled exited $status, not 4"
  grep -q 'pg_restore of the post-data schema made no progress for 2 s.*killed it.*--stall-timeout' "$case_dir/err" \
    || fail "no error that names the stalled pg_restore, the seconds and the fix"
  awk -v s="$secs" 'BEGIN { exit !(s < 60) }' || fail "the stalled pg_restore was killed after $secs s"
  sluice clone --resume last --source "$(src_conn slowidx)" --target "$(dst_conn dst_x_stuckidx)" \
    || fail "the run with the stalled pg_restore did not resume"
  expect_identical slowidx dst_x_stuckidx

  # a chunk's COPY that waits for a lock on the target says nothing for longer than the stall
  # timeout, yet its server works on it: that is waited out, not given up
  schema_copy src dst_x_lock
  "$psql_bin" -X -q -d "$(dst_conn dst_x_lock)" \
    -c "BEGIN; LOCK TABLE public.k_bigint IN SHARE MODE; SELECT pg_sleep(8); COMMIT" >/dev/null 2>&1 &
  local locker=$!
  sleep 1
  start=$(now)
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_x_lock)" --data-only --jobs 2 \
    --stall-timeout 3 -v || fail "the clone that waited for a lock exited with status $?"
  wait "$locker" 2>/dev/null
  secs=$(elapsed "$start")
  if grep -q 'gave it up (--stall-timeout)' "$case_dir/err"; then
    fail "a COPY waiting for a lock was given up as stalled"
  fi
  grep -q 'but is still working on the statement' "$case_dir/err" \
    || fail "the clone did not wait for the lock past the stall timeout (done in $secs s)"
  expect_identical src dst_x_lock
}

cases=(
  "a|clone --jobs 2 --chunk-size 1MB --split-all into an empty database"
  "b|clone --jobs 1 with the default chunk size"
  "c|clone --data-only into a schema made with pg_dump --schema-only"
  "d|clone --data-only into a non-empty table fails, then --truncate succeeds"
  "e|clone into a database that already has the schema fails and changes nothing"
  "f|bad connections fail fast with one line and no password"
  "g|backends killed mid-chunk on the target, then the source, are retried; with --retries 0 the run fails"
  "h|clone --best-effort"
  "i|clone --json writes a per-chunk digest for every table; tables of few chunks go in whole, frozen"
  "j|clone --no-direct-copy (libpq's COPY functions, as on encrypted connections)"
  "k|verify: a clone is identical (exit 0); each change made on the target is found (exit 1)"
  "l|verify: no false difference in 20 runs over rows stored in other orders"
  "m|clone --verify reads the target only and names a row changed on the way"
  "n|killed early, mid-data and in post-data, and interrupted: resumed to an identical copy"
  "o|the target restarted mid-run: retried to an identical copy; a permanent error stops at once"
  "p|three processes on one run, the first killed: the others and a resume finish it"
  "q|dump then restore is identical; a damaged dump is refused untouched; a killed restore resumes; ENOSPC; SQL_ASCII names"
  "r|clone --spill is identical and removes its files; --keep-spill; --spill-limit; killed and resumed; a chunk held elsewhere loaded from its file"
  "t|no password in output, logs, JSON or ps; progress lines when piped; a live display in a terminal"
  "u|plan lists the clone's chunks and an estimate; Prometheus metrics served and written during a clone"
  "v|--table, --exclude-table, --schema, --exclude-schema choose as pg_dump's patterns do; a resume keeps them"
  "w|a hostile schema's planted operators, functions and casts run in no session of plan, check, clone, verify, dump or restore"
  "tls|TLS with verify-full on both sides: clone and verify identical; a wrong CA fails in one line"
  "s|check: each finding on databases built to have it, with its fix; exit 0 clean, 1 warnings, 2 blockers"
  "y|--max-rate caps the data rate of clone, verify, dump and restore; throttle pauses a clone and its worker within 2 s, resumes and re-caps it"
  "z|checks first: a clone, dump or restore refused writes nothing; a finished run removes its record; cleanup"
  "x|a connection that stops moving mid-COPY or at its start, on either side: given up after --stall-timeout and retried (clone, restore), or named (verify); a silent index build is left alone, a stalled pg_restore killed"
)

# ---------------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------------

suite_start=$(now)
deadline=${PGSLUICE_IT_DEADLINE:-1200}   # seconds; ctest's own limit is 1800
echo "# pgsluice integration suite: $bin"
echo "# work directory $tmp"
if ! pgcluster_start "$src_dir" "$src_port" >"$logs/setup.log" 2>&1 \
   || ! pgcluster_start "$dst_dir" "$dst_port" >>"$logs/setup.log" 2>&1; then
  echo "Bail out! could not start the clusters"
  cat "$logs/setup.log"
  exit 2
fi
load_start=$(now)
if ! { psql_src postgres -c "CREATE DATABASE src" &&
       psql_src src -f "$here/sample.sql"; } >>"$logs/setup.log" 2>&1; then
  echo "Bail out! could not load sample.sql"
  tail -n 30 "$logs/setup.log"
  exit 2
fi
echo "# sample.sql loaded in $(elapsed "$load_start") s"

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------

number=0
passed=0
failed=0
for entry in "${cases[@]}"; do
  letter=${entry%%|*}
  title=${entry#*|}
  if [ -n "${PGSLUICE_IT_CASES:-}" ] && [[ " $PGSLUICE_IT_CASES " != *" $letter "* ]]; then
    continue
  fi
  number=$((number + 1))
  case_dir=$tmp/case-$letter
  mkdir -p "$case_dir"
  log=$logs/$letter.log
  start=$(now)
  if [ "$(awk -v a="$suite_start" -v b="$(now)" 'BEGIN { print int(b - a) }')" -ge "$deadline" ]; then
    failed=$((failed + 1))
    echo "not ok $number - $letter: $title (not run: the suite passed its ${deadline} s deadline)"
    continue
  fi
  # In the background, so that a signal reaches the trap at once rather than after the case.
  ( set +e; "case_$letter" ) >"$log" 2>&1 </dev/null &
  case_pid=$!
  status=0
  wait "$case_pid" || status=$?
  case_pid=""
  secs=$(elapsed "$start")
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok $number - $letter: $title ($secs s)"
  else
    failed=$((failed + 1))
    echo "not ok $number - $letter: $title ($secs s)"
    tail -n "${PGSLUICE_IT_TAIL:-25}" "$log" | sed 's/^/#   /'
  fi
done
echo "1..$number"
echo "# total $(elapsed "$suite_start") s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
