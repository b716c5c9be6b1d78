/*
 * cluster.h: clone --all-databases, every database of a cluster and its roles.
 *
 * The connection strings name servers: their dbname, or postgres, is the
 * maintenance database through which databases are listed and created.
 * The steps, in order:
 *   1. list the source's connectable databases but template0 and template1
 *      that the patterns choose (engine/globals.h), largest first;
 *   2. before anything is written, refuse a chosen database that exists on
 *      the target and holds any of the source's tables (with --data-only:
 *      one that does not exist there);
 *   3. the roles the target lacks, with their memberships and settings;
 *   4. each database: created from template0 with its properties, unless it
 *      is there, then cloned as "pgsluice clone" clones one (cmd/clone.h),
 *      its run recorded in its own state schema, by a process of its own.
 *      Up to --database-jobs databases are copied at once, largest first, and the
 *      shared slots (engine/slots.h) keep their chunks in flight at --jobs
 *      together: one database's schema steps overlap the others' data.  A
 *      database that fails does not stop the others (an interruption
 *      does); the report says which failed and why.
 * Resumed (--resume), a database whose target holds an unfinished run goes
 * on with it; one whose target holds its tables and no run was finished
 * before; the others are copied.
 *
 * Thread safety: the parent process has one thread while it forks (the
 * progress display is stopped first); each child copies one database,
 * reports through a pipe and leaves with _exit, never touching the
 * parent's connections that it inherited.
 */
#ifndef PGSLUICE_CMD_CLUSTER_H
#define PGSLUICE_CMD_CLUSTER_H

#include <stdbool.h>

#include "base/err.h"
#include "cmd/clone.h"
#include "engine/globals.h"

typedef struct cluster_options
{
	clone_options clone;		/* each database's clone; its connections name the servers */
	globals_patterns patterns;	/* --database, --exclude-database, --database-map */
	globals_options globals;	/* --no-owner, --no-privileges, --no-role-passwords, --no-tablespaces */
	bool		no_roles;		/* leave the roles out */
	bool		resume;			/* go on with the databases that are not done */
	int			database_jobs;	/* databases copied at once; 0: cluster_default_database_jobs */
	int			progress_seconds;	/* each database's progress lines; 0: none */
} cluster_options;

typedef enum cluster_db_status
{
	CLUSTER_DB_PENDING = 0,		/* not reached: the run stopped before it */
	CLUSTER_DB_DONE,
	CLUSTER_DB_FAILED
} cluster_db_status;

typedef struct cluster_database
{
	char	   *name;			/* on the source */
	char	   *target_name;	/* on the target */
	int64_t		bytes;			/* pg_database_size on the source */
	bool		created;		/* the run created it on the target */
	bool		done_before;	/* resumed: it was done by the run before */
	int64_t		resumed_run;	/* resumed: its run record that this run went on with; 0: none */
	cluster_db_status status;
	sl_err		err;			/* why it failed */
	/* from its clone's report */
	int64_t		run_id;			/* its run record on the target; 0: none */
	bool		refused;		/* its checks stopped it before it wrote anything */
	bool		different;		/* --verify found it different */
	int			tables;
	uint64_t	rows;
	uint64_t	copied_bytes;	/* of COPY data */
	double		seconds;
} cluster_database;

typedef struct cluster_report
{
	int			ndatabases;
	cluster_database *databases;	/* in the order they were copied */
	bool		roles_copied;
	globals_roles roles;
	double		seconds_roles;
	double		seconds;
	int			failed;			/* databases that failed */
} cluster_report;

/*
 * Runs the whole copy.  Returns 0 when every database is done, a negative
 * errno when the run could not start or was interrupted (err says why),
 * or 0 with report->failed > 0 when some databases failed.  *report_out
 * (NULL when the run could not start) is freed with cluster_report_destroy.
 */
int			cluster_clone_run(const cluster_options *opt, cluster_report **report_out, sl_err *err);

void		cluster_report_destroy(cluster_report *report);

/* Appends databases dbs[0..n) to r, pending (a NULL target name: the same); 0 or -ENOMEM. */
int			cluster_report_add(cluster_report *r, const globals_database *dbs, int n);

/*
 * How many databases are copied at once by default: three times --jobs, at
 * most --jobs + 6 (and no more than the servers' free connection slots
 * hold).  A small database spends most of its time in pg_dump,
 * pg_restore and CREATE DATABASE, which wait more than they work, so more
 * of them than --jobs keep the servers busy; the slots still hold the
 * chunks in flight at --jobs.
 */
int			cluster_default_database_jobs(int jobs);

#endif
