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
#include "engine/globals.h"
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

/*
 * plan --all-databases: each chosen database planned as forecast_run plans
 * one (the target's maintenance database for its version).  The cluster's
 * estimate: the databases' data and index times add up, as their chunks
 * share --jobs slots; their schema steps overlap, database_jobs at once;
 * and it is never less than the largest database's own.
 */
typedef struct forecast_database
{
	char	   *name;
	char	   *target_name;
	forecast   *f;				/* NULL when it could not be planned */
	sl_err		err;			/* why not */
} forecast_database;

typedef struct forecast_cluster
{
	int			ndatabases;
	forecast_database *databases;	/* largest first */
	int			database_jobs;	/* databases copied at once */
	int			failed;			/* databases that could not be planned */
	double		seconds_total;
} forecast_cluster;

/*
 * Returns 0 (some databases may have failed: out->failed) or a negative
 * errno when it could not start.  *out, NULL when it could not start, is
 * freed with forecast_cluster_destroy.
 */
int			forecast_cluster_run(const forecast_options *opt, const globals_patterns *patterns, int database_jobs,
								 forecast_cluster **out, sl_err *err);

void		forecast_cluster_destroy(forecast_cluster *fc);

#endif
