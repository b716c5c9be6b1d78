#!/usr/bin/env bash
# bench/follow.sh: a live migration while pgbench writes, three ways in the same run, in alternation.
#
# The shape: pgbench's tables at --scale in database bench, pgbench_history with REPLICA IDENTITY
# FULL (it has no key). Every round, for each contender in a rotated order, pgbench writes to the
# source at --rate transactions a second from a few seconds before the copy until the cutover;
# then it stops and the cutover runs. The contenders:
#   pgsluice         pgsluice clone --follow --jobs J, then pgsluice cutover
#   pgsluice-verify  the same, then pgsluice cutover --verify (the checksum proof while writes stop)
#   native           logical replication set up by hand: pg_dump --schema-only | psql, CREATE
#                    PUBLICATION, CREATE SUBSCRIPTION ... WITH (copy_data = true); the cutover by
#                    hand: wait for the source's position, setval every sequence, DROP SUBSCRIPTION,
#                    DROP PUBLICATION (no watch for writes, no proof)
# What each reports, all read the same way on the source (the slot's confirmed_flush_lsn against
# pg_current_wal_lsn()):
#   copy       seconds until the copy is done (pgsluice: clone --follow exits, streaming; native:
#              every table of the subscription is ready)
#   lag_end    bytes behind at that moment
#   catch_up   seconds from then until the target has applied the position the source had then
#   steady     the median bytes behind (and the largest replay_lag) over --steady seconds after that
#   downtime   the cutover's seconds, from the end of the writes to the target being the new primary
#              (the whole command's wall-clock time; for pgsluice also its own step figures)
# Every copy is compared with the source (tests/integration/compare.sh) after its cutover before
# its figures count. Prints the medians, writes bench/results/follow-STAMP.json.
#
# Usage: bench/follow.sh [--scale 10] [--rate 200] [--jobs 2] [--rounds 3] [--steady 10] [--keep]
# Environment: PGSLUICE=path benchmarks that binary instead of building one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scale=10
rate=200
jobs=2
rounds=3
steady=10
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steady) steady=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/follow.sh: unknown option \"$1\"" >&2; exit 2 ;;
  esac
done
for value in "$scale" "$rate" "$jobs" "$rounds" "$steady"; do
  case "$value" in ''|*[!0-9]*|0) echo "bench/follow.sh: \"$value\" is not a positive whole number" >&2; exit 2 ;; esac
done

since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
pgbench_pid=
bench_stop_extra() { if [ -n "$pgbench_pid" ]; then kill -TERM "$pgbench_pid" 2>/dev/null; fi; }

bench_name=bench/follow.sh
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_start 55462 55463 "wal_level=logical max_replication_slots=10 max_wal_senders=10" \
  "max_replication_slots=10 max_logical_replication_workers=6 max_sync_workers_per_subscription=$jobs"

say "making the shape: pgbench at SCALE $scale"
psql_src postgres -c "CREATE DATABASE bench" >/dev/null
"$bindir/pgbench" -i -q -s "$scale" "$(src_conn bench)" >"$logs/gen.log" 2>&1 || die "pgbench -i failed"
psql_src bench -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" -c "VACUUM ANALYZE" >/dev/null
total=$(psql_src postgres -c "SELECT pg_size_pretty(pg_database_size('bench'))")
say "    bench: $total"

reset_target() {
  psql_dst postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bench" \
    -c "CREATE DATABASE bench" >/dev/null
  psql_src bench -c "TRUNCATE pgbench_history" -c "VACUUM" -c CHECKPOINT >/dev/null
  psql_dst postgres -c CHECKPOINT >/dev/null
  sync
}

# The replication's figures, read on the source for every contender alike: bytes behind, replay_lag.
slot_of() { case "$1" in native) echo bench_native ;; *) psql_src bench -c "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'pgsluice%'" ;; esac; }
lag_bytes() {
  psql_src bench -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
    FROM pg_replication_slots WHERE slot_name = '$1'"
}
replay_lag() {
  psql_src bench -c "SELECT coalesce(extract(epoch FROM r.replay_lag), 0) FROM pg_replication_slots s
    LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = '$1'"
}
applied() {
  [ "$(psql_src bench -c "SELECT confirmed_flush_lsn >= '$2' FROM pg_replication_slots WHERE slot_name = '$1'")" = t ]
}
# wait_until COMMAND...: runs COMMAND every 0.05 s until it succeeds; fails after 600 s.
wait_until() {
  local deadline=$(( $(date +%s) + 600 ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "    gave up waiting for: $*"; return 1; }
    sleep 0.05
  done
}

pgbench_start() {
  "$bindir/pgbench" -n -c 2 -R "$rate" -T 3600 "$(src_conn bench)" >"$logs/pgbench-$1.log" 2>&1 &
  pgbench_pid=$!
}
pgbench_stop() {
  kill -TERM "$pgbench_pid" 2>/dev/null || true  # a background job ignores SIGINT
  wait "$pgbench_pid" 2>/dev/null || true
  pgbench_pid=
}

copy_pgsluice() {
  "$pgsluice" clone --follow --source "$(src_conn bench)" --target "$(dst_conn bench)" --jobs "$jobs" \
    --progress-interval 0 -q
}
copy_native() {
  "$bindir/pg_dump" --schema-only -d "$(src_conn bench)" | psql_dst bench >/dev/null || return 1
  psql_src bench -c "CREATE PUBLICATION bench_native FOR ALL TABLES" >/dev/null || return 1
  psql_dst bench -c "CREATE SUBSCRIPTION bench_native CONNECTION '$(src_conn bench)' PUBLICATION bench_native
    WITH (copy_data = true)" >/dev/null || return 1
  wait_until tables_ready
}
tables_ready() {
  [ "$(psql_dst bench -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') = 0 AND count(*) > 0
    FROM pg_subscription_rel")" = t ]
}
cutover_pgsluice() {
  "$pgsluice" cutover --target "$(dst_conn bench)" --run last --json "$logs/cutover-$1.json" "${@:2}" >/dev/null
}
cutover_native() {
  local lsn
  lsn=$(psql_src bench -c "SELECT pg_current_wal_lsn()")
  wait_until applied bench_native "$lsn" || return 1
  psql_src bench -c "SELECT format('SELECT setval(%L, %s, %s);', schemaname || '.' || sequencename,
      coalesce(last_value, 1), last_value IS NOT NULL) FROM pg_sequences" | psql_dst bench >/dev/null || return 1
  psql_dst bench -c "DROP SUBSCRIPTION bench_native" >/dev/null || return 1
  psql_src bench -c "DROP PUBLICATION bench_native" >/dev/null
}

contenders=(pgsluice pgsluice-verify native)
results=$work/results.tsv
: >"$results"
for round in $(seq 1 "$rounds"); do
  for k in 0 1 2; do
    contender=${contenders[$(( (k + round - 1) % 3 ))]}
    tag=$contender-$round
    reset_target
    say "round $round: $contender"
    status=ok
    pgbench_start "$tag"
    sleep 3
    t0=$(now)
    case "$contender" in
      native) copy_native >"$logs/copy-$tag.log" 2>&1 || status=failed ;;
      *) copy_pgsluice >"$logs/copy-$tag.log" 2>&1 || status=failed ;;
    esac
    copy=$(since "$t0")
    lag_end=0 catch_up=0 steady_bytes=0 steady_seconds=0 downtime=0 steps=
    if [ "$status" = ok ]; then
      slot=$(slot_of "$contender")
      end_lsn=$(psql_src bench -c "SELECT pg_current_wal_lsn()")
      lag_end=$(lag_bytes "$slot")
      t1=$(now)
      wait_until applied "$slot" "$end_lsn" || status=failed
      catch_up=$(since "$t1")
    fi
    if [ "$status" = ok ]; then
      : >"$logs/steady-$tag"
      t2=$(now)
      while awk -v a="$t2" -v b="$(now)" -v s="$steady" 'BEGIN { exit !(b - a < s) }'; do
        printf '%s\t%s\n' "$(lag_bytes "$slot")" "$(replay_lag "$slot")" >>"$logs/steady-$tag"
        sleep 0.5
      done
      read -r steady_bytes steady_seconds < <(sort -n "$logs/steady-$tag" | awk -F '\t' '
        { b[NR] = $1; if ($2 > m) m = $2 } END { printf "%d %.3f\n", b[int((NR + 1) / 2)], m }')
    fi
    pgbench_stop
    if [ "$status" = ok ]; then
      sleep 1.5 # the ended sessions' statistics reach the server: a cutover's watch sees them as old
      t3=$(now)
      case "$contender" in
        native) cutover_native >"$logs/cutover-$tag.log" 2>&1 || status=failed ;;
        pgsluice) cutover_pgsluice "$tag" >"$logs/cutover-$tag.log" 2>&1 || status=failed ;;
        pgsluice-verify) cutover_pgsluice "$tag" --verify >"$logs/cutover-$tag.log" 2>&1 || status=failed ;;
      esac
      downtime=$(since "$t3")
      [ -f "$logs/cutover-$tag.json" ] && steps=$logs/cutover-$tag.json
    fi
    if [ "$status" = ok ] && ! "$compare" "$(src_conn bench)" "$(dst_conn bench)" >"$logs/compare-$tag.log" 2>&1; then
      status=wrong
      say "    NOT identical ($(tail -n 1 "$logs/compare-$tag.log"))"
    fi
    [ "$status" = failed ] && tail -n 20 "$logs/copy-$tag.log" "$logs/cutover-$tag.log" >&2 2>/dev/null
    left=$(psql_src bench -c "SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)")
    [ "$left" = 0 ] || { status=wrong; say "    the source still has $left slots or publications"; }
    say "    copy $copy s, $lag_end bytes behind, caught up in $catch_up s, steady $steady_bytes bytes" \
      "($steady_seconds s), cutover $downtime s, $status"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$contender" "$round" "$copy" "$lag_end" "$catch_up" \
      "$steady_bytes" "$steady_seconds" "$downtime" "$status" "$steps" >>"$results"
  done
done

mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
python3 - "$results" "$repo/bench/results/follow-$stamp.json" "$scale" "$rate" "$jobs" "$total" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out, scale, rate, jobs, total, cores = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
names = ["pgsluice", "pgsluice-verify", "native"]
by = {}
for name, rnd, copy, lag_end, catch_up, sb, ss, down, status, steps in rows:
    run = {"round": int(rnd), "copy_seconds": float(copy), "lag_end_bytes": int(lag_end),
           "catch_up_seconds": float(catch_up), "steady_lag_bytes": int(sb), "steady_replay_lag_seconds": float(ss),
           "cutover_seconds": float(down), "status": status}
    if steps:
        run["cutover_steps"] = json.load(open(steps))["seconds"]
    by.setdefault(name, []).append(run)
def med(name, key):
    return statistics.median(r[key] for r in by[name])
ok = {n: all(r["status"] == "ok" for r in by[n]) for n in names}
print("follow: pgbench at SCALE %d (%s), %d tx/s during the copy; --jobs %d, %d cores" % (scale, total, rate, jobs, cores))
print("%-16s %8s %12s %9s %12s %9s %9s" % ("contender", "copy s", "lag at end", "catch-up", "steady lag", "replay s", "cutover"))
for n in names:
    print("%-16s %8.2f %10d B %8.2fs %10d B %8.3fs %8.2fs%s" % (
        n, med(n, "copy_seconds"), med(n, "lag_end_bytes"), med(n, "catch_up_seconds"), med(n, "steady_lag_bytes"),
        med(n, "steady_replay_lag_seconds"), med(n, "cutover_seconds"), "" if ok[n] else "  DISQUALIFIED"))
for n in ["pgsluice", "pgsluice-verify"]:
    steps = [r["cutover_steps"] for r in by[n] if "cutover_steps" in r]
    if steps:
        print("%s cutover steps (median s): %s" % (n, ", ".join(
            "%s %.2f" % (k, statistics.median(s[k] for s in steps)) for k in steps[0])))
ratio = (med("pgsluice", "copy_seconds") + med("pgsluice", "catch_up_seconds")) / \
    (med("native", "copy_seconds") + med("native", "catch_up_seconds"))
print("copy and catch-up, pgsluice against native: %.2fx" % ratio)
down = med("pgsluice-verify", "cutover_seconds")
verdict = "PASS" if ok["pgsluice-verify"] and down < 10 else "FAIL"
print("%s: the cutover with --verify stops writes for a few seconds (%.2f s)" % (verdict, down))
json.dump({"shape": {"scale": scale, "size": total, "rate": rate}, "jobs": jobs, "cores": cores,
           "identical": ok, "runs": by}, open(out, "w"), indent=1)
print("written: %s" % out)
PY
bad=$(awk -F '\t' '$9 != "ok"' "$results" | wc -l)
[ "$bad" -eq 0 ] || exit 1
