/*
 * fuzz_spill.c: libFuzzer target for the chunk file decoder (codec/spill.c),
 * and for encoder-decoder round trips.
 *
 * The input is read as
 *   byte 0      bit 0: the decoder expects dump id fuzz_dump_id (else any id)
 *               bit 1: rewrite the header checksum, bit 2: rewrite the
 *                      trailer checksum (over all but the last 32 bytes), so
 *                      that mutations get past those checks to what is behind
 *               bit 3: round trip: the rest is a COPY stream, which is
 *                      encoded (bit 4: at level -1, else 1) and decoded back
 *   bytes 1-4   seed of the split points and output buffer sizes
 *   bytes 5-    the file (or the stream)
 * A file is decoded in one piece, in random pieces into output buffers of
 * random sizes, and one byte at a time.  All three must agree: on success
 * with the same output (length and XXH3-64), bytes read and header; on
 * failure with the same code and message (for damage zstd finds inside a
 * frame, the same frame and byte: zstd may word it differently).  A round
 * trip must give the stream back exactly, and the encoder the same file
 * whatever the pieces.  Otherwise the target aborts.
 *
 * The seeds in corpus/spill/ were made by the encoder: build this file with
 * -DFUZZ_SPILL_MAKE_SEEDS into a program and run it with the corpus
 * directory as its argument:
 *   cc -DFUZZ_SPILL_MAKE_SEEDS -I. tests/fuzz/fuzz_spill.c codec/spill.c \
 *      -lzstd -lxxhash -o /tmp/make_seeds && /tmp/make_seeds tests/fuzz/corpus/spill
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "codec/spill.h"

#include "fuzz_common.h"

#define PREFIX_LEN 5
#define FUZZ_OUTPUT_CAP ((uint64_t) 64 << 20)	/* past this, a file is not worth three decodes */

static const uint8_t fuzz_dump_id[SPILL_DUMP_ID_SIZE] = {
	0x5a, 0x11, 0x7e, 0x00, 0x42, 0x99, 0xc3, 0x01, 0xfe, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
};

typedef struct outcome
{
	int			rc;
	bool		capped;			/* stopped at FUZZ_OUTPUT_CAP */
	uint64_t	out_len;
	uint64_t	out_hash;
	uint64_t	file_bytes;
	bool		have_header;
	spill_header header;
	char		error[256];
} outcome;

/*
 * Decodes file in pieces: max_piece 0 means one piece, otherwise random
 * pieces of 1..max_piece bytes; max_out 0 means a 1 MiB output buffer,
 * otherwise random sizes of 1..max_out bytes.
 */
static outcome
feed(const uint8_t *file, size_t len, const uint8_t *expected_id,
	 size_t max_piece, size_t max_out, uint32_t seed)
{
	static uint8_t outbuf[1 << 20];
	spill_decoder *dec;
	outcome		res;
	XXH3_state_t *hash = XXH3_createState();
	codec_in	in = {file, 0, 0};

	memset(&res, 0, sizeof(res));
	if (hash == NULL || spill_decoder_create(expected_id, &dec) != 0)
		abort();
	XXH3_64bits_reset(hash);
	do
	{
		size_t		piece = max_piece ? 1 + fuzz_random(&seed) % max_piece : len;

		in.size = in.size + piece < len ? in.size + piece : len;
		for (;;)
		{
			size_t		cap = max_out ? 1 + fuzz_random(&seed) % max_out : sizeof(outbuf);
			spill_out	out = {outbuf, cap, 0};

			res.rc = spill_decoder_update(dec, &in, &out);
			/* On an error, out still holds what was written before it. */
			XXH3_64bits_update(hash, outbuf, out.pos);
			res.out_len += out.pos;
			if (res.rc < 0)
				break;
			if ((size_t) res.rc != out.pos)
				abort();		/* the count must be what was written */
			if (res.out_len > FUZZ_OUTPUT_CAP)
			{
				res.capped = true;
				break;
			}
			if (out.pos < out.size)
			{
				if (in.pos != in.size)
					abort();	/* room left in out, so all input must be used */
				break;
			}
		}
	} while (res.rc >= 0 && !res.capped && in.size < len);
	if (res.rc >= 0 && !res.capped)
		res.rc = spill_decoder_finish(dec);
	snprintf(res.error, sizeof(res.error), "%s", spill_decoder_error(dec));
	if ((res.rc < 0) != (res.error[0] != '\0'))
		abort();				/* a message exactly when there is an error */
	if (res.rc < 0 && res.rc != -EPROTO && res.rc != -EBADMSG && res.rc != -ENOTSUP)
		abort();				/* a damaged file is never anything else */
	if (spill_decoder_header(dec) != NULL)
	{
		res.have_header = true;
		res.header = *spill_decoder_header(dec);
	}
	{
		spill_stats stats;

		spill_decoder_stats(dec, &stats);
		res.file_bytes = stats.file_bytes;
		if (stats.stream_bytes != res.out_len)
			abort();
		if (res.rc == 0 && stats.file_bytes != len)
			abort();			/* a whole file is read to its end */
	}
	res.out_hash = XXH3_64bits_digest(hash);
	XXH3_freeState(hash);
	spill_decoder_destroy(dec);
	return res;
}

/*
 * Whether two messages agree.  A damaged frame is reported at the same frame
 * and byte however the file is split, but zstd may name the damage
 * differently (it decodes a frame that is whole in the buffer in one pass),
 * so for those only "frame N at byte M" must match.
 */
static bool
same_message(int rc, const char *a, const char *b)
{
	const char *a_cause = strstr(a, ": ");
	const char *b_cause = strstr(b, ": ");

	if (rc == -EBADMSG && strncmp(a, "frame ", 6) == 0 && a_cause && b_cause)
		return a_cause - a == b_cause - b && strncmp(a, b, (size_t) (a_cause - a)) == 0;
	return strcmp(a, b) == 0;
}

static void
check_same(const outcome *a, const outcome *b)
{
	bool		same = a->rc == b->rc && same_message(a->rc, a->error, b->error) &&
		a->have_header == b->have_header;

	if (same && a->rc == 0)
		same = a->out_len == b->out_len && a->out_hash == b->out_hash &&
			a->file_bytes == b->file_bytes &&
			memcmp(&a->header, &b->header, sizeof(a->header)) == 0;
	if (!same)
	{
		fprintf(stderr, "split mismatch: rc %d/%d out %llu/%llu read %llu/%llu \"%s\"/\"%s\"\n",
				a->rc, b->rc, (unsigned long long) a->out_len, (unsigned long long) b->out_len,
				(unsigned long long) a->file_bytes, (unsigned long long) b->file_bytes,
				a->error, b->error);
		abort();
	}
}

/* Encodes stream in random pieces into random output sizes (max_piece 0: at once). */
static uint8_t *
encode(const uint8_t *stream, size_t len, int level, size_t max_piece, uint32_t seed, size_t *file_len)
{
	static uint8_t outbuf[1 << 20];
	spill_header h;
	spill_encoder *enc;
	uint8_t    *file = NULL;
	size_t		have = 0;
	size_t		pos = 0;
	int			rc;

	memcpy(h.dump_id, fuzz_dump_id, SPILL_DUMP_ID_SIZE);
	h.table_oid = 16384 + (seed & 0xff);
	h.chunk_no = seed >> 8;
	h.format = (seed & 1) ? SPILL_FORMAT_TEXT : SPILL_FORMAT_BINARY;
	if (spill_encoder_create(level, &h, &enc) != 0)
		abort();
	for (;;)
	{
		size_t		piece = max_piece ? 1 + fuzz_random(&seed) % max_piece : len - pos;
		codec_in	in = {stream + pos, piece < len - pos ? piece : len - pos, 0};
		bool		finishing = pos == len;

		do
		{
			size_t		cap = max_piece ? 1 + fuzz_random(&seed) % 5000 : sizeof(outbuf);
			spill_out	out = {outbuf, cap, 0};

			rc = finishing ? spill_encoder_finish(enc, &out) : spill_encoder_update(enc, &in, &out);
			if (rc < 0)
				abort();
			file = realloc(file, have + out.pos + 1);
			if (file == NULL)
				abort();
			memcpy(file + have, outbuf, out.pos);
			have += out.pos;
		} while (finishing ? rc > 0 : in.pos < in.size);
		if (finishing)
			break;
		pos += in.size;
	}
	spill_encoder_destroy(enc);
	*file_len = have;
	return file;
}

static void
round_trip(const uint8_t *stream, size_t len, int level, uint32_t seed)
{
	size_t		file_len, again_len;
	uint8_t    *file = encode(stream, len, level, 0, seed, &file_len);
	uint8_t    *again = encode(stream, len, level, 1 + seed % 300, seed, &again_len);
	outcome		res = feed(file, file_len, fuzz_dump_id, 1 + seed % 61, 1 + seed % 999, seed);

	if (again_len != file_len || memcmp(again, file, file_len) != 0)
	{
		fprintf(stderr, "encoder: %zu bytes at once, %zu in pieces\n", file_len, again_len);
		abort();
	}
	if (res.rc != 0 || res.out_len != len || res.out_hash != XXH3_64bits(stream, len))
	{
		fprintf(stderr, "round trip of %zu bytes: rc %d (%s), %llu bytes back\n",
				len, res.rc, res.error, (unsigned long long) res.out_len);
		abort();
	}
	free(file);
	free(again);
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *expected_id;
	uint32_t	seed;
	uint8_t    *file;
	size_t		len;
	outcome		whole, part;

	if (size < PREFIX_LEN)
		return 0;
	seed = fuzz_seed(data + 1);
	expected_id = (data[0] & 1) ? fuzz_dump_id : NULL;
	len = size - PREFIX_LEN;

	/* a copy, so that ASan catches reads past the end of the file */
	file = malloc(len ? len : 1);
	if (file == NULL)
		return 0;
	memcpy(file, data + PREFIX_LEN, len);

	if (data[0] & 8)
	{
		round_trip(file, len, (data[0] & 16) ? -1 : 1, seed);
		free(file);
		return 0;
	}
	if ((data[0] & 2) && len >= SPILL_HEADER_SIZE)
		put_le64(file + 40, XXH3_64bits(file, 40));
	if ((data[0] & 4) && len >= SPILL_HEADER_SIZE + SPILL_TRAILER_SIZE)
		put_le64(file + len - 8, XXH3_64bits(file, len - SPILL_TRAILER_SIZE));

	whole = feed(file, len, expected_id, 0, 0, 0);
	if (!whole.capped)
	{
		part = feed(file, len, expected_id, 1 + seed % 97, 1 + (seed >> 8) % 4099, seed);
		check_same(&whole, &part);
		part = feed(file, len, expected_id, 1, 1 << 16, 0);
		check_same(&whole, &part);
	}
	free(file);
	return 0;
}

#ifdef FUZZ_SPILL_MAKE_SEEDS
/* ---- seed corpus generator (not part of the fuzz build) ---- */

static void
write_seed(const char *dir, const char *name, uint8_t flags, const uint8_t *body, size_t len)
{
	char		path[4096];
	uint8_t		prefix[PREFIX_LEN] = {flags, 0x37, 0x13, 0xc0, 0x5e};
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(prefix, 1, sizeof(prefix), f) != sizeof(prefix) ||
		fwrite(body, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

static void
encoded_seed(const char *dir, const char *name, uint8_t flags, const uint8_t *stream, size_t len)
{
	size_t		file_len;
	uint8_t    *file = encode(stream, len, 1, 0, 0x5e00c013, &file_len);

	write_seed(dir, name, flags, file, file_len);
	free(file);
}

int
main(int argc, char **argv)
{
	static const char rows[] =
		"1\talice\t2024-01-01\t10.50\n2\tbob\t2024-01-02\t\\N\n3\tcarol\t2024-01-03\t7.25\n"
		"4\tdave\t2024-02-29\t0.00\n5\teve\t2024-03-01\t-3.10\n";
	/* PGCOPY header, two tuples (int4 1, text "a"; int4 2, NULL), trailer */
	static const uint8_t binary[] = {
		'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'a',
		0, 2, 0, 0, 0, 4, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff,
	};
	size_t		big_len = SPILL_FRAME_MAX + 300;
	uint8_t    *big;

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	big = malloc(big_len);
	if (big == NULL)
		return 1;
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t) rows[i % (sizeof(rows) - 1)];

	encoded_seed(argv[1], "empty_stream", 1, NULL, 0);
	encoded_seed(argv[1], "text_rows", 1, (const uint8_t *) rows, sizeof(rows) - 1);
	encoded_seed(argv[1], "binary_rows", 0, binary, sizeof(binary));
	encoded_seed(argv[1], "two_frames", 1 | 4, big, big_len);
	encoded_seed(argv[1], "header_rewritten", 2 | 4, (const uint8_t *) rows, sizeof(rows) - 1);
	write_seed(argv[1], "round_trip", 8, (const uint8_t *) rows, sizeof(rows) - 1);
	free(big);
	return 0;
}
#endif
