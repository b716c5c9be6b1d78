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
 */
#include "engine/copy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "codec/copybin.h"
#include "codec/copytext.h"
#include "codec/pgwire.h"
#include "engine/conn.h"
#include "engine/log.h"

#define COPY_WAIT_MS 200		/* how often a waiting worker looks at the stop flag */

typedef struct chunk_stream
{
	copy_worker *w;
	const cat_table *table;
	const plan_chunk *chunk;
	bool		text;
	bool		direct_source;	/* read the source socket ourselves */
	bool		direct_target;	/* write CopyData frames ourselves */
	copybin_parser *bin;		/* binary chunks */
	copytext_parser *txt;		/* text chunks */
	copy_result *result;
	sl_err	   *err;
	char		what[512];		/* "chunk 2 of table t (id >= ...)" for messages */

	/* libpq source path */
	char	   *row;			/* row from PQgetCopyData not yet all in the pipe */
	int			row_len;
	int			row_off;

	/* direct source path */
	pgwire_reader wire;
	codec_in	read_in;		/* unparsed bytes of w->read_buf */

	/* direct target path: one CopyData frame of frame_len pipe bytes in flight */
	uint8_t		frame_header[5];
	size_t		frame_len;
	size_t		frame_sent;		/* header and payload bytes written */

	bool		trailer_seen;	/* binary: the -1 trailer has been parsed */
	bool		source_done;	/* source COPY finished, its result read */
	uint64_t	source_rows;	/* the source's COPY tag */
	bool		target_blocked; /* bytes unsent: wait for POLLOUT */
	bool		target_ended;	/* PQputCopyEnd queued */
} chunk_stream;

int
copy_worker_init(copy_worker *w, int id, io_loop_kind kind, bool via_libpq, const atomic_int *stop,
				 char *fallback_why, size_t whylen, sl_err *err)
{
	int			rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->stop = stop;
	w->via_libpq = via_libpq;
	if ((rc = io_pipe_init(&w->pipe, COPY_PIPE_BYTES)) < 0 ||
		(w->read_buf = malloc(COPY_READ_BYTES)) == NULL)
	{
		io_pipe_fini(&w->pipe);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "could not allocate the buffers of worker %d", id);
	}
	if ((rc = io_loop_create(&w->loop, kind, fallback_why, whylen)) < 0)
	{
		io_pipe_fini(&w->pipe);
		free(w->read_buf);
		w->read_buf = NULL;
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

static bool
encrypted(PGconn *conn)
{
	return PQsslInUse(conn) || PQgssEncInUse(conn);
}

static int
fail(chunk_stream *s, sl_side side, PGconn *conn, const PGresult *res, const char *doing)
{
	char		prefix[768];

	snprintf(prefix, sizeof(prefix), "%s: %s %s", s->what, doing, err_side_name(side));
	return conn_fail(conn, res, side, s->err, prefix);
}

/* Fails with the server's ErrorResponse (payload of an 'E' message). */
static int
fail_server(chunk_stream *s, sl_side side, const char *doing, const uint8_t *payload, size_t size)
{
	char		message[1024] = "unknown error";
	char		detail[1024] = "";
	char		sqlstate[8] = "";

	pgwire_error_field(payload, size, 'M', message, sizeof(message));
	pgwire_error_field(payload, size, 'D', detail, sizeof(detail));
	pgwire_error_field(payload, size, 'C', sqlstate, sizeof(sqlstate));
	return err_set(s->err, side, -EIO, "%s: %s %s: %s%s%s%s%s%s", s->what, doing, err_side_name(side),
				   conn_one_line(message), detail[0] ? " (" : "", conn_one_line(detail),
				   detail[0] ? ")" : "", sqlstate[0] ? " SQLSTATE " : "", sqlstate);
}

/* Hashes a piece of the COPY stream, split anywhere. */
static int
hash_bytes(chunk_stream *s, const uint8_t *data, size_t len)
{
	codec_in	in = {data, len, 0};
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
		else if (PQresultStatus(res) != PGRES_EMPTY_QUERY && rc == 0)
			rc = fail(s, SIDE_SOURCE, s->w->source, res, "could not read from");
		PQclear(res);
	}
	s->source_done = true;
	return rc;
}

/* libpq path: moves rows from the source into the pipe until it is full or the source is dry. */
static int
pump_source_libpq(chunk_stream *s)
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
			if ((rc = hash_bytes(s, (const uint8_t *) buf, (size_t) len)) < 0)
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

/*
 * Direct path, after the source's ReadyForQuery: libpq still waits for the
 * COPY's results, which it never saw.  An empty query gives it a complete,
 * ordinary response (EmptyQueryResponse, ReadyForQuery) to end on.
 */
static int
resync_source(chunk_stream *s)
{
	static const char empty_query[] = {'Q', 0, 0, 0, 5, 0};
	int			fd = PQsocket(s->w->source);
	size_t		sent = 0;

	while (sent < sizeof(empty_query))
	{
		ssize_t		n = send(fd, empty_query + sent, sizeof(empty_query) - sent, MSG_NOSIGNAL);

		if (n > 0)
			sent += (size_t) n;
		else if (n < 0 && errno == EAGAIN)
		{
			struct pollfd pfd = {fd, POLLOUT, 0};

			poll(&pfd, 1, COPY_WAIT_MS);
		}
		else if (n < 0 && errno != EINTR)
			return err_set(s->err, SIDE_SOURCE, -errno, "%s: lost the connection to source: %s",
						   s->what, strerror(errno));
	}
	return finish_source(s);
}

/* Direct path: one backend message of the source's COPY OUT response. */
static int
source_message(chunk_stream *s, const pgwire_event *ev)
{
	switch (ev->type)
	{
		case 'H':				/* CopyOutResponse: its overall format must be ours */
			if (ev->size < 1 || ev->data[0] != (s->text ? 0 : 1))
				return err_set(s->err, SIDE_SOURCE, -EPROTO,
							   "%s: the source answered COPY in an unexpected format", s->what);
			return 0;
		case 'c':				/* CopyDone */
			return 0;
		case 'C':				/* CommandComplete "COPY n" */
			if (ev->size > 5 && memcmp(ev->data, "COPY ", 5) == 0)
				s->source_rows = strtoull((const char *) ev->data + 5, NULL, 10);
			return 0;
		case 'E':
			return fail_server(s, SIDE_SOURCE, "could not read from", ev->data, ev->size);
		case 'Z':				/* ReadyForQuery: the COPY is over */
			return resync_source(s);
		case 'N':				/* notices, parameter changes, notifications */
		case 'S':
		case 'A':
			return 0;
		default:
			return err_set(s->err, SIDE_SOURCE, -EPROTO,
						   "%s: unexpected message type 0x%02x from the source", s->what, ev->type);
	}
}

/* Direct path: reads the source socket into the pipe until it is full or the socket is dry. */
static int
pump_source_direct(chunk_stream *s)
{
	copy_worker *w = s->w;
	bool		read_once = false;

	while (!s->source_done && io_pipe_space(&w->pipe) > 0)
	{
		pgwire_event ev;
		int			rc;

		if (s->read_in.pos == s->read_in.size)
		{
			ssize_t		n;

			if (read_once)
				return 0;		/* one read per turn: then let the target have its go */
			n = recv(PQsocket(w->source), w->read_buf, COPY_READ_BYTES, MSG_DONTWAIT);
			if (n > 0)
			{
				s->read_in = (codec_in) {w->read_buf, (size_t) n, 0};
				read_once = true;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n < 0 && errno == EINTR)
				continue;
			return err_set(s->err, SIDE_SOURCE, n == 0 ? -ECONNRESET : -errno,
						   "%s: lost the connection to source: %s", s->what,
						   n == 0 ? "the server closed the connection" : strerror(errno));
		}
		rc = pgwire_next(&s->wire, &s->read_in, &ev);
		if (rc == 0)
			continue;
		if (rc < 0)
			return err_set(s->err, SIDE_SOURCE, rc, "%s: malformed protocol data from the source: %s",
						   s->what, pgwire_error(&s->wire));
		if (ev.kind == PGWIRE_COPY_DATA)
		{
			size_t		taken = io_pipe_write(&w->pipe, ev.data, ev.size);

			if (taken < ev.size)
				pgwire_unread(&s->wire, &s->read_in, ev.size - taken);
			s->result->bytes += taken;
			if ((rc = hash_bytes(s, ev.data, taken)) < 0)
				return rc;
			continue;
		}
		if ((rc = source_message(s, &ev)) < 0)
			return rc;
	}
	return 0;
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
				int			rc = fail_server(s, SIDE_TARGET, "could not send to", ev.data, ev.size);

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
			if (!s->source_done && w->pipe.used < COPY_BATCH_MIN && io_pipe_space(&w->pipe) > 0)
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
		s->frame_len > 0 || s->target_blocked)
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
		if (s->direct_source)
		{
			/* libpq sends and flushes the query; the responses are ours to read */
			if (!PQsendQuery(w->source, sbuf_str(&sql)))
				rc = fail(s, SIDE_SOURCE, w->source, NULL, "could not start COPY on");
		}
		else
		{
			res = PQexec(w->source, sbuf_str(&sql));
			if (PQresultStatus(res) != PGRES_COPY_OUT)
				rc = fail(s, SIDE_SOURCE, w->source, res, "could not start COPY on");
			PQclear(res);
		}
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
		rc = s->direct_source ? pump_source_direct(s) : pump_source_libpq(s);
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
		if (s->direct_source && !s->source_done && io_pipe_space(&s->w->pipe) > 0 &&
			s->read_in.pos < s->read_in.size)
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
	s.text = table->text_reason != NULL;
	s.result = result;
	s.err = err;
	if (chunk->predicate != NULL)
		snprintf(s.what, sizeof(s.what), "chunk %d of table %s (%.300s)", chunk->seq,
				 table->qname, chunk->predicate);
	else
		snprintf(s.what, sizeof(s.what), "chunk 1 of table %s (whole table)", table->qname);

	if (w->source == NULL || w->target == NULL)
		return err_set(err, SIDE_LOCAL, -ENOTCONN, "%s: worker %d has no connection", s.what, w->id);
	s.direct_source = !w->via_libpq && !encrypted(w->source);
	s.direct_target = !w->via_libpq && !encrypted(w->target);
	pgwire_init(&s.wire);

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
	pgwire_fini(&s.wire);
	copybin_destroy(s.bin);
	copytext_destroy(s.txt);
	return rc;
}
