/*
 * forecast.c: pgsluice plan.  See forecast.h.
 */
#include "cmd/forecast.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/sched.h"

#define FIXED_SECONDS 1.0		/* connections, snapshot, catalog, run record, sequences */
#define TABLE_SECONDS 0.01		/* the schema steps, per table */

/* Sums the heap and index bytes of the tables to copy. */
static int
read_sizes(PGconn *conn, forecast *f, sl_err *err)
{
	sbuf		sql;
	PGresult   *res;
	int			rc;

	f->heap_bytes = 0;
	for (int i = 0; i < f->cat->ntables; i++)
		f->heap_bytes += f->cat->tables[i].bytes;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT coalesce(pg_catalog.sum(pg_catalog.pg_indexes_size(c.oid)), 0)::bigint"
				" FROM pg_catalog.pg_class c WHERE c.oid = ANY ('{");
	for (int i = 0; i < f->cat->ntables; i++)
		sbuf_printf(&sql, "%s%u", i > 0 ? "," : "", f->cat->tables[i].oid);
	sbuf_append(&sql, "}'::pg_catalog.oid[])");
	rc = sbuf_failed(&sql) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory")
		: conn_query(conn, SIDE_SOURCE, sbuf_str(&sql), &res, err);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	f->index_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * Times reads of the largest table's chunks, largest first, for at most
 * FORECAST_SAMPLE_SECONDS, on a connection of its own, which is dropped
 * when the time runs out in the middle of a chunk.
 */
static int
sample_read(const forecast_options *opt, forecast *f, sl_err *err)
{
	const cat_table *t = NULL;
	const plan_table *pt;
	conn_settings settings = {f->cat->encoding, 0, 0};
	PGconn	   *conn = NULL;
	uint64_t	rows = 0;
	double		t0;
	int			rc;

	for (int i = 0; i < f->cat->ntables; i++)
		if (t == NULL || f->cat->tables[i].bytes > t->bytes)
			t = &f->cat->tables[i];
	if (t == NULL || t->bytes == 0)
		return 0;
	pt = &f->plan->tables[t - f->cat->tables];
	f->sample_table = t->qname;
	if ((rc = conn_open(&conn, opt->common.source, SIDE_SOURCE, &settings, err)) < 0)
		return rc;
	t0 = clock_seconds();
	for (int c = pt->first_chunk; rc == 0 && c < pt->first_chunk + pt->nchunks; c++)
	{
		PGresult   *res;
		sbuf		sql;
		bool		cut = false;

		sbuf_init(&sql, SBUF_DEFAULT_CAP);
		plan_copy_out_sql(&sql, t, f->plan->chunks[c].predicate, t->text_reason != NULL);
		res = PQexec(conn, sbuf_str(&sql));
		sbuf_fini(&sql);
		if (PQresultStatus(res) != PGRES_COPY_OUT)
			rc = conn_fail(conn, res, SIDE_SOURCE, err, "could not read a sample from");
		PQclear(res);
		while (rc == 0)
		{
			char	   *row = NULL;
			int			n = PQgetCopyData(conn, &row, 0);

			if (n < 0)
				break;
			f->sample_bytes += (uint64_t) n;
			rows++;
			PQfreemem(row);
			if ((cut = clock_seconds() - t0 >= FORECAST_SAMPLE_SECONDS))
				break;
		}
		if (cut)
			break;
		while (rc == 0 && (res = PQgetResult(conn)) != NULL)
			PQclear(res);
	}
	f->sample_seconds = clock_seconds() - t0;
	conn_close(&conn);			/* also ends a COPY cut short */
	if (rc < 0)
		return rc;
	if (f->sample_seconds > 0)
		f->read_rate = (double) f->sample_bytes / f->sample_seconds;
	if (rows > 0 && t->reltuples > 0)
		f->copy_ratio = ((double) f->sample_bytes / (double) rows) / ((double) t->bytes / t->reltuples);
	return 0;
}

int
forecast_run(const forecast_options *opt, forecast **out, sl_err *err)
{
	forecast   *f = calloc(1, sizeof(*f));
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	plan_options popt = {opt->common.chunk_bytes, !opt->data_only, false, opt->split_all ? 0 : opt->common.jobs};
	int			sessions;
	int			rc;

	*out = f;
	if (f == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = conn_open(&source, opt->common.source, SIDE_SOURCE, NULL, err)) < 0)
		goto done;
	f->source_major = f->target_major = conn_major_version(source);
	if (opt->common.target != NULL)
	{
		if ((rc = conn_open(&target, opt->common.target, SIDE_TARGET, NULL, err)) < 0)
			goto done;
		f->target_major = conn_major_version(target);
	}
	/* as the clone reads them: in one REPEATABLE READ transaction */
	if ((rc = conn_exec(source, SIDE_SOURCE, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err)) < 0 ||
		(rc = catalog_load(source, SIDE_SOURCE, f->target_major, opt->common.filter, &f->cat, err)) < 0 ||
		(rc = plan_build(source, f->cat, &popt, &f->plan, err)) < 0 ||
		(rc = read_sizes(source, f, err)) < 0 ||
		(rc = conn_exec(source, SIDE_SOURCE, "COMMIT", err)) < 0 ||
		(rc = sample_read(opt, f, err)) < 0)
		goto done;

	/*
	 * A session's COPY uses about one core on each server: more sessions go
	 * faster only while both servers have cores for them.
	 * XXX: the cores counted are this machine's, right when both clusters
	 * run on it (as in the benchmark) or on machines like it.
	 */
	sessions = opt->common.jobs > 0 ? opt->common.jobs : 1;
	if (sessions > f->plan->nchunks && f->plan->nchunks > 0)
		sessions = f->plan->nchunks;
	if (sessions > sysconf(_SC_NPROCESSORS_ONLN) / 2)
		sessions = (int) (sysconf(_SC_NPROCESSORS_ONLN) / 2);
	if (sessions < 1)
		sessions = 1;
	f->seconds_schema = FIXED_SECONDS + TABLE_SECONDS * f->cat->ntables;
	if (f->read_rate > 0)
	{
		double		copy_bytes = (double) f->heap_bytes * (f->copy_ratio > 0 ? f->copy_ratio : 1.0);

		f->seconds_data = copy_bytes / (f->read_rate * sessions) * FORECAST_LOAD_FACTOR;
		if (!opt->data_only)
			f->seconds_index = (double) f->index_bytes / (f->read_rate * sessions) * FORECAST_INDEX_FACTOR;
	}
	f->seconds_total = f->seconds_schema + f->seconds_data + f->seconds_index;
done:
	conn_close(&source);
	conn_close(&target);
	return rc;
}

void
forecast_destroy(forecast *f)
{
	if (f == NULL)
		return;
	plan_destroy(f->plan);
	catalog_destroy(f->cat);
	free(f);
}

int
forecast_cluster_run(const forecast_options *opt, const globals_patterns *patterns, int database_jobs,
					 forecast_cluster **out, sl_err *err)
{
	forecast_cluster *fc = calloc(1, sizeof(*fc));
	globals_database *dbs = NULL;
	int			ndbs = 0;
	PGconn	   *source = NULL;
	char	   *target_info = NULL;
	double		work = 0;
	double		schema = 0;
	double		largest = 0;
	int			rc;

	*out = NULL;
	if (fc == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = globals_connect(&source, opt->common.source, NULL, SIDE_SOURCE, err)) < 0 ||
		(rc = globals_list_databases(source, patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	if (opt->common.target != NULL && globals_maintenance_info(opt->common.target, &target_info) < 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "invalid target connection string");
		goto done;
	}
	if ((fc->databases = calloc((size_t) ndbs + 1, sizeof(forecast_database))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	fc->ndatabases = ndbs;
	fc->database_jobs = database_jobs < ndbs ? database_jobs : ndbs;
	for (int i = 0; i < ndbs; i++)
	{
		forecast_database *d = &fc->databases[i];
		forecast_options one = *opt;
		char	   *info = NULL;

		err_clear(&d->err);
		d->name = strdup(dbs[i].name);
		d->target_name = strdup(dbs[i].target_name);
		if (d->name == NULL || d->target_name == NULL ||
			conn_info_with_dbname(opt->common.source, dbs[i].name, &info) < 0)
		{
			free(info);
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
			goto done;
		}
		one.common.source = info;
		one.common.target = target_info;
		if (forecast_run(&one, &d->f, &d->err) < 0)
		{
			forecast_destroy(d->f);
			d->f = NULL;
			fc->failed++;
		}
		else
		{
			work += d->f->seconds_data + d->f->seconds_index;
			schema += d->f->seconds_schema;
			largest = d->f->seconds_total > largest ? d->f->seconds_total : largest;
		}
		free(info);
	}
	fc->seconds_total = work + schema / (fc->database_jobs > 0 ? fc->database_jobs : 1);
	if (fc->seconds_total < largest)
		fc->seconds_total = largest;

done:
	globals_databases_free(dbs, ndbs);
	conn_close(&source);
	free(target_info);
	if (rc < 0)
	{
		forecast_cluster_destroy(fc);
		fc = NULL;
	}
	*out = fc;
	return rc;
}

void
forecast_cluster_destroy(forecast_cluster *fc)
{
	if (fc == NULL)
		return;
	for (int i = 0; i < fc->ndatabases; i++)
	{
		free(fc->databases[i].name);
		free(fc->databases[i].target_name);
		forecast_destroy(fc->databases[i].f);
	}
	free(fc->databases);
	free(fc);
}
