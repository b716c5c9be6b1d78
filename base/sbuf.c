/*
 * sbuf.c: capped growable strings.  See sbuf.h.
 */
#include "base/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sbuf_init(sbuf *buf, size_t cap)
{
	memset(buf, 0, sizeof(*buf));
	buf->cap = cap;
}

void
sbuf_fini(sbuf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

void
sbuf_reset(sbuf *buf)
{
	buf->len = 0;
	buf->failed = false;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

static int
sbuf_reserve(sbuf *buf, size_t extra)
{
	size_t		want;
	size_t		alloc;
	char	   *data;

	if (buf->failed)
		return -ENOMEM;
	if (extra > buf->cap || buf->len > buf->cap - extra)
	{
		buf->failed = true;
		return -ENOMEM;
	}
	want = buf->len + extra + 1;
	if (want <= buf->alloc)
		return 0;
	alloc = buf->alloc ? buf->alloc : 256;
	while (alloc < want)
		alloc *= 2;
	data = realloc(buf->data, alloc);
	if (data == NULL)
	{
		buf->failed = true;
		return -ENOMEM;
	}
	buf->data = data;
	buf->alloc = alloc;
	return 0;
}

int
sbuf_appendn(sbuf *buf, const char *str, size_t len)
{
	int			rc = sbuf_reserve(buf, len);

	if (rc < 0)
		return rc;
	memcpy(buf->data + buf->len, str, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

int
sbuf_append(sbuf *buf, const char *str)
{
	return sbuf_appendn(buf, str, strlen(str));
}

int
sbuf_printf(sbuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			need;
	int			rc;

	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0)
	{
		buf->failed = true;
		return -EINVAL;
	}
	if ((rc = sbuf_reserve(buf, (size_t) need)) < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t) need + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t) need;
	return 0;
}

const char *
sbuf_str(const sbuf *buf)
{
	return buf->data != NULL ? buf->data : "";
}

char *
sbuf_take(sbuf *buf)
{
	char	   *str = buf->data;

	if (str == NULL)
		str = strdup("");
	buf->data = NULL;
	buf->len = buf->alloc = 0;
	return str;
}

void
sbuf_format_bytes(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double		value = (double) bytes;
	int			unit = 0;

	while (value >= 1024 && unit < 4)
	{
		value /= 1024;
		unit++;
	}
	snprintf(out, outlen, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
}
