/*
 * test_copyhash.c: the row hasher's own checks around the two parsers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/copyhash.h"

static const uint8_t header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";
static const uint8_t one_row[10] = {0, 1, 0, 0, 0, 4, 0, 0, 0, 7};
static const uint8_t trailer[2] = {0xff, 0xff};

static const ctype plain = {CTYPE_PLAIN, 0, NULL};
static const ctype *const one_plain[] = {&plain};

/* header, one row, trailer, then extra: hashed in pieces of piece bytes; the last error in why */
static int
hash_in_pieces(size_t piece, const char *extra, char *why, size_t whylen)
{
	uint8_t		stream[64];
	size_t		len = 0;
	copy_hash	h;
	chunk_digest digest;
	int			rc = 0;

	memcpy(stream, header, sizeof(header));
	len += sizeof(header);
	memcpy(stream + len, one_row, sizeof(one_row));
	len += sizeof(one_row);
	memcpy(stream + len, trailer, sizeof(trailer));
	len += sizeof(trailer);
	memcpy(stream + len, extra, strlen(extra));
	len += strlen(extra);

	chunk_digest_reset(&digest);
	cr_assert_eq(copy_hash_init(&h, false, 1, one_plain), 0);
	for (size_t pos = 0; pos < len && rc == 0; pos += piece)
		rc = copy_hash_update(&h, stream + pos, pos + piece < len ? piece : len - pos, &digest);
	if (rc == 0)
		rc = copy_hash_finish(&h);
	snprintf(why, whylen, "%s", rc < 0 ? copy_hash_error(&h) : "");
	copy_hash_fini(&h);
	return rc;
}

Test(copyhash, names_data_after_the_trailer_by_its_byte_however_the_stream_is_cut)
{
	char		why[128];

	for (size_t piece = 1; piece <= 40; piece++)
	{
		cr_assert_eq(hash_in_pieces(piece, "junk", why, sizeof(why)), -EPROTO, "piece %zu", piece);
		cr_assert_str_eq(why, "byte 31: data after the trailer", "piece %zu", piece);
	}
}

Test(copyhash, accepts_a_stream_that_ends_at_its_trailer)
{
	char		why[128];

	for (size_t piece = 1; piece <= 40; piece++)
		cr_assert_eq(hash_in_pieces(piece, "", why, sizeof(why)), 0, "piece %zu: %s", piece, why);
}

Test(copyhash, refuses_a_stream_without_its_trailer)
{
	copy_hash	h;
	chunk_digest digest;

	chunk_digest_reset(&digest);
	cr_assert_eq(copy_hash_init(&h, false, 1, one_plain), 0);
	cr_assert_eq(copy_hash_update(&h, header, sizeof(header), &digest), 0);
	cr_assert_eq(copy_hash_update(&h, one_row, sizeof(one_row), &digest), 0);
	cr_assert_eq(copy_hash_finish(&h), -EPROTO);
	cr_assert_str_eq(copy_hash_error(&h), "the stream ended without its trailer");
	cr_assert_eq(digest.rows, 1, "rows: %llu", (unsigned long long) digest.rows);
	copy_hash_fini(&h);
}
