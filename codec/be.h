/*
 * be.h: big-endian loads, the byte order of PostgreSQL's wire protocol and of
 * COPY BINARY.  Internal to codec/.
 */
#ifndef PGSLUICE_CODEC_BE_H
#define PGSLUICE_CODEC_BE_H

#include <stdint.h>

static inline uint32_t
load_be16(const uint8_t *src)
{
	return ((uint32_t) src[0] << 8) | src[1];
}

static inline uint32_t
load_be32(const uint8_t *src)
{
	return ((uint32_t) src[0] << 24) | ((uint32_t) src[1] << 16) |
		((uint32_t) src[2] << 8) | src[3];
}

#endif
