/*
 * test_args.c: option values as users write them.
 */
#include <stdio.h>

#include <criterion/criterion.h>

#include "cli/args.h"

Test(args, sizes_use_postgres_units, .timeout = 10)
{
	int64_t		bytes = 0;

	cr_assert_eq(args_parse_size("64MB", &bytes), 0);
	cr_assert_eq(bytes, 64ll << 20, "got %lld", (long long) bytes);
	cr_assert_eq(args_parse_size("512kB", &bytes), 0);
	cr_assert_eq(bytes, 512ll << 10);
	cr_assert_eq(args_parse_size("1 gb", &bytes), 0);
	cr_assert_eq(bytes, 1ll << 30);
	cr_assert_eq(args_parse_size("4096", &bytes), 0);
	cr_assert_eq(bytes, 4096);
	cr_assert_eq(args_parse_size("1.5MB", &bytes), 0);
	cr_assert_eq(bytes, 3ll << 19);
}

Test(args, sizes_reject_nonsense, .timeout = 10)
{
	int64_t		bytes = 0;

	cr_assert_lt(args_parse_size("", &bytes), 0);
	cr_assert_lt(args_parse_size("MB", &bytes), 0);
	cr_assert_lt(args_parse_size("-5MB", &bytes), 0);
	cr_assert_lt(args_parse_size("5XB", &bytes), 0);
	cr_assert_lt(args_parse_size("0", &bytes), 0);
	cr_assert_lt(args_parse_size("99999999TB", &bytes), 0);
}

Test(args, rates_are_sizes_per_second, .timeout = 10)
{
	int64_t		rate = -1;

	cr_assert_eq(args_parse_rate("25MB", &rate), 0);
	cr_assert_eq(rate, 25ll << 20, "got %lld", (long long) rate);
	cr_assert_eq(args_parse_rate("25MB/s", &rate), 0);
	cr_assert_eq(rate, 25ll << 20, "got %lld", (long long) rate);
	cr_assert_eq(args_parse_rate("512 kB/S", &rate), 0);
	cr_assert_eq(rate, 512ll << 10, "got %lld", (long long) rate);
	cr_assert_eq(args_parse_rate("0", &rate), 0);
	cr_assert_eq(rate, 0, "0 is no cap, got %lld", (long long) rate);
	cr_assert_eq(args_parse_rate("1", &rate), 0);
	cr_assert_eq(rate, 1);
}

Test(args, rates_reject_nonsense, .timeout = 10)
{
	int64_t		rate = 0;

	cr_assert_lt(args_parse_rate("", &rate), 0);
	cr_assert_lt(args_parse_rate("/s", &rate), 0);
	cr_assert_lt(args_parse_rate("-1MB", &rate), 0);
	cr_assert_lt(args_parse_rate("fast", &rate), 0);
	cr_assert_lt(args_parse_rate("10MB/h", &rate), 0);
	cr_assert_lt(args_parse_rate("0MB", &rate), 0);
	cr_assert_lt(args_parse_rate(NULL, &rate), 0);
}

Test(args, ints_respect_their_range, .timeout = 10)
{
	int			value = 0;

	cr_assert_eq(args_parse_int("8", 1, 256, &value), 0);
	cr_assert_eq(value, 8);
	cr_assert_lt(args_parse_int("0", 1, 256, &value), 0);
	cr_assert_lt(args_parse_int("8x", 1, 256, &value), 0);
	cr_assert_lt(args_parse_int("", 1, 256, &value), 0);
}

static void
expect_masked(const char *in, const char *want)
{
	char		buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	args_mask_password(buf);
	cr_assert_str_eq(buf, want, "masking \"%s\" gave \"%s\", want \"%s\"", in, buf, want);
}

Test(args, passwords_are_masked_in_place, .timeout = 10)
{
	expect_masked("host=h password=sekrit dbname=d", "host=h password=xxxxxx dbname=d");
	expect_masked("password = 'se cr\\'et' user=u", "password = 'xxxxxxxxx' user=u");
	expect_masked("PASSWORD=a", "PASSWORD=x");
	expect_masked("postgresql://u:pw@h:5432/d?sslmode=disable", "postgresql://u:xx@h:5432/d?sslmode=disable");
	expect_masked("postgres://h/d?user=u&password=pw&x=1", "postgres://h/d?user=u&password=xx&x=1");
	expect_masked("postgres://u@h/d", "postgres://u@h/d");
	expect_masked("host=h passwordx=keep", "host=h passwordx=keep");
	expect_masked("/tmp/some=dir", "/tmp/some=dir");
	cr_assert_eq(args_mask_password((char *) NULL), 0);
}
