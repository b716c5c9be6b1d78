/*
 * cutover.h: pgsluice cutover, the end of a clone --follow run.
 *
 * While the application's writes are stopped: checks that the source no
 * longer takes writes on the followed tables (a second's watch of their
 * row counters and of the locks writers hold), takes the source's WAL
 * position and waits until the target has applied it, sets every sequence
 * from the source, with --verify proves every chosen table identical (the
 * source is still, so the proof is exact; on a difference replication is
 * kept), then drops the subscription, the slot and the publication, and
 * records the run as cut over.  Each step's seconds are the write downtime.
 * A cluster run (clone --all-databases --follow) is cut over in one
 * command, every database's run together.
 */
#ifndef PGSLUICE_CMD_CUTOVER_H
#define PGSLUICE_CMD_CUTOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/filter.h"
#include "engine/follow.h"
#include "engine/options.h"
#include "engine/verify.h"

typedef struct cutover_options
{
	common_options common;		/* target; source NULL: the run's recorded one; jobs for the verify */
	const char *state_schema;
	const char *run;			/* a run number, or "last" */
	bool		force;			/* skip the watch for writes */
	double		max_wait;		/* seconds to wait for the target to apply the source's position */
	int64_t		sequence_margin;	/* added to every sequence */
	bool		verify;
	uint64_t	max_diffs;		/* with verify: differing rows named */
	bool		keep_record;	/* keep the run's record, marked cut over */
} cutover_options;

typedef struct cutover_report
{
	char		database[64];	/* the target database's name */
	int64_t		run_id;			/* 0 before the run was found */
	char		name[FOLLOW_NAME_MAX];	/* its publication, slot and subscription */
	char		lsn[32];		/* the source's position the target applied */
	int			tables;			/* followed */
	int64_t		writes_seen;	/* rows changed during the watch (with --force, not refused) */
	int			sequences_set;
	int			dropped;		/* subscription, slot and publication dropped */
	bool		done;			/* the run is cut over */
	bool		record_removed;
	double		seconds_watch;
	double		seconds_catch_up;
	double		seconds_sequences;
	double		seconds_verify;
	double		seconds_teardown;
	double		seconds_total;	/* the write downtime this command took (for every database) */
	verify_report *verify;		/* with --verify, once it ran */
	cat_filter	filter;			/* the run's tables, from its record; the verify's */
} cutover_report;

/*
 * Cuts over the follow run opt->run of each of the n target databases
 * (connection strings; n > 1 for a cluster run, each database's own run):
 * each step is taken for every database before the next, the watch for
 * writes over all of them at once, so that nothing is torn down until
 * every database has caught up (and, with --verify, is identical).  *out
 * gets n reports whatever happens (NULL when they could not be allocated).
 * 0 when every run is cut over, or when --verify found differences (then
 * replication runs on everywhere and no report is done); else a negative
 * errno, err naming the database when n > 1.
 */
int			cutover_run(const cutover_options *opt, const char *const *targets, int n, cutover_report **out,
						sl_err *err);

void		cutover_reports_destroy(cutover_report *r, int n);

#endif
