/*
 * check.h: the preflight of a clone, "pgsluice check".
 *
 * Reads both servers and the local machine, never writing to either server
 * (its sessions are read-only), and says what would stop a clone or put its
 * data at risk, and what to do about it: one finding per subject, each with
 * a severity, the side it is about, a stable code, what was found, the fix,
 * and the names of the objects it is about.  A server that cannot be reached
 * is a finding too; the checks that need it are left out.
 */
#ifndef PGSLUICE_ENGINE_CHECK_H
#define PGSLUICE_ENGINE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/err.h"
#include "engine/filter.h"
#include "engine/options.h"

typedef enum check_severity
{
	CHECK_OK = 0,				/* checked, and fine */
	CHECK_NOTE,					/* how the run treats something; nothing to do */
	CHECK_WARNING,				/* the run goes on, but something is lost or at risk */
	CHECK_BLOCKER				/* the run would fail: fix it first */
} check_severity;

#define CHECK_SEVERITIES 4
#define CHECK_MAX_NAMED 10		/* objects a finding's message names; the rest are counted */

typedef enum check_where
{
	CHECK_SOURCE = 0,
	CHECK_TARGET,
	CHECK_BOTH,
	CHECK_LOCAL					/* this machine: the spill directory, pg_dump */
} check_where;

typedef struct check_finding
{
	check_severity severity;
	check_where where;
	const char *code;			/* stable identifier, e.g. "extension_missing"; static */
	char	   *message;		/* what was found, one line, with the first objects named */
	char	   *fix;			/* what to do; NULL when nothing */
	int			nobjects;
	char	  **objects;		/* every object it is about: tables, schemas, roles... */
	char	   *database;		/* check --all-databases: the database it is about; NULL: the run */
} check_finding;

typedef struct check_report
{
	int			nfindings;
	int			alloc;
	check_finding *findings;	/* in the order found */
	bool		failed;			/* an addition ran out of memory: findings are missing */
	bool		bad_usage;		/* the options chose nothing: a --table that matches no table... */
} check_report;

/* A role the source's objects need on the target: as their owner, a grantee, or in a policy. */
typedef struct check_role
{
	char	   *name;
	bool		owns;
	bool		granted;
	bool		in_policies;	/* needed even without owners and privileges, unless both are off */
} check_role;

typedef struct check_options
{
	common_options common;		/* the options the commands share (engine/options.h) */
	bool		data_only;
	const char *spill_dir;		/* NULL: no --spill */
	const char *state_schema;	/* where the run would be recorded */
	bool		truncate;		/* with data_only: tables that hold rows are emptied first */
	bool		recorded;		/* a resumed run: its record, and maybe its tables, are there */
	bool		loads_only;		/* a worker joining a run: it loads the run's tables, creates nothing */
	bool		follow;			/* clone --follow: what logical replication needs */
	int			held_source;	/* sessions the run already has open on the source, and on the */
	int			held_target;	/* target: among those it needs, not others' (check_before_run) */
	const check_role *roles;	/* with no source (restore): the roles the dump's objects need */
	int			nroles;
	/* in a cluster run (--all-databases) */
	const char *new_database;	/* the run creates this target database from template0; the
								 * target is the server's maintenance database meanwhile */
	bool		roles_first;	/* the run creates the source's roles on the target first */
} check_options;

/*
 * Runs every check.  *out gets the report whatever happens (NULL only when
 * it could not be allocated); a server that is unreachable, or a check that
 * a server refuses, is a finding, not an error.  Returns 0, or a negative
 * errno when the check itself could not go on (out of memory).
 */
int			check_run(const check_options *opt, check_report **out, sl_err *err);

/* Shown the findings of the checks a command runs first (check_before_run). */
typedef void (*check_shown_fn) (const check_report *findings, void *arg);

/*
 * The checks a command runs before it writes anything, the options of the
 * run in opt (source or target NULL: that side is not checked); shown (when
 * not NULL) is given the findings, blockers and warnings, before the report
 * is freed.  0 when nothing blocks the run; else the error that refuses it,
 * -ECANCELED on the side of its blockers, whose findings say what and how
 * to fix it.
 */
int			check_before_run(const char *command, const check_options *opt, check_shown_fn shown,
							 void *shown_arg, sl_err *err);

void		check_report_destroy(check_report *r);

/*
 * The roles that own objects of the source database or hold privileges on
 * them (extensions' objects left out), into *roles (n of them), freed with
 * check_roles_free; a dump records them for the restore's checks.
 */
int			check_source_roles(PGconn *source, check_role **roles, int *n, sl_err *err);
void		check_roles_free(check_role *roles, int n);

/* Findings of that severity. */
int			check_count(const check_report *r, check_severity severity);

/* The highest severity of the report's findings (CHECK_OK when it has none). */
check_severity check_worst(const check_report *r);

const char *check_severity_name(check_severity severity);	/* "ok", "note", "warning", "blocker" */
const char *check_where_name(check_where where);	/* "source", "target", "both", "local" */

/*
 * Appends a finding.  The message is summary, then (when there are objects)
 * ": " and the first few of them, "and N more" for the rest.  objects may be
 * NULL when nobjects is 0; the strings are copied.  fix may be NULL.  On out
 * of memory the report is marked failed and nothing is added.
 */
void		check_add(check_report *r, check_severity severity, check_where where, const char *code,
					  const char *summary, const char *fix, char *const *objects, int nobjects);

/* Appends a copy of finding f, about database (NULL: the run). */
void		check_add_copy(check_report *r, const check_finding *f, const char *database);

/* Pure verdicts, exposed for tests. */

/*
 * The space a --spill directory may need: every table's heap bytes as COPY
 * data compressed with zstd level 1, about 3x smaller (as measured on the
 * benchmark's data).
 */
int64_t		check_spill_need(int64_t heap_bytes);

/* A source newer than the target is a blocker; anything else is fine. */
check_severity check_version_severity(int source_major, int target_major);

/*
 * Locks a run holds at once against the server's shared lock table
 * (max_locks_per_transaction * (max_connections + max_prepared_transactions)):
 * a blocker above it, a warning above half of it (other sessions use it too).
 */
check_severity check_lock_severity(int64_t locks_needed, int64_t lock_table);

typedef struct check_slots
{
	int			max_connections;
	int			reserved;		/* slots this user may not take (superuser_reserved_connections...) */
	int			others;			/* client sessions of others on the server */
	int			role_limit;		/* rolconnlimit, -1: none */
	int			role_sessions;	/* sessions of this role, this one left out */
	int			database_limit; /* datconnlimit, -1: none */
	int			database_sessions;	/* sessions on this database, this one left out */
	bool		superuser;		/* exempt from the role and database limits */
} check_slots;

/* Sessions a run may open there: the fewest that any limit leaves. */
int			check_free_slots(const check_slots *slots);

/*
 * The sessions that conn's user may still open on its server and database
 * (check_free_slots), into *free_slots; 0 or a negative errno.
 */
int			check_server_room(PGconn *conn, sl_side side, int *free_slots, sl_err *err);

#endif
