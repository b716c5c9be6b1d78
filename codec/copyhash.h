/*
 * copyhash.h: one COPY stream's rows hashed, in either format.
 *
 * Wraps the binary parser (codec/copybin.h) or the text one
 * (codec/copytext.h) behind one interface, with the checks every stream
 * gets: nothing after a binary stream's trailer, a trailer before the end,
 * a text stream that ends on a whole row.  Readers of the source, of the
 * target and of spill files all hash through it, so their digests agree.
 *
 * Thread safety: none; a hasher belongs to one thread.
 */
#ifndef PGSLUICE_CODEC_COPYHASH_H
#define PGSLUICE_CODEC_COPYHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/copybin.h"
#include "codec/copytext.h"
#include "codec/ctype.h"
#include "codec/digest.h"

typedef struct copy_hash
{
	bool		text;			/* FORMAT text, else binary */
	copybin_parser *bin;		/* owned, one of the two */
	copytext_parser *txt;
	bool		trailer_seen;	/* binary: the -1 trailer was parsed */
	sl_err		err;			/* the wrapper's own failures */
} copy_hash;

/* shapes: ncols checksum shapes, kept by the caller until copy_hash_fini (binary only). */
int			copy_hash_init(copy_hash *h, bool text, uint16_t ncols, const ctype *const *shapes);

/* Hashes len more bytes of the stream into digest; 0, or a negative errno (copy_hash_error says what). */
int			copy_hash_update(copy_hash *h, const uint8_t *data, size_t len, chunk_digest *digest);

/*
 * One CopyData message's payload, which servers make one row: true when it was
 * hashed whole (binary, between tuples, plain columns: copybin_whole_row);
 * false when nothing was done and copy_hash_update must have the bytes.
 */
bool		copy_hash_row(copy_hash *h, const uint8_t *row, size_t len, chunk_digest *digest);

/* At the end of the stream: 0 when it ended where a stream may end. */
int			copy_hash_finish(copy_hash *h);

const char *copy_hash_error(const copy_hash *h);

void		copy_hash_fini(copy_hash *h);

#endif
