# checks first: a clone, dump or restore refused writes nothing; a finished run removes its record; cleanup

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

case_main() {   # checks first: a refused run writes nothing; a finished run leaves no record; cleanup
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
