/*
 * main.c: the pgsluice program.  The table of commands below is what
 * --help lists, in its order, and what runs them (the manual page is made
 * from --help and each command's --help, tools/manpage.sh); each command's
 * options and report are in cli/cmd_NAME.c, the shared options in
 * cli/options.c.  See cli.h for the exit codes.
 */
#include "cli/cli.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "cli/args.h"

const char *progname = "pgsluice";
const char *cli_command_name = "clone";
cat_filter	cli_table_filter;
cli_cluster cli_databases;

static const cli_command commands[] = {
	{"clone", "copy a database: schema, data, sequences, indexes and constraints", cmd_clone, usage_clone},
	{"verify", "prove that two databases hold the same rows, without writing", cmd_verify, usage_verify},
	{"check", "read both servers and say what would stop a clone, and the fix", cmd_check, usage_check},
	{"dump", "write a database into a directory of compressed chunk files", cmd_dump, usage_dump},
	{"restore", "load such a directory into a database", cmd_restore, usage_restore},
	{"plan", "show what a clone would do, and estimate its time", cmd_plan, usage_plan},
	{"cutover", "end a clone --follow: wait for the target, prove it, drop the replication", cmd_cutover,
	usage_cutover},
	{"worker", "join a clone that another process started", cmd_worker, usage_worker},
	{"status", "show a clone's progress from its record in the target", cmd_status, usage_status},
	{"throttle", "change a running run's rate cap, or pause and resume it", cmd_throttle, usage_throttle},
	{"cleanup", "remove a clone's record from the target, and its replication", cmd_cleanup, usage_cleanup},
	{NULL, NULL, NULL, NULL}
};

static void
usage_main(FILE *out)
{
	fprintf(out,
			"%s copies PostgreSQL databases between clusters, in parallel chunks, and\n"
			"checksums every row on the way.\n\n"
			"Usage:\n"
			"  %s COMMAND [OPTION]...\n\n"
			"Commands:\n", progname, progname);
	for (const cli_command *c = commands; c->name != NULL; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->summary);
	fprintf(out,
			"\nGeneral options:\n"
			"  -V, --version  output version information, then exit\n"
			"  -?, --help     show this help, then exit\n\n"
			"Run \"%s COMMAND --help\" (or \"%s help COMMAND\") for a command's options.\n",
			progname, progname);
}

static const cli_command *
find_command(const char *name)
{
	for (const cli_command *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int
unknown_command(const char *name)
{
	fprintf(stderr, "%s: error: unknown command \"%s\"\nTry \"%s --help\" for more information.\n",
			progname, name, progname);
	return EXIT_USAGE;
}

static void
print_version(void)
{
	int			libpq = PQlibVersion();

	printf("pgsluice %s (libpq %d.%d, liburing %s, zstd %s, xxHash %u.%u.%u)\n", PGSLUICE_VERSION,
		   libpq / 10000, libpq % 10000, PGSLUICE_LIBURING_VERSION, ZSTD_versionString(),
		   XXH_versionNumber() / 10000, XXH_versionNumber() / 100 % 100, XXH_versionNumber() % 100);
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

int
main(int argc, char **argv)
{
	const cli_command *c;
	int			rc;

	hide_passwords(argc, argv);
	if (argc < 2)
	{
		usage_main(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0 || strcmp(argv[1], "help") == 0)
	{
		if (argc < 3)
		{
			usage_main(stdout);
			return EXIT_OK;
		}
		if ((c = find_command(argv[2])) == NULL)
			return unknown_command(argv[2]);
		c->usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		print_version();
		return EXIT_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return unknown_command(argv[1]);
	cli_command_name = c->name;
	rc = c->run(argc - 1, argv + 1);
	filter_free(&cli_table_filter);
	cli_cluster_fini(&cli_databases);
	return rc;
}
