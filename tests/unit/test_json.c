/*
 * test_json.c: unit tests of the strict JSON reader and the string quoter
 * (codec/json.c).
 *
 * Every input is parsed from its own allocation of exactly its length, so
 * that AddressSanitizer catches a read past the end (the parser never sees
 * a NUL terminator).  Valid documents are checked value by value; invalid
 * ones must fail with the expected code and a message naming the place.  A
 * sample manifest is cut at every length and damaged at every byte, and
 * every string json_quote() writes must parse back to the same bytes.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/json.h"

#define ERR_LEN 512

/* A manifest like the ones dump writes: what truncation and damage tests cut up. */
static const char sample_manifest[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"dump_id\": \"5a117e004299c301fe10203040506070\",\n"
	"  \"source\": {\"server_version\": \"16.2\", \"database\": \"shop\"},\n"
	"  \"snapshot\": \"00000003-0000001B-1\",\n"
	"  \"tables\": [\n"
	"    {\"name\": \"public.orders\", \"columns\": [\"id\", \"customer\", \"note\"],\n"
	"     \"format\": \"binary\",\n"
	"     \"chunks\": [\n"
	"       {\"file\": \"t16385/c0.zst\", \"table\": \"public.orders\", \"seq\": 0,\n"
	"        \"where\": \"ctid >= '(0,0)' AND ctid < '(8192,0)'\", \"rows\": 120000,\n"
	"        \"bytes\": 8388608, \"compressed_bytes\": 2097152,\n"
	"        \"digest\": \"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"},\n"
	"       {\"file\": \"t16385/c1.zst\", \"table\": \"public.orders\", \"seq\": 1,\n"
	"        \"where\": null, \"rows\": 0, \"bytes\": 19, \"compressed_bytes\": 80,\n"
	"        \"digest\": \"00000000000000000000000000000000\"}\n"
	"     ]},\n"
	"    {\"name\": \"public.\\\"Caf\\u00e9\\\"\", \"columns\": [], \"format\": \"text\", \"chunks\": [],\n"
	"     \"ratio\": -1.5e-3, \"ok\": true, \"skip\": false}\n"
	"  ]\n"
	"}";

/* ---- helpers ---- */

typedef struct parsed
{
	int			rc;
	json_doc   *doc;
	char		err[ERR_LEN];
} parsed;

/* Parses text[0..len) from an allocation of exactly len bytes. */
static parsed
parse_bytes(const void *text, size_t len, const json_limits *limits)
{
	parsed		p;
	sl_err		err;
	char	   *copy = malloc(len ? len : 1);

	cr_assert_not_null(copy);
	if (len > 0)
		memcpy(copy, text, len);
	memset(&p, 0, sizeof(p));
	err_clear(&err);
	p.rc = json_parse(copy, len, limits, &p.doc, &err);
	snprintf(p.err, sizeof(p.err), "%s", err.msg);
	cr_assert_eq(p.rc < 0 ? p.rc : 0, err.code, "rc %d with error code %d", p.rc, err.code);
	free(copy);
	cr_assert_eq(p.rc < 0, p.doc == NULL, "rc %d with doc %p: want a document exactly on success",
				 p.rc, (void *) p.doc);
	cr_assert_eq(p.rc < 0, p.err[0] != '\0', "rc %d with message \"%s\": want a message exactly on error",
				 p.rc, p.err);
	return p;
}

/* Parses a valid document, failing the test with the parser's message if it is not. */
static json_doc *
parse_ok(const char *text)
{
	parsed		p = parse_bytes(text, strlen(text), NULL);

	cr_assert_eq(p.rc, 0, "parse of '%s': %d (%s), want 0", text, p.rc, p.err);
	return p.doc;
}

/* Parses an invalid document: the code and a part of the message must be as expected. */
static void
assert_fails_len(const char *text, size_t len, const json_limits *limits, int want_rc,
				 const char *want_msg)
{
	parsed		p = parse_bytes(text, len, limits);

	cr_assert_eq(p.rc, want_rc, "parse of '%.*s': %d (%s), want %d", (int) len, text, p.rc, p.err, want_rc);
	cr_assert_not_null(strstr(p.err, want_msg), "parse of '%.*s': message \"%s\", want it to hold \"%s\"",
					   (int) len, text, p.err, want_msg);
}

static void
assert_fails(const char *text, const char *want_msg)
{
	assert_fails_len(text, strlen(text), NULL, -EPROTO, want_msg);
}

static void
assert_same_bytes(const char *got, size_t got_len, const char *want, size_t want_len, const char *what)
{
	size_t		n = got_len < want_len ? got_len : want_len;
	size_t		i = 0;

	while (i < n && got[i] == want[i])
		i++;
	cr_assert(got_len == want_len && i == n,
			  "%s: %zu bytes, want %zu; first difference at byte %zu (got 0x%02x, want 0x%02x)",
			  what, got_len, want_len, i, i < got_len ? (unsigned char) got[i] : 0x100,
			  i < want_len ? (unsigned char) want[i] : 0x100);
}

/* The string that a one-value document decodes to. */
static void
assert_string_is(const char *text, const char *want, size_t want_len)
{
	json_doc   *doc = parse_ok(text);
	size_t		len = 0;
	const char *s = json_string(json_root(doc), &len);

	cr_assert_not_null(s, "'%s' is a %s, want a string", text, json_type_name(json_kind(json_root(doc))));
	assert_same_bytes(s, len, want, want_len, text);
	cr_assert_eq(s[len], '\0', "'%s': no NUL after the %zu bytes", text, len);
	json_doc_destroy(doc);
}

/* The number that a one-value document holds, as int64 (rc and value). */
static int
int64_of(const char *text, int64_t *out)
{
	json_doc   *doc = parse_ok(text);
	int			rc = json_int64(json_root(doc), out);

	json_doc_destroy(doc);
	return rc;
}

static int
uint64_of(const char *text, uint64_t *out)
{
	json_doc   *doc = parse_ok(text);
	int			rc = json_uint64(json_root(doc), out);

	json_doc_destroy(doc);
	return rc;
}

static int
double_of(const char *text, double *out)
{
	json_doc   *doc = parse_ok(text);
	int			rc = json_double(json_root(doc), out);

	json_doc_destroy(doc);
	return rc;
}

/* Quotes s[0..len) and parses the literal back: the string must be the same bytes. */
static void
assert_quote_round_trip(const char *s, size_t len, const char *what)
{
	size_t		need = json_quote(NULL, 0, s, len);
	char	   *lit = malloc(need + 1);
	size_t		wrote;
	parsed		p;
	const char *back;
	size_t		back_len = 0;

	cr_assert_not_null(lit);
	wrote = json_quote(lit, need + 1, s, len);
	cr_assert_eq(wrote, need, "%s: json_quote says %zu bytes, then %zu", what, need, wrote);
	cr_assert_eq(strlen(lit), need, "%s: literal of %zu bytes before its NUL, want %zu", what, strlen(lit), need);
	p = parse_bytes(lit, need, NULL);
	cr_assert_eq(p.rc, 0, "%s: literal %s does not parse: %d (%s)", what, lit, p.rc, p.err);
	back = json_string(json_root(p.doc), &back_len);
	cr_assert_not_null(back, "%s: literal %s is not a string", what, lit);
	assert_same_bytes(back, back_len, s, len, what);
	json_doc_destroy(p.doc);
	free(lit);
}

/* ---- values ---- */

Test(json, parses_every_value_kind, .timeout = 30)
{
	json_doc   *doc = parse_ok("[null, true, false, 0, -12.5e1, \"text\", [1], {\"k\": 2}, [], {}]");
	const json_value *root = json_root(doc);
	static const json_type want[] = {JSON_NULL, JSON_BOOL, JSON_BOOL, JSON_NUMBER, JSON_NUMBER,
	JSON_STRING, JSON_ARRAY, JSON_OBJECT, JSON_ARRAY, JSON_OBJECT};
	bool		b = false;
	double		d = 0;
	int64_t		i = -1;
	size_t		len = 99;

	cr_assert_eq(json_kind(root), JSON_ARRAY, "root is a %s", json_type_name(json_kind(root)));
	cr_assert_eq(json_len(root), 10, "%zu elements, want 10", json_len(root));
	for (size_t k = 0; k < 10; k++)
		cr_assert_eq(json_kind(json_at(root, k)), want[k], "element %zu is a %s, want a %s", k,
					 json_type_name(json_kind(json_at(root, k))), json_type_name(want[k]));
	cr_assert(json_is_null(json_at(root, 0)));
	cr_assert(!json_is_null(json_at(root, 1)));
	cr_assert_eq(json_bool(json_at(root, 1), &b), 0);
	cr_assert(b, "true read as false");
	cr_assert_eq(json_bool(json_at(root, 2), &b), 0);
	cr_assert(!b, "false read as true");
	cr_assert_eq(json_int64(json_at(root, 3), &i), 0);
	cr_assert_eq(i, 0, "0 read as %lld", (long long) i);
	cr_assert_eq(json_double(json_at(root, 4), &d), 0);
	cr_assert_eq(d, -125.0, "-12.5e1 read as %.17g", d);
	cr_assert_str_eq(json_string(json_at(root, 5), &len), "text");
	cr_assert_eq(len, 4, "length %zu, want 4", len);
	cr_assert_eq(json_len(json_at(root, 6)), 1);
	cr_assert_eq(json_len(json_at(root, 7)), 1);
	cr_assert_eq(json_len(json_at(root, 8)), 0);
	cr_assert_eq(json_len(json_at(root, 9)), 0);
	cr_assert_null(json_at(json_at(root, 8), 0));
	cr_assert_null(json_member(json_at(root, 9), 0, NULL, NULL));
	cr_assert_null(json_at(root, 10), "an element past the end");
	json_doc_destroy(doc);
}

Test(json, accepts_any_value_at_the_top_level, .timeout = 30)
{
	static const struct
	{
		const char *text;
		json_type	kind;
	}			cases[] = {
		{"null", JSON_NULL}, {" true ", JSON_BOOL}, {"false", JSON_BOOL}, {"42", JSON_NUMBER},
		{"-0", JSON_NUMBER}, {"\"\"", JSON_STRING}, {"\t\r\n [ ] \n", JSON_ARRAY}, {"{}", JSON_OBJECT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		json_doc   *doc = parse_ok(cases[i].text);

		cr_assert_eq(json_kind(json_root(doc)), cases[i].kind, "'%s' is a %s, want a %s", cases[i].text,
					 json_type_name(json_kind(json_root(doc))), json_type_name(cases[i].kind));
		json_doc_destroy(doc);
	}
}

Test(json, accessors_refuse_other_kinds_and_null, .timeout = 30)
{
	json_doc   *doc = parse_ok("{\"s\": \"x\", \"n\": 1, \"a\": [1]}");
	const json_value *root = json_root(doc);
	const json_value *s = json_get(root, "s");
	const char *key = "unset";
	size_t		key_len = 7;
	bool		b;
	int64_t		i;
	uint64_t	u;
	double		d;
	size_t		len = 7;

	cr_assert_eq(json_kind(NULL), JSON_NONE);
	cr_assert_null(json_root(NULL));
	cr_assert_null(json_get(NULL, "s"));
	cr_assert_null(json_get(s, "s"), "json_get on a string");
	cr_assert_null(json_get(root, NULL));
	cr_assert_null(json_get(root, "absent"));
	cr_assert_null(json_at(root, 0), "json_at on an object");
	cr_assert_null(json_at(NULL, 0));
	cr_assert_eq(json_len(s), 0, "json_len of a string: %zu", json_len(s));
	cr_assert_eq(json_len(NULL), 0);
	cr_assert_null(json_member(json_get(root, "a"), 0, &key, &key_len), "json_member on an array");
	cr_assert_null(key);
	cr_assert_eq(key_len, 0);
	cr_assert_null(json_string(json_get(root, "n"), &len));
	cr_assert_eq(len, 0, "length of a non-string: %zu", len);
	cr_assert_null(json_string(NULL, NULL));
	cr_assert_eq(json_int64(s, &i), -EINVAL);
	cr_assert_eq(json_uint64(s, &u), -EINVAL);
	cr_assert_eq(json_double(s, &d), -EINVAL);
	cr_assert_eq(json_int64(NULL, &i), -EINVAL);
	cr_assert_eq(json_bool(s, &b), -EINVAL);
	cr_assert_eq(json_bool(NULL, &b), -EINVAL);
	cr_assert(!json_is_null(NULL));
	cr_assert(!json_is_null(s));
	cr_assert_str_eq(json_type_name(JSON_NULL), "null");
	cr_assert_str_eq(json_type_name(JSON_BOOL), "boolean");
	cr_assert_str_eq(json_type_name(JSON_NUMBER), "number");
	cr_assert_str_eq(json_type_name(JSON_STRING), "string");
	cr_assert_str_eq(json_type_name(JSON_ARRAY), "array");
	cr_assert_str_eq(json_type_name(JSON_OBJECT), "object");
	cr_assert_str_eq(json_type_name(JSON_NONE), "nothing");
	json_doc_destroy(doc);
	json_doc_destroy(NULL);
}

Test(json, reads_a_manifest, .timeout = 30)
{
	json_doc   *doc = parse_ok(sample_manifest);
	const json_value *root = json_root(doc);
	const json_value *tables = json_get(root, "tables");
	const json_value *chunks = json_get(json_at(tables, 0), "chunks");
	const json_value *chunk = json_at(chunks, 0);
	static const char *const keys[] = {"version", "dump_id", "source", "snapshot", "tables"};
	const char *key;
	size_t		key_len;
	int64_t		rows = 0;
	uint64_t	bytes = 0;
	double		ratio = 0;
	bool		ok = false;

	cr_assert_eq(json_len(root), 5, "%zu members, want 5", json_len(root));
	for (size_t i = 0; i < 5; i++)
	{
		cr_assert_not_null(json_member(root, i, &key, &key_len));
		cr_assert_str_eq(key, keys[i], "member %zu is \"%s\", want \"%s\"", i, key, keys[i]);
		cr_assert_eq(key_len, strlen(keys[i]));
		cr_assert_eq(json_member(root, i, NULL, NULL), json_get(root, keys[i]));
	}
	cr_assert_null(json_member(root, 5, &key, &key_len));
	cr_assert_str_eq(json_string(json_get(root, "dump_id"), NULL), "5a117e004299c301fe10203040506070");
	cr_assert_str_eq(json_string(json_get(json_get(root, "source"), "database"), NULL), "shop");
	cr_assert_eq(json_len(tables), 2);
	cr_assert_eq(json_len(chunks), 2);
	cr_assert_str_eq(json_string(json_get(chunk, "file"), NULL), "t16385/c0.zst");
	cr_assert_str_eq(json_string(json_get(chunk, "where"), NULL), "ctid >= '(0,0)' AND ctid < '(8192,0)'");
	cr_assert(json_is_null(json_get(json_at(chunks, 1), "where")));
	cr_assert_eq(json_int64(json_get(chunk, "rows"), &rows), 0);
	cr_assert_eq(rows, 120000, "rows %lld, want 120000", (long long) rows);
	cr_assert_eq(json_uint64(json_get(chunk, "compressed_bytes"), &bytes), 0);
	cr_assert_eq(bytes, 2097152, "compressed_bytes %llu, want 2097152", (unsigned long long) bytes);
	cr_assert_str_eq(json_string(json_get(json_at(tables, 1), "name"), NULL), "public.\"Caf\xc3\xa9\"");
	cr_assert_str_eq(json_string(json_at(json_get(json_at(tables, 0), "columns"), 2), NULL), "note");
	cr_assert_eq(json_double(json_get(json_at(tables, 1), "ratio"), &ratio), 0);
	cr_assert_eq(ratio, -1.5e-3, "ratio %.17g, want -1.5e-3", ratio);
	cr_assert_eq(json_bool(json_get(json_at(tables, 1), "ok"), &ok), 0);
	cr_assert(ok);
	json_doc_destroy(doc);
}

Test(json, keeps_nesting_and_order, .timeout = 30)
{
	json_doc   *doc = parse_ok("[[[1, [2, {\"a\": [3, {\"b\": {}}]}]]], 4, {\"c\": [[], [5]]}]");
	const json_value *root = json_root(doc);
	const json_value *v = json_at(json_at(json_at(json_at(root, 0), 0), 1), 1);
	int64_t		n = 0;

	cr_assert_eq(json_kind(v), JSON_OBJECT, "a %s", json_type_name(json_kind(v)));
	cr_assert_eq(json_int64(json_at(json_get(v, "a"), 0), &n), 0);
	cr_assert_eq(n, 3, "%lld, want 3", (long long) n);
	cr_assert_eq(json_kind(json_get(json_at(json_get(v, "a"), 1), "b")), JSON_OBJECT);
	cr_assert_eq(json_int64(json_at(root, 1), &n), 0);
	cr_assert_eq(n, 4, "%lld, want 4", (long long) n);
	cr_assert_eq(json_int64(json_at(json_at(json_get(json_at(root, 2), "c"), 1), 0), &n), 0);
	cr_assert_eq(n, 5, "%lld, want 5", (long long) n);
	json_doc_destroy(doc);
}

Test(json, reads_a_large_array_and_object, .timeout = 60)
{
	size_t		n = 100000;
	char	   *text = malloc(n * 40 + 16);
	size_t		len = 0;
	json_doc   *doc;
	const json_value *root;
	char		key[32];

	cr_assert_not_null(text);
	text[len++] = '[';
	for (size_t i = 0; i < n; i++)
		len += (size_t) sprintf(text + len, "%s%zu", i ? "," : "", i * 3);
	text[len++] = ']';
	text[len] = '\0';
	doc = parse_ok(text);
	root = json_root(doc);
	cr_assert_eq(json_len(root), n, "%zu elements, want %zu", json_len(root), n);
	for (size_t i = 0; i < n; i++)
	{
		int64_t		v = -1;

		cr_assert_eq(json_int64(json_at(root, i), &v), 0);
		cr_assert_eq(v, (int64_t) (i * 3), "element %zu is %lld, want %zu", i, (long long) v, i * 3);
	}
	json_doc_destroy(doc);

	/* an object large enough to be searched through its sorted index */
	len = 0;
	text[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t) sprintf(text + len, "%s\"k%zu\":%zu", i ? "," : "", (i * 7919) % n, i);
	text[len++] = '}';
	text[len] = '\0';
	doc = parse_ok(text);
	root = json_root(doc);
	cr_assert_eq(json_len(root), n);
	for (size_t i = 0; i < n; i++)
	{
		int64_t		v = -1;
		const char *k = NULL;

		snprintf(key, sizeof(key), "k%zu", (i * 7919) % n);
		cr_assert_eq(json_int64(json_get(root, key), &v), 0, "key \"%s\" not found", key);
		cr_assert_eq(v, (int64_t) i, "\"%s\" is %lld, want %zu", key, (long long) v, i);
		json_member(root, i, &k, NULL);
		cr_assert_str_eq(k, key, "member %zu is \"%s\", want \"%s\" (document order)", i, k, key);
	}
	cr_assert_null(json_get(root, "k"));
	cr_assert_null(json_get(root, "k100000"));
	cr_assert_null(json_get(root, ""));
	json_doc_destroy(doc);
	free(text);
}

Test(json, finds_keys_byte_for_byte, .timeout = 30)
{
	/* small (scanned) and large (indexed) objects alike */
	const char *texts[] = {
		"{\"a\": 1, \"ab\": 2, \"a\\u0000b\": 3, \"\": 4}",
		"{\"a\": 1, \"ab\": 2, \"a\\u0000b\": 3, \"\": 4, \"p\": 0, \"q\": 0, \"r\": 0, \"s\": 0, \"t\": 0, \"u\": 0}",
	};

	for (int t = 0; t < 2; t++)
	{
		json_doc   *doc = parse_ok(texts[t]);
		const json_value *root = json_root(doc);
		int64_t		v = 0;
		const char *key = NULL;
		size_t		key_len = 0;

		cr_assert_eq(json_int64(json_get(root, "a"), &v), 0);
		cr_assert_eq(v, 1, "\"a\" is %lld, want 1", (long long) v);
		cr_assert_eq(json_int64(json_get(root, "ab"), &v), 0);
		cr_assert_eq(v, 2, "\"ab\" is %lld, want 2", (long long) v);
		cr_assert_eq(json_int64(json_get(root, ""), &v), 0);
		cr_assert_eq(v, 4, "\"\" is %lld, want 4", (long long) v);
		cr_assert_null(json_get(root, "b"));
		cr_assert_null(json_get(root, "A"));
		json_member(root, 2, &key, &key_len);
		assert_same_bytes(key, key_len, "a\0b", 3, "key with \\u0000");
	}
}

/* ---- strings ---- */

Test(json, decodes_escapes, .timeout = 30)
{
	assert_string_is("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15);
	assert_string_is("\"\\u0041\\u00e9\\u00E9\"", "A\xc3\xa9\xc3\xa9", 5);
	assert_string_is("\"a\\u0000b\"", "a\0b", 3);
	assert_string_is("\"\\u007f\\u0080\\u07ff\\u0800\"", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80", 8);
	assert_string_is("\"\\u20ac\\uffff\\uFFFE\"", "\xe2\x82\xac\xef\xbf\xbf\xef\xbf\xbe", 9);
	assert_string_is("\"\\ud7ff\\ue000\"", "\xed\x9f\xbf\xee\x80\x80", 6);
	assert_string_is("\"\"", "", 0);
	assert_string_is("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
	assert_string_is("\"\x7f\"", "\x7f", 1);
}

Test(json, decodes_surrogate_pairs_to_four_bytes, .timeout = 30)
{
	assert_string_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);	/* U+1F600 */
	assert_string_is("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4);	/* U+10000 */
	assert_string_is("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);	/* U+10FFFF */
	assert_string_is("\"x\\ud834\\udd1ey\"", "x\xf0\x9d\x84\x9ey", 6);	/* U+1D11E */
}

Test(json, refuses_lone_surrogates, .timeout = 30)
{
	assert_fails("\"\\ud800\"", "lone high surrogate \"\\ud800\" in string at line 1, byte 1");
	assert_fails("\"\\ud800x\"", "lone high surrogate");
	assert_fails("\"\\ud800\\n\"", "lone high surrogate");
	assert_fails("\"\\ud800\\u0041\"", "high surrogate \"\\ud800\" followed by \"\\u0041\", not by a low surrogate");
	assert_fails("\"\\ud800\\ud800\"", "not by a low surrogate");
	assert_fails("\"\\udc00\"", "lone low surrogate \"\\udc00\" in string at line 1, byte 1");
	assert_fails("\"\\uDFFF\\uD800\"", "lone low surrogate \"\\uDFFF\"");
	assert_fails("\"\\ude00\\ud83d\"", "lone low surrogate");
	assert_fails("\"\\ud800\\u12\"", "\"\\u\" not followed by four hexadecimal digits in string at line 1, byte 7");
	/* cut short: the input ends, which is not the same as a lone surrogate */
	assert_fails("[\"\\ud800", "unterminated string starting at line 1, byte 1");
	assert_fails("[\"\\ud800\\u", "unterminated string starting at line 1, byte 1");
	assert_fails("[\"\\ud800\\udc", "unterminated string starting at line 1, byte 1");
}

Test(json, refuses_bad_escapes, .timeout = 30)
{
	static const char *const bad[] = {"\\x41", "\\'", "\\a", "\\U0041", "\\0", "\\v", "\\e", "\\ "};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		text[32];

		snprintf(text, sizeof(text), "[\"ok\", \"a%sb\"]", bad[i]);
		assert_fails(text, "invalid escape");
	}
	assert_fails("\"\\q\"", "invalid escape \"\\q\" in string at line 1, byte 1");
	assert_fails("\"\\\x01\"", "invalid escape: \"\\\" followed by control character 0x01 in string");
	assert_fails("\"\\u12\"", "\"\\u\" not followed by four hexadecimal digits");
	assert_fails("\"\\u12G4\"", "\"\\u\" not followed by four hexadecimal digits in string at line 1, byte 1");
	assert_fails("\"\\u-123\"", "not followed by four hexadecimal digits");
	assert_fails("\"\\u 123\"", "not followed by four hexadecimal digits");
}

Test(json, refuses_control_characters_in_strings, .timeout = 30)
{
	for (int c = 0; c < 0x20; c++)
	{
		char		text[8] = {'[', '"', 'a', (char) c, '"', ']'};
		char		want[64];

		snprintf(want, sizeof(want), "unescaped control character 0x%02x in string at line 1, byte 3", c);
		assert_fails_len(text, 6, NULL, -EPROTO, want);
	}
}

Test(json, refuses_invalid_utf8, .timeout = 30)
{
	static const struct
	{
		const char *bytes;
		const char *msg;
	}			cases[] = {
		{"\x80", "invalid UTF-8 byte 0x80 in string"},	/* a continuation byte alone */
		{"\xbf", "invalid UTF-8 byte 0xbf"},
		{"\xc0\x80", "invalid UTF-8 byte 0xc0"},	/* overlong NUL */
		{"\xc1\xbf", "invalid UTF-8 byte 0xc1"},	/* overlong */
		{"\xc3\x28", "invalid UTF-8 sequence 0xc3 0x28 in string"},
		{"\xc3", "invalid UTF-8 sequence 0xc3 0x22"},	/* cut by the closing quote */
		{"\xe0\x80\x80", "invalid UTF-8 sequence 0xe0 0x80"},	/* overlong */
		{"\xe0\x9f\xbf", "invalid UTF-8 sequence 0xe0 0x9f"},	/* overlong */
		{"\xed\xa0\x80", "invalid UTF-8 sequence 0xed 0xa0"},	/* surrogate U+D800 */
		{"\xed\xbf\xbf", "invalid UTF-8 sequence 0xed 0xbf"},	/* surrogate U+DFFF */
		{"\xe2\x82", "invalid UTF-8 sequence 0xe2 0x82 0x22"},
		{"\xf0\x80\x80\x80", "invalid UTF-8 sequence 0xf0 0x80"},	/* overlong */
		{"\xf0\x8f\xbf\xbf", "invalid UTF-8 sequence 0xf0 0x8f"},	/* overlong */
		{"\xf4\x90\x80\x80", "invalid UTF-8 sequence 0xf4 0x90"},	/* above U+10FFFF */
		{"\xf5\x80\x80\x80", "invalid UTF-8 byte 0xf5"},
		{"\xf8\x88\x80\x80\x80", "invalid UTF-8 byte 0xf8"},
		{"\xfe", "invalid UTF-8 byte 0xfe"},
		{"\xff", "invalid UTF-8 byte 0xff"},
		{"\xf0\x9f\x98", "invalid UTF-8 sequence 0xf0 0x9f 0x98 0x22"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		text[32];
		int			len = snprintf(text, sizeof(text), "\"ok%s\"", cases[i].bytes);

		assert_fails_len(text, (size_t) len, NULL, -EPROTO, cases[i].msg);
		assert_fails_len(text, (size_t) len, NULL, -EPROTO, "at line 1, byte 3");
	}
	/* outside strings too, and a sequence cut by the end of the input */
	assert_fails("[1, \xff]", "unexpected invalid UTF-8 byte 0xff at line 1, byte 4");
	assert_fails("{\xc3\xa9: 1}", "expected a string key or \"}\", found character \"\xc3\xa9\" at line 1, byte 1");
	assert_fails("\"abc\xe2\x82", "unterminated string starting at line 1, byte 0");
	assert_fails("[\xe2\x82", "unexpected incomplete UTF-8 sequence at end of input");
	/* a byte order mark is not whitespace */
	assert_fails("\xef\xbb\xbf{}", "unexpected character \"\xef\xbb\xbf\" at line 1, byte 0");
}

/* ---- malformed documents ---- */

Test(json, refuses_every_truncation_of_a_document, .timeout = 60)
{
	size_t		len = strlen(sample_manifest);

	for (size_t cut = 0; cut < len; cut++)
	{
		parsed		p = parse_bytes(sample_manifest, cut, NULL);

		cr_assert_eq(p.rc, -EPROTO, "cut at %zu of %zu bytes: %d (%s), want %d", cut, len, p.rc, p.err, -EPROTO);
		cr_assert_not_null(strstr(p.err, " at line "), "cut at %zu: message \"%s\" without a place", cut, p.err);
	}
	json_doc_destroy(parse_bytes(sample_manifest, len, NULL).doc);
}

Test(json, survives_every_byte_of_a_document_replaced, .timeout = 120)
{
	static const unsigned char replacements[] = {
		0x00, 0x01, '\t', '\n', ' ', '"', ',', '-', '.', '0', '1', ':', '[', '\\', ']', 'e', 'u',
		'{', '}', 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xff,
	};
	size_t		len = strlen(sample_manifest);
	char	   *copy = malloc(len);
	size_t		accepted = 0;

	cr_assert_not_null(copy);
	for (size_t at = 0; at < len; at++)
		for (size_t r = 0; r < sizeof(replacements); r++)
		{
			parsed		p;

			memcpy(copy, sample_manifest, len);
			copy[at] = (char) replacements[r];
			p = parse_bytes(copy, len, NULL);
			cr_assert(p.rc == 0 || p.rc == -EPROTO, "byte %zu set to 0x%02x: %d (%s)", at, replacements[r],
					  p.rc, p.err);
			if (p.rc == 0)
				accepted++;
			json_doc_destroy(p.doc);
		}
	cr_assert_gt(accepted, 0, "no replacement was accepted, not even a digit for a digit");
	free(copy);
}

Test(json, refuses_trailing_commas, .timeout = 30)
{
	assert_fails("[1,]", "trailing comma in array at line 1, byte 2");
	assert_fails("[1, 2 , ]", "trailing comma in array at line 1, byte 6");
	assert_fails("{\"a\": 1,}", "trailing comma in object at line 1, byte 7");
	assert_fails("{\"a\": 1,\n}", "trailing comma in object at line 1, byte 7");
	assert_fails("[1,,2]", "unexpected character \",\" at line 1, byte 3");
	assert_fails("[,1]", "unexpected character \",\" at line 1, byte 1");
	assert_fails("{,}", "expected a string key or \"}\", found character \",\" at line 1, byte 1");
	assert_fails("{\"a\": 1,,}", "expected a string key after \",\", found character \",\"");
	assert_fails("[1,}", "unexpected character \"}\"");
}

Test(json, refuses_malformed_numbers, .timeout = 30)
{
	assert_fails("01", "leading zero in number \"01\" at line 1, byte 0");
	assert_fails("[-01]", "leading zero in number \"-01\" at line 1, byte 1");
	assert_fails("00", "leading zero");
	assert_fails("[0123.5e2]", "leading zero in number \"0123.5e2\"");
	assert_fails("-", "expected a digit after \"-\", found end of input at line 1, byte 1");
	assert_fails("[-]", "expected a digit after \"-\", found character \"]\"");
	assert_fails("--1", "expected a digit after \"-\", found character \"-\"");
	assert_fails("-a", "expected a digit after \"-\"");
	assert_fails("+1", "unexpected character \"+\" at line 1, byte 0");
	assert_fails(".5", "unexpected character \".\"");
	assert_fails("1.", "expected a digit after \".\" in number, found end of input");
	assert_fails("[1.e5]", "expected a digit after \".\" in number, found character \"e\"");
	assert_fails("1e", "expected a digit in the exponent of a number, found end of input");
	assert_fails("1e+", "expected a digit in the exponent");
	assert_fails("1E-x", "expected a digit in the exponent of a number, found character \"x\"");
	assert_fails("1.2.3", "unexpected character \".\" after the top-level value at line 1, byte 3");
	assert_fails("0x10", "unexpected character \"x\" after the top-level value");
	assert_fails("[1 2]", "expected \",\" or \"]\" after array element, found character \"2\" at line 1, byte 3");
	assert_fails("NaN", "unexpected character \"N\" at line 1, byte 0");
	assert_fails("[Infinity]", "unexpected character \"I\" at line 1, byte 1");
	assert_fails("-Infinity", "expected a digit after \"-\", found character \"I\"");
	assert_fails("1_000", "unexpected character \"_\" after the top-level value");

	/* and these are fine */
	json_doc_destroy(parse_ok("[0, -0, 0.5, -0.5, 0e1, 0E+1, 1e-1, 10, 1.25E-7, 9.999e308]"));
}

Test(json, refuses_bad_literals, .timeout = 30)
{
	assert_fails("True", "unexpected character \"T\" at line 1, byte 0");
	assert_fails("[nul]", "invalid literal \"nul\"");
	assert_fails("nulll", "invalid literal \"nulll\"");
	assert_fails("[true1]", "invalid literal \"true1\"");
	assert_fails("undefined", "unexpected character \"u\"");
	assert_fails("[nan]", "invalid literal \"nan\" at line 1, byte 1");
	assert_fails("fALSE", "invalid literal \"fALSE\"");
	assert_fails("tru", "unexpected end of input at line 1, byte 3");
	assert_fails("[fals", "unexpected end of input at line 1, byte 5");
	assert_fails("[truefalse]", "invalid literal \"truefalse\"");
	assert_fails("nullabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
				 "invalid literal \"nullabcdefghijklmnopqrstuvwxyzabcdefghij...\"");
}

Test(json, refuses_what_json_does_not_have, .timeout = 30)
{
	assert_fails("", "unexpected end of input at line 1, byte 0");
	assert_fails(" \n\t\r ", "unexpected end of input at line 2, byte 5");
	assert_fails("[1] // note", "unexpected character \"/\" after the top-level value at line 1, byte 4");
	assert_fails("/* c */ 1", "unexpected character \"/\" at line 1, byte 0");
	assert_fails("[1, /* c */ 2]", "unexpected character \"/\"");
	assert_fails("{\"a\": 1 # c\n}", "expected \",\" or \"}\" after object member, found character \"#\"");
	assert_fails("'a'", "unexpected character \"'\" at line 1, byte 0");
	assert_fails("{a: 1}", "expected a string key or \"}\", found character \"a\"");
	assert_fails("{\"a\" 1}", "expected \":\" after object key, found character \"1\" at line 1, byte 5");
	assert_fails("{\"a\"}", "expected \":\" after object key, found character \"}\"");
	assert_fails("{\"a\": }", "unexpected character \"}\" at line 1, byte 6");
	assert_fails("{\"a\" = 1}", "expected \":\" after object key, found character \"=\"");
	assert_fails("{\"a\": 1 \"b\": 2}",
				 "expected \",\" or \"}\" after object member, found character '\"' at line 1, byte 8");
	assert_fails("{1: 2}", "expected a string key or \"}\", found character \"1\"");
	assert_fails("[1]]", "unexpected character \"]\" after the top-level value at line 1, byte 3");
	assert_fails("{}}", "unexpected character \"}\" after the top-level value");
	assert_fails("1 2", "unexpected character \"2\" after the top-level value at line 1, byte 2");
	assert_fails("[] x", "after the top-level value");
	assert_fails("[1}", "expected \",\" or \"]\" after array element, found character \"}\"");
	assert_fails("{\"a\": 1]", "expected \",\" or \"}\" after object member, found character \"]\"");
	assert_fails("[", "unexpected end of input at line 1, byte 1");
	assert_fails("[1", "expected \",\" or \"]\" after array element, found end of input at line 1, byte 2");
	assert_fails("{", "expected a string key or \"}\", found end of input");
	assert_fails("{\"a\"", "expected \":\" after object key, found end of input");
	assert_fails("{\"a\":", "unexpected end of input");
	assert_fails("\"abc", "unterminated string starting at line 1, byte 0");
	assert_fails("[\"a\\", "unterminated string starting at line 1, byte 1");
	assert_fails("[\"a\\u12", "unterminated string starting at line 1, byte 1");
	assert_fails("[\"\\ud800\\", "unterminated string starting");
	assert_fails("\f1", "unexpected control character 0x0c at line 1, byte 0");
	assert_fails("\v1", "unexpected control character 0x0b");
	assert_fails("[1,\xc2\xa0" "2]", "unexpected character \"\xc2\xa0\"");	/* no-break space */
	assert_fails_len("[1]\0", 4, NULL, -EPROTO,
					 "unexpected control character 0x00 after the top-level value at line 1, byte 3");
	assert_fails_len("\0", 1, NULL, -EPROTO, "unexpected control character 0x00 at line 1, byte 0");
}

Test(json, places_errors_by_line_and_byte, .timeout = 30)
{
	const char *text = "{\n  \"a\": [1, 2],\n  \"b\": x\n}";

	assert_fails(text, "unexpected character \"x\" at line 3, byte 24");
	cr_assert_eq(text[24], 'x', "byte 24 is '%c'", text[24]);
	assert_fails("[1,\r\n 2,\r\n @]", "unexpected character \"@\" at line 3, byte 11");
	assert_fails("{\n\"s\": \"line\nbreak\"}", "unescaped control character 0x0a in string at line 2, byte 12");
}

Test(json, refuses_duplicate_keys, .timeout = 30)
{
	char		text[4096];
	size_t		len = 0;

	assert_fails("{\"a\": 1, \"a\": 2}", "duplicate key \"a\" in object at line 1, byte 9");
	assert_fails("{\"a\": 1, \"b\": {\"a\": 1, \"b\": 2}, \"b\": 3}", "duplicate key \"b\" in object at line 1, byte 32");
	assert_fails("{\"x\": 1, \"\\u0078\": 2}", "duplicate key \"x\"");	/* the same once decoded */
	assert_fails("{\"\": 1, \"\": 2}", "duplicate key \"\"");
	assert_fails("{\"a\\u0000b\": 1, \"a\\u0000b\": 2}", "duplicate key \"a\\u0000b\"");
	assert_fails("{\"a\\nb\": 1, \"a\\nb\": 2}", "duplicate key \"a\\nb\"");
	assert_fails("[{}, {\"k\": [], \"k\": {}}]", "duplicate key \"k\" in object at line 1, byte 15");
	assert_fails("{\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\": 1,"
				 " \"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\": 2}",
				 "duplicate key \"abcdefghijklmnopqrstuvwxyz0123456789ABCD...\" in object");

	/* a long key is cut between characters, not inside one */
	assert_fails("{\"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x\": 1, "
				 "\"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x\": 2}",
				 "duplicate key \"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9...\" in object");

	/* the same key in different objects is fine, and so are keys that differ after a NUL */
	json_doc_destroy(parse_ok("[{\"a\": 1}, {\"a\": 2, \"b\": {\"a\": 3}}]"));
	json_doc_destroy(parse_ok("{\"a\\u0000b\": 1, \"a\\u0000c\": 2, \"a\": 3}"));

	/* a large object: the first key (in document order) that repeats an earlier one is named */
	text[len++] = '{';
	for (int i = 0; i < 50; i++)
		len += (size_t) snprintf(text + len, sizeof(text) - len, "%s\"k%02d\": %d", i ? ", " : "", i, i);
	len += (size_t) snprintf(text + len, sizeof(text) - len, ", \"k40\": 1, \"k07\": 2, \"k07\": 3, \"k40\": 4}");
	{
		size_t		at = (size_t) (strstr(text, "\"k40\": 1") - text);
		char		want[64];

		snprintf(want, sizeof(want), "duplicate key \"k40\" in object at line 1, byte %zu", at);
		assert_fails_len(text, len, NULL, -EPROTO, want);
	}
	/* and one whose last key repeats its first */
	len = 0;
	text[len++] = '{';
	for (int i = 0; i < 50; i++)
		len += (size_t) snprintf(text + len, sizeof(text) - len, "%s\"k%02d\": %d", i ? ", " : "", i, i);
	len += (size_t) snprintf(text + len, sizeof(text) - len, ", \"k00\": 1}");
	assert_fails_len(text, len, NULL, -EPROTO, "duplicate key \"k00\"");
	/* and one with a key three times, after a pair that repeats later */
	len = 0;
	text[len++] = '{';
	for (int i = 0; i < 50; i++)
		len += (size_t) snprintf(text + len, sizeof(text) - len, "%s\"k%02d\": %d", i ? ", " : "", i, i);
	len += (size_t) snprintf(text + len, sizeof(text) - len, ", \"x\": 0, \"k33\": 1, \"k33\": 2, \"x\": 3}");
	{
		size_t		at = (size_t) (strstr(text, "\"k33\": 1") - text);
		char		want[64];

		snprintf(want, sizeof(want), "duplicate key \"k33\" in object at line 1, byte %zu", at);
		assert_fails_len(text, len, NULL, -EPROTO, want);
	}
}

Test(json, reads_long_strings, .timeout = 60)
{
	/* sizes around the arena's block sizes: small, a block of its own, first and later */
	static const size_t sizes[] = {0, 1, 4000, 5000, 10000, 200000, 300000, 2000000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		size_t		n = sizes[k];
		char	   *text = malloc(2 * n + 64);
		char	   *want = malloc(n + 1);
		size_t		len = 0;

		cr_assert_not_null(text);
		cr_assert_not_null(want);
		for (size_t i = 0; i < n; i++)
			want[i] = (char) ('a' + i % 26);
		/* alone at the top, then in an array after a short one */
		text[len++] = '"';
		memcpy(text + len, want, n);
		len += n;
		text[len++] = '"';
		{
			parsed		p = parse_bytes(text, len, NULL);
			size_t		got_len = 0;
			const char *got;

			cr_assert_eq(p.rc, 0, "string of %zu bytes: %d (%s)", n, p.rc, p.err);
			got = json_string(json_root(p.doc), &got_len);
			assert_same_bytes(got, got_len, want, n, "long string");
			json_doc_destroy(p.doc);
		}
		len = (size_t) sprintf(text, "[\"a\\n\", \"");
		memcpy(text + len, want, n);
		len += n;
		len += (size_t) sprintf(text + len, "\", 1]");
		{
			parsed		p = parse_bytes(text, len, NULL);
			size_t		got_len = 0;
			const char *got;

			cr_assert_eq(p.rc, 0, "string of %zu bytes in an array: %d (%s)", n, p.rc, p.err);
			got = json_string(json_at(json_root(p.doc), 1), &got_len);
			assert_same_bytes(got, got_len, want, n, "long string in an array");
			cr_assert_str_eq(json_string(json_at(json_root(p.doc), 0), NULL), "a\n");
			json_doc_destroy(p.doc);
		}
		free(want);
		free(text);
	}
}

/* ---- limits ---- */

static char *
nested(size_t depth, char open, char close)
{
	char	   *text = malloc(2 * depth + 1);

	cr_assert_not_null(text);
	memset(text, open, depth);
	memset(text + depth, close, depth);
	text[2 * depth] = '\0';
	return text;
}

Test(json, enforces_the_depth_limit, .timeout = 30)
{
	char	   *ok = nested(JSON_DEPTH_DEFAULT, '[', ']');
	char	   *deep = nested(JSON_DEPTH_DEFAULT + 1, '[', ']');
	char	   *very_deep = nested(1000000, '[', ']');
	json_limits three = {.max_depth = 3};
	char		want[96];

	json_doc_destroy(parse_ok(ok));
	snprintf(want, sizeof(want), "nesting depth exceeds the limit of %d at line 1, byte %d",
			 JSON_DEPTH_DEFAULT, JSON_DEPTH_DEFAULT);
	assert_fails_len(deep, strlen(deep), NULL, -E2BIG, want);
	/* no recursion: a million levels fail as quickly */
	assert_fails_len(very_deep, strlen(very_deep), NULL, -E2BIG, "nesting depth exceeds the limit of 64");
	/* objects count as arrays do, empty ones included */
	assert_fails_len("{\"a\":[{\"b\":[]}]}", 16, &three, -E2BIG,
					 "nesting depth exceeds the limit of 3 at line 1, byte 11");
	assert_fails_len("[[[{}]]]", 8, &three, -E2BIG, "nesting depth exceeds the limit of 3 at line 1, byte 3");
	{
		parsed		p = parse_bytes("[[[1], {}], []]", 15, &three);

		cr_assert_eq(p.rc, 0, "three levels with a limit of 3: %d (%s)", p.rc, p.err);
		json_doc_destroy(p.doc);
	}
	/* a deep document within a raised limit */
	{
		json_limits lots = {.max_depth = 1000000};
		parsed		p = parse_bytes(very_deep, strlen(very_deep), &lots);
		const json_value *v = json_root(p.doc);
		size_t		depth = 0;

		cr_assert_eq(p.rc, 0, "a million levels with the limit raised: %d (%s)", p.rc, p.err);
		while (json_len(v) == 1)
		{
			v = json_at(v, 0);
			depth++;
		}
		cr_assert_eq(depth, 999999, "%zu levels below the top, want 999999", depth);
		json_doc_destroy(p.doc);
	}
	free(ok);
	free(deep);
	free(very_deep);
}

Test(json, enforces_the_node_limit, .timeout = 30)
{
	json_limits five = {.max_nodes = 5};
	parsed		p = parse_bytes("[1, 2, 3, 4]", 12, &five);

	cr_assert_eq(p.rc, 0, "5 values with a limit of 5: %d (%s)", p.rc, p.err);
	json_doc_destroy(p.doc);
	assert_fails_len("[1, 2, 3, 4, 5]", 15, &five, -E2BIG, "number of values exceeds the limit of 5 at line 1, byte 13");
	assert_fails_len("{\"a\": [[], {}], \"b\": null, \"c\": 0}", 34, &five, -E2BIG,
					 "number of values exceeds the limit of 5");
	/* keys are not values */
	p = parse_bytes("{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}", 32, &five);
	cr_assert_eq(p.rc, 0, "an object of 4 members with a limit of 5 values: %d (%s)", p.rc, p.err);
	json_doc_destroy(p.doc);
}

Test(json, enforces_the_input_limit, .timeout = 30)
{
	json_limits ten = {.max_input = 10};
	parsed		p = parse_bytes("[1,2,3,45]", 10, &ten);

	cr_assert_eq(p.rc, 0, "10 bytes with a limit of 10: %d (%s)", p.rc, p.err);
	json_doc_destroy(p.doc);
	assert_fails_len("[1,2,3,456]", 11, &ten, -E2BIG, "input of 11 bytes exceeds the limit of 10 bytes");
	/* whitespace counts */
	assert_fails_len("[1,2,3,45] ", 11, &ten, -E2BIG, "input of 11 bytes exceeds the limit of 10 bytes");
}

Test(json, rejects_bad_arguments, .timeout = 30)
{
	json_doc   *doc = (json_doc *) &doc;	/* not NULL, to see that a failure sets it so */
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(json_parse("1", 1, NULL, NULL, &err), -EINVAL);
	err_clear(&err);
	cr_assert_eq(json_parse(NULL, 1, NULL, &doc, &err), -EINVAL);
	cr_assert_null(doc, "a failed parse leaves *out NULL");
	err_clear(&err);
	cr_assert_eq(json_parse(NULL, 0, NULL, &doc, &err), -EPROTO, "no input is an empty document");
	cr_assert_str_eq(err.msg, "unexpected end of input at line 1, byte 0");
	cr_assert_eq(err.code, -EPROTO);
	cr_assert_eq(err.side, SIDE_LOCAL);
	/* the first error stands (the handle is sticky), and a message may be left out */
	cr_assert_eq(json_parse("[x]", 3, NULL, &doc, &err), -EPROTO);
	cr_assert_str_eq(err.msg, "unexpected end of input at line 1, byte 0");
	cr_assert_eq(json_parse("[x]", 3, NULL, &doc, NULL), -EPROTO);
	err_clear(&err);
	cr_assert_eq(json_parse("[1]", 3, NULL, &doc, &err), 0);
	cr_assert(!err_is_set(&err), "message \"%s\" after a success", err.msg);
	json_doc_destroy(doc);
}

/* ---- numbers ---- */

Test(json, reads_int64_edges, .timeout = 30)
{
	int64_t		v = 0;

	cr_assert_eq(int64_of("-9223372036854775808", &v), 0);
	cr_assert_eq(v, INT64_MIN, "%lld, want %lld", (long long) v, (long long) INT64_MIN);
	cr_assert_eq(int64_of("9223372036854775807", &v), 0);
	cr_assert_eq(v, INT64_MAX, "%lld, want %lld", (long long) v, (long long) INT64_MAX);
	cr_assert_eq(int64_of("-9223372036854775809", &v), -ERANGE, "one below INT64_MIN");
	cr_assert_eq(int64_of("9223372036854775808", &v), -ERANGE, "one above INT64_MAX");
	cr_assert_eq(int64_of("18446744073709551616", &v), -ERANGE, "2^64");
	cr_assert_eq(int64_of("123456789012345678901234567890", &v), -ERANGE);
	cr_assert_eq(int64_of("1e3", &v), -ERANGE, "an exponent is not an integer");
	cr_assert_eq(int64_of("1.0", &v), -ERANGE, "a fraction is not an integer");
	cr_assert_eq(int64_of("1E0", &v), -ERANGE);
	cr_assert_eq(v, INT64_MAX, "a refused number changed the output to %lld", (long long) v);
	cr_assert_eq(int64_of("-0", &v), 0);
	cr_assert_eq(v, 0, "-0 read as %lld", (long long) v);
	cr_assert_eq(int64_of("-1", &v), 0);
	cr_assert_eq(v, -1, "%lld, want -1", (long long) v);
	cr_assert_eq(int64_of("1000000000000000", &v), 0);
	cr_assert_eq(v, 1000000000000000LL, "%lld, want 10^15", (long long) v);
}

Test(json, reads_uint64_edges, .timeout = 30)
{
	uint64_t	v = 0;

	cr_assert_eq(uint64_of("18446744073709551615", &v), 0);
	cr_assert_eq(v, UINT64_MAX, "%llu, want %llu", (unsigned long long) v, (unsigned long long) UINT64_MAX);
	cr_assert_eq(uint64_of("18446744073709551616", &v), -ERANGE, "one above UINT64_MAX");
	cr_assert_eq(uint64_of("99999999999999999999", &v), -ERANGE);
	cr_assert_eq(uint64_of("-1", &v), -ERANGE, "a negative number");
	cr_assert_eq(uint64_of("2.5", &v), -ERANGE);
	cr_assert_eq(uint64_of("-0", &v), 0);
	cr_assert_eq(v, 0, "-0 read as %llu", (unsigned long long) v);
	cr_assert_eq(uint64_of("9223372036854775808", &v), 0);
	cr_assert_eq(v, (uint64_t) INT64_MAX + 1, "%llu, want 2^63", (unsigned long long) v);
}

Test(json, reads_doubles, .timeout = 30)
{
	static const struct
	{
		const char *text;
		double		want;
	}			cases[] = {
		{"1e3", 1000.0}, {"1.0", 1.0}, {"-0.5", -0.5}, {"0.1", 0.1}, {"2.5e-3", 2.5e-3}, {"1E+2", 100.0},
		{"123456789012345678", 123456789012345678.0}, {"-9223372036854775808", -9223372036854775808.0},
		{"18446744073709551616", 18446744073709551616.0}, {"1.7976931348623157e308", DBL_MAX},
		{"4.9406564584124654e-324", 4.9406564584124654e-324}, {"1e-400", 0.0}, {"999999999999999", 999999999999999.0},
		{"9007199254740993", 9007199254740992.0},	/* 2^53 + 1 rounds to even */
	};
	double		d = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		cr_assert_eq(double_of(cases[i].text, &d), 0, "%s", cases[i].text);
		cr_assert_eq(d, cases[i].want, "%s read as %.17g, want %.17g", cases[i].text, d, cases[i].want);
	}
	cr_assert_eq(double_of("-0", &d), 0);
	cr_assert(d == 0 && signbit(d), "-0 read as %g", d);
	cr_assert_eq(double_of("1e999", &d), -ERANGE, "beyond DBL_MAX");
	cr_assert_eq(double_of("-1e999", &d), -ERANGE);
	cr_assert_eq(double_of("1.8e308", &d), -ERANGE);
}

/* ---- quoting ---- */

Test(json, quotes_with_the_short_escapes, .timeout = 30)
{
	char		out[128];
	const char	in[] = "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9";
	size_t		n = json_quote(out, sizeof(out), in, sizeof(in) - 1);
	const char *want = "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\"";

	cr_assert_eq(n, strlen(want), "length %zu, want %zu", n, strlen(want));
	cr_assert_str_eq(out, want);
	n = json_quote(out, sizeof(out), "a\0b", 3);
	cr_assert_str_eq(out, "\"a\\u0000b\"");
	cr_assert_eq(n, 10);
	n = json_quote(out, sizeof(out), NULL, 0);
	cr_assert_str_eq(out, "\"\"");
	cr_assert_eq(n, 2);
}

Test(json, quote_round_trips_every_byte, .timeout = 30)
{
	char		s[8];
	char		what[64];
	char		all[128];

	/* every ASCII byte, alone and amid others */
	for (int c = 0; c < 0x80; c++)
	{
		s[0] = 'x';
		s[1] = (char) c;
		s[2] = 'y';
		snprintf(what, sizeof(what), "byte 0x%02x", c);
		assert_quote_round_trip(s + 1, 1, what);
		assert_quote_round_trip(s, 3, what);
		all[c] = (char) c;
	}
	assert_quote_round_trip(all, sizeof(all), "all of ASCII");

	/* every continuation byte, after a lead byte */
	for (int c = 0x80; c < 0xc0; c++)
	{
		s[0] = (char) 0xc2;
		s[1] = (char) c;
		snprintf(what, sizeof(what), "continuation byte 0x%02x", c);
		assert_quote_round_trip(s, 2, what);
		s[0] = (char) 0xe1;
		s[1] = (char) c;
		s[2] = (char) c;
		assert_quote_round_trip(s, 3, what);
		s[0] = (char) 0xf1;
		s[3] = (char) c;
		assert_quote_round_trip(s, 4, what);
	}
	/* every lead byte, before the lowest continuation that is valid after it */
	for (int c = 0xc2; c <= 0xf4; c++)
	{
		size_t		n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		s[0] = (char) c;
		s[1] = (char) (c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80);
		s[2] = (char) 0x80;
		s[3] = (char) 0xbf;
		snprintf(what, sizeof(what), "lead byte 0x%02x", c);
		assert_quote_round_trip(s, n, what);
	}
	/*
	 * every byte that is not valid UTF-8 where it stands (alone, a lead byte
	 * cut short, one that is never UTF-8) is escaped as \udcXX, and only it
	 */
	for (int c = 0x80; c <= 0xff; c++)
	{
		char		out[32];
		char		want[32];

		s[0] = (char) c;
		s[1] = 'a';
		snprintf(what, sizeof(what), "byte 0x%02x before 'a'", c);
		snprintf(want, sizeof(want), "\"\\udc%02xa\"", c);
		cr_assert_eq(json_quote(out, sizeof(out), s, 2), strlen(want), "%s", what);
		cr_assert_str_eq(out, want, "%s", what);
		assert_quote_round_trip(s, 2, what);
		assert_quote_round_trip(s, 1, what);
	}
	s[0] = (char) 0xe9;			/* Latin-1 "é" amid valid UTF-8 "é" */
	s[1] = (char) 0xc3;
	s[2] = (char) 0xa9;
	s[3] = (char) 0xe9;
	assert_quote_round_trip(s, 4, "Latin-1 beside UTF-8");
}

Test(json, reads_python_surrogateescape, .timeout = 30)
{
	/* json.dumps(b"caf\xe9".decode("utf-8", "surrogateescape")) */
	assert_string_is("\"caf\\udce9\"", "caf\xe9", 4);
	assert_string_is("\"\\udc80\\uDCFF\"", "\x80\xff", 2);
	/* the other lone low surrogates stay refused */
	assert_fails("\"\\udc7f\"", "lone low surrogate \"\\udc7f\"");
	assert_fails("\"\\udd00\"", "lone low surrogate");
}

Test(json, quote_round_trips_random_bytes, .timeout = 60)
{
	uint64_t	x = 0x2545f4914f6cdd1dULL;

	for (int round = 0; round < 2000; round++)
	{
		char		s[64];
		size_t		len = 1 + round % (sizeof(s) - 1);
		char		what[32];

		for (size_t i = 0; i < len; i++)
		{
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[i] = (char) (x >> 56);
		}
		snprintf(what, sizeof(what), "random bytes, round %d", round);
		assert_quote_round_trip(s, len, what);
	}
}

Test(json, quote_round_trips_random_strings, .timeout = 60)
{
	static const long points[] = {0, 1, 0x1f, '"', '\\', '/', 'a', 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff,
	0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff};
	uint64_t	x = 0x9e3779b97f4a7c15ULL;

	for (int round = 0; round < 2000; round++)
	{
		char		s[256];
		size_t		len = 0;
		char		what[32];

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (size_t k = 0; k < x % 40; k++)
		{
			long		cp;
			uint64_t	r;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r = x >> 16;
			cp = (r & 1) ? points[(r >> 1) % (sizeof(points) / sizeof(points[0]))] : (long) ((r >> 1) % 0x80);
			if (cp < 0x80)
				s[len++] = (char) cp;
			else if (cp < 0x800)
			{
				s[len++] = (char) (0xc0 | (cp >> 6));
				s[len++] = (char) (0x80 | (cp & 0x3f));
			}
			else if (cp < 0x10000)
			{
				s[len++] = (char) (0xe0 | (cp >> 12));
				s[len++] = (char) (0x80 | ((cp >> 6) & 0x3f));
				s[len++] = (char) (0x80 | (cp & 0x3f));
			}
			else
			{
				s[len++] = (char) (0xf0 | (cp >> 18));
				s[len++] = (char) (0x80 | ((cp >> 12) & 0x3f));
				s[len++] = (char) (0x80 | ((cp >> 6) & 0x3f));
				s[len++] = (char) (0x80 | (cp & 0x3f));
			}
		}
		snprintf(what, sizeof(what), "random string %d", round);
		assert_quote_round_trip(s, len, what);
	}
}

Test(json, quote_truncates_like_snprintf, .timeout = 30)
{
	const char *in = "a\n\x01\"";
	const char *full = "\"a\\n\\u0001\\\"\"";
	size_t		full_len = strlen(full);
	char		out[32];

	cr_assert_eq(json_quote(NULL, 0, in, 4), full_len, "json_quote(NULL, 0) says %zu, want %zu",
				 json_quote(NULL, 0, in, 4), full_len);
	for (size_t outlen = 1; outlen <= full_len + 2; outlen++)
	{
		size_t		n;
		size_t		kept = outlen - 1 < full_len ? outlen - 1 : full_len;

		memset(out, '#', sizeof(out));
		n = json_quote(out, outlen, in, 4);
		cr_assert_eq(n, full_len, "outlen %zu: returned %zu, want %zu", outlen, n, full_len);
		cr_assert_eq(strlen(out), kept, "outlen %zu: wrote %zu bytes, want %zu", outlen, strlen(out), kept);
		cr_assert_eq(memcmp(out, full, kept), 0, "outlen %zu: \"%s\" is not a prefix of \"%s\"", outlen, out, full);
		cr_assert_eq(out[outlen], '#', "outlen %zu: wrote past the buffer", outlen);
	}
	/* outlen 0 writes nothing */
	memset(out, '#', sizeof(out));
	cr_assert_eq(json_quote(out, 0, in, 4), full_len);
	cr_assert_eq(out[0], '#', "outlen 0 wrote 0x%02x", (unsigned char) out[0]);
}
