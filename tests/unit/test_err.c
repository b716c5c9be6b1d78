/*
 * test_err.c: the error handle: the first error wins, and a hint goes with
 * the error it was given for, never with an earlier one.
 */
#include <errno.h>

#include <criterion/criterion.h>

#include "base/err.h"

Test(err, keeps_the_first_error_and_its_hint)
{
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(err_set(&err, SIDE_TARGET, -EEXIST, "table \"%s\" holds rows", "t"), -EEXIST);
	err_hint(&err, "Use --truncate.");
	cr_assert_str_eq(err.msg, "table \"t\" holds rows");
	cr_assert_str_eq(err.hint, "Use --truncate.");
	cr_assert_eq(err_set(&err, SIDE_SOURCE, -EIO, "later"), -EIO);
	err_hint(&err, "a later hint");
	cr_assert_str_eq(err.msg, "table \"t\" holds rows");
	cr_assert_str_eq(err.hint, "Use --truncate.", "hint: \"%s\"", err.hint);
	cr_assert_eq(err.side, SIDE_TARGET);
}

Test(err, gives_no_hint_to_an_earlier_error)
{
	sl_err		err;

	err_clear(&err);
	err_set(&err, SIDE_LOCAL, -ENOMEM, "out of memory");
	err_set(&err, SIDE_TARGET, -EEXIST, "ignored: an error stands");
	err_hint(&err, "the fix for the ignored error");
	cr_assert_str_eq(err.hint, "", "hint: \"%s\"", err.hint);
}

Test(err, take_copies_the_hint_and_closes_it)
{
	sl_err		src,
				dst;

	err_clear(&src);
	err_clear(&dst);
	err_set(&src, SIDE_TARGET, -EPERM, "not yours");
	err_hint(&src, "Drop it.");
	cr_assert_eq(err_take(&dst, &src), -EPERM);
	cr_assert_str_eq(dst.hint, "Drop it.");
	err_hint(&dst, "another");
	cr_assert_str_eq(dst.hint, "Drop it.");
	err_clear(&dst);
	cr_assert_str_eq(dst.hint, "");
	cr_assert_eq(dst.code, 0);
}
