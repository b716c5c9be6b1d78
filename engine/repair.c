/*
 * repair.c: one chunk's rows replaced, or the chunk re-copied, in one
 * target transaction, or the same statements written to a file.  See
 * repair.h.
 *
 * Every tuple named here came from the servers as "ctid:xmin" and is
 * checked to hold only digits, parentheses, commas and a colon before it
 * goes into an array literal.
 */
#include "engine/repair.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/plan.h"
#include "engine/stop.h"

#define REPAIR_SEND_BYTES (256u << 10)	/* of COPY data, per message to the target */
#define REPAIR_PIPE_BYTES (1u << 20)
#define REPAIR_WAIT_MS 200			/* between looks at the stop request while the source works */

const char *
repair_state_name(repair_state state)
{
	switch (state)
	{
		case REPAIR_ROWS:
			return "repaired";
		case REPAIR_RECOPIED:
			return "recopied";
		case REPAIR_LEFT:
			return "left";
		case REPAIR_FAILED:
			return "failed";
		case REPAIR_NONE:
			break;
	}
	return "none";
}

void
repair_result_fini(repair_result *res)
{
	free(res->why);
	drill_result_fini(&res->found);
	memset(res, 0, sizeof(*res));
}

/* Sets res's state and reason; 0. */
static int	set_state(repair_result *res, repair_state state, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static int
set_state(repair_result *res, repair_state state, const char *fmt,...)
{
	va_list		ap;

	free(res->why);
	res->why = NULL;
	res->state = state;
	va_start(ap, fmt);
	if (vasprintf(&res->why, fmt, ap) < 0)
		res->why = NULL;
	va_end(ap);
	return 0;
}

int
repair_open(repair_session *rs, PGconn *source, const char *target, const char *encoding, FILE *sql,
			sl_err *err)
{
	conn_settings settings = {encoding, 0, 0};
	PGresult   *res;
	int			rc;

	memset(rs, 0, sizeof(*rs));
	rs->source = source;
	rs->sql = sql;
	if ((rs->read_buf = malloc(READER_BUF_BYTES)) == NULL || io_pipe_init(&rs->pipe, REPAIR_PIPE_BYTES) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	rs->piped = true;
	if (sql != NULL)
	{
		fprintf(sql, "-- the session settings the rows below were printed in\n"
				"\\set ON_ERROR_STOP on\n%s;\nSET client_encoding = '%s';\n"
				"SET session_replication_role = replica;\n", CONN_SESSION_SETTINGS, encoding);
		rs->replica = true;
		return ferror(sql) ? err_set(err, SIDE_LOCAL, -EIO, "could not write the repair statements") : 0;
	}
	/* synchronous commit (not a loading session's): a repair is reported once it is durable */
	if ((rc = conn_open(&rs->target, target, SIDE_TARGET, &settings, err)) < 0)
		return rc;
	if ((rc = conn_run(rs->target, SIDE_TARGET, "SET session_replication_role = replica", 0, NULL, &res, err)) < 0)
	{
		conn_close(&rs->target);
		return rc;
	}
	rs->replica = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!rs->replica)
	{
		char		msg[512];

		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		log_warning("repair: the target's triggers and foreign keys would fire (%s): tables that have "
					"them are left as they are", conn_one_line(msg));
	}
	PQclear(res);
	return 0;
}

void
repair_close(repair_session *rs)
{
	conn_close(&rs->target);
	if (rs->piped)
		io_pipe_fini(&rs->pipe);
	free(rs->read_buf);
	rs->read_buf = NULL;
	rs->piped = false;
}

/* The tuples one side's rows name, in a token list of the found diffs; tokens checked. */
typedef struct tuple_list
{
	sbuf		ctids;			/* "{"(0,1)","(0,2)"}", the ctids */
	sbuf		versions;		/* the same with ":xmin", for the guard */
	uint64_t	n;
} tuple_list;

static void
tuple_list_init(tuple_list *l)
{
	sbuf_init(&l->ctids, SBUF_DEFAULT_CAP);
	sbuf_init(&l->versions, SBUF_DEFAULT_CAP);
	l->n = 0;
}

static void
tuple_list_fini(tuple_list *l)
{
	sbuf_fini(&l->ctids);
	sbuf_fini(&l->versions);
}

static bool
valid_tuple(const char *p, size_t len)
{
	return len > 0 && strspn(p, "0123456789(),:") >= len && memchr(p, ':', len) != NULL;
}

/*
 * Takes the tuples of the diffs' lists (copy or remove) from *next on, at
 * most REPAIR_BATCH_TUPLES, into l; advances *next (diff index) and *at
 * (offset in that diff's list).  -EINVAL on a token that is not a tuple.
 */
static int
next_batch(const drill_result *found, bool copy, int *next, size_t *at, tuple_list *l)
{
	sbuf_reset(&l->ctids);
	sbuf_reset(&l->versions);
	l->n = 0;
	while (*next < found->ndiffs && l->n < REPAIR_BATCH_TUPLES)
	{
		const char *list = copy ? found->diffs[*next].copy : found->diffs[*next].remove;
		const char *p = list != NULL ? list + *at : "";
		size_t		len = strcspn(p, " ");
		const char *colon;

		if (*p == '\0')
		{
			(*next)++;
			*at = 0;
			continue;
		}
		if (!valid_tuple(p, len))
			return -EINVAL;
		colon = memchr(p, ':', len);
		sbuf_append(&l->ctids, l->n ? ",\"" : "'{\"");
		sbuf_appendn(&l->ctids, p, (size_t) (colon - p));
		sbuf_append(&l->ctids, "\"");
		sbuf_append(&l->versions, l->n ? ",\"" : "'{\"");
		sbuf_appendn(&l->versions, p, len);
		sbuf_append(&l->versions, "\"");
		l->n++;
		*at += len + (p[len] == ' ');
	}
	if (l->n > 0)
	{
		sbuf_append(&l->ctids, "}'::pg_catalog.tid[]");
		sbuf_append(&l->versions, "}'::pg_catalog.text[]");
	}
	return sbuf_failed(&l->ctids) || sbuf_failed(&l->versions) ? -ENOMEM : 0;
}

/*
 * What a target statement that did not succeed means: a session that
 * broke is an error; a statement the server refused leaves *refused set
 * with its message, the session living on (in an aborted transaction).
 */
static int
refusal(repair_session *rs, const PGresult *res, char **refused, const char *what, sl_err *err)
{
	char		msg[1024];

	if (PQstatus(rs->target) != CONNECTION_OK)
		return conn_fail(rs->target, res, SIDE_TARGET, err, what);
	if (*refused == NULL)
	{
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		*refused = strdup(conn_one_line(msg));
	}
	return 0;
}

/* A statement of the repair, run on the target or written; *rows: the rows it changed. */
static int
statement(repair_session *rs, const char *sql, uint64_t *rows, char **refused, sl_err *err)
{
	PGresult   *res;
	int			rc;

	if (rows != NULL)
		*rows = 0;
	if (rs->sql != NULL)
	{
		fprintf(rs->sql, "%s;\n", sql);
		return ferror(rs->sql) ? err_set(err, SIDE_LOCAL, -EIO, "could not write the repair statements") : 0;
	}
	if ((rc = conn_run(rs->target, SIDE_TARGET, sql, 0, NULL, &res, err)) < 0)
		return rc;
	if (PQresultStatus(res) == PGRES_COMMAND_OK && rows != NULL)
		*rows = strtoull(PQcmdTuples(res), NULL, 10);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = refusal(rs, res, refused, "repair", err);
	PQclear(res);
	return rc;
}

/* A comment line of the file: what it is about, control characters made spaces (a value may hold any). */
static void
comment(FILE *out, const char *what, const char *doing)
{
	fputs("\n-- ", out);
	for (const char *p = what; *p != '\0'; p++)
		fputc((unsigned char) *p < 0x20 ? ' ' : *p, out);
	fprintf(out, ": %s\n", doing);
}

/* Sends what the pipe holds to the target's COPY, or writes it into the file. */
static int
drain(repair_session *rs, const char *what, sl_err *err)
{
	const uint8_t *span;
	size_t		n;

	while ((n = io_pipe_peek(&rs->pipe, &span, REPAIR_SEND_BYTES)) > 0)
	{
		if (rs->sql != NULL ? fwrite(span, 1, n, rs->sql) != n : PQputCopyData(rs->target, (const char *) span, (int) n) != 1)
			return rs->sql != NULL ? err_set(err, SIDE_LOCAL, -EIO, "could not write the repair statements")
				: conn_fail(rs->target, NULL, SIDE_TARGET, err, what);
		io_pipe_consume(&rs->pipe, n);
	}
	return 0;
}

/*
 * Streams the source's COPY (out_sql, at the verify's snapshot; its columns
 * as the verify reads them) into the target's (in_sql), or into the file as
 * the COPY's data, through the session's pipe: on an unencrypted source
 * connection the rows are read from the socket where they lie, so that a
 * long value is never held whole.  *rows, *bytes: what was written.
 */
static int
stream_rows(repair_session *rs, const copy_reader_columns *columns, const char *out_sql, const char *in_sql,
			uint64_t *rows, uint64_t *bytes, char **refused, const char *what, sl_err *err)
{
	copy_reader reader;
	PGresult   *res;
	int			rc = 0;

	if (rs->sql != NULL)
		fprintf(rs->sql, "%s;\n", in_sql);
	else
	{
		res = PQexec(rs->target, in_sql);
		if (PQresultStatus(res) != PGRES_COPY_IN)
		{
			rc = refusal(rs, res, refused, what, err);
			PQclear(res);
			return rc;
		}
		PQclear(res);
	}
	memset(&reader, 0, sizeof(reader));
	io_pipe_clear(&rs->pipe);
	rc = copy_reader_begin(&reader, rs->source, SIDE_SOURCE, columns, out_sql, !conn_encrypted(rs->source),
						   rs->read_buf, what, err);
	reader.stop = stop_flag();
	while (rc == 0 && !reader.done)
	{
		if ((rc = copy_reader_step(&reader, &rs->pipe)) == 0)
			rc = drain(rs, what, err);
		if (rc == 0 && !reader.done && copy_reader_wants_socket(&reader, &rs->pipe))
		{
			struct pollfd fd = {PQsocket(rs->source), POLLIN, 0};

			if (poll(&fd, 1, REPAIR_WAIT_MS) < 0 && errno != EINTR)
				rc = err_set(err, SIDE_LOCAL, -errno, "%s: waiting for the source failed: %s", what, strerror(errno));
			else if (atomic_load(stop_flag()))
				rc = err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
		}
	}
	if (rc == 0)
		rc = copy_reader_finish(&reader);
	*bytes += reader.bytes;
	copy_reader_end(&reader);
	if (rs->sql != NULL)
	{
		fputs("\\.\n", rs->sql);
		*rows += reader.server_rows;
		return rc == 0 && ferror(rs->sql) ? err_set(err, SIDE_LOCAL, -EIO, "could not write the repair statements")
			: rc;
	}
	if (PQputCopyEnd(rs->target, rc < 0 ? "the source's COPY failed" : NULL) != 1 && rc == 0)
		rc = conn_fail(rs->target, NULL, SIDE_TARGET, err, what);
	while ((res = PQgetResult(rs->target)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			*rows += strtoull(PQcmdTuples(res), NULL, 10);
		else if (rc == 0)
			rc = refusal(rs, res, refused, what, err);
		PQclear(res);
	}
	return rc;
}

/* The source's COPY of the tuples in ctids (an array literal), or of the chunk (ctids NULL). */
static void
copy_out_sql(sbuf *out, const cat_table *t, const char *predicate, const char *ctids, bool text)
{
	sbuf		where;

	if (ctids == NULL)
	{
		plan_copy_out_sql(out, t, predicate, text);
		return;
	}
	sbuf_init(&where, SBUF_DEFAULT_CAP);
	sbuf_printf(&where, "ctid OPERATOR(pg_catalog.=) ANY (%s)", ctids);
	if (sbuf_failed(&where))
		out->failed = true;
	else
		plan_copy_out_sql(out, t, sbuf_str(&where), text);
	sbuf_fini(&where);
}

/* Whether the target's table fires triggers (foreign keys are triggers); < 0 on error. */
static int
has_triggers(repair_session *rs, uint32_t oid, sl_err *err)
{
	char		param[16];
	const char *params[1] = {param};
	PGresult   *res;
	int			rc;

	snprintf(param, sizeof(param), "%u", oid);
	if ((rc = conn_query_params(rs->target, SIDE_TARGET, "SELECT c.relhastriggers FROM pg_catalog.pg_class c "
								"WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid", 1, params, &res,
								"could not read the target table's triggers", err)) < 0)
		return rc;
	rc = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

/* The statements of a chunk: its deletes, then its copies. */
static int
repair_statements(repair_session *rs, const cat_table *t, const char *predicate,
				  const copy_reader_columns *columns, bool recopy,
				  const char *what, repair_result *res, char **refused, uint64_t *want_deleted,
				  uint64_t *want_inserted, sl_err *err)
{
	tuple_list	l;
	sbuf		sql;
	sbuf		in;
	int			next = 0;
	size_t		at = 0;
	uint64_t	n;
	int			rc = 0;

	tuple_list_init(&l);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_init(&in, SBUF_DEFAULT_CAP);
	plan_copy_in_sql(&in, t, columns->text, false);
	if (recopy)
	{
		sbuf_printf(&sql, "DELETE FROM ONLY %s%s%s", t->qname, predicate ? " WHERE " : "", predicate ? predicate : "");
		rc = sbuf_failed(&sql) ? -ENOMEM : statement(rs, sbuf_str(&sql), &res->deleted, refused, err);
		sbuf_reset(&sql);
		copy_out_sql(&sql, t, predicate, NULL, columns->text);
		if (rc == 0 && *refused == NULL)
			rc = sbuf_failed(&sql) || sbuf_failed(&in) ? -ENOMEM
				: stream_rows(rs, columns, sbuf_str(&sql), sbuf_str(&in), &res->inserted, &res->bytes, refused, what,
							  err);
		goto done;
	}
	/* the target's tuples: each deleted only while it is the version the verify read */
	while (rc == 0 && *refused == NULL && (rc = next_batch(&res->found, false, &next, &at, &l)) == 0 && l.n > 0)
	{
		sbuf_reset(&sql);
		sbuf_printf(&sql, "DELETE FROM ONLY %s WHERE ctid OPERATOR(pg_catalog.=) ANY (%s) AND "
					"pg_catalog.concat(ctid, ':', xmin) OPERATOR(pg_catalog.=) ANY (%s)", t->qname,
					sbuf_str(&l.ctids), sbuf_str(&l.versions));
		*want_deleted += l.n;
		rc = sbuf_failed(&sql) ? -ENOMEM : statement(rs, sbuf_str(&sql), &n, refused, err);
		res->deleted += n;
	}
	/* the source's, at the verify's snapshot */
	next = 0;
	at = 0;
	while (rc == 0 && *refused == NULL && (rc = next_batch(&res->found, true, &next, &at, &l)) == 0 && l.n > 0)
	{
		sbuf_reset(&sql);
		copy_out_sql(&sql, t, NULL, sbuf_str(&l.ctids), columns->text);
		*want_inserted += l.n;
		rc = sbuf_failed(&sql) || sbuf_failed(&in) ? -ENOMEM
			: stream_rows(rs, columns, sbuf_str(&sql), sbuf_str(&in), &res->inserted, &res->bytes, refused, what,
							  err);
	}
done:
	if (rc == -EINVAL)
		rc = err_set(err, SIDE_LOCAL, rc, "%s: a server named a row's tuple in a form not known", what);
	else if (rc == -ENOMEM)
		rc = err_set(err, SIDE_LOCAL, rc, "%s: out of memory", what);
	tuple_list_fini(&l);
	sbuf_fini(&sql);
	sbuf_fini(&in);
	return rc;
}

int
repair_chunk(repair_session *rs, const cat_table *t, uint32_t target_oid, const char *predicate,
			 const copy_reader_columns *columns, bool recopy, const char *what, repair_result *res, sl_err *err)
{
	copy_reader_columns as_text = *columns; /* a file's rows are COPY text */
	double		t0 = clock_seconds();
	char	   *refused = NULL;
	uint64_t	want_deleted = 0;
	uint64_t	want_inserted = 0;
	int			rc;

	as_text.text = true;
	res->deleted = res->inserted = res->bytes = 0;
	if (t->large_objects)
		return set_state(res, REPAIR_LEFT, "large objects are not repaired one by one: unlink the target's "
						 "(lo_unlink), then copy them again with clone --data-only");
	if (rs->sql == NULL && !rs->replica)
	{
		if ((rc = has_triggers(rs, target_oid, err)) < 0)
			return rc;
		if (rc > 0)
			return set_state(res, REPAIR_LEFT, "the target's table has triggers or foreign keys, which the "
							 "repair would fire: repair as a user who may set session_replication_role");
	}
	if (rs->sql != NULL)
		comment(rs->sql, what, recopy ? "re-copied whole" : "its differing rows replaced");
	rc = statement(rs, "BEGIN", NULL, &refused, err);
	if (rc == 0 && refused == NULL)
		rc = repair_statements(rs, t, predicate, rs->sql != NULL ? &as_text : columns, recopy, what, res, &refused,
							   &want_deleted, &want_inserted, err);
	/* on the target, every named tuple must have been there still, and copied */
	if (rc == 0 && refused == NULL && rs->sql == NULL && !recopy && res->deleted != want_deleted)
		refused = strdup("the target changed since it was read: fewer of its rows were there to delete "
						 "than verify had named");
	if (rc == 0 && refused == NULL && rs->sql == NULL && !recopy && res->inserted != want_inserted)
		refused = strdup("fewer of the source's rows were copied than verify had named");
	if (rc == 0)
	{
		if (rs->sql != NULL)
			rc = statement(rs, "COMMIT", NULL, &refused, err);
		else
		{
			sl_err		ignored;

			err_clear(&ignored);
			rc = refused == NULL ? statement(rs, "COMMIT", NULL, &refused, err)
				: conn_exec(rs->target, SIDE_TARGET, "ROLLBACK", &ignored);
		}
	}
	res->seconds = clock_seconds() - t0;
	if (rc == 0 && refused != NULL)
	{
		set_state(res, REPAIR_FAILED, "rolled back: %s", refused);
		res->deleted = res->inserted = res->bytes = 0;
	}
	else if (rc == 0)
		res->state = recopy ? REPAIR_RECOPIED : REPAIR_ROWS;
	free(refused);
	return rc;
}

int
repair_sequences(repair_session *rs, int n, char *const *names, const cat_sequence_value *values, sl_err *err)
{
	PGconn	   *conn = rs->target != NULL ? rs->target : rs->source;
	sbuf		sql;
	int			rc = 0;

	if (rs->sql == NULL)
		return catalog_write_sequences(rs->target, n, names, values, err);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	fputs("\n-- the sequences\n", rs->sql);
	for (int start = 0; start < n && rc == 0; start += CATALOG_SEQUENCES_PER_SETVAL)
	{
		sbuf_reset(&sql);
		catalog_setval_sql(&sql, conn, start, start + CATALOG_SEQUENCES_PER_SETVAL < n
						   ? start + CATALOG_SEQUENCES_PER_SETVAL : n, names, values);
		if (sbuf_failed(&sql))
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory setting sequences");
		else
			fprintf(rs->sql, "%s;\n", sbuf_str(&sql));
	}
	sbuf_fini(&sql);
	if (rc == 0 && ferror(rs->sql))
		rc = err_set(err, SIDE_LOCAL, -EIO, "could not write the repair statements");
	return rc;
}
