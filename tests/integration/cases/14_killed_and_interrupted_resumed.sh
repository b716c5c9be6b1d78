# killed early, mid-data and in post-data, and interrupted: resumed to an identical copy
# timeout: 600

case_main() {   # killed (SIGKILL) early, mid-data, during post-data, interrupted (SIGINT): resumed
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
