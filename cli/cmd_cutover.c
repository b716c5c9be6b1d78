/*
 * cmd_cutover.c: the cutover command's options and its report (cmd/cutover.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/cutover.h"
#include "cmd/run.h"
#include "engine/log.h"
#include "engine/state.h"

#define MAX_WAIT_DEFAULT 300

void
usage_cutover(FILE *out)
{
	fprintf(out,
			"%s cutover ends a clone --follow run, once the application has stopped writing\n"
			"to the source: it watches the followed tables for about a second (a write stops\n"
			"it, with replication kept), takes the source's WAL position and waits until\n"
			"the target has applied it, sets every sequence from the source, with --verify\n"
			"proves every table identical, then drops the subscription, the slot and the\n"
			"publication and records the run as cut over.  Each step's seconds are shown:\n"
			"together, the write downtime.\n\n"
			"Usage:\n"
			"  %s cutover --target CONNINFO --run RUN [OPTION]...\n"
			"  %s cutover --all-databases --target CONNINFO [OPTION]...\n\n"
			"Options:\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n"
			"  -s, --source=CONNINFO    source database (default: the run's, without its\n"
			"                           password: .pgpass or PGPASSWORD supply it)\n"
			"      --run=RUN            the follow run: its number, or \"last\"\n"
			"      --all-databases      a clone --all-databases --follow: the last run of each\n"
			"                           database of the target that follows (its connection\n"
			"                           string names the server), every step for all of them\n"
			"                           before the next, the watch over all at once; each\n"
			"                           run's recorded source; --database and\n"
			"                           --exclude-database choose\n"
			"      --force              do not watch for writes first\n"
			"      --max-wait=SECONDS   wait at most SECONDS for the target to catch up\n"
			"                           (default: %d)\n"
			"      --sequence-margin=N  set every sequence N past the source's value\n"
			"      --verify             run the checksum verify of every table on both sides\n"
			"                           before removing the replication\n"
			"      --max-diffs=N        with --verify: name at most N differing rows\n"
			"                           (default: 1000)\n"
			"  -j, --jobs=N             the verify's worker threads (default: 4)\n"
			"      --keep-record        keep the run's record, marked cut over\n"
			"      --state-schema=NAME  where the run is recorded (default: %s)\n"
			"      --json=FILE          write a JSON report with each step's seconds\n"
			"  -q, --quiet, -v, --verbose   as for clone\n"
			"  -?, --help               show this help, then exit\n\n"
			"Exit status: 0 cut over, 1 other failure, 2 bad usage (or not a follow run),\n"
			"3 source error (still taking writes), 4 target error (not caught up in time),\n"
			"5 interrupted, 6 --verify found the target different (replication kept).\n",
			progname, progname, progname, MAX_WAIT_DEFAULT, STATE_SCHEMA_DEFAULT);
}

int
cmd_cutover(int argc, char **argv)
{
	static const struct option long_options[] = {
		COMMON_LONG_OPTIONS,
		{"run", required_argument, NULL, OPT_RUN},
		{"force", no_argument, NULL, OPT_FORCE},
		{"max-wait", required_argument, NULL, OPT_MAX_WAIT},
		{"sequence-margin", required_argument, NULL, OPT_SEQUENCE_MARGIN},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"max-diffs", required_argument, NULL, OPT_MAX_DIFFS},
		{"keep-record", no_argument, NULL, OPT_KEEP_RECORD},
		{"state-schema", required_argument, NULL, OPT_STATE_SCHEMA},
		{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
		{"database", required_argument, NULL, OPT_DATABASE},
		{"exclude-database", required_argument, NULL, OPT_EXCLUDE_DATABASE},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	cutover_options opt = {0};
	cutover_report *report = NULL;
	run_database *dbs = NULL;
	const char **targets = NULL;
	int			ndbs = 0;
	int			n = 0;
	sl_err		err;
	int			wait = MAX_WAIT_DEFAULT;
	long long	margin = 0;
	int			c;
	int			rc;

	cli_defaults(&co);
	opt.state_schema = STATE_SCHEMA_DEFAULT;
	opt.max_diffs = 1000;
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS, long_options, &co)) > 0)
	{
		switch (c)
		{
			case OPT_RUN:
				opt.run = optarg;
				break;
			case OPT_FORCE:
				opt.force = true;
				break;
			case OPT_MAX_WAIT:
				if (args_parse_int(optarg, 1, 86400, &wait) < 0)
					return cli_bad_usage("invalid value \"%s\" for --max-wait: want seconds, from 1 to 86400", optarg);
				break;
			case OPT_SEQUENCE_MARGIN:
				{
					char	   *end = NULL;

					errno = 0;
					margin = strtoll(optarg, &end, 10);
					if (errno != 0 || end == optarg || *end != '\0' || margin < 0)
						return cli_bad_usage("invalid value \"%s\" for --sequence-margin: want a number, 0 or more",
											 optarg);
				}
				break;
			case OPT_VERIFY:
				opt.verify = true;
				break;
			case OPT_MAX_DIFFS:
				if (cli_parse_max_diffs(optarg, &opt.max_diffs) < 0)
					return EXIT_USAGE;
				break;
			case OPT_KEEP_RECORD:
				opt.keep_record = true;
				break;
			case OPT_STATE_SCHEMA:
				opt.state_schema = optarg;
				break;
			default:
				if ((rc = cli_cluster_option(cc, c, optarg)) < 0)
					return EXIT_USAGE;
				if (rc == 0)
					return cli_bad_usage("%s", "invalid option");
		}
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_cutover(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.target == NULL || co.common.target[0] == '\0')
		return cli_bad_usage("%s", "no target database: give --target or set PGSLUICE_TARGET");
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (cc->all_databases && opt.run != NULL && strcmp(opt.run, "last") != 0)
		return cli_bad_usage("%s", "with --all-databases, --run takes \"last\": each database's own last run");
	if (cc->all_databases && co.common.source != NULL)
		return cli_bad_usage("%s", "--all-databases takes each run's recorded source: leave out --source "
							 "(.pgpass or PGPASSWORD give the passwords)");
	if (cc->all_databases)
		opt.run = "last";
	if (opt.run == NULL)
		return cli_bad_usage("%s", "no run: give --run with the follow run's number, or \"last\"");
	if ((rc = cli_start(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.max_wait = wait;
	opt.sequence_margin = margin;

	err_clear(&err);
	if (cc->all_databases)
	{
		if (run_databases(co.common.target, opt.state_schema, &cc->patterns, &dbs, &ndbs, &err) < 0)
		{
			cli_end();
			log_failure(&err);
			return EXIT_USAGE;
		}
		run_databases_status(dbs, ndbs, opt.state_schema);
		targets = calloc((size_t) ndbs + 1, sizeof(char *));
		for (int i = 0; targets != NULL && i < ndbs; i++)
			if (dbs[i].loaded && dbs[i].run.follow && strcmp(dbs[i].run.step, STATE_STEP_FOLLOW) == 0)
				targets[n++] = dbs[i].conninfo;
		rc = targets == NULL ? err_set(&err, SIDE_LOCAL, -ENOMEM, "out of memory")
			: n == 0 ? err_set(&err, SIDE_USAGE, -ENOENT, "no database of the target has a follow run that "
							   "streams: there is nothing to cut over") : 0;
		if (rc == 0)
			log_info("cutover: %d databases follow", n);
	}
	else
	{
		targets = calloc(1, sizeof(char *));
		n = 1;
		rc = targets == NULL ? err_set(&err, SIDE_LOCAL, -ENOMEM, "out of memory") : 0;
		if (targets != NULL)
			targets[0] = co.common.target;
	}
	if (rc == 0)
		rc = cutover_run(&opt, targets, n, &report, &err);
	cli_end();
	if (report != NULL && co.level > LOG_ERROR)
	{
		for (int k = 0; k < n; k++)
			if (report[k].verify != NULL && !verify_identical(report[k].verify))
				report_verify_summary(stdout, report[k].verify, co.level >= LOG_VERBOSE);
		if (rc == 0)
			report_cutover(stdout, report, n);
	}
	if (co.json_path != NULL && report != NULL)
	{
		int			jrc = report_cutover_json(co.json_path, report, n, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co.json_path, strerror(-jrc));
			if (rc == 0)
				rc = err_set(&err, SIDE_LOCAL, jrc, "could not write the JSON report");
		}
	}
	if (rc < 0)
		log_failure(&err);
	c = rc < 0 ? cli_exit_code(&err) : report[0].done ? EXIT_OK : EXIT_DIFFERENT;
	cutover_reports_destroy(report, n);
	free(targets);
	run_databases_free(dbs, ndbs);
	return c;
}
