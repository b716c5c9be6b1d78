/*
 * cluster.c: clone --all-databases.  See cluster.h.
 */
#include "cmd/cluster.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/catalog.h"
#include "engine/check.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/progress.h"
#include "engine/slots.h"
#include "engine/state.h"
#include "engine/stop.h"
#include "engine/target.h"

#define REAP_WAIT_NS 20000000L	/* how often the parent looks at its children and its stop flag */

/* What a child sends back when its database is done or failed: plain data, no pointers. */
typedef struct child_result
{
	cluster_db_status status;
	sl_err		err;
	int64_t		run_id;
	bool		refused;
	bool		different;
	int			tables;
	uint64_t	rows;
	uint64_t	bytes;
} child_result;

typedef struct child
{
	pid_t		pid;			/* 0: the slot is free */
	int			fd;				/* the read end of its result pipe */
	int			db;				/* index into the report's databases */
	double		started;
	bool		told_to_stop;
} child;

/*
 * Step 2: what stands in the way on the target, for every chosen database,
 * before anything is written.  exists[i] says whether database i is there.
 * Resumed, a database with an unfinished run goes on with it, and one that
 * holds the source's tables without one was done before.
 */
static int
check_targets(const cluster_options *opt, cluster_report *r, PGconn *target, bool *exists, sl_err *err)
{
	bool		data_only = opt->clone.data_only;
	sbuf		in_the_way;
	int			blocked = 0;
	int			rc = 0;

	sbuf_init(&in_the_way, 1 << 16);
	for (int i = 0; i < r->ndatabases && rc == 0; i++)
	{
		cluster_database *d = &r->databases[i];
		PGconn	   *src = NULL;
		PGconn	   *dst = NULL;
		catalog    *cat = NULL;
		target_problems found;

		if ((rc = globals_database_exists(target, d->target_name, err)) < 0)
			break;
		exists[i] = rc > 0;
		rc = 0;
		if (!exists[i])
		{
			if (data_only)
				sbuf_printf(&in_the_way, "%s\"%s\" is not there", blocked++ ? "; " : "", d->target_name);
			continue;
		}
		if (data_only && !opt->resume)
			continue;			/* the clone itself checks its tables and columns */
		target_problems_init(&found);
		if ((rc = globals_connect(&dst, opt->clone.common.target, d->target_name, SIDE_TARGET, err)) == 0 &&
			opt->resume)
			rc = state_unfinished_run(dst, opt->clone.state_schema, &d->resumed_run, err);
		if (rc == 0 && d->resumed_run == 0 &&
			(rc = globals_connect(&src, opt->clone.common.source, d->name, SIDE_SOURCE, err)) == 0 &&
			(rc = catalog_load(src, SIDE_SOURCE, conn_major_version(dst), opt->clone.common.filter, &cat, err)) == 0 &&
			(rc = target_find_conflicts(dst, cat, false, &found, err)) == 0 && found.n > 0)
		{
			if (opt->resume)
				d->done_before = true;
			else
				sbuf_printf(&in_the_way, "%s\"%s\" holds %s%s", blocked++ ? "; " : "", d->target_name,
							found.items[0].what, found.n > 1 ? " and more of the source's tables" : "");
		}
		target_problems_fini(&found);
		catalog_destroy(cat);
		conn_close(&src);
		conn_close(&dst);
	}
	if (rc == 0 && blocked > 0 && data_only)
	{
		rc = err_set(err, SIDE_TARGET, -ENOENT, "--data-only needs the target's databases: %.2000s",
					 sbuf_str(&in_the_way));
		err_hint(err, "Create them with the source's schema first, or clone without --data-only.");
	}
	else if (rc == 0 && blocked > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EEXIST, "databases on the target already hold the source's tables: %.2000s",
					 sbuf_str(&in_the_way));
		err_hint(err, "Drop them, choose others with --exclude-database or --database-map, use --data-only "
				 "to load into their schemas, or --resume to go on with a cluster run that stopped.");
	}
	sbuf_fini(&in_the_way);
	return rc;
}

/*
 * In the child: clones database d, sends the result through fd and leaves.
 * It never returns, and never closes what it inherited from the parent
 * (a PQfinish would end the parent's sessions).
 */
static void __attribute__((noreturn))
child_copy(const cluster_options *opt, const cluster_database *d, int index, int fd, int concurrent)
{
	clone_options copt = opt->clone;
	clone_report *report = NULL;
	child_result res;
	char	   *src_info = NULL;
	char	   *dst_info = NULL;
	char		resume[32];
	int			rc = 0;

	memset(&res, 0, sizeof(res));
	err_clear(&res.err);
	log_set_label(d->name);
	metrics_use_slot(index);
	if (opt->progress_seconds > 0)
		(void) progress_start(false, opt->progress_seconds);
	if (conn_info_with_dbname(opt->clone.common.source, d->name, &src_info) < 0 ||
		conn_info_with_dbname(opt->clone.common.target, d->target_name, &dst_info) < 0)
		rc = err_set(&res.err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if (rc == 0)
	{
		copt.common.source = src_info;
		copt.common.target = dst_info;
		/* --max-rate holds for the whole cluster run: each database takes its share */
		if (copt.common.max_rate > 0)
			copt.common.max_rate = copt.common.max_rate / concurrent > 0 ? copt.common.max_rate / concurrent : 1;
		if (d->resumed_run > 0)
		{
			snprintf(resume, sizeof(resume), "%lld", (long long) d->resumed_run);
			copt.resume = resume;
			copt.data_only = copt.truncate = copt.split_all = false;	/* the run's own */
		}
		rc = clone_run(&copt, &report, &res.err);
	}
	res.status = rc == 0 ? CLUSTER_DB_DONE : CLUSTER_DB_FAILED;
	if (report != NULL)
	{
		res.run_id = report->run_id;
		res.refused = report->refused;
		res.different = report->verify != NULL && !verify_identical(report->verify);
		res.tables = report->cat != NULL ? report->cat->ntables : 0;
		res.rows = report->rows;
		res.bytes = report->bytes;
	}
	progress_stop();
	/* one write of a few kB: a pipe takes it whole */
	(void) !write(fd, &res, sizeof(res));
	_exit(0);
}

/* Takes back a child that ended: its result, or why it gave none. */
static void
child_done(cluster_report *r, child *c, int wstatus)
{
	cluster_database *d = &r->databases[c->db];
	child_result res;
	ssize_t		n = read(c->fd, &res, sizeof(res));

	d->seconds = clock_seconds() - c->started;
	if (n == (ssize_t) sizeof(res))
	{
		d->status = res.status;
		d->err = res.err;
		d->run_id = res.run_id;
		d->refused = res.refused;
		d->different = res.different;
		d->tables = res.tables;
		d->rows = res.rows;
		d->copied_bytes = res.bytes;
	}
	else
	{
		d->status = CLUSTER_DB_FAILED;
		if (WIFSIGNALED(wstatus))
			err_set(&d->err, WTERMSIG(wstatus) == SIGKILL ? SIDE_INTERRUPT : SIDE_LOCAL, -EPIPE,
					"the process that copied it was killed by signal %d", WTERMSIG(wstatus));
		else
			err_set(&d->err, SIDE_LOCAL, -EPIPE, "the process that copied it ended (exit status %d) "
					"without a result", WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
	}
	if (d->status == CLUSTER_DB_FAILED)
	{
		r->failed++;
		log_error("database \"%s\" failed: %s", d->name, d->err.msg);
	}
	else
		log_info("database \"%s\": done in %.1f s", d->name, d->seconds);
	close(c->fd);
	c->pid = 0;
}

/*
 * Waits until fewer than want children run (want 1: all have ended),
 * taking back those that end; a stop request is passed on to them.
 */
static void
reap(cluster_report *r, child *kids, int nkids, int want)
{
	for (;;)
	{
		int			running = 0;
		int			wstatus;
		pid_t		pid;

		for (int i = 0; i < nkids; i++)
		{
			running += kids[i].pid != 0;
			if (kids[i].pid != 0 && atomic_load(stop_flag()) && !kids[i].told_to_stop)
			{
				kill(kids[i].pid, SIGTERM);
				kids[i].told_to_stop = true;
			}
		}
		if (running < want)
			return;
		pid = waitpid(-1, &wstatus, WNOHANG);
		if (pid > 0)
		{
			for (int i = 0; i < nkids; i++)
				if (kids[i].pid == pid)
					child_done(r, &kids[i], wstatus);
			continue;
		}
		if (pid < 0 && errno != EINTR)
			return;				/* no child left to wait for */
		nanosleep(&(struct timespec) {0, REAP_WAIT_NS}, NULL);
	}
}

/* Step 4 for database i: create it where it is missing (here), then fork its copy. */
static int
start_database(const cluster_options *opt, cluster_report *r, int i, const globals_database *gdb, PGconn *source,
			   PGconn *target, bool exists, child *slot, int concurrent, sl_err *err)
{
	cluster_database *d = &r->databases[i];
	int			fds[2];
	pid_t		pid;
	int			rc;

	if (d->done_before)
	{
		d->status = CLUSTER_DB_DONE;
		log_info("database \"%s\": done by the run before", d->name);
		return 0;
	}
	log_info("database \"%s\"%s%s%s: %s", d->name, strcmp(d->name, d->target_name) ? " as \"" : "",
			 strcmp(d->name, d->target_name) ? d->target_name : "", strcmp(d->name, d->target_name) ? "\"" : "",
			 d->resumed_run > 0 ? "going on with its run" : exists ? "into the existing database"
			 : "creating it on the target");
	if (!exists)
	{
		err_clear(&d->err);
		if ((rc = globals_create_database(source, target, gdb, &opt->globals, &d->err)) < 0)
		{
			d->status = CLUSTER_DB_FAILED;
			r->failed++;
			log_error("database \"%s\" failed: %s", d->name, d->err.msg);
			return 0;
		}
		d->created = true;
	}
	if (pipe(fds) != 0)
		return err_set(err, SIDE_LOCAL, -errno, "could not make a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not start a process for database \"%s\": %s", d->name,
					 strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0)
	{
		close(fds[0]);
		child_copy(opt, d, i, fds[1], concurrent);
	}
	close(fds[1]);
	*slot = (child) {pid, fds[0], i, clock_seconds(), false};
	return 0;
}

int
cluster_default_database_jobs(int jobs)
{
	return 3 * jobs < jobs + 6 ? 3 * jobs : jobs + 6;
}

/*
 * Fewer databases at once than *concurrent where either server has not
 * the sessions for them: each database's process opens up to --jobs + 2
 * on each side (its workers, its snapshot holder or control session, and
 * pg_dump's, or pg_restore's leader).  At least one.
 */
static int
cap_by_sessions(PGconn *source, PGconn *target, int jobs, int *concurrent, sl_err *err)
{
	int			per_database = (jobs > 0 ? jobs : 1) + 2;
	int			room[2];
	int			rc;

	if ((rc = check_server_room(source, SIDE_SOURCE, &room[0], err)) < 0 ||
		(rc = check_server_room(target, SIDE_TARGET, &room[1], err)) < 0)
		return rc;
	for (int side = 0; side < 2; side++)
		if (*concurrent > 1 && room[side] / per_database < *concurrent)
		{
			int			fits = room[side] / per_database > 1 ? room[side] / per_database : 1;

			log_info("cluster: %d databases at once, not %d: the %s has %d free connection slots, and each "
					 "database takes up to %d", fits, *concurrent, side == 0 ? "source" : "target", room[side],
					 per_database);
			*concurrent = fits;
		}
	if (*concurrent < 1)
		*concurrent = 1;
	return 0;
}

int
cluster_clone_run(const cluster_options *opt, cluster_report **report_out, sl_err *err)
{
	cluster_report *r = calloc(1, sizeof(*r));
	globals_database *dbs = NULL;
	int			ndbs = 0;
	PGconn	   *source = NULL;
	PGconn	   *target = NULL;
	bool	   *exists = NULL;
	child	   *kids = NULL;
	int			concurrent;
	double		start = clock_seconds();
	int			rc;

	*report_out = NULL;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = globals_connect(&source, opt->clone.common.source, NULL, SIDE_SOURCE, err)) < 0 ||
		(rc = globals_connect(&target, opt->clone.common.target, NULL, SIDE_TARGET, err)) < 0)
		goto done;

	/* 1. the databases */
	if ((rc = globals_list_databases(source, &opt->patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	exists = calloc((size_t) ndbs + 1, sizeof(bool));
	if (exists == NULL || cluster_report_add(r, dbs, ndbs) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	log_info("cluster: %d database%s to copy, largest first", ndbs, ndbs == 1 ? "" : "s");

	/* 2. nothing in the way, before anything is written */
	progress_phase("cluster: checking the target's databases");
	if ((rc = check_targets(opt, r, target, exists, err)) < 0)
		goto done;

	/* 3. roles */
	if (!opt->no_roles)
	{
		double		t = clock_seconds();

		progress_phase("cluster: roles");
		if ((rc = globals_copy_roles(source, target, &opt->globals, &r->roles, err)) < 0)
			goto done;
		r->roles_copied = true;
		r->seconds_roles = clock_seconds() - t;
		log_info("roles: %d created, %d there already, %d memberships granted%s", r->roles.ncreated,
				 r->roles.nexisting, r->roles.nmemberships,
				 r->roles.passwords || opt->globals.no_role_passwords ? ""
				 : " (without passwords: reading their hashes needs a superuser)");
	}

	/* 4. the databases, up to --jobs at once, their chunks in flight --jobs in all */
	concurrent = opt->database_jobs > 0 ? opt->database_jobs : cluster_default_database_jobs(opt->clone.common.jobs);
	concurrent = concurrent < ndbs ? concurrent : ndbs;
	if ((rc = cap_by_sessions(source, target, opt->clone.common.jobs, &concurrent, err)) < 0)
		goto done;
	if ((kids = calloc((size_t) concurrent, sizeof(child))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = slots_share(opt->clone.common.jobs, err)) < 0)
		goto done;
	{
		char	  **names = calloc((size_t) ndbs + 1, sizeof(char *));

		for (int i = 0; names != NULL && i < ndbs; i++)
			names[i] = r->databases[i].name;
		rc = names == NULL ? -ENOMEM : ndbs > 0 ? metrics_share(ndbs, names) : 0;
		free(names);
		if (rc < 0)
		{
			rc = err_set(err, SIDE_LOCAL, rc, "could not share the metrics with the databases' processes: %s",
						 strerror(-rc));
			goto done;
		}
	}
	progress_stop();			/* no thread but this one while it forks */
	for (int i = 0; i < ndbs && rc == 0; i++)
	{
		int			free_slot = 0;

		reap(r, kids, concurrent, concurrent);
		if (atomic_load(stop_flag()))
			break;
		while (kids[free_slot].pid != 0)
			free_slot++;
		rc = start_database(opt, r, i, &dbs[i], source, target, exists[i], &kids[free_slot], concurrent, err);
	}
	reap(r, kids, concurrent, 1);
	slots_release();
	if (rc == 0 && atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

done:
	r->seconds = clock_seconds() - start;
	globals_databases_free(dbs, ndbs);
	free(exists);
	free(kids);
	conn_close(&source);
	conn_close(&target);
	*report_out = r;
	return rc;
}

int
cluster_report_add(cluster_report *r, const globals_database *dbs, int n)
{
	cluster_database *grown = realloc(r->databases, sizeof(cluster_database) * ((size_t) r->ndatabases + (size_t) n + 1));

	if (grown == NULL)
		return -ENOMEM;
	r->databases = grown;
	for (int i = 0; i < n; i++)
	{
		cluster_database *d = &r->databases[r->ndatabases];

		memset(d, 0, sizeof(*d));
		d->name = strdup(dbs[i].name);
		d->target_name = strdup(dbs[i].target_name != NULL ? dbs[i].target_name : dbs[i].name);
		d->bytes = dbs[i].bytes;
		r->ndatabases++;
		if (d->name == NULL || d->target_name == NULL)
			return -ENOMEM;
	}
	return 0;
}

void
cluster_report_destroy(cluster_report *report)
{
	if (report == NULL)
		return;
	for (int i = 0; i < report->ndatabases; i++)
	{
		free(report->databases[i].name);
		free(report->databases[i].target_name);
	}
	free(report->databases);
	globals_roles_fini(&report->roles);
	free(report);
}
