/*
 * fuzz_pgwire.c: libFuzzer target for the backend message framing
 * (codec/pgwire.c).
 *
 * The input is read as 4 bytes of split seed, then the stream.  The stream is
 * framed in one piece, in random pieces (with random give-backs of CopyData
 * tails) and one byte at a time; the transcript of events (a hash of every
 * message's type and bytes) and the final result must be the same each time,
 * or the target aborts.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "codec/pgwire.h"

#include "fuzz_common.h"

typedef struct outcome
{
	int			rc;
	uint64_t	transcript;
	uint64_t	offset;
} outcome;

static outcome
feed(const uint8_t *data, size_t len, size_t max_piece, uint32_t seed)
{
	pgwire_reader r;
	pgwire_event ev;
	XXH64_state_t *h = XXH64_createState();
	codec_in	in = {data, 0, 0};
	outcome		out = {0, 0, 0};

	if (h == NULL)
		abort();
	XXH64_reset(h, 0);
	pgwire_init(&r);
	do
	{
		size_t		piece = max_piece ? 1 + fuzz_random(&seed) % max_piece : len;

		in.size = in.size + piece < len ? in.size + piece : len;
		while ((out.rc = pgwire_next(&r, &in, &ev)) == 1)
		{
			if (ev.kind == PGWIRE_COPY_DATA && max_piece && ev.size > 1 && fuzz_random(&seed) % 4 == 0)
			{
				size_t		back = 1 + fuzz_random(&seed) % (ev.size - 1);

				pgwire_unread(&r, &in, back);
				XXH64_update(h, ev.data, ev.size - back);
				continue;
			}
			XXH64_update(h, ev.data, ev.size);
			if (ev.last_piece)
			{
				uint8_t		mark[2] = {ev.type, (uint8_t) ev.kind};

				XXH64_update(h, mark, sizeof(mark));
			}
		}
		if (out.rc < 0)
			break;
	} while (in.size < len);
	out.transcript = XXH64_digest(h);
	out.offset = r.offset;
	XXH64_freeState(h);
	pgwire_fini(&r);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t	seed;
	outcome		whole;
	outcome		pieces;
	outcome		bytes;

	if (size < 4)
		return 0;
	memcpy(&seed, data, 4);
	data += 4;
	size -= 4;
	whole = feed(data, size, 0, seed);
	pieces = feed(data, size, 1 + seed % 64, seed);
	bytes = feed(data, size, 1, seed);
	if (whole.rc != pieces.rc || whole.rc != bytes.rc ||
		whole.transcript != pieces.transcript || whole.transcript != bytes.transcript ||
		whole.offset != pieces.offset || whole.offset != bytes.offset)
		abort();
	return 0;
}
