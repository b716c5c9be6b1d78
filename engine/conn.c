/*
 * conn.c: opening, configuring and querying libpq connections.  See conn.h.
 */
#include "engine/conn.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "codec/pgwire.h"
#include "engine/log.h"
#include "io/stall.h"

/*
 * With the stall timeout off, the TCP user timeout still keeps data that
 * the peer never acknowledges from holding a connection for the kernel's
 * 15 minutes of retransmissions: 5 minutes is far beyond any pause of a
 * live network, and short enough to be noticed.
 */
#define USER_TIMEOUT_OFF_MS (300 * 1000)

/* Defaults added to every connection string unless it sets them itself. */
static const char *const default_keys[] = {
	"application_name", "connect_timeout", "keepalives", "keepalives_idle",
	"keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL
};
static const char *const default_values[] = {
	"pgsluice", "5", "1", "30", "10", "3", NULL /* conn_tcp_user_timeout_ms */ , NULL
};

/* Set once by the CLI before any thread starts; read-only afterwards. */
static int	stall_seconds = CONN_STALL_DEFAULT_SECONDS;

void
conn_set_stall_timeout(int seconds)
{
	stall_seconds = seconds > 0 ? seconds : 0;
}

int
conn_stall_timeout(void)
{
	return stall_seconds;
}

/*
 * The TCP user timeout is how long transmitted data may stay unacknowledged
 * before the kernel drops the connection (ETIMEDOUT), which keepalives alone
 * do not bound while data is in flight.  Tied to the stall timeout: a
 * connection whose peer acknowledges nothing for that long has moved no
 * byte for that long, so the kernel gives up no connection that the stall
 * timeout would have kept; and an idle connection (a control session
 * waiting on a long statement) has no data in flight, so it is not
 * touched.  libpq applies it to TCP connections only, from libpq 12.
 */
int
conn_tcp_user_timeout_ms(int stall)
{
	return stall > 0 ? stall * 1000 : USER_TIMEOUT_OFF_MS;
}

/*
 * A server's notices go to the log, not to libpq's stderr: a WARNING as a
 * warning, the rest (NOTICE, INFO, DEBUG: "schema ... already exists,
 * skipping" and the like) only with -v.  arg is the side's name.
 */
static void
notice_to_log(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (message == NULL)
		return;
	if (severity != NULL && strcmp(severity, "WARNING") == 0)
		log_warning("%s: %s", (const char *) arg, message);
	else
		log_verbose("%s: %s: %s", (const char *) arg, severity != NULL ? severity : "NOTICE", message);
}

char *
conn_one_line(char *msg)
{
	char	   *out = msg;
	bool		space = false;

	for (const char *in = msg; *in != '\0'; in++)
	{
		if (isspace((unsigned char) *in))
		{
			space = out != msg;
			continue;
		}
		if (space)
			*out++ = ' ';
		space = false;
		*out++ = *in;
	}
	*out = '\0';
	return msg;
}

int
conn_fail(PGconn *conn, const PGresult *res, sl_side side, sl_err *err, const char *prefix)
{
	char		msg[SL_ERR_MSG_MAX];
	const char *detail = NULL;
	const char *sqlstate = NULL;

	if (res != NULL && PQresultErrorMessage(res)[0] != '\0')
	{
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(msg, sizeof(msg), "%s", primary ? primary : PQresultErrorMessage(res));
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	}
	else
		snprintf(msg, sizeof(msg), "%s", conn != NULL ? PQerrorMessage(conn) : "out of memory");
	conn_one_line(msg);
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "unknown error");
	if (!err_is_set(err))
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate
				 : conn != NULL && PQstatus(conn) == CONNECTION_BAD ? "08006" : "");
	return err_set(err, side, -EIO, "%s: %s%s%s%s%s%s", prefix, msg,
				   detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
				   sqlstate ? " SQLSTATE " : "", sqlstate ? sqlstate : "");
}

int
conn_fail_message(const uint8_t *payload, size_t size, sl_side side, sl_err *err, const char *prefix)
{
	char		message[1024] = "unknown error";
	char		detail[1024] = "";
	char		sqlstate[8] = "";

	pgwire_error_field(payload, size, 'M', message, sizeof(message));
	pgwire_error_field(payload, size, 'D', detail, sizeof(detail));
	pgwire_error_field(payload, size, 'C', sqlstate, sizeof(sqlstate));
	if (!err_is_set(err))
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
	return err_set(err, side, -EIO, "%s: %s%s%s%s%s%s", prefix, conn_one_line(message),
				   detail[0] ? " (" : "", conn_one_line(detail), detail[0] ? ")" : "",
				   sqlstate[0] ? " SQLSTATE " : "", sqlstate);
}

int
conn_open(PGconn **out, const char *conninfo, sl_side side,
		  const conn_settings *settings, sl_err *err)
{
	const char *keys[16];
	const char *values[16];
	char		user_timeout[16];
	int			n = 0;
	PQconninfoOption *parsed;
	char	   *perr = NULL;
	PGconn	   *conn;
	sbuf		sql;
	int			rc;

	*out = NULL;
	parsed = PQconninfoParse(conninfo, &perr);
	if (parsed == NULL)
	{
		char		why[512];

		snprintf(why, sizeof(why), "%s", perr ? perr : "out of memory");
		PQfreemem(perr);
		return err_set(err, SIDE_USAGE, -EINVAL, "invalid %s connection string: %s",
					   err_side_name(side), conn_one_line(why));
	}
	/* "dbname" first with expand_dbname: the whole string is parsed by libpq */
	keys[n] = "dbname";
	values[n++] = conninfo;
	snprintf(user_timeout, sizeof(user_timeout), "%d", conn_tcp_user_timeout_ms(stall_seconds));
	for (int i = 0; default_keys[i] != NULL; i++)
	{
		bool		given = false;

		for (PQconninfoOption *opt = parsed; opt->keyword != NULL; opt++)
			if (strcmp(opt->keyword, default_keys[i]) == 0 && opt->val != NULL)
				given = true;
		if (!given)
		{
			keys[n] = default_keys[i];
			values[n++] = default_values[i] != NULL ? default_values[i] : user_timeout;
		}
	}
	if (settings != NULL && settings->replication)
	{
		keys[n] = "replication";
		values[n++] = "database";
	}
	keys[n] = NULL;
	values[n] = NULL;
	PQconninfoFree(parsed);

	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		char		msg[SL_ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return err_set(err, side, -ECONNREFUSED, "could not connect to %s: %s",
					   err_side_name(side), conn_one_line(msg));
	}

	PQsetNoticeReceiver(conn, notice_to_log, (void *) err_side_name(side));
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	/*
	 * search_path first, before anything else runs: with it empty, no name in
	 * any statement of this session resolves to an object a database user can
	 * create (pg_catalog is searched implicitly; the session's own pg_temp, for
	 * relations and types only, holds nothing of ours), so an operator or
	 * function planted in public for a key's type is never called with our
	 * privileges (CVE-2018-1058; pg_dump has done this since 2018).  A role's or
	 * database's own search_path setting is overridden here too.
	 */
	sbuf_append(&sql, CONN_SESSION_SETTINGS);

	/*
	 * The catalog's recursive queries are estimated far above jit_above_cost,
	 * and compiling them takes half a second, many times what running them
	 * does; the chunk scans gain nothing from it either.
	 */
	if (PQserverVersion(conn) >= 110000)
		sbuf_append(&sql, "; SET jit = off");
	if (settings != NULL && settings->client_encoding != NULL)
	{
		char	   *lit = PQescapeLiteral(conn, settings->client_encoding,
										  strlen(settings->client_encoding));

		sbuf_printf(&sql, "; SET client_encoding = %s", lit ? lit : "''");
		PQfreemem(lit);
	}
	if (settings != NULL && settings->target)
		sbuf_append(&sql, "; SET synchronous_commit = off");
	rc = conn_exec_watched(conn, side, sbuf_str(&sql), err);
	sbuf_fini(&sql);
	if (rc < 0)
	{
		PQfinish(conn);
		return rc;
	}
	*out = conn;
	return 0;
}

void
conn_close(PGconn **conn)
{
	if (*conn != NULL)
		PQfinish(*conn);
	*conn = NULL;
}

/* Sets err for a statement that failed, naming the side and the statement's start. */
static int
statement_failed(PGconn *conn, const PGresult *res, sl_side side, const char *sql, sl_err *err)
{
	char		prefix[160];

	snprintf(prefix, sizeof(prefix), "%s query failed (%.80s%s)", err_side_name(side), sql,
			 strlen(sql) > 80 ? "..." : "");
	conn_one_line(prefix);
	return conn_fail(conn, res, side, err, prefix);
}

int
conn_exec(PGconn *conn, sl_side side, const char *sql, sl_err *err)
{
	PGresult   *res = PQexec(conn, sql);
	int			rc = 0;

	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
						PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = statement_failed(conn, res, side, sql, err);
	PQclear(res);
	return rc;
}

int
conn_query(PGconn *conn, sl_side side, const char *sql, PGresult **out, sl_err *err)
{
	PGresult   *res = PQexec(conn, sql);
	int			rc;

	*out = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		rc = statement_failed(conn, res, side, sql, err);
		PQclear(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* A cancel request on its own thread: the worker must not wait for a server it cannot reach. */
static void *
cancel_main(void *arg)
{
	PGcancel   *cancel = arg;
	char		why[256];

	log_set_thread("cancel");
	if (!PQcancel(cancel, why, sizeof(why)))
		log_verbose("could not cancel a stalled statement: %s", conn_one_line(why));
	PQfreeCancel(cancel);
	return NULL;
}

#define PROBE_SECONDS 5			/* a probe's connection and query, at most */

/*
 * True when the server is still working on conn's statement: its backend,
 * seen from a session of the probe's own (the same connection options),
 * is active and waits for nothing of its client's: a lock, a long COMMIT's
 * fsync, a scan through dead rows before the first row.  A backend that
 * waits to read from or write to its client, or a server the probe cannot
 * reach or ask within PROBE_SECONDS, is not: that is a stall.
 */
static bool
server_busy(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn);
	const char *keys[64];
	const char *values[64];
	char		pid[16];
	const char *params[1] = {pid};
	PGconn	   *probe = NULL;
	PGresult   *res;
	bool		busy = false;
	double		deadline = clock_seconds() + PROBE_SECONDS;
	int			n = 0;

	if (opts == NULL)
		return false;
	for (PQconninfoOption *o = opts; o->keyword != NULL && n < 62; o++)
		if (o->val != NULL && o->val[0] != '\0' && strcmp(o->keyword, "connect_timeout") != 0)
		{
			keys[n] = o->keyword;
			values[n++] = o->val;
		}
	keys[n] = "connect_timeout";
	values[n++] = "5";
	keys[n] = NULL;
	values[n] = NULL;
	probe = PQconnectdbParams(keys, values, 0);
	PQconninfoFree(opts);
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(conn));
	if (PQstatus(probe) != CONNECTION_OK || PQsetnonblocking(probe, 1) != 0 ||
		!PQsendQueryParams(probe, "SELECT a.state = 'active'"
						   " AND a.wait_event IS DISTINCT FROM 'ClientRead'"
						   " AND a.wait_event IS DISTINCT FROM 'ClientWrite'"
						   " FROM pg_catalog.pg_stat_activity a WHERE a.pid = $1::pg_catalog.int4",
						   1, NULL, params, NULL, NULL, 0))
		goto done;
	while (PQflush(probe) > 0 || PQisBusy(probe))
	{
		struct pollfd pfd = {PQsocket(probe), POLLIN | POLLOUT, 0};
		double		left = deadline - clock_seconds();

		if (left <= 0 || poll(&pfd, 1, (int) (left * 1000.0) + 1) < 0 || !PQconsumeInput(probe))
			goto done;
	}
	while ((res = PQgetResult(probe)) != NULL)
	{
		busy |= PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
done:
	PQfinish(probe);
	return busy;
}

bool
conn_stall_check(PGconn *conn, sl_side side, stall_clock *clock, bool ready, double now)
{
	if (!stall_clock_end(clock, ready, now))
		return false;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK || !server_busy(conn))
		return true;
	log_verbose("the %s has said nothing for %d s but is still working on the statement (a lock wait, "
				"a long COMMIT, a scan before the first row): waiting on", err_side_name(side),
				stall_seconds);
	/* a full timeout more before the next look */
	stall_clock_begin(clock, false, clock->progress, now);
	stall_clock_begin(clock, true, clock->progress, now);
	return false;
}

int
conn_fail_stall(PGconn *conn, sl_side side, const char *what, sl_err *err)
{
	PGcancel   *cancel = PQgetCancel(conn);
	pthread_attr_t attr;
	pthread_t	thread;

	/*
	 * The cancel request goes over a new connection, which a partitioned
	 * network may hold up for minutes: it runs on a detached thread of its
	 * own.  A backend blocked on its socket does not act on a cancel (only
	 * on pg_terminate_backend, see conn_stalled_end); one running a
	 * statement does, and lets go of its locks.
	 */
	if (cancel != NULL)
	{
		bool		started = false;

		if (pthread_attr_init(&attr) == 0)
		{
			started = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
				pthread_create(&thread, &attr, cancel_main, cancel) == 0;
			pthread_attr_destroy(&attr);
		}
		if (!started)
			PQfreeCancel(cancel);
	}
	/* closing sends Terminate, which would wait for a socket that takes nothing */
	if (PQsocket(conn) >= 0)
		shutdown(PQsocket(conn), SHUT_RDWR);
	if (!err_is_set(err))
		snprintf(err->sqlstate, sizeof(err->sqlstate), "08006");
	return err_set(err, side, -ETIMEDOUT, "%s: no byte moved on the %s connection for %d s: gave it up "
				   "(--stall-timeout)", what, err_side_name(side), stall_seconds);
}

int
conn_wait_result(PGconn *conn, sl_side side, const char *what, sl_err *err)
{
	stall_clock clock;
	bool		nonblocking = PQisnonblocking(conn);

	stall_clock_init(&clock, stall_seconds);
	for (;;)
	{
		int			flushed = nonblocking ? PQflush(conn) : 0;
		struct pollfd pfd;
		int			timeout_ms = -1;
		double		now;
		int			n;

		if (flushed < 0)
			return conn_fail(conn, NULL, side, err, what);
		if (flushed == 0 && !PQisBusy(conn))
			return 0;
		now = clock_seconds();
		stall_clock_begin(&clock, true, 0, now);
		if (stall_seconds > 0)
		{
			/* what is left of the timeout, rounded up */
			timeout_ms = (int) ((clock.since + stall_seconds - now) * 1000.0) + 1;
			if (timeout_ms < 1)
				timeout_ms = 1;
		}
		pfd = (struct pollfd) {PQsocket(conn), (short) (POLLIN | (flushed > 0 ? POLLOUT : 0)), 0};
		if (pfd.fd < 0)
			return conn_fail(conn, NULL, side, err, what);
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			return err_set(err, SIDE_LOCAL, -errno, "%s: waiting for the %s failed: %s", what,
						   err_side_name(side), strerror(errno));
		if (conn_stall_check(conn, side, &clock, n > 0, clock_seconds()))
			return conn_fail_stall(conn, side, what, err);
		if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(conn))
			return conn_fail(conn, NULL, side, err, what);
	}
}

int
conn_run(PGconn *conn, sl_side side, const char *sql, int nparams, const char *const *params,
		 PGresult **out, sl_err *err)
{
	char		what[160];
	bool		was_blocking = !PQisnonblocking(conn);
	PGresult   *keep = NULL;
	PGresult   *res;
	int			rc = 0;

	*out = NULL;
	snprintf(what, sizeof(what), "%s query (%.80s%s)", err_side_name(side), sql,
			 strlen(sql) > 80 ? "..." : "");
	conn_one_line(what);
	/* non-blocking, so that sending the statement cannot wait past the timeout either */
	if (was_blocking && PQsetnonblocking(conn, 1) != 0)
		return statement_failed(conn, NULL, side, sql, err);
	if (!(nparams > 0 ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
		  : PQsendQuery(conn, sql)))
		rc = statement_failed(conn, NULL, side, sql, err);
	while (rc == 0 && (rc = conn_wait_result(conn, side, what, err)) == 0 &&
		   (res = PQgetResult(conn)) != NULL)
	{
		ExecStatusType status = PQresultStatus(res);

		/* as PQexec: the first failure is the one to report, else the last result */
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR)
			PQclear(res);
		else
		{
			PQclear(keep);
			keep = res;
		}
		if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
			break;
	}
	if (rc == 0 && keep == NULL)
		rc = statement_failed(conn, NULL, side, sql, err);
	if (rc == 0 && was_blocking && PQsetnonblocking(conn, 0) != 0)
		rc = statement_failed(conn, NULL, side, sql, err);
	if (rc < 0)
	{
		PQclear(keep);
		return rc;
	}
	*out = keep;
	return 0;
}

int
conn_exec_watched(PGconn *conn, sl_side side, const char *sql, sl_err *err)
{
	PGresult   *res;
	int			rc = conn_run(conn, side, sql, 0, NULL, &res, err);

	if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = statement_failed(conn, res, side, sql, err);
	PQclear(res);
	return rc;
}

void
conn_stalled_keep(conn_stalled *s, const sl_err *err, int source_pid, int target_pid)
{
	if (!conn_err_stalled(err))
		return;
	s->side = err->side;
	s->pid = err->side == SIDE_SOURCE ? source_pid : target_pid;
	s->at = clock_seconds();
}

void
conn_stalled_end(conn_stalled *s, PGconn *conn, sl_side side)
{
	char		pid_text[16];
	char		before[32];
	const char *params[2] = {pid_text, before};
	PGresult   *res = NULL;
	sl_err		err;

	if (s->pid == 0 || s->side != side || conn == NULL)
		return;
	/*
	 * Only a backend of this user and database that began before the
	 * connection was given up: once the stalled backend is gone its pid may
	 * go to another session, which begins after it.  (It was silent for the
	 * whole stall timeout before; the margin is not used, so that the
	 * server's clock, read at its transaction's start, cannot miss it.)
	 */
	snprintf(pid_text, sizeof(pid_text), "%d", s->pid);
	snprintf(before, sizeof(before), "%.3f", clock_seconds() - s->at);
	err_clear(&err);
	if (conn_run(conn, side, "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity"
				 " WHERE pid = $1::int AND usename = CURRENT_USER AND datname = pg_catalog.current_database()"
				 " AND backend_start < pg_catalog.now() - pg_catalog.make_interval(secs => $2::float8)",
				 2, params, &res, &err) < 0 || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (!err_is_set(&err))
			conn_fail(conn, res, side, &err, "query failed");
		log_verbose("could not end the %s's stalled session (pid %d): %s", err_side_name(side), s->pid,
					err.msg);
	}
	else if (PQntuples(res) == 1)
		log_verbose("ended the %s's stalled session (pid %d)", err_side_name(side), s->pid);
	PQclear(res);
	s->pid = 0;
}

/* Appends value in single quotes with \ and ' escaped, as libpq's parser reads them. */
static void
append_conninfo_value(sbuf *buf, const char *value)
{
	sbuf_append(buf, "'");
	for (const char *p = value; *p != '\0'; p++)
	{
		if (*p == '\'' || *p == '\\')
			sbuf_appendn(buf, "\\", 1);
		sbuf_appendn(buf, p, 1);
	}
	sbuf_append(buf, "'");
}

/* Rebuilds conninfo as keyword=value pairs; the password goes to *password. */
static int
rebuild_conninfo(const char *conninfo, const char *password_mask, char **out, char **password)
{
	PQconninfoOption *parsed;
	char	   *perr = NULL;
	sbuf		buf;

	*out = NULL;
	if (password != NULL)
		*password = NULL;
	parsed = PQconninfoParse(conninfo, &perr);
	if (parsed == NULL)
	{
		PQfreemem(perr);
		return -EINVAL;
	}
	sbuf_init(&buf, SBUF_DEFAULT_CAP);
	for (PQconninfoOption *opt = parsed; opt->keyword != NULL; opt++)
	{
		bool		is_password = strcmp(opt->keyword, "password") == 0;

		if (opt->val == NULL || (is_password && password_mask == NULL && password == NULL))
			continue;
		if (is_password && password != NULL)
		{
			*password = strdup(opt->val);
			continue;
		}
		if (buf.len > 0)
			sbuf_append(&buf, " ");
		sbuf_printf(&buf, "%s=", opt->keyword);
		append_conninfo_value(&buf, is_password ? password_mask : opt->val);
	}
	PQconninfoFree(parsed);
	if (sbuf_failed(&buf))
	{
		sbuf_fini(&buf);
		return -ENOMEM;
	}
	*out = sbuf_take(&buf);
	return 0;
}

int
conn_info_with_dbname(const char *conninfo, const char *dbname, char **out)
{
	PQconninfoOption *parsed;
	char	   *perr = NULL;
	sbuf		buf;

	*out = NULL;
	if ((parsed = PQconninfoParse(conninfo, &perr)) == NULL)
	{
		PQfreemem(perr);
		return -EINVAL;
	}
	sbuf_init(&buf, SBUF_DEFAULT_CAP);
	sbuf_append(&buf, "dbname=");
	append_conninfo_value(&buf, dbname);
	for (PQconninfoOption *opt = parsed; opt->keyword != NULL; opt++)
	{
		if (opt->val == NULL || strcmp(opt->keyword, "dbname") == 0)
			continue;
		sbuf_printf(&buf, " %s=", opt->keyword);
		append_conninfo_value(&buf, opt->val);
	}
	PQconninfoFree(parsed);
	if (sbuf_failed(&buf))
	{
		sbuf_fini(&buf);
		return -ENOMEM;
	}
	*out = sbuf_take(&buf);
	return 0;
}

int
conn_redact(const char *conninfo, char *out, size_t outlen)
{
	char	   *redacted = NULL;
	int			rc = rebuild_conninfo(conninfo, "********", &redacted, NULL);

	if (rc < 0)
		snprintf(out, outlen, "(unparsable connection string)");
	else
		snprintf(out, outlen, "%s", redacted);
	free(redacted);
	return rc;
}

int
conn_split_password(const char *conninfo, char **without, char **password)
{
	return rebuild_conninfo(conninfo, NULL, without, password);
}

int
conn_import_snapshot(PGconn *conn, sl_side side, const char *snapshot, sl_err *err)
{
	sbuf		sql;
	char	   *lit;
	int			rc;

	if (snapshot == NULL)
		return 0;
	lit = PQescapeLiteral(conn, snapshot, strlen(snapshot));
	if (lit == NULL)
		return conn_fail(conn, NULL, side, err, "could not quote the snapshot name");
	sbuf_init(&sql, 1024);
	sbuf_printf(&sql, "SET search_path = ''; BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
				"SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	rc = conn_exec_watched(conn, side, sbuf_str(&sql), err);
	sbuf_fini(&sql);
	return rc;
}

int
conn_export_snapshot(PGconn *conn, sl_side side, char *out, size_t outlen, sl_err *err)
{
	PGresult   *res;
	int			rc;

	if ((rc = conn_exec(conn, side, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err)) < 0 ||
		(rc = conn_query(conn, side, "SELECT pg_catalog.pg_export_snapshot()", &res, err)) < 0)
		return rc;
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

bool
conn_encrypted(PGconn *conn)
{
	return PQsslInUse(conn) || PQgssEncInUse(conn);
}

int
conn_major_version(const PGconn *conn)
{
	return PQserverVersion(conn) / 10000;
}

void
conn_append_literal(sbuf *buf, PGconn *conn, const char *str)
{
	char	   *lit = PQescapeLiteral(conn, str, strlen(str));

	if (lit == NULL)
		buf->failed = true;
	else
		sbuf_append(buf, lit);
	PQfreemem(lit);
}

int
conn_end_transaction(PGconn *conn, sl_side side, int rc, sl_err *err)
{
	sl_err		ignored;

	if (rc == 0)
		return conn_exec(conn, side, "COMMIT", err);
	err_clear(&ignored);
	(void) conn_exec(conn, side, "ROLLBACK", &ignored);
	return rc;
}

void
conn_append_ident(sbuf *buf, PGconn *conn, const char *name)
{
	char	   *ident = PQescapeIdentifier(conn, name, strlen(name));

	if (ident == NULL)
		buf->failed = true;
	else
		sbuf_append(buf, ident);
	PQfreemem(ident);
}

int
conn_query_params(PGconn *conn, sl_side side, const char *sql, int nparams, const char *const *params,
				  PGresult **res, const char *what, sl_err *err)
{
	int			rc;

	if ((rc = conn_run(conn, side, sql, nparams, params, res, err)) < 0)
		return rc;
	if (PQresultStatus(*res) != PGRES_TUPLES_OK)
	{
		rc = conn_fail(conn, *res, side, err, what);
		PQclear(*res);
		*res = NULL;
	}
	return rc;
}

int
conn_query_sbuf(PGconn *conn, sl_side side, sbuf *sql, PGresult **res, sl_err *err)
{
	int			rc;

	if (sbuf_failed(sql))
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory building a query");
	else
		rc = conn_query(conn, side, sbuf_str(sql), res, err);
	sbuf_fini(sql);
	return rc;
}
