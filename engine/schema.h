/*
 * schema.h: the schema before and after the data, through pg_dump and
 * pg_restore.
 *
 * The source's schema is dumped once, at the run's snapshot, in custom
 * format; its pre-data section (types, tables, sequences, functions) is
 * restored in one transaction before the data, and its post-data section
 * (indexes, constraints, triggers, policies, materialized view refreshes)
 * after it with --jobs parallel sessions.  The tools are those of the newer
 * of the two servers' major versions, so that the dump can read the source
 * and the target can read the dump.
 *
 * Child processes get the connection string without its password on their
 * command line (which anyone can read with ps) and the password in their
 * environment.  Their stderr goes to a file; on failure the error quotes
 * its first error line.
 */
#ifndef PGSLUICE_ENGINE_SCHEMA_H
#define PGSLUICE_ENGINE_SCHEMA_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "base/err.h"

typedef struct schema_tools
{
	char		pg_dump[PATH_MAX];
	char		pg_restore[PATH_MAX];
	int			major;			/* their major version */
} schema_tools;

/*
 * Finds pg_dump and pg_restore of at least major version need_major: in
 * bindir when given, else PostgreSQL's Debian layout, pg_config --bindir and
 * PATH.  Returns 0 or -ENOENT with err saying what to install.
 */
int			schema_find_tools(const char *bindir, int need_major, schema_tools *tools, sl_err *err);

typedef struct schema_options
{
	bool		no_owner;		/* pg_restore --no-owner */
	bool		no_privileges;	/* pg_restore --no-privileges */
	const atomic_int *stop;		/* checked while a child runs; kills it */
	const char *workdir;		/* where the dump and the logs go */
	bool		clean;			/* pg_restore --clean --if-exists: redo a section cut short */
	const char *application_name;	/* the children's sessions', NULL: one of the process's */
	bool		no_tablespaces; /* pg_restore --no-tablespaces */
} schema_options;

/*
 * pg_dump --schema-only of the source, at snapshot (NULL: none), into file;
 * choose: nchoose options that choose what it dumps (filter_selection's).
 */
int			schema_dump(const schema_tools *tools, const schema_options *opt, const char *conninfo,
						const char *snapshot, int nchoose, char *const *choose, const char *file,
						sl_err *err);

/*
 * pg_restore of one section ("pre-data" or "post-data") of file into the
 * target: pre-data in a single transaction, post-data with jobs sessions.
 */
int			schema_restore(const schema_tools *tools, const schema_options *opt, const char *conninfo,
						   const char *file, const char *section, int jobs, sl_err *err);

/*
 * A private work directory for the schema dump and the programs' logs,
 * in $TMPDIR (else /tmp); out receives its path.  Removed with its files
 * by schema_workdir_remove (a no-op for "").
 */
int			schema_workdir_create(char *out, size_t outlen, sl_err *err);
void		schema_workdir_remove(const char *dir);

/*
 * A process killed in a schema step leaves the sessions of its pg_restore
 * running on the target until their statement ends (an index build
 * commits, then the session finds its client gone).  Before the step is
 * redone they are ended, found by the application name the run gave them.
 */
int			schema_end_sessions(PGconn *target, const char *application_name, sl_err *err);

/*
 * Refreshes the n materialized views names[] (quoted) on target.  One may
 * read another, so those that fail for want of a populated one are tried
 * again in the next round, until a round makes no progress.
 */
int			schema_refresh_matviews(PGconn *target, int n, char *const *names, sl_err *err);

#endif
