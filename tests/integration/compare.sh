#!/usr/bin/env bash
# compare.sh SRC_CONNINFO DST_CONNINFO: proves that two databases hold the same data.
#
# Independent of pgsluice: plain SQL through psql. On each side, in one REPEATABLE READ
# read-only transaction, it reads every table with storage (ordinary tables and leaf
# partitions, relkind 'r', and materialized views, 'm'; not in system schemas nor in the
# schema pgsluice), each with ONLY, and computes its row count and an order-independent digest
# of its rows' text: md5 of the sorted md5s of row::text, so duplicate rows count. It also reads
# every sequence's last_value and is_called from the sequence itself. Both sides are read at
# the same time, then compared: the table and sequence lists must match, and so must every
# count, digest, last_value and is_called.
#
# COMPARE_ONLY and COMPARE_EXCEPT (environment, optional): regular expressions (PostgreSQL's)
# matched on both sides against schema.name, unquoted; only the relations that match COMPARE_ONLY
# and not COMPARE_EXCEPT are compared, for copies of a part of a database.
#
# Prints one line per difference, then "compare: N tables, M sequences identical".
# Exit status: 0 identical, 1 different, 2 error (could not connect, bad query, bad usage).
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: compare.sh SRC_CONNINFO DST_CONNINFO" >&2
  exit 2
fi
src=$1
dst=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

# The query: settings that make the text of every value the same on both sides, then one
# generated statement (run by \gexec) that reads all tables and sequences. Each output line is
# KIND, hex of the quoted name (the key), printable quoted name, then rows and digest for a
# table ('T'), last_value and is_called for a sequence ('S').
cat >"$work/digest.sql" <<'EOF'
\set ON_ERROR_STOP 1
-- UTF8, except on a SQL_ASCII server, whose names and values may be bytes of any encoding
SELECT CASE WHEN current_setting('server_encoding') = 'SQL_ASCII' THEN 'SQL_ASCII' ELSE 'UTF8' END AS encoding \gset
SET client_encoding = :'encoding';
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET bytea_output = 'hex';
SET lc_monetary = 'C';
SET xmloption = 'content';
-- Fail instead of silently hiding rows behind a policy.
SET row_security = off;
SET statement_timeout = 0;
SET work_mem = '64MB';
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
WITH rel AS (
  SELECT c.relkind, c.relispopulated, n.nspname, c.relname,
         format('%I.%I', n.nspname, c.relname) AS qname
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm', 'S')
    AND c.relpersistence <> 't'
    AND n.nspname !~ '^pg_'
    AND n.nspname NOT IN ('information_schema', 'pgsluice')
    AND (:'only' = '' OR n.nspname || '.' || c.relname ~ :'only')
    AND (:'except' = '' OR n.nspname || '.' || c.relname !~ :'except')
), item AS (
  SELECT qname, relkind, relispopulated, nspname, relname,
         format('%L::text, %L::text, %L::text',
                CASE WHEN relkind = 'S' THEN 'S' ELSE 'T' END,
                encode(convert_to(qname, :'encoding'), 'hex'),
                replace(replace(replace(replace(qname, E'\\', E'\\\\'), E'\n', E'\\n'),
                                E'\r', E'\\r'), E'\t', E'\\t')) AS head
  FROM rel
)
SELECT string_agg(
         CASE
           WHEN relkind = 'S' THEN
             format('SELECT %s, last_value::text, is_called::text FROM %I.%I', head, nspname, relname)
           WHEN NOT relispopulated THEN
             format('SELECT %s, %L::text, %L::text', head, '-1', 'not populated')
           ELSE
             format('SELECT %s, count(*)::text, coalesce(md5(string_agg(h, %L ORDER BY h COLLATE "C")), %L)'
                    ' FROM (SELECT md5(r.*::text) AS h FROM ONLY %I.%I AS r) AS d',
                    head, '', 'no rows', nspname, relname)
         END,
         E'\nUNION ALL\n' ORDER BY qname COLLATE "C")
FROM item
\gexec
COMMIT;
EOF

# digest NAME CONNINFO: writes $work/NAME.out, or $work/NAME.err and a non-zero status.
digest() {
  psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -v only="${COMPARE_ONLY:-}" \
    -v except="${COMPARE_EXCEPT:-}" -d "$2" -f "$work/digest.sql" \
    >"$work/$1.out" 2>"$work/$1.err"
}

digest source "$src" &
src_pid=$!
digest target "$dst" &
dst_pid=$!
src_status=0
dst_status=0
wait "$src_pid" || src_status=$?
wait "$dst_pid" || dst_status=$?
failed=0
for side in source target; do
  status=$src_status
  [ "$side" = target ] && status=$dst_status
  if [ "$status" -ne 0 ]; then
    echo "compare: error: could not read the $side database: $(tr '\n' ' ' <"$work/$side.err" | sed 's/ *$//')" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 2

# Pair up both sides by the hex key, keeping the source's order, then the target's extras.
LC_ALL=C awk -F '\t' '
  function label(k) { return k == "S" ? "sequence" : "table" }
  { side = (FILENAME == ARGV[1]) ? 1 : 2 }
  NF == 0 { next }
  NF != 5 {
    printf "compare: error: unexpected line %d from the %s database: %s\n", FNR, side == 1 ? "source" : "target", $0 > "/dev/stderr"
    bad = 1
    exit 2
  }
  {
    key = $1 SUBSEP $2
    if (!(key in name)) { name[key] = $3; kind[key] = $1; order[++count] = key }
    if (side == 1) { s1[key] = $4; s2[key] = $5; in_src[key] = 1 }
    else           { t1[key] = $4; t2[key] = $5; in_dst[key] = 1 }
  }
  END {
    if (bad) exit 2
    diffs = 0; tables = 0; sequences = 0
    for (i = 1; i <= count; i++) {
      key = order[i]; k = kind[key]; n = name[key]
      if (k == "S") sequences++; else tables++
      if (!(key in in_dst)) { printf "%s %s: only in source\n", label(k), n; diffs++; continue }
      if (!(key in in_src)) { printf "%s %s: only in target\n", label(k), n; diffs++; continue }
      if (k == "S") {
        if (s1[key] != t1[key]) { printf "sequence %s: last_value %s in source, %s in target\n", n, s1[key], t1[key]; diffs++ }
        if (s2[key] != t2[key]) { printf "sequence %s: is_called %s in source, %s in target\n", n, s2[key], t2[key]; diffs++ }
        continue
      }
      if (s2[key] == "not populated" || t2[key] == "not populated") {
        if (s2[key] != t2[key]) {
          printf "table %s: %s in source, %s in target\n", n,
            s2[key] == "not populated" ? "not populated" : s1[key] " rows",
            t2[key] == "not populated" ? "not populated" : t1[key] " rows"
          diffs++
        }
        continue
      }
      if (s1[key] != t1[key]) { printf "table %s: %s rows in source, %s rows in target\n", n, s1[key], t1[key]; diffs++ }
      else if (s2[key] != t2[key]) { printf "table %s: same row count (%s) but different rows\n", n, s1[key]; diffs++ }
    }
    if (diffs == 0) {
      printf "compare: %d tables, %d sequences identical\n", tables, sequences
      exit 0
    }
    printf "compare: %d difference%s in %d tables, %d sequences\n", diffs, diffs == 1 ? "" : "s", tables, sequences
    exit 1
  }
' "$work/source.out" "$work/target.out"
