/*
 * copyhash.c: see copyhash.h.
 */
#include "codec/copyhash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
copy_hash_init(copy_hash *h, bool text, uint16_t ncols, const ctype *const *shapes)
{
	memset(h, 0, sizeof(*h));
	h->text = text;
	return text ? copytext_create(&h->txt) : copybin_create(&h->bin, ncols, shapes);
}

/* Where the stream goes on past its trailer: the same message however the stream was cut. */
static int
after_trailer(copy_hash *h)
{
	return err_set(&h->err, SIDE_LOCAL, -EPROTO, "byte %llu: data after the trailer",
				   (unsigned long long) copybin_offset(h->bin));
}

int
copy_hash_update(copy_hash *h, const uint8_t *data, size_t len, chunk_digest *digest)
{
	codec_in	in = {data, len, 0};
	int			rc;

	err_clear(&h->err);
	if (h->text)
		return copytext_step(h->txt, &in, digest) < 0 ? -EPROTO : 0;
	if (h->trailer_seen && len > 0)
		return after_trailer(h);
	rc = copybin_step(h->bin, &in, digest);
	if (rc < 0)
		return rc;
	if (rc == 1)
	{
		if (in.pos != in.size)
			return after_trailer(h);
		h->trailer_seen = true;
	}
	return 0;
}

bool
copy_hash_row(copy_hash *h, const uint8_t *row, size_t len, chunk_digest *digest)
{
	return !h->text && !h->trailer_seen && copybin_whole_row(h->bin, row, len, digest);
}

int
copy_hash_finish(copy_hash *h)
{
	err_clear(&h->err);
	if (h->text)
		return copytext_finish(h->txt);
	if (!h->trailer_seen)
		return err_set(&h->err, SIDE_LOCAL, -EPROTO, "the stream ended without its trailer");
	return 0;
}

const char *
copy_hash_error(const copy_hash *h)
{
	if (err_is_set(&h->err))
		return h->err.msg;
	return h->text ? copytext_error(h->txt) : copybin_error(h->bin);
}

void
copy_hash_fini(copy_hash *h)
{
	copybin_destroy(h->bin);
	copytext_destroy(h->txt);
	h->bin = NULL;
	h->txt = NULL;
}
