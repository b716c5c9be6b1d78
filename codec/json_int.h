/*
 * json_int.h: what the reader's files share: json_parse.c (the parser),
 * json_text.c (below it: the arena, messages with a place, UTF-8, strings,
 * quoting) and json.c (access to a parsed document).  Not for other
 * modules.
 */
#ifndef PGSLUICE_CODEC_JSON_INT_H
#define PGSLUICE_CODEC_JSON_INT_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/json.h"

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
	sl_err	   *err;			/* the caller's; NULL: no message */
} json_parser;

/* Frees every block of the arena. */
void		json_arena_free(json_arena *arena);

void	   *json_arena_alloc(json_arena *arena, size_t size, size_t align);

/* Writes fmt and " at line L, byte B" to the caller's buffer; returns code. */
int			json_fail_at(json_parser *ps, int code, size_t offset, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* A failure with no place in the input. */
int			json_fail(json_parser *ps, int code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* Names what is at offset at, for "found ..." and "unexpected ...". */
const char *json_show_found(const json_parser *ps, size_t at, char *buf, size_t buflen);

int			json_key_compare(const char *a, size_t a_len, const char *b, size_t b_len);

/*
 * Checks the UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Returns its length (1 to 4), 0 when
 * it is invalid with *bad the index of the first byte that makes it so, or
 * -1 when the input ends inside a sequence that was valid so far.
 */
int			json_utf8_check(const unsigned char *p, size_t avail, size_t *bad);

/* Names invalid UTF-8 at p, bad being json_utf8_check()'s index. */
const char *json_show_bad_utf8(const unsigned char *p, size_t bad, char *buf, size_t buflen);

/* Reads the string literal at ps->pos into the arena. */
int			json_read_string(json_parser *ps, const char **str, size_t *len);

#endif
