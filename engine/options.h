/*
 * options.h: the options that the commands share, parsed once by the CLI
 * and embedded as they are in each command's own options (clone_options,
 * verify_options, dump_options, restore_options, forecast_options,
 * check_options): the connections, the workers and their chunks, the
 * table selection, the I/O path, the rate cap and the schema step's
 * pg_restore options.  A command reads the fields that apply to it and
 * leaves the others; a command that runs another's step (clone's check
 * first, its verification) hands the same struct on.
 */
#ifndef PGSLUICE_ENGINE_OPTIONS_H
#define PGSLUICE_ENGINE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/filter.h"
#include "io/loop.h"

typedef struct common_options
{
	const char *source;			/* connection strings; NULL: the command has no such side */
	const char *target;
	int			jobs;			/* worker threads, and pg_restore --jobs */
	int64_t		chunk_bytes;	/* the planner's target chunk size */
	const cat_filter *filter;	/* the tables chosen; NULL: all (a resumed run keeps its own) */
	io_loop_kind io_kind;		/* socket waits and file writes: io_uring or the fallback */
	bool		via_libpq;		/* libpq's COPY functions even where the direct path works */
	int64_t		max_rate;		/* --max-rate, bytes per second of the whole run, read from the
								 * source (restore: written to the target); 0: none; -1: not
								 * given, the run's record keeps its own */
	bool		no_owner;		/* the schema step's pg_restore options */
	bool		no_privileges;
	bool		no_tablespaces;	/* pg_restore --no-tablespaces; new databases in the default one */
	const char *pg_bindir;		/* where pg_dump and pg_restore are; NULL: search */
} common_options;

#endif
