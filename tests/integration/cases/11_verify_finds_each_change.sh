# verify: a clone is identical (exit 0); each change made on the target is found (exit 1)

case_main() {   # verify: a clone is identical; each difference made on the target alone is found
  local change name pattern status
  create_dst dst_k
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_k)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone exited with status $?"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice verify of a fresh clone exited with status $? (want 0)"
  grep -q 'identical' "$case_dir/out" || fail "verify did not say identical"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k)" --no-direct-copy --counts \
    || fail "pgsluice verify --counts --no-direct-copy exited with status $? (want 0)"

  # name^SQL run on a copy of the target^texts the report must hold, separated by ~. The chunk
  # size alternates: at 1MB the keyed tables are read whole, and one that differs is checked
  # again by its chunks; at 64kB most are too large to be read whole and go by key ranges.
  local n=0 split=0 ranged=0 size
  while IFS='^' read -r name change patterns; do
    [ -n "$name" ] || continue
    psql_dst postgres -c "DROP DATABASE IF EXISTS dst_k_changed" \
      -c "CREATE DATABASE dst_k_changed TEMPLATE dst_k" || fail "could not copy dst_k"
    psql_dst dst_k_changed -c "$change" >/dev/null || fail "could not apply change $name"
    status=0
    size=1MB
    [ $((n % 2)) -eq 0 ] || size=64kB
    n=$((n + 1))
    sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k_changed)" --jobs 2 \
      --chunk-size "$size" --progress-interval 0 -v || status=$?
    [ "$status" -eq 1 ] || fail "change $name (--chunk-size $size): verify exited with status $status (want 1)"
    IFS='~' read -r -a wanted <<<"$patterns"
    for pattern in "${wanted[@]}"; do
      grep -qF -- "$pattern" "$case_dir/out" || fail "change $name: the report does not say \"$pattern\""
    done
    grep -q 'differs: checking its [0-9]* chunks' "$case_dir/err" && split=$((split + 1))
    grep -Eq '\] pgsluice: chunk [0-9]+ of table .*\((.* AND .*|.*[<>].*)\) differs: ' "$case_dir/err" \
      && ranged=$((ranged + 1))
  done <<'CHANGES'
trailing space^UPDATE public.k_bigint SET payload = payload || ' ' WHERE id = 7^table public.k_bigint chunk~changed: (id)=(7): column payload: 64 bytes of text on the source, 65 on the target, first different at byte 64
minus zero to zero^UPDATE public.types_all SET c_double = '0' WHERE c_double::text = '-0'^column c_double: -0 on the source, 0 on the target
a NaN^UPDATE public.types_all SET c_double = 'NaN' WHERE id = 2^changed: (id)=(2): column c_double: 1.7976931348623157e+308 on the source, NaN on the target
one byte of a 10 MB value^UPDATE public.big_values SET b = set_byte(b, 5000000, (get_byte(b, 5000000) + 1) % 256) WHERE id = 1^changed: (id)=(1): column b: 22020098 bytes of text on the source, 22020098 on the target, first different at byte 10000003
a row deleted^DELETE FROM public.k_bigint WHERE id = 9223372036854775807^missing on the target: (id)=(9223372036854775807)
a row inserted^INSERT INTO public.k_bigint (id, n, payload) VALUES (-999999999999, 1, 'new')^extra on the target: (id)=(-999999999999)
a duplicate removed^DELETE FROM public.nokey WHERE ctid = (SELECT min(ctid) FROM public.nokey WHERE a = 5)^table public.nokey chunk 1~missing on the target: (a, b, c)=(5, dup e4da3b7fbbce2345d7772b0674a318d5
a row moved between partitions^UPDATE public.measurement SET city_id = 1 WHERE id = (SELECT min(id) FROM part_other.measurement_2022_c34)^table part_other.measurement_2022_c34 chunk 1~missing on the target: (id, logdate, city_id)=(~table public.measurement_2022_c12 chunk~extra on the target: (id, logdate, city_id)=(
a sequence behind^SELECT setval('public.seq_advanced', 1)^sequence public.seq_advanced is at
a missing table^DROP TABLE public.k_text CASCADE^table public.k_text is missing on the target
a column of another type^ALTER TABLE public.big_values ALTER COLUMN id TYPE bigint^column id of table public.big_values is of type integer on the source, bigint on the target
CHANGES
  [ "$split" -ge 2 ] || fail "only $split changes were found in a table read whole (want 2 or more)"
  [ "$ranged" -ge 2 ] || fail "only $ranged changes were found in a key range read as such (want 2 or more)"

  # --max-diffs: 200 rows deleted, 5 named, then the pass stops
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_k_changed" \
    -c "CREATE DATABASE dst_k_changed TEMPLATE dst_k" || fail "could not copy dst_k"
  psql_dst dst_k_changed -c "DELETE FROM public.k_bigint WHERE id % 250 = 3" >/dev/null || fail "could not delete rows"
  status=0
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_k_changed)" --jobs 2 \
    --chunk-size 1MB --max-diffs 5 --json "$case_dir/verify.json" || status=$?
  [ "$status" -eq 1 ] || fail "--max-diffs 5: verify exited with status $status (want 1)"
  [ "$(grep -c '^  missing on the target: (id)=(' "$case_dir/out")" -eq 5 ] \
    || fail "--max-diffs 5: the report does not name exactly 5 rows"
  "$python" - "$case_dir/verify.json" <<'EOF' || fail "--max-diffs 5: the JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
rows = [d for c in r["chunks"] for d in c.get("rows", [])]
assert r["rows_different"] == 5 and len(rows) == 5 and r["rows_truncated"], r
assert all(d["kind"] == "missing" and d["key"].startswith("(id)=(") for d in rows), rows
EOF
}
