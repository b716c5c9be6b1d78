# clone --data-only into a schema made with pg_dump --schema-only

case_main() {   # --data-only into a schema made beforehand
  schema_copy src dst_c
  [ "$(psql_dst dst_c -c 'SELECT count(*) FROM k_bigint')" = 0 ] || fail "the target schema copy holds rows"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_c)" --data-only --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone --data-only exited with status $?"
  expect_identical src dst_c
}
