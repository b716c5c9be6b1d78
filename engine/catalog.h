/*
 * catalog.h: what the engine knows of the source database.
 *
 * Read once, at the run's snapshot, by the connection that holds it:
 *   - every table with storage (ordinary tables, leaf partitions at any depth,
 *     inheritance parents and children, each copied with ONLY), not those of
 *     extensions or the system;
 *   - its copy columns: not dropped, not generated (the target computes them);
 *   - its best key for chunking: the primary key, else a unique btree index
 *     without predicate or expressions, preferring NOT NULL columns;
 *   - its size, and whether every column type is safe in binary format
 *     (send and receive functions, recursively through domains, arrays,
 *     composites and ranges; tsvector never; before PostgreSQL 14 the target
 *     refuses arrays and records whose element or field OIDs are
 *     user-defined); a table with one unsafe column moves as text;
 *   - the checksum shape of each column (codec/ctype.h);
 *   - every sequence, and the materialized views that hold data (the target
 *     refreshes them after the data: a refresh is not part of a schema dump);
 *   - the large objects, as one more table after the others (engine/lobj.h):
 *     pg_catalog.pg_largeobject_metadata, whose rows are (oid, contents) and
 *     whose key is the OID, so that they are planned, copied, hashed,
 *     recorded, dumped and verified as any table's rows are.  Like pg_dump,
 *     a run that chooses tables or schemas (--table, --schema) leaves them
 *     out; a database without large objects has no such table.
 * After catalog_load the catalog is read-only and shared by all workers.
 */
#ifndef PGSLUICE_ENGINE_CATALOG_H
#define PGSLUICE_ENGINE_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "codec/ctype.h"
#include "base/err.h"
#include "engine/filter.h"

typedef struct cat_column
{
	char	   *name;			/* quoted identifier */
	char	   *type;			/* format_type(), e.g. "numeric(18,4)" */
	uint32_t	type_oid;
	bool		varlena;		/* of a type with no fixed length: its values may be long */
	const ctype *shape;			/* owned by the catalog */
} cat_column;

typedef enum cat_key_kind
{
	KEY_NONE = 0,
	KEY_PRIMARY,
	KEY_UNIQUE
} cat_key_kind;

typedef struct cat_key_column
{
	char	   *name;			/* quoted identifier */
	char	   *type;			/* format_type() of the type, or of a domain's base type: what boundaries are cast to */
	bool		not_null;
	char	   *op_schema;		/* quoted schema of the operators that order it (pg_catalog, or an extension's) */
} cat_key_column;

typedef struct cat_table
{
	uint32_t	oid;
	char	   *qname;			/* schema.name, each part quoted where needed */
	char		persistence;	/* 'p' permanent, 'u' unlogged */
	int64_t		bytes;			/* heap size (pg_relation_size) */
	int64_t		pages;			/* heap pages */
	double		reltuples;		/* estimate; < 0 when never analyzed */
	int			ncols;
	cat_column *cols;
	const ctype **shapes;		/* ncols checksum shapes, for the parser */
	cat_key_kind key_kind;
	int			nkeys;
	cat_key_column *keys;
	char	   *text_reason;	/* NULL: binary; else why it moves as text */
	bool		large_objects;	/* the large objects (engine/lobj.h), not a table */
} cat_table;

typedef struct cat_sequence
{
	char	   *qname;
} cat_sequence;

typedef struct catalog
{
	int			ntables;
	cat_table  *tables;			/* ordered by oid, the large objects last */
	int			nsequences;
	cat_sequence *sequences;	/* ordered by qname (strcmp) */
	int			nmatviews;
	char	  **matviews;		/* populated materialized views, quoted names */
	int			server_major;
	int64_t		block_size;
	char	   *encoding;		/* server_encoding of the database */
	sl_side		side;			/* the side it was read from, which its errors blame */
	bool		filtered;		/* a filter chose the relations (engine/filter.h) */
	filter_selection selection; /* what it chose, and pg_dump's options for it */
	struct cat_arena *arena;	/* ctype nodes */
	const cat_table **by_name;	/* tables sorted by qname, for catalog_find */
} catalog;

/*
 * Loads the catalog over conn (a source connection, in the snapshot when
 * there is one; or a target's, side saying which).  target_major decides
 * which types are binary-safe.  filter (NULL or empty: everything) chooses
 * the tables, sequences and materialized views; on the source, a --table or
 * --schema pattern that matches nothing is an error.
 */
int			catalog_load(PGconn *conn, sl_side side, int target_major, const cat_filter *filter,
						 catalog **out, sl_err *err);

void		catalog_destroy(catalog *cat);

/* How many of cat->tables are tables: all but the large objects, which come last. */
int			catalog_user_tables(const catalog *cat);

/* The table with that quoted name, or NULL (a binary search: tables are sorted by name too). */
const cat_table *catalog_find(const catalog *cat, const char *qname);

/* Index of the sequence with that quoted name, or -1 (a binary search). */
int			catalog_find_sequence(const catalog *cat, const char *qname);

typedef struct cat_sequence_value
{
	char	   *last_value;		/* as the server prints it */
	bool		is_called;
} cat_sequence_value;

/*
 * Reads every sequence's last_value and is_called over conn (either side;
 * a sequence missing there is an error).  values has cat->nsequences slots;
 * free them with catalog_free_sequence_values.
 */
int			catalog_read_sequences(PGconn *conn, sl_side side, const catalog *cat,
								   cat_sequence_value *values, sl_err *err);
void		catalog_free_sequence_values(cat_sequence_value *values, int n);

/*
 * Sets n sequences on conn (a target connection) with setval(), in
 * batched statements: names[i] (quoted, as in cat_sequence.qname) to
 * values[i].  Names and values go in as literals, never spliced raw.
 */
int			catalog_write_sequences(PGconn *conn, int n, char *const *names,
									const cat_sequence_value *values, sl_err *err);

#define CATALOG_SEQUENCES_PER_SETVAL 500	/* in one statement */

/* Appends the one statement that sets sequences from to to-1 (escaped for conn). */
void		catalog_setval_sql(sbuf *out, PGconn *conn, int from, int to, char *const *names,
							   const cat_sequence_value *values);

/*
 * Sets every sequence of the catalog on target to its value on source,
 * plus margin (cutover --sequence-margin); *count gets how many.
 */
int			catalog_copy_sequences(PGconn *source, PGconn *target, const catalog *cat, int64_t margin,
								   int *count, sl_err *err);

#endif
