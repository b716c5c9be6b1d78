# clone --verify reads the target only and names a row changed on the way

case_main() {   # clone --verify: reads only the target, and finds a row the target changed
  create_dst dst_m
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_m)" --jobs 2 --chunk-size 1MB \
    --verify --keep-record --json "$case_dir/clone.json" || fail "pgsluice clone --verify exited with status $? (want 0)"
  grep -q 'reading the target against the digests' "$case_dir/err" || fail "the verify pass read the source"
  grep -q 'identical' "$case_dir/out" || fail "clone --verify did not say identical"
  [ "$(psql_dst dst_m -c "SELECT count(*) FILTER (WHERE target_digest IS DISTINCT FROM source_digest)
                          || '/' || count(target_digest) FROM pgsluice.chunk WHERE method <> 'ctid'")" \
    = "0/$(psql_dst dst_m -c "SELECT count(*) FROM pgsluice.chunk WHERE method <> 'ctid'")" ] \
    || fail "the chunk records do not hold the target digests the verification read"
  "$python" - "$case_dir/clone.json" <<'EOF' || fail "the JSON report of clone --verify is wrong"
import json, sys
v = json.load(open(sys.argv[1]))["verify"]
assert v["result"] == "identical" and v["target_only"] and v["chunks_different"] == 0, v
assert v["chunks_checked"] > 40 and v["rows_target"] == v["rows_source"] > 0, v
EOF
  # A trigger that fires even for replication-role sessions changes one row as it is loaded.
  schema_copy src dst_m2
  psql_dst dst_m2 >/dev/null <<'SQL' || fail "could not add the trigger"
CREATE FUNCTION public.tamper() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN IF NEW.id = 7 THEN NEW.payload := upper(NEW.payload); END IF; RETURN NEW; END $$;
CREATE TRIGGER tamper BEFORE INSERT ON public.k_bigint FOR EACH ROW EXECUTE FUNCTION public.tamper();
ALTER TABLE public.k_bigint ENABLE ALWAYS TRIGGER tamper;
SQL
  status=0
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_m2)" --jobs 2 --chunk-size 1MB \
    --data-only --verify || status=$?
  [ "$status" -eq 6 ] || fail "clone --verify of a changed copy exited with status $status (want 6)"
  grep -qF 'changed: (id)=(7): column payload: 8f14e45fceea167a5a36dedd4bea2543aab3238922bcc25a6f606eb525ffdc56 on the source, 8F14E45FCEEA167A5A36DEDD4BEA2543AAB3238922BCC25A6F606EB525FFDC56 on the target' \
    "$case_dir/out" || fail "clone --verify did not name the changed row"
}
