/*
 * filter.h: which tables a run takes, chosen with pg_dump's options and patterns.
 *
 *   --table PATTERN           tables (views, sequences...) whose name matches
 *   --exclude-table PATTERN   not these
 *   --schema PATTERN          only the relations of matching schemas
 *   --exclude-schema PATTERN  not those of these schemas
 *
 * Each option may be given many times.  A pattern is read as psql and pg_dump
 * read one: "schema.name" or "name" (any schema), * and ? as in a shell, the
 * letters folded to lower case and the dot taken as a separator unless inside
 * double quotes, "" for a quote inside them, and other characters of a
 * regular expression ([a-z], |, +) left to work as such.  The server does the
 * matching, with the regular expressions that pg_dump would send it.
 *
 * A relation is selected when its schema passes the schema options and it, or
 * a partitioned table it is a partition of, matches a --table pattern (every
 * relation when there is none) and none matches an --exclude-table pattern:
 * naming a partitioned table takes or leaves all its partitions.  Sequences
 * owned by a selected table come with it; identity sequences never come
 * without it.  A --table or --schema pattern that matches nothing in the
 * source is an error, as with pg_dump's --strict-names: a misspelt name must
 * not pass as "nothing to copy".
 */
#ifndef PGSLUICE_ENGINE_FILTER_H
#define PGSLUICE_ENGINE_FILTER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "codec/json.h"
#include "base/err.h"

typedef enum filter_kind
{
	FILTER_TABLE = 0,
	FILTER_EXCLUDE_TABLE,
	FILTER_SCHEMA,
	FILTER_EXCLUDE_SCHEMA,
	FILTER_NKINDS
} filter_kind;

typedef struct filter_pattern
{
	char	   *pattern;		/* as the user gave it */
	char	   *schema_re;		/* anchored regular expression; NULL: any */
	char	   *name_re;		/* NULL: any */
} filter_pattern;

typedef struct cat_filter
{
	int			n[FILTER_NKINDS];
	filter_pattern *p[FILTER_NKINDS];
} cat_filter;

/* What the filter chose in a database, for the catalog and for pg_dump. */
typedef struct filter_selection
{
	int			noids;
	uint32_t   *oids;			/* the selected relations, any kind */
	int			nargs;
	char	  **dump_args;		/* pg_dump options choosing the same relations */
} filter_selection;

/* The option's name as the command line spells it ("exclude-table"), and back (-1: none). */
const char *filter_kind_option(filter_kind kind);
int			filter_kind_of(const char *option);

/* Adds a pattern of kind to f (copied); -EINVAL with err saying what is wrong with it. */
int			filter_add(cat_filter *f, filter_kind kind, const char *pattern, sl_err *err);

bool		filter_empty(const cat_filter *f);
void		filter_free(cat_filter *f);

/*
 * Resolves f in the database of conn.  strict: a --table or --schema pattern
 * that matches nothing is an error (side blames the connection's side).
 * Free out with filter_selection_free.
 */
int			filter_select(PGconn *conn, sl_side side, const cat_filter *f, bool strict,
						  filter_selection *out, sl_err *err);
void		filter_selection_free(filter_selection *sel);

/*
 * Appends an SQL condition on the schema name column nsp: true when the
 * schema options let it through.
 */
void		filter_append_schema_condition(sbuf *sql, PGconn *conn, const cat_filter *f, const char *nsp);

/* Appends the patterns as a JSON object of arrays, e.g. {"table": ["a*"]}; 0 or -ENOMEM. */
int			filter_json(const cat_filter *f, sbuf *out);

/* The same object, as key's value in what w writes (NULL: an element, or the top). */
void		filter_json_put(const cat_filter *f, json_writer *w, const char *key);

#endif
