/*
 * cmd_plan.c: the plan command's options and its report (cmd/forecast.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/cluster.h"
#include "cmd/forecast.h"

void
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
			"Whole clusters:\n"
			"      --all-databases      plan a clone --all-databases: each chosen database,\n"
			"                           and the cluster's estimate; the connection strings\n"
			"                           name the servers\n"
			"      --database=PATTERN, --exclude-database=PATTERN, --database-map=OLD=NEW,\n"
			"      --database-jobs=N    as for clone\n\n"
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

/* plan --all-databases: each database's plan and the cluster's estimate. */
static int
plan_cluster(const forecast_options *opt, const cli_cluster *cc, int database_jobs, const cli_options *co)
{
	forecast_cluster *fc = NULL;
	const sl_err *first = NULL;
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = forecast_cluster_run(opt, &cc->patterns, database_jobs, &fc, &err);
	if (rc == 0 && co->level > LOG_ERROR)
		report_forecast_cluster(stdout, fc, opt->common.jobs, co->level >= LOG_VERBOSE);
	if (rc == 0 && co->json_path != NULL && (rc = report_forecast_cluster_json(co->json_path, fc, opt)) < 0)
		rc = err_set(&err, SIDE_LOCAL, rc, "could not write the JSON report \"%s\": %s", co->json_path,
					 strerror(-rc));
	for (int i = 0; rc == 0 && i < fc->ndatabases; i++)
		if (fc->databases[i].f == NULL)
		{
			log_error("database \"%s\" could not be planned: %s", fc->databases[i].name, fc->databases[i].err.msg);
			if (first == NULL)
				first = &fc->databases[i].err;
		}
	if (rc < 0)
		log_failure(&err);
	rc = rc < 0 ? cli_exit_code(&err) : first != NULL ? cli_exit_code(first) : EXIT_OK;
	forecast_cluster_destroy(fc);
	return rc;
}

int
cmd_plan(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		COMMON_LONG_OPTIONS,
		{"data-only", no_argument, NULL, OPT_DATA_ONLY},
		{"split-all", no_argument, NULL, OPT_SPLIT_ALL},
		{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
		{"database", required_argument, NULL, OPT_DATABASE},
		{"exclude-database", required_argument, NULL, OPT_EXCLUDE_DATABASE},
		{"database-map", required_argument, NULL, OPT_DATABASE_MAP},
		{"database-jobs", required_argument, NULL, OPT_DATABASE_JOBS},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	int			database_jobs = 0;
	forecast_options opt = {0};
	forecast   *f = NULL;
	sl_err		err;
	int			c;
	int			rc;

	cli_defaults(&co);
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, &co)) > 0)
	{
		if (c == OPT_DATA_ONLY)
			opt.data_only = true;
		else if (c == OPT_SPLIT_ALL)
			opt.split_all = true;
		else if (c == OPT_DATABASE_JOBS)
		{
			if (args_parse_int(optarg, 1, 256, &database_jobs) < 0)
				return cli_bad_usage("invalid value \"%s\" for --database-jobs: want a number from 1 to 256", optarg);
			cc->used = true;
		}
		else if ((rc = cli_cluster_option(cc, c, optarg)) <= 0)
			return rc < 0 ? EXIT_USAGE : cli_bad_usage("%s", "invalid option");
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_plan(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.source == NULL || co.common.source[0] == '\0')
		return cli_bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	co.progress_seconds = 0;
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if ((rc = cli_start(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.target = co.common.target != NULL && co.common.target[0] != '\0' ? co.common.target : NULL;
	opt.common.filter = &cli_table_filter;
	err_clear(&err);
	if (cc->all_databases)
	{
		rc = plan_cluster(&opt, cc, database_jobs > 0 ? database_jobs
						  : cluster_default_database_jobs(opt.common.jobs), &co);
		return rc;
	}
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
		return cli_exit_code(&err);
	}
	return EXIT_OK;
}

