# three processes on one run, the first killed: the others and a resume finish it

case_main() {   # three processes on one run, the first one killed mid-run: the others and a resume finish it
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
