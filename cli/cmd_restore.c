/*
 * cmd_restore.c: the restore command's options and its report (cmd/restore.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/cluster_dump.h"
#include "cmd/restore.h"
#include "engine/state.h"

void
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
			"Whole clusters:\n"
			"      --all-databases      restore a dump --all-databases: the roles the target\n"
			"                           lacks, then each database, created with its properties\n"
			"                           where it is missing; the target names the server (its\n"
			"                           dbname, default postgres, is the maintenance database)\n"
			"      --database-map=OLD=NEW\n"
			"                           land database OLD under the name NEW\n"
			"      --no-roles           leave the roles out (they must be there)\n"
			"      --resume=last        go on with a cluster restore that stopped: each database\n"
			"                           with its own last run\n"
			"      --json=FILE          write a JSON report with a line per database\n\n"
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
			"      --no-owner, --no-privileges, --no-tablespaces, --pg-bindir, --stall-timeout,\n"
			"      --progress-interval, --metrics-file, --metrics-listen, -q, -v\n"
			"                           as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 success, 1 other failure, 2 bad usage or a bad dump directory,\n"
			"4 target error, 5 interrupted.\n",
			progname, progname, progname, progname, DEFAULT_RETRIES, STATE_SCHEMA_DEFAULT);
}

int
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
		{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
		{"database-map", required_argument, NULL, OPT_DATABASE_MAP},
		{"no-roles", no_argument, NULL, OPT_NO_ROLES},
		{"json", required_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	clone_options run = {0};
	restore_options opt = {0};
	restore_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	cli_defaults(&co);
	cli_run_defaults(&run);
	while ((c = cli_getopt(argc, argv, "d:t:j:qv?", long_options, &co)) > 0)
	{
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
				if ((rc = cli_cluster_option(cc, c, optarg)) < 0 || (rc == 0 && cli_run_option(&run, c) < 0))
					return EXIT_USAGE;
				break;
		}
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_restore(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (opt.dir == NULL || opt.dir[0] == '\0')
		return cli_bad_usage("%s", "no directory: give --dir");
	if (co.common.target == NULL || co.common.target[0] == '\0')
		return cli_bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (co.json_path != NULL && !cc->all_databases)
		return cli_bad_usage("%s", "--json goes with --all-databases");
	if (cc->all_databases != cluster_dump_is_cluster(opt.dir))
		return cli_bad_usage("\"%s\" %s", opt.dir, cc->all_databases
							 ? "is not a dump --all-databases (it has no " CLUSTER_MANIFEST "): restore it without --all-databases"
							 : "holds a dump --all-databases (" CLUSTER_MANIFEST "): restore it with --all-databases");
	if (cc->all_databases && opt.resume != NULL && strcmp(opt.resume, "last") != 0)
		return cli_bad_usage("%s", "with --all-databases, --resume takes \"last\": each database goes on with "
							 "its own last run");
	if (cc->all_databases && (co.metrics_file != NULL || co.metrics_listen != NULL))
		return cli_bad_usage("%s", "--all-databases does not take --metrics-file or --metrics-listen: they are "
							 "for one database at a time");
	if ((rc = cli_start(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.state_schema = run.state_schema;
	opt.retries = run.retries;
	opt.on_check = cli_show_check;
	err_clear(&err);
	if (cc->all_databases)
	{
		cluster_restore_options copt = {0};
		cluster_report *creport = NULL;

		copt.resume = opt.resume != NULL;
		opt.resume = NULL;
		copt.restore = opt;
		copt.patterns = cc->patterns;
		copt.no_roles = cc->no_roles;
		copt.globals.no_owner = opt.common.no_owner;
		copt.globals.no_privileges = opt.common.no_privileges;
		copt.globals.no_tablespaces = opt.common.no_tablespaces;
		rc = cluster_restore_run(&copt, &creport, &err);
		rc = cli_cluster_report(creport, &co, &opt.common, false, rc, &err);
		cluster_report_destroy(creport);
		return rc;
	}
	rc = restore_run(&opt, &report, &err);
	cli_end();
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
	return rc < 0 ? cli_exit_code(&err) : EXIT_OK;
}

