/*
 * metrics.c: Prometheus text exposition of the run's counters, to a file and
 * over HTTP.  See metrics.h.
 *
 * The counters are atomics in one static struct.  One background thread,
 * started by the first of metrics_file_start and metrics_listen_start, loops
 * on poll() over an eventfd (metrics_stop and the start functions write it
 * to wake the thread) and the listening socket, with a timeout that ends at
 * the next rate sample (once a second) or the next file write, whichever
 * comes first.  It accepts one connection at a time and serves it before
 * polling again: the request may take at most 8 KiB and 2 seconds, so a slow
 * client delays a file write by 2 seconds at worst, and metrics_stop's wake
 * cuts that short.
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
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RATE_WINDOW_SECONDS 10.0
#define SAMPLE_EVERY_SECONDS 1.0
#define NSAMPLES 16				/* covers the window with room to spare */
#define COMMAND_MAX 128			/* label bytes kept; longer is cut */
#define RENDER_CAP (1u << 20)	/* the text is about 2 KiB */
#define REQUEST_MAX 8192
#define CLIENT_TIMEOUT_SECONDS 2.0
#define ACCEPT_PAUSE_SECONDS 1.0	/* after EMFILE and the like */
#define LISTEN_BACKLOG 16

typedef struct rate_sample
{
	double		at;				/* monotonic seconds */
	uint64_t	bytes;
} rate_sample;

static struct metrics_state
{
	/* any thread, no lock */
	_Atomic uint64_t rows;
	_Atomic uint64_t bytes;
	_Atomic uint64_t chunks_done;
	_Atomic uint64_t chunks_failed;
	_Atomic uint64_t retries;
	atomic_int	in_flight;
	atomic_int	planned;

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
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
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
	state.start_mono = mono_now();
	state.start_bytes = atomic_load(&state.bytes);
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
	atomic_store(&state.planned, chunks_planned > 0 ? chunks_planned : 0);
}

void
metrics_add_planned(int n)
{
	atomic_fetch_add(&state.planned, n);
}

void
metrics_add_rows(uint64_t n)
{
	atomic_fetch_add_explicit(&state.rows, n, memory_order_relaxed);
}

void
metrics_add_bytes(uint64_t n)
{
	atomic_fetch_add_explicit(&state.bytes, n, memory_order_relaxed);
}

void
metrics_chunk_started(void)
{
	atomic_fetch_add_explicit(&state.in_flight, 1, memory_order_relaxed);
}

void
metrics_chunk_finished(bool ok)
{
	atomic_fetch_sub_explicit(&state.in_flight, 1, memory_order_relaxed);
	if (ok)
		atomic_fetch_add_explicit(&state.chunks_done, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&state.chunks_failed, 1, memory_order_relaxed);
}

void
metrics_chunk_put_back(void)
{
	atomic_fetch_sub_explicit(&state.in_flight, 1, memory_order_relaxed);
}

void
metrics_add_retry(void)
{
	atomic_fetch_add_explicit(&state.retries, 1, memory_order_relaxed);
}

static void
take_sample(void)
{
	pthread_mutex_lock(&state.lock);
	state.samples[state.next_sample].at = mono_now();
	state.samples[state.next_sample].bytes = atomic_load(&state.bytes);
	state.next_sample = (state.next_sample + 1) % NSAMPLES;
	if (state.nsamples < NSAMPLES)
		state.nsamples++;
	pthread_mutex_unlock(&state.lock);
}

/* Caller holds the lock. */
static double
rate_locked(void)
{
	double		now = mono_now();
	uint64_t	bytes = atomic_load(&state.bytes);
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
render_counter(sbuf *out, const char *name, const char *help, const char *label, uint64_t value)
{
	char		text[32];

	snprintf(text, sizeof(text), "%" PRIu64, value);
	render_family(out, name, "counter", help, label, text);
}

static void
render_int(sbuf *out, const char *name, const char *help, const char *label, int value)
{
	char		text[32];

	snprintf(text, sizeof(text), "%d", value);
	render_family(out, name, "gauge", help, label, text);
}

static void
render_double(sbuf *out, const char *name, const char *help, const char *label, double value)
{
	char		text[64];

	snprintf(text, sizeof(text), "%.3f", value);
	render_family(out, name, "gauge", help, label, text);
}

int
metrics_render(sbuf *out)
{
	char		label[COMMAND_MAX * 2];
	double		start_wall;
	double		rate;

	pthread_mutex_lock(&state.lock);
	if (!state.begun)
		start_step_locked("");
	escape_label(state.command, label);
	start_wall = state.start_wall;
	rate = rate_locked();
	pthread_mutex_unlock(&state.lock);

	render_counter(out, "pgsluice_rows_total",
				   "Rows moved by COPY.", label, atomic_load(&state.rows));
	render_counter(out, "pgsluice_bytes_total",
				   "COPY data bytes moved.", label, atomic_load(&state.bytes));
	render_counter(out, "pgsluice_chunks_done_total",
				   "Chunks finished successfully.", label, atomic_load(&state.chunks_done));
	render_counter(out, "pgsluice_chunks_failed_total",
				   "Chunks that finished with an error.", label, atomic_load(&state.chunks_failed));
	render_counter(out, "pgsluice_retries_total",
				   "Chunk attempts retried after a transient error.", label,
				   atomic_load(&state.retries));
	render_int(out, "pgsluice_chunks_in_flight",
			   "Chunks being worked on now.", label, atomic_load(&state.in_flight));
	render_int(out, "pgsluice_chunks_planned",
			   "Chunks in the plan of the current command.", label, atomic_load(&state.planned));
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
		goto out;
	}
	if (asprintf(&tmp_path, "%s.tmp", path) < 0)
	{
		tmp_path = NULL;
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "could not write metrics file \"%s\": out of memory", path);
		goto out;
	}
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not create metrics file \"%s\": %s",
					 tmp_path, strerror(errno));
		goto out;
	}
	if ((rc = write_all(fd, sbuf_str(&text), text.len)) < 0)
	{
		err_set(err, SIDE_LOCAL, rc, "could not write metrics file \"%s\": %s", tmp_path, strerror(-rc));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not write metrics file \"%s\": %s",
					 tmp_path, strerror(errno));
		goto out;
	}
	if (rename(tmp_path, path) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not rename metrics file \"%s\" to \"%s\": %s",
					 tmp_path, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp_path != NULL)
		unlink(tmp_path);
	free(tmp_path);
	sbuf_fini(&text);
	return rc;
}

/* ---- the HTTP server ---- */

static bool
stop_requested(void)
{
	bool		stopping;

	pthread_mutex_lock(&state.lock);
	stopping = state.stopping;
	pthread_mutex_unlock(&state.lock);
	return stopping;
}

static void
drain_wake(int wake_fd)
{
	uint64_t	count;

	(void) !read(wake_fd, &count, sizeof(count));
}

/*
 * Waits until fd is ready for events, the deadline passes (0) or a stop is
 * requested (0); 1 when ready.
 */
static int
client_wait(int fd, short events, double deadline, int wake_fd)
{
	for (;;)
	{
		struct pollfd fds[2] = {{.fd = fd,.events = events}, {.fd = wake_fd,.events = POLLIN}};
		double		left = deadline - mono_now();
		int			n;

		if (left <= 0)
			return 0;
		n = poll(fds, 2, (int) ceil(left * 1000));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n <= 0)
			continue;
		if (fds[1].revents & POLLIN)
		{
			drain_wake(wake_fd);
			if (stop_requested())
				return 0;
		}
		if (fds[0].revents != 0)
			return 1;
	}
}

/*
 * Reads the request head into buf; its length when it is complete, 0 when
 * the client went away or took too long, -E2BIG when it is too long.
 */
static int
read_request(int fd, char *buf, double deadline, int wake_fd)
{
	size_t		len = 0;

	for (;;)
	{
		ssize_t		n;

		if (len == REQUEST_MAX)
			return -E2BIG;
		if (!client_wait(fd, POLLIN, deadline, wake_fd))
			return 0;
		n = recv(fd, buf + len, REQUEST_MAX - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		len += (size_t) n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return (int) len;
	}
}

static void
send_all(int fd, const char *data, size_t len, double deadline, int wake_fd)
{
	while (len > 0)
	{
		ssize_t		n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || !client_wait(fd, POLLOUT, deadline, wake_fd))
				return;
			continue;
		}
		data += n;
		len -= (size_t) n;
	}
}

/*
 * The status line and headers for status, and the body: the metrics for
 * 200, a one-line reason otherwise.  HEAD gets the headers alone.
 */
static void
respond(int fd, int status, bool head_only, double deadline, int wake_fd)
{
	const char *reason;
	const char *content_type = "text/plain; charset=utf-8";
	sbuf		body;
	sbuf		response;

	sbuf_init(&body, RENDER_CAP);
	sbuf_init(&response, RENDER_CAP + 1024);
	switch (status)
	{
		case 200:
			reason = "OK";
			content_type = "text/plain; version=0.0.4; charset=utf-8";
			if (metrics_render(&body) < 0)
			{
				status = 500;
				reason = "Internal Server Error";
				content_type = "text/plain; charset=utf-8";
				sbuf_reset(&body);
				sbuf_append(&body, "out of memory\n");
			}
			break;
		case 404:
			reason = "Not Found";
			sbuf_append(&body, "not found: try /metrics\n");
			break;
		case 405:
			reason = "Method Not Allowed";
			sbuf_append(&body, "method not allowed\n");
			break;
		default:
			status = 400;
			reason = "Bad Request";
			sbuf_append(&body, "bad request\n");
			break;
	}
	sbuf_printf(&response,
				"HTTP/1.1 %d %s\r\n"
				"Content-Type: %s\r\n"
				"Content-Length: %zu\r\n"
				"%s"
				"Connection: close\r\n"
				"\r\n",
				status, reason, content_type, body.len,
				status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		sbuf_appendn(&response, sbuf_str(&body), body.len);
	if (!sbuf_failed(&response))
		send_all(fd, sbuf_str(&response), response.len, deadline, wake_fd);
	sbuf_fini(&response);
	sbuf_fini(&body);
}

/* Reads one request from a new connection and answers it. */
static void
serve_client(int fd, int wake_fd)
{
	char		request[REQUEST_MAX + 1];
	double		deadline = mono_now() + CLIENT_TIMEOUT_SECONDS;
	int			len = read_request(fd, request, deadline, wake_fd);
	size_t		method_len;
	size_t		target_len;
	const char *target;
	const char *version;
	bool		head_only;

	if (len == 0)
		return;					/* gone, too slow, or we are stopping */
	if (len < 0)
	{
		respond(fd, 400, false, deadline, wake_fd);
		return;
	}

	/* request line: METHOD SP TARGET SP HTTP/x.y */
	method_len = strcspn(request, " \r\n");
	target = request + method_len;
	if (method_len == 0 || *target != ' ')
	{
		respond(fd, 400, false, deadline, wake_fd);
		return;
	}
	target++;
	target_len = strcspn(target, " \r\n");
	version = target + target_len;
	if (target_len == 0 || *version != ' ' || strncmp(version + 1, "HTTP/", 5) != 0)
	{
		respond(fd, 400, false, deadline, wake_fd);
		return;
	}
	head_only = method_len == 4 && memcmp(request, "HEAD", 4) == 0;
	if (!head_only && !(method_len == 3 && memcmp(request, "GET", 3) == 0))
	{
		respond(fd, 405, false, deadline, wake_fd);
		return;
	}
	/* a query string does not change the answer */
	target_len = strcspn(target, " ?\r\n");
	if ((target_len == 1 && target[0] == '/') ||
		(target_len == 8 && memcmp(target, "/metrics", 8) == 0))
		respond(fd, 200, head_only, deadline, wake_fd);
	else
		respond(fd, 404, head_only, deadline, wake_fd);
}

/* ---- the background thread ---- */

static void *
metrics_thread_main(void *arg)
{
	int			wake_fd = *(int *) arg;
	double		next_sample = mono_now() + SAMPLE_EVERY_SECONDS;
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

		now = mono_now();
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
			drain_wake(wake_fd);
		now = mono_now();
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
		if (nfds > 1 && (fds[1].revents & POLLIN))
		{
			int			client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (client >= 0)
			{
				serve_client(client, wake_fd);
				close(client);
			}
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				accept_paused_until = now + ACCEPT_PAUSE_SECONDS;	/* EMFILE: do not spin */
		}
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
		goto out;
	}
	if (path == NULL || path[0] == '\0')
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "metrics file path is empty");
		goto out;
	}
	if (!(interval_seconds > 0) || !isfinite(interval_seconds))
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL, "invalid metrics file interval %g: must be positive",
					 interval_seconds);
		goto out;
	}
	if ((copy = strdup(path)) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "could not start metrics file \"%s\": out of memory",
					 path);
		goto out;
	}
	if ((rc = file_write(copy, err)) < 0)
		goto out;
	if ((rc = ensure_thread(err)) < 0)
		goto out;
	pthread_mutex_lock(&state.lock);
	state.file_path = copy;
	state.file_interval = interval_seconds;
	pthread_mutex_unlock(&state.lock);
	copy = NULL;
	wake_thread();
	rc = 0;
out:
	free(copy);
	return rc;
}

/*
 * Splits "host:port", "[v6]:port" or ":port" into host (maybe "") and port;
 * false when malformed.
 */
static bool
parse_listen(const char *addr_port, char *host, size_t host_size, char *port, size_t port_size)
{
	const char *host_start = addr_port;
	const char *host_end;
	const char *port_start;
	size_t		host_len;
	size_t		port_len;
	long		port_value;

	if (addr_port[0] == '[')
	{
		host_start = addr_port + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || host_end == host_start || host_end[1] != ':')
			return false;
		port_start = host_end + 2;
	}
	else
	{
		host_end = strrchr(addr_port, ':');
		if (host_end == NULL || memchr(addr_port, ':', (size_t) (host_end - addr_port)) != NULL)
			return false;		/* no port, or IPv6 without brackets */
		port_start = host_end + 1;
	}
	host_len = (size_t) (host_end - host_start);
	port_len = strlen(port_start);
	if (host_len >= host_size || port_len == 0 || port_len >= port_size ||
		strspn(port_start, "0123456789") != port_len)
		return false;
	port_value = strtol(port_start, NULL, 10);
	if (port_value > 65535)
		return false;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	memcpy(port, port_start, port_len + 1);
	return true;
}

/* Binds and listens on the first address of host:port that lets us. */
static int
bind_listen(const char *addr_port, const char *host, const char *port, int *fd_out, sl_err *err)
{
	/* no host: IPv6 and IPv4 (one dual-stack socket), or IPv4 alone */
	static const char *const any_hosts[] = {"::", "0.0.0.0"};
	const char *const *hosts = host[0] == '\0' ? any_hosts : &host;
	int			nhosts = host[0] == '\0' ? 2 : 1;
	int			last_errno = EADDRNOTAVAIL;

	for (int h = 0; h < nhosts; h++)
	{
		struct addrinfo hints = {
			.ai_family = AF_UNSPEC,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		};
		struct addrinfo *res = NULL;
		int			gai = getaddrinfo(hosts[h], port, &hints, &res);

		if (gai != 0)
		{
			if (host[0] != '\0')
				return err_set(err, SIDE_USAGE, -EINVAL,
							   "could not resolve metrics listen address \"%s\": %s",
							   addr_port, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
			last_errno = EAFNOSUPPORT;
			continue;
		}
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
		{
			int			one = 1;
			int			zero = 0;
			int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
									ai->ai_protocol);

			if (fd < 0)
			{
				last_errno = errno;
				continue;
			}
			(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6 && host[0] == '\0')
				(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			{
				freeaddrinfo(res);
				*fd_out = fd;
				return 0;
			}
			last_errno = errno;
			close(fd);
		}
		freeaddrinfo(res);
	}
	return err_set(err, SIDE_LOCAL, -last_errno, "could not listen on metrics address \"%s\": %s",
				   addr_port, strerror(last_errno));
}

static int
socket_port(int fd)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *) &addr, &len) < 0)
		return -errno;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *) &addr)->sin6_port);
	return ntohs(((struct sockaddr_in *) &addr)->sin_port);
}

int
metrics_listen_start(const char *addr_port, sl_err *err)
{
	char		host[NI_MAXHOST];
	char		port[8];
	int			fd = -1;
	int			port_number;
	int			rc;

	if (state.listen_fd >= 0)
	{
		rc = err_set(err, SIDE_USAGE, -EALREADY, "metrics are being served already, on port %d",
					 state.listen_port);
		goto out;
	}
	if (addr_port == NULL || !parse_listen(addr_port, host, sizeof(host), port, sizeof(port)))
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL,
					 "invalid metrics listen address \"%s\": expected HOST:PORT, [IPV6]:PORT or :PORT",
					 addr_port != NULL ? addr_port : "");
		goto out;
	}
	if ((rc = bind_listen(addr_port, host, port, &fd, err)) < 0)
		goto out;
	if ((port_number = socket_port(fd)) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, port_number, "could not read the port of metrics address \"%s\": %s",
					 addr_port, strerror(-port_number));
		goto out;
	}
	if ((rc = ensure_thread(err)) < 0)
		goto out;
	pthread_mutex_lock(&state.lock);
	state.listen_fd = fd;
	state.listen_port = port_number;
	pthread_mutex_unlock(&state.lock);
	fd = -1;
	wake_thread();
	rc = 0;
out:
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
