/*
 * cmd_dump.c: the dump command's options and its report (cmd/dump.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "cmd/cluster_dump.h"
#include "cmd/dump.h"

void
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
			"Whole clusters:\n"
			"      --all-databases      dump every connectable database of the source but\n"
			"                           template0 and template1, one after the other, each into\n"
			"                           a directory of its own in DIR, with the roles and each\n"
			"                           database's properties in DIR/cluster.json; the source\n"
			"                           names the server (its dbname, default postgres, is the\n"
			"                           maintenance database)\n"
			"      --database=PATTERN, --exclude-database=PATTERN, --no-roles,\n"
			"      --no-role-passwords  as for clone\n"
			"      --json=FILE          write a JSON report with a line per database\n\n"
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

int
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
		CLUSTER_LONG_OPTIONS,
		{"json", required_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	dump_options opt = {0};
	dump_report *report = NULL;
	sl_err		err;
	int			c;
	int			rc;

	cli_defaults(&co);
	while ((c = cli_getopt(argc, argv, "s:d:j:qv?" FILTER_SHORT_OPTIONS, long_options, &co)) > 0)
	{
		switch (c)
		{
			case 'd':
				opt.dir = optarg;
				break;
			case OPT_COMPRESS_LEVEL:
				if (cli_parse_compress_level(optarg, &opt.compress_level) < 0)
					return EXIT_USAGE;
				break;
			case OPT_BEST_EFFORT:
				opt.best_effort = true;
				break;
			default:
				if ((rc = cli_cluster_option(cc, c, optarg)) <= 0)
					return rc < 0 ? EXIT_USAGE : cli_bad_usage("%s", "invalid option");
				break;
		}
	}
	if (c == CLI_BAD_OPTION)
		return EXIT_USAGE;
	if (co.help)
	{
		usage_dump(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_bad_usage("too many arguments, starting with \"%s\"", argv[optind]);
	if (co.common.source == NULL || co.common.source[0] == '\0')
		return cli_bad_usage("%s", "no source database: give --source or set PGSLUICE_SOURCE");
	if (opt.dir == NULL || opt.dir[0] == '\0')
		return cli_bad_usage("%s", "no directory: give --dir");
	if (cli_cluster_finish(cc) != 0)
		return EXIT_USAGE;
	if (co.json_path != NULL && !cc->all_databases)
		return cli_bad_usage("%s", "--json goes with --all-databases");
	if (cc->all_databases && cc->patterns.nmap > 0)
		return cli_bad_usage("%s", "dump --all-databases does not take --database-map: give it to the restore");
	if (cc->all_databases && (co.metrics_file != NULL || co.metrics_listen != NULL))
		return cli_bad_usage("%s", "--all-databases does not take --metrics-file or --metrics-listen: they are "
							 "for one database at a time");
	if ((rc = cli_start(&co)) != 0)
		return rc;
	opt.common = co.common;
	opt.common.filter = &cli_table_filter;
	opt.on_check = cli_show_check;
	err_clear(&err);
	if (cc->all_databases)
	{
		cluster_dump_options copt = {0};
		cluster_report *creport = NULL;

		copt.dump = opt;
		copt.patterns = cc->patterns;
		copt.no_roles = cc->no_roles;
		copt.globals.no_role_passwords = cc->no_role_passwords;
		rc = cluster_dump_run(&copt, &creport, &err);
		rc = cli_cluster_report(creport, &co, &opt.common, cc->no_role_passwords, rc, &err);
		cluster_report_destroy(creport);
		return rc;
	}
	rc = dump_run(&opt, &report, &err);
	cli_end();
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
	return rc < 0 ? cli_exit_code(&err) : EXIT_OK;
}

