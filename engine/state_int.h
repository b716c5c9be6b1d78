/*
 * state_int.h: what state.c (the schema and the runs) shares with
 * state_chunks.c (the chunk records).  Not for other modules.
 */
#ifndef PGSLUICE_ENGINE_STATE_INT_H
#define PGSLUICE_ENGINE_STATE_INT_H

#include <libpq-fe.h>

#include "engine/state.h"

/* Runs sql with text parameters; *res (when wanted) gets the rows. */
int			state_exec(state *st, const char *sql, int nparams, const char *const *params, PGresult **res,
					   const char *what, sl_err *err);

/* Formats one statement with the schema name in every %s; NULL when out of memory. */
char	   *state_sql(const state *st, const char *fmt);

/* state_sql, then state_exec. */
int			state_run_sql(state *st, const char *fmt, int nparams, const char *const *params, PGresult **res,
						  const char *what, sl_err *err);

#endif
