/*
 * target.c: what stands in the way of loading the source's tables into the
 * target.  See target.h.
 *
 * One query lists the target's tables with their copy columns (not dropped,
 * not generated, as the catalog counts them), sorted by name in C so that
 * each source table is found by binary search; another, batched, asks which
 * tables hold at least one row (EXISTS, which reads one row, not the table).
 */
#include "engine/target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/lobj.h"

#define BATCH_TABLES 500		/* tables per batched statement */

typedef struct target_column
{
	const char *table;
	const char *column;			/* NULL for a table without copy columns */
	const char *type;
} target_column;

void
target_problems_init(target_problems *p)
{
	memset(p, 0, sizeof(*p));
}

void
target_problems_fini(target_problems *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->items[i].what);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static int	add_problem(target_problems *p, target_problem_kind kind, int table, sl_err *err,
						const char *fmt,...) __attribute__((format(printf, 5, 6)));

static int
add_problem(target_problems *p, target_problem_kind kind, int table, sl_err *err, const char *fmt,...)
{
	va_list		ap;
	char	   *what = NULL;
	int			len;

	if (p->n == p->alloc)
	{
		int			alloc = p->alloc > 0 ? p->alloc * 2 : 16;
		target_problem *items = realloc(p->items, (size_t) alloc * sizeof(target_problem));

		if (items == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking the target");
		p->items = items;
		p->alloc = alloc;
	}
	va_start(ap, fmt);
	len = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (len < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking the target");
	p->items[p->n].kind = kind;
	p->items[p->n].table = table;
	p->items[p->n].what = what;
	p->n++;
	return 0;
}

static int
cmp_target_column(const void *a, const void *b)
{
	return strcmp(((const target_column *) a)->table, ((const target_column *) b)->table);
}

/* Data-only: the copy columns of source table ti against the target's rows [first, last] of cols. */
static int
compare_columns(const cat_table *t, int ti, const target_column *cols, int first, int last,
				target_problems *out, sl_err *err)
{
	int			rc = 0;

	for (int c = 0; c < t->ncols && rc == 0; c++)
	{
		const target_column *match = NULL;

		for (int j = first; j <= last; j++)
			if (cols[j].column != NULL && strcmp(cols[j].column, t->cols[c].name) == 0)
				match = &cols[j];
		if (match == NULL)
			rc = add_problem(out, TARGET_COLUMN_MISSING, ti, err, "table %s has no column %s on the target",
							 t->qname, t->cols[c].name);
		else if (strcmp(match->type, t->cols[c].type) != 0)
			rc = add_problem(out, TARGET_COLUMN_TYPE, ti, err,
							 "column %s of table %s is of type %s on the target, %s on the source",
							 t->cols[c].name, t->qname, match->type, t->cols[c].type);
	}
	for (int j = first; j <= last && rc == 0; j++)
	{
		bool		known = cols[j].column == NULL;

		for (int c = 0; c < t->ncols && !known; c++)
			known = strcmp(cols[j].column, t->cols[c].name) == 0;
		if (!known)
			rc = add_problem(out, TARGET_COLUMN_EXTRA, ti, err,
							 "table %s has a column %s on the target that the source lacks",
							 t->qname, cols[j].column);
	}
	return rc;
}

/* 1 when the target holds large objects, 0 when not, or a negative errno. */
static int
target_has_large_objects(PGconn *target, sl_err *err)
{
	PGresult   *res;
	int			rc;

	if ((rc = conn_query(target, SIDE_TARGET, "SELECT EXISTS (SELECT FROM " LOBJ_TABLE ")", &res, err)) < 0)
		return rc;
	rc = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

int
target_find_conflicts(PGconn *target, const catalog *cat, bool data_only, target_problems *out,
					  sl_err *err)
{
	PGresult   *res = NULL;
	target_column *cols = NULL;
	int			n;
	int			rc;

	rc = conn_query(target, SIDE_TARGET,
					"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), pg_catalog.quote_ident(a.attname),"
					"       pg_catalog.format_type(a.atttypid, a.atttypmod)"
					" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
					"   AND NOT a.attisdropped AND a.attgenerated = ''"
					" WHERE c.relkind IN ('r', 'p')"
					"   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
					"   AND n.nspname !~ '^pg_(toast|temp_)'"
					"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class v WHERE v.relnamespace = n.oid"
					"                   AND v.relname = 'pgsluice_state_version')", &res, err);
	if (rc < 0)
		goto done;
	n = PQntuples(res);
	if ((cols = calloc((size_t) n + 1, sizeof(target_column))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking the target");
		goto done;
	}
	for (int i = 0; i < n; i++)
	{
		cols[i].table = PQgetvalue(res, i, 0);
		cols[i].column = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		cols[i].type = PQgetvalue(res, i, 2);
	}
	qsort(cols, (size_t) n, sizeof(target_column), cmp_target_column);

	for (int ti = 0; ti < cat->ntables && rc == 0; ti++)
	{
		const cat_table *t = &cat->tables[ti];
		target_column key = {.table = t->qname};
		target_column *hit = bsearch(&key, cols, (size_t) n, sizeof(target_column), cmp_target_column);
		int			first;
		int			last;

		/* the large objects' table is there on any target; in schema mode, its rows are in the way */
		if (t->large_objects)
		{
			if (!data_only && (rc = target_has_large_objects(target, err)) > 0)
				rc = add_problem(out, TARGET_TABLE_EXISTS, ti, err, "%s (large objects)", t->qname);
			continue;
		}
		if (!data_only)
		{
			if (hit != NULL)
				rc = add_problem(out, TARGET_TABLE_EXISTS, ti, err, "%s", t->qname);
			continue;
		}
		if (hit == NULL)
		{
			rc = add_problem(out, TARGET_TABLE_MISSING, ti, err, "table %s does not exist on the target",
							 t->qname);
			continue;
		}
		first = last = (int) (hit - cols);
		while (first > 0 && strcmp(cols[first - 1].table, t->qname) == 0)
			first--;
		while (last + 1 < n && strcmp(cols[last + 1].table, t->qname) == 0)
			last++;
		rc = compare_columns(t, ti, cols, first, last, out, err);
	}

done:
	free(cols);
	PQclear(res);
	return rc;
}

int
target_find_nonempty(PGconn *target, const catalog *cat, const uint8_t *skip, target_problems *out,
					 sl_err *err)
{
	sbuf		sql;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int start = 0; start < cat->ntables && rc == 0; start += BATCH_TABLES)
	{
		PGresult   *res;
		int			batched = 0;

		sbuf_reset(&sql);
		for (int i = start; i < cat->ntables && i < start + BATCH_TABLES; i++)
		{
			if (skip != NULL && skip[i])
				continue;
			sbuf_printf(&sql, "%sSELECT %d WHERE EXISTS (SELECT FROM ONLY %s)",
						batched++ ? " UNION ALL " : "", i, cat->tables[i].qname);
		}
		if (batched == 0)
			continue;
		if (sbuf_failed(&sql))
		{
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory checking the target");
			break;
		}
		if ((rc = conn_query(target, SIDE_TARGET, sbuf_str(&sql), &res, err)) < 0)
			break;
		for (int r = 0; r < PQntuples(res) && rc == 0; r++)
		{
			int			ti = atoi(PQgetvalue(res, r, 0));

			rc = add_problem(out, TARGET_TABLE_NOT_EMPTY, ti, err, "%s", cat->tables[ti].qname);
		}
		PQclear(res);
	}
	sbuf_fini(&sql);
	return rc;
}
