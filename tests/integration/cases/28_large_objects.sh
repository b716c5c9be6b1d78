# large objects are data: cloned, dumped and restored with owner, ACL and comment; a changed byte is found
# timeout: 300

# lo_state SIDE DB: every large object of DB as "oid owner acl comment md5", one per line.
lo_state() {
  "psql_$1" "$2" -c "SELECT m.oid || ' ' || pg_get_userbyid(m.lomowner) || ' ' || coalesce(m.lomacl::text, '-')
                       || ' ' || coalesce(obj_description(m.oid, 'pg_largeobject'), '-') || ' ' || md5(lo_get(m.oid))
                     FROM pg_largeobject_metadata m ORDER BY m.oid"
}

case_main() {   # large objects: copied in OID ranges, with their metadata; verify names a changed one
  psql_src postgres -c "DROP DATABASE IF EXISTS lo_src" -c "CREATE DATABASE lo_src" >/dev/null \
    || fail "could not create lo_src"
  psql_dst postgres >/dev/null <<'SQL' || fail "could not create the roles on the target"
DROP ROLE IF EXISTS lo_owner; DROP ROLE IF EXISTS "lo reader";
CREATE ROLE lo_owner; CREATE ROLE "lo reader";
SQL
  psql_src lo_src >/dev/null <<'SQL' || fail "could not fill lo_src"
DROP ROLE IF EXISTS lo_owner; DROP ROLE IF EXISTS "lo reader";
CREATE ROLE lo_owner; CREATE ROLE "lo reader";
CREATE TABLE doc (id int PRIMARY KEY, body oid);
-- 40 objects of 2.5 to 100 kB, an empty one, one of 3 MB, none compressible; OIDs chosen
INSERT INTO doc SELECT i, lo_from_bytea(70000 + i, (SELECT decode(string_agg(md5(i || '-' || j), ''), 'hex')
                                                    FROM generate_series(1, i * 160) AS j))
  FROM generate_series(1, 40) AS i;
SELECT lo_from_bytea(70100, '');
SELECT lo_from_bytea(70200, (SELECT decode(string_agg(md5('big' || j), ''), 'hex')
                             FROM generate_series(1, 200000) AS j));
ALTER LARGE OBJECT 70001 OWNER TO lo_owner;
ALTER LARGE OBJECT 70002 OWNER TO lo_owner;
GRANT SELECT ON LARGE OBJECT 70002 TO "lo reader";
GRANT SELECT, UPDATE ON LARGE OBJECT 70003 TO PUBLIC;
REVOKE ALL ON LARGE OBJECT 70004 FROM postgres;
COMMENT ON LARGE OBJECT 70001 IS 'the first; with a ''quote''
and a second line';
SQL
  lo_state src lo_src >"$case_dir/lo.src" || fail "could not read the source's large objects"

  echo "== clone: the objects as chunks of OID ranges, their metadata in the schema step"
  create_dst lo_dst
  sluice clone --source "$(src_conn lo_src)" --target "$(dst_conn lo_dst)" --jobs 2 --chunk-size 1MB \
    --split-all --json "$case_dir/clone.json" || fail "pgsluice clone exited with status $? (want 0)"
  grep -q 'large objects created' "$case_dir/err" || fail "the clone did not say it created the large objects"
  if grep -qi 'not copied' "$case_dir/err"; then fail "the clone still says large objects are not copied"; fi
  lo_state dst lo_dst >"$case_dir/lo.dst" || fail "could not read the target's large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.dst" || fail "the target's large objects differ from the source's"
  [ "$(psql_dst lo_dst -c "SELECT count(*) FROM pg_largeobject_metadata")" = 42 ] \
    || fail "the target does not hold 42 large objects"
  "$python" - "$case_dir/clone.json" <<'EOF' || fail "the JSON report does not list the large objects' chunks"
import json, sys
r = json.load(open(sys.argv[1]))
t = [x for x in r["tables"] if x["name"] == "pg_catalog.pg_largeobject_metadata"]
assert len(t) == 1 and t[0]["rows"] == 42 and len(t[0]["chunks"]) > 1, t
EOF
  [ "$(psql_dst lo_dst -c "SELECT count(*) FROM pg_class WHERE relname = 'pgsluice_large_objects'")" = 0 ] \
    || fail "the load table outlived the clone's sessions"

  echo "== verify: identical, then one byte of one object changed on the target"
  sluice verify --source "$(src_conn lo_src)" --target "$(dst_conn lo_dst)" --jobs 2 --chunk-size 1MB \
    || fail "verify of the clone exited with status $? (want 0)"
  psql_dst lo_dst -c "SELECT lo_put(70017, 1000, '\\x00')" >/dev/null || fail "could not change object 70017"
  status=0
  sluice verify --source "$(src_conn lo_src)" --target "$(dst_conn lo_dst)" --jobs 2 --chunk-size 1MB || status=$?
  [ "$status" -eq 1 ] || fail "verify of a changed large object exited with status $status (want 1)"
  grep -q 'pg_catalog.pg_largeobject_metadata' "$case_dir/out" || fail "verify did not name the large objects"
  grep -qF '(oid)=(70017)' "$case_dir/out" || fail "verify did not name object 70017"

  echo "== data-only into a target that holds large objects: refused, then replaced with --truncate"
  status=0
  sluice clone --source "$(src_conn lo_src)" --target "$(dst_conn lo_dst)" --data-only || status=$?
  [ "$status" -ne 0 ] || fail "a data-only clone over the target's large objects exited 0"
  grep -q 'pg_largeobject_metadata' "$case_dir/err" || fail "the refusal does not name the large objects"
  psql_dst lo_dst -c "SELECT lo_from_bytea(79999, 'only on the target')" >/dev/null || fail "could not add 79999"
  sluice clone --source "$(src_conn lo_src)" --target "$(dst_conn lo_dst)" --data-only --truncate \
    || fail "clone --data-only --truncate exited with status $? (want 0)"
  lo_state dst lo_dst >"$case_dir/lo.dst2" || fail "could not read the target's large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.dst2" || fail "after --truncate the target's large objects differ"

  echo "== dump and restore: the metadata in the dump, the contents in its chunk files"
  rm -rf "$case_dir/dump"
  sluice dump --source "$(src_conn lo_src)" --dir "$case_dir/dump" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice dump exited with status $? (want 0)"
  [ -f "$case_dir/dump/large-objects.sql" ] || fail "the dump has no large-objects.sql"
  [ "$(stat -c %a "$case_dir/dump/large-objects.sql")" = 600 ] || fail "large-objects.sql is not mode 0600"
  create_dst lo_restored
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn lo_restored)" --jobs 2 \
    || fail "pgsluice restore exited with status $? (want 0)"
  lo_state dst lo_restored >"$case_dir/lo.restored" || fail "could not read the restored large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.restored" || fail "the restored large objects differ from the source's"

  echo "== a damaged metadata file is refused by name, and nothing is half made"
  create_dst lo_damaged
  printf 'lo 12 x\n' >>"$case_dir/dump/large-objects.sql"
  status=0
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn lo_damaged)" || status=$?
  [ "$status" -ne 0 ] || fail "restore of a damaged large-objects.sql exited 0"
  grep -q 'large-objects.sql.* is not a large object metadata file' "$case_dir/err" \
    || fail "the error does not name the damaged file"
  [ "$(psql_dst lo_damaged -c "SELECT count(*) FROM pg_largeobject_metadata")" = 0 ] \
    || fail "the damaged file left large objects behind"

  echo "== --table leaves them out, as pg_dump does"
  create_dst lo_table
  sluice clone --source "$(src_conn lo_src)" --target "$(dst_conn lo_table)" --table public.doc \
    || fail "clone --table exited with status $? (want 0)"
  [ "$(psql_dst lo_table -c "SELECT count(*) FROM pg_largeobject_metadata")" = 0 ] \
    || fail "clone --table copied the large objects"
}
