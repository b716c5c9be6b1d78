/*
 * err.h: the error handle every layer fills.
 *
 * Functions return 0 (or a count) on success and a negative errno on failure,
 * and fill an sl_err with the detail once, where the failure happens, in
 * PostgreSQL's message style: lowercase, names quoted, the cause last.  The
 * handle is sticky: the first error wins, as SQLite's p->rc does, so that a
 * cleanup path that fails too does not hide the cause.  The side says which
 * server (or the local machine) failed, and picks the exit code.
 *
 * The fix, when the code that fails knows it, stands apart from the cause,
 * as PostgreSQL's errhint: err_hint right after the err_set it belongs to.
 * The CLI prints it on its own "hint:" line, and the JSON reports keep it
 * in a field of its own.
 */
#ifndef PGSLUICE_BASE_ERR_H
#define PGSLUICE_BASE_ERR_H

#include <stdarg.h>
#include <stdbool.h>

#define SL_ERR_MSG_MAX 2048
#define SL_ERR_HINT_MAX 512

typedef enum sl_side
{
	SIDE_NONE = 0,				/* no error */
	SIDE_LOCAL,					/* this machine: files, memory, child processes */
	SIDE_SOURCE,				/* the source cluster */
	SIDE_TARGET,				/* the target cluster */
	SIDE_USAGE,					/* the user's options */
	SIDE_INTERRUPT				/* a signal asked us to stop */
} sl_side;

typedef struct sl_err
{
	int			code;			/* negative errno; 0 while no error is set */
	sl_side		side;
	char		sqlstate[6];	/* the server's, when it said one; "08006" for a lost connection */
	char		msg[SL_ERR_MSG_MAX];
	char		hint[SL_ERR_HINT_MAX];	/* the fix, or "" */
	bool		hint_open;		/* the last err_set recorded its error: err_hint may add to it */
} sl_err;

/* Records the error unless one is already set; returns code either way. */
int			err_set(sl_err *err, sl_side side, int code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* err_set with the arguments in a va_list, for a module's own failure helper. */
int			err_setv(sl_err *err, sl_side side, int code, const char *fmt, va_list ap)
			__attribute__((format(printf, 4, 0)));

/*
 * Gives the error that the err_set just before recorded its hint: what to do
 * about it, a sentence without the "hint:".  Nothing when that err_set was
 * ignored (an earlier error stands) or the error has its hint already.
 */
void		err_hint(sl_err *err, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Copies src into err unless err already holds an error; returns src->code. */
int			err_take(sl_err *err, const sl_err *src);

static inline bool
err_is_set(const sl_err *err)
{
	return err->code != 0;
}

static inline void
err_clear(sl_err *err)
{
	err->code = 0;
	err->side = SIDE_NONE;
	err->sqlstate[0] = '\0';
	err->msg[0] = '\0';
	err->hint[0] = '\0';
	err->hint_open = false;
}

/* Puts what (and ": ") before the message, unless the message begins with it. */
void		err_prefix(sl_err *err, const char *what);

/*
 * True when a new attempt may succeed: the connection was lost or the
 * server restarted, or it gave up on the statement for a reason of the
 * moment (serialization failure, deadlock, cancel, too many connections).
 * Anything else (a type mismatch, a missing column, a permission) would
 * fail the same way again.
 */
bool		err_transient(const sl_err *err);

/* "source", "target" or "local" */
const char *err_side_name(sl_side side);

#endif
