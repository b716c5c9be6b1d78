/*
 * main.c: the pgsluice program: commands, options, exit codes.
 *
 * The only place that exits.  Exit codes of clone:
 *   0 success, 1 other failure (local I/O, memory, a child program),
 *   2 bad usage, 3 source error, 4 target error, 5 interrupted,
 *   6 the copy differs from the source (--verify);
 * of verify: 0 identical, 1 different, 2 error (usage, connection, signal);
 * of check: 0 clean (notes at most), 1 warnings, 2 blockers or error.
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

#include "base/sbuf.h"
#include "cli/args.h"
#include "cli/report.h"
#include "engine/check.h"
#include "cmd/clone.h"
#include "engine/conn.h"
#include "cmd/dump.h"
#include "cmd/forecast.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/progress.h"
#include "engine/rate.h"
#include "cmd/restore.h"
#include "cmd/run.h"
#include "engine/sched.h"
#include "engine/state.h"
#include "engine/verify.h"

#define EXIT_OK 0
#define EXIT_FAILURE_OTHER 1
#define EXIT_USAGE 2
#define EXIT_SOURCE 3
#define EXIT_TARGET 4
#define EXIT_INTERRUPTED 5
#define EXIT_DIFFERENT 6
#define METRICS_FILE_SECONDS 5.0
#define DEFAULT_MAX_DIFFS 1000
#define DEFAULT_RETRIES 5

/* verify's own: 0 identical, 1 different, 2 error */
#define VERIFY_EXIT_DIFFERENT 1
#define VERIFY_EXIT_ERROR 2

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
			"  clone        copy a database: schema, data, sequences, indexes and constraints\n"
			"  verify       prove that two databases hold the same rows, without writing\n"
			"  check        read both servers and say what would stop a clone, and the fix\n"
			"  dump         write a database into a directory of compressed chunk files\n"
			"  restore      load such a directory into a database\n"
			"  plan         show what a clone would do, and estimate its time\n"
			"  worker       join a clone that another process started\n"
			"  status       show a clone's progress from its record in the target\n"
			"  throttle     change a running run's rate cap, or pause and resume it\n"
			"  cleanup      remove a clone's record from the target\n\n"
			"General options:\n"
			"  -V, --version  output version information, then exit\n"
			"  -?, --help     show this help, then exit\n\n"
			"Run \"%s COMMAND --help\" for a command's options.\n",
			progname, progname, progname);
}

/* The help text of the table selection options (FILTER_LONG_OPTIONS). */
#define FILTER_HELP \
	"Table selection (as pg_dump's, each option as often as needed):\n" \
	"      --table=PATTERN      only the tables (views, sequences...) that match; a\n" \
	"                           partitioned table brings its partitions\n" \
	"  -T, --exclude-table=PATTERN\n" \
	"                           not the tables that match\n" \
	"  -n, --schema=PATTERN     only the relations in matching schemas\n" \
	"  -N, --exclude-schema=PATTERN\n" \
	"                           not those in matching schemas\n" \
	"  PATTERN as in psql: schema.table or table, * and ?, names folded to lower case\n" \
	"  unless double-quoted.  A --table or --schema that matches nothing is an error.\n\n"

static void
usage_clone(FILE *out)
{
	fprintf(out,
			"%s clone copies one database from a source cluster to a target cluster: the\n"
			"schema before the data, the data in parallel chunks with COPY (FORMAT binary),\n"
			"then sequences, indexes, constraints and triggers.  It first runs the checks\n"
			"of \"%s check\" that apply to its options: a blocker (a role missing on the\n"
			"target, tables in the way...) stops it before it writes anything, a warning is\n"
			"shown.  A run that finishes removes its record from the target.\n\n"
			"Usage:\n"
			"  %s clone --source CONNINFO --target CONNINFO [OPTION]...\n\n"
			"Connection options:\n"
			"  -s, --source=CONNINFO    source database (connection string or URI;\n"
			"                           default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database, which must exist (default:\n"
			"                           $PGSLUICE_TARGET)\n\n"
			FILTER_HELP
			"  With --table, only the chosen relations are created, as pg_dump --table does:\n"
			"  not their schemas, types or functions; create those first, or choose with\n"
			"  --schema.  A resumed run keeps the tables it started with.\n\n"
			"Options:\n"
			"  -j, --jobs=N             worker threads, each with its own source and target\n"
			"                           connection; also pg_restore's jobs (default: 4)\n"
			"      --chunk-size=SIZE    heap bytes per chunk, e.g. 64MB, 512kB (default: 64MB)\n"
			"      --split-all          split every table larger than a chunk; by default a\n"
			"                           table of at most 16 chunks and 1/jobs of the data is\n"
			"                           copied whole (one scan, a frozen load)\n"
			"      --data-only          load into a target whose schema exists already\n"
			"      --truncate           with --data-only: empty target tables that hold rows\n"
			"                           (without it, such a table stops the run)\n"
			"      --best-effort        no shared snapshot: each chunk is consistent on its own,\n"
			"                           the database as a whole is not\n"
			"      --no-owner           do not restore object ownership\n"
			"      --no-privileges      do not restore access privileges (GRANT/REVOKE)\n"
			"      --pg-bindir=DIR      where pg_dump and pg_restore are (default: those of the\n"
			"                           newer server's major version, found by themselves)\n"
			"      --verify             verify the copy at the end: the target is read and\n"
			"                           checked against the digests taken of the source rows\n"
			"                           (both sides are read with --best-effort)\n"
			"      --max-diffs=N        with --verify: name at most N differing rows\n"
			"                           (default: 1000)\n"
			"      --resume=RUN         go on with a run that stopped (its number, or \"last\"):\n"
			"                           the chunks it copied are skipped\n"
			"      --require-consistent with --resume: refuse when the run's snapshot is gone\n"
			"                           (by default the rest is copied at a new point in time)\n"
			"      --retries=N          attempts at a chunk after a transient failure (lost\n"
			"                           connection, server restart, deadlock...) (default: 5)\n"
			"      --stall-timeout=SECONDS\n"
			"                           give up a chunk's connection that moves no byte for\n"
			"                           SECONDS and retry the chunk; 0: never (default: 60)\n"
			"      --state-schema=NAME  the target schema that records runs (default: pgsluice)\n"
			"      --keep-record        keep the run's record once it has finished (by default\n"
			"                           it is removed, with the schema when no other run is\n"
			"                           recorded there)\n"
			"      --spill=DIR          go through compressed chunk files in DIR/run-N: --jobs\n"
			"                           readers write them as fast as the source gives them,\n"
			"                           loaders load them, and the source snapshot is released\n"
			"                           once the last chunk is read (not with --verify)\n"
			"      --load-jobs=N        with --spill: target sessions loading the files\n"
			"                           (default: --jobs)\n"
			"      --spill-limit=SIZE   with --spill: readers wait before a new chunk while the\n"
			"                           files not yet loaded take SIZE (e.g. 20GB) or more\n"
			"      --keep-spill         with --spill: keep the files once loaded\n"
			"      --compress-level=N   with --spill: zstd level, -100 to 19 (default: 1)\n"
			"      --max-rate=RATE      read at most RATE of COPY data per second from the\n"
			"                           source, e.g. 25MB, for the whole run, its workers on\n"
			"                           other hosts included (default: 0, no cap); \"pgsluice\n"
			"                           throttle\" changes it, or pauses the run, while it runs\n"
			"      --json=FILE          write a JSON report with every chunk and its digest\n"
			"      --io=KIND            auto, io_uring or poll (default: auto)\n"
			"      --no-direct-copy     move rows through libpq's COPY functions also on\n"
			"                           unencrypted connections (slower; encrypted ones always do)\n"
			"      --progress-interval=SECONDS\n"
			"                           on a terminal a live display, else a progress line\n"
			"                           every SECONDS; 0 for neither (default: 10)\n"
			"      --metrics-file=PATH  Prometheus metrics, rewritten every 5 s (node_exporter's\n"
			"                           textfile collector)\n"
			"      --metrics-listen=ADDR:PORT\n"
			"                           serve Prometheus metrics on http://ADDR:PORT/metrics\n"
			"  -q, --quiet              print errors only\n"
			"  -v, --verbose            print more, each line with its time and thread; twice\n"
			"                           (or --debug) for debug messages too\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure, 2 bad usage, 3 source error,\n"
			"4 target error, 5 interrupted, 6 --verify found the target different.\n",
			progname, progname, progname);
}

static void
usage_verify(FILE *out)
{
	fprintf(out,
			"%s verify proves that two databases hold the same rows, without writing to\n"
			"either: it compares the catalogs (tables, columns, keys, sequences), then reads\n"
			"every table chunk by chunk on both sides at once, at one snapshot per side, and\n"
			"compares each chunk's row count and 128-bit digest.  A keyed table of at most\n"
			"16 chunks and 1/N of the data (--jobs N) is read whole, in one pass, and by its\n"
			"chunks only if it differs.  A chunk that differs is narrowed down to its rows:\n"
			"missing on the target, extra on it, or changed (by key, with the columns that\n"
			"differ).\n\n"
			"Usage:\n"
			"  %s verify --source CONNINFO --target CONNINFO [OPTION]...\n\n"
			"Connection options:\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n\n"
			FILTER_HELP
			"Options:\n"
			"  -j, --jobs=N             worker threads, each with one connection per side\n"
			"                           (default: 4)\n"
			"      --chunk-size=SIZE    heap bytes per chunk, e.g. 64MB (default: 64MB)\n"
			"      --snapshot=ID        read the source at this exported snapshot (default:\n"
			"                           export one)\n"
			"      --sample=FRACTION    check this share of the chunks only, e.g. 0.05\n"
			"      --counts             compare row counts only\n"
			"      --max-diffs=N        name at most N differing rows, then stop (default:\n"
			"                           1000)\n"
			"      --max-rate=RATE      read at most RATE of COPY data per second from the\n"
			"                           source, e.g. 25MB (default: 0, no cap)\n"
			"      --json=FILE          write a JSON report with every chunk checked\n"
			"      --io=KIND            auto, io_uring or poll (default: auto)\n"
			"      --no-direct-copy     read rows through libpq's COPY functions also on\n"
			"                           unencrypted connections\n"
			"      --stall-timeout=SECONDS\n"
			"                           fail on a connection that moves no byte for SECONDS\n"
			"                           while a chunk is read; 0: never (default: 60)\n"
			"      --progress-interval=SECONDS\n"
			"                           on a terminal a live display, else a progress line\n"
			"                           every SECONDS; 0 for neither (default: 10)\n"
			"      --metrics-file=PATH  Prometheus metrics, rewritten every 5 s (node_exporter's\n"
			"                           textfile collector)\n"
			"      --metrics-listen=ADDR:PORT\n"
			"                           serve Prometheus metrics on http://ADDR:PORT/metrics\n"
			"  -q, --quiet              print errors only\n"
			"  -v, --verbose            print a line per table; twice for debug messages\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 identical, 1 different, 2 error.\n",
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

static const char *command = "clone";	/* for "Try ... --help" */

static int	bad_usage(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static int
bad_usage(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s %s --help\" for more information.\n", progname, command);
	return EXIT_USAGE;
}

enum
{
	OPT_CHUNK_SIZE = 256,
	OPT_DATA_ONLY,
	OPT_SPLIT_ALL,
	OPT_TRUNCATE,
	OPT_BEST_EFFORT,
	OPT_NO_OWNER,
	OPT_NO_PRIVILEGES,
	OPT_PG_BINDIR,
	OPT_JSON,
	OPT_IO,
	OPT_NO_DIRECT_COPY,
	OPT_PROGRESS,
	OPT_SNAPSHOT,
	OPT_SAMPLE,
	OPT_COUNTS,
	OPT_MAX_DIFFS,
	OPT_VERIFY,
	OPT_STATE_SCHEMA,
	OPT_RESUME,
	OPT_REQUIRE_CONSISTENT,
	OPT_RETRIES,
	OPT_RUN,
	OPT_DIR,
	OPT_COMPRESS_LEVEL,
	OPT_SPILL,
	OPT_LOAD_JOBS,
	OPT_SPILL_LIMIT,
	OPT_KEEP_SPILL,
	OPT_KEEP_RECORD,
	OPT_METRICS_FILE,
	OPT_METRICS_LISTEN,
	OPT_DEBUG,
	OPT_TABLE,
	OPT_MAX_RATE,
	OPT_PAUSE,
	OPT_STALL_TIMEOUT
};

/* The tables chosen with --table and the like, for the command that runs; freed by main. */
static cat_filter table_filter;

/* --max-diffs, for clone and verify alike; returns 0 or -1 after reporting. */
static int
parse_max_diffs(const char *arg, uint64_t *out)
{
	int			n;

	if (args_parse_int(arg, 1, 1000000000, &n) < 0)
		return bad_usage("invalid value \"%s\" for --max-diffs: want a number of rows, at least 1", arg), -1;
	*out = (uint64_t) n;
	return 0;
}

/* --compress-level, for dump and clone --spill; returns 0 or -1 after reporting. */
static int
parse_compress_level(const char *arg, int *out)
{
	if (args_parse_int(arg, -100, 19, out) < 0)
		return bad_usage("invalid value \"%s\" for --compress-level: want a zstd level from -100 to 19", arg), -1;
	return 0;
}

/* The table selection of clone, verify, plan, check and dump (engine/filter.h). */
#define FILTER_LONG_OPTIONS \
	{"table", required_argument, NULL, OPT_TABLE}, \
	{"exclude-table", required_argument, NULL, 'T'}, \
	{"schema", required_argument, NULL, 'n'}, \
	{"exclude-schema", required_argument, NULL, 'N'}
#define FILTER_SHORT_OPTIONS "T:n:N:"
/* Messages and help, for every command; with progress and metrics, for those that move data. */
#define LOG_LONG_OPTIONS \
	{"quiet", no_argument, NULL, 'q'}, \
	{"verbose", no_argument, NULL, 'v'}, \
	{"debug", no_argument, NULL, OPT_DEBUG}, \
	{"help", no_argument, NULL, '?'}
#define WATCH_LONG_OPTIONS \
	{"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT}, \
	{"progress-interval", required_argument, NULL, OPT_PROGRESS}, \
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE}, \
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN}, \
	LOG_LONG_OPTIONS

/* How the schema step restores (clone, restore, check). */
#define SCHEMA_LONG_OPTIONS \
	{"no-owner", no_argument, NULL, OPT_NO_OWNER}, \
	{"no-privileges", no_argument, NULL, OPT_NO_PRIVILEGES}, \
	{"pg-bindir", required_argument, NULL, OPT_PG_BINDIR}

/* The options every command that reads both servers takes. */
#define COMMON_LONG_OPTIONS \
	{"source", required_argument, NULL, 's'}, \
	{"target", required_argument, NULL, 't'}, \
	{"jobs", required_argument, NULL, 'j'}, \
	{"chunk-size", required_argument, NULL, OPT_CHUNK_SIZE}, \
	{"json", required_argument, NULL, OPT_JSON}, \
	{"io", required_argument, NULL, OPT_IO}, \
	{"no-direct-copy", no_argument, NULL, OPT_NO_DIRECT_COPY}, \
	WATCH_LONG_OPTIONS
#define COMMON_SHORT_OPTIONS "s:t:j:qv?"
/* --max-rate, for the commands that read a source or load a target */
#define RATE_LONG_OPTION {"max-rate", required_argument, NULL, OPT_MAX_RATE}

/* What the CLI parses for every command: the shared options, and its own. */
typedef struct cli_options
{
	common_options common;		/* handed to the command as it is */
	const char *json_path;
	int			progress_seconds;
	int			stall_seconds;	/* --stall-timeout (engine/conn.h) */
	const char *metrics_file;	/* Prometheus text, rewritten every few seconds */
	const char *metrics_listen; /* ADDR:PORT served over HTTP */
	log_level	level;
	bool		help;
} cli_options;

static void
common_defaults(cli_options *co)
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
}

/*
 * Takes option c if it is a common one: returns 1 when taken, 0 when not,
 * or -1 after reporting a bad value.
 */
static int
common_option(cli_options *co, int c, char **argv)
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
				return bad_usage("invalid value \"%s\" for --jobs: want a number from 1 to 256", optarg), -1;
			return 1;
		case OPT_CHUNK_SIZE:
			if (args_parse_size(optarg, &co->common.chunk_bytes) < 0 || co->common.chunk_bytes < 8192)
				return bad_usage("invalid value \"%s\" for --chunk-size: want a size such as 64MB, "
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
				return bad_usage("invalid value \"%s\" for --io: want auto, io_uring or poll", optarg), -1;
			return 1;
		case OPT_NO_DIRECT_COPY:
			co->common.via_libpq = true;
			return 1;
		case OPT_PROGRESS:
			if (args_parse_int(optarg, 0, 86400, &co->progress_seconds) < 0)
				return bad_usage("invalid value \"%s\" for --progress-interval: want seconds", optarg), -1;
			return 1;
		case OPT_STALL_TIMEOUT:
			if (args_parse_int(optarg, 0, 86400, &co->stall_seconds) < 0)
				return bad_usage("invalid value \"%s\" for --stall-timeout: want seconds from 0 (never) "
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
				return bad_usage("invalid value \"%s\" for --max-rate: want bytes per second as a size "
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
				if (filter_add(&table_filter, c == OPT_TABLE ? FILTER_TABLE : c == 'T' ? FILTER_EXCLUDE_TABLE
							   : c == 'n' ? FILTER_SCHEMA : FILTER_EXCLUDE_SCHEMA, optarg, &err) < 0)
					return bad_usage("%s", err.msg), -1;
				return 1;
			}
		case '?':
			if (optopt != 0 || (strcmp(argv[optind - 1], "-?") != 0 &&
								strcmp(argv[optind - 1], "--help") != 0))
				return bad_usage("%s", "invalid option"), -1;
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

/*
 * Once the options are good: the log level, the signal handlers, the
 * metrics, the progress display.  Returns 0, or EXIT_USAGE after saying why
 * the metrics cannot start.
 */
static int
start_command(const cli_options *co)
{
	sl_err		err;

	log_set_level(co->level);
	conn_set_stall_timeout(co->stall_seconds);
	err_clear(&err);
	metrics_begin(command, 0);
	if ((co->metrics_file != NULL && metrics_file_start(co->metrics_file, METRICS_FILE_SECONDS, &err) < 0) ||
		(co->metrics_listen != NULL && metrics_listen_start(co->metrics_listen, &err) < 0))
	{
		metrics_stop(NULL);
		return bad_usage("%s", err.msg);
	}
	install_signals();
	start_progress(co);
	/* the process's own cap; a run with a record then takes its record's (engine/rate.h) */
	rate_limit_configure(co->common.max_rate > 0 ? co->common.max_rate : 0);
	return 0;
}

/* After the command's work: the last progress and metrics. */
static void
end_command(void)
{
	sl_err		err;

	progress_stop();
	err_clear(&err);
	if (metrics_stop(&err) < 0)
		log_warning("%s", err.msg);
}

/* Checks what every command needs once the options are read; returns 0 or EXIT_USAGE. */
static int
common_finish(cli_options *co, int argc, char **argv)
{
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co->common.source == NULL || co->common.source[0] == '\0')
		return bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	if (co->common.target == NULL || co->common.target[0] == '\0')
		return bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	return start_command(co);
}


/* The options of commands that work on a run's record. */
static void
run_defaults(clone_options *opt)
{
	opt->max_diffs = DEFAULT_MAX_DIFFS;
	opt->state_schema = STATE_SCHEMA_DEFAULT;
	opt->retries = DEFAULT_RETRIES;
}

/* Takes --state-schema and --retries: 1 taken, 0 not, -1 bad value (reported). */
static int
run_option(clone_options *opt, int c)
{
	switch (c)
	{
		case OPT_STATE_SCHEMA:
			if (optarg[0] == '\0')
				return bad_usage("%s", "--state-schema needs a schema name"), -1;
			opt->state_schema = optarg;
			return 1;
		case OPT_RETRIES:
			if (args_parse_int(optarg, 0, 1000, &opt->retries) < 0)
				return bad_usage("invalid value \"%s\" for --retries: want a number from 0 to 1000",
								 optarg), -1;
			return 1;
	}
	return bad_usage("%s", "invalid option"), -1;
}

/* Appends str quoted for a POSIX shell. */
static void
shell_quote(char *out, size_t outlen, const char *str)
{
	size_t		n = strlen(out);

	if (strpbrk(str, "\"$`\\!") == NULL)
	{
		snprintf(out + n, outlen - n, "\"%s\"", str);	/* the usual case reads best */
		return;
	}
	if (n + 1 < outlen)
		out[n++] = '\'';
	for (const char *p = str; *p != '\0' && n + 5 < outlen; p++)
	{
		if (*p == '\'')
		{
			memcpy(out + n, "'\\''", 4);
			n += 4;
		}
		else
			out[n++] = *p;
	}
	if (n + 1 < outlen)
		out[n++] = '\'';
	out[n] = '\0';
}

/* Appends a connection string without its password, quoted for a POSIX shell. */
static void
shell_conninfo(char *out, size_t outlen, const char *conninfo)
{
	char	   *without = NULL;
	char	   *password = NULL;

	if (conn_split_password(conninfo, &without, &password) == 0)
		shell_quote(out, outlen, without);
	free(without);
	free(password);
}

/* Tells how to go on with a run that stopped; nothing is lost, the done chunks stay done. */
static void
say_resume(const clone_options *opt, int64_t run_id, bool interrupted)
{
	char		cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s clone --resume %lld --source ", progname, (long long) run_id);
	shell_conninfo(cmd, sizeof(cmd), opt->common.source);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --target ");
	shell_conninfo(cmd, sizeof(cmd), opt->common.target);
	if (strcmp(opt->state_schema, STATE_SCHEMA_DEFAULT) != 0)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --state-schema %s", opt->state_schema);
	if (opt->spill_dir != NULL)
	{
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --spill ");
		shell_quote(cmd, sizeof(cmd), opt->spill_dir);
	}
	log_error("run %lld %s; the chunks already copied stay; to go on: %s", (long long) run_id,
			  interrupted ? "was interrupted" : "stopped", cmd);
}

/*
 * The findings of the checks a run makes before it writes anything, as
 * pgsluice check prints them: blockers (which refuse the run) and warnings,
 * each line through the log, so that they stay above a live display.
 */
static void
show_check(const check_report *found, void *arg)
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

static int
cmd_clone(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		COMMON_LONG_OPTIONS,
		{"data-only", no_argument, NULL, OPT_DATA_ONLY},
		{"truncate", no_argument, NULL, OPT_TRUNCATE},
		{"split-all", no_argument, NULL, OPT_SPLIT_ALL},
		{"best-effort", no_argument, NULL, OPT_BEST_EFFORT},
		SCHEMA_LONG_OPTIONS,
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"max-diffs", required_argument, NULL, OPT_MAX_DIFFS},
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		{"resume", required_argument, NULL, OPT_RESUME},
		{"require-consistent", no_argument, NULL, OPT_REQUIRE_CONSISTENT},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"spill", required_argument, NULL, OPT_SPILL},
		{"load-jobs", required_argument, NULL, OPT_LOAD_JOBS},
		{"spill-limit", required_argument, NULL, OPT_SPILL_LIMIT},
		{"keep-spill", no_argument, NULL, OPT_KEEP_SPILL},
		{"compress-level", required_argument, NULL, OPT_COMPRESS_LEVEL},
		RATE_LONG_OPTION,
		{"keep-record", no_argument, NULL, OPT_KEEP_RECORD},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	clone_options opt = {0};
	bool		spill_option = false;	/* one that only --spill takes */
	clone_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	common_defaults(&co);
	run_defaults(&opt);
	optind = 1;
	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (c)
		{
			case OPT_DATA_ONLY:
				opt.data_only = true;
				break;
			case OPT_TRUNCATE:
				opt.truncate = true;
				break;
			case OPT_SPLIT_ALL:
				opt.split_all = true;
				break;
			case OPT_BEST_EFFORT:
				opt.best_effort = true;
				break;
			case OPT_VERIFY:
				opt.verify = true;
				break;
			case OPT_MAX_DIFFS:
				if (parse_max_diffs(optarg, &opt.max_diffs) < 0)
					return EXIT_USAGE;
				break;
			case OPT_RESUME:
				opt.resume = optarg;
				break;
			case OPT_REQUIRE_CONSISTENT:
				opt.require_consistent = true;
				break;
			case OPT_SPILL:
				if (optarg[0] == '\0')
					return bad_usage("%s", "--spill needs a directory");
				opt.spill_dir = optarg;
				break;
			case OPT_LOAD_JOBS:
				if (args_parse_int(optarg, 1, 256, &opt.load_jobs) < 0)
					return bad_usage("invalid value \"%s\" for --load-jobs: want a number from 1 to 256", optarg);
				spill_option = true;
				break;
			case OPT_SPILL_LIMIT:
				if (args_parse_size(optarg, &opt.spill_limit) < 0 || opt.spill_limit < 1)
					return bad_usage("invalid value \"%s\" for --spill-limit: want a size such as 10GB", optarg);
				spill_option = true;
				break;
			case OPT_KEEP_SPILL:
				opt.keep_spill = true;
				spill_option = true;
				break;
			case OPT_KEEP_RECORD:
				opt.keep_record = true;
				break;
			case OPT_COMPRESS_LEVEL:
				if (parse_compress_level(optarg, &opt.compress_level) < 0)
					return EXIT_USAGE;
				spill_option = true;
				break;
			default:
				if (run_option(&opt, c) < 0)
					return EXIT_USAGE;
				break;
		}
	}
	if (co.help)
	{
		usage_clone(stdout);
		return EXIT_OK;
	}
	if ((rc = common_finish(&co, argc, argv)) != 0)
		return rc;
	if (opt.truncate && !opt.data_only)
		return bad_usage("%s", "--truncate goes with --data-only (a clone with the schema step "
						 "needs an empty target database)");
	if (opt.resume != NULL && (opt.data_only || opt.truncate || opt.split_all))
		return bad_usage("%s", "--resume takes the run's own --data-only, --truncate and chunks: "
						 "leave out --data-only, --truncate and --split-all");
	if (spill_option && opt.spill_dir == NULL)
		return bad_usage("%s", "--load-jobs, --spill-limit, --keep-spill and --compress-level go with --spill");
	opt.common = co.common;
	opt.common.filter = &table_filter;
	opt.on_check = show_check;

	err_clear(&err);
	rc = clone_run(&opt, &report, &err);
	end_command();
	if (report != NULL && (rc == 0 || report->chunks_done > 0) && co.level > LOG_ERROR)
		report_summary(stdout, report);
	if (report != NULL && report->verify != NULL && rc == 0 && co.level > LOG_ERROR)
		report_verify_summary(stdout, report->verify, co.level >= LOG_VERBOSE);
	if (co.json_path != NULL && report != NULL)
	{
		int			jrc = report_json(co.json_path, report, &opt, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co.json_path, strerror(-jrc));
			if (rc == 0)
				rc = err_set(&err, SIDE_LOCAL, jrc, "could not write the JSON report");
		}
	}
	if (rc < 0)
	{
		log_failure(&err);
		if (report != NULL && report->run_id > 0 && err.side != SIDE_USAGE && !report->refused)
			say_resume(&opt, report->run_id, err.side == SIDE_INTERRUPT);
	}
	c = rc < 0 ? exit_code(&err)
		: report->verify != NULL && !verify_identical(report->verify) ? EXIT_DIFFERENT : EXIT_OK;
	clone_report_destroy(report);
	return c;
}

static int
cmd_verify(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		COMMON_LONG_OPTIONS,
		{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"counts", no_argument, NULL, OPT_COUNTS},
		{"max-diffs", required_argument, NULL, OPT_MAX_DIFFS},
		RATE_LONG_OPTION,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	verify_options opt = {0};
	verify_report *report = NULL;
	sl_err		err;
	char	   *end;
	int			c;
	int			rc;

	command = "verify";
	common_defaults(&co);
	opt.sample = 1.0;
	opt.max_diffs = DEFAULT_MAX_DIFFS;
	optind = 1;
	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return VERIFY_EXIT_ERROR;
		if (rc > 0)
			continue;
		switch (c)
		{
			case OPT_SNAPSHOT:
				opt.snapshot = optarg;
				break;
			case OPT_SAMPLE:
				opt.sample = strtod(optarg, &end);
				if (*end != '\0' || !(opt.sample > 0.0 && opt.sample <= 1.0))
					return bad_usage("invalid value \"%s\" for --sample: want a fraction above 0, "
									 "at most 1, such as 0.05", optarg), VERIFY_EXIT_ERROR;
				break;
			case OPT_COUNTS:
				opt.counts = true;
				break;
			case OPT_MAX_DIFFS:
				if (parse_max_diffs(optarg, &opt.max_diffs) < 0)
					return VERIFY_EXIT_ERROR;
				break;
			default:
				return bad_usage("%s", "invalid option"), VERIFY_EXIT_ERROR;
		}
	}
	if (co.help)
	{
		usage_verify(stdout);
		return EXIT_OK;
	}
	if (common_finish(&co, argc, argv) != 0)
		return VERIFY_EXIT_ERROR;
	opt.common = co.common;
	opt.common.filter = &table_filter;

	err_clear(&err);
	rc = verify_run(&opt, &report, &err);
	end_command();
	if (report != NULL && co.level > LOG_ERROR && rc == 0)
		report_verify_summary(stdout, report, co.level >= LOG_VERBOSE);
	if (co.json_path != NULL && report != NULL)
	{
		int			jrc = report_verify_json(co.json_path, report, &opt, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co.json_path, strerror(-jrc));
			if (rc == 0)
				rc = jrc;
		}
	}
	if (rc < 0 && err_is_set(&err))
		log_failure(&err);
	c = rc < 0 ? VERIFY_EXIT_ERROR : verify_identical(report) ? EXIT_OK : VERIFY_EXIT_DIFFERENT;
	verify_report_destroy(report);
	return c;
}

static void
usage_worker(FILE *out)
{
	fprintf(out,
			"%s worker joins a clone that another %s process started, on this host or\n"
			"another: it imports the run's snapshot while the first process holds it and\n"
			"copies the chunks no one has taken, each in one target transaction with its\n"
			"record, until none are left free.\n\n"
			"Usage:\n"
			"  %s worker --target CONNINFO --run RUN [OPTION]...\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"  -s, --source=CONNINFO    source database (default: the run's, without its\n"
			"                           password: .pgpass or PGPASSWORD supply it)\n"
			"      --run=RUN            the run to join: its number, or \"last\"\n"
			"  -j, --jobs=N             worker threads (default: 4)\n"
			"      --retries=N          attempts after a transient failure (default: %d)\n"
			"      --state-schema=NAME  where the run is recorded (default: %s)\n"
			"      --max-rate=RATE      set the whole run's cap, as \"throttle --max-rate\" does\n"
			"                           (default: the run's own); every process takes its share\n"
			"      --io, --no-direct-copy, --stall-timeout, --progress-interval,\n"
			"      --metrics-file, --metrics-listen, -q, -v   as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: as for clone.\n",
			progname, progname, progname, DEFAULT_RETRIES, STATE_SCHEMA_DEFAULT);
}

static void
usage_status(FILE *out)
{
	fprintf(out,
			"%s status shows a run's progress from its record in the target: chunks done,\n"
			"in flight and failed, rows, bytes, rate and the time left.  A run that finished\n"
			"removed its record, unless it ran with --keep-record.\n\n"
			"Usage:\n"
			"  %s status --target CONNINFO [--run RUN] [--json FILE]\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"      --run=RUN            a run number, or \"last\" (default: last)\n"
			"      --json=FILE          write it as JSON (\"-\": standard output)\n"
			"      --state-schema=NAME  where runs are recorded (default: %s)\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 shown, 2 error.\n",
			progname, progname, STATE_SCHEMA_DEFAULT);
}

static void
usage_cleanup(FILE *out)
{
	fprintf(out,
			"%s cleanup removes a run's record (its row and its chunks' rows) from the\n"
			"target, and the state schema when no other run is recorded there; the copied\n"
			"data stays.\n\n"
			"Usage:\n"
			"  %s cleanup --target CONNINFO --run RUN\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"      --run=RUN            a run number, or \"last\"\n"
			"      --state-schema=NAME  where runs are recorded (default: %s)\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 removed, 2 error.\n",
			progname, progname, STATE_SCHEMA_DEFAULT);
}

/* The options of worker, status and cleanup; the target is required, the source not. */
static const struct option record_options[] = {
	COMMON_LONG_OPTIONS,
	{"run", required_argument, NULL, OPT_RUN},
	{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
	{"retries", required_argument, NULL, OPT_RETRIES},
	RATE_LONG_OPTION,
	{NULL, 0, NULL, 0}
};

/* Parses a record command's options; returns 0, or the exit status to stop with (-1: help shown). */
static int
parse_record_options(int argc, char **argv, cli_options *co, clone_options *opt, const char **run,
					 void (*usage) (FILE *))
{
	int			c;
	int			rc;

	common_defaults(co);
	run_defaults(opt);
	optind = 1;
	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, record_options, NULL)) != -1)
	{
		if ((rc = common_option(co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		if (c == OPT_RUN)
			*run = optarg;
		else if (run_option(opt, c) < 0)
			return EXIT_USAGE;
	}
	if (co->help)
	{
		usage(stdout);
		return -1;
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co->common.target == NULL || co->common.target[0] == '\0')
		return bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (*run == NULL)
		return bad_usage("%s", "no run: give --run with a run number, or \"last\"");
	if (co->common.max_rate >= 0 && strcmp(command, "worker") != 0)
		return bad_usage("--max-rate goes with clone, verify, dump, restore and worker; to change a "
						 "running run's cap: %s throttle --run RUN --max-rate RATE", progname);
	return start_command(co);
}

static int
cmd_worker(int argc, char **argv)
{
	cli_options co;
	clone_options opt = {0};
	clone_report *report = NULL;
	const char *run = NULL;
	sl_err		err;
	int			rc;

	command = "worker";
	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, usage_worker)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	opt.common = co.common;
	opt.on_check = show_check;
	err_clear(&err);
	rc = clone_join(&opt, run, &report, &err);
	end_command();
	if (report != NULL && report->chunks_done > 0 && co.level > LOG_ERROR)
		report_summary(stdout, report);
	if (rc < 0)
		log_failure(&err);
	else if (report->chunks_done == 0 && !report->nothing_to_do)
		log_info("run %lld: no chunk was free to take", (long long) report->run_id);
	clone_report_destroy(report);
	return rc < 0 ? exit_code(&err) : EXIT_OK;
}

static int
cmd_status(int argc, char **argv)
{
	cli_options co;
	clone_options opt = {0};
	const char *run = "last";
	state_run	record;
	state_summary sum;
	sl_err		err;
	int			rc;

	command = "status";
	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, usage_status)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	err_clear(&err);
	if (run_status(co.common.target, opt.state_schema, run, &record, &sum, &err) < 0)
	{
		log_failure(&err);
		return EXIT_USAGE;
	}
	if (co.json_path != NULL)
		return report_status_json(co.json_path, &record, &sum) < 0 ? EXIT_USAGE : EXIT_OK;
	report_status(stdout, &record, &sum);
	return EXIT_OK;
}

static int
cmd_cleanup(int argc, char **argv)
{
	cli_options co;
	clone_options opt = {0};
	const char *run = NULL;
	int64_t		removed = 0;
	bool		schema_dropped = false;
	sl_err		err;
	int			rc;

	command = "cleanup";
	if ((rc = parse_record_options(argc, argv, &co, &opt, &run, usage_cleanup)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	err_clear(&err);
	if (run_cleanup(co.common.target, opt.state_schema, run, &removed, &schema_dropped, &err) < 0)
	{
		log_failure(&err);
		return EXIT_USAGE;
	}
	log_info("run %lld removed%s", (long long) removed,
			 schema_dropped ? ", and the state schema with it (no other run was recorded)" : "");
	return EXIT_OK;
}

static void
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

static int
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
	int			rc;

	command = "throttle";
	common_defaults(&co);
	run_defaults(&opt);
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:qv?", long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		if (c == OPT_RUN)
			run = optarg;
		else if (c == OPT_PAUSE || c == OPT_RESUME)
		{
			if (paused >= 0 && paused != (c == OPT_PAUSE))
				return bad_usage("%s", "--pause and --resume go one at a time");
			paused = c == OPT_PAUSE;
		}
		else if (run_option(&opt, c) < 0)
			return EXIT_USAGE;
	}
	if (co.help)
	{
		usage_throttle(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.target == NULL || co.common.target[0] == '\0')
		return bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (run == NULL)
		return bad_usage("%s", "no run: give --run with a run number, or \"last\"");
	if (co.common.max_rate < 0 && paused < 0)
		return bad_usage("%s", "nothing to change: give --max-rate RATE, --pause or --resume");
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

static void
usage_dump(FILE *out)
{
	fprintf(out,
			"%s dump writes a database into a directory: every chunk of the plan read at one\n"
			"snapshot into a file of zstd frames, the schema beside them, and a manifest with\n"
			"each chunk's rows, bytes and digest.  \"%s restore\" loads it.  The source's\n"
			"part of \"pgsluice check\" runs first: a blocker (tables it may not read...)\n"
			"stops it before it writes anything.\n\n"
			"Usage:\n"
			"  %s dump --source CONNINFO --dir DIR [OPTION]...\n\n"
			FILTER_HELP
			"Options:\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -d, --dir=DIR            the dump directory, new or empty (made with mode 0700)\n"
			"  -j, --jobs=N             worker threads (default: 4)\n"
			"      --chunk-size=SIZE    heap bytes per chunk (default: 64MB)\n"
			"      --compress-level=N   zstd level, -100 to 19 (default: 1)\n"
			"      --best-effort        no shared snapshot\n"
			"      --pg-bindir=DIR      where pg_dump is\n"
			"      --max-rate=RATE      read at most RATE of COPY data per second from the\n"
			"                           source, e.g. 25MB (default: 0, no cap)\n"
			"      --io=KIND            auto, io_uring or poll: socket waits and file writes\n"
			"      --no-direct-copy, --stall-timeout, --progress-interval, --metrics-file,\n"
			"      --metrics-listen, -q, -v   as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure (a full disk among them), 2 bad usage,\n"
			"3 source error, 5 interrupted.\n",
			progname, progname, progname);
}

static int
cmd_dump(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		{"source", required_argument, NULL, 's'},
		{"dir", required_argument, NULL, 'd'},
		{"jobs", required_argument, NULL, 'j'},
		{"chunk-size", required_argument, NULL, OPT_CHUNK_SIZE},
		{"compress-level", required_argument, NULL, OPT_COMPRESS_LEVEL},
		{"best-effort", no_argument, NULL, OPT_BEST_EFFORT},
		{"pg-bindir", required_argument, NULL, OPT_PG_BINDIR},
		{"io", required_argument, NULL, OPT_IO},
		{"no-direct-copy", no_argument, NULL, OPT_NO_DIRECT_COPY},
		RATE_LONG_OPTION,
		WATCH_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	dump_options opt = {0};
	dump_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	command = "dump";
	common_defaults(&co);
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:d:j:qv?" FILTER_SHORT_OPTIONS, long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (c)
		{
			case 'd':
				opt.dir = optarg;
				break;
			case OPT_COMPRESS_LEVEL:
				if (parse_compress_level(optarg, &opt.compress_level) < 0)
					return EXIT_USAGE;
				break;
			case OPT_BEST_EFFORT:
				opt.best_effort = true;
				break;
			default:
				return bad_usage("%s", "invalid option");
		}
	}
	if (co.help)
	{
		usage_dump(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.source == NULL || co.common.source[0] == '\0')
		return bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	if (opt.dir == NULL || opt.dir[0] == '\0')
		return bad_usage("%s", "no directory: give --dir");
	if ((rc = start_command(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.target = NULL;	/* a dump has none */
	opt.common.filter = &table_filter;
	opt.on_check = show_check;
	err_clear(&err);
	rc = dump_run(&opt, &report, &err);
	end_command();
	if (rc == 0 && co.level > LOG_ERROR)
		printf("dump %s: %d tables, %d chunks, %llu rows, %.1f MB of COPY data in %.1f MB of files "
			   "(%.2fx), %.1f MB/s; schema %.1f s, data %.1f s, total %.1f s\n", report->dump_id,
			   report->cat->ntables, report->chunks_done, (unsigned long long) report->rows,
			   (double) report->bytes / 1048576.0, (double) report->compressed / 1048576.0,
			   report->compressed ? (double) report->bytes / (double) report->compressed : 0,
			   report->seconds_data > 0 ? (double) report->bytes / 1048576.0 / report->seconds_data : 0,
			   report->seconds_schema, report->seconds_data, report->seconds_total);
	if (rc < 0)
		log_failure(&err);
	dump_report_destroy(report);
	return rc < 0 ? exit_code(&err) : EXIT_OK;
}

static void
usage_restore(FILE *out)
{
	fprintf(out,
			"%s restore loads a dump directory (made by \"%s dump\") into a target database:\n"
			"it checks every chunk file first (nothing is written when one is missing, damaged\n"
			"or of another dump), restores the schema's pre-data, loads the chunks in parallel,\n"
			"each checked against its digest as it is read, then sequences, indexes and\n"
			"constraints.  It is recorded like a clone and resumes like one.  The target's\n"
			"part of \"%s check\" runs first: a blocker (a role the dump's objects need\n"
			"missing there...) stops it before it writes anything.\n\n"
			"Usage:\n"
			"  %s restore --dir DIR --target CONNINFO [OPTION]...\n\n"
			"Options:\n"
			"  -d, --dir=DIR            the dump directory\n"
			"  -t, --target=CONNINFO    target database, which must exist (default:\n"
			"                           $PGSLUICE_TARGET)\n"
			"  -j, --jobs=N             worker threads, and pg_restore's jobs (default: 4)\n"
			"      --resume=RUN         go on with a restore that stopped (number or \"last\")\n"
			"      --retries=N          attempts at a chunk after a transient failure (default: %d)\n"
			"      --state-schema=NAME  where the run is recorded (default: %s)\n"
			"      --max-rate=RATE      write at most RATE of COPY data per second to the\n"
			"                           target, e.g. 25MB (default: 0, no cap); \"pgsluice\n"
			"                           throttle\" changes it, or pauses the run, while it runs\n"
			"      --keep-record        keep the run's record once it has finished\n"
			"      --no-owner, --no-privileges, --pg-bindir, --stall-timeout,\n"
			"      --progress-interval, --metrics-file, --metrics-listen, -q, -v\n"
			"                           as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure, 2 bad usage or a bad dump directory,\n"
			"4 target error, 5 interrupted.\n",
			progname, progname, progname, progname, DEFAULT_RETRIES, STATE_SCHEMA_DEFAULT);
}

static int
cmd_restore(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"target", required_argument, NULL, 't'},
		{"jobs", required_argument, NULL, 'j'},
		{"resume", required_argument, NULL, OPT_RESUME},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		RATE_LONG_OPTION,
		{"keep-record", no_argument, NULL, OPT_KEEP_RECORD},
		SCHEMA_LONG_OPTIONS,
		WATCH_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	clone_options run = {0};
	restore_options opt = {0};
	restore_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	command = "restore";
	common_defaults(&co);
	run_defaults(&run);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:t:j:qv?", long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (c)
		{
			case 'd':
				opt.dir = optarg;
				break;
			case OPT_RESUME:
				opt.resume = optarg;
				break;
			case OPT_KEEP_RECORD:
				opt.keep_record = true;
				break;
			default:
				if (run_option(&run, c) < 0)
					return EXIT_USAGE;
				break;
		}
	}
	if (co.help)
	{
		usage_restore(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (opt.dir == NULL || opt.dir[0] == '\0')
		return bad_usage("%s", "no directory: give --dir");
	if (co.common.target == NULL || co.common.target[0] == '\0')
		return bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if ((rc = start_command(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.source = NULL;	/* the dump stands for it */
	opt.state_schema = run.state_schema;
	opt.retries = run.retries;
	opt.on_check = show_check;
	err_clear(&err);
	rc = restore_run(&opt, &report, &err);
	end_command();
	if (rc == 0 && co.level > LOG_ERROR)
		printf("restore of dump %s (run %lld): %d chunks loaded (%d before), %llu rows, %.1f MB of COPY "
			   "data from %.1f MB of files, %.1f MB/s; check %.1f s, schema %.1f s, data %.1f s, "
			   "post-data %.1f s, total %.1f s\n", report->dump_id, (long long) report->run_id,
			   report->chunks_done, report->chunks_before, (unsigned long long) report->rows,
			   (double) report->bytes / 1048576.0, (double) report->compressed / 1048576.0,
			   report->seconds_data > 0 ? (double) report->bytes / 1048576.0 / report->seconds_data : 0,
			   report->seconds_check, report->seconds_schema, report->seconds_data,
			   report->seconds_post, report->seconds_total);
	if (rc < 0)
	{
		log_failure(&err);
		if (report != NULL && report->run_id > 0 && err.side != SIDE_USAGE)
			log_error("run %lld stopped; the chunks already loaded stay; to go on: %s restore --resume "
					  "%lld --dir DIR --target CONNINFO", (long long) report->run_id, progname,
					  (long long) report->run_id);
	}
	restore_report_destroy(report);
	return rc < 0 ? exit_code(&err) : EXIT_OK;
}

static void
usage_plan(FILE *out)
{
	fprintf(out,
			"%s plan shows what a clone would do, before it does it: every table with its\n"
			"size, key, split (key ranges, ctid ranges or whole) and chunk count, binary or\n"
			"text format and why, the tables without a usable key, and an estimate of the\n"
			"clone's wall time from a short timed read of the source.  It reads the source\n"
			"(and the target's version, when given) and writes nothing.  The chunks are\n"
			"those a clone with the same --jobs, --chunk-size, --split-all and --data-only\n"
			"takes from an unchanged source.\n\n"
			"Usage:\n"
			"  %s plan --source CONNINFO [--target CONNINFO] [OPTION]...\n\n"
			FILTER_HELP
			"Options:\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database, for its version (default:\n"
			"                           $PGSLUICE_TARGET; none: the source's version)\n"
			"  -j, --jobs=N             sessions the estimate assumes (default: 4)\n"
			"      --chunk-size=SIZE    heap bytes per chunk (default: 64MB)\n"
			"      --split-all          plan a clone with --split-all\n"
			"      --data-only          plan a clone with --data-only\n"
			"      --json=FILE          write the plan as JSON, every chunk included\n"
			"  -v, --verbose            list every chunk's range\n"
			"  -q, --quiet              print errors only\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure, 2 bad usage, 3 source error,\n"
			"4 target error.\n",
			progname, progname);
}

static int
cmd_plan(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		COMMON_LONG_OPTIONS,
		{"data-only", no_argument, NULL, OPT_DATA_ONLY},
		{"split-all", no_argument, NULL, OPT_SPLIT_ALL},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	forecast_options opt = {0};
	forecast   *f = NULL;
	sl_err		err;
	int			c;
	int			rc;

	command = "plan";
	common_defaults(&co);
	optind = 1;
	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		if (c == OPT_DATA_ONLY)
			opt.data_only = true;
		else if (c == OPT_SPLIT_ALL)
			opt.split_all = true;
		else
			return bad_usage("%s", "invalid option");
	}
	if (co.help)
	{
		usage_plan(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.source == NULL || co.common.source[0] == '\0')
		return bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	co.progress_seconds = 0;
	if ((rc = start_command(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.target = co.common.target != NULL && co.common.target[0] != '\0' ? co.common.target : NULL;
	opt.common.filter = &table_filter;
	err_clear(&err);
	rc = forecast_run(&opt, &f, &err);
	if (rc == 0 && co.level > LOG_ERROR)
		report_forecast(stdout, f, opt.common.jobs, co.level >= LOG_VERBOSE);
	if (rc == 0 && co.json_path != NULL && (rc = report_forecast_json(co.json_path, f, &opt)) < 0)
		rc = err_set(&err, SIDE_LOCAL, rc, "could not write the JSON report \"%s\": %s", co.json_path,
					 strerror(-rc));
	forecast_destroy(f);
	if (rc < 0)
	{
		log_failure(&err);
		return exit_code(&err);
	}
	return EXIT_OK;
}

/*
 * Connection strings in the arguments may hold passwords, which every user
 * of the machine could read in a process listing: each argument that holds
 * one is copied for the options to read, and masked in place.
 */
static void
hide_passwords(int argc, char **argv)
{
	static char *copies[64];	/* the arguments' values from now on, for the process's life */
	int			ncopies = 0;

	for (int i = 1; i < argc && ncopies < (int) (sizeof(copies) / sizeof(copies[0])); i++)
	{
		char	   *value = argv[i];
		char	   *copy;

		if (strncmp(value, "--", 2) == 0 && strchr(value, '=') != NULL)
			value = strchr(value, '=') + 1; /* --source=... */
		if ((copy = strdup(argv[i])) == NULL)
			continue;
		if (args_mask_password(value))
		{
			argv[i] = copy;
			copies[ncopies++] = copy;
		}
		else
			free(copy);
	}
}

/* check's own: 0 clean (notes only), 1 warnings, 2 blockers (and bad usage, or a check that could not run) */
#define CHECK_EXIT_WARNINGS 1
#define CHECK_EXIT_BLOCKERS 2

static void
usage_check(FILE *out)
{
	fprintf(out,
			"%s check reads the source and the target (and writes to neither) and says what\n"
			"would stop a clone, or put data at risk, before one starts: versions, privileges,\n"
			"extensions, roles, the target's tables, tables without a key or moving as text,\n"
			"large objects, unlogged tables, materialized views, connection slots, the lock\n"
			"table, settings, pg_dump, and the disk of a spill directory.  Each finding has a\n"
			"severity (blocker, warning, note, ok), a side, a code and the fix.\n\n"
			"Usage:\n"
			"  %s check --source CONNINFO --target CONNINFO [OPTION]...\n\n"
			FILTER_HELP
			"Options (give those the clone will have):\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"  -j, --jobs=N             the clone's worker threads (default: 4)\n"
			"      --chunk-size=SIZE    the clone's heap bytes per chunk (default: 64MB)\n"
			"      --data-only          the clone loads into the target's existing tables\n"
			"      --spill=DIR          the clone spills chunk files into DIR\n"
			"      --no-owner, --no-privileges, --pg-bindir=DIR, --state-schema=NAME\n"
			"                           as for clone\n"
			"      --json=FILE          write every finding as JSON\n"
			"  -q, --quiet              print blockers and warnings only\n"
			"  -v, --verbose            name every object of a finding, not the first ten\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 nothing in the way (notes at most), 1 warnings, 2 blockers, bad\n"
			"usage, or a check that could not run.\n",
			progname, progname);
}

static int
cmd_check(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		{"source", required_argument, NULL, 's'},
		{"target", required_argument, NULL, 't'},
		{"jobs", required_argument, NULL, 'j'},
		{"chunk-size", required_argument, NULL, OPT_CHUNK_SIZE},
		{"data-only", no_argument, NULL, OPT_DATA_ONLY},
		{"spill", required_argument, NULL, OPT_SPILL},
		SCHEMA_LONG_OPTIONS,
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		{"json", required_argument, NULL, OPT_JSON},
		LOG_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	clone_options run = {0};
	check_options opt = {0};
	check_report *report = NULL;
	check_severity worst;
	sl_err		err;
	int			c;
	int			rc;

	command = "check";
	common_defaults(&co);
	run_defaults(&run);
	optind = 1;
	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, NULL)) != -1)
	{
		if ((rc = common_option(&co, c, argv)) < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		switch (c)
		{
			case OPT_DATA_ONLY:
				opt.data_only = true;
				break;
			case OPT_SPILL:
				if (optarg[0] == '\0')
					return bad_usage("%s", "--spill needs a directory");
				opt.spill_dir = optarg;
				break;
			default:
				if (run_option(&run, c) < 0)
					return EXIT_USAGE;
				break;
		}
	}
	if (co.help)
	{
		usage_check(stdout);
		return EXIT_OK;
	}
	co.progress_seconds = 0;	/* a few queries: nothing to show progress of */
	if ((rc = common_finish(&co, argc, argv)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.filter = &table_filter;
	opt.state_schema = run.state_schema;

	err_clear(&err);
	rc = check_run(&opt, &report, &err);
	if (report != NULL)
		report_check(stdout, report, co.level < LOG_INFO, co.level >= LOG_VERBOSE);
	if (co.json_path != NULL && report != NULL)
	{
		int			jrc = report_check_json(co.json_path, report, &opt, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co.json_path, strerror(-jrc));
			if (rc == 0)
				rc = err_set(&err, SIDE_LOCAL, jrc, "could not write the JSON report");
		}
	}
	if (rc < 0 && err_is_set(&err))
		log_failure(&err);
	worst = report != NULL ? check_worst(report) : CHECK_BLOCKER;
	check_report_destroy(report);
	end_command();
	if (rc < 0 || worst == CHECK_BLOCKER)
		return CHECK_EXIT_BLOCKERS;
	return worst == CHECK_WARNING ? CHECK_EXIT_WARNINGS : EXIT_OK;
}

/* Runs the command argv[1] names. */
static int
run_command(int argc, char **argv)
{
	if (strcmp(argv[1], "clone") == 0)
		return cmd_clone(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "plan") == 0)
		return cmd_plan(argc - 1, argv + 1);
	if (strcmp(argv[1], "worker") == 0)
		return cmd_worker(argc - 1, argv + 1);
	if (strcmp(argv[1], "dump") == 0)
		return cmd_dump(argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_restore(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "cleanup") == 0)
		return cmd_cleanup(argc - 1, argv + 1);
	if (strcmp(argv[1], "throttle") == 0)
		return cmd_throttle(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "%s: error: unknown command \"%s\"\nTry \"%s --help\" for more information.\n",
			progname, argv[1], progname);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	int			rc;

	hide_passwords(argc, argv);
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
	rc = run_command(argc, argv);
	filter_free(&table_filter);
	return rc;
}
