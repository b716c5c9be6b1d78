/*
 * test_stall.c: the stall clock runs only while its socket is waited for
 * and moves nothing, and the tcp_user_timeout follows the stall timeout.
 * No server needed; times are given, not read.
 */
#include <criterion/criterion.h>

#include "io/stall.h"

#include "base/clock.h"

Test(stall, fires_after_the_timeout_of_silent_waits, .timeout = 10)
{
	stall_clock c;

	stall_clock_init(&c, 5);
	for (int i = 0; i < 24; i++)
	{
		double		t = 100.0 + 0.2 * i;	/* waits of 0.2 s up to 104.8 */

		stall_clock_begin(&c, true, 42, t);
		cr_assert_not(stall_clock_end(&c, false, t + 0.2), "stalled after %.1f s of 5", t + 0.2 - 100.0);
	}
	stall_clock_begin(&c, true, 42, 104.9);
	cr_assert(stall_clock_end(&c, false, 105.1), "no stall after 5.1 s of silence");
}

Test(stall, a_ready_socket_restarts_it, .timeout = 10)
{
	stall_clock c;

	stall_clock_init(&c, 5);
	stall_clock_begin(&c, true, 0, 100.0);
	cr_assert_not(stall_clock_end(&c, false, 104.0));
	stall_clock_begin(&c, true, 0, 104.0);
	cr_assert_not(stall_clock_end(&c, true, 104.5), "a ready socket is no stall");
	stall_clock_begin(&c, true, 0, 104.5);
	cr_assert_not(stall_clock_end(&c, false, 109.0), "the clock did not restart at 104.5");
	stall_clock_begin(&c, true, 0, 109.0);
	cr_assert(stall_clock_end(&c, false, 109.6));
}

Test(stall, moved_bytes_restart_it_without_a_ready_wait, .timeout = 10)
{
	stall_clock c;

	/* the bytes were read between waits: no wait saw the socket ready */
	stall_clock_init(&c, 5);
	stall_clock_begin(&c, true, 1000, 100.0);
	cr_assert_not(stall_clock_end(&c, false, 104.0));
	stall_clock_begin(&c, true, 2000, 104.0);
	cr_assert_not(stall_clock_end(&c, false, 108.0), "bytes moved at 104 s, yet a stall at 108 s");
	stall_clock_begin(&c, true, 2000, 108.0);
	cr_assert(stall_clock_end(&c, false, 109.1));
}

Test(stall, a_socket_left_alone_is_not_stalled, .timeout = 10)
{
	stall_clock c;

	/* the pipe was full: the source was not waited for, however long */
	stall_clock_init(&c, 5);
	stall_clock_begin(&c, true, 7, 100.0);
	cr_assert_not(stall_clock_end(&c, false, 101.0));
	stall_clock_begin(&c, false, 7, 101.0);
	cr_assert_not(stall_clock_end(&c, false, 200.0), "a socket not waited for stalled");
	stall_clock_begin(&c, true, 7, 200.0);
	cr_assert_not(stall_clock_end(&c, false, 204.0), "the clock kept the silence before the pause");
	stall_clock_begin(&c, true, 7, 204.0);
	cr_assert(stall_clock_end(&c, false, 205.0));
}

Test(stall, zero_turns_it_off, .timeout = 10)
{
	stall_clock c;

	stall_clock_init(&c, 0);
	stall_clock_begin(&c, true, 0, 100.0);
	cr_assert_not(stall_clock_end(&c, false, 1e9), "a clock with timeout 0 stalled");
}

Test(stall, now_is_monotonic, .timeout = 10)
{
	double		a = clock_seconds();
	double		b = clock_seconds();

	cr_assert_geq(b, a, "the clock went back: %f then %f", a, b);
}

Test(stall, a_wait_of_the_threads_own_does_not_count, .timeout = 10)
{
	stall_clock c;

	stall_clock_init(&c, 5);
	stall_clock_begin(&c, true, 100, 1000.0);
	cr_assert_not(stall_clock_end(&c, false, 1003.0));
	/* paused by the rate cap from 1003 to 1010: the socket was left alone */
	stall_clock_excuse(1010.0);
	stall_clock_begin(&c, true, 100, 1010.2);
	cr_assert_not(stall_clock_end(&c, false, 1010.4), "the pause counted as silence");
	stall_clock_begin(&c, true, 100, 1014.9);
	cr_assert_not(stall_clock_end(&c, false, 1014.9));
	stall_clock_begin(&c, true, 100, 1015.1);
	cr_assert(stall_clock_end(&c, false, 1015.1), "5 s of silence after the pause are a stall");
	stall_clock_excuse(-1.0);
}
