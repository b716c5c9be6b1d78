/*
 * report_int.h: what the summaries (report.c) and the JSON reports
 * (report_json.c) share.  Not for other modules.
 */
#ifndef PGSLUICE_CLI_REPORT_INT_H
#define PGSLUICE_CLI_REPORT_INT_H

#include "cli/report.h"

static inline double
per_second(double n, double seconds)
{
	return seconds > 0 ? n / seconds : 0.0;
}

/* Bytes per second so far, and the seconds left at that rate (-1: unknown). */
static inline void
status_rates(const state_summary *sum, double *rate, double *eta)
{
	*rate = sum->seconds > 0 ? (double) sum->bytes / sum->seconds : 0;
	*eta = sum->done == sum->chunks ? 0 : *rate > 0 ? (double) sum->est_bytes_left / *rate : -1;
}

static inline const char *
key_kind_name(cat_key_kind kind)
{
	return kind == KEY_PRIMARY ? "primary key" : kind == KEY_UNIQUE ? "unique key" : "none";
}

#endif
