/*
 * log.h: messages to stderr, "pgsluice: " first, as PostgreSQL's tools do.
 *
 * The engine logs a failure once, at the level that decides what to do about
 * it.  Lines are written whole with one call, so lines of different worker
 * threads never interleave.  Verbose lines carry the time and the worker.
 */
#ifndef PGSLUICE_ENGINE_LOG_H
#define PGSLUICE_ENGINE_LOG_H

#include "base/err.h"

typedef enum log_level
{
	LOG_ERROR = 0,
	LOG_WARNING,
	LOG_INFO,
	LOG_VERBOSE,
	LOG_DEBUG
} log_level;

/* Messages above this level are dropped; set once by the CLI before any thread starts. */
void		log_set_level(log_level level);
log_level	log_get_level(void);

/*
 * Names the calling thread in its verbose lines (e.g. "data 2"); a thread
 * that gives no name is "main".
 */
void		log_set_thread(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/*
 * Names what the whole process works on, before every message ("pgsluice:
 * LABEL: ..."): a database of a cluster run.  Set before threads start.
 */
void		log_set_label(const char *label);

void		log_msg(log_level level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * On a terminal: keeps block (lines, each ending in a newline) below the
 * log lines, drawn again in place at each call and after each log line;
 * NULL or "" removes it.  Lines are cut to the terminal's width.
 */
void		log_status(const char *block);

/* An error's message on an "error:" line, and its hint, if any, on a "hint:" line. */
void		log_failure(const sl_err *err);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
