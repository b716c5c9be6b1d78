/*
 * pgwire.h: streaming reader of PostgreSQL protocol 3 backend messages.
 *
 * During COPY ... TO STDOUT the server sends one CopyData ('d') message per
 * row.  libpq hands each to the caller in a fresh allocation; reading the
 * socket directly and framing the messages here lets a worker hash and
 * forward rows where they lie in one large read buffer.
 *
 * The reader takes input buffers split anywhere.  CopyData payloads are
 * returned in pieces as they arrive (a row of any size needs no memory
 * here); every other message is returned whole, assembled in the reader when
 * it spans buffers, up to PGWIRE_MAX_MESSAGE bytes.
 *
 * Usage: pgwire_init, then pgwire_next on each buffer until it returns 0
 * (need more input); each 1 comes with one event.  Errors are sticky.
 */
#ifndef PGSLUICE_CODEC_PGWIRE_H
#define PGSLUICE_CODEC_PGWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#include "codec/copybin.h"

#define PGWIRE_MAX_MESSAGE (1u << 20)	/* cap for a non-CopyData message */

typedef enum pgwire_kind
{
	PGWIRE_COPY_DATA = 1,		/* a piece of a CopyData payload */
	PGWIRE_MESSAGE				/* any other message, whole */
} pgwire_kind;

typedef struct pgwire_event
{
	pgwire_kind kind;
	uint8_t		type;			/* message type byte: 'd', 'c', 'C', 'E', 'Z', ... */
	const uint8_t *data;		/* the piece, or the whole payload; valid until the next call */
	size_t		size;
	bool		last_piece;		/* COPY_DATA: this piece ends its message */
	bool		whole;			/* COPY_DATA: this piece is its message's whole payload */
} pgwire_event;

typedef struct pgwire_reader
{
	uint8_t		header[5];		/* type and length, as far as read */
	uint8_t		header_have;
	uint8_t		type;
	uint32_t	remaining;		/* payload bytes of the current message not yet returned */
	uint8_t    *assembly;		/* a non-CopyData message that spans buffers */
	uint32_t	assembly_len;
	uint32_t	assembly_cap;
	uint64_t	offset;			/* stream bytes consumed */
	sl_err		err;			/* sticky: err.code is the failure, 0 while none */
} pgwire_reader;

void		pgwire_init(pgwire_reader *reader);
void		pgwire_fini(pgwire_reader *reader);

/*
 * Reads from in until it has one event: returns 1 and fills ev, 0 when in is
 * used up, or a negative errno (-EPROTO for a length below 4 or a message
 * over the cap, -ENOMEM) with pgwire_error() saying what.
 */
int			pgwire_next(pgwire_reader *reader, codec_in *in, pgwire_event *ev);

/*
 * Gives back the last n bytes of the CopyData piece just returned (the
 * caller could not take them yet): the next call returns them again.
 */
void		pgwire_unread(pgwire_reader *reader, codec_in *in, size_t n);

const char *pgwire_error(const pgwire_reader *reader);

/*
 * Finds field code (e.g. 'M' message, 'C' SQLSTATE, 'D' detail) in an
 * ErrorResponse or NoticeResponse payload; writes it NUL-terminated into out
 * (truncated to outlen) and returns 1, or 0 when absent.
 */
int			pgwire_error_field(const uint8_t *payload, size_t size, char code, char *out, size_t outlen);

#endif
