/*
 * test_metrics.c: the Prometheus exposition holds every family with its
 * HELP and TYPE and the values added, the file is replaced whole and kept up
 * to date, and the HTTP endpoint answers scrapes over a real socket and
 * refuses what it should.  Criterion runs each test in its own process, so
 * each starts from the module's zero state.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "engine/metrics.h"

#include "base/clock.h"

static const char *const families[][2] = {
	{"pgsluice_rows_total", "counter"},
	{"pgsluice_bytes_total", "counter"},
	{"pgsluice_chunks_done_total", "counter"},
	{"pgsluice_chunks_failed_total", "counter"},
	{"pgsluice_retries_total", "counter"},
	{"pgsluice_chunks_in_flight", "gauge"},
	{"pgsluice_chunks_planned", "gauge"},
	{"pgsluice_bytes_per_second", "gauge"},
	{"pgsluice_start_time_seconds", "gauge"},
	{"pgsluice_last_update_timestamp_seconds", "gauge"},
};

static char *
render(void)
{
	sbuf		out;

	sbuf_init(&out, 1u << 20);
	cr_assert_eq(metrics_render(&out), 0);
	return sbuf_take(&out);
}

/* The value of the sample line that starts with prefix ("name{...} "). */
static double
sample_value(const char *text, const char *prefix)
{
	const char *line = strstr(text, prefix);

	cr_assert_not_null(line, "no sample \"%s\" in:\n%s", prefix, text);
	return strtod(line + strlen(prefix), NULL);
}

static int
count_substrings(const char *text, const char *needle)
{
	int			n = 0;

	for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
		n++;
	return n;
}

static char *
read_whole_file(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *data;
	size_t		len;

	if (f == NULL)
		return NULL;
	data = calloc(1, 1u << 16);
	cr_assert_not_null(data);
	len = fread(data, 1, (1u << 16) - 1, f);
	data[len] = '\0';
	fclose(f);
	return data;
}

static void
make_temp_dir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/test_metrics.XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static int
count_dir_entries(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *entry;
	int			n = 0;

	cr_assert_not_null(d);
	while ((entry = readdir(d)) != NULL)
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
connect_local(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,.sin_port = htons((uint16_t) port)};
	struct timeval timeout = {.tv_sec = 5};
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *) &addr, sizeof(addr)), 0,
				 "connect to port %d: %s", port, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return fd;
}

/* Sends request on a new connection; the whole answer, up to the server's close. */
static char *
http_exchange(int port, const char *request)
{
	int			fd = connect_local(port);
	char	   *answer = calloc(1, 1u << 16);
	size_t		len = 0;

	cr_assert_not_null(answer);
	cr_assert_eq(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t) strlen(request));
	for (;;)
	{
		ssize_t		n = recv(fd, answer + len, (1u << 16) - 1 - len, 0);

		cr_assert_geq(n, 0, "recv: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t) n;
	}
	answer[len] = '\0';
	close(fd);
	return answer;
}

Test(metrics, render_has_help_and_type_for_every_family, .timeout = 10)
{
	char	   *text;
	char		want[256];

	metrics_begin("clone", 12);
	text = render();
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
	{
		const char *help;
		const char *type;

		snprintf(want, sizeof(want), "# HELP %s ", families[i][0]);
		help = strstr(text, want);
		cr_assert_not_null(help, "no HELP for %s in:\n%s", families[i][0], text);
		snprintf(want, sizeof(want), "# TYPE %s %s\n", families[i][0], families[i][1]);
		type = strstr(text, want);
		cr_assert_not_null(type, "no TYPE %s for %s in:\n%s", families[i][1], families[i][0], text);
		cr_assert_lt(help, type, "HELP after TYPE for %s", families[i][0]);
		snprintf(want, sizeof(want), "\n%s{command=\"clone\"} ", families[i][0]);
		cr_assert_not_null(strstr(text, want), "no sample for %s in:\n%s", families[i][0], text);
		snprintf(want, sizeof(want), "# TYPE %s ", families[i][0]);
		cr_assert_eq(count_substrings(text, want), 1, "%s declared %d times", families[i][0],
					 count_substrings(text, want));
	}
	free(text);
}

Test(metrics, render_shows_the_values_added, .timeout = 10)
{
	char	   *text;

	metrics_begin("clone", 7);
	metrics_add_rows(1000);
	metrics_add_rows(234);
	metrics_add_bytes(5 * 1024 * 1024);
	metrics_add_retry();
	metrics_add_retry();
	for (int i = 0; i < 5; i++)
		metrics_chunk_started();
	metrics_chunk_finished(true);
	metrics_chunk_finished(true);
	metrics_chunk_finished(false);
	text = render();
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"clone\"} 1234\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_bytes_total{command=\"clone\"} 5242880\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_chunks_done_total{command=\"clone\"} 2\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_chunks_failed_total{command=\"clone\"} 1\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_retries_total{command=\"clone\"} 2\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_chunks_in_flight{command=\"clone\"} 2\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_chunks_planned{command=\"clone\"} 7\n"), "%s", text);
	free(text);
}

Test(metrics, replication_gauges_only_once_set, .timeout = 10)
{
	char	   *text;

	metrics_begin("status", 0);
	text = render();
	cr_assert_null(strstr(text, "pgsluice_replication_lag_bytes"), "a run that does not follow has them:\n%s", text);
	free(text);
	metrics_set_replication(-1, 123456, 1.25, 987654321);
	metrics_set_replication(-1, 4096, 0.5, 987660000);
	text = render();
	cr_assert_not_null(strstr(text, "# TYPE pgsluice_replication_lag_bytes gauge\n"
							  "pgsluice_replication_lag_bytes{command=\"status\"} 4096\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_replication_lag_seconds{command=\"status\"} 0.500\n"), "%s", text);
	cr_assert_not_null(strstr(text, "# HELP pgsluice_slot_retained_bytes "), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_slot_retained_bytes{command=\"status\"} 987660000\n"), "%s", text);
	free(text);
}

Test(metrics, replication_gauges_per_database_that_follows, .timeout = 10)
{
	char	   *names[] = {"app", "billing", "quiet"};
	char	   *text;

	cr_assert_eq(metrics_share(3, names), 0);
	metrics_begin("status", 0);
	metrics_set_replication(0, 10, 0.0, 100);
	metrics_set_replication(1, 20, 2.0, 200);
	text = render();
	cr_assert_not_null(strstr(text, "pgsluice_replication_lag_bytes{command=\"status\",database=\"app\"} 10\n"),
					   "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_slot_retained_bytes{command=\"status\",database=\"billing\"} 200\n"),
					   "%s", text);
	cr_assert_null(strstr(text, "lag_bytes{command=\"status\",database=\"quiet\"}"), "%s", text);
	cr_assert_eq(count_substrings(text, "# TYPE pgsluice_replication_lag_seconds gauge"), 1, "%s", text);
	free(text);
}

Test(metrics, start_and_update_times_are_unix_seconds, .timeout = 10)
{
	double		before = (double) time(NULL);
	char	   *text;
	double		start;
	double		update;

	metrics_begin("verify", 1);
	text = render();
	start = sample_value(text, "pgsluice_start_time_seconds{command=\"verify\"} ");
	update = sample_value(text, "pgsluice_last_update_timestamp_seconds{command=\"verify\"} ");
	cr_assert(start >= before && start <= (double) time(NULL) + 1, "start %f, now %f", start, before);
	cr_assert(update >= start, "update %f before start %f", update, start);
	free(text);
}

/* Before 10 seconds have passed the rate covers the whole step. */
Test(metrics, young_run_rate_is_bytes_over_elapsed_time, .timeout = 10)
{
	double		t0 = clock_seconds();
	double		t1;
	double		t2;
	double		t3;
	double		rate;
	char	   *text;

	metrics_begin("clone", 1);
	t1 = clock_seconds();
	metrics_add_bytes(100000);
	usleep(200 * 1000);
	t2 = clock_seconds();
	text = render();
	t3 = clock_seconds();
	rate = sample_value(text, "pgsluice_bytes_per_second{command=\"clone\"} ");
	cr_assert(rate >= 100000 / (t3 - t0) - 1 && rate <= 100000 / (t2 - t1) + 1,
			  "rate %f not within [%f, %f]", rate, 100000 / (t3 - t0), 100000 / (t2 - t1));
	free(text);
}

Test(metrics, begin_again_changes_label_and_keeps_counters, .timeout = 10)
{
	char	   *text;

	metrics_begin("clone", 4);
	metrics_add_rows(10);
	metrics_begin("verify", 9);
	metrics_add_rows(5);
	text = render();
	cr_assert_null(strstr(text, "command=\"clone\""), "old label left:\n%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"verify\"} 15\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pgsluice_chunks_planned{command=\"verify\"} 9\n"), "%s", text);
	free(text);
}

Test(metrics, label_escapes_backslash_quote_and_newline, .timeout = 10)
{
	char	   *text;

	metrics_begin("a\\b\"c\nd", 0);
	text = render();
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"a\\\\b\\\"c\\nd\"} 0\n"),
					   "not escaped:\n%s", text);
	free(text);
}

Test(metrics, file_is_written_at_start_and_rewritten, .timeout = 30)
{
	char		dir[64];
	char		path[128];
	char		tmp_path[160];
	char	   *text;
	sl_err		err;
	double		deadline;

	err_clear(&err);
	make_temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pgsluice.prom", dir);
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
	metrics_begin("clone", 3);
	metrics_add_rows(41);
	cr_assert_eq(metrics_file_start(path, 0.05, &err), 0, "%s", err.msg);
	text = read_whole_file(path);
	cr_assert_not_null(text, "not written at start");
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"clone\"} 41\n"), "%s", text);
	free(text);

	metrics_add_rows(1);
	deadline = clock_seconds() + 10;
	for (;;)
	{
		text = read_whole_file(path);
		cr_assert_not_null(text, "file vanished during a rewrite");
		if (strstr(text, "pgsluice_rows_total{command=\"clone\"} 42\n") != NULL)
			break;
		cr_assert_lt(clock_seconds(), deadline, "not rewritten with the new value:\n%s", text);
		free(text);
		usleep(20 * 1000);
	}
	free(text);

	metrics_add_rows(58);
	cr_assert_eq(metrics_stop(&err), 0, "%s", err.msg);
	text = read_whole_file(path);
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"clone\"} 100\n"),
					   "final values not written:\n%s", text);
	free(text);
	cr_assert_eq(access(tmp_path, F_OK), -1, "%s left behind", tmp_path);
	cr_assert_eq(count_dir_entries(dir), 1);
	unlink(path);
	rmdir(dir);
}

Test(metrics, file_in_missing_directory_fails_naming_the_path, .timeout = 10)
{
	sl_err		err;
	const char *path = "/nonexistent-pgsluice-dir/metrics.prom";

	err_clear(&err);
	cr_assert_eq(metrics_file_start(path, 5, &err), -ENOENT);
	cr_assert_not_null(strstr(err.msg, path), "path not named: %s", err.msg);
	cr_assert_not_null(strstr(err.msg, strerror(ENOENT)), "cause not given: %s", err.msg);
	cr_assert_eq(err.side, SIDE_LOCAL);
	cr_assert_eq(metrics_stop(NULL), 0);
}

Test(metrics, file_interval_must_be_positive, .timeout = 10)
{
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(metrics_file_start("/tmp/never-written.prom", 0, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "interval"), "%s", err.msg);
	cr_assert_eq(access("/tmp/never-written.prom", F_OK), -1);
}

Test(metrics, listen_serves_metrics_over_http, .timeout = 30)
{
	sl_err		err;
	int			port;
	char	   *answer;
	const char *body;
	const char *length;

	err_clear(&err);
	metrics_begin("clone", 2);
	metrics_add_rows(777);
	metrics_add_bytes(4096);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	port = metrics_listen_port();
	cr_assert_gt(port, 0);

	answer = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", answer);
	cr_assert_not_null(strstr(answer, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
					   "%s", answer);
	cr_assert_not_null(strstr(answer, "\r\nConnection: close\r\n"), "%s", answer);
	body = strstr(answer, "\r\n\r\n");
	cr_assert_not_null(body);
	body += 4;
	length = strstr(answer, "\r\nContent-Length: ");
	cr_assert_not_null(length, "%s", answer);
	cr_assert_eq(strtoul(length + 18, NULL, 10), strlen(body), "Content-Length %lu, body %zu",
				 strtoul(length + 18, NULL, 10), strlen(body));
	cr_assert_not_null(strstr(body, "pgsluice_rows_total{command=\"clone\"} 777\n"), "%s", body);
	cr_assert_not_null(strstr(body, "pgsluice_bytes_total{command=\"clone\"} 4096\n"), "%s", body);
	free(answer);

	/* later values show in the next scrape, and / is the same page */
	metrics_add_rows(1);
	answer = http_exchange(port, "GET / HTTP/1.0\r\n\r\n");
	cr_assert_not_null(strstr(answer, "pgsluice_rows_total{command=\"clone\"} 778\n"), "%s", answer);
	free(answer);
	cr_assert_eq(metrics_stop(&err), 0, "%s", err.msg);
	cr_assert_eq(metrics_listen_port(), -ENOTCONN);
}

Test(metrics, listen_answers_head_without_body, .timeout = 30)
{
	sl_err		err;
	char	   *answer;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	answer = http_exchange(metrics_listen_port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", answer);
	cr_assert_not_null(strstr(answer, "\r\nContent-Length: "), "%s", answer);
	cr_assert_str_eq(strstr(answer, "\r\n\r\n"), "\r\n\r\n", "HEAD got a body: %s", answer);
	free(answer);
	metrics_stop(NULL);
}

Test(metrics, listen_answers_404_for_other_paths, .timeout = 30)
{
	sl_err		err;
	char	   *answer;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	answer = http_exchange(metrics_listen_port(), "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 404 Not Found\r\n", 24), 0, "%s", answer);
	cr_assert_null(strstr(answer, "pgsluice_rows_total"), "%s", answer);
	free(answer);
	answer = http_exchange(metrics_listen_port(), "GET /metricsfoo HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 404 ", 13), 0, "%s", answer);
	free(answer);
	metrics_stop(NULL);
}

Test(metrics, listen_answers_405_for_other_methods, .timeout = 30)
{
	sl_err		err;
	char	   *answer;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	answer = http_exchange(metrics_listen_port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 405 Method Not Allowed\r\n", 33), 0, "%s", answer);
	cr_assert_not_null(strstr(answer, "\r\nAllow: GET, HEAD\r\n"), "%s", answer);
	free(answer);
	answer = http_exchange(metrics_listen_port(), "garbage\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 400 ", 13), 0, "%s", answer);
	free(answer);
	metrics_stop(NULL);
}

/* An idle client holds the server for its 2 s timeout at most. */
Test(metrics, silent_client_does_not_hang_the_server, .timeout = 30)
{
	sl_err		err;
	int			idle;
	char	   *answer;
	double		started;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	idle = connect_local(metrics_listen_port());
	usleep(100 * 1000);			/* let the server take the idle one first */
	started = clock_seconds();
	answer = http_exchange(metrics_listen_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", answer);
	cr_assert_lt(clock_seconds() - started, 4.0, "took %.1f s", clock_seconds() - started);
	free(answer);
	close(idle);
	metrics_stop(NULL);
}

/* More than 8 KiB of request head is refused, and the next scrape still works. */
Test(metrics, oversized_request_is_refused_and_server_goes_on, .timeout = 30)
{
	sl_err		err;
	int			fd;
	char		big[9000];
	char	   *answer;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	fd = connect_local(metrics_listen_port());
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	(void) !send(fd, big, sizeof(big), MSG_NOSIGNAL);
	close(fd);
	answer = http_exchange(metrics_listen_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", answer);
	free(answer);
	metrics_stop(NULL);
}

Test(metrics, malformed_listen_address_is_refused_naming_it, .timeout = 10)
{
	static const char *const bad[] = {
		"9187", "127.0.0.1", "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:70000",
		"::1:9187", "[::1]9187", "[::1", "[]:9187", "127.0.0.1:-1", "",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		sl_err		err;
		char		quoted[64];

		err_clear(&err);
		cr_assert_eq(metrics_listen_start(bad[i], &err), -EINVAL, "\"%s\" accepted", bad[i]);
		snprintf(quoted, sizeof(quoted), "\"%s\"", bad[i]);
		cr_assert_not_null(strstr(err.msg, quoted), "address not named: %s", err.msg);
		cr_assert_eq(err.side, SIDE_USAGE, "side %d for \"%s\"", err.side, bad[i]);
		cr_assert_eq(metrics_listen_port(), -ENOTCONN);
	}
}

Test(metrics, port_in_use_is_refused_naming_the_address, .timeout = 10)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t	len = sizeof(addr);
	int			taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char		addr_port[64];
	sl_err		err;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(taken, (struct sockaddr *) &addr, sizeof(addr)), 0);
	cr_assert_eq(listen(taken, 1), 0);
	cr_assert_eq(getsockname(taken, (struct sockaddr *) &addr, &len), 0);
	snprintf(addr_port, sizeof(addr_port), "127.0.0.1:%d", ntohs(addr.sin_port));

	err_clear(&err);
	cr_assert_eq(metrics_listen_start(addr_port, &err), -EADDRINUSE, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, addr_port), "address not named: %s", err.msg);
	cr_assert_not_null(strstr(err.msg, strerror(EADDRINUSE)), "cause not given: %s", err.msg);
	close(taken);
	cr_assert_eq(metrics_stop(NULL), 0);
}

Test(metrics, listen_on_all_interfaces_with_empty_host, .timeout = 30)
{
	sl_err		err;
	char	   *answer;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start(":0", &err), 0, "%s", err.msg);
	answer = http_exchange(metrics_listen_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", answer);
	free(answer);
	metrics_stop(NULL);
}

Test(metrics, second_listen_is_refused, .timeout = 10)
{
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), -EALREADY);
	metrics_stop(NULL);
}

Test(metrics, file_and_listener_share_the_thread_and_stop_together, .timeout = 30)
{
	char		dir[64];
	char		path[128];
	sl_err		err;
	char	   *answer;
	char	   *text;

	err_clear(&err);
	make_temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	metrics_begin("dump", 1);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	cr_assert_eq(metrics_file_start(path, 60, &err), 0, "%s", err.msg);
	metrics_add_rows(3);
	answer = http_exchange(metrics_listen_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_not_null(strstr(answer, "pgsluice_rows_total{command=\"dump\"} 3\n"), "%s", answer);
	free(answer);
	cr_assert_eq(metrics_stop(&err), 0, "%s", err.msg);
	text = read_whole_file(path);
	cr_assert_not_null(strstr(text, "pgsluice_rows_total{command=\"dump\"} 3\n"), "%s", text);
	free(text);
	cr_assert_eq(count_dir_entries(dir), 1);
	unlink(path);
	rmdir(dir);
}

Test(metrics, stop_without_start_and_twice_is_harmless, .timeout = 10)
{
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(metrics_stop(&err), 0);
	cr_assert_eq(metrics_stop(NULL), 0);
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	cr_assert_eq(metrics_stop(&err), 0);
	cr_assert_eq(metrics_stop(&err), 0);
	cr_assert(!err_is_set(&err), "%s", err.msg);
	/* and it may start again */
	cr_assert_eq(metrics_listen_start("127.0.0.1:0", &err), 0, "%s", err.msg);
	cr_assert_gt(metrics_listen_port(), 0);
	metrics_stop(NULL);
}
