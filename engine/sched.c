/*
 * sched.c: worker threads over a plan's chunks.  See sched.h.
 */
#include "engine/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/progress.h"
#include "engine/rate.h"
#include "engine/slots.h"
#include "engine/stop.h"

#define MAIN_TICK_MS 100

typedef struct scheduler
{
	const sched_ops *ops;
	void	   *ctx;
	const plan *plan;
	const char *label;			/* names the workers' threads in verbose lines */
	const atomic_int *halt;		/* the caller's: hand out no more chunks */
	int			(*pick) (void *ctx, const atomic_int *stop);	/* the caller's, or NULL */
	int		   *order;			/* chunk indexes, largest first */
	int			norder;

	pthread_mutex_t lock;
	int			next;			/* guarded by lock: next index into order */
	sl_err		err;			/* guarded by lock: the first failure */
	pthread_cond_t ended;		/* with lock: a worker finished */

	int			progress;		/* the step's slot in engine/progress.h */
	atomic_int	stop;			/* running chunks give up */
	atomic_int	running;		/* workers not yet finished */
	atomic_int	chunks_done;
} scheduler;

typedef struct worker_arg
{
	scheduler  *sched;
	int			id;
	pthread_t	thread;
	bool		started;
} worker_arg;

static void *
worker_main(void *arg)
{
	worker_arg *wa = arg;
	scheduler  *s = wa->sched;
	void	   *state = NULL;
	sl_err		err;
	int			rc;

	err_clear(&err);
	log_set_thread("%s %d", s->label, wa->id + 1);
	rc = s->ops->open(s->ctx, wa->id, &s->stop, &state, &err);
	while (rc == 0)
	{
		int			chunk;
		int64_t		moved;
		uint64_t	rows;

		/* a paused run claims no new chunk (engine/rate.h), nor one past the shared slots (engine/slots.h) */
		(void) rate_limit_wait(0, &s->stop);
		if (slots_take(&s->stop) < 0)
			break;
		if (s->pick != NULL)
		{
			if (atomic_load(&s->stop) || (s->halt && atomic_load(s->halt)) || (chunk = s->pick(s->ctx, &s->stop)) < 0)
			{
				slots_give();
				break;
			}
		}
		else
		{
			pthread_mutex_lock(&s->lock);
			if (atomic_load(&s->stop) || s->next >= s->norder || (s->halt && atomic_load(s->halt)))
			{
				pthread_mutex_unlock(&s->lock);
				slots_give();
				break;
			}
			chunk = s->order[s->next++];
			pthread_mutex_unlock(&s->lock);
		}

		progress_chunk_begin(s->progress, wa->id, chunk);
		metrics_chunk_started();
		rows = 0;
		moved = s->ops->run(s->ctx, state, chunk, &rows, &err);
		slots_give();
		progress_chunk_end(s->progress, wa->id, chunk, moved >= 0, moved > 0 ? (uint64_t) moved : 0, rows);
		if (moved == SCHED_LATER)
		{
			metrics_chunk_put_back();
			continue;
		}
		metrics_chunk_finished(moved >= 0);
		if (moved > 0)
		{
			metrics_add_rows(rows);
			metrics_add_bytes((uint64_t) moved);
		}
		if (moved < 0)
		{
			rc = (int) moved;
			break;
		}
		atomic_fetch_add(&s->chunks_done, 1);
	}
	if (rc < 0)
	{
		pthread_mutex_lock(&s->lock);
		err_take(&s->err, &err);
		pthread_mutex_unlock(&s->lock);
		atomic_store(&s->stop, 1);
	}
	s->ops->close(s->ctx, state);
	pthread_mutex_lock(&s->lock);
	atomic_fetch_sub(&s->running, 1);
	pthread_cond_signal(&s->ended);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int
cmp_chunk_size(const void *a, const void *b, void *arg)
{
	const plan *p = arg;
	const plan_chunk *x = &p->chunks[*(const int *) a];
	const plan_chunk *y = &p->chunks[*(const int *) b];

	if (x->est_bytes != y->est_bytes)
		return x->est_bytes > y->est_bytes ? -1 : 1;
	return *(const int *) a - *(const int *) b;
}

int
sched_run(const sched_ops *ops, void *ctx, const plan *p, const sched_options *opt,
		  int *chunks_done, sl_err *err)
{
	scheduler	s;
	worker_arg *workers;
	int			jobs = opt->jobs > 0 ? opt->jobs : 1;
	int			rc = 0;

	memset(&s, 0, sizeof(s));
	s.ops = ops;
	s.ctx = ctx;
	s.plan = p;
	s.label = opt->label != NULL ? opt->label : "worker";
	s.halt = opt->halt;
	s.pick = opt->pick;
	s.order = calloc((size_t) p->nchunks + 1, sizeof(int));
	workers = calloc((size_t) jobs, sizeof(worker_arg));
	if (s.order == NULL || workers == NULL)
	{
		free(s.order);
		free(workers);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory scheduling chunks");
	}
	for (int i = 0; i < p->nchunks; i++)
		if (opt->skip == NULL || !opt->skip[i])
			s.order[s.norder++] = i;
	qsort_r(s.order, (size_t) s.norder, sizeof(int), cmp_chunk_size, (void *) p);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.ended, NULL);
	err_clear(&s.err);

	s.progress = progress_step_begin(opt->label, opt->cat, p, opt->skip);
	metrics_add_planned(s.norder);
	if (jobs > s.norder && s.norder > 0)
		jobs = s.norder;
	for (int i = 0; i < jobs; i++)
	{
		workers[i].sched = &s;
		workers[i].id = i + 1;
		atomic_fetch_add(&s.running, 1);
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
		{
			atomic_fetch_sub(&s.running, 1);
			err_set(&s.err, SIDE_LOCAL, -EAGAIN, "could not start worker thread %d", i + 1);
			atomic_store(&s.stop, 1);
			break;
		}
		workers[i].started = true;
	}

	/* woken by the last worker to end; the tick passes a stop request on */
	pthread_mutex_lock(&s.lock);
	while (atomic_load(&s.running) > 0)
	{
		struct timespec until = clock_realtime_after(MAIN_TICK_MS * 1000000L);

		(void) pthread_cond_timedwait(&s.ended, &s.lock, &until);
		if (atomic_load(stop_flag()))
			atomic_store(&s.stop, 1);
	}
	pthread_mutex_unlock(&s.lock);
	for (int i = 0; i < jobs; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);

	*chunks_done = atomic_load(&s.chunks_done);
	if (err_is_set(&s.err))
		rc = err_take(err, &s.err);
	else if (atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");
	progress_step_end(s.progress);
	pthread_cond_destroy(&s.ended);
	pthread_mutex_destroy(&s.lock);
	free(s.order);
	free(workers);
	return rc;
}

void
sched_blame_stop(int rc, sl_err *err)
{
	sl_err		interrupted;

	if (rc >= 0 || !atomic_load(stop_flag()) || err->side == SIDE_INTERRUPT)
		return;
	err_clear(&interrupted);
	err_set(&interrupted, SIDE_INTERRUPT, -EINTR, "interrupted: %s", err->msg);
	*err = interrupted;
}

void
sched_backoff(int attempt, const atomic_int *stop)
{
	double		seconds = attempt >= 6 ? SCHED_BACKOFF_MAX_SECONDS : (double) (1 << (attempt - 1));
	double		until = clock_seconds() + (seconds < SCHED_BACKOFF_MAX_SECONDS ? seconds : SCHED_BACKOFF_MAX_SECONDS);

	while (!atomic_load(stop) && clock_seconds() < until)
	{
		struct timespec tick = {0, 100 * 1000000L};

		nanosleep(&tick, NULL);
	}
}

int
sched_retry_run(const sched_retry *r, sl_err *err)
{
	for (int attempt = 1;; attempt++)
	{
		sl_err		e;

		err_clear(&e);
		if (r->attempt(r->arg, &e) == 0)
			return 0;
		if (atomic_load(r->stop) || !err_transient(&e) || attempt > r->retries)
		{
			if (err_transient(&e) && attempt > r->retries && r->retries > 0)
				log_error("%s failed %d times; giving up", r->what, attempt);
			return err_take(err, &e);
		}
		atomic_fetch_add(r->count, 1);
		metrics_add_retry();
		log_warning("%s; retrying (attempt %d of %d) %s", e.msg, attempt + 1, r->retries + 1, r->again);
		sched_backoff(attempt, r->stop);
		if (r->retrying != NULL)
			r->retrying(r->arg, &e);
	}
}
