/*
 * clone_follow.c: what clone --follow adds to a clone (engine/follow.h): the
 * run's point in time taken from its slot, the chunks copied again when a
 * resumed run has lost that point, and the subscription at the end.
 *
 * No gap, no overlap: every chunk reads at the slot's snapshot, and the
 * slot streams what committed after it.  A run killed during its data step
 * loses the snapshot with the replication connection that held it; going on
 * at another point would mix two, so a resumed run makes a new slot and
 * copies again what the old snapshot had copied (the schema, the plan and
 * the chunk records stay; only rows move again).  Once the data step is
 * over, the slot holds the point by itself: a run killed after it goes on
 * from its step with nothing copied again.
 */
#include "cmd/clone.h"
#include "cmd/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conn.h"
#include "engine/log.h"
#include "engine/metrics.h"

#define STREAMING_WAIT_SECONDS 60.0

int
clone_follow_snapshot(const clone_options *opt, clone_report *r, state *st, PGconn *holder, PGconn *control,
					  const char *step, follow_slot *slot, sl_err *err)
{
	state_summary sum;
	int			dropped = 0;
	int			rc;

	if ((rc = follow_name(control, r->run_id, r->follow_name, sizeof(r->follow_name), err)) < 0)
		return rc;
	/* the publication comes before the slot, so that the slot's snapshot sees it */
	if (r->cat == NULL && (rc = clone_load_source(r, holder, false, err)) < 0)
		return rc;
	if ((rc = follow_slot_exists(holder, r->follow_name, err)) < 0)
		return rc;
	if (rc == 1)
	{
		if ((rc = follow_drop(holder, NULL, r->follow_name, &dropped, err)) < 0)
			return rc;
		log_info("follow: slot %s of the run's earlier attempt dropped: its snapshot ended with it",
				 r->follow_name);
	}
	if ((rc = follow_publication_create(holder, r->cat, r->follow_name, err)) < 0 ||
		(rc = follow_slot_create(opt->common.source, r->follow_name, slot, err)) < 0)
		return rc;
	snprintf(r->snapshot, sizeof(r->snapshot), "%s", slot->snapshot);
	log_info("follow: publication and slot %s made; the copy reads at the slot's snapshot, %s",
			 r->follow_name, slot->lsn);

	/* the catalog again, at the snapshot, and the publication holding every table of it */
	catalog_destroy(r->cat);
	r->cat = NULL;
	if ((rc = conn_import_snapshot(holder, SIDE_SOURCE, r->snapshot, err)) < 0 ||
		(rc = clone_load_source(r, holder, true, err)) < 0 ||
		(rc = follow_publication_covers(holder, r->cat, r->follow_name, err)) < 0 ||
		(rc = state_run_rebase(st, r->run_id, r->snapshot, false, err)) < 0)
		return rc;
	if (strcmp(step, STATE_STEP_DATA) != 0)
		return 0;
	if ((rc = state_summarize(st, r->run_id, &sum, err)) < 0)
		return rc;
	if (sum.done == 0)
		return 0;
	log_warning("follow: run %lld copied %d of its %d chunks at a snapshot that ended with its process: "
				"they are copied again at the new one, so that the copy and the stream meet at one point",
				(long long) r->run_id, sum.done, sum.chunks);
	if ((rc = clone_empty_target(control, r->cat, true, err)) < 0)
		return rc;
	return state_chunks_reset(st, r->run_id, err);
}

int
clone_follow_check_slot(clone_report *r, PGconn *holder, PGconn *control, sl_err *err)
{
	int			rc;

	if ((rc = follow_name(control, r->run_id, r->follow_name, sizeof(r->follow_name), err)) < 0 ||
		(rc = follow_slot_exists(holder, r->follow_name, err)) < 0)
		return rc;
	if (rc == 1)
		return 0;
	rc = err_set(err, SIDE_SOURCE, -ENOENT, "run %lld: the source no longer has its slot %s: the changes made "
				 "since its copy cannot reach the target", (long long) r->run_id, r->follow_name);
	err_hint(err, "Remove the run (pgsluice cleanup --run %lld) and clone again into an empty database.",
			 (long long) r->run_id);
	return rc;
}

int
clone_follow_subscribe(const clone_options *opt, clone_report *r, PGconn *holder, PGconn *control, sl_err *err)
{
	char	   *conninfo = NULL;
	char		lag[32];
	int			rc;

	/* the target's server connects to the source itself, to the database this run copies */
	if (opt->follow_source != NULL)
		rc = conn_info_with_dbname(opt->follow_source, PQdb(holder), &conninfo);
	else
		rc = (conninfo = strdup(opt->common.source)) == NULL ? -ENOMEM : 0;
	if (rc < 0)
		return err_set(err, SIDE_USAGE, rc, "--follow-source: %s", rc == -ENOMEM ? "out of memory"
					   : "invalid connection string");
	rc = follow_subscribe(holder, control, conninfo, r->follow_name, err);
	free(conninfo);
	if (rc < 0 ||
		(rc = follow_wait_streaming(holder, control, r->follow_name, STREAMING_WAIT_SECONDS, &r->replication, err)) < 0)
		return rc;
	r->following = true;
	metrics_set_replication(-1, r->replication.lag_bytes, r->replication.lag_seconds, r->replication.retained_bytes);
	sbuf_format_bytes((uint64_t) r->replication.lag_bytes, lag, sizeof(lag));
	log_info("follow: subscription %s streaming, %s behind the source", r->follow_name, lag);
	return 0;
}
