/*
 * clone.c: the steps of a clone and the scheduler of its chunks.  See clone.h.
 *
 * Thread safety: the chunks run on engine/sched.c's workers; a chunk's slot
 * in the report is written by the one worker that runs it and read after
 * the scheduler has joined them all.  The catalog and the plan are
 * read-only once workers start; the clone's context has two atomics.
 */
#include "engine/clone.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/conn.h"
#include "engine/log.h"
#include "engine/sbuf.h"
#include "engine/sched.h"
#include "engine/schema.h"

#define BATCH_STATEMENTS 500	/* tables or sequences per batched statement */
#define LOCK_TIMEOUT "60s"		/* to lock the source tables */

/* What the clone's workers share; read-only but for the atomics and each chunk's slot. */
typedef struct clone_ctx
{
	const clone_options *opt;
	const catalog *cat;
	const plan *plan;
	clone_report *report;
	const char *snapshot;		/* NULL: best effort */
	double		started;
	atomic_int	fallback_said;	/* the io_uring fallback was reported */
	atomic_int	replica_said;	/* the session_replication_role refusal was reported */
} clone_ctx;

static int
open_worker_connections(clone_ctx *ctx, copy_worker *w, sl_err *err)
{
	conn_settings src = {ctx->cat->encoding, 0};
	conn_settings dst = {ctx->cat->encoding, 1};
	int			rc;

	if ((rc = conn_open(&w->source, ctx->opt->source, SIDE_SOURCE, &src, err)) < 0 ||
		(rc = conn_open(&w->target, ctx->opt->target, SIDE_TARGET, &dst, err)) < 0)
		return rc;
	if (ctx->opt->data_only)
	{
		/*
		 * The schema exists with its foreign keys and triggers; like
		 * pg_restore --disable-triggers, load without firing them (chunks
		 * arrive in any order, and the rows fired their triggers on the
		 * source already).  Only a superuser may; others get the
		 * constraint's own error if the order matters.
		 */
		PGresult   *res = PQexec(w->target, "SET session_replication_role = replica");

		if (PQresultStatus(res) != PGRES_COMMAND_OK && atomic_exchange(&ctx->replica_said, 1) == 0)
		{
			char		msg[512];

			snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
			log_warning("could not disable triggers and foreign keys on the target while loading: %s",
						conn_one_line(msg));
		}
		PQclear(res);
	}
	return conn_import_snapshot(w->source, SIDE_SOURCE, ctx->snapshot, err);
}

static int
clone_worker_open(void *arg, int id, const atomic_int *stop, void **state, sl_err *err)
{
	clone_ctx  *ctx = arg;
	copy_worker *w = calloc(1, sizeof(*w));
	char		why[256];
	int			rc;

	*state = w;
	if (w == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting worker %d", id);
	rc = copy_worker_init(w, id, ctx->opt->io_kind, ctx->opt->via_libpq, stop, why, sizeof(why), err);
	if (rc < 0)
		return rc;
	if (id == 1)
		snprintf(ctx->report->io_backend, sizeof(ctx->report->io_backend), "%s",
				 io_loop_backend(w->loop));
	if (why[0] != '\0' && atomic_exchange(&ctx->fallback_said, 1) == 0)
		log_warning("io_uring is not available (%s); using poll()", why);
	return open_worker_connections(ctx, w, err);
}

static int64_t
clone_worker_run(void *arg, void *state, int idx, sl_err *err)
{
	clone_ctx  *ctx = arg;
	copy_worker *w = state;
	clone_chunk *c = &ctx->report->chunks[idx];
	const plan_chunk *pc = &ctx->plan->chunks[idx];
	double		t0 = sched_now();
	int			rc;

	c->status = CHUNK_RUNNING;
	c->worker = w->id;
	c->started = t0 - ctx->started;
	rc = copy_chunk(w, ctx->cat, pc, &c->result, err);
	c->seconds = sched_now() - t0;
	c->status = rc == 0 ? CHUNK_DONE : CHUNK_FAILED;
	if (rc < 0)
		return rc;
	log_verbose("worker %d: chunk %d of %s: %llu rows in %.2f s", w->id, pc->seq,
				ctx->cat->tables[pc->table].qname, (unsigned long long) c->result.rows, c->seconds);
	return (int64_t) c->result.bytes;
}

static void
clone_worker_close(void *arg, void *state)
{
	copy_worker *w = state;

	(void) arg;
	if (w == NULL)
		return;
	copy_worker_fini(w);
	free(w);
}

static const sched_ops clone_ops = {clone_worker_open, clone_worker_run, clone_worker_close};

/* Copies every chunk with opt->jobs workers; returns 0 or the first failure. */
static int
run_chunks(const clone_options *opt, const catalog *cat, const plan *p, const char *snapshot,
		   clone_report *report, sl_err *err)
{
	clone_ctx	ctx;
	sched_options sopt = {opt->jobs, opt->progress_seconds, "data", NULL, NULL};

	memset(&ctx, 0, sizeof(ctx));
	ctx.opt = opt;
	ctx.cat = cat;
	ctx.plan = p;
	ctx.report = report;
	ctx.snapshot = snapshot;
	ctx.started = sched_now();
	return sched_run(&clone_ops, &ctx, p, &sopt, &report->chunks_done, err);
}

/* Quoted SQL string literal of str, appended to buf. */
static void
append_literal(sbuf *buf, PGconn *conn, const char *str)
{
	char	   *lit = PQescapeLiteral(conn, str, strlen(str));

	sbuf_append(buf, lit != NULL ? lit : "NULL");
	PQfreemem(lit);
}

typedef struct target_column
{
	char	   *table;
	char	   *column;			/* NULL for a table without copy columns */
	char	   *type;
} target_column;

static int
cmp_target_column(const void *a, const void *b)
{
	return strcmp(((const target_column *) a)->table, ((const target_column *) b)->table);
}

/*
 * Compares the target's tables with the source's: in schema mode none may
 * exist; in data-only mode each must exist with the same copy columns.
 */
static int
check_target_tables(PGconn *target, const catalog *cat, bool data_only, sl_err *err)
{
	PGresult   *res;
	target_column *cols;
	int			n;
	int			rc;
	int			conflicts = 0;
	sbuf		msg;

	rc = conn_query(target, SIDE_TARGET,
					"SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname),"
					"       pg_catalog.format_type(a.atttypid, a.atttypmod)"
					" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
					"   AND NOT a.attisdropped AND a.attgenerated = ''"
					" WHERE c.relkind IN ('r', 'p')"
					"   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
					"   AND n.nspname !~ '^pg_(toast|temp_)'", &res, err);
	if (rc < 0)
		return rc;
	n = PQntuples(res);
	cols = calloc((size_t) n + 1, sizeof(target_column));
	if (cols == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking the target");
	}
	for (int i = 0; i < n; i++)
	{
		cols[i].table = PQgetvalue(res, i, 0);
		cols[i].column = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		cols[i].type = PQgetvalue(res, i, 2);
	}
	qsort(cols, (size_t) n, sizeof(target_column), cmp_target_column);

	sbuf_init(&msg, 1 << 16);
	for (int ti = 0; ti < cat->ntables && conflicts < 5; ti++)
	{
		const cat_table *t = &cat->tables[ti];
		target_column key = {.table = t->qname};
		target_column *hit = bsearch(&key, cols, (size_t) n, sizeof(target_column), cmp_target_column);
		int			first;
		int			last;

		if (!data_only)
		{
			if (hit != NULL)
				sbuf_printf(&msg, "%s%s", conflicts++ ? ", " : "", t->qname);
			continue;
		}
		if (hit == NULL)
		{
			sbuf_printf(&msg, "%stable %s does not exist on the target", conflicts++ ? "; " : "",
						t->qname);
			continue;
		}
		first = last = (int) (hit - cols);
		while (first > 0 && strcmp(cols[first - 1].table, t->qname) == 0)
			first--;
		while (last + 1 < n && strcmp(cols[last + 1].table, t->qname) == 0)
			last++;
		for (int c = 0; c < t->ncols; c++)
		{
			const target_column *match = NULL;

			for (int j = first; j <= last; j++)
				if (cols[j].column != NULL && strcmp(cols[j].column, t->cols[c].name) == 0)
					match = &cols[j];
			if (match == NULL)
				sbuf_printf(&msg, "%stable %s has no column %s on the target", conflicts++ ? "; " : "",
							t->qname, t->cols[c].name);
			else if (strcmp(match->type, t->cols[c].type) != 0)
				sbuf_printf(&msg, "%scolumn %s of table %s is of type %s on the target, %s on the source",
							conflicts++ ? "; " : "", t->cols[c].name, t->qname, match->type,
							t->cols[c].type);
		}
		for (int j = first; j <= last; j++)
		{
			bool		known = cols[j].column == NULL;

			for (int c = 0; c < t->ncols && !known; c++)
				known = strcmp(cols[j].column, t->cols[c].name) == 0;
			if (!known)
				sbuf_printf(&msg, "%stable %s has a column %s on the target that the source lacks",
							conflicts++ ? "; " : "", t->qname, cols[j].column);
		}
	}
	if (conflicts > 0 && !data_only)
		rc = err_set(err, SIDE_TARGET, -EEXIST,
					 "the target database already has tables of the source (%s%s): clone into an "
					 "empty database, or use --data-only to load into the existing schema",
					 sbuf_str(&msg), conflicts >= 5 ? ", ..." : "");
	else if (conflicts > 0)
		rc = err_set(err, SIDE_TARGET, -EINVAL, "the target's tables differ from the source's: %s%s",
					 sbuf_str(&msg), conflicts >= 5 ? "; ..." : "");
	sbuf_fini(&msg);
	free(cols);
	PQclear(res);
	return rc;
}

/*
 * Data-only mode: finds target tables that hold rows; refuses them, or with
 * truncate empties them all in one statement.
 */
static int
check_target_empty(PGconn *target, const catalog *cat, bool truncate, sl_err *err)
{
	sbuf		sql;
	sbuf		found;
	int			nfound = 0;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_init(&found, SBUF_DEFAULT_CAP);
	for (int start = 0; start < cat->ntables && rc == 0; start += BATCH_STATEMENTS)
	{
		PGresult   *res;

		sbuf_reset(&sql);
		for (int i = start; i < cat->ntables && i < start + BATCH_STATEMENTS; i++)
		{
			sbuf_append(&sql, i > start ? " UNION ALL SELECT " : "SELECT ");
			append_literal(&sql, target, cat->tables[i].qname);
			sbuf_printf(&sql, " WHERE EXISTS (SELECT FROM ONLY %s)", cat->tables[i].qname);
		}
		if ((rc = conn_query(target, SIDE_TARGET, sbuf_str(&sql), &res, err)) < 0)
			break;
		for (int i = 0; i < PQntuples(res); i++)
			sbuf_printf(&found, "%s%s", nfound++ ? ", " : "", PQgetvalue(res, i, 0));
		PQclear(res);
	}
	if (rc == 0 && nfound > 0 && !truncate)
		rc = err_set(err, SIDE_TARGET, -EEXIST,
					 "target table%s %.600s already hold%s rows: use --truncate to replace them, "
					 "or empty them first", nfound > 1 ? "s" : "", sbuf_str(&found),
					 nfound > 1 ? "" : "s");
	else if (rc == 0 && nfound > 0)
	{
		log_info("truncating %d target table%s that hold rows", nfound, nfound > 1 ? "s" : "");
		sbuf_reset(&sql);
		sbuf_printf(&sql, "TRUNCATE ONLY %s", sbuf_str(&found));
		rc = conn_exec(target, SIDE_TARGET, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	sbuf_fini(&found);
	return rc;
}

/* Locks every source table in ACCESS SHARE mode, in the holder's transaction. */
static int
lock_source_tables(PGconn *holder, const catalog *cat, sl_err *err)
{
	sbuf		sql;
	int			rc;

	if (cat->ntables == 0)
		return 0;
	rc = conn_exec(holder, SIDE_SOURCE, "SET LOCAL lock_timeout = '" LOCK_TIMEOUT "'", err);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int start = 0; start < cat->ntables && rc == 0; start += BATCH_STATEMENTS)
	{
		sbuf_reset(&sql);
		sbuf_append(&sql, "LOCK TABLE ");
		for (int i = start; i < cat->ntables && i < start + BATCH_STATEMENTS; i++)
			sbuf_printf(&sql, "%sONLY %s", i > start ? ", " : "", cat->tables[i].qname);
		sbuf_append(&sql, " IN ACCESS SHARE MODE");
		rc = conn_exec(holder, SIDE_SOURCE, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	return rc;
}

/* Sets every sequence of the target to the source's last_value and is_called. */
static int
copy_sequences(PGconn *source, PGconn *target, const catalog *cat, int *count, sl_err *err)
{
	cat_sequence_value *values = calloc((size_t) cat->nsequences + 1, sizeof(cat_sequence_value));
	sbuf		set;
	int			rc;

	if (values == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory copying sequences");
	rc = catalog_read_sequences(source, SIDE_SOURCE, cat, values, err);
	sbuf_init(&set, SBUF_DEFAULT_CAP);
	for (int start = 0; start < cat->nsequences && rc == 0; start += BATCH_STATEMENTS)
	{
		int			end = start + BATCH_STATEMENTS < cat->nsequences ? start + BATCH_STATEMENTS : cat->nsequences;

		sbuf_reset(&set);
		sbuf_append(&set, "SELECT ");
		for (int i = start; i < end; i++)
		{
			sbuf_append(&set, i > start ? ", pg_catalog.setval(" : "pg_catalog.setval(");
			append_literal(&set, target, cat->sequences[i].qname);
			sbuf_printf(&set, ", %s, %s)", values[i].last_value, values[i].is_called ? "true" : "false");
		}
		if (sbuf_failed(&set))
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory copying sequences");
		else
			rc = conn_exec(target, SIDE_TARGET, sbuf_str(&set), err);
		if (rc == 0)
			*count += end - start;
	}
	sbuf_fini(&set);
	catalog_free_sequence_values(values, cat->nsequences);
	free(values);
	return rc;
}

/*
 * Refreshes the materialized views that hold data on the source.  One may
 * read another, so those that fail for want of a populated one are tried
 * again in the next round, until a round makes no progress.
 */
static int
refresh_matviews(PGconn *target, const catalog *cat, sl_err *err)
{
	bool	   *done = calloc((size_t) cat->nmatviews + 1, sizeof(bool));
	int			left = cat->nmatviews;
	int			progress = 1;
	sbuf		sql;
	sl_err		last;

	if (done == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory refreshing materialized views");
	err_clear(&last);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	while (left > 0 && progress > 0)
	{
		progress = 0;
		for (int i = 0; i < cat->nmatviews; i++)
		{
			if (done[i])
				continue;
			sbuf_reset(&sql);
			sbuf_printf(&sql, "REFRESH MATERIALIZED VIEW %s", cat->matviews[i]);
			err_clear(&last);
			if (conn_exec(target, SIDE_TARGET, sbuf_str(&sql), &last) == 0)
			{
				done[i] = true;
				left--;
				progress++;
			}
		}
	}
	sbuf_fini(&sql);
	free(done);
	if (left > 0)
		return err_take(err, &last);
	return 0;
}

static void
sum_tables(clone_report *r)
{
	for (int ti = 0; ti < r->cat->ntables; ti++)
	{
		clone_table *t = &r->tables[ti];
		const plan_table *pt = &r->plan->tables[ti];
		double		first = -1;
		double		last = 0;

		chunk_digest_reset(&t->digest);
		for (int ci = pt->first_chunk; ci < pt->first_chunk + pt->nchunks; ci++)
		{
			const clone_chunk *c = &r->chunks[ci];

			if (c->status != CHUNK_DONE)
				continue;
			t->rows += c->result.rows;
			t->bytes += c->result.bytes;
			t->chunks_done++;
			chunk_digest_merge(&t->digest, &c->result.digest);
			if (first < 0 || c->started < first)
				first = c->started;
			if (c->started + c->seconds > last)
				last = c->started + c->seconds;
		}
		t->seconds = first < 0 ? 0 : last - first;
		r->rows += t->rows;
		r->bytes += t->bytes;
	}
}

/*
 * The verification pass after the data.  With a snapshot the clone's own
 * source digests stand for the source, so only the target is read; in best
 * effort there is no point in time they belong to, so both sides are read.
 */
static int
verify_clone(const clone_options *opt, clone_report *r, const char *snapshot, sl_err *err)
{
	verify_options vopt = {0};
	chunk_digest *digests = NULL;
	int			rc;

	vopt.source = opt->source;
	vopt.target = opt->target;
	vopt.jobs = opt->jobs;
	vopt.chunk_bytes = opt->chunk_bytes;
	vopt.sample = 1.0;
	vopt.max_diffs = opt->max_diffs;
	vopt.io_kind = opt->io_kind;
	vopt.via_libpq = opt->via_libpq;
	vopt.progress_seconds = opt->progress_seconds;
	if (snapshot != NULL)
	{
		digests = calloc((size_t) r->plan->nchunks + 1, sizeof(chunk_digest));
		if (digests == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		for (int i = 0; i < r->plan->nchunks; i++)
			digests[i] = r->chunks[i].result.digest;
		vopt.snapshot = snapshot;
		vopt.clone_catalog = r->cat;
		vopt.clone_plan = r->plan;
		vopt.clone_digests = digests;
	}
	log_info("verify: %s", snapshot != NULL ? "reading the target against the digests of the copy"
			 : "reading both sides (best effort: the source may have changed since its rows were read)");
	rc = verify_run(&vopt, &r->verify, err);
	free(digests);
	if (rc == 0)
		log_info("verify: %s", verify_identical(r->verify) ? "the target is identical to the source"
				 : "the target differs from the source");
	return rc;
}

static void
remove_workdir(const char *dir)
{
	static const char *const files[] = {"schema.dump", "pg_dump.log", "pg_restore-pre-data.log",
	"pg_restore-post-data.log", NULL};
	char		path[PATH_MAX];

	if (dir[0] == '\0')
		return;
	for (int i = 0; files[i] != NULL; i++)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
clone_run(const clone_options *opt, clone_report **report_out, sl_err *err)
{
	clone_report *r;
	PGconn	   *holder = NULL;
	PGconn	   *control = NULL;
	PGresult   *res = NULL;
	conn_settings target_settings = {NULL, 1};
	schema_tools tools;
	schema_options sopt = {opt->no_owner, opt->no_privileges, sched_stop_flag(), NULL};
	char		workdir[PATH_MAX] = "";
	char		dumpfile[PATH_MAX];
	const char *snapshot = NULL;
	double		t_start = sched_now();
	double		t;
	int			rc;

	if (report_out != NULL)
		*report_out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	snprintf(r->io_backend, sizeof(r->io_backend), "none");

	/* 1. connections and snapshot */
	if ((rc = conn_open(&holder, opt->source, SIDE_SOURCE, NULL, err)) < 0)
		goto done;
	r->source_major = conn_major_version(holder);
	target_settings.client_encoding = PQparameterStatus(holder, "server_encoding");
	if ((rc = conn_open(&control, opt->target, SIDE_TARGET, &target_settings, err)) < 0)
		goto done;
	r->target_major = conn_major_version(control);
	if (!opt->best_effort)
	{
		if ((rc = conn_exec(holder, SIDE_SOURCE,
							"BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err)) < 0 ||
			(rc = conn_query(holder, SIDE_SOURCE, "SELECT pg_catalog.pg_export_snapshot()", &res, err)) < 0)
			goto done;
		snprintf(r->snapshot, sizeof(r->snapshot), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
		snapshot = r->snapshot;
		log_verbose("source snapshot %s exported", snapshot);
	}

	/* 2. catalog */
	if ((rc = catalog_load(holder, r->target_major, &r->cat, err)) < 0)
		goto done;
	if (!opt->best_effort && (rc = lock_source_tables(holder, r->cat, err)) < 0)
		goto done;
	log_info("source: PostgreSQL %d, %d tables, %d sequences; target: PostgreSQL %d",
			 r->source_major, r->cat->ntables, r->cat->nsequences, r->target_major);
	for (int i = 0; i < r->cat->ntables; i++)
		if (r->cat->tables[i].text_reason != NULL)
			log_info("table %s moves as text: %s", r->cat->tables[i].qname,
					 r->cat->tables[i].text_reason);
	if ((rc = conn_query(holder, SIDE_SOURCE,
						 "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata", &res, err)) < 0)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		log_warning("the source holds %s large objects: the target gets them empty, "
					"their contents are not copied", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	/* 3. the target */
	if ((rc = check_target_tables(control, r->cat, opt->data_only, err)) < 0)
		goto done;
	if (opt->data_only && (rc = check_target_empty(control, r->cat, opt->truncate, err)) < 0)
		goto done;

	/* 4. schema pre-data */
	t = sched_now();
	if (!opt->data_only)
	{
		const char *tmp = getenv("TMPDIR");

		rc = schema_find_tools(opt->pg_bindir,
							   r->source_major > r->target_major ? r->source_major : r->target_major,
							   &tools, err);
		if (rc < 0)
			goto done;
		snprintf(workdir, sizeof(workdir), "%s/pgsluice-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if (mkdtemp(workdir) == NULL)
		{
			rc = err_set(err, SIDE_LOCAL, -errno, "could not create a work directory in \"%s\": %s",
						 tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
			workdir[0] = '\0';
			goto done;
		}
		sopt.workdir = workdir;
		snprintf(dumpfile, sizeof(dumpfile), "%s/schema.dump", workdir);
		if ((rc = schema_dump(&tools, &sopt, opt->source, snapshot, dumpfile, err)) < 0 ||
			(rc = schema_restore(&tools, &sopt, opt->target, dumpfile, "pre-data", 1, err)) < 0)
			goto done;
		r->seconds_schema = sched_now() - t;
		log_info("schema: pre-data restored in %.1f s", r->seconds_schema);
	}

	/* 5. plan */
	{
		plan_options popt = {opt->chunk_bytes, !opt->data_only, false};

		if ((rc = plan_build(holder, r->cat, &popt, &r->plan, err)) < 0)
			goto done;
	}
	r->chunks = calloc((size_t) r->plan->nchunks + 1, sizeof(clone_chunk));
	r->tables = calloc((size_t) r->cat->ntables + 1, sizeof(clone_table));
	if (r->chunks == NULL || r->tables == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	log_info("data: %d tables in %d chunks, %d workers", r->cat->ntables, r->plan->nchunks,
			 opt->jobs > 0 ? opt->jobs : 1);

	/* 6. data */
	t = sched_now();
	rc = run_chunks(opt, r->cat, r->plan, snapshot, r, err);
	r->seconds_data = sched_now() - t;
	sum_tables(r);
	if (rc < 0)
		goto done;
	if (!opt->best_effort && !opt->verify && (rc = conn_exec(holder, SIDE_SOURCE, "COMMIT", err)) < 0)
		goto done;
	log_info("data: %llu rows, %.1f MB in %.1f s", (unsigned long long) r->rows,
			 (double) r->bytes / 1e6, r->seconds_data);

	/* 7. sequences */
	t = sched_now();
	if ((rc = copy_sequences(holder, control, r->cat, &r->sequences_set, err)) < 0)
		goto done;
	r->seconds_sequences = sched_now() - t;

	/* 8. schema post-data, and materialized views over the new data */
	t = sched_now();
	if (!opt->data_only &&
		(rc = schema_restore(&tools, &sopt, opt->target, dumpfile, "post-data", opt->jobs, err)) < 0)
		goto done;
	if ((rc = refresh_matviews(control, r->cat, err)) < 0)
		goto done;
	r->seconds_post = sched_now() - t;
	log_info("schema: %s%d materialized views refreshed in %.1f s",
			 opt->data_only ? "" : "post-data restored, ", r->cat->nmatviews, r->seconds_post);

	/* 9. verify, the source at the snapshot the holder still keeps */
	if (opt->verify)
	{
		t = sched_now();
		if ((rc = verify_clone(opt, r, snapshot, err)) < 0)
			goto done;
		r->seconds_verify = sched_now() - t;
		if (!opt->best_effort && (rc = conn_exec(holder, SIDE_SOURCE, "COMMIT", err)) < 0)
			goto done;
	}

done:
	if (rc < 0 && atomic_load(sched_stop_flag()) && err->side != SIDE_INTERRUPT)
	{
		/* a step cut short by the signal reports the signal, not the symptom */
		sl_err		interrupted;

		err_clear(&interrupted);
		err_set(&interrupted, SIDE_INTERRUPT, -EINTR, "interrupted: %s", err->msg);
		*err = interrupted;
	}
	PQclear(res);
	conn_close(&holder);
	conn_close(&control);
	remove_workdir(workdir);
	r->seconds_total = sched_now() - t_start;
	if (report_out != NULL)
		*report_out = r;
	else
		clone_report_destroy(r);
	return rc;
}

void
clone_report_destroy(clone_report *report)
{
	if (report == NULL)
		return;
	verify_report_destroy(report->verify);	/* refers to the catalog and plan */
	plan_destroy(report->plan);
	catalog_destroy(report->cat);
	free(report->chunks);
	free(report->tables);
	free(report);
}
