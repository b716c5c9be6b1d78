/*
 * spill_enc.c: the chunk file encoder.  See spill.h for the format.
 *
 * Encoder: the stream is cut into frames of SPILL_FRAME_MAX bytes, so that
 * each frame's content size is known before it starts and can go in its
 * header, and the window is set to SPILL_FRAME_MAX so that every frame is
 * single-segment (left to itself, level 1 uses a 512 kB window).  A frame is gathered in the encoder (or taken in place when the
 * caller hands over a whole frame's worth at once) and compressed in one
 * ZSTD_compress2() call, straight into the caller's buffer when it has room
 * for the worst case, else into the encoder's frame buffer, which the
 * following calls drain.
 */
#include "codec/spill.h"
#include "codec/spill_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ---- encoder ---- */

typedef enum enc_stage
{
	ENC_DATA = 0,				/* taking stream bytes */
	ENC_TRAILER,				/* finish has queued the trailer */
	ENC_DONE
} enc_stage;

/*
 * Owned by the caller's thread.  staging, frame, cctx and hash are owned and
 * freed by destroy.  pending points into header_or_trailer or frame: file
 * bytes produced but not yet copied to the caller.
 */
struct spill_encoder
{
	int			level;
	ZSTD_CCtx  *cctx;
	XXH3_state_t *hash;			/* of every file byte before the trailer */
	enc_stage	stage;
	uint8_t    *staging;		/* SPILL_FRAME_MAX bytes: the frame being gathered */
	size_t		staged;
	uint8_t    *frame;			/* frame_cap bytes, allocated when first needed */
	size_t		frame_cap;
	uint8_t		header_or_trailer[SPILL_HEADER_SIZE];
	const uint8_t *pending;
	size_t		pending_len;
	size_t		pending_pos;
	spill_stats stats;
	sl_err		err;			/* sticky: err.code is the failure, 0 while none */
};

static int
enc_fail(spill_encoder *enc, int code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static int
enc_fail(spill_encoder *enc, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	err_setv(&enc->err, SIDE_LOCAL, code, fmt, ap);
	va_end(ap);
	return code;
}

static bool
header_valid(const spill_header *h)
{
	return h != NULL && (h->format == SPILL_FORMAT_BINARY || h->format == SPILL_FORMAT_TEXT);
}

int
spill_encoder_reset(spill_encoder *enc, const spill_header *header)
{
	if (!header_valid(header))
		return -EINVAL;
	enc->stage = ENC_DATA;
	enc->staged = 0;
	memset(&enc->stats, 0, sizeof(enc->stats));
	err_clear(&enc->err);
	XXH3_64bits_reset(enc->hash);
	spill_header_encode(enc->header_or_trailer, header);
	XXH3_64bits_update(enc->hash, enc->header_or_trailer, SPILL_HEADER_SIZE);
	enc->pending = enc->header_or_trailer;
	enc->pending_len = SPILL_HEADER_SIZE;
	enc->pending_pos = 0;
	enc->stats.file_bytes = SPILL_HEADER_SIZE;
	return 0;
}

int
spill_encoder_create(int level, const spill_header *header, spill_encoder **out)
{
	spill_encoder *enc;
	int			rc = -ENOMEM;

	*out = NULL;
	if (level == 0)
		level = SPILL_LEVEL_DEFAULT;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || !header_valid(header))
		return -EINVAL;
	enc = calloc(1, sizeof(*enc));
	if (enc == NULL)
		return -ENOMEM;
	enc->level = level;
	enc->cctx = ZSTD_createCCtx();
	enc->hash = XXH3_createState();
	enc->staging = malloc(SPILL_FRAME_MAX);
	if (enc->cctx == NULL || enc->hash == NULL || enc->staging == NULL)
		goto fail;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_compressionLevel, level)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_checksumFlag, 1)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_contentSizeFlag, 1)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->cctx, ZSTD_c_windowLog, SPILL_WINDOW_LOG_MAX)))
	{
		rc = -EINVAL;
		goto fail;
	}
	rc = spill_encoder_reset(enc, header);
	if (rc < 0)
		goto fail;
	*out = enc;
	return 0;

fail:
	spill_encoder_destroy(enc);
	return rc;
}

void
spill_encoder_destroy(spill_encoder *enc)
{
	if (enc == NULL)
		return;
	ZSTD_freeCCtx(enc->cctx);
	XXH3_freeState(enc->hash);
	free(enc->staging);
	free(enc->frame);
	free(enc);
}

/* Copies pending file bytes to out; returns how many are still pending. */
static size_t
enc_drain(spill_encoder *enc, spill_out *out, size_t limit)
{
	size_t		left = enc->pending_len - enc->pending_pos;
	size_t		room = limit - out->pos;
	size_t		take = left < room ? left : room;

	if (take > 0)
	{
		memcpy(out->dst + out->pos, enc->pending + enc->pending_pos, take);
		out->pos += take;
		enc->pending_pos += take;
	}
	if (enc->pending_pos == enc->pending_len)
	{
		enc->pending = NULL;
		enc->pending_len = enc->pending_pos = 0;
	}
	return enc->pending_len - enc->pending_pos;
}

/* Compresses src[0..len) as one frame, into out when it surely fits, else into enc->frame. */
static int
enc_frame(spill_encoder *enc, const uint8_t *src, size_t len, spill_out *out, size_t limit)
{
	size_t		bound = ZSTD_compressBound(len);
	bool		direct = limit - out->pos >= bound;
	uint8_t    *dst;
	size_t		csize;

	if (direct)
		dst = out->dst + out->pos;
	else
	{
		if (enc->frame == NULL)
		{
			enc->frame_cap = ZSTD_compressBound(SPILL_FRAME_MAX);
			enc->frame = malloc(enc->frame_cap);
			if (enc->frame == NULL)
				return enc_fail(enc, -ENOMEM, "out of memory for a compressed frame");
		}
		dst = enc->frame;
	}
	csize = ZSTD_compress2(enc->cctx, dst, direct ? bound : enc->frame_cap, src, len);
	if (ZSTD_isError(csize))
		return enc_fail(enc, -EIO, "could not compress frame %llu: %s",
						(unsigned long long) enc->stats.frames + 1, ZSTD_getErrorName(csize));
	XXH3_64bits_update(enc->hash, dst, csize);
	enc->stats.frames++;
	enc->stats.file_bytes += csize;
	if (direct)
		out->pos += csize;
	else
	{
		enc->pending = enc->frame;
		enc->pending_len = csize;
		enc->pending_pos = 0;
	}
	return 0;
}

int
spill_encoder_update(spill_encoder *enc, codec_in *in, spill_out *out)
{
	size_t		start = out->pos;
	size_t		limit;
	int			rc;

	if (enc->err.code)
		return enc->err.code;
	if (enc->stage != ENC_DATA)
		return enc_fail(enc, -EINVAL, "stream bytes given after finish");
	if (in->pos > in->size || out->pos > out->size)
		return enc_fail(enc, -EINVAL, "buffer position past its size");
	limit = spill_call_limit(out);
	for (;;)
	{
		size_t		avail = in->size - in->pos;
		size_t		take;

		if (enc->pending != NULL && enc_drain(enc, out, limit) > 0)
			break;				/* out is full */
		if (avail == 0)
			break;
		if (enc->staged == 0 && avail >= SPILL_FRAME_MAX)
		{
			/* A whole frame in the caller's buffer: no need to gather it. */
			if ((rc = enc_frame(enc, in->src + in->pos, SPILL_FRAME_MAX, out, limit)) < 0)
				return rc;
			in->pos += SPILL_FRAME_MAX;
			enc->stats.stream_bytes += SPILL_FRAME_MAX;
			continue;
		}
		take = SPILL_FRAME_MAX - enc->staged;
		if (take > avail)
			take = avail;
		memcpy(enc->staging + enc->staged, in->src + in->pos, take);
		enc->staged += take;
		in->pos += take;
		enc->stats.stream_bytes += take;
		if (enc->staged == SPILL_FRAME_MAX)
		{
			if ((rc = enc_frame(enc, enc->staging, SPILL_FRAME_MAX, out, limit)) < 0)
				return rc;
			enc->staged = 0;
		}
	}
	return (int) (out->pos - start);
}

int
spill_encoder_finish(spill_encoder *enc, spill_out *out)
{
	size_t		limit;
	int			rc;

	if (enc->err.code)
		return enc->err.code;
	if (out->pos > out->size)
		return enc_fail(enc, -EINVAL, "buffer position past its size");
	limit = spill_call_limit(out);
	for (;;)
	{
		if (enc->pending != NULL)
		{
			size_t		left = enc_drain(enc, out, limit);

			if (left > 0)
			{
				if (enc->stage == ENC_DATA)
					left += SPILL_TRAILER_SIZE;
				return left > INT_MAX ? INT_MAX : (int) left;
			}
		}
		switch (enc->stage)
		{
			case ENC_DATA:
				if (enc->staged > 0)
				{
					if ((rc = enc_frame(enc, enc->staging, enc->staged, out, limit)) < 0)
						return rc;
					enc->staged = 0;
					break;
				}
				memcpy(enc->header_or_trailer, SPILL_TRAILER_MAGIC, 8);
				put_le64(enc->header_or_trailer + 8, enc->stats.stream_bytes);
				put_le64(enc->header_or_trailer + 16, enc->stats.frames);
				put_le64(enc->header_or_trailer + 24, XXH3_64bits_digest(enc->hash));
				enc->pending = enc->header_or_trailer;
				enc->pending_len = SPILL_TRAILER_SIZE;
				enc->pending_pos = 0;
				enc->stats.file_bytes += SPILL_TRAILER_SIZE;
				enc->stage = ENC_TRAILER;
				break;
			case ENC_TRAILER:
				enc->stage = ENC_DONE;
				return 0;
			case ENC_DONE:
				return 0;
		}
	}
}

void
spill_encoder_stats(const spill_encoder *enc, spill_stats *stats)
{
	*stats = enc->stats;
}

const char *
spill_encoder_error(const spill_encoder *enc)
{
	return enc->err.msg;
}

