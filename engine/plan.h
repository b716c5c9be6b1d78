/*
 * plan.h: splitting every table into chunks of about --chunk-size.
 *
 *   - a table that fits one chunk is one chunk: the whole table, loaded with
 *     TRUNCATE + COPY FREEZE in one transaction where the run may truncate
 *     and the table is large enough (4 MB) for frozen rows to pay;
 *   - when the caller asks (plan_options.whole_jobs), so is a table of at
 *     most PLAN_WHOLE_MAX_CHUNKS chunks that leaves the work spread over the
 *     jobs (plan_reads_whole): one sequential scan of the source costs it
 *     less than key ranges, and the load can be frozen;
 *   - a keyed table is split into key ranges whose boundaries are quantiles
 *     of a TABLESAMPLE of the key, so skewed and gappy keys still give even
 *     chunks.  The first and last ranges are open-ended, so no row outside
 *     the sampled range is missed, and a key with nullable columns gets one
 *     more chunk for the rows where a key column IS NULL;
 *   - a table without a usable key is split into ctid ranges of heap pages
 *     (TID range scans, PostgreSQL 14 and later; before, one chunk).
 * Key values are compared by the server only: boundaries come back from the
 * server as literals and go into the chunk's WHERE clause cast to the key's
 * type, so the server's own operators and collations decide.
 */
#ifndef PGSLUICE_ENGINE_PLAN_H
#define PGSLUICE_ENGINE_PLAN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "engine/catalog.h"
#include "base/err.h"

#define PLAN_DEFAULT_CHUNK_BYTES (64ll << 20)
#define PLAN_WHOLE_MAX_CHUNKS 16	/* the most chunks a table read whole would have */

typedef struct plan_options
{
	int64_t		chunk_bytes;	/* target heap bytes per chunk */
	bool		freeze;			/* one-chunk tables may be truncated and frozen */
	bool		no_ctid;		/* keyless tables stay whole: their rows are matched across clusters */
	int			whole_jobs;		/* > 0: tables that plan_reads_whole for these jobs stay whole */
} plan_options;

typedef enum plan_method
{
	PLAN_WHOLE = 0,				/* one chunk, no predicate */
	PLAN_KEY,					/* key ranges */
	PLAN_CTID					/* heap page ranges */
} plan_method;

typedef struct plan_chunk
{
	int			table;			/* index into catalog->tables */
	int			seq;			/* 1-based number within its table */
	char	   *predicate;		/* WHERE clause without "WHERE"; NULL: whole table */
	int64_t		est_bytes;		/* share of the table's heap */
	bool		freeze;			/* TRUNCATE + COPY FREEZE in one transaction */
} plan_chunk;

typedef struct plan_table
{
	int			first_chunk;	/* index into plan->chunks */
	int			nchunks;
	plan_method method;
} plan_table;

typedef struct plan
{
	int			nchunks;
	plan_chunk *chunks;			/* grouped by table, in table order */
	int			ntables;
	plan_table *tables;			/* parallel to catalog->tables */
} plan;

/*
 * Plans every table of cat.  conn is a source connection at the run's
 * snapshot (samples are read there).  Returns 0 or a negative errno.
 */
int			plan_build(PGconn *conn, const catalog *cat, const plan_options *opt,
					   plan **out, sl_err *err);

/*
 * Whether a table of nchunks chunks and bytes of the total to read is read
 * in one pass rather than by its chunks: it has 2 to PLAN_WHOLE_MAX_CHUNKS
 * chunks, and at most 1/jobs of the total, so that the tables still spread
 * the work over the jobs.  The bound on chunks is what a resumed clone may
 * copy again, or a verify read again by chunks when the table differs.
 */
bool		plan_reads_whole(int nchunks, int64_t bytes, int64_t total, int jobs);

/*
 * A copy of p in which each table t with whole[t] is one chunk, the whole
 * table: for reading a table split into ctid ranges on a cluster where the
 * same rows lie on other pages, or in one pass.  Chunks keep their order; a
 * table's chunks are still tables[t].first_chunk on.
 */
int			plan_whole_tables(const plan *p, const bool *whole, plan **out);

void		plan_destroy(plan *p);

const char *plan_method_name(plan_method method);

/* SQL builders, pure, exposed for tests. */

/*
 * Appends a key-range predicate: key >= lower AND key < upper, where lower
 * and upper are row literals as built by plan_key_literal (NULL: open end),
 * plus "col IS NOT NULL" for each nullable key column.
 */
void		plan_key_predicate(sbuf *out, const cat_key_column *keys, int nkeys,
							   const char *lower, const char *upper);

/* Appends the predicate of the rows where some key column is NULL. */
void		plan_null_predicate(sbuf *out, const cat_key_column *keys, int nkeys);

/*
 * Appends a literal for one key value: literals[i] is a quoted SQL string
 * literal of key column i's text; the result casts each to its type and, for
 * several columns, makes a row: ('1'::integer, 'a'::text).
 */
void		plan_key_literal(sbuf *out, const cat_key_column *keys, int nkeys,
							 const char *const *literals);

/* Appends a predicate for heap pages [first_page, end_page); -1: open end. */
void		plan_ctid_predicate(sbuf *out, int64_t first_page, int64_t end_page);

/* The source COPY of a chunk: COPY (SELECT ...) TO STDOUT (FORMAT ...). */
/* Names a chunk in messages: "chunk 3 of table public.t (id >= 10 AND id < 20)". */
void		plan_chunk_describe(const plan_chunk *chunk, const cat_table *table, char *out, size_t outlen);

void		plan_copy_out_sql(sbuf *out, const cat_table *table, const char *predicate, bool text);

/* The target COPY: COPY table (cols) FROM STDIN (FORMAT ...[, FREEZE]). */
void		plan_copy_in_sql(sbuf *out, const cat_table *table, bool text, bool freeze);

/* Appends "c1, c2, c3" (the copy columns). */
void		plan_column_list(sbuf *out, const cat_table *table);

#endif
