/*
 * pattern.h: a psql/pg_dump object name pattern ("schema.name", * and ?,
 * case folded outside double quotes) translated into the anchored regular
 * expressions pg_dump's patternToSQLRegex would send the server.  Pure: the
 * server does the matching (engine/filter.c); this only reads the pattern,
 * which comes from the command line.
 */
#ifndef PGSLUICE_CODEC_PATTERN_H
#define PGSLUICE_CODEC_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/*
 * Translates pattern into the regular expressions of its schema and name
 * parts; NULL for a part that matches anything (both are then malloc'd, the
 * caller frees them).  A schema pattern (schema_only) has no dot outside
 * quotes and gives its expression in name_re.  Returns 0, or -EINVAL (err
 * says what is wrong with the pattern, on SIDE_USAGE), or -ENOMEM.
 */
int			pattern_to_regex(const char *pattern, bool schema_only, char **schema_re,
							 char **name_re, sl_err *err);

#endif
