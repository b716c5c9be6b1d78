/*
 * test_digest.c: unit tests of the order-independent row digest (codec/digest.c).
 *
 * The digest is a 128-bit sum of row hashes with a row count; these tests
 * check the carry between the halves, that order does not matter and
 * duplicates do, that merging two digests gives the digest of the union, and
 * the hex form.
 */
#include <inttypes.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/digest.h"

#define HEX_FMT "%016" PRIx64 "%016" PRIx64

Test(digest, starts_empty_after_reset, .timeout = 5)
{
	chunk_digest d = {.sum_low = 1, .sum_high = 2, .rows = 3};

	chunk_digest_reset(&d);
	cr_assert(d.sum_low == 0 && d.sum_high == 0 && d.rows == 0,
			  "reset digest is " HEX_FMT " with %" PRIu64 " rows, expected zero",
			  d.sum_high, d.sum_low, d.rows);
}

Test(digest, carries_from_low_into_high_half, .timeout = 5)
{
	chunk_digest d;

	chunk_digest_reset(&d);
	chunk_digest_add(&d, UINT64_MAX, 0);
	chunk_digest_add(&d, 1, 0);
	cr_assert(d.sum_low == 0 && d.sum_high == 1,
			  "sum is " HEX_FMT ", expected 0000000000000001" "0000000000000000",
			  d.sum_high, d.sum_low);

	chunk_digest_add(&d, UINT64_MAX, UINT64_MAX);
	cr_assert(d.sum_low == UINT64_MAX && d.sum_high == 0,
			  "sum is " HEX_FMT ", expected 0000000000000000ffffffffffffffff",
			  d.sum_high, d.sum_low);
	cr_assert(d.rows == 3, "rows is %" PRIu64 ", expected 3", d.rows);
}

Test(digest, wraps_modulo_2_to_128, .timeout = 5)
{
	chunk_digest d;

	chunk_digest_reset(&d);
	chunk_digest_add(&d, UINT64_MAX, UINT64_MAX);
	chunk_digest_add(&d, 2, 0);
	cr_assert(d.sum_low == 1 && d.sum_high == 0,
			  "sum is " HEX_FMT ", expected 1", d.sum_high, d.sum_low);
}

Test(digest, does_not_depend_on_row_order, .timeout = 5)
{
	const uint64_t rows[][2] = {
		{0xfedcba9876543210u, 0x0123456789abcdefu},
		{UINT64_MAX, 7},
		{42, UINT64_MAX - 1},
		{0x8000000000000000u, 0x8000000000000000u},
	};
	chunk_digest forward, backward;

	chunk_digest_reset(&forward);
	chunk_digest_reset(&backward);
	for (int i = 0; i < 4; i++)
		chunk_digest_add(&forward, rows[i][0], rows[i][1]);
	for (int i = 3; i >= 0; i--)
		chunk_digest_add(&backward, rows[i][0], rows[i][1]);
	cr_assert(chunk_digest_equal(&forward, &backward),
			  "forward " HEX_FMT " (%" PRIu64 " rows) != backward " HEX_FMT " (%" PRIu64 " rows)",
			  forward.sum_high, forward.sum_low, forward.rows,
			  backward.sum_high, backward.sum_low, backward.rows);
}

Test(digest, counts_duplicate_rows, .timeout = 5)
{
	chunk_digest once, twice;

	chunk_digest_reset(&once);
	chunk_digest_reset(&twice);
	chunk_digest_add(&once, 0x1111, 0x2222);
	chunk_digest_add(&twice, 0x1111, 0x2222);
	chunk_digest_add(&twice, 0x1111, 0x2222);
	cr_assert(!chunk_digest_equal(&once, &twice),
			  "a duplicated row left the digest at " HEX_FMT, once.sum_high, once.sum_low);
	cr_assert(twice.sum_low == 0x2222 && twice.sum_high == 0x4444,
			  "sum is " HEX_FMT ", expected twice the row hash", twice.sum_high, twice.sum_low);
	cr_assert(twice.rows == 2, "rows is %" PRIu64 ", expected 2", twice.rows);
}

Test(digest, equal_needs_equal_row_counts, .timeout = 5)
{
	chunk_digest a, b;

	chunk_digest_reset(&a);
	chunk_digest_reset(&b);
	chunk_digest_add(&a, 0, 0);	/* a row whose hash is zero still counts */
	cr_assert(!chunk_digest_equal(&a, &b),
			  "digests of 1 and 0 rows compare equal");
}

Test(digest, merge_gives_digest_of_union, .timeout = 5)
{
	const uint64_t rows[][2] = {
		{UINT64_MAX, 1}, {UINT64_MAX, 2}, {3, UINT64_MAX}, {4, 4}, {5, 5},
	};
	chunk_digest whole, left, right;

	chunk_digest_reset(&whole);
	chunk_digest_reset(&left);
	chunk_digest_reset(&right);
	for (int i = 0; i < 5; i++)
	{
		chunk_digest_add(&whole, rows[i][0], rows[i][1]);
		chunk_digest_add(i < 2 ? &left : &right, rows[i][0], rows[i][1]);
	}
	chunk_digest_merge(&left, &right);
	cr_assert(chunk_digest_equal(&left, &whole),
			  "merged " HEX_FMT " (%" PRIu64 " rows) != whole " HEX_FMT " (%" PRIu64 " rows)",
			  left.sum_high, left.sum_low, left.rows,
			  whole.sum_high, whole.sum_low, whole.rows);
}

Test(digest, merge_of_empty_changes_nothing, .timeout = 5)
{
	chunk_digest d, empty, before;

	chunk_digest_reset(&d);
	chunk_digest_reset(&empty);
	chunk_digest_add(&d, 9, 9);
	before = d;
	chunk_digest_merge(&d, &empty);
	cr_assert(chunk_digest_equal(&d, &before),
			  "merging an empty digest gave " HEX_FMT ", expected " HEX_FMT,
			  d.sum_high, d.sum_low, before.sum_high, before.sum_low);
}

Test(digest, hex_is_32_lowercase_digits_high_half_first, .timeout = 5)
{
	chunk_digest d = {.sum_low = 0x0123456789abcdefu, .sum_high = 0xfedcba9876543210u, .rows = 1};
	char		hex[CHUNK_DIGEST_HEX_LEN + 2];
	const char *expected = "fedcba98765432100123456789abcdef";

	memset(hex, 'x', sizeof(hex));
	chunk_digest_hex(&d, hex);
	cr_assert(strcmp(hex, expected) == 0, "hex is \"%s\", expected \"%s\"", hex, expected);
	cr_assert(strlen(hex) == CHUNK_DIGEST_HEX_LEN, "hex has %zu digits, expected %d",
			  strlen(hex), CHUNK_DIGEST_HEX_LEN);
}

Test(digest, hex_keeps_leading_zeros, .timeout = 5)
{
	chunk_digest d = {.sum_low = 0xa, .sum_high = 0, .rows = 1};
	char		hex[CHUNK_DIGEST_HEX_LEN + 1];
	const char *expected = "0000000000000000000000000000000a";

	chunk_digest_hex(&d, hex);
	cr_assert(strcmp(hex, expected) == 0, "hex is \"%s\", expected \"%s\"", hex, expected);
}
