/*
 * conn.h: libpq connections as the engine uses them.
 *
 * Every connection is opened with TCP keepalives and a connect timeout (unless
 * the connection string sets its own), application_name "pgsluice", and the
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
 */
#ifndef PGSLUICE_ENGINE_CONN_H
#define PGSLUICE_ENGINE_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/err.h"
#include "engine/sbuf.h"

typedef struct conn_settings
{
	const char *client_encoding;	/* NULL: leave the server's default */
	int			target;			/* nonzero: a target session (asynchronous commit) */
} conn_settings;

/*
 * Opens a connection.  The error names the side and libpq's cause.
 * Returns 0 or a negative errno.
 */
int			conn_open(PGconn **out, const char *conninfo, sl_side side,
					  const conn_settings *settings, sl_err *err);

void		conn_close(PGconn **conn);

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

/* Server major version (e.g. 15) of an open connection. */
int			conn_major_version(const PGconn *conn);

#endif
