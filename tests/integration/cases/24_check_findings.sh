# check: each finding on databases built to have it, with its fix; exit 0 clean, 1 warnings, 2 blockers

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

case_main() {   # check: each finding on databases built to have it; exit 0 clean, 1 warnings, 2 blockers
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

  echo "== warnings only: idle_session_timeout; notes for the rest, large objects among them"
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
  grep -q '^check: 0 blockers, 1 warning, ' "$case_dir/out" || fail "want 0 blockers and 1 warning"
  expect_finding note source large_objects "the source's 1 large object (8.0 kB) is copied with the data"
  expect_finding warning source idle_session_timeout "idle_session_timeout is 1h on the source" "ALTER ROLE"
  expect_finding note source table_without_key "public.nokey" "a primary key"
  expect_finding note source text_format 'table public.ts moves as text, not binary: column d: type "tsvector"'
  expect_finding note source unlogged_tables "1 unlogged table is copied and stays unlogged on the target"
  expect_finding note source materialized_views "refreshed on the target after the data (REFRESH MATERIALIZED VIEW runs the query there): public.mv"
  expect_finding note source session_timeouts "statement_timeout is 5min"
  "$python" - "$case_dir/warn.json" <<'PY' || fail "the JSON report lacks a finding or a field"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "warnings" and r["blockers"] == 0 and r["warnings"] == 1, r
f = {x["code"]: x for x in r["findings"]}
for x in r["findings"]:
    assert set(x) == {"severity", "side", "code", "message", "fix", "objects"}, x
assert f["large_objects"]["severity"] == "note" and f["large_objects"]["side"] == "source"
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
