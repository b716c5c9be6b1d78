/*
 * textrows.h: rows of text cells, a cell NULL for SQL NULL, as a query
 * gave them, kept apart from libpq so that a file can carry them: in JSON,
 * an array of rows, each an array of strings and nulls.  The reader is
 * strict: every row has the width asked for, every cell is a string
 * without NUL bytes, or null.
 */
#ifndef PGSLUICE_CODEC_TEXTROWS_H
#define PGSLUICE_CODEC_TEXTROWS_H

#include "codec/json.h"

typedef struct textrows
{
	int			nrows;
	int			ncols;
	char	  **cells;			/* row-major, owned */
} textrows;

const char *textrows_cell(const textrows *r, int row, int col);
void		textrows_fini(textrows *r);

/* Writes r as an array member key (NULL inside an array). */
void		textrows_put(json_writer *w, const char *key, const textrows *r);

/* Reads v, an array of ncols-long arrays of strings or nulls: 0, -EINVAL on another shape, -ENOMEM. */
int			textrows_get(const json_value *v, int ncols, textrows *out);

#endif
