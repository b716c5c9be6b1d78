/*
 * copybin.h: streaming parser and row hasher for COPY ... (FORMAT binary).
 *
 * The parser reads the byte stream of a binary COPY (header, tuples, trailer)
 * from buffers split anywhere, even inside a length word, and adds each tuple's
 * XXH3-128 hash to a chunk_digest.  It never needs a whole row or a whole
 * field in memory: plain fields stream into the hash state, and arrays,
 * composites, ranges and multiranges are walked in the stream with their
 * ctype so that embedded type OIDs (and the array "has nulls" flag) are left
 * out of the hash.
 *
 * The hash of a row is XXH3-128 over its normalised bytes:
 *   int16 field count, then per field: int32 length (as sent; -1 for NULL),
 *   then the field's bytes, normalised:
 *     ARRAY:      int32 ndim, [flags and element OID left out], ndim x (int32
 *                 dim, int32 lower bound), then per element int32 length and
 *                 the element's normalised bytes
 *     RECORD:     int32 nfields, then per field [OID left out] int32 length and
 *                 the field's normalised bytes
 *     RANGE:      uint8 flags, then lower and upper bound (when present) as
 *                 int32 length and normalised bytes
 *     MULTIRANGE: int32 count, then per range int32 length and its normalised
 *                 bytes
 * so rows are equal exactly when their normalised bytes are.
 *
 * Checks beyond the framing: every nested length must fit its parent's
 * exactly (no overrun, no bytes left over); an array has 0 to 6 dimensions,
 * none negative, at most INT32_MAX elements; a record has as many fields as
 * its ctype has children (a RECORD ctype with no children reads any number of
 * fields, all plain); array elements and record fields may be NULL (length
 * -1), range bounds and multirange members may not.  Nested values may be
 * open at most 32 deep at once.
 *
 * Usage: copybin_create, then copybin_step with each buffer as it arrives
 * until it returns 1 (trailer seen), then copybin_destroy (or copybin_reset
 * for another stream).  Errors are sticky.
 */
#ifndef PGSLUICE_CODEC_COPYBIN_H
#define PGSLUICE_CODEC_COPYBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "codec/ctype.h"
#include "codec/digest.h"

/* Input buffer in zstd's style: the parser reads src[pos..size) and advances pos. */
typedef struct codec_in
{
	const uint8_t *src;
	size_t		size;
	size_t		pos;
} codec_in;

typedef struct copybin_parser copybin_parser;

/*
 * Creates a parser for a stream of tuples with ncols fields each; column i has
 * shape cols[i] (NULL means CTYPE_PLAIN).  The parser keeps the cols pointer
 * (and the ctype trees) until it is destroyed; the caller keeps them alive.
 * Returns 0 or -ENOMEM.
 */
int			copybin_create(copybin_parser **out, uint16_t ncols, const ctype *const *cols);

/* Starts a new stream (a new COPY) with the same columns. */
void		copybin_reset(copybin_parser *parser);

void		copybin_destroy(copybin_parser *parser);

/*
 * Consumes bytes from in, adding each complete tuple's hash to digest.
 * Returns 0 when it needs more input (in->pos == in->size), 1 once the trailer
 * has been read (in->pos just past it; bytes after it are not consumed), or a
 * negative errno with copybin_error() saying what is wrong and at which byte
 * offset of the stream: -EPROTO for a malformed stream, -ENOTSUP for values
 * nested deeper than 32, -EINVAL for a ctype of unknown kind.  After an
 * error, or after 1, further calls return the same result and consume
 * nothing.
 */
int			copybin_step(copybin_parser *parser, codec_in *in, chunk_digest *digest);

/*
 * The same as copybin_step over exactly one tuple's bytes, when the parser
 * stands between tuples, every column is plain and row[0..len) is one
 * well-formed tuple: hashes it into digest and returns true.  Otherwise
 * returns false and changes nothing, and copybin_step must have the bytes.
 * For streams that come a row at a time (a CopyData message each), it spares
 * the state machine's set-up per row.
 */
bool		copybin_whole_row(copybin_parser *parser, const uint8_t *row, size_t len,
							  chunk_digest *digest);

/* Bytes of the stream consumed since the last reset. */
uint64_t	copybin_offset(const copybin_parser *parser);

/* The last error's message ("" when none): lowercase, cause last. */
const char *copybin_error(const copybin_parser *parser);

#endif
