/*
 * fuzz_pattern.c: libFuzzer target for the parser of --table and --schema
 * patterns (codec/pattern.c), which reads what the command line gives it.
 *
 * The input is read as
 *   byte 0      bit 0: a schema pattern (--schema, --exclude-schema)
 *   bytes 1-    the pattern (a NUL ends it early)
 * A translation must either fail with a reason and no expressions, or give
 * expressions anchored as "^(...)$" for every part it names (only "." names
 * none), with a schema part only for a table pattern that has one; and it must give the same the
 * second time.  Otherwise the target aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/pattern.h"

#include "fuzz_common.h"

static bool
anchored(const char *re)
{
	size_t		len = strlen(re);

	return len >= 4 && strncmp(re, "^(", 2) == 0 && strcmp(re + len - 2, ")$") == 0;
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *pattern;
	char	   *schema_re,
			   *name_re,
			   *schema_again,
			   *name_again;
	sl_err		why;
	sl_err		why_again;
	bool		schema_only;
	int			rc,
				again;

	if (size < 1)
		return 0;
	schema_only = data[0] & 1;
	pattern = malloc(size);		/* size - 1 bytes and the NUL */
	if (pattern == NULL)
		return 0;
	memcpy(pattern, data + 1, size - 1);
	pattern[size - 1] = '\0';

	err_clear(&why);
	err_clear(&why_again);
	rc = pattern_to_regex(pattern, schema_only, &schema_re, &name_re, &why);
	if (rc < 0)
	{
		if ((rc != -EINVAL && rc != -ENOMEM) || why.msg[0] == '\0' || schema_re != NULL || name_re != NULL)
			abort();
	}
	else
	{
		if (rc != 0 || (schema_re != NULL && !anchored(schema_re)) ||
			(name_re != NULL && !anchored(name_re)) || (schema_only && schema_re != NULL) ||
			(schema_re == NULL && name_re == NULL && strcmp(pattern, ".") != 0))
		{
			fprintf(stderr, "pattern \"%s\": schema \"%s\", name \"%s\"\n", pattern,
					schema_re ? schema_re : "(any)", name_re ? name_re : "(any)");
			abort();
		}
	}
	again = pattern_to_regex(pattern, schema_only, &schema_again, &name_again, &why_again);
	if (again != rc || !same(schema_re, schema_again) || !same(name_re, name_again) ||
		(rc < 0 && strcmp(why.msg, why_again.msg) != 0))
		abort();

	free(schema_re);
	free(name_re);
	free(schema_again);
	free(name_again);
	free(pattern);
	return 0;
}
