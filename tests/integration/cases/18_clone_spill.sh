# clone --spill is identical and removes its files; --keep-spill; --spill-limit; killed and resumed; a chunk held elsewhere loaded from its file
# timeout: 600

# wait_log TEXT: waits until the background clone's stderr says TEXT; fails if it ends first.
wait_log() {
  local deadline=$(( $(date +%s) + 120 ))
  until grep -qF -- "$1" "$case_dir/err"; do
    kill -0 "$clone_pid" 2>/dev/null || { cat "$case_dir/err"; fail "the clone ended before saying: $1"; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for the clone to say: $1"
    sleep 0.05
  done
}

case_main() {   # clone --spill: identical, files gone; --keep-spill, --spill-limit; killed and resumed; a chunk held elsewhere
  local d=$case_dir/spill files chunks held holder gate status
  rm -rf "$d" "$case_dir/spill2" "$case_dir/spill3"
  create_dst dst_r
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_r)" --spill "$d" --jobs 2 --load-jobs 1 \
    --chunk-size 1MB --keep-record || fail "pgsluice clone --spill exited with status $?"
  expect_identical src dst_r
  expect_chunks_done dst_r
  grep -q 'source snapshot released' "$case_dir/err" || fail "the clone did not say it released the snapshot"
  grep -q '^spill: every chunk read' "$case_dir/out" || fail "the summary says nothing of the spill"
  [ "$(stat -c %a "$d")" = 700 ] || fail "the spill directory's mode is $(stat -c %a "$d"), not 700"
  [ -z "$(ls -A "$d")" ] || fail "the spill directory was not emptied: $(ls -R "$d")"

  # --keep-spill with a limit of two chunks' files: readers wait for the loader
  big_setup
  create_dst big_spill
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_spill)" --spill "$d" --keep-spill \
    --spill-limit 3MB --jobs 2 --load-jobs 1 --chunk-size 2MB --json "$case_dir/r.json" --keep-record \
    || fail "pgsluice clone --spill --keep-spill exited with status $?"
  expect_identical big big_spill
  expect_chunks_done big_spill
  files=$(find "$d/run-1" -name 'chunk-*.pgsl' -perm 600 | wc -l)
  chunks=$(psql_dst big_spill -c "SELECT count(*) FROM pgsluice.chunk")
  echo "chunk files kept: $files of $chunks"
  [ "$files" -eq "$chunks" ] || fail "--keep-spill kept $files files (mode 600) of $chunks chunks"
  "$python" - "$case_dir/r.json" "$d/run-1" <<'PY' || fail "the spill went past its limit, or the report lacks it"
import json, os, sys
s = json.load(open(sys.argv[1]))["spill"]
biggest = max(os.path.getsize(os.path.join(sys.argv[2], f)) for f in os.listdir(sys.argv[2]))
print("peak on disk %d bytes, limit %d, largest file %d; snapshot released: %s"
      % (s["peak_bytes"], s["limit"], biggest, s["snapshot_released"]))
# readers wait before a new chunk at the limit: at most two chunks (--jobs 2) get past it
assert 0 < s["peak_bytes"] <= s["limit"] + 2 * biggest, s
assert s["snapshot_released"] and s["seconds_read"] > 0, s
PY
  # another target's run 1 may not reuse the kept files
  create_dst big_spill_other
  status=0
  sluice clone --source "$(src_conn big)" --target "$(dst_conn big_spill_other)" --spill "$d" || status=$?
  [ "$status" -eq 2 ] || fail "a run into a spill directory holding another run's files exited $status (want 2)"
  grep -q 'holds files of another run' "$case_dir/err" || fail "the refusal does not say why"

  # killed (SIGKILL) mid-data, then resumed through the spill directory
  create_dst big_spill_kill
  start_clone big_spill_kill --spill "$case_dir/spill2" --jobs 2 --load-jobs 1 --chunk-size 2MB
  wait_for big_spill_kill "SELECT count(*) >= 10 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null
  sluice clone --resume last --source "$(src_conn big)" --target "$(dst_conn big_spill_kill)" \
    --spill "$case_dir/spill2" --jobs 2 --progress-interval 0 --keep-record \
    || fail "pgsluice clone --resume --spill exited with status $?"
  grep -q '([1-9][0-9]* done before)' "$case_dir/err" || fail "the resumed clone did not skip the chunks loaded before"
  expect_identical big big_spill_kill
  expect_chunks_done big_spill_kill
  [ -z "$(ls -A "$case_dir/spill2")" ] || fail "the resumed run left files: $(ls -R "$case_dir/spill2")"

  # a chunk another process holds from the start until after the snapshot is released, then
  # gives back: loaded from its file.  A session holds its record, as a process copying it
  # would, until the advisory lock that the gate session holds is let go.
  create_dst big_spill_held
  psql_dst big_spill_held -c "SELECT pg_advisory_lock(4242), pg_sleep(600)" >/dev/null 2>&1 &
  gate=$!
  clone_pid=$gate
  wait_for big_spill_held "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
  psql_dst big_spill_held >"$case_dir/held.out" 2>&1 <<'SQL' &
DO $$
DECLARE n int;
BEGIN
  LOOP  -- the chunk the readers come to last, as soon as the run has recorded its chunks
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
               WHERE s.nspname = 'pgsluice' AND c.relname = 'chunk') THEN
      EXECUTE 'SELECT chunk_no FROM pgsluice.chunk WHERE status = ''pending''
               ORDER BY est_bytes, chunk_no DESC LIMIT 1 FOR UPDATE SKIP LOCKED' INTO n;
      EXIT WHEN n IS NOT NULL;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RAISE NOTICE 'holding chunk %', n;
  PERFORM pg_advisory_lock(4242);
  RAISE EXCEPTION 'giving chunk % back', n;
END $$;
SQL
  holder=$!
  start_clone big_spill_held --spill "$case_dir/spill3" --jobs 2 --load-jobs 1 --chunk-size 2MB
  wait_log 'source snapshot released'
  wait_log 'another process is copying its chunk'
  psql_dst big_spill_held -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                              WHERE query LIKE '%pg_advisory_lock(4242), pg_sleep%' AND pid <> pg_backend_pid()" \
    >/dev/null || fail "could not end the gate session"
  wait "$gate" "$holder"
  cat "$case_dir/held.out"
  held=$(sed -n 's/.*giving chunk \([0-9]*\) back.*/\1/p' "$case_dir/held.out")
  [ -n "$held" ] || fail "the session did not hold a chunk"
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone with a chunk held elsewhere exited with status $status"
  expect_identical big big_spill_held
  expect_chunks_done big_spill_held
  [ "$(psql_dst big_spill_held -c "SELECT worker LIKE '%/load-%' FROM pgsluice.chunk WHERE chunk_no = $held")" = t ] \
    || fail "chunk $held was not loaded from its file"
  [ -z "$(ls -A "$case_dir/spill3")" ] || fail "the run left files: $(ls -R "$case_dir/spill3")"
}
