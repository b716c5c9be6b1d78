/*
 * cluster_verify.c: verify --all-databases.  See cluster_verify.h.
 */
#include "cmd/cluster_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/stop.h"

/* Step 3 for one database that the target has: its properties, then its contents. */
static void
verify_database(const cluster_verify_options *opt, cluster_verify_report *r, cluster_verify_database *d,
				const globals_database *gdb, PGconn *source, PGconn *target)
{
	verify_options vopt = opt->verify;
	char	   *src_info = NULL;
	char	   *dst_info = NULL;
	int			before = r->globals.ndiffs;
	int			rc;

	rc = globals_compare_database(source, target, gdb, &opt->globals, &r->globals, &d->err);
	d->property_diffs = r->globals.ndiffs - before;
	if (rc == 0 && (conn_info_with_dbname(opt->verify.common.source, d->name, &src_info) < 0 ||
					conn_info_with_dbname(opt->verify.common.target, d->target_name, &dst_info) < 0))
		rc = err_set(&d->err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if (rc == 0)
	{
		vopt.common.source = src_info;
		vopt.common.target = dst_info;
		rc = verify_run(&vopt, &d->report, &d->err);
	}
	d->status = rc == 0 ? CLUSTER_DB_DONE : CLUSTER_DB_FAILED;
	free(src_info);
	free(dst_info);
}

int
cluster_verify_run(const cluster_verify_options *opt, cluster_verify_report **report_out, sl_err *err)
{
	cluster_verify_report *r = calloc(1, sizeof(*r));
	globals_database *dbs = NULL;
	int			ndbs = 0;
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	double		start = clock_seconds();
	int			rc;

	*report_out = NULL;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = globals_connect(&source, opt->verify.common.source, NULL, SIDE_SOURCE, err)) < 0 ||
		(rc = globals_connect(&target, opt->verify.common.target, NULL, SIDE_TARGET, err)) < 0)
		goto done;

	/* 1. the databases */
	if ((rc = globals_list_databases(source, &opt->patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	if ((r->databases = calloc((size_t) ndbs + 1, sizeof(cluster_verify_database))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	r->ndatabases = ndbs;
	for (int i = 0; i < ndbs; i++)
	{
		r->databases[i].name = strdup(dbs[i].name);
		r->databases[i].target_name = strdup(dbs[i].target_name);
		if (r->databases[i].name == NULL || r->databases[i].target_name == NULL)
		{
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
			goto done;
		}
	}
	log_info("cluster: %d database%s to verify, largest first", ndbs, ndbs == 1 ? "" : "s");

	/* 2. roles */
	if (!opt->no_roles)
	{
		progress_phase("cluster: comparing the roles");
		if ((rc = globals_compare_roles(source, target, &opt->globals, &r->globals, err)) < 0)
			goto done;
		r->roles_compared = true;
		r->role_diffs = r->globals.ndiffs;
	}

	/* 3. the databases */
	for (int i = 0; i < ndbs && !atomic_load(stop_flag()); i++)
	{
		cluster_verify_database *d = &r->databases[i];
		double		t = clock_seconds();

		err_clear(&d->err);
		if ((rc = globals_database_exists(target, d->target_name, &d->err)) < 0)
		{
			d->status = CLUSTER_DB_FAILED;
			rc = 0;
		}
		else if (rc == 0)
		{
			d->missing = true;
			d->status = CLUSTER_DB_DONE;
		}
		else
		{
			log_info("database \"%s\": verifying", d->name);
			verify_database(opt, r, d, &dbs[i], source, target);
			rc = 0;
		}
		d->seconds = clock_seconds() - t;
		if (d->status == CLUSTER_DB_FAILED)
		{
			r->failed++;
			log_error("database \"%s\" failed: %s", d->name, d->err.msg);
		}
		else
		{
			r->different += cluster_verify_database_different(d);
			log_info("database \"%s\": %s", d->name, d->missing ? "missing on the target"
					 : cluster_verify_database_different(d) ? "different" : "identical");
		}
	}
	if (atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

done:
	r->seconds = clock_seconds() - start;
	globals_databases_free(dbs, ndbs);
	conn_close(&source);
	conn_close(&target);
	*report_out = r;
	return rc;
}

bool
cluster_verify_database_different(const cluster_verify_database *db)
{
	return db->status == CLUSTER_DB_DONE &&
		(db->missing || db->property_diffs > 0 || (db->report != NULL && !verify_identical(db->report)));
}

bool
cluster_verify_identical(const cluster_verify_report *report)
{
	return report->role_diffs == 0 && report->different == 0;
}

void
cluster_verify_report_destroy(cluster_verify_report *report)
{
	if (report == NULL)
		return;
	for (int i = 0; i < report->ndatabases; i++)
	{
		free(report->databases[i].name);
		free(report->databases[i].target_name);
		verify_report_destroy(report->databases[i].report);
	}
	free(report->databases);
	globals_diffs_fini(&report->globals);
	free(report);
}
