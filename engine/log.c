/*
 * log.c: whole-line messages on stderr.  See log.h.
 *
 * Thread safety: out_lock serializes the writes to stderr and guards the
 * status block; nothing else is locked while it is held.
 */
#include "engine/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define STATUS_MAX 8192

static log_level max_level = LOG_INFO;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_block[STATUS_MAX];	/* guarded by out_lock: as drawn, "" when none */
static int	status_lines;		/* guarded by out_lock: its lines on the screen */
static _Thread_local char thread_name[32];
static char process_label[160];	/* set once, before any thread starts: what the process works on */

void
log_set_thread(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(thread_name, sizeof(thread_name), fmt, ap);
	va_end(ap);
}

void
log_set_label(const char *label)
{
	snprintf(process_label, sizeof(process_label), "%s", label != NULL ? label : "");
}

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

/* One line of level, "pgsluice: " and prefix before the message. */
static void log_line(log_level level, const char *prefix, const char *fmt, va_list ap)
			__attribute__((format(printf, 3, 0)));

static void
log_line(log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char		line[4096];
	int			len = 0;

	if (level > max_level)
		return;
	if (max_level >= LOG_VERBOSE)
	{
		struct timespec now;
		struct tm	tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		len = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld [%s] ",
					   tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
					   thread_name[0] != '\0' ? thread_name : "main");
	}
	len += snprintf(line + len, sizeof(line) - (size_t) len, "pgsluice: %s%s%s", process_label,
					process_label[0] != '\0' ? ": " : "", prefix);
	len += vsnprintf(line + len, sizeof(line) - (size_t) len, fmt, ap);
	if (len > (int) sizeof(line) - 2)
		len = (int) sizeof(line) - 2;
	line[len++] = '\n';
	pthread_mutex_lock(&out_lock);
	if (status_lines == 0)
		(void) !write(STDERR_FILENO, line, (size_t) len);
	else
	{
		/* the line goes above the status block, which is drawn again below it */
		char		out[sizeof(line) + STATUS_MAX + 32];
		int			n = snprintf(out, sizeof(out), "\033[%dA\r\033[J%.*s%s", status_lines, len, line,
								 status_block);

		(void) !write(STDERR_FILENO, out, (size_t) (n < (int) sizeof(out) ? n : (int) sizeof(out) - 1));
	}
	pthread_mutex_unlock(&out_lock);
}

static void log_prefixed(log_level level, const char *prefix, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void
log_prefixed(log_level level, const char *prefix, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	log_line(level, prefix, fmt, ap);
	va_end(ap);
}

void
log_msg(log_level level, const char *fmt,...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "", "debug: "};
	va_list		ap;

	va_start(ap, fmt);
	log_line(level, prefix[level], fmt, ap);
	va_end(ap);
}

void
log_failure(const sl_err *err)
{
	log_prefixed(LOG_ERROR, "error: ", "%s", err->msg);
	if (err->hint[0] != '\0')
		log_prefixed(LOG_ERROR, "hint: ", "%s", err->hint);
}

void
log_status(const char *block)
{
	struct winsize ws;
	int			width = 0;
	char		out[2 * STATUS_MAX + 32];
	size_t		n = 0;
	size_t		kept = 0;
	int			lines = 0;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col - 1;
	pthread_mutex_lock(&out_lock);
	if (status_lines > 0)
		n = (size_t) snprintf(out, sizeof(out), "\033[%dA\r\033[J", status_lines);
	/* each line cut to the terminal's width, so that none wraps and the count holds */
	for (const char *p = block != NULL ? block : ""; *p != '\0' && kept + 2 < STATUS_MAX;)
	{
		const char *end = strchr(p, '\n');
		size_t		len = end != NULL ? (size_t) (end - p) : strlen(p);
		size_t		take = len;
		int			cols = 0;

		if (width > 0)
		{
			/* columns are counted in characters: UTF-8 continuation bytes take none */
			take = 0;
			while (take < len && (cols < width || ((unsigned char) p[take] & 0xC0) == 0x80))
				cols += ((unsigned char) p[take++] & 0xC0) != 0x80;
		}
		if (kept + take + 2 >= STATUS_MAX)
			break;
		memcpy(status_block + kept, p, take);
		kept += take;
		status_block[kept++] = '\n';
		lines++;
		p += len + (end != NULL);
	}
	status_block[kept] = '\0';
	memcpy(out + n, status_block, kept);
	n += kept;
	status_lines = lines;
	if (n > 0)
		(void) !write(STDERR_FILENO, out, n);
	pthread_mutex_unlock(&out_lock);
}
