/*
 * digest.c: order-independent 128-bit digests of a set of rows.
 *
 * A digest is the sum of the rows' XXH3-128 hashes modulo 2^128, kept as two
 * 64-bit halves with the carry propagated from the low half into the high
 * half, plus the number of rows added.  See digest.h for why a sum and not an
 * XOR.
 */
#include "codec/digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
chunk_digest_reset(chunk_digest *digest)
{
	digest->sum_low = 0;
	digest->sum_high = 0;
	digest->rows = 0;
}

/* Adds a 128-bit value to the sum; unsigned overflow wraps, as modulo 2^128 wants. */
static inline void
chunk_digest_add_sum(chunk_digest *digest, uint64_t low, uint64_t high)
{
	uint64_t	new_low = digest->sum_low + low;

	digest->sum_high += high + (new_low < low);
	digest->sum_low = new_low;
}

void
chunk_digest_add(chunk_digest *digest, uint64_t hash_low, uint64_t hash_high)
{
	chunk_digest_add_sum(digest, hash_low, hash_high);
	digest->rows++;
}

void
chunk_digest_merge(chunk_digest *digest, const chunk_digest *other)
{
	chunk_digest_add_sum(digest, other->sum_low, other->sum_high);
	digest->rows += other->rows;
}

int
chunk_digest_equal(const chunk_digest *a, const chunk_digest *b)
{
	return a->sum_low == b->sum_low &&
		a->sum_high == b->sum_high &&
		a->rows == b->rows;
}

void
chunk_digest_hex(const chunk_digest *digest, char *out)
{
	snprintf(out, CHUNK_DIGEST_HEX_LEN + 1, "%016" PRIx64 "%016" PRIx64,
			 digest->sum_high, digest->sum_low);
}

int
chunk_digest_parse_hex(const char *hex, uint64_t rows, chunk_digest *digest)
{
	uint64_t	half[2] = {0, 0};

	if (strlen(hex) != CHUNK_DIGEST_HEX_LEN)
		return -1;
	for (int i = 0; i < CHUNK_DIGEST_HEX_LEN; i++)
	{
		int			c = hex[i];
		int			v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		half[i / 16] = half[i / 16] << 4 | (uint64_t) v;
	}
	digest->sum_high = half[0];
	digest->sum_low = half[1];
	digest->rows = rows;
	return 0;
}
