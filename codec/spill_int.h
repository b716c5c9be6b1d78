/*
 * spill_int.h: what the chunk files' encoder (spill_enc.c), decoder
 * (spill_dec.c) and header (spill.c) share.  Not for other modules.
 */
#ifndef PGSLUICE_CODEC_SPILL_INT_H
#define PGSLUICE_CODEC_SPILL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "codec/spill.h"

/* Keeps a call's return value (bytes written to out) within int. */
#define SPILL_CALL_OUTPUT_MAX ((size_t) 1 << 30)

#define ZSTD_FRAME_HEADER_MAX 18	/* RFC 8878: 4 magic + 1 + 1 + 4 + 8 */
#define SPILL_WINDOW_LOG_MAX 20		/* log2(SPILL_FRAME_MAX) */

/* The first four bytes of every zstd frame. */
extern const uint8_t spill_zstd_magic[4];

/* ---- little-endian helpers ---- */

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static inline uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t	v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Where one call's output into out must stop, so that its count fits in an int. */
static inline size_t
spill_call_limit(const spill_out *out)
{
	return out->size - out->pos > SPILL_CALL_OUTPUT_MAX ? out->pos + SPILL_CALL_OUTPUT_MAX : out->size;
}

/* Writes h as the file's SPILL_HEADER_SIZE bytes. */
void		spill_header_encode(uint8_t *dst, const spill_header *h);

/* A zstd error in words; buf holds it when it is not a fixed string. */
const char *spill_zstd_cause(size_t code, char *buf, size_t buflen);

#endif
