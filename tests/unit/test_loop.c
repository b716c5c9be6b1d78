/*
 * test_loop.c: readiness waits report what a socket can do, on both backends.
 * The io_uring cases are skipped where the kernel refuses io_uring.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/loop.h"

static io_loop *
make_loop(io_loop_kind kind)
{
	io_loop    *loop = NULL;
	int			rc = io_loop_create(&loop, kind, NULL, 0);

	if (rc < 0 && kind == IO_LOOP_URING)
		cr_skip_test("io_uring refused here: %s", strerror(-rc));
	cr_assert_eq(rc, 0, "io_loop_create: %d", rc);
	return loop;
}

ParameterizedTestParameters(loop, reports_readable_after_write)
{
	static io_loop_kind kinds[] = {IO_LOOP_POLL, IO_LOOP_URING};

	return cr_make_param_array(io_loop_kind, kinds, 2);
}

ParameterizedTest(io_loop_kind *kind, loop, reports_readable_after_write, .timeout = 10)
{
	io_loop    *loop = make_loop(*kind);
	int			sv[2];
	io_watch	w[1];
	char		c;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	w[0] = (io_watch) {.fd = sv[0], .events = POLLIN};
	cr_assert_eq(io_loop_wait(loop, w, 1, 20), 0, "nothing written yet, want a timeout");
	cr_assert_eq(write(sv[1], "x", 1), 1);
	cr_assert_eq(io_loop_wait(loop, w, 1, 2000), 1);
	cr_assert(w[0].revents & POLLIN, "revents %#x lacks POLLIN", w[0].revents);
	cr_assert_eq(read(sv[0], &c, 1), 1);
	/* Nothing more to read: the re-armed watch must time out again. */
	cr_assert_eq(io_loop_wait(loop, w, 1, 20), 0);
	io_loop_forget(loop);
	close(sv[0]);
	close(sv[1]);
	io_loop_destroy(loop);
}

ParameterizedTestParameters(loop, switches_events_on_the_same_slot)
{
	static io_loop_kind kinds[] = {IO_LOOP_POLL, IO_LOOP_URING};

	return cr_make_param_array(io_loop_kind, kinds, 2);
}

ParameterizedTest(io_loop_kind *kind, loop, switches_events_on_the_same_slot, .timeout = 10)
{
	io_loop    *loop = make_loop(*kind);
	int			sv[2];
	io_watch	w[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Armed for reading, which never comes ... */
	w[0] = (io_watch) {.fd = sv[0], .events = POLLIN};
	w[1] = (io_watch) {.fd = -1};
	cr_assert_eq(io_loop_wait(loop, w, 2, 20), 0);
	/* ... then asked for writing, which is ready at once. */
	w[0].events = POLLOUT;
	cr_assert_eq(io_loop_wait(loop, w, 2, 2000), 1);
	cr_assert(w[0].revents & POLLOUT, "revents %#x lacks POLLOUT", w[0].revents);
	cr_assert_eq(w[1].revents, 0);
	io_loop_forget(loop);
	close(sv[0]);
	close(sv[1]);
	io_loop_destroy(loop);
}

ParameterizedTestParameters(loop, reports_hangup_of_the_peer)
{
	static io_loop_kind kinds[] = {IO_LOOP_POLL, IO_LOOP_URING};

	return cr_make_param_array(io_loop_kind, kinds, 2);
}

ParameterizedTest(io_loop_kind *kind, loop, reports_hangup_of_the_peer, .timeout = 10)
{
	io_loop    *loop = make_loop(*kind);
	int			sv[2];
	io_watch	w[1];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	w[0] = (io_watch) {.fd = sv[0], .events = POLLIN};
	cr_assert_eq(io_loop_wait(loop, w, 1, 20), 0);
	close(sv[1]);
	cr_assert_eq(io_loop_wait(loop, w, 1, 2000), 1);
	cr_assert(w[0].revents & (POLLIN | POLLHUP), "revents %#x", w[0].revents);
	io_loop_forget(loop);
	close(sv[0]);
	io_loop_destroy(loop);
}

Test(loop, auto_names_its_backend, .timeout = 10)
{
	io_loop    *loop = NULL;
	char		why[128];

	cr_assert_eq(io_loop_create(&loop, IO_LOOP_AUTO, why, sizeof(why)), 0);
	if (strcmp(io_loop_backend(loop), "poll") == 0)
		cr_assert_neq(why[0], '\0', "fell back to poll without saying why");
	else
		cr_assert_str_eq(io_loop_backend(loop), "io_uring");
	io_loop_destroy(loop);
}

Test(loop, rejects_too_many_watches, .timeout = 10)
{
	io_loop    *loop = make_loop(IO_LOOP_POLL);
	io_watch	w[IO_LOOP_MAX_WATCHES + 1];

	cr_assert_eq(io_loop_wait(loop, w, IO_LOOP_MAX_WATCHES + 1, 0), -EINVAL);
	io_loop_destroy(loop);
}
