/*
 * lobj.h: large objects, copied as data.
 *
 * The catalog (engine/catalog.h) lists a database's large objects as one
 * more table, pg_catalog.pg_largeobject_metadata, whose rows are (oid,
 * contents) and whose key is the OID: the planner splits them into OID
 * ranges of about --chunk-size of contents, and each range is read with
 * one COPY of (oid, lo_get(oid)), hashed, recorded, written to chunk files
 * and verified as a table's rows are.
 *
 * Their metadata (the OID itself, the owner, the ACL and the comment) is
 * schema, which pg_dump --schema-only leaves out: lobj_metadata_read turns
 * the source's into statements, which the clone runs on the target after
 * the pre-data, and a dump keeps in a file of its own for the restore.
 *
 * On the target a range is loaded in the chunk's transaction: COPY into a
 * temporary table (never WAL-logged, emptied at commit), then each large
 * object is created if it is missing, emptied and written from it.  So a
 * chunk's large objects and its "done" record still commit together, and a
 * chunk that fails leaves them as they were.
 *
 * XXX: lo_get returns a bytea, so a large object over 1 GB fails the chunk
 * with the server's error; such objects need lo_export and lo_import.
 */
#ifndef PGSLUICE_ENGINE_LOBJ_H
#define PGSLUICE_ENGINE_LOBJ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/sbuf.h"

#define LOBJ_TABLE "pg_catalog.pg_largeobject_metadata"	/* the table's name in the catalog */
#define LOBJ_LOAD_TABLE "pg_temp.pgsluice_large_objects"	/* where the target's COPY goes */
#define LOBJ_METADATA_FILE "large-objects.sql"	/* a dump's metadata */

/* The source's COPY of the large objects where predicate (NULL: all). */
void		lobj_copy_out_sql(sbuf *out, const char *predicate, bool text);

/* The target's COPY into the load table. */
void		lobj_copy_in_sql(sbuf *out, bool text);

/* Before the COPY, in the chunk's transaction: the load table, created once per session. */
int			lobj_load_begin(PGconn *target, sl_err *err);

/*
 * After the COPY, in the same transaction: creates each large object of the
 * load table that the target lacks (owned by the session's role), empties
 * it and writes its contents.
 */
int			lobj_load_finish(PGconn *target, sl_err *err);

typedef struct lobj_metadata_options
{
	bool		no_owner;		/* keep the target's connecting role as owner */
	bool		no_privileges;	/* leave the ACLs out */
} lobj_metadata_options;

/* The statements of one object come in parts, so that a restore may leave some out. */
typedef enum lobj_part
{
	LOBJ_PART_CREATE = 0,		/* lo_create, where the object is missing */
	LOBJ_PART_OWNER,			/* ALTER LARGE OBJECT ... OWNER TO */
	LOBJ_PART_ACL,				/* REVOKE ALL, then the source's grants in their order */
	LOBJ_PART_COMMENT,			/* COMMENT ON LARGE OBJECT */
	LOBJ_NPARTS
} lobj_part;

/*
 * Reads the metadata of every large object of source (at its snapshot, or
 * in a transaction of its own when it has none) and makes it on target, in
 * one target transaction (target must be idle), a few hundred objects per
 * statement batch.  Running it twice is harmless: lo_create only where an
 * object is missing, and the ACL is set whole.  So the target's ACLs read
 * as the source's, grants in the same order.  Names and texts are quoted by
 * the server (format's %I and %L).  *count: the objects.
 */
int			lobj_metadata_copy(PGconn *source, PGconn *target, const lobj_metadata_options *opt,
							   long long *count, sl_err *err);

/* The same metadata, whole, into a new file at path (mode 0600, synced, renamed into place). */
int			lobj_metadata_dump(PGconn *source, const char *path, long long *count, sl_err *err);

/*
 * Makes what a file of lobj_metadata_dump holds on target, as
 * lobj_metadata_copy does.  A missing file is no large objects.
 */
int			lobj_metadata_replay(PGconn *target, const char *path, const lobj_metadata_options *opt,
								 long long *count, sl_err *err);

/*
 * Parses a file's header line ("lo 12 40 0 33\n": the lengths of an
 * object's parts, each at most 64 MB) into len.  0 or -EPROTO.  Exposed for
 * the fuzz target.
 */
int			lobj_metadata_parse_header(const char *line, size_t *len);

#endif
