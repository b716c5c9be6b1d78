/*
 * cmd_verify.c: the verify command's options and its report (engine/verify.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/report.h"
#include "engine/verify.h"

/* verify's own: 0 identical, 1 different, 2 error */
#define VERIFY_EXIT_DIFFERENT 1
#define VERIFY_EXIT_ERROR 2

void
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
			"differ).  With --repair it then makes the target like the source, chunk by\n"
			"chunk, and checks the repaired chunks again.\n\n"
			"Usage:\n"
			"  %s verify --source CONNINFO --target CONNINFO [OPTION]...\n\n"
			"Connection options:\n"
			"  -s, --source=CONNINFO    source database (default: $PGSLUICE_SOURCE)\n"
			"  -t, --target=CONNINFO    target database (default: $PGSLUICE_TARGET)\n\n"
			"Whole clusters:\n"
			"      --all-databases      verify every connectable database of the source but\n"
			"                           template0 and template1, one after the other, and the\n"
			"                           roles; the connection strings name the servers, their\n"
			"                           dbname (default: postgres) the maintenance database.  A\n"
			"                           database missing on the target, or with another owner,\n"
			"                           encoding, locale, connection limit, comment, ACL or\n"
			"                           settings, differs; a role of the target's own is a note\n"
			"      --database=PATTERN   only the databases that match (as often as needed)\n"
			"      --exclude-database=PATTERN\n"
			"                           not the databases that match (pg_dumpall's patterns)\n"
			"      --database-map=OLD=NEW\n"
			"                           database OLD is NEW on the target\n"
			"      --no-roles           do not compare the roles\n"
			"      --no-role-passwords, --no-owner, --no-privileges, --no-tablespaces\n"
			"                           do not compare the password hashes, the databases'\n"
			"                           owners, ACLs or tablespaces: the clone left them out\n\n"
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
			"                           1000); with --repair, repair at most N one by one\n"
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
			"Repair:\n"
			"      --repair             make the target like the source: in one target\n"
			"                           transaction per differing chunk, delete its extra and\n"
			"                           changed rows (each by its ctid and xmin: a row changed\n"
			"                           since is never deleted) and copy in its missing and\n"
			"                           changed rows from the source at the verify's snapshot;\n"
			"                           set the sequences that differ; then check the\n"
			"                           repaired chunks again.  Triggers and foreign keys do\n"
			"                           not fire (session_replication_role = replica); a\n"
			"                           table missing on one side or with other columns is not\n"
			"                           repaired.  Refused while a subscription writes into\n"
			"                           the target database\n"
			"      --repair-sql=FILE    write the statements --repair would run to FILE, for\n"
			"                           psql -f, and change nothing\n"
			"      --repair-chunk-limit=FRACTION\n"
			"                           re-copy a chunk whole (delete its key range, copy it)\n"
			"                           when more than this share of its rows differ, or more\n"
			"                           than --max-diffs leaves to repair (default: 0.5)\n"
			"      --repair-whole-tables\n"
			"                           a table without a key may be re-copied whole too\n"
			"                           (else its rows are repaired by content, up to\n"
			"                           --max-diffs)\n\n"
			"Exit status: 0 identical (after --repair: made identical), 1 different (after\n"
			"--repair: differences remain, named; with --repair-sql: statements written),\n"
			"2 error.\n",
			progname, progname);
}

/* verify --all-databases: the run, its report, the exit status. */
static int
verify_cluster(const verify_options *vopt, const cli_cluster *cc, const cli_options *co)
{
	cluster_verify_options opt = {0};
	cluster_verify_report *report = NULL;
	sl_err		err;
	int			rc;

	opt.verify = *vopt;
	opt.patterns = cc->patterns;
	opt.no_roles = cc->no_roles;
	opt.globals.no_role_passwords = cc->no_role_passwords;
	opt.globals.no_owner = vopt->common.no_owner;
	opt.globals.no_privileges = vopt->common.no_privileges;
	opt.globals.no_tablespaces = vopt->common.no_tablespaces;
	err_clear(&err);
	rc = cluster_verify_run(&opt, &report, &err);
	cli_end();
	if (report != NULL && co->level > LOG_ERROR && rc == 0)
		report_cluster_verify_summary(stdout, report, co->level >= LOG_VERBOSE);
	if (co->json_path != NULL && report != NULL)
	{
		int			jrc = report_cluster_verify_json(co->json_path, report, &opt, rc < 0 ? &err : NULL);

		if (jrc < 0)
		{
			log_error("could not write the JSON report \"%s\": %s", co->json_path, strerror(-jrc));
			if (rc == 0)
				rc = jrc;
		}
	}
	if (rc < 0 && err_is_set(&err))
		log_failure(&err);
	rc = rc < 0 || report->failed > 0 ? VERIFY_EXIT_ERROR
		: cluster_verify_identical(report) ? EXIT_OK : VERIFY_EXIT_DIFFERENT;
	cluster_verify_report_destroy(report);
	return rc;
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option long_options[] = {
		FILTER_LONG_OPTIONS,
		COMMON_LONG_OPTIONS,
		{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"counts", no_argument, NULL, OPT_COUNTS},
		{"max-diffs", required_argument, NULL, OPT_MAX_DIFFS},
		{"repair", no_argument, NULL, OPT_REPAIR},
		{"repair-sql", required_argument, NULL, OPT_REPAIR_SQL},
		{"repair-chunk-limit", required_argument, NULL, OPT_REPAIR_CHUNK_LIMIT},
		{"repair-whole-tables", no_argument, NULL, OPT_REPAIR_WHOLE_TABLES},
		RATE_LONG_OPTION,
		CLUSTER_LONG_OPTIONS,
		{"no-owner", no_argument, NULL, OPT_NO_OWNER},
		{"no-privileges", no_argument, NULL, OPT_NO_PRIVILEGES},
		{"no-tablespaces", no_argument, NULL, OPT_NO_TABLESPACES},
		{NULL, 0, NULL, 0}
	};
	cli_options co;
	cli_cluster *cc = &cli_databases;
	verify_options opt = {0};
	verify_report *report = NULL;
	sl_err		err;
	char	   *end;
	int			c;
	int			rc;

	cli_defaults(&co);
	opt.sample = 1.0;
	opt.max_diffs = DEFAULT_MAX_DIFFS;
	while ((c = cli_getopt(argc, argv, COMMON_SHORT_OPTIONS FILTER_SHORT_OPTIONS, long_options, &co)) > 0)
	{
		switch (c)
		{
			case OPT_SNAPSHOT:
				opt.snapshot = optarg;
				break;
			case OPT_SAMPLE:
				opt.sample = strtod(optarg, &end);
				if (*end != '\0' || !(opt.sample > 0.0 && opt.sample <= 1.0))
					return cli_bad_usage("invalid value \"%s\" for --sample: want a fraction above 0, "
									 "at most 1, such as 0.05", optarg), VERIFY_EXIT_ERROR;
				break;
			case OPT_COUNTS:
				opt.counts = true;
				break;
			case OPT_MAX_DIFFS:
				if (cli_parse_max_diffs(optarg, &opt.max_diffs) < 0)
					return VERIFY_EXIT_ERROR;
				break;
			case OPT_REPAIR:
				opt.repair = true;
				break;
			case OPT_REPAIR_SQL:
				opt.repair_sql = optarg;
				break;
			case OPT_REPAIR_CHUNK_LIMIT:
				opt.repair_chunk_limit = strtod(optarg, &end);
				if (*end != '\0' || !(opt.repair_chunk_limit > 0.0 && opt.repair_chunk_limit <= 1.0))
					return cli_bad_usage("invalid value \"%s\" for --repair-chunk-limit: want a fraction above "
										 "0, at most 1, such as 0.5", optarg), VERIFY_EXIT_ERROR;
				break;
			case OPT_REPAIR_WHOLE_TABLES:
				opt.repair_whole_tables = true;
				break;
			default:
				if ((rc = cli_cluster_option(cc, c, optarg)) < 0)
					return VERIFY_EXIT_ERROR;
				if (rc == 0)
					return cli_bad_usage("%s", "invalid option"), VERIFY_EXIT_ERROR;
				break;
		}
	}
	if (c == CLI_BAD_OPTION)
		return VERIFY_EXIT_ERROR;
	if (co.help)
	{
		usage_verify(stdout);
		return EXIT_OK;
	}
	if (cli_finish(&co, argc, argv) != 0 || cli_cluster_finish(cc) != 0)
		return VERIFY_EXIT_ERROR;
	if (!cc->all_databases && (co.common.no_owner || co.common.no_privileges || co.common.no_tablespaces))
		return cli_bad_usage("%s", "--no-owner, --no-privileges and --no-tablespaces go with --all-databases"),
			VERIFY_EXIT_ERROR;
	if (opt.repair && opt.repair_sql != NULL)
		return cli_bad_usage("%s", "--repair and --repair-sql: choose one (the file is what --repair would run)"),
			VERIFY_EXIT_ERROR;
	if ((opt.repair || opt.repair_sql != NULL) && (opt.counts || opt.sample < 1.0 || cc->all_databases))
		return cli_bad_usage("%s", "--repair and --repair-sql read every row of one database: not with --counts, "
							 "--sample or --all-databases"), VERIFY_EXIT_ERROR;
	if (!opt.repair && opt.repair_sql == NULL && (opt.repair_chunk_limit > 0 || opt.repair_whole_tables))
		return cli_bad_usage("%s", "--repair-chunk-limit and --repair-whole-tables go with --repair or --repair-sql"),
			VERIFY_EXIT_ERROR;
	opt.common = co.common;
	opt.common.filter = &cli_table_filter;
	if (cc->all_databases)
	{
		if (opt.snapshot != NULL || co.metrics_file != NULL || co.metrics_listen != NULL)
			return cli_bad_usage("%s", "--all-databases does not take --snapshot, --metrics-file or "
								 "--metrics-listen: they are for one database at a time"), VERIFY_EXIT_ERROR;
		rc = verify_cluster(&opt, cc, &co);
		return rc;
	}

	err_clear(&err);
	rc = verify_run(&opt, &report, &err);
	cli_end();
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

