/*
 * test_check.c: the preflight's verdicts and its list of findings, which
 * need no server: the disk a spill needs, versions, the lock table,
 * connection slots, and how findings name their objects and are counted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/check.h"

Test(check, spill_need_is_a_third_of_the_heap, .timeout = 10)
{
	cr_assert_eq(check_spill_need(3ll << 30), 1ll << 30, "got %lld", (long long) check_spill_need(3ll << 30));
	cr_assert_eq(check_spill_need(300), 100);
	cr_assert_eq(check_spill_need(0), 0);
	cr_assert_eq(check_spill_need(-5), 0, "a negative size needs nothing, not %lld",
				 (long long) check_spill_need(-5));
}

Test(check, source_newer_than_target_is_a_blocker, .timeout = 10)
{
	cr_assert_eq(check_version_severity(16, 15), CHECK_BLOCKER);
	cr_assert_eq(check_version_severity(15, 15), CHECK_OK);
	cr_assert_eq(check_version_severity(12, 17), CHECK_OK, "an upgrade is fine");
}

Test(check, lock_table_warns_above_half_and_blocks_above_all, .timeout = 10)
{
	cr_assert_eq(check_lock_severity(100, 6400), CHECK_OK);
	cr_assert_eq(check_lock_severity(3200, 6400), CHECK_OK, "exactly half is still fine");
	cr_assert_eq(check_lock_severity(3201, 6400), CHECK_WARNING);
	cr_assert_eq(check_lock_severity(6400, 6400), CHECK_WARNING);
	cr_assert_eq(check_lock_severity(6401, 6400), CHECK_BLOCKER);
}

Test(check, free_slots_take_the_tightest_limit, .timeout = 10)
{
	check_slots plain = {100, 3, 10, -1, 0, -1, 0, false};
	check_slots role = {100, 3, 10, 5, 2, -1, 0, false};
	check_slots database = {100, 3, 10, 50, 2, 8, 6, false};
	check_slots superuser = {100, 0, 10, 5, 2, 8, 6, true};
	check_slots full = {20, 3, 30, -1, 0, -1, 0, false};

	cr_assert_eq(check_free_slots(&plain), 87, "got %d", check_free_slots(&plain));
	cr_assert_eq(check_free_slots(&role), 3, "got %d", check_free_slots(&role));
	cr_assert_eq(check_free_slots(&database), 2, "got %d", check_free_slots(&database));
	cr_assert_eq(check_free_slots(&superuser), 90, "superusers pass role and database limits, got %d",
				 check_free_slots(&superuser));
	cr_assert_eq(check_free_slots(&full), 0, "never below 0, got %d", check_free_slots(&full));
}

Test(check, finding_names_ten_objects_and_counts_the_rest, .timeout = 10)
{
	check_report *r = calloc(1, sizeof(check_report));
	char	   *objects[13];
	char		names[13][16];

	for (int i = 0; i < 13; i++)
	{
		snprintf(names[i], sizeof(names[i]), "public.t%d", i);
		objects[i] = names[i];
	}
	check_add(r, CHECK_BLOCKER, CHECK_TARGET, "target_tables_exist", "13 tables exist", "clone elsewhere",
			  objects, 13);
	cr_assert_eq(r->nfindings, 1);
	cr_assert_str_eq(r->findings[0].message, "13 tables exist: public.t0, public.t1, public.t2, public.t3, "
					 "public.t4, public.t5, public.t6, public.t7, public.t8, public.t9, and 3 more");
	cr_assert_eq(r->findings[0].nobjects, 13, "every object is kept, not only those named");
	cr_assert_str_eq(r->findings[0].objects[12], "public.t12");
	cr_assert_str_eq(r->findings[0].fix, "clone elsewhere");
	cr_assert_str_eq(r->findings[0].code, "target_tables_exist");
	check_report_destroy(r);
}

Test(check, counts_and_worst_severity, .timeout = 10)
{
	check_report *r = calloc(1, sizeof(check_report));

	cr_assert_eq(check_worst(r), CHECK_OK, "an empty report is clean");
	check_add(r, CHECK_OK, CHECK_BOTH, "server_version", "15 and 15", NULL, NULL, 0);
	check_add(r, CHECK_NOTE, CHECK_SOURCE, "unlogged_tables", "1 unlogged table", NULL, NULL, 0);
	cr_assert_eq(check_worst(r), CHECK_NOTE);
	check_add(r, CHECK_WARNING, CHECK_SOURCE, "large_objects", "3 large objects", "copy them", NULL, 0);
	check_add(r, CHECK_WARNING, CHECK_LOCAL, "spill_space", "too little room", "--spill-limit", NULL, 0);
	cr_assert_eq(check_worst(r), CHECK_WARNING);
	check_add(r, CHECK_BLOCKER, CHECK_TARGET, "extension_missing", "no postgis", "install it", NULL, 0);
	cr_assert_eq(check_worst(r), CHECK_BLOCKER);
	cr_assert_eq(check_count(r, CHECK_OK), 1);
	cr_assert_eq(check_count(r, CHECK_NOTE), 1);
	cr_assert_eq(check_count(r, CHECK_WARNING), 2);
	cr_assert_eq(check_count(r, CHECK_BLOCKER), 1);
	cr_assert_str_eq(r->findings[1].message, "1 unlogged table", "no objects: the summary alone");
	cr_assert_null(r->findings[1].fix);
	cr_assert_str_eq(check_severity_name(r->findings[4].severity), "blocker");
	cr_assert_str_eq(check_where_name(r->findings[3].where), "local");
	check_report_destroy(r);
}
