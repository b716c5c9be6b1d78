# clone into a database that already has the schema fails and changes nothing

case_main() {   # a target that already has the schema, without --data-only: refused, nothing changed
  local status=0
  schema_copy src dst_e
  psql_dst dst_e -c "INSERT INTO empty_t VALUES (1, 'marker')" || fail "could not insert the marker row"
  # (\restrict lines hold a random key that differs at every pg_dump run)
  "$pg_dump_bin" -d "$(dst_conn dst_e)" | grep -v '^\\\(un\)\{0,1\}restrict ' \
    >"$case_dir/before.sql" || fail "pg_dump of the target failed"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_e)" --jobs 2 || status=$?
  [ "$status" -ne 0 ] || fail "pgsluice clone into a database with the schema exited 0"
  grep -qiE 'exist|already|not empty|data-only' "$case_dir/err" \
    || fail "the error does not say that the target already has the schema"
  "$pg_dump_bin" -d "$(dst_conn dst_e)" | grep -v '^\\\(un\)\{0,1\}restrict ' \
    >"$case_dir/after.sql" || fail "pg_dump of the target failed"
  diff -u "$case_dir/before.sql" "$case_dir/after.sql" | head -n 40
  cmp -s "$case_dir/before.sql" "$case_dir/after.sql" || fail "the target changed"
}
