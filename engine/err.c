/*
 * err.c: sticky error handles.  See err.h.
 */
#include "engine/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_set(sl_err *err, sl_side side, int code, const char *fmt,...)
{
	va_list		ap;

	if (err_is_set(err))
		return code;
	err->code = code;
	err->side = side;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
err_take(sl_err *err, const sl_err *src)
{
	if (!err_is_set(err) && err_is_set(src))
		memcpy(err, src, sizeof(*err));
	return src->code;
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
