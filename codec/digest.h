/*
 * digest.h: order-independent 128-bit digests of a set of rows.
 *
 * Each row is hashed on its own with XXH3-128; a chunk's digest is the sum of
 * its row hashes modulo 2^128, together with the row count.  Addition is
 * commutative, so rows read in any physical order give the same digest, and it
 * is not idempotent (unlike XOR), so a duplicated or a missing duplicate row
 * changes it.  Digests of chunks add up to the digest of their table.
 */
#ifndef PGSLUICE_CODEC_DIGEST_H
#define PGSLUICE_CODEC_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_DIGEST_HEX_LEN 32 /* hex digits of the 128-bit sum, without NUL */

typedef struct chunk_digest
{
	uint64_t	sum_low;		/* low 64 bits of the sum of row hashes */
	uint64_t	sum_high;		/* high 64 bits, with the carry */
	uint64_t	rows;			/* rows added */
} chunk_digest;

void		chunk_digest_reset(chunk_digest *digest);

/* Adds one row's XXH3-128 hash, given as its two 64-bit halves. */
void		chunk_digest_add(chunk_digest *digest, uint64_t hash_low, uint64_t hash_high);

/* Adds every row of other into digest (the digest of the union of both row sets). */
void		chunk_digest_merge(chunk_digest *digest, const chunk_digest *other);

/* Nonzero when both the sums and the row counts are equal. */
int			chunk_digest_equal(const chunk_digest *a, const chunk_digest *b);

/*
 * Writes the sum as 32 lowercase hex digits (high half first) and a NUL.
 * out must hold CHUNK_DIGEST_HEX_LEN + 1 bytes.
 */
void		chunk_digest_hex(const chunk_digest *digest, char *out);

/* The reverse of chunk_digest_hex, with the row count kept apart; 0, or -1 for bad hex. */
int			chunk_digest_parse_hex(const char *hex, uint64_t rows, chunk_digest *digest);

#endif
