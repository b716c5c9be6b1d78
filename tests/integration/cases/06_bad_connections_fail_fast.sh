# bad connections fail fast with one line and no password

case_main() {   # bad connections: one-line error, fast, no password shown
  local status start secs port password=s3cr3t-xyz
  create_dst dst_f
  port=$(closed_port)

  echo "== source: no such socket directory"
  status=0; start=$(now)
  sluice clone --source "host=/nonexistent port=1 user=postgres dbname=src password=$password" \
    --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 3 ] || fail "exit status $status, not 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  echo "== source: a connection string libpq cannot parse"
  status=0; start=$(now)
  sluice clone --source "dbname=src password=$password port" --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 2 ] || [ "$status" -eq 3 ] || fail "exit status $status, not 2 (bad usage) or 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  echo "== target: no such database"
  status=0; start=$(now)
  sluice clone --source "$(src_conn src) password=$password" \
    --target "$(dst_conn no_such_database) password=$password" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 4 ] || fail "exit status $status, not 4 (target error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error target "$password"

  echo "== target: nothing listens on 127.0.0.1:$port"
  status=0; start=$(now)
  sluice clone --source "$(src_conn src)" \
    --target "host=127.0.0.1 port=$port user=postgres dbname=dst_f password=$password" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 4 ] || fail "exit status $status, not 4 (target error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error target "$password"

  echo "== source: nothing listens on 127.0.0.1:$port, URI with a password"
  status=0; start=$(now)
  sluice clone --source "postgresql://postgres:$password@127.0.0.1:$port/src" \
    --target "$(dst_conn dst_f)" || status=$?
  secs=$(elapsed "$start")
  [ "$status" -eq 3 ] || fail "exit status $status, not 3 (source error)"
  awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "took $secs s"
  one_line_error source "$password"

  # Nothing of the failed runs may be left in the target database.
  [ "$(psql_dst dst_f -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'pgsluice')")" = 0 ] \
    || fail "a failed run left objects in the target database"
}
