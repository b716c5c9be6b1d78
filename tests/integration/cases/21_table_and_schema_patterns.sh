# --table, --exclude-table, --schema, --exclude-schema choose as pg_dump's patterns do; a resume keeps them

# only_these DB REGEX: every relation of target database DB (tables, partitioned tables,
# sequences, views, materialized views) has a schema.name that REGEX matches.
only_these() {
  local extra
  extra=$(psql_dst "$1" -v re="$2" <<'SQL'
SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND n.nspname !~ '^pg_'
  AND n.nspname NOT IN ('information_schema', 'pgsluice')
  AND n.nspname || '.' || c.relname !~ :'re'
SQL
) || fail "could not list the relations of $1"
  [ -z "$extra" ] || fail "the target holds relations that were not chosen: $extra"
}

case_main() {   # --table, --exclude-table, --schema, --exclude-schema: pg_dump's patterns, strict, kept by a resume
  local chosen='^(public\.(measurement.*|k_(bigint|uuid|numeric|tstz|composite)|fk_parent.*)|part_other\.measurement.*|select\..*)$'
  local by_schema='^(select\.from|Sch.*)$'

  # --table: a partitioned table brings its partitions (here in two schemas), an owned sequence
  # comes with its table; the schemas the partitions need are missing, so the checks refuse
  # the clone before it writes anything
  create_dst dst_v
  create_dst dst_v_check
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' --exclude-table k_text --table '"select".*' --table fk_parent \
    && fail "a clone whose schemas are missing on the target succeeded"
  grep -q 'target_schemas_missing' "$case_dir/err" && grep -q 'part_other' "$case_dir/err" \
    || fail "the refusal does not name the missing schema"
  [ "$(psql_dst dst_v -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the refused clone left its state schema"
  # check says so beforehand, and names the schemas
  sluice check --source "$(src_conn src)" --target "$(dst_conn dst_v_check)" --table measurement --table '"select".*'
  [ $? -eq 2 ] || fail "check did not find the missing schemas a blocker"
  grep -q 'target_schemas_missing' "$case_dir/out" || fail "check does not report the missing schemas"
  grep -q 'part_other' "$case_dir/out" || fail "check does not name part_other"
  if grep -q 'target_schemas_exist\|target_tables_exist.*blocker\|blocker.*target_tables_exist' "$case_dir/out"; then
    fail "check finds tables or schemas in the way of a --table clone into an empty database"
  fi
  # made; a view in the place of the owned sequence (which the checks do not look for) fails the
  # schema step once the run is recorded; dropped, and resumed without the options: the run's
  # record keeps its tables
  psql_dst dst_v -c 'CREATE SCHEMA part_other' -c 'CREATE SCHEMA "select"' \
    -c 'CREATE VIEW public.fk_parent_id_seq AS SELECT 1 AS x' >/dev/null || fail "could not create the schemas"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' --exclude-table k_text --table '"select".*' --table fk_parent \
    && fail "a clone whose sequence's name is taken on the target succeeded"
  grep -q 'fk_parent_id_seq' "$case_dir/err" || fail "the error does not name fk_parent_id_seq"
  psql_dst dst_v -c 'DROP VIEW public.fk_parent_id_seq' >/dev/null || fail "could not drop the view"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --resume last \
    --keep-record --json "$case_dir/v.json" || fail "the resumed clone exited with status $?"
  COMPARE_ONLY=$chosen expect_identical src dst_v
  only_these dst_v "$chosen"
  grep -q '"selection": {"table": \["measurement", "K_\*", "\\"select\\"\.\*", "fk_parent"\], "exclude-table": \["k_text"\]}' \
    "$case_dir/v.json" || fail "the JSON report does not give the run's patterns"
  psql_dst dst_v -c "SELECT last_value FROM fk_parent_id_seq" | grep -qx "$(psql_src src -c "SELECT last_value FROM fk_parent_id_seq")" \
    || fail "the owned sequence fk_parent_id_seq was not set"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v)" --resume last --table k_uuid \
    && fail "a resume with other table options was accepted"
  grep -q 'chose its tables with' "$case_dir/err" || fail "the refusal does not say why"

  # verify takes the same choice on both sides; without it, the tables left out differ
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --chunk-size 1MB \
    --table measurement --table 'K_*' -T k_text --table '"select".*' --table fk_parent \
    || fail "verify of the chosen tables exited with status $?"
  sluice verify --source "$(src_conn src)" --target "$(dst_conn dst_v)" --jobs 2 --counts
  [ $? -eq 1 ] || fail "verify of the whole database did not find the tables left out"

  # plan lists the chosen tables only
  sluice plan --source "$(src_conn src)" --table 'measurement' -N part_other \
    || fail "plan exited with status $?"
  grep -q '^public\.measurement_old ' "$case_dir/out" || fail "the plan lacks a partition of measurement"
  if grep -q 'part_other\|k_bigint' "$case_dir/out"; then fail "the plan lists tables it was not given"; fi

  # --schema, with quotes and a wildcard (the schema's name has capitals, a quote and a newline);
  # an excluded sequence stays out
  create_dst dst_v_schema
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_schema)" --jobs 2 \
    -n '"select"' --schema '"Sch"*' --exclude-table '"select".seq*' \
    || fail "the clone by schema exited with status $?"
  COMPARE_ONLY=$by_schema expect_identical src dst_v_schema
  only_these dst_v_schema "$by_schema"

  # dump takes them too
  sluice dump --source "$(src_conn src)" --dir "$case_dir/dump" --table k_uuid \
    || fail "dump --table exited with status $?"
  create_dst dst_v_restore
  sluice restore --dir "$case_dir/dump" --target "$(dst_conn dst_v_restore)" \
    || fail "restore of the chosen table exited with status $?"
  COMPARE_ONLY='^public\.k_uuid$' expect_identical src dst_v_restore
  only_these dst_v_restore '^public\.k_uuid$'

  # a pattern that matches nothing, or cannot be read, stops before anything is written
  create_dst dst_v_none
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --table k_uuid --table 'no_such*'
  [ $? -eq 2 ] || fail "a --table that matches nothing did not exit with status 2"
  grep -q -- '--table "no_such\*" matches no table' "$case_dir/err" || fail "the error does not name the pattern"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --schema nowhere
  [ $? -eq 2 ] || fail "a --schema that matches nothing did not exit with status 2"
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_v_none)" --schema a.b
  [ $? -eq 2 ] || fail "a schema pattern with a dot did not exit with status 2"
  grep -q 'invalid pattern "a.b" for --schema' "$case_dir/err" || fail "the error does not name the bad pattern"
  only_these dst_v_none '^$'
}
