/*
 * restore.h: pgsluice restore, a dump directory (cmd/dump.h) into a
 * target database.
 */
#ifndef PGSLUICE_CMD_RESTORE_H
#define PGSLUICE_CMD_RESTORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/check.h"
#include "cmd/dump.h"
#include "base/err.h"
#include "engine/options.h"

typedef struct restore_options
{
	common_options common;		/* the options the commands share (engine/options.h); source unused */
	const char *dir;
	const char *state_schema;
	const char *resume;			/* NULL, or a run number or "last" */
	int			retries;
	bool		keep_record;	/* keep a finished run's record on the target */
	/* shown the findings of the checks run before anything is written (engine/check.h); may be NULL */
	check_shown_fn on_check;
	void	   *on_check_arg;
} restore_options;

typedef struct restore_chunk
{
	bool		done;			/* loaded by this process */
	uint64_t	rows;
	uint64_t	bytes;
} restore_chunk;

typedef struct restore_report
{
	char		dump_id[33];
	int64_t		run_id;
	bool		record_removed; /* finished, and its record removed from the target */
	restore_chunk *chunks;		/* per chunk of the dump */
	int			chunks_done;	/* by this process */
	int			chunks_before;	/* by an earlier attempt */
	int			retries;
	int			sequences_set;
	uint64_t	rows;			/* of the whole dump */
	uint64_t	bytes;
	uint64_t	compressed;
	double		seconds_check;
	double		seconds_schema;
	double		seconds_data;
	double		seconds_post;
	double		seconds_total;
} restore_report;

int			restore_run(const restore_options *opt, restore_report **report, sl_err *err);

void		restore_report_destroy(restore_report *report);

/*
 * Whether target, a database connection, holds none of the tables of the
 * dump in dir (what a new restore needs): 0, -EEXIST naming one, or
 * another negative errno (a bad dump, a failed query).
 */
int			restore_target_free(const char *dir, PGconn *target, sl_err *err);

#endif
