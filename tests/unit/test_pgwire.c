/*
 * test_pgwire.c: backend message framing gives the same messages, and the
 * same CopyData bytes, however the stream is split.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/pgwire.h"

typedef struct stream
{
	uint8_t		bytes[4096];
	size_t		len;
} stream;

static void
put_message(stream *s, char type, const void *payload, size_t len)
{
	uint32_t	total = (uint32_t) len + 4;

	s->bytes[s->len++] = (uint8_t) type;
	s->bytes[s->len++] = (uint8_t) (total >> 24);
	s->bytes[s->len++] = (uint8_t) (total >> 16);
	s->bytes[s->len++] = (uint8_t) (total >> 8);
	s->bytes[s->len++] = (uint8_t) total;
	memcpy(s->bytes + s->len, payload, len);
	s->len += len;
}

/* A COPY OUT response as the server sends it: H, d*, c, C, Z, with a notice inside. */
static void
copy_out_stream(stream *s)
{
	static const uint8_t copy_response[] = {1, 0, 0};	/* binary, 0 columns */
	static const uint8_t notice[] = "SNOTICE\0Mhello\0";

	s->len = 0;
	put_message(s, 'H', copy_response, sizeof(copy_response));
	put_message(s, 'd', "row one", 7);
	put_message(s, 'd', "", 0);
	put_message(s, 'N', notice, sizeof(notice));
	put_message(s, 'd', "a longer second row", 19);
	put_message(s, 'c', "", 0);
	put_message(s, 'C', "COPY 3", 7);
	put_message(s, 'Z', "T", 1);
}

/* Replays all events into a transcript: "d:<payload>|" per CopyData, "<type>(<len>)" for others. */
static void
transcript(const uint8_t *bytes, size_t len, size_t piece, char *out, size_t outlen)
{
	pgwire_reader r;
	pgwire_event ev;
	codec_in	in = {bytes, 0, 0};
	size_t		used = 0;
	bool		in_copy = false;

	pgwire_init(&r);
	out[0] = '\0';
	while (in.size < len)
	{
		int			rc;

		in.size = in.size + piece < len ? in.size + piece : len;
		while ((rc = pgwire_next(&r, &in, &ev)) == 1)
		{
			if (ev.kind == PGWIRE_COPY_DATA)
			{
				cr_assert(!ev.whole || (!in_copy && ev.last_piece),
						  "pieces of %zu bytes: a piece called whole is part of a message", piece);
				if (!in_copy)
					used += (size_t) snprintf(out + used, outlen - used, "d:");
				in_copy = !ev.last_piece;
				used += (size_t) snprintf(out + used, outlen - used, "%.*s%s", (int) ev.size,
										  (const char *) ev.data, ev.last_piece ? "|" : "");
			}
			else
				used += (size_t) snprintf(out + used, outlen - used, "%c(%zu)", ev.type, ev.size);
		}
		cr_assert_eq(rc, 0, "error %d: %s", rc, pgwire_error(&r));
	}
	pgwire_fini(&r);
}

Test(pgwire, frames_a_copy_out_response, .timeout = 10)
{
	stream		s;
	char		got[1024];

	copy_out_stream(&s);
	transcript(s.bytes, s.len, s.len, got, sizeof(got));
	cr_assert_str_eq(got, "H(3)d:row one|d:|N(16)d:a longer second row|c(0)C(7)Z(1)");
}

Test(pgwire, same_messages_at_every_piece_size, .timeout = 30)
{
	stream		s;
	char		whole[1024];
	char		split[1024];

	copy_out_stream(&s);
	transcript(s.bytes, s.len, s.len, whole, sizeof(whole));
	for (size_t piece = 1; piece < s.len; piece++)
	{
		transcript(s.bytes, s.len, piece, split, sizeof(split));
		cr_assert_str_eq(split, whole, "pieces of %zu bytes: %s vs %s", piece, split, whole);
	}
}

/* A CopyData message wholly in the buffer comes as one piece that says so. */
Test(pgwire, flags_whole_copy_data_messages, .timeout = 10)
{
	stream		s;
	pgwire_reader r;
	pgwire_event ev;
	codec_in	in;
	int			whole = 0;

	copy_out_stream(&s);
	in = (codec_in) {s.bytes, s.len, 0};
	pgwire_init(&r);
	while (pgwire_next(&r, &in, &ev) == 1)
		if (ev.kind == PGWIRE_COPY_DATA)
		{
			cr_assert(ev.whole && ev.last_piece, "a CopyData message of %zu bytes not whole", ev.size);
			whole++;
		}
		else
			cr_assert(!ev.whole, "message '%c' flagged as a whole CopyData payload", ev.type);
	cr_assert_eq(whole, 3);
	pgwire_fini(&r);

	/* the first 9 bytes of "row one": a piece, not whole; its rest neither */
	s.len = 0;
	put_message(&s, 'd', "row one", 7);
	pgwire_init(&r);
	in = (codec_in) {s.bytes, 9, 0};
	cr_assert_eq(pgwire_next(&r, &in, &ev), 1);
	cr_assert(!ev.whole && !ev.last_piece && ev.size == 4);
	in.size = s.len;
	cr_assert_eq(pgwire_next(&r, &in, &ev), 1);
	cr_assert(!ev.whole && ev.last_piece && ev.size == 3);
	pgwire_fini(&r);
}

Test(pgwire, unread_returns_the_rest_of_a_piece, .timeout = 10)
{
	stream		s;
	pgwire_reader r;
	pgwire_event ev;
	codec_in	in;

	s.len = 0;
	put_message(&s, 'd', "abcdef", 6);
	put_message(&s, 'c', "", 0);
	in = (codec_in) {s.bytes, s.len, 0};
	pgwire_init(&r);
	cr_assert_eq(pgwire_next(&r, &in, &ev), 1);
	cr_assert_eq(ev.size, 6);
	pgwire_unread(&r, &in, 4);	/* took "ab" only */
	cr_assert_eq(pgwire_next(&r, &in, &ev), 1);
	cr_assert_eq(ev.size, 4);
	cr_assert_eq(memcmp(ev.data, "cdef", 4), 0);
	cr_assert(ev.last_piece);
	cr_assert_eq(pgwire_next(&r, &in, &ev), 1);
	cr_assert_eq(ev.type, 'c');
	cr_assert_eq(pgwire_next(&r, &in, &ev), 0);
	pgwire_fini(&r);
}

Test(pgwire, rejects_a_length_below_four, .timeout = 10)
{
	static const uint8_t bad[] = {'d', 0, 0, 0, 3};
	pgwire_reader r;
	pgwire_event ev;
	codec_in	in = {bad, sizeof(bad), 0};

	pgwire_init(&r);
	cr_assert_eq(pgwire_next(&r, &in, &ev), -EPROTO);
	cr_assert_not_null(strstr(pgwire_error(&r), "below 4"), "%s", pgwire_error(&r));
	cr_assert_eq(pgwire_next(&r, &in, &ev), -EPROTO, "errors must be sticky");
	pgwire_fini(&r);
}

Test(pgwire, rejects_an_oversized_control_message, .timeout = 10)
{
	static const uint8_t bad[] = {'E', 0x7f, 0, 0, 0};
	pgwire_reader r;
	pgwire_event ev;
	codec_in	in = {bad, sizeof(bad), 0};

	pgwire_init(&r);
	cr_assert_eq(pgwire_next(&r, &in, &ev), -EPROTO);
	pgwire_fini(&r);
}

Test(pgwire, reads_error_fields, .timeout = 10)
{
	static const uint8_t payload[] = "SERROR\0C57P01\0Mterminating connection\0\0";
	char		field[64];

	cr_assert_eq(pgwire_error_field(payload, sizeof(payload), 'M', field, sizeof(field)), 1);
	cr_assert_str_eq(field, "terminating connection");
	cr_assert_eq(pgwire_error_field(payload, sizeof(payload), 'C', field, sizeof(field)), 1);
	cr_assert_str_eq(field, "57P01");
	cr_assert_eq(pgwire_error_field(payload, sizeof(payload), 'D', field, sizeof(field)), 0);
	cr_assert_eq(pgwire_error_field(payload, sizeof(payload), 'M', field, 5), 1);
	cr_assert_str_eq(field, "term");
}

Test(pgwire, tolerates_an_unterminated_error_payload, .timeout = 10)
{
	static const uint8_t payload[] = {'M', 'a', 'b'};
	char		field[8];

	cr_assert_eq(pgwire_error_field(payload, sizeof(payload), 'M', field, sizeof(field)), 0);
}
