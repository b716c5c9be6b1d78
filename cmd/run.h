/*
 * run.h: the commands on a recorded run, beside the process that runs it:
 * status (its record and progress), throttle (its cap and pause, which its
 * processes poll) and cleanup (its record removed).  Each opens the
 * target, finds the record in the state schema (engine/state.h) and
 * checks its owners before it reads or changes it.
 */
#ifndef PGSLUICE_CMD_RUN_H
#define PGSLUICE_CMD_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/follow.h"
#include "engine/globals.h"
#include "engine/state.h"

/* A run's record and progress (which: a run number or "last"). */
int			run_status(const char *target, const char *schema, const char *which, state_run *run,
					   state_summary *sum, sl_err *err);

/*
 * Changes a running run's cap (max_rate: bytes per second, 0 none, -1
 * unchanged) or pause (1 pause, 0 resume, -1 unchanged) through its
 * record; *run receives the record as it is then.  A run that is not
 * running, or a record of a layout before throttle, is refused.
 */
int			run_throttle(const char *target, const char *schema, const char *which, int64_t max_rate,
						 int paused, state_run *run, sl_err *err);

/*
 * Removes a run's record; *run_id says which it was, *schema_dropped
 * whether the state schema went with it (see state_run_forget).  A follow
 * run's subscription, slot and publication go first (source NULL: the
 * run's recorded one), counted in *replication_dropped; when the source
 * cannot be reached the record stays.
 */
int			run_cleanup(const char *target, const char *source, const char *schema, const char *which,
						int64_t *run_id, bool *schema_dropped, int *replication_dropped, sl_err *err);

/* What status shows of a follow run's replication. */
typedef struct run_follow
{
	char		name[FOLLOW_NAME_MAX];	/* of its publication, slot and subscription */
	follow_state state;
	int64_t		source_free_bytes;	/* follow_source_free_disk: -1 when not known */
	int64_t		slot_wal_limit; /* the WAL the slot may hold before status warns */
	char		slot_wal_why[160];	/* where that limit comes from, for the warning */
} run_follow;

#define RUN_SLOT_WAL_DEFAULT (50LL << 30)	/* where the source's free disk is not known */

/*
 * A follow run's publication, slot and subscription, as the servers say
 * (source NULL: the run's recorded one), into *out.  The slot's limit is
 * max_slot_wal when it is not negative (--max-slot-wal), else 10% of the
 * source's free disk when known, else RUN_SLOT_WAL_DEFAULT.
 */
int			run_follow_state(const char *target, const char *source, const state_run *run,
							 int64_t max_slot_wal, run_follow *out, sl_err *err);

/*
 * --all-databases: the runs of a cluster run are recorded each in its own
 * database.  The target's connectable databases but template0 and
 * template1 that the patterns choose, and for each whether it holds a
 * run record in schema, with its connection string.  A database that
 * cannot be read is listed with its error.
 */
typedef struct run_database
{
	char	   *name;
	char	   *conninfo;		/* the target's, naming this database */
	bool		recorded;		/* the schema holds run records */
	sl_err		err;			/* why it could not be looked at */
	/* run_databases_status: its last run */
	bool		loaded;
	state_run	run;
	state_summary sum;
	/* run_databases_follow: a follow run's replication (known), or why it could not be read */
	bool		follows;
	bool		follow_known;
	run_follow	follow;
	sl_err		follow_err;
} run_database;

int			run_databases(const char *target, const char *schema, const globals_patterns *patterns,
						  run_database **out, int *n, sl_err *err);
void		run_databases_free(run_database *dbs, int n);

/* The last run of each recorded database, into its run and sum (loaded), or its err. */
void		run_databases_status(run_database *dbs, int n, const char *schema);

/* After run_databases_status: each loaded follow run's replication, read through its recorded source. */
void		run_databases_follow(run_database *dbs, int n, int64_t max_slot_wal);

#endif
