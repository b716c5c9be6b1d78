/*
 * cluster_check.c: check --all-databases.  See cluster_check.h.
 */
#include "cmd/cluster_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "engine/conn.h"

#define PLURAL(n, one, many) ((n) == 1 ? (one) : (many))

/* The roles step: what it would create, and whether it may. */
static int
check_roles_step(const cluster_check_options *opt, PGconn *source, PGconn *target, check_report *r, sl_err *err)
{
	PGresult   *src = NULL;
	PGresult   *dst = NULL;
	PGresult   *me = NULL;
	PGresult   *authid = NULL;
	char	  **missing = NULL;
	int			nmissing = 0;
	char		summary[512];
	int			rc;

	if ((rc = conn_query(source, SIDE_SOURCE, "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_'"
						 " ORDER BY 1", &src, err)) < 0 ||
		(rc = conn_query(target, SIDE_TARGET, "SELECT rolname FROM pg_catalog.pg_roles", &dst, err)) < 0 ||
		(rc = conn_query(target, SIDE_TARGET, "SELECT rolsuper OR rolcreaterole, CURRENT_USER"
						 " FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER", &me, err)) < 0 ||
		(rc = conn_query(source, SIDE_SOURCE, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid',"
						 " 'SELECT')", &authid, err)) < 0)
		goto done;
	if ((missing = calloc((size_t) PQntuples(src) + 1, sizeof(char *))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < PQntuples(src); i++)
	{
		bool		there = false;

		for (int j = 0; j < PQntuples(dst) && !there; j++)
			there = strcmp(PQgetvalue(src, i, 0), PQgetvalue(dst, j, 0)) == 0;
		if (!there)
			missing[nmissing++] = PQgetvalue(src, i, 0);
	}
	if (nmissing > 0 && PQntuples(me) == 1 && PQgetvalue(me, 0, 0)[0] != 't')
	{
		snprintf(summary, sizeof(summary), "user \"%.200s\" may not create roles, and %d of the source's %s "
				 "not on the target", PQgetvalue(me, 0, 1), nmissing, PLURAL(nmissing, "roles is", "roles are"));
		check_add(r, CHECK_BLOCKER, CHECK_TARGET, "roles_create", summary,
				  "connect to the target as a superuser, or create the roles first and use --no-roles",
				  missing, nmissing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the roles step creates %d of the source's %d roles (%d there "
				 "already %s left as %s)", nmissing, PQntuples(src), PQntuples(src) - nmissing,
				 PLURAL(PQntuples(src) - nmissing, "is", "are"), PLURAL(PQntuples(src) - nmissing, "it is", "they are"));
		check_add(r, nmissing > 0 ? CHECK_NOTE : CHECK_OK, CHECK_TARGET, "roles_create", summary, NULL,
				  missing, nmissing);
	}
	if (nmissing > 0 && !opt->no_role_passwords && PQgetvalue(authid, 0, 0)[0] != 't')
		check_add(r, CHECK_WARNING, CHECK_SOURCE, "role_passwords", "the source's user may not read the "
				  "roles' password hashes (pg_authid): the roles are created without passwords",
				  "connect to the source as a superuser, or say --no-role-passwords and set the passwords "
				  "on the target", NULL, 0);

done:
	free(missing);
	PQclear(src);
	PQclear(dst);
	PQclear(me);
	PQclear(authid);
	return rc;
}

static bool
same_finding(const check_finding *a, const check_finding *b)
{
	return a->severity == b->severity && a->where == b->where && strcmp(a->code, b->code) == 0 &&
		strcmp(a->message, b->message) == 0;
}

/*
 * Into r: each database's findings, those that every database gives alike
 * once and for the run, the others naming their database.
 */
static void
merge_reports(check_report *r, check_report *const *reports, char *const *names, int n)
{
	for (int i = 0; i < n; i++)
	{
		for (int k = 0; reports[i] != NULL && k < reports[i]->nfindings; k++)
		{
			const check_finding *f = &reports[i]->findings[k];
			int			alike = 0;
			bool		seen = false;

			for (int j = 0; j < n; j++)
				for (int m = 0; reports[j] != NULL && m < reports[j]->nfindings; m++)
					if (same_finding(f, &reports[j]->findings[m]))
					{
						alike++;
						seen = seen || j < i;
						break;
					}
			if (n > 1 && alike == n)
			{
				if (!seen)
					check_add_copy(r, f, NULL);
			}
			else
				check_add_copy(r, f, names[i]);
		}
		r->bad_usage = r->bad_usage || (reports[i] != NULL && reports[i]->bad_usage);
	}
}

/* A server that cannot be reached, or databases that cannot be chosen: the one finding. */
static void
add_failure(check_report *r, const sl_err *e)
{
	char		summary[SL_ERR_MSG_MAX + 64];

	snprintf(summary, sizeof(summary), "%s", e->msg);
	r->bad_usage = e->side == SIDE_USAGE;
	check_add(r, CHECK_BLOCKER, e->side == SIDE_SOURCE ? CHECK_SOURCE : e->side == SIDE_TARGET ? CHECK_TARGET
			  : CHECK_LOCAL, "check_failed", summary, e->hint[0] != '\0' ? e->hint
			  : "see the message; the checks of the databases were left out", NULL, 0);
}

int
cluster_check_run(const cluster_check_options *opt, check_report **out, sl_err *err)
{
	check_report *r = calloc(1, sizeof(*r));
	globals_database *dbs = NULL;
	int			ndbs = 0;
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	check_report **reports = NULL;
	char	  **names = NULL;
	char	  **info = NULL;		/* per database: its source and target connection strings */
	char		summary[2048];
	sl_err		e;
	sbuf		list;
	int			rc = 0;

	*out = r;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	err_clear(&e);
	sbuf_init(&list, 1 << 16);
	if (globals_connect(&source, opt->check.common.source, NULL, SIDE_SOURCE, &e) < 0 ||
		globals_connect(&target, opt->check.common.target, NULL, SIDE_TARGET, &e) < 0 ||
		globals_list_databases(source, &opt->patterns, &dbs, &ndbs, &e) < 0)
	{
		add_failure(r, &e);
		goto done;
	}
	reports = calloc((size_t) ndbs + 1, sizeof(check_report *));
	names = calloc((size_t) ndbs + 1, sizeof(char *));
	info = calloc(2 * (size_t) ndbs + 2, sizeof(char *));
	if (reports == NULL || names == NULL || info == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < ndbs; i++)
	{
		sbuf_printf(&list, "%s%s", i ? ", " : "", dbs[i].name);
		if (strcmp(dbs[i].name, dbs[i].target_name) != 0)
			sbuf_printf(&list, " (as %s)", dbs[i].target_name);
		names[i] = dbs[i].name;
	}
	snprintf(summary, sizeof(summary), "%d %s chosen, largest first: %.1900s", ndbs,
			 PLURAL(ndbs, "database", "databases"), sbuf_str(&list));
	check_add(r, CHECK_OK, CHECK_SOURCE, "databases", summary, NULL, NULL, 0);
	if (!opt->no_roles && check_roles_step(opt, source, target, r, &e) < 0)
		add_failure(r, &e);

	for (int i = 0; i < ndbs && rc == 0; i++)
	{
		check_options one = opt->check;
		int			exists = globals_database_exists(target, dbs[i].target_name, &e);

		if (exists < 0)
		{
			add_failure(r, &e);
			break;
		}
		if (conn_info_with_dbname(opt->check.common.source, dbs[i].name, &info[2 * i]) < 0 ||
			(exists ? conn_info_with_dbname(opt->check.common.target, dbs[i].target_name, &info[2 * i + 1])
			 : globals_maintenance_info(opt->check.common.target, &info[2 * i + 1])) < 0)
		{
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
			break;
		}
		one.common.source = info[2 * i];
		one.common.target = info[2 * i + 1];
		/* where the run creates it, the maintenance database stands in: the server's checks hold */
		if (!exists)
			one.new_database = dbs[i].target_name;
		one.roles_first = !opt->no_roles;
		rc = check_run(&one, &reports[i], err);
	}
	if (rc == 0)
		merge_reports(r, reports, names, ndbs);
	if (r->failed)
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");

done:
	for (int i = 0; reports != NULL && i < ndbs; i++)
		check_report_destroy(reports[i]);
	for (int i = 0; info != NULL && i < 2 * ndbs; i++)
		free(info[i]);
	free(reports);
	free(names);
	free(info);
	sbuf_fini(&list);
	globals_databases_free(dbs, ndbs);
	conn_close(&source);
	conn_close(&target);
	return rc;
}
