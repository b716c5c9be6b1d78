/*
 * report.h: what a clone did, for people (a table on stdout) and for
 * programs (a JSON file).
 */
#ifndef PGSLUICE_CLI_REPORT_H
#define PGSLUICE_CLI_REPORT_H

#include <stdio.h>

#include "engine/check.h"
#include "cmd/clone.h"
#include "cmd/cluster.h"
#include "cmd/cluster_verify.h"
#include "cmd/cutover.h"
#include "cmd/forecast.h"
#include "cmd/run.h"
#include "base/err.h"
#include "engine/verify.h"

/* The per-table summary and the step times. */
void		report_summary(FILE *out, const clone_report *r);

/*
 * Writes the JSON report into path (through a temporary file renamed into
 * place).  source and target are shown redacted.  err is the run's error,
 * or NULL.  Returns 0 or a negative errno.
 */
int			report_json(const char *path, const clone_report *r, const clone_options *opt,
						const sl_err *err);

/* clone, dump and restore --all-databases: a line per database, and the roles. */
void		report_cluster_summary(FILE *out, const cluster_report *r);

/* The same as JSON (status done, partial or failed; an array "databases"), written like report_json. */
int			report_cluster_json(const char *path, const cluster_report *r, const common_options *common,
								bool no_role_passwords, const sl_err *err);

/* status --all-databases: a line per database with its last run's status and progress. */
void		report_cluster_status(FILE *out, const run_database *dbs, int n);

/* The same as JSON: an array "databases", each with its last run as report_status_json gives it. */
int			report_cluster_status_json(const char *path, const run_database *dbs, int n);

/* A verification's findings: catalog differences, differing chunks, per-table lines, the verdict. */
void		report_verify_summary(FILE *out, const verify_report *r, bool verbose);

/* verify --all-databases: the globals' differences, a line per database, each one's findings. */
void		report_cluster_verify_summary(FILE *out, const cluster_verify_report *r, bool verbose);

/* The same as JSON (status identical, different or failed; an array "databases"). */
int			report_cluster_verify_json(const char *path, const cluster_verify_report *r,
									   const cluster_verify_options *opt, const sl_err *err);

/* The verification as JSON, written like report_json. */
int			report_verify_json(const char *path, const verify_report *r, const verify_options *opt,
							   const sl_err *err);

/* A run's record and progress, for people. */
void		report_status(FILE *out, const state_run *run, const state_summary *sum);

/* The same as JSON, into path ("-": standard output). */
int			report_status_json(const char *path, const state_run *run, const state_summary *sum,
							   const run_follow *follow);

/*
 * A follow run's replication, for status: the subscription's state, the
 * lag, the WAL the slot holds (a warning past its limit).
 */
void		report_follow(FILE *out, const run_follow *f);

/* The cutover's steps and their seconds, of each of the n databases: the write downtime. */
void		report_cutover(FILE *out, const cutover_report *r, int n);

/*
 * The same as JSON, with the error when it failed; an array "databases"
 * when n > 1.  0 or a negative errno.
 */
int			report_cutover_json(const char *path, const cutover_report *r, int n, const sl_err *err);

/* What pgsluice plan found: the tables, their split and format (verbose: every chunk), the estimate. */
void		report_forecast(FILE *out, const forecast *f, int jobs, bool verbose);

/* The same as JSON, into path. */
int			report_forecast_json(const char *path, const forecast *f, const forecast_options *opt);

/* plan --all-databases: a line per database and the cluster's estimate; each database's plan when verbose. */
void		report_forecast_cluster(FILE *out, const forecast_cluster *fc, int jobs, bool verbose);

/* The same as JSON: an array "databases", each with its plan. */
int			report_forecast_cluster_json(const char *path, const forecast_cluster *fc, const forecast_options *opt);

/*
 * The preflight's findings, most severe first, and their counts; quiet:
 * blockers and warnings only; verbose: every object a finding is about.
 */
void		report_check(FILE *out, const check_report *r, bool quiet, bool verbose);

/* The preflight as JSON: every finding with its severity, side, code, message, fix and objects. */
int			report_check_json(const char *path, const check_report *r, const check_options *opt,
							  const sl_err *err);

#endif
