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

/* One database's cutover: its connections, record and report. */
typedef struct cutover_db
{
	PGconn	   *source;
	PGconn	   *target;
	state		st;
	state_run	run;
	catalog    *cat;
	cutover_report *r;
	PGresult   *before;			/* the watch's first counters */
} cutover_db;

/* The followed tables' write counters, by name, in one result. */
static int
read_counters(PGconn *source, const char *name, PGresult **res, sl_err *err)
{
	const char *params[1] = {name};

	return conn_query_params(source, SIDE_SOURCE,
							 "SELECT pg_catalog.format('%I.%I', s.schemaname, s.relname),"
							 " s.n_tup_ins + s.n_tup_upd + s.n_tup_del"
							 " FROM pg_catalog.pg_stat_user_tables s WHERE s.relid IN (SELECT r.prrelid"
							 "   FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p"
							 "   ON p.oid = r.prpubid WHERE p.pubname = $1) ORDER BY 1", 1, params, res,
							 "could not read the source's table statistics", err);
}

/* Adds table (of database, when there are several) to the list of tables written, once. */
static void
note_written(sbuf *list, int *n, const char *database, const char *table)
{
	char		quoted[400];

	snprintf(quoted, sizeof(quoted), "%s%s%s%s", *n ? ", " : "", database != NULL ? database : "",
			 database != NULL ? ": " : "", table);
	if (strstr(sbuf_str(list), quoted + (*n ? 2 : 0)) != NULL)
		return;
	if (*n < NAMED_MAX)
		sbuf_append(list, quoted);
	(*n)++;
}

/* The writer locks on d's followed tables now, into written. */
static int
note_locks(cutover_db *d, const char *database, sbuf *written, int *nwritten, sl_err *err)
{
	const char *params[1] = {d->r->name};
	PGresult   *locks = NULL;
	int			rc;

	rc = conn_query_params(d->source, SIDE_SOURCE,
						   "SELECT DISTINCT l.relation::pg_catalog.regclass::text FROM pg_catalog.pg_locks l"
						   " WHERE l.pid <> pg_catalog.pg_backend_pid() AND l.locktype = 'relation'"
						   " AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock',"
						   "   'AccessExclusiveLock')"
						   " AND l.database = (SELECT oid FROM pg_catalog.pg_database"
						   "   WHERE datname = pg_catalog.current_database())"
						   " AND l.relation IN (SELECT r.prrelid FROM pg_catalog.pg_publication_rel r"
						   "   JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1)"
						   " ORDER BY 1", 1, params, &locks, "could not read the source's locks", err);
	for (int i = 0; rc == 0 && i < PQntuples(locks); i++)
		note_written(written, nwritten, database, PQgetvalue(locks, i, 0));
	PQclear(locks);
	return rc;
}

/* The counters moved between d->before and now, into written and d->r->writes_seen. */
static int
note_counters(cutover_db *d, const char *database, sbuf *written, int *nwritten, sl_err *err)
{
	PGresult   *before = d->before;
	PGresult   *after = NULL;
	int			rc;

	if ((rc = read_counters(d->source, d->r->name, &after, err)) < 0)
		return rc;
	for (int i = 0, j = 0; i < PQntuples(after); i++)
	{
		/* both are ordered by name; a table in one only was created or dropped: a change too */
		while (j < PQntuples(before) && strcmp(PQgetvalue(before, j, 0), PQgetvalue(after, i, 0)) < 0)
			j++;
		if (j < PQntuples(before) && strcmp(PQgetvalue(before, j, 0), PQgetvalue(after, i, 0)) == 0)
		{
			long long	moved = strtoll(PQgetvalue(after, i, 1), NULL, 10) - strtoll(PQgetvalue(before, j, 1), NULL, 10);

			if (moved != 0)
			{
				d->r->writes_seen += moved;
				note_written(written, nwritten, database, PQgetvalue(after, i, 0));
			}
		}
		else
			note_written(written, nwritten, database, PQgetvalue(after, i, 0));
	}
	if (PQntuples(after) != PQntuples(before))
		d->r->writes_seen++;
	PQclear(after);
	return 0;
}

/*
 * The sources still: no writer's lock on a followed table, no counter
 * moving, for WATCH_SECONDS, every database's tables watched at once.
 */
static int
watch_writes(cutover_db *dbs, int n, bool force, sl_err *err)
{
	sbuf		written;
	int			nwritten = 0;
	long long	rows = 0;
	double		start = clock_seconds();
	int			rc = 0;

	sbuf_init(&written, 1024);
	for (int k = 0; rc == 0 && k < n; k++)
		if ((rc = read_counters(dbs[k].source, dbs[k].r->name, &dbs[k].before, err)) == 0)
			dbs[k].r->tables = PQntuples(dbs[k].before);
	while (rc == 0 && clock_seconds() < start + WATCH_SECONDS)
	{
		struct timespec ts = {0, (long) (WATCH_STEP * 1e9)};

		for (int k = 0; rc == 0 && k < n; k++)
			rc = note_locks(&dbs[k], n > 1 ? dbs[k].r->database : NULL, &written, &nwritten, err);
		nanosleep(&ts, NULL);
	}
	for (int k = 0; rc == 0 && k < n; k++)
		rc = note_counters(&dbs[k], n > 1 ? dbs[k].r->database : NULL, &written, &nwritten, err);
	for (int k = 0; k < n; k++)
	{
		PQclear(dbs[k].before);
		dbs[k].before = NULL;
		dbs[k].r->seconds_watch = clock_seconds() - start;
	}
	for (int k = 0; k < n; k++)
		rows += dbs[k].r->writes_seen;
	if (rc == 0 && nwritten > 0 && !force)
	{
		rc = err_set(err, SIDE_SOURCE, -EBUSY, "the source is still taking writes on %d of the followed tables "
					 "(%s%s): %lld rows changed during a %.0f s watch", nwritten, sbuf_str(&written),
					 nwritten > NAMED_MAX ? ", ..." : "", rows, WATCH_SECONDS);
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

/* Opens d's target and source, finds its follow run and checks that its replication is all there. */
static int
open_db(const cutover_options *opt, const char *target, cutover_db *d, sl_err *err)
{
	cutover_report *r = d->r;
	follow_state fs;
	char		fingerprint[256];
	int			rc;

	if ((rc = conn_open(&d->target, target, SIDE_TARGET, NULL, err)) < 0)
		return rc;
	snprintf(r->database, sizeof(r->database), "%s", PQdb(d->target));
	if ((rc = state_init(&d->st, d->target, opt->state_schema, err)) < 0 ||
		(rc = load_follow_run(&d->st, opt->run, &d->run, err)) < 0)
		return rc;
	r->run_id = d->run.id;
	if ((rc = conn_open(&d->source, opt->common.source != NULL ? opt->common.source : d->run.source, SIDE_SOURCE,
						NULL, err)) < 0 ||
		(rc = state_fingerprint(d->source, fingerprint, sizeof(fingerprint), err)) < 0)
		return rc;
	if (strcmp(fingerprint, d->run.fingerprint) != 0)
		return err_set(err, SIDE_USAGE, -EINVAL, "run %lld follows another source (%s, this one is %s)",
					   (long long) d->run.id, d->run.fingerprint, fingerprint);
	if ((rc = follow_name(d->target, d->run.id, r->name, sizeof(r->name), err)) < 0 ||
		(rc = follow_read(d->source, d->target, r->name, &fs, err)) < 0)
		return rc;
	if (!fs.slot || !fs.subscription || !fs.publication)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "run %lld: its %s is missing: replication is not running",
					 (long long) d->run.id, !fs.slot ? "slot on the source" : !fs.publication
					 ? "publication on the source" : "subscription on the target");
		err_hint(err, "\"pgsluice status --run %lld\" shows what is left; \"pgsluice cleanup --run %lld\" "
				 "removes the run.", (long long) d->run.id, (long long) d->run.id);
		return rc;
	}
	log_info("cutover: %s: run %lld, subscription %s %s, %lld bytes behind", r->database, (long long) d->run.id,
			 r->name, follow_state_word(&fs), (long long) fs.lag_bytes);
	return 0;
}

/* The target at the source's position, now that the source is still. */
static int
catch_up(const cutover_options *opt, cutover_db *d, sl_err *err)
{
	cutover_report *r = d->r;
	double		t = clock_seconds();
	PGresult   *res = NULL;
	int			rc;

	if ((rc = conn_query(d->source, SIDE_SOURCE, "SELECT pg_catalog.pg_current_wal_lsn()", &res, err)) < 0)
		return rc;
	snprintf(r->lsn, sizeof(r->lsn), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((rc = follow_wait_applied(d->source, d->target, r->name, r->lsn, opt->max_wait, err)) < 0)
		return rc;
	r->seconds_catch_up = clock_seconds() - t;
	log_info("cutover: %s: the target has applied the source's position %s (%.1f s)", r->database, r->lsn,
			 r->seconds_catch_up);
	return 0;
}

/* The sequences as they are (the verify compares them); the margin comes after the verify. */
static int
set_sequences(cutover_db *d, int64_t margin, sl_err *err)
{
	cutover_report *r = d->r;
	double		t = clock_seconds();
	int			rc;

	if (d->cat == NULL &&
		((rc = state_run_filter(&d->st, d->run.id, &r->filter, err)) < 0 ||
		 (rc = catalog_load(d->source, SIDE_SOURCE, conn_major_version(d->target), &r->filter, &d->cat, err)) < 0))
		return rc;
	if ((rc = catalog_copy_sequences(d->source, d->target, d->cat, margin, &r->sequences_set, err)) < 0)
		return rc;
	r->seconds_sequences += clock_seconds() - t;
	return 0;
}

/* The proof, at a still source: 0 with r->verify, identical or not. */
static int
verify_db(const cutover_options *opt, const char *target, cutover_db *d, sl_err *err)
{
	cutover_report *r = d->r;
	verify_options vopt = {0};
	double		t = clock_seconds();
	int			rc;

	vopt.common = opt->common;
	vopt.common.target = target;
	vopt.common.source = opt->common.source != NULL ? opt->common.source : d->run.source;
	vopt.common.filter = &r->filter;
	vopt.sample = 1.0;
	vopt.max_diffs = opt->max_diffs;
	if ((rc = verify_run(&vopt, &r->verify, err)) < 0)
		return rc;
	r->seconds_verify = clock_seconds() - t;
	if (verify_identical(r->verify))
		log_info("cutover: %s: verify: the target is identical to the source (%.1f s)", r->database,
				 r->seconds_verify);
	else
		log_error("cutover: %s: the target differs from the source: replication is kept, and the run stays "
				  "as it is", r->database);
	return 0;
}

/* No more replication, the run cut over. */
static int
teardown(const cutover_options *opt, cutover_db *d, sl_err *err)
{
	cutover_report *r = d->r;
	double		t = clock_seconds();
	int			rc;

	if ((rc = follow_drop(d->source, d->target, r->name, &r->dropped, err)) < 0 ||
		(rc = state_run_set(&d->st, d->run.id, "cut over", STATE_STEP_DONE, NULL, err)) < 0)
		return rc;
	r->done = true;
	if ((rc = state_run_finish(d->target, opt->state_schema, d->run.id, opt->keep_record, &r->record_removed,
							   err)) < 0)
		return rc;
	r->seconds_teardown = clock_seconds() - t;
	log_info("cutover: %s: subscription, slot and publication %s dropped (%.1f s)", r->database, r->name,
			 r->seconds_teardown);
	return 0;
}

/* Names the database in err when there are several. */
static int
in_database(int rc, int n, const cutover_db *d, sl_err *err)
{
	char		what[128];

	if (rc < 0 && n > 1)
	{
		snprintf(what, sizeof(what), "database %s", d->r->database);
		err_prefix(err, what);
	}
	return rc;
}

int
cutover_run(const cutover_options *opt, const char *const *targets, int n, cutover_report **out, sl_err *err)
{
	cutover_db *dbs = calloc((size_t) n, sizeof(cutover_db));
	cutover_report *r = calloc((size_t) n, sizeof(cutover_report));
	double		t_start = clock_seconds();
	bool		identical = true;
	int			rc = 0;

	*out = r;
	if (dbs == NULL || r == NULL)
	{
		free(dbs);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	for (int k = 0; k < n; k++)
		dbs[k].r = &r[k];
	/* each step for every database before the next: nothing is torn down until every one may be */
	for (int k = 0; rc == 0 && k < n; k++)
		rc = in_database(open_db(opt, targets[k], &dbs[k], err), n, &dbs[k], err);
	if (rc == 0)
	{
		progress_phase("cutover: watching for writes");
		if ((rc = watch_writes(dbs, n, opt->force, err)) == 0)
			log_info("cutover: no write on the followed tables for %.1f s", dbs[0].r->seconds_watch);
	}
	progress_phase("cutover: waiting for the target");
	for (int k = 0; rc == 0 && k < n; k++)
		rc = in_database(catch_up(opt, &dbs[k], err), n, &dbs[k], err);
	for (int k = 0; rc == 0 && k < n; k++)
		rc = in_database(set_sequences(&dbs[k], 0, err), n, &dbs[k], err);
	if (opt->verify)
		progress_phase("cutover: verify");
	for (int k = 0; rc == 0 && opt->verify && k < n; k++)
		if ((rc = in_database(verify_db(opt, targets[k], &dbs[k], err), n, &dbs[k], err)) == 0)
			identical = identical && verify_identical(r[k].verify);
	for (int k = 0; rc == 0 && identical && opt->sequence_margin != 0 && k < n; k++)
		rc = in_database(set_sequences(&dbs[k], opt->sequence_margin, err), n, &dbs[k], err);
	for (int k = 0; rc == 0 && identical && k < n; k++)
		log_info("cutover: %s: %d sequences set%s", r[k].database, r[k].sequences_set,
				 opt->sequence_margin != 0 ? ", with the margin" : "");
	progress_phase("cutover: removing the replication");
	for (int k = 0; rc == 0 && identical && k < n; k++)
		rc = in_database(teardown(opt, &dbs[k], err), n, &dbs[k], err);
	progress_phase(NULL);
	for (int k = 0; k < n; k++)
	{
		r[k].seconds_total = clock_seconds() - t_start;
		catalog_destroy(dbs[k].cat);
		state_fini(&dbs[k].st);
		conn_close(&dbs[k].source);
		conn_close(&dbs[k].target);
	}
	free(dbs);
	return rc;
}

void
cutover_reports_destroy(cutover_report *r, int n)
{
	if (r == NULL)
		return;
	for (int k = 0; k < n; k++)
	{
		verify_report_destroy(r[k].verify);
		filter_free(&r[k].filter);
	}
	free(r);
}
