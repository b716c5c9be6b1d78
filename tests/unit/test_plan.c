/*
 * test_plan.c: the SQL that chunks are made of.  The server compares key
 * values; these tests check that the predicates say what they must:
 * open ends, nullable key columns kept out of ranges, row comparisons for
 * composite keys, quoted names kept as they are.
 */
#include <criterion/criterion.h>

#include "engine/plan.h"

static cat_key_column int_key[] = {{"id", "bigint", true, "pg_catalog"}};
static cat_key_column pair_key[] = {{"a", "integer", true, "pg_catalog"}, {"\"b c\"", "text", false, "pg_catalog"}};

static char *
key_pred(const cat_key_column *keys, int n, const char *lower, const char *upper)
{
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_key_predicate(&out, keys, n, lower, upper);
	cr_assert(!sbuf_failed(&out));
	return sbuf_take(&out);
}

Test(plan, a_key_of_an_extension_type_compares_with_its_operators, .timeout = 10)
{
	const cat_key_column citext_key[] = {{"k", "public.citext", true, "public"}};
	char	   *p = key_pred(citext_key, 1, "'a'::public.citext", "'m'::public.citext");

	cr_assert_str_eq(p, "k OPERATOR(public.>=) 'a'::public.citext AND k OPERATOR(public.<) 'm'::public.citext");
	free(p);
}

Test(plan, single_key_range_is_half_open, .timeout = 10)
{
	char	   *p = key_pred(int_key, 1, "'10'::bigint", "'20'::bigint");

	cr_assert_str_eq(p, "id OPERATOR(pg_catalog.>=) '10'::bigint AND id OPERATOR(pg_catalog.<) '20'::bigint");
	free(p);
}

Test(plan, first_and_last_ranges_are_open_ended, .timeout = 10)
{
	char	   *first = key_pred(int_key, 1, NULL, "'10'::bigint");
	char	   *last = key_pred(int_key, 1, "'90'::bigint", NULL);

	cr_assert_str_eq(first, "id OPERATOR(pg_catalog.<) '10'::bigint");
	cr_assert_str_eq(last, "id OPERATOR(pg_catalog.>=) '90'::bigint");
	free(first);
	free(last);
}

Test(plan, composite_key_uses_row_comparison_and_excludes_nulls, .timeout = 10)
{
	char	   *p = key_pred(pair_key, 2, "('1'::integer, 'x'::text)", NULL);

	cr_assert_str_eq(p, "\"b c\" IS NOT NULL AND (a, \"b c\") OPERATOR(pg_catalog.>=) ('1'::integer, 'x'::text)");
	free(p);
}

Test(plan, null_chunk_takes_rows_with_any_null_key_column, .timeout = 10)
{
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_null_predicate(&out, pair_key, 2);
	cr_assert_str_eq(sbuf_str(&out), "\"b c\" IS NULL");
	sbuf_fini(&out);
}

Test(plan, key_literal_casts_each_column, .timeout = 10)
{
	const char *lits[] = {"'7'", "'it''s'"};
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_key_literal(&out, pair_key, 2, lits);
	cr_assert_str_eq(sbuf_str(&out), "('7'::integer, 'it''s'::text)");
	sbuf_reset(&out);
	plan_key_literal(&out, int_key, 1, lits);
	cr_assert_str_eq(sbuf_str(&out), "'7'::bigint");
	sbuf_fini(&out);
}

Test(plan, ctid_ranges_cover_the_heap_without_gaps, .timeout = 10)
{
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_ctid_predicate(&out, -1, 100);
	cr_assert_str_eq(sbuf_str(&out), "ctid OPERATOR(pg_catalog.<) '(100,0)'::pg_catalog.tid");
	sbuf_reset(&out);
	plan_ctid_predicate(&out, 100, 200);
	cr_assert_str_eq(sbuf_str(&out),
					 "ctid OPERATOR(pg_catalog.>=) '(100,0)'::pg_catalog.tid AND ctid OPERATOR(pg_catalog.<) '(200,0)'::pg_catalog.tid");
	sbuf_reset(&out);
	plan_ctid_predicate(&out, 200, -1);
	cr_assert_str_eq(sbuf_str(&out), "ctid OPERATOR(pg_catalog.>=) '(200,0)'::pg_catalog.tid");
	sbuf_fini(&out);
}

static cat_column cols[] = {{.name = "id", .type = "bigint", .type_oid = 20}, {.name = "\"Name\"", .type = "text", .type_oid = 25}};

Test(plan, copy_statements_name_columns_and_format, .timeout = 10)
{
	cat_table	t = {.qname = "s.\"T\"", .ncols = 2, .cols = cols};
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_copy_out_sql(&out, &t, NULL, false);
	cr_assert_str_eq(sbuf_str(&out), "COPY s.\"T\" (id, \"Name\") TO STDOUT (FORMAT binary)");
	sbuf_reset(&out);
	plan_copy_out_sql(&out, &t, "id < '5'::bigint", true);
	cr_assert_str_eq(sbuf_str(&out),
					 "COPY (SELECT id, \"Name\" FROM ONLY s.\"T\" WHERE id < '5'::bigint) TO STDOUT (FORMAT text)");
	sbuf_reset(&out);
	plan_copy_in_sql(&out, &t, false, true);
	cr_assert_str_eq(sbuf_str(&out), "COPY s.\"T\" (id, \"Name\") FROM STDIN (FORMAT binary, FREEZE)");
	sbuf_fini(&out);
}

Test(plan, zero_column_table_copies_without_a_column_list, .timeout = 10)
{
	cat_table	t = {.qname = "z", .ncols = 0};
	sbuf		out;

	sbuf_init(&out, 1 << 20);
	plan_copy_in_sql(&out, &t, false, false);
	cr_assert_str_eq(sbuf_str(&out), "COPY z FROM STDIN (FORMAT binary)");
	sbuf_reset(&out);
	plan_copy_out_sql(&out, &t, NULL, false);
	cr_assert_str_eq(sbuf_str(&out), "COPY z TO STDOUT (FORMAT binary)");
	sbuf_fini(&out);
}

Test(plan, whole_tables_merge_the_chosen_tables_only, .timeout = 10)
{
	plan_chunk	chunks[] = {
		{0, 1, "id < '5'::bigint", 40, false},
		{0, 2, "id >= '5'::bigint", 60, false},
		{1, 1, NULL, 7, true},
		{2, 1, "ctid < '(9,0)'::pg_catalog.tid", 10, false},
		{2, 2, "ctid >= '(9,0)'::pg_catalog.tid", 12, false},
	};
	plan_table	tables[] = {{0, 2, PLAN_KEY}, {2, 1, PLAN_WHOLE}, {3, 2, PLAN_CTID}};
	plan		p = {5, chunks, 3, tables};
	bool		whole[] = {false, true, true};
	plan	   *w = NULL;

	cr_assert_eq(plan_whole_tables(&p, whole, &w), 0);
	cr_assert_eq(w->nchunks, 4);
	/* the key ranges stay, copied */
	cr_assert_eq(w->tables[0].nchunks, 2);
	cr_assert_eq(w->tables[0].method, PLAN_KEY);
	cr_assert_str_eq(w->chunks[1].predicate, "id >= '5'::bigint");
	cr_assert_neq(w->chunks[1].predicate, chunks[1].predicate);
	/* a table already whole stays as it is, frozen load and all */
	cr_assert_eq(w->tables[1].first_chunk, 2);
	cr_assert(w->chunks[2].freeze);
	/* the ctid ranges become one chunk with the table's bytes */
	cr_assert_eq(w->tables[2].first_chunk, 3);
	cr_assert_eq(w->tables[2].nchunks, 1);
	cr_assert_eq(w->tables[2].method, PLAN_WHOLE);
	cr_assert_null(w->chunks[3].predicate);
	cr_assert_eq(w->chunks[3].est_bytes, 22);
	cr_assert_eq(w->chunks[3].seq, 1);
	cr_assert_eq(w->chunks[3].table, 2);
	plan_destroy(w);
}

Test(plan, a_table_is_read_whole_when_it_leaves_the_work_spread, .timeout = 10)
{
	/* 2 to 16 chunks, at most 1/jobs of the total */
	cr_assert_not(plan_reads_whole(1, 10, 100, 2));
	cr_assert(plan_reads_whole(2, 50, 100, 2));
	cr_assert(plan_reads_whole(PLAN_WHOLE_MAX_CHUNKS, 50, 100, 2));
	cr_assert_not(plan_reads_whole(PLAN_WHOLE_MAX_CHUNKS + 1, 50, 100, 2));
	cr_assert_not(plan_reads_whole(8, 51, 100, 2));
	cr_assert(plan_reads_whole(8, 25, 100, 4));
	cr_assert_not(plan_reads_whole(8, 26, 100, 4));
	/* one job: any table of few enough chunks */
	cr_assert(plan_reads_whole(8, 100, 100, 1));
	cr_assert(plan_reads_whole(8, 100, 100, 0));
}

/* Tables that plan_build splits without the server: keyed ones read whole, keyless ones by ctid. */
static cat_table sized[] = {
	{.oid = 1, .qname = "public.keyed", .bytes = 8 << 20, .pages = 1024, .nkeys = 1, .keys = int_key},
	{.oid = 2, .qname = "public.many", .bytes = 20 << 20, .pages = 2560},
	{.oid = 3, .qname = "public.mid", .bytes = 12 << 20, .pages = 1536},
};

static plan *
plan_sized(int whole_jobs)
{
	catalog		cat = {.ntables = 3, .tables = sized, .server_major = 15, .block_size = 8192};
	plan_options opt = {1 << 20, true, false, whole_jobs};
	plan	   *p = NULL;
	sl_err		err;

	err_clear(&err);
	cr_assert_eq(plan_build(NULL, &cat, &opt, &p, &err), 0, "%s", err.msg);
	return p;
}

Test(plan, tables_read_whole_are_one_frozen_chunk, .timeout = 10)
{
	plan	   *p = plan_sized(2);

	/* 8 of 40 MB and 12 of 40 MB: whole, each loaded frozen */
	cr_assert_eq(p->tables[0].nchunks, 1);
	cr_assert_eq(p->tables[0].method, PLAN_WHOLE);
	cr_assert_null(p->chunks[p->tables[0].first_chunk].predicate);
	cr_assert(p->chunks[p->tables[0].first_chunk].freeze);
	cr_assert_eq(p->tables[2].nchunks, 1);
	cr_assert(p->chunks[p->tables[2].first_chunk].freeze);
	/* 20 chunks: more than a table read whole may have */
	cr_assert_eq(p->tables[1].nchunks, 20);
	cr_assert_eq(p->tables[1].method, PLAN_CTID);
	plan_destroy(p);

	/* with 4 jobs, 12 of 40 MB is more than a job's share */
	p = plan_sized(4);
	cr_assert_eq(p->tables[0].nchunks, 1);
	cr_assert_eq(p->tables[2].nchunks, 12);
	cr_assert_eq(p->tables[2].method, PLAN_CTID);
	cr_assert_not(p->chunks[p->tables[2].first_chunk].freeze);
	plan_destroy(p);
}

Test(sbuf, refuses_to_grow_past_its_cap, .timeout = 10)
{
	sbuf		out;

	sbuf_init(&out, 8);
	cr_assert_eq(sbuf_append(&out, "12345678"), 0);
	cr_assert_lt(sbuf_append(&out, "9"), 0);
	cr_assert(sbuf_failed(&out));
	cr_assert_str_eq(sbuf_str(&out), "12345678");
	sbuf_fini(&out);
}
