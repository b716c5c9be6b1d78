# clone --follow killed with SIGKILL mid-copy while pgbench writes, resumed at a new slot, cut over identical
# timeout: 400

case_main() {
  follow_cluster_pair bench 4
  psql_src bench -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" >/dev/null || fail "could not set the replica identity"

  pgbench_start bench 150 45

  echo "== clone --follow, slowed down, killed once some chunks are done"
  echo "+ pgsluice clone --follow ... --max-rate 4MB &"
  setsid "$bin" clone --follow --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs 2 --chunk-size 1MB \
    --split-all --max-rate 4MB --progress-interval 0 >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
  wait_for bench "SELECT count(*) >= 3 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null || true
  cat "$case_dir/err"
  [ "$(psql_src bench -c "SELECT count(*) FROM pg_replication_slots WHERE NOT active")" = 1 ] \
    || fail "the killed run's slot is not on the source"
  old_lsn=$(psql_src bench -c "SELECT confirmed_flush_lsn FROM pg_replication_slots")

  echo "== resumed: a new slot and snapshot, what the old one copied is copied again"
  sluice clone --resume last --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs 2 \
    --progress-interval 0 || fail "clone --resume of the follow run exited with status $?"
  grep -q 'slot pgsluice_[0-9a-f]*_1 of the run.s earlier attempt dropped' "$case_dir/err" \
    || fail "the resumed run does not say it replaced the slot"
  grep -q 'chunks at a snapshot that ended with its process: they are copied again' "$case_dir/err" \
    || fail "the resumed run does not say it copies the chunks again"
  grep -q '^follow: run 1 streams' "$case_dir/out" || fail "the resumed run does not stream"
  [ "$(psql_src bench -c "SELECT count(*) FROM pg_replication_slots")" = 1 ] || fail "not exactly one slot on the source"
  [ "$(psql_src bench -c "SELECT confirmed_flush_lsn > '$old_lsn' FROM pg_replication_slots")" = t ] \
    || fail "the slot was not made again at a new point"

  echo "== pgbench stops; cutover --verify"
  wait "$pgbench_pid" || { cat "$case_dir/pgbench.out"; fail "pgbench failed"; }
  sleep 1.5
  sluice cutover --target "$(dst_conn bench)" --run last --verify || fail "cutover --verify exited with status $?"
  expect_identical bench bench
  [ "$(psql_src bench -c "SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)")" = 0 ] \
    || fail "the source still has a slot or a publication"
  [ "$(psql_dst bench -c "SELECT count(*) FROM pg_subscription")" = 0 ] || fail "the target still has a subscription"
}
