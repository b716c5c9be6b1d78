/*
 * progress.c: the figures of the running steps, and their display.  See
 * progress.h.
 */
#include "engine/progress.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/log.h"
#include "engine/rate.h"

#define TICK_MS 100
#define LIVE_EVERY 0.5			/* seconds between redraws of the live block */
#define BAR_WIDTH 20

typedef struct progress_worker
{
	int			idx;			/* its chunk; -1: idle */
	double		since;
} progress_worker;

typedef struct progress_step
{
	bool		used;
	char		label[32];
	const catalog *cat;
	const plan *plan;
	int			chunks_total;
	int			chunks_done;
	int			tables_total;
	int			tables_done;
	int		   *chunks_left;	/* per table: chunks of the step not yet done */
	int64_t		est_total;		/* planned heap bytes of the step's chunks */
	int64_t		est_done;
	uint64_t	rows;
	uint64_t	bytes;
	int			busy;
	double		started;
	progress_worker workers[PROGRESS_MAX_WORKERS + 1];	/* by worker id, 1 on */
} progress_step;

/* What a progress line says of a step. */
typedef struct progress_figures
{
	int			chunks_total;
	int			chunks_done;
	int			tables_total;
	int			tables_done;
	int			busy;			/* workers on a chunk */
	uint64_t	rows;
	uint64_t	bytes;
	double		seconds;
	double		eta;			/* seconds; < 0 before there is a basis for one */
} progress_figures;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static progress_step steps[PROGRESS_MAX_STEPS];	/* guarded by lock */
static char phase[128];			/* guarded by lock */
static double phase_since;		/* guarded by lock */

static pthread_t display;
static bool display_running;	/* only the thread that starts and stops it */
static atomic_int display_stop;
static bool display_live;
static int	display_interval;

void
progress_phase(const char *what)
{
	pthread_mutex_lock(&lock);
	snprintf(phase, sizeof(phase), "%s", what != NULL ? what : "");
	phase_since = clock_seconds();
	pthread_mutex_unlock(&lock);
}

int
progress_step_begin(const char *label, const catalog *cat, const plan *p, const uint8_t *skip)
{
	int			slot = -1;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < PROGRESS_MAX_STEPS && slot < 0; i++)
		if (!steps[i].used)
			slot = i;
	if (slot >= 0)
	{
		progress_step *s = &steps[slot];

		memset(s, 0, sizeof(*s));
		s->chunks_left = cat != NULL ? calloc((size_t) cat->ntables + 1, sizeof(int)) : NULL;
		s->used = true;
		snprintf(s->label, sizeof(s->label), "%s", label);
		s->cat = cat;
		s->plan = p;
		s->started = clock_seconds();
		for (int i = 0; i <= PROGRESS_MAX_WORKERS; i++)
			s->workers[i].idx = -1;
		for (int i = 0; i < p->nchunks; i++)
		{
			if (skip != NULL && skip[i])
				continue;
			s->chunks_total++;
			s->est_total += p->chunks[i].est_bytes;
			if (s->chunks_left != NULL && p->chunks[i].table < cat->ntables &&
				s->chunks_left[p->chunks[i].table]++ == 0)
				s->tables_total++;
		}
	}
	pthread_mutex_unlock(&lock);
	return slot;
}

void
progress_step_end(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&lock);
	free(steps[slot].chunks_left);
	steps[slot].chunks_left = NULL;
	steps[slot].used = false;
	pthread_mutex_unlock(&lock);
}

void
progress_chunk_begin(int slot, int worker, int idx)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&lock);
	steps[slot].busy++;
	if (worker >= 1 && worker <= PROGRESS_MAX_WORKERS)
	{
		steps[slot].workers[worker].idx = idx;
		steps[slot].workers[worker].since = clock_seconds();
	}
	pthread_mutex_unlock(&lock);
}

void
progress_chunk_end(int slot, int worker, int idx, bool ok, uint64_t bytes, uint64_t rows)
{
	progress_step *s;

	if (slot < 0)
		return;
	pthread_mutex_lock(&lock);
	s = &steps[slot];
	s->busy--;
	if (worker >= 1 && worker <= PROGRESS_MAX_WORKERS)
		s->workers[worker].idx = -1;
	if (ok)
	{
		const plan_chunk *pc = &s->plan->chunks[idx];

		s->chunks_done++;
		s->est_done += pc->est_bytes;
		s->rows += rows;
		s->bytes += bytes;
		if (s->chunks_left != NULL && pc->table < s->cat->ntables && --s->chunks_left[pc->table] == 0)
			s->tables_done++;
	}
	pthread_mutex_unlock(&lock);
}

/* Under lock. */
static void
figures_of(const progress_step *s, double now, progress_figures *out)
{
	memset(out, 0, sizeof(*out));
	out->chunks_total = s->chunks_total;
	out->chunks_done = s->chunks_done;
	out->tables_total = s->tables_total;
	out->tables_done = s->tables_done;
	out->busy = s->busy;
	out->rows = s->rows;
	out->bytes = s->bytes;
	out->seconds = now - s->started;
	out->eta = -1;
	if (s->chunks_done == s->chunks_total)
		out->eta = 0;
	else if (s->est_done > 0 && out->seconds > 0)
		out->eta = out->seconds * (double) (s->est_total - s->est_done) / (double) s->est_done;
}

static void
format_duration(double seconds, char *out, size_t outlen)
{
	long		s = (long) (seconds + 0.5);

	if (seconds < 0)
		snprintf(out, outlen, "?");
	else if (s >= 3600)
		snprintf(out, outlen, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
}

/*
 * "data: 45 of 91 chunks, 3 of 8 tables, 1234567 rows, 512.0 MB, 85.2 MB/s, ETA 0:42",
 * then ", capped at 25.0 MB/s" and ", paused" when --max-rate or throttle say so
 */
static void
figures_text(sbuf *out, const char *label, const progress_figures *f)
{
	char		eta[32];
	int64_t		cap = rate_limit_cap();

	format_duration(f->eta, eta, sizeof(eta));
	sbuf_printf(out, "%s: %d of %d chunks, %d of %d tables, %llu rows, %.1f MB, %.1f MB/s, ETA %s", label,
				f->chunks_done, f->chunks_total, f->tables_done, f->tables_total,
				(unsigned long long) f->rows, (double) f->bytes / 1048576.0,
				f->seconds > 0 ? (double) f->bytes / 1048576.0 / f->seconds : 0.0, eta);
	if (cap > 0)
		sbuf_printf(out, ", capped at %.1f MB/s", (double) cap / 1048576.0);
	if (rate_limit_paused())
		sbuf_append(out, ", paused");
}

/* Under lock: the live block, one line per busy worker and a bar per step. */
static void
live_block(sbuf *out, double now)
{
	bool		any = false;

	for (int i = 0; i < PROGRESS_MAX_STEPS; i++)
	{
		const progress_step *s = &steps[i];
		progress_figures f;
		int			filled;

		if (!s->used)
			continue;
		any = true;
		for (int w = 1; w <= PROGRESS_MAX_WORKERS; w++)
		{
			const plan_chunk *pc;

			if (s->workers[w].idx < 0)
				continue;
			pc = &s->plan->chunks[s->workers[w].idx];
			sbuf_printf(out, "  %-6s %3d  %s  chunk %d of %d  %.1f s\n", s->label, w,
						s->cat != NULL ? s->cat->tables[pc->table].qname : "?", pc->seq,
						s->plan->tables[pc->table].nchunks,
						now > s->workers[w].since ? now - s->workers[w].since : 0.0);
		}
		figures_of(s, now, &f);
		filled = f.chunks_total > 0 ? (int) ((double) BAR_WIDTH * (double) (s->est_total > 0 ? s->est_done : f.chunks_done) /
											 (double) (s->est_total > 0 ? s->est_total : f.chunks_total)) : BAR_WIDTH;
		sbuf_append(out, "[");
		for (int b = 0; b < BAR_WIDTH; b++)
			sbuf_append(out, b < filled ? "#" : ".");
		sbuf_append(out, "] ");
		figures_text(out, s->label, &f);
		sbuf_append(out, "\n");
	}
	if (!any && phase[0] != '\0')
		sbuf_printf(out, "%s  %.0f s\n", phase, now - phase_since);
}

static void *
display_main(void *arg)
{
	double		last_live = 0;
	double		last_line = clock_seconds();

	(void) arg;
	while (!atomic_load(&display_stop))
	{
		struct timespec tick = {0, TICK_MS * 1000000L};
		double		now = clock_seconds();
		sbuf		text;

		nanosleep(&tick, NULL);
		sbuf_init(&text, SBUF_DEFAULT_CAP);
		pthread_mutex_lock(&lock);
		if (display_live && now - last_live >= LIVE_EVERY)
		{
			live_block(&text, now);
			last_live = now;
			pthread_mutex_unlock(&lock);
			if (!sbuf_failed(&text))
				log_status(sbuf_str(&text));
		}
		else if (!display_live && display_interval > 0 && now - last_line >= display_interval)
		{
			last_line = now;
			for (int i = 0; i < PROGRESS_MAX_STEPS; i++)
			{
				progress_figures f;

				if (!steps[i].used)
					continue;
				figures_of(&steps[i], now, &f);
				sbuf_reset(&text);
				figures_text(&text, steps[i].label, &f);
				if (!sbuf_failed(&text))
					log_info("%s", sbuf_str(&text));
			}
			pthread_mutex_unlock(&lock);
		}
		else
			pthread_mutex_unlock(&lock);
		sbuf_fini(&text);
	}
	return NULL;
}

int
progress_start(bool live, int interval)
{
	if (display_running || (!live && interval <= 0))
		return 0;
	display_live = live;
	display_interval = interval;
	atomic_store(&display_stop, 0);
	if (pthread_create(&display, NULL, display_main, NULL) != 0)
		return -EAGAIN;
	display_running = true;
	return 0;
}

void
progress_stop(void)
{
	if (!display_running)
		return;
	atomic_store(&display_stop, 1);
	pthread_join(display, NULL);
	display_running = false;
	if (display_live)
		log_status(NULL);
}
