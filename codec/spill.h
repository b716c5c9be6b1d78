/*
 * spill.h: the chunk file format of spill directories (dump, restore,
 * clone --spill), as a streaming encoder and decoder.  Pure: no I/O.
 *
 * A chunk file holds one chunk's COPY stream (binary or text), compressed.
 * All integers are little-endian, fixed width.
 *
 *   header, 48 bytes
 *      0   8  magic "PGSLSPL1"
 *      8   2  format version, 1
 *     10   1  COPY format: 1 binary, 2 text
 *     11   1  reserved, 0
 *     12   4  table OID
 *     16   4  chunk number (plan_chunk.seq)
 *     20   4  reserved, 0
 *     24  16  dump id: ties the file to its dump's manifest
 *     40   8  XXH3-64 (seed 0) of header bytes 0..39
 *   frames, zero or more (none for an empty stream)
 *      zstd frames (RFC 8878) of 1 to SPILL_FRAME_MAX bytes of the stream
 *      each, single-segment (no window descriptor: the window is the frame)
 *      with the content size in the frame header, the content checksum on,
 *      no dictionary.  The writer fills every frame but the last to
 *      SPILL_FRAME_MAX.
 *   trailer, 32 bytes
 *      0   8  magic "PGSLEND1"
 *      8   8  bytes of the COPY stream (sum of the frames' content sizes)
 *     16   8  number of frames
 *     24   8  XXH3-64 (seed 0) of every byte before the trailer
 *   and nothing after the trailer.
 *
 * A reader tells a frame from the trailer by its first four bytes (zstd's
 * magic 28 b5 2f fd, or "PGSL").  A truncated file (even one cut at a frame
 * boundary), a flipped byte, frames spliced from another file, or a file of
 * another dump are all rejected: by the header checksum and dump id, by a
 * frame's own checksum and content size, or at the latest by the trailer.
 * The decoder streams: the bytes it returns before the trailer has been
 * checked are unverified, so a consumer (a COPY into the target) must not
 * commit them before spill_decoder_finish() says the file was whole.
 *
 * Memory: an encoder holds a ZSTD_CCtx, a 1 MiB input frame and (when the
 * caller's output buffer is smaller than a compressed frame) a 1 MiB output
 * frame; a decoder holds a ZSTD_DCtx whose window is capped at 1 MiB.  No
 * size read from a file is allocated without that cap.
 *
 * Usage, writing: spill_encoder_create, spill_encoder_update with each piece
 * of the COPY stream, spill_encoder_finish until it returns 0, then
 * spill_encoder_reset for the next file or spill_encoder_destroy.  Reading:
 * spill_decoder_create, spill_decoder_update with each piece of the file
 * (split anywhere), spill_decoder_finish at the end of the file.  Errors
 * are sticky until the next reset.
 *
 * Thread safety: none; an encoder or decoder belongs to one worker thread.
 * Different ones share nothing and may run in different threads at once.
 */
#ifndef PGSLUICE_CODEC_SPILL_H
#define PGSLUICE_CODEC_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#include "codec/copybin.h"		/* codec_in */

#define SPILL_MAGIC "PGSLSPL1"
#define SPILL_TRAILER_MAGIC "PGSLEND1"
#define SPILL_VERSION 1
#define SPILL_HEADER_SIZE 48
#define SPILL_TRAILER_SIZE 32
#define SPILL_DUMP_ID_SIZE 16
#define SPILL_FRAME_MAX (1u << 20)	/* stream bytes per frame, at most */

/*
 * The default compression level: zstd's 1.  Measured with pgsluice dump
 * --jobs 2 of the benchmark's standard database (1.03 GB of COPY binary
 * data; the process's CPU includes reading and hashing):
 *
 *   level   ratio   CPU s   wall s
 *     -5    2.02x    3.6     7.1
 *     -1    2.65x    3.3     5.4
 *      1    3.02x    3.9     5.8
 *      3    3.08x    6.7     7.9
 *      6    3.14x   10.9     8.5
 *
 * Levels above 1 buy a few per cent of size for 1.7 times the CPU and more,
 * and suit only a dump kept for long; negative levels save little CPU and
 * write more, and pay only where the disk is fast and the CPU scarce.
 */
#define SPILL_LEVEL_DEFAULT 1

typedef enum spill_format
{
	SPILL_FORMAT_BINARY = 1,	/* COPY ... (FORMAT binary) */
	SPILL_FORMAT_TEXT = 2		/* COPY ... (FORMAT text) */
} spill_format;

typedef struct spill_header
{
	uint8_t		dump_id[SPILL_DUMP_ID_SIZE];
	uint32_t	table_oid;
	uint32_t	chunk_no;		/* the chunk's number within its table */
	spill_format format;
} spill_header;

/* Output buffer in zstd's style: the codec writes dst[pos..size) and advances pos. */
typedef struct spill_out
{
	uint8_t    *dst;
	size_t		size;
	size_t		pos;
} spill_out;

typedef struct spill_stats
{
	uint64_t	stream_bytes;	/* COPY stream bytes taken in (encoder) or given out (decoder) */
	uint64_t	file_bytes;		/* chunk file bytes given out (encoder) or taken in (decoder) */
	uint64_t	frames;			/* frames written, or checked whole */
} spill_stats;

/*
 * Parses and checks a file's first SPILL_HEADER_SIZE bytes (len must be at
 * least that): magic, version, checksum, reserved bytes, COPY format and,
 * when expected_dump_id is not NULL, the dump id.  A failure goes into err
 * (when not NULL, on SIDE_LOCAL).  Returns 0, -EPROTO (not a chunk file,
 * malformed, another dump's file), -EBADMSG (header checksum mismatch),
 * -ENOTSUP (another format version) or -EINVAL (len too short).
 */
int			spill_header_parse(const uint8_t *buf, size_t len,
							   const uint8_t *expected_dump_id, spill_header *out, sl_err *err);

/* ---- writing ---- */

typedef struct spill_encoder spill_encoder;

/*
 * Creates an encoder for one file with the given header (copied).  level is
 * any zstd level from ZSTD_minCLevel() to ZSTD_maxCLevel(); 0 means
 * SPILL_LEVEL_DEFAULT.  Returns 0, -EINVAL (level or header format out of
 * range) or -ENOMEM.
 */
int			spill_encoder_create(int level, const spill_header *header, spill_encoder **out);

/* Starts a new file with another header, keeping the level and the memory. */
int			spill_encoder_reset(spill_encoder *enc, const spill_header *header);

void		spill_encoder_destroy(spill_encoder *enc);

/*
 * Takes COPY stream bytes from in and writes file bytes to out.  Returns the
 * number of bytes written to out (> 0), 0 when it wrote none, or a negative
 * errno.  It returns only when in is used up (in->pos == in->size) or out is
 * full (out->pos == out->size): the caller drains out and calls again while
 * in has bytes left.  Bytes it took stay with it (up to a frame); in need not
 * outlive the call.  Errors: -ENOMEM, -EINVAL (called after finish), -EIO
 * (zstd failed), with spill_encoder_error() saying what.
 */
int			spill_encoder_update(spill_encoder *enc, codec_in *in, spill_out *out);

/*
 * Writes the last frame and the trailer to out.  Returns 0 once all of the
 * file is in out, a positive count (at least 1, a hint of how many bytes are
 * left) when out filled up first: drain out and call again; or a negative
 * errno.
 */
int			spill_encoder_finish(spill_encoder *enc, spill_out *out);

void		spill_encoder_stats(const spill_encoder *enc, spill_stats *stats);

/* The last error's message ("" when none): lowercase, cause last. */
const char *spill_encoder_error(const spill_encoder *enc);

/* ---- reading ---- */

typedef struct spill_decoder spill_decoder;

/*
 * Creates a decoder.  With expected_dump_id (SPILL_DUMP_ID_SIZE bytes,
 * copied) a file of another dump is rejected; NULL accepts any dump id.
 * Returns 0 or -ENOMEM.
 */
int			spill_decoder_create(const uint8_t *expected_dump_id, spill_decoder **out);

/* Starts on a new file, keeping the memory. */
void		spill_decoder_reset(spill_decoder *dec, const uint8_t *expected_dump_id);

void		spill_decoder_destroy(spill_decoder *dec);

/*
 * Takes file bytes from in, split anywhere, and writes COPY stream bytes to
 * out.  Returns the number of bytes written to out (> 0), 0 when it wrote
 * none, or a negative errno.  It returns only when out is full, or when in is
 * used up and everything decoded so far is in out: so 0 with room left in
 * out means "give me more of the file".  Errors, with spill_decoder_error()
 * saying what and where:
 *   -EPROTO   not a chunk file, malformed, another dump's file, bytes after
 *             the trailer
 *   -EBADMSG  a checksum or a count does not match: the file was altered
 *   -ENOTSUP  a format version this build does not read
 *   -ENOMEM
 */
int			spill_decoder_update(spill_decoder *dec, codec_in *in, spill_out *out);

/*
 * Says whether the file ended exactly after a valid trailer: 0 if so, the
 * decoder's error if it has one, else -EPROTO (truncated).  Call it once the
 * whole file has gone through update and update returned 0 with room in out.
 */
int			spill_decoder_finish(spill_decoder *dec);

/* The header, once read and checked; NULL before. */
const spill_header *spill_decoder_header(const spill_decoder *dec);

void		spill_decoder_stats(const spill_decoder *dec, spill_stats *stats);

/* The last error's message ("" when none): lowercase, cause last. */
const char *spill_decoder_error(const spill_decoder *dec);

#endif
