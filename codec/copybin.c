/*
 * copybin.c: streaming parser and row hasher for COPY ... (FORMAT binary).
 *
 * The parser is a state machine over "items": the signature, a big-endian
 * word (1, 2 or 4 bytes) whose meaning is kept in `word`, a run of bytes
 * hashed as they are (a plain value), or a run of bytes left out of the hash
 * (the header extension, an array's flags and element OID, a record field's
 * OID).  A word split between two buffers is gathered in `word_buf`; nothing
 * else is ever copied.  When a word is complete, word_done() decides what it
 * means and which item comes next.
 *
 * Values that contain other values (arrays, records, ranges, multiranges) are
 * walked with a stack of frames, one per open value, each knowing how many
 * bytes of its declared length are still unaccounted for: every word and
 * every child length is taken from that budget, so a child that overruns its
 * parent is caught when its length is read, and a value whose contents end
 * early is caught when it closes.
 *
 * Hashing: the bytes of a tuple are handed to the XXH3 streaming state in
 * runs.  `run` points at the first byte of the current buffer not yet hashed;
 * a left-out item flushes the run before itself and restarts it after itself,
 * and the end of the buffer or of the tuple flushes what is left.  When every
 * column is plain, whole tuples found in the buffer are instead hashed with
 * one XXH3_128bits() call each (copybin_fast_rows): the bytes are the same,
 * so the hash is too, and that path neither touches the streaming state nor
 * loops over bytes.  Anything the fast path does not like (a split tuple, the
 * trailer, a bad count or length) is left to the state machine, which is the
 * only place that reports errors.
 */
#include "codec/copybin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "codec/be.h"

#define COPYBIN_MAX_DEPTH	32	/* nested values open at once */
#define COPYBIN_MAX_NDIM	6	/* PostgreSQL's MAXDIM */

#define COPYBIN_SIGNATURE_LEN 11
static const uint8_t copybin_signature[COPYBIN_SIGNATURE_LEN] = "PGCOPY\n\377\r\n\0";

/* Header flags (copy.sgml): bit 16 says OIDs follow, bits 17-31 are critical. */
#define COPY_FLAG_OIDS		0x00010000u
#define COPY_FLAGS_CRITICAL 0xfffe0000u

/* Range flags (rangetypes.h), and which bounds range_send() writes. */
#define RANGE_EMPTY		0x01
#define RANGE_LB_INF	0x08
#define RANGE_UB_INF	0x10
#define RANGE_LB_NULL	0x20
#define RANGE_UB_NULL	0x40
#define RANGE_NO_LOWER	(RANGE_EMPTY | RANGE_LB_INF | RANGE_LB_NULL)
#define RANGE_NO_UPPER	(RANGE_EMPTY | RANGE_UB_INF | RANGE_UB_NULL)

typedef enum copybin_item
{
	ITEM_SIGNATURE,				/* the signature; item_left bytes still to compare */
	ITEM_WORD,					/* a big-endian word of item_width bytes */
	ITEM_DATA,					/* item_left bytes hashed as they are */
	ITEM_SKIP,					/* item_left bytes left out of the hash */
	ITEM_TUPLE,					/* at a tuple boundary, nothing of it read */
	ITEM_DONE					/* the trailer has been read */
} copybin_item;

/* What the word being read is. */
typedef enum copybin_word
{
	WORD_FLAGS,					/* header flags */
	WORD_EXT_LEN,				/* header extension length */
	WORD_FIELD_COUNT,			/* int16 at the start of a tuple */
	WORD_FIELD_LEN,				/* a tuple's field length */
	WORD_ARRAY_NDIM,
	WORD_ARRAY_DIM,
	WORD_ARRAY_LBOUND,
	WORD_ARRAY_ELEM_LEN,
	WORD_RECORD_NFIELDS,
	WORD_RECORD_FIELD_LEN,
	WORD_RANGE_FLAGS,
	WORD_RANGE_BOUND_LEN,
	WORD_MULTIRANGE_COUNT,
	WORD_MULTIRANGE_RANGE_LEN
} copybin_word;

/* One open nested value. */
typedef struct copybin_frame
{
	const ctype *type;
	uint32_t	length;			/* the value's declared length */
	uint32_t	left;			/* bytes of it not yet accounted for */
	uint32_t	index;			/* dimension, record field or range bound (0 lower, 1 upper) */
	uint32_t	ndim;			/* array dimensions */
	uint64_t	count;			/* elements, record fields or ranges still to read */
	uint8_t		range_flags;
} copybin_frame;

/*
 * The parser belongs to one thread at a time; it owns state.  cols is the
 * caller's.  The fields under "during copybin_step" point into the caller's
 * buffer and mean nothing between calls, except in_tuple.
 */
struct copybin_parser
{
	uint16_t	ncols;
	bool		all_plain;		/* every column is CTYPE_PLAIN: fast path allowed */
	const ctype *const *cols;	/* NULL, or ncols shapes (NULL entries are plain) */
	XXH3_state_t *state;		/* hash of the tuple being read */

	uint64_t	offset;			/* stream bytes consumed before the current buffer */
	uint64_t	tuples;			/* tuples hashed since reset */
	int			rc;				/* sticky: 1 after the trailer, or a negative errno */

	copybin_item item;
	copybin_word word;
	uint8_t		item_width;		/* bytes of the word */
	uint8_t		word_have;		/* bytes of it gathered in word_buf */
	uint8_t		word_buf[4];
	uint32_t	item_left;		/* bytes left of a signature, data or skip item */
	uint64_t	item_offset;	/* stream offset where the current word began */

	uint16_t	field;			/* field of the current tuple being read */
	bool		in_tuple;		/* tuple bytes are going into state */
	int			depth;			/* frames in use */
	copybin_frame frames[COPYBIN_MAX_DEPTH];

	/* during copybin_step */
	const uint8_t *buf;			/* where this call's input started */
	const uint8_t *cur;			/* next byte to read */
	const uint8_t *run;			/* first byte not yet hashed, when in_tuple */
	chunk_digest *digest;

	sl_err		err;			/* the message of p->rc's failure */
};

static const char *const ctype_kind_name[] = {
	[CTYPE_PLAIN] = "value",
	[CTYPE_ARRAY] = "array",
	[CTYPE_RECORD] = "record",
	[CTYPE_RANGE] = "range",
	[CTYPE_MULTIRANGE] = "multirange",
};

static int	value_done(copybin_parser *p);

static inline uint64_t
stream_offset(const copybin_parser *p, const uint8_t *at)
{
	return p->offset + (uint64_t) (at - p->buf);
}

static int	set_error(copybin_parser *p, int rc, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static int
set_error(copybin_parser *p, int rc, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	err_setv(&p->err, SIDE_LOCAL, rc, fmt, args);
	va_end(args);
	return rc;
}

/* The innermost open value's kind, for messages. */
static const char *
frame_name(const copybin_parser *p)
{
	return ctype_kind_name[p->frames[p->depth - 1].type->kind];
}

/* Field and tuple numbers in messages count from 1. */
#define FIELD_NO(p) ((unsigned) (p)->field + 1)
#define TUPLE_NO(p) ((unsigned long long) (p)->tuples + 1)

static inline void
expect_word(copybin_parser *p, copybin_word word, uint8_t width)
{
	p->item = ITEM_WORD;
	p->word = word;
	p->item_width = width;
	p->word_have = 0;
	p->item_offset = stream_offset(p, p->cur);
}

/* Takes n bytes from the innermost value's budget, or fails if they overrun it. */
static int
frame_take(copybin_parser *p, uint32_t n)
{
	copybin_frame *frame = &p->frames[p->depth - 1];

	if (frame->left < n)
		return set_error(p, -EPROTO,
						 "%s in field %u of tuple %llu overruns its length of %u bytes at byte %llu",
						 frame_name(p), FIELD_NO(p), TUPLE_NO(p), frame->length,
						 (unsigned long long) stream_offset(p, p->cur));
	frame->left -= n;
	return 0;
}

static int
frame_expect_word(copybin_parser *p, copybin_word word, uint8_t width)
{
	int			rc = frame_take(p, width);

	if (rc == 0)
		expect_word(p, word, width);
	return rc;
}

static int
frame_expect_skip(copybin_parser *p, uint32_t n)
{
	int			rc = frame_take(p, n);

	if (rc == 0)
	{
		p->item = ITEM_SKIP;
		p->item_left = n;
	}
	return rc;
}

/* The shape of the innermost value's next child (NULL: plain). */
static const ctype *
frame_child(const copybin_frame *frame)
{
	uint32_t	i = frame->type->kind == CTYPE_RECORD ? frame->index : 0;

	if (i >= frame->type->nchildren || frame->type->children == NULL)
		return NULL;
	return frame->type->children[i];
}

/* Ends the tuple: hashes the rest of its bytes and adds it to the digest. */
static int
row_done(copybin_parser *p)
{
	XXH128_hash_t hash;

	if (p->cur > p->run)
		XXH3_128bits_update(p->state, p->run, (size_t) (p->cur - p->run));
	hash = XXH3_128bits_digest(p->state);
	chunk_digest_add(p->digest, hash.low64, hash.high64);
	p->tuples++;
	p->in_tuple = false;
	p->item = ITEM_TUPLE;
	return 0;
}

/*
 * Starts a value of len bytes (len >= 0) and shape type: a plain one is one
 * data item, a nested one opens a frame and expects its first word.
 */
static int
value_begin(copybin_parser *p, const ctype *type, uint32_t len)
{
	copybin_frame *frame;

	if (type == NULL || type->kind == CTYPE_PLAIN)
	{
		if (len == 0)
			return value_done(p);
		p->item = ITEM_DATA;
		p->item_left = len;
		return 0;
	}
	if (p->depth == COPYBIN_MAX_DEPTH)
		return set_error(p, -ENOTSUP,
						 "value in field %u of tuple %llu nests deeper than %d levels at byte %llu",
						 FIELD_NO(p), TUPLE_NO(p), COPYBIN_MAX_DEPTH,
						 (unsigned long long) stream_offset(p, p->cur));

	frame = &p->frames[p->depth++];
	frame->type = type;
	frame->length = len;
	frame->left = len;
	frame->index = 0;
	frame->ndim = 0;
	frame->count = 0;
	frame->range_flags = 0;
	switch (type->kind)
	{
		case CTYPE_ARRAY:
			return frame_expect_word(p, WORD_ARRAY_NDIM, 4);
		case CTYPE_RECORD:
			return frame_expect_word(p, WORD_RECORD_NFIELDS, 4);
		case CTYPE_RANGE:
			return frame_expect_word(p, WORD_RANGE_FLAGS, 1);
		case CTYPE_MULTIRANGE:
			return frame_expect_word(p, WORD_MULTIRANGE_COUNT, 4);
		default:
			break;
	}
	return set_error(p, -EINVAL, "column %u has unknown shape kind %d",
					 FIELD_NO(p), (int) type->kind);
}

/*
 * Sets up the next child of the innermost value, or, when it has none left,
 * closes it and moves on in its parent.
 */
static int
frame_continue(copybin_parser *p)
{
	copybin_frame *frame = &p->frames[p->depth - 1];

	switch (frame->type->kind)
	{
		case CTYPE_ARRAY:
			if (frame->count > 0)
				return frame_expect_word(p, WORD_ARRAY_ELEM_LEN, 4);
			break;
		case CTYPE_RECORD:
			if (frame->count > 0)
				return frame_expect_skip(p, 4);	/* the field's type OID */
			break;
		case CTYPE_RANGE:
			if (frame->index == 0 && (frame->range_flags & RANGE_NO_LOWER))
				frame->index = 1;
			if (frame->index == 1 && (frame->range_flags & RANGE_NO_UPPER))
				frame->index = 2;
			if (frame->index < 2)
				return frame_expect_word(p, WORD_RANGE_BOUND_LEN, 4);
			break;
		case CTYPE_MULTIRANGE:
			if (frame->count > 0)
				return frame_expect_word(p, WORD_MULTIRANGE_RANGE_LEN, 4);
			break;
		default:
			break;
	}

	if (frame->left != 0)
		return set_error(p, -EPROTO,
						 "%s in field %u of tuple %llu ends %u bytes short of its length of %u at byte %llu",
						 frame_name(p), FIELD_NO(p), TUPLE_NO(p), frame->left,
						 frame->length, (unsigned long long) stream_offset(p, p->cur));
	p->depth--;
	return value_done(p);
}

/* A value (or a NULL) has been read: move on in whatever contains it. */
static int
value_done(copybin_parser *p)
{
	copybin_frame *frame;

	if (p->depth == 0)
	{
		if (++p->field == p->ncols)
			return row_done(p);
		expect_word(p, WORD_FIELD_LEN, 4);
		return 0;
	}
	frame = &p->frames[p->depth - 1];
	switch (frame->type->kind)
	{
		case CTYPE_RECORD:
			frame->index++;
			frame->count--;
			break;
		case CTYPE_RANGE:
			frame->index++;
			break;
		default:
			frame->count--;
			break;
	}
	return frame_continue(p);
}

/* A left-out item has been skipped. */
static int
skip_done(copybin_parser *p)
{
	copybin_frame *frame;

	if (p->depth == 0)
	{
		/* the header extension */
		p->item = ITEM_TUPLE;
		return 0;
	}
	frame = &p->frames[p->depth - 1];
	if (frame->type->kind == CTYPE_RECORD)
		return frame_expect_word(p, WORD_RECORD_FIELD_LEN, 4);

	/* an array's flags and element OID */
	if (frame->ndim == 0)
	{
		frame->count = 0;
		return frame_continue(p);
	}
	frame->index = 0;
	frame->count = 1;
	return frame_expect_word(p, WORD_ARRAY_DIM, 4);
}

/* A word has been read: check it and decide what comes next. */
static int
word_done(copybin_parser *p, uint32_t raw)
{
	copybin_frame *frame = p->depth > 0 ? &p->frames[p->depth - 1] : NULL;
	int32_t		value = (int32_t) raw;
	unsigned long long at = (unsigned long long) p->item_offset;

	switch (p->word)
	{
		case WORD_FLAGS:
			if (raw & COPY_FLAG_OIDS)
				return set_error(p, -EPROTO,
								 "invalid COPY file header: OIDs included (flags 0x%08x)", raw);
			if (raw & COPY_FLAGS_CRITICAL)
				return set_error(p, -EPROTO,
								 "invalid COPY file header: unrecognized critical flags (0x%08x)", raw);
			expect_word(p, WORD_EXT_LEN, 4);
			return 0;

		case WORD_EXT_LEN:
			if (value < 0)
				return set_error(p, -EPROTO,
								 "invalid COPY file header: extension length %d at byte %llu",
								 value, at);
			if (value == 0)
				p->item = ITEM_TUPLE;
			else
			{
				p->item = ITEM_SKIP;
				p->item_left = (uint32_t) value;
			}
			return 0;

		case WORD_FIELD_COUNT:
			value = (int16_t) raw;
			if (value == -1)
			{
				p->in_tuple = false;
				p->item = ITEM_DONE;
				return 1;
			}
			if (value != (int32_t) p->ncols)
				return set_error(p, -EPROTO,
								 "tuple %llu has %d fields, expected %u at byte %llu",
								 TUPLE_NO(p), value, (unsigned) p->ncols, at);
			p->field = 0;
			if (p->ncols == 0)
				return row_done(p);
			expect_word(p, WORD_FIELD_LEN, 4);
			return 0;

		case WORD_FIELD_LEN:
			if (value == -1)
				return value_done(p);
			if (value < 0)
				return set_error(p, -EPROTO,
								 "field %u of tuple %llu has length %d at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), value, at);
			return value_begin(p, p->cols ? p->cols[p->field] : NULL, (uint32_t) value);

		case WORD_ARRAY_NDIM:
			if (value < 0 || value > COPYBIN_MAX_NDIM)
				return set_error(p, -EPROTO,
								 "array in field %u of tuple %llu has %d dimensions at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), value, at);
			frame->ndim = (uint32_t) value;
			return frame_expect_skip(p, 8); /* flags and element type OID */

		case WORD_ARRAY_DIM:
			if (value < 0)
				return set_error(p, -EPROTO,
								 "array in field %u of tuple %llu has dimension %d of size %d at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), frame->index + 1, value, at);
			/* as ArrayGetNItems(): the running product must fit an int32 */
			frame->count *= (uint64_t) value;
			if (frame->count > INT32_MAX)
				return set_error(p, -EPROTO,
								 "array in field %u of tuple %llu has too many elements at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), at);
			return frame_expect_word(p, WORD_ARRAY_LBOUND, 4);

		case WORD_ARRAY_LBOUND:
			if (++frame->index < frame->ndim)
				return frame_expect_word(p, WORD_ARRAY_DIM, 4);
			return frame_continue(p);

		case WORD_RECORD_NFIELDS:
			if (value < 0 ||
				(frame->type->nchildren > 0 && (uint32_t) value != frame->type->nchildren))
				return set_error(p, -EPROTO,
								 "record in field %u of tuple %llu has %d fields, expected %u at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), value, frame->type->nchildren, at);
			frame->count = (uint32_t) value;
			frame->index = 0;
			return frame_continue(p);

		case WORD_RANGE_FLAGS:
			frame->range_flags = (uint8_t) raw;
			frame->index = 0;
			return frame_continue(p);

		case WORD_MULTIRANGE_COUNT:
			if (value < 0)
				return set_error(p, -EPROTO,
								 "multirange in field %u of tuple %llu has %d ranges at byte %llu",
								 FIELD_NO(p), TUPLE_NO(p), value, at);
			frame->count = (uint32_t) value;
			return frame_continue(p);

		case WORD_ARRAY_ELEM_LEN:
		case WORD_RECORD_FIELD_LEN:
		case WORD_RANGE_BOUND_LEN:
		case WORD_MULTIRANGE_RANGE_LEN:
			{
				const char *what = p->word == WORD_ARRAY_ELEM_LEN ? "an element" :
					p->word == WORD_RECORD_FIELD_LEN ? "a field" :
					p->word == WORD_RANGE_BOUND_LEN ? "a bound" : "a range";
				bool		nullable = p->word == WORD_ARRAY_ELEM_LEN ||
					p->word == WORD_RECORD_FIELD_LEN;

				if (value == -1 && nullable)
					return value_done(p);
				if (value < 0)
					return set_error(p, -EPROTO,
									 "%s in field %u of tuple %llu has %s of length %d at byte %llu",
									 frame_name(p), FIELD_NO(p), TUPLE_NO(p), what, value, at);
				if ((uint32_t) value > frame->left)
					return set_error(p, -EPROTO,
									 "%s in field %u of tuple %llu has %s of length %d that overruns its length of %u at byte %llu",
									 frame_name(p), FIELD_NO(p), TUPLE_NO(p), what, value,
									 frame->length, at);
				frame->left -= (uint32_t) value;
				return value_begin(p, frame_child(frame), (uint32_t) value);
			}
	}
	return set_error(p, -EINVAL, "internal error: unknown word %d", (int) p->word);
}

/* Reads (the rest of) a word from cur; 0 and no progress when the buffer ends first. */
static int
read_word(copybin_parser *p, const uint8_t *end)
{
	const uint8_t *src;
	uint32_t	raw;
	size_t		avail = (size_t) (end - p->cur);

	if (p->word_have == 0 && avail >= p->item_width)
	{
		src = p->cur;
		p->cur += p->item_width;
	}
	else
	{
		size_t		n = p->item_width - p->word_have;

		if (n > avail)
			n = avail;
		memcpy(p->word_buf + p->word_have, p->cur, n);
		p->word_have += (uint8_t) n;
		p->cur += n;
		if (p->word_have < p->item_width)
			return 0;
		p->word_have = 0;
		src = p->word_buf;
	}

	switch (p->item_width)
	{
		case 1:
			raw = src[0];
			break;
		case 2:
			raw = load_be16(src);
			break;
		default:
			raw = load_be32(src);
			break;
	}
	return word_done(p, raw);
}

/*
 * The end of the well-formed tuple of ncols plain fields that starts at row,
 * or NULL when it is not wholly before end or not well-formed.
 */
static inline const uint8_t *
plain_tuple_end(const uint8_t *row, const uint8_t *end, int32_t ncols)
{
	const uint8_t *field = row + 2;

	if ((size_t) (end - row) < 2 || (int16_t) load_be16(row) != ncols)
		return NULL;
	for (int32_t i = 0; i < ncols; i++)
	{
		int32_t		len;

		if ((size_t) (end - field) < 4)
			return NULL;
		len = (int32_t) load_be32(field);
		field += 4;
		if (len < 0)
		{
			if (len != -1)
				return NULL;
			continue;
		}
		if ((size_t) (end - field) < (uint32_t) len)
			return NULL;
		field += len;
	}
	return field;
}

static inline void
add_tuple(chunk_digest *digest, const uint8_t *row, size_t len)
{
	XXH128_hash_t hash = XXH3_128bits(row, len);

	chunk_digest_add(digest, hash.low64, hash.high64);
}

/*
 * Hashes every complete tuple from cur on with one XXH3_128bits() call each,
 * when all columns are plain; stops at the first tuple that is not wholly in
 * the buffer or not well-formed, leaving it to the state machine.
 */
static void
copybin_fast_rows(copybin_parser *p, const uint8_t *end)
{
	const uint8_t *row = p->cur;
	const uint8_t *next;
	int32_t		ncols = p->ncols;
	uint64_t	tuples = p->tuples;
	chunk_digest *digest = p->digest;

	while ((next = plain_tuple_end(row, end, ncols)) != NULL)
	{
		add_tuple(digest, row, (size_t) (next - row));
		tuples++;
		row = next;
	}
	p->cur = row;
	p->tuples = tuples;
}

bool
copybin_whole_row(copybin_parser *p, const uint8_t *row, size_t len, chunk_digest *digest)
{
	if (p->rc != 0 || p->item != ITEM_TUPLE || !p->all_plain ||
		plain_tuple_end(row, row + len, p->ncols) != row + len)
		return false;
	add_tuple(digest, row, len);
	p->tuples++;
	p->offset += len;
	return true;
}

int
copybin_create(copybin_parser **out, uint16_t ncols, const ctype *const *cols)
{
	copybin_parser *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->state = XXH3_createState();
	if (p->state == NULL)
	{
		free(p);
		return -ENOMEM;
	}
	p->ncols = ncols;
	p->cols = cols;
	p->all_plain = true;
	for (uint16_t i = 0; cols != NULL && i < ncols; i++)
		if (cols[i] != NULL && cols[i]->kind != CTYPE_PLAIN)
			p->all_plain = false;
	copybin_reset(p);
	*out = p;
	return 0;
}

void
copybin_reset(copybin_parser *p)
{
	p->offset = 0;
	p->tuples = 0;
	p->rc = 0;
	p->item = ITEM_SIGNATURE;
	p->item_left = COPYBIN_SIGNATURE_LEN;
	p->word_have = 0;
	p->item_offset = 0;
	p->field = 0;
	p->in_tuple = false;
	p->depth = 0;
	err_clear(&p->err);
}

void
copybin_destroy(copybin_parser *p)
{
	if (p == NULL)
		return;
	XXH3_freeState(p->state);
	p->state = NULL;
	free(p);
}

int
copybin_step(copybin_parser *p, codec_in *in, chunk_digest *digest)
{
	const uint8_t *end = in->src + in->size;
	int			rc = 0;

	if (p->rc != 0)
		return p->rc;
	p->buf = in->src + in->pos;
	p->cur = p->buf;
	p->run = p->cur;
	p->digest = digest;

	while (rc == 0 && p->cur < end)
	{
		size_t		avail = (size_t) (end - p->cur);
		size_t		n;

		switch (p->item)
		{
			case ITEM_TUPLE:
				if (p->all_plain)
				{
					copybin_fast_rows(p, end);
					if (p->cur == end)
						break;
				}
				XXH3_128bits_reset(p->state);
				p->in_tuple = true;
				p->run = p->cur;
				expect_word(p, WORD_FIELD_COUNT, 2);
				break;

			case ITEM_WORD:
				rc = read_word(p, end);
				break;

			case ITEM_DATA:
				n = p->item_left < avail ? p->item_left : avail;
				p->cur += n;
				p->item_left -= (uint32_t) n;
				if (p->item_left == 0)
					rc = value_done(p);
				break;

			case ITEM_SKIP:
				if (p->in_tuple && p->cur > p->run)
					XXH3_128bits_update(p->state, p->run, (size_t) (p->cur - p->run));
				n = p->item_left < avail ? p->item_left : avail;
				p->cur += n;
				p->run = p->cur;
				p->item_left -= (uint32_t) n;
				if (p->item_left == 0)
					rc = skip_done(p);
				break;

			case ITEM_SIGNATURE:
				{
					const uint8_t *expected = copybin_signature +
						(COPYBIN_SIGNATURE_LEN - p->item_left);

					n = p->item_left < avail ? p->item_left : avail;
					if (memcmp(p->cur, expected, n) != 0)
					{
						while (*p->cur == *expected)
						{
							p->cur++;
							expected++;
						}
						rc = set_error(p, -EPROTO,
									   "COPY file signature not recognized at byte %llu",
									   (unsigned long long) stream_offset(p, p->cur));
						break;
					}
					p->cur += n;
					p->item_left -= (uint32_t) n;
					if (p->item_left == 0)
						expect_word(p, WORD_FLAGS, 4);
					break;
				}

			case ITEM_DONE:
				rc = 1;
				break;
		}
	}

	if (rc == 0 && p->in_tuple && p->cur > p->run)
		XXH3_128bits_update(p->state, p->run, (size_t) (p->cur - p->run));
	in->pos = (size_t) (p->cur - in->src);
	p->offset += (uint64_t) (p->cur - p->buf);
	p->rc = rc;
	return rc;
}

uint64_t
copybin_offset(const copybin_parser *p)
{
	return p->offset;
}

const char *
copybin_error(const copybin_parser *p)
{
	return p->err.msg;
}
