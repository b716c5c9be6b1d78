# backends killed mid-chunk on the target, then the source, are retried; with --retries 0 the run fails

# kill_copies SIDE DB CHUNK_SIZE MAX_KILLS [ARGS...]: runs pgsluice clone --data-only from
# database slow into target database DB, and while it runs terminates the backends on SIDE
# (source or target) whose query is a COPY, at most MAX_KILLS of them; leaves pgsluice's exit
# status in $status and the number of backends terminated in $kills.
kill_copies() {
  local side=$1 db=$2 chunk_size=$3 max_kills=$4 pid deadline n
  local -a killer
  shift 4
  status=0
  kills=0
  if [ "$side" = source ]; then killer=(psql_src slow); else killer=(psql_dst "$db"); fi
  echo "+ pgsluice clone --data-only --keep-record --jobs 2 --chunk-size $chunk_size $* (killing up to $max_kills $side COPY backends)"
  timeout --kill-after=10 "${PGSLUICE_IT_TIMEOUT:-180}" "$bin" clone --source "$(src_conn slow)" \
    --target "$(dst_conn "$db")" --data-only --keep-record --jobs 2 --chunk-size "$chunk_size" "$@" \
    >"$case_dir/out" 2>"$case_dir/err" &
  pid=$!
  deadline=$(( $(date +%s) + 120 ))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$kills" -lt "$max_kills" ]; then
      n=$("${killer[@]}" -c "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity
                              WHERE datname = current_database() AND pid <> pg_backend_pid()
                                AND backend_type = 'client backend'
                                AND query ~* '^\\s*(/\\*.*?\\*/\\s*)?copy\\M' LIMIT 1) p" 2>/dev/null) || n=0
      kills=$((kills + ${n:-0}))
    fi
    sleep 0.3
  done
  wait "$pid" || status=$?
  echo "--- stdout"; cat "$case_dir/out"
  echo "--- stderr"; cat "$case_dir/err"
  echo "--- exit status $status after $kills terminated $side backends"
  [ "$kills" -gt 0 ] || fail "no $side COPY backend was caught while pgsluice ran (exit $status)"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then fail "pgsluice did not finish in time"; fi
}

case_main() {   # backends killed mid-chunk: retried on new connections; with --retries 0, the run fails
  local side size
  for side in target source; do
    slow_setup "slow_dst_$side"
    # on the source, one chunk larger than a worker's pipe (4 MB), so that the source is still
    # sending while the slowed target loads
    size=2MB
    [ "$side" = target ] || size=64MB
    kill_copies "$side" "slow_dst_$side" "$size" 2
    [ "$status" -eq 0 ] || fail "pgsluice exited $status although only $kills $side backends were terminated"
    grep -q 'retrying (attempt 2' "$case_dir/err" || fail "pgsluice did not say that it retried"
    expect_identical slow "slow_dst_$side"
    expect_chunks_done "slow_dst_$side"
  done
  slow_setup slow_dst_none
  kill_copies target slow_dst_none 2MB 1000 --retries 0
  [ "$status" -ne 0 ] || fail "pgsluice --retries 0 exited 0 although $kills target COPY backends were terminated"
  grep -q 'slow_t' "$case_dir/err" || fail "the error does not name the table slow_t"
  grep -qi 'chunk' "$case_dir/err" || fail "the error does not name the chunk"
  grep -q -- '--resume' "$case_dir/err" || fail "the error does not say how to resume"
}
