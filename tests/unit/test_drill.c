/*
 * test_drill.c: matching the rows of differing buckets.  Rows present alike
 * on both sides cancel out, duplicates counted; rows with the same key are
 * one changed row with the columns that differ named; the rest are missing
 * or extra; a NULL in the key makes a row match by content; the limit on
 * rows named holds; with positions, each difference names the source
 * tuples to copy and the target tuples to delete, as many as its count.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/drill.h"

static cat_column cols[] = {{.name = "id", .type = "integer", .type_oid = 23}, {.name = "v", .type = "text", .type_oid = 25},
	{.name = "w", .type = "text", .type_oid = 25}};
static cat_key_column id_key[] = {{"id", "integer", true, "pg_catalog"}};
static const cat_table keyed = {.qname = "public.t", .ncols = 3, .cols = cols,
	.key_kind = KEY_PRIMARY, .nkeys = 1, .keys = id_key};
static const cat_table keyless = {.qname = "public.k", .ncols = 3, .cols = cols};

static drill_result
match(const cat_table *t, const char *const *src, int nsrc, const char *const *dst, int ndst,
	  uint64_t limit)
{
	const char *const *lines[2] = {src, dst};
	const int	n[2] = {nsrc, ndst};
	drill_result res;

	cr_assert_eq(drill_match_lines(t, lines, n, limit, false, &res), 0);
	return res;
}

Test(drill, keyed_rows_are_missing_extra_or_changed, .timeout = 10)
{
	const char *src[] = {"1\ta\tx", "2\tb\tx", "3\tc\tx"};
	const char *dst[] = {"1\ta\tx", "2\tB\tx", "4\td\tx"};
	drill_result r = match(&keyed, src, 3, dst, 3, 100);

	cr_assert_eq(r.ndiffs, 3, "got %d differences", r.ndiffs);
	cr_assert_eq(r.rows, 3);
	cr_assert_eq(r.diffs[0].kind, DRILL_MISSING);
	cr_assert_str_eq(r.diffs[0].key, "(id)=(3)");
	cr_assert_str_eq(r.diffs[0].detail, "(id, v, w)=(3, c, x)");
	cr_assert_eq(r.diffs[1].kind, DRILL_EXTRA);
	cr_assert_str_eq(r.diffs[1].key, "(id)=(4)");
	cr_assert_eq(r.diffs[2].kind, DRILL_CHANGED);
	cr_assert_str_eq(r.diffs[2].key, "(id)=(2)");
	cr_assert_str_eq(r.diffs[2].detail, "column v: b on the source, B on the target");
	cr_assert(!r.truncated);
	drill_result_fini(&r);
}

Test(drill, every_changed_column_is_named, .timeout = 10)
{
	const char *src[] = {"7\t0\tNaN"};
	const char *dst[] = {"7\t-0\t\\N"};
	drill_result r = match(&keyed, src, 1, dst, 1, 100);

	cr_assert_eq(r.ndiffs, 1);
	cr_assert_str_eq(r.diffs[0].detail,
					 "column v: 0 on the source, -0 on the target; column w: NaN on the source, NULL on the target");
	drill_result_fini(&r);
}

Test(drill, trailing_space_is_a_change, .timeout = 10)
{
	const char *src[] = {"5\tabc\tx"};
	const char *dst[] = {"5\tabc \tx"};
	drill_result r = match(&keyed, src, 1, dst, 1, 100);

	cr_assert_eq(r.ndiffs, 1);
	cr_assert_eq(r.diffs[0].kind, DRILL_CHANGED);
	cr_assert_str_eq(r.diffs[0].detail, "column v: abc on the source, abc  on the target");
	drill_result_fini(&r);
}

Test(drill, long_values_show_where_they_first_differ, .timeout = 10)
{
	char	   *a = malloc(4096);
	char	   *b;
	const char *src[1];
	const char *dst[1];
	drill_result r;

	memset(a, 'z', 4095);
	a[4095] = '\0';
	memcpy(a, "1\tq\t", 4);
	b = strdup(a);
	b[3000] = 'y';
	src[0] = a;
	dst[0] = b;
	r = match(&keyed, src, 1, dst, 1, 100);
	cr_assert_eq(r.ndiffs, 1);
	cr_assert_str_eq(r.diffs[0].detail, "column w: 4091 bytes of text on the source, 4091 on the target, "
					 "first different at byte 2996");
	drill_result_fini(&r);
	free(a);
	free(b);
}

Test(drill, keyless_duplicates_are_counted, .timeout = 10)
{
	const char *src[] = {"1\tx\ty", "1\tx\ty", "1\tx\ty", "2\tx\ty"};
	const char *dst[] = {"1\tx\ty", "2\tx\ty", "2\tx\ty"};
	drill_result r = match(&keyless, src, 4, dst, 3, 100);

	cr_assert_eq(r.ndiffs, 2);
	cr_assert_eq(r.diffs[0].kind, DRILL_MISSING);
	cr_assert_eq(r.diffs[0].count, 2);
	cr_assert_null(r.diffs[0].key);
	cr_assert_str_eq(r.diffs[0].detail, "(id, v, w)=(1, x, y)");
	cr_assert_eq(r.diffs[1].kind, DRILL_EXTRA);
	cr_assert_eq(r.diffs[1].count, 1);
	cr_assert_eq(r.rows, 3);
	drill_result_fini(&r);
}

Test(drill, null_key_matches_by_content, .timeout = 10)
{
	const char *src[] = {"\\N\ta\tx"};
	const char *dst[] = {"\\N\tb\tx"};
	drill_result r = match(&keyed, src, 1, dst, 1, 100);

	cr_assert_eq(r.ndiffs, 2);
	cr_assert_eq(r.diffs[0].kind, DRILL_MISSING);
	cr_assert_null(r.diffs[0].key);
	cr_assert_str_eq(r.diffs[0].detail, "(id, v, w)=(NULL, a, x)");
	cr_assert_eq(r.diffs[1].kind, DRILL_EXTRA);
	drill_result_fini(&r);
}

Test(drill, equal_rows_in_any_order_cancel, .timeout = 10)
{
	const char *src[] = {"1\ta\tx", "2\tb\tx", "3\tc\tx"};
	const char *dst[] = {"3\tc\tx", "1\ta\tx", "2\tb\tx"};
	drill_result r = match(&keyed, src, 3, dst, 3, 100);

	cr_assert_eq(r.ndiffs, 0);
	cr_assert_eq(r.rows, 0);
	drill_result_fini(&r);
}

Test(drill, limit_caps_the_rows_named, .timeout = 10)
{
	const char *src[] = {"1\ta\tx", "2\ta\tx", "3\ta\tx", "4\ta\tx", "5\ta\tx"};
	drill_result r = match(&keyed, src, 5, NULL, 0, 2);

	cr_assert_eq(r.rows, 2, "named %llu rows", (unsigned long long) r.rows);
	cr_assert(r.truncated);
	drill_result_fini(&r);

	const char *dup[] = {"1\tx\ty", "1\tx\ty", "1\tx\ty"};

	r = match(&keyless, dup, 3, NULL, 0, 2);
	cr_assert_eq(r.ndiffs, 1);
	cr_assert_eq(r.diffs[0].count, 2);
	cr_assert(r.truncated);
	drill_result_fini(&r);
}

Test(drill, long_values_are_cut_in_reports, .timeout = 10)
{
	char		line[256];
	const char *src[] = {line};
	drill_result r;

	snprintf(line, sizeof(line), "9\t%0100d\tx", 0);
	r = match(&keyless, src, 1, NULL, 0, 10);
	cr_assert_eq(r.ndiffs, 1);
	cr_assert(strstr(r.diffs[0].detail, "...(100 bytes)") != NULL, "%s", r.diffs[0].detail);
	drill_result_fini(&r);
}

static drill_result
match_positions(const cat_table *t, const char *const *src, int nsrc, const char *const *dst, int ndst)
{
	const char *const *lines[2] = {src, dst};
	const int	n[2] = {nsrc, ndst};
	drill_result res;

	cr_assert_eq(drill_match_lines(t, lines, n, 100, true, &res), 0);
	return res;
}

Test(drill, positions_name_what_to_copy_and_delete, .timeout = 10)
{
	const char *src[] = {"1\ta\tx\t(0,1)\t10", "2\tb\tx\t(0,2)\t10", "3\tc\tx\t(0,3)\t10"};
	const char *dst[] = {"1\ta\tx\t(5,1)\t20", "2\tB\tx\t(5,2)\t20", "4\td\tx\t(5,3)\t20"};
	drill_result r = match_positions(&keyed, src, 3, dst, 3);

	cr_assert_eq(r.ndiffs, 3, "got %d differences", r.ndiffs);
	cr_assert_eq(r.diffs[0].kind, DRILL_MISSING);
	cr_assert_str_eq(r.diffs[0].copy, "(0,3):10");
	cr_assert_null(r.diffs[0].remove);
	cr_assert_str_eq(r.diffs[0].detail, "(id, v, w)=(3, c, x)", "the tuple is not part of the row");
	cr_assert_eq(r.diffs[1].kind, DRILL_EXTRA);
	cr_assert_null(r.diffs[1].copy);
	cr_assert_str_eq(r.diffs[1].remove, "(5,3):20");
	cr_assert_eq(r.diffs[2].kind, DRILL_CHANGED);
	cr_assert_str_eq(r.diffs[2].copy, "(0,2):10");
	cr_assert_str_eq(r.diffs[2].remove, "(5,2):20");
	drill_result_fini(&r);
}

Test(drill, positions_of_duplicates_count, .timeout = 10)
{
	const char *src[] = {"1\ta\tx\t(0,1)\t7", "1\ta\tx\t(0,2)\t7", "1\ta\tx\t(0,3)\t7", "2\tb\tx\t(0,4)\t7"};
	const char *dst[] = {"1\ta\tx\t(9,1)\t8", "2\tb\tx\t(9,2)\t8", "2\tb\tx\t(9,3)\t8", "2\tb\tx\t(9,4)\t8"};
	drill_result r = match_positions(&keyless, src, 4, dst, 4);

	cr_assert_eq(r.ndiffs, 2, "got %d differences", r.ndiffs);
	cr_assert_eq(r.diffs[0].kind, DRILL_MISSING);
	cr_assert_eq(r.diffs[0].count, 2);
	cr_assert_str_eq(r.diffs[0].copy, "(0,1):7 (0,2):7");
	cr_assert_eq(r.diffs[1].kind, DRILL_EXTRA);
	cr_assert_eq(r.diffs[1].count, 2);
	cr_assert_str_eq(r.diffs[1].remove, "(9,2):8 (9,3):8");
	drill_result_fini(&r);
}
