/*
 * conn.h: libpq connections as the engine uses them.
 *
 * Every connection is opened with TCP keepalives, a connect timeout and a TCP
 * user timeout (unless the connection string sets its own), application_name
 * "pgsluice", and the
 * same session settings on both sides, so that text output of one side is
 * input the other side reads back exactly: ISO dates in UTC, extra float
 * digits, the source database's encoding as client encoding, and row security
 * off, so that a policy can never hide rows silently (it raises an error).
 * Every session runs with an empty search_path, set before any other
 * statement and again at the start of every chunk's transaction (code of the
 * database that runs in the session, a target's trigger or CHECK constraint
 * during COPY FROM, may change it): no unqualified name resolves to anything a
 * database user could have planted, and every SQL text pgsluice writes names
 * pg_catalog's functions and operators where they meet a user's types.
 *
 * Errors from libpq span several lines; they are folded into one line, and no
 * connection string is ever printed unredacted.
 *
 * The stall timeout: a chunk's connection that moves no byte in either
 * direction for that long while a statement or a COPY is in flight is
 * given up (conn_fail_stall): its statement is cancelled, its socket shut
 * down, and the error is a lost connection (SQLSTATE 08006), which the
 * scheduler retries on new connections.  conn_run and conn_wait_result
 * are the chunk path's blocking calls made to honour it; the copy loops
 * keep their own stall clocks (io/stall.h).
 */
#ifndef PGSLUICE_ENGINE_CONN_H
#define PGSLUICE_ENGINE_CONN_H

#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "base/err.h"
#include "io/stall.h"

#define CONN_STALL_DEFAULT_SECONDS 60

/*
 * What every session sets first (conn_open says why): values print alike
 * on both sides, and no name resolves to an object a user created.  A
 * repair's SQL file (engine/repair.h) sets the same.
 */
#define CONN_SESSION_SETTINGS \
	"SET search_path = ''; SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; " \
	"SET extra_float_digits = 3; SET timezone = 'UTC'; SET row_security = off; " \
	"SET statement_timeout = 0; SET lock_timeout = 0; " \
	"SET idle_in_transaction_session_timeout = 0; SET bytea_output = 'hex'"

typedef struct conn_settings
{
	const char *client_encoding;	/* NULL: leave the server's default */
	int			target;			/* nonzero: a target session (asynchronous commit) */
	int			replication;	/* nonzero: a logical replication connection (replication=database) */
} conn_settings;

/*
 * Opens a connection.  The error names the side and libpq's cause.
 * Returns 0 or a negative errno.
 */
int			conn_open(PGconn **out, const char *conninfo, sl_side side,
					  const conn_settings *settings, sl_err *err);

void		conn_close(PGconn **conn);

/*
 * Sets the stall timeout in seconds (0: off), once, before any connection
 * opens or thread starts; it also sets the TCP user timeout of the
 * connections opened after it (conn_tcp_user_timeout_ms).
 */
void		conn_set_stall_timeout(int seconds);
int			conn_stall_timeout(void);

/* The tcp_user_timeout, in milliseconds, that goes with a stall timeout. */
int			conn_tcp_user_timeout_ms(int stall_seconds);

/*
 * Runs sql (with nparams text parameters when nparams > 0) as PQexec and
 * PQexecParams do, but never waits past the stall timeout for a connection
 * that moves nothing.  Returns 0 with *res the result to look at, as
 * PQexec's (the first that failed, else the last; one of COPY IN or OUT
 * ends the wait), to be PQclear()ed; or a negative errno with err set and
 * *res NULL (a stall, a lost connection).
 */
int			conn_run(PGconn *conn, sl_side side, const char *sql, int nparams,
					 const char *const *params, PGresult **res, sl_err *err);

/*
 * A query with nparams text parameters through conn_run, whose result must
 * be rows: 0 with *res to PQclear, or a negative errno with err set from
 * the server's message after what ("could not read the source's slots").
 */
int			conn_query_params(PGconn *conn, sl_side side, const char *sql, int nparams,
							  const char *const *params, PGresult **res, const char *what, sl_err *err);

/* conn_exec through conn_run: for the statements of a chunk's connection. */
int			conn_exec_watched(PGconn *conn, sl_side side, const char *sql, sl_err *err);

/*
 * Waits until PQgetResult(conn) can return without blocking, sending what
 * libpq still holds when conn is non-blocking, within the stall timeout.
 * what names the work for messages.  Returns 0 or a negative errno.
 */
int			conn_wait_result(PGconn *conn, sl_side side, const char *what, sl_err *err);

/*
 * Gives up a connection that moved no byte for the stall timeout: cancels
 * its statement (when the server can be reached), shuts its socket down,
 * so that closing it never waits, and sets err: what, the side and the
 * seconds, as a transient failure.  The caller still closes conn.
 */
int			conn_fail_stall(PGconn *conn, sl_side side, const char *what, sl_err *err);

/*
 * stall_clock_end for conn's socket, and then a look at the server: a
 * backend still working on the statement (a lock wait, a long COMMIT) is
 * not stalled, and its clock starts again.  True: give conn up.
 */
bool		conn_stall_check(PGconn *conn, sl_side side, stall_clock *clock, bool ready, double now);

/* True when err is a connection given up for moving nothing (or timed out by the kernel). */
static inline bool
conn_err_stalled(const sl_err *err)
{
	return err->code == -ETIMEDOUT && (err->side == SIDE_SOURCE || err->side == SIDE_TARGET);
}

/*
 * The session of a connection given up for a stall, to be ended over the
 * next connection to its server.  A backend blocked on its socket does not
 * act on a cancel, and keeps its locks (a chunk's record, the source
 * tables) and its snapshot until its server notices that the client is
 * gone, which may take hours.
 */
typedef struct conn_stalled
{
	int			pid;			/* its backend; 0: none */
	sl_side		side;
	double		at;				/* when it was given up (stall_clock_now) */
} conn_stalled;

/* After a failed attempt: when err is a stall, keeps the pid of the side that stalled. */
void		conn_stalled_keep(conn_stalled *s, const sl_err *err, int source_pid, int target_pid);

/*
 * Over conn, a new connection to side: ends the kept session, if it is on
 * side, and forgets it.  Failures are only logged: the new attempt goes on.
 */
void		conn_stalled_end(conn_stalled *s, PGconn *conn, sl_side side);

/*
 * A copy of conninfo (keywords or a URI) naming dbname instead of its own
 * database, as "keyword='value' ..." (malloc()ed).  0, -EINVAL when
 * conninfo does not parse, or -ENOMEM.
 */
int			conn_info_with_dbname(const char *conninfo, const char *dbname, char **out);

/*
 * Ends the transaction open on conn: COMMIT when rc is 0, else ROLLBACK,
 * keeping rc and the error that caused it.  Returns the COMMIT's result, or rc.
 */
int			conn_end_transaction(PGconn *conn, sl_side side, int rc, sl_err *err);

/* Runs a statement that returns no rows. */
int			conn_exec(PGconn *conn, sl_side side, const char *sql, sl_err *err);

/* Runs a query; *res holds PGRES_TUPLES_OK rows, to be PQclear()ed. */
int			conn_query(PGconn *conn, sl_side side, const char *sql, PGresult **res, sl_err *err);

/*
 * Sets err from a failed result (or from the connection when res is NULL):
 * the server's message on one line, with its detail and SQLSTATE.
 * prefix says what was being done ("could not copy chunk 3 of ...").
 */
int			conn_fail(PGconn *conn, const PGresult *res, sl_side side, sl_err *err,
					  const char *prefix);

/*
 * Sets err from an ErrorResponse payload read off the wire (the direct COPY
 * path): message, detail and SQLSTATE, after prefix.
 */
int			conn_fail_message(const uint8_t *payload, size_t size, sl_side side, sl_err *err,
							  const char *prefix);

/* Folds a multi-line libpq message into one line, in place; returns msg. */
char	   *conn_one_line(char *msg);

/*
 * Writes conninfo with any password replaced by "********" as
 * keyword=value pairs (URIs too).  Returns 0, or -EINVAL when libpq cannot
 * parse it (out then says so, without echoing it).
 */
int			conn_redact(const char *conninfo, char *out, size_t outlen);

/*
 * Splits conninfo into a connection string without the password, for a child
 * process's command line (visible in ps), and the password (NULL when none),
 * for its environment.  Both are malloc()ed.  Returns 0 or -EINVAL/-ENOMEM.
 */
int			conn_split_password(const char *conninfo, char **without, char **password);

/*
 * Opens a read-only REPEATABLE READ transaction at snapshot (exported by
 * another session); does nothing when snapshot is NULL.
 */
int			conn_import_snapshot(PGconn *conn, sl_side side, const char *snapshot, sl_err *err);

/*
 * Opens a read-only REPEATABLE READ transaction and exports its snapshot,
 * whose name goes into out; the snapshot lives as long as the transaction.
 */
int			conn_export_snapshot(PGconn *conn, sl_side side, char *out, size_t outlen, sl_err *err);

/* True when TLS or GSS encrypts the connection (the direct COPY path cannot read it). */
bool		conn_encrypted(PGconn *conn);

/* Runs the query built in sql, then frees sql; a buffer that ran out of memory gives -ENOMEM. */
int			conn_query_sbuf(PGconn *conn, sl_side side, sbuf *sql, PGresult **res, sl_err *err);

/* Appends str as an SQL string literal (PQescapeLiteral); a failure marks buf failed. */
void		conn_append_literal(sbuf *buf, PGconn *conn, const char *str);

/* The same for an identifier, quoted as PQescapeIdentifier quotes it. */
void		conn_append_ident(sbuf *buf, PGconn *conn, const char *name);

/* Server major version (e.g. 15) of an open connection. */
int			conn_major_version(const PGconn *conn);

#endif
