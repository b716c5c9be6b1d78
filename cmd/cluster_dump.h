/*
 * cluster_dump.h: dump --all-databases, a cluster into a directory, and
 * restore --all-databases, such a directory into a cluster.
 *
 * A cluster dump directory (mode 0700, files 0600) holds:
 *   cluster.json   written last, atomically: the roles as the roles step
 *                  takes them (attributes and password hashes, memberships,
 *                  settings), and per database its name, its directory,
 *                  its properties (owner, encoding, locale, connection
 *                  limit, template flag, comment, ACL, settings, those of
 *                  roles in it), its figures and whether its dump is done
 *   db-NNNN/       one database's dump (cmd/dump.h), largest first
 * A database whose dump fails is recorded as failed, with the error, and
 * the others go on.
 *
 * The restore reads cluster.json, then, before it writes anything,
 * refuses a database that exists on the target and holds tables of its
 * dump (unless resumed); then the roles the target lacks, then each
 * database: created from template0 with its properties where it is
 * missing, then restored as "pgsluice restore" restores one, its run
 * recorded in its own state schema.  One database failing does not stop
 * the others.  Resumed, a database whose target holds an unfinished run
 * goes on with it, one that holds the dump's tables without one was done.
 */
#ifndef PGSLUICE_CMD_CLUSTER_DUMP_H
#define PGSLUICE_CMD_CLUSTER_DUMP_H

#include <stdbool.h>

#include "base/err.h"
#include "cmd/cluster.h"
#include "cmd/dump.h"
#include "cmd/restore.h"
#include "engine/globals.h"

#define CLUSTER_MANIFEST "cluster.json"

typedef struct cluster_dump_options
{
	dump_options dump;			/* each database's; its source names the server, its dir the cluster's */
	globals_patterns patterns;	/* --database, --exclude-database */
	globals_options globals;	/* --no-role-passwords */
	bool		no_roles;
} cluster_dump_options;

typedef struct cluster_restore_options
{
	restore_options restore;	/* each database's; its target names the server, its dir the cluster's */
	globals_patterns patterns;	/* --database-map */
	globals_options globals;	/* --no-owner, --no-privileges, --no-tablespaces */
	bool		no_roles;
	bool		resume;			/* go on with the databases that are not done */
} cluster_restore_options;

/*
 * Both return 0 when every database is done, 0 with report->failed > 0
 * when some failed, or a negative errno when the run could not start or
 * was interrupted.  *report_out (NULL when it could not start) is freed
 * with cluster_report_destroy.
 */
int			cluster_dump_run(const cluster_dump_options *opt, cluster_report **report_out, sl_err *err);
int			cluster_restore_run(const cluster_restore_options *opt, cluster_report **report_out, sl_err *err);

/* Whether dir holds a cluster dump (its cluster.json). */
bool		cluster_dump_is_cluster(const char *dir);

#endif
