/*
 * test_copytext.c: unit tests of the COPY text row hasher (codec/copytext.c).
 *
 * Expected digests are computed here with XXH3_128bits() over each row
 * without its newline.  Every stream is also fed split at every offset and
 * one byte at a time, and must give the same digest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <xxhash.h>

#include "codec/copytext.h"

static void
expect_rows(chunk_digest *expected, const char *const *rows, int nrows)
{
	chunk_digest_reset(expected);
	for (int i = 0; i < nrows; i++)
	{
		XXH128_hash_t hash = XXH3_128bits(rows[i], strlen(rows[i]));

		chunk_digest_add(expected, hash.low64, hash.high64);
	}
}

typedef struct outcome
{
	int			step_rc;
	int			finish_rc;
	chunk_digest digest;
	char		error[128];
} outcome;

/* Feeds the first `first` bytes, then pieces of `piece` bytes (0: all the rest). */
static outcome
feed(const char *text, size_t len, size_t first, size_t piece)
{
	copytext_parser *parser;
	outcome		out = {0};
	size_t		start = 0;
	int			rc = copytext_create(&parser);

	cr_assert(rc == 0, "copytext_create returned %d, expected 0", rc);
	chunk_digest_reset(&out.digest);
	do
	{
		size_t		stop = start == 0 ? first : (piece ? start + piece : len);
		codec_in	in;

		if (stop > len || (start == 0 && first == 0))
			stop = len;
		in = (codec_in) {(const uint8_t *) text, stop, start};
		out.step_rc = copytext_step(parser, &in, &out.digest);
		cr_assert(out.step_rc == 0, "step returned %d, expected 0", out.step_rc);
		cr_assert(in.pos == stop, "step left pos at %zu, expected %zu", in.pos, stop);
		start = stop;
	} while (start < len);
	out.finish_rc = copytext_finish(parser);
	snprintf(out.error, sizeof(out.error), "%s", copytext_error(parser));
	copytext_destroy(parser);
	return out;
}

static void
assert_digest(const chunk_digest *got, const chunk_digest *expected, const char *what)
{
	char		got_hex[CHUNK_DIGEST_HEX_LEN + 1];
	char		expected_hex[CHUNK_DIGEST_HEX_LEN + 1];

	chunk_digest_hex(got, got_hex);
	chunk_digest_hex(expected, expected_hex);
	cr_assert(chunk_digest_equal(got, expected),
			  "%s: digest %s (%" PRIu64 " rows), expected %s (%" PRIu64 " rows)",
			  what, got_hex, got->rows, expected_hex, expected->rows);
}

static void
assert_split_invariant(const char *text, const outcome *whole)
{
	size_t		len = strlen(text);
	char		what[64];

	for (size_t split = 1; split < len; split++)
	{
		outcome		part = feed(text, len, split, 0);

		snprintf(what, sizeof(what), "split at %zu of %zu", split, len);
		assert_digest(&part.digest, &whole->digest, what);
		cr_assert(part.finish_rc == whole->finish_rc, "%s: finish %d, expected %d",
				  what, part.finish_rc, whole->finish_rc);
	}
	{
		outcome		bytewise = feed(text, len, 1, 1);

		assert_digest(&bytewise.digest, &whole->digest, "one byte at a time");
		cr_assert(bytewise.finish_rc == whole->finish_rc, "one byte at a time: finish %d, expected %d",
				  bytewise.finish_rc, whole->finish_rc);
	}
}

Test(copytext, hashes_each_row_without_its_newline, .timeout = 10)
{
	const char *text = "1\tone\n2\ttwo\\nlines\n3\t\\N\n";
	const char *const rows[] = {"1\tone", "2\ttwo\\nlines", "3\t\\N"};
	chunk_digest expected;
	outcome		got = feed(text, strlen(text), 0, 0);

	expect_rows(&expected, rows, 3);
	cr_assert(got.finish_rc == 0, "finish returned %d (\"%s\"), expected 0", got.finish_rc, got.error);
	assert_digest(&got.digest, &expected, "three rows");
	assert_split_invariant(text, &got);
}

Test(copytext, counts_empty_rows, .timeout = 10)
{
	const char *text = "\n\nx\n\n";
	const char *const rows[] = {"", "", "x", ""};
	chunk_digest expected;
	outcome		got = feed(text, strlen(text), 0, 0);

	expect_rows(&expected, rows, 4);
	cr_assert(got.finish_rc == 0, "finish returned %d, expected 0", got.finish_rc);
	assert_digest(&got.digest, &expected, "empty rows");
	assert_split_invariant(text, &got);
}

Test(copytext, empty_stream_has_no_rows, .timeout = 10)
{
	outcome		got = feed("", 0, 0, 0);

	cr_assert(got.finish_rc == 0, "finish returned %d, expected 0", got.finish_rc);
	cr_assert(got.digest.rows == 0, "%" PRIu64 " rows, expected 0", got.digest.rows);
}

Test(copytext, same_digest_for_every_split, .timeout = 30)
{
	char		text[4096];
	size_t		len = 0;
	outcome		got;

	for (int i = 0; i < 40; i++)
		len += (size_t) snprintf(text + len, sizeof(text) - len, "%d\t%d\tfiller %*d\n",
								 i, i * 31, i % 9 * 3, i);
	got = feed(text, len, 0, 0);
	cr_assert(got.digest.rows == 40, "%" PRIu64 " rows, expected 40", got.digest.rows);
	assert_split_invariant(text, &got);
}

Test(copytext, does_not_depend_on_row_order, .timeout = 10)
{
	const char *forward = "a\nb\nc\n";
	const char *backward = "c\na\nb\n";
	outcome		a = feed(forward, strlen(forward), 0, 0);
	outcome		b = feed(backward, strlen(backward), 0, 0);

	assert_digest(&b.digest, &a.digest, "reordered rows");
}

Test(copytext, counts_duplicate_rows, .timeout = 10)
{
	const char *once = "a\n";
	const char *twice = "a\na\n";
	outcome		a = feed(once, strlen(once), 0, 0);
	outcome		b = feed(twice, strlen(twice), 0, 0);

	cr_assert(b.digest.rows == 2, "%" PRIu64 " rows, expected 2", b.digest.rows);
	cr_assert(b.digest.sum_low != a.digest.sum_low || b.digest.sum_high != a.digest.sum_high,
			  "a duplicated row left the sum unchanged");
}

Test(copytext, finish_rejects_row_without_newline, .timeout = 10)
{
	const char *text = "1\tone\n2\ttw";
	const char *const rows[] = {"1\tone"};
	chunk_digest expected;
	outcome		got = feed(text, strlen(text), 0, 0);

	expect_rows(&expected, rows, 1);
	cr_assert(got.finish_rc == -EPROTO, "finish returned %d, expected %d", got.finish_rc, -EPROTO);
	cr_assert(strcmp(got.error, "COPY text stream ends inside row 2 at byte 10") == 0,
			  "error \"%s\", expected \"COPY text stream ends inside row 2 at byte 10\"", got.error);
	assert_digest(&got.digest, &expected, "rows before the partial one");
	assert_split_invariant(text, &got);
}

Test(copytext, errors_are_sticky_and_reset_clears_them, .timeout = 10)
{
	copytext_parser *parser;
	chunk_digest digest;
	codec_in	in = {(const uint8_t *) "abc", 3, 0};
	int			rc = copytext_create(&parser);

	cr_assert(rc == 0, "copytext_create returned %d", rc);
	chunk_digest_reset(&digest);
	copytext_step(parser, &in, &digest);
	rc = copytext_finish(parser);
	cr_assert(rc == -EPROTO, "finish returned %d, expected %d", rc, -EPROTO);
	in = (codec_in) {(const uint8_t *) "\n", 1, 0};
	rc = copytext_step(parser, &in, &digest);
	cr_assert(rc == -EPROTO, "step after error returned %d, expected %d", rc, -EPROTO);

	copytext_reset(parser);
	cr_assert(strcmp(copytext_error(parser), "") == 0, "error \"%s\" after reset",
			  copytext_error(parser));
	in = (codec_in) {(const uint8_t *) "x\n", 2, 0};
	rc = copytext_step(parser, &in, &digest);
	cr_assert(rc == 0, "step after reset returned %d, expected 0", rc);
	rc = copytext_finish(parser);
	cr_assert(rc == 0, "finish after reset returned %d, expected 0", rc);
	copytext_destroy(parser);
}

Test(copytext, reset_drops_partial_row, .timeout = 10)
{
	copytext_parser *parser;
	chunk_digest digest, expected;
	const char *const rows[] = {"b"};
	codec_in	in = {(const uint8_t *) "a", 1, 0};
	int			rc = copytext_create(&parser);

	cr_assert(rc == 0, "copytext_create returned %d", rc);
	chunk_digest_reset(&digest);
	copytext_step(parser, &in, &digest);
	copytext_reset(parser);
	in = (codec_in) {(const uint8_t *) "b\n", 2, 0};
	copytext_step(parser, &in, &digest);
	expect_rows(&expected, rows, 1);
	assert_digest(&digest, &expected, "after reset mid-row");
	copytext_destroy(parser);
}

Test(copytext, destroy_accepts_null, .timeout = 5)
{
	copytext_destroy(NULL);
}
