/*
 * json_write.c: the streaming JSON writer (see json.h).
 *
 * Each value first writes what separates it from the one before in its
 * container (a comma, and in a container of lines a newline and the
 * indent), then its key, then itself.  The writer keeps, per open
 * container, whether it is an object, whether it is written in lines and
 * whether it has a member yet; nothing else.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec/json.h"

void
json_writer_init(json_writer *w, sbuf *out)
{
	*w = (json_writer) {.out = out};
}

static void
indent(json_writer *w, int lines)
{
	sbuf_appendn(w->out, "\n", 1);
	for (int i = 0; i < lines; i++)
		sbuf_appendn(w->out, "  ", 2);
}

static void
put_quoted(json_writer *w, const char *s)
{
	char	   *quoted = json_quote_dup(s);

	if (quoted == NULL)
		w->out->failed = true;
	else
		sbuf_append(w->out, quoted);
	free(quoted);
}

/* What comes before a value: its separator and its key.  False after misuse. */
static bool
begin_value(json_writer *w, const char *key)
{
	if (w->misuse < 0)
		return false;
	if (w->depth == 0)
	{
		if (w->top_done || key != NULL)
			return (w->misuse = -EINVAL), false;
		return true;
	}
	if (w->open[w->depth - 1].object != (key != NULL))
		return (w->misuse = -EINVAL), false;
	if (w->open[w->depth - 1].any)
		sbuf_appendn(w->out, ",", 1);
	if (w->open[w->depth - 1].lines)
		indent(w, w->lines);
	else if (w->open[w->depth - 1].any)
		sbuf_appendn(w->out, " ", 1);
	w->open[w->depth - 1].any = true;
	if (key != NULL)
	{
		put_quoted(w, key);
		sbuf_appendn(w->out, ": ", 2);
	}
	return true;
}

/* After a scalar or a closed container: the top-level value may be done. */
static void
end_value(json_writer *w)
{
	if (w->depth == 0)
		w->top_done = true;
}

static void
open_container(json_writer *w, const char *key, json_layout layout, bool object)
{
	if (!begin_value(w, key))
		return;
	if (w->depth == JSON_WRITE_DEPTH)
	{
		w->misuse = -EINVAL;
		return;
	}
	sbuf_appendn(w->out, object ? "{" : "[", 1);
	w->open[w->depth].object = object;
	w->open[w->depth].lines = layout == JSON_LINES;
	w->open[w->depth].any = false;
	w->depth++;
	w->lines += layout == JSON_LINES;
}

void
json_put_object(json_writer *w, const char *key, json_layout layout)
{
	open_container(w, key, layout, true);
}

void
json_put_array(json_writer *w, const char *key, json_layout layout)
{
	open_container(w, key, layout, false);
}

void
json_put_end(json_writer *w)
{
	bool		object;

	if (w->misuse < 0)
		return;
	if (w->depth == 0)
	{
		w->misuse = -EINVAL;
		return;
	}
	w->depth--;
	object = w->open[w->depth].object;
	if (w->open[w->depth].lines)
	{
		w->lines--;
		if (w->open[w->depth].any)
			indent(w, w->lines);
	}
	sbuf_appendn(w->out, object ? "}" : "]", 1);
	end_value(w);
}

void
json_put_string(json_writer *w, const char *key, const char *value)
{
	if (!begin_value(w, key))
		return;
	if (value == NULL)
		sbuf_appendn(w->out, "null", 4);
	else
		put_quoted(w, value);
	end_value(w);
}

void
json_put_int(json_writer *w, const char *key, int64_t value)
{
	if (!begin_value(w, key))
		return;
	sbuf_printf(w->out, "%lld", (long long) value);
	end_value(w);
}

void
json_put_uint(json_writer *w, const char *key, uint64_t value)
{
	if (!begin_value(w, key))
		return;
	sbuf_printf(w->out, "%llu", (unsigned long long) value);
	end_value(w);
}

void
json_put_double(json_writer *w, const char *key, double value, int decimals)
{
	if (!begin_value(w, key))
		return;
	if (isfinite(value))
		sbuf_printf(w->out, "%.*f", decimals, value);
	else
		sbuf_appendn(w->out, "null", 4);
	end_value(w);
}

void
json_put_bool(json_writer *w, const char *key, bool value)
{
	if (!begin_value(w, key))
		return;
	sbuf_append(w->out, value ? "true" : "false");
	end_value(w);
}

void
json_put_null(json_writer *w, const char *key)
{
	if (!begin_value(w, key))
		return;
	sbuf_appendn(w->out, "null", 4);
	end_value(w);
}

int
json_writer_finish(const json_writer *w)
{
	if (w->misuse < 0 || w->depth > 0 || !w->top_done)
		return -EINVAL;
	return sbuf_failed(w->out) ? -ENOMEM : 0;
}
