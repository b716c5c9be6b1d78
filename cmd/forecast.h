/*
 * forecast.h: pgsluice plan, what a clone would do before it does it.
 *
 * It reads the source's catalog and plans its chunks exactly as a clone
 * does (the same sample, TABLESAMPLE ... REPEATABLE, so the same
 * boundaries on an unchanged source), then times a short read of the
 * largest chunk to estimate the clone's wall time:
 *   data  = COPY bytes / (read rate x sessions) x FORECAST_LOAD_FACTOR
 *   index = index bytes / (read rate x sessions) x FORECAST_INDEX_FACTOR
 * plus a fixed cost per run and per table for the schema steps.  The
 * factors say how much slower a target loads and indexes than a source
 * reads; they were measured with the benchmark (bench/) on one machine
 * running both clusters, so the estimate is a guide, not a promise.
 */
#ifndef PGSLUICE_CMD_FORECAST_H
#define PGSLUICE_CMD_FORECAST_H

#include <stdint.h>

#include "engine/catalog.h"
#include "base/err.h"
#include "engine/plan.h"
#include "engine/options.h"

#define FORECAST_LOAD_FACTOR 1.2
#define FORECAST_INDEX_FACTOR 3.0
#define FORECAST_SAMPLE_SECONDS 1.5

typedef struct forecast_options
{
	common_options common;		/* the options the commands share (engine/options.h) */
	bool		data_only;
	bool		split_all;		/* as clone's: no table read whole (plan_reads_whole) */
} forecast_options;

typedef struct forecast
{
	catalog    *cat;
	plan	   *plan;
	int			source_major;
	int			target_major;
	int64_t		heap_bytes;		/* of every table */
	int64_t		index_bytes;	/* of their indexes, built again on the target */
	double		copy_ratio;		/* COPY bytes per heap byte, in the sample */
	double		read_rate;		/* COPY bytes per second of one source session */
	uint64_t	sample_bytes;
	double		sample_seconds;
	const char *sample_table;	/* quoted name; NULL: nothing to sample */
	double		seconds_schema;
	double		seconds_data;
	double		seconds_index;
	double		seconds_total;
} forecast;

int			forecast_run(const forecast_options *opt, forecast **out, sl_err *err);

void		forecast_destroy(forecast *f);

#endif
