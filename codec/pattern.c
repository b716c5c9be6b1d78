/*
 * pattern.c: see pattern.h.
 */
#include "codec/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"

/*
 * One dotted part of a pattern, [start, end), as pg_dump's patternToSQLRegex
 * writes it: NULL when empty (the part matches anything).
 */
static char *
part_regex(const char *start, const char *end, int *err)
{
	sbuf		re;
	bool		inquotes = false;

	if (start == end)
		return NULL;
	sbuf_init(&re, 64);
	sbuf_append(&re, "^(");
	for (const char *cp = start; cp < end; cp++)
	{
		char		ch = *cp;

		if (ch == '"')
		{
			if (inquotes && cp + 1 < end && cp[1] == '"')
			{
				sbuf_append(&re, "\"");
				cp++;
			}
			else
				inquotes = !inquotes;
		}
		else if (!inquotes && ch >= 'A' && ch <= 'Z')
			sbuf_printf(&re, "%c", ch - 'A' + 'a');
		else if (!inquotes && ch == '*')
			sbuf_append(&re, ".*");
		else if (!inquotes && ch == '?')
			sbuf_append(&re, ".");
		else if (ch == '$')
			sbuf_append(&re, "\\$");
		else
		{
			/* inside quotes every character stands for itself; outside, a regular expression's do not */
			if (inquotes && strchr("|*+?()[]{}.^\\", ch) != NULL)
				sbuf_append(&re, "\\");
			sbuf_appendn(&re, cp, 1);
		}
	}
	sbuf_append(&re, ")$");
	if (sbuf_failed(&re))
	{
		sbuf_fini(&re);
		*err = -ENOMEM;
		return NULL;
	}
	return sbuf_take(&re);
}

int
pattern_to_regex(const char *pattern, bool schema_only, char **schema_re, char **name_re, sl_err *err)
{
	const char *dot = NULL;
	const char *end = pattern + strlen(pattern);
	bool		inquotes = false;
	int			dots = 0;
	int			rc = 0;

	*schema_re = NULL;
	*name_re = NULL;
	if (*pattern == '\0')
		return err_set(err, SIDE_USAGE, -EINVAL, "a pattern cannot be empty");
	for (const char *cp = pattern; *cp != '\0'; cp++)
	{
		if (*cp == '"')
			inquotes = !inquotes;	/* "" inside quotes toggles twice: no change */
		else if (*cp == '.' && !inquotes)
		{
			dot = cp;
			dots++;
		}
	}
	if (inquotes)
		return err_set(err, SIDE_USAGE, -EINVAL, "unterminated quoted identifier");
	if (schema_only && dots > 0)
		return err_set(err, SIDE_USAGE, -EINVAL, "a schema pattern has no dot outside double quotes "
					   "(a schema's name in them may have one)");
	if (dots > 1)
		return err_set(err, SIDE_USAGE, -EINVAL, "too many dotted names: a pattern is \"schema.table\" or "
					   "\"table\" (double-quote a name that holds a dot)");
	if (dot != NULL)
	{
		*schema_re = part_regex(pattern, dot, &rc);
		*name_re = part_regex(dot + 1, end, &rc);
	}
	else
		*name_re = part_regex(pattern, end, &rc);
	if (rc < 0)
	{
		free(*schema_re);
		free(*name_re);
		*schema_re = *name_re = NULL;
		return err_set(err, SIDE_LOCAL, rc, "out of memory");
	}
	return rc;
}
