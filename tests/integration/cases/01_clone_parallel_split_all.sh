# clone --jobs 2 --chunk-size 1MB --split-all into an empty database

# check_summary_names: every table of $case_dir/tables.json appears in $case_dir/out, by its
# name, its quoted name, or (for a name with control characters) an escaped form of it.
check_summary_names() {
  [ -n "$python" ] || { echo "no python3: summary names not checked"; return 0; }
  "$python" - "$case_dir/tables.json" "$case_dir/out" <<'EOF' || fail "the summary does not name every table"
import json, re, sys
tables = json.load(open(sys.argv[1], encoding="utf-8"))
out = open(sys.argv[2], encoding="utf-8", errors="replace").read()
missing = []
for schema, name, qname in tables:
    forms = {name, qname, qname.split(".", 1)[1] if qname.count(".") == 1 else qname}
    for form in list(forms):
        forms.add(form.encode("unicode_escape").decode("ascii"))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", "\\\\n", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", " ", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", "?", form))
        forms.add(re.sub(r"[\x00-\x1f\x7f]", ".", form))
    if not any(f in out for f in forms):
        missing.append(schema + "." + name)
for m in missing:
    print("summary does not name table %r" % m)
print("summary names %d of %d tables" % (len(tables) - len(missing), len(tables)))
sys.exit(1 if missing else 0)
EOF
}

case_main() {   # parallel clone with small chunks into an empty database, every table split
  create_dst dst_a
  tables_json src
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_a)" --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone exited with status $?"
  check_summary_names
  expect_identical src dst_a
  # compare.sh leaves the state schema out: a finished clone must have removed it
  [ "$(psql_dst dst_a -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgsluice'")" = 0 ] \
    || fail "the finished clone left its pgsluice schema"
}
