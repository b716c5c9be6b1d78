/*
 * textrows.c: rows of text cells and their JSON form.  See textrows.h.
 */
#include "codec/textrows.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *
textrows_cell(const textrows *r, int row, int col)
{
	return r->cells[(size_t) row * (size_t) r->ncols + (size_t) col];
}

void
textrows_fini(textrows *r)
{
	for (size_t i = 0; r->cells != NULL && i < (size_t) r->nrows * (size_t) r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

void
textrows_put(json_writer *w, const char *key, const textrows *r)
{
	json_put_array(w, key, JSON_LINES);
	for (int i = 0; i < r->nrows; i++)
	{
		json_put_array(w, NULL, JSON_INLINE);
		for (int j = 0; j < r->ncols; j++)
		{
			if (textrows_cell(r, i, j) == NULL)
				json_put_null(w, NULL);
			else
				json_put_string(w, NULL, textrows_cell(r, i, j));
		}
		json_put_end(w);
	}
	json_put_end(w);
}

int
textrows_get(const json_value *v, int ncols, textrows *out)
{
	size_t		n = v != NULL && json_kind(v) == JSON_ARRAY ? json_len(v) : 0;

	memset(out, 0, sizeof(*out));
	if (v == NULL || json_kind(v) != JSON_ARRAY || n > INT32_MAX / (size_t) ncols)
		return -EINVAL;
	if ((out->cells = calloc(n * (size_t) ncols + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	out->ncols = ncols;
	for (size_t i = 0; i < n; i++)
	{
		const json_value *row = json_at(v, i);

		out->nrows = (int) i + 1;	/* so that a failure frees what was taken */
		if (json_kind(row) != JSON_ARRAY || json_len(row) != (size_t) ncols)
			goto bad;
		for (int j = 0; j < ncols; j++)
		{
			const json_value *cell = json_at(row, (size_t) j);
			size_t		len;
			const char *text;

			if (json_is_null(cell))
				continue;
			if ((text = json_string(cell, &len)) == NULL || strlen(text) != len)
				goto bad;
			if ((out->cells[i * (size_t) ncols + (size_t) j] = strdup(text)) == NULL)
			{
				textrows_fini(out);
				return -ENOMEM;
			}
		}
	}
	return 0;
bad:
	textrows_fini(out);
	return -EINVAL;
}

