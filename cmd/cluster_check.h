/*
 * cluster_check.h: check --all-databases, the preflight of a cluster clone.
 *
 * The connection strings name servers, their dbname (default postgres) the
 * maintenance database.  The findings, in one report:
 *   - the databases the patterns choose, with their target names;
 *   - the roles step: the source's roles the target lacks, whether the
 *     target's user may create them, whether the source's password hashes
 *     can be read;
 *   - each chosen database checked as "pgsluice check" checks one
 *     (engine/check.h), against its target database or, where the run
 *     would create it, against the target's maintenance database with the
 *     checks of the target's tables and privileges made for a new one.
 * A finding that every database gives alike (a server's setting, a
 * missing tool) is shown once, for the run; the others name their
 * database.
 */
#ifndef PGSLUICE_CMD_CLUSTER_CHECK_H
#define PGSLUICE_CMD_CLUSTER_CHECK_H

#include <stdbool.h>

#include "base/err.h"
#include "engine/check.h"
#include "engine/globals.h"

typedef struct cluster_check_options
{
	check_options check;		/* each database's; its connections name the servers */
	globals_patterns patterns;	/* --database, --exclude-database, --database-map */
	bool		no_roles;		/* the run leaves the roles out */
	bool		no_role_passwords;
} cluster_check_options;

/*
 * Runs every check.  *out gets the report whatever happens (NULL only when
 * it could not be allocated); returns 0, or a negative errno when the check
 * itself could not go on (out of memory).
 */
int			cluster_check_run(const cluster_check_options *opt, check_report **out, sl_err *err);

#endif
