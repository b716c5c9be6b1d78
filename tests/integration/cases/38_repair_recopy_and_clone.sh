# verify --repair re-copies a chunk past its limits, leaves a keyless table to --repair-whole-tables;
# clone --verify --repair repairs the copy before it ends
# timeout: 300

case_main() {
  psql_src postgres -c "DROP DATABASE IF EXISTS rcp" -c "CREATE DATABASE rcp" >/dev/null \
    || fail "could not create the source database"
  psql_src rcp >/dev/null <<'SQL' || fail "could not fill the source"
CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, pad text);
INSERT INTO t SELECT i, 'v' || i, repeat(md5(i::text), 4) FROM generate_series(1, 40000) AS i;
CREATE TABLE nk (a int, b text);
INSERT INTO nk SELECT i % 300, 'b' || (i % 300) FROM generate_series(1, 3000) AS i;
ANALYZE;
SQL
  create_dst rcp
  sluice clone --source "$(src_conn rcp)" --target "$(dst_conn rcp)" --jobs 2 --progress-interval 0 \
    || fail "clone exited with status $?"

  # many changes at the low end of t, two at its high end; 150 keyless rows gone
  psql_dst rcp >/dev/null <<'SQL' || fail "could not change the target"
UPDATE t SET v = v || '!' WHERE id <= 500;
DELETE FROM t WHERE id IN (39990, 39995);
DELETE FROM nk WHERE ctid IN (SELECT ctid FROM nk WHERE a < 50);
SQL
  status=0
  sluice verify --source "$(src_conn rcp)" --target "$(dst_conn rcp)" --jobs 2 --chunk-size 512kB \
    --progress-interval 0 --max-diffs 100 --repair || status=$?
  [ "$status" -eq 1 ] || fail "verify --repair exited with status $status (want 1: the keyless table is left)"
  grep -q "^re-copied: table public.t chunk 1 " "$case_dir/out" || fail "the chunk with 500 changes was not re-copied"
  grep -q "^repaired: table public.t chunk .*: 0 rows deleted, 2 copied in" "$case_dir/out" \
    || fail "the chunk with two missing rows was not repaired row by row"
  grep -q "^not repaired: table public.nk chunk 1 (whole table): .*--repair-whole-tables" "$case_dir/out" \
    || fail "the keyless table is not named as left, with the option that repairs it"
  COMPARE_ONLY='^public\.t$' expect_identical rcp rcp

  sluice verify --source "$(src_conn rcp)" --target "$(dst_conn rcp)" --jobs 2 --progress-interval 0 \
    --max-diffs 100 --repair --repair-whole-tables || fail "verify --repair --repair-whole-tables exited with status $?"
  grep -q "^re-copied: table public.nk chunk 1 (whole table)" "$case_dir/out" || fail "the keyless table was not re-copied"
  expect_identical rcp rcp

  # clone --verify --repair: a trigger of the target's own changes one row once as it is loaded
  psql_src postgres -c "DROP DATABASE IF EXISTS rcp_clone" -c "CREATE DATABASE rcp_clone" >/dev/null
  "$pg_dump_bin" -d "$(src_conn rcp)" | psql_src rcp_clone >/dev/null || fail "could not copy the source"
  schema_copy rcp_clone rcp_clone
  psql_dst rcp_clone >/dev/null <<'SQL' || fail "could not make the trigger"
CREATE TABLE public.fired (once int);
CREATE FUNCTION public.change_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 7 AND NOT EXISTS (SELECT 1 FROM public.fired) THEN
    INSERT INTO public.fired VALUES (1);
    NEW.v := 'changed by the target';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER change_once BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.change_once();
ALTER TABLE public.t ENABLE ALWAYS TRIGGER change_once;
SQL
  sluice clone --source "$(src_conn rcp_clone)" --target "$(dst_conn rcp_clone)" --data-only --table public.t \
    --jobs 2 --progress-interval 0 --verify --repair || fail "clone --verify --repair exited with status $?"
  grep -q "changed: (id)=(7): column v: v7 on the source, changed by the target on the target" "$case_dir/out" \
    || fail "the clone's verify did not name the row the trigger changed"
  grep -q "^repaired: table public.t chunk" "$case_dir/out" || fail "the clone did not repair the row"
  [ "$(psql_dst rcp_clone -c "SELECT v FROM t WHERE id = 7")" = v7 ] || fail "the row is not the source's"
  COMPARE_ONLY='^public\.t$' expect_identical rcp_clone rcp_clone

  psql_src postgres -c "DROP DATABASE rcp" -c "DROP DATABASE rcp_clone" >/dev/null
  psql_dst postgres -c "DROP DATABASE rcp" -c "DROP DATABASE rcp_clone" >/dev/null
}
