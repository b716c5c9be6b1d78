/*
 * test_filter.c: table selection patterns read as pg_dump and psql read them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/pattern.h"
#include "engine/filter.h"

/* Asserts that pattern gives these regular expressions (NULL: matches anything). */
static void
expect(const char *pattern, const char *schema_re, const char *name_re)
{
	char	   *s = NULL;
	char	   *n = NULL;
	sl_err		why;

	err_clear(&why);
	cr_assert_eq(pattern_to_regex(pattern, false, &s, &n, &why), 0,
				 "pattern %s refused: %s", pattern, why.msg);
	if (schema_re == NULL)
		cr_assert_null(s, "pattern %s: schema part %s, want none", pattern, s);
	else
		cr_assert(s != NULL && strcmp(s, schema_re) == 0, "pattern %s: schema part %s, want %s",
				  pattern, s ? s : "(none)", schema_re);
	if (name_re == NULL)
		cr_assert_null(n, "pattern %s: name part %s, want none", pattern, n);
	else
		cr_assert(n != NULL && strcmp(n, name_re) == 0, "pattern %s: name part %s, want %s",
				  pattern, n ? n : "(none)", name_re);
	free(s);
	free(n);
}

static void
refuse(const char *pattern, bool schema_only, const char *reason_part)
{
	char	   *s = NULL;
	char	   *n = NULL;
	sl_err		why;

	err_clear(&why);
	cr_assert_eq(pattern_to_regex(pattern, schema_only, &s, &n, &why), -EINVAL,
				 "pattern \"%s\" was taken", pattern);
	cr_assert_null(s);
	cr_assert_null(n);
	cr_assert(strstr(why.msg, reason_part) != NULL, "pattern \"%s\": reason \"%s\" lacks \"%s\"", pattern,
			  why.msg, reason_part);
}

Test(filter, plain_names_fold_to_lower_case, .timeout = 10)
{
	expect("orders", NULL, "^(orders)$");
	expect("Orders", NULL, "^(orders)$");
	expect("public.Orders", "^(public)$", "^(orders)$");
}

Test(filter, wildcards_are_shell_like, .timeout = 10)
{
	expect("order*", NULL, "^(order.*)$");
	expect("t?", NULL, "^(t.)$");
	expect("*.*", "^(.*)$", "^(.*)$");
	expect("app_*.log_20??", "^(app_.*)$", "^(log_20..)$");
}

Test(filter, double_quotes_keep_case_dots_and_wildcards, .timeout = 10)
{
	expect("\"Orders\"", NULL, "^(Orders)$");
	expect("\"a.b\".c", "^(a\\.b)$", "^(c)$");
	expect("\"x*y?\"", NULL, "^(x\\*y\\?)$");
	expect("\"we\"\"ird\"", NULL, "^(we\"ird)$");
	expect("\"my schema\".\"My Table\"", "^(my schema)$", "^(My Table)$");
	expect("\"a|b(c)[d]{e}^f\\\\\"", NULL, "^(a\\|b\\(c\\)\\[d\\]\\{e\\}\\^f\\\\\\\\)$");
}

Test(filter, regular_expressions_work_outside_quotes, .timeout = 10)
{
	expect("t[0-9]+", NULL, "^(t[0-9]+)$");
	expect("a|b", NULL, "^(a|b)$");
	/* but a dollar is a character, as in pg_dump */
	expect("price$", NULL, "^(price\\$)$");
	expect("\"price$\"", NULL, "^(price\\$)$");
}

Test(filter, an_empty_part_matches_anything, .timeout = 10)
{
	expect("public.", "^(public)$", NULL);
	expect(".orders", NULL, "^(orders)$");
}

Test(filter, non_ascii_letters_pass_through, .timeout = 10)
{
	expect("Übersicht", NULL, "^(Übersicht)$");
	expect("ÄB", NULL, "^(Äb)$");
}

Test(filter, bad_patterns_are_refused_with_the_reason, .timeout = 10)
{
	refuse("", false, "empty");
	refuse("a.b.c", false, "too many dotted names");
	refuse("\"open", false, "unterminated");
	refuse("\"x\"\"", false, "unterminated");
	refuse("a.b", true, "no dot");
}

Test(filter, schema_patterns_have_one_part, .timeout = 10)
{
	char	   *s = NULL;
	char	   *n = NULL;
	sl_err		why;

	err_clear(&why);
	cr_assert_eq(pattern_to_regex("App*", true, &s, &n, &why), 0);
	cr_assert_null(s);
	cr_assert_str_eq(n, "^(app.*)$");
	free(n);
	cr_assert_eq(pattern_to_regex("\"a.b\"", true, &s, &n, &why), 0);
	cr_assert_str_eq(n, "^(a\\.b)$");
	free(n);
}

Test(filter, kinds_and_record, .timeout = 10)
{
	cat_filter	f = {0};
	sl_err		err;
	sbuf		json;

	err_clear(&err);
	cr_assert(filter_empty(&f));
	cr_assert(filter_empty(NULL));
	cr_assert_eq(filter_add(&f, FILTER_TABLE, "public.a*", &err), 0);
	cr_assert_eq(filter_add(&f, FILTER_TABLE, "\"Q\"\"\"", &err), 0);
	cr_assert_eq(filter_add(&f, FILTER_EXCLUDE_SCHEMA, "tmp", &err), 0);
	cr_assert_lt(filter_add(&f, FILTER_SCHEMA, "a.b", &err), 0);
	cr_assert(strstr(err.msg, "--schema") != NULL && strstr(err.msg, "a.b") != NULL, "%s", err.msg);
	cr_assert_eq(f.n[FILTER_SCHEMA], 0);
	cr_assert(!filter_empty(&f));

	sbuf_init(&json, 64);
	cr_assert_eq(filter_json(&f, &json), 0);
	cr_assert_str_eq(sbuf_str(&json), "{\"table\": [\"public.a*\", \"\\\"Q\\\"\\\"\\\"\"], "
					 "\"exclude-schema\": [\"tmp\"]}");
	sbuf_fini(&json);

	for (int k = 0; k < FILTER_NKINDS; k++)
		cr_assert_eq(filter_kind_of(filter_kind_option((filter_kind) k)), k);
	cr_assert_eq(filter_kind_of("tables"), -1);
	filter_free(&f);
	cr_assert(filter_empty(&f));
}
