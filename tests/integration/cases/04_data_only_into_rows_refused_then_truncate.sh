# clone --data-only into a non-empty table fails, then --truncate succeeds

case_main() {   # a target table that already holds a row: refused, then --truncate
  local status=0 left
  schema_copy src dst_d
  psql_dst dst_d -c "INSERT INTO k_uuid VALUES ('12345678-1234-1234-1234-123456789abc', 'pre-existing row')" \
    || fail "could not insert the pre-existing row"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_d)" --data-only --jobs 2 --chunk-size 1MB \
    || status=$?
  [ "$status" -ne 0 ] || fail "pgsluice clone --data-only into a non-empty table exited 0"
  grep -q 'k_uuid' "$case_dir/err" || fail "the error does not name the table k_uuid"
  # the cause on the error line, the fix apart on its own hint line
  grep -q '^pgsluice: error: .*refused before it writes anything' "$case_dir/err" || fail "no error line says the clone was refused"
  grep -q '^pgsluice: hint: Each is listed above with its fix' "$case_dir/err" || fail "no hint line follows the error"
  left=$(psql_dst dst_d -c "SELECT count(*) FROM k_uuid WHERE v = 'pre-existing row'")
  [ "$left" = 1 ] || fail "the pre-existing row is gone ($left left)"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_d)" --data-only --truncate --jobs 2 --chunk-size 1MB \
    || fail "pgsluice clone --data-only --truncate exited with status $?"
  expect_identical src dst_d
}
