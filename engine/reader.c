/*
 * reader.c: reading and hashing one COPY ... TO STDOUT stream.  See reader.h.
 */
#include "engine/reader.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/conn.h"
#include "engine/log.h"
#include "engine/rate.h"

#define RESYNC_WAIT_MS 200
#define READER_BATCH_LOW (96u << 10)	/* a read below this: pause longer */
#define READER_BATCH_HIGH (160u << 10)	/* a read from this up: pause less */
#define READER_PAUSE_STEP_US 25

static int
fail(copy_reader *r, const PGresult *res, const char *doing)
{
	char		prefix[768];

	snprintf(prefix, sizeof(prefix), "%s: %s %s", r->what, doing, err_side_name(r->side));
	return conn_fail(r->conn, res, r->side, r->err, prefix);
}

int
copy_reader_begin(copy_reader *r, PGconn *conn, sl_side side, const copy_reader_columns *columns,
				  const char *sql, bool direct, uint8_t *read_buf, const char *what, sl_err *err)
{
	int			rc;

	memset(r, 0, sizeof(*r));
	r->conn = conn;
	r->side = side;
	r->what = what;
	r->err = err;
	r->text = columns->text;
	r->direct = direct;
	r->read_buf = read_buf;
	chunk_digest_reset(&r->digest);
	pgwire_init(&r->wire);
	if ((rc = copy_hash_init(&r->hash, r->text, (uint16_t) columns->ncols, columns->shapes)) < 0)
		return err_set(err, SIDE_LOCAL, rc, "%s: out of memory", what);

	if (direct)
	{
		/* libpq sends and flushes the statement; the responses are ours to read */
		if (!PQsendQuery(conn, sql))
			return fail(r, NULL, "could not start COPY on");
		return 0;
	}
	{
		PGresult   *res;

		if ((rc = conn_run(conn, side, sql, 0, NULL, &res, err)) == 0 &&
			PQresultStatus(res) != PGRES_COPY_OUT)
			rc = fail(r, res, "could not start COPY on");
		PQclear(res);
	}
	return rc;
}

void
copy_reader_end(copy_reader *r)
{
	PQfreemem(r->row);
	r->row = NULL;
	pgwire_fini(&r->wire);
	copy_hash_fini(&r->hash);
}

/* Hashes a piece of the COPY stream, split anywhere. */
static int
hash_bytes(copy_reader *r, const uint8_t *data, size_t len)
{
	int			rc;

	r->bytes += len;
	if ((rc = copy_hash_update(&r->hash, data, len, &r->digest)) < 0)
		return err_set(r->err, r->side, rc, "%s: malformed COPY data from the %s: %s",
					   r->what, err_side_name(r->side), copy_hash_error(&r->hash));
	return 0;
}

/* A whole CopyData message, one row as servers send them: one check and one hash. */
static int
hash_message(copy_reader *r, const uint8_t *data, size_t len)
{
	if (!copy_hash_row(&r->hash, data, len, &r->digest))
		return hash_bytes(r, data, len);
	r->bytes += len;
	return 0;
}

/* Reads the COPY's results through libpq; EmptyQueryResponse is the direct path's resync. */
static int
finish_results(copy_reader *r)
{
	PGresult   *res;
	int			rc = 0;
	int			wait_rc;

	/* the last results may be held up as the rows could be: wait within the stall timeout */
	while ((wait_rc = conn_wait_result(r->conn, r->side, r->what, r->err)) == 0 &&
		   (res = PQgetResult(r->conn)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			r->server_rows = strtoull(PQcmdTuples(res), NULL, 10);
		else if (PQresultStatus(res) != PGRES_EMPTY_QUERY && rc == 0)
			rc = fail(r, res, "could not read from");
		PQclear(res);
	}
	if (wait_rc < 0)
		return wait_rc;
	r->done = true;
	return rc;
}

/* libpq path: moves rows into the sink until it is full or the socket is dry. */
static int
step_libpq(copy_reader *r, io_pipe *sink)
{
	bool		consumed = false;

	for (;;)
	{
		char	   *buf = NULL;
		int			len;
		int			rc;

		if (r->row != NULL)
		{
			if (sink != NULL)
			{
				r->row_off += (int) io_pipe_write(sink, r->row + r->row_off,
												  (size_t) (r->row_len - r->row_off));
				if (r->row_off < r->row_len)
					return 0;	/* the sink is full */
			}
			PQfreemem(r->row);
			r->row = NULL;
		}
		if (r->done || (sink != NULL && io_pipe_space(sink) == 0))
			return 0;

		len = PQgetCopyData(r->conn, &buf, 1);
		if (len > 0)
		{
			consumed = false;
			r->row = buf;
			r->row_len = len;
			r->row_off = 0;
			if ((rc = hash_message(r, (const uint8_t *) buf, (size_t) len)) < 0)
				return rc;
			continue;
		}
		if (len == 0)
		{
			/* Read what the socket already holds before paying for a wait. */
			if (consumed)
				return 0;
			if (!PQconsumeInput(r->conn))
				return fail(r, NULL, "lost the connection to");
			consumed = true;
			continue;
		}
		if (len == -1)
			return finish_results(r);
		return fail(r, NULL, "could not read from");
	}
}

/*
 * Direct path, after ReadyForQuery: libpq still waits for the COPY's
 * results, which it never saw.  An empty query gives it a complete, ordinary
 * response (EmptyQueryResponse, ReadyForQuery) to end on.
 */
static int
resync(copy_reader *r)
{
	static const char empty_query[] = {'Q', 0, 0, 0, 5, 0};
	int			fd = PQsocket(r->conn);
	size_t		sent = 0;

	while (sent < sizeof(empty_query))
	{
		ssize_t		n = send(fd, empty_query + sent, sizeof(empty_query) - sent, MSG_NOSIGNAL);

		if (n > 0)
			sent += (size_t) n;
		else if (n < 0 && errno == EAGAIN)
		{
			struct pollfd pfd = {fd, POLLOUT, 0};

			poll(&pfd, 1, RESYNC_WAIT_MS);
		}
		else if (n < 0 && errno != EINTR)
			return err_set(r->err, r->side, -errno, "%s: lost the connection to %s: %s",
						   r->what, err_side_name(r->side), strerror(errno));
	}
	return finish_results(r);
}

/* Direct path: one backend message of the COPY OUT response other than CopyData. */
static int
on_message(copy_reader *r, const pgwire_event *ev)
{
	switch (ev->type)
	{
		case 'H':				/* CopyOutResponse: its overall format must be ours */
			if (ev->size < 1 || ev->data[0] != (r->text ? 0 : 1))
				return err_set(r->err, r->side, -EPROTO, "%s: the %s answered COPY in an unexpected format",
							   r->what, err_side_name(r->side));
			return 0;
		case 'c':				/* CopyDone */
			return 0;
		case 'C':				/* CommandComplete "COPY n" */
			if (ev->size > 5 && memcmp(ev->data, "COPY ", 5) == 0)
				r->server_rows = strtoull((const char *) ev->data + 5, NULL, 10);
			return 0;
		case 'E':
			{
				char		prefix[768];

				snprintf(prefix, sizeof(prefix), "%s: could not read from %s", r->what,
						 err_side_name(r->side));
				return conn_fail_message(ev->data, ev->size, r->side, r->err, prefix);
			}
		case 'Z':				/* ReadyForQuery: the COPY is over */
			return resync(r);
		case 'N':				/* notices, parameter changes, notifications */
		case 'S':
		case 'A':
			return 0;
		default:
			return err_set(r->err, r->side, -EPROTO, "%s: unexpected message type 0x%02x from the %s",
						   r->what, ev->type, err_side_name(r->side));
	}
}

/* Direct path: one socket read, parsed into the sink until it is full. */
static int
step_direct(copy_reader *r, io_pipe *sink)
{
	bool		read_once = false;

	while (!r->done && (sink == NULL || io_pipe_space(sink) > 0))
	{
		pgwire_event ev;
		int			rc;

		if (r->read_in.pos == r->read_in.size)
		{
			ssize_t		n;

			if (read_once)
				return 0;		/* one read per step: the caller has other work */
			n = recv(PQsocket(r->conn), r->read_buf, READER_BUF_BYTES, MSG_DONTWAIT);
			if (n > 0)
			{
				if ((size_t) n < READER_BATCH_LOW)
					r->pause_us = r->pause_us + READER_PAUSE_STEP_US < READER_PAUSE_MAX_US
						? r->pause_us + READER_PAUSE_STEP_US : READER_PAUSE_MAX_US;
				else if ((size_t) n >= READER_BATCH_HIGH)
					r->pause_us = r->pause_us > READER_PAUSE_STEP_US ? r->pause_us - READER_PAUSE_STEP_US : 0;
				r->read_in = (codec_in) {r->read_buf, (size_t) n, 0};
				read_once = true;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n < 0 && errno == EINTR)
				continue;
			return err_set(r->err, r->side, n == 0 ? -ECONNRESET : -errno,
						   "%s: lost the connection to %s: %s", r->what, err_side_name(r->side),
						   n == 0 ? "the server closed the connection" : strerror(errno));
		}
		rc = pgwire_next(&r->wire, &r->read_in, &ev);
		if (rc == 0)
			continue;
		if (rc < 0)
			return err_set(r->err, r->side, rc, "%s: malformed protocol data from the %s: %s",
						   r->what, err_side_name(r->side), pgwire_error(&r->wire));
		if (ev.kind == PGWIRE_COPY_DATA)
		{
			size_t		taken = sink != NULL ? io_pipe_write(sink, ev.data, ev.size) : ev.size;

			if (taken < ev.size)
				pgwire_unread(&r->wire, &r->read_in, ev.size - taken);
			rc = ev.whole && taken == ev.size ? hash_message(r, ev.data, taken)
				: hash_bytes(r, ev.data, taken);
			if (rc < 0)
				return rc;
			continue;
		}
		if ((rc = on_message(r, &ev)) < 0)
			return rc;
	}
	return 0;
}

int
copy_reader_step(copy_reader *r, io_pipe *sink)
{
	uint64_t	before = r->bytes;
	int			rc = r->direct ? step_direct(r, sink) : step_libpq(r, sink);

	/*
	 * The source's load is what --max-rate caps: the COPY bytes it sent,
	 * charged once per step (one socket read, or what libpq held), never
	 * per row.  A target's reader (verify) is not charged.
	 */
	if (rc == 0 && r->side == SIDE_SOURCE && r->bytes > before)
		(void) rate_limit_wait(r->bytes - before, r->stop);
	return rc;
}

bool
copy_reader_wants_socket(const copy_reader *r, const io_pipe *sink)
{
	return !r->done && r->row == NULL && !copy_reader_has_buffered(r) &&
		(sink == NULL || io_pipe_space(sink) > 0);
}

unsigned
copy_reader_pause_us(const copy_reader *r)
{
	return r->direct ? r->pause_us : 0;
}

bool
copy_reader_has_buffered(const copy_reader *r)
{
	return r->direct && r->read_in.pos < r->read_in.size;
}

int
copy_reader_finish(copy_reader *r)
{
	int			rc;

	if ((rc = copy_hash_finish(&r->hash)) < 0)
		return err_set(r->err, r->side, rc, "%s: malformed COPY data from the %s: %s",
					   r->what, err_side_name(r->side), copy_hash_error(&r->hash));
	if (r->server_rows != r->digest.rows)
		return err_set(r->err, SIDE_LOCAL, -EPROTO,
					   "%s: the %s sent %llu rows but %llu were hashed", r->what,
					   err_side_name(r->side), (unsigned long long) r->server_rows,
					   (unsigned long long) r->digest.rows);
	return 0;
}

int
copy_reader_loop_create(io_loop **loop, io_loop_kind kind, int worker, atomic_int *fallback_said,
				   char *backend, size_t backendlen, sl_err *err)
{
	char		why[256];
	int			rc;

	if ((rc = io_loop_create(loop, kind, why, sizeof(why))) < 0)
		return err_set(err, SIDE_LOCAL, rc, "could not set up io_uring for worker %d: %s", worker,
					   strerror(-rc));
	if (worker == 1)
		snprintf(backend, backendlen, "%s", io_loop_backend(*loop));
	if (why[0] != '\0' && atomic_exchange(fallback_said, 1) == 0)
		log_warning("io_uring is not available (%s); using poll()", why);
	return 0;
}
