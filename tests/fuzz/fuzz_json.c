/*
 * fuzz_json.c: libFuzzer target for the JSON reader and the string quoter
 * (codec/json.c).
 *
 * The input is a document, parsed from a copy of exactly its size so that
 * AddressSanitizer catches a read past the end.  A failure must be -EPROTO
 * or -E2BIG (the default depth cap), with a message that ends in the right
 * line and byte of the input.  The same input is parsed again with tight
 * limits (4 levels, 64 values): that parse may only fail where the first
 * succeeded with -E2BIG, and where the first failed it must fail with the
 * same message or -E2BIG; and with an input limit one byte short it must
 * fail with -E2BIG.
 *
 * A document that parses is walked whole (recursion is fine here: the depth
 * is capped at JSON_DEPTH_DEFAULT): the accessors must agree with each other
 * (json_get() finds every member by its key, json_int64() and json_uint64()
 * agree with json_double()), every string and key is quoted with
 * json_quote() and must parse back to the same bytes (and a cut
 * json_quote() must write a prefix of the whole literal).  Then the tree is
 * written out as JSON, parsed again and written out again: the two texts
 * must be the same bytes.  And where the writer can say it (no NUL in a
 * string or key, numbers that are integers, nesting within JSON_WRITE_DEPTH), the tree is written again with the writer of
 * codec/json_write.c, in lines and inline by turns: that text must parse to
 * the same tree.  Otherwise the target aborts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"

#include "fuzz_common.h"

#define ERR_LEN 1024

typedef struct text_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} text_buf;

/* Makes room for n more bytes and a NUL. */

/* json_parse with its message in a buffer, "" on success, as the checks below compare them. */
static int
parse_into(const char *text, size_t len, const json_limits *limits, json_doc **out, char *msg, size_t msglen)
{
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = json_parse(text, len, limits, out, &err);
	snprintf(msg, msglen, "%s", err.msg);
	return rc;
}

static void
buf_reserve(text_buf *b, size_t n)
{
	size_t		cap = b->cap ? b->cap : 256;

	if (b->len + n + 1 <= b->cap)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->data = realloc(b->data, cap);
	if (b->data == NULL)
		abort();
	b->cap = cap;
}

static void
buf_put(text_buf *b, const char *src, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_quote(text_buf *b, const char *s, size_t len)
{
	size_t		need = json_quote(NULL, 0, s, len);

	buf_reserve(b, need);
	if (json_quote(b->data + b->len, need + 1, s, len) != need)
		abort();
	b->len += need;
}

/* The message of a failed parse must end with " at line L, byte B" for the place it names. */
static void
check_place(const uint8_t *data, size_t size, const char *err)
{
	const char *at = NULL;
	const char *p = err;
	size_t		line = 0;
	size_t		offset = 0;
	size_t		want_line = 1;
	char		tail[8];

	while ((p = strstr(p, " at line ")) != NULL)
		at = p++;
	if (at == NULL || sscanf(at, " at line %zu, byte %zu%7s", &line, &offset, tail) != 2)
	{
		fprintf(stderr, "message without a place: \"%s\"\n", err);
		abort();
	}
	if (offset > size)
	{
		fprintf(stderr, "message names byte %zu of %zu: \"%s\"\n", offset, size, err);
		abort();
	}
	for (size_t i = 0; i < offset; i++)
		want_line += data[i] == '\n';
	if (line != want_line)
	{
		fprintf(stderr, "message names line %zu, byte %zu is on line %zu: \"%s\"\n",
				line, offset, want_line, err);
		abort();
	}
}

/* Quotes s and parses it back: the same bytes, and a cut quote is a prefix. */
static void
check_quote(const char *s, size_t len)
{
	size_t		need = json_quote(NULL, 0, s, len);
	char	   *lit = malloc(need + 1);
	char	   *cut = malloc(need / 2 + 1);
	json_doc   *doc = NULL;
	char		err[ERR_LEN];
	const char *back;
	size_t		back_len = 0;
	int			rc;

	if (lit == NULL || cut == NULL)
		abort();
	if (json_quote(lit, need + 1, s, len) != need || strlen(lit) != need)
		abort();
	if (json_quote(cut, need / 2 + 1, s, len) != need || strlen(cut) != need / 2 ||
		memcmp(cut, lit, need / 2) != 0)
		abort();
	rc = parse_into(lit, need, NULL, &doc, err, sizeof(err));
	if (rc != 0)
	{
		fprintf(stderr, "quoted string does not parse: %d (%s)\n", rc, err);
		abort();
	}
	back = json_string(json_root(doc), &back_len);
	if (back == NULL || back_len != len || memcmp(back, s, len) != 0 || back[len] != '\0')
	{
		fprintf(stderr, "quoted string of %zu bytes came back as %zu bytes\n", len, back_len);
		abort();
	}
	json_doc_destroy(doc);
	free(cut);
	free(lit);
}

static void
check_number(const json_value *v, text_buf *out)
{
	int64_t		i = 0;
	uint64_t	u = 0;
	double		d = 0;
	int			rc_i = json_int64(v, &i);
	int			rc_u = json_uint64(v, &u);
	int			rc_d = json_double(v, &d);
	char		num[64];
	int			n;

	if ((rc_i != 0 && rc_i != -ERANGE) || (rc_u != 0 && rc_u != -ERANGE) || (rc_d != 0 && rc_d != -ERANGE))
		abort();
	if (rc_i == 0 && (rc_d != 0 || d != (double) i))
		abort();
	if (rc_u == 0 && (rc_d != 0 || d != (double) u))
		abort();
	if (rc_i == 0 && i >= 0 && (rc_u != 0 || u != (uint64_t) i))
		abort();
	if (rc_u == 0 && u <= (uint64_t) INT64_MAX && (rc_i != 0 || (uint64_t) i != u))
		abort();
	if (rc_i == 0)
		n = snprintf(num, sizeof(num), "%lld", (long long) i);
	else if (rc_u == 0)
		n = snprintf(num, sizeof(num), "%llu", (unsigned long long) u);
	else if (rc_d == 0 && d == 0)
		n = snprintf(num, sizeof(num), "0");	/* "-0.0": "-0" would come back as the integer 0 */
	else if (rc_d == 0)
		n = snprintf(num, sizeof(num), "%.17g", d);
	else
		n = snprintf(num, sizeof(num), "1e999");
	buf_put(out, num, (size_t) n);
}

/* Checks v and everything in it, and writes it to out as JSON. */
static void
walk(const json_value *v, size_t depth, text_buf *out)
{
	const char *s;
	size_t		len = 0;
	bool		b;

	if (depth > JSON_DEPTH_DEFAULT)
		abort();
	switch (json_kind(v))
	{
		case JSON_NULL:
			if (!json_is_null(v))
				abort();
			buf_put(out, "null", 4);
			break;
		case JSON_BOOL:
			if (json_bool(v, &b) != 0)
				abort();
			buf_put(out, b ? "true" : "false", b ? 4 : 5);
			break;
		case JSON_NUMBER:
			check_number(v, out);
			break;
		case JSON_STRING:
			s = json_string(v, &len);
			if (s == NULL || s[len] != '\0' || json_len(v) != 0)
				abort();
			check_quote(s, len);
			buf_quote(out, s, len);
			break;
		case JSON_ARRAY:
			buf_put(out, "[", 1);
			for (size_t i = 0; i < json_len(v); i++)
			{
				if (i > 0)
					buf_put(out, ",", 1);
				walk(json_at(v, i), depth + 1, out);
			}
			if (json_at(v, json_len(v)) != NULL || json_member(v, 0, NULL, NULL) != NULL)
				abort();
			buf_put(out, "]", 1);
			break;
		case JSON_OBJECT:
			buf_put(out, "{", 1);
			for (size_t i = 0; i < json_len(v); i++)
			{
				const char *key = NULL;
				size_t		key_len = 0;
				const json_value *member = json_member(v, i, &key, &key_len);

				if (member == NULL || key == NULL || key[key_len] != '\0')
					abort();
				/* (a key with a NUL in it is found by no C string) */
				if (strlen(key) == key_len && json_get(v, key) != member)
					abort();
				check_quote(key, key_len);
				if (i > 0)
					buf_put(out, ",", 1);
				buf_quote(out, key, key_len);
				buf_put(out, ":", 1);
				walk(member, depth + 1, out);
			}
			if (json_member(v, json_len(v), NULL, NULL) != NULL || json_at(v, 0) != NULL)
				abort();
			buf_put(out, "}", 1);
			break;
		case JSON_NONE:
			abort();
	}
}

/* Writes v as key's value with the writer; false where the writer cannot say v (see the header). */
static bool
rewrite(const json_value *v, const char *key, size_t depth, json_writer *w)
{
	const char *str;
	size_t		len = 0;
	int64_t		n;
	uint64_t	u;
	bool		b;

	if (depth >= JSON_WRITE_DEPTH)
		return false;
	switch (json_kind(v))
	{
		case JSON_NULL:
			json_put_null(w, key);
			return true;
		case JSON_BOOL:
			json_bool(v, &b);
			json_put_bool(w, key, b);
			return true;
		case JSON_NUMBER:
			/* integers, as walk writes them; the writer has no form for any double */
			if (json_int64(v, &n) == 0)
				json_put_int(w, key, n);
			else if (json_uint64(v, &u) == 0)
				json_put_uint(w, key, u);
			else
				return false;
			return true;
		case JSON_STRING:
			str = json_string(v, &len);
			if (strlen(str) != len)
				return false;
			json_put_string(w, key, str);
			return true;
		case JSON_ARRAY:
			json_put_array(w, key, depth % 2 ? JSON_INLINE : JSON_LINES);
			for (size_t i = 0; i < json_len(v); i++)
				if (!rewrite(json_at(v, i), NULL, depth + 1, w))
					return false;
			json_put_end(w);
			return true;
		case JSON_OBJECT:
			json_put_object(w, key, depth % 2 ? JSON_LINES : JSON_INLINE);
			for (size_t i = 0; i < json_len(v); i++)
			{
				const char *k = NULL;
				size_t		k_len = 0;
				const json_value *member = json_member(v, i, &k, &k_len);

				if (strlen(k) != k_len || !rewrite(member, k, depth + 1, w))
					return false;
			}
			json_put_end(w);
			return true;
		case JSON_NONE:
			break;
	}
	return false;
}

/* The writer's text of doc, where it can say doc, must parse to the tree that walk wrote as want. */
static void
rewritten(const json_doc *doc, const text_buf *want)
{
	sbuf		text;
	json_writer w;
	json_doc   *again = NULL;
	text_buf	got = {0};
	char		msg[ERR_LEN];

	sbuf_init(&text, (size_t) 1 << 26);
	json_writer_init(&w, &text);
	if (rewrite(json_root(doc), NULL, 0, &w))
	{
		if (json_writer_finish(&w) != 0)
		{
			fprintf(stderr, "the writer refused a document it was given whole\n");
			abort();
		}
		if (parse_into(text.data, text.len, NULL, &again, msg, sizeof(msg)) != 0)
		{
			fprintf(stderr, "the writer's text does not parse (%s): %s\n", msg, sbuf_str(&text));
			abort();
		}
		walk(json_root(again), 0, &got);
		if (got.len != want->len || memcmp(got.data, want->data, want->len) != 0)
		{
			fprintf(stderr, "the writer's text is another document: %s\n", sbuf_str(&text));
			abort();
		}
	}
	json_doc_destroy(again);
	free(got.data);
	sbuf_fini(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const json_limits tight = {.max_depth = 4, .max_nodes = 64};
	char	   *copy = malloc(size ? size : 1);
	json_doc   *doc = NULL;
	json_doc   *other = NULL;
	char		err[ERR_LEN];
	char		other_err[ERR_LEN];
	text_buf	first = {0};
	text_buf	second = {0};
	int			rc;
	int			other_rc;

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);

	rc = parse_into(copy, size, NULL, &doc, err, sizeof(err));
	if ((rc == 0) != (doc != NULL) || (rc == 0) != (err[0] == '\0'))
		abort();
	if (rc != 0 && rc != -EPROTO && rc != -E2BIG)
	{
		fprintf(stderr, "parse: %d (%s)\n", rc, err);
		abort();
	}
	if (rc < 0)
		check_place(data, size, err);

	other_rc = parse_into(copy, size, &tight, &other, other_err, sizeof(other_err));
	if (other_rc < 0)
		check_place(data, size, other_err);
	if (other_rc == 0 ? rc != 0 : (other_rc != -E2BIG && (other_rc != rc || strcmp(err, other_err) != 0)))
	{
		fprintf(stderr, "default limits: %d (%s); tight limits: %d (%s)\n", rc, err, other_rc, other_err);
		abort();
	}
	json_doc_destroy(other);
	other = NULL;
	if (size > 1)				/* (a limit of 0 means the default) */
	{
		json_limits short_input = {.max_input = size - 1};

		if (parse_into(copy, size, &short_input, &other, other_err, sizeof(other_err)) != -E2BIG)
			abort();
	}

	if (rc == 0)
	{
		walk(json_root(doc), 0, &first);
		rc = parse_into(first.data, first.len, NULL, &other, other_err, sizeof(other_err));
		if (rc != 0)
		{
			fprintf(stderr, "written back, the document does not parse: %d (%s)\n", rc, other_err);
			abort();
		}
		walk(json_root(other), 0, &second);
		if (second.len != first.len || memcmp(second.data, first.data, first.len) != 0)
		{
			fprintf(stderr, "written twice, the document changed (%zu, then %zu bytes)\n",
					first.len, second.len);
			abort();
		}
		rewritten(doc, &first);
	}
	json_doc_destroy(other);
	json_doc_destroy(doc);
	free(first.data);
	free(second.data);
	free(copy);
	return 0;
}
