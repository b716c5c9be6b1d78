# verify's drill-down of a 48 MB value changed by one byte names the byte, and its repair copies the
# value, both in bounded memory
# timeout: 300

case_main() {
  local rss limit=102400   # kB: the drill-down must not hold the value (96 MB of text a side)
  psql_src postgres -c "DROP DATABASE IF EXISTS longval" -c "CREATE DATABASE longval" >/dev/null \
    || fail "could not create the source database"
  psql_src longval >/dev/null <<'SQL' || fail "could not make the long value"
CREATE TABLE doc (id int PRIMARY KEY, title text, body bytea);
INSERT INTO doc VALUES (1, 'long', decode(repeat('ab', 48 * 1024 * 1024), 'hex')), (2, 'short', '\x00');
SQL
  create_dst longval
  sluice clone --source "$(src_conn longval)" --target "$(dst_conn longval)" --jobs 2 --progress-interval 0 \
    || fail "clone exited with status $?"
  psql_dst longval -c "UPDATE doc SET body = set_byte(body, 30000000, 205) WHERE id = 1" >/dev/null \
    || fail "could not change the byte"

  echo "+ /usr/bin/time -f %M pgsluice verify ..."
  status=0
  /usr/bin/time -o "$case_dir/rss" -f %M "$bin" verify --source "$(src_conn longval)" \
    --target "$(dst_conn longval)" --jobs 2 --progress-interval 0 >"$case_dir/out" 2>"$case_dir/err" || status=$?
  cat "$case_dir/out" "$case_dir/err"
  [ "$status" -eq 1 ] || fail "verify exited with status $status (want 1: different)"
  # the value's text is \x and 2 hex digits a byte: byte 30000000 is at 2 + 60000000, shown with 16 around it
  grep -qF "changed: (id)=(1): column body: 100663298 bytes of text on the source, 100663298 on the target, first different at byte 60000002: 'abababababababababababababababab' on the source, 'ababababababababcdababababababab' on the target" \
    "$case_dir/out" || fail "the report does not name the byte, with the window around it"
  rss=$(tail -n 1 "$case_dir/rss")
  echo "verify's peak RSS: $rss kB"
  if ldd "$bin" | grep -q libasan; then
    echo "(a sanitizer build: its shadow memory inflates RSS, the bound is not checked)"
  else
    [ "$rss" -lt "$limit" ] || fail "verify took $rss kB of memory (want less than $limit kB)"
  fi

  # the repair streams the value from the source's socket to the target's: it is never held whole
  echo "+ /usr/bin/time -f %M pgsluice verify --repair ..."
  status=0
  /usr/bin/time -o "$case_dir/rss" -f %M "$bin" verify --source "$(src_conn longval)" \
    --target "$(dst_conn longval)" --jobs 2 --progress-interval 0 --repair >"$case_dir/out" 2>"$case_dir/err" || status=$?
  cat "$case_dir/out" "$case_dir/err"
  [ "$status" -eq 0 ] || fail "verify --repair exited with status $status"
  grep -q "^repaired: table public.doc chunk 1 (whole table): 1 rows deleted, 1 copied in" "$case_dir/out" \
    || fail "the changed row was not repaired"
  rss=$(tail -n 1 "$case_dir/rss")
  echo "verify --repair's peak RSS: $rss kB"
  if ! ldd "$bin" | grep -q libasan; then
    [ "$rss" -lt "$limit" ] || fail "verify --repair took $rss kB of memory (want less than $limit kB)"
  fi
  expect_identical longval longval
  psql_src postgres -c "DROP DATABASE longval" >/dev/null
  psql_dst postgres -c "DROP DATABASE longval" >/dev/null
}
