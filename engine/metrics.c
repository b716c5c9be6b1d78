/*
 * metrics.c: Prometheus text exposition of the run's counters, to a file and
 * over HTTP.  See metrics.h.
 *
 * The counters are atomics in one struct: this process's own, or, in a
 * cluster run, one of the slots that metrics_share maps shared before the
 * databases' processes are forked, each of which counts into its own
 * (metrics_use_slot) while the parent renders them all, a series per
 * database.  One background thread,
 * started by the first of metrics_file_start and metrics_listen_start, loops
 * on poll() over an eventfd (metrics_stop and the start functions write it
 * to wake the thread) and the listening socket, with a timeout that ends at
 * the next rate sample (once a second) or the next file write, whichever
 * comes first.  It accepts one connection at a time and serves it before
 * polling again, through io/http.c: the request may take at most 8 KiB and
 * 2 seconds, so a slow client delays a file write by 2 seconds at worst, and
 * metrics_stop's wake cuts that short.
 *
 * The rate gauge divides the bytes moved since the newest sample that is at
 * least 10 seconds old by the time since then; until there is one, since the
 * start of the step.  Without the thread there are no samples and the rate
 * covers the whole step.
 *
 * Thread safety: the counters are atomics, updated with relaxed order (each
 * is a count on its own; no reader infers one from another).  state.lock
 * guards the label, the start time, the samples and the configuration the
 * thread reads (file path and interval, listening socket, stop flag).  Only
 * the controlling thread (metrics_begin, the start functions, metrics_stop)
 * writes the configuration, and it frees the path and closes the socket only
 * after joining the thread, so the thread may use them outside the lock.
 * No I/O happens under the lock.  One lock, so no order.
 */
#include "engine/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "io/http.h"

#define RATE_WINDOW_SECONDS 10.0
#define SAMPLE_EVERY_SECONDS 1.0
#define NSAMPLES 16				/* covers the window with room to spare */
#define COMMAND_MAX 128			/* label bytes kept; longer is cut */
#define RENDER_CAP (1u << 20)	/* the text is about 2 KiB */
#define ACCEPT_PAUSE_SECONDS 1.0	/* after EMFILE and the like */

typedef struct rate_sample
{
	double		at;				/* monotonic seconds */
	uint64_t	bytes;
} rate_sample;

/* The counters of one process, or of one database's process in a cluster run (metrics_share). */
typedef struct metrics_counters
{
	_Atomic uint64_t rows;
	_Atomic uint64_t bytes;
	_Atomic uint64_t chunks_done;
	_Atomic uint64_t chunks_failed;
	_Atomic uint64_t retries;
	atomic_int	in_flight;
	atomic_int	planned;
	/* a verify's repair (metrics_add_repair) */
	_Atomic uint64_t repair_deleted;
	_Atomic uint64_t repair_inserted;
	_Atomic uint64_t repair_bytes;
	_Atomic uint64_t repair_recopied;
	/* a follow run's replication (metrics_set_replication); lag_millis: seconds * 1000 */
	atomic_bool replication;
	_Atomic int64_t lag_bytes;
	_Atomic int64_t lag_millis;
	_Atomic int64_t retained_bytes;
	char		database[COMMAND_MAX];	/* shared: the slot's database */
} metrics_counters;

static metrics_counters own;
static metrics_counters *counters = &own;	/* where this process counts */
static metrics_counters *shared;	/* metrics_share's slots, MAP_SHARED; NULL: none */
static int	nshared;

static struct metrics_state
{
	pthread_mutex_t lock;

	/* guarded by lock */
	bool		begun;			/* start_* are set */
	char		command[COMMAND_MAX];
	double		start_wall;		/* unix seconds */
	double		start_mono;
	uint64_t	start_bytes;	/* bytes when the step began */
	rate_sample samples[NSAMPLES];	/* ring, taken by the thread */
	int			nsamples;
	int			next_sample;	/* slot the next sample goes to */

	/*
	 * Guarded by lock, written by the controlling thread only; path and
	 * socket stay valid until it has joined the thread.
	 */
	char	   *file_path;		/* owned; NULL: no file */
	double		file_interval;
	int			listen_fd;		/* -1: not listening */
	int			listen_port;
	bool		stopping;		/* the thread should exit */

	/* the controlling thread only */
	bool		thread_running;
	pthread_t	thread;
	int			wake_fd;		/* eventfd; -1 while no thread runs */
}			state =
{
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.listen_fd = -1,
	.wake_fd = -1,
};

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The bytes of the whole run: this process's, or every database's of a cluster run. */
static uint64_t
total_bytes(void)
{
	uint64_t	sum = 0;

	if (shared == NULL)
		return atomic_load(&counters->bytes);
	for (int i = 0; i < nshared; i++)
		sum += atomic_load(&shared[i].bytes);
	return sum;
}

int
metrics_share(int n, char *const *databases)
{
	metrics_counters *slots;

	if (n < 1)
		return -EINVAL;
	slots = mmap(NULL, sizeof(metrics_counters) * (size_t) n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		return -errno;
	for (int i = 0; i < n; i++)
	{
		size_t		len = strlen(databases[i]);

		len = len < COMMAND_MAX ? len : COMMAND_MAX - 1;
		while (len > 0 && len < strlen(databases[i]) && ((unsigned char) databases[i][len] & 0xC0) == 0x80)
			len--;
		memcpy(slots[i].database, databases[i], len);
		slots[i].database[len] = '\0';
	}
	pthread_mutex_lock(&state.lock);
	shared = slots;
	nshared = n;
	pthread_mutex_unlock(&state.lock);
	return 0;
}

void
metrics_use_slot(int i)
{
	/* a fork's child: the parent's thread is not here, its lock may have been held */
	pthread_mutex_init(&state.lock, NULL);
	if (state.listen_fd >= 0)
		close(state.listen_fd);
	if (state.wake_fd >= 0)
		close(state.wake_fd);
	state.listen_fd = state.wake_fd = -1;
	state.file_path = NULL;		/* the parent's to write */
	state.thread_running = false;
	if (shared != NULL && i >= 0 && i < nshared)
		counters = &shared[i];
}

/* Caller holds the lock. */
static void
start_step_locked(const char *command)
{
	size_t		len = strlen(command);

	if (len >= COMMAND_MAX)
	{
		len = COMMAND_MAX - 1;
		/* do not leave half a UTF-8 character at the end */
		while (len > 0 && ((unsigned char) command[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(state.command, command, len);
	state.command[len] = '\0';
	state.start_wall = wall_now();
	state.start_mono = clock_seconds();
	state.start_bytes = total_bytes();
	state.nsamples = 0;
	state.next_sample = 0;
	state.begun = true;
}

void
metrics_begin(const char *command, int chunks_planned)
{
	pthread_mutex_lock(&state.lock);
	start_step_locked(command != NULL ? command : "");
	pthread_mutex_unlock(&state.lock);
	atomic_store(&counters->planned, chunks_planned > 0 ? chunks_planned : 0);
}

void
metrics_add_planned(int n)
{
	atomic_fetch_add(&counters->planned, n);
}

void
metrics_add_rows(uint64_t n)
{
	atomic_fetch_add_explicit(&counters->rows, n, memory_order_relaxed);
}

void
metrics_add_bytes(uint64_t n)
{
	atomic_fetch_add_explicit(&counters->bytes, n, memory_order_relaxed);
}

void
metrics_chunk_started(void)
{
	atomic_fetch_add_explicit(&counters->in_flight, 1, memory_order_relaxed);
}

void
metrics_chunk_finished(bool ok)
{
	atomic_fetch_sub_explicit(&counters->in_flight, 1, memory_order_relaxed);
	if (ok)
		atomic_fetch_add_explicit(&counters->chunks_done, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&counters->chunks_failed, 1, memory_order_relaxed);
}

void
metrics_chunk_put_back(void)
{
	atomic_fetch_sub_explicit(&counters->in_flight, 1, memory_order_relaxed);
}

void
metrics_add_retry(void)
{
	atomic_fetch_add_explicit(&counters->retries, 1, memory_order_relaxed);
}

void
metrics_add_repair(uint64_t deleted, uint64_t inserted, uint64_t bytes, bool recopied)
{
	atomic_fetch_add_explicit(&counters->repair_deleted, deleted, memory_order_relaxed);
	atomic_fetch_add_explicit(&counters->repair_inserted, inserted, memory_order_relaxed);
	atomic_fetch_add_explicit(&counters->repair_bytes, bytes, memory_order_relaxed);
	if (recopied)
		atomic_fetch_add_explicit(&counters->repair_recopied, 1, memory_order_relaxed);
}

void
metrics_set_replication(int slot, int64_t lag_bytes, double lag_seconds, int64_t retained_bytes)
{
	metrics_counters *c = shared != NULL && slot >= 0 && slot < nshared ? &shared[slot] : counters;

	atomic_store(&c->lag_bytes, lag_bytes);
	atomic_store(&c->lag_millis, (int64_t) llround(lag_seconds * 1000.0));
	atomic_store(&c->retained_bytes, retained_bytes);
	atomic_store(&c->replication, true);
}

static void
take_sample(void)
{
	pthread_mutex_lock(&state.lock);
	state.samples[state.next_sample].at = clock_seconds();
	state.samples[state.next_sample].bytes = total_bytes();
	state.next_sample = (state.next_sample + 1) % NSAMPLES;
	if (state.nsamples < NSAMPLES)
		state.nsamples++;
	pthread_mutex_unlock(&state.lock);
}

/* Caller holds the lock. */
static double
rate_locked(void)
{
	double		now = clock_seconds();
	uint64_t	bytes = total_bytes();
	double		base_at = state.start_mono;
	uint64_t	base_bytes = state.start_bytes;

	for (int i = 0; i < state.nsamples; i++)
	{
		const rate_sample *s = &state.samples[i];

		if (s->at <= now - RATE_WINDOW_SECONDS && s->at > base_at)
		{
			base_at = s->at;
			base_bytes = s->bytes;
		}
	}
	if (now - base_at < 1e-3 || bytes < base_bytes)
		return 0.0;
	return (double) (bytes - base_bytes) / (now - base_at);
}

/* Label value escaping of the exposition format: \\, \" and \n. */
static void
escape_label(const char *value, char *out)
{
	for (; *value != '\0'; value++)
	{
		if (*value == '\\' || *value == '"')
		{
			*out++ = '\\';
			*out++ = *value;
		}
		else if (*value == '\n')
		{
			*out++ = '\\';
			*out++ = 'n';
		}
		else
			*out++ = *value;
	}
	*out = '\0';
}

static void
render_family(sbuf *out, const char *name, const char *type, const char *help,
			  const char *label, const char *value)
{
	sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s{command=\"%s\"} %s\n",
				name, help, name, type, name, label, value);
}

static void
render_double(sbuf *out, const char *name, const char *help, const char *label, double value)
{
	char		text[64];

	snprintf(text, sizeof(text), "%.3f", value);
	render_family(out, name, "gauge", help, label, text);
}

/* The counters a family shows, by its index in families[]. */
static int64_t
counter_value(const metrics_counters *c, int which)
{
	switch (which)
	{
		case 0:
			return (int64_t) atomic_load(&c->rows);
		case 1:
			return (int64_t) atomic_load(&c->bytes);
		case 2:
			return (int64_t) atomic_load(&c->chunks_done);
		case 3:
			return (int64_t) atomic_load(&c->chunks_failed);
		case 4:
			return (int64_t) atomic_load(&c->retries);
		case 5:
			return atomic_load(&c->in_flight);
		case 6:
			return atomic_load(&c->planned);
		case 7:
			return (int64_t) atomic_load(&c->repair_deleted);
		case 8:
			return (int64_t) atomic_load(&c->repair_inserted);
		case 9:
			return (int64_t) atomic_load(&c->repair_bytes);
		default:
			return (int64_t) atomic_load(&c->repair_recopied);
	}
}

static const struct
{
	const char *name;
	const char *type;
	const char *help;
}			families[] = {
	{"pgsluice_rows_total", "counter", "Rows moved by COPY."},
	{"pgsluice_bytes_total", "counter", "COPY data bytes moved."},
	{"pgsluice_chunks_done_total", "counter", "Chunks finished successfully."},
	{"pgsluice_chunks_failed_total", "counter", "Chunks that finished with an error."},
	{"pgsluice_retries_total", "counter", "Chunk attempts retried after a transient error."},
	{"pgsluice_chunks_in_flight", "gauge", "Chunks being worked on now."},
	{"pgsluice_chunks_planned", "gauge", "Chunks in the plan of the current command."},
	{"pgsluice_repair_rows_deleted_total", "counter", "Target rows a verify --repair deleted."},
	{"pgsluice_repair_rows_inserted_total", "counter", "Source rows a verify --repair copied in."},
	{"pgsluice_repair_bytes_total", "counter", "COPY data bytes a verify --repair wrote."},
	{"pgsluice_repair_chunks_recopied_total", "counter", "Chunks a verify --repair re-copied whole."},
};

static const struct
{
	const char *name;
	const char *help;
}			replication_families[] = {
	{"pgsluice_replication_lag_bytes", "WAL bytes of the source that the follow run's target has not applied."},
	{"pgsluice_replication_lag_seconds", "Seconds the follow run's target is behind (the source's replay_lag)."},
	{"pgsluice_slot_retained_bytes", "WAL bytes the follow run's slot holds on the source."},
};

/* A follow run's replication gauges, of the slots (or this process) that have set them. */
static void
render_replication(sbuf *out, const char *label)
{
	int			n = shared != NULL ? nshared : 1;
	char		database[COMMAND_MAX * 2];
	bool		any = false;

	for (int i = 0; i < n; i++)
		any = any || atomic_load(&(shared != NULL ? &shared[i] : counters)->replication);
	if (!any)
		return;
	for (size_t f = 0; f < sizeof(replication_families) / sizeof(replication_families[0]); f++)
	{
		sbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", replication_families[f].name,
					replication_families[f].help, replication_families[f].name);
		for (int i = 0; i < n; i++)
		{
			const metrics_counters *c = shared != NULL ? &shared[i] : counters;

			if (!atomic_load(&c->replication))
				continue;
			sbuf_printf(out, "%s{command=\"%s\"", replication_families[f].name, label);
			if (shared != NULL)
			{
				escape_label(c->database, database);
				sbuf_printf(out, ",database=\"%s\"", database);
			}
			if (f == 1)
				sbuf_printf(out, "} %.3f\n", (double) atomic_load(&c->lag_millis) / 1000.0);
			else
				sbuf_printf(out, "} %" PRId64 "\n", atomic_load(f == 0 ? &c->lag_bytes : &c->retained_bytes));
		}
	}
}

int
metrics_render(sbuf *out)
{
	char		label[COMMAND_MAX * 2];
	char		database[COMMAND_MAX * 2];
	double		start_wall;
	double		rate;

	pthread_mutex_lock(&state.lock);
	if (!state.begun)
		start_step_locked("");
	escape_label(state.command, label);
	start_wall = state.start_wall;
	rate = rate_locked();
	pthread_mutex_unlock(&state.lock);

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
	{
		if (shared == NULL)
		{
			char		text[32];

			snprintf(text, sizeof(text), "%" PRId64, counter_value(counters, (int) f));
			render_family(out, families[f].name, families[f].type, families[f].help, label, text);
			continue;
		}
		/* a cluster run: a series per database */
		sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help, families[f].name,
					families[f].type);
		for (int i = 0; i < nshared; i++)
		{
			escape_label(shared[i].database, database);
			sbuf_printf(out, "%s{command=\"%s\",database=\"%s\"} %" PRId64 "\n", families[f].name, label, database,
						counter_value(&shared[i], (int) f));
		}
	}
	render_replication(out, label);
	render_double(out, "pgsluice_bytes_per_second",
				  "COPY bytes per second over about the last 10 seconds, over the whole command before that.",
				  label, rate);
	render_double(out, "pgsluice_start_time_seconds",
				  "Unix time at which the current command started.", label, start_wall);
	render_double(out, "pgsluice_last_update_timestamp_seconds",
				  "Unix time at which these values were taken.", label, wall_now());
	return sbuf_failed(out) ? -ENOMEM : 0;
}

/* ---- the file ---- */

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t) n;
	}
	return 0;
}

/* Renders to path + ".tmp" and renames that over path. */
static int
file_write(const char *path, sl_err *err)
{
	sbuf		text;
	char	   *tmp_path = NULL;
	int			fd = -1;
	int			rc;

	sbuf_init(&text, RENDER_CAP);
	if ((rc = metrics_render(&text)) < 0)
	{
		err_set(err, SIDE_LOCAL, rc, "could not render metrics for \"%s\": out of memory", path);
		goto done;
	}
	if (asprintf(&tmp_path, "%s.tmp", path) < 0)
	{
		tmp_path = NULL;
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "could not write metrics file \"%s\": out of memory", path);
		goto done;
	}
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not create metrics file \"%s\": %s",
					 tmp_path, strerror(errno));
		goto done;
	}
	if ((rc = write_all(fd, sbuf_str(&text), text.len)) < 0)
	{
		err_set(err, SIDE_LOCAL, rc, "could not write metrics file \"%s\": %s", tmp_path, strerror(-rc));
		goto done;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not write metrics file \"%s\": %s",
					 tmp_path, strerror(errno));
		goto done;
	}
	if (rename(tmp_path, path) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not rename metrics file \"%s\" to \"%s\": %s",
					 tmp_path, path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp_path != NULL)
		unlink(tmp_path);
	free(tmp_path);
	sbuf_fini(&text);
	return rc;
}

/* ---- what the HTTP listener (io/http.c) serves ---- */

static int
render_for_http(sbuf *body, void *arg)
{
	(void) arg;
	return metrics_render(body);
}

static bool
stop_requested(void *arg)
{
	bool		stopping;

	(void) arg;
	pthread_mutex_lock(&state.lock);
	stopping = state.stopping;
	pthread_mutex_unlock(&state.lock);
	return stopping;
}

static const http_service metrics_http = {render_for_http, stop_requested, NULL};

/* ---- the background thread ---- */

static void *
metrics_thread_main(void *arg)
{
	int			wake_fd = *(int *) arg;
	double		next_sample = clock_seconds() + SAMPLE_EVERY_SECONDS;
	double		next_file = 0;	/* 0: no file seen yet */
	double		accept_paused_until = 0;

	for (;;)
	{
		struct pollfd fds[2];
		nfds_t		nfds = 1;
		const char *path;
		double		interval;
		int			listen_fd;
		double		now;
		double		wait;
		bool		stopping;

		pthread_mutex_lock(&state.lock);
		stopping = state.stopping;
		path = state.file_path;
		interval = state.file_interval;
		listen_fd = state.listen_fd;
		pthread_mutex_unlock(&state.lock);
		if (stopping)
			break;

		now = clock_seconds();
		if (path != NULL && next_file == 0)
			next_file = now + interval;
		wait = next_sample - now;
		if (path != NULL && next_file - now < wait)
			wait = next_file - now;
		fds[0] = (struct pollfd) {.fd = wake_fd,.events = POLLIN};
		if (listen_fd >= 0)
		{
			if (now >= accept_paused_until)
				fds[nfds++] = (struct pollfd) {.fd = listen_fd,.events = POLLIN};
			else if (accept_paused_until - now < wait)
				wait = accept_paused_until - now;
		}
		if (poll(fds, nfds, wait > 0 ? (int) ceil(wait * 1000) : 0) < 0)
			fds[0].revents = fds[1].revents = 0;	/* EINTR: go round */

		if (fds[0].revents & POLLIN)
			http_wake_drain(wake_fd);
		now = clock_seconds();
		if (now >= next_sample)
		{
			take_sample();
			next_sample = now + SAMPLE_EVERY_SECONDS;
		}
		if (path != NULL && now >= next_file)
		{
			sl_err		ignored;

			/* a failure is tried again next time; metrics_stop's write reports */
			err_clear(&ignored);
			file_write(path, &ignored);
			next_file = now + interval;
		}
		if (nfds > 1 && (fds[1].revents & POLLIN) &&
			http_serve_next(listen_fd, wake_fd, &metrics_http) < 0)
			accept_paused_until = now + ACCEPT_PAUSE_SECONDS;	/* EMFILE: do not spin */
	}
	return NULL;
}

static void
wake_thread(void)
{
	uint64_t	one = 1;

	if (state.wake_fd >= 0)
		(void) !write(state.wake_fd, &one, sizeof(one));
}

/* Starts the background thread unless it runs already. */
static int
ensure_thread(sl_err *err)
{
	int			rc;

	if (state.thread_running)
		return 0;
	state.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (state.wake_fd < 0)
		return err_set(err, SIDE_LOCAL, -errno, "could not create eventfd for metrics: %s",
					   strerror(errno));
	pthread_mutex_lock(&state.lock);
	state.stopping = false;
	pthread_mutex_unlock(&state.lock);
	rc = pthread_create(&state.thread, NULL, metrics_thread_main, &state.wake_fd);
	if (rc != 0)
	{
		close(state.wake_fd);
		state.wake_fd = -1;
		return err_set(err, SIDE_LOCAL, -rc, "could not start metrics thread: %s", strerror(rc));
	}
	state.thread_running = true;
	return 0;
}

int
metrics_file_start(const char *path, double interval_seconds, sl_err *err)
{
	char	   *copy = NULL;
	int			rc;

	if (state.file_path != NULL)
	{
		rc = err_set(err, SIDE_USAGE, -EALREADY, "metrics file \"%s\" is being written already",
					 state.file_path);
		goto done;
	}
	if (path == NULL || path[0] == '\0')
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "metrics file path is empty");
		goto done;
	}
	if (!(interval_seconds > 0) || !isfinite(interval_seconds))
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "invalid metrics file interval %g: must be positive",
					 interval_seconds);
		goto done;
	}
	if ((copy = strdup(path)) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "could not start metrics file \"%s\": out of memory",
					 path);
		goto done;
	}
	if ((rc = file_write(copy, err)) < 0)
		goto done;
	if ((rc = ensure_thread(err)) < 0)
		goto done;
	pthread_mutex_lock(&state.lock);
	state.file_path = copy;
	state.file_interval = interval_seconds;
	pthread_mutex_unlock(&state.lock);
	copy = NULL;
	wake_thread();
	rc = 0;
done:
	free(copy);
	return rc;
}

int
metrics_listen_start(const char *addr_port, sl_err *err)
{
	int			fd = -1;
	int			port_number;
	int			rc;

	if (state.listen_fd >= 0)
	{
		rc = err_set(err, SIDE_USAGE, -EALREADY, "metrics are being served already, on port %d",
					 state.listen_port);
		goto done;
	}
	if ((rc = http_listen_open("metrics", addr_port, &fd, &port_number, err)) < 0)
		goto done;
	if ((rc = ensure_thread(err)) < 0)
		goto done;
	pthread_mutex_lock(&state.lock);
	state.listen_fd = fd;
	state.listen_port = port_number;
	pthread_mutex_unlock(&state.lock);
	fd = -1;
	wake_thread();
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
metrics_listen_port(void)
{
	int			port;

	pthread_mutex_lock(&state.lock);
	port = state.listen_fd >= 0 ? state.listen_port : -ENOTCONN;
	pthread_mutex_unlock(&state.lock);
	return port;
}

int
metrics_stop(sl_err *err)
{
	sl_err		local;
	char	   *path;
	int			listen_fd;
	int			rc = 0;

	err_clear(&local);
	if (err == NULL)
		err = &local;
	if (state.thread_running)
	{
		pthread_mutex_lock(&state.lock);
		state.stopping = true;
		pthread_mutex_unlock(&state.lock);
		wake_thread();
		pthread_join(state.thread, NULL);
		state.thread_running = false;
		close(state.wake_fd);
		state.wake_fd = -1;
	}

	pthread_mutex_lock(&state.lock);
	path = state.file_path;
	listen_fd = state.listen_fd;
	state.file_path = NULL;
	state.listen_fd = -1;
	state.listen_port = 0;
	state.stopping = false;
	pthread_mutex_unlock(&state.lock);

	/* the thread is gone: nothing else writes the file now */
	if (path != NULL)
		rc = file_write(path, err);
	if (listen_fd >= 0)
		close(listen_fd);
	free(path);
	return rc;
}
