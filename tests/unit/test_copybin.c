/*
 * test_copybin.c: unit tests of the COPY BINARY parser and row hasher
 * (codec/copybin.c).
 *
 * Streams are built by hand.  A `sample` holds two byte strings side by side:
 * `raw`, the bytes PostgreSQL would send, and `norm`, the bytes copybin.h says
 * a row is hashed over (the same, less array flags and element OIDs and record
 * field OIDs).  Expected digests are computed here with XXH3_128bits() over
 * `norm`, independently of the parser.  Every stream is also fed split at
 * every offset and one byte at a time, and must give the same result.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <xxhash.h>

#include "codec/copybin.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* from <sanitizer/allocator_interface.h>, which gcc does not install */
extern size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* ---- byte builders ---- */

typedef struct bytes
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} bytes;

/* A value or row as sent (raw) and as hashed (norm). */
typedef struct sample
{
	bytes		raw;
	bytes		norm;
} sample;

static void
bytes_put(bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 64;

		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		cr_assert_not_null(b->data, "out of memory growing a test buffer to %zu bytes", cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, src, n);
	b->len += n;
}

static void
bytes_u8(bytes *b, uint8_t v)
{
	bytes_put(b, &v, 1);
}

static void
bytes_i16(bytes *b, int16_t v)
{
	uint8_t		be[2] = {(uint8_t) ((uint16_t) v >> 8), (uint8_t) v};

	bytes_put(b, be, 2);
}

static void
bytes_i32(bytes *b, int32_t v)
{
	uint32_t	u = (uint32_t) v;
	uint8_t		be[4] = {(uint8_t) (u >> 24), (uint8_t) (u >> 16), (uint8_t) (u >> 8), (uint8_t) u};

	bytes_put(b, be, 4);
}

static void
bytes_free(bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static void
sample_free(sample *s)
{
	bytes_free(&s->raw);
	bytes_free(&s->norm);
}

/* A word that is hashed. */
static void
s_u8(sample *s, uint8_t v)
{
	bytes_u8(&s->raw, v);
	bytes_u8(&s->norm, v);
}

static void
s_i16(sample *s, int16_t v)
{
	bytes_i16(&s->raw, v);
	bytes_i16(&s->norm, v);
}

static void
s_i32(sample *s, int32_t v)
{
	bytes_i32(&s->raw, v);
	bytes_i32(&s->norm, v);
}

/* A word that the normaliser leaves out. */
static void
s_skipped_i32(sample *s, int32_t v)
{
	bytes_i32(&s->raw, v);
}

static void
s_bytes(sample *s, const void *src, size_t n)
{
	bytes_put(&s->raw, src, n);
	bytes_put(&s->norm, src, n);
}

/* A length word and a value; the length is the raw length in both. */
static void
s_value(sample *s, const sample *value)
{
	s_i32(s, (int32_t) value->raw.len);
	bytes_put(&s->raw, value->raw.data, value->raw.len);
	bytes_put(&s->norm, value->norm.data, value->norm.len);
}

/* ... and frees value. */
static void
s_value_take(sample *s, sample *value)
{
	s_value(s, value);
	sample_free(value);
}

static void
s_null(sample *s)
{
	s_i32(s, -1);
}

static void
s_int4(sample *s, int32_t v)
{
	s_i32(s, 4);
	s_i32(s, v);
}

static void
s_text(sample *s, const char *text)
{
	s_i32(s, (int32_t) strlen(text));
	s_bytes(s, text, strlen(text));
}

/* array_send's header: ndim, flags, element OID, then dims and lower bounds. */
static void
s_array_header(sample *s, int32_t ndim, int32_t flags, uint32_t elemoid,
			   const int32_t *dims, const int32_t *lbounds)
{
	s_i32(s, ndim);
	s_skipped_i32(s, flags);
	s_skipped_i32(s, (int32_t) elemoid);
	for (int i = 0; i < ndim; i++)
	{
		s_i32(s, dims[i]);
		s_i32(s, lbounds ? lbounds[i] : 1);
	}
}

/* A one-dimensional int4[] value; null_at (or -1) is an element sent as NULL. */
static sample
array_int4(uint32_t elemoid, int32_t flags, int n, const int32_t *vals, int null_at)
{
	sample		a = {0};
	int32_t		dim = n;

	s_array_header(&a, n > 0 ? 1 : 0, flags, elemoid, &dim, NULL);
	for (int i = 0; i < n; i++)
	{
		if (i == null_at)
			s_null(&a);
		else
			s_int4(&a, vals[i]);
	}
	return a;
}

static const uint8_t pg_signature[11] = "PGCOPY\n\377\r\n\0";

static void
stream_header(bytes *b, uint32_t flags, int32_t ext_len)
{
	bytes_put(b, pg_signature, sizeof(pg_signature));
	bytes_i32(b, (int32_t) flags);
	bytes_i32(b, ext_len);
	for (int32_t i = 0; i < ext_len; i++)
		bytes_u8(b, (uint8_t) (0xa0 + i));
}

static void
stream_trailer(bytes *b)
{
	bytes_i16(b, -1);
}

/* Appends a row to the stream and its hash to the expected digest; frees it. */
static void
stream_row(bytes *stream, chunk_digest *expected, sample *row)
{
	XXH128_hash_t hash = XXH3_128bits(row->norm.data, row->norm.len);

	bytes_put(stream, row->raw.data, row->raw.len);
	if (expected)
		chunk_digest_add(expected, hash.low64, hash.high64);
	sample_free(row);
}

/* ---- shapes ---- */

static const ctype plain = {CTYPE_PLAIN, 0, NULL};
static const ctype *const one_plain[] = {&plain};
static const ctype array_of_plain = {CTYPE_ARRAY, 1, one_plain};
static const ctype *const plain_and_array[] = {&plain, &array_of_plain};
static const ctype record_plain_array = {CTYPE_RECORD, 2, plain_and_array};
static const ctype *const one_record[] = {&record_plain_array};
static const ctype array_of_record = {CTYPE_ARRAY, 1, one_record};
static const ctype range_of_plain = {CTYPE_RANGE, 1, one_plain};
static const ctype *const one_range[] = {&range_of_plain};
static const ctype multirange_of_plain = {CTYPE_MULTIRANGE, 1, one_range};
static const ctype range_of_record = {CTYPE_RANGE, 1, one_record};

/* ---- running the parser ---- */

typedef struct outcome
{
	int			rc;
	chunk_digest digest;
	uint64_t	offset;
	size_t		consumed;		/* bytes of the input taken */
	char		error[256];
} outcome;

/*
 * Feeds data in pieces: first `first` bytes, then pieces of `piece` bytes (0:
 * the rest at once), until the parser returns non-zero or the input ends.
 */
static outcome
feed(uint16_t ncols, const ctype *const *cols, const uint8_t *data, size_t len,
	 size_t first, size_t piece)
{
	copybin_parser *parser;
	outcome		out = {0};
	size_t		start = 0;
	int			rc = copybin_create(&parser, ncols, cols);

	cr_assert(rc == 0, "copybin_create returned %d, expected 0", rc);
	chunk_digest_reset(&out.digest);
	while (start < len || start == 0)
	{
		size_t		stop = start == 0 ? first : (piece ? start + piece : len);
		codec_in	in;

		if (stop > len || (start == 0 && first == 0))
			stop = len;
		in = (codec_in) {data, stop, start};
		out.rc = copybin_step(parser, &in, &out.digest);
		out.consumed = in.pos;
		if (out.rc != 0)
			break;
		cr_assert(in.pos == stop, "step returned 0 with pos %zu, expected %zu", in.pos, stop);
		if (stop == len)
			break;
		start = stop;
	}
	out.offset = copybin_offset(parser);
	snprintf(out.error, sizeof(out.error), "%s", copybin_error(parser));
	copybin_destroy(parser);
	return out;
}

static outcome
feed_whole(uint16_t ncols, const ctype *const *cols, const bytes *stream)
{
	return feed(ncols, cols, stream->data, stream->len, 0, 0);
}

static void
digest_hex(const chunk_digest *d, char *hex)
{
	chunk_digest_hex(d, hex);
}

static void
assert_digest(const chunk_digest *got, const chunk_digest *expected, const char *what)
{
	char		got_hex[CHUNK_DIGEST_HEX_LEN + 1];
	char		expected_hex[CHUNK_DIGEST_HEX_LEN + 1];

	digest_hex(got, got_hex);
	digest_hex(expected, expected_hex);
	cr_assert(chunk_digest_equal(got, expected),
			  "%s: digest %s (%" PRIu64 " rows), expected %s (%" PRIu64 " rows)",
			  what, got_hex, got->rows, expected_hex, expected->rows);
}

static void
assert_same_outcome(const outcome *got, const outcome *expected, const char *what)
{
	cr_assert(got->rc == expected->rc, "%s: rc %d, expected %d (\"%s\" vs \"%s\")",
			  what, got->rc, expected->rc, got->error, expected->error);
	assert_digest(&got->digest, &expected->digest, what);
	cr_assert(got->offset == expected->offset, "%s: offset %" PRIu64 ", expected %" PRIu64,
			  what, got->offset, expected->offset);
	cr_assert(got->consumed == expected->consumed, "%s: consumed %zu, expected %zu",
			  what, got->consumed, expected->consumed);
	cr_assert(strcmp(got->error, expected->error) == 0, "%s: error \"%s\", expected \"%s\"",
			  what, got->error, expected->error);
}

/* Feeds the stream split in two at every offset, and one byte at a time. */
static void
assert_split_invariant(uint16_t ncols, const ctype *const *cols, const bytes *stream)
{
	outcome		whole = feed_whole(ncols, cols, stream);
	outcome		part;
	char		what[64];

	for (size_t split = 1; split < stream->len; split++)
	{
		part = feed(ncols, cols, stream->data, stream->len, split, 0);
		snprintf(what, sizeof(what), "split at %zu of %zu", split, stream->len);
		assert_same_outcome(&part, &whole, what);
	}
	part = feed(ncols, cols, stream->data, stream->len, 1, 1);
	assert_same_outcome(&part, &whole, "one byte at a time");
	part = feed(ncols, cols, stream->data, stream->len, 3, 7);
	assert_same_outcome(&part, &whole, "pieces of 7 bytes");
}

static void
assert_rejected(uint16_t ncols, const ctype *const *cols, const bytes *stream,
				int expected_rc, const char *expected_error)
{
	outcome		got = feed_whole(ncols, cols, stream);

	cr_assert(got.rc == expected_rc, "rc %d (\"%s\"), expected %d", got.rc, got.error, expected_rc);
	if (expected_error)
		cr_assert(strcmp(got.error, expected_error) == 0, "error \"%s\", expected \"%s\"",
				  got.error, expected_error);
	assert_split_invariant(ncols, cols, stream);
}

/* A plain stream like pgbench_accounts (int4, int4, int4, char(84)), with a NULL and an empty field. */
static void
plain_stream(bytes *stream, chunk_digest *expected, int nrows)
{
	char		filler[85];

	stream_header(stream, 0, 0);
	for (int i = 0; i < nrows; i++)
	{
		sample		row = {0};

		snprintf(filler, sizeof(filler), "%-84d", i * 7919);
		s_i16(&row, 4);
		s_int4(&row, i + 1);
		if (i % 5 == 3)
			s_null(&row);
		else
			s_int4(&row, i / 10);
		s_int4(&row, -i);
		if (i % 7 == 2)
			s_text(&row, "");
		else
			s_text(&row, filler);
		stream_row(stream, expected, &row);
	}
	stream_trailer(stream);
}

/* ---- header ---- */

Test(copybin, rejects_bad_signature, .timeout = 10)
{
	bytes		stream = {0};

	stream_header(&stream, 0, 0);
	stream.data[7] = 0x7f;		/* \377 stripped of its high bit */
	stream_trailer(&stream);
	assert_rejected(0, NULL, &stream, -EPROTO, "COPY file signature not recognized at byte 7");
	bytes_free(&stream);
}

Test(copybin, rejects_oid_flag, .timeout = 10)
{
	bytes		stream = {0};

	stream_header(&stream, 0x00010000, 0);
	stream_trailer(&stream);
	assert_rejected(0, NULL, &stream, -EPROTO,
					"invalid COPY file header: OIDs included (flags 0x00010000)");
	bytes_free(&stream);
}

Test(copybin, rejects_unknown_critical_flag_bits, .timeout = 10)
{
	const uint32_t bits[] = {1u << 17, 1u << 24, 1u << 31};

	for (int i = 0; i < 3; i++)
	{
		bytes		stream = {0};
		char		expected[128];

		stream_header(&stream, bits[i], 0);
		stream_trailer(&stream);
		snprintf(expected, sizeof(expected),
				 "invalid COPY file header: unrecognized critical flags (0x%08x)", bits[i]);
		assert_rejected(0, NULL, &stream, -EPROTO, expected);
		bytes_free(&stream);
	}
}

Test(copybin, ignores_noncritical_flag_bits, .timeout = 10)
{
	bytes		stream = {0};
	outcome		got;

	stream_header(&stream, 0x0000ffff, 0);
	stream_trailer(&stream);
	got = feed_whole(0, NULL, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	bytes_free(&stream);
}

Test(copybin, skips_header_extension, .timeout = 10)
{
	bytes		plain_header = {0};
	bytes		extended = {0};
	chunk_digest expected;
	outcome		a, b;

	chunk_digest_reset(&expected);
	stream_header(&plain_header, 0, 0);
	stream_header(&extended, 0, 9);
	for (int i = 0; i < 3; i++)
	{
		sample		row = {0};

		s_i16(&row, 1);
		s_int4(&row, i);
		bytes_put(&plain_header, row.raw.data, row.raw.len);
		stream_row(&extended, &expected, &row);
	}
	stream_trailer(&plain_header);
	stream_trailer(&extended);

	a = feed_whole(1, NULL, &plain_header);
	b = feed_whole(1, NULL, &extended);
	cr_assert(a.rc == 1 && b.rc == 1, "rc %d and %d, expected 1 (\"%s\")", a.rc, b.rc, b.error);
	assert_digest(&b.digest, &expected, "with extension");
	assert_digest(&a.digest, &b.digest, "without extension");
	cr_assert(b.offset == a.offset + 9, "offset %" PRIu64 ", expected %" PRIu64,
			  b.offset, a.offset + 9);
	assert_split_invariant(1, NULL, &extended);
	bytes_free(&plain_header);
	bytes_free(&extended);
}

Test(copybin, rejects_negative_header_extension_length, .timeout = 10)
{
	bytes		stream = {0};

	bytes_put(&stream, pg_signature, sizeof(pg_signature));
	bytes_i32(&stream, 0);
	bytes_i32(&stream, -2);
	assert_rejected(0, NULL, &stream, -EPROTO,
					"invalid COPY file header: extension length -2 at byte 15");
	bytes_free(&stream);
}

/* ---- tuples ---- */

Test(copybin, trailer_returns_1_and_leaves_following_bytes, .timeout = 10)
{
	bytes		stream = {0};
	chunk_digest expected;
	size_t		trailer_end;
	outcome		got;
	copybin_parser *parser;
	codec_in	in;
	chunk_digest digest;
	int			rc;

	chunk_digest_reset(&expected);
	plain_stream(&stream, &expected, 3);
	trailer_end = stream.len;
	bytes_put(&stream, "after", 5);

	got = feed_whole(4, NULL, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	cr_assert(got.consumed == trailer_end, "consumed %zu, expected %zu", got.consumed, trailer_end);
	cr_assert(got.offset == trailer_end, "offset %" PRIu64 ", expected %zu", got.offset, trailer_end);
	assert_digest(&got.digest, &expected, "rows before the trailer");

	/* once done, it stays done and takes nothing more */
	rc = copybin_create(&parser, 4, NULL);
	cr_assert(rc == 0, "copybin_create returned %d", rc);
	chunk_digest_reset(&digest);
	in = (codec_in) {stream.data, stream.len, 0};
	rc = copybin_step(parser, &in, &digest);
	cr_assert(rc == 1, "first step returned %d, expected 1", rc);
	rc = copybin_step(parser, &in, &digest);
	cr_assert(rc == 1, "second step returned %d, expected 1", rc);
	cr_assert(in.pos == trailer_end, "pos %zu after second step, expected %zu", in.pos, trailer_end);
	assert_digest(&digest, &expected, "after a second step");
	copybin_destroy(parser);

	assert_split_invariant(4, NULL, &stream);
	bytes_free(&stream);
}

Test(copybin, hashes_null_and_empty_fields_differently, .timeout = 10)
{
	bytes		null_stream = {0};
	bytes		empty_stream = {0};
	chunk_digest expected_null, expected_empty;
	sample		row = {0};
	outcome		a, b;

	chunk_digest_reset(&expected_null);
	chunk_digest_reset(&expected_empty);
	stream_header(&null_stream, 0, 0);
	stream_header(&empty_stream, 0, 0);
	s_i16(&row, 2);
	s_null(&row);
	s_null(&row);
	stream_row(&null_stream, &expected_null, &row);
	s_i16(&row, 2);
	s_text(&row, "");
	s_text(&row, "");
	stream_row(&empty_stream, &expected_empty, &row);
	stream_trailer(&null_stream);
	stream_trailer(&empty_stream);

	a = feed_whole(2, NULL, &null_stream);
	b = feed_whole(2, NULL, &empty_stream);
	cr_assert(a.rc == 1 && b.rc == 1, "rc %d and %d, expected 1", a.rc, b.rc);
	assert_digest(&a.digest, &expected_null, "null fields");
	assert_digest(&b.digest, &expected_empty, "empty fields");
	cr_assert(!chunk_digest_equal(&a.digest, &b.digest), "NULL and empty fields hash the same");
	assert_split_invariant(2, NULL, &null_stream);
	assert_split_invariant(2, NULL, &empty_stream);
	bytes_free(&null_stream);
	bytes_free(&empty_stream);
}

Test(copybin, counts_zero_column_tuples, .timeout = 10)
{
	bytes		stream = {0};
	chunk_digest expected;
	outcome		got;

	chunk_digest_reset(&expected);
	stream_header(&stream, 0, 0);
	for (int i = 0; i < 5; i++)
	{
		sample		row = {0};

		s_i16(&row, 0);
		stream_row(&stream, &expected, &row);
	}
	stream_trailer(&stream);
	got = feed_whole(0, NULL, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	cr_assert(got.digest.rows == 5, "%" PRIu64 " rows, expected 5", got.digest.rows);
	assert_digest(&got.digest, &expected, "zero-column tuples");
	assert_split_invariant(0, NULL, &stream);
	bytes_free(&stream);
}

Test(copybin, rejects_wrong_field_count, .timeout = 10)
{
	bytes		stream = {0};
	sample		row = {0};

	stream_header(&stream, 0, 0);
	s_i16(&row, 2);
	s_int4(&row, 1);
	s_int4(&row, 2);
	stream_row(&stream, NULL, &row);
	s_i16(&row, 3);
	s_int4(&row, 1);
	s_int4(&row, 2);
	s_int4(&row, 3);
	stream_row(&stream, NULL, &row);
	stream_trailer(&stream);
	/* tuple 2 starts at 19 + 18 */
	assert_rejected(2, NULL, &stream, -EPROTO, "tuple 2 has 3 fields, expected 2 at byte 37");
	bytes_free(&stream);
}

Test(copybin, rejects_negative_field_length, .timeout = 10)
{
	bytes		stream = {0};
	sample		row = {0};

	stream_header(&stream, 0, 0);
	s_i16(&row, 3);
	s_int4(&row, 1);
	s_i32(&row, -7);
	s_int4(&row, 3);
	stream_row(&stream, NULL, &row);
	stream_trailer(&stream);
	/* 19 header + 2 count + 8 first field */
	assert_rejected(3, NULL, &stream, -EPROTO, "field 2 of tuple 1 has length -7 at byte 29");
	bytes_free(&stream);
}

Test(copybin, truncated_stream_needs_more_input, .timeout = 30)
{
	bytes		stream = {0};
	chunk_digest expected;

	chunk_digest_reset(&expected);
	plain_stream(&stream, &expected, 4);
	for (size_t len = 0; len < stream.len; len++)
	{
		outcome		got = feed(4, NULL, stream.data, len, 0, 0);

		cr_assert(got.rc == 0, "rc %d (\"%s\") for the first %zu of %zu bytes, expected 0",
				  got.rc, got.error, len, stream.len);
		cr_assert(got.consumed == len, "consumed %zu of %zu bytes", got.consumed, len);
		cr_assert(got.offset == len, "offset %" PRIu64 ", expected %zu", got.offset, len);
	}
	bytes_free(&stream);
}

Test(copybin, same_digest_for_every_split_of_plain_stream, .timeout = 60)
{
	bytes		stream = {0};
	chunk_digest expected;
	outcome		got;

	chunk_digest_reset(&expected);
	plain_stream(&stream, &expected, 12);
	got = feed_whole(4, NULL, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	assert_digest(&got.digest, &expected, "whole stream");
	assert_split_invariant(4, NULL, &stream);
	bytes_free(&stream);
}

Test(copybin, one_shot_and_streamed_rows_hash_identically, .timeout = 30)
{
	bytes		stream = {0};
	chunk_digest expected;
	outcome		whole, bytewise;

	chunk_digest_reset(&expected);
	plain_stream(&stream, &expected, 50);
	/* whole: every row takes the one-shot path; bytewise: none does */
	whole = feed_whole(4, NULL, &stream);
	bytewise = feed(4, NULL, stream.data, stream.len, 1, 1);
	assert_digest(&whole.digest, &expected, "one-shot");
	assert_digest(&bytewise.digest, &expected, "streamed");
	bytes_free(&stream);
}

/*
 * Rows given one at a time, as CopyData messages bring them, hash as the
 * stream does; what is not one whole plain tuple between tuples is refused
 * and changes nothing, so the stream path can still take it.
 */
Test(copybin, whole_rows_hash_as_the_stream_does, .timeout = 10)
{
	static const ctype *const with_array[] = {NULL, &array_of_plain};
	bytes		stream = {0};
	bytes		trailer = {0};
	sample		rows[20];
	chunk_digest got;
	copybin_parser *parser;
	outcome		expected;
	codec_in	in;
	int			rc;

	stream_header(&stream, 0, 0);
	for (int i = 0; i < 20; i++)
	{
		memset(&rows[i], 0, sizeof(rows[i]));
		s_i16(&rows[i], 2);
		s_int4(&rows[i], i * 31);
		if (i % 4 == 1)
			s_null(&rows[i]);
		else
			s_text(&rows[i], i % 3 ? "a value" : "");
		bytes_put(&stream, rows[i].raw.data, rows[i].raw.len);
	}
	stream_trailer(&trailer);
	bytes_put(&stream, trailer.data, trailer.len);
	expected = feed_whole(2, NULL, &stream);
	cr_assert(expected.rc == 1, "the stream itself: rc %d (%s)", expected.rc, expected.error);

	chunk_digest_reset(&got);
	cr_assert(copybin_create(&parser, 2, NULL) == 0);
	cr_assert(!copybin_whole_row(parser, rows[0].raw.data, rows[0].raw.len, &got),
			  "a row taken before the header");
	in = (codec_in) {stream.data, 19, 0};	/* the header alone */
	cr_assert(copybin_step(parser, &in, &got) == 0);
	for (int i = 0; i < 20; i++)
	{
		uint64_t	offset = copybin_offset(parser);

		cr_assert(!copybin_whole_row(parser, rows[i].raw.data, rows[i].raw.len - 1, &got),
				  "row %d without its last byte", i);
		cr_assert(!copybin_whole_row(parser, rows[i].raw.data, rows[i].raw.len + 1, &got),
				  "row %d with a byte more", i);
		cr_assert(copybin_offset(parser) == offset && got.rows == (uint64_t) i,
				  "a refused row changed the parser");
		if (i == 7)
		{
			/* refused above, so the stream path takes it, split anywhere */
			codec_in	piece = {rows[i].raw.data, 5, 0};

			cr_assert(copybin_step(parser, &piece, &got) == 0);
			piece = (codec_in) {rows[i].raw.data, rows[i].raw.len, 5};
			cr_assert(copybin_step(parser, &piece, &got) == 0);
			continue;
		}
		cr_assert(copybin_whole_row(parser, rows[i].raw.data, rows[i].raw.len, &got),
				  "row %d refused", i);
	}
	in = (codec_in) {trailer.data, trailer.len, 0};
	rc = copybin_step(parser, &in, &got);
	cr_assert(rc == 1, "the trailer: rc %d (%s)", rc, copybin_error(parser));
	cr_assert(!copybin_whole_row(parser, rows[0].raw.data, rows[0].raw.len, &got),
			  "a row taken after the trailer");
	assert_digest(&got, &expected.digest, "whole rows");
	cr_assert(copybin_offset(parser) == stream.len, "offset %" PRIu64 ", expected %zu",
			  copybin_offset(parser), stream.len);
	copybin_destroy(parser);

	/* an array column leaves every row to the stream path, which normalises it */
	cr_assert(copybin_create(&parser, 2, with_array) == 0);
	in = (codec_in) {stream.data, 19, 0};
	cr_assert(copybin_step(parser, &in, &got) == 0);
	cr_assert(!copybin_whole_row(parser, rows[2].raw.data, rows[2].raw.len, &got),
			  "a row taken with a column to normalise");
	copybin_destroy(parser);

	for (int i = 0; i < 20; i++)
		sample_free(&rows[i]);
	bytes_free(&trailer);
	bytes_free(&stream);
}

Test(copybin, does_not_depend_on_row_order, .timeout = 10)
{
	bytes		forward = {0};
	bytes		backward = {0};
	outcome		a, b;

	stream_header(&forward, 0, 0);
	stream_header(&backward, 0, 0);
	for (int i = 0; i < 6; i++)
	{
		sample		f = {0};
		sample		r = {0};

		s_i16(&f, 1);
		s_int4(&f, i);
		stream_row(&forward, NULL, &f);
		s_i16(&r, 1);
		s_int4(&r, 5 - i);
		stream_row(&backward, NULL, &r);
	}
	stream_trailer(&forward);
	stream_trailer(&backward);
	a = feed_whole(1, NULL, &forward);
	b = feed_whole(1, NULL, &backward);
	cr_assert(a.rc == 1 && b.rc == 1, "rc %d and %d, expected 1", a.rc, b.rc);
	assert_digest(&b.digest, &a.digest, "reversed rows");
	bytes_free(&forward);
	bytes_free(&backward);
}

Test(copybin, counts_duplicate_rows, .timeout = 10)
{
	bytes		once = {0};
	bytes		twice = {0};
	outcome		a, b;

	stream_header(&once, 0, 0);
	stream_header(&twice, 0, 0);
	for (int copies = 1; copies <= 2; copies++)
	{
		for (int i = 0; i < copies; i++)
		{
			sample		row = {0};

			s_i16(&row, 1);
			s_text(&row, "same");
			stream_row(copies == 1 ? &once : &twice, NULL, &row);
		}
	}
	stream_trailer(&once);
	stream_trailer(&twice);
	a = feed_whole(1, NULL, &once);
	b = feed_whole(1, NULL, &twice);
	cr_assert(b.digest.rows == 2, "%" PRIu64 " rows, expected 2", b.digest.rows);
	cr_assert(b.digest.sum_low != a.digest.sum_low || b.digest.sum_high != a.digest.sum_high,
			  "a duplicated row left the sum unchanged");
	bytes_free(&once);
	bytes_free(&twice);
}

static size_t
allocated_bytes(void)
{
#ifdef HAVE_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

Test(copybin, streams_10mb_value_in_64k_pieces_without_memory_growth, .timeout = 60)
{
	const size_t value_len = 10 * 1024 * 1024;
	const size_t piece = 64 * 1024;
	bytes		stream = {0};
	sample		row = {0};
	uint8_t    *value = malloc(value_len);
	chunk_digest expected, digest;
	copybin_parser *parser;
	size_t		before, most = 0;
	codec_in	in;
	int			rc = 0;
	outcome		whole;

	cr_assert_not_null(value);
	for (size_t i = 0; i < value_len; i++)
		value[i] = (uint8_t) (i * 2654435761u >> 13);
	chunk_digest_reset(&expected);
	stream_header(&stream, 0, 0);
	s_i16(&row, 2);
	s_int4(&row, 1);
	s_i32(&row, (int32_t) value_len);
	s_bytes(&row, value, value_len);
	free(value);
	stream_row(&stream, &expected, &row);
	stream_trailer(&stream);

	rc = copybin_create(&parser, 2, NULL);
	cr_assert(rc == 0, "copybin_create returned %d", rc);
	chunk_digest_reset(&digest);
	before = allocated_bytes();
	in = (codec_in) {stream.data, 0, 0};
	while (rc == 0 && in.size < stream.len)
	{
		size_t		now;

		in.size = in.size + piece < stream.len ? in.size + piece : stream.len;
		rc = copybin_step(parser, &in, &digest);
		now = allocated_bytes();
		if (now > before && now - before > most)
			most = now - before;
	}
	cr_assert(rc == 1, "rc %d (\"%s\"), expected 1", rc, copybin_error(parser));
	cr_assert(most <= 4096, "heap grew by %zu bytes while streaming", most);
	assert_digest(&digest, &expected, "64 KiB pieces");
	copybin_destroy(parser);

	whole = feed_whole(2, NULL, &stream);
	assert_digest(&whole.digest, &expected, "one piece");
	bytes_free(&stream);
}

/* ---- nested values ---- */

Test(copybin, array_hash_ignores_element_oid_and_null_flag, .timeout = 10)
{
	const int32_t vals[] = {10, 20, 30};
	const int32_t other[] = {10, 20, 31};
	const ctype *const cols[] = {&array_of_plain};
	bytes		streams[4] = {{0}};
	chunk_digest expected[4];
	outcome		got[4];

	for (int i = 0; i < 4; i++)
	{
		sample		row = {0};
		sample		arr;

		if (i == 0)
			arr = array_int4(23, 0, 3, vals, -1);
		else if (i == 1)
			arr = array_int4(99999, 1, 3, vals, -1);	/* another OID, "has nulls" set */
		else if (i == 2)
			arr = array_int4(23, 0, 3, other, -1);
		else
			arr = array_int4(23, 1, 3, vals, 1);
		chunk_digest_reset(&expected[i]);
		stream_header(&streams[i], 0, 0);
		s_i16(&row, 1);
		s_value_take(&row, &arr);
		stream_row(&streams[i], &expected[i], &row);
		stream_trailer(&streams[i]);
		got[i] = feed_whole(1, cols, &streams[i]);
		cr_assert(got[i].rc == 1, "stream %d: rc %d (\"%s\"), expected 1", i, got[i].rc, got[i].error);
		assert_digest(&got[i].digest, &expected[i], "array");
	}
	assert_digest(&got[1].digest, &got[0].digest, "other element OID and flags");
	cr_assert(!chunk_digest_equal(&got[2].digest, &got[0].digest),
			  "arrays with different elements hash the same");
	cr_assert(!chunk_digest_equal(&got[3].digest, &got[0].digest),
			  "arrays with and without a NULL element hash the same");

	/* read as plain, the OIDs count */
	got[1] = feed_whole(1, NULL, &streams[1]);
	got[0] = feed_whole(1, NULL, &streams[0]);
	cr_assert(!chunk_digest_equal(&got[1].digest, &got[0].digest),
			  "plain columns with different bytes hash the same");
	assert_split_invariant(1, cols, &streams[3]);
	for (int i = 0; i < 4; i++)
		bytes_free(&streams[i]);
}

Test(copybin, reads_empty_and_multidimensional_arrays, .timeout = 30)
{
	const ctype *const cols[] = {&array_of_plain, &array_of_plain, &array_of_plain};
	const int32_t dims[] = {2, 3};
	const int32_t lbounds[] = {0, -5};
	const int32_t zero_dims[] = {4, 0, 1000000};
	bytes		stream = {0};
	chunk_digest expected;
	sample		row = {0};
	sample		arr = {0};
	outcome		got;

	chunk_digest_reset(&expected);
	stream_header(&stream, 0, 0);
	s_i16(&row, 3);
	arr = array_int4(25, 0, 0, NULL, -1);	/* '{}' */
	s_value_take(&row, &arr);
	s_array_header(&arr, 2, 0, 23, dims, lbounds);
	for (int i = 0; i < 6; i++)
		s_int4(&arr, i * i);
	s_value_take(&row, &arr);
	s_array_header(&arr, 3, 0, 23, zero_dims, NULL);	/* no elements */
	s_value_take(&row, &arr);
	stream_row(&stream, &expected, &row);
	stream_trailer(&stream);

	got = feed_whole(3, cols, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	assert_digest(&got.digest, &expected, "empty and 2-D arrays");
	assert_split_invariant(3, cols, &stream);
	bytes_free(&stream);
}

/* A record (int4, int4[]) with the given field OIDs. */
static sample
record_int4_array(uint32_t oid0, uint32_t oid1, int32_t a, const int32_t *vals, int n,
				  uint32_t elemoid)
{
	sample		rec = {0};
	sample		arr = array_int4(elemoid, 0, n, vals, -1);

	s_i32(&rec, 2);
	s_skipped_i32(&rec, (int32_t) oid0);
	s_int4(&rec, a);
	s_skipped_i32(&rec, (int32_t) oid1);
	s_value_take(&rec, &arr);
	return rec;
}

Test(copybin, record_hash_ignores_field_oids, .timeout = 30)
{
	const int32_t vals[] = {7, 8};
	const ctype *const cols[] = {&record_plain_array};
	bytes		a = {0};
	bytes		b = {0};
	chunk_digest expected;
	outcome		got_a, got_b;

	for (int i = 0; i < 2; i++)
	{
		sample		row = {0};
		sample		rec = i == 0 ? record_int4_array(23, 1007, 5, vals, 2, 23)
			: record_int4_array(16385, 16390, 5, vals, 2, 16384);

		chunk_digest_reset(&expected);
		stream_header(i == 0 ? &a : &b, 0, 0);
		s_i16(&row, 1);
		s_value_take(&row, &rec);
		stream_row(i == 0 ? &a : &b, &expected, &row);
		stream_trailer(i == 0 ? &a : &b);
	}
	got_a = feed_whole(1, cols, &a);
	got_b = feed_whole(1, cols, &b);
	cr_assert(got_a.rc == 1 && got_b.rc == 1, "rc %d and %d (\"%s\"), expected 1",
			  got_a.rc, got_b.rc, got_b.error);
	assert_digest(&got_b.digest, &expected, "record");
	assert_digest(&got_a.digest, &got_b.digest, "other field OIDs");
	assert_split_invariant(1, cols, &a);
	bytes_free(&a);
	bytes_free(&b);
}

/* A stream of (int4, record(int4, int4[])[], int4range, int4multirange) rows. */
static void
nested_stream(bytes *stream, chunk_digest *expected, uint32_t oid_base)
{
	const int32_t vals[] = {1, -2, 3};

	stream_header(stream, 0, 0);
	for (int i = 0; i < 4; i++)
	{
		sample		row = {0};
		sample		arr = {0};
		sample		range = {0};
		sample		multi = {0};
		int32_t		dim = i;

		s_i16(&row, 4);
		s_int4(&row, i);

		/* array of i records, the second one NULL, each holding an array */
		s_array_header(&arr, i > 0 ? 1 : 0, i > 1, oid_base + 1, &dim, NULL);
		for (int j = 0; j < i; j++)
		{
			if (j == 1)
				s_null(&arr);
			else
			{
				sample		rec = record_int4_array(23, oid_base + 2, j, vals, 3 - j, oid_base + 3);

				s_value_take(&arr, &rec);
			}
		}
		s_value_take(&row, &arr);

		/* [i, i+10) */
		s_u8(&range, 0x02);
		s_int4(&range, i);
		s_int4(&range, i + 10);
		s_value_take(&row, &range);

		/* {[0,1), (,5], empty} */
		s_i32(&multi, 3);
		s_i32(&multi, 1 + 8 + 8);
		s_u8(&multi, 0x02);
		s_int4(&multi, 0);
		s_int4(&multi, 1);
		s_i32(&multi, 1 + 8);
		s_u8(&multi, 0x08 | 0x04);
		s_int4(&multi, 5);
		s_i32(&multi, 1);
		s_u8(&multi, 0x01);
		if (i == 3)
			s_null(&row);
		else
			s_value_take(&row, &multi);
		sample_free(&multi);
		stream_row(stream, expected, &row);
	}
	stream_trailer(stream);
}

static const ctype *const nested_cols[] = {&plain, &array_of_record, &range_of_plain, &multirange_of_plain};

Test(copybin, reads_arrays_of_records_holding_arrays, .timeout = 60)
{
	bytes		a = {0};
	bytes		b = {0};
	chunk_digest expected_a, expected_b;
	outcome		got_a, got_b;

	chunk_digest_reset(&expected_a);
	chunk_digest_reset(&expected_b);
	nested_stream(&a, &expected_a, 16384);
	nested_stream(&b, &expected_b, 70000);
	cr_assert(chunk_digest_equal(&expected_a, &expected_b), "test bug: normalised rows differ");
	got_a = feed_whole(4, nested_cols, &a);
	got_b = feed_whole(4, nested_cols, &b);
	cr_assert(got_a.rc == 1, "rc %d (\"%s\"), expected 1", got_a.rc, got_a.error);
	cr_assert(got_b.rc == 1, "rc %d (\"%s\"), expected 1", got_b.rc, got_b.error);
	assert_digest(&got_a.digest, &expected_a, "nested");
	assert_digest(&got_b.digest, &got_a.digest, "nested with other OIDs");
	assert_split_invariant(4, nested_cols, &a);
	bytes_free(&a);
	bytes_free(&b);
}

Test(copybin, reads_ranges_with_every_flag_combination, .timeout = 60)
{
	const ctype *const cols[] = {&range_of_plain};
	bytes		stream = {0};
	chunk_digest expected;
	outcome		got;

	chunk_digest_reset(&expected);
	stream_header(&stream, 0, 0);
	for (int flags = 0; flags < 256; flags++)
	{
		sample		row = {0};
		sample		range = {0};

		s_i16(&row, 1);
		s_u8(&range, (uint8_t) flags);
		if (!(flags & (0x01 | 0x08 | 0x20)))
			s_int4(&range, -flags);
		if (!(flags & (0x01 | 0x10 | 0x40)))
			s_text(&range, "upper");
		s_value_take(&row, &range);
		stream_row(&stream, &expected, &row);
	}
	stream_trailer(&stream);
	got = feed_whole(1, cols, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	assert_digest(&got.digest, &expected, "ranges");
	bytes_free(&stream);
}

Test(copybin, range_of_records_ignores_field_oids, .timeout = 30)
{
	const ctype *const cols[] = {&range_of_record};
	const int32_t vals[] = {4};
	bytes		streams[2] = {{0}};
	outcome		got[2];
	chunk_digest expected;

	for (int i = 0; i < 2; i++)
	{
		sample		row = {0};
		sample		range = {0};
		sample		lower = record_int4_array(23, 1007 + i, 1, vals, 1, 23 + i);
		sample		upper = record_int4_array(23 + i, 1007, 2, vals, 0, 23);

		chunk_digest_reset(&expected);
		stream_header(&streams[i], 0, 0);
		s_i16(&row, 1);
		s_u8(&range, 0x02);
		s_value_take(&range, &lower);
		s_value_take(&range, &upper);
		s_value_take(&row, &range);
		stream_row(&streams[i], &expected, &row);
		stream_trailer(&streams[i]);
		got[i] = feed_whole(1, cols, &streams[i]);
		cr_assert(got[i].rc == 1, "rc %d (\"%s\"), expected 1", got[i].rc, got[i].error);
		assert_digest(&got[i].digest, &expected, "range of records");
	}
	assert_digest(&got[1].digest, &got[0].digest, "other OIDs");
	assert_split_invariant(1, cols, &streams[0]);
	bytes_free(&streams[0]);
	bytes_free(&streams[1]);
}

Test(copybin, reads_multiranges, .timeout = 30)
{
	const ctype *const cols[] = {&multirange_of_plain, &multirange_of_plain};
	bytes		stream = {0};
	chunk_digest expected;
	sample		row = {0};
	sample		multi = {0};
	outcome		got;

	chunk_digest_reset(&expected);
	stream_header(&stream, 0, 0);
	s_i16(&row, 2);
	s_i32(&multi, 0);			/* '{}' */
	s_value_take(&row, &multi);
	s_i32(&multi, 2);			/* {[1,2], (3,)} */
	s_i32(&multi, 1 + 8 + 8);
	s_u8(&multi, 0x02 | 0x04);
	s_int4(&multi, 1);
	s_int4(&multi, 2);
	s_i32(&multi, 1 + 8);
	s_u8(&multi, 0x10);
	s_int4(&multi, 3);
	s_value_take(&row, &multi);
	stream_row(&stream, &expected, &row);
	stream_trailer(&stream);
	got = feed_whole(2, cols, &stream);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	assert_digest(&got.digest, &expected, "multiranges");
	assert_split_invariant(2, cols, &stream);
	bytes_free(&stream);
}

/* ---- malformed nested values ---- */

/* A one-row stream with the value as the only field. */
static void
one_value_stream(bytes *stream, const bytes *value)
{
	stream_header(stream, 0, 0);
	bytes_i16(stream, 1);
	bytes_i32(stream, (int32_t) value->len);
	bytes_put(stream, value->data, value->len);
	stream_trailer(stream);
}

/* The value starts at byte 25: 19 header, 2 count, 4 length. */
#define VALUE_AT 25

static void
assert_value_rejected(const ctype *type, const bytes *value, int rc, const char *expected_error)
{
	const ctype *const cols[] = {type};
	bytes		stream = {0};

	one_value_stream(&stream, value);
	assert_rejected(1, cols, &stream, rc, expected_error);
	bytes_free(&stream);
}

Test(copybin, rejects_record_field_overrunning_record, .timeout = 10)
{
	bytes		rec = {0};
	char		expected[256];

	bytes_i32(&rec, 2);
	bytes_i32(&rec, 23);
	bytes_i32(&rec, 4);
	bytes_i32(&rec, 1);
	bytes_i32(&rec, 1007);
	bytes_i32(&rec, 40);		/* 40 bytes claimed, none follow */
	snprintf(expected, sizeof(expected),
			 "record in field 1 of tuple 1 has a field of length 40 that overruns its length of 24 at byte %d",
			 VALUE_AT + 20);
	assert_value_rejected(&record_plain_array, &rec, -EPROTO, expected);
	bytes_free(&rec);
}

Test(copybin, rejects_record_header_overrunning_record, .timeout = 10)
{
	bytes		rec = {0};
	char		expected[256];

	bytes_i32(&rec, 2);
	bytes_i32(&rec, 23);
	bytes_i32(&rec, -1);		/* NULL first field, then the record ends */
	snprintf(expected, sizeof(expected),
			 "record in field 1 of tuple 1 overruns its length of 12 bytes at byte %d",
			 VALUE_AT + 12);
	assert_value_rejected(&record_plain_array, &rec, -EPROTO, expected);
	bytes_free(&rec);
}

Test(copybin, rejects_record_ending_before_its_length, .timeout = 10)
{
	const ctype *const one_plain_field[] = {&plain};
	const ctype record_of_plain = {CTYPE_RECORD, 1, one_plain_field};
	bytes		rec = {0};
	char		expected[256];

	bytes_i32(&rec, 1);
	bytes_i32(&rec, 23);
	bytes_i32(&rec, 4);
	bytes_i32(&rec, 1);
	bytes_i32(&rec, 0);			/* 4 bytes too many */
	snprintf(expected, sizeof(expected),
			 "record in field 1 of tuple 1 ends 4 bytes short of its length of 20 at byte %d",
			 VALUE_AT + 16);
	assert_value_rejected(&record_of_plain, &rec, -EPROTO, expected);
	bytes_free(&rec);
}

Test(copybin, rejects_record_with_other_field_count_than_its_type, .timeout = 10)
{
	bytes		rec = {0};
	char		expected[256];

	bytes_i32(&rec, 1);
	bytes_i32(&rec, 23);
	bytes_i32(&rec, -1);
	snprintf(expected, sizeof(expected),
			 "record in field 1 of tuple 1 has 1 fields, expected 2 at byte %d", VALUE_AT);
	assert_value_rejected(&record_plain_array, &rec, -EPROTO, expected);
	bytes_free(&rec);
}

Test(copybin, rejects_bad_array_dimension_counts, .timeout = 10)
{
	const int32_t ndims[] = {7, -1, 1000};

	for (int i = 0; i < 3; i++)
	{
		bytes		arr = {0};
		char		expected[256];

		bytes_i32(&arr, ndims[i]);
		bytes_i32(&arr, 0);
		bytes_i32(&arr, 23);
		snprintf(expected, sizeof(expected),
				 "array in field 1 of tuple 1 has %d dimensions at byte %d", ndims[i], VALUE_AT);
		assert_value_rejected(&array_of_plain, &arr, -EPROTO, expected);
		bytes_free(&arr);
	}
}

Test(copybin, rejects_negative_array_dimension, .timeout = 10)
{
	bytes		arr = {0};
	char		expected[256];

	bytes_i32(&arr, 2);
	bytes_i32(&arr, 0);
	bytes_i32(&arr, 23);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, -3);
	bytes_i32(&arr, 1);
	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 has dimension 2 of size -3 at byte %d", VALUE_AT + 20);
	assert_value_rejected(&array_of_plain, &arr, -EPROTO, expected);
	bytes_free(&arr);
}

Test(copybin, rejects_array_element_count_overflow, .timeout = 10)
{
	bytes		arr = {0};
	char		expected[256];

	bytes_i32(&arr, 3);
	bytes_i32(&arr, 0);
	bytes_i32(&arr, 23);
	bytes_i32(&arr, 65536);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, 65536);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, 0);
	bytes_i32(&arr, 1);
	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 has too many elements at byte %d", VALUE_AT + 20);
	assert_value_rejected(&array_of_plain, &arr, -EPROTO, expected);
	bytes_free(&arr);
}

Test(copybin, rejects_array_with_fewer_or_more_elements_than_bytes, .timeout = 10)
{
	const int32_t vals[] = {1, 2, 3};
	sample		arr = array_int4(23, 0, 3, vals, -1);
	bytes		longer = {0};
	char		expected[256];

	/* claims 3 elements, holds 2 */
	arr.raw.len -= 8;
	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 overruns its length of 36 bytes at byte %d",
			 VALUE_AT + 36);
	assert_value_rejected(&array_of_plain, &arr.raw, -EPROTO, expected);

	/* claims 3 elements, holds 3 and 2 more bytes */
	arr.raw.len += 8;
	bytes_put(&longer, arr.raw.data, arr.raw.len);
	bytes_put(&longer, "xx", 2);
	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 ends 2 bytes short of its length of 46 at byte %d",
			 VALUE_AT + 44);
	assert_value_rejected(&array_of_plain, &longer, -EPROTO, expected);
	sample_free(&arr);
	bytes_free(&longer);
}

Test(copybin, rejects_bad_element_and_bound_lengths, .timeout = 10)
{
	bytes		arr = {0};
	bytes		range = {0};
	bytes		multi = {0};
	char		expected[256];

	bytes_i32(&arr, 1);
	bytes_i32(&arr, 0);
	bytes_i32(&arr, 23);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, 1);
	bytes_i32(&arr, -2);
	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 has an element of length -2 at byte %d", VALUE_AT + 20);
	assert_value_rejected(&array_of_plain, &arr, -EPROTO, expected);

	bytes_u8(&range, 0x00);
	bytes_i32(&range, -1);		/* a bound cannot be NULL */
	bytes_i32(&range, -1);
	snprintf(expected, sizeof(expected),
			 "range in field 1 of tuple 1 has a bound of length -1 at byte %d", VALUE_AT + 1);
	assert_value_rejected(&range_of_plain, &range, -EPROTO, expected);

	bytes_i32(&multi, -1);
	snprintf(expected, sizeof(expected),
			 "multirange in field 1 of tuple 1 has -1 ranges at byte %d", VALUE_AT);
	assert_value_rejected(&multirange_of_plain, &multi, -EPROTO, expected);
	bytes_free(&arr);
	bytes_free(&range);
	bytes_free(&multi);
}

Test(copybin, rejects_range_missing_its_bounds, .timeout = 10)
{
	bytes		range = {0};
	char		expected[256];

	bytes_u8(&range, 0x10);		/* lower bound expected, upper infinite */
	snprintf(expected, sizeof(expected),
			 "range in field 1 of tuple 1 overruns its length of 1 bytes at byte %d", VALUE_AT + 1);
	assert_value_rejected(&range_of_plain, &range, -EPROTO, expected);
	bytes_free(&range);
}

Test(copybin, rejects_nested_value_with_zero_length, .timeout = 10)
{
	bytes		empty = {0};
	char		expected[256];

	snprintf(expected, sizeof(expected),
			 "array in field 1 of tuple 1 overruns its length of 0 bytes at byte %d", VALUE_AT);
	assert_value_rejected(&array_of_plain, &empty, -EPROTO, expected);
}

/* A record of one field, nested depth times; the innermost field is an int4. */
static void
nested_records(int depth, ctype *types, const ctype **children, bytes *value)
{
	bytes		inner = {0};

	for (int i = depth - 1; i >= 0; i--)
	{
		children[i] = i == depth - 1 ? &plain : &types[i + 1];
		types[i] = (ctype) {CTYPE_RECORD, 1, &children[i]};
	}
	bytes_i32(&inner, 42);
	for (int i = 0; i < depth; i++)
	{
		bytes		outer = {0};

		bytes_i32(&outer, 1);
		bytes_i32(&outer, 2249);
		bytes_i32(&outer, (int32_t) inner.len);
		bytes_put(&outer, inner.data, inner.len);
		bytes_free(&inner);
		inner = outer;
	}
	*value = inner;
}

Test(copybin, limits_nesting_depth_to_32, .timeout = 10)
{
	ctype		types[33];
	const ctype *children[33];
	bytes		value = {0};
	bytes		stream = {0};
	char		expected[256];
	outcome		got;

	nested_records(32, types, children, &value);
	one_value_stream(&stream, &value);
	{
		const ctype *const cols[] = {&types[0]};

		got = feed_whole(1, cols, &stream);
		cr_assert(got.rc == 1, "32 levels: rc %d (\"%s\"), expected 1", got.rc, got.error);
		assert_split_invariant(1, cols, &stream);
	}
	bytes_free(&value);
	bytes_free(&stream);

	nested_records(33, types, children, &value);
	snprintf(expected, sizeof(expected),
			 "value in field 1 of tuple 1 nests deeper than 32 levels at byte %d",
			 VALUE_AT + 32 * 12);
	assert_value_rejected(&types[0], &value, -ENOTSUP, expected);
	bytes_free(&value);
}

/* ---- known answer ---- */

static void
hash_add(chunk_digest *digest, const uint8_t *norm, size_t len)
{
	XXH128_hash_t hash = XXH3_128bits(norm, len);

	chunk_digest_add(digest, hash.low64, hash.high64);
}

Test(copybin, matches_known_digest_of_fixed_stream, .timeout = 10)
{
	/* (int4, text, int4[]) rows (7, 'seven', '{1,NULL}') and (NULL, '', '{}') */
	static const uint8_t stream[] = {
		'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		/* row 1 */
		0, 3,
		0, 0, 0, 4, 0, 0, 0, 7,
		0, 0, 0, 5, 's', 'e', 'v', 'e', 'n',
		0, 0, 0, 32,
		0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1,
		0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
		/* row 2 */
		0, 3,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0,
		0, 0, 0, 12,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23,
		/* trailer */
		0xff, 0xff,
	};
	static const uint8_t norm1[] = {
		0, 3,
		0, 0, 0, 4, 0, 0, 0, 7,
		0, 0, 0, 5, 's', 'e', 'v', 'e', 'n',
		0, 0, 0, 32,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1,
		0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
	};
	static const uint8_t norm2[] = {
		0, 3,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0,
		0, 0, 0, 12,
		0, 0, 0, 0,
	};
	const ctype *const cols[] = {NULL, &plain, &array_of_plain};
	bytes		bytes_stream = {(uint8_t *) stream, sizeof(stream), sizeof(stream)};
	chunk_digest expected;
	char		expected_hex[CHUNK_DIGEST_HEX_LEN + 1];
	char		got_hex[CHUNK_DIGEST_HEX_LEN + 1];
	outcome		got;

	chunk_digest_reset(&expected);
	hash_add(&expected, norm1, sizeof(norm1));
	hash_add(&expected, norm2, sizeof(norm2));
	chunk_digest_hex(&expected, expected_hex);

	got = feed(3, cols, stream, sizeof(stream), 0, 0);
	cr_assert(got.rc == 1, "rc %d (\"%s\"), expected 1", got.rc, got.error);
	chunk_digest_hex(&got.digest, got_hex);
	cr_assert(strcmp(got_hex, expected_hex) == 0, "digest %s, expected %s", got_hex, expected_hex);
	cr_assert(got.digest.rows == 2, "%" PRIu64 " rows, expected 2", got.digest.rows);
	assert_split_invariant(3, cols, &bytes_stream);
}

/* ---- lifecycle ---- */

Test(copybin, errors_are_sticky, .timeout = 10)
{
	bytes		stream = {0};
	copybin_parser *parser;
	chunk_digest digest;
	codec_in	in;
	int			rc;
	char		first[256];

	stream_header(&stream, 0, 0);
	bytes_i16(&stream, 5);
	stream_trailer(&stream);
	rc = copybin_create(&parser, 1, NULL);
	cr_assert(rc == 0, "copybin_create returned %d", rc);
	chunk_digest_reset(&digest);
	in = (codec_in) {stream.data, stream.len, 0};
	rc = copybin_step(parser, &in, &digest);
	cr_assert(rc == -EPROTO, "rc %d, expected %d", rc, -EPROTO);
	snprintf(first, sizeof(first), "%s", copybin_error(parser));
	in.pos = stream.len - 2;	/* even a valid trailer does not clear it */
	rc = copybin_step(parser, &in, &digest);
	cr_assert(rc == -EPROTO, "second step rc %d, expected %d", rc, -EPROTO);
	cr_assert(strcmp(copybin_error(parser), first) == 0, "error changed from \"%s\" to \"%s\"",
			  first, copybin_error(parser));
	copybin_destroy(parser);
	bytes_free(&stream);
}

Test(copybin, reset_starts_a_new_stream, .timeout = 10)
{
	bytes		stream = {0};
	chunk_digest expected, digest;
	copybin_parser *parser;
	codec_in	in;
	int			rc;

	chunk_digest_reset(&expected);
	plain_stream(&stream, &expected, 3);
	rc = copybin_create(&parser, 4, NULL);
	cr_assert(rc == 0, "copybin_create returned %d", rc);
	for (int round = 0; round < 2; round++)
	{
		chunk_digest_reset(&digest);
		in = (codec_in) {stream.data, stream.len - 1, 0};
		rc = copybin_step(parser, &in, &digest);
		cr_assert(rc == 0, "round %d: rc %d, expected 0", round, rc);
		copybin_reset(parser);
		chunk_digest_reset(&digest);
		cr_assert(copybin_offset(parser) == 0, "offset %" PRIu64 " after reset",
				  copybin_offset(parser));
		in = (codec_in) {stream.data, stream.len, 0};
		rc = copybin_step(parser, &in, &digest);
		cr_assert(rc == 1, "round %d: rc %d (\"%s\"), expected 1", round, rc, copybin_error(parser));
		copybin_reset(parser);
	}
	assert_digest(&digest, &expected, "after reset");
	copybin_destroy(parser);
	bytes_free(&stream);
}

Test(copybin, destroy_accepts_null, .timeout = 5)
{
	copybin_destroy(NULL);
}
