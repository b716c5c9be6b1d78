# a table in a tablespace the target lacks: check names it with the fix; --no-tablespaces clones it
# timeout: 120

case_main() {   # tablespaces: a blocker that names them, and --no-tablespaces
  local ts_dir=$case_dir/ts_src status=0
  psql_src postgres -c "DROP DATABASE IF EXISTS ts_src" >/dev/null || fail "could not drop ts_src"
  psql_src postgres -c "DROP TABLESPACE IF EXISTS it_space" >/dev/null || fail "could not drop it_space"
  rm -rf "$ts_dir"
  mkdir -p "$ts_dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$ts_dir"; fi
  psql_src postgres -c "CREATE TABLESPACE it_space LOCATION '$ts_dir'" >/dev/null || fail "could not create it_space"
  psql_src postgres -c "CREATE DATABASE ts_src" >/dev/null || fail "could not create ts_src"
  psql_src ts_src >/dev/null <<'SQL' || fail "could not fill ts_src"
CREATE TABLE placed (id int PRIMARY KEY, v text) TABLESPACE it_space;
CREATE TABLE plain (id int PRIMARY KEY);
INSERT INTO placed SELECT i, md5(i::text) FROM generate_series(1, 1000) i;
INSERT INTO plain SELECT generate_series(1, 100);
SQL
  create_dst ts_dst
  sluice check --source "$(src_conn ts_src)" --target "$(dst_conn ts_dst)" || status=$?
  [ "$status" -eq 2 ] || fail "check with a tablespace the target lacks exited with status $status (want 2)"
  grep -E '^blocker +target .*tablespace.*the target lacks.*it_space.*\[tablespaces\]' "$case_dir/out" \
    || fail "check does not name the missing tablespace"
  grep -q 'fix: create them on the target first (CREATE TABLESPACE' "$case_dir/out" || fail "no fix for the tablespace"
  status=0
  sluice clone --source "$(src_conn ts_src)" --target "$(dst_conn ts_dst)" || status=$?
  [ "$status" -eq 4 ] || fail "a clone into a target without the tablespace exited with status $status (want 4)"
  [ "$(psql_dst ts_dst -c "SELECT count(*) FROM pg_class WHERE relname = 'plain'")" = 0 ] \
    || fail "the refused clone wrote to the target"
  sluice clone --source "$(src_conn ts_src)" --target "$(dst_conn ts_dst)" --no-tablespaces \
    || fail "clone --no-tablespaces exited with status $? (want 0)"
  expect_identical ts_src ts_dst
  [ "$(psql_dst ts_dst -c "SELECT reltablespace FROM pg_class WHERE relname = 'placed'")" = 0 ] \
    || fail "the table is not in the target's default tablespace"
  psql_src postgres -c "DROP DATABASE ts_src" -c "DROP TABLESPACE it_space" >/dev/null || fail "could not clean up"
}
