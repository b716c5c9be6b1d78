# clone --follow while pgbench writes, status with the lag, cutover --verify; a keyless table refused first
# timeout: 400

case_main() {
  follow_cluster_pair bench 3
  psql_src bench >/dev/null <<'SQL' || fail "could not add the keyless table"
CREATE TABLE pgbench_notes (body text);
INSERT INTO pgbench_notes VALUES ('a'), ('a'), ('b');
CREATE SEQUENCE note_seq;
SELECT setval('note_seq', 77);
SQL

  echo "== a table with no key and no replica identity stops clone --follow before anything is made"
  status=0
  sluice check --follow --source "$(src_conn bench)" --target "$(dst_conn bench)" || status=$?
  [ "$status" -eq 2 ] || fail "check --follow exited with status $status (want 2: a blocker)"
  grep -q 'public.pgbench_notes' "$case_dir/out" || fail "check --follow does not name the keyless table"
  grep -q 'REPLICA IDENTITY FULL' "$case_dir/out" || fail "check --follow does not give the fix"
  status=0
  sluice clone --follow --source "$(src_conn bench)" --target "$(dst_conn bench)" --progress-interval 0 || status=$?
  [ "$status" -ne 0 ] || fail "clone --follow of a keyless table exited 0"
  grep -q 'public.pgbench_notes' "$case_dir/err" || fail "the refusal does not name the keyless table"
  [ "$(psql_src bench -c "SELECT count(*) FROM pg_publication")/$(psql_src bench -c "SELECT count(*) FROM pg_replication_slots")" = 0/0 ] \
    || fail "the refused clone left a publication or a slot on the source"
  [ "$(psql_dst bench -c "SELECT count(*) FROM pg_class WHERE relname = 'pgbench_accounts'")" = 0 ] \
    || fail "the refused clone wrote to the target"
  psql_src bench -c "UPDATE pgbench_notes SET body = 'c' WHERE body = 'b'" >/dev/null \
    || fail "the source refuses an UPDATE on the keyless table"
  psql_src bench -c "ALTER TABLE pgbench_notes REPLICA IDENTITY FULL; ALTER TABLE pgbench_history REPLICA IDENTITY FULL" \
    >/dev/null || fail "could not set the replica identities"

  echo "== clone --follow while pgbench writes"
  pgbench_start bench 200 40
  sleep 2
  sluice clone --follow --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs 2 --chunk-size 1MB \
    --progress-interval 0 || fail "clone --follow exited with status $?"
  grep -q '^follow: run 1 streams through subscription pgsluice_[0-9a-f]*_1' "$case_dir/out" \
    || fail "clone --follow does not say that replication streams"
  grep -q 'cutover --target .* --run 1' "$case_dir/out" || fail "clone --follow does not say how to cut over"
  name=$(psql_src bench -c "SELECT slot_name FROM pg_replication_slots")
  [ "$(psql_dst bench -c "SELECT count(*) FROM pg_subscription WHERE subname = '$name' AND subenabled")" = 1 ] \
    || fail "the target has no enabled subscription $name"

  echo "== status: the subscription, the lag and the slot"
  sluice status --target "$(dst_conn bench)" --run 1 || fail "status exited with status $?"
  grep -q "^run 1: following, step following" "$case_dir/out" || fail "status does not show the run following"
  grep -q "^replication: subscription $name streaming" "$case_dir/out" || fail "status does not show the stream"
  grep -q "^slot: $name holds .* of the source's WAL (wal_status reserved)" "$case_dir/out" \
    || fail "status does not show the slot's WAL"
  sluice status --target "$(dst_conn bench)" --run 1 --json "$case_dir/status.json" || fail "status --json exited with $?"
  "$python" - "$case_dir/status.json" <<'PY' || fail "the status JSON has no replication"
import json, sys
r = json.load(open(sys.argv[1]))["replication"]
assert r["subscription"] == "streaming" and r["slot"] and r["publication"], r
assert r["lag_bytes"] >= 0 and r["slot_retained_bytes"] >= 0 and r["wal_status"] == "reserved", r
# the source runs here: the limit is a tenth of its WAL disk's free space
assert r["source_free_bytes"] > 0 and r["slot_wal_limit_bytes"] == r["source_free_bytes"] // 10, r
PY
  sluice status --target "$(dst_conn bench)" --run 1 --max-slot-wal 1B || fail "status --max-slot-wal exited with $?"
  grep -q "more than --max-slot-wal 1 B" "$case_dir/err" || fail "status does not warn past --max-slot-wal"

  echo "== status --watch keeps the replication's gauges current, and ends on a signal"
  echo "+ pgsluice status --run 1 --watch 1 --metrics-file ... &"
  "$bin" status --target "$(dst_conn bench)" --run 1 --watch 1 --metrics-file "$case_dir/follow.prom" \
    >"$case_dir/watch.out" 2>"$case_dir/watch.err" &
  watch_pid=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c '^replication: ' "$case_dir/watch.out" 2>/dev/null)" -ge 3 ] && break
    sleep 0.1
  done
  [ "$(grep -c '^replication: ' "$case_dir/watch.out")" -ge 3 ] || fail "status --watch did not show the run three times"
  kill -TERM "$watch_pid"
  status=0
  wait "$watch_pid" || status=$?
  [ "$status" -eq 0 ] || { cat "$case_dir/watch.err"; fail "status --watch exited with status $status on SIGTERM"; }
  for gauge in pgsluice_replication_lag_bytes pgsluice_replication_lag_seconds pgsluice_slot_retained_bytes; do
    grep -q "^$gauge{command=\"status\"} [0-9]" "$case_dir/follow.prom" || fail "the metrics have no $gauge"
  done
  sluice check --source "$(src_conn bench)" --target "$(dst_conn postgres)" || true
  grep -q "slot $name (database bench, streaming" "$case_dir/out" || fail "check does not list the run's slot"

  echo "== cutover while pgbench still writes is refused, replication kept"
  status=0
  sluice cutover --target "$(dst_conn bench)" --run last || status=$?
  [ "$status" -eq 3 ] || fail "cutover during writes exited with status $status (want 3)"
  grep -q 'still taking writes on .*pgbench_' "$case_dir/err" || fail "cutover does not name the tables written"
  [ "$(psql_src bench -c "SELECT count(*) FROM pg_replication_slots")" = 1 ] || fail "the refused cutover dropped the slot"

  echo "== pgbench stops; cutover --verify"
  wait "$pgbench_pid" || { cat "$case_dir/pgbench.out"; fail "pgbench failed"; }
  grep -q 'number of transactions actually processed' "$case_dir/pgbench.out" || fail "pgbench did not run"
  psql_src bench -c "SELECT setval('note_seq', 99)" >/dev/null
  sleep 1.5   # the statistics of pgbench's last transactions reach pg_stat_user_tables
  sluice cutover --target "$(dst_conn bench)" --run 1 --verify --sequence-margin 0 --json "$case_dir/cutover.json" \
    || fail "cutover --verify exited with status $?"
  grep -q '^  write downtime ' "$case_dir/out" || fail "cutover does not give its write downtime"
  "$python" - "$case_dir/cutover.json" <<'PY' || fail "the cutover JSON is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "done" and r["identical"] and r["dropped"] == 3 and r["record_removed"], r
assert r["seconds"]["write_downtime"] > 0, r
PY
  expect_identical bench bench
  [ "$(psql_dst bench -c "SELECT last_value FROM note_seq")" = 99 ] || fail "the sequence was not set at the cutover"
  [ "$(psql_src bench -c "SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)")" = 0 ] \
    || fail "the source still has a slot or a publication"
  [ "$(psql_dst bench -c "SELECT count(*) FROM pg_subscription")" = 0 ] || fail "the target still has a subscription"
  [ "$(psql_dst bench -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the cut-over run's record stayed"
}
