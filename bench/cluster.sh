#!/usr/bin/env bash
# bench/cluster.sh: a whole cluster, copied three ways in the same run, in alternation.
#
# The shape: one large database (pgbench's tables at --scale) and --small databases of unequal
# sizes (database i holds i * 20,000 rows over three tables with indexes, a sequence and a
# foreign key), each owned by a role of its own. The contenders, every round in a rotated order:
#   all-databases  pgsluice clone --all-databases --database 'bc_*' --jobs J (roles included)
#   per-database   one pgsluice clone --jobs J per database, in sequence, each into a database
#                  made just before it with CREATE DATABASE (timed); the roles are made before
#                  the run, untimed
#   pg_dumpall     pg_dumpall --exclude-database=postgres | psql (roles and databases included)
# Every copy is compared with the source (tests/integration/compare.sh, per database) before its
# time counts; the target's bc_ databases and roles are dropped between runs. Prints the median
# seconds of each and their ratio to all-databases, and writes bench/results/cluster-STAMP.json.
#
# Usage: bench/cluster.sh [--scale 10] [--small 8] [--jobs 2] [--rounds 3] [--keep]
# Environment: PGSLUICE=path benchmarks that binary instead of building one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scale=10
small=8
jobs=2
rounds=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/cluster.sh: unknown option \"$1\"" >&2; exit 2 ;;
  esac
done
for value in "$scale" "$small" "$jobs" "$rounds"; do
  case "$value" in ''|*[!0-9]*|0) echo "bench/cluster.sh: \"$value\" is not a positive whole number" >&2; exit 2 ;; esac
done

bench_name=bench/cluster.sh
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_start 55452 55453 "" ""

say "making the cluster shape: bc_big at SCALE $scale and $small small databases"
psql_src postgres -c "CREATE DATABASE bc_big" >/dev/null
"$bindir/pgbench" -i -q -s "$scale" "$(src_conn bc_big)" >"$logs/gen.log" 2>&1 || die "pgbench -i failed"
dbs=(bc_big)
for i in $(seq 1 "$small"); do
  db=$(printf 'bc_small_%02d' "$i")
  dbs+=("$db")
  psql_src postgres -c "CREATE ROLE ${db}_owner" -c "CREATE DATABASE $db OWNER ${db}_owner" >/dev/null
  psql_src "$db" >>"$logs/gen.log" 2>&1 <<SQL || die "could not fill $db"
SET ROLE ${db}_owner;
CREATE TABLE customer (id bigserial PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer bigint REFERENCES customer, amount numeric(12, 2), note text);
CREATE TABLE event (at timestamptz, kind text, payload jsonb);
INSERT INTO customer (name) SELECT 'customer ' || g FROM generate_series(1, $i * 5000) g;
INSERT INTO orders (customer, amount, note) SELECT g % ($i * 5000) + 1, g * 0.5, md5(g::text)
  FROM generate_series(1, $i * 10000) g;
INSERT INTO event SELECT now() - g * interval '1 minute', 'k' || g % 7, jsonb_build_object('n', g)
  FROM generate_series(1, $i * 5000) g;
CREATE INDEX ON orders (customer);
CREATE INDEX ON event (at);
SQL
done
psql_src postgres -c "VACUUM ANALYZE" >/dev/null
total=$(psql_src postgres -A -t -c "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database WHERE datname LIKE 'bc\_%'")
say "    ${#dbs[@]} databases, $total"

reset_target() {
  local db
  for db in $(psql_dst postgres -A -t -c "SELECT datname FROM pg_database WHERE datname LIKE 'bc\_%'"); do
    psql_dst postgres -c "DROP DATABASE \"$db\"" >/dev/null
  done
  for role in $(psql_dst postgres -A -t -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 'bc\_%'"); do
    psql_dst postgres -c "DROP ROLE \"$role\"" >/dev/null
  done
  psql_src postgres -c CHECKPOINT >/dev/null
  psql_dst postgres -c CHECKPOINT >/dev/null
  sync
}

run_all_databases() {
  "$pgsluice" clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'bc_*' --jobs "$jobs" --progress-interval 0 -q
}
run_per_database() {
  local db owner
  for db in "${dbs[@]}"; do
    owner=$(psql_src postgres -A -t -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'")
    psql_dst postgres -c "CREATE DATABASE \"$db\" OWNER \"$owner\"" >/dev/null || return 1
    "$pgsluice" clone --source "$(src_conn "$db")" --target "$(dst_conn "$db")" --jobs "$jobs" \
      --progress-interval 0 -q || return 1
  done
}
run_pg_dumpall() {
  # the target has its postgres role already: that CREATE ROLE fails, and psql goes on
  "$bindir/pg_dumpall" --exclude-database=postgres -d "$(src_conn postgres)" |
    "$bindir/psql" -X -q -d "$(dst_conn postgres)" >/dev/null 2>"$logs/psql-dumpall.err"
}

contenders=(all-databases per-database pg_dumpall)
results=$work/results.tsv
: >"$results"
for round in $(seq 1 "$rounds"); do
  for k in 0 1 2; do
    contender=${contenders[$(( (k + round - 1) % 3 ))]}
    reset_target
    if [ "$contender" = per-database ]; then
      # the roles, untimed: this contender has no step for them
      "$bindir/pg_dumpall" --roles-only -d "$(src_conn postgres)" | "$bindir/psql" -X -q -d "$(dst_conn postgres)" \
        >/dev/null 2>&1 || true
    fi
    say "round $round: $contender"
    t0=$(now)
    status=ok
    case "$contender" in
      all-databases) run_all_databases >"$logs/$contender-$round.log" 2>&1 || status=failed ;;
      per-database) run_per_database >"$logs/$contender-$round.log" 2>&1 || status=failed ;;
      pg_dumpall) run_pg_dumpall >"$logs/$contender-$round.log" 2>&1 || status=failed ;;
    esac
    seconds=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
    for db in "${dbs[@]}"; do
      if [ "$status" = ok ] && ! "$compare" "$(src_conn "$db")" "$(dst_conn "$db")" >"$logs/compare-$db.log" 2>&1; then
        status=wrong
        say "    NOT identical: $db ($(tail -n 1 "$logs/compare-$db.log"))"
      fi
    done
    [ "$status" = failed ] && tail -n 20 "$logs/$contender-$round.log" >&2
    say "    $seconds s, $status"
    printf '%s\t%s\t%s\t%s\n' "$contender" "$round" "$seconds" "$status" >>"$results"
  done
done

mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
python3 - "$results" "$repo/bench/results/cluster-$stamp.json" "$scale" "$small" "$jobs" "$total" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out, scale, small, jobs, total, cores = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
by = {}
for name, rnd, sec, status in rows:
    by.setdefault(name, []).append({"round": int(rnd), "seconds": float(sec), "status": status})
med = {n: statistics.median(r["seconds"] for r in runs) for n, runs in by.items()}
ok = {n: all(r["status"] == "ok" for r in runs) for n, runs in by.items()}
base = med["all-databases"]
print("cluster: bc_big at SCALE %d and %d small databases, %s; --jobs %d, %d cores" % (scale, small, total, jobs, cores))
print("%-15s %9s %8s  %s" % ("contender", "median s", "ratio", "runs"))
for n in ["all-databases", "per-database", "pg_dumpall"]:
    print("%-15s %9.2f %7.2fx  %s%s" % (n, med[n], med[n] / base, " ".join("%.2f" % r["seconds"] for r in by[n]),
                                         "" if ok[n] else "  DISQUALIFIED (a copy failed or differs)"))
for n in ["per-database", "pg_dumpall"]:
    verdict = "PASS" if ok["all-databases"] and ok[n] and base < med[n] else "FAIL"
    print("%s: all-databases is faster than %s (%.2f s against %.2f s)" % (verdict, n, base, med[n]))
json.dump({"shape": {"scale": scale, "small_databases": small, "size": total}, "jobs": jobs, "cores": cores,
           "median_seconds": med, "identical": ok, "runs": by}, open(out, "w"), indent=1)
print("written: %s" % out)
PY
bad=$(awk -F '\t' '$4 != "ok"' "$results" | wc -l)
[ "$bad" -eq 0 ] || exit 1
