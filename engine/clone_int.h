/*
 * clone_int.h: what clone.c shares with clone_spill.c, the data step of
 * clone --spill.  Not for other modules.
 */
#ifndef PGSLUICE_ENGINE_CLONE_INT_H
#define PGSLUICE_ENGINE_CLONE_INT_H

#include <stdatomic.h>

#include <libpq-fe.h>

#include "engine/clone.h"

/* What the clone's workers share; read-only but for the atomics and each chunk's slot. */
typedef struct clone_ctx
{
	const clone_options *opt;
	const catalog *cat;
	const plan *plan;
	clone_report *report;
	const char *source;			/* connection string of the source */
	const char *snapshot;		/* NULL: best effort */
	int64_t		run_id;
	PGconn	  **control;		/* the run's control connection, renewed by refresh_control */
	PGconn	   *holder;			/* holds the snapshot; NULL when there is none to release */
	char		worker_prefix[128]; /* host and pid, for the chunk records */
	double		started;
	atomic_int	fallback_said;	/* the io_uring fallback was reported */
	atomic_int	replica_said;	/* the session_replication_role refusal was reported */
	atomic_int	retries;		/* chunk attempts that failed and were retried */
} clone_ctx;

/* A source connection at the run's snapshot; closes *source first. */
int			clone_open_source(clone_ctx *ctx, PGconn **source, sl_err *err);

/* A target connection for loading, with the run's session settings; closes *target first. */
int			clone_open_target(clone_ctx *ctx, PGconn **target, sl_err *err);

/*
 * The data step of clone --spill over the chunks that skip leaves (see
 * clone_spill.c); *chunks_done counts those loaded.  Releases the snapshot
 * (commits ctx->holder, then sets it to NULL) once the last chunk is read.
 */
int			clone_spill_chunks(clone_ctx *ctx, const uint8_t *skip, int *chunks_done, sl_err *err);

#endif
