# a connection that stops moving mid-COPY or at its start, on either side: given up after --stall-timeout and retried (clone, restore), or named (verify); a silent index build is left alone, a stalled pg_restore killed
# timeout: 600

# start_proxy SIDE AFTER [MATCH]: starts blackhole_proxy.py in front of SIDE's (source or target)
# socket, stalling the first connection that starts a COPY (or a statement starting with MATCH)
# after AFTER more bytes each way; sets $proxy_pid and $proxy_port. The case's EXIT trap ends it,
# and it exits by itself after 300 s.
start_proxy() {
  local sock
  if [ "$1" = source ]; then sock=$src_dir/.s.PGSQL.$src_port; else sock=$dst_dir/.s.PGSQL.$dst_port; fi
  rm -f "$case_dir/port"
  "$python" "$here/blackhole_proxy.py" --socket "$sock" --port-file "$case_dir/port" --after "$2" \
    --match "${3:-COPY}" --lifetime 300 2>"$case_dir/proxy.log" &
  proxy_pid=$!
  trap 'kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null' EXIT
  for _ in $(seq 100); do [ -s "$case_dir/port" ] && break; sleep 0.1; done
  [ -s "$case_dir/port" ] || fail "the proxy did not start: $(cat "$case_dir/proxy.log")"
  proxy_port=$(cat "$case_dir/port")
}

# stop_proxy SIDE: ends the proxy; it must have stalled a connection.
stop_proxy() {
  echo "--- proxy"; cat "$case_dir/proxy.log"
  kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null
  trap - EXIT
  grep -q 'stalled: nothing forwarded' "$case_dir/proxy.log" || fail "the proxy stalled no $1 connection"
}

# stalled_and_retried SIDE SECS: stderr says that a chunk's SIDE connection stalled and was
# retried, and the run took well under the proxy's 300 s (the stall, a backoff, the work).
stalled_and_retried() {
  grep -q "no byte moved on the $1 connection for 5 s" "$case_dir/err" || fail "no warning that the $1 connection stalled"
  grep -q "chunk [0-9]* of table .*no byte moved on the $1 connection.*retrying" "$case_dir/err" \
    || fail "the stall warning does not name the chunk, or the chunk was not retried"
  awk -v s="$2" 'BEGIN { exit !(s < 60) }' || fail "it took $2 s"
}

case_main() {   # stalls: a COPY connection given up and retried on either side; a stalled pg_restore killed, a slow one not
  local run side after extra start secs source target db
  [ -n "$python" ] || fail "python3 is needed for the stalling proxy"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn postgres)" --stall-timeout -1
  [ $? -eq 2 ] || fail "--stall-timeout -1 was not refused as bad usage"
  grep -q 'invalid value "-1" for --stall-timeout' "$case_dir/err" || fail "the usage error does not name --stall-timeout"
  # mid-rows on each side (256 kB pass first); then at the COPY statement itself, through libpq's
  # COPY functions on the source
  for run in "source 262144" "target 262144" "source 0 --no-direct-copy" "target 0"; do
    read -r side after extra <<<"$run"
    db=dst_x_${side}_$after
    create_dst "$db"
    start_proxy "$side" "$after"
    source=$(src_conn src)
    target=$(dst_conn "$db")
    if [ "$side" = source ]; then source="host=127.0.0.1 port=$proxy_port user=postgres dbname=src"
    else target="host=127.0.0.1 port=$proxy_port user=postgres dbname=$db"; fi
    start=$(now)
    status=0
    # shellcheck disable=SC2086  # $extra: no option, or one
    sluice clone --source "$source" --target "$target" --stall-timeout 5 --jobs 2 --keep-record -v $extra || status=$?
    secs=$(elapsed "$start")
    stop_proxy "$side"
    echo "clone through a $side stalled $after bytes after a COPY began: exit $status in $secs s"
    [ "$status" -eq 0 ] || fail "the clone through a stalling $side exited $status"
    stalled_and_retried "$side" "$secs"
    # a session blocked on its socket ignores a cancel: the retry ends it, or it holds the chunk's row
    grep -q "ended the $side's stalled session" "$case_dir/err" || fail "the stalled $side session was not ended"
    expect_identical src "$db"
    expect_chunks_done "$db"
  done

  # dump and restore: a stalled chunk file load is retried too
  rm -rf "$case_dir/dump"
  sluice dump --source "$(src_conn src)" --dir "$case_dir/dump" --jobs 2 || fail "dump failed"
  create_dst dst_x_restore
  start_proxy target 262144
  start=$(now)
  status=0
  sluice restore --dir "$case_dir/dump" --target "host=127.0.0.1 port=$proxy_port user=postgres dbname=dst_x_restore" \
    --stall-timeout 5 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy target
  [ "$status" -eq 0 ] || fail "the restore through a stalling target exited $status"
  stalled_and_retried target "$secs"
  expect_identical src dst_x_restore

  # verify retries nothing: a stalled side fails it, at once and by name, instead of a hang
  start_proxy source 262144
  start=$(now)
  status=0
  sluice verify --source "host=127.0.0.1 port=$proxy_port user=postgres dbname=src" \
    --target "$(dst_conn dst_x_restore)" --stall-timeout 5 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy source
  [ "$status" -eq 2 ] || fail "verify through a stalling source exited $status, not 2"
  grep -q "chunk [0-9]* of table .*no byte moved on the source connection for 5 s" "$case_dir/err" \
    || fail "verify's error does not name the chunk and the stalled side"
  awk -v s="$secs" 'BEGIN { exit !(s < 60) }' || fail "verify took $secs s"

  # pg_restore is silent through an index build: one that takes longer than the stall timeout is
  # working (its session is active) and must not be killed; one whose statement the network
  # swallowed is, and the run resumes
  if [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'slowidx'")" = 0 ]; then
    psql_src postgres -c "CREATE DATABASE slowidx" || fail "could not create database slowidx"
    psql_src slowidx <<'SQL' || fail "could not fill database slowidx"
CREATE FUNCTION slow_key(id int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM pg_catalog.pg_sleep(0.02);
  RETURN id;
END
$$;
CREATE TABLE slow_t (id int PRIMARY KEY, note text);
INSERT INTO slow_t SELECT i, md5(i::text) FROM generate_series(1, 250) AS i;
CREATE INDEX slow_t_key ON slow_t (slow_key(id));
SQL
  fi
  create_dst dst_x_slowidx
  start=$(now)
  sluice clone --source "$(src_conn slowidx)" --target "$(dst_conn dst_x_slowidx)" --stall-timeout 2 --jobs 2 \
    || fail "a clone whose index build outlasts --stall-timeout 2 failed"
  secs=$(elapsed "$start")
  echo "clone with a 5 s index build and --stall-timeout 2: $secs s"
  awk -v s="$secs" 'BEGIN { exit !(s > 5) }' || fail "the index build took no time ($secs s): nothing was proved"
  expect_identical slowidx dst_x_slowidx

  create_dst dst_x_stuckidx
  start_proxy target 0 "CREATE INDEX"
  start=$(now)
  status=0
  sluice clone --source "$(src_conn slowidx)" --target "host=127.0.0.1 port=$proxy_port user=postgres dbname=dst_x_stuckidx" \
    --stall-timeout 2 --jobs 2 || status=$?
  secs=$(elapsed "$start")
  stop_proxy target
  [ "$status" -eq 4 ] || fail "a clone whose pg_restore stalled exited $status, not 4"
  grep -q 'pg_restore of the post-data schema made no progress for 2 s.*killed it.*--stall-timeout' "$case_dir/err" \
    || fail "no error that names the stalled pg_restore, the seconds and the fix"
  awk -v s="$secs" 'BEGIN { exit !(s < 60) }' || fail "the stalled pg_restore was killed after $secs s"
  sluice clone --resume last --source "$(src_conn slowidx)" --target "$(dst_conn dst_x_stuckidx)" \
    || fail "the run with the stalled pg_restore did not resume"
  expect_identical slowidx dst_x_stuckidx

  # a chunk's COPY that waits for a lock on the target says nothing for longer than the stall
  # timeout, yet its server works on it: that is waited out, not given up
  schema_copy src dst_x_lock
  "$psql_bin" -X -q -d "$(dst_conn dst_x_lock)" \
    -c "BEGIN; LOCK TABLE public.k_bigint IN SHARE MODE; SELECT pg_sleep(8); COMMIT" >/dev/null 2>&1 &
  local locker=$!
  sleep 1
  start=$(now)
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_x_lock)" --data-only --jobs 2 \
    --stall-timeout 3 -v || fail "the clone that waited for a lock exited with status $?"
  wait "$locker" 2>/dev/null
  secs=$(elapsed "$start")
  if grep -q 'gave it up (--stall-timeout)' "$case_dir/err"; then
    fail "a COPY waiting for a lock was given up as stalled"
  fi
  grep -q 'but is still working on the statement' "$case_dir/err" \
    || fail "the clone did not wait for the lock past the stall timeout (done in $secs s)"
  expect_identical src dst_x_lock
}
