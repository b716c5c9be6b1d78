/*
 * cmd_check.c: the check command's options, its findings and exit status
 * (engine/check.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/cluster_check.h"
#include "engine/check.h"
#include "engine/state.h"

/* check's own: 0 clean (notes only), 1 warnings, 2 blockers (and bad usage, or a check that could not run) */
#define CHECK_EXIT_WARNINGS 1
#define CHECK_EXIT_BLOCKERS 2

void
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
			"Whole clusters:\n"
			"      --all-databases      check a clone --all-databases: the roles step, then each\n"
			"                           chosen database (one the run would create is checked\n"
			"                           against the target's maintenance database); a finding\n"
			"                           that is not the same for every database names its own\n"
			"      --database=PATTERN, --exclude-database=PATTERN, --database-map=OLD=NEW,\n"
			"      --no-roles, --no-role-passwords\n"
			"                           as for clone\n\n"
			FILTER_HELP
			"Options (give those the clone will have):\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"  -j, --jobs=N             the clone's worker threads (default: 4)\n"
			"      --chunk-size=SIZE    the clone's heap bytes per chunk (default: 64MB)\n"
			"      --data-only          the clone loads into the target's existing tables\n"
			"      --spill=DIR          the clone spills chunk files into DIR\n"
			"      --follow             the clone follows (clone --follow): wal_level, slots\n"
			"                           and WAL senders, the roles' rights, and a key or a\n"
			"                           replica identity on every chosen table\n"
			"      --no-owner, --no-privileges, --no-tablespaces, --pg-bindir=DIR,\n"
			"      --state-schema=NAME\n"
			"                           as for clone\n"
			"      --json=FILE          write every finding as JSON\n"
			"  -q, --quiet              print blockers and warnings only\n"
			"  -v, --verbose            name every object of a finding, not the first ten\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 nothing in the way (notes at most), 1 warnings, 2 blockers, bad\n"
			"usage, or a check that could not run.\n",
			progname, progname);
}

int
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
		{"follow", no_argument, NULL, OPT_FOLLOW},
		SCHEMA_LONG_OPTIONS,
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		{"json", required_argument, NULL, OPT_JSON},
		LOG_LONG_OPTIONS,
		CLUSTER_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	clone_options run = {0};
	check_options opt = {0};
	check_report *report = NULL;
	check_severity worst;
	sl_err		err;
	int			c;
	int			rc;

	cli_defaults(&co);
	cli_run_defaults(&run);
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, &co)) > 0)
	{
		switch (c)
		{
			case OPT_FOLLOW:
				opt.follow = true;
				break;
			case OPT_DATA_ONLY:
				opt.data_only = true;
				break;
			case OPT_SPILL:
				if (optarg[0] == '\0')
					return cli_bad_usage("%s", "--spill needs a directory");
				opt.spill_dir = optarg;
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
		usage_check(stdout);
		return EXIT_OK;
	}
	co.progress_seconds = 0;	/* a few queries: nothing to show progress of */
	if ((rc = cli_finish(&co, argc, argv)) != 0)
		return rc;
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (cc->all_databases && opt.spill_dir != NULL)
		return cli_bad_usage("%s", "--all-databases does not take --spill: it is for one database at a time");
	opt.common = co.common;
	opt.common.filter = &cli_table_filter;
	opt.state_schema = run.state_schema;

	err_clear(&err);
	if (cc->all_databases)
	{
		cluster_check_options copt = {opt, cc->patterns, cc->no_roles, cc->no_role_passwords};

		rc = cluster_check_run(&copt, &report, &err);
	}
	else
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
	cli_end();
	if (rc < 0 || worst == CHECK_BLOCKER)
		return CHECK_EXIT_BLOCKERS;
	return worst == CHECK_WARNING ? CHECK_EXIT_WARNINGS : EXIT_OK;
}

