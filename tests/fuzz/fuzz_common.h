/*
 * fuzz_common.h: what the libFuzzer targets share: the split points they feed
 * a streaming parser with, drawn from a seed the input carries, so that a
 * crash replays exactly; and the copy of the input a target parses, so that
 * AddressSanitizer catches a read past its end.
 */
#ifndef PGSLUICE_TESTS_FUZZ_COMMON_H
#define PGSLUICE_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* xorshift32: the next split point or size */
static inline uint32_t
fuzz_random(uint32_t *state)
{
	uint32_t	x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* A seed from four bytes of the input, little-endian. */
static inline uint32_t
fuzz_seed(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The next piece's length: max_piece 0 means all that is left, else 1..max_piece bytes. */
static inline size_t
fuzz_piece(uint32_t *state, size_t max_piece, size_t left)
{
	size_t		piece = max_piece ? 1 + fuzz_random(state) % max_piece : left;

	return piece < left ? piece : left;
}

/* A malloc'd copy of data[0..size) (at least one byte), or NULL. */
static inline uint8_t *
fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t    *copy = malloc(size ? size : 1);

	if (copy != NULL && size > 0)
		memcpy(copy, data, size);
	return copy;
}

#endif
