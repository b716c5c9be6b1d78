/*
 * log.c: whole-line messages on stderr.  See log.h.
 */
#include "engine/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static log_level max_level = LOG_INFO;

void
log_set_level(log_level level)
{
	max_level = level;
}

log_level
log_get_level(void)
{
	return max_level;
}

void
log_msg(log_level level, const char *fmt,...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "", "debug: "};
	char		line[4096];
	int			len = 0;
	va_list		ap;

	if (level > max_level)
		return;
	if (max_level >= LOG_VERBOSE)
	{
		struct timespec now;
		struct tm	tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		len = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld ",
					   tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	}
	len += snprintf(line + len, sizeof(line) - (size_t) len, "pgsluice: %s", prefix[level]);
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof(line) - (size_t) len, fmt, ap);
	va_end(ap);
	if (len > (int) sizeof(line) - 2)
		len = (int) sizeof(line) - 2;
	line[len++] = '\n';
	/* one write: lines of concurrent workers do not interleave */
	(void) !write(STDERR_FILENO, line, (size_t) len);
}
