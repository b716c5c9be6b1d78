# the target restarted mid-run: retried to an identical copy; a permanent error stops at once

case_main() {   # the target restarted mid-run (pg_ctl restart -m fast): retried; a permanent error stops at once
  local status t0
  big_setup
  create_dst big_restart
  start_clone big_restart --jobs 2 --chunk-size 2MB
  wait_for big_restart "SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'"
  echo "+ restarting the target"
  pgcluster_restart "$dst_dir" || fail "could not restart the target"
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone exited with status $status across a target restart (want 0)"
  grep -q 'retrying' "$case_dir/err" || fail "the clone did not say that it retried"
  expect_identical big big_restart
  expect_chunks_done big_restart

  # a target column of another type: refused before any row moves, naming both types
  schema_copy big big_type
  psql_dst big_type -c "ALTER TABLE public.big ALTER COLUMN n TYPE bigint" >/dev/null || fail "could not change the column"
  t0=$(now)
  status=0
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_type)" --data-only || status=$?
  [ "$status" -eq 4 ] || fail "a target column of another type: exit status $status (want 4)"
  awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a < 10) }' || fail "the permanent error took 10 s or more"
  grep -q 'column n of table public.big is of type bigint on the target, integer on the source' "$case_dir/err" \
    || fail "the error does not name the table, the column and both types"
  grep -q "fix: make the target.s tables match the source.s" "$case_dir/err" || fail "the error does not say the fix"
}
