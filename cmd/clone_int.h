/*
 * clone_int.h: what the files of the clone command share: clone.c (the
 * run and its steps), clone_chunks.c (its data step on workers),
 * clone_spill.c (the data step through a spill directory) and
 * clone_worker.c (a joining process).  Not for other modules.
 */
#ifndef PGSLUICE_CMD_CLONE_INT_H
#define PGSLUICE_CMD_CLONE_INT_H

#include <stdatomic.h>

#include <libpq-fe.h>

#include "engine/chunkjob.h"
#include "cmd/clone.h"

/* What the clone's workers share; read-only but for the atomics and each chunk's slot. */
typedef struct clone_ctx
{
	const clone_options *opt;
	const catalog *cat;
	const plan *plan;
	clone_report *report;
	int64_t		run_id;
	PGconn	  **control;		/* the run's control connection, renewed by refresh_control */
	PGconn	   *holder;			/* holds the snapshot; NULL when there is none to release */
	chunkjob_spec jobs;			/* what the workers' chunk jobs open */
	char		worker_prefix[128]; /* host and pid, for the chunk records */
	double		started;
	atomic_int	fallback_said;	/* the io_uring fallback was reported */
	atomic_int	replica_said;	/* the session_replication_role refusal was reported */
	atomic_int	retries;		/* chunk attempts that failed and were retried */
} clone_ctx;

/*
 * Fills ctx for the chunks of r (its catalog, plan, snapshot and run),
 * read from source, the run's control connection in *control.
 */
void		clone_ctx_init(clone_ctx *ctx, const clone_options *opt, const char *source, clone_report *r,
						   PGconn **control);

/*
 * Copies every chunk not done yet with opt->jobs workers, until the record
 * shows them all done (unless only_free: a joining worker leaves once no
 * chunk is free).  See clone_chunks.c.
 */
int			clone_run_chunks(clone_ctx *ctx, state *st, state_chunk *chunks, bool only_free, sl_err *err);

/* The source's catalog at the holder's snapshot, its tables locked while a snapshot is held. */
int			clone_load_source(clone_report *r, PGconn *holder, bool lock, sl_err *err);

/*
 * A resumed or joined run takes its tables as it first chose them, from its
 * record; table options given now must say the same.
 */
int			clone_take_recorded_filter(clone_report *r, state *st, const cat_filter *given, sl_err *err);

/* The run's plan and chunks, from its record; the report's chunk slots to match. */
int			clone_load_recorded_plan(state *st, clone_report *r, state_chunk **chunks, sl_err *err);

/* Chunks that an earlier attempt or another process copied: their figures come from the record. */
void		clone_take_recorded_chunks(clone_report *r, const state_chunk *chunks);

/*
 * Data-only mode: finds target tables that hold rows; refuses them, or with
 * truncate empties them all in one statement (the large objects unlinked).
 */
int			clone_empty_target(PGconn *target, const catalog *cat, bool truncate, sl_err *err);

/*
 * A follow run's point in time (cmd/clone_follow.c): the publication of
 * the run's tables, a new slot with its snapshot (held by slot->repl), that
 * snapshot in holder and r->snapshot, the catalog read at it into r->cat
 * (read before, without a snapshot, when r->cat is NULL).  A resumed run at
 * step data whose chunks were copied at a lost snapshot has them pending
 * again and the target's tables emptied.
 */
int			clone_follow_snapshot(const clone_options *opt, clone_report *r, state *st, PGconn *holder,
								  PGconn *control, const char *step, follow_slot *slot, sl_err *err);

/* A follow run resumed past its data step: its slot must still be on the source. */
int			clone_follow_check_slot(clone_report *r, PGconn *holder, PGconn *control, sl_err *err);

/* The subscription, once the data and post-data are there; waits until it streams. */
int			clone_follow_subscribe(const clone_options *opt, clone_report *r, PGconn *holder, PGconn *control,
								   sl_err *err);

/* The report's per-table figures, summed from its chunks. */
void		clone_sum_tables(clone_report *r);

/*
 * The data step of clone --spill over the chunks that skip leaves (see
 * clone_spill.c); *chunks_done counts those loaded.  Releases the snapshot
 * (commits ctx->holder, then sets it to NULL) once the last chunk is read.
 */
int			clone_spill_chunks(clone_ctx *ctx, const uint8_t *skip, int *chunks_done, sl_err *err);

#endif
