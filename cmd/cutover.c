/*
 * cutover.c: the end of a follow run.  See cutover.h.
 *
 * The watch for writes reads, on the source, the row counters of the
 * followed tables (pg_stat_user_tables: a backend's counts reach them at
 * its transaction's end, within about a second) at its start and end, and
 * every WATCH_STEP seconds the locks that writers hold on those tables while
 * their transactions are open.  Either moving is a write.
 */
#include "cmd/cutover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/catalog.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/state.h"

#define WATCH_SECONDS 1.0
#define WATCH_STEP 0.1
#define NAMED_MAX 5				/* tables named in the error */

/* The followed tables' write counters, by name, in one result. */
static int
read_counters(PGconn *source, const char *name, PGresult **res, sl_err *err)
{
	const char *params[1] = {name};
	int			rc;

	rc = conn_run(source, SIDE_SOURCE,
				  "SELECT pg_catalog.format('%I.%I', s.schemaname, s.relname),"
				  " s.n_tup_ins + s.n_tup_upd + s.n_tup_del"
				  " FROM pg_catalog.pg_stat_user_tables s WHERE s.relid IN (SELECT r.prrelid"
				  "   FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid"
				  "   WHERE p.pubname = $1) ORDER BY 1", 1, params, res, err);
	if (rc == 0 && PQresultStatus(*res) != PGRES_TUPLES_OK)
	{
		rc = conn_fail(source, *res, SIDE_SOURCE, err, "could not read the source's table statistics");
		PQclear(*res);
		*res = NULL;
	}
	return rc;
}

/* Adds name to the list of tables written (once). */
static void
note_written(sbuf *list, int *n, const char *table)
{
	char		quoted[300];

	snprintf(quoted, sizeof(quoted), "%s%s", *n ? ", " : "", table);
	if (strstr(sbuf_str(list), table) != NULL)
		return;
	if (*n < NAMED_MAX)
		sbuf_append(list, quoted);
	(*n)++;
}

/* The source still: no writer's lock on a followed table, no counter moving, for WATCH_SECONDS. */
static int
watch_writes(PGconn *source, cutover_report *r, bool force, sl_err *err)
{
	const char *params[1] = {r->name};
	PGresult   *before = NULL;
	PGresult   *after = NULL;
	sbuf		written;
	int			nwritten = 0;
	double		end;
	int			rc;

	if ((rc = read_counters(source, r->name, &before, err)) < 0)
		return rc;
	r->tables = PQntuples(before);
	sbuf_init(&written, 1024);
	end = clock_seconds() + WATCH_SECONDS;
	while (rc == 0 && clock_seconds() < end)
	{
		PGresult   *locks = NULL;
		struct timespec ts = {0, (long) (WATCH_STEP * 1e9)};

		rc = conn_run(source, SIDE_SOURCE,
					  "SELECT DISTINCT l.relation::pg_catalog.regclass::text FROM pg_catalog.pg_locks l"
					  " WHERE l.pid <> pg_catalog.pg_backend_pid() AND l.locktype = 'relation'"
					  " AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock',"
					  "   'AccessExclusiveLock')"
					  " AND l.relation IN (SELECT r.prrelid FROM pg_catalog.pg_publication_rel r"
					  "   JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1)"
					  " ORDER BY 1", 1, params, &locks, err);
		if (rc == 0 && PQresultStatus(locks) != PGRES_TUPLES_OK)
			rc = conn_fail(source, locks, SIDE_SOURCE, err, "could not read the source's locks");
		for (int i = 0; rc == 0 && i < PQntuples(locks); i++)
			note_written(&written, &nwritten, PQgetvalue(locks, i, 0));
		PQclear(locks);
		nanosleep(&ts, NULL);
	}
	if (rc == 0)
		rc = read_counters(source, r->name, &after, err);
	for (int i = 0, j = 0; rc == 0 && i < PQntuples(after); i++)
	{
		/* both are ordered by name; a table in one only was created or dropped: a change too */
		while (j < PQntuples(before) && strcmp(PQgetvalue(before, j, 0), PQgetvalue(after, i, 0)) < 0)
			j++;
		if (j < PQntuples(before) && strcmp(PQgetvalue(before, j, 0), PQgetvalue(after, i, 0)) == 0)
		{
			long long	moved = strtoll(PQgetvalue(after, i, 1), NULL, 10) - strtoll(PQgetvalue(before, j, 1), NULL, 10);

			if (moved != 0)
			{
				r->writes_seen += moved;
				note_written(&written, &nwritten, PQgetvalue(after, i, 0));
			}
		}
	}
	PQclear(before);
	PQclear(after);
	if (rc == 0 && nwritten > 0 && !force)
	{
		rc = err_set(err, SIDE_SOURCE, -EBUSY, "the source is still taking writes on %d of the followed tables "
					 "(%s%s): %lld rows changed during a %.0f s watch", nwritten, sbuf_str(&written),
					 nwritten > NAMED_MAX ? ", ..." : "", (long long) r->writes_seen, WATCH_SECONDS);
		err_hint(err, "Stop the application's writes to the source first (or ALTER DATABASE ... SET "
				 "default_transaction_read_only = on and end its sessions), then run the cutover again; "
				 "--force skips this watch. Replication runs on meanwhile.");
	}
	else if (rc == 0 && nwritten > 0)
		log_warning("cutover: --force: the source took writes on %d of the followed tables during the watch "
					"(%s%s); those committed after the position taken next do not reach the target",
					nwritten, sbuf_str(&written), nwritten > NAMED_MAX ? ", ..." : "");
	sbuf_fini(&written);
	return rc;
}

/* The run, its record checked: a follow run that streams. */
static int
load_follow_run(state *st, const char *which, state_run *run, sl_err *err)
{
	int			rc;

	if ((rc = state_attach(st, err)) == 0)
		return err_set(err, SIDE_USAGE, -ENOENT, "the target has no run records in schema %s: there is no "
					   "follow run to cut over here (or give the --state-schema it used)", st->schema);
	if (rc < 0 || (rc = state_run_load(st, which, run, err)) < 0)
		return rc;
	if (!run->follow)
		return err_set(err, SIDE_USAGE, -EINVAL, "run %lld was not started with --follow: there is no "
					   "replication to cut over", (long long) run->id);
	if (strcmp(run->step, STATE_STEP_FOLLOW) != 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld is at step %s (%s), not following: %s",
					 (long long) run->id, run->step, run->status,
					 strcmp(run->step, STATE_STEP_DONE) == 0 ? "it is cut over already"
					 : "its copy has not finished");
		if (strcmp(run->step, STATE_STEP_DONE) != 0)
			err_hint(err, "Go on with it first: pgsluice clone --resume %lld with its --source and --target.",
					 (long long) run->id);
		return rc;
	}
	return 0;
}

int
cutover_run(const cutover_options *opt, cutover_report **out, sl_err *err)
{
	cutover_report *r = calloc(1, sizeof(*r));
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	state		st = {0};
	state_run	run;
	catalog    *cat = NULL;
	follow_state fs;
	char		fingerprint[256];
	double		t_start = clock_seconds();
	double		t;
	PGresult   *res = NULL;
	int			rc;

	*out = r;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = conn_open(&target, opt->common.target, SIDE_TARGET, NULL, err)) < 0 ||
		(rc = state_init(&st, target, opt->state_schema, err)) < 0 ||
		(rc = load_follow_run(&st, opt->run, &run, err)) < 0)
		goto done;
	r->run_id = run.id;
	if ((rc = conn_open(&source, opt->common.source != NULL ? opt->common.source : run.source, SIDE_SOURCE,
						NULL, err)) < 0 ||
		(rc = state_fingerprint(source, fingerprint, sizeof(fingerprint), err)) < 0)
		goto done;
	if (strcmp(fingerprint, run.fingerprint) != 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld follows another source (%s, this one is %s)",
					 (long long) run.id, run.fingerprint, fingerprint);
		goto done;
	}
	if ((rc = follow_name(target, run.id, r->name, sizeof(r->name), err)) < 0 ||
		(rc = follow_read(source, target, r->name, &fs, err)) < 0)
		goto done;
	if (!fs.slot || !fs.subscription || !fs.publication)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "run %lld: its %s is missing: replication is not running",
					 (long long) run.id, !fs.slot ? "slot on the source" : !fs.publication
					 ? "publication on the source" : "subscription on the target");
		err_hint(err, "\"pgsluice status --run %lld\" shows what is left; \"pgsluice cleanup --run %lld\" "
				 "removes the run.", (long long) run.id, (long long) run.id);
		goto done;
	}
	log_info("cutover: run %lld, subscription %s %s, %lld bytes behind", (long long) run.id, r->name,
			 follow_state_word(&fs), (long long) fs.lag_bytes);

	/* 1. the source still */
	t = clock_seconds();
	progress_phase("cutover: watching for writes");
	if ((rc = watch_writes(source, r, opt->force, err)) < 0)
		goto done;
	r->seconds_watch = clock_seconds() - t;
	log_info("cutover: no write on the %d followed tables for %.1f s", r->tables, r->seconds_watch);

	/* 2. the target at the source's position */
	t = clock_seconds();
	progress_phase("cutover: waiting for the target");
	if ((rc = conn_query(source, SIDE_SOURCE, "SELECT pg_catalog.pg_current_wal_lsn()", &res, err)) < 0)
		goto done;
	snprintf(r->lsn, sizeof(r->lsn), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((rc = follow_wait_applied(source, target, r->name, r->lsn, opt->max_wait, err)) < 0)
		goto done;
	r->seconds_catch_up = clock_seconds() - t;
	log_info("cutover: the target has applied the source's position %s (%.1f s)", r->lsn, r->seconds_catch_up);

	/* 3. sequences, as they are (the verify compares them), the margin after */
	t = clock_seconds();
	if ((rc = state_run_filter(&st, run.id, &r->filter, err)) < 0 ||
		(rc = catalog_load(source, SIDE_SOURCE, conn_major_version(target), &r->filter, &cat, err)) < 0 ||
		(rc = catalog_copy_sequences(source, target, cat, 0, &r->sequences_set, err)) < 0)
		goto done;
	r->seconds_sequences = clock_seconds() - t;

	/* 4. the proof, at a still source */
	if (opt->verify)
	{
		verify_options vopt = {0};

		t = clock_seconds();
		progress_phase("cutover: verify");
		vopt.common = opt->common;
		vopt.common.source = opt->common.source != NULL ? opt->common.source : run.source;
		vopt.common.filter = &r->filter;
		vopt.sample = 1.0;
		vopt.max_diffs = opt->max_diffs;
		if ((rc = verify_run(&vopt, &r->verify, err)) < 0)
			goto done;
		r->seconds_verify = clock_seconds() - t;
		if (!verify_identical(r->verify))
		{
			log_error("cutover: the target differs from the source: replication is kept, and the run "
					  "stays as it is");
			goto done;
		}
		log_info("cutover: verify: the target is identical to the source (%.1f s)", r->seconds_verify);
	}
	t = clock_seconds();
	if (opt->sequence_margin != 0 &&
		(rc = catalog_copy_sequences(source, target, cat, opt->sequence_margin, &r->sequences_set, err)) < 0)
		goto done;
	r->seconds_sequences += clock_seconds() - t;
	log_info("cutover: %d sequences set%s", r->sequences_set, opt->sequence_margin != 0 ? ", with the margin" : "");

	/* 5. no more replication, the run cut over */
	t = clock_seconds();
	progress_phase("cutover: removing the replication");
	if ((rc = follow_drop(source, target, r->name, &r->dropped, err)) < 0 ||
		(rc = state_run_set(&st, run.id, "cut over", STATE_STEP_DONE, NULL, err)) < 0)
		goto done;
	r->done = true;
	if ((rc = state_run_finish(target, opt->state_schema, run.id, opt->keep_record, &r->record_removed, err)) < 0)
		goto done;
	r->seconds_teardown = clock_seconds() - t;
	log_info("cutover: subscription, slot and publication %s dropped (%.1f s)", r->name, r->seconds_teardown);

done:
	progress_phase(NULL);
	r->seconds_total = clock_seconds() - t_start;
	catalog_destroy(cat);
	state_fini(&st);
	conn_close(&source);
	conn_close(&target);
	return rc;
}

void
cutover_report_destroy(cutover_report *r)
{
	if (r == NULL)
		return;
	verify_report_destroy(r->verify);
	filter_free(&r->filter);
	free(r);
}
