/*
 * test_spill.c: unit tests of the chunk file format (codec/spill.c).
 *
 * Files are made by the encoder and read back by the decoder byte for byte;
 * their layout is also checked independently of the decoder (header fields,
 * each frame through zstd's own frame functions, trailer counts and an
 * XXH3-64 computed here).  The decoder is fed every split point of small
 * files and one byte at a time, each piece in its own allocation so that
 * AddressSanitizer catches a read past a piece or a pointer kept into an
 * earlier one.  Damaged files (truncated at every length, a byte flipped at
 * every position, another dump's, hand-made frames that break the rules)
 * must be rejected.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <xxhash.h>
#include <zstd.h>

#include "codec/spill.h"

/* ---- byte strings ---- */

typedef struct bytes
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} bytes;

static void
bytes_put(bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;

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
bytes_free(bytes *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bytes
bytes_copy(const uint8_t *src, size_t n)
{
	bytes		b = {0};

	bytes_put(&b, src, n);
	return b;
}

static void
assert_same_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len, const char *what)
{
	size_t		n = got_len < want_len ? got_len : want_len;
	size_t		i = 0;

	while (i < n && got[i] == want[i])
		i++;
	cr_assert(got_len == want_len && i == n,
			  "%s: %zu bytes, want %zu; first difference at byte %zu (got %d, want %d)",
			  what, got_len, want_len, i, i < got_len ? got[i] : -1, i < want_len ? want[i] : -1);
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t	v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* ---- test data ---- */

static bytes
random_bytes(size_t n, uint64_t seed)
{
	bytes		b = {0};
	uint64_t	x = seed | 1;

	bytes_put(&b, NULL, 0);
	b.data = malloc(n ? n : 1);
	cr_assert_not_null(b.data);
	b.cap = n ? n : 1;
	for (size_t i = 0; i < n; i++)
	{
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b.data[i] = (uint8_t) (x >> 32);
	}
	b.len = n;
	return b;
}

/* COPY text rows: compressible, like real data. */
static bytes
text_rows(size_t n)
{
	bytes		b = {0};
	char		line[96];
	unsigned	i = 0;

	while (b.len < n)
	{
		int			len = snprintf(line, sizeof(line), "%u\tcustomer %u\t2024-%02u-%02u\t%u.%02u\n",
								   i, i * 7919 % 100000, i % 12 + 1, i % 28 + 1, i * 31 % 9999, i % 100);
		size_t		take = b.len + (size_t) len > n ? n - b.len : (size_t) len;

		bytes_put(&b, line, take);
		i++;
	}
	return b;
}

static spill_header
test_header(uint8_t id_seed)
{
	spill_header h;

	for (int i = 0; i < SPILL_DUMP_ID_SIZE; i++)
		h.dump_id[i] = (uint8_t) (id_seed + i * 17);
	h.table_oid = 16385;
	h.chunk_no = 7;
	h.format = SPILL_FORMAT_BINARY;
	return h;
}

/* ---- encoding and decoding in pieces ---- */

/*
 * Encodes data[0..len) handing it over in pieces of in_piece bytes (0: all
 * at once) with an output buffer of out_cap bytes.
 */
static bytes
encode_with(const uint8_t *data, size_t len, int level, const spill_header *h,
			size_t in_piece, size_t out_cap)
{
	spill_encoder *enc = NULL;
	bytes		file = {0};
	uint8_t    *buf = malloc(out_cap);
	spill_out	out = {buf, out_cap, 0};
	size_t		pos = 0;
	spill_stats stats;
	int			rc;

	cr_assert_not_null(buf);
	rc = spill_encoder_create(level, h, &enc);
	cr_assert_eq(rc, 0, "spill_encoder_create: %d, want 0", rc);
	while (pos < len)
	{
		size_t		piece = in_piece ? in_piece : len;
		codec_in	in = {data + pos, piece < len - pos ? piece : len - pos, 0};

		do
		{
			bool		full;

			rc = spill_encoder_update(enc, &in, &out);
			cr_assert_geq(rc, 0, "spill_encoder_update: %d (%s)", rc, spill_encoder_error(enc));
			cr_assert_eq((size_t) rc, out.pos, "update says %d bytes, out.pos is %zu", rc, out.pos);
			full = out.pos == out.size;
			cr_assert(full || in.pos == in.size,
					  "update returned with room in out (%zu of %zu) and input left (%zu of %zu)",
					  out.pos, out.size, in.pos, in.size);
			bytes_put(&file, buf, out.pos);
			out.pos = 0;
		} while (in.pos < in.size);
		pos += in.size;
	}
	do
	{
		rc = spill_encoder_finish(enc, &out);
		cr_assert_geq(rc, 0, "spill_encoder_finish: %d (%s)", rc, spill_encoder_error(enc));
		cr_assert(rc == 0 || out.pos == out.size, "finish says %d left with room in out", rc);
		bytes_put(&file, buf, out.pos);
		out.pos = 0;
	} while (rc > 0);
	/* Finishing again is harmless and writes nothing. */
	cr_assert_eq(spill_encoder_finish(enc, &out), 0);
	cr_assert_eq(out.pos, 0);

	spill_encoder_stats(enc, &stats);
	cr_assert_eq(stats.stream_bytes, len, "stats: %llu stream bytes, want %zu",
				 (unsigned long long) stats.stream_bytes, len);
	cr_assert_eq(stats.file_bytes, file.len, "stats: %llu file bytes, want %zu",
				 (unsigned long long) stats.file_bytes, file.len);
	spill_encoder_destroy(enc);
	free(buf);
	return file;
}

static bytes
encode(const uint8_t *data, size_t len, const spill_header *h)
{
	return encode_with(data, len, SPILL_LEVEL_DEFAULT, h, 0, 1 << 22);
}

typedef struct decoded
{
	int			rc;				/* first error, or finish's result */
	bool		failed_in_update;
	bytes		out;
	char		error[256];
	bool		have_header;
	spill_header header;
	spill_stats stats;
} decoded;

/*
 * The tests that decode a file thousands of times reuse one decoder (through
 * spill_decoder_reset) and their buffers: fresh megabytes for every decode
 * make the sanitizer build crawl.  Each test runs in its own process.
 */
static spill_decoder *shared_decoder;
static uint8_t *shared_out;
static size_t shared_out_cap;
static bytes spare_bytes;

/* Gives b's memory back for the next decode. */
static void
recycle(bytes *b)
{
	if (spare_bytes.data == NULL)
		spare_bytes = *b;
	else
		free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * Decodes file[0..len): a first piece of first_cut bytes (0: none), then
 * pieces of piece bytes (0: the rest at once), each copied to its own
 * allocation, with an output buffer of out_cap bytes.
 */
static decoded
decode_with(const uint8_t *file, size_t len, const uint8_t *expected_id,
			size_t first_cut, size_t piece, size_t out_cap)
{
	spill_decoder *dec;
	decoded		d;
	uint8_t    *buf;
	spill_out	out;
	size_t		pos = 0;
	int			rc;

	memset(&d, 0, sizeof(d));
	if (shared_out_cap < out_cap)
	{
		free(shared_out);
		shared_out = malloc(out_cap);
		cr_assert_not_null(shared_out);
		shared_out_cap = out_cap;
	}
	buf = shared_out;
	out = (spill_out) {buf, out_cap, 0};
	d.out = spare_bytes;
	d.out.len = 0;
	memset(&spare_bytes, 0, sizeof(spare_bytes));
	if (shared_decoder == NULL)
	{
		rc = spill_decoder_create(expected_id, &shared_decoder);
		cr_assert_eq(rc, 0, "spill_decoder_create: %d, want 0", rc);
	}
	dec = shared_decoder;
	spill_decoder_reset(dec, expected_id);
	while (pos < len && d.rc == 0)
	{
		size_t		n = len - pos;
		uint8_t    *copy;
		codec_in	in;

		if (pos == 0 && first_cut > 0)
			n = first_cut < n ? first_cut : n;
		else if (piece > 0)
			n = piece < n ? piece : n;
		copy = malloc(n);
		cr_assert_not_null(copy);
		memcpy(copy, file + pos, n);
		in = (codec_in) {copy, n, 0};
		for (;;)
		{
			bool		full;

			rc = spill_decoder_update(dec, &in, &out);
			if (rc < 0)
			{
				d.rc = rc;
				d.failed_in_update = true;
				break;
			}
			cr_assert_eq((size_t) rc, out.pos, "update says %d bytes, out.pos is %zu", rc, out.pos);
			full = out.pos == out.size;
			bytes_put(&d.out, buf, out.pos);
			out.pos = 0;
			if (!full)
			{
				cr_assert_eq(in.pos, in.size, "update returned with room in out and input left (%zu of %zu)",
							 in.pos, in.size);
				break;
			}
		}
		free(copy);
		pos += n;
	}
	if (d.rc == 0)
		d.rc = spill_decoder_finish(dec);
	snprintf(d.error, sizeof(d.error), "%s", spill_decoder_error(dec));
	cr_assert_eq(d.rc < 0, d.error[0] != '\0', "rc %d with message \"%s\": want a message exactly on error",
				 d.rc, d.error);
	if (spill_decoder_header(dec) != NULL)
	{
		d.have_header = true;
		d.header = *spill_decoder_header(dec);
	}
	spill_decoder_stats(dec, &d.stats);
	return d;
}

static decoded
decode(const uint8_t *file, size_t len, const uint8_t *expected_id)
{
	return decode_with(file, len, expected_id, 0, 0, 1 << 22);
}

static void
assert_round_trip(const bytes *data, const bytes *file, const spill_header *h, const char *what)
{
	decoded		d = decode(file->data, file->len, h->dump_id);

	cr_assert_eq(d.rc, 0, "%s: decode: %d (%s), want 0", what, d.rc, d.error);
	assert_same_bytes(d.out.data, d.out.len, data->data, data->len, what);
	cr_assert(d.have_header, "%s: no header after a whole file", what);
	cr_assert_eq(d.header.table_oid, h->table_oid, "%s: table oid %u, want %u", what,
				 d.header.table_oid, h->table_oid);
	cr_assert_eq(d.header.chunk_no, h->chunk_no, "%s: chunk %u, want %u", what, d.header.chunk_no, h->chunk_no);
	cr_assert_eq(d.header.format, h->format, "%s: format %d, want %d", what, d.header.format, h->format);
	cr_assert_eq(memcmp(d.header.dump_id, h->dump_id, SPILL_DUMP_ID_SIZE), 0, "%s: dump id differs", what);
	cr_assert_eq(d.stats.file_bytes, file->len, "%s: decoder read %llu bytes, want %zu", what,
				 (unsigned long long) d.stats.file_bytes, file->len);
	recycle(&d.out);
}

/*
 * Checks the layout of file independently of the decoder and returns its
 * frame count.
 */
static size_t
check_layout(const bytes *file, const bytes *data, const spill_header *h)
{
	const uint8_t *p = file->data;
	size_t		pos = SPILL_HEADER_SIZE;
	size_t		end;
	size_t		frames = 0;
	uint64_t	content = 0;

	cr_assert_geq(file->len, SPILL_HEADER_SIZE + SPILL_TRAILER_SIZE, "file of %zu bytes", file->len);
	cr_assert_eq(memcmp(p, "PGSLSPL1", 8), 0, "header magic");
	cr_assert_eq(get_le(p + 8, 2), 1, "version %llu, want 1", (unsigned long long) get_le(p + 8, 2));
	cr_assert_eq(p[10], (uint8_t) h->format, "format byte %u, want %u", p[10], (unsigned) h->format);
	cr_assert_eq(p[11], 0);
	cr_assert_eq(get_le(p + 12, 4), h->table_oid, "oid %llu, want %u",
				 (unsigned long long) get_le(p + 12, 4), h->table_oid);
	cr_assert_eq(get_le(p + 16, 4), h->chunk_no);
	cr_assert_eq(get_le(p + 20, 4), 0);
	cr_assert_eq(memcmp(p + 24, h->dump_id, 16), 0, "dump id");
	cr_assert_eq(get_le(p + 40, 8), XXH3_64bits(p, 40), "header hash %016llx, want %016llx",
				 (unsigned long long) get_le(p + 40, 8), (unsigned long long) XXH3_64bits(p, 40));

	end = file->len - SPILL_TRAILER_SIZE;
	while (pos < end)
	{
		size_t		csize = ZSTD_findFrameCompressedSize(p + pos, end - pos);
		unsigned long long fcs = ZSTD_getFrameContentSize(p + pos, end - pos);

		cr_assert(!ZSTD_isError(csize), "frame %zu at byte %zu: %s", frames + 1, pos, ZSTD_getErrorName(csize));
		cr_assert(fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR,
				  "frame %zu at byte %zu: no content size", frames + 1, pos);
		cr_assert(fcs >= 1 && fcs <= SPILL_FRAME_MAX, "frame %zu: %llu bytes", frames + 1, fcs);
		cr_assert(p[pos + 4] & 0x04, "frame %zu: checksum flag off", frames + 1);
		cr_assert(p[pos + 4] & 0x20, "frame %zu: not single-segment (descriptor %#x)", frames + 1, p[pos + 4]);
		if (content + fcs < data->len)
			cr_assert_eq(fcs, SPILL_FRAME_MAX, "frame %zu, not the last, holds %llu bytes, want %u",
						 frames + 1, fcs, SPILL_FRAME_MAX);
		content += fcs;
		frames++;
		pos += csize;
	}
	cr_assert_eq(pos, end, "frames end at byte %zu, the trailer starts at %zu", pos, end);
	cr_assert_eq(content, data->len, "frames hold %llu bytes, want %zu", (unsigned long long) content, data->len);
	cr_assert_eq(memcmp(p + end, "PGSLEND1", 8), 0, "trailer magic");
	cr_assert_eq(get_le(p + end + 8, 8), data->len, "trailer bytes %llu, want %zu",
				 (unsigned long long) get_le(p + end + 8, 8), data->len);
	cr_assert_eq(get_le(p + end + 16, 8), frames, "trailer frames %llu, want %zu",
				 (unsigned long long) get_le(p + end + 16, 8), frames);
	cr_assert_eq(get_le(p + end + 24, 8), XXH3_64bits(p, end), "trailer hash %016llx, want %016llx",
				 (unsigned long long) get_le(p + end + 24, 8), (unsigned long long) XXH3_64bits(p, end));
	return frames;
}

static void
round_trip(const bytes *data, size_t want_frames, const char *what)
{
	spill_header h = test_header(1);
	bytes		file = encode(data->data, data->len, &h);
	size_t		frames = check_layout(&file, data, &h);

	cr_assert_eq(frames, want_frames, "%s: %zu frames, want %zu", what, frames, want_frames);
	assert_round_trip(data, &file, &h, what);
	bytes_free(&file);
}

/* ---- round trips ---- */

Test(spill, round_trips_an_empty_stream, .timeout = 30)
{
	bytes		data = {0};
	spill_header h = test_header(1);
	bytes		file = encode(NULL, 0, &h);

	cr_assert_eq(file.len, SPILL_HEADER_SIZE + SPILL_TRAILER_SIZE, "empty stream: file of %zu bytes, want %d",
				 file.len, SPILL_HEADER_SIZE + SPILL_TRAILER_SIZE);
	bytes_free(&file);
	round_trip(&data, 0, "empty stream");
}

Test(spill, round_trips_one_byte, .timeout = 30)
{
	bytes		data = bytes_copy((const uint8_t *) "x", 1);

	round_trip(&data, 1, "one byte");
	bytes_free(&data);
}

Test(spill, round_trips_exactly_one_frame, .timeout = 30)
{
	bytes		data = random_bytes(SPILL_FRAME_MAX, 11);

	round_trip(&data, 1, "1 MiB");
	bytes_free(&data);
}

Test(spill, round_trips_one_frame_and_one_byte, .timeout = 30)
{
	bytes		data = random_bytes(SPILL_FRAME_MAX + 1, 12);

	round_trip(&data, 2, "1 MiB + 1");
	bytes_free(&data);
}

Test(spill, round_trips_megabytes_of_random_data, .timeout = 60)
{
	bytes		data = random_bytes(5 * SPILL_FRAME_MAX + 12345, 13);

	round_trip(&data, 6, "5 MiB + 12345 random");
	bytes_free(&data);
}

Test(spill, round_trips_and_shrinks_megabytes_of_rows, .timeout = 60)
{
	bytes		data = text_rows(6 * SPILL_FRAME_MAX + 777);
	spill_header h = test_header(2);
	bytes		file = encode(data.data, data.len, &h);

	cr_assert_lt(file.len * 2, data.len, "rows compress to %zu of %zu bytes: want less than half",
				 file.len, data.len);
	bytes_free(&file);
	round_trip(&data, 7, "6 MiB + 777 of rows");
	bytes_free(&data);
}

Test(spill, round_trips_a_text_chunk_and_exposes_its_header, .timeout = 30)
{
	bytes		data = text_rows(5000);
	spill_header h = test_header(3);
	bytes		file;

	h.format = SPILL_FORMAT_TEXT;
	h.table_oid = 4000000000u;
	h.chunk_no = 123456;
	file = encode(data.data, data.len, &h);
	check_layout(&file, &data, &h);
	assert_round_trip(&data, &file, &h, "text chunk");
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, encoder_output_does_not_depend_on_buffer_sizes, .timeout = 60)
{
	bytes		data = text_rows(2 * SPILL_FRAME_MAX + 4321);
	spill_header h = test_header(4);
	bytes		want = encode(data.data, data.len, &h);
	static const size_t pieces[] = {1 << 20, 100003, 4096, 1};
	static const size_t outs[] = {1 << 22, 65536, 7, 1};

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
	{
		for (size_t j = 0; j < sizeof(outs) / sizeof(outs[0]); j++)
		{
			bytes		got;
			char		what[96];

			if (pieces[i] == 1 && outs[j] < 4096)
				continue;		/* millions of calls, nothing more to learn */
			got = encode_with(data.data, data.len, SPILL_LEVEL_DEFAULT, &h, pieces[i], outs[j]);
			snprintf(what, sizeof(what), "pieces of %zu, out of %zu", pieces[i], outs[j]);
			assert_same_bytes(got.data, got.len, want.data, want.len, what);
			bytes_free(&got);
		}
	}
	bytes_free(&want);
	bytes_free(&data);
}

Test(spill, round_trips_at_fast_default_and_high_levels, .timeout = 120)
{
	bytes		data = text_rows(SPILL_FRAME_MAX + 1);
	spill_header h = test_header(5);
	static const int levels[] = {-131072, -5, 1, 3, 19};
	bytes		level_one = encode_with(data.data, data.len, 1, &h, 0, 1 << 22);
	bytes		level_zero = encode_with(data.data, data.len, 0, &h, 0, 1 << 22);

	assert_same_bytes(level_zero.data, level_zero.len, level_one.data, level_one.len,
					  "level 0 must mean the default, 1");
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
	{
		bytes		file = encode_with(data.data, data.len, levels[i], &h, 0, 1 << 22);
		char		what[64];

		snprintf(what, sizeof(what), "level %d", levels[i]);
		cr_assert_eq(check_layout(&file, &data, &h), 2);
		assert_round_trip(&data, &file, &h, what);
		bytes_free(&file);
	}
	bytes_free(&level_one);
	bytes_free(&level_zero);
	bytes_free(&data);
}

Test(spill, encoder_and_decoder_reset_for_another_file, .timeout = 30)
{
	bytes		first = text_rows(3000);
	bytes		second = random_bytes(2000, 99);
	spill_header h1 = test_header(6);
	spill_header h2 = test_header(6);
	bytes		want = encode(second.data, second.len, &h2);
	spill_encoder *enc = NULL;
	spill_decoder *dec = NULL;
	uint8_t    *buf = malloc(1 << 20);
	spill_out	out = {buf, 1 << 20, 0};
	codec_in	in;

	h2.chunk_no = 8;
	bytes_free(&want);
	want = encode(second.data, second.len, &h2);
	cr_assert_eq(spill_encoder_create(1, &h1, &enc), 0);
	in = (codec_in) {first.data, first.len, 0};
	cr_assert_gt(spill_encoder_update(enc, &in, &out), 0);
	cr_assert_eq(spill_encoder_finish(enc, &out), 0);

	cr_assert_eq(spill_encoder_reset(enc, &h2), 0);
	out.pos = 0;
	in = (codec_in) {second.data, second.len, 0};
	cr_assert_gt(spill_encoder_update(enc, &in, &out), 0);
	cr_assert_eq(spill_encoder_finish(enc, &out), 0);
	assert_same_bytes(buf, out.pos, want.data, want.len, "second file after reset");

	cr_assert_eq(spill_decoder_create(h1.dump_id, &dec), 0);
	in = (codec_in) {(const uint8_t *) "PGSLxxxx", 8, 0};
	out.pos = 0;
	cr_assert_lt(spill_decoder_update(dec, &in, &out), 0);
	spill_decoder_reset(dec, h2.dump_id);
	cr_assert_str_empty(spill_decoder_error(dec));
	cr_assert_null(spill_decoder_header(dec));
	in = (codec_in) {want.data, want.len, 0};
	cr_assert_eq(spill_decoder_update(dec, &in, &out), (int) second.len);
	cr_assert_eq(spill_decoder_finish(dec), 0, "%s", spill_decoder_error(dec));
	assert_same_bytes(buf, out.pos, second.data, second.len, "decoded after reset");
	cr_assert_eq(spill_decoder_header(dec)->chunk_no, 8);

	spill_encoder_destroy(enc);
	spill_decoder_destroy(dec);
	free(buf);
	bytes_free(&want);
	bytes_free(&first);
	bytes_free(&second);
}

/* ---- any split of the file ---- */

/* A small file: two frames (the first of 1 MiB of rows, which compress well) and the trailer. */
static void
small_multi_frame_file(bytes *data, bytes *file, spill_header *h)
{
	*h = test_header(7);
	*data = text_rows(SPILL_FRAME_MAX + 1000);
	/* Make the rows repeat so that the frames stay small. */
	for (size_t i = 4096; i < data->len; i++)
		data->data[i] = data->data[i % 4096];
	*file = encode(data->data, data->len, h);
	cr_assert_lt(file->len, 2000, "the small file has %zu bytes", file->len);
}

static void
small_one_frame_file(bytes *data, bytes *file, spill_header *h)
{
	*h = test_header(8);
	*data = text_rows(700);
	*file = encode(data->data, data->len, h);
}

static void
decode_every_split(const bytes *data, const bytes *file, const spill_header *h, size_t out_cap)
{
	for (size_t cut = 1; cut < file->len; cut++)
	{
		decoded		d = decode_with(file->data, file->len, h->dump_id, cut, 0, out_cap);
		char		what[64];

		snprintf(what, sizeof(what), "split at %zu of %zu", cut, file->len);
		cr_assert_eq(d.rc, 0, "%s: %d (%s), want 0", what, d.rc, d.error);
		cr_assert_eq(d.stats.file_bytes, file->len, "%s: decoder read %llu bytes, want %zu", what,
					 (unsigned long long) d.stats.file_bytes, file->len);
		assert_same_bytes(d.out.data, d.out.len, data->data, data->len, what);
		recycle(&d.out);
	}
}

Test(spill, decodes_every_split_point, .timeout = 120)
{
	bytes		data, file;
	spill_header h;

	small_one_frame_file(&data, &file, &h);
	decode_every_split(&data, &file, &h, 1 << 22);
	decode_every_split(&data, &file, &h, 3);
	bytes_free(&data);
	bytes_free(&file);

	small_multi_frame_file(&data, &file, &h);
	decode_every_split(&data, &file, &h, 1 << 22);
	decode_every_split(&data, &file, &h, 65536);
	bytes_free(&data);
	bytes_free(&file);
}

Test(spill, decodes_one_byte_pieces, .timeout = 120)
{
	bytes		data, file;
	spill_header h;
	static const size_t outs[] = {1, 2, 1000, 1 << 22};

	small_one_frame_file(&data, &file, &h);
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
	{
		decoded		d = decode_with(file.data, file.len, h.dump_id, 0, 1, outs[i]);

		cr_assert_eq(d.rc, 0, "one-byte pieces, out of %zu: %d (%s)", outs[i], d.rc, d.error);
		cr_assert_eq(d.stats.file_bytes, file.len, "one-byte pieces: decoder read %llu bytes, want %zu",
					 (unsigned long long) d.stats.file_bytes, file.len);
		assert_same_bytes(d.out.data, d.out.len, data.data, data.len, "one-byte pieces");
		recycle(&d.out);
	}
	bytes_free(&data);
	bytes_free(&file);

	small_multi_frame_file(&data, &file, &h);
	for (size_t i = 2; i < sizeof(outs) / sizeof(outs[0]); i++)
	{
		decoded		d = decode_with(file.data, file.len, h.dump_id, 0, 1, outs[i]);

		cr_assert_eq(d.rc, 0, "one-byte pieces, out of %zu: %d (%s)", outs[i], d.rc, d.error);
		cr_assert_eq(d.stats.file_bytes, file.len, "one-byte pieces: decoder read %llu bytes, want %zu",
					 (unsigned long long) d.stats.file_bytes, file.len);
		assert_same_bytes(d.out.data, d.out.len, data.data, data.len, "one-byte pieces, two frames");
		recycle(&d.out);
	}
	bytes_free(&data);
	bytes_free(&file);
}

Test(spill, takes_empty_input_at_any_point, .timeout = 60)
{
	bytes		data, file;
	spill_header h;
	spill_decoder *dec = NULL;
	spill_encoder *enc = NULL;
	uint8_t    *buf = malloc(1 << 16);
	bytes		got = {0};
	codec_in	none = {NULL, 0, 0};

	cr_assert_not_null(buf);
	small_multi_frame_file(&data, &file, &h);
	cr_assert_eq(spill_decoder_create(h.dump_id, &dec), 0);
	for (size_t pos = 0; pos <= file.len; pos++)
	{
		spill_out	out = {buf, 1 << 16, 0};
		codec_in	in = {file.data + pos, pos < file.len ? pos + 1 : pos, pos};
		int			rc;

		/* An empty buffer first: nothing to take, nothing to give. */
		rc = spill_decoder_update(dec, &none, &out);
		cr_assert_geq(rc, 0, "empty input at byte %zu: %d (%s)", pos, rc, spill_decoder_error(dec));
		bytes_put(&got, buf, out.pos);
		if (pos == file.len)
			break;
		in.src = file.data;
		do
		{
			out.pos = 0;
			rc = spill_decoder_update(dec, &in, &out);
			cr_assert_geq(rc, 0, "byte %zu: %d (%s)", pos, rc, spill_decoder_error(dec));
			bytes_put(&got, buf, out.pos);
		} while (out.pos == out.size);
	}
	cr_assert_eq(spill_decoder_finish(dec), 0, "%s", spill_decoder_error(dec));
	assert_same_bytes(got.data, got.len, data.data, data.len, "with empty inputs between the bytes");

	/* The encoder too. */
	cr_assert_eq(spill_encoder_create(1, &h, &enc), 0);
	{
		spill_out	out = {buf, 1 << 16, 0};

		cr_assert_eq(spill_encoder_update(enc, &none, &out), SPILL_HEADER_SIZE);
		cr_assert_eq(spill_encoder_finish(enc, &out), 0);
		cr_assert_eq(out.pos, SPILL_HEADER_SIZE + SPILL_TRAILER_SIZE);
	}
	spill_encoder_destroy(enc);
	spill_decoder_destroy(dec);
	free(buf);
	bytes_free(&got);
	bytes_free(&data);
	bytes_free(&file);
}

Test(spill, header_is_exposed_once_read, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(9);
	bytes		file = encode(data.data, data.len, &h);
	spill_decoder *dec = NULL;
	uint8_t		buf[4096];
	spill_out	out = {buf, sizeof(buf), 0};
	codec_in	in = {file.data, SPILL_HEADER_SIZE - 1, 0};

	cr_assert_eq(spill_decoder_create(NULL, &dec), 0);
	cr_assert_eq(spill_decoder_update(dec, &in, &out), 0);
	cr_assert_null(spill_decoder_header(dec), "a header after %d of its bytes", SPILL_HEADER_SIZE - 1);
	in.size = SPILL_HEADER_SIZE;
	cr_assert_eq(spill_decoder_update(dec, &in, &out), 0);
	cr_assert_not_null(spill_decoder_header(dec));
	cr_assert_eq(spill_decoder_header(dec)->table_oid, h.table_oid);
	cr_assert_eq(spill_decoder_header(dec)->chunk_no, h.chunk_no);
	cr_assert_eq(memcmp(spill_decoder_header(dec)->dump_id, h.dump_id, SPILL_DUMP_ID_SIZE), 0);
	spill_decoder_destroy(dec);
	bytes_free(&file);
	bytes_free(&data);
}

/* ---- damaged files ---- */

static void
assert_rejected(const bytes *file, const uint8_t *expected_id, int want_rc, const char *want_text,
				const char *what)
{
	decoded		d = decode(file->data, file->len, expected_id);

	cr_assert_eq(d.rc, want_rc, "%s: rc %d (\"%s\"), want %d", what, d.rc, d.error, want_rc);
	cr_assert(strstr(d.error, want_text) != NULL, "%s: message \"%s\" lacks \"%s\"", what, d.error, want_text);
	recycle(&d.out);
}

Test(spill, rejects_a_file_truncated_at_every_length, .timeout = 120)
{
	bytes		data, file;
	spill_header h;

	for (int which = 0; which < 2; which++)
	{
		if (which == 0)
			small_one_frame_file(&data, &file, &h);
		else
			small_multi_frame_file(&data, &file, &h);
		for (size_t len = 0; len < file.len; len++)
		{
			/* whole, then in small pieces (which go through the decoder's stash) */
			for (int pieces = 0; pieces < 2; pieces++)
			{
				decoded		d = decode_with(file.data, len, h.dump_id, 0, pieces ? 1 + 6 * which : 0, 4096);
				char		want[64];

				snprintf(want, sizeof(want), "file ends after %zu bytes", len);
				cr_assert_eq(d.rc, -EPROTO, "cut to %zu of %zu bytes: rc %d (\"%s\"), want %d",
							 len, file.len, d.rc, d.error, -EPROTO);
				cr_assert_not(d.failed_in_update, "cut to %zu: a prefix failed in update: \"%s\"", len, d.error);
				cr_assert(strstr(d.error, want) && strstr(d.error, "truncated"),
						  "cut to %zu: message \"%s\", want \"%s ...: truncated\"", len, d.error, want);
				recycle(&d.out);
			}
		}
		bytes_free(&data);
		bytes_free(&file);
	}
}

Test(spill, rejects_a_file_cut_at_a_frame_boundary, .timeout = 30)
{
	bytes		data, file;
	spill_header h;
	bytes		cut;

	small_one_frame_file(&data, &file, &h);
	cut = bytes_copy(file.data, file.len - SPILL_TRAILER_SIZE);
	assert_rejected(&cut, h.dump_id, -EPROTO, "with no trailer: truncated", "trailer cut off");
	bytes_free(&cut);
	bytes_free(&data);
	bytes_free(&file);
}

Test(spill, rejects_a_byte_flipped_at_every_position, .timeout = 300)
{
	bytes		data, file;
	spill_header h;
	static const uint8_t flips[] = {0x01, 0x80, 0xff};

	for (int which = 0; which < 2; which++)
	{
		if (which == 0)
			small_one_frame_file(&data, &file, &h);
		else
			small_multi_frame_file(&data, &file, &h);
		for (size_t pos = 0; pos < file.len; pos++)
		{
			for (size_t f = 0; f < sizeof(flips); f++)
			{
				decoded		d;

				file.data[pos] ^= flips[f];
				d = decode(file.data, file.len, h.dump_id);
				file.data[pos] ^= flips[f];
				cr_assert_lt(d.rc, 0, "byte %zu of %zu xor %#x: accepted (%zu bytes out)",
							 pos, file.len, flips[f], d.out.len);
				recycle(&d.out);
			}
		}
		bytes_free(&data);
		bytes_free(&file);
	}
}

Test(spill, rejects_a_file_of_another_dump, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(10);
	spill_header other = test_header(11);
	bytes		file = encode(data.data, data.len, &h);
	decoded		d = decode(file.data, file.len, other.dump_id);

	cr_assert_eq(d.rc, -EPROTO, "rc %d, want %d", d.rc, -EPROTO);
	cr_assert(strstr(d.error, "belongs to another dump"), "message \"%s\"", d.error);
	char		found[33], wanted[33];

	for (int i = 0; i < SPILL_DUMP_ID_SIZE; i++)
	{
		snprintf(found + 2 * i, 3, "%02x", h.dump_id[i]);
		snprintf(wanted + 2 * i, 3, "%02x", other.dump_id[i]);
	}
	cr_assert(strstr(d.error, found) && strstr(d.error, wanted),
			  "message \"%s\" lacks the file's dump id %s or the expected %s", d.error, found, wanted);
	cr_assert_eq(d.out.len, 0, "%zu bytes given from another dump's file", d.out.len);
	recycle(&d.out);
	/* Without an expected id any dump's file is read. */
	d = decode(file.data, file.len, NULL);
	cr_assert_eq(d.rc, 0, "no expected id: %d (%s)", d.rc, d.error);
	recycle(&d.out);
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, rejects_a_bad_magic, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(12);
	bytes		file = encode(data.data, data.len, &h);
	bytes		text = bytes_copy((const uint8_t *) "1\tfoo\n2\tbar\n", 12);
	decoded		d;

	file.data[7] = '2';
	assert_rejected(&file, h.dump_id, -EPROTO, "not a pgsluice chunk file: bad magic", "magic PGSLSPL2");
	assert_rejected(&text, NULL, -EPROTO, "bad magic", "a text COPY stream");
	/* Fed byte by byte, a wrong first byte fails at once. */
	d = decode_with(text.data, text.len, NULL, 0, 1, 64);
	cr_assert_eq(d.rc, -EPROTO);
	cr_assert_eq(d.stats.file_bytes, 0, "read %llu bytes of a wrong magic", (unsigned long long) d.stats.file_bytes);
	recycle(&d.out);
	bytes_free(&text);
	bytes_free(&file);
	bytes_free(&data);
}

/* Sets header bytes and recomputes the header hash, as a well-formed but different writer would. */
static void
rewrite_header(bytes *file, size_t offset, uint8_t value)
{
	file->data[offset] = value;
	put_le64(file->data + 40, XXH3_64bits(file->data, 40));
}

/* Recomputes the trailer's hash after the frames were changed on purpose. */
static void
rewrite_trailer_hash(bytes *file)
{
	size_t		end = file->len - SPILL_TRAILER_SIZE;

	put_le64(file->data + end + 24, XXH3_64bits(file->data, end));
}

Test(spill, rejects_another_format_version, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(13);
	bytes		file = encode(data.data, data.len, &h);

	rewrite_header(&file, 8, 2);
	rewrite_trailer_hash(&file);
	assert_rejected(&file, h.dump_id, -ENOTSUP, "version 2 is not supported (this build reads version 1)",
					"version 2");
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, rejects_a_damaged_header_at_once, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(14);
	bytes		file = encode(data.data, data.len, &h);
	bytes		copy = bytes_copy(file.data, file.len);
	sl_err		err;

	copy.data[12] ^= 1;			/* the table OID */
	assert_rejected(&copy, h.dump_id, -EBADMSG, "header checksum mismatch", "flipped OID");
	memcpy(copy.data, file.data, file.len);
	rewrite_header(&copy, 10, 3);
	assert_rejected(&copy, h.dump_id, -EPROTO, "unknown COPY format 3", "format 3");
	memcpy(copy.data, file.data, file.len);
	rewrite_header(&copy, 21, 1);
	assert_rejected(&copy, h.dump_id, -EPROTO, "nonzero reserved bytes", "reserved byte");
	err_clear(&err);
	cr_assert_eq(spill_header_parse(file.data, SPILL_HEADER_SIZE - 1, NULL, NULL, &err), -EINVAL);
	cr_assert_eq(err.code, -EINVAL, "the handle has the failure: %d", err.code);
	err_clear(&err);
	cr_assert_eq(spill_header_parse(file.data, file.len, h.dump_id, NULL, &err), 0, "%s", err.msg);
	cr_assert(!err_is_set(&err), "message \"%s\" after a success", err.msg);
	cr_assert_eq(spill_header_parse(file.data, SPILL_HEADER_SIZE - 1, NULL, NULL, NULL), -EINVAL, "no handle");
	bytes_free(&copy);
	bytes_free(&file);
	bytes_free(&data);
}

/* A file whose frames are replaced by frame (a hand-made or foreign frame), with a valid trailer. */
static bytes
file_with_frame(const spill_header *h, const uint8_t *frame, size_t frame_len,
				uint64_t stream_bytes, uint64_t frames)
{
	bytes		empty = encode(NULL, 0, h);
	bytes		file = {0};
	uint8_t		trailer[SPILL_TRAILER_SIZE];

	bytes_put(&file, empty.data, SPILL_HEADER_SIZE);
	bytes_put(&file, frame, frame_len);
	memcpy(trailer, "PGSLEND1", 8);
	put_le64(trailer + 8, stream_bytes);
	put_le64(trailer + 16, frames);
	put_le64(trailer + 24, XXH3_64bits(file.data, file.len));
	bytes_put(&file, trailer, sizeof(trailer));
	bytes_free(&empty);
	return file;
}

/* A zstd frame of data made with the given parameters. */
static bytes
zstd_frame(const bytes *data, int checksum, int content_size)
{
	ZSTD_CCtx  *cctx = ZSTD_createCCtx();
	bytes		frame = {0};
	size_t		bound = ZSTD_compressBound(data->len);
	size_t		n;

	cr_assert_not_null(cctx);
	frame.data = malloc(bound);
	frame.cap = bound;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size);
	if (content_size)
		n = ZSTD_compress2(cctx, frame.data, bound, data->data, data->len);
	else
	{
		/* Streaming, so that zstd does not learn the size from a one-shot call. */
		ZSTD_inBuffer in = {data->data, data->len, 0};
		ZSTD_outBuffer out = {frame.data, bound, 0};

		n = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
		cr_assert(!ZSTD_isError(n));
		n = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
		cr_assert_eq(n, 0);
		n = out.pos;
	}
	cr_assert(!ZSTD_isError(n), "ZSTD_compress2: %s", ZSTD_getErrorName(n));
	frame.len = n;
	ZSTD_freeCCtx(cctx);
	return frame;
}

Test(spill, rejects_a_frame_that_claims_more_than_the_cap, .timeout = 30)
{
	spill_header h = test_header(15);
	bytes		data = text_rows(SPILL_FRAME_MAX + 1);
	bytes		frame = zstd_frame(&data, 1, 1);
	bytes		file = file_with_frame(&h, frame.data, frame.len, data.len, 1);
	/* Hand-made: 2^40 bytes claimed, single segment, checksum, then junk. */
	uint8_t		huge[32] = {0x28, 0xb5, 0x2f, 0xfd, 0xe4, 0, 0, 0, 0, 0, 1, 0, 0};

	assert_rejected(&file, h.dump_id, -EPROTO, "frame 1 at byte 48: claims 1048577 bytes, more than the 1048576",
					"a real frame of 1 MiB + 1");
	bytes_free(&file);
	file = file_with_frame(&h, huge, sizeof(huge), (uint64_t) 1 << 40, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "claims 1099511627776 bytes", "a claim of 2^40 bytes");
	bytes_free(&file);
	bytes_free(&frame);
	bytes_free(&data);
}

Test(spill, rejects_frames_that_break_the_rules, .timeout = 30)
{
	spill_header h = test_header(16);
	bytes		data = text_rows(5000);
	bytes		frame;
	bytes		file;
	/* window descriptor 2^27, content size 100 (4 bytes), checksum on */
	uint8_t		wide[24] = {0x28, 0xb5, 0x2f, 0xfd, 0x84, 0x88, 100, 0, 0, 0};
	/* window descriptor 2^16, content size 100: small enough, but not single-segment */
	uint8_t		windowed[24] = {0x28, 0xb5, 0x2f, 0xfd, 0x84, 0x30, 100, 0, 0, 0};
	/* a dictionary id (1 byte), content size 100 (1 byte, single segment), checksum */
	uint8_t		dict[24] = {0x28, 0xb5, 0x2f, 0xfd, 0x25, 0x07, 100};
	/* reserved bit set */
	uint8_t		reserved[24] = {0x28, 0xb5, 0x2f, 0xfd, 0x2c, 100};
	/* content size 0 */
	uint8_t		empty[24] = {0x28, 0xb5, 0x2f, 0xfd, 0x24, 0};
	/* a zstd skippable frame */
	uint8_t		skippable[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};

	frame = zstd_frame(&data, 0, 1);
	file = file_with_frame(&h, frame.data, frame.len, data.len, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "frame 1 at byte 48: has no content checksum", "no checksum");
	bytes_free(&file);
	bytes_free(&frame);

	frame = zstd_frame(&data, 1, 0);
	file = file_with_frame(&h, frame.data, frame.len, data.len, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "frame 1 at byte 48: has no content size", "no content size");
	bytes_free(&file);
	bytes_free(&frame);

	file = file_with_frame(&h, wide, sizeof(wide), 100, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "has a window of 134217728 bytes of its own, not single-segment",
					"wide window");
	bytes_free(&file);
	file = file_with_frame(&h, windowed, sizeof(windowed), 100, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "has a window of 65536 bytes of its own, not single-segment",
					"window of 64 kB");
	bytes_free(&file);
	file = file_with_frame(&h, dict, sizeof(dict), 100, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "names a dictionary", "dictionary");
	bytes_free(&file);
	file = file_with_frame(&h, reserved, sizeof(reserved), 100, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "reserved bit set", "reserved bit");
	bytes_free(&file);
	file = file_with_frame(&h, empty, sizeof(empty), 0, 1);
	assert_rejected(&file, h.dump_id, -EPROTO, "frame 1 at byte 48: is empty", "empty frame");
	bytes_free(&file);
	file = file_with_frame(&h, skippable, sizeof(skippable), 0, 0);
	assert_rejected(&file, h.dump_id, -EPROTO, "byte 48: neither a zstd frame nor the trailer begins here",
					"skippable frame");
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, rejects_a_frame_checksum_mismatch, .timeout = 30)
{
	bytes		data = text_rows(5000);
	spill_header h = test_header(17);
	bytes		file = encode(data.data, data.len, &h);

	/* zstd's content checksum: the last 4 bytes of the (only) frame. */
	file.data[file.len - SPILL_TRAILER_SIZE - 2] ^= 0x10;
	rewrite_trailer_hash(&file);
	assert_rejected(&file, h.dump_id, -EBADMSG, "frame 1 at byte 48: checksum mismatch", "content checksum");
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, rejects_a_trailer_that_does_not_match, .timeout = 30)
{
	bytes		data = text_rows(5000);
	spill_header h = test_header(18);
	bytes		file = encode(data.data, data.len, &h);
	size_t		end = file.len - SPILL_TRAILER_SIZE;
	bytes		copy = bytes_copy(file.data, file.len);
	char		want[96];

	put_le64(copy.data + end + 8, data.len + 1);
	snprintf(want, sizeof(want), "says %zu bytes, the frames hold %zu", data.len + 1, data.len);
	assert_rejected(&copy, h.dump_id, -EBADMSG, want, "byte count");
	memcpy(copy.data, file.data, file.len);
	put_le64(copy.data + end + 16, 2);
	assert_rejected(&copy, h.dump_id, -EBADMSG, "says 2 frames, the file holds 1", "frame count");
	memcpy(copy.data, file.data, file.len);
	copy.data[end + 30] ^= 1;
	assert_rejected(&copy, h.dump_id, -EBADMSG, "checksum mismatch", "trailer hash");
	memcpy(copy.data, file.data, file.len);
	copy.data[end + 6] = 'X';
	assert_rejected(&copy, h.dump_id, -EPROTO, "bad magic", "trailer magic");
	bytes_free(&copy);
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, rejects_frames_spliced_from_another_file, .timeout = 30)
{
	bytes		data_a = text_rows(5000);
	bytes		data_b = random_bytes(5000, 5);
	spill_header h = test_header(19);
	bytes		a = encode(data_a.data, data_a.len, &h);
	bytes		b = encode(data_b.data, data_b.len, &h);

	/* a's header, b's frames and trailer: each frame is fine, the file is not. */
	memcpy(b.data, a.data, SPILL_HEADER_SIZE);
	b.data[16] ^= 1;			/* even with another chunk number ... */
	put_le64(b.data + 40, XXH3_64bits(b.data, 40));	/* ... and a valid header */
	assert_rejected(&b, h.dump_id, -EBADMSG, "trailer at byte", "spliced file");
	bytes_free(&a);
	bytes_free(&b);
	bytes_free(&data_a);
	bytes_free(&data_b);
}

Test(spill, rejects_data_after_the_trailer, .timeout = 30)
{
	bytes		data = text_rows(100);
	spill_header h = test_header(20);
	bytes		file = encode(data.data, data.len, &h);
	char		want[64];

	snprintf(want, sizeof(want), "byte %zu: data after the trailer", file.len);
	bytes_put(&file, "\0", 1);
	assert_rejected(&file, h.dump_id, -EPROTO, want, "one more byte");
	bytes_free(&file);
	bytes_free(&data);
}

Test(spill, errors_are_sticky, .timeout = 30)
{
	spill_decoder *dec = NULL;
	uint8_t		buf[64];
	spill_out	out = {buf, sizeof(buf), 0};
	codec_in	in = {(const uint8_t *) "XGSLSPL1", 8, 0};
	char		first[256];

	cr_assert_eq(spill_decoder_create(NULL, &dec), 0);
	cr_assert_eq(spill_decoder_update(dec, &in, &out), -EPROTO);
	snprintf(first, sizeof(first), "%s", spill_decoder_error(dec));
	in.pos = 0;
	cr_assert_eq(spill_decoder_update(dec, &in, &out), -EPROTO);
	cr_assert_eq(in.pos, 0, "a failed decoder consumed %zu bytes", in.pos);
	cr_assert_eq(spill_decoder_finish(dec), -EPROTO);
	cr_assert_str_eq(spill_decoder_error(dec), first);
	spill_decoder_destroy(dec);
}

Test(spill, encoder_rejects_bad_arguments_and_late_input, .timeout = 30)
{
	spill_header h = test_header(21);
	spill_encoder *enc = NULL;
	uint8_t		buf[256];
	spill_out	out = {buf, sizeof(buf), 0};
	codec_in	in = {(const uint8_t *) "x", 1, 0};

	cr_assert_eq(spill_encoder_create(ZSTD_maxCLevel() + 1, &h, &enc), -EINVAL);
	cr_assert_null(enc);
	cr_assert_eq(spill_encoder_create(ZSTD_minCLevel() - 1, &h, &enc), -EINVAL);
	h.format = 0;
	cr_assert_eq(spill_encoder_create(1, &h, &enc), -EINVAL);
	h.format = SPILL_FORMAT_BINARY;
	cr_assert_eq(spill_encoder_create(1, &h, &enc), 0);
	cr_assert_eq(spill_encoder_finish(enc, &out), 0);
	cr_assert_eq(spill_encoder_update(enc, &in, &out), -EINVAL);
	cr_assert(strstr(spill_encoder_error(enc), "after finish"), "message \"%s\"", spill_encoder_error(enc));
	spill_encoder_destroy(enc);
	spill_encoder_destroy(NULL);
	spill_decoder_destroy(NULL);
}
