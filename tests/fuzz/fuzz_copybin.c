/*
 * fuzz_copybin.c: libFuzzer target for the COPY BINARY parser (codec/copybin.c).
 *
 * The input is read as
 *   byte 0      bits 0-2: column count (mod 5); bit 7: prepend a valid header
 *   bytes 1-4   the shape of columns 1-4 (mod 8, see shapes[])
 *   bytes 5-8   seed of the split points
 *   bytes 9-    the stream
 * The stream is parsed in one piece, then in random pieces and one byte at a
 * time; the result, digest, offset, bytes consumed and error message must be
 * the same each time, or the target aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/copybin.h"

#include "fuzz_common.h"

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
static const ctype record_any = {CTYPE_RECORD, 0, NULL};	/* fields all plain */

static const ctype *const shapes[8] = {
	&plain, NULL, &array_of_plain, &record_plain_array,
	&range_of_plain, &multirange_of_plain, &array_of_record, &record_any,
};

#define PREFIX_LEN 9

typedef struct outcome
{
	int			rc;
	chunk_digest digest;
	uint64_t	offset;
	size_t		consumed;
	char		error[256];
} outcome;

/*
 * Feeds data in pieces: max_piece 0 means one piece, otherwise random pieces
 * of 1..max_piece bytes.
 */
static outcome
feed(uint16_t ncols, const ctype *const *cols, const uint8_t *data, size_t len,
	 size_t max_piece, uint32_t seed)
{
	copybin_parser *parser;
	outcome		out;
	codec_in	in = {data, 0, 0};

	memset(&out, 0, sizeof(out));
	if (copybin_create(&parser, ncols, cols) != 0)
		abort();
	chunk_digest_reset(&out.digest);
	do
	{
		size_t		piece = max_piece ? 1 + fuzz_random(&seed) % max_piece : len;

		in.size = in.size + piece < len ? in.size + piece : len;
		out.rc = copybin_step(parser, &in, &out.digest);
		if (out.rc == 0 && in.pos != in.size)
			abort();			/* "need more" must have taken everything */
	} while (out.rc == 0 && in.size < len);
	out.consumed = in.pos;
	out.offset = copybin_offset(parser);
	snprintf(out.error, sizeof(out.error), "%s", copybin_error(parser));
	if ((out.rc < 0) != (out.error[0] != '\0'))
		abort();				/* a message exactly when there is an error */
	if (out.rc < 0 && out.rc != -EPROTO)
		abort();				/* these shapes nest 3 deep at most */
	if (out.offset != out.consumed)
		abort();
	copybin_destroy(parser);
	return out;
}

static void
check_same(const outcome *a, const outcome *b)
{
	if (a->rc != b->rc || !chunk_digest_equal(&a->digest, &b->digest) ||
		a->offset != b->offset || a->consumed != b->consumed ||
		strcmp(a->error, b->error) != 0)
	{
		fprintf(stderr, "split mismatch: rc %d/%d rows %llu/%llu offset %llu/%llu \"%s\"/\"%s\"\n",
				a->rc, b->rc, (unsigned long long) a->digest.rows,
				(unsigned long long) b->digest.rows, (unsigned long long) a->offset,
				(unsigned long long) b->offset, a->error, b->error);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";
	const ctype *cols[4];
	uint16_t	ncols;
	uint32_t	seed;
	uint8_t    *stream;
	size_t		len;
	outcome		whole, part;

	if (size < PREFIX_LEN)
		return 0;
	ncols = data[0] % 8 % 5;
	for (int i = 0; i < 4; i++)
		cols[i] = shapes[data[1 + i] % 8];
	seed = fuzz_seed(data + 5);

	/* a copy, so that ASan catches reads past the end of the stream */
	len = size - PREFIX_LEN + ((data[0] & 0x80) ? sizeof(header) : 0);
	stream = malloc(len ? len : 1);
	if (stream == NULL)
		return 0;
	if (data[0] & 0x80)
	{
		memcpy(stream, header, sizeof(header));
		memcpy(stream + sizeof(header), data + PREFIX_LEN, size - PREFIX_LEN);
	}
	else
		memcpy(stream, data + PREFIX_LEN, size - PREFIX_LEN);

	whole = feed(ncols, cols, stream, len, 0, 0);
	part = feed(ncols, cols, stream, len, 1 + seed % 97, seed);
	check_same(&whole, &part);
	part = feed(ncols, cols, stream, len, 1, 0);
	check_same(&whole, &part);

	free(stream);
	return 0;
}
