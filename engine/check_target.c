/*
 * check_target.c: the preflight's checks of the target (see check_int.h):
 * its version, the role's privileges to create and load, the schemas that
 * exist there, and its tables against the source's, compared by
 * engine/target.c as clone compares them.
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

/* A target before 14: the tables that move as text because of it alone. */
int
check_target_before_14(check_ctx *c)
{
	catalog    *binary = NULL;
	names		slow = {0};
	char		summary[256];
	int			rc;

	if (c->cat == NULL || c->dst.conn == NULL || c->dst.major >= 14)
		return 0;
	if ((rc = catalog_load(c->src.conn, SIDE_SOURCE, 14, c->opt->common.filter, &binary, &c->err)) < 0)
		return rc;
	for (int i = 0; i < c->cat->ntables; i++)
	{
		const cat_table *t = &c->cat->tables[i];
		const cat_table *on_14 = catalog_find(binary, t->qname);

		if (t->text_reason != NULL && on_14 != NULL && on_14->text_reason == NULL)
			check_names_add(&slow, t->qname);
	}
	if (slow.n > 0)
	{
		snprintf(summary, sizeof(summary), "the target runs PostgreSQL %d, before 14, which refuses "
				 "arrays and composites of user-defined types in binary format: %d %s as text (slower) "
				 "because of it", c->dst.major, slow.n, PLURAL(slow.n, "table moves", "tables move"));
		check_add_named(c->r, CHECK_NOTE, CHECK_TARGET, "target_before_14", summary,
				  "a target of PostgreSQL 14 or later takes them in binary format", &slow);
	}
	check_names_fini(&slow);
	catalog_destroy(binary);
	return 0;
}

/*
 * Data-only: the target's user may load every table (INSERT, SELECT), set
 * every sequence (UPDATE) and refresh every materialized view (its owner,
 * or from PostgreSQL 17 a role with MAINTAIN).  Returns the findings added.
 */
static int
check_target_table_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		tables = {0};
	names		sequences = {0};
	names		matviews = {0};
	char		summary[1024];
	char		fix[1024];
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), c.relkind,"
				"       pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND CASE c.relkind"
				"         WHEN 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'UPDATE')"
				"         WHEN 'm' THEN pg_catalog.pg_has_role(c.relowner, 'USAGE')%s"
				"         ELSE pg_catalog.has_table_privilege(c.oid, 'INSERT')"
				"              AND pg_catalog.has_table_privilege(c.oid, 'SELECT') END"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				" WHERE c.relkind IN ('r', 'p', 'S', 'm') AND pg_catalog.format('%%I.%%I', n.nspname, c.relname) IN (''",
				c->dst.major >= 17 ? " OR pg_catalog.has_table_privilege(c.oid, 'MAINTAIN')" : "");
	for (int i = 0; i < c->cat->ntables; i++)
	{
		if (c->cat->tables[i].large_objects)
			continue;			/* loaded through lo_put: engine/lobj.h */
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->tables[i].qname);
	}
	for (int i = 0; i < c->cat->nsequences; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->sequences[i].qname);
	}
	for (int i = 0; i < c->cat->nmatviews; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->matviews[i]);
	}
	sbuf_append(&sql, ") ORDER BY 1");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *name = PQgetvalue(res, i, 0);
		char		kind = PQgetvalue(res, i, 1)[0];
		const cat_table *t;

		if (strcmp(PQgetvalue(res, i, 2), "t") == 0)
			continue;
		if (kind == 'S')
			check_names_add(&sequences, name);
		else if (kind == 'm')
			check_names_add(&matviews, name);
		else
		{
			check_names_add(&tables, name);
			if ((t = catalog_find(c->cat, name)) != NULL)
				c->dst_unreadable[t - c->cat->tables] = 1;
		}
	}
	PQclear(res);
	if (tables.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not load %d of the target's tables (it needs "
				 "USAGE on their schemas, INSERT and SELECT on them)", c->dst.user, tables.n);
		snprintf(fix, sizeof(fix), "GRANT INSERT, SELECT ON them TO \"%s\" (and USAGE on their schemas), "
				 "or connect as their owner or a superuser", c->dst.user);
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &tables);
	}
	if (sequences.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not set %d of the target's sequences to the "
				 "source's values (it needs UPDATE on them)", c->dst.user, sequences.n);
		snprintf(fix, sizeof(fix), "GRANT UPDATE ON them TO \"%s\", or connect as their owner or a superuser",
				 c->dst.user);
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &sequences);
	}
	if (matviews.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not refresh %d of the target's materialized "
				 "views after the data (only their owner may%s)", c->dst.user, matviews.n,
				 c->dst.major >= 17 ? ", or a role with MAINTAIN on them" : "");
		snprintf(fix, sizeof(fix), "ALTER MATERIALIZED VIEW ... OWNER TO \"%s\"%s, or connect as their "
				 "owner or a superuser", c->dst.user, c->dst.major >= 17 ? " (or GRANT MAINTAIN ON them)" : "");
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &matviews);
	}
	rc = tables.failed || sequences.failed || matviews.failed ? check_out_of_memory(c)
		: (tables.n > 0) + (sequences.n > 0) + (matviews.n > 0);
	check_names_fini(&tables);
	check_names_fini(&sequences);
	check_names_fini(&matviews);
	return rc;
}

/*
 * A database that a cluster run creates: the target's user must be allowed
 * to create databases, and, not being a superuser, be a member of the
 * source database's owner (CREATE DATABASE ... OWNER wants it) unless
 * --no-owner.  It owns what it creates, so the rest follows.
 */
static int
new_database_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	char		summary[1024];
	char		fix[1024];
	int			rc;

	if ((rc = check_query(c, &c->dst, "SELECT rolsuper, rolcreatedb FROM pg_catalog.pg_roles"
						  " WHERE rolname = CURRENT_USER", &res)) < 0)
		return rc;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "f") == 0 && strcmp(PQgetvalue(res, 0, 1), "f") == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not create databases: the run creates database "
				 "\"%s\" on the target", c->dst.user, c->opt->new_database);
		snprintf(fix, sizeof(fix), "ALTER ROLE \"%s\" CREATEDB on the target, connect as a superuser, or "
				 "create the database first", c->dst.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, NULL, 0);
	}
	else
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may create database \"%s\" on the target%s",
				 c->dst.user, c->opt->new_database, strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? ""
				 : " (not being a superuser, it must be a member of the database's owner, unless --no-owner)");
		check_add(c->r, CHECK_OK, CHECK_TARGET, "target_privileges", summary, NULL, NULL, 0);
	}
	PQclear(res);
	return 0;
}

/*
 * The target's user may record the run (CREATE SCHEMA IF NOT EXISTS wants
 * CREATE on the database even when the schema exists; then CREATE TABLE IF
 * NOT EXISTS in it), may create the schema step's objects in the schemas
 * that exist already (public, most often), or, in data-only mode, may load.
 */
int
check_target_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		schemas = {0};
	char		summary[1024];
	char		fix[1024];
	int			problems = 0;
	int			rc;

	if (c->dst.conn == NULL)
		return 0;
	if (c->opt->new_database != NULL)
		return new_database_privileges(c);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (c->opt->loads_only)
		goto loads;				/* the run's record and schema are there: it only loads */
	sbuf_append(&sql, "SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),"
				"       (SELECT pg_catalog.has_schema_privilege(n.oid, 'CREATE')"
				"               AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
				"          FROM pg_catalog.pg_namespace n WHERE n.nspname = ");
	conn_append_literal(&sql, c->dst.conn, c->opt->state_schema);
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_reset(&sql);
	if (rc < 0)
		goto done;
	/* a resumed run's record is there already, and its schema step made what it needed */
	if (!c->opt->recorded && strcmp(PQgetvalue(res, 0, 0), "t") != 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no CREATE privilege on database \"%s\" of the "
				 "target: the run is recorded there, in schema \"%s\", which it creates%s", c->dst.user,
				 c->dst.database, c->opt->state_schema,
				 c->opt->data_only ? "" : ", and the schema step creates the source's schemas");
		snprintf(fix, sizeof(fix), "GRANT CREATE ON DATABASE \"%s\" TO \"%s\", or connect as the "
				 "database's owner or a superuser", c->dst.database, c->dst.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, NULL, 0);
		problems++;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "f") == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no CREATE and USAGE privileges on schema "
				 "\"%s\" of the target, where the run is recorded", c->dst.user, c->opt->state_schema);
		snprintf(fix, sizeof(fix), "GRANT USAGE, CREATE ON SCHEMA \"%s\" TO \"%s\", or use another "
				 "--state-schema", c->opt->state_schema, c->dst.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, NULL, 0);
		problems++;
	}
	PQclear(res);
	res = NULL;

loads:
	if ((c->opt->data_only || c->opt->loads_only) && c->cat != NULL)
	{
		if ((rc = check_target_table_privileges(c)) < 0)
			goto done;
		problems += rc;
	}
	else if (!c->opt->data_only && !c->opt->loads_only && !c->opt->recorded && c->schemas != NULL)
	{
		/* the schema step creates objects in the source's schemas that the target has already */
		sbuf_append(&sql, "SELECT n.nspname FROM pg_catalog.pg_namespace n"
					" WHERE NOT (pg_catalog.has_schema_privilege(n.oid, 'CREATE')"
					"            AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'))"
					"   AND n.nspname IN (''");
		for (int i = 0; i < c->nschemas; i++)
			if (c->schemas[i].has_relations)
			{
				sbuf_append(&sql, ", ");
				conn_append_literal(&sql, c->dst.conn, c->schemas[i].name);
			}
		sbuf_append(&sql, ") ORDER BY 1");
		rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &res);
		if (rc < 0)
			goto done;
		for (int i = 0; i < PQntuples(res); i++)
			check_names_add(&schemas, PQgetvalue(res, i, 0));
		if (schemas.n > 0)
		{
			snprintf(summary, sizeof(summary), "user \"%s\" may not create objects in %d of the target's "
					 "schemas where the source has some (no CREATE privilege; since PostgreSQL 15 only "
					 "the database's owner may create in schema public unless granted)", c->dst.user,
					 schemas.n);
			snprintf(fix, sizeof(fix), "GRANT USAGE, CREATE ON SCHEMA ... TO \"%s\", or connect as the "
					 "database's owner or a superuser", c->dst.user);
			check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &schemas);
			problems++;
		}
	}
	if (problems == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may record the run in schema \"%s\" of the target "
				 "and %s", c->dst.user, c->opt->state_schema,
				 c->opt->data_only || c->opt->loads_only ? "load every table" : "create the source's schema");
		check_add(c->r, CHECK_OK, CHECK_TARGET, "target_privileges", summary, NULL, NULL, 0);
	}
	rc = schemas.failed ? check_out_of_memory(c) : 0;

done:
	PQclear(res);
	sbuf_fini(&sql);
	check_names_fini(&schemas);
	return rc;
}

/* The names of the problems of one kind (their tables' names when table_names). */
static void
problem_names(const check_ctx *c, const target_problems *found, target_problem_kind kind,
			  bool table_names, names *out)
{
	for (int i = 0; i < found->n; i++)
		if (found->items[i].kind == kind)
			check_names_add(out, table_names ? c->cat->tables[found->items[i].table].qname : found->items[i].what);
}

/*
 * The source schemas of c->schemas that the target has (present; public
 * left out, as every database has one), or lacks, into out.
 */
static int
target_schemas(check_ctx *c, bool present, names *out)
{
	PGresult   *res = NULL;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT s FROM pg_catalog.unnest(ARRAY[''");
	for (int i = 0; i < c->nschemas; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->schemas[i].name);
	}
	sbuf_printf(&sql, "]) s WHERE s <> ''%s AND %sEXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
				" WHERE n.nspname = s) ORDER BY 1", present ? " AND s <> 'public'" : "", present ? "" : "NOT ");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		check_names_add(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return out->failed ? check_out_of_memory(c) : 0;
}

/*
 * The schemas the schema step creates must not exist on the target; with
 * --table it creates none, and those of the chosen relations must exist.
 * *nfound: how many are in the way, or missing.
 */
static int
check_target_schemas(check_ctx *c, int *nfound)
{
	bool		need = check_by_table(c);
	names		found = {0};
	char		summary[512];
	int			rc;

	*nfound = 0;
	if (c->schemas == NULL)
		return 0;
	if ((rc = target_schemas(c, !need, &found)) == 0 && found.n > 0)
	{
		if (need)
		{
			snprintf(summary, sizeof(summary), "with --table the schema step creates the chosen relations "
					 "alone, as pg_dump --table does, and %d of their schemas %s missing on the target",
					 found.n, PLURAL(found.n, "is", "are"));
			check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_schemas_missing", summary,
					  "create them on the target first (CREATE SCHEMA), with the types and functions the "
					  "tables use, or choose with --schema, which creates them", &found);
		}
		else
		{
			snprintf(summary, sizeof(summary), "%d of the source's schemas %s on the target already: the "
					 "schema step's CREATE SCHEMA fails on %s", found.n, PLURAL(found.n, "exists", "exist"),
					 PLURAL(found.n, "it", "them"));
			check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_schemas_exist", summary,
					  "clone into a new, empty database (or drop them from the target), or use --data-only "
					  "to load into the existing schema", &found);
		}
	}
	*nfound = found.n;
	check_names_fini(&found);
	return rc;
}

/* Data-only: copy columns missing on the target, of another type there, or extra there. */
static int
report_column_problems(check_ctx *c, const target_problems *found)
{
	names		tables = {0};
	sbuf		summary;
	int			ncolumns = 0;
	int			rc;

	sbuf_init(&summary, SBUF_DEFAULT_CAP);
	for (int i = 0; i < found->n; i++)
	{
		const target_problem *p = &found->items[i];
		const char *table = c->cat->tables[p->table].qname;

		if (p->kind != TARGET_COLUMN_MISSING && p->kind != TARGET_COLUMN_TYPE && p->kind != TARGET_COLUMN_EXTRA)
			continue;
		if (ncolumns < CHECK_MAX_NAMED)
			sbuf_printf(&summary, "%s%s", ncolumns ? "; " : "", p->what);
		ncolumns++;
		if (!check_names_has(&tables, table))
			check_names_add(&tables, table);
	}
	if (ncolumns > CHECK_MAX_NAMED)
		sbuf_printf(&summary, "; and %d more", ncolumns - CHECK_MAX_NAMED);
	if (ncolumns > 0 && !sbuf_failed(&summary) && !tables.failed)
		check_finding_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_columns_differ", sbuf_str(&summary),
					"make the target's tables match the source's (the same copy columns, of the same types: "
					"pg_dump --schema-only of the source), or clone into an empty database without --data-only",
					tables.items, tables.n, false);
	rc = sbuf_failed(&summary) || tables.failed ? check_out_of_memory(c) : 0;
	sbuf_fini(&summary);
	check_names_fini(&tables);
	return rc;
}

/*
 * What the target holds of the source's tables, as clone judges it: in
 * schema mode none of them may be there; in data-only mode all, with the
 * same columns, and empty.
 */
int
check_target_tables(check_ctx *c)
{
	target_problems found;
	names		list = {0};
	char		summary[512];
	int			nschemas = 0;
	int			rc;

	/* a resumed or joined run's tables are its own; the run checks them against its record */
	if (c->cat == NULL || c->dst.conn == NULL || c->opt->recorded || c->opt->loads_only)
		return 0;
	if (c->opt->new_database != NULL)
	{
		if (c->opt->data_only)
		{
			snprintf(summary, sizeof(summary), "database \"%s\" does not exist on the target (--data-only "
					 "loads into existing tables)", c->opt->new_database);
			check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_table_missing", summary,
					  "create it with the source's schema first, or clone without --data-only", NULL, 0);
		}
		else
		{
			snprintf(summary, sizeof(summary), "database \"%s\" is not on the target: the run creates it, "
					 "empty, from template0", c->opt->new_database);
			check_add(c->r, CHECK_OK, CHECK_TARGET, "target_tables_exist", summary, NULL, NULL, 0);
		}
		return 0;
	}
	target_problems_init(&found);
	if ((rc = target_find_conflicts(c->dst.conn, c->cat, c->opt->data_only, &found, &c->err)) < 0)
		goto done;
	if (!c->opt->data_only)
	{
		problem_names(c, &found, TARGET_TABLE_EXISTS, true, &list);
		if (list.n > 0)
		{
			snprintf(summary, sizeof(summary), "%d of the source's tables %s on the target already (clone "
					 "creates them, into an empty database)", list.n, PLURAL(list.n, "exists", "exist"));
			check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_tables_exist", summary,
					  "clone into a new, empty database (or drop those tables from the target), or use "
					  "--data-only to load into the existing tables", &list);
		}
		if ((rc = check_target_schemas(c, &nschemas)) < 0)
			goto done;
		if (list.n == 0 && nschemas == 0)
		{
			if (check_by_table(c))
				snprintf(summary, sizeof(summary), "none of the chosen tables (%d) exists on the target, "
						 "and their schemas (%d) do", c->cat->ntables, c->nschemas);
			else
				snprintf(summary, sizeof(summary), "none of the source's tables (%d) and schemas (%d) "
						 "exists on the target", c->cat->ntables, c->nschemas);
			check_add(c->r, CHECK_OK, CHECK_TARGET, "target_tables_exist", summary, NULL, NULL, 0);
		}
		goto done;
	}

	problem_names(c, &found, TARGET_TABLE_MISSING, true, &list);
	if (list.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the source's tables %s on the target (--data-only "
				 "loads into existing tables)", list.n, PLURAL(list.n, "does not exist", "do not exist"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_table_missing", summary,
				  "create them first (pg_dump --schema-only of the source, loaded into the target), "
				  "or clone without --data-only into an empty database", &list);
	}
	for (int i = 0; i < found.n; i++)
		if (found.items[i].kind == TARGET_TABLE_MISSING)
			c->dst_unreadable[found.items[i].table] = 1;
	check_names_fini(&list);
	if ((rc = report_column_problems(c, &found)) < 0)
		goto done;
	target_problems_fini(&found);
	target_problems_init(&found);
	if ((rc = target_find_nonempty(c->dst.conn, c->cat, c->dst_unreadable, &found, &c->err)) < 0)
		goto done;
	problem_names(c, &found, TARGET_TABLE_NOT_EMPTY, true, &list);
	if (list.n > 0 && c->opt->truncate)
	{
		snprintf(summary, sizeof(summary), "%d of the target's tables %s rows: --truncate empties %s "
				 "before the load", list.n, PLURAL(list.n, "holds", "hold"), PLURAL(list.n, "it", "them"));
		check_add_named(c->r, CHECK_NOTE, CHECK_TARGET, "target_tables_not_empty", summary, NULL, &list);
	}
	else if (list.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the target's tables %s rows already", list.n,
				 PLURAL(list.n, "holds", "hold"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_tables_not_empty", summary,
				  "clone with --truncate (it empties them before the load), or empty them first", &list);
	}
	else
	{
		int			ready = 0;

		for (int i = 0; i < c->cat->ntables; i++)
			ready += !c->dst_unreadable[i];
		if (ready == c->cat->ntables)
		{
			snprintf(summary, sizeof(summary), "the source's tables (%d) all exist on the target, and are "
					 "empty", c->cat->ntables);
			check_add(c->r, CHECK_OK, CHECK_TARGET, "target_tables_not_empty", summary, NULL, NULL, 0);
		}
	}

done:
	if (list.failed)
		rc = check_out_of_memory(c);
	check_names_fini(&list);
	target_problems_fini(&found);
	return rc;
}


/*
 * The tablespaces the source keeps relations in (but its database's
 * default): pg_dump sets default_tablespace before each such relation, and
 * the schema step fails where the target lacks one, unless --no-tablespaces.
 */
int
check_tablespaces(check_ctx *c)
{
	PGresult   *src = NULL;
	PGresult   *dst = NULL;
	names		used = {0};
	names		missing = {0};
	char		summary[1024];
	sbuf		sql;
	int			rc;

	if (c->src.conn == NULL || c->opt->data_only || c->opt->loads_only)
		return 0;
	if ((rc = check_query(c, &c->src, "SELECT DISTINCT t.spcname FROM pg_catalog.pg_class r"
						  " JOIN pg_catalog.pg_tablespace t ON t.oid = r.reltablespace"
						  " WHERE r.reltablespace <> 0 ORDER BY 1", &src)) < 0)
		return rc;
	for (int i = 0; i < PQntuples(src); i++)
		check_names_add(&used, PQgetvalue(src, i, 0));
	PQclear(src);
	if (used.n == 0 || used.failed)
		goto done;
	if (c->opt->common.no_tablespaces)
	{
		snprintf(summary, sizeof(summary), "the source keeps relations in %d tablespace%s: --no-tablespaces "
				 "puts them in the target database's default one", used.n, used.n == 1 ? "" : "s");
		check_add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "tablespaces", summary, NULL, &used);
		goto done;
	}
	if (c->dst.conn == NULL)
		goto done;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT spcname FROM pg_catalog.pg_tablespace WHERE spcname IN (''");
	for (int i = 0; i < used.n; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, used.items[i]);
	}
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->dst, sbuf_str(&sql), &dst);
	sbuf_fini(&sql);
	if (rc < 0)
		goto done;
	for (int i = 0; i < used.n; i++)
	{
		bool		there = false;

		for (int j = 0; j < PQntuples(dst) && !there; j++)
			there = strcmp(PQgetvalue(dst, j, 0), used.items[i]) == 0;
		if (!there)
			check_names_add(&missing, used.items[i]);
	}
	PQclear(dst);
	if (missing.n > 0)
	{
		snprintf(summary, sizeof(summary), "the source keeps relations in %d tablespace%s that the target "
				 "lacks: the schema step fails on %s", missing.n, missing.n == 1 ? "" : "s",
				 missing.n == 1 ? "it" : "them");
		check_add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "tablespaces", summary,
						"create them on the target first (CREATE TABLESPACE name LOCATION '...'), or clone "
						"with --no-tablespaces to put everything in the target's default tablespace", &missing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the tablespaces the source keeps relations in (%d) exist on the "
				 "target", used.n);
		check_add_named(c->r, CHECK_OK, CHECK_TARGET, "tablespaces", summary, NULL, &used);
	}

done:
	rc = rc < 0 ? rc : used.failed || missing.failed ? check_out_of_memory(c) : 0;
	check_names_fini(&used);
	check_names_fini(&missing);
	return rc;
}
