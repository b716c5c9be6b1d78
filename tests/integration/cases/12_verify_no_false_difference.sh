# verify: no false difference in 20 runs over rows stored in other orders

case_main() {   # verify: no false difference in 20 runs over tables stored in other orders
  local i status sizes=(1MB 256kB 64MB 2MB)
  create_dst dst_l
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_l)" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone exited with status $?"
  # Rewrite half the rows of every table in place: the same data, on other pages, in another order.
  psql_dst dst_l >/dev/null <<'SQL' || fail "could not reorder the target's rows"
SET session_replication_role = replica;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS t, a.attname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN LATERAL (SELECT attname FROM pg_attribute
                         WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
                           AND attidentity <> 'a' AND attgenerated = ''
                         ORDER BY attnum LIMIT 1) a ON true
           WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  LOOP
    EXECUTE format('UPDATE ONLY %s SET %I = %I WHERE random() < 0.5', r.t, r.attname, r.attname);
  END LOOP;
END $$;
VACUUM;
SQL
  for i in $(seq 1 20); do
    status=0
    sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_l)" --jobs 2 \
      --chunk-size "${sizes[$((i % 4))]}" --progress-interval 0 || status=$?
    [ "$status" -eq 0 ] || fail "run $i (--chunk-size ${sizes[$((i % 4))]}): verify exited with status $status (want 0)"
  done
}
