# clone --jobs 1 with the default chunk size

case_main() {   # one job, default chunk size
  create_dst dst_b
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_b)" --jobs 1 \
    || fail "pgsluice clone exited with status $?"
  expect_identical src dst_b
}
