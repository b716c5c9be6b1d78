/*
 * check_int.h: what the files of the preflight share: check.c (the servers'
 * sessions, the checks of both sides and check_run's list), check_report.c
 * (the findings, the verdicts, the query helper every check uses),
 * check_source.c (the source's privileges, tables, extensions and roles),
 * check_target.c (the target's privileges, schemas and tables) and
 * check_local.c (the spill directory, pg_dump and pg_restore).  Each check
 * is a check_fn: it reads what it needs over the context's sessions and
 * adds its findings; a negative return is the check failing (c->err says
 * why), which check_run reports as a "check_failed" blocker.  Not for other
 * modules.
 */
#ifndef PGSLUICE_ENGINE_CHECK_INT_H
#define PGSLUICE_ENGINE_CHECK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "engine/catalog.h"
#include "engine/check.h"

#define PLURAL(n, one, many) ((n) == 1 ? (one) : (many))
#define SPILL_RATIO 3			/* zstd level 1 on COPY data: 3.02x on the benchmark (README.md) */
#define BOOTSTRAP_SUPERUSER_OID 10
#define NAME_BYTES 256			/* a role or database name, as the server prints it */

enum
{
	SET_MAX_CONNECTIONS,
	SET_SUPERUSER_RESERVED,
	SET_RESERVED,
	SET_MAX_LOCKS,
	SET_MAX_PREPARED,
	SET_OLD_SNAPSHOT,
	SET_STATEMENT_TIMEOUT,
	SET_LOCK_TIMEOUT,
	SET_IDLE_IN_TRANSACTION,
	SET_IDLE_SESSION,
	SET_READ_ONLY,
	NSETTINGS
};

typedef struct setting
{
	bool		present;		/* the server has it (some are newer or gone) */
	char		value[64];		/* reset_val */
	char		unit[16];
} setting;

/* One server, as the checks see it; all filled by connect_server. */
typedef struct server
{
	PGconn	   *conn;			/* NULL: not connected */
	sl_side		side;
	check_where where;
	const char *name;			/* "source" or "target" */
	int			major;
	char		version[64];	/* server_version, its first word */
	char		user[NAME_BYTES];
	char		database[NAME_BYTES];
	bool		superuser;
	bool		in_recovery;
	char		system_id[32];	/* "": the user may not read it */
	char		database_oid[16];
	check_slots slots;
	setting		settings[NSETTINGS];
} server;

/* A source schema that the schema step creates or fills. */
typedef struct source_schema
{
	char	   *name;			/* as is, not quoted */
	bool		has_relations;
} source_schema;

typedef struct check_ctx
{
	const check_options *opt;
	check_report *r;
	server		src;
	server		dst;
	catalog    *cat;			/* NULL: the source's catalog could not be read */
	int			nschemas;
	source_schema *schemas;		/* NULL when unknown */
	uint8_t    *dst_unreadable; /* per table: the target's user may not read or load it */
	bool		same_cluster;
	sl_err		err;			/* of the check running */
} check_ctx;

/* A growing list of names; out of memory marks it failed, and its owner reports that. */
typedef struct names
{
	int			n;
	int			alloc;
	char	  **items;
	bool		failed;
} names;

void		check_names_add(names *l, const char *name);

void		check_names_fini(names *l);

bool		check_names_has(const names *l, const char *name);

/* Appends a finding; name_objects: its message names the first objects. */
void		check_finding_add(check_report *r, check_severity severity, check_where where, const char *code,
							  const char *summary, const char *fix, char *const *objects, int nobjects, bool name_objects);

/* check_add with the objects of a name list (failed lists mark the report failed). */
void		check_add_named(check_report *r, check_severity severity, check_where where, const char *code,
							const char *summary, const char *fix, const names *l);

/* Runs sql on s; a failure fills c->err. */
int			check_query(check_ctx *c, server *s, const char *sql, PGresult **res);

int			check_out_of_memory(check_ctx *c);

/* --table: the schema step creates the chosen relations alone, in schemas that must exist. */
bool		check_by_table(const check_ctx *c);

/*
 * The source's schemas that the schema step creates (all but the system's
 * and extensions', or those the schema options choose), or with --table,
 * those of the chosen relations.
 */
int			check_read_source_schemas(check_ctx *c);

/* The source's user may read every table and sequence, through schemas it may use. */
int			check_source_privileges(check_ctx *c);

/* Data-only: triggers and foreign keys are off while loading only where the user may say so. */
int			check_replication_role(check_ctx *c);

/* Tables without a key, tables that move as text, unlogged tables, materialized views. */
int			check_tables(check_ctx *c);

int			check_large_objects(check_ctx *c);

/* Extensions installed on the source that the target cannot install. */
int			check_extensions(check_ctx *c);

/*
 * Schema mode: roles that own the source's objects or hold privileges on
 * them must exist on the target, or the schema step (pg_restore, one
 * transaction) fails at the first ALTER ... OWNER TO or GRANT.  The roles
 * are the source's, or with no source (restore) the dump's.
 */
int			check_roles(check_ctx *c);

/* A target before 14: the tables that move as text because of it alone. */
int			check_target_before_14(check_ctx *c);

/*
 * The target's user may record the run (CREATE SCHEMA IF NOT EXISTS wants
 * CREATE on the database even when the schema exists; then CREATE TABLE IF
 * NOT EXISTS in it), may create the schema step's objects in the schemas
 * that exist already (public, most often), or, in data-only mode, may load.
 */
int			check_target_privileges(check_ctx *c);

/*
 * What the target holds of the source's tables, as clone judges it: in
 * schema mode none of them may be there; in data-only mode all, with the
 * same columns, and empty.
 */
int			check_target_tables(check_ctx *c);

/* The tablespaces the source keeps relations in, on the target (or --no-tablespaces). */
int			check_tablespaces(check_ctx *c);

/* --spill DIR: its file system's free space against the source's data, compressed. */
int			check_spill(check_ctx *c);

/*
 * The slots and publications pgsluice runs left on the source; with
 * --follow, what logical replication needs of both servers and the tables.
 */
int			check_follow(check_ctx *c);

/* Schema mode: pg_dump and pg_restore of the newer server's major version, found as clone finds them. */
int			check_tools(check_ctx *c);

#endif
