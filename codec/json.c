/*
 * json.c: strict JSON reader and string quoter.  See json.h for what is
 * accepted.
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

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_SCAN_MAX 8			/* objects of up to this many members have no index */
#define JSON_EXACT_DIGITS 15	/* integers of up to this many digits are exact doubles */
#define JSON_SHOW_MAX 40		/* bytes of a key or token quoted in a message, at most */
#define JSON_SHOW_LEN 256		/* room for JSON_SHOW_MAX bytes quoted: 6 each, quotes, "..." */
#define ARENA_BLOCK_MIN ((size_t) 4096)
#define ARENA_BLOCK_MAX ((size_t) 1 << 20)

/* json_value.flags */
#define JSON_FLAG_TRUE 0x01		/* a bool that is true */
#define JSON_FLAG_INTEGER 0x02	/* a number with neither fraction nor exponent */
#define JSON_FLAG_HUGE 0x04		/* a number beyond DBL_MAX: no double */

typedef struct json_pair json_pair;

/* A value; lives in its document's arena and is never written after the parse. */
struct json_value
{
	uint8_t		type;			/* json_type */
	uint8_t		flags;			/* JSON_FLAG_* */
	size_t		len;			/* string: bytes; number: bytes of text; array, object: count */
	union
	{
		const char *string;		/* len bytes and a NUL */
		struct
		{
			const char *text;	/* as written: len bytes and a NUL */
			double		value;	/* nearest double; meaningless with JSON_FLAG_HUGE */
		}			number;
		const json_value *items;	/* len elements */
		struct
		{
			const json_pair *pairs; /* len members, in document order */
			const json_pair *const *index;	/* sorted by key; NULL up to JSON_SCAN_MAX members */
		}			object;
	}			u;
};

struct json_pair
{
	const char *key;			/* key_len bytes and a NUL */
	size_t		key_len;
	json_value	value;
};

/* Arena: blocks that are freed together.  The head is the block being filled. */
typedef struct arena_block
{
	struct arena_block *next;
	size_t		size;			/* bytes in data */
	size_t		used;
	unsigned char data[];
} arena_block;

typedef struct json_arena
{
	arena_block *head;
	size_t		next_size;		/* of the next ordinary block: doubles to ARENA_BLOCK_MAX */
} json_arena;

struct json_doc
{
	json_arena	arena;			/* owns every string, array and object of the document */
	json_value	root;
};

/* A value of an open container, waiting for it to close. */
typedef struct json_slot
{
	json_pair	pair;			/* key NULL in an array */
	size_t		key_offset;		/* where the key starts in the input, for messages */
} json_slot;

/* An open array or object. */
typedef struct json_frame
{
	json_type	type;			/* JSON_ARRAY or JSON_OBJECT */
	size_t		first_slot;		/* its values so far are slots[first_slot..nslots) */
	const char *key;			/* object: the key of the value being read (in the arena) */
	size_t		key_len;
	size_t		key_offset;
} json_frame;

/* One parse; on the caller's stack, owns the stacks but not the arena. */
typedef struct json_parser
{
	const unsigned char *text;
	size_t		len;
	size_t		pos;			/* next byte to read */
	json_limits limits;			/* with the defaults filled in */
	json_arena *arena;			/* the document's */
	json_slot  *slots;
	size_t		nslots;
	size_t		slots_cap;
	json_frame *frames;
	size_t		nframes;
	size_t		frames_cap;
	size_t		nodes;			/* values begun so far */
	locale_t	c_locale;		/* (locale_t) 0 until a number needs strtod_l() */
	char	   *err;
	size_t		errlen;
} json_parser;

/* ---- arena ---- */

static void *
arena_alloc(json_arena *arena, size_t size, size_t align)
{
	arena_block *block = arena->head;
	size_t		block_size;

	if (block != NULL)
	{
		size_t		pad = (size_t) (-(uintptr_t) (block->data + block->used)) & (align - 1);
		size_t		room = block->size - block->used;

		if (room >= pad && room - pad >= size)
		{
			void	   *p = block->data + block->used + pad;

			block->used += pad + size;
			return p;
		}
	}
	if (size > SIZE_MAX - sizeof(arena_block) - align)
		return NULL;
	if (size > ARENA_BLOCK_MAX / 4)
	{
		/* A block of its own, behind the head, whose free space stays in use. */
		block = malloc(sizeof(arena_block) + size + align);
		if (block == NULL)
			return NULL;
		block->size = size + align;
		block->used = block->size;
		if (arena->head == NULL)
		{
			block->next = NULL;
			arena->head = block;
		}
		else
		{
			block->next = arena->head->next;
			arena->head->next = block;
		}
		return block->data + ((size_t) (-(uintptr_t) block->data) & (align - 1));
	}
	block_size = arena->next_size ? arena->next_size : ARENA_BLOCK_MIN;
	while (block_size < size + align)
		block_size *= 2;		/* stays within ARENA_BLOCK_MAX: size <= ARENA_BLOCK_MAX / 4 */
	arena->next_size = block_size < ARENA_BLOCK_MAX ? block_size * 2 : ARENA_BLOCK_MAX;
	block = malloc(sizeof(arena_block) + block_size);
	if (block == NULL)
		return NULL;
	block->next = arena->head;
	block->size = block_size;
	block->used = ((size_t) (-(uintptr_t) block->data) & (align - 1)) + size;
	arena->head = block;
	return block->data + block->used - size;
}

static void
arena_free(json_arena *arena)
{
	arena_block *block = arena->head;

	while (block != NULL)
	{
		arena_block *next = block->next;

		free(block);
		block = next;
	}
	arena->head = NULL;
}

/* ---- messages ---- */

/* 1 + the "\n" bytes before offset. */
static size_t
line_of(const unsigned char *text, size_t offset)
{
	const unsigned char *p = text;
	const unsigned char *end = text + offset;
	size_t		line = 1;

	if (offset == 0)
		return 1;
	while ((p = memchr(p, '\n', (size_t) (end - p))) != NULL)
	{
		line++;
		p++;
	}
	return line;
}

static int	fail_at(json_parser *ps, int code, size_t offset, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Writes fmt and " at line L, byte B" to the caller's buffer; returns code. */
static int
fail_at(json_parser *ps, int code, size_t offset, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (ps->err == NULL || ps->errlen == 0)
		return code;
	va_start(ap, fmt);
	n = vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t) n < ps->errlen)
		snprintf(ps->err + n, ps->errlen - (size_t) n, " at line %zu, byte %zu",
				 line_of(ps->text, offset), offset);
	return code;
}

static int	fail(json_parser *ps, int code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* A failure with no place in the input. */
static int
fail(json_parser *ps, int code, const char *fmt,...)
{
	va_list		ap;

	if (ps->err != NULL && ps->errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Checks the UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Returns its length (1 to 4), 0 when
 * it is invalid with *bad the index of the first byte that makes it so, or
 * -1 when the input ends inside a sequence that was valid so far.
 */
static int
utf8_check(const unsigned char *p, size_t avail, size_t *bad)
{
	unsigned char lead = p[0];
	unsigned char lo = 0x80;	/* range of the next byte */
	unsigned char hi = 0xbf;
	int			more;

	if (lead < 0x80)
		return 1;
	if (lead < 0xc2 || lead > 0xf4)
	{
		*bad = 0;
		return 0;
	}
	if (lead < 0xe0)
		more = 1;
	else if (lead < 0xf0)
	{
		more = 2;
		if (lead == 0xe0)
			lo = 0xa0;			/* else overlong */
		else if (lead == 0xed)
			hi = 0x9f;			/* else a surrogate */
	}
	else
	{
		more = 3;
		if (lead == 0xf0)
			lo = 0x90;			/* else overlong */
		else if (lead == 0xf4)
			hi = 0x8f;			/* else above U+10FFFF */
	}
	for (int i = 1; i <= more; i++)
	{
		if ((size_t) i >= avail)
			return -1;
		if (p[i] < lo || p[i] > hi)
		{
			*bad = (size_t) i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return more + 1;
}

/* Names invalid UTF-8 at p, bad being utf8_check()'s index. */
static const char *
show_bad_utf8(const unsigned char *p, size_t bad, char *buf, size_t buflen)
{
	size_t		used;

	if (bad == 0)
	{
		snprintf(buf, buflen, "invalid UTF-8 byte 0x%02x", p[0]);
		return buf;
	}
	used = (size_t) snprintf(buf, buflen, "invalid UTF-8 sequence");
	for (size_t i = 0; i <= bad && used < buflen; i++)
		used += (size_t) snprintf(buf + used, buflen - used, " 0x%02x", p[i]);
	return buf;
}

/* Names what is at offset at, for "found ..." and "unexpected ...". */
static const char *
show_found(const json_parser *ps, size_t at, char *buf, size_t buflen)
{
	const unsigned char *p = ps->text + at;
	size_t		bad = 0;
	int			n;

	if (at >= ps->len)
		return "end of input";
	if (*p < 0x20 || *p == 0x7f)
		snprintf(buf, buflen, "control character 0x%02x", *p);
	else if (*p == '"')
		return "character '\"'";
	else if ((n = utf8_check(p, ps->len - at, &bad)) > 0)
		snprintf(buf, buflen, "character \"%.*s\"", n, (const char *) p);
	else if (n < 0)
		snprintf(buf, buflen, "incomplete UTF-8 sequence at end of input");
	else
		show_bad_utf8(p, bad, buf, buflen);
	return buf;
}

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
		return fail_at(ps, -E2BIG, ps->pos, "number of values exceeds the limit of %zu",
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

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at at: their value, -1 if they are not hex, -2 if the input ends first. */
static long
hex4(const json_parser *ps, size_t at)
{
	long		cp = 0;

	for (size_t i = 0; i < 4; i++)
	{
		int			digit;

		if (at + i >= ps->len)
			return -2;
		digit = hex_value(ps->text[at + i]);
		if (digit < 0)
			return -1;
		cp = cp * 16 + digit;
	}
	return cp;
}

/* Writes code point cp as UTF-8 to out (when not NULL); returns its length. */
static size_t
utf8_put(char *out, long cp)
{
	unsigned char buf[4];
	size_t		n;

	if (cp < 0x80)
	{
		buf[0] = (unsigned char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		buf[0] = (unsigned char) (0xc0 | (cp >> 6));
		buf[1] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		buf[0] = (unsigned char) (0xe0 | (cp >> 12));
		buf[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 3;
	}
	else
	{
		buf[0] = (unsigned char) (0xf0 | (cp >> 18));
		buf[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		buf[3] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 4;
	}
	if (out != NULL)
		memcpy(out, buf, n);
	return n;
}

/*
 * One pass over the string literal whose opening quote is at start.  With
 * out NULL it checks the literal and sets *size to its decoded length and
 * *end to the offset after its closing quote; with out (*size bytes) it
 * writes the decoded bytes, and cannot fail, the literal having been checked.
 */
static int
string_pass(json_parser *ps, size_t start, char *out, size_t *size, size_t *end)
{
	const unsigned char *t = ps->text;
	size_t		pos = start + 1;
	size_t		n = 0;
	char		shown[64];

	for (;;)
	{
		size_t		run = pos;
		unsigned char c;

		/* the common case: printable ASCII */
		while (run < ps->len && t[run] >= 0x20 && t[run] < 0x80 && t[run] != '"' && t[run] != '\\')
			run++;
		if (out != NULL)
			memcpy(out + n, t + pos, run - pos);
		n += run - pos;
		pos = run;
		if (pos >= ps->len)
			return fail_at(ps, -EPROTO, start, "unterminated string starting");
		c = t[pos];
		if (c == '"')
			break;
		if (c == '\\')
		{
			long		cp;
			size_t		esc_len = 2;

			if (pos + 1 >= ps->len)
				return fail_at(ps, -EPROTO, start, "unterminated string starting");
			switch (t[pos + 1])
			{
				case '"':
				case '\\':
				case '/':
					cp = t[pos + 1];
					break;
				case 'b':
					cp = '\b';
					break;
				case 'f':
					cp = '\f';
					break;
				case 'n':
					cp = '\n';
					break;
				case 'r':
					cp = '\r';
					break;
				case 't':
					cp = '\t';
					break;
				case 'u':
					cp = hex4(ps, pos + 2);
					esc_len = 6;
					if (cp == -2)
						return fail_at(ps, -EPROTO, start, "unterminated string starting");
					if (cp < 0)
						return fail_at(ps, -EPROTO, pos,
									   "\"\\u\" not followed by four hexadecimal digits in string");
					if (cp >= 0xdc80 && cp <= 0xdcff)
					{
						/* json_quote's escape of a byte of invalid UTF-8: that byte */
						if (out != NULL)
							out[n] = (char) (cp - 0xdc00);
						n++;
						pos += esc_len;
						continue;
					}
					if (cp >= 0xdc00 && cp <= 0xdfff)
						return fail_at(ps, -EPROTO, pos, "lone low surrogate \"%.6s\" in string",
									   (const char *) t + pos);
					if (cp >= 0xd800 && cp <= 0xdbff)
					{
						long		low;

						if (pos + 6 >= ps->len || (t[pos + 6] == '\\' && pos + 7 >= ps->len))
							return fail_at(ps, -EPROTO, start, "unterminated string starting");
						if (t[pos + 6] != '\\' || t[pos + 7] != 'u')
							return fail_at(ps, -EPROTO, pos, "lone high surrogate \"%.6s\" in string",
										   (const char *) t + pos);
						low = hex4(ps, pos + 8);
						if (low == -2)
							return fail_at(ps, -EPROTO, start, "unterminated string starting");
						if (low < 0)
							return fail_at(ps, -EPROTO, pos + 6,
										   "\"\\u\" not followed by four hexadecimal digits in string");
						if (low < 0xdc00 || low > 0xdfff)
							return fail_at(ps, -EPROTO, pos,
										   "high surrogate \"%.6s\" followed by \"%.6s\", not by a low surrogate, in string",
										   (const char *) t + pos, (const char *) t + pos + 6);
						cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
						esc_len = 12;
					}
					break;
				default:
					if (t[pos + 1] > 0x20 && t[pos + 1] < 0x7f)
						return fail_at(ps, -EPROTO, pos, "invalid escape \"\\%c\" in string", t[pos + 1]);
					return fail_at(ps, -EPROTO, pos, "invalid escape: \"\\\" followed by %s in string",
								   show_found(ps, pos + 1, shown, sizeof(shown)));
			}
			n += utf8_put(out != NULL ? out + n : NULL, cp);
			pos += esc_len;
		}
		else if (c < 0x20)
			return fail_at(ps, -EPROTO, pos, "unescaped control character 0x%02x in string", c);
		else
		{
			size_t		bad = 0;
			int			k = utf8_check(t + pos, ps->len - pos, &bad);

			if (k < 0)
				return fail_at(ps, -EPROTO, start, "unterminated string starting");
			if (k == 0)
				return fail_at(ps, -EPROTO, pos, "%s in string", show_bad_utf8(t + pos, bad, shown, sizeof(shown)));
			if (out != NULL)
				memcpy(out + n, t + pos, (size_t) k);
			n += (size_t) k;
			pos += (size_t) k;
		}
	}
	if (out == NULL)
		*size = n;
	*end = pos + 1;
	return 0;
}

/* Reads the string literal at ps->pos into the arena. */
static int
read_string(json_parser *ps, const char **str, size_t *len)
{
	size_t		size = 0;
	size_t		end = 0;
	char	   *buf;
	int			rc;

	rc = string_pass(ps, ps->pos, NULL, &size, &end);
	if (rc < 0)
		return rc;
	buf = arena_alloc(ps->arena, size + 1, 1);
	if (buf == NULL)
		return fail(ps, -ENOMEM, "out of memory reading a string of %zu bytes", size);
	string_pass(ps, ps->pos, buf, &size, &end);
	buf[size] = '\0';
	*str = buf;
	*len = size;
	ps->pos = end;
	return 0;
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
			return fail_at(ps, -EPROTO, start, "leading zero in number %s",
						   show_token(ps, start, number_end(ps, start), shown, sizeof(shown)));
	}
	else if (is_digit(ps, pos))
	{
		while (is_digit(ps, pos))
			pos++;
	}
	else
		return fail_at(ps, -EPROTO, pos, "expected a digit after \"-\", found %s",
					   show_found(ps, pos, shown, sizeof(shown)));
	digits = pos - digits_start;
	if (pos < ps->len && t[pos] == '.')
	{
		integer = false;
		pos++;
		if (!is_digit(ps, pos))
			return fail_at(ps, -EPROTO, pos, "expected a digit after \".\" in number, found %s",
						   show_found(ps, pos, shown, sizeof(shown)));
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
			return fail_at(ps, -EPROTO, pos, "expected a digit in the exponent of a number, found %s",
						   show_found(ps, pos, shown, sizeof(shown)));
		while (is_digit(ps, pos))
			pos++;
	}

	len = pos - start;
	text = arena_alloc(ps->arena, len + 1, 1);
	if (text == NULL)
		return fail(ps, -ENOMEM, "out of memory reading a number");
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
				return fail(ps, -ENOMEM, "could not create the C locale: %s", strerror(errno));
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
				return fail_at(ps, -EPROTO, pos, "unexpected end of input");
		return fail_at(ps, -EPROTO, start, "invalid literal %s",
					   show_token(ps, start, pos, shown, sizeof(shown)));
	}
	ps->pos = pos;
	return 0;
}

/* ---- containers ---- */

static int
key_compare(const char *a, size_t a_len, const char *b, size_t b_len)
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

	return key_compare(x->key, x->key_len, y->key, y->key_len);
}

static int
duplicate_key(json_parser *ps, const json_slot *slot)
{
	char		shown[JSON_SHOW_LEN];

	return fail_at(ps, -EPROTO, slot->key_offset, "duplicate key %s in object",
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
				if (key_compare(pairs[i].key, pairs[i].key_len, pairs[j].key, pairs[j].key_len) == 0)
					return duplicate_key(ps, &slots[j]);
		return 0;
	}
	sorted = arena_alloc(ps->arena, n * sizeof(*sorted), _Alignof(const json_pair *));
	if (sorted == NULL)
		return fail(ps, -ENOMEM, "out of memory indexing an object of %zu members", n);
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
		json_value *items = arena_alloc(ps->arena, n * sizeof(*items), _Alignof(json_value));

		if (items == NULL)
			return fail(ps, -ENOMEM, "out of memory building an array of %zu elements", n);
		for (size_t i = 0; i < n; i++)
			items[i] = slots[i].pair.value;
		value->u.items = items;
	}
	else
	{
		json_pair  *pairs = arena_alloc(ps->arena, n * sizeof(*pairs), _Alignof(json_pair));

		if (pairs == NULL)
			return fail(ps, -ENOMEM, "out of memory building an object of %zu members", n);
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
		return fail_at(ps, -EPROTO, ps->pos, "expected %s, found %s", expected,
					   show_found(ps, ps->pos, shown, sizeof(shown)));
	frame->key_offset = ps->pos;
	rc = read_string(ps, &frame->key, &frame->key_len);
	if (rc < 0)
		return rc;
	skip_space(ps);
	if (peek(ps) != ':')
		return fail_at(ps, -EPROTO, ps->pos, "expected \":\" after object key, found %s",
					   show_found(ps, ps->pos, shown, sizeof(shown)));
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
		return fail_at(ps, -EPROTO, ps->pos, "unexpected end of input");
	/* a word that starts like no literal is an unexpected character, as a bracket would be */
	if (c != '[' && c != '{' && c != '"' && c != '-' && !(c >= '0' && c <= '9') &&
		c != 't' && c != 'f' && c != 'n')
		return fail_at(ps, -EPROTO, ps->pos, "unexpected %s", show_found(ps, ps->pos, shown, sizeof(shown)));
	rc = count_node(ps);
	if (rc < 0)
		return rc;
	memset(value, 0, sizeof(*value));
	if (c == '"')
	{
		value->type = JSON_STRING;
		rc = read_string(ps, &value->u.string, &value->len);
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
		return fail_at(ps, -E2BIG, ps->pos, "nesting depth exceeds the limit of %zu",
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
		return fail(ps, rc, "out of memory at nesting depth %zu", ps->nframes + 1);
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
			return fail(ps, rc, "out of memory holding %zu values", ps->nslots + 1);
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
				return fail_at(ps, -EPROTO, comma, "trailing comma in %s", array ? "array" : "object");
			if (array)
				return 0;
			rc = read_key(ps, "a string key after \",\"");
			return rc < 0 ? rc : 0;
		}
		if (c != (array ? ']' : '}'))
			return fail_at(ps, -EPROTO, ps->pos, "expected \",\" or \"%c\" after %s, found %s",
						   array ? ']' : '}', array ? "array element" : "object member",
						   show_found(ps, ps->pos, shown, sizeof(shown)));
		ps->pos++;
		rc = close_container(ps, value);
		if (rc < 0)
			return rc;
	}
	return 1;
}

int
json_parse(const char *text, size_t len, const json_limits *limits, json_doc **out,
		   char *err, size_t errlen)
{
	json_parser ps;
	json_doc   *doc = NULL;
	char		shown[64];
	int			rc;

	memset(&ps, 0, sizeof(ps));
	ps.text = (const unsigned char *) text;
	ps.len = len;
	ps.err = err;
	ps.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (text == NULL && len > 0))
		return fail(&ps, -EINVAL, "invalid arguments to json_parse");
	if (limits != NULL)
		ps.limits = *limits;
	if (ps.limits.max_depth == 0)
		ps.limits.max_depth = JSON_DEPTH_DEFAULT;
	if (ps.limits.max_nodes == 0)
		ps.limits.max_nodes = JSON_NODES_DEFAULT;
	if (ps.limits.max_input == 0)
		ps.limits.max_input = JSON_INPUT_DEFAULT;
	if (len > ps.limits.max_input)
		return fail(&ps, -E2BIG, "input of %zu bytes exceeds the limit of %zu bytes",
					len, ps.limits.max_input);

	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
	{
		rc = fail(&ps, -ENOMEM, "out of memory");
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
		rc = fail_at(&ps, -EPROTO, ps.pos, "unexpected %s after the top-level value",
					 show_found(&ps, ps.pos, shown, sizeof(shown)));
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
	arena_free(&doc->arena);
	free(doc);
}

/* ---- access ---- */

const json_value *
json_root(const json_doc *doc)
{
	return doc != NULL ? &doc->root : NULL;
}

json_type
json_kind(const json_value *value)
{
	return value != NULL ? (json_type) value->type : JSON_NONE;
}

const char *
json_type_name(json_type type)
{
	switch (type)
	{
		case JSON_NULL:
			return "null";
		case JSON_BOOL:
			return "boolean";
		case JSON_NUMBER:
			return "number";
		case JSON_STRING:
			return "string";
		case JSON_ARRAY:
			return "array";
		case JSON_OBJECT:
			return "object";
		case JSON_NONE:
			break;
	}
	return "nothing";
}

const json_value *
json_get(const json_value *object, const char *key)
{
	const json_pair *const *index;
	size_t		key_len;
	size_t		lo = 0;
	size_t		hi;

	if (object == NULL || object->type != JSON_OBJECT || key == NULL)
		return NULL;
	key_len = strlen(key);
	index = object->u.object.index;
	if (index == NULL)
	{
		for (size_t i = 0; i < object->len; i++)
		{
			const json_pair *pair = &object->u.object.pairs[i];

			if (pair->key_len == key_len && memcmp(pair->key, key, key_len) == 0)
				return &pair->value;
		}
		return NULL;
	}
	hi = object->len;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			c = key_compare(index[mid]->key, index[mid]->key_len, key, key_len);

		if (c == 0)
			return &index[mid]->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
json_len(const json_value *value)
{
	if (value == NULL || (value->type != JSON_ARRAY && value->type != JSON_OBJECT))
		return 0;
	return value->len;
}

const json_value *
json_at(const json_value *array, size_t i)
{
	if (array == NULL || array->type != JSON_ARRAY || i >= array->len)
		return NULL;
	return &array->u.items[i];
}

const json_value *
json_member(const json_value *object, size_t i, const char **key, size_t *key_len)
{
	const json_pair *pair = NULL;

	if (object != NULL && object->type == JSON_OBJECT && i < object->len)
		pair = &object->u.object.pairs[i];
	if (key != NULL)
		*key = pair != NULL ? pair->key : NULL;
	if (key_len != NULL)
		*key_len = pair != NULL ? pair->key_len : 0;
	return pair != NULL ? &pair->value : NULL;
}

const char *
json_string(const json_value *value, size_t *len)
{
	if (value == NULL || value->type != JSON_STRING)
	{
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = value->len;
	return value->u.string;
}

/* The magnitude and sign of an integer written without fraction or exponent. */
static int
integer_of(const json_value *value, uint64_t *magnitude, bool *negative)
{
	const char *p;
	uint64_t	m = 0;

	if (value == NULL || value->type != JSON_NUMBER)
		return -EINVAL;
	if (!(value->flags & JSON_FLAG_INTEGER))
		return -ERANGE;
	p = value->u.number.text;
	*negative = *p == '-';
	if (*negative)
		p++;
	for (; *p != '\0'; p++)
	{
		uint64_t	digit = (uint64_t) (*p - '0');

		if (m > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		m = m * 10 + digit;
	}
	*magnitude = m;
	return 0;
}

int
json_int64(const json_value *value, int64_t *out)
{
	uint64_t	m = 0;
	bool		negative = false;
	int			rc = integer_of(value, &m, &negative);

	if (rc < 0)
		return rc;
	if (negative)
	{
		if (m > (uint64_t) INT64_MAX + 1)
			return -ERANGE;
		*out = m == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) m;
	}
	else
	{
		if (m > (uint64_t) INT64_MAX)
			return -ERANGE;
		*out = (int64_t) m;
	}
	return 0;
}

int
json_uint64(const json_value *value, uint64_t *out)
{
	uint64_t	m = 0;
	bool		negative = false;
	int			rc = integer_of(value, &m, &negative);

	if (rc < 0)
		return rc;
	if (negative && m != 0)
		return -ERANGE;
	*out = m;
	return 0;
}

int
json_double(const json_value *value, double *out)
{
	if (value == NULL || value->type != JSON_NUMBER)
		return -EINVAL;
	if (value->flags & JSON_FLAG_HUGE)
		return -ERANGE;
	*out = value->u.number.value;
	return 0;
}

int
json_bool(const json_value *value, bool *out)
{
	if (value == NULL || value->type != JSON_BOOL)
		return -EINVAL;
	*out = (value->flags & JSON_FLAG_TRUE) != 0;
	return 0;
}

bool
json_is_null(const json_value *value)
{
	return value != NULL && value->type == JSON_NULL;
}

/* ---- writing ---- */

static inline void
put_char(char *out, size_t outlen, size_t *need, char c)
{
	if (*need + 1 < outlen)
		out[*need] = c;
	(*need)++;
}

size_t
json_quote(char *out, size_t outlen, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		need = 0;

	put_char(out, outlen, &need, '"');
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc = 0;

		switch (c)
		{
			case '"':
				esc = '"';
				break;
			case '\\':
				esc = '\\';
				break;
			case '\b':
				esc = 'b';
				break;
			case '\f':
				esc = 'f';
				break;
			case '\n':
				esc = 'n';
				break;
			case '\r':
				esc = 'r';
				break;
			case '\t':
				esc = 't';
				break;
			default:
				break;
		}
		if (esc != 0)
		{
			put_char(out, outlen, &need, '\\');
			put_char(out, outlen, &need, esc);
			continue;
		}
		if (c >= 0x80)
		{
			size_t		bad;
			int			k = utf8_check((const unsigned char *) s + i, len - i, &bad);

			if (k > 0)
			{
				for (int j = 0; j < k; j++)
					put_char(out, outlen, &need, s[i + j]);
				i += (size_t) k - 1;
				continue;
			}
		}
		if (c < 0x20 || c >= 0x80)
		{
			/* a control character as \u00XX, a byte of invalid UTF-8 as \udcXX */
			put_char(out, outlen, &need, '\\');
			put_char(out, outlen, &need, 'u');
			put_char(out, outlen, &need, c < 0x20 ? '0' : 'd');
			put_char(out, outlen, &need, c < 0x20 ? '0' : 'c');
			put_char(out, outlen, &need, hex[c >> 4]);
			put_char(out, outlen, &need, hex[c & 15]);
		}
		else
			put_char(out, outlen, &need, (char) c);
	}
	put_char(out, outlen, &need, '"');
	if (outlen > 0)
		out[need < outlen ? need : outlen - 1] = '\0';
	return need;
}

char *
json_quote_dup(const char *s)
{
	size_t		len = strlen(s);
	size_t		need = json_quote(NULL, 0, s, len);
	char	   *quoted = malloc(need + 1);

	if (quoted != NULL)
		json_quote(quoted, need + 1, s, len);
	return quoted;
}
