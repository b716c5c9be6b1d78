/*
 * copy.c: streaming one chunk from the source into the target.  See copy.h.
 *
 * The loop never blocks on a socket.  Each turn it reads rows from the
 * source while the pipe has room, sends the pipe to the target while the
 * target's socket takes it, and only then waits (io_loop) for whichever of
 * the two it needs: "source readable" when it is short of rows, "target
 * writable" when libpq still holds unsent bytes.  libpq's output buffer
 * stays small because nothing more is put before PQflush() has sent it all.
 */
#include "engine/copy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/copybin.h"
#include "codec/copytext.h"
#include "engine/conn.h"
#include "engine/log.h"

#define COPY_WAIT_MS 200		/* how often a waiting worker looks at the stop flag */

typedef struct chunk_stream
{
	copy_worker *w;
	const cat_table *table;
	const plan_chunk *chunk;
	bool		text;
	copybin_parser *bin;		/* binary chunks */
	copytext_parser *txt;		/* text chunks */
	copy_result *result;
	sl_err	   *err;
	char		what[512];		/* "chunk 2 of table t (id >= ...)" for messages */

	char	   *row;			/* row from PQgetCopyData not yet all in the pipe */
	int			row_len;
	int			row_off;
	bool		trailer_seen;	/* binary: the -1 trailer has been parsed */
	bool		source_done;	/* source COPY finished, its result read */
	uint64_t	source_rows;	/* the source's COPY tag */
	bool		target_blocked; /* libpq holds unsent bytes: wait for POLLOUT */
	bool		target_ended;	/* PQputCopyEnd queued */
} chunk_stream;

int
copy_worker_init(copy_worker *w, int id, io_loop_kind kind, const atomic_int *stop,
				 char *fallback_why, size_t whylen, sl_err *err)
{
	int			rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->stop = stop;
	if ((rc = io_pipe_init(&w->pipe, COPY_PIPE_BYTES)) < 0)
		return err_set(err, SIDE_LOCAL, rc, "could not allocate the pipe of worker %d", id);
	if ((rc = io_loop_create(&w->loop, kind, fallback_why, whylen)) < 0)
	{
		io_pipe_fini(&w->pipe);
		return err_set(err, SIDE_LOCAL, rc, "could not set up io_uring for worker %d: %s",
					   id, strerror(-rc));
	}
	return 0;
}

void
copy_worker_fini(copy_worker *w)
{
	if (w->loop != NULL)
		io_loop_forget(w->loop);
	conn_close(&w->source);
	conn_close(&w->target);
	io_loop_destroy(w->loop);
	w->loop = NULL;
	io_pipe_fini(&w->pipe);
}

/* Closes both connections: the servers roll back whatever the chunk began. */
static void
abandon(copy_worker *w)
{
	io_loop_forget(w->loop);
	conn_close(&w->source);
	conn_close(&w->target);
	io_pipe_clear(&w->pipe);
}

static int
fail(chunk_stream *s, sl_side side, PGconn *conn, const PGresult *res, const char *doing)
{
	char		prefix[768];

	snprintf(prefix, sizeof(prefix), "%s: %s %s", s->what, doing, err_side_name(side));
	return conn_fail(conn, res, side, s->err, prefix);
}

static int
hash_row(chunk_stream *s, const char *data, int len)
{
	codec_in	in = {(const uint8_t *) data, (size_t) len, 0};
	int			rc;

	if (s->text)
	{
		rc = copytext_step(s->txt, &in, &s->result->digest);
		if (rc < 0)
			return err_set(s->err, SIDE_SOURCE, rc, "%s: malformed COPY data from the source: %s",
						   s->what, copytext_error(s->txt));
		return 0;
	}
	rc = copybin_step(s->bin, &in, &s->result->digest);
	if (rc < 0)
		return err_set(s->err, SIDE_SOURCE, rc, "%s: malformed COPY data from the source: %s",
					   s->what, copybin_error(s->bin));
	if (rc == 1)
	{
		if (in.pos != in.size)
			return err_set(s->err, SIDE_SOURCE, -EPROTO,
						   "%s: malformed COPY data from the source: %zu bytes after the trailer",
						   s->what, in.size - in.pos);
		s->trailer_seen = true;
	}
	return 0;
}

static int
finish_source(chunk_stream *s)
{
	PGresult   *res;
	int			rc = 0;

	while ((res = PQgetResult(s->w->source)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			s->source_rows = strtoull(PQcmdTuples(res), NULL, 10);
		else if (rc == 0)
			rc = fail(s, SIDE_SOURCE, s->w->source, res, "could not read from");
		PQclear(res);
	}
	s->source_done = true;
	return rc;
}

/* Moves rows from the source into the pipe until it is full or the source is dry. */
static int
pump_source(chunk_stream *s)
{
	copy_worker *w = s->w;
	bool		consumed = false;

	for (;;)
	{
		char	   *buf = NULL;
		int			len;
		int			rc;

		if (s->row != NULL)
		{
			s->row_off += (int) io_pipe_write(&w->pipe, s->row + s->row_off,
											  (size_t) (s->row_len - s->row_off));
			if (s->row_off < s->row_len)
				return 0;		/* the pipe is full */
			PQfreemem(s->row);
			s->row = NULL;
		}
		if (s->source_done || io_pipe_space(&w->pipe) == 0)
			return 0;

		len = PQgetCopyData(w->source, &buf, 1);
		if (len > 0)
		{
			consumed = false;
			s->row = buf;
			s->row_len = len;
			s->row_off = 0;
			s->result->bytes += (uint64_t) len;
			if ((rc = hash_row(s, buf, len)) < 0)
				return rc;
			continue;
		}
		if (len == 0)
		{
			/* Read what the socket already holds before paying for a wait. */
			if (consumed)
				return 0;
			if (!PQconsumeInput(w->source))
				return fail(s, SIDE_SOURCE, w->source, NULL, "lost the connection to");
			consumed = true;
			continue;
		}
		if (len == -1)
			return finish_source(s);
		return fail(s, SIDE_SOURCE, w->source, NULL, "could not read from");
	}
}

/* Sends the pipe to the target in large batches while its socket takes them. */
static int
pump_target(chunk_stream *s)
{
	copy_worker *w = s->w;

	while (!s->target_blocked)
	{
		const uint8_t *span;
		size_t		n;
		int			flushed = PQflush(w->target);

		if (flushed < 0)
			return fail(s, SIDE_TARGET, w->target, NULL, "could not send to");
		if (flushed > 0)
		{
			s->target_blocked = true;
			break;
		}
		if (w->pipe.used == 0 || s->target_ended)
			break;
		/* While the source goes on, wait for a batch worth a message. */
		if (!s->source_done && w->pipe.used < COPY_BATCH_MIN && io_pipe_space(&w->pipe) > 0)
			break;
		n = io_pipe_peek(&w->pipe, &span, COPY_BATCH_MAX);
		if (PQputCopyData(w->target, (const char *) span, (int) n) != 1)
			return fail(s, SIDE_TARGET, w->target, NULL, "could not send to");
		io_pipe_consume(&w->pipe, n);
	}
	return 0;
}

/* Queues the end of the COPY once everything is in the target's hands. */
static int
end_target(chunk_stream *s)
{
	copy_worker *w = s->w;
	int			rc;

	if (s->target_ended || !s->source_done || s->row != NULL || w->pipe.used > 0 ||
		s->target_blocked)
		return 0;
	if (!s->text && !s->trailer_seen)
		return err_set(s->err, SIDE_SOURCE, -EPROTO,
					   "%s: the source's COPY data ended without its trailer", s->what);
	if (s->text && (rc = copytext_finish(s->txt)) < 0)
		return err_set(s->err, SIDE_SOURCE, rc, "%s: malformed COPY data from the source: %s",
					   s->what, copytext_error(s->txt));
	rc = PQputCopyEnd(w->target, NULL);
	if (rc < 0)
		return fail(s, SIDE_TARGET, w->target, NULL, "could not end the COPY on");
	if (rc == 1)
		s->target_ended = true;
	else
		s->target_blocked = true;
	return 0;
}

static int
wait_sockets(chunk_stream *s)
{
	copy_worker *w = s->w;
	io_watch	watch[2];
	bool		want_source = !s->source_done && s->row == NULL && io_pipe_space(&w->pipe) > 0;
	int			rc;

	watch[0] = (io_watch) {.fd = want_source ? PQsocket(w->source) : -1, .events = POLLIN};
	watch[1] = (io_watch) {.fd = PQsocket(w->target),
	.events = (short) (s->target_blocked ? (POLLOUT | POLLIN) : POLLIN)};
	rc = io_loop_wait(w->loop, watch, 2, COPY_WAIT_MS);
	if (rc < 0)
		return err_set(s->err, SIDE_LOCAL, rc, "%s: waiting for the servers failed: %s",
					   s->what, strerror(-rc));
	if (watch[1].revents & (POLLOUT | POLLERR | POLLHUP))
		s->target_blocked = false;	/* PQflush will tell */
	if ((watch[1].revents & POLLIN) && !PQconsumeInput(w->target))
		return fail(s, SIDE_TARGET, w->target, NULL, "lost the connection to");
	/* "source readable" is handled by pump_source's PQconsumeInput */
	return 0;
}

static int
finish_target(chunk_stream *s, uint64_t *target_rows)
{
	copy_worker *w = s->w;
	PGresult   *res;
	int			rc = 0;

	PQsetnonblocking(w->target, 0);
	while ((res = PQgetResult(w->target)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			*target_rows = strtoull(PQcmdTuples(res), NULL, 10);
		else if (rc == 0)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not load into");
		PQclear(res);
	}
	if (rc == 0 && s->chunk->freeze)
	{
		res = PQexec(w->target, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not commit on");
		PQclear(res);
	}
	return rc;
}

static int
start_copies(chunk_stream *s)
{
	copy_worker *w = s->w;
	sbuf		sql;
	PGresult   *res;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (s->chunk->freeze)
	{
		/* COPY FREEZE needs the table truncated in the same transaction */
		sbuf_printf(&sql, "BEGIN; TRUNCATE ONLY %s", s->table->qname);
		res = PQexec(w->target, sbuf_str(&sql));
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not truncate on");
		PQclear(res);
		sbuf_reset(&sql);
	}
	if (rc == 0)
	{
		plan_copy_in_sql(&sql, s->table, s->text, s->chunk->freeze);
		res = PQexec(w->target, sbuf_str(&sql));
		if (PQresultStatus(res) != PGRES_COPY_IN)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not start COPY on");
		PQclear(res);
		sbuf_reset(&sql);
	}
	if (rc == 0)
	{
		plan_copy_out_sql(&sql, s->table, s->chunk->predicate, s->text);
		log_debug("worker %d: %s", w->id, sbuf_str(&sql));
		res = PQexec(w->source, sbuf_str(&sql));
		if (PQresultStatus(res) != PGRES_COPY_OUT)
			rc = fail(s, SIDE_SOURCE, w->source, res, "could not start COPY on");
		PQclear(res);
	}
	if (rc == 0 && sbuf_failed(&sql))
		rc = err_set(s->err, SIDE_LOCAL, -ENOMEM, "%s: out of memory", s->what);
	sbuf_fini(&sql);
	if (rc == 0 && PQsetnonblocking(w->target, 1) != 0)
		rc = fail(s, SIDE_TARGET, w->target, NULL, "could not switch to non-blocking mode on");
	return rc;
}

static int
stream_chunk(chunk_stream *s)
{
	int			rc;

	for (;;)
	{
		if (atomic_load(s->w->stop))
			return err_set(s->err, SIDE_INTERRUPT, -EINTR, "%s: stopped", s->what);
		if ((rc = pump_source(s)) < 0 || (rc = pump_target(s)) < 0 || (rc = end_target(s)) < 0)
			return rc;
		if (s->target_ended && !s->target_blocked)
		{
			int			flushed = PQflush(s->w->target);

			if (flushed < 0)
				return fail(s, SIDE_TARGET, s->w->target, NULL, "could not send to");
			if (flushed == 0)
				return 0;
			s->target_blocked = true;
		}
		/* Neither side can move without the network now. */
		if ((rc = wait_sockets(s)) < 0)
			return rc;
	}
}

int
copy_chunk(copy_worker *w, const catalog *cat, const plan_chunk *chunk,
		   copy_result *result, sl_err *err)
{
	chunk_stream s;
	const cat_table *table = &cat->tables[chunk->table];
	uint64_t	target_rows = 0;
	int			rc;

	memset(&s, 0, sizeof(s));
	memset(result, 0, sizeof(*result));
	chunk_digest_reset(&result->digest);
	s.w = w;
	s.table = table;
	s.chunk = chunk;
	s.text = table->text_reason != NULL;
	s.result = result;
	s.err = err;
	if (chunk->predicate != NULL)
		snprintf(s.what, sizeof(s.what), "chunk %d of table %s (%.300s)", chunk->seq,
				 table->qname, chunk->predicate);
	else
		snprintf(s.what, sizeof(s.what), "table %s", table->qname);

	if (w->source == NULL || w->target == NULL)
		return err_set(err, SIDE_LOCAL, -ENOTCONN, "%s: worker %d has no connection", s.what, w->id);

	if (s.text)
		rc = copytext_create(&s.txt);
	else
		rc = copybin_create(&s.bin, (uint16_t) table->ncols, table->shapes);
	if (rc < 0)
		return err_set(err, SIDE_LOCAL, rc, "%s: out of memory", s.what);

	io_pipe_clear(&w->pipe);
	if ((rc = start_copies(&s)) == 0 && (rc = stream_chunk(&s)) == 0)
		rc = finish_target(&s, &target_rows);
	if (rc == 0)
	{
		result->rows = result->digest.rows;
		if (s.source_rows != result->rows || target_rows != result->rows)
			rc = err_set(err, SIDE_LOCAL, -EPROTO,
						 "%s: row counts disagree: the source sent %llu, %llu were hashed, "
						 "the target loaded %llu", s.what, (unsigned long long) s.source_rows,
						 (unsigned long long) result->rows, (unsigned long long) target_rows);
	}
	if (rc < 0)
		abandon(w);
	PQfreemem(s.row);
	copybin_destroy(s.bin);
	copytext_destroy(s.txt);
	return rc;
}
