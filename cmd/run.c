/*
 * run.c: status, throttle and cleanup of a recorded run.  See run.h.
 */
#include "cmd/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/follow.h"

/* Opens the target and the run record for status and cleanup. */
static int
open_record(const char *target, const char *schema, PGconn **conn, state *st, sl_err *err)
{
	int			rc;

	if ((rc = conn_open(conn, target, SIDE_TARGET, NULL, err)) < 0 ||
		(rc = state_init(st, *conn, schema, err)) < 0)
		return rc;
	if ((rc = state_exists(st, err)) == 0)
		return err_set(err, SIDE_USAGE, -ENOENT, "the target has no run records in schema %s: a run "
					   "that finished removed its record (unless it ran with --keep-record), or none "
					   "has run there (or give the --state-schema it used)", st->schema);
	return rc < 0 ? rc : state_check_owners(st, err);
}

int
run_status(const char *target, const char *schema, const char *which, state_run *run,
			 state_summary *sum, sl_err *err)
{
	PGconn	   *conn = NULL;
	state		st = {0};
	int			rc;

	if ((rc = open_record(target, schema, &conn, &st, err)) == 0 &&
		(rc = state_run_load(&st, which, run, err)) == 0)
		rc = state_summarize(&st, run->id, sum, err);
	state_fini(&st);
	conn_close(&conn);
	return rc;
}

int
run_throttle(const char *target, const char *schema, const char *which, int64_t max_rate, int paused,
			   state_run *run, sl_err *err)
{
	PGconn	   *conn = NULL;
	state		st = {0};
	int			version = 0;
	int			rc;

	if ((rc = open_record(target, schema, &conn, &st, err)) < 0 ||
		(rc = state_run_load(&st, which, run, err)) < 0 ||
		(rc = state_layout(&st, &version, err)) < 0)
		goto done;
	if (version < 2)
	{
		rc = err_set(err, SIDE_USAGE, -EPROTO, "the state schema %s on the target has layout %d, from a "
					 "pgsluice without throttle, whose processes would not obey it: resume the run with "
					 "this pgsluice (clone --resume %lld --max-rate RATE) to cap it", st.schema, version,
					 (long long) run->id);
		goto done;
	}
	if (strcmp(run->status, "running") != 0)
	{
		rc = err_set(err, SIDE_USAGE, -ESRCH, "run %lld is %s, not running: throttle changes a running "
					 "run only; to cap it when it goes on, give --max-rate to the command that resumes "
					 "it (clone --resume %lld, restore --resume %lld)", (long long) run->id, run->status,
					 (long long) run->id, (long long) run->id);
		goto done;
	}
	if ((rc = state_run_throttle(&st, run->id, max_rate, paused, err)) == 0)
	{
		char		id[32];

		snprintf(id, sizeof(id), "%lld", (long long) run->id);
		rc = state_run_load(&st, id, run, err);
	}
done:
	state_fini(&st);
	conn_close(&conn);
	return rc;
}

/* Sets f's slot limit: given when not negative, else 10% of the source's free disk when known, else the default. */
static void
slot_wal_limit(run_follow *f, int64_t given)
{
	char		size[32];

	if (given >= 0)
	{
		f->slot_wal_limit = given;
		sbuf_format_bytes((uint64_t) given, size, sizeof(size));
		snprintf(f->slot_wal_why, sizeof(f->slot_wal_why), "--max-slot-wal %s", size);
	}
	else if (f->source_free_bytes >= 0)
	{
		f->slot_wal_limit = f->source_free_bytes / 10;
		sbuf_format_bytes((uint64_t) f->source_free_bytes, size, sizeof(size));
		snprintf(f->slot_wal_why, sizeof(f->slot_wal_why), "10%% of the %s free on the source's WAL disk", size);
	}
	else
	{
		f->slot_wal_limit = RUN_SLOT_WAL_DEFAULT;
		sbuf_format_bytes((uint64_t) RUN_SLOT_WAL_DEFAULT, size, sizeof(size));
		snprintf(f->slot_wal_why, sizeof(f->slot_wal_why), "%s (the source's free disk is not known from here)",
				 size);
	}
}

int
run_follow_state(const char *target, const char *source, const state_run *run, int64_t max_slot_wal,
				 run_follow *out, sl_err *err)
{
	PGconn	   *tconn = NULL;
	PGconn	   *sconn = NULL;
	int			rc;

	memset(out, 0, sizeof(*out));
	out->source_free_bytes = -1;
	if ((rc = conn_open(&tconn, target, SIDE_TARGET, NULL, err)) == 0 &&
		(rc = follow_name(tconn, run->id, out->name, sizeof(out->name), err)) == 0 &&
		(rc = conn_open(&sconn, source != NULL ? source : run->source, SIDE_SOURCE, NULL, err)) == 0 &&
		(rc = follow_read(sconn, tconn, out->name, &out->state, err)) == 0)
		out->source_free_bytes = follow_source_free_disk(sconn);
	slot_wal_limit(out, max_slot_wal);
	conn_close(&sconn);
	conn_close(&tconn);
	return rc;
}

int
run_cleanup(const char *target, const char *source, const char *schema, const char *which, int64_t *run_id,
			bool *schema_dropped, int *replication_dropped, sl_err *err)
{
	PGconn	   *conn = NULL;
	PGconn	   *sconn = NULL;
	state		st = {0};
	state_run	run;
	char		name[FOLLOW_NAME_MAX];
	int			rc;

	*replication_dropped = 0;
	if ((rc = open_record(target, schema, &conn, &st, err)) < 0 ||
		(rc = state_run_load(&st, which, &run, err)) < 0)
		goto done;
	/* a follow run's replication first: a slot left behind fills the source's disk */
	if (run.follow && strcmp(run.step, STATE_STEP_DONE) != 0)
	{
		if ((rc = follow_name(conn, run.id, name, sizeof(name), err)) < 0)
			goto done;
		if ((rc = conn_open(&sconn, source != NULL ? source : run.source, SIDE_SOURCE, NULL, err)) < 0)
		{
			err_hint(err, "The record stays, so that its slot %s and publication can be removed: give "
					 "--source (with its password), or drop them on the source by hand.", name);
			goto done;
		}
		if ((rc = follow_drop(sconn, conn, name, replication_dropped, err)) < 0)
			goto done;
	}
	if ((rc = state_run_forget(&st, run.id, schema_dropped, err)) == 0)
		*run_id = run.id;
done:
	state_fini(&st);
	conn_close(&sconn);
	conn_close(&conn);
	return rc;
}

int
run_databases(const char *target, const char *schema, const globals_patterns *patterns, run_database **out, int *n,
			  sl_err *err)
{
	globals_database *dbs = NULL;
	run_database *list = NULL;
	PGconn	   *conn = NULL;
	int			ndbs = 0;
	int			rc;

	*out = NULL;
	*n = 0;
	if ((rc = globals_connect(&conn, target, NULL, SIDE_TARGET, err)) < 0 ||
		(rc = globals_list_databases(conn, patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	conn_close(&conn);
	if ((list = calloc((size_t) ndbs + 1, sizeof(run_database))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < ndbs; i++)
	{
		run_database *d = &list[i];
		state		st = {0};

		err_clear(&d->err);
		if ((d->name = strdup(dbs[i].name)) == NULL || conn_info_with_dbname(target, dbs[i].name, &d->conninfo) < 0)
		{
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
			run_databases_free(list, i + 1);
			list = NULL;
			goto done;
		}
		if (conn_open(&conn, d->conninfo, SIDE_TARGET, NULL, &d->err) == 0 &&
			state_init(&st, conn, schema, &d->err) == 0)
			d->recorded = state_exists(&st, &d->err) > 0;
		state_fini(&st);
		conn_close(&conn);
	}
	*out = list;
	*n = ndbs;
done:
	conn_close(&conn);
	globals_databases_free(dbs, ndbs);
	return rc;
}

void
run_databases_free(run_database *dbs, int n)
{
	for (int i = 0; dbs != NULL && i < n; i++)
	{
		free(dbs[i].name);
		free(dbs[i].conninfo);
	}
	free(dbs);
}

void
run_databases_status(run_database *dbs, int n, const char *schema)
{
	for (int i = 0; i < n; i++)
		if (dbs[i].recorded)
			dbs[i].loaded = run_status(dbs[i].conninfo, schema, "last", &dbs[i].run, &dbs[i].sum, &dbs[i].err) == 0;
}

void
run_databases_follow(run_database *dbs, int n, int64_t max_slot_wal)
{
	for (int i = 0; i < n; i++)
	{
		run_database *d = &dbs[i];

		d->follows = d->loaded && d->run.follow && strcmp(d->run.step, STATE_STEP_DONE) != 0;
		if (d->follows)
			d->follow_known = run_follow_state(d->conninfo, NULL, &d->run, max_slot_wal, &d->follow,
											   &d->follow_err) == 0;
	}
}
