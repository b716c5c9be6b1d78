/*
 * pgwire.c: streaming framing of backend messages.  See pgwire.h.
 */
#include "codec/pgwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/be.h"

void
pgwire_init(pgwire_reader *reader)
{
	memset(reader, 0, sizeof(*reader));
}

void
pgwire_fini(pgwire_reader *reader)
{
	free(reader->assembly);
	memset(reader, 0, sizeof(*reader));
}

static int
fail(pgwire_reader *r, int code, const char *what)
{
	return err_set(&r->err, SIDE_LOCAL, code, "%s at byte %llu", what, (unsigned long long) r->offset);
}

const char *
pgwire_error(const pgwire_reader *reader)
{
	return reader->err.msg;
}

int
pgwire_next(pgwire_reader *r, codec_in *in, pgwire_event *ev)
{
	if (r->err.code)
		return r->err.code;
	for (;;)
	{
		size_t		avail = in->size - in->pos;

		/* A whole CopyData message in the buffer, the common case: no header copy. */
		if (r->header_have == 0 && avail >= 5 && in->src[in->pos] == 'd')
		{
			const uint8_t *h = in->src + in->pos;
			uint32_t	length = load_be32(h + 1);

			if (length >= 4 && avail - 5 >= length - 4)
			{
				r->type = 'd';
				r->remaining = 0;
				*ev = (pgwire_event) {PGWIRE_COPY_DATA, 'd', h + 5, length - 4, true, true};
				in->pos += 5 + (size_t) (length - 4);
				r->offset += 5 + (uint64_t) (length - 4);
				return 1;
			}
		}
		if (r->header_have < 5)
		{
			size_t		take = 5 - r->header_have;
			uint32_t	length;

			if (avail == 0)
				return 0;
			if (take > avail)
				take = avail;
			memcpy(r->header + r->header_have, in->src + in->pos, take);
			r->header_have += (uint8_t) take;
			in->pos += take;
			r->offset += take;
			if (r->header_have < 5)
				return 0;
			r->type = r->header[0];
			length = load_be32(r->header + 1);
			if (length < 4)
				return fail(r, -EPROTO, "message length below 4");
			if (r->type != 'd' && length - 4 > PGWIRE_MAX_MESSAGE)
				return fail(r, -EPROTO, "message too long");
			r->remaining = length - 4;
			r->assembly_len = 0;
			if (r->type == 'd' && r->remaining == 0)
			{
				r->header_have = 0;
				*ev = (pgwire_event) {PGWIRE_COPY_DATA, 'd', in->src + in->pos, 0, true, true};
				return 1;
			}
			continue;
		}

		avail = in->size - in->pos;
		if (r->type == 'd')
		{
			size_t		take = avail < r->remaining ? avail : r->remaining;

			if (take == 0)
				return 0;
			*ev = (pgwire_event) {PGWIRE_COPY_DATA, 'd', in->src + in->pos, take, take == r->remaining, false};
			in->pos += take;
			r->offset += take;
			r->remaining -= (uint32_t) take;
			if (r->remaining == 0)
				r->header_have = 0;
			return 1;
		}

		/* Any other message: whole, straight from the input when it is all there. */
		if (r->assembly_len == 0 && avail >= r->remaining)
		{
			*ev = (pgwire_event) {PGWIRE_MESSAGE, r->type, in->src + in->pos, r->remaining, true, false};
			in->pos += r->remaining;
			r->offset += r->remaining;
			r->remaining = 0;
			r->header_have = 0;
			return 1;
		}
		if (avail == 0)
			return 0;
		{
			uint32_t	total = r->assembly_len + r->remaining;
			size_t		take = avail < r->remaining ? avail : r->remaining;

			if (r->assembly_cap < total)
			{
				uint8_t    *grown = realloc(r->assembly, total);

				if (grown == NULL)
					return fail(r, -ENOMEM, "out of memory");
				r->assembly = grown;
				r->assembly_cap = total;
			}
			memcpy(r->assembly + r->assembly_len, in->src + in->pos, take);
			r->assembly_len += (uint32_t) take;
			r->remaining -= (uint32_t) take;
			in->pos += take;
			r->offset += take;
			if (r->remaining > 0)
				return 0;
			*ev = (pgwire_event) {PGWIRE_MESSAGE, r->type, r->assembly, r->assembly_len, true, false};
			r->header_have = 0;
			return 1;
		}
	}
}

void
pgwire_unread(pgwire_reader *reader, codec_in *in, size_t n)
{
	/* only the tail of the CopyData piece just returned can be given back */
	in->pos -= n;
	reader->offset -= n;
	reader->remaining += (uint32_t) n;
	reader->header_have = 5;
	reader->type = 'd';
}

int
pgwire_error_field(const uint8_t *payload, size_t size, char code, char *out, size_t outlen)
{
	size_t		pos = 0;

	while (pos < size && payload[pos] != 0)
	{
		char		field = (char) payload[pos++];
		const uint8_t *end = memchr(payload + pos, 0, size - pos);
		size_t		len;

		if (end == NULL)
			break;
		len = (size_t) (end - (payload + pos));
		if (field == code)
		{
			if (outlen > 0)
			{
				size_t		copy = len < outlen - 1 ? len : outlen - 1;

				memcpy(out, payload + pos, copy);
				out[copy] = '\0';
			}
			return 1;
		}
		pos += len + 1;
	}
	return 0;
}
