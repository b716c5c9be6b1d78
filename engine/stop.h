/*
 * stop.h: the process's one stop request.  The CLI's signal handler raises
 * it; whatever runs or waits watches it and ends early: the scheduler and
 * its chunks (engine/sched.h), the rate limiter's waits, the retries'
 * backoff, a clone waiting for chunks that other processes hold.  Raising
 * it is async-signal-safe.
 */
#ifndef PGSLUICE_ENGINE_STOP_H
#define PGSLUICE_ENGINE_STOP_H

#include <stdatomic.h>

/* Asks every running scheduler and wait to stop; async-signal-safe. */
void		stop_request(void);

/* The flag stop_request raises. */
const atomic_int *stop_flag(void);

#endif
