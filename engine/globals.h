/*
 * globals.h: what a cluster holds beside its databases' contents: the
 * databases themselves, with their properties, and the roles.
 *
 * As pg_dumpall and pg_dump --create carry them: a role's attributes,
 * connection limit, VALID UNTIL, password hash, comment, memberships (with
 * the admin option) and settings, per role and per role in a database; a
 * database's owner, encoding, locale, connection limit, template flag,
 * comment, ACL and settings.  Statements are built from what the source's
 * catalog says, with every name and text quoted (by the source's format()
 * for the roles' statements, by libpq for the rest), never spliced raw.
 *
 * A role the target has already is left as it is: neither its attributes,
 * nor its password, nor its settings are touched, and memberships between
 * two roles that were both there are not granted.
 */
#ifndef PGSLUICE_ENGINE_GLOBALS_H
#define PGSLUICE_ENGINE_GLOBALS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef struct globals_options
{
	bool		no_owner;		/* new databases are owned by the target's connecting role */
	bool		no_privileges;	/* no database ACLs */
	bool		no_role_passwords;	/* roles are created without their password hashes */
	bool		no_tablespaces; /* databases go to the target's default tablespace */
} globals_options;

typedef struct globals_database
{
	char	   *name;			/* on the source */
	char	   *target_name;	/* on the target (--database-map) */
	char	   *tablespace;		/* NULL: pg_default */
	int64_t		bytes;			/* pg_database_size */
} globals_database;

/* A list of database names given as patterns (pg_dumpall's rules). */
typedef struct globals_patterns
{
	int			ninclude;
	char	  **include;		/* --database; none: every database */
	int			nexclude;
	char	  **exclude;		/* --exclude-database */
	int			nmap;
	char	  **map;			/* --database-map OLD=NEW */
} globals_patterns;

/*
 * The connectable databases of the source but template0 and template1 that
 * the patterns choose, largest first, with their target names.  A pattern
 * that is malformed, an --database pattern that matches nothing, or a map
 * of a database that is not chosen or to a name used twice is an error
 * (SIDE_USAGE).  Free with globals_databases_free.
 */
int			globals_list_databases(PGconn *source, const globals_patterns *patterns,
								   globals_database **out, int *count, sl_err *err);
void		globals_databases_free(globals_database *dbs, int count);

/* What the roles step did: the names it created and those it found there. */
typedef struct globals_roles
{
	int			ncreated;
	char	  **created;
	int			nexisting;
	char	  **existing;
	int			nmemberships;	/* granted */
	bool		passwords;		/* the source's hashes were readable (pg_authid) */
} globals_roles;

/*
 * Creates on target, in one transaction, every role of the source (but the
 * pg_ ones) that the target lacks, then the memberships that involve a role
 * it created, then those roles' settings (not those IN DATABASE: see
 * globals_copy_database).  target_major decides how memberships are
 * granted.
 */
int			globals_copy_roles(PGconn *source, PGconn *target, const globals_options *opt,
							   globals_roles *out, sl_err *err);
void		globals_roles_fini(globals_roles *r);

/*
 * Whether db->target_name exists on target: 1, 0, or a negative errno.
 */
int			globals_database_exists(PGconn *target, const char *name, sl_err *err);

/*
 * Creates db on target (from template0) with the source's owner, encoding,
 * locale, connection limit, template flag and tablespace, then its comment,
 * ACL, settings and the settings of roles in it.  The caller knows it is
 * not there.
 */
int			globals_create_database(PGconn *source, PGconn *target, const globals_database *db,
									const globals_options *opt, sl_err *err);

#endif
