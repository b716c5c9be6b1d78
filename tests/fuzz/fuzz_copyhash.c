/*
 * fuzz_copyhash.c: libFuzzer target for the row hasher every reader uses
 * (codec/copyhash.c), in the two ways a stream reaches it: as a stream in
 * pieces (spill files, the direct path) and as one CopyData message at a
 * time, each offered first to copy_hash_row's whole-tuple shortcut.
 *
 * The input is read as
 *   byte 0      bit 0: FORMAT text; bits 1-3: column count (mod 5, binary)
 *   bytes 1-4   seed of the split points
 *   bytes 5-    messages, each a 2-byte little-endian length and its bytes
 *               (a length past the end takes what is left)
 * The stream, the messages' concatenation, is hashed in one piece, in random
 * pieces, one byte at a time and message by message; the result, the digest,
 * copy_hash_finish's result and the error message must be the same each
 * time, or the target aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/copyhash.h"

#include "fuzz_common.h"

#define PREFIX_LEN 5
#define MAX_MESSAGES 4096

static const ctype plain = {CTYPE_PLAIN, 0, NULL};
static const ctype *const plain_cols[4] = {&plain, &plain, &plain, &plain};

typedef struct outcome
{
	int			rc;				/* the first failure of update or finish, else 0 */
	chunk_digest digest;
	char		error[256];
} outcome;

typedef struct input
{
	bool		text;
	uint16_t	ncols;
	uint8_t    *stream;			/* the messages' bytes, back to back */
	size_t		len;
	size_t		nmessages;
	size_t		ends[MAX_MESSAGES]; /* where each message ends in stream */
} input;

static void
start(const input *in, copy_hash *h, outcome *out)
{
	memset(out, 0, sizeof(*out));
	chunk_digest_reset(&out->digest);
	if (copy_hash_init(h, in->text, in->ncols, plain_cols) != 0)
		abort();
}

static void
finish(copy_hash *h, outcome *out)
{
	if (out->rc == 0)
		out->rc = copy_hash_finish(h);
	if (out->rc != 0)
	{
		if (out->rc != -EPROTO || copy_hash_error(h)[0] == '\0')
			abort();			/* a failure is a protocol error, and says what */
		snprintf(out->error, sizeof(out->error), "%s", copy_hash_error(h));
	}
	copy_hash_fini(h);
}

/* The stream in pieces: max_piece 0 means one piece, otherwise 1..max_piece bytes. */
static outcome
feed_pieces(const input *in, size_t max_piece, uint32_t seed)
{
	copy_hash	h;
	outcome		out;
	size_t		pos = 0;

	start(in, &h, &out);
	do
	{
		size_t		piece = fuzz_piece(&seed, max_piece, in->len - pos);

		out.rc = copy_hash_update(&h, in->stream + pos, piece, &out.digest);
		pos += piece;
	} while (out.rc == 0 && pos < in->len);
	finish(&h, &out);
	return out;
}

/* Message by message, each offered whole to copy_hash_row first. */
static outcome
feed_messages(const input *in)
{
	copy_hash	h;
	outcome		out;
	size_t		pos = 0;

	start(in, &h, &out);
	for (size_t i = 0; i < in->nmessages && out.rc == 0; i++)
	{
		const uint8_t *msg = in->stream + pos;
		size_t		len = in->ends[i] - pos;

		if (!copy_hash_row(&h, msg, len, &out.digest))
			out.rc = copy_hash_update(&h, msg, len, &out.digest);
		pos = in->ends[i];
	}
	finish(&h, &out);
	return out;
}

static void
check_same(const char *how, const outcome *a, const outcome *b)
{
	if (a->rc != b->rc || !chunk_digest_equal(&a->digest, &b->digest) ||
		strcmp(a->error, b->error) != 0)
	{
		fprintf(stderr, "%s differs from one piece: rc %d/%d rows %llu/%llu \"%s\"/\"%s\"\n", how,
				a->rc, b->rc, (unsigned long long) a->digest.rows,
				(unsigned long long) b->digest.rows, a->error, b->error);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static input in;			/* large: not on the stack */
	uint32_t	seed;
	size_t		pos = PREFIX_LEN;
	outcome		whole, other;
	uint8_t    *shrunk;

	if (size < PREFIX_LEN)
		return 0;
	in.text = data[0] & 1;
	in.ncols = (data[0] >> 1) % 8 % 5;
	seed = fuzz_seed(data + 1);

	in.len = 0;
	in.nmessages = 0;
	in.stream = fuzz_copy(data, size);	/* at least as long as the messages */
	if (in.stream == NULL)
		return 0;
	while (pos < size && in.nmessages < MAX_MESSAGES)
	{
		size_t		len = pos + 2 <= size ? (size_t) data[pos] | (size_t) data[pos + 1] << 8 : 0;

		pos = pos + 2 <= size ? pos + 2 : size;
		if (len > size - pos)
			len = size - pos;
		memmove(in.stream + in.len, data + pos, len);
		in.len += len;
		in.ends[in.nmessages++] = in.len;
		pos += len;
	}
	if ((shrunk = realloc(in.stream, in.len ? in.len : 1)) != NULL)
		in.stream = shrunk;		/* exactly the stream: ASan sees a read past its end */

	whole = feed_pieces(&in, 0, 0);
	other = feed_pieces(&in, 1 + seed % 97, seed);
	check_same("random pieces", &whole, &other);
	other = feed_pieces(&in, 1, 0);
	check_same("one byte at a time", &whole, &other);
	other = feed_messages(&in);
	check_same("message by message", &whole, &other);

	free(in.stream);
	in.stream = NULL;
	return 0;
}
