/*
 * drill.c: from a differing chunk to the rows that differ.  See drill.h.
 *
 * Pass 1 reads each side once and sums, per bucket, the rows, their text
 * bytes and the order-independent digest of their lines.  Then, batch by
 * batch of differing buckets, each side is read again and the lines that
 * fall in the batch go into one multiset (a line's count on each side);
 * what is left after equal lines cancel is matched by key and reported.
 */
#include "engine/drill.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/sbuf.h"
#include "codec/digest.h"
#include "engine/conn.h"
#include "engine/plan.h"
#include "engine/rate.h"

#define SHOW_CAP (1u << 20)		/* one row or change list in a report */
#define DRILL_RATE_BATCH (256u << 10)	/* source bytes read between charges to --max-rate */
#define DRILL_WAIT_MS 200			/* between looks at the stop request while the servers work */
#define NULL_FIELD "\\N"
#define DRILL_TAG_SHORT 's'
#define DRILL_TAG_LONG 'L'
#define DRILL_WINDOW_BYTES 16		/* shown each side of a long value's first difference */
#define INDEX_MAX_KEYS_GUESS 32		/* PostgreSQL's INDEX_MAX_KEYS */

typedef struct field
{
	const char *p;
	size_t		len;
} field;

/* One distinct line of a batch, with its count on each side. */
typedef struct row_entry
{
	char	   *line;			/* owned; NULL: empty slot */
	size_t		len;
	uint64_t	hash;			/* of the line */
	uint64_t	key_hash;		/* of its key fields; 0 when matched by content */
	uint64_t	count[2];		/* 0 source, 1 target */
	/* with positions: each side's tuples, "ctid:xmin" space-separated, and the next not taken */
	char	   *pos[2];
	size_t		pos_len[2];
	size_t		pos_cap[2];
	size_t		pos_next[2];
} row_entry;

typedef struct row_set
{
	row_entry  *slots;			/* open addressing, nslots a power of two */
	size_t		nslots;
	size_t		used;
} row_set;

typedef struct bucket
{
	chunk_digest digest;		/* of the lines, rows counted */
	uint64_t	bytes;
} bucket;

typedef struct drill_ctx
{
	const cat_table *t;
	int			nkeys;			/* 0: every row is matched by content */
	int		   *key_cols;		/* indices into t->cols */
	field	   *fields;			/* t->ncols, scratch */
	XXH3_state_t *state;
	uint32_t	nbuckets;		/* a power of two */
	bucket	   *buckets[2];		/* pass 1, per side */
	uint8_t    *in_batch;		/* nbuckets flags */
	row_set		set;
	int			side;			/* being read */
	int			oom;
	/* long values: each such column comes tagged (see drill_copy_sql) */
	bool	   *tagged;			/* t->ncols flags */
	bool		any_tagged;
	bool		positions;		/* each line ends in its tuple's "ctid:xmin" */
	PGconn	   *conns[2];		/* where a long value's first difference is looked up; NULL: not */
	const char *predicate;		/* the chunk's */
	sl_err	   *err;			/* a failed lookup's */
} drill_ctx;

const char *
drill_kind_name(drill_kind kind)
{
	switch (kind)
	{
		case DRILL_MISSING:
			return "missing";
		case DRILL_EXTRA:
			return "extra";
		case DRILL_CHANGED:
			return "changed";
		case DRILL_UNEXPLAINED:
			break;
	}
	return "unexplained";
}

/* Splits a COPY text line at its tabs (a tab inside a value is escaped); returns the field count. */
static int
split_fields(const char *line, size_t len, field *out, int max)
{
	const char *p = line;
	const char *end = line + len;
	int			n = 0;

	for (;;)
	{
		const char *tab = memchr(p, '\t', (size_t) (end - p));
		const char *stop = tab ? tab : end;

		if (n < max)
			out[n] = (field) {p, (size_t) (stop - p)};
		n++;
		if (tab == NULL)
			return n;
		p = tab + 1;
	}
}

static bool
is_null(field f)
{
	return f.len == 2 && memcmp(f.p, NULL_FIELD, 2) == 0;
}

/*
 * The hash that places a row: of its key fields, or 0 with *by_key false
 * when the row is matched by content (no usable key, a NULL in the key, or
 * a line of another shape).
 */
static uint64_t
key_hash(drill_ctx *d, const char *line, size_t len, bool *by_key)
{
	*by_key = false;
	if (d->nkeys == 0 || split_fields(line, len, d->fields, d->t->ncols) != d->t->ncols)
		return 0;
	XXH3_64bits_reset(d->state);
	for (int k = 0; k < d->nkeys; k++)
	{
		field		f = d->fields[d->key_cols[k]];

		if (is_null(f))
			return 0;
		XXH3_64bits_update(d->state, f.p, f.len);
		XXH3_64bits_update(d->state, "\t", 1);
	}
	*by_key = true;
	return XXH3_64bits_digest(d->state) | 1;	/* never 0 */
}

static uint32_t
bucket_of(drill_ctx *d, const char *line, size_t len, uint64_t *line_hash, uint64_t *khash)
{
	bool		by_key;

	*line_hash = XXH3_64bits(line, len);
	*khash = key_hash(d, line, len, &by_key);
	return (uint32_t) ((by_key ? *khash >> 1 : *line_hash) & (d->nbuckets - 1));
}

/* ---- the multiset of a batch ---- */

static int
row_set_grow(row_set *set)
{
	size_t		n = set->nslots ? set->nslots * 2 : 1024;
	row_entry  *slots = calloc(n, sizeof(row_entry));

	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < set->nslots; i++)
	{
		row_entry  *e = &set->slots[i];
		size_t		j;

		if (e->line == NULL)
			continue;
		for (j = e->hash & (n - 1); slots[j].line != NULL; j = (j + 1) & (n - 1))
			;
		slots[j] = *e;
	}
	free(set->slots);
	set->slots = slots;
	set->nslots = n;
	return 0;
}

/* Appends one tuple's place to the entry's list of side s. */
static int
add_position(row_entry *e, int s, field pos)
{
	if (e->pos_len[s] + pos.len + 2 > e->pos_cap[s])
	{
		size_t		cap = e->pos_cap[s] ? e->pos_cap[s] * 2 : 32;
		char	   *grown;

		while (cap < e->pos_len[s] + pos.len + 2)
			cap *= 2;
		if ((grown = realloc(e->pos[s], cap)) == NULL)
			return -ENOMEM;
		e->pos[s] = grown;
		e->pos_cap[s] = cap;
	}
	if (e->pos_len[s] > 0)
		e->pos[s][e->pos_len[s]++] = ' ';
	for (size_t i = 0; i < pos.len; i++)	/* "ctid\txmin" kept as "ctid:xmin" */
		e->pos[s][e->pos_len[s] + i] = pos.p[i] == '\t' ? ':' : pos.p[i];
	e->pos_len[s] += pos.len;
	e->pos[s][e->pos_len[s]] = '\0';
	return 0;
}

/* Counts one line of side s (pos: its tuple, or len 0). */
static int
row_set_add(row_set *set, int side, const char *line, size_t len, uint64_t hash, uint64_t khash, field pos)
{
	size_t		j;

	if ((set->used + 1) * 2 > set->nslots && row_set_grow(set) < 0)
		return -ENOMEM;
	for (j = hash & (set->nslots - 1); set->slots[j].line != NULL; j = (j + 1) & (set->nslots - 1))
	{
		row_entry  *e = &set->slots[j];

		if (e->hash == hash && e->len == len && memcmp(e->line, line, len) == 0)
		{
			e->count[side]++;
			return pos.len > 0 ? add_position(e, side, pos) : 0;
		}
	}
	set->slots[j].line = malloc(len + 1);
	if (set->slots[j].line == NULL)
		return -ENOMEM;
	memcpy(set->slots[j].line, line, len);
	set->slots[j].line[len] = '\0';
	set->slots[j].len = len;
	set->slots[j].hash = hash;
	set->slots[j].key_hash = khash;
	set->slots[j].count[side] = 1;
	set->used++;
	return pos.len > 0 ? add_position(&set->slots[j], side, pos) : 0;
}

/*
 * The next n tuples of the entry's side s, space-separated, into *out
 * (NULL when the lines came without their places).  0 or -ENOMEM.
 */
static int
take_positions(row_entry *e, int s, uint64_t n, char **out)
{
	size_t		from = e->pos_next[s];
	size_t		at = from;

	*out = NULL;
	if (e->pos[s] == NULL || n == 0)
		return 0;
	for (uint64_t i = 0; i < n && at < e->pos_len[s]; i++)
	{
		const char *sp = memchr(e->pos[s] + at, ' ', e->pos_len[s] - at);

		at = sp != NULL ? (size_t) (sp - e->pos[s]) + 1 : e->pos_len[s];
	}
	e->pos_next[s] = at;
	if (at > from && e->pos[s][at - 1] == ' ')
		at--;
	if ((*out = strndup(e->pos[s] + from, at - from)) == NULL)
		return -ENOMEM;
	return 0;
}

static void
row_set_clear(row_set *set)
{
	for (size_t i = 0; i < set->nslots; i++)
	{
		free(set->slots[i].line);
		free(set->slots[i].pos[0]);
		free(set->slots[i].pos[1]);
	}
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* ---- long values ---- */

static size_t
first_difference(field a, field b)
{
	size_t		i = 0;

	while (i < a.len && i < b.len && a.p[i] == b.p[i])
		i++;
	return i;
}

/*
 * A tagged field without its tag: *is_long when it stands for a long value
 * (then the field is "<bytes>:<md5>").  Untagged fields come as they are.
 */
static field
untag(const drill_ctx *d, int col, field f, bool *is_long)
{
	*is_long = false;
	if (!d->tagged[col] || is_null(f) || f.len == 0)
		return f;
	*is_long = f.p[0] == DRILL_TAG_LONG;
	return (field) {f.p + 1, f.len - 1};
}

/* The bytes of a long value's text, from its "<bytes>:<md5>" field. */
static uint64_t
long_bytes(field f)
{
	return strtoull(f.p, NULL, 10);
}

/* COPY text's escapes undone: the value's text (out holds at least f.len + 1 bytes); its length. */
static size_t
copy_unescape(field f, char *out)
{
	size_t		n = 0;

	for (size_t i = 0; i < f.len; i++)
	{
		char		c = f.p[i];

		if (c != '\\' || i + 1 == f.len)
		{
			out[n++] = c;
			continue;
		}
		c = f.p[++i];
		switch (c)
		{
			case 'b': out[n++] = '\b'; break;
			case 'f': out[n++] = '\f'; break;
			case 'n': out[n++] = '\n'; break;
			case 'r': out[n++] = '\r'; break;
			case 't': out[n++] = '\t'; break;
			case 'v': out[n++] = '\v'; break;
			case 'x':
				{
					int			v = 0,
								k = 0;

					while (k < 2 && i + 1 < f.len && isxdigit((unsigned char) f.p[i + 1]))
					{
						char		h = f.p[++i];

						v = v * 16 + (isdigit((unsigned char) h) ? h - '0' : (tolower((unsigned char) h) - 'a' + 10));
						k++;
					}
					out[n++] = k > 0 ? (char) v : 'x';
				}
				break;
			default:
				if (c >= '0' && c <= '7')
				{
					int			v = c - '0';

					for (int k = 1; k < 3 && i + 1 < f.len && f.p[i + 1] >= '0' && f.p[i + 1] <= '7'; k++)
						v = v * 8 + (f.p[++i] - '0');
					out[n++] = (char) v;
				}
				else
					out[n++] = c;
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * "WHERE" of one row of the chunk, by the text of its key (as the drill-down
 * matched it, and whatever the key's types: text equality is pg_catalog's),
 * with the key's values as parameters $1... into params (each freed by the
 * caller).  0 or -ENOMEM.
 */
static int
row_where(const drill_ctx *d, const field *fields, sbuf *sql, char **params)
{
	sbuf_printf(sql, " FROM ONLY %s WHERE (%s)", d->t->qname, d->predicate != NULL ? d->predicate : "true");
	for (int k = 0; k < d->nkeys; k++)
	{
		field		f = fields[d->key_cols[k]];

		if ((params[k] = malloc(f.len + 1)) == NULL)
			return -ENOMEM;
		copy_unescape(f, params[k]);
		sbuf_printf(sql, " AND pg_catalog.format('%%s', %s) OPERATOR(pg_catalog.=) $%d", d->t->cols[d->key_cols[k]].name,
					k + 1);
	}
	return sbuf_failed(sql) ? -ENOMEM : 0;
}

/* Runs sql with the key's parameters on side s, rows of binary results; 0 or a negative errno. */
static int
lookup(drill_ctx *d, int s, const char *sql, char *const *params, PGresult **res)
{
	sl_side		who = s ? SIDE_TARGET : SIDE_SOURCE;

	*res = PQexecParams(d->conns[s], sql, d->nkeys, NULL, (const char *const *) params, NULL, NULL, 1);
	if (PQresultStatus(*res) == PGRES_TUPLES_OK)
		return 0;
	conn_fail(d->conns[s], *res, who, d->err, "could not look up where a long value differs");
	PQclear(*res);
	*res = NULL;
	return -EIO;
}

/* A window of bytes, with what is not printable ASCII as \xNN. */
static void
show_bytes(sbuf *out, const char *p, size_t n)
{
	sbuf_append(out, "'");
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			sbuf_appendn(out, p + i, 1);
		else
			sbuf_printf(out, "\\x%02x", c);
	}
	sbuf_append(out, "'");
}

/*
 * Where column col of one row (fields: either side's, for its key) first
 * differs between the sides, found without reading the values whole: the
 * md5 of each DRILL_BLOCK_BYTES block of its text on each side, then the
 * first differing block of both.  Appends "first different at byte N:
 * 'window' on the source, 'window' on the target" to detail, or says why
 * not.  0, or a negative errno (the lookup's error in d->err).
 */
static int
locate_difference(drill_ctx *d, const field *fields, int col, sbuf *detail)
{
	PGresult   *res[2] = {NULL, NULL};
	char	   *params[INDEX_MAX_KEYS_GUESS] = {0};
	const char *name = d->t->cols[col].name;
	sbuf		sql;
	int			block = -1;
	int			rc;

	if (d->conns[0] == NULL || d->nkeys > INDEX_MAX_KEYS_GUESS)
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.md5(pg_catalog.substr(v.b, (g - 1) * %u + 1, %u))"
				" FROM (SELECT pg_catalog.textsend(pg_catalog.format('%%s', %s)) AS b", DRILL_BLOCK_BYTES,
				DRILL_BLOCK_BYTES, name);
	rc = row_where(d, fields, &sql, params);
	/* OFFSET 0: the value's text is made once, not once per block */
	sbuf_printf(&sql, " OFFSET 0) AS v, pg_catalog.generate_series(1, (pg_catalog.length(v.b) + %u) / %u) AS g ORDER BY g",
				DRILL_BLOCK_BYTES - 1, DRILL_BLOCK_BYTES);
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = sbuf_failed(&sql) ? -ENOMEM : lookup(d, s, sbuf_str(&sql), params, &res[s]);
	if (rc == 0)
	{
		int			n0 = PQntuples(res[0]),
					n1 = PQntuples(res[1]);

		for (int i = 0; block < 0 && (i < n0 || i < n1); i++)
			if (i >= n0 || i >= n1 || PQgetlength(res[0], i, 0) != PQgetlength(res[1], i, 0) ||
				memcmp(PQgetvalue(res[0], i, 0), PQgetvalue(res[1], i, 0), (size_t) PQgetlength(res[0], i, 0)) != 0)
				block = i;
	}
	PQclear(res[0]);
	PQclear(res[1]);
	res[0] = res[1] = NULL;
	if (rc == 0 && block >= 0)
	{
		/* that block of both sides: its bytes, raw */
		sbuf_reset(&sql);
		sbuf_printf(&sql, "SELECT pg_catalog.substr(v.b, %llu, %u) FROM (SELECT pg_catalog.textsend("
					"pg_catalog.format('%%s', %s)) AS b", (unsigned long long) block * DRILL_BLOCK_BYTES + 1,
					DRILL_BLOCK_BYTES, name);
		for (int k = 0; k < d->nkeys; k++)
			free(params[k]);
		memset(params, 0, sizeof(params));
		rc = row_where(d, fields, &sql, params);
		sbuf_append(&sql, " OFFSET 0) AS v");
		for (int s = 0; s < 2 && rc == 0; s++)
			rc = sbuf_failed(&sql) ? -ENOMEM : lookup(d, s, sbuf_str(&sql), params, &res[s]);
	}
	if (rc == 0 && block >= 0 && PQntuples(res[0]) == 1 && PQntuples(res[1]) == 1)
	{
		const char *a = PQgetvalue(res[0], 0, 0);
		const char *b = PQgetvalue(res[1], 0, 0);
		size_t		na = (size_t) PQgetlength(res[0], 0, 0);
		size_t		nb = (size_t) PQgetlength(res[1], 0, 0);
		size_t		i = first_difference((field) {a, na}, (field) {b, nb});
		size_t		from = i > DRILL_WINDOW_BYTES ? i - DRILL_WINDOW_BYTES : 0;

		sbuf_printf(detail, ", first different at byte %llu: ",
					(unsigned long long) block * DRILL_BLOCK_BYTES + i);
		show_bytes(detail, a + from, (na < i + DRILL_WINDOW_BYTES ? na : i + DRILL_WINDOW_BYTES) - from);
		sbuf_append(detail, " on the source, ");
		show_bytes(detail, b + from, (nb < i + DRILL_WINDOW_BYTES ? nb : i + DRILL_WINDOW_BYTES) - from);
		sbuf_append(detail, " on the target");
	}
	PQclear(res[0]);
	PQclear(res[1]);
	for (int k = 0; k < d->nkeys && k < INDEX_MAX_KEYS_GUESS; k++)
		free(params[k]);
	sbuf_fini(&sql);
	return rc;
}

/* ---- reports ---- */

static void
show_value(sbuf *out, field f)
{
	size_t		n = f.len;

	if (is_null(f))
	{
		sbuf_append(out, "NULL");
		return;
	}
	if (n <= DRILL_SHOW_BYTES)
	{
		sbuf_appendn(out, f.p, n);
		return;
	}
	n = DRILL_SHOW_BYTES;
	while (n > 0 && ((unsigned char) f.p[n] & 0xC0) == 0x80)
		n--;					/* not in the middle of a UTF-8 character */
	sbuf_appendn(out, f.p, n);
	sbuf_printf(out, "...(%zu bytes)", f.len);
}

/* One field of column col as a report shows it: a long value by its size and md5. */
static void
show_field(sbuf *out, const drill_ctx *d, int col, field f)
{
	bool		is_long;
	field		v = untag(d, col, f, &is_long);

	if (is_long)
	{
		const char *colon = memchr(v.p, ':', v.len);

		sbuf_printf(out, "(%llu bytes of text, md5 %.*s)", (unsigned long long) long_bytes(v),
					colon != NULL ? (int) (v.len - (size_t) (colon + 1 - v.p)) : 0, colon != NULL ? colon + 1 : "");
	}
	else
		show_value(out, v);
}

/* "(a, b)=(1, x)" of the given columns (all when cols is NULL). */
static void
show_tuple(sbuf *out, const drill_ctx *d, const field *fields, const int *cols, int n)
{
	sbuf_append(out, "(");
	for (int i = 0; i < n; i++)
		sbuf_printf(out, "%s%s", i ? ", " : "", d->t->cols[cols ? cols[i] : i].name);
	sbuf_append(out, ")=(");
	for (int i = 0; i < n; i++)
	{
		sbuf_append(out, i ? ", " : "");
		show_field(out, d, cols ? cols[i] : i, fields[cols ? cols[i] : i]);
	}
	sbuf_append(out, ")");
}

/* Adds one difference; takes copy and remove (the tuples, or NULL) whatever it returns. */
static int
add_diff(drill_result *out, drill_kind kind, uint64_t count, sbuf *key, sbuf *detail, char *copy, char *remove)
{
	drill_diff *grown = NULL;

	if (!sbuf_failed(detail) && (key == NULL || !sbuf_failed(key)))
		grown = realloc(out->diffs, sizeof(drill_diff) * (size_t) (out->ndiffs + 1));
	if (grown == NULL)
	{
		free(copy);
		free(remove);
		return -ENOMEM;
	}
	out->diffs = grown;
	out->diffs[out->ndiffs++] = (drill_diff) {kind, count, key ? sbuf_take(key) : NULL, sbuf_take(detail),
		copy, remove};
	out->rows += count;
	return 0;
}

/* A row on one side only, count times. */
static int
report_row(drill_ctx *d, row_entry *e, drill_kind kind, uint64_t count, drill_result *out)
{
	field	   *f = d->fields;
	sbuf		key;
	sbuf		detail;
	bool		by_key = e->key_hash != 0;
	char	   *tuples;
	int			rc;

	if (take_positions(e, kind == DRILL_MISSING ? 0 : 1, count, &tuples) < 0)
		return -ENOMEM;

	sbuf_init(&key, SHOW_CAP);
	sbuf_init(&detail, SHOW_CAP);
	if (split_fields(e->line, e->len, f, d->t->ncols) == d->t->ncols)
	{
		if (by_key)
			show_tuple(&key, d, f, d->key_cols, d->nkeys);
		show_tuple(&detail, d, f, NULL, d->t->ncols);
	}
	else
		sbuf_appendn(&detail, e->line, e->len);
	rc = add_diff(out, kind, count, by_key ? &key : NULL, &detail, kind == DRILL_MISSING ? tuples : NULL,
				  kind == DRILL_MISSING ? NULL : tuples);
	sbuf_fini(&key);
	sbuf_fini(&detail);
	return rc;
}

/* One key, other values: names each column that differs, with both values. */
static int
report_change(drill_ctx *d, row_entry *s, row_entry *t, drill_result *out)
{
	int			ncols = d->t->ncols;
	field	   *fs = d->fields;
	field	   *ft = calloc((size_t) ncols, sizeof(field));
	sbuf		key;
	sbuf		detail;
	int			rc;

	if (ft == NULL)
		return -ENOMEM;
	split_fields(s->line, s->len, fs, ncols);
	split_fields(t->line, t->len, ft, ncols);
	sbuf_init(&key, SHOW_CAP);
	sbuf_init(&detail, SHOW_CAP);
	show_tuple(&key, d, fs, d->key_cols, d->nkeys);
	rc = 0;
	for (int c = 0, n = 0; c < ncols && rc == 0; c++)
	{
		bool		long_s,
					long_t;
		field		vs,
					vt;

		if (fs[c].len == ft[c].len && memcmp(fs[c].p, ft[c].p, fs[c].len) == 0)
			continue;
		vs = untag(d, c, fs[c], &long_s);
		vt = untag(d, c, ft[c], &long_t);
		sbuf_printf(&detail, "%scolumn %s: ", n++ ? "; " : "", d->t->cols[c].name);
		if (is_null(vs) || is_null(vt) ||
			(!long_s && !long_t && vs.len <= DRILL_SHOW_BYTES && vt.len <= DRILL_SHOW_BYTES))
		{
			show_field(&detail, d, c, fs[c]);
			sbuf_append(&detail, " on the source, ");
			show_field(&detail, d, c, ft[c]);
			sbuf_append(&detail, " on the target");
		}
		else if (long_s || long_t)
		{
			/* compared by digests: where they differ is asked of the servers */
			sbuf_printf(&detail, "%llu bytes of text on the source, %llu on the target",
						(unsigned long long) (long_s ? long_bytes(vs) : vs.len),
						(unsigned long long) (long_t ? long_bytes(vt) : vt.len));
			rc = locate_difference(d, fs, c, &detail);
		}
		else
		{
			/* counted in the value's text, as for a long value, not in COPY's escapes */
			char	   *a = malloc(vs.len + 1);
			char	   *b = malloc(vt.len + 1);

			if (a == NULL || b == NULL)
				rc = -ENOMEM;
			else
			{
				field		ua = {a, copy_unescape(vs, a)};
				field		ub = {b, copy_unescape(vt, b)};

				sbuf_printf(&detail, "%zu bytes of text on the source, %zu on the target, first different "
							"at byte %zu", ua.len, ub.len, first_difference(ua, ub));
			}
			free(a);
			free(b);
		}
	}
	if (rc == 0)
	{
		char	   *copy = NULL;
		char	   *remove = NULL;

		if (take_positions(s, 0, 1, &copy) < 0 || take_positions(t, 1, 1, &remove) < 0)
		{
			free(copy);
			rc = -ENOMEM;
		}
		else
			rc = add_diff(out, DRILL_CHANGED, 1, &key, &detail, copy, remove);
	}
	sbuf_fini(&key);
	sbuf_fini(&detail);
	free(ft);
	return rc;
}

static bool
same_key(drill_ctx *d, const row_entry *a, const row_entry *b)
{
	field	   *fa = d->fields;
	field	   *fb;
	bool		same = true;

	if (a->key_hash != b->key_hash)
		return false;
	fb = calloc((size_t) d->t->ncols, sizeof(field));
	if (fb == NULL)
		return false;
	split_fields(a->line, a->len, fa, d->t->ncols);
	split_fields(b->line, b->len, fb, d->t->ncols);
	for (int k = 0; k < d->nkeys && same; k++)
	{
		field		x = fa[d->key_cols[k]];
		field		y = fb[d->key_cols[k]];

		same = x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
	}
	free(fb);
	return same;
}

static int
cmp_key_hash(const void *a, const void *b)
{
	uint64_t	x = (*(row_entry *const *) a)->key_hash;
	uint64_t	y = (*(row_entry *const *) b)->key_hash;

	return x < y ? -1 : x > y;
}

static bool
limit_reached(drill_result *out, uint64_t limit)
{
	if (out->rows < limit)
		return false;
	out->truncated = true;
	return true;
}

/* How many of n rows with one content may still be named. */
static uint64_t
clip(drill_result *out, uint64_t limit, uint64_t n)
{
	if (n <= limit - out->rows)
		return n;
	out->truncated = true;
	return limit - out->rows;
}

/* Reports what the batch in d->set holds on one side more often than on the other. */
static int
match_set(drill_ctx *d, uint64_t limit, drill_result *out)
{
	row_entry **extra = calloc(d->set.used + 1, sizeof(row_entry *));
	size_t		nextra = 0;
	int			rc = 0;

	if (extra == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < d->set.nslots; i++)
		if (d->set.slots[i].line != NULL && d->set.slots[i].count[1] > d->set.slots[i].count[0])
			extra[nextra++] = &d->set.slots[i];
	qsort(extra, nextra, sizeof(row_entry *), cmp_key_hash);

	/* source rows: changed where a target row has their key, else missing */
	for (size_t i = 0; i < d->set.nslots && rc == 0; i++)
	{
		row_entry  *e = &d->set.slots[i];

		if (e->line == NULL || e->count[0] <= e->count[1])
			continue;
		if (e->key_hash != 0)
		{
			size_t		lo = 0,
						hi = nextra;

			while (lo < hi)		/* first target entry with this key hash */
			{
				size_t		mid = lo + (hi - lo) / 2;

				if (extra[mid]->key_hash < e->key_hash)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < nextra && extra[lo]->key_hash == e->key_hash; lo++)
			{
				row_entry  *x = extra[lo];

				if (x->count[1] > x->count[0] && e->count[0] > e->count[1] && same_key(d, e, x))
				{
					if (limit_reached(out, limit))
						goto done;
					rc = report_change(d, e, x, out);
					x->count[1]--;
					e->count[0]--;
					break;
				}
			}
		}
		if (rc == 0 && e->count[0] > e->count[1])
		{
			uint64_t	n = e->count[0] - e->count[1];

			if (limit_reached(out, limit))
				goto done;
			rc = report_row(d, e, DRILL_MISSING, clip(out, limit, n), out);
		}
	}
	for (size_t i = 0; i < nextra && rc == 0; i++)
	{
		uint64_t	n = extra[i]->count[1] > extra[i]->count[0] ? extra[i]->count[1] - extra[i]->count[0] : 0;

		if (n == 0)
			continue;
		if (limit_reached(out, limit))
			goto done;
		rc = report_row(d, extra[i], DRILL_EXTRA, clip(out, limit, n), out);
	}
done:
	free(extra);
	return rc;
}

static int
cmp_diff(const void *a, const void *b)
{
	const drill_diff *x = a;
	const drill_diff *y = b;
	int			c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->key ? x->key : "", y->key ? y->key : "")) != 0)
		return c;
	return strcmp(x->detail, y->detail);
}

/* ---- set-up and the passes ---- */

static int
ctx_init(drill_ctx *d, const cat_table *t, uint64_t expected_rows)
{
	memset(d, 0, sizeof(*d));
	d->t = t;
	d->fields = calloc((size_t) t->ncols + 1, sizeof(field));
	d->key_cols = calloc((size_t) t->nkeys + 1, sizeof(int));
	d->state = XXH3_createState();
	if (d->fields == NULL || d->key_cols == NULL || d->state == NULL)
		return -ENOMEM;
	/* key columns among the copy columns; a key on a column not copied matches by content */
	d->nkeys = t->nkeys;
	for (int k = 0; k < t->nkeys; k++)
	{
		d->key_cols[k] = -1;
		for (int c = 0; c < t->ncols; c++)
			if (strcmp(t->keys[k].name, t->cols[c].name) == 0)
				d->key_cols[k] = c;
		if (d->key_cols[k] < 0)
			d->nkeys = 0;
	}
	/* the long values of columns outside the key: compared by digests (drill_copy_sql) */
	if ((d->tagged = calloc((size_t) t->ncols + 1, sizeof(bool))) == NULL)
		return -ENOMEM;
	for (int c = 0; c < t->ncols && !t->large_objects; c++)
	{
		bool		in_key = false;

		for (int k = 0; k < d->nkeys; k++)
			in_key = in_key || d->key_cols[k] == c;
		d->tagged[c] = t->cols[c].varlena && !in_key;
		d->any_tagged = d->any_tagged || d->tagged[c];
	}
	/* a few dozen rows per bucket */
	d->nbuckets = 64;
	while (d->nbuckets < DRILL_MAX_BUCKETS && (uint64_t) d->nbuckets * 16 < expected_rows)
		d->nbuckets *= 2;
	return 0;
}

static void
ctx_fini(drill_ctx *d)
{
	row_set_clear(&d->set);
	free(d->fields);
	free(d->key_cols);
	free(d->tagged);
	free(d->buckets[0]);
	free(d->buckets[1]);
	free(d->in_batch);
	XXH3_freeState(d->state);
}

static int
count_row(drill_ctx *d, const char *line, size_t len, field pos)
{
	uint64_t	h,
				kh;
	bucket	   *b = &d->buckets[d->side][bucket_of(d, line, len, &h, &kh)];
	XXH128_hash_t full = XXH3_128bits(line, len);

	(void) pos;
	chunk_digest_add(&b->digest, full.low64, full.high64);
	b->bytes += len;
	return 0;
}

static int
collect_row(drill_ctx *d, const char *line, size_t len, field pos)
{
	uint64_t	h,
				kh;
	uint32_t	b = bucket_of(d, line, len, &h, &kh);

	if (d->in_batch != NULL && !d->in_batch[b])	/* drill_match_lines has no batches: all lines count */
		return 0;
	return row_set_add(&d->set, d->side, line, len, h, kh, pos);
}

/*
 * With positions, the line's last two fields are its tuple's ctid and xmin:
 * *pos gets them, "ctid\txmin", and the length of the line (len bytes)
 * without them is returned.
 */
static size_t
split_position(const drill_ctx *d, const char *row, size_t len, field *pos)
{
	const char *xmin;
	const char *ctid;

	if (!d->positions || (xmin = memrchr(row, '\t', len)) == NULL)
		return len;				/* not of this shape: matched, never repaired */
	if (d->t->ncols == 0)
	{
		*pos = (field) {row, len};
		return 0;
	}
	if ((ctid = memrchr(row, '\t', (size_t) (xmin - row))) == NULL)
		return len;
	*pos = (field) {ctid + 1, (size_t) (row + len - ctid - 1)};
	return (size_t) (ctid - row);
}

/* One side's COPY of the chunk, read while the other's is. */
typedef struct side_read
{
	PGconn	   *conn;
	sl_side		who;
	bool		done;
	uint64_t	uncharged;		/* source bytes not yet charged to --max-rate */
} side_read;

/* Hands one line of side s to fn; the source's bytes are charged to --max-rate in batches. */
static int
take_line(drill_ctx *d, side_read *r, int s, char *row, int n, int (*fn) (drill_ctx *, const char *, size_t, field),
		  const atomic_int *stop, const char *what, sl_err *err)
{
	field		pos = {NULL, 0};
	size_t		len = split_position(d, row, n > 0 && row[n - 1] == '\n' ? (size_t) n - 1 : (size_t) n, &pos);
	int			rc;

	if (s == 0 && (r->uncharged += (uint64_t) n) >= DRILL_RATE_BATCH)
	{
		(void) rate_limit_wait(r->uncharged, stop);
		r->uncharged = 0;
	}
	if (stop != NULL && atomic_load(stop))
		return err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
	d->side = s;
	if ((rc = fn(d, row, len, pos)) < 0)
		return err_set(err, SIDE_LOCAL, rc, "%s: out of memory comparing rows", what);
	return 0;
}

/* The end of side r's COPY: its command's result. */
static int
end_side(side_read *r, const atomic_int *stop, const char *what, sl_err *err)
{
	PGresult   *res;
	int			rc = 0;

	r->done = true;
	while ((res = PQgetResult(r->conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = conn_fail(r->conn, res, r->who, err, what);
		PQclear(res);
	}
	(void) rate_limit_wait(r->uncharged, stop);
	return rc;
}

/*
 * Reads both sides' COPY text of the chunk at once (each server makes its
 * rows while the other does), handing each line (without its newline, or
 * its tuple) to fn with d->side saying whose.  On an error a side may be
 * left mid-COPY: the caller drops the connections.
 */
static int
read_sides(drill_ctx *d, PGconn *const conns[2], const char *sql,
		   int (*fn) (drill_ctx *, const char *, size_t, field), const atomic_int *stop,
		   const char *what, sl_err *err)
{
	side_read	r[2] = {{conns[0], SIDE_SOURCE, false, 0}, {conns[1], SIDE_TARGET, false, 0}};
	int			rc = 0;

	for (int s = 0; s < 2; s++)
		if (!PQsendQuery(r[s].conn, sql))
			return conn_fail(r[s].conn, NULL, r[s].who, err, what);
	for (int s = 0; s < 2 && rc == 0; s++)
	{
		PGresult   *res;

		/* the COPY's first result comes at once (or its error) */
		if ((res = PQgetResult(r[s].conn)) == NULL || PQresultStatus(res) != PGRES_COPY_OUT)
		{
			rc = conn_fail(r[s].conn, res, r[s].who, err, what);
			PQclear(res);
			while ((res = PQgetResult(r[s].conn)) != NULL)
				PQclear(res);
			return rc;
		}
		PQclear(res);
	}
	while (rc == 0 && !(r[0].done && r[1].done))
	{
		bool		moved = false;

		for (int s = 0; s < 2 && rc == 0; s++)
		{
			char	   *row = NULL;
			int			n;

			if (r[s].done)
				continue;
			n = PQgetCopyData(r[s].conn, &row, 1);
			if (n > 0)
			{
				rc = take_line(d, &r[s], s, row, n, fn, stop, what, err);
				moved = true;
			}
			else if (n == -1)
			{
				rc = end_side(&r[s], stop, what, err);
				moved = true;
			}
			else if (n < 0)
				rc = conn_fail(r[s].conn, NULL, r[s].who, err, what);
			PQfreemem(row);
		}
		if (rc == 0 && !moved)
		{
			struct pollfd fds[2];
			nfds_t		nfds = 0;
			int			side_of[2];

			for (int s = 0; s < 2; s++)
				if (!r[s].done)
				{
					fds[nfds] = (struct pollfd) {PQsocket(r[s].conn), POLLIN, 0};
					side_of[nfds++] = s;
				}
			if (poll(fds, nfds, DRILL_WAIT_MS) < 0 && errno != EINTR)
				rc = err_set(err, SIDE_LOCAL, -errno, "%s: waiting for the servers failed: %s", what,
							 strerror(errno));
			for (nfds_t i = 0; i < nfds && rc == 0; i++)
				if (fds[i].revents != 0 && !PQconsumeInput(r[side_of[i]].conn))
					rc = conn_fail(r[side_of[i]].conn, NULL, r[side_of[i]].who, err, what);
			if (rc == 0 && stop != NULL && atomic_load(stop))
				rc = err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
		}
	}
	return rc;
}

/*
 * The drill-down's COPY of the chunk, as text.  A tagged column comes as
 * 's' and its text, or, when its text is longer than DRILL_LONG_BYTES, as
 * 'L', the text's bytes, ':' and its md5: equal values read alike on both
 * sides, however each stores them, and no row is ever long.  The text is
 * the type's output function's (format's %s), as COPY prints it.  With
 * positions, each row ends in the ctid and the xmin of its tuple, as two
 * fields.
 */
static void
drill_copy_sql(sbuf *out, const drill_ctx *d, const char *predicate)
{
	const cat_table *t = d->t;

	if (!d->any_tagged && !d->positions)
	{
		plan_copy_out_sql(out, t, predicate, true);
		return;
	}
	sbuf_append(out, "COPY (SELECT ");
	for (int c = 0; c < t->ncols; c++)
	{
		const char *col = t->cols[c].name;

		sbuf_append(out, c ? ", " : "");
		if (!d->tagged[c])
		{
			sbuf_append(out, col);
			continue;
		}
		/* the text made once (OFFSET 0 keeps the subquery from being folded into each use) */
		sbuf_printf(out, "CASE WHEN pg_catalog.num_nulls(%1$s) OPERATOR(pg_catalog.=) 1 THEN NULL ELSE"
					" (SELECT CASE WHEN pg_catalog.octet_length(s.v) OPERATOR(pg_catalog.<=) %2$u"
					" THEN pg_catalog.concat('%3$c', s.v)"
					" ELSE pg_catalog.concat('%4$c', pg_catalog.octet_length(s.v), ':', pg_catalog.md5(s.v)) END"
					" FROM (SELECT pg_catalog.format('%%s', %1$s) AS v OFFSET 0) AS s) END", col, DRILL_LONG_BYTES,
					DRILL_TAG_SHORT, DRILL_TAG_LONG);
	}
	if (d->positions)
		sbuf_printf(out, "%sctid, xmin", t->ncols ? ", " : "");
	sbuf_printf(out, " FROM ONLY %s", t->qname);
	if (predicate != NULL)
		sbuf_printf(out, " WHERE %s", predicate);
	sbuf_append(out, ") TO STDOUT (FORMAT text)");
}

int
drill_chunk(PGconn *source, PGconn *target, const cat_table *t, const char *predicate,
			uint64_t expected_rows, uint64_t limit, bool positions, const atomic_int *stop,
			const char *what, drill_result *out, sl_err *err)
{
	PGconn	   *conns[2] = {source, target};
	drill_ctx	d;
	sbuf		count_sql;		/* pass 1's: the rows alone */
	sbuf		sql;			/* the passes after it: with their tuples, for a repair */
	uint32_t   *differ = NULL;
	uint32_t	ndiffer = 0;
	int			rc;

	memset(out, 0, sizeof(*out));
	sbuf_init(&count_sql, SBUF_DEFAULT_CAP);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if ((rc = ctx_init(&d, t, expected_rows)) == 0)
	{
		drill_copy_sql(&count_sql, &d, predicate);
		d.positions = positions && !t->large_objects;
		drill_copy_sql(&sql, &d, predicate);
	}
	d.conns[0] = source;
	d.conns[1] = target;
	d.predicate = predicate;
	d.err = err;
	if (rc < 0 || sbuf_failed(&sql) || sbuf_failed(&count_sql) ||
		(d.buckets[0] = calloc(d.nbuckets, sizeof(bucket))) == NULL ||
		(d.buckets[1] = calloc(d.nbuckets, sizeof(bucket))) == NULL ||
		(d.in_batch = calloc(d.nbuckets, 1)) == NULL ||
		(differ = calloc(d.nbuckets, sizeof(uint32_t))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "%s: out of memory comparing rows", what);
		goto done;
	}

	/* pass 1: a digest per bucket on each side */
	d.positions = false;
	rc = read_sides(&d, conns, sbuf_str(&count_sql), count_row, stop, what, err);
	if (rc < 0)
		goto done;
	d.positions = positions && !t->large_objects;
	out->passes = 1;
	for (uint32_t b = 0; b < d.nbuckets; b++)
		if (!chunk_digest_equal(&d.buckets[0][b].digest, &d.buckets[1][b].digest))
			differ[ndiffer++] = b;

	/* then the rows of the differing buckets, a batch at a time */
	for (uint32_t i = 0; i < ndiffer && rc == 0 && !out->truncated;)
	{
		uint64_t	bytes = 0;
		uint64_t	rows = 0;
		uint64_t	want = 2 * (limit - out->rows) + 64;

		memset(d.in_batch, 0, d.nbuckets);
		while (i < ndiffer && (bytes == 0 || (bytes < DRILL_BATCH_BYTES && rows < want)))
		{
			uint32_t	b = differ[i++];

			d.in_batch[b] = 1;
			bytes += d.buckets[0][b].bytes + d.buckets[1][b].bytes;
			rows += d.buckets[0][b].digest.rows + d.buckets[1][b].digest.rows;
		}
		rc = read_sides(&d, conns, sbuf_str(&sql), collect_row, stop, what, err);
		out->passes++;
		/* a failed lookup of where a long value differs has said why */
		if (rc == 0 && (rc = match_set(&d, limit, out)) == -ENOMEM)
			rc = err_set(err, SIDE_LOCAL, rc, "%s: out of memory comparing rows", what);
		row_set_clear(&d.set);
		if (i < ndiffer && out->rows >= limit)
			out->truncated = true;
	}
	if (rc == 0 && out->ndiffs == 0 && !out->truncated)
	{
		sbuf		none;

		sbuf_init(&none, SHOW_CAP);
		sbuf_append(&none, "the rows differ in their binary form only; their text is the same on both sides");
		if ((rc = add_diff(out, DRILL_UNEXPLAINED, 0, NULL, &none, NULL, NULL)) < 0)
			rc = err_set(err, SIDE_LOCAL, rc, "%s: out of memory", what);
		sbuf_fini(&none);
	}
	if (out->ndiffs > 1)
		qsort(out->diffs, (size_t) out->ndiffs, sizeof(drill_diff), cmp_diff);

done:
	free(differ);
	ctx_fini(&d);
	sbuf_fini(&count_sql);
	sbuf_fini(&sql);
	return rc;
}

int
drill_match_lines(const cat_table *t, const char *const *lines[2], const int nlines[2],
				  uint64_t limit, bool positions, drill_result *out)
{
	drill_ctx	d;
	int			rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ctx_init(&d, t, 0)) < 0)
		goto done;
	d.positions = positions;
	for (int s = 0; s < 2 && rc == 0; s++)
	{
		d.side = s;
		for (int i = 0; i < nlines[s] && rc == 0; i++)
		{
			field		pos = {NULL, 0};
			size_t		len = split_position(&d, lines[s][i], strlen(lines[s][i]), &pos);

			rc = collect_row(&d, lines[s][i], len, pos);
		}
	}
	if (rc == 0)
		rc = match_set(&d, limit, out);
	if (rc == 0 && out->ndiffs > 1)
		qsort(out->diffs, (size_t) out->ndiffs, sizeof(drill_diff), cmp_diff);
done:
	ctx_fini(&d);
	return rc;
}

void
drill_result_fini(drill_result *res)
{
	for (int i = 0; i < res->ndiffs; i++)
	{
		free(res->diffs[i].key);
		free(res->diffs[i].detail);
		free(res->diffs[i].copy);
		free(res->diffs[i].remove);
	}
	free(res->diffs);
	memset(res, 0, sizeof(*res));
}
