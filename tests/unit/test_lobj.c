/*
 * test_lobj.c: the SQL that moves large objects, and the header lines of a
 * dump's large-objects.sql, which a restore reads from a directory it does
 * not trust to be whole.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/lobj.h"
#include "engine/plan.h"

static char *
copy_sql(const cat_table *t, const char *predicate, bool in)
{
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	if (in)
		plan_copy_in_sql(&out, t, false, false);
	else
		plan_copy_out_sql(&out, t, predicate, false);
	cr_assert(!sbuf_failed(&out));
	return sbuf_take(&out);
}

Test(lobj, a_range_reads_the_contents_by_oid, .timeout = 10)
{
	cat_table	t = {.qname = LOBJ_TABLE, .large_objects = true};
	char	   *range = copy_sql(&t, "oid OPERATOR(pg_catalog.>=) '5'::oid", false);
	char	   *whole = copy_sql(&t, NULL, false);
	char	   *in = copy_sql(&t, NULL, true);

	cr_assert_str_eq(range, "COPY (SELECT oid, pg_catalog.lo_get(oid) FROM pg_catalog.pg_largeobject_metadata"
					 " WHERE oid OPERATOR(pg_catalog.>=) '5'::oid) TO STDOUT (FORMAT binary)");
	cr_assert_str_eq(whole, "COPY (SELECT oid, pg_catalog.lo_get(oid) FROM pg_catalog.pg_largeobject_metadata"
					 " WHERE true) TO STDOUT (FORMAT binary)");
	cr_assert_str_eq(in, "COPY pg_temp.pgsluice_large_objects (oid, data) FROM STDIN (FORMAT binary)");
	free(range);
	free(whole);
	free(in);
}

Test(lobj, a_header_gives_the_four_lengths, .timeout = 10)
{
	size_t		len[LOBJ_NPARTS];

	cr_assert_eq(lobj_metadata_parse_header("lo 120 44 0 67108864\n", len), 0);
	cr_assert_eq(len[0], 120);
	cr_assert_eq(len[1], 44);
	cr_assert_eq(len[2], 0);
	cr_assert_eq(len[3], 64u << 20);
}

Test(lobj, a_damaged_header_is_refused, .timeout = 10)
{
	static const char *const bad[] = {
		"", "\n", "lo\n", "lo 1 2 3\n", "lo 1 2 3 4", "lo 1 2 3 4 5\n", "lo 1 2 3 4\nx", "LO 1 2 3 4\n",
		"lo -1 2 3 4\n", "lo +1 2 3 4\n", "lo  1 2 3 4\n", "lo 1 2 3 67108865\n", "lo 1 2 3 18446744073709551616\n",
		"lo 1 2 3 4 \n", "lo 1,2 3 4\n", "lo 1 2 3 0x4\n",
	};
	size_t		len[LOBJ_NPARTS];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(lobj_metadata_parse_header(bad[i], len), -EPROTO, "accepted \"%s\"", bad[i]);
}
