/*
 * copy.h: one chunk, streamed from the source into the target.
 *
 * A copy worker owns a source and a target connection, an event loop, a
 * bounded pipe and a parser.  copy_chunk starts COPY ... FROM STDIN on the
 * target first (so that a target that cannot take the rows fails before the
 * source is read), then COPY ... TO STDOUT on the source, and drives both
 * without blocking: rows from the source are hashed as they pass and
 * written into the pipe; the pipe is sent to the target in large batches
 * whenever its socket can take them.  When the target is slow the source
 * runs ahead until the pipe is full; when the source is slow the target's
 * batches wait until they are large.  The target's side runs inside the
 * caller's open transaction (engine/chunkjob.c commits it together with the
 * chunk's record); a one-chunk table is loaded with TRUNCATE + COPY FREEZE
 * in it.
 *
 * The source side is a copy_reader (engine/reader.h), which on unencrypted
 * connections reads the socket itself.  On the target, likewise, while libpq
 * is in COPY IN with an empty output buffer, the worker writes CopyData
 * frames from the pipe straight to the socket, and PQputCopyEnd ends the
 * COPY; encrypted connections go through PQputCopyData.
 *
 * --max-rate and a paused run (engine/rate.h) hold the loop in
 * rate_limit_wait, the one place where it waits on purpose: while it is in
 * there, no byte moves on either connection, and none should.
 *
 * At the end the three row counts must agree: the source's COPY tag, the
 * rows parsed and hashed, and the target's COPY tag.  On any failure or stop
 * request both connections are closed, so that the servers roll the chunk
 * back: a chunk is in the target whole or not at all.
 *
 * Thread safety: a worker belongs to one thread; the stop flag is atomic.
 */
#ifndef PGSLUICE_ENGINE_COPY_H
#define PGSLUICE_ENGINE_COPY_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "codec/digest.h"
#include "engine/catalog.h"
#include "base/err.h"
#include "engine/plan.h"
#include "engine/reader.h"
#include "io/loop.h"
#include "io/pipe.h"

#define COPY_PIPE_BYTES (4u << 20)	/* bounded pipe per worker */
#define COPY_PIPE_RESERVE (1u << 20)	/* enough for a blocked target: see wait_sockets */
#define COPY_BATCH_MIN (64u << 10)	/* smallest batch sent while the source goes on */
#define COPY_BATCH_MAX (256u << 10)	/* largest CopyData message sent */

typedef struct copy_worker
{
	int			id;				/* 1-based, for messages */
	PGconn	   *source;			/* owned; NULL after a failure */
	PGconn	   *target;			/* owned; NULL after a failure */
	io_loop    *loop;			/* owned */
	io_pipe		pipe;
	uint8_t    *read_buf;		/* READER_BUF_BYTES, owned: direct reads of the source */
	bool		via_libpq;		/* never read or write the sockets directly */
	const atomic_int *stop;		/* set by the scheduler: abandon the chunk */
} copy_worker;

typedef struct copy_result
{
	uint64_t	rows;
	uint64_t	bytes;			/* bytes of the COPY stream */
	chunk_digest digest;
} copy_result;

/*
 * Sets up the pipe and loop (copy_reader_loop_create: fallback_said, backend);
 * connections are opened by the caller.  via_libpq forces libpq's COPY
 * functions even on unencrypted connections.
 */
int			copy_worker_init(copy_worker *w, int id, io_loop_kind kind, bool via_libpq,
							 const atomic_int *stop, atomic_int *fallback_said, char *backend,
							 size_t backendlen, sl_err *err);
void		copy_worker_fini(copy_worker *w);

/*
 * Copies one chunk, in the target's open transaction, without committing
 * it.  Returns 0, or a negative errno with err naming the table, the chunk
 * and the cause; -EINTR when the stop flag ended it.
 */
int			copy_chunk(copy_worker *w, const catalog *cat, const plan_chunk *chunk,
					   copy_result *result, sl_err *err);

#endif
