/*
 * main.c: the pgsluice program: commands, options, exit codes.
 *
 * The only place that exits.  Exit codes:
 *   0 success, 1 other failure (local I/O, memory, a child program),
 *   2 bad usage, 3 source error, 4 target error, 5 interrupted.
 */
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "cli/args.h"
#include "cli/report.h"
#include "engine/clone.h"
#include "engine/log.h"
#include "engine/sched.h"

#define EXIT_OK 0
#define EXIT_FAILURE_OTHER 1
#define EXIT_USAGE 2
#define EXIT_SOURCE 3
#define EXIT_TARGET 4
#define EXIT_INTERRUPTED 5

static const char *progname = "pgsluice";

static void
usage_main(FILE *out)
{
	fprintf(out,
			"%s copies PostgreSQL databases between clusters, in parallel chunks, and\n"
			"checksums every row on the way.\n\n"
			"Usage:\n"
			"  %s COMMAND [OPTION]...\n\n"
			"Commands:\n"
			"  clone        copy a database: schema, data, sequences, indexes and constraints\n\n"
			"General options:\n"
			"  -V, --version  output version information, then exit\n"
			"  -?, --help     show this help, then exit\n\n"
			"Run \"%s COMMAND --help\" for a command's options.\n",
			progname, progname, progname);
}

static void
usage_clone(FILE *out)
{
	fprintf(out,
			"%s clone copies one database from a source cluster to a target cluster: the\n"
			"schema before the data, the data in parallel chunks with COPY (FORMAT binary),\n"
			"then sequences, indexes, constraints and triggers.\n\n"
			"Usage:\n"
			"  %s clone --source CONNINFO --target CONNINFO [OPTION]...\n\n"
			"Connection options:\n"
			"  -s, --source=CONNINFO    source database (connection string or URI;\n"
			"                           default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database, which must exist (default:\n"
			"                           $PGSLUICE_TARGET)\n\n"
			"Options:\n"
			"  -j, --jobs=N             worker threads, each with its own source and target\n"
			"                           connection; also pg_restore's jobs (default: 4)\n"
			"      --chunk-size=SIZE    heap bytes per chunk, e.g. 64MB, 512kB (default: 64MB)\n"
			"      --data-only          load into a target whose schema exists already\n"
			"      --truncate           with --data-only: empty target tables that hold rows\n"
			"                           (without it, such a table stops the run)\n"
			"      --best-effort        no shared snapshot: each chunk is consistent on its own,\n"
			"                           the database as a whole is not\n"
			"      --no-owner           do not restore object ownership\n"
			"      --no-privileges      do not restore access privileges (GRANT/REVOKE)\n"
			"      --pg-bindir=DIR      where pg_dump and pg_restore are (default: those of the\n"
			"                           newer server's major version, found by themselves)\n"
			"      --json=FILE          write a JSON report with every chunk and its digest\n"
			"      --io=KIND            auto, io_uring or poll (default: auto)\n"
			"      --no-direct-copy     move rows through libpq's COPY functions also on\n"
			"                           unencrypted connections (slower; encrypted ones always do)\n"
			"      --progress-interval=SECONDS\n"
			"                           seconds between progress lines, 0 for none (default: 10)\n"
			"  -q, --quiet              print errors only\n"
			"  -v, --verbose            print more; twice for debug messages\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure, 2 bad usage, 3 source error,\n"
			"4 target error, 5 interrupted.\n",
			progname, progname);
}

static void
print_version(void)
{
	int			libpq = PQlibVersion();

	printf("pgsluice %s (libpq %d.%d, liburing %s, zstd %s, xxHash %u.%u.%u)\n", PGSLUICE_VERSION,
		   libpq / 10000, libpq % 10000, PGSLUICE_LIBURING_VERSION, ZSTD_versionString(),
		   XXH_versionNumber() / 10000, XXH_versionNumber() / 100 % 100, XXH_versionNumber() % 100);
}

static volatile sig_atomic_t signals_seen;

static void
on_signal(int signo)
{
	static const char first[] = "\npgsluice: interrupted: cancelling the copies in flight "
		"(signal again to exit at once)\n";
	static const char second[] = "\npgsluice: interrupted again: exiting now\n";

	(void) signo;
	if (signals_seen++ == 0)
	{
		sched_request_stop();
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

static int
exit_code(const sl_err *err)
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

static int	bad_usage(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static int
bad_usage(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s clone --help\" for more information.\n", progname);
	return EXIT_USAGE;
}

enum
{
	OPT_CHUNK_SIZE = 256,
	OPT_DATA_ONLY,
	OPT_TRUNCATE,
	OPT_BEST_EFFORT,
	OPT_NO_OWNER,
	OPT_NO_PRIVILEGES,
	OPT_PG_BINDIR,
	OPT_JSON,
	OPT_IO,
	OPT_NO_DIRECT_COPY,
	OPT_PROGRESS
};

static int
cmd_clone(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"source", required_argument, NULL, 's'},
		{"target", required_argument, NULL, 't'},
		{"jobs", required_argument, NULL, 'j'},
		{"chunk-size", required_argument, NULL, OPT_CHUNK_SIZE},
		{"data-only", no_argument, NULL, OPT_DATA_ONLY},
		{"truncate", no_argument, NULL, OPT_TRUNCATE},
		{"best-effort", no_argument, NULL, OPT_BEST_EFFORT},
		{"no-owner", no_argument, NULL, OPT_NO_OWNER},
		{"no-privileges", no_argument, NULL, OPT_NO_PRIVILEGES},
		{"pg-bindir", required_argument, NULL, OPT_PG_BINDIR},
		{"json", required_argument, NULL, OPT_JSON},
		{"io", required_argument, NULL, OPT_IO},
		{"no-direct-copy", no_argument, NULL, OPT_NO_DIRECT_COPY},
		{"progress-interval", required_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	clone_options opt = {0};
	clone_report *report = NULL;
	const char *json_path = NULL;
	log_level level = LOG_INFO;
	sl_err		err;
	int			c;
	int			rc;

	opt.source = getenv("PGSLUICE_SOURCE");
	opt.target = getenv("PGSLUICE_TARGET");
	opt.jobs = 4;
	opt.chunk_bytes = PLAN_DEFAULT_CHUNK_BYTES;
	opt.io_kind = IO_LOOP_AUTO;
	opt.progress_seconds = 10;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:t:j:qv?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 's':
				opt.source = optarg;
				break;
			case 't':
				opt.target = optarg;
				break;
			case 'j':
				if (args_parse_int(optarg, 1, 256, &opt.jobs) < 0)
					return bad_usage("invalid value \"%s\" for --jobs: want a number from 1 to 256", optarg);
				break;
			case OPT_CHUNK_SIZE:
				if (args_parse_size(optarg, &opt.chunk_bytes) < 0 || opt.chunk_bytes < 8192)
					return bad_usage("invalid value \"%s\" for --chunk-size: want a size such as 64MB, "
									 "at least 8kB", optarg);
				break;
			case OPT_DATA_ONLY:
				opt.data_only = true;
				break;
			case OPT_TRUNCATE:
				opt.truncate = true;
				break;
			case OPT_BEST_EFFORT:
				opt.best_effort = true;
				break;
			case OPT_NO_OWNER:
				opt.no_owner = true;
				break;
			case OPT_NO_PRIVILEGES:
				opt.no_privileges = true;
				break;
			case OPT_PG_BINDIR:
				opt.pg_bindir = optarg;
				break;
			case OPT_JSON:
				json_path = optarg;
				break;
			case OPT_IO:
				if (strcmp(optarg, "auto") == 0)
					opt.io_kind = IO_LOOP_AUTO;
				else if (strcmp(optarg, "io_uring") == 0)
					opt.io_kind = IO_LOOP_URING;
				else if (strcmp(optarg, "poll") == 0)
					opt.io_kind = IO_LOOP_POLL;
				else
					return bad_usage("invalid value \"%s\" for --io: want auto, io_uring or poll", optarg);
				break;
			case OPT_NO_DIRECT_COPY:
				opt.via_libpq = true;
				break;
			case OPT_PROGRESS:
				if (args_parse_int(optarg, 0, 86400, &opt.progress_seconds) < 0)
					return bad_usage("invalid value \"%s\" for --progress-interval: want seconds", optarg);
				break;
			case 'q':
				level = LOG_ERROR;
				break;
			case 'v':
				level = level < LOG_VERBOSE ? LOG_VERBOSE : LOG_DEBUG;
				break;
			case '?':
				if (optopt == 0 && strcmp(argv[optind - 1], "-?") != 0 &&
					strcmp(argv[optind - 1], "--help") != 0)
					return bad_usage("%s", "unknown option");
				if (optopt != 0 && optopt != '?')
					return bad_usage("%s", "invalid option");
				usage_clone(stdout);
				return EXIT_OK;
			default:
				return bad_usage("%s", "invalid option");
		}
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (opt.source == NULL || opt.source[0] == '\0')
		return bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	if (opt.target == NULL || opt.target[0] == '\0')
		return bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (opt.truncate && !opt.data_only)
		return bad_usage("%s", "--truncate goes with --data-only (a clone with the schema step "
						 "needs an empty target database)");
	log_set_level(level);
	install_signals();

	err_clear(&err);
	rc = clone_run(&opt, &report, &err);
	if (report != NULL && (rc == 0 || report->chunks_done > 0) && level > LOG_ERROR)
		report_summary(stdout, report);
	if (json_path != NULL && report != NULL)
	{
		int			jrc = report_json(json_path, report, &opt, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", json_path, strerror(-jrc));
			if (rc == 0)
				rc = err_set(&err, SIDE_LOCAL, jrc, "could not write the JSON report");
		}
	}
	if (rc < 0)
	{
		log_error("%s", err.msg);
		if (err.side == SIDE_INTERRUPT && report != NULL && report->chunks_done > 0)
			log_error("the target database holds a partial copy (%d chunks); clone again into an "
					  "empty database", report->chunks_done);
	}
	clone_report_destroy(report);
	return rc < 0 ? exit_code(&err) : EXIT_OK;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
	{
		usage_main(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0 || strcmp(argv[1], "help") == 0)
	{
		usage_main(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		print_version();
		return EXIT_OK;
	}
	if (strcmp(argv[1], "clone") == 0)
		return cmd_clone(argc - 1, argv + 1);
	fprintf(stderr, "%s: error: unknown command \"%s\"\nTry \"%s --help\" for more information.\n",
			progname, argv[1], progname);
	return EXIT_USAGE;
}
