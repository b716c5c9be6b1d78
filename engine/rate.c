/*
 * rate.c: the token bucket, the process's limiter and the watcher of the
 * run's record.  See rate.h.
 *
 * How the processes of a run share its cap.  Each process marks itself
 * live in the run's record (a row of the state schema's process table,
 * its heartbeat renewed every RATE_POLL_SECONDS by its watcher) and takes
 * cap / N, N being the processes whose heartbeat is less than
 * RATE_LIVE_SECONDS old.  The sum of the shares is the cap, whatever the
 * hosts, with nothing to exchange but the one row each process already
 * reads for the pause.  The other way, each process reporting the bytes
 * it moved and taking what is left of the budget, would use an idle
 * process's share, but makes the processes race for one budget, a
 * round trip per charge or a lease protocol of our own: not worth it for
 * a cap that exists to be gentle.  The cost of the simple way: a process
 * with fewer chunks left than the others leaves part of its share
 * unused (the run goes slower than the cap, never faster), and for up to
 * RATE_POLL_SECONDS after a process joins, the others still take their
 * old share (the newcomer counts itself at once, the others within a
 * second: an overshoot of one share for at most a second).  A process
 * leaves the count when its data step ends (rate_watch_stop deletes its
 * row) or, killed, once its heartbeat is RATE_LIVE_SECONDS old.  The
 * target's clock times every heartbeat, so the hosts' clocks do not
 * matter.
 *
 * Pause.  A paused run claims no new chunk (engine/sched.c waits here
 * before each), and a chunk in flight waits in rate_limit_wait at its next
 * read, holding its snapshot and its open transactions on both servers,
 * rather than finishing: finishing could move a whole chunk's rows (64 MB
 * by default, a large table copied whole: far more) after the pause, and
 * a pause is asked for because the source must be left alone now.  The
 * price is an open transaction on each side per chunk in flight, for as
 * long as the pause lasts (the source's vacuum horizon is held anyway by
 * the run's snapshot).
 *
 * Thread safety: see rate.h.  The watcher thread owns its connection.
 */
#include "engine/rate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/state.h"
#include "engine/stop.h"
#include "io/stall.h"

void
rate_bucket_init(rate_bucket *b, int64_t bytes_per_second, int64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->rate = bytes_per_second > 0 ? (double) bytes_per_second : 0;
	b->last_ns = now_ns;
}

/* Adds the tokens earned since last_ns, at most RATE_BURST_SECONDS of them. */
static void
refill(rate_bucket *b, int64_t now_ns)
{
	double		burst = b->rate * RATE_BURST_SECONDS;

	if (now_ns > b->last_ns)
	{
		b->tokens += b->rate * (double) (now_ns - b->last_ns) / 1e9;
		b->last_ns = now_ns;
	}
	if (b->tokens > burst)
		b->tokens = burst;
}

void
rate_bucket_set_rate(rate_bucket *b, int64_t bytes_per_second, int64_t now_ns)
{
	refill(b, now_ns);
	b->rate = bytes_per_second > 0 ? (double) bytes_per_second : 0;
	if (b->rate == 0)
		b->tokens = 0;			/* no debt carried into a later cap */
	refill(b, now_ns);
}

void
rate_bucket_take(rate_bucket *b, uint64_t bytes, int64_t now_ns)
{
	if (b->rate == 0)
		return;
	refill(b, now_ns);
	b->tokens -= (double) bytes;
}

int64_t
rate_bucket_delay_ns(rate_bucket *b, int64_t now_ns)
{
	if (b->rate == 0)
		return 0;
	refill(b, now_ns);
	if (b->tokens >= 0)
		return 0;
	return (int64_t) (-b->tokens / b->rate * 1e9) + 1;
}

/* The process's limiter: one bucket for all its workers. */
static struct
{
	pthread_mutex_t lock;
	rate_bucket bucket;			/* guarded by lock */
	atomic_llong cap;			/* this process's share; 0: none */
	atomic_int	paused;
} limiter = {.lock = PTHREAD_MUTEX_INITIALIZER};

void
rate_limit_apply(int64_t run_cap, bool paused, int processes)
{
	int64_t		share = run_cap > 0 ? run_cap / (processes > 1 ? processes : 1) : 0;

	if (run_cap > 0 && share < 1)
		share = 1;
	pthread_mutex_lock(&limiter.lock);
	rate_bucket_set_rate(&limiter.bucket, share, clock_ns());
	pthread_mutex_unlock(&limiter.lock);
	atomic_store(&limiter.cap, share);
	atomic_store(&limiter.paused, paused ? 1 : 0);
}

void
rate_limit_configure(int64_t bytes_per_second)
{
	rate_limit_apply(bytes_per_second, false, 1);
}

int64_t
rate_limit_cap(void)
{
	return atomic_load(&limiter.cap);
}

bool
rate_limit_paused(void)
{
	return atomic_load(&limiter.paused) != 0;
}

double
rate_limit_wait(uint64_t bytes, const atomic_int *stop)
{
	int64_t		start;
	int64_t		now;

	if (atomic_load(&limiter.cap) == 0 && !atomic_load(&limiter.paused))
		return 0;
	start = clock_ns();
	if (bytes > 0)
	{
		pthread_mutex_lock(&limiter.lock);
		rate_bucket_take(&limiter.bucket, bytes, start);
		pthread_mutex_unlock(&limiter.lock);
	}
	now = start;
	while (!atomic_load(stop_flag()) && (stop == NULL || !atomic_load(stop)))
	{
		int64_t		delay = RATE_SLICE_MS * 1000000LL;
		struct timespec pause;

		if (!atomic_load(&limiter.paused))
		{
			/* what is owed is asked again after each slice: the cap may change meanwhile */
			pthread_mutex_lock(&limiter.lock);
			delay = rate_bucket_delay_ns(&limiter.bucket, now);
			pthread_mutex_unlock(&limiter.lock);
			if (delay == 0)
				break;
			if (delay > RATE_SLICE_MS * 1000000LL)
				delay = RATE_SLICE_MS * 1000000LL;
		}
		pause.tv_sec = (time_t) (delay / 1000000000);
		pause.tv_nsec = (long) (delay % 1000000000);
		nanosleep(&pause, NULL);
		now = clock_ns();
	}
	/* a worker that waited here left its sockets alone: not a stall (io/stall.h) */
	if (now > start)
		stall_clock_excuse(clock_seconds());
	return (double) (now - start) / 1e9;
}

/* The watcher: one per process, over the run the process works on. */
static struct
{
	pthread_t	thread;
	bool		running;
	atomic_int	stop;
	PGconn	   *conn;			/* the watcher's own; NULL between failures */
	state		st;
	char	   *target;
	int64_t		run_id;
	char		process[160];
	state_control last;			/* what it last applied */
	bool		failing;		/* the last poll failed, and said so */
} watch;

/* Says what changed since the last poll. */
static void
say_change(const state_control *was, const state_control *now)
{
	char		cap[32];
	char		share[32];

	if (now->paused != was->paused)
		log_info("run %lld: %s by pgsluice throttle", (long long) watch.run_id,
				 now->paused ? "paused (chunks in flight wait, holding their transactions)" : "resumed");
	if (now->max_rate == was->max_rate && (now->max_rate == 0 || now->processes == was->processes))
		return;
	if (now->max_rate == 0)
	{
		log_info("run %lld: no rate cap", (long long) watch.run_id);
		return;
	}
	sbuf_format_bytes((uint64_t) now->max_rate, cap, sizeof(cap));
	sbuf_format_bytes((uint64_t) rate_limit_cap(), share, sizeof(share));
	log_info("run %lld: capped at %s/s, this process %s/s of it (%d %s)", (long long) watch.run_id, cap,
			 share, now->processes, now->processes == 1 ? "process" : "processes");
}

/* One poll: heartbeat, then the run's cap and pause applied; reconnects after a failure. */
static int
poll_once(sl_err *err)
{
	state_control now;
	int			rc;

	if (watch.conn == NULL)
	{
		if ((rc = conn_open(&watch.conn, watch.target, SIDE_TARGET, NULL, err)) < 0)
			return rc;
		watch.st.conn = watch.conn;
	}
	if ((rc = state_run_poll(&watch.st, watch.run_id, watch.process, &now, err)) < 0)
	{
		conn_close(&watch.conn);
		watch.st.conn = NULL;
		return rc;
	}
	rate_limit_apply(now.max_rate, now.paused, now.processes);
	say_change(&watch.last, &now);
	watch.last = now;
	return 0;
}

/*
 * A poll that failed because the run's record is gone (its row, the process
 * table's reference to it, the tables or the schema): the run finished.
 */
static bool
run_removed(int rc, const sl_err *err)
{
	return rc == -ENOENT || strcmp(err->sqlstate, "23503") == 0 || strcmp(err->sqlstate, "42P01") == 0 ||
		strcmp(err->sqlstate, "3F000") == 0;
}

static void *
watch_main(void *arg)
{
	int			rc;

	(void) arg;
	log_set_thread("throttle");
	while (!atomic_load(&watch.stop))
	{
		sl_err		err;
		int			slices = (int) (RATE_POLL_SECONDS * 1000 / RATE_SLICE_MS);

		for (int i = 0; i < slices && !atomic_load(&watch.stop); i++)
		{
			struct timespec tick = {0, RATE_SLICE_MS * 1000000L};

			nanosleep(&tick, NULL);
		}
		if (atomic_load(&watch.stop))
			break;
		err_clear(&err);
		/* a target that went away: the workers will say so; the cap and pause stay as they were */
		if ((rc = poll_once(&err)) < 0 && run_removed(rc, &err))
		{
			/* the process that finished the run removed its record: nothing left to obey */
			log_verbose("run %lld: its record is gone from the target; no more rate or pause to read",
						(long long) watch.run_id);
			break;
		}
		if (rc < 0)
		{
			if (!watch.failing)
				log_warning("%s; the run's rate and pause stay as they were until it can be read",
							err.msg);
			watch.failing = true;
		}
		else
			watch.failing = false;
	}
	return NULL;
}

int
rate_watch_start(const char *target, const char *schema, int64_t run_id, const char *process,
				 sl_err *err)
{
	int			rc;

	if (watch.running)
		return 0;
	memset(&watch.last, 0, sizeof(watch.last));
	atomic_store(&watch.stop, 0);
	watch.failing = false;
	watch.run_id = run_id;
	snprintf(watch.process, sizeof(watch.process), "%s", process);
	if ((watch.target = strdup(target)) == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = state_init(&watch.st, NULL, schema, err)) < 0)
		goto fail;
	if ((rc = poll_once(err)) < 0)
		goto fail;
	if (pthread_create(&watch.thread, NULL, watch_main, NULL) != 0)
	{
		rc = err_set(err, SIDE_LOCAL, -EAGAIN, "could not start the thread that watches run %lld's rate",
					 (long long) run_id);
		goto fail;
	}
	watch.running = true;
	return 0;
fail:
	conn_close(&watch.conn);
	state_fini(&watch.st);
	free(watch.target);
	watch.target = NULL;
	return rc;
}

void
rate_watch_stop(void)
{
	sl_err		ignored;

	if (!watch.running)
		return;
	atomic_store(&watch.stop, 1);
	pthread_join(watch.thread, NULL);
	watch.running = false;
	err_clear(&ignored);
	/* gone from the count at once, so that the others take its share at their next poll */
	if (watch.conn != NULL)
		(void) state_run_leave(&watch.st, watch.run_id, watch.process, &ignored);
	conn_close(&watch.conn);
	state_fini(&watch.st);
	free(watch.target);
	watch.target = NULL;
}
