/*
 * test_json_write.c: unit tests of the streaming JSON writer (codec/json_write.c).
 *
 * Each layout is compared byte for byte with the text it must give; every
 * document written is read back by the strict reader; each misuse must fail
 * the writer once and for good, whatever is written after it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/json.h"

static sbuf buf;
static json_writer w;

static void
setup(void)
{
	sbuf_init(&buf, 1 << 20);
	json_writer_init(&w, &buf);
}

static void
teardown(void)
{
	sbuf_fini(&buf);
}

TestSuite(json_write, .init = setup, .fini = teardown);

/* The text written so far must be want, and parse as JSON. */
static void
expect_text(const char *want)
{
	json_doc   *doc = NULL;
	sl_err		why;

	cr_assert_eq(json_writer_finish(&w), 0, "the writer failed on %s", sbuf_str(&buf));
	cr_assert_str_eq(sbuf_str(&buf), want);
	err_clear(&why);
	cr_assert_eq(json_parse(buf.data, buf.len, NULL, &doc, &why), 0, "%s: %s", sbuf_str(&buf), why.msg);
	json_doc_destroy(doc);
}

Test(json_write, inline_object_of_every_kind)
{
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_string(&w, "s", "a\"b");
	json_put_int(&w, "i", -42);
	json_put_uint(&w, "u", UINT64_MAX);
	json_put_double(&w, "d", 1.23456, 3);
	json_put_bool(&w, "t", true);
	json_put_bool(&w, "f", false);
	json_put_null(&w, "n");
	json_put_string(&w, "none", NULL);
	json_put_end(&w);
	expect_text("{\"s\": \"a\\\"b\", \"i\": -42, \"u\": 18446744073709551615, \"d\": 1.235, \"t\": true, "
				"\"f\": false, \"n\": null, \"none\": null}");
}

Test(json_write, lines_indent_by_the_containers_in_lines)
{
	json_put_object(&w, NULL, JSON_LINES);
	json_put_string(&w, "status", "done");
	json_put_array(&w, "tables", JSON_LINES);
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_string(&w, "name", "t");
	json_put_array(&w, "chunks", JSON_LINES);
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_int(&w, "chunk", 1);
	json_put_end(&w);
	json_put_end(&w);
	json_put_end(&w);
	json_put_end(&w);
	json_put_array(&w, "empty", JSON_LINES);
	json_put_end(&w);
	json_put_array(&w, "names", JSON_INLINE);
	json_put_string(&w, NULL, "a");
	json_put_string(&w, NULL, "b");
	json_put_end(&w);
	json_put_end(&w);
	expect_text("{\n"
				"  \"status\": \"done\",\n"
				"  \"tables\": [\n"
				"    {\"name\": \"t\", \"chunks\": [\n"
				"      {\"chunk\": 1}\n"
				"    ]}\n"
				"  ],\n"
				"  \"empty\": [],\n"
				"  \"names\": [\"a\", \"b\"]\n"
				"}");
}

Test(json_write, scalars_at_the_top)
{
	json_put_string(&w, NULL, "x");
	expect_text("\"x\"");
}

Test(json_write, doubles_that_are_not_finite_are_null)
{
	json_put_array(&w, NULL, JSON_INLINE);
	json_put_double(&w, NULL, NAN, 1);
	json_put_double(&w, NULL, INFINITY, 1);
	json_put_double(&w, NULL, 0.5, 0);
	json_put_end(&w);
	expect_text("[null, null, 0]");
}

Test(json_write, keys_and_strings_are_quoted_as_json_quote_does)
{
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_string(&w, "k\n\x01", "\xff\t");
	json_put_end(&w);
	expect_text("{\"k\\n\\u0001\": \"\\udcff\\t\"}");
}

Test(json_write, a_key_inside_an_array_fails)
{
	json_put_array(&w, NULL, JSON_INLINE);
	json_put_int(&w, "k", 1);
	json_put_end(&w);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
}

Test(json_write, no_key_inside_an_object_fails)
{
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_int(&w, NULL, 1);
	json_put_end(&w);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
}

Test(json_write, an_open_container_or_nothing_fails)
{
	cr_assert_eq(json_writer_finish(&w), -EINVAL, "nothing written");
	json_put_object(&w, NULL, JSON_LINES);
	cr_assert_eq(json_writer_finish(&w), -EINVAL, "an object left open");
}

Test(json_write, a_second_top_value_or_an_extra_end_fails)
{
	json_put_int(&w, NULL, 1);
	json_put_int(&w, NULL, 2);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
	setup();
	json_put_array(&w, NULL, JSON_INLINE);
	json_put_end(&w);
	json_put_end(&w);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
}

Test(json_write, misuse_is_sticky)
{
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_int(&w, NULL, 1);	/* misuse */
	json_put_int(&w, "k", 2);
	json_put_end(&w);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
	cr_assert_str_eq(sbuf_str(&buf), "{", "nothing is written after the misuse");
}

Test(json_write, nesting_past_the_depth_fails)
{
	for (int i = 0; i <= JSON_WRITE_DEPTH; i++)
		json_put_array(&w, NULL, JSON_INLINE);
	cr_assert_eq(json_writer_finish(&w), -EINVAL);
}

Test(json_write, a_full_buffer_fails_with_enomem)
{
	sbuf		small;

	sbuf_init(&small, 8);
	json_writer_init(&w, &small);
	json_put_array(&w, NULL, JSON_INLINE);
	json_put_string(&w, NULL, "longer than eight bytes");
	json_put_end(&w);
	cr_assert_eq(json_writer_finish(&w), -ENOMEM);
	sbuf_fini(&small);
}
