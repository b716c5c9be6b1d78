/*
 * clock.h: the monotonic clock every layer times with: deadlines, stalls,
 * rates, progress.  Never the wall clock, which NTP may step, but for the
 * deadlines of the POSIX timed waits.
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

/*
 * The wall-clock time ns nanoseconds from now: the deadline that
 * pthread_cond_timedwait and sem_timedwait take, which only know
 * CLOCK_REALTIME.  For short waits only, which a step of the clock at most
 * lengthens or shortens once.
 */
static inline struct timespec
clock_realtime_after(long ns)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ns / 1000000000L;
	until.tv_nsec += ns % 1000000000L;
	if (until.tv_nsec >= 1000000000L)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return until;
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
