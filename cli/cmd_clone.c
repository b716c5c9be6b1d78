/*
 * cmd_clone.c: the clone command's options and its report, and how to resume a run
 * that stopped (cmd/clone.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/clone.h"
#include "cmd/cluster.h"
#include "engine/conn.h"
#include "engine/verify.h"

void
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
			"Whole clusters:\n"
			"      --all-databases      copy every connectable database of the source but\n"
			"                           template0 and template1, roles first; the connection\n"
			"                           strings name the servers, their dbname (default:\n"
			"                           postgres) the maintenance database.  Each database is\n"
			"                           created on the target with its owner, encoding, locale,\n"
			"                           connection limit, comment, ACL and settings, then cloned\n"
			"      --database=PATTERN   only the databases that match (as often as needed)\n"
			"      --exclude-database=PATTERN\n"
			"                           not the databases that match (pg_dumpall's patterns)\n"
			"      --database-map=OLD=NEW\n"
			"                           land database OLD under the name NEW\n"
			"      --no-roles           leave the roles out (they must be there)\n"
			"      --no-role-passwords  create roles without their password hashes\n"
			"      --database-jobs=N    databases copied at once, each by a process of its own\n"
			"                           (default: three times --jobs, at most --jobs + 6,\n"
			"                           fewer where a server lacks the connection slots); their\n"
			"                           chunks in flight stay at --jobs in all\n\n"
			"Live follow:\n"
			"      --follow             keep the target in sync after the copy, through\n"
			"                           PostgreSQL's logical replication: a publication of the\n"
			"                           chosen tables and a slot on the source, whose snapshot\n"
			"                           the copy reads at, then a subscription on the target;\n"
			"                           the clone exits once it streams, and \"%s cutover\"\n"
			"                           ends it (with --all-databases, one per database)\n"
			"      --follow-source=CONNINFO\n"
			"                           how the target's server reaches the source, with its\n"
			"                           password (default: --source)\n\n"
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
			"      --no-tablespaces     do not restore tablespaces: everything goes to the\n"
			"                           target's default (with --all-databases, new databases too)\n"
			"      --pg-bindir=DIR      where pg_dump and pg_restore are (default: those of the\n"
			"                           newer server's major version, found by themselves)\n"
			"      --verify             verify the copy at the end: the target is read and\n"
			"                           checked against the digests taken of the source rows\n"
			"                           (both sides are read with --best-effort)\n"
			"      --max-diffs=N        with --verify: name at most N differing rows\n"
			"                           (default: 1000)\n"
			"      --repair             with --verify: a target that differs is repaired, as\n"
			"                           verify --repair does, and checked again before the\n"
			"                           clone ends\n"
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
			progname, progname, progname, progname);
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

/* A follow run streams: how far behind, and how to end it. */
/* The cutover command of a follow run (run_id 0: of every database, --all-databases) into cmd. */
static void
cutover_command(char *cmd, size_t len, const clone_options *opt, int64_t run_id)
{
	snprintf(cmd, len, "%s cutover%s --target ", progname, run_id > 0 ? "" : " --all-databases");
	shell_conninfo(cmd, len, opt->common.target);
	if (run_id > 0)
		snprintf(cmd + strlen(cmd), len - strlen(cmd), " --run %lld", (long long) run_id);
	if (strcmp(opt->state_schema, STATE_SCHEMA_DEFAULT) != 0)
		snprintf(cmd + strlen(cmd), len - strlen(cmd), " --state-schema %s", opt->state_schema);
}

static void
say_cutover(const clone_options *opt, const clone_report *r)
{
	char		cmd[4096];
	char		lag[32];

	cutover_command(cmd, sizeof(cmd), opt, r->run_id);
	sbuf_format_bytes((uint64_t) r->replication.lag_bytes, lag, sizeof(lag));
	printf("follow: run %lld streams through subscription %s, %s behind the source (lag %.1f s)\n"
		   "follow: once the application has stopped writing to the source: %s --verify\n",
		   (long long) r->run_id, r->follow_name, lag, r->replication.lag_seconds, cmd);
}

/* clone --all-databases: the run, its report, and how to resume each database that failed. */
static int
run_cluster(cluster_options *opt, const cli_options *co)
{
	cluster_report *report = NULL;
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = cluster_clone_run(opt, &report, &err);
	rc = cli_cluster_report(report, co, &opt->clone.common, opt->globals.no_role_passwords, rc, &err);
	if (rc == EXIT_OK && opt->clone.follow && report != NULL)
	{
		char		cmd[4096];

		cutover_command(cmd, sizeof(cmd), &opt->clone, 0);
		printf("follow: each database streams through its own subscription (%s status --all-databases shows "
			   "them)\nfollow: once the application has stopped writing to the source: %s --verify\n",
			   progname, cmd);
	}
	for (int i = 0; report != NULL && i < report->ndatabases; i++)
	{
		const cluster_database *db = &report->databases[i];
		clone_options one = opt->clone;
		char	   *source = NULL;
		char	   *target = NULL;

		if (db->status != CLUSTER_DB_FAILED || db->run_id <= 0 || db->err.side == SIDE_USAGE || db->refused)
			continue;
		if (conn_info_with_dbname(opt->clone.common.source, db->name, &source) == 0 &&
			conn_info_with_dbname(opt->clone.common.target, db->target_name, &target) == 0)
		{
			one.common.source = source;
			one.common.target = target;
			say_resume(&one, db->run_id, db->err.side == SIDE_INTERRUPT);
		}
		free(source);
		free(target);
	}
	cluster_report_destroy(report);
	return rc;
}

int
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
		{"repair", no_argument, NULL, OPT_REPAIR},
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
		CLUSTER_LONG_OPTIONS,
		{"database-jobs", required_argument, NULL, OPT_DATABASE_JOBS},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{"follow-source", required_argument, NULL, OPT_FOLLOW_SOURCE},
		{NULL, 0, NULL, 0}
	};
	cluster_options cluster = {0};
	cli_cluster *cc = &cli_databases;
	cli_options co;
	clone_options opt = {0};
	bool		spill_option = false;	/* one that only --spill takes */
	clone_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	cli_defaults(&co);
	cli_run_defaults(&opt);
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, &co)) > 0)
	{
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
			case OPT_REPAIR:
				opt.repair = true;
				break;
			case OPT_MAX_DIFFS:
				if (cli_parse_max_diffs(optarg, &opt.max_diffs) < 0)
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
					return cli_bad_usage("%s", "--spill needs a directory");
				opt.spill_dir = optarg;
				break;
			case OPT_LOAD_JOBS:
				if (args_parse_int(optarg, 1, 256, &opt.load_jobs) < 0)
					return cli_bad_usage("invalid value \"%s\" for --load-jobs: want a number from 1 to 256", optarg);
				spill_option = true;
				break;
			case OPT_SPILL_LIMIT:
				if (args_parse_size(optarg, &opt.spill_limit) < 0 || opt.spill_limit < 1)
					return cli_bad_usage("invalid value \"%s\" for --spill-limit: want a size such as 10GB", optarg);
				spill_option = true;
				break;
			case OPT_KEEP_SPILL:
				opt.keep_spill = true;
				spill_option = true;
				break;
			case OPT_KEEP_RECORD:
				opt.keep_record = true;
				break;
			case OPT_FOLLOW:
				opt.follow = true;
				break;
			case OPT_FOLLOW_SOURCE:
				opt.follow_source = optarg;
				break;
			case OPT_COMPRESS_LEVEL:
				if (cli_parse_compress_level(optarg, &opt.compress_level) < 0)
					return EXIT_USAGE;
				spill_option = true;
				break;
			case OPT_DATABASE_JOBS:
				if (args_parse_int(optarg, 1, 256, &cluster.database_jobs) < 0)
					return cli_bad_usage("invalid value \"%s\" for --database-jobs: want a number from 1 to 256", optarg);
				cc->used = true;
				break;
			default:
				if ((rc = cli_cluster_option(cc, c, optarg)) < 0 || (rc == 0 && cli_run_option(&opt, c) < 0))
					return EXIT_USAGE;
				break;
		}
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_clone(stdout);
		return EXIT_OK;
	}
	if ((rc = cli_finish(&co, argc, argv)) != 0)
		return rc;
	if (opt.truncate && !opt.data_only)
		return cli_bad_usage("%s", "--truncate goes with --data-only (a clone with the schema step "
						 "needs an empty target database)");
	if (opt.resume != NULL && (opt.data_only || opt.truncate || opt.split_all))
		return cli_bad_usage("%s", "--resume takes the run's own --data-only, --truncate and chunks: "
						 "leave out --data-only, --truncate and --split-all");
	if (opt.repair && (!opt.verify || opt.follow))
		return cli_bad_usage("%s", "--repair goes with --verify, and not with --follow (a target that "
							 "replication writes to is repaired after the cutover, by verify --repair)");
	if (opt.follow_source != NULL && !opt.follow)
		return cli_bad_usage("%s", "--follow-source goes with --follow");
	if (opt.follow && (opt.best_effort || opt.spill_dir != NULL))
		return cli_bad_usage("%s", "--follow reads at its slot's snapshot while the slot streams what comes "
							 "after it: it does not take --best-effort or --spill");
	if (spill_option && opt.spill_dir == NULL)
		return cli_bad_usage("%s", "--load-jobs, --spill-limit, --keep-spill and --compress-level go with --spill");
	opt.common = co.common;
	opt.common.filter = &cli_table_filter;
	opt.on_check = cli_show_check;
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (cc->all_databases && opt.spill_dir != NULL)
		return cli_bad_usage("%s", "--all-databases does not take --spill: it is for one database at a time");
	if (cc->all_databases && opt.resume != NULL && strcmp(opt.resume, "last") != 0)
		return cli_bad_usage("%s", "with --all-databases, --resume takes \"last\": each database goes on with "
							 "its own last run");
	if (cc->all_databases)
	{
		cluster.patterns = cc->patterns;
		cluster.no_roles = cc->no_roles;
		cluster.globals.no_role_passwords = cc->no_role_passwords;
		cluster.resume = opt.resume != NULL;
		opt.resume = NULL;
		cluster.progress_seconds = co.level >= LOG_INFO ? co.progress_seconds : 0;
		cluster.clone = opt;
		cluster.globals.no_owner = opt.common.no_owner;
		cluster.globals.no_privileges = opt.common.no_privileges;
		cluster.globals.no_tablespaces = opt.common.no_tablespaces;
		rc = run_cluster(&cluster, &co);
		return rc;
	}

	err_clear(&err);
	rc = clone_run(&opt, &report, &err);
	cli_end();
	if (report != NULL && (rc == 0 || report->chunks_done > 0) && co.level > LOG_ERROR)
		report_summary(stdout, report);
	if (report != NULL && report->verify != NULL && rc == 0 && co.level > LOG_ERROR)
		report_verify_summary(stdout, report->verify, co.level >= LOG_VERBOSE);
	if (report != NULL && report->following && rc == 0 && co.level > LOG_ERROR)
		say_cutover(&opt, report);
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
	c = rc < 0 ? cli_exit_code(&err)
		: report->verify != NULL && !verify_identical(report->verify) ? EXIT_DIFFERENT : EXIT_OK;
	clone_report_destroy(report);
	return c;
}

