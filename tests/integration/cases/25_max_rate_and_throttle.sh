# --max-rate caps the data rate of clone, verify, dump and restore; throttle pauses a clone and its worker within 2 s, resumes and re-caps it
# timeout: 400

# rate_setup: database rate on the source, one keyed table of about 80 MB of COPY data, so that
# a clone capped at 10 MB/s takes seconds.
rate_setup() {
  [ "$(psql_src postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'rate'")" = 0 ] || return 0
  psql_src postgres -c "CREATE DATABASE rate" >/dev/null || fail "could not create database rate"
  psql_src rate >/dev/null <<'SQL' || fail "could not fill database rate"
CREATE TABLE rate_t (id bigint PRIMARY KEY, pad text NOT NULL);
INSERT INTO rate_t SELECT i, repeat(md5(i::text), 5) FROM generate_series(1, 450000) AS i;
VACUUM ANALYZE;
SQL
}

# moved_bytes DB SIDE: COPY bytes moved so far into target database DB (chunks done, and what
# the COPYs in flight have taken: pg_stat_progress_copy), or, with SIDE source, what the
# source's COPYs in flight have sent.
moved_bytes() {
  if [ "$2" = source ]; then
    psql_src postgres -c "SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy
                          WHERE command = 'COPY TO'"
  else
    psql_dst "$1" -c "SELECT (SELECT coalesce(sum(bytes), 0) FROM pgsluice.chunk WHERE status = 'done')
                             + (SELECT coalesce(sum(bytes_processed), 0) FROM pg_stat_progress_copy
                                WHERE command = 'COPY FROM' AND datname = current_database())"
  fi
}

# rate_of JSON EXPR CAP LOW HIGH: the MB/s that python EXPR computes from report JSON (as r)
# must lie within [LOW, HIGH].
rate_of() {
  [ -n "$python" ] || { echo "no python3: the rate is not checked"; return 0; }
  "$python" - "$@" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
mb_s = eval(sys.argv[2])
print("%.2f MB/s at --max-rate %s" % (mb_s, sys.argv[3]))
sys.exit(0 if float(sys.argv[4]) <= mb_s <= float(sys.argv[5]) else 1)
EOF
}

# summary_rate CAP LOW HIGH: the "N MB/s;" of a dump's or restore's summary in $case_dir/out
# lies within [LOW, HIGH].
summary_rate() {
  local mb_s
  mb_s=$(grep -o '[0-9.]* MB/s;' "$case_dir/out" | head -n 1 | cut -d' ' -f1)
  echo "${mb_s:-no} MB/s at --max-rate $1"
  [ -n "$mb_s" ] && awk -v r="$mb_s" -v lo="$2" -v hi="$3" 'BEGIN { exit !(r >= lo && r <= hi) }'
}

case_main() {   # --max-rate caps the data rate; throttle pauses, resumes and re-caps a running run, workers included
  local status t_resume m1 m2 s1 s2 total rest worker
  rate_setup

  # (a) the data rate of a capped clone: at most the cap + 10%, and not idle
  create_dst rate_cap
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_cap)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 10MB --progress-interval 0 --json "$case_dir/cap.json" \
    || fail "clone --max-rate 10MB exited with status $?"
  expect_identical rate rate_cap
  rate_of "$case_dir/cap.json" 'r["bytes"] / 1048576.0 / r["seconds"]["data"]' 10MB 5 11 \
    || fail "the capped clone's data rate is off the cap"
  # verify counts the source's bytes only: half of what it reads
  sluice verify --source "$(src_conn rate)" --target "$(dst_conn rate_cap)" --jobs 2 --chunk-size 4MB \
    --max-rate 40MB --progress-interval 0 --json "$case_dir/verify.json" || fail "verify --max-rate exited with status $?"
  rate_of "$case_dir/verify.json" 'r["bytes"] / 2 / 1048576.0 / r["seconds"]' 40MB 20 44 \
    || fail "the capped verify's source rate is off the cap"
  # dump counts what it reads from the source, restore what it writes to the target: their
  # summaries give the data step's MB/s
  sluice dump --source "$(src_conn rate)" --dir "$case_dir/dump" --jobs 2 --chunk-size 4MB --max-rate 30MB \
    --progress-interval 0 || fail "dump --max-rate exited with status $?"
  summary_rate 30MB 15 33 || fail "the capped dump's rate is off the cap"
  create_dst rate_restore
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn rate_restore)" --jobs 2 --max-rate 30MB \
    --progress-interval 0 || fail "restore --max-rate exited with status $?"
  summary_rate 30MB 15 33 || fail "the capped restore's rate is off the cap"
  expect_identical rate rate_restore

  # (b) a clone and a worker on one run, paused from another process: within 2 s no byte moves
  create_dst rate_pause
  echo "+ pgsluice clone --source rate --target rate_pause --max-rate 5MB &"
  setsid "$bin" clone --source "$(src_conn rate)" --target "$(dst_conn rate_pause)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 5MB --progress-interval 1 --keep-record --json "$case_dir/pause.json" \
    >"$case_dir/clone.out" 2>"$case_dir/clone.err" &
  clone_pid=$!
  wait_for rate_pause "SELECT count(*) > 0 FROM pgsluice.chunk"
  "$bin" worker --target "$(dst_conn rate_pause)" --run last --jobs 1 --progress-interval 0 \
    >"$case_dir/worker.out" 2>"$case_dir/worker.err" &
  worker=$!
  wait_for rate_pause "SELECT count(*) >= 2 FROM pgsluice.process WHERE heartbeat_at > now() - interval '3 s'"
  wait_for rate_pause "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  sluice throttle --target "$(dst_conn rate_pause)" --run last --pause || fail "throttle --pause exited with status $?"
  grep -q 'run 1: paused' "$case_dir/err" || fail "throttle --pause did not say the run is paused"
  sleep 2
  m1=$(moved_bytes rate_pause target); s1=$(moved_bytes rate_pause source)
  sleep 3
  m2=$(moved_bytes rate_pause target); s2=$(moved_bytes rate_pause source)
  echo "moved into the target: $m1 then $m2 bytes; sent by the source's COPYs in flight: $s1 then $s2 bytes"
  kill -0 "$clone_pid" 2>/dev/null || fail "the clone ended while paused"
  [ "$m1" = "$m2" ] || fail "bytes still moved into the target 2 s after the pause: $m1 then $m2"
  [ "$s1" = "$s2" ] || fail "the source still sent bytes 2 s after the pause: $s1 then $s2"
  [ "$m1" -gt 0 ] || fail "nothing had moved before the pause"
  sluice status --target "$(dst_conn rate_pause)" || fail "status exited with status $?"
  grep -q '^rate: capped at 5.0 MB/s, paused' "$case_dir/out" || fail "status does not say the run is paused at its cap"
  grep -q ', 2 processes live' "$case_dir/out" || fail "status does not count the clone and the worker"
  sluice status --target "$(dst_conn rate_pause)" --json - || fail "status --json exited with status $?"
  grep -q '"max_rate": 5242880, "paused": true' "$case_dir/out" || fail "status --json does not give the cap and the pause"

  # (c) resumed with a new cap: every process takes it, and the rest goes at the new rate
  sluice throttle --target "$(dst_conn rate_pause)" --run last --resume --max-rate 40MB \
    || fail "throttle --resume --max-rate exited with status $?"
  t_resume=$(now)
  wait_for rate_pause "SELECT bool_and(status = 'done') FROM pgsluice.chunk"
  rest=$(elapsed "$t_resume")
  status=0
  wait "$clone_pid" || status=$?
  cat "$case_dir/clone.err"
  [ "$status" -eq 0 ] || fail "the throttled clone exited with status $status"
  status=0
  wait "$worker" || status=$?
  cat "$case_dir/worker.err"
  [ "$status" -eq 0 ] || fail "the worker exited with status $status"
  expect_identical rate rate_pause
  grep -q 'paused (chunks in flight wait' "$case_dir/clone.err" || fail "the clone did not say it was paused"
  grep -q 'paused (chunks in flight wait' "$case_dir/worker.err" || fail "the worker did not say it was paused"
  grep -q ', paused$' "$case_dir/clone.err" || fail "the progress lines do not say paused"
  grep -q 'resumed by pgsluice throttle' "$case_dir/clone.err" || fail "the clone did not say it was resumed"
  grep -q 'capped at 40.0 MB/s' "$case_dir/clone.err" || fail "the clone did not take the new cap"
  total=$(psql_dst rate_pause -c "SELECT sum(bytes) FROM pgsluice.chunk") || fail "could not read the chunks' bytes"
  echo "after the resume: the chunks done in $rest s, $(( (total - m2) / 1048576 )) MB"
  # at the old cap the rest would take (total - m2) / 5 MB/s; at 40 MB/s an eighth of that
  awk -v t="$rest" -v left="$(( total - m2 ))" 'BEGIN { exit !(t < left / 5242880 / 2) }' \
    || fail "the rest took $rest s: the new cap was not taken"

  # throttle on runs it cannot change: clear errors
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run 1 --pause || status=$?
  [ "$status" -eq 2 ] || fail "throttle on a finished run exited with status $status (want 2)"
  grep -q 'run 1 is done, not running: throttle changes a running run only' "$case_dir/err" \
    || fail "throttle on a finished run did not say why"
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run 99 --pause || status=$?
  [ "$status" -eq 2 ] || fail "throttle on a run that does not exist exited with status $status (want 2)"
  grep -q 'there is no run 99' "$case_dir/err" || fail "throttle on a run that does not exist did not name it"
  status=0
  sluice throttle --target "$(dst_conn rate_pause)" --run last || status=$?
  [ "$status" -eq 2 ] || fail "throttle with nothing to change exited with status $status (want 2)"
  status=0
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_pause)" --max-rate fast || status=$?
  [ "$status" -eq 2 ] && grep -q 'invalid value "fast" for --max-rate' "$case_dir/err" \
    || fail "a bad --max-rate was not refused by name"

  # a record of layout 1 (before throttle): status reads it, throttle refuses it and says why
  create_dst rate_old
  psql_dst rate_old >/dev/null <<'SQL' || fail "could not make a layout 1 record"
CREATE SCHEMA pgsluice;
CREATE TABLE pgsluice.pgsluice_state_version (version int NOT NULL);
INSERT INTO pgsluice.pgsluice_state_version VALUES (1);
CREATE TABLE pgsluice.run (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source_fingerprint text NOT NULL,
  source text NOT NULL, snapshot text, best_effort boolean NOT NULL, options jsonb NOT NULL, status text NOT NULL,
  step text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz, last_error text);
CREATE TABLE pgsluice.chunk (run_id bigint NOT NULL REFERENCES pgsluice.run (id) ON DELETE CASCADE,
  chunk_no int NOT NULL, table_name text NOT NULL, seq int NOT NULL, method text NOT NULL, predicate text,
  est_bytes bigint NOT NULL, frozen boolean NOT NULL, status text NOT NULL DEFAULT 'pending', rows bigint,
  bytes bigint, source_digest text, target_digest text, attempts int NOT NULL DEFAULT 0, worker text,
  started_at timestamptz, finished_at timestamptz, last_error text, PRIMARY KEY (run_id, chunk_no));
INSERT INTO pgsluice.run (source_fingerprint, source, best_effort, options, status, step)
  VALUES ('?/x/1', 'dbname=x', false, '{}', 'running', 'data');
SQL
  sluice status --target "$(dst_conn rate_old)" || fail "status of a layout 1 record exited with status $?"
  grep -q '^rate: no cap, 0 processes live' "$case_dir/out" || fail "status of a layout 1 record does not show it uncapped"
  status=0
  sluice throttle --target "$(dst_conn rate_old)" --run last --pause || status=$?
  [ "$status" -eq 2 ] && grep -q 'has layout 1, from a pgsluice without throttle' "$case_dir/err" \
    || fail "throttle on a layout 1 record was not refused with the reason"
  # the next run brings the schema to layout 2, the old record with it
  sluice clone --source "$(src_conn rate)" --target "$(dst_conn rate_old)" --jobs 2 --progress-interval 0 --keep-record \
    || fail "a clone beside a layout 1 record exited with status $?"
  expect_identical rate rate_old
  [ "$(psql_dst rate_old -c "SELECT max(version) FROM pgsluice.pgsluice_state_version")" = 2 ] \
    || fail "the state schema was not brought to layout 2"
  [ "$(psql_dst rate_old -c "SELECT string_agg(id || ':' || max_rate || ':' || paused, ' ' ORDER BY id) FROM pgsluice.run")" \
    = "1:0:false 2:0:false" ] || fail "the runs' records after the layout change are not as expected"

  # a run an older pgsluice recorded (layout 1), interrupted, goes on with this one
  create_dst rate_resume
  echo "+ pgsluice clone --source rate --target rate_resume --max-rate 5MB &  (then SIGINT)"
  "$bin" clone --source "$(src_conn rate)" --target "$(dst_conn rate_resume)" --jobs 2 --chunk-size 4MB \
    --split-all --max-rate 5MB --progress-interval 0 >"$case_dir/resume.out" 2>"$case_dir/err" &
  clone_pid=$!
  wait_for rate_resume "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  kill -INT "$clone_pid"
  status=0
  wait "$clone_pid" || status=$?
  clone_pid=""
  [ "$status" -eq 5 ] || fail "the interrupted clone exited with status $status (want 5)"
  psql_dst rate_resume -c "DROP TABLE pgsluice.process" \
    -c "ALTER TABLE pgsluice.run DROP COLUMN max_rate, DROP COLUMN paused" \
    -c "UPDATE pgsluice.pgsluice_state_version SET version = 1" >/dev/null || fail "could not make the record layout 1"
  sluice clone --resume last --source "$(src_conn rate)" --target "$(dst_conn rate_resume)" --jobs 2 --keep-record \
    || fail "the resume of a layout 1 run exited with status $?"
  expect_identical rate rate_resume
  [ "$(psql_dst rate_resume -c "SELECT max(version) FROM pgsluice.pgsluice_state_version")" = 2 ] \
    || fail "the resume did not bring the state schema to layout 2"
}
