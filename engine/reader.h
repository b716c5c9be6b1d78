/*
 * reader.h: one COPY ... TO STDOUT stream, read from a server and hashed.
 *
 * A reader hashes every row of the stream (codec/copybin.h or copytext.h)
 * and hands the bytes to a pipe (a clone's target side drains it) or drops
 * them (a verification needs only the digest).  It never blocks: each step
 * moves what the socket holds and returns; the caller waits for the socket
 * when copy_reader_wants_socket() says so.
 *
 * Two ways to read.  libpq's PQgetCopyData hands over each CopyData message
 * (one per row) in a fresh allocation after reading the socket 16 kB at a
 * time.  On a connection without TLS or GSS encryption the reader does
 * better: libpq only sends the statement, the reader reads the socket itself
 * in large reads, frames the messages (codec/pgwire.h) and hashes and
 * forwards the rows where they lie.  After the server's ReadyForQuery it
 * sends an empty query, so that libpq, which never saw the COPY's
 * responses, reads an ordinary EmptyQueryResponse and ReadyForQuery and is
 * idle again.
 *
 * Thread safety: a reader belongs to one thread.
 */
#ifndef PGSLUICE_ENGINE_READER_H
#define PGSLUICE_ENGINE_READER_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec/copyhash.h"
#include "codec/ctype.h"
#include "codec/digest.h"
#include "codec/pgwire.h"
#include "base/err.h"
#include "io/loop.h"
#include "io/pipe.h"

#define READER_BUF_BYTES (1u << 20)	/* socket reads of the direct path */
#define READER_PAUSE_MAX_US 500		/* see copy_reader_pause_us */

typedef struct copy_reader
{
	PGconn	   *conn;			/* borrowed */
	sl_side		side;
	const char *what;			/* names the chunk in messages; borrowed */
	sl_err	   *err;
	bool		text;			/* FORMAT text, else binary */
	bool		direct;			/* reads the socket itself */
	uint8_t    *read_buf;		/* READER_BUF_BYTES, borrowed */
	copy_hash	hash;
	chunk_digest digest;		/* of the rows read so far */
	uint64_t	bytes;			/* COPY stream bytes read */
	uint64_t	server_rows;	/* the server's COPY tag */
	bool		done;			/* the COPY is over and its result read */
	const atomic_int *stop;		/* NULL, or ends a wait for --max-rate (set after begin) */

	char	   *row;			/* libpq path: a row not yet all in the pipe */
	int			row_len;
	int			row_off;

	pgwire_reader wire;			/* direct path */
	codec_in	read_in;		/* unparsed bytes of read_buf */
	unsigned	pause_us;		/* direct path: see copy_reader_pause_us */
} copy_reader;

/* What a reader reads: the stream's columns and format. */
typedef struct copy_reader_columns
{
	int			ncols;
	const ctype *const *shapes; /* ncols checksum shapes, kept until the end */
	bool		text;			/* FORMAT text, else binary */
} copy_reader_columns;

/*
 * Sends sql (a COPY ... TO STDOUT of those columns) and prepares to read its
 * rows.  direct chooses the direct path (the caller checks that the
 * connection is not encrypted).  Returns 0 or a negative errno.
 */
int			copy_reader_begin(copy_reader *r, PGconn *conn, sl_side side,
							  const copy_reader_columns *columns, const char *sql, bool direct,
							  uint8_t *read_buf, const char *what, sl_err *err);

/*
 * Reads what the socket holds (one read on the direct path) into sink, or
 * hashes and drops it when sink is NULL, until the sink is full, the socket
 * is dry or the COPY is over.  A source's reader then charges what the step
 * read to --max-rate, and waits there while the run is over its rate or
 * paused (engine/rate.h).  Returns 0 or a negative errno.
 */
int			copy_reader_step(copy_reader *r, io_pipe *sink);

/* True when the reader can go on only after its socket becomes readable. */
bool		copy_reader_wants_socket(const copy_reader *r, const io_pipe *sink);

/* True when bytes already read wait to be parsed (the sink was full). */
bool		copy_reader_has_buffered(const copy_reader *r);

/*
 * How long to let the socket fill before waiting on it, in microseconds.
 * A server sends COPY data 8 kB at a time; a reader that wakes for each
 * send spends more on wake-ups than on the data, and so do the servers on
 * a busy machine.  The pause grows while reads come back small and
 * shrinks once they come back large (a socket buffer that fills up stalls
 * the server), so it settles where each wake-up finds a good batch; on
 * connections with large buffers it stays at zero.
 */
unsigned	copy_reader_pause_us(const copy_reader *r);

/*
 * Creates the readiness loop of worker number worker (io/loop.h): io_uring
 * where the kernel allows it, else poll, which is said once per run (the
 * caller's *fallback_said); worker 1 writes the backend's name into
 * backend.
 */
int			copy_reader_loop_create(io_loop **loop, io_loop_kind kind, int worker, atomic_int *fallback_said,
							   char *backend, size_t backendlen, sl_err *err);

/*
 * After done: checks that the stream ended properly and that the rows hashed
 * are the rows the server says it sent.  Returns 0 or a negative errno.
 */
int			copy_reader_finish(copy_reader *r);

/* Frees what the reader holds; the connection stays open. */
void		copy_reader_end(copy_reader *r);

#endif
