/*
 * cli.h: what the files of the CLI share.  main.c holds the table of
 * commands (name, summary, run, usage), from which --help and the manual
 * page come; each command's options are parsed beside it, in
 * cli/cmd_NAME.c, into that command's options (cmd/, engine/) with the
 * shared ones in one cli_options (cli/options.c) whose common part the
 * command takes as it is.  Only the CLI exits.
 *
 * Exit codes of clone (and of most commands):
 *   0 success, 1 other failure (local I/O, memory, a child program),
 *   2 bad usage, 3 source error, 4 target error, 5 interrupted,
 *   6 the copy differs from the source (--verify);
 * of verify: 0 identical, 1 different, 2 error (usage, connection, signal);
 * of check: 0 clean (notes at most), 1 warnings, 2 blockers or error.
 */
#ifndef PGSLUICE_CLI_CLI_H
#define PGSLUICE_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "cmd/clone.h"
#include "cmd/cluster.h"
#include "engine/check.h"
#include "engine/filter.h"
#include "engine/globals.h"
#include "engine/log.h"
#include "engine/options.h"

#define EXIT_OK 0
#define EXIT_FAILURE_OTHER 1
#define EXIT_USAGE 2
#define EXIT_SOURCE 3
#define EXIT_TARGET 4
#define EXIT_INTERRUPTED 5
#define EXIT_DIFFERENT 6
#define DEFAULT_MAX_DIFFS 1000
#define DEFAULT_RETRIES 5

/* One command: what --help lists, and what runs it. */
typedef struct cli_command
{
	const char *name;
	const char *summary;		/* one line, in --help's list of commands */
	int			(*run) (int argc, char **argv); /* argv[0] is the command's name; returns the exit status */
	void		(*usage) (FILE *out);	/* its --help */
} cli_command;

extern const char *progname;		/* "pgsluice" */
extern const char *cli_command_name;	/* the command that runs, for "Try ... --help" and metrics */
extern cat_filter cli_table_filter; /* --table and the like, for the command that runs; freed by main */

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
	OPT_STALL_TIMEOUT,
	OPT_ALL_DATABASES,
	OPT_DATABASE,
	OPT_EXCLUDE_DATABASE,
	OPT_DATABASE_MAP,
	OPT_NO_ROLES,
	OPT_NO_ROLE_PASSWORDS,
	OPT_NO_TABLESPACES,
	OPT_DATABASE_JOBS,
	OPT_FOLLOW,
	OPT_FOLLOW_SOURCE,
	OPT_FORCE,
	OPT_MAX_WAIT,
	OPT_SEQUENCE_MARGIN,
	OPT_MAX_SLOT_WAL,
	OPT_WATCH,
	OPT_REPAIR,
	OPT_REPAIR_SQL,
	OPT_REPAIR_CHUNK_LIMIT,
	OPT_REPAIR_WHOLE_TABLES
};

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
	{"no-tablespaces", no_argument, NULL, OPT_NO_TABLESPACES}, \
	{"pg-bindir", required_argument, NULL, OPT_PG_BINDIR}

/* Whole clusters (clone, verify): which databases, and the roles. */
#define CLUSTER_LONG_OPTIONS \
	{"all-databases", no_argument, NULL, OPT_ALL_DATABASES}, \
	{"database", required_argument, NULL, OPT_DATABASE}, \
	{"exclude-database", required_argument, NULL, OPT_EXCLUDE_DATABASE}, \
	{"database-map", required_argument, NULL, OPT_DATABASE_MAP}, \
	{"no-roles", no_argument, NULL, OPT_NO_ROLES}, \
	{"no-role-passwords", no_argument, NULL, OPT_NO_ROLE_PASSWORDS}

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


/* Says what is wrong and how to get help; returns EXIT_USAGE. */
int			cli_bad_usage(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* The exit status of an error: by its side (source, target, usage, interrupt, other). */
int			cli_exit_code(const sl_err *err);

/* --max-diffs and --compress-level; 0, or -1 after reporting. */
int			cli_parse_max_diffs(const char *arg, uint64_t *out);
int			cli_parse_compress_level(const char *arg, int *out);

/* The defaults, from PGSLUICE_SOURCE and PGSLUICE_TARGET among others. */
void		cli_defaults(cli_options *co);

/* Takes option c if it is a shared one: 1 taken, 0 not, -1 after reporting a bad value. */
int			cli_option(cli_options *co, int c, char **argv);

/*
 * The next option of argv that is the command's own (getopt_long's code,
 * optarg its value), the shared ones taken into co on the way; CLI_NO_MORE
 * after the last, CLI_BAD_OPTION after reporting a bad one (exit with
 * EXIT_USAGE).  cli_defaults starts it from the first argument.
 */
#define CLI_NO_MORE (-1)
#define CLI_BAD_OPTION (-2)
int			cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
					   cli_options *co);

/*
 * Once the options are good: the log level, the signal handlers, the
 * metrics, the progress display.  Returns 0, or EXIT_USAGE.
 */
int			cli_start(const cli_options *co);

/* cli_start after checking the arguments are done and both sides given; 0 or EXIT_USAGE. */
int			cli_finish(cli_options *co, int argc, char **argv);

/* After the command's work: the last progress and metrics. */
void		cli_end(void);

/* The options of commands that work on a run's record: --state-schema, --retries. */
void		cli_run_defaults(clone_options *opt);
int			cli_run_option(clone_options *opt, int c);

/* What CLUSTER_LONG_OPTIONS gave. */
typedef struct cli_cluster
{
	bool		all_databases;
	bool		used;			/* an option that goes with --all-databases only */
	globals_patterns patterns;	/* the arguments point into argv */
	bool		no_roles;
	bool		no_role_passwords;
} cli_cluster;

/* Takes option c if it is a cluster one: 1 taken, 0 not, -1 out of memory (reported). */
int			cli_cluster_option(cli_cluster *cc, int c, char *arg);

/*
 * After the options: cluster options without --all-databases are bad
 * usage: EXIT_USAGE (reported), else 0.
 */
int			cli_cluster_finish(const cli_cluster *cc);

void		cli_cluster_fini(cli_cluster *cc);

/* The cluster options of the command that runs; freed by main, as cli_table_filter. */
extern cli_cluster cli_databases;

/*
 * After clone, dump or restore --all-databases: the summary (unless the run
 * was refused before it wrote anything), the JSON report, the error; the
 * exit status: the run's error, else the first failed database's, else
 * EXIT_DIFFERENT when one was verified different, else 0.
 */
int			cli_cluster_report(const cluster_report *report, const cli_options *co, const common_options *common,
							   bool no_role_passwords, int rc, sl_err *err);

/* Shows the findings of the checks a command runs first (check_shown_fn). */
void		cli_show_check(const check_report *found, void *arg);

/* The commands, each in cli/cmd_NAME.c. */
int			cmd_clone(int argc, char **argv);
void		usage_clone(FILE *out);
int			cmd_verify(int argc, char **argv);
void		usage_verify(FILE *out);
int			cmd_check(int argc, char **argv);
void		usage_check(FILE *out);
int			cmd_dump(int argc, char **argv);
void		usage_dump(FILE *out);
int			cmd_restore(int argc, char **argv);
void		usage_restore(FILE *out);
int			cmd_plan(int argc, char **argv);
void		usage_plan(FILE *out);
int			cmd_worker(int argc, char **argv);
void		usage_worker(FILE *out);
int			cmd_status(int argc, char **argv);
void		usage_status(FILE *out);
int			cmd_throttle(int argc, char **argv);
void		usage_throttle(FILE *out);
int			cmd_cutover(int argc, char **argv);
void		usage_cutover(FILE *out);
int			cmd_cleanup(int argc, char **argv);
void		usage_cleanup(FILE *out);

#endif
