# clone --follow killed with SIGKILL mid-copy while pgbench writes, resumed at a new slot, cut over identical
# timeout: 400

case_main() {
  local p1 p2
  p1=$(closed_port)
  p2=$(closed_port)
  while [ "$p2" = "$p1" ]; do p2=$(closed_port); done
  extra_cluster_start "$case_dir/ksrc" "$p1" wal_level=logical max_replication_slots=10 max_wal_senders=10
  extra_cluster_start "$case_dir/kdst" "$p2" max_replication_slots=10 max_logical_replication_workers=4
  src_dir=$case_dir/ksrc src_port=$p1 dst_dir=$case_dir/kdst dst_port=$p2

  psql_src postgres -c "CREATE DATABASE bench" >/dev/null || fail "could not create the source database"
  "$bindir/pgbench" -i -q -s 4 -h "$src_dir" -p "$src_port" -U postgres bench >"$case_dir/init.out" 2>&1 \
    || { cat "$case_dir/init.out"; fail "pgbench -i failed"; }
  psql_src bench -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" >/dev/null || fail "could not set the replica identity"
  psql_dst postgres -c "CREATE DATABASE bench" >/dev/null || fail "could not create the target database"

  "$bindir/pgbench" -n -c 2 -R 150 -T 45 -h "$src_dir" -p "$src_port" -U postgres bench >"$case_dir/pgbench.out" 2>&1 &
  pgbench_pid=$!

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
