/*
 * check_source.c: the preflight's checks of the source (see check_int.h):
 * the role's privileges on what it reads, the replication role it needs,
 * the tables (keys, types, sizes), large objects, extensions, and the
 * roles that own or are granted what the schema step carries.
 */
#include "engine/check.h"
#include "engine/check_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/schema.h"
#include "engine/target.h"

/*
 * The source's schemas that the schema step creates (all but the system's
 * and extensions', or those the schema options choose), or with --table,
 * those of the chosen relations.
 */
int
check_read_source_schemas(check_ctx *c)
{
	PGresult   *res;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.relnamespace = n.oid"
				"                          AND r.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))"
				" FROM pg_catalog.pg_namespace n"
				" WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"
				"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class v WHERE v.relnamespace = n.oid"
				"                   AND v.relname = 'pgsluice_state_version')"
				"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
				"                   WHERE d.classid = 'pg_catalog.pg_namespace'::regclass"
				"                     AND d.objid = n.oid AND d.deptype = 'e')");
	if (check_by_table(c))
	{
		sbuf_append(&sql, " AND n.oid IN (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = ANY ('{0");
		for (int i = 0; i < c->cat->selection.noids; i++)
			sbuf_printf(&sql, ",%u", c->cat->selection.oids[i]);
		sbuf_append(&sql, "}'::pg_catalog.oid[]))");
	}
	else if (!filter_empty(c->opt->common.filter))
	{
		sbuf_append(&sql, " AND ");
		filter_append_schema_condition(&sql, c->src.conn, c->opt->common.filter, "n.nspname");
	}
	sbuf_append(&sql, " ORDER BY 1");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->src, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	c->schemas = calloc((size_t) PQntuples(res) + 1, sizeof(source_schema));
	if (c->schemas == NULL)
	{
		PQclear(res);
		return check_out_of_memory(c);
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		if ((c->schemas[i].name = strdup(PQgetvalue(res, i, 0))) == NULL)
			rc = check_out_of_memory(c);
		c->schemas[i].has_relations = strcmp(PQgetvalue(res, i, 1), "t") == 0;
		c->nschemas++;
	}
	PQclear(res);
	return rc;
}

/* The source's user may read every table and sequence, through schemas it may use. */
int
check_source_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		schemas = {0};
	names		unreadable = {0};
	names		secured = {0};
	char		summary[1024];
	char		fix[1024];
	int			rc;

	if (c->cat == NULL)
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT n.nspname, pg_catalog.has_schema_privilege(n.oid, 'USAGE'),"
				"       pg_catalog.format('%I.%I', n.nspname, c.relname),"
				"       pg_catalog.has_table_privilege(c.oid, 'SELECT'),"
				"       c.relkind = 'r' AND c.relrowsecurity AND NOT (u.rolsuper OR u.rolbypassrls)"
				"       AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,"
				"      pg_catalog.pg_roles u"
				" WHERE u.rolname = current_user AND (c.oid IN (0");
	for (int i = 0; i < c->cat->ntables; i++)
		sbuf_printf(&sql, ", %u", c->cat->tables[i].oid);
	sbuf_append(&sql, ") OR (c.relkind = 'S' AND pg_catalog.format('%I.%I', n.nspname, c.relname) IN (''");
	for (int i = 0; i < c->cat->nsequences; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->src.conn, c->cat->sequences[i].qname);
	}
	sbuf_append(&sql, "))) ORDER BY 1, 3");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->src, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0 && !check_names_has(&schemas, PQgetvalue(res, i, 0)))
			check_names_add(&schemas, PQgetvalue(res, i, 0));
		if (strcmp(PQgetvalue(res, i, 3), "t") != 0)
			check_names_add(&unreadable, PQgetvalue(res, i, 2));
		if (strcmp(PQgetvalue(res, i, 4), "t") == 0)
			check_names_add(&secured, PQgetvalue(res, i, 2));
	}
	PQclear(res);

	if (schemas.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no USAGE privilege on %d of the source's "
				 "schemas that hold tables to copy", c->src.user, schemas.n);
		snprintf(fix, sizeof(fix), "GRANT USAGE ON SCHEMA ... TO \"%s\"%s, or connect as a superuser",
				 c->src.user, c->src.major >= 14
				 ? " (or GRANT pg_read_all_data, which gives USAGE on every schema and SELECT on every table)"
				 : "");
		check_add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_privileges", summary, fix, &schemas);
	}
	if (unreadable.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not read %d of the source's tables and "
				 "sequences (no SELECT privilege)", c->src.user, unreadable.n);
		snprintf(fix, sizeof(fix), "GRANT SELECT ON them TO \"%s\"%s, or connect as their owner or a "
				 "superuser", c->src.user, c->src.major >= 14 ? " (or GRANT pg_read_all_data)" : "");
		check_add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_privileges", summary, fix, &unreadable);
	}
	if (schemas.n == 0 && unreadable.n == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may read the source's tables (%d) and sequences (%d)",
				 c->src.user, c->cat->ntables, c->cat->nsequences);
		check_add(c->r, CHECK_OK, CHECK_SOURCE, "source_privileges", summary, NULL, NULL, 0);
	}
	if (secured.n > 0)
	{
		snprintf(summary, sizeof(summary), "row-level security applies to user \"%s\" on %d of the "
				 "source's tables: pgsluice reads with row_security off, so that no policy hides rows "
				 "silently, and the server refuses to read them", c->src.user, secured.n);
		snprintf(fix, sizeof(fix), "connect as the tables' owner, a superuser, or a role with BYPASSRLS "
				 "(ALTER ROLE \"%s\" BYPASSRLS)", c->src.user);
		check_add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_row_security", summary, fix, &secured);
	}
	rc = schemas.failed || unreadable.failed || secured.failed ? check_out_of_memory(c) : 0;
	check_names_fini(&schemas);
	check_names_fini(&unreadable);
	check_names_fini(&secured);
	return rc;
}

/* Data-only: triggers and foreign keys are off while loading only where the user may say so. */
int
check_replication_role(check_ctx *c)
{
	PGresult   *res;
	char		summary[1024];
	char		fix[1024];
	bool		refused;

	if (c->dst.conn == NULL || !c->opt->data_only)
		return 0;
	/* a session setting, gone with this session; it writes nothing */
	res = PQexec(c->dst.conn, "SET session_replication_role = replica");
	refused = PQresultStatus(res) != PGRES_COMMAND_OK;
	PQclear(res);
	if (!refused)
		PQclear(PQexec(c->dst.conn, "RESET session_replication_role"));
	if (refused)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not set session_replication_role on the "
				 "target (a superuser may): triggers and foreign keys fire while the data loads, chunk "
				 "by chunk in any order, so a foreign key can refuse a row whose parent comes later, "
				 "and triggers run again on rows that fired them on the source", c->dst.user);
		snprintf(fix, sizeof(fix), "load as a superuser%s, or drop the foreign keys and disable the "
				 "triggers for the load", c->dst.major >= 15
				 ? ", or GRANT SET ON PARAMETER session_replication_role TO the user" : "");
		check_add(c->r, CHECK_WARNING, CHECK_TARGET, "replication_role", summary, fix, NULL, 0);
	}
	else
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may set session_replication_role on the target: "
				 "triggers and foreign keys do not fire while the data loads", c->dst.user);
		check_add(c->r, CHECK_OK, CHECK_TARGET, "replication_role", summary, NULL, NULL, 0);
	}
	return 0;
}

/* Tables without a key, tables that move as text, unlogged tables, materialized views. */
int
check_tables(check_ctx *c)
{
	names		keyless = {0};
	names		unlogged = {0};
	names		matviews = {0};
	char		summary[1024];
	int			rc;

	if (c->cat == NULL)
		return 0;
	for (int i = 0; i < c->cat->ntables; i++)
	{
		const cat_table *t = &c->cat->tables[i];

		if (t->key_kind == KEY_NONE)
			check_names_add(&keyless, t->qname);
		if (t->persistence == 'u')
			check_names_add(&unlogged, t->qname);
		if (t->text_reason != NULL)
		{
			snprintf(summary, sizeof(summary), "table %s moves as text, not binary: %s", t->qname,
					 t->text_reason);
			check_finding_add(c->r, CHECK_NOTE, CHECK_SOURCE, "text_format", summary, NULL,
						(char *const *) &t->qname, 1, false);
		}
	}
	for (int i = 0; i < c->cat->nmatviews; i++)
		check_names_add(&matviews, c->cat->matviews[i]);
	if (keyless.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d %s no primary key and no unique index usable as one: "
				 "%s, and verify matches their rows by content (a difference names the row, not a key)",
				 keyless.n, PLURAL(keyless.n, "table has", "tables have"), c->src.major >= 14 ? "each is split into heap page ranges (ctid)"
				 : "each is copied as one chunk (ctid ranges need PostgreSQL 14)");
		check_add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "table_without_key", summary,
				  "where rows have an identity, a primary key gives key-range chunks and differences "
				  "named by key", &keyless);
	}
	if (unlogged.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d unlogged %s unlogged on the target: unlogged tables "
				 "are not written to the WAL, so a crash of the target empties them and its standbys do "
				 "not have them", unlogged.n,
				 PLURAL(unlogged.n, "table is copied and stays", "tables are copied and stay"));
		check_add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "unlogged_tables", summary, NULL, &unlogged);
	}
	if (matviews.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d materialized %s refreshed on the target after the data "
				 "(REFRESH MATERIALIZED VIEW runs the query there)", matviews.n,
				 PLURAL(matviews.n, "view holds data: it is", "views hold data: they are"));
		check_add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "materialized_views", summary, NULL, &matviews);
	}
	rc = keyless.failed || unlogged.failed || matviews.failed ? check_out_of_memory(c) : 0;
	check_names_fini(&keyless);
	check_names_fini(&unlogged);
	check_names_fini(&matviews);
	return rc;
}

int
check_large_objects(check_ctx *c)
{
	const cat_table *lobj = NULL;
	PGresult   *res;
	char		summary[512];
	char		size[32];
	long long	count;
	int			rc;

	if (c->src.conn == NULL)
		return 0;
	/* the catalog lists them when the run copies them (engine/lobj.h); else count them here */
	if (c->cat != NULL && catalog_user_tables(c->cat) < c->cat->ntables)
		lobj = &c->cat->tables[c->cat->ntables - 1];
	if (lobj != NULL)
	{
		count = (long long) lobj->reltuples;
		sbuf_format_bytes((uint64_t) lobj->bytes, size, sizeof(size));
	}
	else
	{
		if ((rc = check_query(c, &c->src, "SELECT pg_catalog.count(*), pg_catalog.pg_relation_size('pg_catalog.pg_largeobject')"
							  " FROM pg_catalog.pg_largeobject_metadata", &res)) < 0)
			return rc;
		count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		sbuf_format_bytes(strtoull(PQgetvalue(res, 0, 1), NULL, 10), size, sizeof(size));
		PQclear(res);
	}
	if (count == 0)
		return 0;
	if (lobj == NULL && c->cat != NULL)
		snprintf(summary, sizeof(summary), "the source's %lld large object%s (%s) %s left out: --table and "
				 "--schema choose tables, as in pg_dump", count, PLURAL(count, "", "s"), size,
				 PLURAL(count, "is", "are"));
	else
		snprintf(summary, sizeof(summary), "the source's %lld large object%s (%s) %s copied with the data, "
				 "by OID ranges, and %s owners, ACLs and comments with the schema", count, PLURAL(count, "", "s"),
				 size, PLURAL(count, "is", "are"), PLURAL(count, "its", "their"));
	check_add(c->r, CHECK_NOTE, CHECK_SOURCE, "large_objects", summary, NULL, NULL, 0);
	return 0;
}

/* Extensions installed on the source that the target cannot install. */
int
check_extensions(check_ctx *c)
{
	PGresult   *installed = NULL;
	PGresult   *available = NULL;
	names		missing = {0};
	char		summary[512];
	int			rc;

	if (c->src.conn == NULL || c->dst.conn == NULL || c->opt->loads_only)
		return 0;
	if ((rc = check_query(c, &c->src, "SELECT extname FROM pg_catalog.pg_extension ORDER BY 1", &installed)) < 0 ||
		(rc = check_query(c, &c->dst, "SELECT name FROM pg_catalog.pg_available_extensions", &available)) < 0)
		goto done;
	for (int i = 0; i < PQntuples(installed); i++)
	{
		bool		found = false;

		for (int j = 0; j < PQntuples(available) && !found; j++)
			found = strcmp(PQgetvalue(installed, i, 0), PQgetvalue(available, j, 0)) == 0;
		if (!found)
			check_names_add(&missing, PQgetvalue(installed, i, 0));
	}
	if (missing.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the source's extensions %s not available on the target "
				 "(not in its pg_available_extensions), so the schema cannot be created there",
				 missing.n, PLURAL(missing.n, "is", "are"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "extension_missing", summary,
				  "install their packages on the target's server (the same major version as the "
				  "target's), or drop them from the source if they are unused", &missing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the source's extensions (%d) are all available on the target",
				 PQntuples(installed));
		check_add(c->r, CHECK_OK, CHECK_TARGET, "extension_missing", summary, NULL, NULL, 0);
	}
	rc = missing.failed ? check_out_of_memory(c) : 0;

done:
	check_names_fini(&missing);
	PQclear(installed);
	PQclear(available);
	return rc;
}

int
check_source_roles(PGconn *source, check_role **out, int *nout, sl_err *err)
{
	PGresult   *res = NULL;
	check_role *roles;
	char		sql[2048];
	int			rc;

	*out = NULL;
	*nout = 0;
	/*
	 * Owners and grantees come from pg_shdepend (and policies' roles), but
	 * for the bootstrap superuser, whose ownerships are not recorded there;
	 * extensions' objects are left out, as pg_dump leaves them.
	 */
	snprintf(sql, sizeof(sql),
			 "WITH d AS (SELECT d.refobjid AS role, d.deptype FROM pg_catalog.pg_shdepend d"
			 "            WHERE d.dbid = (SELECT oid FROM pg_catalog.pg_database"
			 "                            WHERE datname = pg_catalog.current_database())"
			 "              AND d.refclassid = 'pg_catalog.pg_authid'::regclass"
			 "              AND d.deptype IN ('r', 'o', 'a')"
			 "              AND d.classid <> 'pg_catalog.pg_extension'::regclass"
			 "              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
			 "                              WHERE e.classid = d.classid AND e.objid = d.objid"
			 "                                AND e.deptype = 'e')),"
			 "     boot AS (SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class k"
			 "                JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace"
			 "                WHERE k.relowner = %d AND n.nspname !~ '^pg_'"
			 "                  AND n.nspname <> 'information_schema') AS owns)"
			 " SELECT r.rolname,"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'o')"
			 "          OR (r.oid = %d AND (SELECT owns FROM boot)),"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'a'),"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'r')"
			 " FROM pg_catalog.pg_roles r"
			 " WHERE r.oid IN (SELECT role FROM d) OR (r.oid = %d AND (SELECT owns FROM boot))"
			 " ORDER BY 1", BOOTSTRAP_SUPERUSER_OID, BOOTSTRAP_SUPERUSER_OID, BOOTSTRAP_SUPERUSER_OID);
	if ((rc = conn_query(source, SIDE_SOURCE, sql, &res, err)) < 0)
		return rc;
	if ((roles = calloc((size_t) PQntuples(res) + 1, sizeof(check_role))) == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		check_role *r = &roles[*nout];

		if ((r->name = strdup(PQgetvalue(res, i, 0))) == NULL)
		{
			check_roles_free(roles, *nout);
			PQclear(res);
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		}
		r->owns = PQgetvalue(res, i, 1)[0] == 't';
		r->granted = PQgetvalue(res, i, 2)[0] == 't';
		r->in_policies = PQgetvalue(res, i, 3)[0] == 't';
		(*nout)++;
	}
	PQclear(res);
	*out = roles;
	return 0;
}

void
check_roles_free(check_role *roles, int n)
{
	for (int i = 0; roles != NULL && i < n; i++)
		free(roles[i].name);
	free(roles);
}

/*
 * Schema mode: roles that own the source's objects or hold privileges on
 * them must exist on the target, or the schema step (pg_restore, one
 * transaction) fails at the first ALTER ... OWNER TO or GRANT.  The roles
 * are the source's, or with no source (restore) the dump's.
 */
int
check_roles(check_ctx *c)
{
	PGresult   *there = NULL;
	check_role *found = NULL;
	const check_role *roles = c->opt->roles;
	int			nroles = c->opt->nroles;
	sbuf		sql;
	names		wanted = {0};
	names		missing = {0};
	char		summary[512];
	int			rc = 0;

	if (c->opt->data_only || c->opt->loads_only || c->dst.conn == NULL ||
		(c->src.conn == NULL && roles == NULL) || (c->opt->common.no_owner && c->opt->common.no_privileges))
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (c->src.conn != NULL)
	{
		if ((rc = check_source_roles(c->src.conn, &found, &nroles, &c->err)) < 0)
			goto done;
		roles = found;
	}
	for (int i = 0; i < nroles; i++)
		if (roles[i].in_policies || (roles[i].owns && !c->opt->common.no_owner) ||
			(roles[i].granted && !c->opt->common.no_privileges))
			check_names_add(&wanted, roles[i].name);
	sbuf_append(&sql, "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN (''");
	for (int i = 0; i < wanted.n; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, wanted.items[i]);
	}
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) || wanted.failed ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &there);
	if (rc < 0)
		goto done;
	for (int i = 0; i < wanted.n; i++)
	{
		bool		present = false;

		for (int j = 0; j < PQntuples(there) && !present; j++)
			present = strcmp(wanted.items[i], PQgetvalue(there, j, 0)) == 0;
		if (!present)
			check_names_add(&missing, wanted.items[i]);
	}
	if (missing.n > 0 && c->opt->roles_first)
	{
		snprintf(summary, sizeof(summary), "%d %s not on the target yet: the run creates the source's roles "
				 "first", missing.n, PLURAL(missing.n, "role that owns objects of the source database or holds "
				 "privileges on them is", "roles that own objects of the source database or hold privileges on "
				 "them are"));
		check_add_named(c->r, CHECK_NOTE, CHECK_TARGET, "roles_missing", summary, NULL, &missing);
	}
	else if (missing.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d %s on the target: the schema step (one transaction) fails "
				 "at the first", missing.n, PLURAL(missing.n, "role that owns objects of the source "
				 "database or holds privileges on them does not exist", "roles that own objects of the "
				 "source database or hold privileges on them do not exist"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "roles_missing", summary,
				  "create them on the target first (pg_dumpall --roles-only on the source prints them), "
				  "or clone with --no-owner --no-privileges", &missing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the roles that own the source's objects or hold privileges on "
				 "them (%d) all exist on the target", wanted.n);
		check_add(c->r, CHECK_OK, CHECK_TARGET, "roles_missing", summary, NULL, NULL, 0);
	}
	rc = missing.failed ? check_out_of_memory(c) : 0;

done:
	sbuf_fini(&sql);
	PQclear(there);
	check_roles_free(found, found != NULL ? nroles : 0);
	check_names_fini(&wanted);
	check_names_fini(&missing);
	return rc;
}

