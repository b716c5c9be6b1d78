# clone --all-databases --follow while pgbench writes to one database: status and cutover --verify over the cluster
# timeout: 400

case_main() {
  follow_cluster_pair bench 2 source-only
  psql_src bench -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" >/dev/null || fail "could not set the replica identity"
  psql_src postgres -c "CREATE DATABASE ledger" >/dev/null || fail "could not create ledger"
  psql_src ledger >/dev/null <<'SQL' || fail "could not fill ledger"
CREATE TABLE entry (id bigserial PRIMARY KEY, amount numeric(12, 2) NOT NULL, memo text);
INSERT INTO entry (amount, memo) SELECT g * 0.25, 'entry ' || g FROM generate_series(1, 5000) g;
SQL

  echo "== clone --all-databases --follow while pgbench writes to bench"
  pgbench_start bench 100 25
  sleep 1
  sluice clone --all-databases --follow --database bench --database ledger --no-roles \
    --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --jobs 2 --progress-interval 0 \
    || fail "clone --all-databases --follow exited with status $?"
  grep -q 'cutover --all-databases --target .* --verify' "$case_dir/out" || fail "the clone does not say how to cut over"
  for db in bench ledger; do
    [ "$(psql_src "$db" -c "SELECT count(*) FROM pg_replication_slots WHERE database = '$db' AND active")" = 1 ] \
      || fail "no streaming slot of database $db on the source"
    [ "$(psql_dst "$db" -c "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
        WHERE d.datname = '$db' AND s.subenabled")" = 1 ] \
      || fail "no enabled subscription in the target's $db"
  done
  psql_src ledger -c "INSERT INTO entry (amount, memo) VALUES (1.5, 'after the copy')" >/dev/null

  echo "== status --all-databases: each database's replication"
  sluice status --all-databases --target "$(dst_conn postgres)" || fail "status --all-databases exited with $?"
  [ "$(grep -c '^replication: subscription pgsluice_[0-9a-f]*_1 streaming' "$case_dir/out")" = 2 ] \
    || fail "status --all-databases does not show both databases streaming"
  sluice status --all-databases --target "$(dst_conn postgres)" --json "$case_dir/status.json" \
    || fail "status --all-databases --json exited with $?"
  "$python" - "$case_dir/status.json" <<'PY' || fail "the cluster status JSON has no replication"
import json, sys
d = {x["name"]: x for x in json.load(open(sys.argv[1]))["databases"]}
for name in ("bench", "ledger"):
    assert d[name]["replication"]["subscription"] == "streaming", d[name]
PY

  echo "== cutover --all-databases while pgbench writes: refused for every database"
  status=0
  sluice cutover --all-databases --target "$(dst_conn postgres)" || status=$?
  [ "$status" -eq 3 ] || fail "cutover --all-databases during writes exited with status $status (want 3)"
  grep -q 'still taking writes on .*bench: public.pgbench_' "$case_dir/err" || fail "the refusal does not name bench's tables"
  [ "$(psql_src ledger -c "SELECT count(*) FROM pg_replication_slots")" = 2 ] || fail "the refused cutover dropped a slot"

  echo "== pgbench stops; cutover --all-databases --verify"
  wait "$pgbench_pid" || { cat "$case_dir/pgbench.out"; fail "pgbench failed"; }
  sleep 1.5
  sluice cutover --all-databases --target "$(dst_conn postgres)" --verify --json "$case_dir/cutover.json" \
    || fail "cutover --all-databases --verify exited with status $?"
  grep -q '^cutover: database ledger, run 1, cut over' "$case_dir/out" || fail "the cutover does not list ledger"
  "$python" - "$case_dir/cutover.json" <<'PY' || fail "the cluster cutover JSON is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "done" and r["write_downtime"] > 0, r
assert sorted(x["database"] for x in r["databases"]) == ["bench", "ledger"], r
assert all(x["done"] and x["identical"] and x["dropped"] == 3 for x in r["databases"]), r
PY
  expect_identical bench bench
  expect_identical ledger ledger
  [ "$(psql_dst ledger -c "SELECT count(*) FROM entry WHERE memo = 'after the copy'")" = 1 ] \
    || fail "the row inserted after the copy did not reach the target"
  [ "$(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots")" = 0 ] || fail "the source still has slots"
  for db in bench ledger; do
    [ "$(psql_src "$db" -c "SELECT count(*) FROM pg_publication")" = 0 ] || fail "the source's $db has a publication"
    [ "$(psql_dst "$db" -c "SELECT count(*) FROM pg_subscription")" = 0 ] || fail "the target's $db has a subscription"
  done
}
