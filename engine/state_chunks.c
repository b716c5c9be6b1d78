/*
 * state_chunks.c: the chunk records of a run in the target's state schema
 * (see state.h): recorded with the plan, claimed, committed with the
 * chunk's rows, failed, summed; state.c keeps the schema and the runs.
 */
#include "engine/state.h"
#include "engine/state_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/sbuf.h"
#include "engine/conn.h"

#define CHUNKS_PER_INSERT 500

int
state_chunks_record(state *st, int64_t run_id, const catalog *cat, const plan *p, sl_err *err)
{
	char	   *insert = state_sql(st, "INSERT INTO %s.chunk (run_id, chunk_no, table_name, seq, method,"
								   " predicate, est_bytes, frozen) VALUES ");
	sbuf		sql;
	int			rc = 0;

	if (insert == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	rc = conn_exec_watched(st->conn, SIDE_TARGET, "BEGIN", err);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int i = 0; i < p->nchunks && rc == 0; i += CHUNKS_PER_INSERT)
	{
		sbuf_reset(&sql);
		sbuf_append(&sql, insert);
		for (int j = i; j < p->nchunks && j < i + CHUNKS_PER_INSERT; j++)
		{
			const plan_chunk *c = &p->chunks[j];
			const char *name = cat->tables[c->table].qname;
			char	   *lname = PQescapeLiteral(st->conn, name, strlen(name));
			char	   *lpred = c->predicate
				? PQescapeLiteral(st->conn, c->predicate, strlen(c->predicate)) : NULL;

			if (lname == NULL || (c->predicate != NULL && lpred == NULL))
				sql.failed = true;
			else
				sbuf_printf(&sql, "%s(%lld, %d, %s, %d, '%s', %s, %lld, %s)", j > i ? ", " : "",
							(long long) run_id, j, lname, c->seq,
							plan_method_name(p->tables[c->table].method), lpred ? lpred : "NULL",
							(long long) c->est_bytes, c->freeze ? "true" : "false");
			PQfreemem(lname);
			PQfreemem(lpred);
		}
		if (sbuf_failed(&sql))
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory recording the chunks");
		else
			rc = conn_exec_watched(st->conn, SIDE_TARGET, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	free(insert);
	if (rc == 0)
		rc = state_run_set(st, run_id, NULL, STATE_STEP_DATA, NULL, err);
	if (rc == 0)
		rc = conn_exec_watched(st->conn, SIDE_TARGET, "COMMIT", err);
	else
		PQclear(PQexec(st->conn, "ROLLBACK"));
	return rc;
}

static plan_method
method_of(const char *name)
{
	for (plan_method m = PLAN_WHOLE; m <= PLAN_CTID; m++)
		if (strcmp(plan_method_name(m), name) == 0)
			return m;
	return PLAN_WHOLE;
}

/* Fills chunks[i] from row i of res, whose columns from first on are status, rows, bytes, digest. */
static int
read_chunk_rows(PGresult *res, int first, int n, state_chunk *chunks)
{
	for (int i = 0; i < n; i++)
	{
		state_chunk *c = &chunks[i];

		memset(c, 0, sizeof(*c));
		c->done = strcmp(PQgetvalue(res, i, first), "done") == 0;
		if (!c->done)
			continue;
		c->rows = strtoull(PQgetvalue(res, i, first + 1), NULL, 10);
		c->bytes = strtoull(PQgetvalue(res, i, first + 2), NULL, 10);
		if (chunk_digest_parse_hex(PQgetvalue(res, i, first + 3), c->rows, &c->digest) < 0)
			return -EPROTO;
	}
	return 0;
}

int
state_chunks_load(state *st, int64_t run_id, const catalog *cat, plan **out, state_chunk **chunks_out,
				  sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};
	PGresult   *res;
	plan	   *p = NULL;
	state_chunk *chunks = NULL;
	int			n;
	int			rc;

	*out = NULL;
	*chunks_out = NULL;
	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	rc = state_run_sql(st, "SELECT table_name, seq, method, predicate, est_bytes, frozen,"
				 " status, rows, bytes, source_digest"
				 " FROM %s.chunk WHERE run_id = $1::bigint ORDER BY chunk_no",
				 1, params, &res, "could not read the run's chunks from the target", err);
	if (rc < 0)
		return rc;
	n = PQntuples(res);
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->chunks = calloc((size_t) n + 1, sizeof(plan_chunk))) == NULL ||
		(p->tables = calloc((size_t) cat->ntables + 1, sizeof(plan_table))) == NULL ||
		(chunks = calloc((size_t) n + 1, sizeof(state_chunk))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the run's chunks");
		goto done;
	}
	p->ntables = cat->ntables;
	for (int i = 0; i < n && rc == 0; i++)
	{
		const cat_table *t = catalog_find(cat, PQgetvalue(res, i, 0));
		plan_chunk *c = &p->chunks[i];
		int			ti;

		if (t == NULL)
		{
			rc = err_set(err, SIDE_SOURCE, -ENOENT, "table %s of run %lld no longer exists on the "
						 "source", PQgetvalue(res, i, 0), (long long) run_id);
			break;
		}
		ti = (int) (t - cat->tables);
		c->table = ti;
		c->seq = atoi(PQgetvalue(res, i, 1));
		if (!PQgetisnull(res, i, 3) && (c->predicate = strdup(PQgetvalue(res, i, 3))) == NULL)
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the run's chunks");
		c->est_bytes = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		c->freeze = PQgetvalue(res, i, 5)[0] == 't';
		if (p->tables[ti].nchunks == 0)
		{
			p->tables[ti].first_chunk = i;
			p->tables[ti].method = method_of(PQgetvalue(res, i, 2));
		}
		p->tables[ti].nchunks++;
		p->nchunks++;
	}
	if (rc == 0 && read_chunk_rows(res, 6, n, chunks) < 0)
		rc = err_set(err, SIDE_TARGET, -EPROTO, "run %lld has a malformed digest in its chunk records",
					 (long long) run_id);
done:
	PQclear(res);
	if (rc < 0)
	{
		plan_destroy(p);
		free(chunks);
		return rc;
	}
	*out = p;
	*chunks_out = chunks;
	return 0;
}

int
state_chunks_refresh(state *st, int64_t run_id, int n, state_chunk *chunks, sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};
	PGresult   *res;
	int			rc;

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	rc = state_run_sql(st, "SELECT status, rows, bytes, source_digest FROM %s.chunk"
				 " WHERE run_id = $1::bigint ORDER BY chunk_no",
				 1, params, &res, "could not read the run's chunks from the target", err);
	if (rc < 0)
		return rc;
	if (PQntuples(res) != n)
		rc = err_set(err, SIDE_TARGET, -EPROTO, "run %lld has %d chunk records, not %d",
					 (long long) run_id, PQntuples(res), n);
	else if (read_chunk_rows(res, 0, n, chunks) < 0)
		rc = err_set(err, SIDE_TARGET, -EPROTO, "run %lld has a malformed digest in its chunk records",
					 (long long) run_id);
	PQclear(res);
	return rc;
}

int
state_chunk_begin(state *st, int64_t run_id, int chunk_no, bool *claimed, bool *held,
				  double *started_epoch, sl_err *err)
{
	char		id[32];
	char		no[16];
	const char *params[2] = {id, no};
	PGresult   *res;
	struct timespec now;
	int			rc;

	*claimed = false;

	/*
	 * The chunk's COPY FROM may run code of the target's schema (a CHECK
	 * constraint, a generated column, an ALWAYS trigger with --data-only) in
	 * this session, and that code may have changed search_path: empty it
	 * again before the transaction, so that a rollback cannot undo it.
	 */
	if ((rc = conn_exec_watched(st->conn, SIDE_TARGET, "SET search_path = ''; BEGIN", err)) < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	*started_epoch = (double) now.tv_sec + (double) now.tv_nsec / 1e9;
	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	snprintf(no, sizeof(no), "%d", chunk_no);
	rc = state_run_sql(st, "SELECT 1 FROM %s.chunk WHERE run_id = $1::bigint AND chunk_no = $2::int"
				 " AND status = 'pending' FOR UPDATE SKIP LOCKED",
				 2, params, &res, "could not take the chunk's row on the target", err);
	if (rc < 0)
		return rc;
	*claimed = PQntuples(res) == 1;
	PQclear(res);
	if (*claimed)
		return 0;
	if (held != NULL)
	{
		/* skipped: done, or locked by its holder (who may have finished since) */
		rc = state_run_sql(st, "SELECT 1 FROM %s.chunk WHERE run_id = $1::bigint AND chunk_no = $2::int"
					 " AND status = 'pending'", 2, params, &res, "could not read the chunk's row on the target",
					 err);
		if (rc < 0)
			return rc;
		*held = PQntuples(res) == 1;
		PQclear(res);
	}
	return conn_exec_watched(st->conn, SIDE_TARGET, "ROLLBACK", err);
}

int
state_chunk_commit(state *st, int64_t run_id, int chunk_no, uint64_t rows, uint64_t bytes,
				 const chunk_digest *digest, const char *worker, double started_epoch, sl_err *err)
{
	char		id[32];
	char		no[16];
	char		nrows[32];
	char		nbytes[32];
	char		hex[CHUNK_DIGEST_HEX_LEN + 1];
	char		started[32];
	const char *params[7] = {id, no, nrows, nbytes, hex, worker, started};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	snprintf(no, sizeof(no), "%d", chunk_no);
	snprintf(nrows, sizeof(nrows), "%llu", (unsigned long long) rows);
	snprintf(nbytes, sizeof(nbytes), "%llu", (unsigned long long) bytes);
	snprintf(started, sizeof(started), "%.6f", started_epoch);
	chunk_digest_hex(digest, hex);
	return state_run_sql(st, "UPDATE %s.chunk SET status = 'done', rows = $3::bigint, bytes = $4::bigint,"
				   " source_digest = $5, worker = $6, attempts = attempts + 1,"
				   " started_at = pg_catalog.to_timestamp($7::float8), finished_at = pg_catalog.clock_timestamp()"
				   " WHERE run_id = $1::bigint AND chunk_no = $2::int",
				   7, params, NULL, "could not mark the chunk done on the target", err) < 0
		? err->code : conn_exec_watched(st->conn, SIDE_TARGET, "COMMIT", err);
}

int
state_chunks_reset(state *st, int64_t run_id, sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	return state_run_sql(st, "UPDATE %s.chunk SET status = 'pending', rows = NULL, bytes = NULL,"
				   " source_digest = NULL, target_digest = NULL, worker = NULL, started_at = NULL,"
				   " finished_at = NULL WHERE run_id = $1::bigint",
				   1, params, NULL, "could not record the run's chunks on the target", err);
}

int
state_chunks_verified(state *st, int64_t run_id, int n, const int *chunk_nos,
					  const chunk_digest *digests, sl_err *err)
{
	char	   *update = state_sql(st, "UPDATE %s.chunk c SET target_digest = v.digest FROM (VALUES ");
	sbuf		sql;
	int			rc = 0;

	if (update == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int i = 0; i < n && rc == 0; i += CHUNKS_PER_INSERT)
	{
		sbuf_reset(&sql);
		sbuf_append(&sql, update);
		for (int j = i; j < n && j < i + CHUNKS_PER_INSERT; j++)
		{
			char		hex[CHUNK_DIGEST_HEX_LEN + 1];

			chunk_digest_hex(&digests[j], hex);
			sbuf_printf(&sql, "%s(%d, '%s')", j > i ? ", " : "", chunk_nos[j], hex);
		}
		sbuf_printf(&sql, ") AS v (chunk_no, digest) WHERE c.run_id = %lld AND c.chunk_no = v.chunk_no",
					(long long) run_id);
		if (sbuf_failed(&sql))
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		else
			rc = conn_exec_watched(st->conn, SIDE_TARGET, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	free(update);
	return rc;
}

int
state_chunk_failed(state *st, int64_t run_id, int chunk_no, const char *error, sl_err *err)
{
	char		id[32];
	char		no[16];
	const char *params[3] = {id, no, error};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	snprintf(no, sizeof(no), "%d", chunk_no);
	return state_run_sql(st, "UPDATE %s.chunk SET attempts = attempts + 1, last_error = $3"
				   " WHERE run_id = $1::bigint AND chunk_no = $2::int AND status = 'pending'",
				   3, params, NULL, "could not record the chunk's failure on the target", err);
}

int
state_summarize(state *st, int64_t run_id, state_summary *sum, sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};
	PGresult   *res;
	int			rc;

	memset(sum, 0, sizeof(*sum));
	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	/* pending rows a worker holds are skipped by FOR SHARE SKIP LOCKED: the rest are free */
	rc = state_run_sql(st, "WITH free AS (SELECT chunk_no FROM %s.chunk WHERE run_id = $1::bigint"
				 "   AND status = 'pending' FOR SHARE SKIP LOCKED)"
				 " SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE status = 'done'),"
				 "  pg_catalog.count(*) FILTER (WHERE status = 'pending' AND chunk_no NOT IN (SELECT chunk_no FROM free)),"
				 "  pg_catalog.count(*) FILTER (WHERE status = 'pending' AND last_error IS NOT NULL),"
				 "  coalesce(pg_catalog.sum(rows), 0), coalesce(pg_catalog.sum(bytes), 0),"
				 "  coalesce(pg_catalog.sum(est_bytes) FILTER (WHERE status <> 'done'), 0),"
				 "  (SELECT extract(epoch FROM coalesce(r.finished_at, pg_catalog.now()) - r.started_at) FROM %s.run r"
				 "   WHERE r.id = $1::bigint),"
				 "  coalesce((SELECT last_error FROM %s.run WHERE id = $1::bigint),"
				 "   (SELECT last_error FROM %s.chunk WHERE run_id = $1::bigint AND last_error IS NOT NULL"
				 "    AND status = 'pending' ORDER BY chunk_no LIMIT 1), '')"
				 " FROM %s.chunk WHERE run_id = $1::bigint",
				 1, params, &res, "could not read the run's chunks from the target", err);
	if (rc < 0)
		return rc;
	sum->chunks = atoi(PQgetvalue(res, 0, 0));
	sum->done = atoi(PQgetvalue(res, 0, 1));
	sum->in_flight = atoi(PQgetvalue(res, 0, 2));
	sum->failed = atoi(PQgetvalue(res, 0, 3));
	sum->rows = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
	sum->bytes = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
	sum->est_bytes_left = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	sum->seconds = strtod(PQgetvalue(res, 0, 7), NULL);
	snprintf(sum->last_error, sizeof(sum->last_error), "%s", PQgetvalue(res, 0, 8));
	PQclear(res);
	return 0;
}

