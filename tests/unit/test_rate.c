/*
 * test_rate.c: the token bucket behind --max-rate, on a clock the tests move
 * by hand, so that nothing depends on how fast the machine is.
 */
#include <criterion/criterion.h>

#include "engine/rate.h"

#define MS 1000000LL			/* nanoseconds */
#define SEC 1000000000LL
#define MB (1024LL * 1024)

Test(rate, no_cap_never_waits, .timeout = 10)
{
	rate_bucket b;

	rate_bucket_init(&b, 0, 0);
	rate_bucket_take(&b, 1ull << 40, 0);
	cr_assert_eq(rate_bucket_delay_ns(&b, 0), 0, "got %lld", (long long) rate_bucket_delay_ns(&b, 0));
}

Test(rate, debt_is_paid_at_the_rate, .timeout = 10)
{
	rate_bucket b;
	int64_t		delay;

	rate_bucket_init(&b, 10 * MB, 0);
	rate_bucket_take(&b, 1 * MB, 0);
	delay = rate_bucket_delay_ns(&b, 0);
	/* 1 MB at 10 MB/s: 100 ms */
	cr_assert(delay >= 100 * MS && delay <= 100 * MS + 1, "delay %lld ns, want 100 ms", (long long) delay);
	delay = rate_bucket_delay_ns(&b, 60 * MS);
	cr_assert(delay >= 40 * MS && delay <= 40 * MS + 1, "delay %lld ns 60 ms on, want 40 ms", (long long) delay);
	cr_assert_eq(rate_bucket_delay_ns(&b, 100 * MS + 1), 0);
}

Test(rate, steady_takes_hold_the_rate, .timeout = 10)
{
	rate_bucket b;
	int64_t		now = 0;
	uint64_t	moved = 0;

	/* a reader that takes 256 kB, then waits as told, for 10 simulated seconds */
	rate_bucket_init(&b, 25 * MB, 0);
	while (now < 10 * SEC)
	{
		rate_bucket_take(&b, 256 << 10, now);
		moved += 256 << 10;
		now += rate_bucket_delay_ns(&b, now);
	}
	{
		double		allowed = 25.0 * MB * (double) now / SEC;

		cr_assert((double) moved <= allowed && (double) moved >= allowed - (64 << 10),
				  "moved %llu bytes in %.3f s at 25 MB/s, want %.0f", (unsigned long long) moved,
				  (double) now / SEC, allowed);
	}
}

Test(rate, idle_time_saves_only_a_burst, .timeout = 10)
{
	rate_bucket b;
	int64_t		delay;

	rate_bucket_init(&b, 10 * MB, 0);
	/* an hour idle earns RATE_BURST_SECONDS of the rate, not an hour of it */
	rate_bucket_take(&b, 2 * MB, 3600 * SEC);
	delay = rate_bucket_delay_ns(&b, 3600 * SEC);
	cr_assert(delay >= 100 * MS && delay <= 100 * MS + 1, "after idling, 2 MB waits %lld ns, want 100 ms",
			  (long long) delay);
}

Test(rate, several_takers_share_one_rate, .timeout = 10)
{
	rate_bucket b;
	int64_t		delay;

	/* four workers charge 1 MB each at once: together they wait for 4 MB */
	rate_bucket_init(&b, 8 * MB, 0);
	for (int i = 0; i < 4; i++)
		rate_bucket_take(&b, 1 * MB, 0);
	delay = rate_bucket_delay_ns(&b, 0);
	cr_assert(delay >= 500 * MS && delay <= 500 * MS + 1, "delay %lld ns, want 500 ms", (long long) delay);
}

Test(rate, a_new_rate_pays_the_debt_at_its_own_pace, .timeout = 10)
{
	rate_bucket b;
	int64_t		delay;

	rate_bucket_init(&b, 1 * MB, 0);
	rate_bucket_take(&b, 4 * MB, 0);
	cr_assert_geq(rate_bucket_delay_ns(&b, 0), 4 * SEC);
	rate_bucket_set_rate(&b, 4 * MB, SEC);	/* 1 MB paid by then, 3 MB left at 4 MB/s */
	delay = rate_bucket_delay_ns(&b, SEC);
	cr_assert(delay >= 750 * MS && delay <= 750 * MS + 1, "delay %lld ns, want 750 ms", (long long) delay);
	/* no cap: nothing owed, and none carried into a later cap */
	rate_bucket_set_rate(&b, 0, SEC);
	cr_assert_eq(rate_bucket_delay_ns(&b, SEC), 0);
	rate_bucket_set_rate(&b, 1 * MB, SEC);
	cr_assert_eq(rate_bucket_delay_ns(&b, SEC), 0);
}

Test(rate, a_clock_that_steps_back_earns_nothing, .timeout = 10)
{
	rate_bucket b;

	rate_bucket_init(&b, 1 * MB, 10 * SEC);
	rate_bucket_take(&b, 1 * MB, 10 * SEC);
	cr_assert_geq(rate_bucket_delay_ns(&b, 5 * SEC), SEC);
}

Test(rate, processes_share_the_run_cap, .timeout = 10)
{
	rate_limit_apply(30 * MB, false, 3);
	cr_assert_eq(rate_limit_cap(), 10 * MB, "got %lld", (long long) rate_limit_cap());
	cr_assert(!rate_limit_paused());
	rate_limit_apply(0, true, 2);
	cr_assert_eq(rate_limit_cap(), 0);
	cr_assert(rate_limit_paused());
	/* a cap too small to split still caps */
	rate_limit_apply(2, false, 5);
	cr_assert_eq(rate_limit_cap(), 1);
	rate_limit_configure(0);
	cr_assert_eq(rate_limit_cap(), 0);
	cr_assert(!rate_limit_paused());
}

Test(rate, wait_returns_at_once_without_cap_or_pause, .timeout = 10)
{
	atomic_int	stop = 0;

	rate_limit_configure(0);
	cr_assert_eq(rate_limit_wait(1ull << 30, &stop), 0.0);
}

Test(rate, a_raised_stop_ends_a_pause, .timeout = 10)
{
	atomic_int	stop = 1;

	rate_limit_apply(0, true, 1);
	/* the stop is looked at before any sleep: no time passes in there */
	cr_assert_eq(rate_limit_wait(4096, &stop), 0.0);
	rate_limit_configure(0);
}
