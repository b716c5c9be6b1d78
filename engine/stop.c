/*
 * stop.c: the process's stop request (see stop.h).
 */
#include "engine/stop.h"

static atomic_int stop_requested;

void
stop_request(void)
{
	atomic_store(&stop_requested, 1);
}

const atomic_int *
stop_flag(void)
{
	return &stop_requested;
}
