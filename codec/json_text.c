/*
 * json_text.c: the reader's text, below the parser (json_parse.c): the
 * arena the decoded values go in, the messages that name a place in the
 * input, the UTF-8 check those messages and the quoter share, the two
 * passes over a string (the first checks escapes, surrogate pairs, UTF-8
 * and control characters and counts the decoded bytes, the second writes
 * them into an arena allocation of exactly that size), and json_quote.
 * See json.h.
 */
#include "codec/json.h"
#include "codec/json_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena, and messages with a place ---- */

void *
json_arena_alloc(json_arena *arena, size_t size, size_t align)
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

void
json_arena_free(json_arena *arena)
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

/* Fills the caller's error with fmt and " at line L, byte B"; returns code. */
int
json_fail_at(json_parser *ps, int code, size_t offset, const char *fmt,...)
{
	char		msg[SL_ERR_MSG_MAX];
	va_list		ap;

	if (ps->err == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(ps->err, SIDE_LOCAL, code, "%s at line %zu, byte %zu", msg, line_of(ps->text, offset),
				   offset);
}

/* A failure with no place in the input. */
int
json_fail(json_parser *ps, int code, const char *fmt,...)
{
	va_list		ap;

	if (ps->err == NULL)
		return code;
	va_start(ap, fmt);
	err_setv(ps->err, SIDE_LOCAL, code, fmt, ap);
	va_end(ap);
	return code;
}

/* Names what is at offset at, for "found ..." and "unexpected ...". */
const char *
json_show_found(const json_parser *ps, size_t at, char *buf, size_t buflen)
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
	else if ((n = json_utf8_check(p, ps->len - at, &bad)) > 0)
		snprintf(buf, buflen, "character \"%.*s\"", n, (const char *) p);
	else if (n < 0)
		snprintf(buf, buflen, "incomplete UTF-8 sequence at end of input");
	else
		json_show_bad_utf8(p, bad, buf, buflen);
	return buf;
}

/* ---- strings ---- */

/*
 * Checks the UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Returns its length (1 to 4), 0 when
 * it is invalid with *bad the index of the first byte that makes it so, or
 * -1 when the input ends inside a sequence that was valid so far.
 */
int
json_utf8_check(const unsigned char *p, size_t avail, size_t *bad)
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

/* Names invalid UTF-8 at p, bad being json_utf8_check()'s index. */
const char *
json_show_bad_utf8(const unsigned char *p, size_t bad, char *buf, size_t buflen)
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
			return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
		c = t[pos];
		if (c == '"')
			break;
		if (c == '\\')
		{
			long		cp;
			size_t		esc_len = 2;

			if (pos + 1 >= ps->len)
				return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
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
						return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
					if (cp < 0)
						return json_fail_at(ps, -EPROTO, pos,
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
						return json_fail_at(ps, -EPROTO, pos, "lone low surrogate \"%.6s\" in string",
									   (const char *) t + pos);
					if (cp >= 0xd800 && cp <= 0xdbff)
					{
						long		low;

						if (pos + 6 >= ps->len || (t[pos + 6] == '\\' && pos + 7 >= ps->len))
							return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
						if (t[pos + 6] != '\\' || t[pos + 7] != 'u')
							return json_fail_at(ps, -EPROTO, pos, "lone high surrogate \"%.6s\" in string",
										   (const char *) t + pos);
						low = hex4(ps, pos + 8);
						if (low == -2)
							return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
						if (low < 0)
							return json_fail_at(ps, -EPROTO, pos + 6,
										   "\"\\u\" not followed by four hexadecimal digits in string");
						if (low < 0xdc00 || low > 0xdfff)
							return json_fail_at(ps, -EPROTO, pos,
										   "high surrogate \"%.6s\" followed by \"%.6s\", not by a low surrogate, in string",
										   (const char *) t + pos, (const char *) t + pos + 6);
						cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
						esc_len = 12;
					}
					break;
				default:
					if (t[pos + 1] > 0x20 && t[pos + 1] < 0x7f)
						return json_fail_at(ps, -EPROTO, pos, "invalid escape \"\\%c\" in string", t[pos + 1]);
					return json_fail_at(ps, -EPROTO, pos, "invalid escape: \"\\\" followed by %s in string",
								   json_show_found(ps, pos + 1, shown, sizeof(shown)));
			}
			n += utf8_put(out != NULL ? out + n : NULL, cp);
			pos += esc_len;
		}
		else if (c < 0x20)
			return json_fail_at(ps, -EPROTO, pos, "unescaped control character 0x%02x in string", c);
		else
		{
			size_t		bad = 0;
			int			k = json_utf8_check(t + pos, ps->len - pos, &bad);

			if (k < 0)
				return json_fail_at(ps, -EPROTO, start, "unterminated string starting");
			if (k == 0)
				return json_fail_at(ps, -EPROTO, pos, "%s in string", json_show_bad_utf8(t + pos, bad, shown, sizeof(shown)));
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
int
json_read_string(json_parser *ps, const char **str, size_t *len)
{
	size_t		size = 0;
	size_t		end = 0;
	char	   *buf;
	int			rc;

	rc = string_pass(ps, ps->pos, NULL, &size, &end);
	if (rc < 0)
		return rc;
	buf = json_arena_alloc(ps->arena, size + 1, 1);
	if (buf == NULL)
		return json_fail(ps, -ENOMEM, "out of memory reading a string of %zu bytes", size);
	string_pass(ps, ps->pos, buf, &size, &end);
	buf[size] = '\0';
	*str = buf;
	*len = size;
	ps->pos = end;
	return 0;
}

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
			int			k = json_utf8_check((const unsigned char *) s + i, len - i, &bad);

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
