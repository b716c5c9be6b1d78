/*
 * repair.h: making a differing chunk of the target like the source's.
 *
 * A chunk is repaired in one target transaction, with the rows its
 * drill-down named (engine/drill.h, read with their tuples):
 *   - the target tuples of its extra and changed rows are deleted, each by
 *     its ctid and xmin, so that a tuple changed since the verify read it is
 *     never deleted: then fewer rows are deleted than named, and the chunk
 *     is rolled back as failed;
 *   - the source tuples of its missing and changed rows are copied in by
 *     ctid, at the verify's snapshot (a source session in it), as COPY does
 *     in a clone: in binary where the table moves in binary, read from the
 *     source's socket where the rows lie (engine/reader.h) and sent on in
 *     pieces, so that a long value is never held whole.
 * A changed row is replaced (deleted and inserted), not updated: COPY moves
 * the whole row as the clone does, whatever its types, a long value
 * streamed rather than spelled as a literal, and PostgreSQL writes a whole
 * new row version for an UPDATE too.  A chunk with too many differing rows
 * to name is re-copied whole instead: its rows deleted (its key range), and
 * its rows copied.
 *
 * The target session sets session_replication_role = replica where its
 * role may, as the clone's --data-only does, so that neither triggers nor
 * foreign keys fire (a delete would cascade); where it may not, a table
 * with triggers (foreign keys are triggers) is left as it is, with the
 * reason.
 *
 * With an SQL file instead of a target session, the same statements are
 * written, in order, one transaction per chunk, the rows as COPY text
 * in the session settings every pgsluice session has (engine/conn.h),
 * which the file sets first; nothing is changed.
 *
 * Thread safety: one repair session belongs to one thread.
 */
#ifndef PGSLUICE_ENGINE_REPAIR_H
#define PGSLUICE_ENGINE_REPAIR_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "engine/catalog.h"
#include "engine/drill.h"
#include "engine/reader.h"
#include "io/pipe.h"

#define REPAIR_BATCH_TUPLES 10000	/* tuples per DELETE and per COPY of the source */

typedef enum repair_state
{
	REPAIR_NONE = 0,			/* nothing was done */
	REPAIR_ROWS,				/* its rows were replaced, one by one */
	REPAIR_RECOPIED,			/* its rows were deleted and copied whole */
	REPAIR_LEFT,				/* not repaired: why says why */
	REPAIR_FAILED				/* its transaction failed and was rolled back: why */
} repair_state;

typedef struct repair_result
{
	repair_state state;
	uint64_t	deleted;		/* target rows deleted */
	uint64_t	inserted;		/* source rows copied in */
	uint64_t	bytes;			/* of COPY data written */
	double		seconds;
	char	   *why;			/* REPAIR_LEFT, REPAIR_FAILED */
	drill_result found;			/* the rows repaired: the chunk's drill-down, moved here */
} repair_result;

typedef struct repair_session
{
	PGconn	   *source;			/* borrowed: at the verify's snapshot */
	PGconn	   *target;			/* owned: the write session; NULL with sql */
	FILE	   *sql;			/* the statements go here instead; borrowed */
	bool		replica;		/* session_replication_role = replica is set */
	uint8_t    *read_buf;		/* READER_BUF_BYTES: the source's rows, read where they lie */
	io_pipe		pipe;			/* from the source's COPY to the target's, or the file */
	bool		piped;			/* pipe is set up */
} repair_session;

/*
 * Opens the write session on target (conninfo; encoding the client
 * encoding), or, with sql, writes the file's header: the settings it
 * replays in.  source is the session the rows are copied from.
 */
int			repair_open(repair_session *rs, PGconn *source, const char *target, const char *encoding,
						FILE *sql, sl_err *err);

void		repair_close(repair_session *rs);

/*
 * Repairs one chunk of table t (predicate: its WHERE clause, or NULL for the
 * whole table), whose rows res->found names; target_oid is the table's on
 * the target; columns: the source's columns as the verify reads them (in
 * binary or as text).  With recopy, the chunk is deleted and copied whole.  Fills res; returns 0 when the chunk was
 * repaired, left or rolled back (res->state says which), or a negative
 * errno when a session broke (err says why).
 */
int			repair_chunk(repair_session *rs, const cat_table *t, uint32_t target_oid, const char *predicate,
						 const copy_reader_columns *columns, bool recopy, const char *what, repair_result *res,
						 sl_err *err);

/* Sets n sequences of the target to the source's values (or writes the statement). */
int			repair_sequences(repair_session *rs, int n, char *const *names, const cat_sequence_value *values,
							 sl_err *err);

void		repair_result_fini(repair_result *res);

const char *repair_state_name(repair_state state);

#endif
