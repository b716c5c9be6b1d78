/*
 * args.c: option value parsing.  See args.h.
 */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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
args_parse_rate(const char *text, int64_t *bytes_per_second)
{
	char		size[64];
	size_t		len;

	if (text == NULL)
		return -EINVAL;
	len = strlen(text);
	if (len >= sizeof(size))
		return -EINVAL;
	memcpy(size, text, len + 1);
	if (len > 2 && strcasecmp(size + len - 2, "/s") == 0)
		size[len - 2] = '\0';
	if (strcmp(size, "0") == 0)
	{
		*bytes_per_second = 0;
		return 0;
	}
	return args_parse_size(size, bytes_per_second);
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

/* Masks n bytes at p. */
static void
mask(char *p, size_t n)
{
	memset(p, 'x', n);
}

/* In "key=value ..." text: masks the value of every password keyword. */
static int
mask_keywords(char *text)
{
	int			masked = 0;
	char	   *p = text;

	while (*p != '\0')
	{
		char	   *key;
		size_t		keylen;
		bool		is_password;

		while (isspace((unsigned char) *p))
			p++;
		key = p;
		while (*p != '\0' && *p != '=' && !isspace((unsigned char) *p))
			p++;
		keylen = (size_t) (p - key);
		is_password = keylen == 8 && strncasecmp(key, "password", 8) == 0;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			break;				/* not a connection string */
		p++;
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\'')
		{
			char	   *value = ++p;

			while (*p != '\0' && *p != '\'')
				p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
			if (is_password && p > value)
			{
				mask(value, (size_t) (p - value));
				masked = 1;
			}
			if (*p == '\'')
				p++;
		}
		else
		{
			char	   *value = p;

			while (*p != '\0' && !isspace((unsigned char) *p))
				p++;
			if (is_password && p > value)
			{
				mask(value, (size_t) (p - value));
				masked = 1;
			}
		}
	}
	return masked;
}

/* In a postgres:// or postgresql:// URI: the password of the user part, and password= parameters. */
static int
mask_uri(char *text)
{
	char	   *rest = strstr(text, "://") + 3;
	char	   *end = rest + strcspn(rest, "/?#");
	char	   *at = NULL;
	int			masked = 0;

	for (char *p = rest; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
	{
		char	   *colon = memchr(rest, ':', (size_t) (at - rest));

		if (colon != NULL && at > colon + 1)
		{
			mask(colon + 1, (size_t) (at - colon - 1));
			masked = 1;
		}
	}
	for (char *q = strchr(end, '?'); q != NULL && *q != '\0';)
	{
		q++;
		if (strncasecmp(q, "password=", 9) == 0)
		{
			size_t		n = strcspn(q + 9, "&#");

			if (n > 0)
			{
				mask(q + 9, n);
				masked = 1;
			}
		}
		q = strchr(q, '&');
	}
	return masked;
}

int
args_mask_password(char *text)
{
	if (text == NULL)
		return 0;
	if (strncasecmp(text, "postgresql://", 13) == 0 || strncasecmp(text, "postgres://", 11) == 0)
		return mask_uri(text);
	return strchr(text, '=') != NULL ? mask_keywords(text) : 0;
}
