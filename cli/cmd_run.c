/*
 * cmd_run.c: the commands on a recorded run: worker (cmd/clone.h), status,
 * throttle and cleanup (cmd/run.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/report.h"
#include "engine/conn.h"
#include "engine/metrics.h"
#include "engine/stop.h"
#include "cmd/clone.h"
#include "cmd/run.h"
#include "engine/state.h"

void
usage_worker(FILE *out)
{
	fprintf(out,
			"%s worker joins a clone that another %s process started, on this host or\n"
			"another: it imports the run's snapshot while the first process holds it and\n"
			"copies the chunks no one has taken, each in one target transaction with its\n"
			"record, until none are left free.\n\n"
			"Usage:\n"
			"  %s worker --target CONNINFO --run RUN [OPTION]...\n"
			"  %s worker --all-databases --target CONNINFO [OPTION]...\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"  -s, --source=CONNINFO    source database (default: the run's, without its\n"
			"                           password: .pgpass or PGPASSWORD supply it)\n"
			"      --run=RUN            the run to join: its number, or \"last\"\n"
			"      --all-databases      join a clone --all-databases: every running run of the\n"
			"                           target's databases (the connection strings name the\n"
			"                           servers), going round until none is running;\n"
			"                           --database and --exclude-database choose\n"
			"  -j, --jobs=N             worker threads (default: 4)\n"
			"      --retries=N          attempts after a transient failure (default: %d)\n"
			"      --state-schema=NAME  where the run is recorded (default: %s)\n"
			"      --max-rate=RATE      set the whole run's cap, as \"throttle --max-rate\" does\n"
			"                           (default: the run's own); every process takes its share\n"
			"      --io, --no-direct-copy, --stall-timeout, --progress-interval,\n"
			"      --metrics-file, --metrics-listen, -q, -v   as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: as for clone.\n",
			progname, progname, progname, progname, DEFAULT_RETRIES, STATE_SCHEMA_DEFAULT);
}

void
usage_status(FILE *out)
{
	fprintf(out,
			"%s status shows a run's progress from its record in the target: chunks done,\n"
			"in flight and failed, rows, bytes, rate and the time left.  A run that finished\n"
			"removed its record, unless it ran with --keep-record.\n\n"
			"Usage:\n"
			"  %s status --target CONNINFO [--run RUN] [--json FILE] [--watch SECONDS]\n"
			"  %s status --all-databases --target CONNINFO [--database PATTERN]...\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"      --run=RUN            a run number, or \"last\" (default: last)\n"
			"      --json=FILE          write it as JSON (\"-\": standard output)\n"
			"      --state-schema=NAME  where runs are recorded (default: %s)\n"
			"  -s, --source=CONNINFO    a follow run's source, for its replication's lag and\n"
			"                           slot (default: the run's, without its password)\n"
			"      --max-slot-wal=SIZE  warn when a follow run's slot holds more WAL than SIZE\n"
			"                           (default: 10%% of the source's free disk where this\n"
			"                           host sees it, else 50GB)\n"
			"      --watch=SECONDS      show it again every SECONDS (--json: rewrite FILE) while\n"
			"                           the run runs or follows, until it ends or a signal;\n"
			"                           with --metrics-file or --metrics-listen, the gauges\n"
			"                           of a follow run's lag and slot stay current\n"
			"      --metrics-file, --metrics-listen   as for clone\n"
			"      --all-databases      a cluster run: the last run of each database of the\n"
			"                           target (its connection string names the server), one\n"
			"                           line each; --database and --exclude-database choose\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 shown, 2 error.\n",
			progname, progname, progname, STATE_SCHEMA_DEFAULT);
}

void
usage_cleanup(FILE *out)
{
	fprintf(out,
			"%s cleanup removes a run's record (its row and its chunks' rows) from the\n"
			"target, and the state schema when no other run is recorded there; the copied\n"
			"data stays.  A follow run's subscription (target), slot and publication\n"
			"(source) go first, found by their name, which is the run's: nothing else is\n"
			"touched; when the source cannot be reached the record stays.\n\n"
			"Usage:\n"
			"  %s cleanup --target CONNINFO --run RUN\n"
			"  %s cleanup --all-databases --target CONNINFO [--database PATTERN]...\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"      --run=RUN            a run number, or \"last\"\n"
			"      --state-schema=NAME  where runs are recorded (default: %s)\n"
			"  -s, --source=CONNINFO    a follow run's source (default: the run's, without its\n"
			"                           password: .pgpass or PGPASSWORD supply it)\n"
			"      --all-databases      a cluster run: the last run of each database of the\n"
			"                           target that has one (a run with live processes is left,\n"
			"                           and named); --database and --exclude-database choose\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 removed, 2 error.\n",
			progname, progname, progname, STATE_SCHEMA_DEFAULT);
}

/* The options of worker, status and cleanup; the target is required, the source not. */
static const struct option record_options[] = {
	COMMON_LONG_OPTIONS,
	{"run", required_argument, NULL, OPT_RUN},
	{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
	{"retries", required_argument, NULL, OPT_RETRIES},
	RATE_LONG_OPTION,
	{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
	{"database", required_argument, NULL, OPT_DATABASE},
	{"exclude-database", required_argument, NULL, OPT_EXCLUDE_DATABASE},
	{"max-slot-wal", required_argument, NULL, OPT_MAX_SLOT_WAL},
	{"watch", required_argument, NULL, OPT_WATCH},
	{NULL, 0, NULL, 0}
};

static int64_t max_slot_wal = -1;	/* status --max-slot-wal; -1: not given */
static int	watch_seconds;		/* status --watch; 0: once */

/* Parses a record command's options; returns 0, or the exit status to stop with (-1: help shown). */
static int
parse_record_options(int argc, char **argv, cli_options *co, clone_options *opt, const char **run,
					 cli_cluster *cc, void (*usage) (FILE *))
{
	int			c;
	int			rc;

	cli_defaults(co);
	cli_run_defaults(opt);
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS, record_options, co)) > 0)
	{
		if (c == OPT_RUN)
			*run = optarg;
		else if (c == OPT_MAX_SLOT_WAL)
		{
			if (args_parse_size(optarg, &max_slot_wal) < 0)
				return cli_bad_usage("invalid value \"%s\" for --max-slot-wal: want a size such as 50GB", optarg);
		}
		else if (c == OPT_WATCH)
		{
			if (args_parse_int(optarg, 1, 86400, &watch_seconds) < 0)
				return cli_bad_usage("invalid value \"%s\" for --watch: want seconds, from 1 to 86400", optarg);
		}
		else if ((rc = cli_cluster_option(cc, c, optarg)) < 0)
			return EXIT_USAGE;
		else if (rc == 0 && cli_run_option(opt, c) < 0)
			return EXIT_USAGE;
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co->help)
	{
		usage(stdout);
		return -1;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co->common.target == NULL || co->common.target[0] == '\0')
		return cli_bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (cc->all_databases && *run == NULL)
		*run = "last";
	if (cc->all_databases && strcmp(*run, "last") != 0)
		return cli_bad_usage("%s", "with --all-databases, --run takes \"last\": each database's own last run");
	if (*run == NULL)
		return cli_bad_usage("%s", "no run: give --run with a run number, or \"last\"");
	if ((max_slot_wal >= 0 || watch_seconds > 0) && strcmp(cli_command_name, "status") != 0)
		return cli_bad_usage("%s", "--max-slot-wal and --watch go with status");
	if (co->common.max_rate >= 0 && strcmp(cli_command_name, "worker") != 0)
		return cli_bad_usage("--max-rate goes with clone, verify, dump, restore and worker; to change a "
						 "running run's cap: %s throttle --run RUN --max-rate RATE", progname);
	return cli_start(co);
}

/*
 * worker --all-databases: joins, database by database, every run of the
 * target's databases that is running, and goes round again until a pass
 * finds none running: the databases of a cluster run start one after the
 * other.  The exit status of the first join that failed, else 0.
 */
static int
worker_cluster(const cli_options *co, const clone_options *base, const cli_cluster *cc)
{
	const sl_err *first = NULL;
	sl_err		failed;
	int			joined = 0;
	int			chunks = 0;

	err_clear(&failed);
	for (;;)
	{
		run_database *dbs = NULL;
		int			n = 0;
		int			running = 0;
		sl_err		err;

		err_clear(&err);
		if (run_databases(co->common.target, base->state_schema, &cc->patterns, &dbs, &n, &err) < 0)
		{
			log_failure(&err);
			return cli_exit_code(&err);
		}
		run_databases_status(dbs, n, base->state_schema);
		for (int i = 0; i < n && !atomic_load(stop_flag()); i++)
		{
			clone_options opt = *base;
			clone_report *report = NULL;
			char	   *source = NULL;
			char		id[32];

			if (!dbs[i].loaded || strcmp(dbs[i].run.status, "running") != 0)
				continue;
			running++;
			/* the source named, or the run's own */
			if (base->common.source != NULL && base->common.source[0] != '\0' &&
				conn_info_with_dbname(base->common.source, dbs[i].name, &source) < 0)
				continue;
			opt.common.source = source;
			opt.common.target = dbs[i].conninfo;
			snprintf(id, sizeof(id), "%lld", (long long) dbs[i].run.id);
			err_clear(&err);
			log_set_label(dbs[i].name);
			if (clone_join(&opt, id, &report, &err) < 0)
			{
				log_failure(&err);
				if (first == NULL)
				{
					failed = err;
					first = &failed;
				}
			}
			else if (report != NULL && report->chunks_done > 0)
			{
				joined++;
				chunks += report->chunks_done;
			}
			log_set_label(NULL);
			clone_report_destroy(report);
			free(source);
		}
		run_databases_free(dbs, n);
		if (running == 0 || atomic_load(stop_flag()))
			break;
		sleep(1);				/* the cluster run's next databases start meanwhile */
	}
	cli_end();
	log_info("cluster: this worker copied %d chunks of %d runs", chunks, joined);
	if (atomic_load(stop_flag()))
		return EXIT_INTERRUPTED;
	return first != NULL ? cli_exit_code(first) : EXIT_OK;
}

int
cmd_worker(int argc, char **argv)
{
	cli_options co;
	cli_cluster *cc = &cli_databases;
	clone_options opt = {0};
	clone_report *report = NULL;
	const char *run = NULL;
	sl_err		err;
	int			rc;

	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, cc, usage_worker)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	opt.common = co.common;
	opt.on_check = cli_show_check;
	if (cc->all_databases)
	{
		rc = worker_cluster(&co, &opt, cc);
		return rc;
	}
	err_clear(&err);
	rc = clone_join(&opt, run, &report, &err);
	cli_end();
	if (report != NULL && report->chunks_done > 0 && co.level > LOG_ERROR)
		report_summary(stdout, report);
	if (rc < 0)
		log_failure(&err);
	else if (report->chunks_done == 0 && !report->nothing_to_do)
		log_info("run %lld: no chunk was free to take", (long long) report->run_id);
	clone_report_destroy(report);
	return rc < 0 ? cli_exit_code(&err) : EXIT_OK;
}

/* Sets the replication gauges from a follow run's state (slot: metrics_set_replication's). */
static void
follow_metrics(int slot, const run_follow *f)
{
	metrics_set_replication(slot, f->state.lag_bytes, f->state.lag_seconds, f->state.retained_bytes);
}

/*
 * status --all-databases once; true while a database's run is running or
 * following.  *shared: the metrics have a slot per database (the first
 * round makes them).
 */
static bool
status_cluster(const cli_options *co, const clone_options *opt, const cli_cluster *cc, bool *shared, int *rc)
{
	run_database *dbs = NULL;
	int			n = 0;
	bool		live = false;
	sl_err		err;

	err_clear(&err);
	if (run_databases(co->common.target, opt->state_schema, &cc->patterns, &dbs, &n, &err) < 0)
	{
		log_failure(&err);
		*rc = EXIT_USAGE;
		return false;
	}
	run_databases_status(dbs, n, opt->state_schema);
	run_databases_follow(dbs, n, max_slot_wal);
	if (!*shared && n > 0 && (co->metrics_file != NULL || co->metrics_listen != NULL))
	{
		char	  **names = calloc((size_t) n, sizeof(char *));

		/* a series per database, as the cluster run's own metrics have; the first round's databases */
		for (int i = 0; names != NULL && i < n; i++)
			names[i] = dbs[i].name;
		*shared = names != NULL && metrics_share(n, names) == 0;
		free(names);
	}
	for (int i = 0; i < n; i++)
	{
		live = live || (dbs[i].loaded && (strcmp(dbs[i].run.status, "running") == 0 || dbs[i].follows));
		if (*shared && dbs[i].follow_known)
			follow_metrics(i, &dbs[i].follow);
	}
	if (co->json_path != NULL)
		*rc = report_cluster_status_json(co->json_path, dbs, n) < 0 ? EXIT_USAGE : EXIT_OK;
	else
		report_cluster_status(stdout, dbs, n);
	run_databases_free(dbs, n);
	return live && *rc == EXIT_OK;
}

/* status of one run once, *run_id its number; true while it is running or following. */
static bool
status_run(const cli_options *co, const clone_options *opt, const char *run, int64_t *run_id, int *rc)
{
	state_run	record;
	state_summary sum;
	run_follow	follow;
	bool		follows;
	bool		known = false;
	sl_err		err;

	err_clear(&err);
	if (run_status(co->common.target, opt->state_schema, run, &record, &sum, &err) < 0)
	{
		/* watched until it finished: a run that removed its record (a cutover, a cleanup) is done */
		if (*run_id > 0 && err.code == -ENOENT)
		{
			log_info("run %lld: its record is gone: the run finished (cut over) or was removed",
					 (long long) *run_id);
			*rc = EXIT_OK;
			return false;
		}
		log_failure(&err);
		*rc = EXIT_USAGE;
		return false;
	}
	*run_id = record.id;
	follows = record.follow && strcmp(record.step, STATE_STEP_DONE) != 0;
	if (follows)
	{
		/* the source may be out of reach from here: the record is shown all the same */
		if (run_follow_state(co->common.target, co->common.source, &record, max_slot_wal, &follow, &err) < 0)
		{
			log_warning("run %lld: its replication could not be read: %s", (long long) record.id, err.msg);
			if (err.hint[0] != '\0')
				log_warning("hint: %s", err.hint);
		}
		else
		{
			known = true;
			follow_metrics(-1, &follow);
		}
	}
	*rc = EXIT_OK;
	if (co->json_path != NULL)
		*rc = report_status_json(co->json_path, &record, &sum, known ? &follow : NULL) < 0 ? EXIT_USAGE : EXIT_OK;
	else
	{
		report_status(stdout, &record, &sum);
		if (known)
			report_follow(stdout, &follow);
	}
	return (strcmp(record.status, "running") == 0 || follows) && *rc == EXIT_OK;
}

/* Waits seconds, or less when a signal asks to stop; true when it did. */
static bool
watch_pause(int seconds)
{
	for (int i = 0; i < seconds * 10 && !atomic_load(stop_flag()); i++)
	{
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return atomic_load(stop_flag()) != 0;
}

int
cmd_status(int argc, char **argv)
{
	cli_options co;
	cli_cluster *cc = &cli_databases;
	clone_options opt = {0};
	const char *run = "last";
	char		which[32];
	int64_t		run_id = 0;
	bool		shared = false;
	int			rc;

	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, cc, usage_status)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	for (;;)
	{
		bool		live = cc->all_databases ? status_cluster(&co, &opt, cc, &shared, &rc)
			: status_run(&co, &opt, run, &run_id, &rc);

		fflush(stdout);
		if (watch_seconds == 0 || !live || watch_pause(watch_seconds))
			break;
		/* the same run each time, not one that starts meanwhile */
		snprintf(which, sizeof(which), "%lld", (long long) run_id);
		run = which;
		if (co.json_path == NULL)
			fputc('\n', stdout);
	}
	cli_end();
	return rc;
}

/*
 * cleanup --all-databases: each database's last run record, unless the run
 * has live processes; 0 when every one was removed, else EXIT_USAGE.
 */
static int
cleanup_cluster(const cli_options *co, const clone_options *opt, const cli_cluster *cc)
{
	run_database *dbs = NULL;
	int			n = 0;
	int			left = 0;
	sl_err		err;

	err_clear(&err);
	if (run_databases(co->common.target, opt->state_schema, &cc->patterns, &dbs, &n, &err) < 0)
	{
		log_failure(&err);
		return EXIT_USAGE;
	}
	run_databases_status(dbs, n, opt->state_schema);
	for (int i = 0; i < n; i++)
	{
		run_database *d = &dbs[i];
		int64_t		removed = 0;
		bool		dropped = false;
		int			replication = 0;

		if (!d->loaded)
		{
			if (err_is_set(&d->err))
			{
				log_error("database \"%s\": %s", d->name, d->err.msg);
				left++;
			}
			continue;
		}
		if (strcmp(d->run.status, "running") == 0 && d->run.processes > 0)
		{
			log_error("database \"%s\": run %lld is running (%d live processes): left as it is; stop it first",
					  d->name, (long long) d->run.id, d->run.processes);
			left++;
			continue;
		}
		err_clear(&d->err);
		if (run_cleanup(d->conninfo, NULL, opt->state_schema, "last", &removed, &dropped, &replication,
						&d->err) < 0)
		{
			log_error("database \"%s\": %s", d->name, d->err.msg);
			left++;
			continue;
		}
		log_info("database \"%s\": run %lld removed%s%s", d->name, (long long) removed,
				 replication > 0 ? ", with its replication" : "", dropped ? ", and the state schema with it" : "");
	}
	run_databases_free(dbs, n);
	return left > 0 ? EXIT_USAGE : EXIT_OK;
}

int
cmd_cleanup(int argc, char **argv)
{
	cli_options co;
	cli_cluster *cc = &cli_databases;
	clone_options opt = {0};
	const char *run = NULL;
	int64_t		removed = 0;
	bool		schema_dropped = false;
	int			replication = 0;
	sl_err		err;
	int			rc;

	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, cc, usage_cleanup)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	err_clear(&err);
	if (cc->all_databases)
	{
		rc = cleanup_cluster(&co, &opt, cc);
		return rc;
	}
	if (run_cleanup(co.common.target, co.common.source, opt.state_schema, run, &removed, &schema_dropped,
					&replication, &err) < 0)
	{
		log_failure(&err);
		return EXIT_USAGE;
	}
	if (replication > 0)
		log_info("run %lld: its subscription, slot and publication removed (%d objects)", (long long) removed,
				 replication);
	log_info("run %lld removed%s", (long long) removed,
			 schema_dropped ? ", and the state schema with it (no other run was recorded)" : "");
	return EXIT_OK;
}

void
usage_throttle(FILE *out)
{
	fprintf(out,
			"%s throttle changes a running run's rate cap, or pauses and resumes it, through\n"
			"its record in the target: every process of the run, workers on other hosts\n"
			"included, reads the record about once a second and obeys within 2 seconds.  A\n"
			"paused run takes no new chunk, and its chunks in flight stop moving rows and\n"
			"wait, holding their transactions, until it is resumed.  --max-rate may come\n"
			"with --pause or --resume.\n\n"
			"Usage:\n"
			"  %s throttle --target CONNINFO --run RUN (--max-rate RATE | --pause | --resume)\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"      --run=RUN            a run number, or \"last\"\n"
			"      --max-rate=RATE      the run's new cap: COPY bytes per second read from the\n"
			"                           source (restore: written to the target), e.g. 25MB,\n"
			"                           shared by all its processes; 0 for none\n"
			"      --pause              stop the run's data moving, until --resume\n"
			"      --resume             let a paused run go on\n"
			"      --state-schema=NAME  where runs are recorded (default: %s)\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 changed, 2 error (no such run, or one that is not running).\n",
			progname, progname, STATE_SCHEMA_DEFAULT);
}

int
cmd_throttle(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"target", required_argument, NULL, 't'},
		{"run", required_argument, NULL, OPT_RUN},
		{"max-rate", required_argument, NULL, OPT_MAX_RATE},
		{"pause", no_argument, NULL, OPT_PAUSE},
		{"resume", no_argument, NULL, OPT_RESUME},
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		LOG_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	clone_options opt = {0};
	const char *run = NULL;
	int			paused = -1;	/* 1 --pause, 0 --resume */
	state_run	record;
	char		cap[32];
	sl_err		err;
	int			c;

	cli_defaults(&co);
	cli_run_defaults(&opt);
	while ((c = cli_getopt(argc, argv, "t:qv?", long_options, &co)) > 0)
	{
		if (c == OPT_RUN)
			run = optarg;
		else if (c == OPT_PAUSE || c == OPT_RESUME)
		{
			if (paused >= 0 && paused != (c == OPT_PAUSE))
				return cli_bad_usage("%s", "--pause and --resume go one at a time");
			paused = c == OPT_PAUSE;
		}
		else if (cli_run_option(&opt, c) < 0)
			return EXIT_USAGE;
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_throttle(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.target == NULL || co.common.target[0] == '\0')
		return cli_bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (run == NULL)
		return cli_bad_usage("%s", "no run: give --run with a run number, or \"last\"");
	if (co.common.max_rate < 0 && paused < 0)
		return cli_bad_usage("%s", "nothing to change: give --max-rate RATE, --pause or --resume");
	log_set_level(co.level);
	err_clear(&err);
	if (run_throttle(co.common.target, opt.state_schema, run, co.common.max_rate, paused, &record, &err) < 0)
	{
		log_failure(&err);
		return EXIT_USAGE;
	}
	if (record.max_rate > 0)
		sbuf_format_bytes((uint64_t) record.max_rate, cap, sizeof(cap));
	else
		snprintf(cap, sizeof(cap), "none");
	log_info("run %lld: %s, rate cap %s%s; its processes obey within 2 s", (long long) record.id,
			 record.paused ? "paused" : "running", cap, record.max_rate > 0 ? "/s" : "");
	if (record.processes == 0)
		log_warning("no process of run %lld has been seen in the last %d s: the change is on record, "
					"for when one works on it again", (long long) record.id, STATE_PROCESS_LIVE_SECONDS);
	return EXIT_OK;
}

