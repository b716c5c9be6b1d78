/*
 * clone_spill.c: the data step of clone --spill DIR.
 *
 * --jobs readers write each chunk into DIR/run-N/chunk-NNNNNN.pgsl
 * (engine/chunkfile.h) as fast as the source gives them, hashing it as the
 * direct path does.  --load-jobs loaders take the files in the order they
 * were finished and load each in one target transaction with its record,
 * as a direct clone loads a chunk; the load commits only when the rows read
 * back from the file hash to the reader's digest.  A loaded file is deleted
 * (--keep-spill keeps it), and so is the file of a chunk another process
 * has copied.  The file of a chunk another process is still copying is
 * kept and offered again every LATER_SECONDS until that process is done
 * with it: should it give the chunk back, the file is what is loaded, for
 * the snapshot it was read at may be gone.  Before it starts a chunk, a
 * reader waits while the files not yet loaded take --spill-limit bytes or
 * more.  Once the last chunk is read, the source snapshot is released
 * (unless --verify needs it for its drill-down) while the loaders go on: a
 * slow target no longer holds back the source's vacuum.
 *
 * Thread safety: the readers run on one engine/sched.c scheduler in a
 * thread of their own, the loaders on another in the caller's thread.
 * pipe->lock guards the queue of finished chunks, the bytes on disk and
 * whether readers still run; pipe->changed wakes readers waiting for room
 * and loaders waiting for a file.  It is the only lock.  A chunk's file
 * record and report slot are written by its reader before it is queued
 * and by its loader after it is taken.
 */
#include "cmd/clone_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/chunkfile.h"
#include "engine/chunkjob.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/reader.h"
#include "engine/sched.h"
#include "engine/state.h"

#define WAIT_TICK_MS 200
#define LATER_SECONDS 1.0		/* between looks at a chunk another process holds */

typedef struct spill_pipe
{
	clone_ctx  *ctx;
	const uint8_t *skip;
	chunkfile_dir dir;
	char		path[PATH_MAX];	/* DIR/run-N */
	chunkfile_info *files;		/* per chunk: what its reader wrote */
	uint64_t	limit;			/* 0: none */
	double		started;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	int		   *queue;			/* guarded: chunks read and not yet taken by a loader */
	int			head;			/* guarded */
	int			tail;			/* guarded */
	int		   *later;			/* guarded: chunks read that another process holds */
	int			nlater;			/* guarded */
	double		later_at;		/* guarded: when to offer them again */
	bool	   *kept;			/* guarded: per chunk, put back at least once */
	uint64_t	on_disk;		/* guarded: bytes of the files not yet loaded */
	uint64_t	peak;			/* guarded */
	bool		reading;		/* guarded: the readers still run */

	atomic_int	failed;			/* one side failed: the other starts no more chunks */
	atomic_int	loaded;			/* chunks loaded by this run */
	chunkjob_spec reads;		/* the readers' jobs: the source, no record */
	chunkjob_spec loads;		/* the loaders': the target and the run's record */
	int			read_rc;		/* the readers' outcome, read after their thread is joined */
	sl_err		read_err;
} spill_pipe;

typedef struct spill_reader
{
	spill_pipe *pipe;
	int			id;
	int			idx;			/* the chunk it reads */
	char		what[512];		/* names it in messages */
	PGconn	   *source;			/* the job's session */
	chunkjob	job;
	io_loop    *loop;
	chunkfile_writer *writer;
	const atomic_int *stop;
} spill_reader;

typedef struct spill_loader
{
	spill_pipe *pipe;
	int			idx;			/* the chunk it loads */
	PGconn	   *target;			/* the job's session */
	chunkjob	job;
	chunkfile_loader *loader;
	const atomic_int *stop;
} spill_loader;

static void
timed_wait(spill_pipe *sp)
{
	struct timespec until = clock_realtime_after(WAIT_TICK_MS * 1000000L);

	pthread_cond_timedwait(&sp->changed, &sp->lock, &until);
}

/* ---- readers ---- */

static int
reader_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	spill_pipe *sp = arg;
	clone_ctx  *ctx = sp->ctx;
	spill_reader *rd = calloc(1, sizeof(*rd));
	char		name[160];
	int			rc;

	*state_out = rd;
	if (rd == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting reader %d", id);
	rd->pipe = sp;
	rd->id = id;
	rd->stop = stop;
	if ((rc = chunkfile_writer_create(ctx->opt->compress_level, &rd->writer, err)) < 0 ||
		(rc = copy_reader_loop_create(&rd->loop, ctx->opt->common.io_kind, id, &ctx->fallback_said, ctx->report->io_backend,
								 sizeof(ctx->report->io_backend), err)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%s/read-%d", ctx->worker_prefix, id);
	if ((rc = chunkjob_init(&rd->job, &sp->reads, &rd->source, NULL, name, err)) < 0)
		return rc;
	return chunkjob_open(&rd->job, err);
}

static void
reader_close(void *arg, void *state_arg)
{
	spill_reader *rd = state_arg;

	(void) arg;
	if (rd == NULL)
		return;
	if (rd->loop != NULL)
		io_loop_forget(rd->loop);
	chunkjob_fini(&rd->job);
	conn_close(&rd->source);
	io_loop_destroy(rd->loop);
	chunkfile_writer_destroy(rd->writer);
	free(rd);
}

/* The chunk's work: write its file. */
static int
write_work(void *arg, chunkjob *job, chunkjob_done *done, sl_err *err)
{
	spill_reader *rd = arg;
	spill_pipe *sp = rd->pipe;
	clone_ctx  *ctx = sp->ctx;
	const plan_chunk *pc = &ctx->plan->chunks[rd->idx];
	int			rc;

	(void) job;
	(void) done;				/* the file's record is made when it is loaded */
	rc = chunkfile_write(rd->writer, &sp->dir, rd->source, rd->loop,
						 !ctx->opt->common.via_libpq && !conn_encrypted(rd->source), &ctx->cat->tables[pc->table], pc,
						 rd->idx, rd->stop, rd->what, &sp->files[rd->idx], err);
	if (rc < 0)
		io_loop_forget(rd->loop);	/* in an unknown state: the next attempt starts on a new session */
	return rc;
}

static int
read_attempt(void *arg, sl_err *err)
{
	spill_reader *rd = arg;
	const plan *p = rd->pipe->ctx->plan;
	const plan_chunk *pc = &p->chunks[rd->idx];

	return chunkjob_attempt(&rd->job, rd->idx, pc, &rd->pipe->ctx->cat->tables[pc->table], write_work, rd, err);
}

static int64_t
reader_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	spill_pipe *sp = arg;
	spill_reader *rd = state_arg;
	clone_ctx  *ctx = sp->ctx;
	clone_chunk *c = &ctx->report->chunks[idx];
	const chunkfile_info *file = &sp->files[idx];
	sched_retry retry = {read_attempt, NULL, rd, rd->what, "on a new connection", ctx->opt->retries,
						 rd->stop, &ctx->retries};
	int			rc;

	/* room on disk first: the loaders free it */
	pthread_mutex_lock(&sp->lock);
	while (sp->limit > 0 && sp->on_disk >= sp->limit && !atomic_load(rd->stop) && !atomic_load(&sp->failed))
		timed_wait(sp);
	pthread_mutex_unlock(&sp->lock);
	if (atomic_load(rd->stop) || atomic_load(&sp->failed))
		return err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

	plan_chunk_describe(&ctx->plan->chunks[idx], &ctx->cat->tables[ctx->plan->chunks[idx].table], rd->what,
						sizeof(rd->what));
	c->status = CHUNK_RUNNING;
	c->worker = rd->id;
	c->started = clock_seconds() - sp->started;
	rd->idx = idx;
	if ((rc = sched_retry_run(&retry, err)) < 0)
	{
		c->status = CHUNK_FAILED;
		return rc;
	}
	c->result.rows = file->rows;
	c->result.bytes = file->bytes;
	c->result.digest = file->digest;

	pthread_mutex_lock(&sp->lock);
	sp->on_disk += file->compressed;
	if (sp->on_disk > sp->peak)
		sp->peak = sp->on_disk;
	sp->queue[sp->tail++] = idx;
	pthread_cond_broadcast(&sp->changed);
	pthread_mutex_unlock(&sp->lock);
	*rows = file->rows;
	return (int64_t) file->bytes;
}

static const sched_ops reader_ops = {reader_open, reader_run, reader_close};

/* The readers' thread: reads every chunk, then releases the snapshot. */
static void *
readers_main(void *arg)
{
	spill_pipe *sp = arg;
	clone_ctx  *ctx = sp->ctx;
	sched_options sopt = {ctx->opt->common.jobs, "read", ctx->cat, sp->skip, &sp->failed, NULL};
	int			read = 0;

	err_clear(&sp->read_err);
	sp->read_rc = sched_run(&reader_ops, sp, ctx->plan, &sopt, &read, &sp->read_err);
	if (sp->read_rc == 0 && atomic_load(&sp->failed))
		sp->read_rc = err_set(&sp->read_err, SIDE_INTERRUPT, -EINTR, "stopped: the loading failed");
	if (sp->read_rc == 0)
	{
		double		seconds = clock_seconds() - sp->started;

		ctx->report->seconds_read = seconds;
		if (ctx->holder != NULL && ctx->opt->verify)
			log_info("data: %d chunks read in %.1f s; the source snapshot is kept for --verify", read, seconds);
		else if (ctx->holder != NULL)
		{
			if ((sp->read_rc = conn_exec(ctx->holder, SIDE_SOURCE, "COMMIT", &sp->read_err)) == 0)
			{
				ctx->holder = NULL;
				ctx->report->snapshot_released = true;
				log_info("data: %d chunks read in %.1f s; source snapshot released with %d chunks left to load",
						 read, seconds, read - atomic_load(&sp->loaded));
			}
		}
		else
			log_info("data: %d chunks read in %.1f s", read, seconds);
	}
	if (sp->read_rc < 0)
		atomic_store(&sp->failed, 1);
	pthread_mutex_lock(&sp->lock);
	sp->reading = false;
	pthread_cond_broadcast(&sp->changed);
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

/* ---- loaders ---- */

static int
loader_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	spill_pipe *sp = arg;
	spill_loader *ld = calloc(1, sizeof(*ld));
	char		name[160];
	int			rc;

	*state_out = ld;
	if (ld == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting loader %d", id);
	ld->pipe = sp;
	ld->stop = stop;
	snprintf(name, sizeof(name), "%s/load-%d", sp->ctx->worker_prefix, id);
	if ((rc = chunkfile_loader_create(&ld->loader, err)) < 0)
		return rc;
	return chunkjob_init(&ld->job, &sp->loads, NULL, &ld->target, name, err);
}

static void
loader_close(void *arg, void *state_arg)
{
	spill_loader *ld = state_arg;

	(void) arg;
	if (ld == NULL)
		return;
	chunkjob_fini(&ld->job);
	conn_close(&ld->target);
	chunkfile_loader_destroy(ld->loader);
	free(ld);
}

/*
 * The next finished chunk, else one put back for later once its time has
 * come; waits while readers run or chunks are put back; -1 when there are
 * no more.
 */
static int
loader_pick(void *arg, const atomic_int *stop)
{
	spill_pipe *sp = arg;
	int			idx = -1;

	pthread_mutex_lock(&sp->lock);
	while (!atomic_load(stop) && !atomic_load(&sp->failed))
	{
		if (sp->head < sp->tail)
		{
			idx = sp->queue[sp->head++];
			break;
		}
		if (sp->nlater > 0 && clock_seconds() >= sp->later_at)
		{
			idx = sp->later[--sp->nlater];
			break;
		}
		if (!sp->reading && sp->nlater == 0)
			break;
		timed_wait(sp);
	}
	pthread_mutex_unlock(&sp->lock);
	return idx;
}

/* The chunk's work in its transaction: load its file. */
static int
load_work(void *arg, chunkjob *job, chunkjob_done *done, sl_err *err)
{
	spill_loader *ld = arg;
	spill_pipe *sp = ld->pipe;
	const plan_chunk *pc = &sp->ctx->plan->chunks[ld->idx];
	const chunkfile_info *file = &sp->files[ld->idx];
	char		name[64];
	int			rc;

	(void) job;
	chunkfile_name(ld->idx, name, sizeof(name));
	if ((rc = chunkfile_load(ld->loader, &sp->dir, name, file, ld->target, &sp->ctx->cat->tables[pc->table],
							 pc->freeze, ld->stop, err)) < 0)
		return rc;
	done->rows = file->rows;
	done->bytes = file->bytes;
	done->digest = file->digest;
	return 0;
}

/* One attempt at loading the loader's chunk, in one target transaction with its record. */
static int
load_attempt(void *arg, sl_err *err)
{
	spill_loader *ld = arg;
	const clone_ctx *ctx = ld->pipe->ctx;
	const plan_chunk *pc = &ctx->plan->chunks[ld->idx];

	return chunkjob_attempt(&ld->job, ld->idx, pc, &ctx->cat->tables[pc->table], load_work, ld, err);
}

static int64_t
loader_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	spill_pipe *sp = arg;
	spill_loader *ld = state_arg;
	clone_ctx  *ctx = sp->ctx;
	clone_chunk *c = &ctx->report->chunks[idx];
	const chunkfile_info *file = &sp->files[idx];
	char		name[64];
	char		what[PATH_MAX + 80];
	sched_retry retry = {load_attempt, NULL, ld, what, "on a new connection", ctx->opt->retries, ld->stop,
						 &ctx->retries};
	int			rc;

	chunkfile_name(idx, name, sizeof(name));
	snprintf(what, sizeof(what), "chunk file \"%s/%s\"", sp->path, name);
	ld->idx = idx;
	if ((rc = sched_retry_run(&retry, err)) < 0)
	{
		c->status = CHUNK_FAILED;
		return rc;
	}
	if (ld->job.held)
	{
		bool		first;

		pthread_mutex_lock(&sp->lock);
		first = !sp->kept[idx];
		sp->kept[idx] = true;
		sp->later[sp->nlater++] = idx;
		sp->later_at = clock_seconds() + LATER_SECONDS;
		pthread_mutex_unlock(&sp->lock);
		if (first)
			log_info("%s: another process is copying its chunk; the file is kept until it is done", what);
		return SCHED_LATER;
	}
	if (ld->job.claimed)
	{
		c->seconds = clock_seconds() - sp->started - c->started;
		c->status = CHUNK_DONE;
		atomic_fetch_add(&sp->loaded, 1);
	}
	if (!ctx->opt->keep_spill && unlinkat(sp->dir.fd, name, 0) < 0)
		log_warning("could not remove chunk file \"%s/%s\": %s", sp->path, name, strerror(errno));
	pthread_mutex_lock(&sp->lock);
	sp->on_disk -= file->compressed;
	pthread_cond_broadcast(&sp->changed);
	pthread_mutex_unlock(&sp->lock);
	*rows = ld->job.claimed ? file->rows : 0;
	return ld->job.claimed ? (int64_t) file->bytes : 0;
}

static const sched_ops loader_ops = {loader_open, loader_run, loader_close};

/* ---- the directory ---- */

/* Removes the run's chunk files, whole or partial. */
static void
remove_files(spill_pipe *sp)
{
	DIR		   *d = fdopendir(dup(sp->dir.fd));
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "chunk-", 6) == 0 && unlinkat(sp->dir.fd, e->d_name, 0) < 0)
			log_warning("could not remove chunk file \"%s/%s\": %s", sp->path, e->d_name, strerror(errno));
	closedir(d);
}

static int
open_run_dir(spill_pipe *sp, sl_err *err)
{
	sl_err		why;
	int			rc;

	/* clone_run made DIR, or checked it, before it began */
	if ((size_t) snprintf(sp->path, sizeof(sp->path), "%s/run-%lld", sp->ctx->opt->spill_dir,
						  (long long) sp->ctx->run_id) >= sizeof(sp->path))
		return err_set(err, SIDE_USAGE, -ENAMETOOLONG, "--spill: the directory name is too long");
	err_clear(&why);
	if ((rc = spillfile_dir_create(sp->path, &sp->dir.fd, &why)) < 0)
		return err_set(err, SIDE_USAGE, rc, "--spill: %s", why.msg);
	sp->dir.path = sp->path;
	if (sp->ctx->report->resumed)
	{
		/* what an earlier attempt left: its digests went with it, so its chunks are read again */
		remove_files(sp);
	}
	else
	{
		/* a run of the same number into another target may have kept its files here */
		DIR		   *d = fdopendir(dup(sp->dir.fd));
		struct dirent *e;
		char		found[256] = "";

		if (d == NULL)
			return err_set(err, SIDE_LOCAL, -errno, "could not read directory \"%s\": %s", sp->path,
						   strerror(errno));
		while (found[0] == '\0' && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				snprintf(found, sizeof(found), "%s", e->d_name);
		closedir(d);
		if (found[0] != '\0')
			return err_set(err, SIDE_USAGE, -EEXIST, "--spill: directory \"%s\" holds files of another run "
						   "(\"%s\"): remove it, or give another --spill directory", sp->path, found);
	}
	return 0;
}


int
clone_spill_chunks(clone_ctx *ctx, const uint8_t *skip, int *chunks_done, sl_err *err)
{
	spill_pipe	sp;
	pthread_t	readers;
	bool		readers_started = false;
	sched_options sopt = {ctx->opt->load_jobs > 0 ? ctx->opt->load_jobs : ctx->opt->common.jobs,
						  "load", ctx->cat, skip, NULL, loader_pick};
	int			nchunks = ctx->plan->nchunks;
	int			rc;

	memset(&sp, 0, sizeof(sp));
	*chunks_done = 0;
	sp.ctx = ctx;
	sp.reads = ctx->jobs;
	sp.reads.target = NULL;
	sp.reads.state_schema = NULL;
	sp.loads = ctx->jobs;
	sp.loads.source = NULL;
	sp.skip = skip;
	sp.dir.fd = -1;
	sp.dir.io = ctx->opt->common.io_kind == IO_LOOP_POLL ? SPILLFILE_IO_PWRITE : SPILLFILE_IO_AUTO;
	sp.limit = ctx->opt->spill_limit > 0 ? (uint64_t) ctx->opt->spill_limit : 0;
	sp.started = ctx->started;
	sp.reading = true;
	/* the files carry the run's number: a file of another run is refused */
	memcpy(sp.dir.id, &ctx->run_id, sizeof(ctx->run_id));
	pthread_mutex_init(&sp.lock, NULL);
	pthread_cond_init(&sp.changed, NULL);
	sp.files = calloc((size_t) nchunks + 1, sizeof(chunkfile_info));
	sp.queue = calloc((size_t) nchunks + 1, sizeof(int));
	sp.later = calloc((size_t) nchunks + 1, sizeof(int));
	sp.kept = calloc((size_t) nchunks + 1, sizeof(bool));
	if (sp.files == NULL || sp.queue == NULL || sp.later == NULL || sp.kept == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = open_run_dir(&sp, err)) < 0)
		goto done;
	log_info("data: through \"%s\": %d readers, %d loaders%s", sp.path, ctx->opt->common.jobs > 0 ? ctx->opt->common.jobs : 1,
			 sopt.jobs > 0 ? sopt.jobs : 1, sp.limit > 0 ? ", readers wait at --spill-limit" : "");
	if (pthread_create(&readers, NULL, readers_main, &sp) != 0)
	{
		rc = err_set(err, SIDE_LOCAL, -EAGAIN, "could not start the readers' thread");
		goto done;
	}
	readers_started = true;
	rc = sched_run(&loader_ops, &sp, ctx->plan, &sopt, chunks_done, err);
	if (rc < 0)
	{
		atomic_store(&sp.failed, 1);
		pthread_mutex_lock(&sp.lock);
		pthread_cond_broadcast(&sp.changed);
		pthread_mutex_unlock(&sp.lock);
	}

done:
	if (readers_started)
	{
		pthread_join(readers, NULL);
		/* the readers' failure is the cause; the loaders only stopped for it */
		if (sp.read_rc < 0 && (rc == 0 || sp.read_err.side != SIDE_INTERRUPT))
			rc = err_take(err, &sp.read_err);
	}
	ctx->report->spill_peak = sp.peak;
	if (sp.dir.fd >= 0)
	{
		if (!ctx->opt->keep_spill)
		{
			remove_files(&sp);
			if (rmdir(sp.path) < 0)
				log_warning("could not remove spill directory \"%s\": %s", sp.path, strerror(errno));
		}
		close(sp.dir.fd);
	}
	pthread_cond_destroy(&sp.changed);
	pthread_mutex_destroy(&sp.lock);
	free(sp.files);
	free(sp.queue);
	free(sp.later);
	free(sp.kept);
	return rc;
}
