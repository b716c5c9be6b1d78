/*
 * copytext.c: streaming row hasher for COPY ... (FORMAT text).
 *
 * Rows are found with memchr() for the newline.  A row wholly inside one
 * buffer is hashed with one XXH3_128bits() call; a row split between buffers
 * goes into the parser's XXH3 streaming state piece by piece and is finished
 * when its newline arrives.  Either way the hash covers the same bytes, so
 * where the buffers split makes no difference to the digest.
 */
#include "codec/copytext.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* Owned by one thread at a time; the parser owns state. */
struct copytext_parser
{
	XXH3_state_t *state;		/* the row begun in an earlier buffer */
	bool		in_row;			/* state holds the start of a row */
	uint64_t	offset;			/* bytes consumed since reset */
	uint64_t	rows;			/* rows hashed since reset */
	int			rc;				/* sticky error */
	sl_err		err;			/* the message of rc's failure */
};

int
copytext_create(copytext_parser **out)
{
	copytext_parser *p;

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
	copytext_reset(p);
	*out = p;
	return 0;
}

void
copytext_reset(copytext_parser *p)
{
	p->in_row = false;
	p->offset = 0;
	p->rows = 0;
	p->rc = 0;
	err_clear(&p->err);
}

void
copytext_destroy(copytext_parser *p)
{
	if (p == NULL)
		return;
	XXH3_freeState(p->state);
	p->state = NULL;
	free(p);
}

int
copytext_step(copytext_parser *p, codec_in *in, chunk_digest *digest)
{
	const uint8_t *cur = in->src + in->pos;
	const uint8_t *end = in->src + in->size;

	if (p->rc != 0)
		return p->rc;
	p->offset += (uint64_t) (end - cur);

	while (cur < end)
	{
		const uint8_t *newline = memchr(cur, '\n', (size_t) (end - cur));
		XXH128_hash_t hash;

		if (newline == NULL)
		{
			if (!p->in_row)
			{
				XXH3_128bits_reset(p->state);
				p->in_row = true;
			}
			XXH3_128bits_update(p->state, cur, (size_t) (end - cur));
			break;
		}
		if (p->in_row)
		{
			XXH3_128bits_update(p->state, cur, (size_t) (newline - cur));
			hash = XXH3_128bits_digest(p->state);
			p->in_row = false;
		}
		else
			hash = XXH3_128bits(cur, (size_t) (newline - cur));
		chunk_digest_add(digest, hash.low64, hash.high64);
		p->rows++;
		cur = newline + 1;
	}
	in->pos = in->size;
	return 0;
}

int
copytext_finish(copytext_parser *p)
{
	if (p->rc != 0)
		return p->rc;
	if (p->in_row)
	{
		p->rc = err_set(&p->err, SIDE_LOCAL, -EPROTO, "COPY text stream ends inside row %llu at byte %llu",
						(unsigned long long) p->rows + 1, (unsigned long long) p->offset);
	}
	return p->rc;
}

const char *
copytext_error(const copytext_parser *p)
{
	return p->err.msg;
}
