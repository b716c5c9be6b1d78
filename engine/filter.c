/*
 * filter.c: --table, --exclude-table, --schema, --exclude-schema.  See filter.h.
 */
#include "engine/filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pattern.h"
#include "engine/conn.h"

static const char *const kind_options[FILTER_NKINDS] = {
	"table", "exclude-table", "schema", "exclude-schema"
};

const char *
filter_kind_option(filter_kind kind)
{
	return kind >= 0 && kind < FILTER_NKINDS ? kind_options[kind] : "?";
}

int
filter_kind_of(const char *option)
{
	for (int k = 0; k < FILTER_NKINDS; k++)
		if (strcmp(option, kind_options[k]) == 0)
			return k;
	return -1;
}

int
filter_add(cat_filter *f, filter_kind kind, const char *pattern, sl_err *err)
{
	filter_pattern *grown;
	filter_pattern *p;
	sl_err		why;
	int			rc;

	err_clear(&why);
	grown = realloc(f->p[kind], ((size_t) f->n[kind] + 1) * sizeof(filter_pattern));
	if (grown == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	f->p[kind] = grown;
	p = &grown[f->n[kind]];
	memset(p, 0, sizeof(*p));
	rc = pattern_to_regex(pattern, kind == FILTER_SCHEMA || kind == FILTER_EXCLUDE_SCHEMA,
						  &p->schema_re, &p->name_re, &why);
	if (rc < 0)
		return err_set(err, why.side, rc, "invalid pattern \"%s\" for --%s: %s", pattern,
					   filter_kind_option(kind), why.msg);
	if ((p->pattern = strdup(pattern)) == NULL)
	{
		free(p->schema_re);
		free(p->name_re);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	f->n[kind]++;
	return 0;
}

bool
filter_empty(const cat_filter *f)
{
	if (f == NULL)
		return true;
	for (int k = 0; k < FILTER_NKINDS; k++)
		if (f->n[k] > 0)
			return false;
	return true;
}

void
filter_free(cat_filter *f)
{
	for (int k = 0; k < FILTER_NKINDS; k++)
	{
		for (int i = 0; i < f->n[k]; i++)
		{
			free(f->p[k][i].pattern);
			free(f->p[k][i].schema_re);
			free(f->p[k][i].name_re);
		}
		free(f->p[k]);
	}
	memset(f, 0, sizeof(*f));
}

/* One pattern as a condition on the columns nsp and rel (rel NULL: a schema pattern). */
static void
append_match(sbuf *sql, PGconn *conn, const filter_pattern *p, const char *nsp, const char *rel)
{
	const char *schema_re = rel != NULL ? p->schema_re : p->name_re;

	sbuf_append(sql, "(true");
	if (schema_re != NULL)
	{
		sbuf_printf(sql, " AND %s OPERATOR(pg_catalog.~) ", nsp);
		conn_append_literal(sql, conn, schema_re);
		sbuf_append(sql, " COLLATE pg_catalog.default");
	}
	if (rel != NULL && p->name_re != NULL)
	{
		sbuf_printf(sql, " AND %s OPERATOR(pg_catalog.~) ", rel);
		conn_append_literal(sql, conn, p->name_re);
		sbuf_append(sql, " COLLATE pg_catalog.default");
	}
	sbuf_append(sql, ")");
}

/* Whether any pattern of kind matches; when there is none, none_value. */
static void
append_any(sbuf *sql, PGconn *conn, const cat_filter *f, filter_kind kind, const char *nsp,
		   const char *rel, const char *none_value)
{
	if (f->n[kind] == 0)
	{
		sbuf_append(sql, none_value);
		return;
	}
	sbuf_append(sql, "(false");
	for (int i = 0; i < f->n[kind]; i++)
	{
		sbuf_append(sql, " OR ");
		append_match(sql, conn, &f->p[kind][i], nsp, rel);
	}
	sbuf_append(sql, ")");
}

void
filter_append_schema_condition(sbuf *sql, PGconn *conn, const cat_filter *f, const char *nsp)
{
	sbuf_append(sql, "(");
	append_any(sql, conn, f, FILTER_SCHEMA, nsp, NULL, "true");
	sbuf_append(sql, " AND NOT ");
	append_any(sql, conn, f, FILTER_EXCLUDE_SCHEMA, nsp, NULL, "false");
	sbuf_append(sql, ")");
}

/* The relations a filter can choose: not the system's, an extension's or a run record's. */
#define FILTER_RELATIONS \
	"WITH RECURSIVE rels AS (" \
	"  SELECT c.oid, c.relkind, c.relname, n.nspname" \
	"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" \
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')" \
	"    AND n.nspname NOT IN ('pg_catalog', 'information_schema')" \
	"    AND n.nspname !~ '^pg_(toast|temp_)'" \
	"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class v" \
	"                    WHERE v.relnamespace = n.oid AND v.relname = 'pgsluice_state_version')" \
	"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d" \
	"                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"                      AND d.objid = c.oid AND d.deptype = 'e')), "

/*
 * Each relation with its schema verdict and whether it is selected: a
 * relation matches a table pattern when it or a partitioned table above it
 * does, and a sequence goes where the table that owns it goes.
 */
static void
selection_sql(sbuf *sql, PGconn *conn, const cat_filter *f)
{
	sbuf_append(sql, FILTER_RELATIONS
				"up (oid, anc) AS ("
				"  SELECT oid, oid FROM rels"
				"  UNION ALL"
				"  SELECT up.oid, i.inhparent FROM up"
				"  JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.anc"
				"  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent AND p.relkind = 'p'), "
				"hits AS ("
				"  SELECT up.oid, pg_catalog.bool_or(");
	append_any(sql, conn, f, FILTER_TABLE, "a.nspname", "a.relname", "true");
	sbuf_append(sql, ") AS included, pg_catalog.bool_or(");
	append_any(sql, conn, f, FILTER_EXCLUDE_TABLE, "a.nspname", "a.relname", "false");
	sbuf_append(sql, ") AS excluded"
				"  FROM up JOIN rels a ON a.oid = up.anc GROUP BY up.oid), "
				"marks AS ("
				"  SELECT r.oid, r.relkind, r.nspname, r.relname, ");
	filter_append_schema_condition(sql, conn, f, "r.nspname");
	sbuf_append(sql, " AS schema_ok, h.included AND NOT h.excluded AS chosen"
				"  FROM rels r JOIN hits h ON h.oid = r.oid), "
				"owned AS ("
				"  SELECT d.objid, pg_catalog.bool_or(d.deptype = 'i') AS identity,"
				"         pg_catalog.bool_or(t.schema_ok AND t.chosen) AS owner_selected"
				"  FROM pg_catalog.pg_depend d JOIN marks t ON t.oid = d.refobjid"
				"  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
				"    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
				"    AND d.deptype IN ('a', 'i') AND t.relkind <> 'S'"
				"  GROUP BY d.objid) "
				"SELECT m.oid, pg_catalog.format('\"%s\".\"%s\"',"
				"         pg_catalog.replace(m.nspname, '\"', '\"\"'),"
				"         pg_catalog.replace(m.relname, '\"', '\"\"')),"
				"       m.schema_ok,"
				"       CASE WHEN o.identity THEN o.owner_selected"
				"            ELSE (m.schema_ok AND m.chosen) OR coalesce(o.owner_selected, false) END"
				" FROM marks m LEFT JOIN owned o ON o.objid = m.oid AND m.relkind = 'S'"
				" ORDER BY m.oid");
}

/* The first --table or --schema pattern that matches nothing, as an error. */
static int
check_matches(PGconn *conn, sl_side side, const cat_filter *f, sl_err *err)
{
	static const filter_kind kinds[] = {FILTER_TABLE, FILTER_SCHEMA};
	PGresult   *res;
	sbuf		sql;
	int			rc;
	int			col = 0;

	if (f->n[FILTER_TABLE] + f->n[FILTER_SCHEMA] == 0)
		return 0;
	sbuf_init(&sql, 4096);
	sbuf_append(&sql, FILTER_RELATIONS "nsps AS (SELECT DISTINCT nspname FROM rels"
				" UNION SELECT n.nspname FROM pg_catalog.pg_namespace n"
				"       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
				"         AND n.nspname !~ '^pg_(toast|temp_)') SELECT true");
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < f->n[kinds[k]]; i++)
		{
			bool		table = kinds[k] == FILTER_TABLE;

			sbuf_printf(&sql, ", EXISTS (SELECT 1 FROM %s WHERE ", table ? "rels" : "nsps");
			append_match(&sql, conn, &f->p[kinds[k]][i], "nspname", table ? "relname" : NULL);
			sbuf_append(&sql, ")");
		}
	rc = conn_query_sbuf(conn, side, &sql, &res, err);
	if (rc < 0)
		return rc;
	for (int k = 0; k < 2 && rc == 0; k++)
		for (int i = 0; i < f->n[kinds[k]] && rc == 0; i++)
		{
			const char *pattern = f->p[kinds[k]][i].pattern;

			if (PQgetvalue(res, 0, ++col)[0] == 't')
				continue;
			if (kinds[k] == FILTER_TABLE)
				rc = err_set(err, SIDE_USAGE, -ENOENT, "--table \"%s\" matches no table, view or sequence "
							 "of the %s database (psql's \\d %s lists what the pattern matches; "
							 "names are folded to lower case unless double-quoted)", pattern,
							 err_side_name(side), pattern);
			else
				rc = err_set(err, SIDE_USAGE, -ENOENT, "--schema \"%s\" matches no schema of the %s "
							 "database (psql's \\dn %s lists what the pattern matches)", pattern,
							 err_side_name(side), pattern);
		}
	PQclear(res);
	return rc;
}

static int
add_arg(filter_selection *sel, const char *option, const char *value)
{
	size_t		len = strlen(option) + strlen(value) + 4;
	char	   *arg = malloc(len);

	if (arg == NULL)
		return -ENOMEM;
	snprintf(arg, len, "--%s=%s", option, value);
	sel->dump_args[sel->nargs++] = arg;
	return 0;
}

int
filter_select(PGconn *conn, sl_side side, const cat_filter *f, bool strict, filter_selection *out,
			  sl_err *err)
{
	bool		by_table = f->n[FILTER_TABLE] > 0;
	PGresult   *res = NULL;
	sbuf		sql;
	int			rc;
	int			n;

	memset(out, 0, sizeof(*out));
	if (strict && (rc = check_matches(conn, side, f, err)) < 0)
		return rc;
	sbuf_init(&sql, 8192);
	selection_sql(&sql, conn, f);
	rc = conn_query_sbuf(conn, side, &sql, &res, err);
	if (rc < 0)
		return rc;
	n = PQntuples(res);
	out->oids = calloc((size_t) n + 1, sizeof(uint32_t));
	out->dump_args = calloc((size_t) n + f->n[FILTER_SCHEMA] + f->n[FILTER_EXCLUDE_SCHEMA] + 1,
							sizeof(char *));
	if (out->oids == NULL || out->dump_args == NULL)
		rc = -ENOMEM;

	/*
	 * pg_dump gets the same choice: by name, each selected relation when
	 * there are --table patterns (pg_dump would ignore --schema beside them,
	 * and take no partitions of a partitioned table); else the schema
	 * patterns as they are, and by name each relation they let through that
	 * the filter leaves out.
	 */
	for (int k = FILTER_SCHEMA; k <= FILTER_EXCLUDE_SCHEMA && !by_table && rc == 0; k++)
		for (int i = 0; i < f->n[k] && rc == 0; i++)
			rc = add_arg(out, filter_kind_option(k), f->p[k][i].pattern);
	for (int i = 0; i < n && rc == 0; i++)
	{
		bool		schema_ok = PQgetvalue(res, i, 2)[0] == 't';
		bool		selected = PQgetvalue(res, i, 3)[0] == 't';

		if (selected)
			out->oids[out->noids++] = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		if (by_table && selected)
			rc = add_arg(out, "table", PQgetvalue(res, i, 1));
		else if (!by_table && schema_ok && !selected)
			rc = add_arg(out, "exclude-table", PQgetvalue(res, i, 1));
	}
	PQclear(res);
	if (rc < 0)
	{
		filter_selection_free(out);
		return err_set(err, SIDE_LOCAL, rc, "out of memory");
	}
	return 0;
}

void
filter_selection_free(filter_selection *sel)
{
	for (int i = 0; i < sel->nargs; i++)
		free(sel->dump_args[i]);
	free(sel->dump_args);
	free(sel->oids);
	memset(sel, 0, sizeof(*sel));
}

void
filter_json_put(const cat_filter *f, json_writer *w, const char *key)
{
	json_put_object(w, key, JSON_INLINE);
	for (int k = 0; k < FILTER_NKINDS; k++)
	{
		if (f == NULL || f->n[k] == 0)
			continue;
		json_put_array(w, filter_kind_option(k), JSON_INLINE);
		for (int i = 0; i < f->n[k]; i++)
			json_put_string(w, NULL, f->p[k][i].pattern);
		json_put_end(w);
	}
	json_put_end(w);
}

int
filter_json(const cat_filter *f, sbuf *out)
{
	json_writer w;

	json_writer_init(&w, out);
	filter_json_put(f, &w, NULL);
	return json_writer_finish(&w) < 0 ? -ENOMEM : 0;
}
