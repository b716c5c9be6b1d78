/*
 * copy.c: streaming one chunk from the source into the target.  See copy.h.
 *
 * The loop never blocks on a socket.  Each turn it reads rows from the
 * source while the pipe has room, sends the pipe to the target while the
 * target's socket takes it, and only then waits (io_loop) for whichever of
 * the two it needs: "source readable" when it is short of rows, "target
 * writable" when bytes are still unsent.  Nothing more is queued for the
 * target before what is queued has gone, so libpq's output buffer (libpq
 * path) or the frame in flight (direct path) stays one batch at most.
 *
 * Each side has a stall clock (io/stall.h), running while the loop waits
 * for that side and the side moves nothing: the source while rows are
 * wanted, the target while bytes wait to be sent.  Moved bytes are counted
 * where they are read and written anyway; the clocks are read once per
 * wait.  A side silent for the stall timeout is given up (conn.h).
 */
#include "engine/copy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/clock.h"
#include "codec/pgwire.h"
#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"
#include "engine/rate.h"
#include "io/stall.h"

#define COPY_WAIT_MS 200		/* how often a waiting worker looks at the stop flag
								 * and its stall clocks */

typedef struct chunk_stream
{
	copy_worker *w;
	const cat_table *table;
	const plan_chunk *chunk;
	bool		direct_target;	/* write CopyData frames ourselves */
	copy_reader src;			/* the source's COPY stream */
	sl_err	   *err;
	char		what[512];		/* "chunk 2 of table t (id >= ...)" for messages */

	/* direct target path: one CopyData frame of frame_len pipe bytes in flight */
	uint8_t		frame_header[5];
	size_t		frame_len;
	size_t		frame_sent;		/* header and payload bytes written */

	bool		target_blocked; /* bytes unsent: wait for POLLOUT */
	bool		target_ended;	/* PQputCopyEnd queued */
	uint64_t	target_sent;	/* bytes handed to the target's socket or libpq */
	stall_clock source_clock;
	stall_clock target_clock;
} chunk_stream;

int
copy_worker_init(copy_worker *w, int id, io_loop_kind kind, bool via_libpq, const atomic_int *stop,
				 atomic_int *fallback_said, char *backend, size_t backendlen, sl_err *err)
{
	int			rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->stop = stop;
	w->via_libpq = via_libpq;
	if ((rc = io_pipe_init(&w->pipe, COPY_PIPE_BYTES)) < 0 ||
		(w->read_buf = malloc(READER_BUF_BYTES)) == NULL)
	{
		io_pipe_fini(&w->pipe);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "could not allocate the buffers of worker %d", id);
	}
	if ((rc = copy_reader_loop_create(&w->loop, kind, id, fallback_said, backend, backendlen, err)) < 0)
	{
		io_pipe_fini(&w->pipe);
		free(w->read_buf);
		w->read_buf = NULL;
		return rc;
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
	free(w->read_buf);
	w->read_buf = NULL;
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

/* The server's reason when a write to the target failed, if it sent one. */
static int
fail_target_write(chunk_stream *s, int error)
{
	uint8_t		buf[8192];
	ssize_t		n = recv(PQsocket(s->w->target), buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
	{
		pgwire_reader reader;
		codec_in	in = {buf, (size_t) n, 0};
		pgwire_event ev;

		pgwire_init(&reader);
		while (pgwire_next(&reader, &in, &ev) == 1)
		{
			if (ev.kind == PGWIRE_MESSAGE && ev.type == 'E')
			{
				char		prefix[768];
				int			rc;

				snprintf(prefix, sizeof(prefix), "%s: could not send to target", s->what);
				rc = conn_fail_message(ev.data, ev.size, SIDE_TARGET, s->err, prefix);

				pgwire_fini(&reader);
				return rc;
			}
		}
		pgwire_fini(&reader);
	}
	return err_set(s->err, SIDE_TARGET, -error, "%s: lost the connection to target: %s", s->what,
				   strerror(error));
}

/* Direct path: writes the pipe to the target as CopyData frames. */
static int
pump_target_direct(chunk_stream *s)
{
	copy_worker *w = s->w;

	while (!s->target_blocked && !s->target_ended)
	{
		const uint8_t *span;
		struct iovec iov[2];
		struct msghdr msg;
		int			niov = 0;
		ssize_t		n;

		if (s->frame_len == 0)
		{
			uint32_t	length;

			if (w->pipe.used == 0)
				break;
			/* While the source goes on, wait for a batch worth a message. */
			if (!s->src.done && w->pipe.used < COPY_BATCH_MIN && io_pipe_space(&w->pipe) > 0)
				break;
			s->frame_len = io_pipe_peek(&w->pipe, &span, COPY_BATCH_MAX);
			s->frame_sent = 0;
			length = (uint32_t) s->frame_len + 4;
			s->frame_header[0] = 'd';
			s->frame_header[1] = (uint8_t) (length >> 24);
			s->frame_header[2] = (uint8_t) (length >> 16);
			s->frame_header[3] = (uint8_t) (length >> 8);
			s->frame_header[4] = (uint8_t) length;
		}
		io_pipe_peek(&w->pipe, &span, s->frame_len);
		if (s->frame_sent < 5)
			iov[niov++] = (struct iovec) {s->frame_header + s->frame_sent, 5 - s->frame_sent};
		{
			size_t		payload_sent = s->frame_sent > 5 ? s->frame_sent - 5 : 0;

			iov[niov++] = (struct iovec) {(void *) (span + payload_sent), s->frame_len - payload_sent};
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t) niov;
		n = sendmsg(PQsocket(w->target), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK)
			{
				s->target_blocked = true;
				break;
			}
			if (errno == EINTR)
				continue;
			return fail_target_write(s, errno);
		}
		s->frame_sent += (size_t) n;
		s->target_sent += (uint64_t) n;
		if (s->frame_sent == s->frame_len + 5)
		{
			io_pipe_consume(&w->pipe, s->frame_len);
			s->frame_len = 0;
		}
	}
	return 0;
}

/* libpq path: sends the pipe to the target in large batches while its socket takes them. */
static int
pump_target_libpq(chunk_stream *s)
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
		if (!s->src.done && w->pipe.used < COPY_BATCH_MIN && io_pipe_space(&w->pipe) > 0)
			break;
		n = io_pipe_peek(&w->pipe, &span, COPY_BATCH_MAX);
		if (PQputCopyData(w->target, (const char *) span, (int) n) != 1)
			return fail(s, SIDE_TARGET, w->target, NULL, "could not send to");
		io_pipe_consume(&w->pipe, n);
		s->target_sent += n;
	}
	return 0;
}

/* Queues the end of the COPY once everything is in the target's hands. */
static int
end_target(chunk_stream *s)
{
	copy_worker *w = s->w;
	int			rc;

	if (s->target_ended || !s->src.done || s->src.row != NULL || w->pipe.used > 0 ||
		s->frame_len > 0 || s->target_blocked)
		return 0;
	if ((rc = copy_reader_finish(&s->src)) < 0)
		return rc;
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
	bool		want_source = copy_reader_wants_socket(&s->src, &w->pipe);
	double		now;
	int			rc;

	/*
	 * While the target is the slower side and the pipe holds more than its
	 * socket takes at once, rows arriving from the source change nothing:
	 * waking for them would read them a few kB at a time, a wake-up each.
	 * The source's socket fills meanwhile, and is read in large pieces once
	 * the target has taken its share.
	 */
	if (s->target_blocked && w->pipe.used >= COPY_PIPE_RESERVE)
		want_source = false;

	if (want_source && !s->target_blocked && copy_reader_pause_us(&s->src) > 0)
	{
		/* only the source can bring work: let its socket fill (reader.h) */
		struct timespec pause = {0, (long) copy_reader_pause_us(&s->src) * 1000};

		nanosleep(&pause, NULL);
	}
	watch[0] = (io_watch) {.fd = want_source ? PQsocket(w->source) : -1, .events = POLLIN};
	watch[1] = (io_watch) {.fd = PQsocket(w->target),
	.events = (short) (s->target_blocked ? (POLLOUT | POLLIN) : POLLIN)};
	now = clock_seconds();
	stall_clock_begin(&s->source_clock, want_source, s->src.bytes, now);
	stall_clock_begin(&s->target_clock, s->target_blocked, s->target_sent, now);
	rc = io_loop_wait(w->loop, watch, 2, COPY_WAIT_MS);
	if (rc < 0)
		return err_set(s->err, SIDE_LOCAL, rc, "%s: waiting for the servers failed: %s",
					   s->what, strerror(-rc));
	now = clock_seconds();
	if (conn_stall_check(w->source, SIDE_SOURCE, &s->source_clock, watch[0].revents != 0, now))
		return conn_fail_stall(w->source, SIDE_SOURCE, s->what, s->err);
	if (conn_stall_check(w->target, SIDE_TARGET, &s->target_clock, watch[1].revents != 0, now))
		return conn_fail_stall(w->target, SIDE_TARGET, s->what, s->err);
	if (watch[1].revents & (POLLOUT | POLLERR | POLLHUP))
		s->target_blocked = false;	/* the next write will tell */
	/* the target says something only to end the COPY: libpq keeps it for PQgetResult */
	if ((watch[1].revents & POLLIN) && !PQconsumeInput(w->target))
		return fail(s, SIDE_TARGET, w->target, NULL, "lost the connection to");
	/* "source readable" is handled by the next pump */
	return 0;
}

static int
finish_target(chunk_stream *s, uint64_t *target_rows)
{
	copy_worker *w = s->w;
	PGresult   *res;
	int			rc = 0;
	int			wait_rc;

	/* the target may go silent at the end too: wait within the stall timeout */
	while ((wait_rc = conn_wait_result(w->target, SIDE_TARGET, s->what, s->err)) == 0 &&
		   (res = PQgetResult(w->target)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			*target_rows = strtoull(PQcmdTuples(res), NULL, 10);
		else if (rc == 0)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not load into");
		PQclear(res);
	}
	if (wait_rc < 0)
		return wait_rc;
	if (rc == 0 && PQsetnonblocking(w->target, 0) != 0)
		rc = fail(s, SIDE_TARGET, w->target, NULL, "could not switch to blocking mode on");
	if (rc == 0 && s->table->large_objects)
		rc = lobj_load_finish(w->target, s->err);
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
		/* COPY FREEZE needs the table truncated in the same transaction (the caller's) */
		sbuf_printf(&sql, "TRUNCATE ONLY %s", s->table->qname);
		if ((rc = conn_run(w->target, SIDE_TARGET, sbuf_str(&sql), 0, NULL, &res, s->err)) == 0 &&
			PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not truncate on");
		PQclear(res);
		sbuf_reset(&sql);
	}
	if (rc == 0 && s->table->large_objects)
		rc = lobj_load_begin(w->target, s->err);
	if (rc == 0)
	{
		plan_copy_in_sql(&sql, s->table, s->table->text_reason != NULL, s->chunk->freeze);
		if ((rc = conn_run(w->target, SIDE_TARGET, sbuf_str(&sql), 0, NULL, &res, s->err)) == 0 &&
			PQresultStatus(res) != PGRES_COPY_IN)
			rc = fail(s, SIDE_TARGET, w->target, res, "could not start COPY on");
		PQclear(res);
		sbuf_reset(&sql);
	}
	if (rc == 0)
	{
		plan_copy_out_sql(&sql, s->table, s->chunk->predicate, s->table->text_reason != NULL);
		log_debug("%s", sbuf_str(&sql));
		copy_reader_columns columns = {s->table->ncols, s->table->shapes, s->table->text_reason != NULL};

		rc = copy_reader_begin(&s->src, w->source, SIDE_SOURCE, &columns, sbuf_str(&sql),
							   !w->via_libpq && !conn_encrypted(w->source), w->read_buf, s->what,
							   s->err);
		s->src.stop = w->stop;
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
			return err_set(s->err, SIDE_INTERRUPT, -EINTR, "%s: interrupted and rolled back", s->what);
		/* paused: no row moves either way, also while the target drains the pipe (engine/rate.h) */
		if (rate_limit_paused())
			(void) rate_limit_wait(0, s->w->stop);
		rc = copy_reader_step(&s->src, &s->w->pipe);
		if (rc == 0)
			rc = s->direct_target ? pump_target_direct(s) : pump_target_libpq(s);
		if (rc == 0)
			rc = end_target(s);
		if (rc < 0)
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
		/* the source's socket may hold more than one read took */
		if (copy_reader_has_buffered(&s->src) && io_pipe_space(&s->w->pipe) > 0)
			continue;
		/* neither side can move without the network now */
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
	s.err = err;
	plan_chunk_describe(chunk, table, s.what, sizeof(s.what));
	stall_clock_init(&s.source_clock, conn_stall_timeout());
	stall_clock_init(&s.target_clock, conn_stall_timeout());

	if (w->source == NULL || w->target == NULL)
		return err_set(err, SIDE_LOCAL, -ENOTCONN, "%s: worker %d has no connection", s.what, w->id);
	s.direct_target = !w->via_libpq && !conn_encrypted(w->target);

	io_pipe_clear(&w->pipe);
	if ((rc = start_copies(&s)) == 0 && (rc = stream_chunk(&s)) == 0)
		rc = finish_target(&s, &target_rows);
	if (rc == 0)
	{
		result->digest = s.src.digest;
		result->bytes = s.src.bytes;
		result->rows = s.src.digest.rows;
		if (target_rows != result->rows)
			rc = err_set(err, SIDE_LOCAL, -EPROTO,
						 "%s: row counts disagree: the source sent %llu, the target loaded %llu",
						 s.what, (unsigned long long) result->rows, (unsigned long long) target_rows);
	}
	if (rc < 0)
		abandon(w);
	copy_reader_end(&s.src);
	return rc;
}
