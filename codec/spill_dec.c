/*
 * spill_dec.c: the chunk file decoder.  See spill.h for the format.
 *
 * Decoder: a small state machine (header, frame boundary, frame, done).  At
 * a boundary it looks at the next bytes, in place when the caller's buffer
 * holds them, else gathered in a stash of at most SPILL_HEADER_SIZE bytes:
 * the zstd magic and the frame header, checked against the caps before zstd
 * sees them, or the trailer.  A frame then streams through
 * ZSTD_decompressStream(), which stops at the end of each frame; the file
 * hash is updated with exactly the bytes zstd reports as consumed.
 *
 * Why single-segment frames only: zstd decodes a frame that lies whole in
 * the caller's buffer in one pass, which checks back-references against the
 * start of the output only, and any other frame block by block in a window
 * buffer of the declared size.  A frame whose window descriptor is smaller
 * than its matches reach would pass the first way and fail the second, so
 * whether a file is accepted would depend on how it was split.  In a
 * single-segment frame the window is the frame: both ways agree.
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

/* ---- decoder ---- */

typedef enum dec_stage
{
	DEC_HEADER = 0,				/* gathering the file header in the stash */
	DEC_BOUNDARY,				/* looking at what comes next: a frame or the trailer */
	DEC_FRAME,					/* inside a frame */
	DEC_DONE					/* trailer read and checked */
} dec_stage;

/* What a frame's header says (RFC 8878, 3.1.1.1). */
typedef struct frame_params
{
	size_t		header_size;
	uint64_t	content_size;
	bool		has_content_size;
	bool		single_segment; /* no window descriptor: the window is the frame */
	uint64_t	window_size;
	bool		checksum;
	bool		dictionary;
	bool		reserved_bit;
} frame_params;

/*
 * Owned by the caller's thread; dctx and hash are owned and freed by
 * destroy.  The stash holds the file header, or a frame header or trailer
 * that arrived split across the caller's buffers.
 */
struct spill_decoder
{
	ZSTD_DCtx  *dctx;
	XXH3_state_t *hash;			/* of every file byte before the trailer */
	bool		check_id;
	uint8_t		expected_id[SPILL_DUMP_ID_SIZE];
	spill_header header;
	bool		have_header;
	dec_stage	stage;
	uint8_t		stash[SPILL_HEADER_SIZE];
	size_t		stash_len;
	size_t		stash_fed;		/* DEC_FRAME: stash bytes zstd has consumed */
	bool		zstd_full;		/* zstd's last call filled out: it may hold more */
	uint64_t	offset;			/* file bytes consumed */
	uint64_t	frame_start;	/* file offset of the current frame or boundary */
	uint64_t	frame_content;	/* the current frame's content size */
	uint64_t	frame_out;		/* bytes the current frame has given so far */
	spill_stats stats;
	sl_err		err;			/* sticky: err.code is the failure, 0 while none */
};

static int
dec_fail(spill_decoder *dec, int code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static int
dec_fail(spill_decoder *dec, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	err_setv(&dec->err, SIDE_LOCAL, code, fmt, ap);
	va_end(ap);
	return code;
}

void
spill_decoder_reset(spill_decoder *dec, const uint8_t *expected_dump_id)
{
	ZSTD_DCtx_reset(dec->dctx, ZSTD_reset_session_only);
	XXH3_64bits_reset(dec->hash);
	dec->check_id = expected_dump_id != NULL;
	if (dec->check_id)
		memcpy(dec->expected_id, expected_dump_id, SPILL_DUMP_ID_SIZE);
	memset(&dec->header, 0, sizeof(dec->header));
	dec->have_header = false;
	dec->stage = DEC_HEADER;
	dec->stash_len = dec->stash_fed = 0;
	dec->zstd_full = false;
	dec->offset = dec->frame_start = dec->frame_content = dec->frame_out = 0;
	memset(&dec->stats, 0, sizeof(dec->stats));
	err_clear(&dec->err);
}

int
spill_decoder_create(const uint8_t *expected_dump_id, spill_decoder **out)
{
	spill_decoder *dec;

	*out = NULL;
	dec = calloc(1, sizeof(*dec));
	if (dec == NULL)
		return -ENOMEM;
	dec->dctx = ZSTD_createDCtx();
	dec->hash = XXH3_createState();
	if (dec->dctx == NULL || dec->hash == NULL ||
		ZSTD_isError(ZSTD_DCtx_setParameter(dec->dctx, ZSTD_d_windowLogMax, SPILL_WINDOW_LOG_MAX)))
	{
		spill_decoder_destroy(dec);
		return -ENOMEM;
	}
	spill_decoder_reset(dec, expected_dump_id);
	*out = dec;
	return 0;
}

void
spill_decoder_destroy(spill_decoder *dec)
{
	if (dec == NULL)
		return;
	ZSTD_freeDCtx(dec->dctx);
	XXH3_freeState(dec->hash);
	free(dec);
}

/*
 * Reads a zstd frame header from p[0..have) (which starts with the magic).
 * Returns 0 with *fp filled, or the number of bytes needed when have is
 * short.
 */
static size_t
frame_header_read(const uint8_t *p, size_t have, frame_params *fp)
{
	static const int dict_sizes[4] = {0, 1, 2, 4};
	uint8_t		descriptor;
	int			fcs_flag;
	bool		single_segment;
	size_t		window_size_len, dict_len, fcs_len, pos;

	if (have < 5)
		return 5;
	descriptor = p[4];
	fcs_flag = descriptor >> 6;
	single_segment = (descriptor >> 5) & 1;
	window_size_len = single_segment ? 0 : 1;
	dict_len = (size_t) dict_sizes[descriptor & 3];
	fcs_len = fcs_flag == 0 ? (single_segment ? 1 : 0) : (size_t) 1 << fcs_flag;
	fp->header_size = 5 + window_size_len + dict_len + fcs_len;
	if (have < fp->header_size)
		return fp->header_size;

	fp->single_segment = single_segment;
	fp->reserved_bit = (descriptor >> 3) & 1;
	fp->checksum = (descriptor >> 2) & 1;
	fp->dictionary = (descriptor & 3) != 0;
	pos = 5;
	fp->window_size = 0;
	if (!single_segment)
	{
		int			window_log = 10 + (p[pos] >> 3);
		uint64_t	base = (uint64_t) 1 << window_log;

		fp->window_size = base + (base / 8) * (p[pos] & 7);
		pos++;
	}
	pos += dict_len;
	fp->has_content_size = fcs_len > 0;
	fp->content_size = fcs_len > 0 ? get_le(p + pos, (int) fcs_len) : 0;
	if (fcs_len == 2)
		fp->content_size += 256;
	if (single_segment)
		fp->window_size = fp->content_size;
	return 0;
}

/* Checks a frame's header against the format's rules. */
static int
frame_check(spill_decoder *dec, const frame_params *fp)
{
	unsigned long long n = (unsigned long long) dec->stats.frames + 1;
	unsigned long long at = (unsigned long long) dec->frame_start;

	if (fp->reserved_bit)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: reserved bit set", n, at);
	if (fp->dictionary)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: names a dictionary", n, at);
	if (!fp->checksum)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: has no content checksum", n, at);
	if (!fp->has_content_size)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: has no content size", n, at);
	if (fp->content_size > SPILL_FRAME_MAX)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: claims %llu bytes, more than the %u a frame may hold",
						n, at, (unsigned long long) fp->content_size, SPILL_FRAME_MAX);
	if (fp->content_size == 0)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: is empty", n, at);
	if (!fp->single_segment)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: has a window of %llu bytes of its own, not single-segment",
						n, at, (unsigned long long) fp->window_size);
	if (fp->window_size > SPILL_FRAME_MAX)
		return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: window of %llu bytes, more than %u",
						n, at, (unsigned long long) fp->window_size, SPILL_FRAME_MAX);
	return 0;
}

static int
trailer_check(spill_decoder *dec, const uint8_t *t)
{
	uint64_t	stream_bytes = get_le(t + 8, 8);
	uint64_t	frames = get_le(t + 16, 8);
	uint64_t	stored = get_le(t + 24, 8);
	uint64_t	computed = XXH3_64bits_digest(dec->hash);
	unsigned long long at = (unsigned long long) dec->frame_start;

	if (memcmp(t, SPILL_TRAILER_MAGIC, 8) != 0)
		return dec_fail(dec, -EPROTO, "trailer at byte %llu: bad magic", at);
	if (frames != dec->stats.frames)
		return dec_fail(dec, -EBADMSG, "trailer at byte %llu: says %llu frames, the file holds %llu",
						at, (unsigned long long) frames, (unsigned long long) dec->stats.frames);
	if (stream_bytes != dec->stats.stream_bytes)
		return dec_fail(dec, -EBADMSG, "trailer at byte %llu: says %llu bytes, the frames hold %llu",
						at, (unsigned long long) stream_bytes, (unsigned long long) dec->stats.stream_bytes);
	if (stored != computed)
		return dec_fail(dec, -EBADMSG, "trailer at byte %llu: checksum mismatch: computed %016llx, stored %016llx",
						at, (unsigned long long) computed, (unsigned long long) stored);
	return 0;
}

/*
 * At a frame boundary: returns 1 once the next item is known (stage set to
 * DEC_FRAME or DEC_DONE), 0 when more input is needed, or an error.  Bytes
 * are looked at in place while the caller's buffer holds all of them; only
 * what straddles two buffers is copied to the stash.
 */
static int
dec_boundary(spill_decoder *dec, codec_in *in)
{
	for (;;)
	{
		const uint8_t *p;
		size_t		have;
		size_t		need;
		size_t		avail = in->size - in->pos;
		frame_params fp;
		bool		is_frame = false;

		if (dec->stash_len == 0 && avail == 0)
			return 0;			/* in may be {NULL, 0, 0} */
		if (dec->stash_len == 0)
		{
			p = in->src + in->pos;
			have = avail;
		}
		else
		{
			p = dec->stash;
			have = dec->stash_len;
		}

		/* Which magic: check the bytes there are, so garbage fails at once. */
		for (size_t i = 0; i < have && i < 4; i++)
		{
			if (p[i] == spill_zstd_magic[i] && (i == 0 || is_frame))
				is_frame = true;
			else if (p[i] == (uint8_t) SPILL_TRAILER_MAGIC[i] && (i == 0 || !is_frame))
				is_frame = false;
			else
				return dec_fail(dec, -EPROTO, "byte %llu: neither a zstd frame nor the trailer begins here",
								(unsigned long long) dec->frame_start);
		}
		if (have < 4)
			need = 4;
		else if (is_frame)
			need = frame_header_read(p, have, &fp);
		else
			need = have < SPILL_TRAILER_SIZE ? SPILL_TRAILER_SIZE : 0;

		if (need == 0)
		{
			if (is_frame)
			{
				int			rc = frame_check(dec, &fp);

				if (rc < 0)
					return rc;
				ZSTD_DCtx_reset(dec->dctx, ZSTD_reset_session_only);
				dec->frame_content = fp.content_size;
				dec->frame_out = 0;
				dec->stash_fed = 0;
				dec->zstd_full = false;
				dec->stage = DEC_FRAME;
				return 1;
			}
			if (dec->stash_len == 0)
			{
				in->pos += SPILL_TRAILER_SIZE;
				dec->offset += SPILL_TRAILER_SIZE;
			}
			dec->stash_len = 0;
			if (trailer_check(dec, p) < 0)
				return dec->err.code;
			dec->stage = DEC_DONE;
			return 1;
		}

		/* Short: move what there is into the stash and wait for more. */
		{
			size_t		take = need - dec->stash_len;

			if (take > avail)
				take = avail;
			if (take == 0)
				return 0;
			memcpy(dec->stash + dec->stash_len, in->src + in->pos, take);
			dec->stash_len += take;
			in->pos += take;
			dec->offset += take;
		}
	}
}

/* Runs zstd on the current frame; returns 1 at the frame's end, 0 to stop, or an error. */
static int
dec_frame(spill_decoder *dec, codec_in *in, spill_out *out, size_t limit)
{
	for (;;)
	{
		bool		from_stash = dec->stash_fed < dec->stash_len;
		ZSTD_inBuffer zin;
		ZSTD_outBuffer zout = {out->dst, limit, out->pos};
		size_t		before, ret, produced;

		if (from_stash)
			zin = (ZSTD_inBuffer) {dec->stash, dec->stash_len, dec->stash_fed};
		else
			zin = (ZSTD_inBuffer) {in->src, in->size, in->pos};
		before = zin.pos;
		if (out->pos == limit)
			return 0;			/* out is full */
		if (zin.pos == zin.size && !dec->zstd_full)
			return 0;			/* all input used, all output given */

		ret = ZSTD_decompressStream(dec->dctx, &zout, &zin);

		/*
		 * Hash exactly what zstd reports as consumed.  When a frame ends
		 * before its output is all flushed, zstd reports its last byte as
		 * not consumed (a "hostage") and takes it on a later call; within
		 * one call pos never ends below where it started.
		 */
		if (zin.pos < before)
			return dec_fail(dec, -EPROTO, "frame %llu at byte %llu: zstd went back in its input",
							(unsigned long long) dec->stats.frames + 1,
							(unsigned long long) dec->frame_start);
		XXH3_64bits_update(dec->hash, (const uint8_t *) zin.src + before, zin.pos - before);
		if (!from_stash)
			dec->offset += zin.pos - before;	/* stash bytes were counted as they came */
		if (from_stash)
			dec->stash_fed = zin.pos;
		else
			in->pos = zin.pos;
		produced = zout.pos - out->pos;
		out->pos = zout.pos;
		dec->frame_out += produced;
		dec->stats.stream_bytes += produced;

		if (ZSTD_isError(ret))
		{
			int			code = ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? -ENOMEM : -EBADMSG;
			char		cause[128];

			return dec_fail(dec, code, "frame %llu at byte %llu: %s",
							(unsigned long long) dec->stats.frames + 1,
							(unsigned long long) dec->frame_start, spill_zstd_cause(ret, cause, sizeof(cause)));
		}
		if (dec->frame_out > dec->frame_content)
			return dec_fail(dec, -EBADMSG, "frame %llu at byte %llu: gives more than its %llu bytes",
							(unsigned long long) dec->stats.frames + 1,
							(unsigned long long) dec->frame_start,
							(unsigned long long) dec->frame_content);
		dec->zstd_full = zout.pos == zout.size;
		if (ret == 0)
		{
			if (dec->frame_out != dec->frame_content)
				return dec_fail(dec, -EBADMSG, "frame %llu at byte %llu: holds %llu bytes, its header says %llu",
								(unsigned long long) dec->stats.frames + 1,
								(unsigned long long) dec->frame_start,
								(unsigned long long) dec->frame_out,
								(unsigned long long) dec->frame_content);
			dec->stats.frames++;
			dec->stash_len = dec->stash_fed = 0;
			dec->zstd_full = false;
			return 1;
		}
	}
}

int
spill_decoder_update(spill_decoder *dec, codec_in *in, spill_out *out)
{
	size_t		start = out->pos;
	size_t		limit;
	int			rc;

	if (dec->err.code)
		return dec->err.code;
	if (in->pos > in->size || out->pos > out->size)
		return dec_fail(dec, -EINVAL, "buffer position past its size");
	limit = spill_call_limit(out);
	for (;;)
	{
		size_t		avail = in->size - in->pos;

		switch (dec->stage)
		{
			case DEC_HEADER:
				{
					size_t		take = SPILL_HEADER_SIZE - dec->stash_len;

					if (take > avail)
						take = avail;
					if (take == 0)
						return (int) (out->pos - start);	/* in may be {NULL, 0, 0} */
					memcpy(dec->stash + dec->stash_len, in->src + in->pos, take);
					/* A wrong magic fails on its first byte, not at byte 48. */
					for (size_t i = dec->stash_len; i < dec->stash_len + take && i < 8; i++)
					{
						if (dec->stash[i] != (uint8_t) SPILL_MAGIC[i])
							return dec_fail(dec, -EPROTO, "not a pgsluice chunk file: bad magic");
					}
					dec->stash_len += take;
					in->pos += take;
					dec->offset += take;
					if (dec->stash_len < SPILL_HEADER_SIZE)
						return (int) (out->pos - start);
					rc = spill_header_parse(dec->stash, SPILL_HEADER_SIZE,
											dec->check_id ? dec->expected_id : NULL,
											&dec->header, &dec->err);
					if (rc < 0)
						return rc;
					dec->have_header = true;
					XXH3_64bits_update(dec->hash, dec->stash, SPILL_HEADER_SIZE);
					dec->stash_len = 0;
					dec->frame_start = dec->offset;
					dec->stage = DEC_BOUNDARY;
					break;
				}
			case DEC_BOUNDARY:
				rc = dec_boundary(dec, in);
				if (rc <= 0)
					return rc < 0 ? rc : (int) (out->pos - start);
				break;
			case DEC_FRAME:
				rc = dec_frame(dec, in, out, limit);
				if (rc <= 0)
					return rc < 0 ? rc : (int) (out->pos - start);
				dec->frame_start = dec->offset;
				dec->stage = DEC_BOUNDARY;
				break;
			case DEC_DONE:
				if (avail > 0)
					return dec_fail(dec, -EPROTO, "byte %llu: data after the trailer",
									(unsigned long long) dec->offset);
				return (int) (out->pos - start);
		}
	}
}

int
spill_decoder_finish(spill_decoder *dec)
{
	unsigned long long at = (unsigned long long) dec->offset;

	if (dec->err.code)
		return dec->err.code;
	switch (dec->stage)
	{
		case DEC_DONE:
			return 0;
		case DEC_HEADER:
			return dec_fail(dec, -EPROTO, "file ends after %llu bytes, in the header: truncated", at);
		case DEC_FRAME:
			return dec_fail(dec, -EPROTO, "file ends after %llu bytes, in frame %llu: truncated",
							at, (unsigned long long) dec->stats.frames + 1);
		case DEC_BOUNDARY:
			break;
	}
	if (dec->stash_len == 0)
		return dec_fail(dec, -EPROTO, "file ends after %llu bytes, with no trailer: truncated", at);
	if (dec->stash_len >= 4 && memcmp(dec->stash, spill_zstd_magic, 4) == 0)
		return dec_fail(dec, -EPROTO, "file ends after %llu bytes, in the header of frame %llu: truncated",
						at, (unsigned long long) dec->stats.frames + 1);
	return dec_fail(dec, -EPROTO, "file ends after %llu bytes, in the trailer: truncated", at);
}

const spill_header *
spill_decoder_header(const spill_decoder *dec)
{
	return dec->have_header ? &dec->header : NULL;
}

void
spill_decoder_stats(const spill_decoder *dec, spill_stats *stats)
{
	*stats = dec->stats;
	stats->file_bytes = dec->offset;
}

const char *
spill_decoder_error(const spill_decoder *dec)
{
	return dec->err.msg;
}
