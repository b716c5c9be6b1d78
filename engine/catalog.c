/*
 * catalog.c: reading tables, columns, keys, types and sequences from the
 * source.  See catalog.h.
 *
 * Five queries, whatever the number of tables: tables, columns, keys, the
 * types reachable from the columns (a recursive walk through domains,
 * arrays, composites, ranges and multiranges) with their composite fields,
 * and sequences.  Type shapes and binary safety are then worked out in C
 * from that closed set of types.
 */
#include "engine/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/lobj.h"

#define FIRST_NORMAL_OID 16384	/* OIDs below are the same on every cluster */
#define MAX_TYPE_DEPTH 32

/* Not a schema of pgsluice's run records (engine/state.h), known by its version table. */
#define NOT_STATE_SCHEMA \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class v" \
	"            WHERE v.relnamespace = n.oid AND v.relname = 'pgsluice_state_version')"

/* Relations of the user's: not the system's, not an extension's, not run records. */
#define USER_RELATION \
	"n.nspname NOT IN ('pg_catalog', 'information_schema')" \
	"    AND n.nspname !~ '^pg_(toast|temp_)'" \
	"    AND " NOT_STATE_SCHEMA \
	"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d" \
	"                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"                      AND d.objid = c.oid AND d.deptype = 'e')"

typedef struct type_info
{
	uint32_t	oid;
	char	   *name;			/* format_type() */
	char		typtype;		/* b c d e m p r */
	bool		binary_io;		/* has send and receive functions */
	bool		is_tsvector;
	uint32_t	array_elem;		/* element type when a true array, else 0 */
	uint32_t	base_type;		/* domain's base type, else 0 */
	uint32_t	range_sub;		/* range's subtype, else 0 */
	uint32_t	multirange_range;	/* multirange's range type, else 0 */
	int			nfields;		/* composite: fields, in order */
	uint32_t   *fields;
	const ctype *shape;			/* worked out on demand */
} type_info;

typedef struct cat_arena
{
	ctype	  **nodes;
	int			nnodes;
	int			alloc;
	type_info  *types;			/* ordered by oid */
	int			ntypes;
} cat_arena;

static const ctype plain_shape = {CTYPE_PLAIN, 0, NULL};

/* Appends the condition that keeps a relation c of the run's selection (none: all). */
static void
append_selected(sbuf *sql, const catalog *cat)
{
	if (!cat->filtered)
		return;
	sbuf_append(sql, " AND c.oid = ANY ('{0");
	for (int i = 0; i < cat->selection.noids; i++)
		sbuf_printf(sql, ",%u", cat->selection.oids[i]);
	sbuf_append(sql, "}'::pg_catalog.oid[])");
}

/* Appends "WITH RECURSIVE tabs AS (...) ": the tables we copy, the ordinary tables of the selection. */
static void
append_tables_cte(sbuf *sql, const catalog *cat)
{
	sbuf_append(sql, "WITH RECURSIVE tabs AS ("
				"  SELECT c.oid, c.relname, n.nspname, c.relpersistence, c.reltuples"
				"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				"  WHERE c.relkind = 'r' AND " USER_RELATION);
	append_selected(sql, cat);
	sbuf_append(sql, ") ");
}

static char *
dup_value(const PGresult *res, int row, int col)
{
	return strdup(PQgetvalue(res, row, col));
}

static uint32_t
uint_value(const PGresult *res, int row, int col)
{
	return (uint32_t) strtoul(PQgetvalue(res, row, col), NULL, 10);
}

static bool
bool_value(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

/* How many rows from row on share column 0's relation, in a result ordered by it. */
static int
group_size(const PGresult *res, int row)
{
	uint32_t	oid = uint_value(res, row, 0);
	int			n = 1;

	while (row + n < PQntuples(res) && uint_value(res, row + n, 0) == oid)
		n++;
	return n;
}

static int
cmp_type(const void *a, const void *b)
{
	uint32_t	x = ((const type_info *) a)->oid;
	uint32_t	y = ((const type_info *) b)->oid;

	return x < y ? -1 : x > y;
}

static type_info *
find_type(cat_arena *arena, uint32_t oid)
{
	type_info	key = {.oid = oid};

	return bsearch(&key, arena->types, (size_t) arena->ntypes, sizeof(type_info), cmp_type);
}

static int
cmp_table(const void *a, const void *b)
{
	uint32_t	x = ((const cat_table *) a)->oid;
	uint32_t	y = ((const cat_table *) b)->oid;

	return x < y ? -1 : x > y;
}

static int
cmp_table_name(const void *a, const void *b)
{
	return strcmp((*(const cat_table *const *) a)->qname, (*(const cat_table *const *) b)->qname);
}

static cat_table *
find_table(catalog *cat, uint32_t oid)
{
	cat_table	key = {.oid = oid};

	return bsearch(&key, cat->tables, (size_t) cat->ntables, sizeof(cat_table), cmp_table);
}

static ctype *
new_shape(cat_arena *arena, ctype_kind kind, uint32_t nchildren)
{
	ctype	   *node;

	if (arena->nnodes == arena->alloc)
	{
		int			alloc = arena->alloc ? arena->alloc * 2 : 64;
		ctype	  **nodes = realloc(arena->nodes, sizeof(ctype *) * (size_t) alloc);

		if (nodes == NULL)
			return NULL;
		arena->nodes = nodes;
		arena->alloc = alloc;
	}
	node = calloc(1, sizeof(ctype) + sizeof(ctype *) * nchildren);
	if (node == NULL)
		return NULL;
	node->kind = kind;
	node->nchildren = nchildren;
	node->children = (const ctype *const *) (node + 1);
	arena->nodes[arena->nnodes++] = node;
	return node;
}

/*
 * The checksum shape of a type; NULL when out of memory or nested too deep.
 * Ranges and multiranges of plain subtypes hold no OIDs and stay plain;
 * arrays and records never do (element OIDs, field OIDs, the nulls flag).
 */
static const ctype *
type_shape(cat_arena *arena, uint32_t oid, int depth)
{
	type_info  *t = find_type(arena, oid);
	ctype	   *node = NULL;
	const ctype *child;

	if (t == NULL)
		return &plain_shape;
	if (t->shape != NULL)
		return t->shape;
	if (depth > MAX_TYPE_DEPTH)
		return NULL;

	if (t->base_type != 0)
	{
		if ((child = type_shape(arena, t->base_type, depth + 1)) == NULL)
			return NULL;
		node = (ctype *) child;
	}
	else if (t->array_elem != 0)
	{
		if ((child = type_shape(arena, t->array_elem, depth + 1)) == NULL ||
			(node = new_shape(arena, CTYPE_ARRAY, 1)) == NULL)
			return NULL;
		((const ctype **) node->children)[0] = child;
	}
	else if (t->typtype == 'c')
	{
		if ((node = new_shape(arena, CTYPE_RECORD, (uint32_t) t->nfields)) == NULL)
			return NULL;
		for (int i = 0; i < t->nfields; i++)
		{
			if ((child = type_shape(arena, t->fields[i], depth + 1)) == NULL)
				return NULL;
			((const ctype **) node->children)[i] = child;
		}
	}
	else if (t->range_sub != 0 || t->multirange_range != 0)
	{
		uint32_t	inner = t->range_sub ? t->range_sub : t->multirange_range;

		if ((child = type_shape(arena, inner, depth + 1)) == NULL)
			return NULL;
		if (child->kind == CTYPE_PLAIN)
			node = (ctype *) &plain_shape;
		else
		{
			if ((node = new_shape(arena, t->range_sub ? CTYPE_RANGE : CTYPE_MULTIRANGE, 1)) == NULL)
				return NULL;
			((const ctype **) node->children)[0] = child;
		}
	}
	else
		node = (ctype *) &plain_shape;
	t->shape = node;
	return node;
}

/*
 * Why a type cannot move in binary format to a target of target_major, or
 * NULL when it can.  The reason is written into why.
 */
static bool
type_unsafe(cat_arena *arena, uint32_t oid, int target_major, int depth, char *why, size_t whylen)
{
	type_info  *t = find_type(arena, oid);

	if (t == NULL || depth > MAX_TYPE_DEPTH)
	{
		snprintf(why, whylen, "type %u is not understood", oid);
		return true;
	}
	if (t->is_tsvector)
	{
		snprintf(why, whylen, "type \"%s\" is not safe in binary format", t->name);
		return true;
	}
	if (!t->binary_io)
	{
		snprintf(why, whylen, "type \"%s\" has no binary send/receive functions", t->name);
		return true;
	}
	if (t->base_type)
		return type_unsafe(arena, t->base_type, target_major, depth + 1, why, whylen);
	if (t->array_elem)
	{
		if (target_major < 14 && t->array_elem >= FIRST_NORMAL_OID)
		{
			snprintf(why, whylen, "array type \"%s\" has a user-defined element type, "
					 "which a target before PostgreSQL 14 refuses in binary format", t->name);
			return true;
		}
		return type_unsafe(arena, t->array_elem, target_major, depth + 1, why, whylen);
	}
	for (int i = 0; i < t->nfields; i++)
	{
		if (target_major < 14 && t->fields[i] >= FIRST_NORMAL_OID)
		{
			snprintf(why, whylen, "composite type \"%s\" has a user-defined field type, "
					 "which a target before PostgreSQL 14 refuses in binary format", t->name);
			return true;
		}
		if (type_unsafe(arena, t->fields[i], target_major, depth + 1, why, whylen))
			return true;
	}
	if (t->range_sub)
		return type_unsafe(arena, t->range_sub, target_major, depth + 1, why, whylen);
	if (t->multirange_range)
		return type_unsafe(arena, t->multirange_range, target_major, depth + 1, why, whylen);
	return false;
}

static int
load_tables(PGconn *conn, catalog *cat, sl_err *err)
{
	PGresult   *res;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	append_tables_cte(&sql, cat);
	sbuf_append(&sql, "SELECT t.oid, pg_catalog.format('%I.%I', t.nspname, t.relname), t.relpersistence,"
				"       pg_catalog.pg_relation_size(t.oid), t.reltuples"
				" FROM tabs t ORDER BY t.oid");
	rc = conn_query_sbuf(conn, cat->side, &sql, &res, err);
	if (rc < 0)
		return rc;
	cat->ntables = PQntuples(res);
	cat->tables = calloc((size_t) cat->ntables + 1, sizeof(cat_table));
	if (cat->tables == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	}
	for (int i = 0; i < cat->ntables; i++)
	{
		cat_table  *t = &cat->tables[i];

		t->oid = uint_value(res, i, 0);
		t->qname = dup_value(res, i, 1);
		t->persistence = PQgetvalue(res, i, 2)[0];
		t->bytes = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		t->pages = cat->block_size > 0 ? t->bytes / cat->block_size : 0;
		t->reltuples = strtod(PQgetvalue(res, i, 4), NULL);
	}
	PQclear(res);
	return 0;
}

static int
load_columns(PGconn *conn, catalog *cat, sl_err *err)
{
	PGresult   *res;
	sbuf		sql;
	int			rc;
	int			row = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	append_tables_cte(&sql, cat);
	sbuf_printf(&sql, "SELECT a.attrelid, pg_catalog.quote_ident(a.attname),"
				"       pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid, a.attlen < 0"
				" FROM pg_catalog.pg_attribute a JOIN tabs t ON t.oid = a.attrelid"
				" WHERE a.attnum > 0 AND NOT a.attisdropped %s"
				" ORDER BY a.attrelid, a.attnum",
				cat->server_major >= 12 ? "AND a.attgenerated = ''" : "");
	rc = conn_query_sbuf(conn, cat->side, &sql, &res, err);
	if (rc < 0)
		return rc;
	while (row < PQntuples(res))
	{
		cat_table  *t = find_table(cat, uint_value(res, row, 0));
		int			n = group_size(res, row);
		if (t != NULL)
		{
			t->cols = calloc((size_t) n, sizeof(cat_column));
			if (t->cols == NULL)
				break;
			t->ncols = n;
			for (int i = 0; i < n; i++)
			{
				t->cols[i].name = dup_value(res, row + i, 1);
				t->cols[i].type = dup_value(res, row + i, 2);
				t->cols[i].type_oid = uint_value(res, row + i, 3);
				t->cols[i].varlena = PQgetvalue(res, row + i, 4)[0] == 't';
			}
		}
		row += n;
	}
	rc = row < PQntuples(res) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading columns") : 0;
	PQclear(res);
	return rc;
}

/* Frees t's key columns: t has no usable key. */
static void
drop_keys(cat_table *t)
{
	for (int k = 0; k < t->nkeys; k++)
	{
		free(t->keys[k].name);
		free(t->keys[k].type);
		free(t->keys[k].op_schema);
	}
	free(t->keys);
	t->keys = NULL;
	t->nkeys = 0;
	t->key_kind = KEY_NONE;
}

/*
 * True when every key column is ordered by operators of one schema: a row
 * comparison names one operator for all its columns.  A key of, say, citext
 * and int (public's and pg_catalog's) is not usable as one: the table goes by
 * heap pages instead, which is correct for any key.
 */
static bool
same_op_schema(const cat_table *t)
{
	for (int k = 0; k < t->nkeys; k++)
		if (t->keys[k].op_schema == NULL || strcmp(t->keys[k].op_schema, t->keys[0].op_schema) != 0)
			return false;
	return true;
}

static int
load_keys(PGconn *conn, catalog *cat, sl_err *err)
{
	PGresult   *res;
	sbuf		sql;
	int			rc;
	int			row = 0;

	/*
	 * One row per key column of the best unique index of each table: the
	 * primary key first, then unique indexes whose columns are all NOT NULL,
	 * then the fewest columns.  INCLUDE columns are not part of the key.
	 */
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	append_tables_cte(&sql, cat);
	sbuf_append(&sql, ", idx AS ("
					"  SELECT i.indrelid, i.indexrelid, i.indisprimary, i.indnkeyatts,"
					"         pg_catalog.bool_and(a.attnotnull) AS all_not_null"
					"  FROM pg_catalog.pg_index i"
					"  JOIN tabs t ON t.oid = i.indrelid"
					"  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
					"  JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree'"
					"  CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)"
					"  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
					"  WHERE i.indisunique AND i.indisvalid AND i.indimmediate"
					"    AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts"
					"  GROUP BY i.indrelid, i.indexrelid, i.indisprimary, i.indnkeyatts),"
					" best AS ("
					"  SELECT DISTINCT ON (indrelid) indrelid, indexrelid, indisprimary, indnkeyatts"
					"  FROM idx ORDER BY indrelid, indisprimary DESC, all_not_null DESC,"
					"           indnkeyatts, indexrelid)"
					" SELECT b.indrelid, b.indisprimary, pg_catalog.quote_ident(a.attname),"
					"        pg_catalog.format_type(kt.oid, kt.typmod), a.attnotnull, kt.op_schema"
					" FROM best b JOIN pg_catalog.pg_index i ON i.indexrelid = b.indexrelid"
					" CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)"
					" JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
					/*
					 * kt: the type boundaries are cast to, a domain's base type
					 * (through domains over domains, with the typmod the chain gives
					 * it), since a cast to the domain runs its CHECK constraints,
					 * which may call functions of the domain's owner in our sessions;
					 * and the schema of the operators that order it, those of its
					 * default btree operator class (only a superuser makes one, as an
					 * extension's script does): citext's are in its extension's
					 * schema, and pg_catalog's would compare citext as text.  No such
					 * class for the type itself (varchar, an enum, an array): the
					 * server finds the polymorphic or binary-compatible one, in
					 * pg_catalog.
					 */
					" CROSS JOIN LATERAL ("
					"   WITH RECURSIVE d(oid, base, typmod, depth) AS ("
					"     SELECT a.atttypid, ty.typbasetype, a.atttypmod, 0"
					"     FROM pg_catalog.pg_type ty WHERE ty.oid = a.atttypid"
					"     UNION ALL"
					"     SELECT d.base, ty.typbasetype,"
					"            CASE WHEN d.typmod <> -1 THEN d.typmod ELSE dt.typtypmod END, d.depth + 1"
					"     FROM d JOIN pg_catalog.pg_type dt ON dt.oid = d.oid"
					"     JOIN pg_catalog.pg_type ty ON ty.oid = d.base"
					"     WHERE d.base <> 0 AND d.depth < 32)"
					"   SELECT d.oid, d.typmod,"
					"          coalesce((SELECT pg_catalog.quote_ident(n.nspname)"
					"                    FROM pg_catalog.pg_opclass oc"
					"                    JOIN pg_catalog.pg_am oam ON oam.oid = oc.opcmethod AND oam.amname = 'btree'"
					"                    JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily"
					"                     AND ao.amoplefttype = oc.opcintype AND ao.amoprighttype = oc.opcintype"
					"                     AND ao.amopstrategy = 4"
					"                    JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr AND o.oprname = '>='"
					"                    JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
					"                    WHERE oc.opcdefault AND oc.opcintype = d.oid LIMIT 1),"
					"                   'pg_catalog') AS op_schema"
					"   FROM d ORDER BY d.depth DESC LIMIT 1) kt"
					" WHERE k.ord <= b.indnkeyatts"
					" ORDER BY b.indrelid, k.ord");
	rc = conn_query_sbuf(conn, cat->side, &sql, &res, err);
	if (rc < 0)
		return rc;
	while (row < PQntuples(res))
	{
		cat_table  *t = find_table(cat, uint_value(res, row, 0));
		int			n = group_size(res, row);
		if (t != NULL)
		{
			t->keys = calloc((size_t) n, sizeof(cat_key_column));
			if (t->keys == NULL)
				break;
			t->nkeys = n;
			t->key_kind = bool_value(res, row, 1) ? KEY_PRIMARY : KEY_UNIQUE;
			for (int i = 0; i < n; i++)
			{
				t->keys[i].name = dup_value(res, row + i, 2);
				t->keys[i].type = dup_value(res, row + i, 3);
				t->keys[i].not_null = bool_value(res, row + i, 4);
				t->keys[i].op_schema = dup_value(res, row + i, 5);
			}
			if (!same_op_schema(t))
				drop_keys(t);
		}
		row += n;
	}
	rc = row < PQntuples(res) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading keys") : 0;
	PQclear(res);
	return rc;
}

static int
load_types(PGconn *conn, catalog *cat, sl_err *err)
{
	cat_arena  *arena = cat->arena;
	PGresult   *res;
	sbuf		sql;
	int			rc;

	/*
	 * Every type reachable from a copy column.  A true array has an element
	 * type and variable length (point, name and the like are fixed-length
	 * "subscriptable" types, not arrays).
	 */
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	append_tables_cte(&sql, cat);
	sbuf_printf(&sql,
				", reach(oid) AS ("
				"  SELECT DISTINCT a.atttypid FROM pg_catalog.pg_attribute a JOIN tabs t ON t.oid = a.attrelid"
				"  WHERE a.attnum > 0 AND NOT a.attisdropped"
				"  UNION"
				"  SELECT x.child FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.oid"
				"  CROSS JOIN LATERAL ("
				"    SELECT t.typelem AS child WHERE t.typelem <> 0"
				"    UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0"
				"    UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a"
				"      WHERE t.typrelid <> 0 AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped"
				"    UNION ALL SELECT g.rngsubtype FROM pg_catalog.pg_range g WHERE g.rngtypid = t.oid"
				"    %s) x)"
				" SELECT t.oid, pg_catalog.format_type(t.oid, NULL), t.typtype,"
				"        t.typsend::pg_catalog.oid <> 0 AND t.typreceive::pg_catalog.oid <> 0,"
				"        t.oid = 'pg_catalog.tsvector'::pg_catalog.regtype,"
				"        CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE 0 END,"
				"        t.typbasetype, coalesce(g.rngsubtype, 0), %s,"
				"        (SELECT pg_catalog.array_agg(a.atttypid ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
				"          WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0"
				"            AND NOT a.attisdropped)"
				" FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.oid"
				" LEFT JOIN pg_catalog.pg_range g ON g.rngtypid = t.oid"
				" ORDER BY t.oid",
				cat->server_major >= 14
				? "UNION ALL SELECT g.rngtypid FROM pg_catalog.pg_range g WHERE g.rngmultitypid = t.oid" : "",
				cat->server_major >= 14
				? "coalesce((SELECT g2.rngtypid FROM pg_catalog.pg_range g2 WHERE g2.rngmultitypid = t.oid), 0)"
				: "0");
	rc = conn_query_sbuf(conn, cat->side, &sql, &res, err);
	if (rc < 0)
		return rc;
	arena->ntypes = PQntuples(res);
	arena->types = calloc((size_t) arena->ntypes + 1, sizeof(type_info));
	if (arena->types == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading types");
	}
	for (int i = 0; i < arena->ntypes; i++)
	{
		type_info  *t = &arena->types[i];
		const char *fields = PQgetvalue(res, i, 9);

		t->oid = uint_value(res, i, 0);
		t->name = dup_value(res, i, 1);
		t->typtype = PQgetvalue(res, i, 2)[0];
		t->binary_io = bool_value(res, i, 3);
		t->is_tsvector = bool_value(res, i, 4);
		t->array_elem = uint_value(res, i, 5);
		t->base_type = uint_value(res, i, 6);
		t->range_sub = uint_value(res, i, 7);
		t->multirange_range = uint_value(res, i, 8);
		if (!PQgetisnull(res, i, 9))
		{
			/* "{23,25,16390}" */
			int			n = 1;

			for (const char *p = fields; *p; p++)
				n += *p == ',';
			t->fields = calloc((size_t) n, sizeof(uint32_t));
			if (t->fields == NULL)
			{
				PQclear(res);
				return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading types");
			}
			for (const char *p = fields + 1; *p && *p != '}';)
			{
				char	   *end;

				t->fields[t->nfields++] = (uint32_t) strtoul(p, &end, 10);
				p = *end == ',' ? end + 1 : end;
			}
		}
	}
	PQclear(res);
	return 0;
}

static int
cmp_sequence_name(const void *a, const void *b)
{
	return strcmp(((const cat_sequence *) a)->qname, ((const cat_sequence *) b)->qname);
}

/* The quoted names of the user's relations in the selection that match where, sorted by order. */
static int
query_relation_names(PGconn *conn, const catalog *cat, const char *where, const char *order,
					 PGresult **res, sl_err *err)
{
	sbuf		sql;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname)"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				" WHERE %s AND " USER_RELATION, where);
	append_selected(&sql, cat);
	sbuf_printf(&sql, " ORDER BY %s", order);
	return conn_query_sbuf(conn, cat->side, &sql, res, err);
}

static int
load_sequences(PGconn *conn, catalog *cat, sl_err *err)
{
	PGresult   *res;
	int			rc;

	rc = query_relation_names(conn, cat, "c.relkind = 'S'", "1", &res, err);
	if (rc < 0)
		return rc;
	cat->nsequences = PQntuples(res);
	cat->sequences = calloc((size_t) cat->nsequences + 1, sizeof(cat_sequence));
	if (cat->sequences == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading sequences");
	}
	for (int i = 0; i < cat->nsequences; i++)
		cat->sequences[i].qname = dup_value(res, i, 0);
	PQclear(res);
	/* the server sorted by its collation; lookups compare bytes */
	qsort(cat->sequences, (size_t) cat->nsequences, sizeof(cat_sequence), cmp_sequence_name);
	return 0;
}

static int
load_matviews(PGconn *conn, catalog *cat, sl_err *err)
{
	PGresult   *res;
	int			rc;

	rc = query_relation_names(conn, cat, "c.relkind = 'm' AND c.relispopulated", "c.oid", &res, err);
	if (rc < 0)
		return rc;
	cat->nmatviews = PQntuples(res);
	cat->matviews = calloc((size_t) cat->nmatviews + 1, sizeof(char *));
	if (cat->matviews == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading materialized views");
	}
	for (int i = 0; i < cat->nmatviews; i++)
		cat->matviews[i] = dup_value(res, i, 0);
	PQclear(res);
	return 0;
}

/*
 * Appends the large objects as a table (catalog.h), when the side holds any
 * and the run does not choose tables or schemas.  Its columns are what
 * engine/lobj.h reads: the OID and the contents, both plain in binary; its
 * size is that of pg_largeobject, which holds the contents, and its pages
 * are those of the metadata, which the planner samples.
 */
static int
add_large_objects(PGconn *conn, catalog *cat, const cat_filter *filter, sl_err *err)
{
	static const struct
	{
		const char *name;
		const char *type;
		uint32_t	type_oid;
	}			cols[] = {{"oid", "oid", 26}, {"data", "bytea", 17}};
	PGresult   *res;
	cat_table  *tables;
	cat_table  *t;
	int			rc;

	if (filter != NULL && (filter->n[FILTER_TABLE] > 0 || filter->n[FILTER_SCHEMA] > 0))
		return 0;
	rc = conn_query(conn, cat->side,
					"SELECT pg_catalog.count(*), pg_catalog.pg_relation_size('pg_catalog.pg_largeobject'),"
					"       pg_catalog.pg_relation_size('" LOBJ_TABLE "'), '" LOBJ_TABLE "'::pg_catalog.regclass::pg_catalog.oid"
					" FROM " LOBJ_TABLE, &res, err);
	if (rc < 0)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
	{
		PQclear(res);
		return 0;
	}
	if ((tables = realloc(cat->tables, sizeof(cat_table) * ((size_t) cat->ntables + 2))) == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	}
	cat->tables = tables;
	t = &cat->tables[cat->ntables];
	memset(t, 0, sizeof(*t));
	t->large_objects = true;
	t->oid = uint_value(res, 0, 3);
	t->persistence = 'p';
	t->reltuples = strtod(PQgetvalue(res, 0, 0), NULL);
	t->bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	t->pages = cat->block_size > 0 ? strtoll(PQgetvalue(res, 0, 2), NULL, 10) / cat->block_size : 0;
	PQclear(res);
	cat->ntables++;				/* from here catalog_destroy frees what t holds */
	t->qname = strdup(LOBJ_TABLE);
	t->cols = calloc(2, sizeof(cat_column));
	t->shapes = calloc(2, sizeof(ctype *));
	t->keys = calloc(1, sizeof(cat_key_column));
	if (t->qname == NULL || t->cols == NULL || t->shapes == NULL || t->keys == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	t->ncols = 2;
	for (int c = 0; c < 2; c++)
	{
		t->cols[c].type_oid = cols[c].type_oid;
		t->cols[c].shape = t->shapes[c] = &plain_shape;
		if ((t->cols[c].name = strdup(cols[c].name)) == NULL ||
			(t->cols[c].type = strdup(cols[c].type)) == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	}
	t->key_kind = KEY_PRIMARY;
	t->nkeys = 1;
	t->keys[0].not_null = true;
	if ((t->keys[0].name = strdup("oid")) == NULL || (t->keys[0].type = strdup("oid")) == NULL ||
		(t->keys[0].op_schema = strdup("pg_catalog")) == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	return 0;
}

static int
resolve_columns(catalog *cat, int target_major, sl_err *err)
{
	qsort(cat->arena->types, (size_t) cat->arena->ntypes, sizeof(type_info), cmp_type);
	for (int i = 0; i < cat->ntables; i++)
	{
		cat_table  *t = &cat->tables[i];

		t->shapes = calloc((size_t) t->ncols + 1, sizeof(ctype *));
		if (t->shapes == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
		for (int c = 0; c < t->ncols; c++)
		{
			cat_column *col = &t->cols[c];
			char		why[512];

			col->shape = type_shape(cat->arena, col->type_oid, 0);
			if (col->shape == NULL)
				return err_set(err, SIDE_LOCAL, -ENOMEM,
							   "could not work out the binary shape of column %s of table %s",
							   col->name, t->qname);
			t->shapes[c] = col->shape;
			if (t->text_reason == NULL &&
				type_unsafe(cat->arena, col->type_oid, target_major, 0, why, sizeof(why)))
			{
				sbuf		reason;

				sbuf_init(&reason, 4096);
				sbuf_printf(&reason, "column %s: %s", col->name, why);
				t->text_reason = sbuf_take(&reason);
			}
		}
	}
	return 0;
}

int
catalog_load(PGconn *conn, sl_side side, int target_major, const cat_filter *filter, catalog **out,
			 sl_err *err)
{
	catalog    *cat;
	PGresult   *res = NULL;
	int			rc;

	*out = NULL;
	cat = calloc(1, sizeof(*cat));
	if (cat == NULL || (cat->arena = calloc(1, sizeof(cat_arena))) == NULL)
	{
		free(cat);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
	}
	cat->side = side;
	cat->server_major = conn_major_version(conn);
	if (!filter_empty(filter))
	{
		if ((rc = filter_select(conn, side, filter, side == SIDE_SOURCE, &cat->selection, err)) < 0)
			goto fail;
		cat->filtered = true;
	}
	rc = conn_query(conn, side,
					"SELECT pg_catalog.current_setting('block_size'), pg_catalog.current_setting('server_encoding')",
					&res, err);
	if (rc < 0)
		goto fail;
	cat->block_size = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	cat->encoding = dup_value(res, 0, 1);
	PQclear(res);

	if ((rc = load_tables(conn, cat, err)) < 0 ||
		(rc = load_columns(conn, cat, err)) < 0 ||
		(rc = load_keys(conn, cat, err)) < 0 ||
		(rc = load_types(conn, cat, err)) < 0 ||
		(rc = load_sequences(conn, cat, err)) < 0 ||
		(rc = load_matviews(conn, cat, err)) < 0 ||
		(rc = resolve_columns(cat, target_major, err)) < 0 ||
		(rc = add_large_objects(conn, cat, filter, err)) < 0)
		goto fail;
	cat->by_name = calloc((size_t) cat->ntables + 1, sizeof(cat_table *));
	if (cat->by_name == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the catalog");
		goto fail;
	}
	for (int i = 0; i < cat->ntables; i++)
		cat->by_name[i] = &cat->tables[i];
	qsort(cat->by_name, (size_t) cat->ntables, sizeof(cat_table *), cmp_table_name);
	*out = cat;
	return 0;

fail:
	catalog_destroy(cat);
	return rc;
}

void
catalog_destroy(catalog *cat)
{
	if (cat == NULL)
		return;
	for (int i = 0; i < cat->ntables; i++)
	{
		cat_table  *t = &cat->tables[i];

		for (int c = 0; c < t->ncols; c++)
		{
			free(t->cols[c].name);
			free(t->cols[c].type);
		}
		drop_keys(t);
		free(t->cols);
		free(t->shapes);
		free(t->qname);
		free(t->text_reason);
	}
	free(cat->tables);
	for (int i = 0; i < cat->nsequences; i++)
		free(cat->sequences[i].qname);
	free(cat->sequences);
	for (int i = 0; i < cat->nmatviews; i++)
		free(cat->matviews[i]);
	free(cat->matviews);
	if (cat->arena != NULL)
	{
		for (int i = 0; i < cat->arena->nnodes; i++)
			free(cat->arena->nodes[i]);
		free(cat->arena->nodes);
		for (int i = 0; i < cat->arena->ntypes; i++)
		{
			free(cat->arena->types[i].name);
			free(cat->arena->types[i].fields);
		}
		free(cat->arena->types);
		free(cat->arena);
	}
	free(cat->encoding);
	free(cat->by_name);
	filter_selection_free(&cat->selection);
	free(cat);
}

int
catalog_user_tables(const catalog *cat)
{
	return cat->ntables - (cat->ntables > 0 && cat->tables[cat->ntables - 1].large_objects);
}

const cat_table *
catalog_find(const catalog *cat, const char *qname)
{
	cat_table	key = {.qname = (char *) qname};
	const cat_table *keyp = &key;
	const cat_table **hit = bsearch(&keyp, cat->by_name, (size_t) cat->ntables,
									sizeof(cat_table *), cmp_table_name);

	return hit != NULL ? *hit : NULL;
}

int
catalog_find_sequence(const catalog *cat, const char *qname)
{
	cat_sequence key = {.qname = (char *) qname};
	const cat_sequence *hit = bsearch(&key, cat->sequences, (size_t) cat->nsequences,
									  sizeof(cat_sequence), cmp_sequence_name);

	return hit != NULL ? (int) (hit - cat->sequences) : -1;
}

#define SEQUENCES_PER_QUERY 500

int
catalog_read_sequences(PGconn *conn, sl_side side, const catalog *cat,
					   cat_sequence_value *values, sl_err *err)
{
	sbuf		sql;
	int			rc = 0;

	memset(values, 0, sizeof(cat_sequence_value) * (size_t) cat->nsequences);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int start = 0; start < cat->nsequences && rc == 0; start += SEQUENCES_PER_QUERY)
	{
		PGresult   *res;
		int			end = start + SEQUENCES_PER_QUERY < cat->nsequences
			? start + SEQUENCES_PER_QUERY : cat->nsequences;

		sbuf_reset(&sql);
		for (int i = start; i < end; i++)
			sbuf_printf(&sql, "%sSELECT %d, last_value, is_called FROM %s",
						i > start ? " UNION ALL " : "", i, cat->sequences[i].qname);
		if (sbuf_failed(&sql))
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading sequences");
		else if ((rc = conn_query(conn, side, sbuf_str(&sql), &res, err)) == 0)
		{
			for (int r = 0; r < PQntuples(res); r++)
			{
				int			i = atoi(PQgetvalue(res, r, 0));

				values[i].last_value = dup_value(res, r, 1);
				values[i].is_called = bool_value(res, r, 2);
			}
			PQclear(res);
		}
	}
	sbuf_fini(&sql);
	return rc;
}

void
catalog_free_sequence_values(cat_sequence_value *values, int n)
{
	for (int i = 0; i < n; i++)
		free(values[i].last_value);
}

void
catalog_setval_sql(sbuf *out, PGconn *conn, int from, int to, char *const *names,
				   const cat_sequence_value *values)
{
	sbuf_append(out, "SELECT ");
	for (int i = from; i < to; i++)
	{
		char	   *name = PQescapeLiteral(conn, names[i], strlen(names[i]));
		char	   *value = PQescapeLiteral(conn, values[i].last_value, strlen(values[i].last_value));

		if (name == NULL || value == NULL)
			out->failed = true;
		else
			sbuf_printf(out, "%spg_catalog.setval(%s, %s::bigint, %s)", i > from ? ", " : "",
						name, value, values[i].is_called ? "true" : "false");
		PQfreemem(name);
		PQfreemem(value);
	}
}

int
catalog_write_sequences(PGconn *conn, int n, char *const *names, const cat_sequence_value *values,
						sl_err *err)
{
	sbuf		sql;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int start = 0; start < n && rc == 0; start += CATALOG_SEQUENCES_PER_SETVAL)
	{
		sbuf_reset(&sql);
		catalog_setval_sql(&sql, conn, start, start + CATALOG_SEQUENCES_PER_SETVAL < n ? start + CATALOG_SEQUENCES_PER_SETVAL : n,
						   names, values);
		rc = sbuf_failed(&sql) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory setting sequences")
			: conn_exec(conn, SIDE_TARGET, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	return rc;
}

int
catalog_copy_sequences(PGconn *source, PGconn *target, const catalog *cat, int64_t margin, int *count,
					   sl_err *err)
{
	cat_sequence_value *values = calloc((size_t) cat->nsequences + 1, sizeof(cat_sequence_value));
	char	  **names = calloc((size_t) cat->nsequences + 1, sizeof(char *));
	int			rc;

	*count = 0;
	if (values == NULL || names == NULL)
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory copying sequences");
	else if ((rc = catalog_read_sequences(source, SIDE_SOURCE, cat, values, err)) == 0)
	{
		for (int i = 0; i < cat->nsequences && rc == 0; i++)
		{
			names[i] = cat->sequences[i].qname;
			if (margin != 0)
			{
				char		moved[32];
				char	   *copy;

				snprintf(moved, sizeof(moved), "%lld", strtoll(values[i].last_value, NULL, 10) + (long long) margin);
				if ((copy = strdup(moved)) == NULL)
					rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory copying sequences");
				else
				{
					free(values[i].last_value);
					values[i].last_value = copy;
				}
			}
		}
		if (rc == 0 && (rc = catalog_write_sequences(target, cat->nsequences, names, values, err)) == 0)
			*count = cat->nsequences;
	}
	if (values != NULL)
		catalog_free_sequence_values(values, cat->nsequences);
	free(values);
	free(names);
	return rc;
}
