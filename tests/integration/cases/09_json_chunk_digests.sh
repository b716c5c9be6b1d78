# clone --json writes a per-chunk digest for every table; tables of few chunks go in whole, frozen

case_main() {   # --json: valid JSON with a digest for every chunk of every table
  create_dst dst_i
  tables_json src
  sluice clone --source "$(src_conn src)" --target "$(dst_conn dst_i)" --jobs 2 --chunk-size 1MB \
    --json "$case_dir/report.json" || fail "pgsluice clone --json exited with status $?"
  [ -s "$case_dir/report.json" ] || fail "no JSON report written"
  [ -n "$python" ] || { echo "no python3: JSON not checked"; return 0; }
  "$python" -m json.tool "$case_dir/report.json" >/dev/null || fail "the report is not valid JSON"
  "$python" - "$case_dir/tables.json" "$case_dir/report.json" <<'EOF' || fail "the report lacks per-chunk digests"
# A chunk is an object with a digest-like key ("digest", "hash", "checksum", ...) that is an
# element of a list held under a key naming chunks, or that has a scalar under a key naming a
# chunk ("chunk": 3). Its
# table is named by a string in it or in an object around it: "schema.name" (quoted or not),
# or schema and name as separate strings.
import json, re, sys
tables = json.load(open(sys.argv[1], encoding="utf-8"))
report = json.load(open(sys.argv[2], encoding="utf-8"))
digest_key = re.compile(r"digest|hash|checksum|xxh", re.I)
chunk_key = re.compile(r"chunk", re.I)
contexts = []
def walk(node, strings, in_chunk_list):
    if isinstance(node, dict):
        here = strings + [v for v in node.values() if isinstance(v, str)]
        has_digest = any(digest_key.search(k) and isinstance(v, (str, int)) and v not in ("", None)
                         for k, v in node.items())
        if has_digest and (in_chunk_list or any(chunk_key.search(k) and not isinstance(v, (list, dict))
                                                for k, v in node.items())):
            contexts.append(set(here))
        for k, v in node.items():
            walk(v, here, isinstance(v, list) and bool(chunk_key.search(k)))
    elif isinstance(node, list):
        for v in node:
            walk(v, strings, in_chunk_list)
walk(report, [], False)
missing = []
for schema, name, qname in tables:
    qualified = {schema + "." + name, qname}
    if not any(ctx & qualified or (schema in ctx and name in ctx) for ctx in contexts):
        missing.append(qname)
for m in missing:
    print("no per-chunk digest for table %s" % m)
print("%d chunk digests found; %d of %d tables covered" % (len(contexts), len(tables) - len(missing), len(tables)))
if missing and isinstance(report, dict):
    print("top-level keys of the report: %s" % ", ".join(report.keys()))
sys.exit(1 if missing or not contexts else 0)
EOF
  # The tables of 2 to 16 chunks and at most half the data went in whole, those of 4 MB and
  # more frozen; --split-all splits them.
  expect_identical src dst_i
  sluice plan --source "$(src_conn src)" --jobs 2 --chunk-size 1MB --split-all --json "$case_dir/split.json" \
    || fail "pgsluice plan --split-all exited with status $?"
  "$python" - "$case_dir/split.json" "$case_dir/report.json" <<'EOF' || fail "the tables read whole are not the ones the rule names"
import json, sys
split = json.load(open(sys.argv[1], encoding="utf-8"))["tables"]
clone = {t["name"]: t for t in json.load(open(sys.argv[2], encoding="utf-8"))["tables"]}
total = sum(t["bytes"] for t in split)
wrong = []
whole = 0
for t in split:
    n = len(t["chunks"])
    want_whole = 2 <= n <= 16 and t["bytes"] * 2 <= total
    got = clone[t["name"]]
    whole += want_whole
    if want_whole != (got["split"] == "whole" and n > 1):
        wrong.append("%s: %d chunks with --split-all, %s in the clone" % (t["name"], n, got["split"]))
    elif want_whole and got["chunks"][0]["freeze"] != (t["bytes"] >= 4 << 20):
        wrong.append("%s: %d bytes, loaded whole with freeze %s" % (t["name"], t["bytes"], got["chunks"][0]["freeze"]))
for w in wrong:
    print(w)
print("%d tables read whole" % whole)
sys.exit(1 if wrong or whole == 0 else 0)
EOF
}
