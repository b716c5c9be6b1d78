/*
 * args.c: option value parsing.  See args.h.
 */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

int
args_parse_size(const char *text, int64_t *bytes)
{
	static const struct
	{
		const char *unit;
		double		factor;
	}			units[] = {
		{"", 1}, {"b", 1}, {"kb", 1024.0}, {"mb", 1048576.0},
		{"gb", 1073741824.0}, {"tb", 1099511627776.0}
	};
	char	   *end;
	double		number;

	if (text == NULL || !isdigit((unsigned char) text[0]))
		return -EINVAL;
	errno = 0;
	number = strtod(text, &end);
	if (errno != 0 || !isfinite(number))
		return -EINVAL;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		if (strcasecmp(end, units[i].unit) == 0)
		{
			double		value = number * units[i].factor;

			if (value < 1 || value > 9.0e18)
				return -EINVAL;
			*bytes = (int64_t) value;
			return 0;
		}
	}
	return -EINVAL;
}

int
args_parse_int(const char *text, int min, int max, int *value)
{
	char	   *end;
	long		number;

	if (text == NULL || text[0] == '\0')
		return -EINVAL;
	errno = 0;
	number = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || number < min || number > max)
		return -EINVAL;
	*value = (int) number;
	return 0;
}
