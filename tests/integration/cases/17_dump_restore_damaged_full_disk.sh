# dump then restore is identical; a damaged dump is refused untouched; a killed restore resumes; ENOSPC; SQL_ASCII names
# timeout: 400

# bad_restore NAME PATTERN: restores the damaged copy $case_dir/bad into a new database; it must
# exit 2 with PATTERN in its error and leave the target as it was (no table, no run record).
bad_restore() {
  local status=0
  create_dst dst_q_bad
  sluice restore --dir "$case_dir/bad" --target "$(dst_conn dst_q_bad)" --jobs 2 || status=$?
  [ "$status" -eq 2 ] || fail "$1: restore exited with status $status (want 2)"
  grep -qF -- "$2" "$case_dir/err" || fail "$1: the error does not say \"$2\""
  [ "$(psql_dst dst_q_bad -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')")" = 0 ] \
    || fail "$1: restore wrote to the target before refusing"
}

# damaged_copy: $case_dir/bad, a fresh copy of the dump; $chunk, the name of its 7th chunk file.
damaged_copy() {
  rm -rf "$case_dir/bad"
  cp -a "$case_dir/dump" "$case_dir/bad" || fail "could not copy the dump"
  chunk=$(cd "$case_dir/bad" && ls chunk-*.pgsl | sed -n 7p)
}

case_main() {   # dump, then restore: identical; a damaged dump refused before anything is written; ENOSPC
  local d=$case_dir/dump status chunk
  rm -rf "$d" "$case_dir/other"
  sluice dump --source "$(src_conn src)" --dir "$d" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice dump exited with status $?"
  [ "$(stat -c %a "$d")" = 700 ] || fail "the dump directory's mode is $(stat -c %a "$d"), not 700"
  [ -z "$(find "$d" -type f ! -perm 600)" ] || fail "files in the dump are not 0600: $(find "$d" -type f ! -perm 600)"
  "$python" -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["chunks"] and m["tables"], m' \
    "$d/manifest.json" || fail "the manifest is not JSON with tables and chunks"
  [ -s "$d/schema.dump" ] || fail "the dump lacks its schema"
  create_dst dst_q
  sluice restore --dir "$d" --target "$(dst_conn dst_q)" --jobs 2 --keep-record || fail "pgsluice restore exited with status $?"
  expect_identical src dst_q
  expect_chunks_done dst_q

  damaged_copy
  printf 'Z' | dd of="$case_dir/bad/$chunk" bs=1 seek=300 count=1 conv=notrunc status=none
  bad_restore "a flipped byte" "chunk file \"$case_dir/bad/$chunk\""
  damaged_copy
  truncate -s -100 "$case_dir/bad/$chunk"
  bad_restore "a truncated file" "chunk file \"$case_dir/bad/$chunk\""
  damaged_copy
  rm "$case_dir/bad/$chunk"
  bad_restore "a missing chunk" "chunk file \"$case_dir/bad/$chunk\" of table"
  sluice dump --source "$(src_conn src)" --dir "$case_dir/other" --jobs 2 --chunk-size 1MB \
    || fail "the second pgsluice dump exited with status $?"
  damaged_copy
  cp "$case_dir/other/manifest.json" "$case_dir/bad/manifest.json"
  bad_restore "a manifest from another dump" "belongs to another dump"
  damaged_copy
  rm "$case_dir/bad/manifest.json"
  bad_restore "not a dump" "is not a pgsluice dump"

  # a restore killed (SIGKILL) mid-data, then resumed
  big_setup
  rm -rf "$case_dir/big"
  sluice dump --source "$(src_conn big)" --dir "$case_dir/big" --jobs 2 --chunk-size 2MB \
    || fail "pgsluice dump of big exited with status $?"
  create_dst big_restored
  echo "+ pgsluice restore --dir big --target big_restored &"
  setsid "$bin" restore --dir "$case_dir/big" --target "$(dst_conn big_restored)" --jobs 2 \
    --progress-interval 0 >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
  wait_for big_restored "SELECT count(*) >= 20 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null
  sluice restore --resume last --dir "$case_dir/big" --target "$(dst_conn big_restored)" --jobs 2 \
    --keep-record || fail "pgsluice restore --resume exited with status $?"
  grep -q '([1-9][0-9]* before)' "$case_dir/out" || fail "the resumed restore did not skip the chunks loaded before"
  expect_identical big big_restored
  expect_chunks_done big_restored

  # a full disk: a 4 MB tmpfs in a mount namespace of the dump's own
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mkdir -p "$case_dir/small"
    status=0
    unshare -m sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && "$@"; s=$?; ls "$0/d" >"$0.ls"; exit $s' \
      "$case_dir/small" "$case_dir/small" "$bin" dump --source "$(src_conn src)" --dir "$case_dir/small/d" \
      --jobs 2 --chunk-size 1MB >"$case_dir/out" 2>"$case_dir/err" || status=$?
    cat "$case_dir/err"
    [ "$status" -eq 1 ] || fail "a dump onto a full disk exited with status $status (want 1)"
    grep -q 'No space left on device' "$case_dir/err" || fail "the error does not say the disk is full"
    grep -q 'the dump needs about [0-9]* MB more' "$case_dir/err" || fail "the error does not say how much space is needed"
    echo "left in the directory: $(tr '\n' ' ' <"$case_dir/small.ls")"
    ! grep -q -e '\.part$' -e manifest "$case_dir/small.ls" || fail "the full disk left a partial file or a manifest behind"
  else
    echo "# skipped the full-disk dump: it needs root and mount namespaces"
  fi

  # a database in SQL_ASCII whose table name and values are not UTF-8: the manifest and the
  # JSON report are still valid JSON, and the restore gives back the same name and rows
  psql_src postgres -c "DROP DATABASE IF EXISTS ascii_src" \
    -c "CREATE DATABASE ascii_src ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE 'C'" >/dev/null \
    || fail "could not create database ascii_src"
  printf 'CREATE TABLE "caf\351" (id int PRIMARY KEY, v text);
          INSERT INTO "caf\351" SELECT g, '"'"'\351t\351 '"'"' || g FROM generate_series(1, 1000) AS g;\n' \
    | PGCLIENTENCODING=SQL_ASCII psql_src ascii_src || fail "could not fill database ascii_src"
  psql_dst postgres -c "DROP DATABASE IF EXISTS ascii_dst" \
    -c "CREATE DATABASE ascii_dst ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE 'C'" >/dev/null \
    || fail "could not create database ascii_dst"
  rm -rf "$case_dir/ascii"
  sluice dump --source "$(src_conn ascii_src)" --dir "$case_dir/ascii" \
    || fail "pgsluice dump of a SQL_ASCII database exited with status $?"
  sluice restore --dir "$case_dir/ascii" --target "$(dst_conn ascii_dst)" \
    || fail "pgsluice restore of a SQL_ASCII dump exited with status $?"
  expect_identical ascii_src ascii_dst
  sluice verify --source "$(src_conn ascii_src)" --target "$(dst_conn ascii_dst)" --json "$case_dir/ascii.json" \
    || fail "pgsluice verify of the SQL_ASCII databases exited with status $?"
  if [ -n "$python" ]; then
    "$python" - "$case_dir/ascii/manifest.json" "$case_dir/ascii.json" <<'PY' || fail "the manifest or the report is not valid JSON, or lost the name"
import json, sys
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("ascii")   # every byte that is not UTF-8 is escaped
    assert "caf\\udce9" in text, path
    json.loads(text)
print("manifest and report: valid JSON, the name escaped as caf\\udce9")
PY
  fi
}
