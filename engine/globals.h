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
#include "codec/json.h"
#include "codec/textrows.h"

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

/*
 * Connects to database dbname of the server conninfo names; dbname NULL:
 * the maintenance database, conninfo's own dbname or else postgres, through
 * which databases are listed and created.
 */
int			globals_connect(PGconn **conn, const char *conninfo, const char *dbname, sl_side side, sl_err *err);

/* conninfo naming its maintenance database, into *out (to be freed); 0 or a negative errno. */
int			globals_maintenance_info(const char *conninfo, char **out);

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

/* The source's roles, as the roles step takes them. */
typedef struct globals_role_set
{
	textrows roles;			/* name, the statements that make it (attributes, password, comment) */
	textrows members;		/* role, member, admin option (t or f), grantor or NULL */
	textrows settings;		/* role, one "name=value" of its setconfig */
	bool		passwords;		/* the hashes were readable (pg_authid) */
} globals_role_set;

int			globals_read_roles(PGconn *source, const globals_options *opt, globals_role_set *out, sl_err *err);
void		globals_role_set_fini(globals_role_set *s);

/* Whether a set read back from a dump has the shapes globals_read_roles gives. */
bool		globals_role_set_valid(const globals_role_set *s);

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

/* The second half of globals_copy_roles: set (read, or from a dump) onto target. */
int			globals_apply_roles(PGconn *target, const globals_role_set *set, globals_roles *out, sl_err *err);
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

/* A database's properties, as globals_create_database takes them from the source. */
#define GLOBALS_DB_PROPS_COLS 10
typedef struct globals_db_props
{
	textrows props;			/* one row: owner, encoding, collate, ctype, locale provider, locale,
								 * connection limit, template (t/f), comment, has an ACL (t/f) */
	textrows acl;			/* grantee or NULL (PUBLIC), privilege, grantable (t/f), in order */
	textrows settings;		/* role or NULL (the database's own), one "name=value" */
} globals_db_props;

int			globals_read_database(PGconn *source, const char *name, globals_db_props *out, sl_err *err);
void		globals_db_props_fini(globals_db_props *p);

/* Whether properties read back from a dump have the shapes globals_read_database gives. */
bool		globals_db_props_valid(const globals_db_props *p);

/* The second half of globals_create_database: db created on target with properties p. */
int			globals_apply_database(PGconn *target, const globals_database *db, const globals_db_props *p,
								   const globals_options *opt, sl_err *err);

/*
 * What differs between two clusters' globals (engine/globals_compare.c):
 * lines in PostgreSQL's message style, each naming the role, membership,
 * setting or database property.  Notes are what the target has of its own
 * (a role the source lacks), which a clone leaves and is no difference.
 */
typedef struct globals_diffs
{
	int			ndiffs;
	char	  **diffs;
	int			nnotes;
	char	  **notes;
	bool		passwords;		/* password hashes were compared (both sides read pg_authid) */
} globals_diffs;

/*
 * Adds to out what differs in the roles: attributes, connection limit,
 * VALID UNTIL, password hash (unless opt->no_role_passwords, or where a side
 * cannot read it), comment, memberships with their admin option, settings.
 */
int			globals_compare_roles(PGconn *source, PGconn *target, const globals_options *opt,
								  globals_diffs *out, sl_err *err);

/*
 * Adds to out what differs between database db->name on source and
 * db->target_name on target: owner, encoding, collation, ctype, locale,
 * connection limit, template flag, tablespace, comment, privileges,
 * settings and the settings of roles in it, less what opt leaves out
 * (no_owner, no_tablespaces, no_privileges).
 */
int			globals_compare_database(PGconn *source, PGconn *target, const globals_database *db,
									 const globals_options *opt, globals_diffs *out, sl_err *err);

void		globals_diffs_fini(globals_diffs *d);

#endif
