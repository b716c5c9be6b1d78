# clone --all-databases: roles first, then each chosen database with its properties, owners, grants and large objects
# timeout: 300

# globals SIDE: the roles, memberships and settings of the cl_ roles, and the cl_ databases' properties.
globals() {
  "psql_$1" postgres -c "
    SELECT 'role', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit,
           rolvaliduntil, rolreplication, rolbypassrls, rolpassword, shobj_description(oid, 'pg_authid')
    FROM pg_authid WHERE rolname LIKE 'cl\\_%' ORDER BY 2;
    SELECT 'member', r.rolname, m.rolname, a.admin_option FROM pg_auth_members a
      JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
    WHERE m.rolname LIKE 'cl\\_%' ORDER BY 2, 3;
    SELECT 'setting', coalesce(r.rolname, '-'), coalesce(d.datname, '-'), s.setconfig FROM pg_db_role_setting s
      LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
    WHERE coalesce(r.rolname, d.datname) LIKE 'cl\\_%' ORDER BY 2, 3;
    SELECT 'database', datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype,
           datconnlimit, datacl, shobj_description(oid, 'pg_database')
    FROM pg_database WHERE datname LIKE 'cl\\_%' AND datname <> 'cl_skip' ORDER BY 2"
}

# lo_state SIDE DB: the large objects of DB with owner, ACL, comment and contents' md5.
lo_state() {
  "psql_$1" "$2" -c "SELECT m.oid, pg_get_userbyid(m.lomowner), m.lomacl, obj_description(m.oid, 'pg_largeobject'),
                            md5(lo_get(m.oid)) FROM pg_largeobject_metadata m ORDER BY 1"
}

# drop_cluster_objects SIDE: the cl_ databases and roles, as a run before this one may have left them.
drop_cluster_objects() {
  local db
  for db in $("psql_$1" postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'cl\\_%'"); do
    "psql_$1" postgres -c "DROP DATABASE \"$db\"" >/dev/null || fail "could not drop $db"
  done
  "psql_$1" postgres >/dev/null <<'SQL' || fail "could not drop the cl_ roles"
DROP ROLE IF EXISTS cl_accounts_app; DROP ROLE IF EXISTS cl_reader; DROP ROLE IF EXISTS "cl owner";
SQL
}

case_main() {   # --all-databases with patterns: roles, databases and their properties, tables, large objects
  drop_cluster_objects src
  drop_cluster_objects dst
  psql_src postgres >/dev/null <<'SQL' || fail "could not make the source's roles and databases"
CREATE ROLE cl_accounts_app LOGIN PASSWORD 'app secret' CONNECTION LIMIT 5 VALID UNTIL '2031-01-01 00:00:00+00';
CREATE ROLE cl_reader NOLOGIN;
CREATE ROLE "cl owner" CREATEDB NOINHERIT;
COMMENT ON ROLE cl_reader IS 'reads the accounts';
GRANT cl_reader TO cl_accounts_app WITH ADMIN OPTION;
GRANT "cl owner" TO cl_reader;
ALTER ROLE cl_accounts_app SET search_path = "$user", public, 'with space';
ALTER ROLE cl_reader SET statement_timeout = '30s';
CREATE DATABASE cl_accounts OWNER "cl owner" CONNECTION LIMIT 20;
CREATE DATABASE cl_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE cl_files;
CREATE DATABASE cl_skip;
COMMENT ON DATABASE cl_accounts IS 'accounts; the ''main'' one';
REVOKE CONNECT, TEMPORARY ON DATABASE cl_accounts FROM PUBLIC;
GRANT CONNECT ON DATABASE cl_accounts TO cl_reader;
GRANT CREATE ON DATABASE cl_accounts TO cl_accounts_app WITH GRANT OPTION;
ALTER DATABASE cl_accounts SET work_mem = '8MB';
ALTER ROLE cl_accounts_app IN DATABASE cl_accounts SET maintenance_work_mem = '64MB';
SQL
  psql_src cl_accounts >/dev/null <<'SQL' || fail "could not fill cl_accounts"
SET ROLE "cl owner";
CREATE SCHEMA app;
CREATE TABLE app.account (id bigserial PRIMARY KEY, name text NOT NULL, balance numeric(12, 2));
INSERT INTO app.account (name, balance) SELECT 'acct ' || i, i * 1.25 FROM generate_series(1, 30000) AS i;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO cl_reader;
CREATE TABLE app.ledger (account bigint REFERENCES app.account, amount numeric);
INSERT INTO app.ledger SELECT i % 100 + 1, i FROM generate_series(1, 5000) AS i;
GRANT SELECT ON app.account TO cl_reader;
SQL
  psql_src cl_latin1 >/dev/null <<'SQL' || fail "could not fill cl_latin1"
CREATE TABLE words (id int PRIMARY KEY, w text);
INSERT INTO words VALUES (1, convert_from('\xe974e9'::bytea, 'LATIN1')), (2, 'plain');
SQL
  psql_src cl_files >/dev/null <<'SQL' || fail "could not fill cl_files"
CREATE TABLE file (id int PRIMARY KEY, body oid);
INSERT INTO file SELECT i, lo_from_bytea(81000 + i, decode(repeat(md5(i::text), 50 * i), 'hex')) FROM generate_series(1, 12) i;
ALTER LARGE OBJECT 81001 OWNER TO cl_reader;
GRANT SELECT ON LARGE OBJECT 81002 TO cl_accounts_app;
COMMENT ON LARGE OBJECT 81003 IS 'third';
SQL
  psql_src cl_skip -c "CREATE TABLE left_out (id int)" >/dev/null || fail "could not fill cl_skip"

  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'cl_*' --exclude-database cl_skip --jobs 2 --chunk-size 1MB --json "$case_dir/cluster.json" \
    || fail "clone --all-databases exited with status $? (want 0)"
  # (roles are the cluster's: those other cases made on the source come too)
  grep -q '^roles: created .*cl owner, cl_accounts_app, cl_reader' "$case_dir/out" \
    || fail "the summary does not name the 3 roles created"
  grep -q '^cluster: 3 of 3 databases done' "$case_dir/out" || fail "the summary does not say 3 of 3 done"

  globals src >"$case_dir/globals.src" || fail "could not read the source's globals"
  globals dst >"$case_dir/globals.dst" || fail "could not read the target's globals"
  diff "$case_dir/globals.src" "$case_dir/globals.dst" || fail "roles, memberships, settings or databases differ"
  grep -q '^database|cl_latin1|postgres|LATIN1|C|C' "$case_dir/globals.dst" || fail "cl_latin1 is not LATIN1 with locale C"
  [ "$(psql_dst postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'cl_skip'")" = 0 ] \
    || fail "the excluded database is on the target"
  expect_identical cl_accounts cl_accounts
  expect_identical cl_latin1 cl_latin1
  expect_identical cl_files cl_files
  [ "$(psql_dst cl_accounts -c "SELECT defaclacl FROM pg_default_acl")" = "$(psql_src cl_accounts -c "SELECT defaclacl FROM pg_default_acl")" ] \
    || fail "the default privileges differ"
  [ "$(psql_dst cl_accounts -c "SELECT relacl FROM pg_class WHERE relname = 'account'")" = \
    "$(psql_src cl_accounts -c "SELECT relacl FROM pg_class WHERE relname = 'account'")" ] || fail "the table's grants differ"
  [ "$(psql_dst cl_accounts -c "SELECT last_value FROM app.account_id_seq")" = 30000 ] || fail "the sequence was not set"
  lo_state src cl_files >"$case_dir/lo.src" && lo_state dst cl_files >"$case_dir/lo.dst" \
    || fail "could not read the large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.dst" || fail "the large objects differ"
  "$python" - "$case_dir/cluster.json" <<'EOF' || fail "the JSON report does not name every database as done"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "done" and r["failed"] == 0, r
names = sorted(d["name"] for d in r["databases"])
assert names == ["cl_accounts", "cl_files", "cl_latin1"], names
assert all(d["status"] == "done" and d["error"] is None and d["created"] for d in r["databases"]), r["databases"]
acc = [d for d in r["databases"] if d["name"] == "cl_accounts"][0]
assert acc["rows"] == 35000 and acc["tables"] == 2, acc
assert {"cl owner", "cl_accounts_app", "cl_reader"} <= set(r["roles"]["created"]), r["roles"]
assert "postgres" in r["roles"]["existing"], r["roles"]
EOF

  echo "== a second run: the databases hold the source's tables, so nothing is written"
  psql_dst cl_files -c "SELECT count(*) FROM pg_largeobject_metadata" >"$case_dir/lo.before" || fail "could not count"
  status=0
  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'cl_*' --exclude-database cl_skip || status=$?
  [ "$status" -eq 4 ] || fail "a second --all-databases run exited with status $status (want 4)"
  grep -q 'databases on the target already hold the source.s tables: "cl_accounts" holds' "$case_dir/err" \
    || fail "the refusal does not name the database in the way"
  grep -q 'hint: .*--exclude-database' "$case_dir/err" || fail "the refusal gives no fix"

  echo "== --database-map lands a database under a new name, owned by the target's user with --no-owner"
  status=0
  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database cl_latin1 --database-map cl_latin1=cl_latin1_moved --no-owner --no-roles || status=$?
  [ "$status" -eq 0 ] || fail "clone --database-map exited with status $status (want 0)"
  expect_identical cl_latin1 cl_latin1_moved
  [ "$(psql_dst postgres -c "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'cl_latin1_moved'")" = LATIN1 ] \
    || fail "the mapped database is not LATIN1"
  status=0
  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database cl_latin1 --database-map cl_nothere=x || status=$?
  [ "$status" -eq 2 ] || fail "a map of a database not chosen exited with status $status (want 2)"
  grep -q 'cl_nothere=x' "$case_dir/err" || fail "the error does not name the map"

  echo "== killed in the middle (SIGKILL to every process of it), then resumed: identical"
  drop_cluster_objects dst
  echo "+ pgsluice clone --all-databases --max-rate 256kB & (killed)"
  setsid "$bin" clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'cl_*' --exclude-database cl_skip --jobs 2 --chunk-size 256kB --split-all --max-rate 256kB \
    --progress-interval 0 >"$case_dir/killed.out" 2>"$case_dir/killed.err" &
  clone_pid=$!
  wait_for cl_accounts "SELECT count(*) > 0 FROM pgsluice.chunk WHERE status = 'done'"
  kill -KILL -- "-$clone_pid"
  wait "$clone_pid" 2>/dev/null || true
  cat "$case_dir/killed.err"
  [ "$(psql_dst cl_accounts -c "SELECT count(*) FILTER (WHERE status <> 'done') > 0 FROM pgsluice.chunk")" = t ] \
    || fail "the killed run had no chunk of cl_accounts left to do"
  sluice clone --source "$(src_conn postgres)" --target "$(dst_conn postgres)" --all-databases \
    --database 'cl_*' --exclude-database cl_skip --jobs 2 --resume last --json "$case_dir/resumed.json" \
    || fail "clone --all-databases --resume last exited with status $? (want 0)"
  grep -q 'database "cl_accounts": going on with its run' "$case_dir/err" || fail "cl_accounts did not go on with its run"
  expect_identical cl_accounts cl_accounts
  expect_identical cl_latin1 cl_latin1
  expect_identical cl_files cl_files
  lo_state dst cl_files >"$case_dir/lo.resumed" || fail "could not read the large objects"
  diff "$case_dir/lo.src" "$case_dir/lo.resumed" || fail "the large objects differ after the resume"
  globals dst >"$case_dir/globals.resumed" || fail "could not read the target's globals"
  diff "$case_dir/globals.src" "$case_dir/globals.resumed" || fail "globals differ after the resume"
  "$python" - "$case_dir/resumed.json" <<'EOF' || fail "the resumed run's JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "done", r
d = {x["name"]: x for x in r["databases"]}
assert d["cl_accounts"]["resumed_run"] > 0 and d["cl_accounts"]["status"] == "done", d["cl_accounts"]
assert all(x["status"] == "done" for x in d.values()), d
EOF
  drop_cluster_objects dst
}
