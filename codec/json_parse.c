/*
 * json_parse.c: the strict JSON reader.  See json.h for what is accepted;
 * its arena, its messages and its strings are json_text.c, a parsed
 * document is read through json.c.
 *
 * The parser is a loop over an explicit stack of open arrays and objects
 * (frames), never a recursion, so a document nested past the cap fails with
 * a message, not a stack overflow.  The values of open containers wait on a
 * second stack (slots); when a container closes, its values move into the
 * arena as one contiguous array, so json_at() is an index, and a
 * 100,000-element array costs one allocation (or none, when the arena's
 * current block has room), not 100,000.  Both stacks grow by doubling and are
 * freed when the parse ends.
 *
 * A string is read twice: the first pass checks it (escapes, surrogate
 * pairs, UTF-8, control characters) and counts its decoded bytes; the second
 * writes them into an arena allocation of exactly that size, and cannot
 * fail.  Both run the same code, so they cannot disagree.
 *
 * Duplicate keys are looked for when an object closes: pair by pair in small
 * objects, by sorting the members in larger ones, whose sorted index then
 * stays in the arena for json_get()'s binary search.
 *
 * A number keeps its text, from which json_int64() reads exact integers, and
 * its double, computed here: exactly for integers of up to 15 digits, else
 * by strtod_l() in the C locale, so that a caller's LC_NUMERIC with a
 * decimal comma changes nothing.
 *
 * Memory: the arena holds the decoded strings and the numbers' text (at most
 * the input's size, plus a NUL each), 32 bytes per array element, 48 per object
 * member (8 more in objects of over JSON_SCAN_MAX members); the stacks hold
 * 56 bytes per value of the open containers and 40 per open container.  All
 * of it is bounded by the limits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* strtod_l, newlocale */
#endif

#include "codec/json.h"
#include "codec/json_int.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

/* ---- messages ---- */

/* A key as a quoted literal, cut after JSON_SHOW_MAX bytes; buf has JSON_SHOW_LEN bytes. */
static const char *
show_key(const char *key, size_t len, char *buf)
{
	size_t		cut = len > JSON_SHOW_MAX ? JSON_SHOW_MAX : len;
	size_t		n;

	while (cut < len && cut > 0 && ((unsigned char) key[cut] & 0xc0) == 0x80)
		cut--;					/* not inside a UTF-8 sequence */
	n = json_quote(buf, JSON_SHOW_LEN, key, cut);
	if (cut < len && n + 3 < JSON_SHOW_LEN)
		memcpy(buf + n - 1, "...\"", 5);
	return buf;
}

/* Input bytes [start, end) of a token of ASCII characters, quoted and cut. */
static const char *
show_token(const json_parser *ps, size_t start, size_t end, char *buf, size_t buflen)
{
	size_t		n = end - start;

	if (n > JSON_SHOW_MAX)
		snprintf(buf, buflen, "\"%.*s...\"", JSON_SHOW_MAX, (const char *) ps->text + start);
	else
		snprintf(buf, buflen, "\"%.*s\"", (int) n, (const char *) ps->text + start);
	return buf;
}

/* ---- stacks ---- */

/* Makes room for need elements of elem bytes in *buf; need <= max. */
static int
grow(void **buf, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t		new_cap;
	void	   *p;

	if (need <= *cap)
		return 0;
	new_cap = *cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2;
	if (new_cap < 16)
		new_cap = 16;
	if (new_cap < need)
		new_cap = need;
	if (new_cap > max)
		new_cap = max;
	if (new_cap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*buf, new_cap * elem);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = new_cap;
	return 0;
}

static int
count_node(json_parser *ps)
{
	if (ps->nodes >= ps->limits.max_nodes)
		return json_fail_at(ps, -E2BIG, ps->pos, "number of values exceeds the limit of %zu",
					   ps->limits.max_nodes);
	ps->nodes++;
	return 0;
}

/* ---- scalars ---- */

static void
skip_space(json_parser *ps)
{
	while (ps->pos < ps->len)
	{
		unsigned char c = ps->text[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int
peek(const json_parser *ps)
{
	return ps->pos < ps->len ? ps->text[ps->pos] : -1;
}

static bool
is_digit(const json_parser *ps, size_t at)
{
	return at < ps->len && ps->text[at] >= '0' && ps->text[at] <= '9';
}

/* The number-like bytes from start, for messages. */
static size_t
number_end(const json_parser *ps, size_t start)
{
	size_t		pos = start;

	while (pos < ps->len && ps->text[pos] != '\0' && strchr("0123456789+-.eE", ps->text[pos]) != NULL)
		pos++;
	return pos;
}

static int
read_number(json_parser *ps, json_value *value)
{
	const unsigned char *t = ps->text;
	size_t		start = ps->pos;
	size_t		pos = start;
	size_t		digits_start;
	size_t		digits;
	bool		integer = true;
	char		shown[JSON_SHOW_LEN];
	char	   *text;
	size_t		len;

	if (t[pos] == '-')
		pos++;
	digits_start = pos;
	if (pos < ps->len && t[pos] == '0')
	{
		pos++;
		if (is_digit(ps, pos))
			return json_fail_at(ps, -EPROTO, start, "leading zero in number %s",
						   show_token(ps, start, number_end(ps, start), shown, sizeof(shown)));
	}
	else if (is_digit(ps, pos))
	{
		while (is_digit(ps, pos))
			pos++;
	}
	else
		return json_fail_at(ps, -EPROTO, pos, "expected a digit after \"-\", found %s",
					   json_show_found(ps, pos, shown, sizeof(shown)));
	digits = pos - digits_start;
	if (pos < ps->len && t[pos] == '.')
	{
		integer = false;
		pos++;
		if (!is_digit(ps, pos))
			return json_fail_at(ps, -EPROTO, pos, "expected a digit after \".\" in number, found %s",
						   json_show_found(ps, pos, shown, sizeof(shown)));
		while (is_digit(ps, pos))
			pos++;
	}
	if (pos < ps->len && (t[pos] == 'e' || t[pos] == 'E'))
	{
		integer = false;
		pos++;
		if (pos < ps->len && (t[pos] == '+' || t[pos] == '-'))
			pos++;
		if (!is_digit(ps, pos))
			return json_fail_at(ps, -EPROTO, pos, "expected a digit in the exponent of a number, found %s",
						   json_show_found(ps, pos, shown, sizeof(shown)));
		while (is_digit(ps, pos))
			pos++;
	}

	len = pos - start;
	text = json_arena_alloc(ps->arena, len + 1, 1);
	if (text == NULL)
		return json_fail(ps, -ENOMEM, "out of memory reading a number");
	memcpy(text, t + start, len);
	text[len] = '\0';
	value->type = JSON_NUMBER;
	value->flags = integer ? JSON_FLAG_INTEGER : 0;
	value->len = len;
	value->u.number.text = text;
	if (integer && digits <= JSON_EXACT_DIGITS)
	{
		uint64_t	magnitude = 0;

		for (size_t i = digits_start; i < pos; i++)
			magnitude = magnitude * 10 + (uint64_t) (t[i] - '0');
		value->u.number.value = t[start] == '-' ? -(double) magnitude : (double) magnitude;
	}
	else
	{
		if (ps->c_locale == (locale_t) 0)
		{
			ps->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
			if (ps->c_locale == (locale_t) 0)
				return json_fail(ps, -ENOMEM, "could not create the C locale: %s", strerror(errno));
		}
		value->u.number.value = strtod_l(text, NULL, ps->c_locale);
		if (isinf(value->u.number.value))
			value->flags |= JSON_FLAG_HUGE;
	}
	ps->pos = pos;
	return 0;
}

static bool
is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int
read_literal(json_parser *ps, json_value *value)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t		start = ps->pos;
	size_t		pos = start;
	size_t		len;
	char		shown[JSON_SHOW_LEN];

	while (pos < ps->len && is_word_char(ps->text[pos]))
		pos++;
	len = pos - start;
	memset(value, 0, sizeof(*value));
	if (len == 4 && memcmp(ps->text + start, "true", 4) == 0)
	{
		value->type = JSON_BOOL;
		value->flags = JSON_FLAG_TRUE;
	}
	else if (len == 5 && memcmp(ps->text + start, "false", 5) == 0)
		value->type = JSON_BOOL;
	else if (len == 4 && memcmp(ps->text + start, "null", 4) == 0)
		value->type = JSON_NULL;
	else
	{
		/* a literal cut short by the end of the input, as in a truncated file */
		for (size_t i = 0; pos == ps->len && i < sizeof(words) / sizeof(words[0]); i++)
			if (len < strlen(words[i]) && memcmp(ps->text + start, words[i], len) == 0)
				return json_fail_at(ps, -EPROTO, pos, "unexpected end of input");
		return json_fail_at(ps, -EPROTO, start, "invalid literal %s",
					   show_token(ps, start, pos, shown, sizeof(shown)));
	}
	ps->pos = pos;
	return 0;
}

/* ---- containers ---- */

int
json_key_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int			c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	if (c != 0)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

static int
pair_compare(const void *a, const void *b)
{
	const json_pair *x = *(const json_pair *const *) a;
	const json_pair *y = *(const json_pair *const *) b;

	return json_key_compare(x->key, x->key_len, y->key, y->key_len);
}

static int
duplicate_key(json_parser *ps, const json_slot *slot)
{
	char		shown[JSON_SHOW_LEN];

	return json_fail_at(ps, -EPROTO, slot->key_offset, "duplicate key %s in object",
				   show_key(slot->pair.key, slot->pair.key_len, shown));
}

/*
 * Refuses an object with two members of the same key, naming the first key
 * (in document order) that repeats an earlier one.  Sets *index to the
 * sorted index of a large object.
 */
static int
check_keys(json_parser *ps, const json_slot *slots, const json_pair *pairs, size_t n,
		   const json_pair *const **index)
{
	const json_pair **sorted;
	size_t		first_repeat = n;

	*index = NULL;
	if (n <= JSON_SCAN_MAX)
	{
		for (size_t j = 1; j < n; j++)
			for (size_t i = 0; i < j; i++)
				if (json_key_compare(pairs[i].key, pairs[i].key_len, pairs[j].key, pairs[j].key_len) == 0)
					return duplicate_key(ps, &slots[j]);
		return 0;
	}
	sorted = json_arena_alloc(ps->arena, n * sizeof(*sorted), _Alignof(const json_pair *));
	if (sorted == NULL)
		return json_fail(ps, -ENOMEM, "out of memory indexing an object of %zu members", n);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &pairs[i];
	qsort(sorted, n, sizeof(*sorted), pair_compare);
	for (size_t i = 0; i + 1 < n;)
	{
		size_t		run_end = i + 1;
		size_t		least = (size_t) (sorted[i] - pairs);
		size_t		second = n;

		while (run_end < n && pair_compare(&sorted[i], &sorted[run_end]) == 0)
		{
			size_t		at = (size_t) (sorted[run_end] - pairs);

			if (at < least)
			{
				second = least;
				least = at;
			}
			else if (at < second)
				second = at;
			run_end++;
		}
		if (second < first_repeat)
			first_repeat = second;
		i = run_end;
	}
	if (first_repeat < n)
		return duplicate_key(ps, &slots[first_repeat]);
	*index = sorted;
	return 0;
}

/* Moves the values of the innermost open container into the arena, as *value. */
static int
close_container(json_parser *ps, json_value *value)
{
	json_frame *frame = &ps->frames[ps->nframes - 1];
	json_slot  *slots = ps->slots + frame->first_slot;
	size_t		n = ps->nslots - frame->first_slot;
	int			rc;

	memset(value, 0, sizeof(*value));
	value->type = (uint8_t) frame->type;
	value->len = n;
	if (frame->type == JSON_ARRAY)
	{
		json_value *items = json_arena_alloc(ps->arena, n * sizeof(*items), _Alignof(json_value));

		if (items == NULL)
			return json_fail(ps, -ENOMEM, "out of memory building an array of %zu elements", n);
		for (size_t i = 0; i < n; i++)
			items[i] = slots[i].pair.value;
		value->u.items = items;
	}
	else
	{
		json_pair  *pairs = json_arena_alloc(ps->arena, n * sizeof(*pairs), _Alignof(json_pair));

		if (pairs == NULL)
			return json_fail(ps, -ENOMEM, "out of memory building an object of %zu members", n);
		for (size_t i = 0; i < n; i++)
			pairs[i] = slots[i].pair;
		rc = check_keys(ps, slots, pairs, n, &value->u.object.index);
		if (rc < 0)
			return rc;
		value->u.object.pairs = pairs;
	}
	ps->nslots = frame->first_slot;
	ps->nframes--;
	return 0;
}

/* Reads an object key and its colon, for the innermost frame. */
static int
read_key(json_parser *ps, const char *expected)
{
	json_frame *frame = &ps->frames[ps->nframes - 1];
	char		shown[64];
	int			rc;

	if (peek(ps) != '"')
		return json_fail_at(ps, -EPROTO, ps->pos, "expected %s, found %s", expected,
					   json_show_found(ps, ps->pos, shown, sizeof(shown)));
	frame->key_offset = ps->pos;
	rc = json_read_string(ps, &frame->key, &frame->key_len);
	if (rc < 0)
		return rc;
	skip_space(ps);
	if (peek(ps) != ':')
		return json_fail_at(ps, -EPROTO, ps->pos, "expected \":\" after object key, found %s",
					   json_show_found(ps, ps->pos, shown, sizeof(shown)));
	ps->pos++;
	skip_space(ps);
	return 0;
}

/*
 * Reads the value at ps->pos.  Returns 1 with *value when it is complete (a
 * scalar or an empty container), 0 when it opened a container whose first
 * value comes next, or a negative errno.
 */
static int
read_value(json_parser *ps, json_value *value)
{
	char		shown[64];
	int			c = peek(ps);
	int			rc;

	if (c == -1)
		return json_fail_at(ps, -EPROTO, ps->pos, "unexpected end of input");
	/* a word that starts like no literal is an unexpected character, as a bracket would be */
	if (c != '[' && c != '{' && c != '"' && c != '-' && !(c >= '0' && c <= '9') &&
		c != 't' && c != 'f' && c != 'n')
		return json_fail_at(ps, -EPROTO, ps->pos, "unexpected %s", json_show_found(ps, ps->pos, shown, sizeof(shown)));
	rc = count_node(ps);
	if (rc < 0)
		return rc;
	memset(value, 0, sizeof(*value));
	if (c == '"')
	{
		value->type = JSON_STRING;
		rc = json_read_string(ps, &value->u.string, &value->len);
		return rc < 0 ? rc : 1;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
	{
		rc = read_number(ps, value);
		return rc < 0 ? rc : 1;
	}
	if (c != '[' && c != '{')
	{
		rc = read_literal(ps, value);
		return rc < 0 ? rc : 1;
	}

	/* an array or an object */
	if (ps->nframes >= ps->limits.max_depth)
		return json_fail_at(ps, -E2BIG, ps->pos, "nesting depth exceeds the limit of %zu",
					   ps->limits.max_depth);
	ps->pos++;
	skip_space(ps);
	if (peek(ps) == (c == '[' ? ']' : '}'))
	{
		ps->pos++;
		value->type = c == '[' ? JSON_ARRAY : JSON_OBJECT;
		return 1;
	}
	rc = grow((void **) &ps->frames, &ps->frames_cap, ps->nframes + 1, sizeof(json_frame),
			  ps->limits.max_depth);
	if (rc < 0)
		return json_fail(ps, rc, "out of memory at nesting depth %zu", ps->nframes + 1);
	memset(&ps->frames[ps->nframes], 0, sizeof(json_frame));
	ps->frames[ps->nframes].type = c == '[' ? JSON_ARRAY : JSON_OBJECT;
	ps->frames[ps->nframes].first_slot = ps->nslots;
	ps->nframes++;
	if (c == '{')
	{
		rc = read_key(ps, "a string key or \"}\"");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Adds a complete value to the innermost container, then reads what follows
 * it, closing containers as their ends come.  Returns 1 when the top-level
 * value is complete (in *value), 0 when another value comes next, or a
 * negative errno.
 */
static int
after_value(json_parser *ps, json_value *value)
{
	char		shown[64];
	int			rc;

	while (ps->nframes > 0)
	{
		json_frame *frame = &ps->frames[ps->nframes - 1];
		bool		array = frame->type == JSON_ARRAY;
		json_slot  *slot;
		int			c;

		rc = grow((void **) &ps->slots, &ps->slots_cap, ps->nslots + 1, sizeof(json_slot),
				  ps->limits.max_nodes);
		if (rc < 0)
			return json_fail(ps, rc, "out of memory holding %zu values", ps->nslots + 1);
		slot = &ps->slots[ps->nslots++];
		slot->pair.key = array ? NULL : frame->key;
		slot->pair.key_len = array ? 0 : frame->key_len;
		slot->pair.value = *value;
		slot->key_offset = frame->key_offset;

		skip_space(ps);
		c = peek(ps);
		if (c == ',')
		{
			size_t		comma = ps->pos;

			ps->pos++;
			skip_space(ps);
			if (peek(ps) == (array ? ']' : '}'))
				return json_fail_at(ps, -EPROTO, comma, "trailing comma in %s", array ? "array" : "object");
			if (array)
				return 0;
			rc = read_key(ps, "a string key after \",\"");
			return rc < 0 ? rc : 0;
		}
		if (c != (array ? ']' : '}'))
			return json_fail_at(ps, -EPROTO, ps->pos, "expected \",\" or \"%c\" after %s, found %s",
						   array ? ']' : '}', array ? "array element" : "object member",
						   json_show_found(ps, ps->pos, shown, sizeof(shown)));
		ps->pos++;
		rc = close_container(ps, value);
		if (rc < 0)
			return rc;
	}
	return 1;
}

int
json_parse(const char *text, size_t len, const json_limits *limits, json_doc **out, sl_err *err)
{
	json_parser ps;
	json_doc   *doc = NULL;
	char		shown[64];
	int			rc;

	memset(&ps, 0, sizeof(ps));
	ps.text = (const unsigned char *) text;
	ps.len = len;
	ps.err = err;
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (text == NULL && len > 0))
		return json_fail(&ps, -EINVAL, "invalid arguments to json_parse");
	if (limits != NULL)
		ps.limits = *limits;
	if (ps.limits.max_depth == 0)
		ps.limits.max_depth = JSON_DEPTH_DEFAULT;
	if (ps.limits.max_nodes == 0)
		ps.limits.max_nodes = JSON_NODES_DEFAULT;
	if (ps.limits.max_input == 0)
		ps.limits.max_input = JSON_INPUT_DEFAULT;
	if (len > ps.limits.max_input)
		return json_fail(&ps, -E2BIG, "input of %zu bytes exceeds the limit of %zu bytes",
					len, ps.limits.max_input);

	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
	{
		rc = json_fail(&ps, -ENOMEM, "out of memory");
		goto done;
	}
	ps.arena = &doc->arena;

	skip_space(&ps);
	for (;;)
	{
		rc = read_value(&ps, &doc->root);
		if (rc < 0)
			goto done;
		if (rc == 0)
			continue;			/* the first value of a container comes next */
		rc = after_value(&ps, &doc->root);
		if (rc < 0)
			goto done;
		if (rc == 1)
			break;
	}
	skip_space(&ps);
	if (ps.pos < ps.len)
	{
		rc = json_fail_at(&ps, -EPROTO, ps.pos, "unexpected %s after the top-level value",
					 json_show_found(&ps, ps.pos, shown, sizeof(shown)));
		goto done;
	}
	rc = 0;
	*out = doc;
	doc = NULL;

done:
	if (ps.c_locale != (locale_t) 0)
		freelocale(ps.c_locale);
	free(ps.frames);
	free(ps.slots);
	json_doc_destroy(doc);
	return rc;
}

void
json_doc_destroy(json_doc *doc)
{
	if (doc == NULL)
		return;
	json_arena_free(&doc->arena);
	free(doc);
}

/* ---- access ---- */

/* ---- writing ---- */

