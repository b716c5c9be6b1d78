# clone --best-effort

case_main() {   # --best-effort: no shared snapshot
  create_dst dst_h
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_h)" --best-effort --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone --best-effort exited with status $?"
  expect_identical src dst_h
}
