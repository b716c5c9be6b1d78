/*
 * err.c: sticky error handles.  See err.h.
 */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_setv(sl_err *err, sl_side side, int code, const char *fmt, va_list ap)
{
	if (err_is_set(err))
	{
		err->hint_open = false;
		return code;
	}
	err->code = code;
	err->side = side;
	err->hint[0] = '\0';
	err->hint_open = true;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int
err_set(sl_err *err, sl_side side, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	err_setv(err, side, code, fmt, ap);
	va_end(ap);
	return code;
}

void
err_hint(sl_err *err, const char *fmt,...)
{
	va_list		ap;

	if (!err->hint_open || err->hint[0] != '\0')
		return;
	err->hint_open = false;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

int
err_take(sl_err *err, const sl_err *src)
{
	if (!err_is_set(err) && err_is_set(src))
	{
		memcpy(err, src, sizeof(*err));
		err->hint_open = false;
	}
	return src->code;
}

void
err_prefix(sl_err *err, const char *what)
{
	char		msg[SL_ERR_MSG_MAX];
	size_t		n;

	if (strncmp(err->msg, what, strlen(what)) == 0)
		return;
	n = (size_t) snprintf(msg, sizeof(msg), "%s: ", what);
	if (n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, "%.*s", (int) (sizeof(msg) - n - 1), err->msg);
	memcpy(err->msg, msg, sizeof(msg));
}

bool
err_transient(const sl_err *err)
{
	static const char *const states[] = {
		"40001",				/* serialization_failure */
		"40P01",				/* deadlock_detected */
		"57014",				/* query_canceled */
		"57P01",				/* admin_shutdown: terminated, or the server stopping */
		"57P02",				/* crash_shutdown */
		"57P03",				/* cannot_connect_now: starting up */
		"53300",				/* too_many_connections */
	};

	if (err->side != SIDE_SOURCE && err->side != SIDE_TARGET)
		return false;
	if (strncmp(err->sqlstate, "08", 2) == 0)	/* connection_exception */
		return true;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(err->sqlstate, states[i]) == 0)
			return true;
	return err->code == -ECONNRESET || err->code == -EPIPE || err->code == -ENOTCONN ||
		err->code == -ETIMEDOUT || err->code == -ECONNREFUSED;
}

const char *
err_side_name(sl_side side)
{
	switch (side)
	{
		case SIDE_SOURCE:
			return "source";
		case SIDE_TARGET:
			return "target";
		case SIDE_USAGE:
			return "usage";
		case SIDE_INTERRUPT:
			return "interrupt";
		case SIDE_LOCAL:
		case SIDE_NONE:
			break;
	}
	return "local";
}
