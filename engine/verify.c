/*
 * verify.c: catalog comparison and two-sided chunk digests.  See verify.h.
 *
 * Thread safety: chunks run on engine/sched.c's workers, each with its own
 * pair of connections, loop and read buffers; a chunk's slot in the report
 * is written by the worker that runs it and read after all are joined.
 * Drill-downs take drill_lock, one at a time, so that the rows they name
 * stop exactly at max_diffs; it is the only lock.
 */
#include "engine/verify.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/chunkjob.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/sched.h"
#include "engine/stop.h"
#include "io/stall.h"

#define VERIFY_WAIT_MS 200
#define ANY_TARGET_VERSION 1000 /* binary safety as the types themselves allow */
#define REPAIR_CHUNK_LIMIT_DEFAULT 0.5

const char *
verify_status_name(verify_status status)
{
	switch (status)
	{
		case VERIFY_EQUAL:
			return "equal";
		case VERIFY_DIFFERENT:
			return "different";
		case VERIFY_SKIPPED:
			return "skipped";
		case VERIFY_FAILED:
			return "failed";
		case VERIFY_PENDING:
			break;
	}
	return "pending";
}

static int	add_problem(verify_report *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static int
add_problem(verify_report *r, const char *fmt,...)
{
	char	  **grown = realloc(r->problems, sizeof(char *) * (size_t) (r->nproblems + 1));
	char	   *text = NULL;
	va_list		ap;

	if (grown == NULL)
		return -ENOMEM;
	r->problems = grown;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (text == NULL)
		return -ENOMEM;
	r->problems[r->nproblems++] = text;
	return 0;
}

static const cat_column *
find_column(const cat_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

/* Compares one source table with the target's of the same name. */
static int
compare_table(verify_report *r, int ti)
{
	const cat_table *s = &r->source_cat->tables[ti];
	verify_table *vt = &r->tables[ti];
	const cat_table *t = catalog_find(r->target_cat, s->qname);
	bool		same = true;
	int			rc = 0;

	vt->target = t;
	if (t == NULL)
		return add_problem(r, "table %s is missing on the target", s->qname);
	for (int c = 0; c < s->ncols && rc == 0; c++)
	{
		const cat_column *tc = find_column(t, s->cols[c].name);

		if (tc == NULL)
			rc = add_problem(r, "column %s of table %s is missing on the target", s->cols[c].name, s->qname);
		else if (strcmp(tc->type, s->cols[c].type) != 0)
			rc = add_problem(r, "column %s of table %s is of type %s on the source, %s on the target",
							 s->cols[c].name, s->qname, s->cols[c].type, tc->type);
		same &= tc != NULL && strcmp(tc->type, s->cols[c].type) == 0;
	}
	for (int c = 0; c < t->ncols && rc == 0; c++)
	{
		if (find_column(s, t->cols[c].name) == NULL)
		{
			rc = add_problem(r, "column %s of table %s exists on the target only", t->cols[c].name, s->qname);
			same = false;
		}
	}
	if (rc == 0 && (s->nkeys > 0) != (t->nkeys > 0))
		rc = add_problem(r, "table %s has a unique key on the %s only", s->qname,
						 s->nkeys > 0 ? "source" : "target");
	if (rc < 0 || !same)
		return rc;

	/* comparable: both sides read the source's column order, each with its own type shapes */
	vt->comparable = true;
	vt->target_shapes = calloc((size_t) s->ncols + 1, sizeof(ctype *));
	if (vt->target_shapes == NULL)
		return -ENOMEM;
	for (int c = 0; c < s->ncols; c++)
		vt->target_shapes[c] = find_column(t, s->cols[c].name)->shape;
	vt->source_columns = (copy_reader_columns) {s->ncols, s->shapes, false};
	vt->target_columns = (copy_reader_columns) {s->ncols, vt->target_shapes, false};
	vt->source_columns.text = vt->target_columns.text = s->text_reason != NULL || t->text_reason != NULL;
	return 0;
}

static int
compare_catalogs(verify_report *r, sl_err *err)
{
	int			rc = 0;

	for (int ti = 0; ti < r->source_cat->ntables && rc == 0; ti++)
	{
		rc = compare_table(r, ti);
		r->tables_compared += r->tables[ti].comparable;
	}
	for (int ti = 0; ti < r->target_cat->ntables && rc == 0; ti++)
		if (catalog_find(r->source_cat, r->target_cat->tables[ti].qname) == NULL)
			rc = add_problem(r, "table %s exists on the target only", r->target_cat->tables[ti].qname);
	if (rc < 0)
		return err_set(err, SIDE_LOCAL, rc, "out of memory comparing the catalogs");
	return 0;
}

/*
 * Compares every sequence's last_value and is_called; with fix, those that
 * differ are then set on the target to the source's (or the statement is
 * written), and r->sequences_set counts them.
 */
static int
compare_sequences(verify_report *r, PGconn *source, PGconn *target, repair_session *fix, sl_err *err)
{
	const catalog *sc = r->source_cat;
	const catalog *tc = r->target_cat;
	cat_sequence_value *sv = calloc((size_t) sc->nsequences + 1, sizeof(cat_sequence_value));
	cat_sequence_value *tv = calloc((size_t) tc->nsequences + 1, sizeof(cat_sequence_value));
	cat_sequence_value *set = calloc((size_t) sc->nsequences + 1, sizeof(cat_sequence_value));
	char	  **names = calloc((size_t) sc->nsequences + 1, sizeof(char *));
	int			n = 0;
	int			rc;

	if (sv == NULL || tv == NULL || set == NULL || names == NULL)
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory comparing sequences");
	else if ((rc = catalog_read_sequences(source, SIDE_SOURCE, sc, sv, err)) == 0 &&
			 (rc = catalog_read_sequences(target, SIDE_TARGET, tc, tv, err)) == 0)
	{
		for (int i = 0; i < sc->nsequences && rc == 0; i++)
		{
			int			j = catalog_find_sequence(tc, sc->sequences[i].qname);

			if (j < 0)
				rc = add_problem(r, "sequence %s is missing on the target", sc->sequences[i].qname);
			else if (strcmp(sv[i].last_value, tv[j].last_value) != 0 || sv[i].is_called != tv[j].is_called)
			{
				rc = add_problem(r, "sequence %s is at %s%s on the source, %s%s on the target",
								 sc->sequences[i].qname, sv[i].last_value,
								 sv[i].is_called ? "" : " (not yet called)", tv[j].last_value,
								 tv[j].is_called ? "" : " (not yet called)");
				names[n] = sc->sequences[i].qname;
				set[n++] = sv[i];
			}
		}
		for (int j = 0; j < tc->nsequences && rc == 0; j++)
			if (catalog_find_sequence(sc, tc->sequences[j].qname) < 0)
				rc = add_problem(r, "sequence %s exists on the target only", tc->sequences[j].qname);
		if (rc < 0)
			rc = err_set(err, SIDE_LOCAL, rc, "out of memory comparing sequences");
		if (rc == 0 && fix != NULL && n > 0 && (rc = repair_sequences(fix, n, names, set, err)) == 0)
			r->sequences_set = n;
	}
	if (sv != NULL)
		catalog_free_sequence_values(sv, sc->nsequences);
	if (tv != NULL)
		catalog_free_sequence_values(tv, tc->nsequences);
	free(sv);
	free(tv);
	free(set);					/* its values were sv's */
	free(names);
	return rc;
}

typedef struct verify_ctx
{
	const verify_options *opt;
	verify_report *r;
	const char *encoding;
	chunkjob_spec jobs;			/* the workers' sessions, both sides at their snapshots */
	const plan *full;			/* the chunk plan; the report's plan reads some tables whole */
	const chunk_digest *known;	/* per chunk, the source digest on record; NULL: read the source */
	verify_chunk **parts;		/* per table read whole that differed: its chunks of full */
	atomic_int	fallback_said;
	pthread_mutex_t drill_lock; /* one drill-down at a time */
	uint64_t	rows_named;		/* by all drill-downs so far; guarded by drill_lock */
	atomic_int	halt;			/* max_diffs reached: no more chunks */
	bool		repairing;		/* drill-downs read the rows' tuples; a chunk past its limit is
								 * re-copied, and max_diffs does not end the pass */
} verify_ctx;

typedef struct verify_worker
{
	int			id;
	PGconn	   *source;
	PGconn	   *target;
	io_loop    *loop;
	uint8_t    *buf[2];			/* read buffers of the two readers */
	const atomic_int *stop;
} verify_worker;

static int
verify_worker_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	verify_ctx *ctx = arg;
	verify_worker *w = calloc(1, sizeof(*w));
	int			rc;

	*state_out = w;
	if (w == NULL || (w->buf[0] = malloc(READER_BUF_BYTES)) == NULL ||
		(w->buf[1] = malloc(READER_BUF_BYTES)) == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting worker %d", id);
	w->id = id;
	w->stop = stop;
	if ((rc = copy_reader_loop_create(&w->loop, ctx->opt->common.io_kind, id, &ctx->fallback_said, ctx->r->io_backend,
								 sizeof(ctx->r->io_backend), err)) < 0 ||
		(rc = chunkjob_open_source(&ctx->jobs, &w->source, err)) < 0 ||
		(rc = chunkjob_open_target(&ctx->jobs, &w->target, err)) < 0)
		return rc;
	return 0;
}

static void
verify_worker_close(void *arg, void *state_arg)
{
	verify_worker *w = state_arg;

	(void) arg;
	if (w == NULL)
		return;
	if (w->loop != NULL)
		io_loop_forget(w->loop);
	conn_close(&w->source);
	conn_close(&w->target);
	io_loop_destroy(w->loop);
	free(w->buf[0]);
	free(w->buf[1]);
	free(w);
}

/* Row counts of the chunk on both sides, the two queries running at once. */
static int
count_chunk(verify_worker *w, const cat_table *t, const plan_chunk *pc, verify_chunk *vc,
			const char *what, sl_err *err)
{
	PGconn	   *conns[2] = {w->source, w->target};
	chunk_digest *out[2] = {&vc->source, &vc->target};
	sbuf		sql;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.count(*) FROM ONLY %s%s%s", t->qname, pc->predicate ? " WHERE " : "",
				pc->predicate ? pc->predicate : "");
	for (int i = 0; i < 2 && rc == 0; i++)
		if (!PQsendQuery(conns[i], sbuf_str(&sql)))
			rc = conn_fail(conns[i], NULL, i ? SIDE_TARGET : SIDE_SOURCE, err, what);
	for (int i = 0; i < 2 && rc == 0; i++)
	{
		PGresult   *res;

		while ((res = PQgetResult(conns[i])) != NULL)
		{
			if (PQresultStatus(res) == PGRES_TUPLES_OK)
				out[i]->rows = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			else if (rc == 0)
				rc = conn_fail(conns[i], res, i ? SIDE_TARGET : SIDE_SOURCE, err, what);
			PQclear(res);
		}
	}
	sbuf_fini(&sql);
	return rc;
}

/* Lets the sockets fill before the wait, as the readers suggest (the shorter pause of the two). */
static void
pause_for_batch(const copy_reader *readers, int first)
{
	unsigned	us = UINT_MAX;

	for (int i = first; i < 2; i++)
		if (copy_reader_wants_socket(&readers[i], NULL) && copy_reader_pause_us(&readers[i]) < us)
			us = copy_reader_pause_us(&readers[i]);
	if (us > 0 && us <= READER_PAUSE_MAX_US)
	{
		struct timespec pause = {0, (long) us * 1000};

		nanosleep(&pause, NULL);
	}
}

/*
 * Both sides' COPY of the chunk, read at once and hashed; or the target's
 * alone when the source digest is on record (first = 1).
 */
static int
digest_chunk(verify_worker *w, const verify_table *vt, const cat_table *t, const plan_chunk *pc,
			 int first, verify_chunk *vc, const char *what, bool via_libpq, sl_err *err)
{
	copy_reader readers[2];
	bool		ready[2] = {true, true};	/* stepped only once readable: a read of an
											 * empty socket is a wasted call */
	stall_clock clocks[2];		/* io/stall.h: a side that sends nothing is given up */
	sbuf		sql;
	int			rc = 0;

	memset(readers, 0, sizeof(readers));
	stall_clock_init(&clocks[0], conn_stall_timeout());
	stall_clock_init(&clocks[1], conn_stall_timeout());
	readers[0].done = first > 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	plan_copy_out_sql(&sql, t, pc->predicate, vt->source_columns.text);
	if (first == 0)
		rc = copy_reader_begin(&readers[0], w->source, SIDE_SOURCE, &vt->source_columns, sbuf_str(&sql),
							   !via_libpq && !conn_encrypted(w->source), w->buf[0], what, err);
	readers[0].stop = w->stop;
	if (rc == 0)
		rc = copy_reader_begin(&readers[1], w->target, SIDE_TARGET, &vt->target_columns, sbuf_str(&sql),
							   !via_libpq && !conn_encrypted(w->target), w->buf[1], what, err);
	sbuf_fini(&sql);

	while (rc == 0 && !(readers[0].done && readers[1].done))
	{
		io_watch	watch[2];
		bool		buffered = false;

		if (atomic_load(w->stop))
		{
			rc = err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
			break;
		}
		for (int i = first; i < 2 && rc == 0; i++)
		{
			if (ready[i])
				rc = copy_reader_step(&readers[i], NULL);
			buffered |= copy_reader_has_buffered(&readers[i]);
		}
		if (rc < 0 || buffered || (readers[0].done && readers[1].done))
			continue;
		pause_for_batch(readers, first);
		for (int i = 0; i < 2; i++)
		{
			watch[i] = (io_watch) {i >= first && copy_reader_wants_socket(&readers[i], NULL)
				? PQsocket(readers[i].conn) : -1, POLLIN, 0};
			stall_clock_begin(&clocks[i], watch[i].fd >= 0, readers[i].bytes, clock_seconds());
		}
		if ((rc = io_loop_wait(w->loop, watch, 2, VERIFY_WAIT_MS)) >= 0)
		{
			double		now = clock_seconds();

			for (int i = 0; i < 2; i++)
				ready[i] = rc == 0 || watch[i].revents != 0;
			rc = 0;
			for (int i = 0; i < 2 && rc == 0; i++)
				if (conn_stall_check(readers[i].conn, i ? SIDE_TARGET : SIDE_SOURCE, &clocks[i],
								 watch[i].revents != 0, now))
					rc = conn_fail_stall(readers[i].conn, i ? SIDE_TARGET : SIDE_SOURCE, what, err);
		}
		else
			rc = err_set(err, SIDE_LOCAL, rc, "%s: waiting for the servers failed: %s", what, strerror(-rc));
	}
	if (rc == 0 && first == 0)
		rc = copy_reader_finish(&readers[0]);
	if (rc == 0)
		rc = copy_reader_finish(&readers[1]);
	if (rc == 0)
	{
		if (first == 0)
			vc->source = readers[0].digest;
		vc->target = readers[1].digest;
		vc->bytes = readers[0].bytes + readers[1].bytes;
	}
	if (first == 0)
		copy_reader_end(&readers[0]);
	copy_reader_end(&readers[1]);
	return rc;
}

/* The rows of a chunk of rows rows past which a repair re-copies it whole. */
static uint64_t
repair_share(const verify_options *opt, uint64_t rows)
{
	double		share = opt->repair_chunk_limit > 0 ? opt->repair_chunk_limit : REPAIR_CHUNK_LIMIT_DEFAULT;
	uint64_t	n = (uint64_t) (share * (double) rows);

	return n > 0 ? n : 1;
}

/*
 * Names the rows of a differing chunk, while the run may still name rows.
 * For a repair, a chunk with more of them than it may name is to be
 * re-copied: its drill.truncated says so, and the rows it named are let go
 * (they count for nothing), so that the chunks after it are still named.
 */
static int
drill_down(verify_ctx *ctx, verify_worker *w, const cat_table *t, const plan_chunk *pc,
		   verify_chunk *vc, const char *what, sl_err *err)
{
	uint64_t	rows = vc->source.rows > vc->target.rows ? vc->source.rows : vc->target.rows;
	uint64_t	limit;
	int			rc = 0;

	if (ctx->opt->max_diffs == 0 && !ctx->repairing)
		return 0;
	pthread_mutex_lock(&ctx->drill_lock);
	limit = ctx->opt->max_diffs > ctx->rows_named ? ctx->opt->max_diffs - ctx->rows_named : 0;
	if (ctx->repairing && limit > repair_share(ctx->opt, rows))
		limit = repair_share(ctx->opt, rows);
	if (limit == 0)
		vc->drill.truncated = true;
	else if ((rc = drill_chunk(w->source, w->target, t, pc->predicate, rows, limit, ctx->repairing, w->stop,
							   what, &vc->drill, err)) == 0)
	{
		if (ctx->repairing && vc->drill.truncated)
		{
			drill_result_fini(&vc->drill);
			vc->drill.truncated = true;
			log_verbose("%s: more rows differ than may be named: to be re-copied whole", what);
		}
		else
			ctx->rows_named += vc->drill.rows;
	}
	if (!ctx->repairing && ctx->rows_named >= ctx->opt->max_diffs)
		atomic_store(&ctx->halt, 1);
	pthread_mutex_unlock(&ctx->drill_lock);
	if (rc < 0 || vc->drill.passes == 0)
		return rc;
	log_verbose("%s: %llu differing rows named in %d passes", what,
				(unsigned long long) vc->drill.rows, vc->drill.passes);
	return 0;
}

/* Reads one chunk (counts or digests, both sides) and, with drill, names the rows of a differing one. */
static int
check_chunk(verify_ctx *ctx, verify_worker *w, const cat_table *t, const plan_chunk *pc,
			const chunk_digest *known, bool drill, verify_chunk *vc, const char *what, sl_err *err)
{
	int			rc;

	chunk_digest_reset(&vc->source);
	chunk_digest_reset(&vc->target);
	if (known != NULL)
		vc->source = *known;
	if (ctx->opt->counts)
		rc = count_chunk(w, t, pc, vc, what, err);
	else
		rc = digest_chunk(w, &ctx->r->tables[pc->table], t, pc, known != NULL, vc, what,
						  ctx->opt->common.via_libpq, err);
	if (rc == 0 && drill && !ctx->opt->counts && !chunk_digest_equal(&vc->source, &vc->target))
		rc = drill_down(ctx, w, t, pc, vc, what, err);
	if (rc == 0)
		vc->status = chunk_digest_equal(&vc->source, &vc->target) ? VERIFY_EQUAL : VERIFY_DIFFERENT;
	return rc;
}

/*
 * A table read whole differs: its chunks of the full plan are checked one by
 * one, both sides (tables are read whole only where the source is read), so
 * that the drill-down reads the differing ranges only.  Should none
 * of them differ (the whole's digests disagree with the sums of its
 * chunks'), the whole is drilled into after all.
 */
static int
check_parts(verify_ctx *ctx, verify_worker *w, const cat_table *t, const plan_chunk *whole,
			verify_chunk *vc, const char *whole_what, sl_err *err)
{
	int			ti = whole->table;
	const plan_table *ft = &ctx->full->tables[ti];
	verify_chunk *parts = calloc((size_t) ft->nchunks, sizeof(verify_chunk));
	bool		found = false;
	int			rc = 0;

	if (parts == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking table %s by its chunks", t->qname);
	ctx->parts[ti] = parts;
	log_verbose("table %s differs: checking its %d chunks", t->qname, ft->nchunks);
	for (int i = 0; i < ft->nchunks && rc == 0 && !atomic_load(&ctx->halt); i++)
	{
		const plan_chunk *pc = &ctx->full->chunks[ft->first_chunk + i];
		char		what[512];
		double		t0 = clock_seconds();

		plan_chunk_describe(pc, t, what, sizeof(what));
		rc = check_chunk(ctx, w, t, pc, NULL, true, &parts[i], what, err);
		parts[i].seconds = clock_seconds() - t0;
		if (rc < 0)
			parts[i].status = VERIFY_FAILED;
		found |= parts[i].status != VERIFY_EQUAL;
	}
	if (rc < 0 || found || atomic_load(&ctx->halt))
		return rc;
	log_warning("%s: the table's digests differ but those of its chunks do not; reading it whole",
			  whole_what);
	for (int i = 0; i < ft->nchunks; i++)
		drill_result_fini(&parts[i].drill);
	free(parts);
	ctx->parts[ti] = NULL;
	return drill_down(ctx, w, t, whole, vc, whole_what, err);
}

static int64_t
verify_worker_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	verify_ctx *ctx = arg;
	verify_worker *w = state_arg;
	verify_report *r = ctx->r;
	const plan_chunk *pc = &r->plan->chunks[idx];
	const cat_table *t = &r->source_cat->tables[pc->table];
	verify_chunk *vc = &r->chunks[idx];
	char		what[512];
	double		t0 = clock_seconds();
	bool		merged;
	int			rc;

	if (w->source == NULL || w->target == NULL)
		return err_set(err, SIDE_LOCAL, -ENOTCONN, "worker %d has no connection", w->id);
	plan_chunk_describe(pc, t, what, sizeof(what));
	merged = ctx->full->tables[pc->table].nchunks > 1 && r->plan->tables[pc->table].nchunks == 1;
	rc = check_chunk(ctx, w, t, pc, ctx->known ? &ctx->known[idx] : NULL, !merged, vc, what, err);
	if (rc == 0 && merged && vc->status == VERIFY_DIFFERENT)
		rc = check_parts(ctx, w, t, pc, vc, what, err);
	vc->seconds = clock_seconds() - t0;
	if (rc < 0)
	{
		vc->status = VERIFY_FAILED;
		io_loop_forget(w->loop);
		conn_close(&w->source);		/* in an unknown state: the run ends anyway */
		conn_close(&w->target);
		return rc;
	}
	if (vc->status == VERIFY_DIFFERENT)
		log_verbose("%s differs: %llu rows on the source, %llu on the target", what,
					(unsigned long long) vc->source.rows, (unsigned long long) vc->target.rows);
	*rows = vc->target.rows;
	return (int64_t) vc->bytes;
}

static const sched_ops verify_ops = {verify_worker_open, verify_worker_run, verify_worker_close};

/* A chunk is in the sample when a hash of its number falls below the share. */
static bool
in_sample(int idx, double sample)
{
	uint64_t	x = (uint64_t) idx + 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (double) (x >> 11) / 9007199254740992.0 < sample;
}

/*
 * The clone's source digests, per chunk of p (the clone's plan with its
 * ctid-split tables made whole): a whole table's digest sums its chunks'.
 */
static chunk_digest *
clone_digests(const plan *clone_plan, const chunk_digest *digests, const plan *p)
{
	chunk_digest *known = calloc((size_t) p->nchunks + 1, sizeof(chunk_digest));

	if (known == NULL)
		return NULL;
	for (int t = 0; t < p->ntables; t++)
	{
		const plan_table *ct = &clone_plan->tables[t];

		for (int i = 0; i < ct->nchunks; i++)
		{
			int			k = p->tables[t].first_chunk + (p->tables[t].nchunks == 1 ? 0 : i);

			chunk_digest_merge(&known[k], &digests[ct->first_chunk + i]);
		}
	}
	return known;
}

/*
 * Marks the keyed tables to read whole, in one pass each: a sequential scan
 * costs the servers less per row than key ranges.  Only tables that leave
 * the work spread over the jobs (plan_reads_whole).  Not with --sample, a
 * share of the chunks, nor after a clone, which records each chunk's target
 * digest beside its source digest.
 */
static void
choose_whole(const verify_report *r, const verify_options *opt, const plan *full, bool *whole)
{
	int64_t		total = 0;

	for (int i = 0; i < full->nchunks; i++)
		if (r->tables[full->chunks[i].table].comparable)
			total += full->chunks[i].est_bytes;
	for (int t = 0; t < full->ntables; t++)
	{
		const plan_table *pt = &full->tables[t];
		int64_t		bytes = 0;

		for (int i = 0; i < pt->nchunks; i++)
			bytes += full->chunks[pt->first_chunk + i].est_bytes;
		whole[t] = opt->sample >= 1.0 && opt->clone_plan == NULL && r->tables[t].comparable &&
			pt->method == PLAN_KEY && plan_reads_whole(pt->nchunks, bytes, total, opt->common.jobs);
		if (whole[t])
			log_verbose("verify: table %s read whole, in one pass (%d chunks if it differs)",
						r->source_cat->tables[t].qname, pt->nchunks);
	}
}

/*
 * The report's chunks: those read, except that a table read whole that
 * differed gives way to its chunks of full and their results, which move
 * there from parts.
 */
static int
report_parts(verify_report *r, const plan *full, verify_chunk **parts)
{
	bool	   *whole;
	plan	   *flat = NULL;
	verify_chunk *chunks = NULL;
	bool		any = false;

	for (int t = 0; t < full->ntables; t++)
		any |= parts[t] != NULL;
	if (!any)
		return 0;
	whole = calloc((size_t) full->ntables + 1, sizeof(bool));
	for (int t = 0; whole != NULL && t < full->ntables; t++)
		whole[t] = parts[t] == NULL && r->plan->tables[t].nchunks == 1;
	if (whole == NULL || plan_whole_tables(full, whole, &flat) < 0 ||
		(chunks = calloc((size_t) flat->nchunks + 1, sizeof(verify_chunk))) == NULL)
	{
		free(whole);
		plan_destroy(flat);
		return -ENOMEM;
	}
	for (int t = 0; t < flat->ntables; t++)
	{
		/* the whole read goes from the list, not from the bytes read */
		if (parts[t] != NULL)
			r->bytes += r->chunks[r->plan->tables[t].first_chunk].bytes;
		for (int i = 0; i < flat->tables[t].nchunks; i++)
			chunks[flat->tables[t].first_chunk + i] = parts[t] != NULL ? parts[t][i]
				: r->chunks[r->plan->tables[t].first_chunk + i];
		free(parts[t]);			/* its drill results moved */
		parts[t] = NULL;
	}
	free(whole);
	free(r->chunks);
	plan_destroy(r->owned_plan);
	r->chunks = chunks;
	r->plan = r->owned_plan = flat;
	return 0;
}

/* Opens a holder: a connection in a read-only transaction at a snapshot it exports or imports. */
static int
open_holder(PGconn **conn, const char *conninfo, sl_side side, const char *encoding,
			const char *import, char *exported, size_t exportlen, sl_err *err)
{
	conn_settings settings = {encoding, 0, 0};
	int			rc;

	if ((rc = conn_open(conn, conninfo, side, &settings, err)) < 0)
		return rc;
	if (import == NULL)
		return conn_export_snapshot(*conn, side, exported, exportlen, err);
	snprintf(exported, exportlen, "%s", import);
	return conn_import_snapshot(*conn, side, import, err);
}

/* The report's totals, from its chunks (but the bytes read, which each pass adds). */
static void
tally(verify_report *r)
{
	r->chunks_not_checked = r->chunks_checked = r->chunks_different = 0;
	r->rows_source = r->rows_target = r->rows_different = 0;
	r->diffs_truncated = false;
	r->chunks_repaired = r->chunks_recopied = r->chunks_left = r->chunks_repair_failed = 0;
	r->rows_deleted = r->rows_inserted = r->bytes_written = 0;
	for (int t = 0; t < r->source_cat->ntables; t++)
	{
		r->tables[t].chunks_checked = r->tables[t].chunks_different = 0;
		r->tables[t].rows_source = r->tables[t].rows_target = 0;
	}
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		const verify_chunk *vc = &r->chunks[i];
		verify_table *vt = &r->tables[r->plan->chunks[i].table];

		r->chunks_repaired += vc->repair.state == REPAIR_ROWS;
		r->chunks_recopied += vc->repair.state == REPAIR_RECOPIED;
		r->chunks_left += vc->repair.state == REPAIR_LEFT;
		r->chunks_repair_failed += vc->repair.state == REPAIR_FAILED;
		r->rows_deleted += vc->repair.deleted;
		r->rows_inserted += vc->repair.inserted;
		r->bytes_written += vc->repair.bytes;
		r->chunks_not_checked += vc->status == VERIFY_PENDING;
		/* the rows named: those left after a repair, or, of a chunk not checked again, those found */
		r->rows_different += vc->drill.passes == 0 && vc->status == VERIFY_DIFFERENT ? vc->repair.found.rows
			: vc->drill.rows;
		r->diffs_truncated |= vc->drill.truncated;
		if (vc->status != VERIFY_EQUAL && vc->status != VERIFY_DIFFERENT)
			continue;
		r->chunks_checked++;
		vt->chunks_checked++;
		vt->rows_source += vc->source.rows;
		vt->rows_target += vc->target.rows;
		r->rows_source += vc->source.rows;
		r->rows_target += vc->target.rows;
		if (vc->status == VERIFY_DIFFERENT)
		{
			r->chunks_different++;
			vt->chunks_different++;
		}
	}
}

/* Adds the bytes the pass read of the chunks checked (of those skip leaves in, when given). */
static void
add_bytes(verify_report *r, const uint8_t *skip)
{
	for (int i = 0; i < r->plan->nchunks; i++)
		if ((skip == NULL || !skip[i]) &&
			(r->chunks[i].status == VERIFY_EQUAL || r->chunks[i].status == VERIFY_DIFFERENT))
			r->bytes += r->chunks[i].bytes;
}

/*
 * A repair is refused where a subscription writes into the target
 * database (a clone --follow run's): the next change it applies to a
 * repaired row would undo the repair, or the repair the change.
 */
static int
refuse_followed(PGconn *target, sl_err *err)
{
	PGresult   *res;
	int			rc;

	if ((rc = conn_query(target, SIDE_TARGET, "SELECT s.subname FROM pg_catalog.pg_subscription s "
						 "WHERE s.subenabled AND s.subdbid OPERATOR(pg_catalog.=) (SELECT d.oid FROM "
						 "pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) "
						 "pg_catalog.current_database()) ORDER BY 1 LIMIT 1", &res, err)) < 0)
		return rc;
	if (PQntuples(res) > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EBUSY, "not repairing: subscription \"%s\" replicates into the target "
					 "database, and the changes it applies would race with the repair's", PQgetvalue(res, 0, 0));
		err_hint(err, "Cut over first (pgsluice cutover), or disable the subscription, then repair.");
	}
	PQclear(res);
	return rc;
}

/* Lets go of the sequences' differences, to find them again. */
static void
forget_sequence_problems(verify_report *r)
{
	for (int i = r->catalog_problems; i < r->nproblems; i++)
		free(r->problems[i]);
	r->nproblems = r->catalog_problems;
}

/* Repairs chunk i of the report's plan (engine/repair.h), if it may be. */
static int
repair_one(verify_ctx *ctx, repair_session *rs, int i, sl_err *err)
{
	verify_report *r = ctx->r;
	const plan_chunk *pc = &r->plan->chunks[i];
	const cat_table *t = &r->source_cat->tables[pc->table];
	const verify_table *vt = &r->tables[pc->table];
	verify_chunk *vc = &r->chunks[i];
	repair_result *res = &vc->repair;
	bool		recopy = vc->drill.truncated;
	char		what[512];
	int			rc = 0;

	plan_chunk_describe(pc, t, what, sizeof(what));
	res->found = vc->drill;
	memset(&vc->drill, 0, sizeof(vc->drill));
	if (res->found.ndiffs == 1 && res->found.diffs[0].kind == DRILL_UNEXPLAINED)
	{
		res->state = REPAIR_LEFT;
		res->why = strdup("its rows differ in their binary form only, their text is the same: a copy "
						  "would be the same");
	}
	else if (recopy && t->nkeys == 0 && !ctx->opt->repair_whole_tables)
	{
		res->state = REPAIR_LEFT;
		res->why = strdup("more of its rows differ than --max-diffs (or --repair-chunk-limit) lets verify "
						  "name, and a table without a key is re-copied whole only with --repair-whole-tables");
	}
	else
		rc = repair_chunk(rs, t, vt->target->oid, pc->predicate, &vt->source_columns, recopy, what, res, err);
	if (rc < 0)
		return rc;
	if (rs->sql == NULL && (res->state == REPAIR_ROWS || res->state == REPAIR_RECOPIED))
		metrics_add_repair(res->deleted, res->inserted, res->bytes, res->state == REPAIR_RECOPIED);
	if (res->state == REPAIR_LEFT || res->state == REPAIR_FAILED)
		log_warning("repair: %s: %s", what, res->why != NULL ? res->why : "out of memory");
	else if (rs->sql == NULL)
		log_verbose("repair: %s: %s, %llu rows deleted, %llu copied in, %.2f s", what,
					repair_state_name(res->state), (unsigned long long) res->deleted,
					(unsigned long long) res->inserted, res->seconds);
	return 0;
}

/*
 * The repair of every differing chunk, one after the other, and of the
 * sequences; then, on the target, the repaired chunks checked again at a
 * new snapshot of it (target is the holder, made again), the source at its
 * own still.  With repair_sql the statements are written, and nothing
 * is checked again, since nothing changed.
 */
static int
repair_and_check(verify_ctx *ctx, PGconn *source, PGconn **target, char *target_snapshot, size_t len,
				 sl_err *err)
{
	const verify_options *opt = ctx->opt;
	verify_report *r = ctx->r;
	repair_session rs;
	FILE	   *sql = NULL;
	uint8_t    *again = NULL;
	double		t0 = clock_seconds();
	int			nagain = 0;
	int			chunks_done = 0;
	int			rc;

	if (opt->repair_sql != NULL && (sql = fopen(opt->repair_sql, "w")) == NULL)
		return err_set(err, SIDE_LOCAL, -errno, "could not create the repair file \"%s\": %s", opt->repair_sql,
					   strerror(errno));
	r->repaired = true;
	r->repair_sql = opt->repair_sql;
	rc = repair_open(&rs, source, opt->common.target, ctx->encoding, sql, err);
	for (int i = 0; rc == 0 && i < r->plan->nchunks; i++)
	{
		if (r->chunks[i].status != VERIFY_DIFFERENT)
			continue;
		if (atomic_load(stop_flag()))
			rc = err_set(err, SIDE_INTERRUPT, -EINTR, "repair: interrupted");
		else
			rc = repair_one(ctx, &rs, i, err);
	}
	/* the sequences: the differences found again, and set */
	forget_sequence_problems(r);
	if (rc == 0)
		rc = compare_sequences(r, source, *target, &rs, err);
	repair_close(&rs);
	if (sql != NULL && fclose(sql) != 0 && rc == 0)
		rc = err_set(err, SIDE_LOCAL, -EIO, "could not write the repair file \"%s\": %s", opt->repair_sql,
					 strerror(errno));
	if (sql != NULL && rc < 0)
		(void) unlink(opt->repair_sql);	/* no half of the statements is left to be replayed */
	r->seconds_repair = clock_seconds() - t0;
	tally(r);
	if (rc < 0 || opt->repair_sql != NULL)
		return rc;

	/* the sequences as they are now */
	forget_sequence_problems(r);
	if ((rc = compare_sequences(r, source, *target, NULL, err)) < 0)
		return rc;

	if ((again = calloc((size_t) r->plan->nchunks + 1, 1)) == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		verify_chunk *vc = &r->chunks[i];

		again[i] = vc->repair.state != REPAIR_ROWS && vc->repair.state != REPAIR_RECOPIED;
		if (again[i])
			continue;
		nagain++;
		vc->status = VERIFY_PENDING;
		vc->bytes = 0;
	}
	if (nagain > 0)
	{
		sched_options sopt = {opt->common.jobs, "verify", r->source_cat, again, &ctx->halt, NULL};

		log_info("verify: checking the %d repaired chunks again", nagain);
		t0 = clock_seconds();
		conn_close(target);
		ctx->repairing = false;
		ctx->rows_named = 0;
		ctx->full = r->plan;
		atomic_store(&ctx->halt, 0);
		if ((rc = open_holder(target, opt->common.target, SIDE_TARGET, ctx->encoding, NULL, target_snapshot, len,
							  err)) == 0)
			rc = sched_run(&verify_ops, ctx, r->plan, &sopt, &chunks_done, err);
		r->seconds_recheck = clock_seconds() - t0;
		tally(r);
		add_bytes(r, again);
	}
	free(again);
	return rc;
}

int
verify_run(const verify_options *opt, verify_report **report_out, sl_err *err)
{
	verify_report *r = calloc(1, sizeof(*r));
	verify_ctx	ctx;
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	char		source_snapshot[64] = "";
	char		target_snapshot[64] = "";
	uint8_t    *skip = NULL;
	plan	   *full = NULL;
	bool	   *whole = NULL;
	verify_chunk **parts = NULL;
	chunk_digest *known = NULL;
	double		t_start = clock_seconds();
	int			chunks_done = 0;
	int			rc;

	if (report_out != NULL)
		*report_out = NULL;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	memset(&ctx, 0, sizeof(ctx));
	snprintf(r->io_backend, sizeof(r->io_backend), "none");

	/* the source's encoding is the client encoding of every session, both sides */
	if ((rc = conn_open(&source, opt->common.source, SIDE_SOURCE, NULL, err)) < 0)
		goto done;
	ctx.encoding = strdup(PQparameterStatus(source, "server_encoding"));
	conn_close(&source);
	if (ctx.encoding == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = open_holder(&source, opt->common.source, SIDE_SOURCE, ctx.encoding, opt->snapshot,
						  source_snapshot, sizeof(source_snapshot), err)) < 0 ||
		(rc = open_holder(&target, opt->common.target, SIDE_TARGET, ctx.encoding, NULL,
						  target_snapshot, sizeof(target_snapshot), err)) < 0)
		goto done;
	if (opt->clone_catalog != NULL)
		r->source_cat = opt->clone_catalog;
	else if ((rc = catalog_load(source, SIDE_SOURCE, ANY_TARGET_VERSION, opt->common.filter, &r->owned_cat, err)) == 0)
		r->source_cat = r->owned_cat;
	if (rc < 0 || (rc = catalog_load(target, SIDE_TARGET, ANY_TARGET_VERSION, opt->common.filter, &r->target_cat, err)) < 0)
		goto done;
	r->tables = calloc((size_t) r->source_cat->ntables + 1, sizeof(verify_table));
	if (r->tables == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	ctx.repairing = opt->repair || opt->repair_sql != NULL;
	if ((rc = compare_catalogs(r, err)) < 0)
		goto done;
	r->catalog_problems = r->nproblems;
	if ((rc = compare_sequences(r, source, target, NULL, err)) < 0 ||
		(opt->repair && (rc = refuse_followed(target, err)) < 0))
		goto done;
	log_info("verify: %d tables on the source, %d on the target, %d to compare; %d catalog differences",
			 r->source_cat->ntables, r->target_cat->ntables, r->tables_compared, r->nproblems);

	/* full: the chunks (a table the clone split by ctid made whole); r->plan: the chunks read */
	whole = calloc((size_t) r->source_cat->ntables + 1, sizeof(bool));
	parts = calloc((size_t) r->source_cat->ntables + 1, sizeof(verify_chunk *));
	if (whole == NULL || parts == NULL)
		rc = -ENOMEM;
	else if (opt->clone_plan != NULL)
	{
		for (int t = 0; t < opt->clone_plan->ntables; t++)
			whole[t] = opt->clone_plan->tables[t].method == PLAN_CTID;
		rc = plan_whole_tables(opt->clone_plan, whole, &full);
	}
	else
	{
		plan_options popt = {opt->common.chunk_bytes, false, true, 0};

		if ((rc = plan_build(source, r->source_cat, &popt, &full, err)) < 0)
			goto done;
	}
	if (rc == 0)
	{
		choose_whole(r, opt, full, whole);
		rc = plan_whole_tables(full, whole, &r->owned_plan);
	}
	if (rc == 0)
	{
		r->plan = r->owned_plan;
		r->chunks = calloc((size_t) r->plan->nchunks + 1, sizeof(verify_chunk));
		skip = calloc((size_t) r->plan->nchunks + 1, 1);
		if (opt->clone_digests != NULL &&
			(known = clone_digests(opt->clone_plan, opt->clone_digests, r->plan)) == NULL)
			rc = -ENOMEM;
	}
	if (rc < 0 || r->chunks == NULL || skip == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	r->target_only = known != NULL;
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		skip[i] = !r->tables[r->plan->chunks[i].table].comparable ||
			(opt->sample < 1.0 && !in_sample(i, opt->sample));
		if (skip[i])
			r->chunks[i].status = VERIFY_SKIPPED;
	}

	ctx.opt = opt;
	ctx.r = r;
	ctx.jobs.source = opt->common.source;
	ctx.jobs.snapshot = source_snapshot;
	ctx.jobs.target = opt->common.target;
	ctx.jobs.target_snapshot = target_snapshot;
	ctx.jobs.encoding = ctx.encoding;
	ctx.full = full;
	ctx.known = known;
	ctx.parts = parts;
	pthread_mutex_init(&ctx.drill_lock, NULL);
	{
		sched_options sopt = {opt->common.jobs, "verify", r->source_cat, skip, &ctx.halt, NULL};

		rc = sched_run(&verify_ops, &ctx, r->plan, &sopt, &chunks_done, err);
	}
	if (report_parts(r, full, parts) < 0 && rc == 0)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	tally(r);
	add_bytes(r, NULL);
	if (ctx.repairing)
		rc = repair_and_check(&ctx, source, &target, target_snapshot, sizeof(target_snapshot), err);

done:
	if (ctx.r != NULL)
		pthread_mutex_destroy(&ctx.drill_lock);
	conn_close(&source);
	conn_close(&target);
	free(skip);
	free(known);
	for (int t = 0; parts != NULL && t < r->source_cat->ntables; t++)
	{
		for (int i = 0; parts[t] != NULL && i < full->tables[t].nchunks; i++)
			drill_result_fini(&parts[t][i].drill);
		free(parts[t]);
	}
	free(parts);
	free(whole);
	plan_destroy(full);
	free((char *) ctx.encoding);
	r->seconds = clock_seconds() - t_start;
	if (report_out != NULL)
		*report_out = r;
	else
		verify_report_destroy(r);
	return rc;
}

bool
verify_identical(const verify_report *r)
{
	return r->nproblems == 0 && r->chunks_different == 0;
}

void
verify_report_destroy(verify_report *r)
{
	if (r == NULL)
		return;
	for (int i = 0; r->tables != NULL && i < r->source_cat->ntables; i++)
		free(r->tables[i].target_shapes);
	for (int i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	free(r->tables);
	for (int i = 0; r->chunks != NULL && i < r->plan->nchunks; i++)
	{
		drill_result_fini(&r->chunks[i].drill);
		repair_result_fini(&r->chunks[i].repair);
	}
	free(r->chunks);
	plan_destroy(r->owned_plan);
	catalog_destroy(r->owned_cat);
	catalog_destroy(r->target_cat);
	free(r);
}
