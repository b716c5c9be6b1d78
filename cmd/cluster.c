/*
 * cluster.c: clone --all-databases.  See cluster.h.
 */
#include "cmd/cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/catalog.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/stop.h"
#include "engine/target.h"

#define MAINTENANCE_DB "postgres"

/* conninfo naming its maintenance database: its own dbname, else postgres. */
static int
maintenance_conninfo(const char *conninfo, char **out)
{
	PQconninfoOption *parsed = PQconninfoParse(conninfo, NULL);
	const char *dbname = NULL;
	int			rc;

	*out = NULL;
	if (parsed == NULL)
		return -EINVAL;
	for (PQconninfoOption *o = parsed; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val != NULL && o->val[0] != '\0')
			dbname = o->val;
	rc = conn_info_with_dbname(conninfo, dbname != NULL ? dbname : MAINTENANCE_DB, out);
	PQconninfoFree(parsed);
	return rc;
}

/* Opens a connection to database dbname of the server conninfo names. */
static int
open_database(PGconn **conn, const char *conninfo, const char *dbname, sl_side side, sl_err *err)
{
	char	   *info = NULL;
	int			rc;

	if ((rc = conn_info_with_dbname(conninfo, dbname, &info)) < 0)
		return err_set(err, SIDE_USAGE, rc, "invalid %s connection string", side == SIDE_SOURCE ? "source" : "target");
	rc = conn_open(conn, info, side, NULL, err);
	free(info);
	return rc;
}

/*
 * Step 2: what stands in the way on the target, for every chosen database,
 * before anything is written.  exists[i] says whether database i is there.
 */
static int
check_targets(const cluster_options *opt, cluster_report *r, PGconn *target, bool *exists, sl_err *err)
{
	bool		data_only = opt->clone.data_only;
	sbuf		in_the_way;
	int			blocked = 0;
	int			rc = 0;

	sbuf_init(&in_the_way, 1 << 16);
	for (int i = 0; i < r->ndatabases && rc == 0; i++)
	{
		cluster_database *d = &r->databases[i];
		PGconn	   *src = NULL;
		PGconn	   *dst = NULL;
		catalog    *cat = NULL;
		target_problems found;

		if ((rc = globals_database_exists(target, d->target_name, err)) < 0)
			break;
		exists[i] = rc > 0;
		rc = 0;
		if (!exists[i])
		{
			if (data_only)
			{
				sbuf_printf(&in_the_way, "%s\"%s\" is not there", blocked++ ? "; " : "", d->target_name);
			}
			continue;
		}
		if (data_only)
			continue;			/* the clone itself checks its tables and columns */
		target_problems_init(&found);
		if ((rc = open_database(&src, opt->clone.common.source, d->name, SIDE_SOURCE, err)) == 0 &&
			(rc = open_database(&dst, opt->clone.common.target, d->target_name, SIDE_TARGET, err)) == 0 &&
			(rc = catalog_load(src, SIDE_SOURCE, conn_major_version(dst), opt->clone.common.filter, &cat, err)) == 0 &&
			(rc = target_find_conflicts(dst, cat, false, &found, err)) == 0 && found.n > 0)
			sbuf_printf(&in_the_way, "%s\"%s\" holds %s%s", blocked++ ? "; " : "", d->target_name,
						found.items[0].what, found.n > 1 ? " and more of the source's tables" : "");
		target_problems_fini(&found);
		catalog_destroy(cat);
		conn_close(&src);
		conn_close(&dst);
	}
	if (rc == 0 && blocked > 0 && data_only)
	{
		rc = err_set(err, SIDE_TARGET, -ENOENT, "--data-only needs the target's databases: %.2000s",
					 sbuf_str(&in_the_way));
		err_hint(err, "Create them with the source's schema first, or clone without --data-only.");
	}
	else if (rc == 0 && blocked > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EEXIST, "databases on the target already hold the source's tables: %.2000s",
					 sbuf_str(&in_the_way));
		err_hint(err, "Drop them, choose others with --exclude-database or --database-map, or use --data-only "
				 "to load into their schemas.");
	}
	sbuf_fini(&in_the_way);
	return rc;
}

/* Step 4 for one database: create it where it is missing, then clone it. */
static void
copy_database(const cluster_options *opt, cluster_database *d, const globals_database *gdb, PGconn *source,
			  PGconn *target, bool exists)
{
	clone_options copt = opt->clone;
	char	   *src_info = NULL;
	char	   *dst_info = NULL;
	double		t = clock_seconds();
	int			rc = 0;

	err_clear(&d->err);
	log_info("database \"%s\"%s%s%s: %s", d->name, strcmp(d->name, d->target_name) ? " as \"" : "",
			 strcmp(d->name, d->target_name) ? d->target_name : "", strcmp(d->name, d->target_name) ? "\"" : "",
			 exists ? "into the existing database" : "creating it on the target");
	if (!exists)
	{
		progress_phase("cluster: creating a database");
		if ((rc = globals_create_database(source, target, gdb, &opt->globals, &d->err)) == 0)
			d->created = true;
	}
	if (rc == 0 && (conn_info_with_dbname(opt->clone.common.source, d->name, &src_info) < 0 ||
					conn_info_with_dbname(opt->clone.common.target, d->target_name, &dst_info) < 0))
		rc = err_set(&d->err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if (rc == 0)
	{
		copt.common.source = src_info;
		copt.common.target = dst_info;
		rc = clone_run(&copt, &d->report, &d->err);
	}
	d->status = rc == 0 ? CLUSTER_DB_DONE : CLUSTER_DB_FAILED;
	d->seconds = clock_seconds() - t;
	if (rc < 0)
		log_error("database \"%s\" failed: %s", d->name, d->err.msg);
	else
		log_info("database \"%s\": done in %.1f s", d->name, d->seconds);
	free(src_info);
	free(dst_info);
}

int
cluster_clone_run(const cluster_options *opt, cluster_report **report_out, sl_err *err)
{
	cluster_report *r = calloc(1, sizeof(*r));
	globals_database *dbs = NULL;
	int			ndbs = 0;
	char	   *src_info = NULL;
	char	   *dst_info = NULL;
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	bool	   *exists = NULL;
	double		start = clock_seconds();
	int			rc;

	*report_out = NULL;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if (maintenance_conninfo(opt->clone.common.source, &src_info) < 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "invalid source connection string");
		goto done;
	}
	if (maintenance_conninfo(opt->clone.common.target, &dst_info) < 0)
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "invalid target connection string");
		goto done;
	}
	if ((rc = conn_open(&source, src_info, SIDE_SOURCE, NULL, err)) < 0 ||
		(rc = conn_open(&target, dst_info, SIDE_TARGET, NULL, err)) < 0)
		goto done;

	/* 1. the databases */
	if ((rc = globals_list_databases(source, &opt->patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	r->databases = calloc((size_t) ndbs + 1, sizeof(cluster_database));
	exists = calloc((size_t) ndbs + 1, sizeof(bool));
	if (r->databases == NULL || exists == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	r->ndatabases = ndbs;
	for (int i = 0; i < ndbs; i++)
	{
		r->databases[i].name = strdup(dbs[i].name);
		r->databases[i].target_name = strdup(dbs[i].target_name);
		r->databases[i].bytes = dbs[i].bytes;
		if (r->databases[i].name == NULL || r->databases[i].target_name == NULL)
		{
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
			goto done;
		}
	}
	log_info("cluster: %d database%s to copy, largest first", ndbs, ndbs == 1 ? "" : "s");

	/* 2. nothing in the way, before anything is written */
	progress_phase("cluster: checking the target's databases");
	if ((rc = check_targets(opt, r, target, exists, err)) < 0)
		goto done;

	/* 3. roles */
	if (!opt->no_roles)
	{
		double		t = clock_seconds();

		progress_phase("cluster: roles");
		if ((rc = globals_copy_roles(source, target, &opt->globals, &r->roles, err)) < 0)
			goto done;
		r->roles_copied = true;
		r->seconds_roles = clock_seconds() - t;
		log_info("roles: %d created, %d there already, %d memberships granted%s", r->roles.ncreated,
				 r->roles.nexisting, r->roles.nmemberships,
				 r->roles.passwords || opt->globals.no_role_passwords ? ""
				 : " (without passwords: reading their hashes needs a superuser)");
	}

	/* 4. each database */
	for (int i = 0; i < ndbs && !atomic_load(stop_flag()); i++)
	{
		copy_database(opt, &r->databases[i], &dbs[i], source, target, exists[i]);
		if (r->databases[i].status == CLUSTER_DB_FAILED)
			r->failed++;
		if (r->databases[i].err.side == SIDE_INTERRUPT)
			break;
	}
	if (atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

done:
	r->seconds = clock_seconds() - start;
	globals_databases_free(dbs, ndbs);
	free(exists);
	conn_close(&source);
	conn_close(&target);
	free(src_info);
	free(dst_info);
	*report_out = r;
	return rc;
}

void
cluster_report_destroy(cluster_report *report)
{
	if (report == NULL)
		return;
	for (int i = 0; i < report->ndatabases; i++)
	{
		free(report->databases[i].name);
		free(report->databases[i].target_name);
		clone_report_destroy(report->databases[i].report);
	}
	free(report->databases);
	globals_roles_fini(&report->roles);
	free(report);
}
