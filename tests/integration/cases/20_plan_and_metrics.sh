# plan lists the clone's chunks and an estimate; Prometheus metrics served and written during a clone

case_main() {   # plan lists the clone's chunks and an estimate; metrics served and written during the clone
  local port scrapes=0 rising status=0
  big_setup
  sluice plan --source "$(src_conn big)" --jobs 2 --chunk-size 2MB --json "$case_dir/plan.json" \
    || fail "pgsluice plan exited with status $?"
  grep -q '^estimate with --jobs 2: about [0-9]* s' "$case_dir/out" || fail "the plan gives no estimate"
  grep -q '^public\.big .* key .* binary  primary key (id)' "$case_dir/out" || fail "the plan does not show big's key and split"
  grep -q '^no usable key .*public\.big_nokey' "$case_dir/out" || fail "the plan does not name the table without a key"

  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  create_dst big_metrics
  start_clone big_metrics --jobs 2 --chunk-size 2MB --json "$case_dir/clone.json" \
    --metrics-listen "127.0.0.1:$port" --metrics-file "$case_dir/metrics.prom"
  while kill -0 "$clone_pid" 2>/dev/null; do
    if curl -fsS "http://127.0.0.1:$port/metrics" >"$case_dir/scrape.tmp" 2>/dev/null; then
      scrapes=$((scrapes + 1))
      mv "$case_dir/scrape.tmp" "$case_dir/scrape.$scrapes"
    fi
    sleep 0.2
  done
  wait "$clone_pid" || status=$?
  [ "$status" -eq 0 ] || { cat "$case_dir/err"; fail "the clone with metrics exited with status $status"; }
  expect_identical big big_metrics
  echo "scrapes during the run: $scrapes"
  [ "$scrapes" -ge 2 ] || fail "fewer than two scrapes answered during the run"
  rising=$(for i in $(seq "$scrapes"); do
             awk '$1 ~ /^pgsluice_bytes_total/ { print $2 }' "$case_dir/scrape.$i"
           done | awk 'NR > 1 && $1 > last { n++ } { last = $1 } END { print n + 0 }')
  echo "scrapes with more bytes than the one before: $rising"
  [ "$rising" -ge 1 ] || fail "pgsluice_bytes_total did not rise between scrapes"
  promtool check metrics <"$case_dir/scrape.$scrapes" || fail "promtool rejects the scraped metrics"
  promtool check metrics <"$case_dir/metrics.prom" || fail "promtool rejects the metrics file"
  [ ! -e "$case_dir/metrics.prom.tmp" ] || fail "the metrics file's temporary file was left behind"
  "$python" - "$case_dir/plan.json" "$case_dir/clone.json" "$case_dir/metrics.prom" <<'PY' || fail "the plan, the clone and the metrics disagree"
import json, re, sys
plan, clone = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
chunks = lambda r: {t["name"]: [c["where"] for c in t["chunks"]] for t in r["tables"]}
assert chunks(plan) == chunks(clone), "the plan's chunks are not the clone's"
n = sum(len(t["chunks"]) for t in clone["tables"])
m = dict(re.findall(r'^(pgsluice_\w+)\{[^}]*\} (\S+)$', open(sys.argv[3]).read(), re.M))
print("chunks %d; metrics file: done %s, bytes %s, rows %s; estimate %.1f s, clone %.1f s"
      % (n, m["pgsluice_chunks_done_total"], m["pgsluice_bytes_total"], m["pgsluice_rows_total"],
         plan["estimate"]["seconds"], clone["seconds"]["total"]))
assert int(float(m["pgsluice_chunks_done_total"])) == n and int(float(m["pgsluice_bytes_total"])) == clone["bytes"]
assert int(float(m["pgsluice_rows_total"])) == clone["rows"] and plan["estimate"]["seconds"] > 0
PY
}
