/*
 * target.h: what the target must hold before data is loaded into it.
 *
 * A clone with its schema step needs none of the source's tables on the
 * target (its pre-data creates them); a data-only load needs each of them
 * there, with the same copy columns, and empty.  These functions only find
 * what stands in the way, as a list of problems: clone refuses on them
 * (cmd/clone.c), check reports them (engine/check_target.c).  They read the
 * target and never write to it.
 */
#ifndef PGSLUICE_ENGINE_TARGET_H
#define PGSLUICE_ENGINE_TARGET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "base/err.h"

typedef enum target_problem_kind
{
	TARGET_TABLE_EXISTS,		/* schema mode: the table is there already */
	TARGET_TABLE_MISSING,		/* data-only: the table is not there */
	TARGET_COLUMN_MISSING,		/* data-only: a copy column is not there */
	TARGET_COLUMN_TYPE,			/* data-only: a copy column has another type there */
	TARGET_COLUMN_EXTRA,		/* data-only: the target has a column the source lacks */
	TARGET_TABLE_NOT_EMPTY		/* data-only: the table holds rows */
} target_problem_kind;

typedef struct target_problem
{
	target_problem_kind kind;
	int			table;			/* index into catalog->tables */
	char	   *what;			/* the problem in words, naming the table (and column) */
} target_problem;

/* A list of problems; the caller owns it and its strings. */
typedef struct target_problems
{
	int			n;
	int			alloc;
	target_problem *items;
} target_problems;

void		target_problems_init(target_problems *p);
void		target_problems_fini(target_problems *p);

/*
 * Compares the target's tables with the source's: in schema mode each source
 * table that exists on the target is a problem; in data-only mode each one
 * missing there, and each copy column missing, of another type, or extra.
 * Appends to out.  Returns 0 (problems or not) or a negative errno.
 */
int			target_find_conflicts(PGconn *target, const catalog *cat, bool data_only,
								  target_problems *out, sl_err *err);

/*
 * Appends each source table that holds rows on the target.  Every table must
 * exist there and be readable, but those whose skip[i] is set (skip may be
 * NULL).  Returns 0 or a negative errno.
 */
int			target_find_nonempty(PGconn *target, const catalog *cat, const uint8_t *skip,
								 target_problems *out, sl_err *err);

#endif
