# clone --no-direct-copy (libpq's COPY functions, as on encrypted connections)

case_main() {   # libpq's COPY functions, the path TLS connections take
  create_dst dst_j
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_j)" --jobs 2 --chunk-size 1MB \
    --no-direct-copy || fail "pgsluice clone --no-direct-copy exited with status $?"
  expect_identical src dst_j
}
