# verify --repair-sql and --repair on a pg_dump copy of the sample with seven kinds of change
# timeout: 600

# The rows written to the target's tables so far, by its own statistics.
rows_written() {
  psql_dst "$1" -c "SELECT pg_stat_force_next_flush()" >/dev/null
  psql_dst "$1" -c "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
}

case_main() {
  local before after file="$case_dir/repair.sql"

  # a copy made by pg_dump: other type OIDs, and the keyless rows in another order
  create_dst rep
  "$pg_dump_bin" -Fc -d "$(src_conn src)" --no-owner --no-privileges >"$case_dir/src.dump" \
    || fail "pg_dump failed"
  "$pg_restore_bin" -d "$(dst_conn rep)" --no-owner --no-privileges "$case_dir/src.dump" \
    || fail "pg_restore failed"
  psql_dst rep >/dev/null <<'SQL' || fail "could not reshuffle the keyless rows"
CREATE TEMP TABLE shuffled AS SELECT * FROM nokey ORDER BY random();
DELETE FROM nokey;
INSERT INTO nokey SELECT * FROM shuffled;
SQL
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --jobs 2 --progress-interval 0 \
    || fail "the pg_dump copy is not identical to begin with (status $?)"

  # the changes, each of its own kind
  psql_dst rep >/dev/null <<'SQL' || fail "could not change the target"
UPDATE types_all SET c_text = c_text || ' ' WHERE id = (SELECT min(id) FROM types_all WHERE c_text <> '');
DELETE FROM k_bigint WHERE id = (SELECT min(id) FROM k_bigint);
INSERT INTO toasty VALUES (1000001, 'inserted on the target');
DELETE FROM nullable_unique WHERE ctid = (SELECT min(ctid) FROM nullable_unique WHERE v = 'null again');
DELETE FROM nokey WHERE ctid = (SELECT min(ctid) FROM nokey WHERE a = 5);
UPDATE big_values SET t = overlay(t PLACING 'E' FROM 3000000 FOR 1) WHERE id = 2;
UPDATE types_all SET c_double = 0 WHERE c_double::text = '-0';
SELECT setval('seq_advanced', 1);
SQL
  [ "$(psql_dst rep -c "SELECT substr(t, 2999998, 4) FROM big_values WHERE id = 2")" = "🐘 El" ] \
    || fail "the byte in the middle of the 12 MB value is not the one meant"
  [ "$(psql_dst rep -c "SELECT count(*) FROM types_all WHERE c_double::text = '0'")" -ge 1 ] \
    || fail "no -0 was made 0"
  # a copy of the changed target as it is, tuple for tuple, for the file to be replayed on
  psql_dst postgres -c "CREATE DATABASE rep_file TEMPLATE rep" >/dev/null || fail "could not copy the target"

  status=0
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --jobs 2 --progress-interval 0 || status=$?
  [ "$status" -eq 1 ] || fail "verify of the changed target exited with status $status (want 1)"

  # --repair-sql: the statements, and nothing changed
  before=$(rows_written rep)
  status=0
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --jobs 2 --progress-interval 0 \
    --repair-sql "$file" || status=$?
  [ "$status" -eq 1 ] || fail "verify --repair-sql exited with status $status (want 1: something to repair)"
  grep -q '^COPY ' "$file" && grep -q '^DELETE FROM ONLY ' "$file" && grep -q 'pg_catalog.setval' "$file" \
    || fail "the file does not hold the deletes, the copies and the sequence"
  grep -q "statements for .* chunks .* nothing was changed" "$case_dir/out" \
    || fail "the summary does not say the statements were written and nothing changed"
  sleep 1
  after=$(rows_written rep)
  [ "$after" = "$before" ] || fail "--repair-sql wrote to the target ($before rows written before, $after after)"
  [ "$(psql_dst rep -c "SELECT last_value FROM seq_advanced")" = 1 ] || fail "--repair-sql set a sequence"

  # the file, replayed by psql on the copy, makes it identical
  echo "+ psql -f repair.sql rep_file"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(dst_conn rep_file)" -f "$file" >/dev/null \
    || fail "psql could not replay the repair statements"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep_file)" --jobs 2 --progress-interval 0 \
    || fail "the target is not identical after the file was replayed (status $?)"

  # --repair: exit 0, a second verify agrees, so does plain SQL, and few rows were written
  before=$(rows_written rep)
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --jobs 2 --progress-interval 0 \
    --repair --json "$case_dir/repair.json" --metrics-file "$case_dir/metrics.prom" \
    || fail "verify --repair exited with status $?"
  grep -q "^repaired: table public.toasty" "$case_dir/out" || fail "the summary does not list the repaired chunks"
  grep -q "1 sequences set" "$case_dir/out" || fail "the summary does not say the sequence was set"
  python3 - "$case_dir/repair.json" <<'PY' || fail "the JSON report does not list the repaired rows"
import json, sys
v = json.load(open(sys.argv[1]))
r = v["repair"]
assert r["rows_deleted"] >= 3 and r["rows_inserted"] >= 5 and r["sequences_set"] == 1, r
kinds = [d["kind"] for c in v["chunks"] if "repair" in c for d in c["repair"]["rows"]]
assert kinds.count("missing") >= 3 and kinds.count("extra") == 1 and kinds.count("changed") >= 2, kinds
assert v["status"] == "identical", v["status"]
PY
  grep -Eq '^pgsluice_repair_rows_inserted_total\{command="verify"\} [1-9]' "$case_dir/metrics.prom" \
    || fail "the metrics do not count the rows the repair copied in"
  sleep 1
  after=$(rows_written rep)
  echo "rows written by the repair: $((after - before))"
  [ $((after - before)) -le 100 ] || fail "the repair wrote $((after - before)) rows (want at most 100)"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --jobs 2 --progress-interval 0 \
    || fail "a second verify exited with status $?"
  expect_identical src rep

  # a target that a subscription writes into is not repaired
  # (enabled, with a slot that is not there: its worker retries, and the catalog says enabled)
  psql_dst rep -c "CREATE SUBSCRIPTION rep_sub CONNECTION '$(src_conn src)' PUBLICATION none
                   WITH (connect = false)" -c "ALTER SUBSCRIPTION rep_sub SET (slot_name = 'not_there')" \
    -c "ALTER SUBSCRIPTION rep_sub ENABLE" >/dev/null || fail "could not create the subscription"
  status=0
  sluice verify --source "$(src_conn src)" --target "$(dst_conn rep)" --progress-interval 0 --repair || status=$?
  psql_dst rep -c "ALTER SUBSCRIPTION rep_sub DISABLE" -c "ALTER SUBSCRIPTION rep_sub SET (slot_name = NONE)" \
    -c "DROP SUBSCRIPTION rep_sub" >/dev/null || fail "could not drop the subscription"
  [ "$status" -eq 2 ] || fail "verify --repair into a subscribed target exited with status $status (want 2)"
  grep -q 'subscription "rep_sub" replicates into the target' "$case_dir/err" \
    || fail "the refusal does not name the subscription"
  psql_dst postgres -c "DROP DATABASE rep" -c "DROP DATABASE rep_file" >/dev/null
}
