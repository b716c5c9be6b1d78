/*
 * fuzz_copytext.c: libFuzzer target for the COPY text row hasher (codec/copytext.c).
 *
 * The input is read as 4 bytes of split seed, then the stream.  The stream is
 * hashed in one piece, in random pieces and one byte at a time; the digest
 * and copytext_finish()'s result must be the same each time, the row count
 * must be the number of newlines, and a stream not ending in a newline must
 * be refused, or the target aborts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/copytext.h"

#include "fuzz_common.h"

typedef struct outcome
{
	int			rc;
	chunk_digest digest;
} outcome;

/* max_piece 0: one piece; otherwise random pieces of 1..max_piece bytes. */
static outcome
feed(const uint8_t *data, size_t len, size_t max_piece, uint32_t seed)
{
	copytext_parser *parser;
	outcome		out;
	codec_in	in = {data, 0, 0};

	if (copytext_create(&parser) != 0)
		abort();
	chunk_digest_reset(&out.digest);
	do
	{
		size_t		piece = max_piece ? 1 + fuzz_random(&seed) % max_piece : len;

		in.size = in.size + piece < len ? in.size + piece : len;
		if (copytext_step(parser, &in, &out.digest) != 0 || in.pos != in.size)
			abort();
	} while (in.size < len);
	out.rc = copytext_finish(parser);
	if ((out.rc != 0) != (copytext_error(parser)[0] != '\0'))
		abort();
	copytext_destroy(parser);
	return out;
}

static void
check_same(const outcome *a, const outcome *b)
{
	if (a->rc != b->rc || !chunk_digest_equal(&a->digest, &b->digest))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t	seed;
	uint8_t    *stream;
	size_t		len;
	size_t		newlines = 0;
	outcome		whole, part;

	if (size < 4)
		return 0;
	seed = fuzz_seed(data);
	len = size - 4;
	stream = malloc(len ? len : 1);
	if (stream == NULL)
		return 0;
	memcpy(stream, data + 4, len);
	for (size_t i = 0; i < len; i++)
		newlines += stream[i] == '\n';

	whole = feed(stream, len, 0, 0);
	if (whole.digest.rows != newlines)
		abort();
	if ((whole.rc == -EPROTO) != (len > 0 && stream[len - 1] != '\n'))
		abort();
	part = feed(stream, len, 1 + seed % 61, seed);
	check_same(&whole, &part);
	part = feed(stream, len, 1, 0);
	check_same(&whole, &part);

	free(stream);
	return 0;
}
