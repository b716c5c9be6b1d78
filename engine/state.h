/*
 * state.h: a run's record in the target database, for exactly-once chunks,
 * resume, retries and more processes on one run.
 *
 * A schema (default "pgsluice") in the target holds:
 *   pgsluice_state_version  the layout's version (a newer pgsluice reads an
 *                           older layout; an older one refuses a newer);
 *   run                     one row per run: source fingerprint, snapshot,
 *                           options, status, step, times, last error;
 *   chunk                   one row per chunk of the run's plan: its table,
 *                           range and size, status, rows, bytes, digest,
 *                           attempts, worker, times, last error;
 *   process                 (layout 2) one row per process working on a run,
 *                           with its heartbeat: how many share the run's
 *                           --max-rate (engine/rate.h).
 * Layout 2 adds the run's max_rate and paused (pgsluice throttle) and the
 * process table; a new run (state_run_create) or one that goes on
 * (state_attach) brings a layout 1 schema up to it, and the readers
 * (status) take a layout 1 record as uncapped and not paused.
 * The schema is recognised by its version table: catalogs leave it out, so
 * it is never copied or compared.
 *
 * Exactly once: a chunk is loaded in one target transaction that first
 * locks the chunk's row (FOR UPDATE SKIP LOCKED, so that no other worker,
 * in this process or another, takes it), then copies its rows, then marks
 * the row done, and commits.  After any crash a chunk is either wholly
 * there and marked done, or wholly absent and pending; a chunk in flight
 * is a pending row that is locked.
 *
 * Thread safety: none inside; each caller passes its own connection.
 */
#ifndef PGSLUICE_ENGINE_STATE_H
#define PGSLUICE_ENGINE_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec/digest.h"
#include "engine/catalog.h"
#include "base/err.h"
#include "engine/plan.h"

#define STATE_SCHEMA_DEFAULT "pgsluice"
#define STATE_VERSION 2
#define STATE_PROCESS_LIVE_SECONDS 3	/* a process whose heartbeat is older has left */

/* Run steps, in order: a resumed run starts at its step. */
#define STATE_STEP_START "start"		/* nothing on the target yet but the run */
#define STATE_STEP_DATA "data"			/* pre-data restored, chunks recorded */
#define STATE_STEP_POST "post-data"		/* every chunk done; sequences and post-data next */
#define STATE_STEP_FOLLOW "following"	/* clone --follow: replication runs until the cutover */
#define STATE_STEP_DONE "done"

typedef struct state
{
	PGconn	   *conn;			/* borrowed: a target connection */
	char	   *schema;			/* quoted identifier, owned */
} state;

typedef struct state_run
{
	int64_t		id;
	char		fingerprint[256];
	char		source[1024];	/* the source's connection string, password removed */
	char		snapshot[64];	/* "" without one */
	bool		best_effort;
	bool		data_only;
	bool		follow;			/* clone --follow: options.follow of its record */
	char		status[16];		/* running, interrupted, failed, following, cut over, done */
	char		step[16];
	char		started_at[40];	/* as the target prints it */
	int64_t		max_rate;		/* the run's cap in bytes per second; 0: none */
	bool		paused;			/* by pgsluice throttle --pause */
	int			processes;		/* processes with a live heartbeat in the record */
} state_run;

typedef struct state_summary
{
	int			chunks;
	int			done;
	int			in_flight;		/* pending and locked by a worker */
	int			failed;			/* pending with a failed attempt behind them */
	uint64_t	rows;			/* of the chunks done */
	uint64_t	bytes;
	int64_t		est_bytes_left; /* heap bytes of the chunks not done */
	double		seconds;		/* since the run started, or its length once finished */
	char		last_error[1024];
} state_summary;

/* Quotes schema for use in SQL; conn is a target connection (borrowed; may be set later). */
int			state_init(state *st, PGconn *conn, const char *schema, sl_err *err);
void		state_fini(state *st);

/* 1 when the schema holds run records, 0 when not, or a negative errno. */
int			state_exists(state *st, sl_err *err);

/*
 * Refuses (-EPERM) a state schema, or a table of the record in it, that
 * belongs to a role other than the connecting one and not to a superuser:
 * its owner could make pgsluice run code of theirs (a trigger, or a view in
 * the place of a table).  Every command that reads or writes the record
 * asks first.
 */
int			state_check_owners(state *st, sl_err *err);

/*
 * For a run that must be recorded already (resume, worker): 1 when the
 * schema holds run records, 0 when it does not (it creates nothing), or a
 * negative errno; refuses a newer layout, or one of another role's
 * (state_check_owners), and brings a layout 1 record to layout 2.
 */
int			state_attach(state *st, sl_err *err);

/* 1 when the schema numbered a run run_id once (it may have been removed since), 0 when not. */
int			state_run_was(state *st, int64_t run_id, sl_err *err);

/* The source's fingerprint: system identifier, database name and OID. */
int			state_fingerprint(PGconn *source, char *out, size_t outlen, sl_err *err);

/*
 * Records a new run, making the schema (marked as pgsluice's, see
 * state_run_forget) and its tables first where missing, in the same
 * transaction, under the state's advisory lock.
 */
int			state_run_create(state *st, state_run *run, const char *options_json, sl_err *err);

/*
 * The newest run recorded in schema of the database conn is connected to,
 * if it is not done, into *run_id (0: none, or no record).  0 or a
 * negative errno.
 */
int			state_unfinished_run(PGconn *conn, const char *schema, int64_t *run_id, sl_err *err);

/* Loads run "which": a number, or "last" (the newest). */
int			state_run_load(state *st, const char *which, state_run *run, sl_err *err);

/*
 * The patterns that run_id chose its tables with (options.filter of its
 * record, as filter_json writes it), added to f; none: the run took all.
 */
int			state_run_filter(state *st, int64_t run_id, cat_filter *f, sl_err *err);

/* Sets status and step (either may be NULL: unchanged), and the last error (NULL: keep). */
int			state_run_set(state *st, int64_t run_id, const char *status, const char *step,
						  const char *error, sl_err *err);

/*
 * Sets the run's cap (bytes per second, 0: none; -1: unchanged) and its
 * pause (1 paused, 0 not, -1 unchanged), which every process of the run
 * reads again within RATE_POLL_SECONDS (engine/rate.h).
 */
int			state_run_throttle(state *st, int64_t run_id, int64_t max_rate, int paused, sl_err *err);

/* The run's layout version on the target (1 or more). */
int			state_layout(state *st, int *version, sl_err *err);

/* What a process of a running run polls: the run's cap and pause, and who shares them. */
typedef struct state_control
{
	int64_t		max_rate;		/* bytes per second; 0: none */
	bool		paused;
	int			processes;		/* live processes of the run, the caller included */
	char		status[16];		/* the run's */
} state_control;

/*
 * Marks process (host/pid) live in run_id's record, now, and reads what
 * the process must obey.
 */
int			state_run_poll(state *st, int64_t run_id, const char *process, state_control *out,
						   sl_err *err);

/* Takes process out of the run's record: it no longer shares the cap. */
int			state_run_leave(state *st, int64_t run_id, const char *process, sl_err *err);

/* A resumed run at a new point in time: the snapshot changes, best effort from now on. */
int			state_run_rebase(state *st, int64_t run_id, const char *snapshot, bool best_effort,
							 sl_err *err);

/*
 * Every chunk of the run pending again, as if never copied (a follow run
 * that lost its snapshot copies again at its new one).
 */
int			state_chunks_reset(state *st, int64_t run_id, sl_err *err);

/* Records every chunk of p (in plan order) and moves the run to step "data", in one transaction. */
int			state_chunks_record(state *st, int64_t run_id, const catalog *cat, const plan *p,
								sl_err *err);

/* What the record says of one chunk. */
typedef struct state_chunk
{
	bool		done;
	uint64_t	rows;			/* of a chunk done */
	uint64_t	bytes;
	chunk_digest digest;		/* of its source rows */
} state_chunk;

/*
 * Rebuilds the run's plan over cat from its chunk rows, and *chunks (one
 * per chunk, allocated) with what each holds.  A table of the run missing
 * from cat is an error.
 */
int			state_chunks_load(state *st, int64_t run_id, const catalog *cat, plan **out,
							  state_chunk **chunks, sl_err *err);

/* Reads the n chunks of the run again (other processes work on them too). */
int			state_chunks_refresh(state *st, int64_t run_id, int n, state_chunk *chunks, sl_err *err);

/*
 * Opens chunk chunk_no's transaction on st->conn (BEGIN) and locks the
 * chunk's record if it is pending and no one else holds it.  *claimed says
 * whether it did; when it did not (done, or another's), the transaction is
 * rolled back, and *held (unless held is NULL) says whether the chunk is
 * still pending in another's hands, which may give it back.
 * *started_epoch receives the time of the claim (Unix seconds), for
 * state_chunk_commit.  The chunk's rows go into the same transaction; after
 * a failure, the caller drops the connection.
 */
int			state_chunk_begin(state *st, int64_t run_id, int chunk_no, bool *claimed, bool *held,
							  double *started_epoch, sl_err *err);

/* After the rows: marks the chunk done, in the same transaction, and commits. */
int			state_chunk_commit(state *st, int64_t run_id, int chunk_no, uint64_t rows,
							   uint64_t bytes, const chunk_digest *digest, const char *worker,
							   double started_epoch, sl_err *err);

/*
 * Records the digests a verification read back from the target, for the
 * chunks numbered chunk_nos[0..n).
 */
int			state_chunks_verified(state *st, int64_t run_id, int n, const int *chunk_nos,
								  const chunk_digest *digests, sl_err *err);

/* In a transaction of its own: counts a failed attempt and keeps its error. */
int			state_chunk_failed(state *st, int64_t run_id, int chunk_no, const char *error,
							   sl_err *err);

int			state_summarize(state *st, int64_t run_id, state_summary *sum, sl_err *err);

/*
 * Removes a run and its chunks; when no other run is recorded, the tables
 * too, and the schema when pgsluice created it and nothing else is in it
 * (*schema_dropped).  One transaction, under the lock state_run_create takes.
 */
int			state_run_forget(state *st, int64_t run_id, bool *schema_dropped, sl_err *err);

/*
 * The end of a finished run: its record removed from the target, unless
 * keep; one line says what became of it.  Returns 0, or a negative errno
 * (the run is still finished: only its record stays).
 */
int			state_run_finish(PGconn *target, const char *schema, int64_t run_id, bool keep, bool *removed,
							 sl_err *err);

#endif
