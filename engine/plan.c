/*
 * plan.c: chunk boundaries and chunk SQL.  See plan.h.
 */
#include "engine/plan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"

/* Sampled rows per chunk wanted for even quantiles, and the least sample. */
#define SAMPLE_ROWS_PER_CHUNK 50
#define SAMPLE_MIN_ROWS 20000
#define DEFAULT_ROWS_PER_PAGE 60.0

/*
 * TRUNCATE + COPY FREEZE gives a table a new relation file and drops the old
 * one at commit; for a small table that costs more than the frozen rows save
 * (no hint-bit writes at the first read, no freezing vacuum later).
 */
#define FREEZE_MIN_BYTES (4ll << 20)

const char *
plan_method_name(plan_method method)
{
	switch (method)
	{
		case PLAN_KEY:
			return "key";
		case PLAN_CTID:
			return "ctid";
		case PLAN_WHOLE:
			break;
	}
	return "whole";
}

void
plan_column_list(sbuf *out, const cat_table *table)
{
	for (int i = 0; i < table->ncols; i++)
		sbuf_printf(out, "%s%s", i ? ", " : "", table->cols[i].name);
}

static void
key_tuple(sbuf *out, const cat_key_column *keys, int nkeys)
{
	if (nkeys > 1)
		sbuf_append(out, "(");
	for (int i = 0; i < nkeys; i++)
		sbuf_printf(out, "%s%s", i ? ", " : "", keys[i].name);
	if (nkeys > 1)
		sbuf_append(out, ")");
}

void
plan_key_literal(sbuf *out, const cat_key_column *keys, int nkeys, const char *const *literals)
{
	if (nkeys > 1)
		sbuf_append(out, "(");
	for (int i = 0; i < nkeys; i++)
		sbuf_printf(out, "%s%s::%s", i ? ", " : "", literals[i], keys[i].type);
	if (nkeys > 1)
		sbuf_append(out, ")");
}

void
plan_key_predicate(sbuf *out, const cat_key_column *keys, int nkeys,
				   const char *lower, const char *upper)
{
	const char *and = "";
	/* the key's own operators, by their schema (the catalog gives one for all its columns) */
	const char *ops = nkeys > 0 && keys[0].op_schema != NULL ? keys[0].op_schema : "pg_catalog";

	/*
	 * A row comparison is decided by its first unequal column, so a NULL in a
	 * later key column does not keep a row out of a range: ranges exclude
	 * rows with a NULL key column explicitly, the IS NULL chunk takes them.
	 */
	for (int i = 0; i < nkeys; i++)
	{
		if (!keys[i].not_null)
		{
			sbuf_printf(out, "%s%s IS NOT NULL", and, keys[i].name);
			and = " AND ";
		}
	}
	if (lower != NULL)
	{
		sbuf_append(out, and);
		key_tuple(out, keys, nkeys);
		sbuf_printf(out, " OPERATOR(%s.>=) %s", ops, lower);
		and = " AND ";
	}
	if (upper != NULL)
	{
		sbuf_append(out, and);
		key_tuple(out, keys, nkeys);
		sbuf_printf(out, " OPERATOR(%s.<) %s", ops, upper);
		and = " AND ";
	}
	if (and[0] == '\0')
		sbuf_append(out, "true");
}

void
plan_null_predicate(sbuf *out, const cat_key_column *keys, int nkeys)
{
	const char *or = "";

	for (int i = 0; i < nkeys; i++)
	{
		if (!keys[i].not_null)
		{
			sbuf_printf(out, "%s%s IS NULL", or, keys[i].name);
			or = " OR ";
		}
	}
	if (or[0] == '\0')
		sbuf_append(out, "false");
}

void
plan_ctid_predicate(sbuf *out, int64_t first_page, int64_t end_page)
{
	if (first_page >= 0)
		sbuf_printf(out, "ctid OPERATOR(pg_catalog.>=) '(%lld,0)'::pg_catalog.tid", (long long) first_page);
	if (end_page >= 0)
		sbuf_printf(out, "%sctid OPERATOR(pg_catalog.<) '(%lld,0)'::pg_catalog.tid", first_page >= 0 ? " AND " : "",
					(long long) end_page);
	if (first_page < 0 && end_page < 0)
		sbuf_append(out, "true");
}

void
plan_chunk_describe(const plan_chunk *chunk, const cat_table *table, char *out, size_t outlen)
{
	if (chunk->predicate != NULL)
		snprintf(out, outlen, "chunk %d of table %s (%.300s)", chunk->seq, table->qname, chunk->predicate);
	else
		snprintf(out, outlen, "chunk 1 of table %s (whole table)", table->qname);
}

void
plan_copy_out_sql(sbuf *out, const cat_table *table, const char *predicate, bool text)
{
	const char *format = text ? "text" : "binary";

	if (table->large_objects)
	{
		lobj_copy_out_sql(out, predicate, text);
		return;
	}
	if (predicate == NULL)
	{
		/* COPY table TO reads that table alone, never its children */
		sbuf_printf(out, "COPY %s", table->qname);
		if (table->ncols > 0)
		{
			sbuf_append(out, " (");
			plan_column_list(out, table);
			sbuf_append(out, ")");
		}
		sbuf_printf(out, " TO STDOUT (FORMAT %s)", format);
		return;
	}
	sbuf_append(out, "COPY (SELECT ");
	plan_column_list(out, table);
	sbuf_printf(out, " FROM ONLY %s WHERE %s) TO STDOUT (FORMAT %s)", table->qname, predicate, format);
}

void
plan_copy_in_sql(sbuf *out, const cat_table *table, bool text, bool freeze)
{
	if (table->large_objects)
	{
		lobj_copy_in_sql(out, text);
		return;
	}
	sbuf_printf(out, "COPY %s", table->qname);
	/* a zero-column table has rows too; "()" is not valid syntax */
	if (table->ncols > 0)
	{
		sbuf_append(out, " (");
		plan_column_list(out, table);
		sbuf_append(out, ")");
	}
	sbuf_printf(out, " FROM STDIN (FORMAT %s%s)", text ? "text" : "binary", freeze ? ", FREEZE" : "");
}

typedef struct plan_builder
{
	plan	   *p;
	int			alloc;
} plan_builder;

static int
add_chunk(plan_builder *b, int table, char *predicate, int64_t est_bytes, bool freeze)
{
	plan	   *p = b->p;
	plan_chunk *c;

	if (p->nchunks == b->alloc)
	{
		int			alloc = b->alloc ? b->alloc * 2 : 256;
		plan_chunk *chunks = realloc(p->chunks, sizeof(plan_chunk) * (size_t) alloc);

		if (chunks == NULL)
		{
			free(predicate);
			return -ENOMEM;
		}
		p->chunks = chunks;
		b->alloc = alloc;
	}
	c = &p->chunks[p->nchunks++];
	c->table = table;
	c->seq = p->tables[table].nchunks + 1;
	c->predicate = predicate;
	c->est_bytes = est_bytes;
	c->freeze = freeze;
	p->tables[table].nchunks++;
	return 0;
}

/* Adds a chunk whose predicate is in pred (NULL when pred failed to build). */
static int
add_built_chunk(plan_builder *b, int table, sbuf *pred, int64_t est_bytes, sl_err *err)
{
	if (sbuf_failed(pred) || add_chunk(b, table, sbuf_take(pred), est_bytes, false) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory planning chunks");
	return 0;
}

/*
 * Reads nchunks-1 boundaries of t's key from a sample, as row literals.
 * Returns the number of boundaries (0 when the sample came back empty).
 */
static int
sample_boundaries(PGconn *conn, const cat_table *t, int nchunks, char ***bounds_out, sl_err *err)
{
	double		rows_per_page = DEFAULT_ROWS_PER_PAGE;
	double		want_rows = fmax(SAMPLE_MIN_ROWS, (double) nchunks * SAMPLE_ROWS_PER_CHUNK);
	double		percent;
	sbuf		sql;
	PGresult   *res = NULL;
	char	  **bounds = NULL;
	int			nbounds = 0;
	int			rc;

	*bounds_out = NULL;
	if (t->reltuples > 0 && t->pages > 0)
		rows_per_page = fmax(1.0, t->reltuples / (double) t->pages);
	percent = 100.0 * want_rows / (rows_per_page * (double) (t->pages > 0 ? t->pages : 1));
	if (percent > 100.0)
		percent = 100.0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT ");
	for (int i = 0; i < t->nkeys; i++)
		sbuf_printf(&sql, "%spg_catalog.format('%%L', s.k%d)", i ? ", " : "", i);
	sbuf_append(&sql, " FROM (SELECT DISTINCT ON (bucket) bucket");
	for (int i = 0; i < t->nkeys; i++)
		sbuf_printf(&sql, ", k%d", i);
	sbuf_append(&sql, " FROM (SELECT ");
	for (int i = 0; i < t->nkeys; i++)
		sbuf_printf(&sql, "%s AS k%d, ", t->keys[i].name, i);
	sbuf_printf(&sql, "pg_catalog.ntile(%d) OVER (ORDER BY ", nchunks);
	for (int i = 0; i < t->nkeys; i++)
		sbuf_printf(&sql, "%s%s", i ? ", " : "", t->keys[i].name);
	sbuf_printf(&sql, ") AS bucket FROM ONLY %s TABLESAMPLE SYSTEM (%.6f) REPEATABLE (0) WHERE true",
				t->qname, percent);
	for (int i = 0; i < t->nkeys; i++)
		if (!t->keys[i].not_null)
			sbuf_printf(&sql, " AND %s IS NOT NULL", t->keys[i].name);
	sbuf_append(&sql, ") b ORDER BY bucket");
	for (int i = 0; i < t->nkeys; i++)
		sbuf_printf(&sql, ", k%d", i);
	sbuf_append(&sql, ") s WHERE s.bucket > 1 ORDER BY s.bucket");
	if (sbuf_failed(&sql))
	{
		sbuf_fini(&sql);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory planning %s", t->qname);
	}
	rc = conn_query(conn, SIDE_SOURCE, sbuf_str(&sql), &res, err);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;

	bounds = calloc((size_t) PQntuples(res) + 1, sizeof(char *));
	if (bounds == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory planning %s", t->qname);
	}
	for (int row = 0; row < PQntuples(res); row++)
	{
		const char *literals[64];
		sbuf		lit;

		for (int i = 0; i < t->nkeys && i < 64; i++)
			literals[i] = PQgetvalue(res, row, i);
		sbuf_init(&lit, SBUF_DEFAULT_CAP);
		plan_key_literal(&lit, t->keys, t->nkeys, literals);
		bounds[nbounds++] = sbuf_take(&lit);
	}
	PQclear(res);
	*bounds_out = bounds;
	return nbounds;
}

static int
plan_keyed(PGconn *conn, plan_builder *b, const catalog *cat, int ti, int nchunks, sl_err *err)
{
	const cat_table *t = &cat->tables[ti];
	char	  **bounds = NULL;
	int			nbounds;
	int			rc = 0;
	bool		nullable = false;
	int64_t		share;

	if (t->nkeys > 64)
		return err_set(err, SIDE_SOURCE, -EINVAL, "key of table %s has more than 64 columns", t->qname);
	nbounds = sample_boundaries(conn, t, nchunks, &bounds, err);
	if (nbounds < 0)
		return nbounds;
	if (nbounds == 0)
	{
		free(bounds);
		return 0;				/* no sample: the caller plans one chunk */
	}

	b->p->tables[ti].method = PLAN_KEY;
	share = t->bytes / (nbounds + 1);
	for (int i = 0; i <= nbounds && rc == 0; i++)
	{
		sbuf		pred;

		sbuf_init(&pred, SBUF_DEFAULT_CAP);
		plan_key_predicate(&pred, t->keys, t->nkeys, i > 0 ? bounds[i - 1] : NULL,
						   i < nbounds ? bounds[i] : NULL);
		rc = add_built_chunk(b, ti, &pred, share, err);
	}
	for (int i = 0; i < t->nkeys; i++)
		nullable |= !t->keys[i].not_null;
	if (nullable && rc == 0)
	{
		sbuf		pred;

		sbuf_init(&pred, SBUF_DEFAULT_CAP);
		plan_null_predicate(&pred, t->keys, t->nkeys);
		rc = add_built_chunk(b, ti, &pred, 0, err);
	}
	for (int i = 0; i < nbounds; i++)
		free(bounds[i]);
	free(bounds);
	return rc < 0 ? rc : 1;
}

static int
plan_ctid(plan_builder *b, const cat_table *t, int ti, int nchunks, sl_err *err)
{
	int64_t		per_chunk = (t->pages + nchunks - 1) / nchunks;
	int			rc = 0;

	b->p->tables[ti].method = PLAN_CTID;
	for (int i = 0; i < nchunks && rc == 0; i++)
	{
		sbuf		pred;
		int64_t		first = i == 0 ? -1 : per_chunk * i;
		int64_t		end = i == nchunks - 1 ? -1 : per_chunk * (i + 1);

		sbuf_init(&pred, SBUF_DEFAULT_CAP);
		plan_ctid_predicate(&pred, first, end);
		rc = add_built_chunk(b, ti, &pred, t->bytes / nchunks, err);
	}
	return rc;
}

bool
plan_reads_whole(int nchunks, int64_t bytes, int64_t total, int jobs)
{
	return nchunks > 1 && nchunks <= PLAN_WHOLE_MAX_CHUNKS && bytes * (jobs > 1 ? jobs : 1) <= total;
}

int
plan_build(PGconn *conn, const catalog *cat, const plan_options *opt, plan **out, sl_err *err)
{
	plan_builder b = {0};
	int64_t		total = 0;
	int			rc = 0;

	*out = NULL;
	b.p = calloc(1, sizeof(plan));
	if (b.p == NULL || (b.p->tables = calloc((size_t) cat->ntables + 1, sizeof(plan_table))) == NULL)
	{
		free(b.p);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory planning chunks");
	}
	b.p->ntables = cat->ntables;
	for (int ti = 0; ti < cat->ntables; ti++)
		total += cat->tables[ti].bytes;

	for (int ti = 0; ti < cat->ntables && rc >= 0; ti++)
	{
		const cat_table *t = &cat->tables[ti];
		int64_t		chunk_bytes = opt->chunk_bytes > 0 ? opt->chunk_bytes : PLAN_DEFAULT_CHUNK_BYTES;
		int64_t		want = (t->bytes + chunk_bytes - 1) / chunk_bytes;
		int			nchunks = want > 100000 ? 100000 : (int) want;

		b.p->tables[ti].first_chunk = b.p->nchunks;
		rc = 0;
		if (opt->whole_jobs > 0 && plan_reads_whole(nchunks, t->bytes, total, opt->whole_jobs))
		{
			log_verbose("plan: table %s: whole, in one pass (%d chunks with --split-all)", t->qname, nchunks);
			nchunks = 1;
		}
		else if (opt->whole_jobs > 1 && nchunks > 1 && nchunks < 100000 - opt->whole_jobs)
		{
			/*
			 * A table split for the jobs goes in rounds of the jobs: with 3
			 * chunks on 2 jobs the third would run alone, the other job idle,
			 * and a table of 1/jobs or more of the data decides the data
			 * step's length.  On a 2-core machine that took the data step of
			 * pgbench's accounts at SCALE 10 (1,000,000 rows, 109 MB of COPY
			 * data) from 0.91 s (3 chunks) to 0.81 s (4), --jobs 2.
			 */
			nchunks = (nchunks + opt->whole_jobs - 1) / opt->whole_jobs * opt->whole_jobs;
		}
		if (nchunks > 1 && t->nkeys > 0)
			rc = plan_keyed(conn, &b, cat, ti, nchunks, err);
		else if (nchunks > 1 && !opt->no_ctid && cat->server_major >= 14 && t->pages >= nchunks)
		{
			if ((rc = plan_ctid(&b, t, ti, nchunks, err)) == 0)
				rc = 1;
		}
		if (rc == 0)
		{
			b.p->tables[ti].method = PLAN_WHOLE;
			if (add_chunk(&b, ti, NULL, t->bytes, opt->freeze && !t->large_objects && t->bytes >= FREEZE_MIN_BYTES) < 0)
				rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory planning chunks");
		}
		if (rc > 0)
			log_verbose("plan: table %s: %d chunks by %s", t->qname, b.p->tables[ti].nchunks,
						plan_method_name(b.p->tables[ti].method));
	}
	if (rc < 0)
	{
		plan_destroy(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

int
plan_whole_tables(const plan *p, const bool *whole, plan **out)
{
	plan	   *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL || (w->chunks = calloc((size_t) p->nchunks + 1, sizeof(plan_chunk))) == NULL ||
		(w->tables = calloc((size_t) p->ntables + 1, sizeof(plan_table))) == NULL)
		goto fail;
	w->ntables = p->ntables;
	for (int t = 0; t < p->ntables; t++)
	{
		const plan_table *pt = &p->tables[t];
		bool		merged = whole[t] && pt->nchunks > 1;
		int			n = merged ? 1 : pt->nchunks;

		w->tables[t] = (plan_table) {w->nchunks, n, merged ? PLAN_WHOLE : pt->method};
		for (int i = 0; i < n; i++)
		{
			const plan_chunk *pc = &p->chunks[pt->first_chunk + i];
			plan_chunk *wc = &w->chunks[w->nchunks++];

			*wc = *pc;
			wc->predicate = NULL;
			if (merged)
			{
				wc->freeze = false;
				for (int j = 1; j < pt->nchunks; j++)
					wc->est_bytes += p->chunks[pt->first_chunk + j].est_bytes;
			}
			else if (pc->predicate != NULL && (wc->predicate = strdup(pc->predicate)) == NULL)
				goto fail;
		}
	}
	*out = w;
	return 0;
fail:
	plan_destroy(w);
	return -ENOMEM;
}

void
plan_destroy(plan *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nchunks; i++)
		free(p->chunks[i].predicate);
	free(p->chunks);
	free(p->tables);
	free(p);
}
