/*
 * verify.h: proving that two databases hold the same rows, without writing.
 *
 * Before any data is read, the catalogs of both sides are compared: a table
 * on one side only, columns that differ in name or type, a table keyed on
 * one side only, a sequence missing or at another value.  Then every table
 * present on both sides with the same columns is read chunk by chunk on both
 * sides at once, with the same plan (the source's key ranges; a keyless
 * table is one chunk, since its physical order differs between clusters),
 * as COPY ... TO STDOUT (FORMAT binary, or text where either side needs
 * it), each stream hashed into the order-independent digest the clone uses.
 * A keyed table of at most PLAN_WHOLE_MAX_CHUNKS chunks and 1/jobs of the
 * bytes (plan_reads_whole) is read whole instead, one sequential scan per
 * side, which costs the servers less per row than key ranges; only if it
 * differs are its chunks read, and the report shows them in its place.
 * Not with a sample (a share of the chunks), nor after a clone (each
 * chunk's target digest goes on record beside its source digest).  A chunk
 * whose digests differ is drilled into (engine/drill.h) until its
 * differing rows are named, up to max_diffs rows in all; once that many are
 * named no more chunks start.
 *
 * After a consistent clone the source's digests are on record: given the
 * clone's catalog, plan and digests, only the target is read (a table the
 * clone split by ctid is read whole), and the source only to drill down,
 * at the clone's snapshot, which the clone holds until the pass ends.
 *
 * A repair (verify_options.repair) drills into every differing chunk with
 * the rows' tuples, once the pass is over repairs them one chunk after the
 * other (engine/repair.h), the rows from the source at its snapshot, sets
 * the sequences that differ, then checks the repaired chunks again on both
 * sides, the target at a new snapshot: the report is that check's.  A chunk
 * with more differing rows than max_diffs leaves to name (or than
 * repair_chunk_limit of its rows) is re-copied whole, if it has a key or
 * repair_whole_tables allows.  A table missing on one side, or with other
 * columns, is not repaired; nor is a target that a subscription writes to.
 *
 * Both sides are read in read-only REPEATABLE READ transactions at one
 * snapshot per side: exported by a holder connection, or, for the source,
 * one the caller names (--snapshot, exported by another session).
 */
#ifndef PGSLUICE_ENGINE_VERIFY_H
#define PGSLUICE_ENGINE_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/digest.h"
#include "engine/catalog.h"
#include "engine/drill.h"
#include "base/err.h"
#include "engine/plan.h"
#include "engine/reader.h"
#include "engine/repair.h"
#include "io/loop.h"
#include "engine/options.h"

typedef struct verify_options
{
	common_options common;		/* the options the commands share (engine/options.h) */
	const char *snapshot;		/* source snapshot to read at; NULL: export one */
	double		sample;			/* share of chunks checked, (0, 1]; 1: all */
	bool		counts;			/* compare row counts only */
	uint64_t	max_diffs;		/* differing rows to name (to repair one by one, with a repair);
								 * 0: none, no drill-down */
	/* a repair (engine/repair.h): of the chunks that differ, once all are checked */
	bool		repair;			/* make the target like the source, then check again */
	const char *repair_sql;		/* write the statements to this file instead; changes nothing */
	double		repair_chunk_limit; /* share of a chunk's rows past which it is re-copied whole;
									 * 0: half */
	bool		repair_whole_tables;	/* a table without a key may be re-copied whole */
	/* after a clone (all NULL otherwise), borrowed */
	const catalog *clone_catalog;	/* the clone's source catalog */
	const plan *clone_plan;		/* its plan over clone_catalog */
	const chunk_digest *clone_digests;	/* per clone_plan chunk, its source digest */
} verify_options;

typedef enum verify_status
{
	VERIFY_PENDING = 0,
	VERIFY_EQUAL,
	VERIFY_DIFFERENT,
	VERIFY_SKIPPED,				/* not in the sample, or its table is not comparable */
	VERIFY_FAILED
} verify_status;

typedef struct verify_chunk
{
	verify_status status;
	chunk_digest source;		/* rows and digest (digest left empty with --counts) */
	chunk_digest target;
	uint64_t	bytes;			/* both sides */
	double		seconds;
	drill_result drill;			/* the rows that differ, for a different chunk */
	repair_result repair;		/* what a repair did of it; then drill is what the check after
								 * found */
} verify_chunk;

typedef struct verify_table
{
	const cat_table *target;	/* the target's table of that name, or NULL */
	bool		comparable;		/* present on both sides with the same copy columns */
	copy_reader_columns source_columns;
	copy_reader_columns target_columns; /* target's shapes, in the source's column order */
	const ctype **target_shapes;	/* owned */
	uint64_t	rows_source;
	uint64_t	rows_target;
	int			chunks_checked;
	int			chunks_different;
} verify_table;

typedef struct verify_report
{
	const catalog *source_cat;	/* owned_cat, or the clone's */
	catalog    *target_cat;
	const plan *plan;			/* the chunks checked, over source_cat; owned */
	catalog    *owned_cat;
	plan	   *owned_plan;
	verify_chunk *chunks;		/* parallel to plan->chunks */
	verify_table *tables;		/* parallel to source_cat->tables */
	int			nproblems;		/* differences found in the catalogs */
	char	  **problems;
	int			catalog_problems;	/* problems before this one are the tables', the rest the
									 * sequences' */
	int			tables_compared;
	int			chunks_checked;
	int			chunks_different;
	int			chunks_not_checked;	/* left when max_diffs rows were named */
	uint64_t	rows_source;
	uint64_t	rows_target;
	uint64_t	rows_different; /* named by the drill-downs */
	bool		diffs_truncated;	/* more rows differ than were named */
	bool		target_only;	/* the source digests came from the clone */
	uint64_t	bytes;			/* read, both sides; a table read whole and then by
								 * its chunks counts twice */
	double		seconds;
	char		io_backend[16];
	/* a repair's; the findings above are then those of the check after it */
	bool		repaired;		/* a repair ran (or wrote its statements) */
	const char *repair_sql;		/* the file it wrote them to, borrowed; NULL: it ran */
	int			chunks_repaired;	/* row by row */
	int			chunks_recopied;
	int			chunks_left;	/* not repaired: repair.why says why */
	int			chunks_repair_failed;	/* rolled back */
	uint64_t	rows_deleted;
	uint64_t	rows_inserted;
	uint64_t	bytes_written;	/* of COPY data */
	int			sequences_set;
	double		seconds_repair;
	double		seconds_recheck;
} verify_report;

/*
 * Runs a verification.  Returns 0 when it ran to the end (then
 * verify_identical says the verdict) or a negative errno; *report, when
 * report is not NULL, receives what was found either way.
 */
int			verify_run(const verify_options *opt, verify_report **report, sl_err *err);

bool		verify_identical(const verify_report *report);

void		verify_report_destroy(verify_report *report);

const char *verify_status_name(verify_status status);

#endif
