/*
 * args.h: parsing of option values, pure so that tests can call it.
 */
#ifndef PGSLUICE_CLI_ARGS_H
#define PGSLUICE_CLI_ARGS_H

#include <stdint.h>

/*
 * Parses a size as PostgreSQL writes them: a number and an optional unit,
 * B, kB, MB, GB or TB (powers of 1024; case does not matter, a space may
 * come between).  Returns 0 and sets *bytes, or -EINVAL.
 */
int			args_parse_size(const char *text, int64_t *bytes);

/*
 * Parses a rate, bytes per second: a size as args_parse_size takes it,
 * with or without "/s" ("25MB", "25MB/s"), or 0 for no cap.  Returns 0
 * and sets *bytes_per_second, or -EINVAL.
 */
int			args_parse_rate(const char *text, int64_t *bytes_per_second);

/* Parses a whole number in [min, max]; returns 0 or -EINVAL. */
int			args_parse_int(const char *text, int min, int max, int *value);

/*
 * Overwrites, in place, every password that text (a libpq connection string
 * or URI) holds with 'x's, so that it shows in no process listing.  Returns
 * 1 when it masked one, else 0.
 */
int			args_mask_password(char *text);

#endif
