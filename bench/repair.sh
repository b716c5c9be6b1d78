#!/usr/bin/env bash
# bench/repair.sh: what repairing a few changed rows costs, against a plain verify of the same target.
#
# The shape: the standard dataset (pgbench's tables and bench/sql/standard.sql) at --scale in
# database bench, cloned once into the target. Every round, --rows rows of the target are changed
# (all but three updated in pgbench_accounts; in wide a key deleted and one inserted, in uuidt a
# value changed), then, in an order that alternates from round to round:
#   verify   pgsluice verify --jobs J: finds the changed rows and names them (exit 1)
#   repair   pgsluice verify --repair --jobs J: finds them, repairs them, checks the repaired
#            chunks again (exit 0)
# Each is given rows of its own to find: the rows are changed before each (the same statements, on
# other rows), and what a plain verify found is repaired after it, untimed. A plain verify of the identical target comes first, as a reference
# and to warm both servers' caches. After the last round the target is compared with the source
# (tests/integration/compare.sh). Prints the medians and the ratio repair / verify, and writes
# bench/results/repair-STAMP.json.
#
# Usage: bench/repair.sh [--scale 30] [--rows 10] [--jobs 2] [--rounds 3] [--keep]
# Environment: PGSLUICE=path benchmarks that binary instead of building one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scale=30
rows=10
jobs=2
rounds=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/repair.sh: unknown option \"$1\"" >&2; exit 2 ;;
  esac
done
for value in "$scale" "$rows" "$jobs" "$rounds"; do
  case "$value" in ''|*[!0-9]*|0) echo "bench/repair.sh: \"$value\" is not a positive whole number" >&2; exit 2 ;; esac
done
[ "$rows" -ge 4 ] || { echo "bench/repair.sh: --rows must be at least 4 (one of each kind of change)" >&2; exit 2; }

since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

bench_name=bench/repair.sh
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_start 55482 55483 "" ""

say "making the shape: the standard dataset at SCALE $scale"
psql_src postgres -c "CREATE DATABASE bench" >/dev/null
"$bindir/pgbench" -i -q -s "$scale" "$(src_conn bench)" >"$logs/gen.log" 2>&1 || die "pgbench -i failed"
psql_src bench -v scale="$scale" -f "$here/sql/standard.sql" >>"$logs/gen.log" 2>&1 || die "standard.sql failed"
psql_src bench -c "VACUUM ANALYZE" >/dev/null
total=$(psql_src postgres -c "SELECT pg_size_pretty(pg_database_size('bench'))")
say "    bench: $total; cloning it into the target"
psql_dst postgres -c "CREATE DATABASE bench" >/dev/null
"$pgsluice" clone --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs "$jobs" --progress-interval 0 -q \
  >"$logs/clone.log" 2>&1 || die "the clone failed (see $logs/clone.log)"
psql_dst bench -c "VACUUM ANALYZE" >/dev/null

# change SEED: --rows rows changed on the target, other rows for each seed: accounts updated, a key
# deleted and one inserted in wide, a value changed in uuidt.
change() {
  local n_accounts=$(( rows - 3 )) seed=$1
  psql_dst bench >/dev/null <<SQL
SELECT setseed(0.$seed);
UPDATE pgbench_accounts SET abalance = abalance + 1
WHERE aid IN (SELECT 1 + (random() * ($scale * 100000 - 1))::int FROM generate_series(1, $n_accounts));
DELETE FROM wide WHERE id = (SELECT min(id) FROM wide) + $seed;
INSERT INTO wide SELECT id + 1000000000 + $seed, amount, created_at, note, attrs, payload, score, ref
  FROM wide WHERE id = (SELECT max(id) FROM wide WHERE id < 1000000000);
UPDATE uuidt SET n = n + 1 WHERE ctid = (SELECT ctid FROM uuidt OFFSET 1000 * $seed LIMIT 1);
SQL
}

verify() {
  "$pgsluice" verify --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs "$jobs" --progress-interval 0 \
    --json "$logs/$1.json" "${@:2}" >"$logs/$1.log" 2>&1
}

results=$work/results.tsv
: >"$results"
say "reference: a verify of the identical target"
t0=$(now)
verify reference || die "the clone is not identical (see $logs/reference.log)"
reference=$(since "$t0")
say "    $reference s"
seed=1
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then order="verify repair"; else order="repair verify"; fi
  for contender in $order; do
    tag=$contender-$round
    seed=$((seed + 1))
    change "$seed"
    status=ok
    t0=$(now)
    case "$contender" in
      verify) rc=0; verify "$tag" || rc=$?; [ "$rc" = 1 ] || status=failed ;;
      repair) verify "$tag" --repair || status=failed ;;
    esac
    seconds=$(since "$t0")
    if [ "$contender" = verify ]; then
      verify "undo-$round" --repair || status=failed
    fi
    say "round $round: $contender $seconds s, $status"
    printf '%s\t%s\t%s\t%s\t%s\n' "$contender" "$round" "$seconds" "$status" "$logs/$tag.json" >>"$results"
  done
done
identical=ok
"$compare" "$(src_conn bench)" "$(dst_conn bench)" >"$logs/compare.log" 2>&1 || identical=wrong
say "after the last round, compare.sh: $identical ($(tail -n 1 "$logs/compare.log"))"

mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
python3 - "$results" "$repo/bench/results/repair-$stamp.json" "$scale" "$rows" "$jobs" "$total" "$(nproc)" \
  "$reference" "$identical" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out, scale, nrows, jobs, total, cores = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
reference, identical = float(sys.argv[8]), sys.argv[9]
by = {}
for name, rnd, seconds, status, report in rows:
    run = {"round": int(rnd), "seconds": float(seconds), "status": status}
    try:
        r = json.load(open(report))
        run["rows_different"] = r["rows_different"]
        if "repair" in r:
            run["repair"] = r["repair"]
    except (OSError, ValueError, KeyError):
        pass
    by.setdefault(name, []).append(run)
med = {n: statistics.median(r["seconds"] for r in by[n]) for n in by}
ok = {n: all(r["status"] == "ok" for r in by[n]) for n in by}
print("repair: the standard dataset at SCALE %d (%s), %d rows changed on the target; --jobs %d, %d cores"
      % (scale, total, nrows, jobs, cores))
print("verify of the identical target: %.2f s" % reference)
for n in ["verify", "repair"]:
    print("%-8s median %.2f s over %d rounds%s" % (n, med[n], len(by[n]), "" if ok[n] else "  DISQUALIFIED"))
steps = [r["repair"] for r in by["repair"] if "repair" in r]
if steps:
    print("repair steps (median s): repair %.2f, check again %.2f; rows deleted %d, copied in %d"
          % (statistics.median(s["seconds"] for s in steps), statistics.median(s["seconds_check_again"] for s in steps),
             statistics.median(s["rows_deleted"] for s in steps), statistics.median(s["rows_inserted"] for s in steps)))
ratio = med["repair"] / med["verify"]
verdict = "PASS" if ok["repair"] and ok["verify"] and identical == "ok" and ratio <= 1.3 else "FAIL"
print("%s: repairing takes %.2fx a plain verify of the same target (at most 1.3x)" % (verdict, ratio))
json.dump({"shape": {"scale": scale, "size": total, "rows_changed": nrows}, "jobs": jobs, "cores": cores,
           "reference_seconds": reference, "identical_at_end": identical == "ok", "ratio": ratio, "runs": by},
          open(out, "w"), indent=1)
print("written: %s" % out)
PY
bad=$(awk -F '\t' '$4 != "ok"' "$results" | wc -l)
[ "$bad" -eq 0 ] && [ "$identical" = ok ] || exit 1
