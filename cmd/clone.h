/*
 * clone.h: one database copied from a source to a target cluster.
 *
 * The steps, in order:
 *   1. connect; unless best effort, one source connection (the holder)
 *      opens a REPEATABLE READ transaction, exports its snapshot and keeps
 *      it until the last chunk is read;
 *   2. read the catalog at that snapshot and lock its tables in ACCESS
 *      SHARE mode, so that no DDL changes them during the run;
 *   3. check the target: with the schema step, none of the tables may exist
 *      yet; with --data-only every table must exist with the same copy
 *      columns and hold no rows (unless --truncate empties them), and the
 *      workers load with session_replication_role = replica, so that the
 *      target's triggers and foreign keys do not fire;
 *   4. schema pre-data (pg_dump at the snapshot, pg_restore);
 *   5. plan the chunks (samples read at the snapshot);
 *   6. copy the chunks with --jobs worker threads, largest first, each
 *      worker importing the snapshot; then release the snapshot.  With a
 *      spill directory, readers write the chunks to files there and
 *      loaders load them (cmd/clone_spill.c), and the snapshot is
 *      released once the last chunk is read;
 *   7. set every sequence; 8. schema post-data with --jobs sessions, and
 *      refresh the materialized views that hold data on the source;
 *   9. with verify, the verification pass (engine/verify.h): only the
 *      target is read, against the digests the copy took of the source,
 *      and the snapshot is held until it ends, for drilling down.
 * The report holds every chunk's rows, bytes and digest.
 *
 * Thread safety: clone_run starts and joins its worker threads itself;
 * stop_request (engine/stop.h) stops it from a signal handler.
 */
#ifndef PGSLUICE_CMD_CLONE_H
#define PGSLUICE_CMD_CLONE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "engine/check.h"
#include "engine/copy.h"
#include "engine/follow.h"
#include "base/err.h"
#include "engine/plan.h"
#include "engine/state.h"
#include "engine/verify.h"
#include "io/loop.h"
#include "engine/options.h"

typedef struct clone_options
{
	common_options common;		/* the options the commands share (engine/options.h) */
	bool		data_only;		/* the target's schema exists already */
	bool		truncate;		/* empty target tables that hold rows */
	bool		best_effort;	/* no snapshot: each chunk consistent alone */
	bool		verify;			/* verify the copy at the end */
	uint64_t	max_diffs;		/* differing rows the verification names */
	bool		repair;			/* a verification that differs repairs (verify_options.repair) */
	const char *state_schema;	/* where the run is recorded on the target */
	const char *resume;			/* NULL: a new run; else a run number or "last" */
	bool		require_consistent; /* refuse to resume at a new point in time */
	int			retries;		/* further attempts at a chunk after a transient failure */
	bool		split_all;		/* split every table of more than one chunk (plan_reads_whole) */
	const char *spill_dir;		/* NULL: straight from source to target; else through chunk files here */
	int			load_jobs;		/* with spill_dir: sessions loading the files; 0: jobs */
	int64_t		spill_limit;	/* with spill_dir: readers wait while the files take this; 0: no limit */
	bool		keep_spill;		/* with spill_dir: keep the files once loaded */
	int			compress_level; /* with spill_dir: zstd level; 0: the default */
	bool		keep_record;	/* keep a finished run's record on the target */
	bool		follow;			/* keep the target in sync afterwards (engine/follow.h) */
	const char *follow_source;	/* with follow: how the target's server reaches the source; NULL: source */
	/* shown the findings of the checks run before anything is written (engine/check.h); may be NULL */
	check_shown_fn on_check;
	void	   *on_check_arg;
} clone_options;

typedef enum chunk_status
{
	CHUNK_PENDING = 0,
	CHUNK_RUNNING,
	CHUNK_DONE,
	CHUNK_FAILED
} chunk_status;

typedef struct clone_chunk
{
	chunk_status status;
	int			worker;
	copy_result result;
	bool		elsewhere;		/* copied by an earlier attempt at the run or another process */
	double		started;		/* seconds since the data step began */
	double		seconds;
} clone_chunk;

typedef struct clone_table
{
	uint64_t	rows;
	uint64_t	bytes;
	int			chunks_done;
	double		seconds;		/* from its first chunk's start to its last chunk's end */
	chunk_digest digest;		/* of all its rows */
} clone_table;

typedef struct clone_report
{
	const cat_filter *filter;	/* the tables the run took (NULL: all) */
	cat_filter	recorded;		/* a resumed or joined run's, from its record */
	catalog    *cat;			/* NULL when the run failed before reading it */
	plan	   *plan;			/* NULL when it failed before planning */
	clone_chunk *chunks;		/* parallel to plan->chunks */
	clone_table *tables;		/* parallel to cat->tables */
	char		snapshot[64];	/* "" in best-effort mode */
	int64_t		run_id;			/* its record on the target; 0 before there is one */
	bool		resumed;
	bool		data_only;		/* asked for, or the resumed run's */
	bool		best_effort;	/* asked for, or a resumed run whose snapshot was gone */
	bool		nothing_to_do;	/* a resumed run that had finished; a worker's run that had */
	bool		refused;		/* the checks found blockers: nothing was written */
	bool		record_removed; /* finished, and its record removed from the target */
	int			chunks_elsewhere;	/* done before this process took them up */
	int			retries;
	char		io_backend[16];
	int			source_major;
	int			target_major;
	int			sequences_set;
	int			chunks_done;
	uint64_t	rows;
	uint64_t	bytes;
	double		seconds_schema; /* pre-data */
	double		seconds_data;
	double		seconds_read;	/* with spill_dir: until the last chunk was read */
	bool		snapshot_released;	/* with spill_dir: at seconds_read, while loading went on */
	uint64_t	spill_peak;		/* with spill_dir: most bytes of chunk files on disk at once */
	double		seconds_sequences;
	double		seconds_post;	/* post-data */
	double		seconds_verify;
	verify_report *verify;		/* with --verify, once it ran */
	bool		follow;			/* a follow run (asked for, or the resumed run's) */
	char		follow_name[FOLLOW_NAME_MAX];	/* its publication, slot and subscription */
	bool		following;		/* the subscription streams: the run waits for its cutover */
	follow_state replication;	/* as the clone left it */
	double		seconds_total;
} clone_report;

/*
 * Runs a clone.  *report (when report is not NULL) receives what was done,
 * also after a failure, and is freed with clone_report_destroy.
 */
int			clone_run(const clone_options *opt, clone_report **report, sl_err *err);

/*
 * Joins a run that another process started (which: a run number or
 * "last"): imports its snapshot while that process holds it, and copies
 * the chunks no one has taken, until none are left free.  opt->source may
 * be NULL: the run's own (its password from .pgpass or PGPASSWORD).
 */
int			clone_join(const clone_options *opt, const char *which, clone_report **report, sl_err *err);


void		clone_report_destroy(clone_report *report);

#endif
