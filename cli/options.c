/*
 * options.c: the options every command shares, their defaults and checks, and
 * what every command does before and after its work: the log level, the
 * signal handlers, the metrics and the progress display.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/report.h"
#include "engine/conn.h"
#include "engine/metrics.h"
#include "engine/progress.h"
#include "engine/rate.h"
#include "engine/sched.h"
#include "engine/state.h"
#include "engine/stop.h"

#define METRICS_FILE_SECONDS 5.0

static volatile sig_atomic_t signals_seen;

int
cli_exit_code(const sl_err *err)
{
	switch (err->side)
	{
		case SIDE_SOURCE:
			return EXIT_SOURCE;
		case SIDE_TARGET:
			return EXIT_TARGET;
		case SIDE_USAGE:
			return EXIT_USAGE;
		case SIDE_INTERRUPT:
			return EXIT_INTERRUPTED;
		case SIDE_LOCAL:
		case SIDE_NONE:
			break;
	}
	return EXIT_FAILURE_OTHER;
}

int
cli_bad_usage(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s %s --help\" for more information.\n", progname, cli_command_name);
	return EXIT_USAGE;
}

/* --max-diffs, for clone and verify alike; returns 0 or -1 after reporting. */
int
cli_parse_max_diffs(const char *arg, uint64_t *out)
{
	int			n;

	if (args_parse_int(arg, 1, 1000000000, &n) < 0)
		return cli_bad_usage("invalid value \"%s\" for --max-diffs: want a number of rows, at least 1", arg), -1;
	*out = (uint64_t) n;
	return 0;
}

/* --compress-level, for dump and clone --spill; returns 0 or -1 after reporting. */
int
cli_parse_compress_level(const char *arg, int *out)
{
	if (args_parse_int(arg, -100, 19, out) < 0)
		return cli_bad_usage("invalid value \"%s\" for --compress-level: want a zstd level from -100 to 19", arg), -1;
	return 0;
}

void
cli_defaults(cli_options *co)
{
	memset(co, 0, sizeof(*co));
	co->common.source = getenv("PGSLUICE_SOURCE");
	co->common.target = getenv("PGSLUICE_TARGET");
	co->common.jobs = 4;
	co->common.chunk_bytes = PLAN_DEFAULT_CHUNK_BYTES;
	co->common.io_kind = IO_LOOP_AUTO;
	co->progress_seconds = 10;
	co->common.max_rate = -1;
	co->stall_seconds = CONN_STALL_DEFAULT_SECONDS;
	co->level = LOG_INFO;
	optind = 1;					/* getopt_long reads the command's arguments from the start */
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, cli_options *co)
{
	int			c;
	int			rc;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
	{
		if ((rc = cli_option(co, c, argv)) < 0)
			return CLI_BAD_OPTION;
		if (rc == 0)
			return c;
	}
	return CLI_NO_MORE;
}

/*
 * Takes option c if it is a common one: returns 1 when taken, 0 when not,
 * or -1 after reporting a bad value.
 */
int
cli_option(cli_options *co, int c, char **argv)
{
	switch (c)
	{
		case 's':
			co->common.source = optarg;
			return 1;
		case 't':
			co->common.target = optarg;
			return 1;
		case 'j':
			if (args_parse_int(optarg, 1, 256, &co->common.jobs) < 0)
				return cli_bad_usage("invalid value \"%s\" for --jobs: want a number from 1 to 256", optarg), -1;
			return 1;
		case OPT_CHUNK_SIZE:
			if (args_parse_size(optarg, &co->common.chunk_bytes) < 0 || co->common.chunk_bytes < 8192)
				return cli_bad_usage("invalid value \"%s\" for --chunk-size: want a size such as 64MB, "
								 "at least 8kB", optarg), -1;
			return 1;
		case OPT_JSON:
			co->json_path = optarg;
			return 1;
		case OPT_IO:
			if (strcmp(optarg, "auto") == 0)
				co->common.io_kind = IO_LOOP_AUTO;
			else if (strcmp(optarg, "io_uring") == 0)
				co->common.io_kind = IO_LOOP_URING;
			else if (strcmp(optarg, "poll") == 0)
				co->common.io_kind = IO_LOOP_POLL;
			else
				return cli_bad_usage("invalid value \"%s\" for --io: want auto, io_uring or poll", optarg), -1;
			return 1;
		case OPT_NO_DIRECT_COPY:
			co->common.via_libpq = true;
			return 1;
		case OPT_PROGRESS:
			if (args_parse_int(optarg, 0, 86400, &co->progress_seconds) < 0)
				return cli_bad_usage("invalid value \"%s\" for --progress-interval: want seconds", optarg), -1;
			return 1;
		case OPT_STALL_TIMEOUT:
			if (args_parse_int(optarg, 0, 86400, &co->stall_seconds) < 0)
				return cli_bad_usage("invalid value \"%s\" for --stall-timeout: want seconds from 0 (never) "
								 "to 86400", optarg), -1;
			return 1;
		case OPT_METRICS_FILE:
			co->metrics_file = optarg;
			return 1;
		case OPT_METRICS_LISTEN:
			co->metrics_listen = optarg;
			return 1;
		case OPT_MAX_RATE:
			if (args_parse_rate(optarg, &co->common.max_rate) < 0)
				return cli_bad_usage("invalid value \"%s\" for --max-rate: want bytes per second as a size "
								 "such as 25MB, or 0 for no cap", optarg), -1;
			return 1;
		case 'q':
			co->level = LOG_ERROR;
			return 1;
		case 'v':
			co->level = co->level < LOG_VERBOSE ? LOG_VERBOSE : LOG_DEBUG;
			return 1;
		case OPT_DEBUG:
			co->level = LOG_DEBUG;
			return 1;
		case OPT_NO_OWNER:
			co->common.no_owner = true;
			return 1;
		case OPT_NO_PRIVILEGES:
			co->common.no_privileges = true;
			return 1;
		case OPT_NO_TABLESPACES:
			co->common.no_tablespaces = true;
			return 1;
		case OPT_PG_BINDIR:
			co->common.pg_bindir = optarg;
			return 1;
		case OPT_TABLE:
		case 'T':
		case 'n':
		case 'N':
			{
				sl_err		err;

				err_clear(&err);
				if (filter_add(&cli_table_filter, c == OPT_TABLE ? FILTER_TABLE : c == 'T' ? FILTER_EXCLUDE_TABLE
							   : c == 'n' ? FILTER_SCHEMA : FILTER_EXCLUDE_SCHEMA, optarg, &err) < 0)
					return cli_bad_usage("%s", err.msg), -1;
				return 1;
			}
		case '?':
			if (optopt != 0 || (strcmp(argv[optind - 1], "-?") != 0 &&
								strcmp(argv[optind - 1], "--help") != 0))
				return cli_bad_usage("%s", "invalid option"), -1;
			co->help = true;
			return 1;
	}
	return 0;
}

/*
 * Progress: live on a terminal (stderr), else a line every
 * --progress-interval seconds; nothing with --quiet or an interval of 0.
 */
static void
start_progress(const cli_options *co)
{
	const char *term = getenv("TERM");
	bool		live = isatty(STDERR_FILENO) && term != NULL && strcmp(term, "dumb") != 0;

	if (co->level < LOG_INFO || co->progress_seconds == 0)
		return;
	if (progress_start(live, co->progress_seconds) < 0)
		log_warning("could not start the progress display");
}

static void
on_signal(int signo)
{
	static const char first[] = "\npgsluice: interrupted: cancelling the copies in flight "
		"(signal again to exit at once)\n";
	static const char second[] = "\npgsluice: interrupted again: exiting now\n";

	(void) signo;
	if (signals_seen++ == 0)
	{
		stop_request();
		(void) !write(STDERR_FILENO, first, sizeof(first) - 1);
		return;
	}
	/* Open transactions die with their connections: nothing partial is committed. */
	(void) !write(STDERR_FILENO, second, sizeof(second) - 1);
	_exit(EXIT_INTERRUPTED);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Once the options are good: the log level, the signal handlers, the
 * metrics, the progress display.  Returns 0, or EXIT_USAGE after saying why
 * the metrics cannot start.
 */
int
cli_start(const cli_options *co)
{
	sl_err		err;

	log_set_level(co->level);
	conn_set_stall_timeout(co->stall_seconds);
	err_clear(&err);
	metrics_begin(cli_command_name, 0);
	if ((co->metrics_file != NULL && metrics_file_start(co->metrics_file, METRICS_FILE_SECONDS, &err) < 0) ||
		(co->metrics_listen != NULL && metrics_listen_start(co->metrics_listen, &err) < 0))
	{
		metrics_stop(NULL);
		return cli_bad_usage("%s", err.msg);
	}
	install_signals();
	start_progress(co);
	/* the process's own cap; a run with a record then takes its record's (engine/rate.h) */
	rate_limit_configure(co->common.max_rate > 0 ? co->common.max_rate : 0);
	return 0;
}

/* After the command's work: the last progress and metrics. */
void
cli_end(void)
{
	sl_err		err;

	progress_stop();
	err_clear(&err);
	if (metrics_stop(&err) < 0)
		log_warning("%s", err.msg);
}

/* Checks what every command needs once the options are read; returns 0 or EXIT_USAGE. */
int
cli_finish(cli_options *co, int argc, char **argv)
{
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co->common.source == NULL || co->common.source[0] == '\0')
		return cli_bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	if (co->common.target == NULL || co->common.target[0] == '\0')
		return cli_bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	return cli_start(co);
}

/* The options of commands that work on a run's record. */
void
cli_run_defaults(clone_options *opt)
{
	opt->max_diffs = DEFAULT_MAX_DIFFS;
	opt->state_schema = STATE_SCHEMA_DEFAULT;
	opt->retries = DEFAULT_RETRIES;
}

/* Takes --state-schema and --retries: 1 taken, 0 not, -1 bad value (reported). */
int
cli_run_option(clone_options *opt, int c)
{
	switch (c)
	{
		case OPT_STATE_SCHEMA:
			if (optarg[0] == '\0')
				return cli_bad_usage("%s", "--state-schema needs a schema name"), -1;
			opt->state_schema = optarg;
			return 1;
		case OPT_RETRIES:
			if (args_parse_int(optarg, 0, 1000, &opt->retries) < 0)
				return cli_bad_usage("invalid value \"%s\" for --retries: want a number from 0 to 1000",
								 optarg), -1;
			return 1;
	}
	return cli_bad_usage("%s", "invalid option"), -1;
}

/*
 * The findings of the checks a run makes before it writes anything, as
 * pgsluice check prints them: blockers (which refuse the run) and warnings,
 * each line through the log, so that they stay above a live display.
 */
void
cli_show_check(const check_report *found, void *arg)
{
	check_severity worst = check_worst(found);
	char	   *text = NULL;
	size_t		len = 0;
	FILE	   *out;

	(void) arg;
	if (worst < CHECK_WARNING || (out = open_memstream(&text, &len)) == NULL)
		return;
	report_check(out, found, true, log_get_level() >= LOG_VERBOSE);
	fclose(out);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
		log_msg(worst == CHECK_BLOCKER ? LOG_ERROR : LOG_WARNING, "%s", line);
	free(text);
}


int
cli_cluster_option(cli_cluster *cc, int c, char *arg)
{
	globals_patterns *p = &cc->patterns;
	char	 ***list;
	int		   *n;
	char	  **grown;

	switch (c)
	{
		case OPT_ALL_DATABASES:
			cc->all_databases = true;
			return 1;
		case OPT_NO_ROLES:
			cc->no_roles = cc->used = true;
			return 1;
		case OPT_NO_ROLE_PASSWORDS:
			cc->no_role_passwords = cc->used = true;
			return 1;
		case OPT_DATABASE:
		case OPT_EXCLUDE_DATABASE:
		case OPT_DATABASE_MAP:
			break;
		default:
			return 0;
	}
	list = c == OPT_DATABASE ? &p->include : c == OPT_EXCLUDE_DATABASE ? &p->exclude : &p->map;
	n = c == OPT_DATABASE ? &p->ninclude : c == OPT_EXCLUDE_DATABASE ? &p->nexclude : &p->nmap;
	if ((grown = realloc(*list, sizeof(char *) * ((size_t) *n + 1))) == NULL)
		return cli_bad_usage("%s", "out of memory"), -1;
	grown[(*n)++] = arg;
	*list = grown;
	cc->used = true;
	return 1;
}

int
cli_cluster_finish(const cli_cluster *cc)
{
	if (cc->used && !cc->all_databases)
		return cli_bad_usage("%s", "--database, --exclude-database, --database-map, --no-roles and the other "
							 "options of whole clusters go with --all-databases");
	return 0;
}

void
cli_cluster_fini(cli_cluster *cc)
{
	free(cc->patterns.include);
	free(cc->patterns.exclude);
	free(cc->patterns.map);
	memset(&cc->patterns, 0, sizeof(cc->patterns));
}

int
cli_cluster_report(const cluster_report *report, const cli_options *co, const common_options *common,
				   bool no_role_passwords, int rc, sl_err *err)
{
	const sl_err *first = NULL;
	bool		different = false;

	cli_end();
	/* a run refused before it wrote anything has nothing to sum up */
	if (report != NULL && co->level > LOG_ERROR && (report->roles_copied || report->failed > 0 ||
		(report->ndatabases > 0 && report->databases[0].status != CLUSTER_DB_PENDING)))
		report_cluster_summary(stdout, report);
	if (co->json_path != NULL && report != NULL)
	{
		int			jrc = report_cluster_json(co->json_path, report, common, no_role_passwords, rc < 0 ? err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co->json_path, strerror(-jrc));
			if (rc == 0)
				rc = err_set(err, SIDE_LOCAL, jrc, "could not write the JSON report");
		}
	}
	for (int i = 0; report != NULL && i < report->ndatabases; i++)
	{
		different = different || report->databases[i].different;
		if (report->databases[i].status == CLUSTER_DB_FAILED && first == NULL)
			first = &report->databases[i].err;
	}
	if (rc < 0)
		log_failure(err);
	return rc < 0 ? cli_exit_code(err) : first != NULL ? cli_exit_code(first) : different ? EXIT_DIFFERENT : EXIT_OK;
}
