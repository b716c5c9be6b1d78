/*
 * schema.c: running pg_dump and pg_restore.  See schema.h.
 *
 * Both keep a database's code out of their sessions on their own, as ours do
 * (engine/conn.h): since CVE-2018-1058 pg_dump and pg_restore empty
 * search_path in every session they open before anything else runs, and
 * pg_dump writes every name schema-qualified, so that what pg_restore creates
 * resolves to the objects of the dump, not to whatever is on the target's
 * search path.
 */
#include "engine/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/sched.h"

extern char **environ;

#define CHILD_POLL_MS 100
#define CHILD_WATCH_SECONDS 1.0	/* how often a silent child's sessions are looked at */
#define CHILD_KILL_SECONDS 5.0	/* after SIGTERM, before SIGKILL */
#define MAX_ARGS 32

/*
 * The watchdog of a child.  pg_dump and pg_restore say nothing while they
 * work: pg_restore without -v is silent through an index build of hours,
 * and with -v it prints one line as the build starts, so neither silence
 * nor the time since the last verbose line tells a stall.  A child makes
 * progress while its log or its output file grows, while it or its own
 * children (pg_restore's jobs) use CPU time, or while one of its sessions
 * on the server (known by their application name) is active and not
 * waiting for its client: building an index, waiting for a lock, reading
 * the disk.  A child with none of these for the stall timeout is stuck on
 * its network: blocked on a socket while its sessions sit idle, or while
 * they wait to send to it.  The sessions are looked at over a connection
 * of the watchdog's own, so that no query of it can disturb the run's (an
 * error would end the holder's transaction, and its snapshot).  Without
 * that connection, or when its query fails but for a lost connection, a
 * child is never killed: a false kill of an index build would be worse
 * than a hang.
 */
typedef struct child_watch
{
	pid_t		pid;
	const char *output;			/* a file it writes, or NULL */
	PGconn	   *conn;			/* owned; NULL: no watchdog */
	const char *conninfo;		/* to open conn again once, when it is lost */
	char	   *query;			/* counts its working sessions; malloc()ed */
	sl_side		side;
	double		moved;			/* last progress seen */
	double		next_query;
	unsigned long long cpu;		/* clock ticks of the process and its children */
	off_t		size;			/* of the log and the output */
} child_watch;

/* Major version printed by "TOOL --version" ("pg_dump (PostgreSQL) 15.18"), or -1. */
static int
tool_major(const char *path)
{
	char		cmd[PATH_MAX + 32];
	char		line[256] = "";
	FILE	   *out;
	const char *p;

	if (access(path, X_OK) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' --version 2>/dev/null", path);
	if ((out = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), out) == NULL)
		line[0] = '\0';
	pclose(out);
	p = strstr(line, ") ");
	return p != NULL ? atoi(p + 2) : -1;
}

static bool
try_bindir(const char *dir, int need_major, schema_tools *tools)
{
	int			major;

	if (dir == NULL || dir[0] == '\0' || strchr(dir, '\'') != NULL)
		return false;
	/* a directory whose tool paths do not fit is not one we can run them from */
	if (snprintf(tools->pg_dump, sizeof(tools->pg_dump), "%s/pg_dump", dir)
		>= (int) sizeof(tools->pg_dump) ||
		snprintf(tools->pg_restore, sizeof(tools->pg_restore), "%s/pg_restore", dir)
		>= (int) sizeof(tools->pg_restore))
		return false;
	major = tool_major(tools->pg_dump);
	if (major < need_major || tool_major(tools->pg_restore) != major)
		return false;
	tools->major = major;
	return true;
}

int
schema_find_tools(const char *bindir, int need_major, schema_tools *tools, sl_err *err)
{
	char		dir[PATH_MAX];
	FILE	   *out;
	const char *path;

	if (bindir != NULL)
	{
		if (try_bindir(bindir, need_major, tools))
			return 0;
		return err_set(err, SIDE_USAGE, -ENOENT,
					   "no pg_dump and pg_restore of PostgreSQL %d or later in \"%s\"",
					   need_major, bindir);
	}
	for (int major = need_major; major < need_major + 10; major++)
	{
		snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%d/bin", major);
		if (try_bindir(dir, need_major, tools))
			return 0;
	}
	if ((out = popen("pg_config --bindir 2>/dev/null", "r")) != NULL)
	{
		bool		found = false;

		if (fgets(dir, sizeof(dir), out) != NULL)
		{
			dir[strcspn(dir, "\n")] = '\0';
			found = try_bindir(dir, need_major, tools);
		}
		pclose(out);
		if (found)
			return 0;
	}
	if ((path = getenv("PATH")) != NULL)
	{
		char	   *copy = strdup(path);
		char	   *save = NULL;

		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
		{
			if (try_bindir(d, need_major, tools))
			{
				free(copy);
				return 0;
			}
		}
		free(copy);
	}
	return err_set(err, SIDE_LOCAL, -ENOENT,
				   "no pg_dump and pg_restore of PostgreSQL %d or later found: install "
				   "postgresql-client-%d, or name their directory with --pg-bindir",
				   need_major, need_major);
}

/* The first "error:" line of a child's stderr file, or its first line. */
static void
first_error_line(const char *logfile, char *out, size_t outlen)
{
	FILE	   *f = fopen(logfile, "r");
	char		line[1024];
	bool		have_first = false;

	snprintf(out, outlen, "no message");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		conn_one_line(line);
		if (strstr(line, "error:") != NULL)
		{
			snprintf(out, outlen, "%s", line);
			break;
		}
		if (!have_first && line[0] != '\0')
		{
			snprintf(out, outlen, "%s", line);
			have_first = true;
		}
	}
	fclose(f);
}

/* CPU clock ticks used by pid, its waited-for children, and its running children; 0 if unknown. */
static unsigned long long
tree_cpu(pid_t pid)
{
	char		path[64];
	char		buf[1024];
	unsigned long long total = 0;
	FILE	   *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((f = fopen(path, "r")) != NULL)
	{
		size_t		n = fread(buf, 1, sizeof(buf) - 1, f);
		char	   *p;

		buf[n] = '\0';
		fclose(f);
		/* the fields after the name in parentheses: state is field 3, utime 14 ... cstime 17 */
		if ((p = strrchr(buf, ')')) != NULL)
		{
			char	   *save = NULL;
			int			field = 3;

			for (char *tok = strtok_r(p + 1, " ", &save); tok != NULL && field <= 17;
				 tok = strtok_r(NULL, " ", &save), field++)
				if (field >= 14)
					total += strtoull(tok, NULL, 10);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int) pid, (int) pid);
	if ((f = fopen(path, "r")) != NULL)
	{
		int			child;

		while (fscanf(f, "%d", &child) == 1)
			total += tree_cpu((pid_t) child);
		fclose(f);
	}
	return total;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0 ? st.st_size : 0;
}

/* 1: a session of the child works on the server, 0: none does, -1: cannot tell. */
static int
sessions_working(child_watch *cw)
{
	PGresult   *res = NULL;
	sl_err		err;
	int			working;

	err_clear(&err);
	if (conn_run(cw->conn, cw->side, cw->query, 0, NULL, &res, &err) < 0 &&
		(err_is_set(&err) || PQstatus(cw->conn) == CONNECTION_BAD) && cw->conninfo != NULL)
	{
		/*
		 * The watchdog's own session may be the one that went (ended by an
		 * administrator, idle_session_timeout): ask again on a new one, once;
		 * only a server that cannot be reached at all shows nothing working.
		 */
		PGconn	   *again = NULL;
		const char *conninfo = cw->conninfo;

		log_verbose("the session that watches a child on the %s was lost (%s): opening another",
					err_side_name(cw->side), err.msg);
		cw->conninfo = NULL;
		err_clear(&err);
		if (conn_open(&again, conninfo, cw->side, NULL, &err) == 0)
		{
			conn_close(&cw->conn);
			cw->conn = again;
			err_clear(&err);
			res = NULL;
			(void) conn_run(cw->conn, cw->side, cw->query, 0, NULL, &res, &err);
		}
	}
	if (err_is_set(&err) || res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		bool		lost = err_is_set(&err) || PQstatus(cw->conn) == CONNECTION_BAD;

		if (!err_is_set(&err))
			conn_fail(cw->conn, res, cw->side, &err, "query failed");
		PQclear(res);
		log_verbose("could not look at the sessions of a child on the %s: %s", err_side_name(cw->side), err.msg);
		/* a server that cannot be reached shows nothing working; any other failure tells nothing */
		if (!lost)
			conn_close(&cw->conn);
		return lost ? 0 : -1;
	}
	working = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (working < 0)
	{
		log_verbose("track_activities is off on the %s: its children are not watched for a stall",
					err_side_name(cw->side));
		conn_close(&cw->conn);
		return -1;
	}
	return working > 0;
}

/* True when the child has made no progress for the stall timeout. */
static bool
child_stalled(child_watch *cw, const char *logfile)
{
	double		now = clock_seconds();
	unsigned long long cpu;
	off_t		size;

	if (cw->conn == NULL || conn_stall_timeout() == 0)
		return false;
	cpu = tree_cpu(cw->pid);
	size = file_size(logfile) + file_size(cw->output);
	if (cpu != cw->cpu || size != cw->size)
	{
		cw->cpu = cpu;
		cw->size = size;
		cw->moved = now;
		return false;
	}
	if (now < cw->next_query)
		return now - cw->moved >= conn_stall_timeout() + CHILD_WATCH_SECONDS;
	cw->next_query = now + CHILD_WATCH_SECONDS;
	switch (sessions_working(cw))
	{
		case 1:
			cw->moved = now;
			return false;
		case 0:
			return now - cw->moved >= conn_stall_timeout();
	}
	return false;
}

/*
 * Runs argv with PGPASSWORD set to password (when not NULL) and
 * PGAPPNAME to opt->application_name (when not NULL), stderr into logfile;
 * waits for it, killing it when the stop flag is raised.
 */
static int
run_child(const schema_options *opt, char *const argv[], const char *password, const char *conninfo,
		  const char *appname, const char *output, const char *logfile, sl_side side, const char *what,
		  sl_err *err)
{
	pid_t		pid;
	int			status = 0;
	char	   *pwenv = NULL;
	char	   *appenv = NULL;
	char	  **envp;
	int			nenv = 0;
	bool		killed = false;
	bool		stalled = false;
	double		killed_at = 0;
	child_watch cw = {0};

	/* Built before fork: the child may only call async-signal-safe functions. */
	for (char **e = environ; *e != NULL; e++)
		nenv++;
	envp = calloc((size_t) nenv + 3, sizeof(char *));
	if (envp == NULL || (password != NULL && asprintf(&pwenv, "PGPASSWORD=%s", password) < 0) ||
		asprintf(&appenv, "PGAPPNAME=%s", appname) < 0)
	{
		free(pwenv);
		free(envp);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting %s", what);
	}
	nenv = 0;
	for (char **e = environ; *e != NULL; e++)
		if ((strncmp(*e, "PGPASSWORD=", 11) != 0 || pwenv == NULL) &&
			(strncmp(*e, "PGAPPNAME=", 10) != 0 || appenv == NULL))
			envp[nenv++] = *e;
	if (pwenv != NULL)
		envp[nenv++] = pwenv;
	if (appenv != NULL)
		envp[nenv++] = appenv;
	envp[nenv] = NULL;

	pid = fork();
	if (pid < 0)
	{
		int			saved = errno;

		free(pwenv);
		free(appenv);
		free(envp);
		return err_set(err, SIDE_LOCAL, -saved, "could not start %s: %s", what, strerror(saved));
	}
	if (pid == 0)
	{
		int			fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int			devnull = open("/dev/null", O_RDWR);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		if (devnull >= 0)
		{
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		execve(argv[0], argv, envp);
		{
			static const char msg[] = "error: could not execute the program\n";

			(void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
		}
		_exit(127);
	}
	free(pwenv);
	free(appenv);
	free(envp);

	cw.pid = pid;
	cw.output = output;
	cw.conninfo = conninfo;
	cw.side = side;
	cw.moved = clock_seconds();
	if (conn_stall_timeout() > 0)
	{
		sl_err		ignored;
		char	   *lit = NULL;

		err_clear(&ignored);
		if (conn_open(&cw.conn, conninfo, side, NULL, &ignored) < 0)
			log_verbose("%s is not watched for a stall: %s", what, ignored.msg);
		/* its working sessions; without track_activities none shows its state, and -1 says so */
		else if ((lit = PQescapeLiteral(cw.conn, appname, strlen(appname))) == NULL ||
				 asprintf(&cw.query, "SELECT CASE WHEN pg_catalog.current_setting('track_activities')::boolean"
						  " THEN (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity"
						  " WHERE application_name = %s AND state = 'active'"
						  " AND wait_event IS DISTINCT FROM 'ClientRead'"
						  " AND wait_event IS DISTINCT FROM 'ClientWrite') ELSE -1 END", lit) < 0)
		{
			cw.query = NULL;
			conn_close(&cw.conn);
		}
		PQfreemem(lit);
	}
	for (;;)
	{
		pid_t		r = waitpid(pid, &status, WNOHANG);
		struct timespec nap = {0, CHILD_POLL_MS * 1000000L};

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
		{
			int			saved = errno;

			conn_close(&cw.conn);
			free(cw.query);
			return err_set(err, SIDE_LOCAL, -saved, "could not wait for %s: %s", what, strerror(saved));
		}
		if (!killed && opt->stop != NULL && atomic_load(opt->stop))
		{
			kill(pid, SIGTERM);
			killed = true;
			killed_at = clock_seconds();
		}
		else if (!killed && child_stalled(&cw, logfile))
		{
			kill(pid, SIGTERM);
			killed = stalled = true;
			killed_at = clock_seconds();
		}
		/* its handler cancels its statements, which a stalled network holds up too */
		else if (killed && killed_at > 0 && clock_seconds() - killed_at > CHILD_KILL_SECONDS)
		{
			kill(pid, SIGKILL);
			killed_at = 0;
		}
		nanosleep(&nap, NULL);
	}
	conn_close(&cw.conn);
	free(cw.query);
	if (stalled)
		return err_set(err, side, -ETIMEDOUT, "%s made no progress for %d s (no output, no CPU time, no "
					   "session working on the %s): killed it; check the network to the %s, or raise "
					   "--stall-timeout (0: never)", what, conn_stall_timeout(), err_side_name(side),
					   err_side_name(side));
	if (killed)
		return err_set(err, SIDE_INTERRUPT, -EINTR, "%s stopped", what);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		char		line[1024];

		first_error_line(logfile, line, sizeof(line));
		return err_set(err, side, -EIO, "%s failed: %s", what, line);
	}
	return 0;
}

/*
 * The child's connection string, without the password (which goes into
 * its environment, out of ps) and with its sessions' application name,
 * over any the string sets: the watchdog and schema_end_sessions find the
 * sessions by it.  appname is one of ours, with no quote or backslash.
 */
static int
child_conninfo(const schema_options *opt, const char *conninfo, char *appname, size_t appnamelen,
			   char **dsn, char **password)
{
	char	   *without = NULL;

	*dsn = NULL;
	if (opt->application_name != NULL)
		snprintf(appname, appnamelen, "%s", opt->application_name);
	else
		snprintf(appname, appnamelen, "pgsluice %d", (int) getpid());
	if (conn_split_password(conninfo, &without, password) < 0)
		return -EINVAL;
	if (asprintf(dsn, "%s application_name='%s'", without, appname) < 0)
	{
		*dsn = NULL;
		free(without);
		free(*password);
		*password = NULL;
		return -ENOMEM;
	}
	free(without);
	return 0;
}

int
schema_dump(const schema_tools *tools, const schema_options *opt, const char *conninfo,
			const char *snapshot, int nchoose, char *const *choose, const char *file, sl_err *err)
{
	char	   *dsn = NULL;
	char	   *password = NULL;
	char		logfile[PATH_MAX];
	char		appname[64];
	char	  **argv = calloc((size_t) nchoose + MAX_ARGS, sizeof(char *));
	int			n = 0;
	int			rc;

	if (argv == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if (child_conninfo(opt, conninfo, appname, sizeof(appname), &dsn, &password) < 0)
	{
		free(argv);
		return err_set(err, SIDE_USAGE, -EINVAL, "invalid source connection string");
	}
	snprintf(logfile, sizeof(logfile), "%s/pg_dump.log", opt->workdir);
	argv[n++] = (char *) tools->pg_dump;
	argv[n++] = "--schema-only";
	argv[n++] = "--format=custom";
	argv[n++] = "--no-password";
	argv[n++] = "--file";
	argv[n++] = (char *) file;
	if (snapshot != NULL)
	{
		argv[n++] = "--snapshot";
		argv[n++] = (char *) snapshot;
	}
	for (int i = 0; i < nchoose; i++)
		argv[n++] = choose[i];
	argv[n++] = "--dbname";
	argv[n++] = dsn;
	argv[n] = NULL;
	rc = run_child(opt, argv, password, conninfo, appname, file, logfile, SIDE_SOURCE,
				   "pg_dump of the source schema", err);
	free(argv);
	free(dsn);
	free(password);
	return rc;
}

int
schema_restore(const schema_tools *tools, const schema_options *opt, const char *conninfo,
			   const char *file, const char *section, int jobs, sl_err *err)
{
	char	   *dsn = NULL;
	char	   *password = NULL;
	char		logfile[PATH_MAX];
	char		appname[64];
	char		jobs_arg[32];
	char		what[64];
	char	   *argv[MAX_ARGS];
	int			n = 0;
	int			rc;

	if (child_conninfo(opt, conninfo, appname, sizeof(appname), &dsn, &password) < 0)
		return err_set(err, SIDE_USAGE, -EINVAL, "invalid target connection string");
	snprintf(logfile, sizeof(logfile), "%s/pg_restore-%s.log", opt->workdir, section);
	snprintf(jobs_arg, sizeof(jobs_arg), "--jobs=%d", jobs > 0 ? jobs : 1);
	snprintf(what, sizeof(what), "pg_restore of the %s schema", section);
	argv[n++] = (char *) tools->pg_restore;
	argv[n++] = "--section";
	argv[n++] = (char *) section;
	argv[n++] = "--exit-on-error";
	argv[n++] = "--no-password";
	if (strcmp(section, "pre-data") == 0)
		argv[n++] = "--single-transaction";
	else
		argv[n++] = jobs_arg;
	if (opt->no_owner)
		argv[n++] = "--no-owner";
	if (opt->no_privileges)
		argv[n++] = "--no-privileges";
	if (opt->no_tablespaces)
		argv[n++] = "--no-tablespaces";
	if (opt->clean)
	{
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	argv[n++] = "--dbname";
	argv[n++] = dsn;
	argv[n++] = (char *) file;
	argv[n] = NULL;
	rc = run_child(opt, argv, password, conninfo, appname, NULL, logfile, SIDE_TARGET, what, err);
	free(dsn);
	free(password);
	return rc;
}

int
schema_workdir_create(char *out, size_t outlen, sl_err *err)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, outlen, "%s/pgsluice-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(out) != NULL)
		return 0;
	out[0] = '\0';
	return err_set(err, SIDE_LOCAL, -errno, "could not create a work directory in \"%s\": %s",
				   tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
}

void
schema_workdir_remove(const char *dir)
{
	static const char *const files[] = {"schema.dump", "pg_dump.log", "pg_restore-pre-data.log",
	"pg_restore-post-data.log", NULL};
	char		path[PATH_MAX];

	if (dir[0] == '\0')
		return;
	for (int i = 0; files[i] != NULL; i++)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * A process killed in post-data leaves its pg_restore sessions running on
 * the target until their statement ends (an index build commits, then the
 * session finds its client gone).  Before post-data is redone they are
 * ended, found by the application name the run gives them.
 */
int
schema_end_sessions(PGconn *control, const char *appname, sl_err *err)
{
	const char *params[1] = {appname};
	double		until = clock_seconds() + 60;

	for (;;)
	{
		PGresult   *res = PQexecParams(control,
									   "SELECT pg_catalog.count(pg_catalog.pg_terminate_backend(pid))"
									   " FROM pg_catalog.pg_stat_activity"
									   " WHERE datname = pg_catalog.current_database() AND application_name = $1"
									   "   AND pid <> pg_catalog.pg_backend_pid()",
									   1, NULL, params, NULL, NULL, 0);
		int			left;

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			int			rc = conn_fail(control, res, SIDE_TARGET, err,
									   "could not end the sessions of the interrupted post-data");

			PQclear(res);
			return rc;
		}
		left = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (left == 0)
			return 0;
		log_info("ending %d sessions that the interrupted run left on the target", left);
		if (clock_seconds() > until)
			return err_set(err, SIDE_TARGET, -EBUSY, "sessions of \"%s\" on the target do not end", appname);
		{
			struct timespec wait = {0, 200 * 1000000L};

			nanosleep(&wait, NULL);
		}
	}
}

int
schema_refresh_matviews(PGconn *target, int n, char *const *names, sl_err *err)
{
	bool	   *done = calloc((size_t) n + 1, sizeof(bool));
	int			left = n;
	int			progress = 1;
	sbuf		sql;
	sl_err		last;

	if (done == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory refreshing materialized views");
	err_clear(&last);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	while (left > 0 && progress > 0)
	{
		progress = 0;
		for (int i = 0; i < n; i++)
		{
			if (done[i])
				continue;
			sbuf_reset(&sql);
			sbuf_printf(&sql, "REFRESH MATERIALIZED VIEW %s", names[i]);
			err_clear(&last);
			if (conn_exec(target, SIDE_TARGET, sbuf_str(&sql), &last) == 0)
			{
				done[i] = true;
				left--;
				progress++;
			}
		}
	}
	sbuf_fini(&sql);
	free(done);
	if (left > 0)
		return err_take(err, &last);
	return 0;
}
