# dump and restore --all-databases: roles, properties and contents through a directory; refusals; a resume
# timeout: 300

# roles_and_databases SIDE: the vf_ roles, memberships, settings and databases' properties.
roles_and_databases() {
  "psql_$1" postgres -c "
    SELECT rolname, rolcanlogin, rolconnlimit, rolvaliduntil, rolpassword, shobj_description(oid, 'pg_authid')
    FROM pg_authid WHERE rolname LIKE 'vf%' ORDER BY 1;
    SELECT r.rolname, m.rolname, a.admin_option FROM pg_auth_members a
      JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE m.rolname LIKE 'vf%' ORDER BY 1, 2;
    SELECT coalesce(r.rolname, '-'), coalesce(d.datname, '-'), s.setconfig FROM pg_db_role_setting s
      LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
    WHERE coalesce(r.rolname, d.datname) LIKE 'vf%' ORDER BY 1, 2;
    SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datconnlimit, datacl,
           shobj_description(oid, 'pg_database')
    FROM pg_database WHERE datname LIKE 'vf%' AND datname <> 'vf_skip' ORDER BY 1"
}

# large_objects SIDE DB: the large objects of DB with owner, ACL and contents' md5.
large_objects() {
  "psql_$1" "$2" -c "SELECT oid, pg_get_userbyid(lomowner), lomacl, md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY 1"
}

case_main() {
  local dump=$case_dir/dump
  own_cluster_pair
  small_cluster_shape

  sluice dump --source "$(src_conn postgres)" --all-databases --exclude-database vf_skip --dir "$dump" \
    --jobs 2 --chunk-size 256kB --json "$case_dir/dump.json" || fail "dump --all-databases exited with status $?"
  grep -q '^cluster: 3 of 3 databases done' "$case_dir/out" || fail "the summary does not say 3 of 3 done"
  [ "$(stat -c %a "$dump/cluster.json")" = 600 ] || fail "cluster.json is not mode 0600"
  for d in db-0001 db-0002 db-0003; do
    [ -f "$dump/$d/manifest.json" ] || fail "$d has no manifest"
  done
  "$python" - "$dump/cluster.json" "$case_dir/dump.json" <<'PY' || fail "cluster.json or the report is wrong"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["format"] == "pgsluice cluster dump" and m["roles"]["passwords"], m.keys()
assert sorted(r[0] for r in m["roles"]["roles"]) == ["postgres", "vf owner", "vf_app"], m["roles"]["roles"]
d = {x["name"]: x for x in m["databases"]}
assert sorted(d) == ["postgres", "vf_files", "vf_main"] and all(x["status"] == "done" for x in d.values()), d
assert d["vf_main"]["properties"][0][0] == "vf owner" and d["vf_main"]["properties"][0][8] == "the main one", d["vf_main"]
r = json.load(open(sys.argv[2]))
assert r["status"] == "done" and all(x["status"] == "done" for x in r["databases"]), r
PY

  echo "== refused: a cluster dump without --all-databases, a damaged cluster.json; nothing written"
  status=0
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" || status=$?
  [ "$status" -eq 2 ] && grep -q 'restore it with --all-databases' "$case_dir/err" \
    || fail "a cluster dump restored without --all-databases: status $status, or no reason"
  cp -r "$dump" "$case_dir/damaged"
  head -c 300 "$dump/cluster.json" >"$case_dir/damaged/cluster.json"
  status=0
  sluice restore --dir "$case_dir/damaged" --target "$(dst_conn postgres)" --all-databases || status=$?
  [ "$status" -eq 2 ] && grep -q 'cluster.json.* is not valid JSON' "$case_dir/err" \
    || fail "a damaged cluster.json: status $status, or it is not named"
  [ "$(psql_dst postgres -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'vf%'")" = 0 ] \
    || fail "a refused restore made roles"

  echo "== restored: identical, roles and properties equal"
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases --jobs 2 \
    --json "$case_dir/restore.json" || fail "restore --all-databases exited with status $?"
  grep -q '^roles: created 2 (vf owner, vf_app)' "$case_dir/out" || fail "the summary does not name the roles created"
  expect_identical vf_main vf_main
  expect_identical vf_files vf_files
  large_objects src vf_files >"$case_dir/lo.src" && large_objects dst vf_files >"$case_dir/lo.dst" \
    || fail "could not read the large objects"
  [ "$(wc -l <"$case_dir/lo.src")" = 8 ] && diff "$case_dir/lo.src" "$case_dir/lo.dst" || fail "the large objects differ"
  roles_and_databases src >"$case_dir/globals.src" && roles_and_databases dst >"$case_dir/globals.dst" \
    || fail "could not read the globals"
  diff "$case_dir/globals.src" "$case_dir/globals.dst" || fail "roles, memberships, settings or databases differ"
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip || fail "verify --all-databases after the restore exited with status $?"
  "$python" - "$case_dir/restore.json" <<'PY' || fail "the restore's JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in r["databases"]}
assert r["status"] == "done" and d["vf_main"]["created"] and not d["postgres"]["created"], d
assert d["vf_main"]["rows"] == 20003 and d["vf_main"]["run"] > 0, d["vf_main"]
PY

  echo "== again: the databases hold the dump's tables, so nothing is written"
  status=0
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases || status=$?
  [ "$status" -eq 4 ] && grep -q 'already hold tables of the dump: "vf_main"' "$case_dir/err" \
    || fail "a second restore: status $status, or the database in the way is not named"

  echo "== --database-map lands one under a new name"
  psql_dst postgres -c "DROP DATABASE vf_files" >/dev/null || fail "could not drop vf_files"
  status=0
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases --no-roles \
    --database-map vf_main=vf_moved --database-map postgres=vf_postgres || status=$?
  [ "$status" -eq 0 ] || fail "restore --database-map exited with status $status"
  expect_identical vf_main vf_moved
  expect_identical vf_files vf_files

  echo "== killed in the middle, then resumed with --resume last: identical"
  for db in vf_main vf_moved vf_files vf_postgres; do
    psql_dst postgres -c "DROP DATABASE $db" >/dev/null || fail "could not drop $db"
  done
  echo "+ pgsluice restore --all-databases --max-rate 64kB & (killed)"
  setsid "$bin" restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases --no-roles --jobs 1 \
    --max-rate 64kB --progress-interval 0 >"$case_dir/killed.out" 2>"$case_dir/killed.err" &
  clone_pid=$!
  wait_for vf_main "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null || true
  sluice status --target "$(dst_conn postgres)" --all-databases --database 'vf_*' --json "$case_dir/status.json" \
    || fail "status --all-databases exited with status $?"
  "$python" - "$case_dir/status.json" <<'PY' || fail "status --all-databases does not show vf_main's run cut short"
import json, sys
d = {x["name"]: x for x in json.load(open(sys.argv[1]))["databases"]}
assert d["vf_main"]["recorded"] and d["vf_main"]["run"] > 0, d
assert 0 < d["vf_main"]["done"] < d["vf_main"]["chunks"], d["vf_main"]
PY
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases --no-roles --resume last \
    || fail "restore --all-databases --resume last exited with status $?"
  grep -q 'database "vf_main": going on with its run' "$case_dir/err" || fail "vf_main did not go on with its run"
  expect_identical vf_main vf_main
  expect_identical vf_files vf_files
  large_objects dst vf_files >"$case_dir/lo.resumed" || fail "could not read the large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.resumed" || fail "the large objects differ after the resume"

  echo "== status and cleanup --all-databases of runs that kept their record"
  sluice restore --dir "$dump" --target "$(dst_conn postgres)" --all-databases --no-roles --keep-record \
    --database-map vf_main=vk_main --database-map vf_files=vk_files --database-map postgres=vk_postgres \
    || fail "restore --keep-record exited with status $?"
  sluice status --target "$(dst_conn postgres)" --all-databases --database 'vk_*' || fail "status exited with $?"
  for db in vk_main vk_files vk_postgres; do
    grep -q "^$db  *1  done " "$case_dir/out" || fail "status does not show $db's run 1 as done"
  done
  sluice cleanup --target "$(dst_conn postgres)" --all-databases --database 'vk_*' || fail "cleanup exited with $?"
  grep -q 'database "vk_main": run 1 removed, and the state schema with it' "$case_dir/err" \
    || fail "cleanup does not say what it removed"
  [ "$(psql_dst vk_main -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the state schema is still in vk_main"
  sluice status --target "$(dst_conn postgres)" --all-databases --database 'vk_*' || fail "status exited with $?"
  grep -q '^vk_main .*no record' "$case_dir/out" || fail "status still shows a record in vk_main"
  sluice worker --target "$(dst_conn postgres)" --all-databases \
    || fail "worker --all-databases with no run running exited with status $?"
  grep -q 'this worker copied 0 chunks of 0 runs' "$case_dir/err" \
    || fail "worker --all-databases does not say it found nothing to join"
}
