/*
 * chunkjob.c: a worker's sessions and the claim, work, commit step of a
 * chunk (see chunkjob.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/chunkjob.h"
#include "engine/log.h"

int
chunkjob_open_source(const chunkjob_spec *spec, PGconn **source, sl_err *err)
{
	conn_settings settings = {spec->encoding, 0, 0};
	int			rc;

	conn_close(source);
	if ((rc = conn_open(source, spec->source, SIDE_SOURCE, &settings, err)) < 0)
		return rc;
	return conn_import_snapshot(*source, SIDE_SOURCE, spec->snapshot, err);
}

int
chunkjob_open_target(const chunkjob_spec *spec, PGconn **target, sl_err *err)
{
	conn_settings settings = {spec->encoding, spec->target_snapshot == NULL, 0};
	PGresult   *res;
	int			rc;

	conn_close(target);
	if ((rc = conn_open(target, spec->target, SIDE_TARGET, &settings, err)) < 0)
		return rc;
	if (spec->target_snapshot != NULL)
		return conn_import_snapshot(*target, SIDE_TARGET, spec->target_snapshot, err);
	if (!spec->replica)
		return 0;

	/*
	 * The schema exists with its foreign keys and triggers; like
	 * pg_restore --disable-triggers, load without firing them (chunks
	 * arrive in any order, and the rows fired their triggers on the
	 * source already).  Only a superuser may; others get the
	 * constraint's own error if the order matters.
	 */
	if ((rc = conn_run(*target, SIDE_TARGET, "SET session_replication_role = replica", 0, NULL, &res, err)) < 0)
		return rc;
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		(spec->replica_said == NULL || atomic_exchange(spec->replica_said, 1) == 0))
	{
		char		msg[512];

		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		log_warning("could not disable triggers and foreign keys on the target while loading: %s",
					conn_one_line(msg));
	}
	PQclear(res);
	return 0;
}

int
chunkjob_init(chunkjob *job, const chunkjob_spec *spec, PGconn **source, PGconn **target,
			  const char *name, sl_err *err)
{
	int			rc;

	memset(job, 0, sizeof(*job));
	job->spec = spec;
	job->source = spec->source != NULL ? source : NULL;
	job->target = spec->target != NULL ? target : NULL;
	snprintf(job->name, sizeof(job->name), "%s", name);
	if (spec->state_schema != NULL && (rc = state_init(&job->st, NULL, spec->state_schema, err)) < 0)
		return rc;
	return 0;
}

void
chunkjob_fini(chunkjob *job)
{
	if (job->spec != NULL && job->spec->state_schema != NULL)
		state_fini(&job->st);
}

int
chunkjob_open(chunkjob *job, sl_err *err)
{
	int			rc;

	if (job->source != NULL && (rc = chunkjob_open_source(job->spec, job->source, err)) < 0)
		return rc;
	if (job->target != NULL)
	{
		if ((rc = chunkjob_open_target(job->spec, job->target, err)) < 0)
			return rc;
		job->st.conn = *job->target;
	}
	/* a session given up before still holds what it held: the chunk's record, its snapshot */
	if (job->source != NULL)
		conn_stalled_end(&job->stalled, *job->source, SIDE_SOURCE);
	if (job->target != NULL)
		conn_stalled_end(&job->stalled, *job->target, SIDE_TARGET);
	return 0;
}

/* The backend of a session, 0 when there is none. */
static int
backend_of(PGconn **slot)
{
	return slot != NULL && *slot != NULL ? PQbackendPID(*slot) : 0;
}

int
chunkjob_attempt(chunkjob *job, int chunk_no, const plan_chunk *pc, const cat_table *t,
				 chunkjob_work_fn work, void *arg, sl_err *err)
{
	const chunkjob_spec *spec = job->spec;
	bool		recorded = spec->state_schema != NULL && job->target != NULL;
	chunkjob_done done;
	double		started = 0;
	int			pid[2];
	int			rc;

	job->claimed = false;
	job->held = false;
	if (((job->source != NULL && *job->source == NULL) || (job->target != NULL && *job->target == NULL)) &&
		(rc = chunkjob_open(job, err)) < 0)
		return rc;
	pid[0] = backend_of(job->source);
	pid[1] = backend_of(job->target);
	if (recorded && (rc = state_chunk_begin(&job->st, spec->run_id, chunk_no, &job->claimed, &job->held,
											&started, err)) < 0)
		goto fail;
	if (recorded && !job->claimed)
		return 0;
	job->claimed = true;
	memset(&done, 0, sizeof(done));
	if ((rc = work(arg, job, &done, err)) < 0)
		goto fail;
	if (recorded && (rc = state_chunk_commit(&job->st, spec->run_id, chunk_no, done.rows, done.bytes,
											 &done.digest, job->name, started, err)) < 0)
		goto fail;
	return 0;
fail:
	job->claimed = false;
	if (conn_err_stalled(err))
	{
		char		what[512];

		/* a stall in the chunk's record or transaction names the chunk, as the work's own do */
		plan_chunk_describe(pc, t, what, sizeof(what));
		err_prefix(err, what);
		conn_stalled_keep(&job->stalled, err, pid[0], pid[1]);
	}
	/* closing the target rolls the chunk back */
	if (job->source != NULL)
		conn_close(job->source);
	if (job->target != NULL)
		conn_close(job->target);
	return rc;
}

void
chunkjob_failed(chunkjob *job, int chunk_no, const sl_err *failure)
{
	sl_err		ignored;

	if (job->spec->state_schema == NULL || job->target == NULL)
		return;
	err_clear(&ignored);
	if (chunkjob_open(job, &ignored) < 0)
		return;
	(void) state_chunk_failed(&job->st, job->spec->run_id, chunk_no, failure->msg, &ignored);
}
