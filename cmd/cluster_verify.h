/*
 * cluster_verify.h: verify --all-databases, every database of a cluster
 * and its globals, without writing to either side.
 *
 * The connection strings name servers, their dbname (default postgres) the
 * maintenance database.  The steps, in order:
 *   1. list the source's connectable databases but template0 and template1
 *      that the patterns choose (engine/globals.h), largest first;
 *   2. compare the roles: attributes, password hashes, comments,
 *      memberships, settings (engine/globals_compare.c);
 *   3. each database: missing on the target is a difference; else its
 *      properties are compared (owner, encoding, locale, connection limit,
 *      comment, privileges, settings), then its contents as "pgsluice
 *      verify" compares one database (engine/verify.h), with --jobs
 *      workers.  A database that fails is named, and the others go on.
 * The databases are verified one after the other: each verify already
 * keeps --jobs workers busy, and a small database costs one catalog read
 * per side.
 */
#ifndef PGSLUICE_CMD_CLUSTER_VERIFY_H
#define PGSLUICE_CMD_CLUSTER_VERIFY_H

#include <stdbool.h>

#include "base/err.h"
#include "cmd/cluster.h"
#include "engine/globals.h"
#include "engine/verify.h"

typedef struct cluster_verify_options
{
	verify_options verify;		/* each database's verify; its connections name the servers */
	globals_patterns patterns;	/* --database, --exclude-database, --database-map */
	globals_options globals;	/* what the copy left out on purpose, not compared */
	bool		no_roles;		/* leave the roles out */
} cluster_verify_options;

typedef struct cluster_verify_database
{
	char	   *name;			/* on the source */
	char	   *target_name;	/* on the target */
	cluster_db_status status;	/* DONE: compared (identical or not) */
	sl_err		err;			/* why it failed */
	bool		missing;		/* not on the target */
	int			property_diffs; /* of its properties, among the report's globals */
	verify_report *report;		/* its contents; NULL: missing, or failed before */
	double		seconds;
} cluster_verify_database;

typedef struct cluster_verify_report
{
	int			ndatabases;
	cluster_verify_database *databases; /* largest first */
	bool		roles_compared;
	int			role_diffs;		/* the first of globals.diffs */
	globals_diffs globals;		/* roles, then each database's properties */
	int			failed;			/* databases that could not be verified */
	int			different;		/* databases that differ */
	double		seconds;
} cluster_verify_report;

/*
 * Runs the verification.  Returns 0 when it ran to the end (some databases
 * may have failed: report->failed) or a negative errno when it could not
 * start or was interrupted.  *report_out, NULL when it could not start, is
 * freed with cluster_verify_report_destroy.
 */
int			cluster_verify_run(const cluster_verify_options *opt, cluster_verify_report **report_out, sl_err *err);

/* Whether everything compared was identical (failed databases aside). */
bool		cluster_verify_identical(const cluster_verify_report *report);

/* Whether database db differs: missing, other properties, or other contents. */
bool		cluster_verify_database_different(const cluster_verify_database *db);

void		cluster_verify_report_destroy(cluster_verify_report *report);

#endif
