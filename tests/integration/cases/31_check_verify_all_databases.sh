# check and verify --all-databases: roles, each database's properties and contents; every kind of change named
# timeout: 300

case_main() {   # on two clusters of its own, so that the roles are exactly the case's
  own_cluster_pair
  small_cluster_shape

  echo "== check --all-databases before the clone: nothing in the way, the roles step and new databases said"
  status=0
  sluice check --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip --jobs 2 --json "$case_dir/check.json" || status=$?
  [ "$status" -le 1 ] || fail "check --all-databases of an empty target exited with status $status (want 0 or 1)"
  grep -q 'the roles step creates 2 of the source.s 3 roles' "$case_dir/out" || fail "the roles step is not said"
  grep -q 'database vf_main: database "vf_main" is not on the target: the run creates it' "$case_dir/out" \
    || fail "vf_main is not said to be created"
  grep -q '^note .*the roles step creates 2 .*: vf owner, vf_app \[roles_create\]' "$case_dir/out" \
    || fail "the roles to create are not named in a note"
  "$python" - "$case_dir/check.json" <<'PY' || fail "the JSON check report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
f = r["findings"]
assert r["blockers"] == 0, [x for x in f if x["severity"] == "blocker"]
assert any(x["code"] == "databases" and "vf_main" in x["message"] for x in f), f
assert {x.get("database") for x in f} >= {None, "vf_main", "vf_files"}, f
# a server's own findings are given once, for the run
assert len([x for x in f if x["code"] == "tools"]) <= 1, [x for x in f if x["code"] == "tools"]
PY

  echo "== plan --all-databases: each database's chunks, as the clone takes them"
  sluice plan --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip --jobs 2 --chunk-size 256kB --json "$case_dir/plan.json" \
    || fail "plan --all-databases exited with status $?"
  grep -q '^estimate with --jobs 2 and 3 databases at once' "$case_dir/out" || fail "plan gives no cluster estimate"
  "$python" - "$case_dir/plan.json" <<'PY' || fail "the JSON plan is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in r["databases"]}
assert r["status"] == "planned" and sorted(d) == ["postgres", "vf_files", "vf_main"], r
assert sorted(t["name"] for t in d["vf_main"]["tables"]) == ["public.account", "public.note"], d["vf_main"]["tables"]
assert [t["name"] for t in d["vf_files"]["tables"]] == ["pg_catalog.pg_largeobject_metadata"], d["vf_files"]["tables"]
assert sum(len(t["chunks"]) for t in d["vf_main"]["tables"]) == 5, d["vf_main"]["tables"]
PY

  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip --jobs 2 --chunk-size 256kB --json "$case_dir/clone.json" \
    --metrics-file "$case_dir/cluster.prom" || fail "clone --all-databases exited with status $?"
  for want in 'pgsluice_rows_total{command="clone",database="vf_main"} 20003' \
              'pgsluice_rows_total{command="clone",database="vf_files"} 8' \
              'pgsluice_chunks_done_total{command="clone",database="vf_main"} 5' \
              'pgsluice_chunks_in_flight{command="clone",database="vf_main"} 0' \
              'pgsluice_bytes_per_second{command="clone"} '; do
    grep -qF "$want" "$case_dir/cluster.prom" || fail "the metrics lack: $want"
  done
  "$python" - "$case_dir/plan.json" "$case_dir/clone.json" <<'PY' || fail "the clone did not take the planned chunks"
import json, sys
plan = {x["name"]: x for x in json.load(open(sys.argv[1]))["databases"]}
done = {x["name"]: x for x in json.load(open(sys.argv[2]))["databases"]}
assert done["vf_main"]["tables"] == len(plan["vf_main"]["tables"]), (done["vf_main"], plan["vf_main"]["tables"])
PY

  echo "== as many databases at once as the servers' connection slots hold"
  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases --no-roles \
    --database 'vf_*' --exclude-database vf_skip --database-map vf_main=vc_main --database-map vf_files=vc_files \
    --jobs 60 --database-jobs 2 || fail "clone --jobs 60 exited with status $?"
  grep -q 'cluster: 1 databases at once, not 2: the source has [0-9]* free connection slots, and each database takes up to 62' \
    "$case_dir/err" || fail "the run did not hold itself to the connection slots"
  expect_identical vf_main vc_main
  psql_dst postgres -c "DROP DATABASE vc_main" -c "DROP DATABASE vc_files" >/dev/null || fail "could not drop vc_"

  echo "== a worker joins a cluster run from elsewhere, database by database"
  echo "+ pgsluice clone --all-databases --max-rate 128kB &"
  "$bin" clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases --no-roles \
    --database 'vf_*' --exclude-database vf_skip --database-map vf_main=vw_main --database-map vf_files=vw_files \
    --jobs 1 --chunk-size 64kB --split-all --max-rate 128kB --progress-interval 0 \
    >"$case_dir/first.out" 2>"$case_dir/first.err" &
  clone_pid=$!
  wait_for vw_main "SELECT to_regclass('pgsluice.chunk') IS NOT NULL AND EXISTS (SELECT FROM pgsluice.chunk WHERE status = 'done')"
  sluice worker --target "$(dst_conn postgres)" --all-databases --database 'vw_*' --jobs 1 \
    || fail "worker --all-databases exited with status $?"
  wait "$clone_pid" || { cat "$case_dir/first.err"; fail "the cluster run exited with status $?"; }
  grep -q 'cluster: this worker copied [1-9][0-9]* chunks of [1-9] runs' "$case_dir/err" \
    || fail "the worker copied no chunk"
  expect_identical vf_main vw_main
  psql_dst postgres -c "DROP DATABASE vw_main" -c "DROP DATABASE vw_files" >/dev/null || fail "could not drop vw_"

  echo "== check --all-databases after it: the databases hold the tables"
  status=0
  sluice check --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip || status=$?
  [ "$status" -eq 2 ] || fail "check --all-databases of a full target exited with status $status (want 2)"
  grep -q '^blocker .*database vf_main: 2 of the source.s tables exist on the target already' "$case_dir/out" \
    || fail "the blocker does not name vf_main and its tables"

  echo "== the copy: identical"
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip --jobs 2 --chunk-size 256kB --json "$case_dir/same.json" \
    || fail "verify --all-databases of the copy exited with status $? (want 0)"
  grep -q '^verify: 3 databases and the roles checked in .*: identical$' "$case_dir/out" \
    || fail "the summary does not say 3 databases and the roles are identical"
  "$python" - "$case_dir/same.json" <<'PY' || fail "the JSON report of the copy is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "identical" and r["different"] == 0 and r["failed"] == 0, r
d = {x["name"]: x for x in r["databases"]}
assert sorted(d) == ["postgres", "vf_files", "vf_main"], sorted(d)
assert all(x["status"] == "done" and x["result"] == "identical" for x in d.values()), d
assert d["vf_main"]["verify"]["rows_source"] == 20003, d["vf_main"]["verify"]
assert r["roles"]["differences"] == [] and r["roles"]["passwords"], r["roles"]
PY

  echo "== one change of each kind on the target: each named, exit 1"
  psql_dst postgres >/dev/null <<'SQL' || fail "could not change the target's globals"
ALTER ROLE vf_app CONNECTION LIMIT 7;
ALTER ROLE vf_app PASSWORD 'other secret';
REVOKE "vf owner" FROM vf_app;
COMMENT ON DATABASE vf_main IS 'changed';
ALTER DATABASE vf_main RESET work_mem;
GRANT TEMPORARY ON DATABASE vf_main TO vf_app;
CREATE ROLE vf_target_own;
SQL
  psql_dst vf_main -c "UPDATE account SET name = 'changed' WHERE id = 777; DELETE FROM note WHERE ctid = (SELECT min(ctid) FROM note WHERE body = 'a')" \
    >/dev/null || fail "could not change vf_main's rows"
  psql_dst vf_files -c "SELECT lo_put(90005, 100, '\\x00')" >/dev/null || fail "could not change a large object"
  status=0
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --exclude-database vf_skip --jobs 2 --chunk-size 256kB --json "$case_dir/changed.json" || status=$?
  [ "$status" -eq 1 ] || fail "verify --all-databases of a changed copy exited with status $status (want 1)"
  for want in 'difference: role vf_app: .*CONNECTION LIMIT 5 .* on the source, .*CONNECTION LIMIT 7 ' \
              'difference: password of role vf_app: hash [0-9a-f]* on the source, hash [0-9a-f]* on the target' \
              'difference: membership of vf_app in "vf owner": missing on the target' \
              'difference: database "vf_main": comment: the main one on the source, changed on the target' \
              'difference: database "vf_main": settings: missing on the target (on the source: {work_mem=8MB})' \
              'difference: database "vf_main": privileges: .* on the source, .*vf_app=TEMPORARY' \
              'changed: (id)=(777)' \
              'missing on the target: .*a' \
              '(oid)=(90005)' \
              'note: role vf_target_own: on the target only' \
              '^vf_main .*different: 3 properties' \
              '^vf_files .*different: 0 properties, 0 tables. catalog entries, 1 chunks, 1 rows' \
              '^postgres .*identical'; do
    grep -q -- "$want" "$case_dir/out" || fail "the report does not say: $want"
  done
  if grep -q 'SCRAM-SHA-256' "$case_dir/out" "$case_dir/changed.json"; then fail "a password hash is in the report"; fi
  "$python" - "$case_dir/changed.json" <<'PY' || fail "the JSON report of the changed copy is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "different" and r["different"] == 2, (r["status"], r["different"])
d = {x["name"]: x for x in r["databases"]}
assert d["vf_main"]["result"] == "different" and len(d["vf_main"]["property_differences"]) == 3, d["vf_main"]
assert d["vf_files"]["result"] == "different" and d["vf_files"]["verify"]["rows_different"] == 1, d["vf_files"]
assert d["postgres"]["result"] == "identical", d["postgres"]
assert len(r["roles"]["differences"]) == 3 and any("vf_target_own" in n for n in r["roles"]["notes"]), r["roles"]
PY

  echo "== what the clone left out on purpose is not compared"
  status=0
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database vf_main --no-roles --no-privileges || status=$?
  [ "$status" -eq 1 ] || fail "verify --no-privileges exited with status $status (want 1: the comment still differs)"
  if grep -q 'privileges:' "$case_dir/out"; then fail "--no-privileges still compared the ACL"; fi
  if grep -q 'difference: role' "$case_dir/out"; then fail "--no-roles still compared the roles"; fi

  echo "== a database missing on the target differs; the others are still verified"
  psql_dst postgres -c "DROP DATABASE vf_files" >/dev/null || fail "could not drop vf_files"
  status=0
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'vf_*' --exclude-database vf_skip --no-roles --json "$case_dir/missing.json" || status=$?
  [ "$status" -eq 1 ] || fail "verify with a database missing exited with status $status (want 1)"
  grep -q '^vf_files .*different: missing on the target' "$case_dir/out" || fail "vf_files is not named missing"
  "$python" - "$case_dir/missing.json" <<'PY' || fail "the JSON report does not name the missing database"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in r["databases"]}
assert d["vf_files"]["result"] == "missing" and d["vf_main"]["result"] == "different", d
PY

  echo "== cluster options without --all-databases, and --snapshot with it, are bad usage"
  status=0
  sluice verify --source "$(src_conn vf_main)" --target "$(dst_conn vf_main)" --database vf_main || status=$?
  [ "$status" -eq 2 ] && grep -q 'go with --all-databases' "$case_dir/err" \
    || fail "--database without --all-databases: status $status, or no reason given"
  status=0
  sluice verify --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases --snapshot 1-1 || status=$?
  [ "$status" -eq 2 ] && grep -q 'does not take --snapshot' "$case_dir/err" \
    || fail "--snapshot with --all-databases: status $status, or no reason given"
}
