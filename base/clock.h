/*
 * clock.h: the monotonic clock every layer times with: deadlines, stalls,
 * rates, progress.  Never the wall clock, which NTP may step.
 */
#ifndef PGSLUICE_BASE_CLOCK_H
#define PGSLUICE_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since an arbitrary start, monotonic. */
static inline double
clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The same in nanoseconds. */
static inline int64_t
clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
