/*
 * clone_worker.c: the worker command, another process on a recorded clone
 * (this host or another): it finds the run in the target's state schema,
 * imports the run's snapshot while the process that started the run holds
 * it, and copies the chunks no one has taken (clone_chunks.c), until none
 * are left free.  See clone.h.
 */
#include "cmd/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/rate.h"
#include "engine/state.h"

/*
 * Whether the run a worker joins is gone from the target: a run that
 * finishes removes its record (so does cleanup).  run_id: the run's number
 * when known, else 0 and which.  Says so.
 */
static bool
run_gone(const clone_options *opt, const char *which, int64_t run_id)
{
	PGconn	   *conn = NULL;
	state		st = {0};
	state_run	run;
	sl_err		e;
	char		id[32];
	bool		gone = false;
	int			rc;

	err_clear(&e);
	if (run_id > 0)
		snprintf(id, sizeof(id), "%lld", (long long) run_id);
	else
		snprintf(id, sizeof(id), "%s", which);
	if (conn_open(&conn, opt->common.target, SIDE_TARGET, NULL, &e) < 0 ||
		state_init(&st, conn, opt->state_schema, &e) < 0)
		goto done;
	if ((rc = state_attach(&st, &e)) == 0)
		gone = true;
	else if (rc > 0 && state_run_load(&st, id, &run, &e) == -ENOENT)
		gone = strcmp(id, "last") == 0 || state_run_was(&st, strtoll(id, NULL, 10), &e) == 1;
	if (gone && strcmp(id, "last") == 0)
		log_info("no run is recorded in schema %s of the target: the run is finished (a run that "
				 "finishes removes its record), or none was started", st.schema);
	else if (gone)
		log_info("run %s is finished: its record is gone from the target (a run that finishes removes it, "
				 "unless it ran with --keep-record)", id);

done:
	state_fini(&st);
	conn_close(&conn);
	return gone;
}

int
clone_join(const clone_options *opt, const char *which, clone_report **report_out, sl_err *err)
{
	clone_report *r;
	PGconn	   *holder = NULL;
	PGconn	   *control = NULL;
	state		st = {0};
	state_run	run = {0};
	state_chunk *chunks = NULL;
	clone_ctx	ctx;
	char		fingerprint[256];
	const char *source = opt->common.source;
	double		t_start = clock_seconds();
	int			rc;

	*report_out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	snprintf(r->io_backend, sizeof(r->io_backend), "none");
	if ((rc = conn_open(&control, opt->common.target, SIDE_TARGET, NULL, err)) < 0 ||
		(rc = state_init(&st, control, opt->state_schema, err)) < 0)
		goto done;
	/* a worker creates no record: a run that is gone has finished */
	if ((rc = state_attach(&st, err)) <= 0 ||
		(rc = state_run_load(&st, which, &run, err)) < 0)
	{
		if (rc <= 0 && (rc == 0 || rc == -ENOENT) && run_gone(opt, which, 0))
		{
			err_clear(err);
			r->nothing_to_do = true;
			rc = 0;
		}
		else if (rc == 0)
			rc = err_set(err, SIDE_USAGE, -ENOENT, "there is no run %s in the state schema %s of the target",
						 which, st.schema);
		goto done;
	}
	r->run_id = run.id;
	r->target_major = conn_major_version(control);
	if ((rc = clone_take_recorded_filter(r, &st, opt->common.filter, err)) < 0)
		goto done;
	if (strcmp(run.step, STATE_STEP_DATA) != 0 || strcmp(run.status, "running") != 0)
	{
		log_info("run %lld is %s at step %s: no chunks to take", (long long) run.id, run.status, run.step);
		r->nothing_to_do = true;
		goto done;
	}
	if (source == NULL)
		source = run.source;	/* its password, if any, from .pgpass or PGPASSWORD */
	if ((rc = conn_open(&holder, source, SIDE_SOURCE, NULL, err)) < 0 ||
		(rc = state_fingerprint(holder, fingerprint, sizeof(fingerprint), err)) < 0)
		goto done;
	r->source_major = conn_major_version(holder);
	if (strcmp(run.fingerprint, fingerprint) != 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld is copying from another source (%s, this one "
					 "is %s)", (long long) run.id, run.fingerprint, fingerprint);
		goto done;
	}
	if (!run.best_effort && run.snapshot[0] != '\0')
	{
		if (conn_import_snapshot(holder, SIDE_SOURCE, run.snapshot, err) < 0)
		{
			err_clear(err);
			rc = err_set(err, SIDE_SOURCE, -ESTALE, "run %lld: its snapshot %s no longer exists: the "
						 "process that held it has ended, or, cloning through a spill directory, has "
						 "read every chunk and released it, and then loads the rest itself; if no "
						 "process runs it any more, resume it with \"pgsluice clone --resume %lld\"",
						 (long long) run.id, run.snapshot, (long long) run.id);
			goto done;
		}
		snprintf(r->snapshot, sizeof(r->snapshot), "%s", run.snapshot);
	}
	r->best_effort = run.best_effort;
	{
		check_options copt = {0};

		/* what this process needs to load the run's tables: it creates nothing */
		copt.common = opt->common;
		copt.common.source = source;
		copt.common.jobs = opt->common.jobs > 0 ? opt->common.jobs : 1;
		copt.common.filter = r->filter;
		copt.data_only = run.data_only;
		copt.state_schema = opt->state_schema;
		copt.recorded = true;
		copt.loads_only = true;
		copt.held_source = 1;
		copt.held_target = 1;
		rc = check_before_run("the worker", &copt, opt->on_check, opt->on_check_arg, err);
		r->refused = rc == -ECANCELED;
		if (rc < 0)
			goto done;
	}
	if ((rc = clone_load_source(r, holder, false, err)) < 0 ||
		(rc = state_run_load(&st, which, &run, err)) < 0 ||
		(rc = clone_load_recorded_plan(&st, r, &chunks, err)) < 0)
		goto done;
	r->run_id = run.id;
	{
		clone_options jopt = *opt;

		jopt.data_only = run.data_only;
		clone_ctx_init(&ctx, &jopt, source, r, &control);
		log_info("run %lld: joining, %d workers", (long long) run.id, opt->common.jobs > 0 ? opt->common.jobs : 1);
		/* a worker's --max-rate is the whole run's, as throttle --max-rate would set it */
		if ((rc = state_run_throttle(&st, run.id, opt->common.max_rate, -1, err)) == 0 &&
			(rc = rate_watch_start(opt->common.target, opt->state_schema, run.id, ctx.worker_prefix, err)) == 0)
			rc = clone_run_chunks(&ctx, &st, chunks, true, err);
		rate_watch_stop();
		r->retries = atomic_load(&ctx.retries);
	}
	r->seconds_data = clock_seconds() - t_start;
	clone_sum_tables(r);

done:
	/* the run finished while this process worked on it (its last chunks were others'): not an error */
	if (rc < 0 && r->run_id > 0 && err->side != SIDE_INTERRUPT && !r->refused && run_gone(opt, which, r->run_id))
	{
		err_clear(err);
		r->nothing_to_do = true;
		rc = 0;
	}
	free(chunks);
	state_fini(&st);
	conn_close(&holder);
	conn_close(&control);
	r->seconds_total = clock_seconds() - t_start;
	*report_out = r;
	return rc;
}

