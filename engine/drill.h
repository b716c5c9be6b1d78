/*
 * drill.h: naming the rows behind a chunk whose digests differ.
 *
 * A chunk's digest says that its rows differ, not which.  The drill-down
 * reads the chunk again on both sides, as COPY text (the sessions of both
 * sides print values alike: engine/conn.c sets the date, interval, float
 * and bytea output), and splits it into up to 2^18 buckets by a hash of
 * each row's key (of the whole row for a table without a usable key, or a
 * row whose key holds a NULL), each bucket with its own order-independent
 * digest of the rows in it.  Only the buckets whose digests differ hold
 * differing rows, a few dozen rows each; a further pass per side fetches
 * the rows of those buckets, as many at a time as DRILL_BATCH_BYTES
 * allows, and matches them:
 *   - rows present alike on both sides cancel out, duplicates counted;
 *   - of what remains, a source row and a target row with the same key are
 *     one changed row, reported with the columns that differ;
 *   - the other source rows are missing on the target, the other target
 *     rows extra on it; rows matched by content carry their multiplicity.
 * Key values are only tested for equality (of their text), never ordered.
 *
 * No row is read whole when a value in it is long: a value of a column of
 * variable length outside the key whose text passes DRILL_LONG_BYTES is
 * read as its length and md5, which the servers compute, so that memory
 * stays bounded by DRILL_BATCH_BYTES whatever the values.  Where two long
 * values differ is then asked of the servers, by the md5 of each
 * DRILL_BLOCK_BYTES block of their text, and the first differing block of
 * both sides read: the report names the byte, with a window around it.
 *
 * For a repair (engine/repair.h), each row is also read with its place:
 * the ctid and xmin of the tuple it is on each side ("ctid:xmin").  Every reported row then
 * carries the source tuples to copy and the target tuples to delete that
 * make the sides alike, as many of each as the row's count.
 *
 * Thread safety: a drill-down runs on the caller's thread over the caller's
 * two connections, which it leaves idle on success.
 */
#ifndef PGSLUICE_ENGINE_DRILL_H
#define PGSLUICE_ENGINE_DRILL_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "base/err.h"

#define DRILL_BATCH_BYTES (64u << 20)	/* row text held per side and pass */
#define DRILL_MAX_BUCKETS (1u << 18)
#define DRILL_SHOW_BYTES 64				/* of a value, in a report */
#define DRILL_LONG_BYTES 8192			/* a longer value (its text) is compared by its md5 */
#define DRILL_BLOCK_BYTES (1u << 20)	/* where long values differ: md5s of blocks this long */

typedef enum drill_kind
{
	DRILL_MISSING = 0,			/* on the source only */
	DRILL_EXTRA,				/* on the target only */
	DRILL_CHANGED,				/* same key, other values */
	DRILL_UNEXPLAINED			/* the digests differ, the rows' text does not */
} drill_kind;

typedef struct drill_diff
{
	drill_kind	kind;
	uint64_t	count;			/* rows with this content (duplicates), else 1 */
	char	   *key;			/* "(id)=(42)"; NULL for rows matched by content */
	char	   *detail;			/* the row, or for a changed row what changed */
	/* with positions: "ctid:xmin" of the tuples, space-separated; NULL: none */
	char	   *copy;			/* source tuples to copy (missing, changed) */
	char	   *remove;			/* target tuples to delete (extra, changed) */
} drill_diff;

typedef struct drill_result
{
	int			ndiffs;
	drill_diff *diffs;			/* owned; sorted by kind, then key and detail */
	uint64_t	rows;			/* differing rows named, duplicates counted */
	bool		truncated;		/* more differ than the limit allowed to name */
	int			passes;			/* reads of the chunk, per side */
} drill_result;

/*
 * Drills into one chunk of table t (predicate: the chunk's WHERE clause, or
 * NULL for the whole table).  source and target are connections in the
 * transactions the chunk's digests were read in.  expected_rows (the larger
 * side's count) sizes the buckets; limit caps the rows named; positions
 * asks for each row's tuples, for a repair.  Returns 0 or a negative errno
 * (err says why); out is filled either way and freed with drill_result_fini.
 */
int			drill_chunk(PGconn *source, PGconn *target, const cat_table *t, const char *predicate,
						uint64_t expected_rows, uint64_t limit, bool positions, const atomic_int *stop,
						const char *what, drill_result *out, sl_err *err);

void		drill_result_fini(drill_result *res);

const char *drill_kind_name(drill_kind kind);

/*
 * The matching step alone, pure, for tests: lines[s] holds nlines[s] rows
 * of side s (0 source, 1 target) as COPY text without the newline, with
 * positions each ending in its tuple's ctid and xmin fields.
 */
int			drill_match_lines(const cat_table *t, const char *const *lines[2], const int nlines[2],
							  uint64_t limit, bool positions, drill_result *out);

#endif
