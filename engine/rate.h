/*
 * rate.h: --max-rate and throttle: how many COPY bytes per second a run
 * reads from its source (restore: writes to its target), and its pause.
 *
 * Three layers:
 *   - rate_bucket, a token bucket that takes the time as an argument, so
 *     that it is tested without a clock;
 *   - the process's limiter, one bucket shared by all its workers: the
 *     read paths charge what they moved once per socket read or buffer
 *     (never per row) through rate_limit_wait, which is also the one
 *     place where a worker waits on purpose, for tokens or while the run
 *     is paused;
 *   - the watcher, a thread with its own target connection that reads the
 *     run's record about once a second (rate_watch_start), so that
 *     "pgsluice throttle" from anywhere reaches every process of the run.
 *
 * A run's cap is for the whole run, across every process of it (the
 * first and any "pgsluice worker"): see rate.c for how they share it.
 *
 * Thread safety: the limiter's mutex guards its bucket; its cap, pause and
 * process count are atomics, read without the lock on the fast path.  The
 * lock is taken after no other and nothing is called under it.
 */
#ifndef PGSLUICE_ENGINE_RATE_H
#define PGSLUICE_ENGINE_RATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define RATE_BURST_SECONDS 0.1	/* a bucket saves up at most this much of its rate */
#define RATE_SLICE_MS 100		/* a waiting worker looks at its stop flag this often */
#define RATE_POLL_SECONDS 1.0	/* the watcher reads the run's record this often */
#define RATE_LIVE_SECONDS 3		/* a process whose heartbeat is older has left the run */

/*
 * A token bucket over a byte rate.  Tokens may go below zero: a read
 * takes what it moved, however much, and the next one waits until the
 * debt is paid off, so the caller needs no size up front.  Times are
 * nanoseconds on any monotonic clock.
 */
typedef struct rate_bucket
{
	double		rate;			/* bytes per second; 0: no cap */
	double		tokens;			/* bytes that may move now; negative: owed */
	int64_t		last_ns;		/* when tokens was last brought up to date */
} rate_bucket;

void		rate_bucket_init(rate_bucket *b, int64_t bytes_per_second, int64_t now_ns);

/* A new rate from now on (0: none); what is owed stays owed, paid at the new rate. */
void		rate_bucket_set_rate(rate_bucket *b, int64_t bytes_per_second, int64_t now_ns);

/* Counts bytes moved at now_ns. */
void		rate_bucket_take(rate_bucket *b, uint64_t bytes, int64_t now_ns);

/* Nanoseconds from now_ns until the debt is paid; 0 when nothing is owed or there is no cap. */
int64_t		rate_bucket_delay_ns(rate_bucket *b, int64_t now_ns);

/*
 * This process's own cap, from its --max-rate (0: none), until a watcher
 * applies the run's.
 */
void		rate_limit_configure(int64_t bytes_per_second);

/*
 * What the run's record says (the watcher's doing): the run's cap
 * (0: none), whether it is paused, and how many processes share it (this
 * one included); this process takes run_cap / processes.
 */
void		rate_limit_apply(int64_t run_cap, bool paused, int processes);

/* This process's share of the cap now (0: none), and whether the run is paused. */
int64_t		rate_limit_cap(void);
bool		rate_limit_paused(void);

/*
 * Charges bytes just moved (0: none, only honour a pause), then waits
 * while the bucket is in debt or the run is paused, in slices of
 * RATE_SLICE_MS, until stop (NULL: none) or a stop request
 * (engine/sched.h) is raised.  Returns the seconds it waited.
 *
 * This is the only place where a worker waits on the limiter: a connection
 * that moves no bytes while its worker is in here is not stalled, it is
 * held back on purpose, and a stall clock should start again when it
 * returns.  With no cap and no pause it returns at once, taking no lock.
 */
double		rate_limit_wait(uint64_t bytes, const atomic_int *stop);

/*
 * Starts the watcher of run run_id, recorded in schema (quoted or not, as
 * --state-schema takes it) of the target: a thread that, about once a
 * second on a connection of its own, marks this process live in the run's
 * record (process names it: host/pid) and applies the run's cap and pause.
 * Reads the record once before it returns, so that the first chunk starts
 * under the run's cap.  Returns 0 or a negative errno.
 */
int			rate_watch_start(const char *target, const char *schema, int64_t run_id,
							 const char *process, sl_err *err);

/* Stops the watcher (if one runs), takes this process out of the run's record. */
void		rate_watch_stop(void);

#endif
