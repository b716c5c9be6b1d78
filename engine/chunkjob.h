/*
 * chunkjob.h: the step every command's workers take, one chunk at a time.
 *
 * A worker holds the sessions its chunks need: a source session at the
 * run's snapshot, for a command that reads the source (clone, dump,
 * verify), and a target session with the run's settings, for one that
 * writes the target (clone, restore) or reads it (verify).  A chunk of a
 * recorded run is done in one target transaction: its record is claimed
 * (state_chunk_begin), the command's work runs, and the record is marked
 * done with the chunk's rows and digest (state_chunk_commit) before the
 * commit.  A failed attempt closes the sessions, which rolls the chunk back
 * on the target; the next attempt opens them again.  A session given up for
 * a stall is ended over the next one (conn_stalled), since its backend
 * holds the chunk's record until its server notices.
 *
 * The sessions live where the command keeps them (a copy_worker's, a
 * loader's): the job is given the two slots, so that the command's own
 * code, which may close a session on failure, and the job agree on it.
 *
 * Thread safety: a job belongs to one worker thread; its spec is shared
 * read-only but for the replica_said flag, which is atomic.
 */
#ifndef PGSLUICE_ENGINE_CHUNKJOB_H
#define PGSLUICE_ENGINE_CHUNKJOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/err.h"
#include "codec/digest.h"
#include "engine/catalog.h"
#include "engine/conn.h"
#include "engine/plan.h"
#include "engine/state.h"

/* What a command's jobs open; shared by its workers, read-only. */
typedef struct chunkjob_spec
{
	const char *source;			/* connection string; NULL: the jobs open no source session */
	const char *snapshot;		/* the source snapshot every source session imports; NULL: none */
	const char *target;			/* connection string; NULL: no target session */
	const char *target_snapshot;	/* NULL: the target is written (a target session, as
									 * conn_settings says); else read at this snapshot */
	const char *encoding;		/* client encoding of every session (the source's) */
	bool		replica;		/* writes with session_replication_role = replica (the
								 * schema is there with its triggers and foreign keys) */
	atomic_int *replica_said;	/* the target's refusal of that is reported once; may be NULL */
	const char *state_schema;	/* the run's record on the target; NULL: chunks not recorded */
	int64_t		run_id;
} chunkjob_spec;

typedef struct chunkjob
{
	const chunkjob_spec *spec;
	PGconn	  **source;			/* the worker's source session slot, or NULL */
	PGconn	  **target;			/* the worker's target session slot, or NULL */
	state		st;				/* over *target, re-pointed when it is opened again */
	conn_stalled stalled;		/* a session given up, ended over the next one */
	char		name[160];		/* host/pid/worker, recorded with its chunks */
	bool		claimed;		/* the last attempt took the chunk's record (or there is none) */
	bool		held;			/* the last attempt found the chunk in another's hands */
} chunkjob;

/* What a chunk's work moved, for its record. */
typedef struct chunkjob_done
{
	uint64_t	rows;
	uint64_t	bytes;			/* of the COPY stream */
	chunk_digest digest;
} chunkjob_done;

/* The command's work on the chunk, inside its transaction; fills *done. */
typedef int (*chunkjob_work_fn) (void *arg, chunkjob *job, chunkjob_done *done, sl_err *err);

/* A source session at the spec's snapshot; closes *source first. */
int			chunkjob_open_source(const chunkjob_spec *spec, PGconn **source, sl_err *err);

/* A target session with the spec's settings (see chunkjob_spec); closes *target first. */
int			chunkjob_open_target(const chunkjob_spec *spec, PGconn **target, sl_err *err);

/*
 * Sets up a job over the worker's slots (either may be NULL when the spec
 * opens no such session); its sessions open with chunkjob_open, or with
 * the first attempt.  name goes on the chunks' records.  chunkjob_fini
 * releases what it made, not the sessions.
 */
int			chunkjob_init(chunkjob *job, const chunkjob_spec *spec, PGconn **source, PGconn **target,
						  const char *name, sl_err *err);
void		chunkjob_fini(chunkjob *job);

/* Opens the job's sessions again, closing any that are open. */
int			chunkjob_open(chunkjob *job, sl_err *err);

/*
 * One attempt at chunk chunk_no (pc, of table t): opens the sessions that a
 * failure closed, claims its record, runs work, commits the record with
 * what work did.  job->claimed is false when the chunk was done already or
 * another process holds it (job->held).  On failure the sessions are
 * closed, a stall is named after the chunk, and the error returned.
 */
int			chunkjob_attempt(chunkjob *job, int chunk_no, const plan_chunk *pc, const cat_table *t,
							 chunkjob_work_fn work, void *arg, sl_err *err);

/*
 * After a failed attempt and its backoff (sched_retry's retrying): once
 * the target takes sessions again, the failure goes on the chunk's record.
 */
void		chunkjob_failed(chunkjob *job, int chunk_no, const sl_err *failure);

#endif
