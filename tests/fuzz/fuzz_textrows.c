/*
 * fuzz_textrows.c: libFuzzer target for the reader of rows of text cells
 * (codec/textrows.c), which reads the roles and database properties of a
 * cluster dump's cluster.json.
 *
 * The input is read as
 *   byte 0      the rows' width, 1 to 16
 *   bytes 1-    a JSON document
 * Rows the reader takes must be of that width, each cell a string without
 * NUL, or null; written again and read back they must give the same cells,
 * and the text written the second time must be the first's.  A document
 * the reader refuses must leave nothing allocated (LeakSanitizer).
 * Otherwise the target aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "codec/textrows.h"

#include "fuzz_common.h"

/* r written as a one-member document into text; 0, or the writer's error. */
static int
write_rows(const textrows *r, sbuf *text)
{
	json_writer w;

	sbuf_reset(text);
	json_writer_init(&w, text);
	json_put_object(&w, NULL, JSON_INLINE);
	textrows_put(&w, "rows", r);
	json_put_end(&w);
	return json_writer_finish(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *copy;
	json_doc   *doc = NULL;
	json_doc   *again = NULL;
	textrows	r = {0};
	textrows	back = {0};
	sbuf		first;
	sbuf		second;
	int			ncols;

	if (size < 1)
		return 0;
	ncols = 1 + data[0] % 16;
	if ((copy = fuzz_copy(data + 1, size - 1)) == NULL)
		return 0;
	sbuf_init(&first, (size_t) 1 << 24);
	sbuf_init(&second, (size_t) 1 << 24);
	if (json_parse((const char *) copy, size - 1, NULL, &doc, NULL) == 0 &&
		textrows_get(json_root(doc), ncols, &r) == 0)
	{
		if (r.ncols != ncols)
			abort();
		if (write_rows(&r, &first) < 0 ||
			json_parse(first.data, first.len, NULL, &again, NULL) < 0 ||
			textrows_get(json_get(json_root(again), "rows"), ncols, &back) < 0 || back.nrows != r.nrows)
			abort();
		for (int i = 0; i < r.nrows; i++)
			for (int j = 0; j < ncols; j++)
			{
				const char *a = textrows_cell(&r, i, j);
				const char *b = textrows_cell(&back, i, j);

				if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
					abort();
			}
		if (write_rows(&back, &second) < 0 || second.len != first.len ||
			memcmp(second.data, first.data, first.len) != 0)
			abort();
	}
	else if (r.cells != NULL || r.nrows != 0)
		abort();
	textrows_fini(&r);
	textrows_fini(&back);
	json_doc_destroy(doc);
	json_doc_destroy(again);
	sbuf_fini(&first);
	sbuf_fini(&second);
	free(copy);
	return 0;
}
