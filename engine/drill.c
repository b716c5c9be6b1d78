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

#include <errno.h>
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
#define NULL_FIELD "\\N"

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

static int
row_set_add(row_set *set, int side, const char *line, size_t len, uint64_t hash, uint64_t khash)
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
			return 0;
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
	return 0;
}

static void
row_set_clear(row_set *set)
{
	for (size_t i = 0; i < set->nslots; i++)
		free(set->slots[i].line);
	free(set->slots);
	memset(set, 0, sizeof(*set));
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

/* "(a, b)=(1, x)" of the given columns (all when cols is NULL). */
static void
show_tuple(sbuf *out, const cat_table *t, const field *fields, const int *cols, int n)
{
	sbuf_append(out, "(");
	for (int i = 0; i < n; i++)
		sbuf_printf(out, "%s%s", i ? ", " : "", t->cols[cols ? cols[i] : i].name);
	sbuf_append(out, ")=(");
	for (int i = 0; i < n; i++)
	{
		sbuf_append(out, i ? ", " : "");
		show_value(out, fields[cols ? cols[i] : i]);
	}
	sbuf_append(out, ")");
}

static size_t
first_difference(field a, field b)
{
	size_t		i = 0;

	while (i < a.len && i < b.len && a.p[i] == b.p[i])
		i++;
	return i;
}

static int
add_diff(drill_result *out, drill_kind kind, uint64_t count, sbuf *key, sbuf *detail)
{
	drill_diff *grown;

	if (sbuf_failed(detail) || (key != NULL && sbuf_failed(key)))
		return -ENOMEM;
	grown = realloc(out->diffs, sizeof(drill_diff) * (size_t) (out->ndiffs + 1));
	if (grown == NULL)
		return -ENOMEM;
	out->diffs = grown;
	out->diffs[out->ndiffs++] = (drill_diff) {kind, count, key ? sbuf_take(key) : NULL, sbuf_take(detail)};
	out->rows += count;
	return 0;
}

/* A row on one side only, count times. */
static int
report_row(drill_ctx *d, const row_entry *e, drill_kind kind, uint64_t count, drill_result *out)
{
	field	   *f = d->fields;
	sbuf		key;
	sbuf		detail;
	bool		by_key = e->key_hash != 0;
	int			rc;

	sbuf_init(&key, SHOW_CAP);
	sbuf_init(&detail, SHOW_CAP);
	if (split_fields(e->line, e->len, f, d->t->ncols) == d->t->ncols)
	{
		if (by_key)
			show_tuple(&key, d->t, f, d->key_cols, d->nkeys);
		show_tuple(&detail, d->t, f, NULL, d->t->ncols);
	}
	else
		sbuf_appendn(&detail, e->line, e->len);
	rc = add_diff(out, kind, count, by_key ? &key : NULL, &detail);
	sbuf_fini(&key);
	sbuf_fini(&detail);
	return rc;
}

/* One key, other values: names each column that differs, with both values. */
static int
report_change(drill_ctx *d, const row_entry *s, const row_entry *t, drill_result *out)
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
	show_tuple(&key, d->t, fs, d->key_cols, d->nkeys);
	for (int c = 0, n = 0; c < ncols; c++)
	{
		if (fs[c].len == ft[c].len && memcmp(fs[c].p, ft[c].p, fs[c].len) == 0)
			continue;
		sbuf_printf(&detail, "%scolumn %s: ", n++ ? "; " : "", d->t->cols[c].name);
		if (fs[c].len > DRILL_SHOW_BYTES || ft[c].len > DRILL_SHOW_BYTES)
			sbuf_printf(&detail, "%zu bytes of text on the source, %zu on the target, first different "
						"at byte %zu", fs[c].len, ft[c].len, first_difference(fs[c], ft[c]));
		else
		{
			show_value(&detail, fs[c]);
			sbuf_append(&detail, " on the source, ");
			show_value(&detail, ft[c]);
			sbuf_append(&detail, " on the target");
		}
	}
	rc = add_diff(out, DRILL_CHANGED, 1, &key, &detail);
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
	free(d->buckets[0]);
	free(d->buckets[1]);
	free(d->in_batch);
	XXH3_freeState(d->state);
}

static int
count_row(drill_ctx *d, const char *line, size_t len)
{
	uint64_t	h,
				kh;
	bucket	   *b = &d->buckets[d->side][bucket_of(d, line, len, &h, &kh)];
	XXH128_hash_t full = XXH3_128bits(line, len);

	chunk_digest_add(&b->digest, full.low64, full.high64);
	b->bytes += len;
	return 0;
}

static int
collect_row(drill_ctx *d, const char *line, size_t len)
{
	uint64_t	h,
				kh;
	uint32_t	b = bucket_of(d, line, len, &h, &kh);

	if (!d->in_batch[b])
		return 0;
	return row_set_add(&d->set, d->side, line, len, h, kh);
}

/* Reads one side's COPY text of the chunk, handing each line (without its newline) to fn. */
static int
read_side(drill_ctx *d, PGconn *conn, int side, const char *sql,
		  int (*fn) (drill_ctx *, const char *, size_t), const atomic_int *stop,
		  const char *what, sl_err *err)
{
	sl_side		who = side ? SIDE_TARGET : SIDE_SOURCE;
	PGresult   *res = PQexec(conn, sql);
	uint64_t	uncharged = 0;	/* source bytes not yet charged to --max-rate */
	int			rc = 0;

	d->side = side;
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		rc = conn_fail(conn, res, who, err, what);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	for (;;)
	{
		char	   *row = NULL;
		int			n = PQgetCopyData(conn, &row, 0);

		if (n == -1)
			break;
		if (n < 0)
			return conn_fail(conn, NULL, who, err, what);
		/* the source's bytes count for --max-rate, charged in batches, not per row */
		if (side == 0 && (uncharged += (uint64_t) n) >= DRILL_RATE_BATCH)
		{
			(void) rate_limit_wait(uncharged, stop);
			uncharged = 0;
		}
		if (stop != NULL && atomic_load(stop))
			rc = err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
		else if ((rc = fn(d, row, n > 0 && row[n - 1] == '\n' ? (size_t) n - 1 : (size_t) n)) < 0)
			rc = err_set(err, SIDE_LOCAL, rc, "%s: out of memory comparing rows", what);
		PQfreemem(row);
		if (rc < 0)
			return rc;			/* the connection is mid-COPY: the caller drops it */
	}
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = conn_fail(conn, res, who, err, what);
		PQclear(res);
	}
	(void) rate_limit_wait(uncharged, stop);
	return rc;
}

int
drill_chunk(PGconn *source, PGconn *target, const cat_table *t, const char *predicate,
			uint64_t expected_rows, uint64_t limit, const atomic_int *stop,
			const char *what, drill_result *out, sl_err *err)
{
	PGconn	   *conns[2] = {source, target};
	drill_ctx	d;
	sbuf		sql;
	uint32_t   *differ = NULL;
	uint32_t	ndiffer = 0;
	int			rc;

	memset(out, 0, sizeof(*out));
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	plan_copy_out_sql(&sql, t, predicate, true);
	if ((rc = ctx_init(&d, t, expected_rows)) < 0 || sbuf_failed(&sql) ||
		(d.buckets[0] = calloc(d.nbuckets, sizeof(bucket))) == NULL ||
		(d.buckets[1] = calloc(d.nbuckets, sizeof(bucket))) == NULL ||
		(d.in_batch = calloc(d.nbuckets, 1)) == NULL ||
		(differ = calloc(d.nbuckets, sizeof(uint32_t))) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "%s: out of memory comparing rows", what);
		goto done;
	}

	/* pass 1: a digest per bucket on each side */
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = read_side(&d, conns[s], s, sbuf_str(&sql), count_row, stop, what, err);
	if (rc < 0)
		goto done;
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
		for (int s = 0; s < 2 && rc == 0; s++)
			rc = read_side(&d, conns[s], s, sbuf_str(&sql), collect_row, stop, what, err);
		out->passes++;
		if (rc == 0 && (rc = match_set(&d, limit, out)) < 0)
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
		if ((rc = add_diff(out, DRILL_UNEXPLAINED, 0, NULL, &none)) < 0)
			rc = err_set(err, SIDE_LOCAL, rc, "%s: out of memory", what);
		sbuf_fini(&none);
	}
	if (out->ndiffs > 1)
		qsort(out->diffs, (size_t) out->ndiffs, sizeof(drill_diff), cmp_diff);

done:
	free(differ);
	ctx_fini(&d);
	sbuf_fini(&sql);
	return rc;
}

int
drill_match_lines(const cat_table *t, const char *const *lines[2], const int nlines[2],
				  uint64_t limit, drill_result *out)
{
	drill_ctx	d;
	int			rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ctx_init(&d, t, 0)) < 0)
		goto done;
	for (int s = 0; s < 2 && rc == 0; s++)
	{
		d.side = s;
		for (int i = 0; i < nlines[s] && rc == 0; i++)
		{
			uint64_t	h,
						kh;
			size_t		len = strlen(lines[s][i]);

			bucket_of(&d, lines[s][i], len, &h, &kh);
			rc = row_set_add(&d.set, s, lines[s][i], len, h, kh);
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
	}
	free(res->diffs);
	memset(res, 0, sizeof(*res));
}
