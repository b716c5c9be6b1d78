/*
 * stall.c: the stall clock of a waiting worker.  See stall.h.
 */
#include "io/stall.h"

#include <time.h>

void
stall_clock_init(stall_clock *c, int timeout_seconds)
{
	c->timeout = timeout_seconds > 0 ? (double) timeout_seconds : 0.0;
	c->since = -1.0;
	c->progress = 0;
}

void
stall_clock_begin(stall_clock *c, bool waiting, uint64_t progress, double now)
{
	if (!waiting || progress != c->progress)
	{
		c->since = -1.0;
		c->progress = progress;
	}
	if (waiting && c->since < 0.0)
		c->since = now;
}

/* When the thread last ended a wait of its own choosing (stall_clock_excuse). */
static _Thread_local double excused_until = -1.0;

void
stall_clock_excuse(double now)
{
	excused_until = now;
}

bool
stall_clock_end(stall_clock *c, bool ready, double now)
{
	if (ready)
	{
		c->since = -1.0;
		return false;
	}
	if (c->since >= 0.0 && c->since < excused_until)
		c->since = excused_until;
	return c->timeout > 0.0 && c->since >= 0.0 && now - c->since >= c->timeout;
}

