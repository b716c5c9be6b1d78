/*
 * clone_chunks.c: the data step of a clone, the run's chunks on --jobs
 * workers (engine/sched.h), each a chunk job (engine/chunkjob.h) that
 * copies its key range or ctid range from the source to the target in one
 * target transaction with its record.  Used by clone_run and by a joining
 * worker (clone_worker.c); with --spill the chunks go through
 * clone_spill.c instead, once.
 *
 * Thread safety: a chunk's slot in the report is written by the one worker
 * that runs it and read after the scheduler has joined them all; the
 * context's counters are atomic.
 */
#include "cmd/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/sched.h"
#include "engine/state.h"
#include "engine/stop.h"

/* A clone worker: the copy machinery, and the chunk job over its two sessions. */
typedef struct clone_worker
{
	copy_worker copy;			/* its source and target are the job's sessions */
	chunkjob	job;
	clone_ctx  *ctx;
	int			idx;			/* the chunk it copies */
} clone_worker;

static int
clone_worker_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	clone_ctx  *ctx = arg;
	clone_worker *cw = calloc(1, sizeof(*cw));
	char		name[160];
	int			rc;

	*state_out = cw;
	if (cw == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting worker %d", id);
	rc = copy_worker_init(&cw->copy, id, ctx->opt->common.io_kind, ctx->opt->common.via_libpq, stop, &ctx->fallback_said,
						  ctx->report->io_backend, sizeof(ctx->report->io_backend), err);
	if (rc < 0)
		return rc;
	cw->ctx = ctx;
	snprintf(name, sizeof(name), "%s/%d", ctx->worker_prefix, id);
	if ((rc = chunkjob_init(&cw->job, &ctx->jobs, &cw->copy.source, &cw->copy.target, name, err)) < 0)
		return rc;
	return chunkjob_open(&cw->job, err);
}

/* The chunk's work in its transaction: copy its rows. */
static int
copy_work(void *arg, chunkjob *job, chunkjob_done *done, sl_err *err)
{
	clone_worker *cw = arg;
	clone_ctx  *ctx = cw->ctx;
	clone_chunk *c = &ctx->report->chunks[cw->idx];
	int			rc;

	(void) job;
	c->status = CHUNK_RUNNING;
	c->worker = cw->copy.id;
	c->started = clock_seconds() - ctx->started;
	if ((rc = copy_chunk(&cw->copy, ctx->cat, &ctx->plan->chunks[cw->idx], &c->result, err)) < 0)
	{
		io_loop_forget(cw->copy.loop);
		return rc;
	}
	done->rows = c->result.rows;
	done->bytes = c->result.bytes;
	done->digest = c->result.digest;
	return 0;
}

/*
 * One attempt at the worker's chunk, in one target transaction: take the
 * chunk's record, copy the rows, mark the record done, commit.
 * job.claimed is false when the chunk was done already or another worker
 * holds it.
 */
static int
chunk_attempt(void *arg, sl_err *err)
{
	clone_worker *cw = arg;
	clone_ctx  *ctx = cw->ctx;
	clone_chunk *c = &ctx->report->chunks[cw->idx];
	const plan_chunk *pc = &ctx->plan->chunks[cw->idx];
	int			rc;

	rc = chunkjob_attempt(&cw->job, cw->idx, pc, &ctx->cat->tables[pc->table], copy_work, cw, err);
	if (rc < 0)
		c->status = CHUNK_PENDING;
	else if (cw->job.claimed)
	{
		c->seconds = clock_seconds() - ctx->started - c->started;
		c->status = CHUNK_DONE;
	}
	return rc;
}

/* After a failed attempt: the failure goes on record once the target takes connections again. */
static void
chunk_retrying(void *arg, const sl_err *failure)
{
	clone_worker *cw = arg;

	chunkjob_failed(&cw->job, cw->idx, failure);
}

static int64_t
clone_worker_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	clone_ctx  *ctx = arg;
	clone_worker *cw = state_arg;
	const plan_chunk *pc = &ctx->plan->chunks[idx];
	const char *table = ctx->cat->tables[pc->table].qname;
	clone_chunk *c = &ctx->report->chunks[idx];
	char		what[512];
	sched_retry retry = {chunk_attempt, chunk_retrying, cw, what, "on new connections", ctx->opt->retries,
						 cw->copy.stop, &ctx->retries};
	int			rc;

	snprintf(what, sizeof(what), "chunk %d of %s", pc->seq, table);
	cw->idx = idx;
	if ((rc = sched_retry_run(&retry, err)) < 0)
	{
		c->status = CHUNK_FAILED;
		return rc;
	}
	if (!cw->job.claimed)
		return 0;				/* done before, or another worker's */
	log_verbose("chunk %d of %s: %llu rows in %.2f s", pc->seq, table,
				(unsigned long long) c->result.rows, c->seconds);
	*rows = c->result.rows;
	return (int64_t) c->result.bytes;
}

static void
clone_worker_close(void *arg, void *state_arg)
{
	clone_worker *cw = state_arg;

	(void) arg;
	if (cw == NULL)
		return;
	chunkjob_fini(&cw->job);
	copy_worker_fini(&cw->copy);
	free(cw);
}

static const sched_ops clone_ops = {clone_worker_open, clone_worker_run, clone_worker_close};

/*
 * Makes sure the control connection still works (the target may have
 * restarted while the workers retried): reconnects, with the chunks'
 * backoff, as many times as they may retry.
 */
static int
refresh_control(clone_ctx *ctx, state *st, sl_err *err)
{
	PGresult   *res = PQexec(st->conn, "SELECT 1");
	bool		alive = PQresultStatus(res) == PGRES_TUPLES_OK;
	conn_settings settings = {ctx->cat->encoding, 1, 0};
	PGconn	   *conn = NULL;
	int			rc = 0;

	PQclear(res);
	if (alive)
		return 0;
	for (int attempt = 1;; attempt++)
	{
		sl_err		e;

		err_clear(&e);
		if ((rc = conn_open(&conn, ctx->opt->common.target, SIDE_TARGET, &settings, &e)) == 0)
			break;
		if (attempt > ctx->opt->retries || atomic_load(stop_flag()))
			return err_take(err, &e);
		log_warning("%s; trying again", e.msg);
		sched_backoff(attempt, stop_flag());
	}
	PQfinish(st->conn);
	st->conn = conn;
	*ctx->control = conn;
	return rc;
}

/*
 * Copies every chunk not done yet with opt->common.jobs workers, until the record
 * shows them all done: chunks that other processes held when this one
 * passed them are taken up again once free, and this process waits while
 * others finish theirs (unless only_free: a joining worker leaves then).
 */
int
clone_run_chunks(clone_ctx *ctx, state *st, state_chunk *chunks, bool only_free, sl_err *err)
{
	const plan *p = ctx->plan;
	clone_report *r = ctx->report;
	uint8_t    *skip = calloc((size_t) p->nchunks + 1, 1);
	bool		first = true;
	int			rc = 0;

	if (skip == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	ctx->started = clock_seconds();
	for (;;)
	{
		sched_options sopt = {ctx->opt->common.jobs, "data", ctx->cat, skip, NULL, NULL};
		int			pending = 0;
		int			done_now = 0;
		state_summary sum;

		for (int i = 0; i < p->nchunks; i++)
		{
			skip[i] = chunks[i].done || r->chunks[i].status == CHUNK_DONE;
			pending += !skip[i];
		}
		if (pending == 0)
			break;
		/*
		 * Through the spill directory once.  Its readers read every chunk
		 * not done, and its loaders keep the files of chunks that others
		 * hold until those are done or given back: once it is through, the
		 * released snapshot is needed for nothing.
		 */
		if (ctx->opt->spill_dir != NULL && first)
			rc = clone_spill_chunks(ctx, skip, &done_now, err);
		else
			rc = sched_run(&clone_ops, ctx, p, &sopt, &done_now, err);
		first = false;
		if (rc < 0)
			break;
		/* what this process did is in its report; the record also has what others did */
		if ((rc = refresh_control(ctx, st, err)) < 0 ||
			(rc = state_chunks_refresh(st, ctx->run_id, p->nchunks, chunks, err)) < 0 ||
			(rc = state_summarize(st, ctx->run_id, &sum, err)) < 0)
			break;
		if (sum.done == sum.chunks || only_free)
			break;
		if (sum.chunks - sum.done == sum.in_flight)
		{
			struct timespec wait = {1, 0};

			log_info("data: waiting for %d chunks that other processes are copying", sum.in_flight);
			nanosleep(&wait, NULL);
		}
		if (atomic_load(stop_flag()))
		{
			rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");
			break;
		}
	}
	free(skip);
	r->chunks_done = 0;
	for (int i = 0; i < p->nchunks; i++)
		r->chunks_done += r->chunks[i].status == CHUNK_DONE;
	return rc;
}

void
clone_ctx_init(clone_ctx *ctx, const clone_options *opt, const char *source, clone_report *r,
		 PGconn **control)
{
	char		host[64] = "";

	memset(ctx, 0, sizeof(*ctx));
	gethostname(host, sizeof(host) - 1);
	ctx->opt = opt;
	ctx->cat = r->cat;
	ctx->plan = r->plan;
	ctx->report = r;
	ctx->run_id = r->run_id;
	ctx->control = control;
	ctx->jobs.source = source;
	ctx->jobs.snapshot = r->snapshot[0] ? r->snapshot : NULL;
	ctx->jobs.target = opt->common.target;
	ctx->jobs.encoding = r->cat->encoding;
	ctx->jobs.replica = opt->data_only;
	ctx->jobs.replica_said = &ctx->replica_said;
	ctx->jobs.state_schema = opt->state_schema;
	ctx->jobs.run_id = r->run_id;
	snprintf(ctx->worker_prefix, sizeof(ctx->worker_prefix), "%s/%d", host, (int) getpid());
}

