# a hostile schema's planted operators, functions and casts run in no session of plan, check, clone, verify, dump or restore

# hostile_schema DB: as an unprivileged owner "mallory", tables keyed by varchar, by a domain over
# bigint and by her own enum, and, in public (on every default search path), operators for
# exactly those key types, functions that shadow built-ins for them and a cast of her enum to
# text. Each planted function calls public.planted(), which, in a superuser's session, writes
# a file into $case_dir/trace naming itself: a trace that pgsluice ran code of the database.
hostile_schema() {
  local db=$1 conn
  mkdir -p "$case_dir/trace" && chmod 0777 "$case_dir/trace"
  psql_src postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS mallory" \
    -c "CREATE ROLE mallory LOGIN" -c "CREATE DATABASE $db OWNER mallory" || fail "could not create $db"
  psql_src "$db" -c "GRANT CREATE ON SCHEMA public TO mallory" || fail "could not open public to mallory"
  conn="$(src_conn "$db") user=mallory"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -v trace="$case_dir/trace" -d "$conn" \
    -f "$here/hostile.sql" >"$case_dir/hostile.log" 2>&1 \
    || { cat "$case_dir/hostile.log"; fail "could not plant the hostile schema"; }
  # the trap works: an ordinary superuser's query with the default search_path springs it
  psql_src "$db" -c "SELECT count(*) FROM public.by_varchar WHERE k >= 'key-003999'" \
    -c "SELECT quote_ident('x')" >/dev/null || fail "the planted objects could not be called by a superuser"
  ls "$case_dir/trace" | grep -q '^varchar_ge-' || fail "a superuser's call of the planted operator left no trace"
  ls "$case_dir/trace" | grep -q '^quote_ident_text-' \
    || fail "the database's search_path setting did not put the planted quote_ident first"
  rm -f "$case_dir/trace"/*
  psql_dst postgres -c "DROP ROLE IF EXISTS mallory" -c "CREATE ROLE mallory LOGIN" \
    || fail "could not create mallory on the target"
}

# no_trace WHAT: no planted function ran since the last call.
no_trace() {
  local left
  left=$(ls "$case_dir/trace")
  [ -z "$left" ] || fail "$1 ran code planted in the database: $(echo $left)"
  echo "no planted code ran during $1"
}

case_main() {   # a hostile schema's operators, functions and casts run in none of pgsluice's sessions
  local status=0 want
  hostile_schema hostile
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w" -c "CREATE DATABASE dst_w OWNER mallory" \
    || fail "could not create dst_w"
  # the owner of the target database puts public first there too, for what the restore plants
  "$psql_bin" -X -q -d "$(dst_conn dst_w) user=mallory" -c "ALTER DATABASE dst_w SET search_path = public, pg_catalog" \
    || fail "could not set dst_w's search_path"
  sluice plan --source "$(src_conn hostile)" --jobs 2 --chunk-size 64kB --split-all \
    || fail "pgsluice plan exited with status $?"
  grep -q 'by_varchar' "$case_dir/out" || fail "the plan does not list by_varchar"
  no_trace "plan"
  sluice check --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 || status=$?
  [ "$status" -le 1 ] || fail "pgsluice check exited with status $status"
  no_trace "check"
  sluice clone --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    --split-all --json "$case_dir/clone.json" || fail "pgsluice clone exited with status $?"
  no_trace "clone --split-all"
  "$python" - "$case_dir/clone.json" <<'EOF' || fail "the keyed tables were not copied in key ranges"
import json, sys
r = json.load(open(sys.argv[1]))
seen = 0
for t in r["tables"]:
    if t["name"] in ("public.by_varchar", "public.by_domain", "public.by_enum", "public.by_text_name",
                     "public.by_citext"):
        assert len(t["chunks"]) > 2, (t["name"], len(t["chunks"]))
        seen += 1
    if t["name"] == "public.by_citext":
        assert all("OPERATOR(public.>=)" in c["where"] or "OPERATOR(public.<)" in c["where"]
                   for c in t["chunks"] if c.get("where")), t["chunks"][:2]
assert seen == 5, seen
EOF
  expect_identical hostile dst_w
  # The planted objects are part of the schema, so the target has them too: the verify's
  # sessions must call them on neither side, in the chunk reads nor in the drill-down.
  sluice verify --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice verify exited with status $? (want 0)"
  no_trace "verify"
  psql_dst dst_w -c "UPDATE public.by_varchar SET v = 'changed' WHERE k = 'key-002500'" \
    -c "DELETE FROM public.by_domain WHERE k = 1500" \
    -c "UPDATE public.by_enum SET v = 'changed' WHERE n = 77" \
    -c "UPDATE public.by_text_name SET v = 'changed' WHERE k = 'name-9'" >/dev/null \
    || fail "could not change the target"
  rm -f "$case_dir/trace"/*
  status=0
  sluice verify --source "$(src_conn hostile)" --target "$(dst_conn dst_w)" --jobs 2 --chunk-size 64kB \
    || status=$?
  [ "$status" -eq 1 ] || fail "verify of a changed target exited with status $status (want 1)"
  for want in "changed: (k)=(key-002500)" "missing on the target: (k)=(1500)" \
              "changed: (m, n)=(ok, 77)" "changed: (k)=(name-9)"; do
    grep -qF -- "$want" "$case_dir/out" || fail "the report does not say \"$want\""
  done
  no_trace "verify's drill-down"
  sluice dump --source "$(src_conn hostile)" --dir "$case_dir/dump" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice dump exited with status $?"
  no_trace "dump"
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w2" -c "CREATE DATABASE dst_w2 OWNER mallory" \
    -c "ALTER DATABASE dst_w2 SET search_path = public, pg_catalog" || fail "could not create dst_w2"
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn dst_w2)" --jobs 2 \
    || fail "pgsluice restore exited with status $?"
  no_trace "restore"
  expect_identical hostile dst_w2

  # The owner of a target database makes the state schema before the first run, with a table
  # of the state's whose trigger would run planted code at pgsluice's first INSERT: refused.
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w3" -c "CREATE DATABASE dst_w3 OWNER mallory" \
    || fail "could not create dst_w3"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(dst_conn dst_w3) user=mallory" >/dev/null <<'EOF' \
    || fail "could not plant a state schema in dst_w3"
CREATE SCHEMA pgsluice;
CREATE TABLE pgsluice.pgsluice_state_version (version int NOT NULL);
INSERT INTO pgsluice.pgsluice_state_version VALUES (2);
CREATE TABLE pgsluice.run (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source_fingerprint text);
CREATE FUNCTION pgsluice.fire() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM public.planted('state_trigger');
  RETURN NEW;
END $f$;
CREATE TRIGGER fire BEFORE INSERT ON pgsluice.run FOR EACH ROW EXECUTE FUNCTION pgsluice.fire();
EOF
  status=0
  sluice clone --source "$(src_conn hostile)" --target "$(dst_conn dst_w3)" --jobs 2 || status=$?
  [ "$status" -eq 4 ] || fail "a clone into a state schema of the database's owner exited $status (want 4)"
  grep -q 'the schema "pgsluice" on the target belongs to role mallory' "$case_dir/err" \
    || fail "the refusal does not name the schema and its owner"
  [ "$(psql_dst dst_w3 -c "SELECT count(*) FROM pgsluice.run")" = 0 ] || fail "the planted run table got a row"
  # status, throttle and cleanup read such a record no more than a run does (a view of its owner's
  # in the place of a table would run her code)
  for cmd in "status" "cleanup --run last"; do
    status=0
    sluice $cmd --target "$(dst_conn dst_w3)" || status=$?
    [ "$status" -ne 0 ] && grep -q 'the schema "pgsluice" on the target belongs to role mallory' "$case_dir/err" \
      || fail "pgsluice $cmd read a state schema of the database's owner (exit $status)"
  done
  [ "$(psql_dst dst_w3 -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'public'")" = 0 ] || fail "the refused clone wrote into dst_w3"

  # A domain whose CHECK calls a function of its owner's: a cast to the domain runs it, so the
  # sessions that only read (plan, verify, dump) cast key boundaries to the base type. (Loading
  # such rows runs the CHECK on the target, as any load does: the copy here is the owner's.)
  psql_src postgres -c "DROP DATABASE IF EXISTS hostile_chk" -c "CREATE DATABASE hostile_chk OWNER mallory" \
    || fail "could not create hostile_chk"
  psql_dst postgres -c "DROP DATABASE IF EXISTS dst_w4" -c "CREATE DATABASE dst_w4 OWNER mallory" \
    || fail "could not create dst_w4"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(src_conn hostile_chk) user=mallory" >/dev/null <<EOF \
    || fail "could not plant the checked domain"
CREATE TABLE public.trace_dir (path text NOT NULL);
INSERT INTO public.trace_dir VALUES ('$case_dir/trace');
$(sed -n '/^CREATE FUNCTION public.planted/,/^END \$f\$;/p' "$here/hostile.sql")
CREATE FUNCTION public.dcheck(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
  AS \$f\$ BEGIN PERFORM public.planted('domain_check'); RETURN \$1 > -1000000; END \$f\$;
CREATE DOMAIN public.dchecked AS bigint CHECK (public.dcheck(VALUE));
CREATE DOMAIN public.dchecked2 AS public.dchecked;
CREATE TABLE public.by_checked (k public.dchecked2 PRIMARY KEY, v text);
INSERT INTO public.by_checked SELECT i, pg_catalog.repeat('c', 200) FROM pg_catalog.generate_series(1, 4000) i;
EOF
  "$pg_dump_bin" -d "$(src_conn hostile_chk)" --no-owner | "$psql_bin" -X -q -v ON_ERROR_STOP=1 \
    -d "$(dst_conn dst_w4) user=mallory" >/dev/null || fail "could not copy hostile_chk as its owner"
  rm -f "$case_dir/trace"/*
  sluice plan --source "$(src_conn hostile_chk)" --jobs 2 --chunk-size 64kB --split-all \
    || fail "pgsluice plan of hostile_chk exited with status $?"
  grep -q 'by_checked .* key ' "$case_dir/out" || fail "the plan does not split by_checked by its key"
  sluice verify --source "$(src_conn hostile_chk)" --target "$(dst_conn dst_w4)" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice verify of hostile_chk exited with status $? (want 0)"
  rm -rf "$case_dir/dump_chk"
  sluice dump --source "$(src_conn hostile_chk)" --dir "$case_dir/dump_chk" --jobs 2 --chunk-size 64kB \
    || fail "pgsluice dump of hostile_chk exited with status $?"
  no_trace "plan, verify and dump of a table keyed by a checked domain"
  grep -q "'::bigint" "$case_dir/dump_chk/manifest.json" || fail "the dump's ranges do not cast to the base type"
}
