/*
 * test_textrows.c: unit tests of rows of text cells and their JSON form
 * (codec/textrows.c): written and read back cell for cell, NULLs kept;
 * every other shape refused with nothing left allocated.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec/textrows.h"

/* Reads text's root as rows of ncols; the reader's return. */
static int
read_rows(const char *text, int ncols, textrows *out)
{
	json_doc   *doc = NULL;
	int			rc;

	cr_assert_eq(json_parse(text, strlen(text), NULL, &doc, NULL), 0, "not JSON: %s", text);
	rc = textrows_get(json_root(doc), ncols, out);
	json_doc_destroy(doc);
	return rc;
}

Test(textrows, round_trip_keeps_every_cell_and_null)
{
	textrows	r = {0};
	textrows	back = {0};
	sbuf		text;
	json_writer w;

	cr_assert_eq(read_rows("[[\"a\", null, \"\"], [\"quote \\\" and \\u00e9\", \"b\", null]]", 3, &r), 0);
	cr_assert_eq(r.nrows, 2);
	cr_assert_str_eq(textrows_cell(&r, 0, 0), "a");
	cr_assert_null(textrows_cell(&r, 0, 1));
	cr_assert_str_eq(textrows_cell(&r, 0, 2), "");
	cr_assert_str_eq(textrows_cell(&r, 1, 0), "quote \" and \xc3\xa9");
	sbuf_init(&text, 1 << 16);
	json_writer_init(&w, &text);
	textrows_put(&w, NULL, &r);
	cr_assert_eq(json_writer_finish(&w), 0);
	cr_assert_eq(read_rows(text.data, 3, &back), 0, "written as %s", text.data);
	cr_assert_eq(back.nrows, 2);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
		{
			const char *a = textrows_cell(&r, i, j);
			const char *b = textrows_cell(&back, i, j);

			cr_assert((a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0),
					  "cell %d,%d: \"%s\" then \"%s\"", i, j, a ? a : "(null)", b ? b : "(null)");
		}
	textrows_fini(&r);
	textrows_fini(&back);
	sbuf_fini(&text);
}

Test(textrows, empty_array_is_no_rows)
{
	textrows	r = {0};

	cr_assert_eq(read_rows("[]", 4, &r), 0);
	cr_assert_eq(r.nrows, 0);
	cr_assert_eq(r.ncols, 4);
	textrows_fini(&r);
}

Test(textrows, refuses_every_other_shape)
{
	static const char *const bad[] = {
		"{}", "\"a\"", "null", "[[\"a\"]]", "[[\"a\", \"b\", \"c\"]]", "[[\"a\", 1]]", "[[\"a\", true]]",
		"[[\"a\", [\"b\"]]]", "[[\"a\", \"b\"], \"c\"]", "[[\"a\", \"nul \\u0000 inside\"]]", NULL
	};

	for (int i = 0; bad[i] != NULL; i++)
	{
		textrows	r = {0};

		cr_assert_eq(read_rows(bad[i], 2, &r), -EINVAL, "took %s", bad[i]);
		cr_assert_null(r.cells, "left cells after refusing %s", bad[i]);
		cr_assert_eq(r.nrows, 0, "left rows after refusing %s", bad[i]);
	}
}
