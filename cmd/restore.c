/*
 * restore.c: pgsluice restore, a dump directory into a target.  See dump.h.
 *
 * The manifest is read and checked first, then every chunk file it names
 * is read whole (header, dump id, each frame's checksum, the trailer, the
 * byte count) by --jobs threads: a missing, truncated or altered file, or
 * one of another dump, stops the restore before it writes anything.  Then,
 * as a clone does, it records the run in the target (engine/state.h),
 * restores the pre-data, and loads each chunk in one target transaction:
 * lock the chunk's record, COPY the file's rows in, hashing them on the
 * way, and commit with the record marked done only when the rows hash to
 * the manifest's digest.  Sequences, post-data and materialized views
 * follow.  --resume goes on with a restore that stopped.
 *
 * Thread safety: chunks run on engine/sched.c's workers, each with its own
 * target connection, decoder and buffers; the manifest, the plan and the
 * catalog are read-only while they run.
 */
#include "cmd/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "codec/json.h"
#include "codec/spill.h"
#include "engine/chunkfile.h"
#include "engine/chunkjob.h"
#include "cmd/clone.h"
#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"
#include "engine/rate.h"
#include "engine/sched.h"
#include "engine/schema.h"
#include "engine/state.h"
#include "engine/stop.h"

#define MANIFEST_MAX ((size_t) 1 << 30)

/* What the manifest says of a table and a chunk. */
typedef struct man_table
{
	char	   *name;			/* quoted qname */
	bool		text;
	int			ncols;
	char	  **cols;			/* quoted names */
	char	  **types;
} man_table;

typedef struct man_chunk
{
	char	   *file;
	int			table;			/* index into manifest tables */
	int			seq;
	char	   *where;
	bool		freeze;
	int64_t		est_bytes;
	chunkfile_info info;		/* rows, bytes, compressed bytes, digest */
} man_chunk;

typedef struct manifest
{
	json_doc   *doc;
	uint8_t		dump_id[SPILL_DUMP_ID_SIZE];
	char		dump_hex[33];
	int			ntables;
	man_table  *tables;
	int			nchunks;
	man_chunk  *chunks;
	int			nsequences;
	char	  **sequence_names; /* into the document */
	cat_sequence_value *sequence_values;	/* last_value into the document */
	int			nmatviews;
	char	  **matviews;		/* into the document */
	bool		has_roles;		/* the dump recorded them (dumps before it did not) */
	int			nroles;
	check_role *roles;			/* names into the document */
} manifest;

typedef struct restore_ctx
{
	const restore_options *opt;
	restore_report *r;
	manifest   *m;
	chunkfile_dir dir;			/* the dump directory, and the dump's id */
	const catalog *cat;			/* the target's, after pre-data */
	const plan *plan;			/* the manifest's chunks over cat */
	int		   *chunk_of;		/* plan chunk -> manifest chunk */
	int64_t		run_id;
	const char *encoding;
	chunkjob_spec jobs;			/* the workers' jobs: the target and the run's record */
	bool		checking;		/* the pre-check pass: read files, touch no server */
	atomic_int	retries;
} restore_ctx;

typedef struct restore_worker
{
	int			id;
	PGconn	   *target;			/* the job's session */
	chunkjob	job;
	chunkfile_loader *loader;
	const atomic_int *stop;
	restore_ctx *ctx;
	int			idx;			/* the chunk it loads */
} restore_worker;

/* ---- the manifest ---- */

static const char *
get_str(const json_value *obj, const char *key)
{
	size_t		len;
	const char *s = json_string(json_get(obj, key), &len);

	return s != NULL && strlen(s) == len ? s : NULL;
}

static int
bad_manifest(sl_err *err, const char *path, const char *what)
{
	return err_set(err, SIDE_USAGE, -EPROTO, "\"%s\" is not a valid pgsluice dump manifest: %s", path, what);
}

static void
manifest_free(manifest *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->ntables; i++)
	{
		free(m->tables[i].cols);
		free(m->tables[i].types);
	}
	free(m->tables);
	free(m->chunks);
	free(m->sequence_names);
	free(m->sequence_values);
	free(m->matviews);
	free(m->roles);
	json_doc_destroy(m->doc);
	free(m);
}

static int
hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The tables and chunks of the manifest, checked for what the restore relies on. */
static int
manifest_read_tables(manifest *m, const json_value *root, const char *path, sl_err *err)
{
	const json_value *tables = json_get(root, "tables");
	const json_value *chunks = json_get(root, "chunks");

	if (json_kind(tables) != JSON_ARRAY || json_kind(chunks) != JSON_ARRAY)
		return bad_manifest(err, path, "it lacks the \"tables\" or \"chunks\" array");
	m->ntables = (int) json_len(tables);
	m->nchunks = (int) json_len(chunks);
	m->tables = calloc((size_t) m->ntables + 1, sizeof(man_table));
	m->chunks = calloc((size_t) m->nchunks + 1, sizeof(man_chunk));
	if (m->tables == NULL || m->chunks == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the manifest");
	for (int i = 0; i < m->ntables; i++)
	{
		const json_value *t = json_at(tables, (size_t) i);
		const json_value *cols = json_get(t, "columns");
		man_table  *mt = &m->tables[i];
		const char *format = get_str(t, "format");

		mt->name = (char *) get_str(t, "name");
		if (mt->name == NULL || format == NULL || json_kind(cols) != JSON_ARRAY)
			return bad_manifest(err, path, "a table lacks its name, format or columns");
		mt->text = strcmp(format, "text") == 0;
		mt->ncols = (int) json_len(cols);
		mt->cols = calloc((size_t) mt->ncols + 1, sizeof(char *));
		mt->types = calloc((size_t) mt->ncols + 1, sizeof(char *));
		if (mt->cols == NULL || mt->types == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the manifest");
		for (int c = 0; c < mt->ncols; c++)
		{
			mt->cols[c] = (char *) get_str(json_at(cols, (size_t) c), "name");
			mt->types[c] = (char *) get_str(json_at(cols, (size_t) c), "type");
			if (mt->cols[c] == NULL || mt->types[c] == NULL)
				return bad_manifest(err, path, "a column lacks its name or type");
		}
	}
	for (int i = 0; i < m->nchunks; i++)
	{
		const json_value *c = json_at(chunks, (size_t) i);
		man_chunk  *mc = &m->chunks[i];
		const char *table = get_str(c, "table");
		const char *digest = get_str(c, "digest");
		int64_t		seq = 0;
		bool		freeze = false;

		mc->file = (char *) get_str(c, "file");
		mc->where = (char *) get_str(c, "where");
		mc->table = -1;
		for (int t = 0; table != NULL && t < m->ntables && mc->table < 0; t++)
			if (strcmp(m->tables[t].name, table) == 0)
				mc->table = t;
		if (mc->file == NULL || strchr(mc->file, '/') != NULL || mc->table < 0 || digest == NULL ||
			json_int64(json_get(c, "seq"), &seq) < 0 || json_bool(json_get(c, "freeze"), &freeze) < 0 ||
			json_int64(json_get(c, "est_bytes"), &mc->est_bytes) < 0 ||
			json_uint64(json_get(c, "rows"), &mc->info.rows) < 0 ||
			json_uint64(json_get(c, "bytes"), &mc->info.bytes) < 0 ||
			json_uint64(json_get(c, "compressed_bytes"), &mc->info.compressed) < 0 ||
			(mc->where == NULL && !json_is_null(json_get(c, "where"))) ||
			chunk_digest_parse_hex(digest, mc->info.rows, &mc->info.digest) < 0)
			return bad_manifest(err, path, "a chunk lacks its file, table, range, counts or digest");
		mc->seq = (int) seq;
		mc->freeze = freeze;
	}
	return 0;
}

/* The sequences with their values, and the materialized views to refresh. */
static int
manifest_read_objects(manifest *m, const json_value *root, const char *path, sl_err *err)
{
	const json_value *sequences = json_get(root, "sequences");
	const json_value *matviews = json_get(root, "matviews");
	const json_value *roles = json_get(root, "roles");

	if (json_kind(sequences) != JSON_ARRAY || json_kind(matviews) != JSON_ARRAY)
		return bad_manifest(err, path, "it lacks the \"sequences\" or \"matviews\" array");
	m->nsequences = (int) json_len(sequences);
	m->nmatviews = (int) json_len(matviews);
	m->sequence_names = calloc((size_t) m->nsequences + 1, sizeof(char *));
	m->sequence_values = calloc((size_t) m->nsequences + 1, sizeof(cat_sequence_value));
	m->matviews = calloc((size_t) m->nmatviews + 1, sizeof(char *));
	if (m->sequence_names == NULL || m->sequence_values == NULL || m->matviews == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the manifest");
	for (int i = 0; i < m->nsequences; i++)
	{
		const json_value *s = json_at(sequences, (size_t) i);

		m->sequence_names[i] = (char *) get_str(s, "name");
		m->sequence_values[i].last_value = (char *) get_str(s, "last_value");
		if (m->sequence_names[i] == NULL || m->sequence_values[i].last_value == NULL ||
			json_bool(json_get(s, "is_called"), &m->sequence_values[i].is_called) < 0)
			return bad_manifest(err, path, "a sequence lacks its name, value or is_called");
	}
	for (int i = 0; i < m->nmatviews; i++)
	{
		size_t		len;
		const char *name = json_string(json_at(matviews, (size_t) i), &len);

		if (name == NULL || strlen(name) != len)
			return bad_manifest(err, path, "a materialized view's name is not a string");
		m->matviews[i] = (char *) name;
	}
	/* the roles the dump's objects need: the restore checks that its target has them */
	if ((m->has_roles = json_kind(roles) == JSON_ARRAY))
	{
		m->nroles = (int) json_len(roles);
		if ((m->roles = calloc((size_t) m->nroles + 1, sizeof(check_role))) == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading the manifest");
		for (int i = 0; i < m->nroles; i++)
		{
			const json_value *role = json_at(roles, (size_t) i);

			m->roles[i].name = (char *) get_str(role, "name");
			if (m->roles[i].name == NULL || json_bool(json_get(role, "owns"), &m->roles[i].owns) < 0 ||
				json_bool(json_get(role, "granted"), &m->roles[i].granted) < 0 ||
				json_bool(json_get(role, "in_policies"), &m->roles[i].in_policies) < 0)
				return bad_manifest(err, path, "a role lacks its name, owns, granted or in_policies");
		}
	}
	return 0;
}

static int
manifest_load(int dir_fd, const char *dir, manifest **out, sl_err *err)
{
	manifest   *m = calloc(1, sizeof(*m));
	char		path[PATH_MAX];
	const json_value *root;
	const char *format;
	const char *id;
	int64_t		version = 0;
	int			rc = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, DUMP_MANIFEST);
	if (m == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	if ((rc = dump_read_json(dir_fd, dir, DUMP_MANIFEST, MANIFEST_MAX, &m->doc, err)) < 0)
	{
		if (rc == -ENOENT)
			rc = err_set(err, SIDE_USAGE, -ENOENT, "directory \"%s\" is not a pgsluice dump: it has no %s "
						 "(a dump writes it last, so the dump may not have finished)", dir, DUMP_MANIFEST);
		goto done;
	}
	root = json_root(m->doc);
	format = get_str(root, "format");
	id = get_str(root, "dump_id");
	if (format == NULL || strcmp(format, "pgsluice dump") != 0)
	{
		rc = bad_manifest(err, path, "its \"format\" is not \"pgsluice dump\"");
		goto done;
	}
	if (json_int64(json_get(root, "version"), &version) < 0 || version != 1)
	{
		rc = bad_manifest(err, path, "its version is not 1 (a newer pgsluice wrote it?)");
		goto done;
	}
	if (id == NULL || strlen(id) != 2 * SPILL_DUMP_ID_SIZE)
	{
		rc = bad_manifest(err, path, "its \"dump_id\" is not 32 hex digits");
		goto done;
	}
	for (int i = 0; i < SPILL_DUMP_ID_SIZE; i++)
	{
		int			hi = hex_value(id[2 * i]);
		int			lo = hex_value(id[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			rc = bad_manifest(err, path, "its \"dump_id\" is not 32 hex digits");
			goto done;
		}
		m->dump_id[i] = (uint8_t) (hi << 4 | lo);
	}
	snprintf(m->dump_hex, sizeof(m->dump_hex), "%s", id);
	if ((rc = manifest_read_tables(m, root, path, err)) == 0)
		rc = manifest_read_objects(m, root, path, err);
done:
	if (rc < 0)
		manifest_free(m);
	else
		*out = m;
	return rc;
}

/* ---- workers ---- */

static int
restore_worker_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	restore_ctx *ctx = arg;
	restore_worker *w = calloc(1, sizeof(*w));
	char		host[64] = "";
	char		name[160];
	int			rc;

	*state_out = w;
	if (w == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting worker %d", id);
	w->id = id;
	w->stop = stop;
	w->ctx = ctx;
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "%s/%d/%d", host, (int) getpid(), id);
	if ((rc = chunkfile_loader_create(&w->loader, err)) < 0)
		return rc;
	chunkfile_loader_charge_rate(w->loader, true);	/* the bytes written to the target */
	return chunkjob_init(&w->job, &ctx->jobs, NULL, &w->target, name, err);
}

static void
restore_worker_close(void *arg, void *state_arg)
{
	restore_worker *w = state_arg;

	(void) arg;
	if (w == NULL)
		return;
	chunkjob_fini(&w->job);
	conn_close(&w->target);
	chunkfile_loader_destroy(w->loader);
	free(w);
}

/* The chunk's work in its transaction: load its file. */
static int
load_work(void *arg, chunkjob *job, chunkjob_done *done, sl_err *err)
{
	restore_worker *w = arg;
	restore_ctx *ctx = w->ctx;
	const plan_chunk *pc = &ctx->plan->chunks[w->idx];
	const man_chunk *mc = &ctx->m->chunks[ctx->chunk_of[w->idx]];
	int			rc;

	(void) job;
	if ((rc = chunkfile_load(w->loader, &ctx->dir, mc->file, &mc->info, w->target, &ctx->cat->tables[pc->table],
							 pc->freeze, w->stop, err)) < 0)
		return rc;
	done->rows = mc->info.rows;
	done->bytes = mc->info.bytes;
	done->digest = mc->info.digest;
	return 0;
}

/*
 * One attempt at loading the worker's chunk, in one target transaction with
 * its record; w->job.claimed is false when it was loaded before.
 */
static int
load_attempt(void *arg, sl_err *err)
{
	restore_worker *w = arg;
	restore_ctx *ctx = w->ctx;
	const plan_chunk *pc = &ctx->plan->chunks[w->idx];
	const man_chunk *mc = &ctx->m->chunks[ctx->chunk_of[w->idx]];
	restore_chunk *out = &ctx->r->chunks[w->idx];
	int			rc;

	if ((rc = chunkjob_attempt(&w->job, w->idx, pc, &ctx->cat->tables[pc->table], load_work, w, err)) < 0 ||
		!w->job.claimed)
		return rc;
	out->done = true;
	out->rows = mc->info.rows;
	out->bytes = mc->info.bytes;
	return 0;
}

static int64_t
restore_worker_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	restore_ctx *ctx = arg;
	restore_worker *w = state_arg;
	const man_chunk *mc = &ctx->m->chunks[ctx->chunk_of[idx]];
	char		what[PATH_MAX];
	sched_retry retry = {load_attempt, NULL, w, what, "on a new connection", ctx->opt->retries, w->stop,
						 &ctx->retries};
	int			rc;

	if (ctx->checking)
	{
		rc = chunkfile_check(w->loader, &ctx->dir, mc->file, &mc->info, ctx->m->tables[mc->table].name,
							 w->stop, err);
		return rc < 0 ? rc : (int64_t) mc->info.compressed;
	}
	snprintf(what, sizeof(what), "chunk file \"%s/%s\"", ctx->opt->dir, mc->file);
	w->idx = idx;
	if ((rc = sched_retry_run(&retry, err)) < 0)
		return rc;
	*rows = w->job.claimed ? mc->info.rows : 0;
	return w->job.claimed ? (int64_t) mc->info.bytes : 0;
}

static const sched_ops restore_ops = {restore_worker_open, restore_worker_run, restore_worker_close};

/* ---- the steps ---- */

/* The target's tables, matched by name with the manifest's; their copy columns must agree. */
static int
match_tables(restore_ctx *ctx, plan **out, sl_err *err)
{
	const manifest *m = ctx->m;
	plan	   *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || (p->chunks = calloc((size_t) m->nchunks + 1, sizeof(plan_chunk))) == NULL ||
		(p->tables = calloc((size_t) ctx->cat->ntables + 1, sizeof(plan_table))) == NULL ||
		(ctx->chunk_of = calloc((size_t) m->nchunks + 1, sizeof(int))) == NULL)
	{
		plan_destroy(p);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	p->ntables = ctx->cat->ntables;
	for (int i = 0; i < m->nchunks; i++)
	{
		const man_chunk *mc = &m->chunks[i];
		const man_table *mt = &m->tables[mc->table];
		const cat_table *t = catalog_find(ctx->cat, mt->name);
		int			ti;

		if (t == NULL)
		{
			plan_destroy(p);
			return err_set(err, SIDE_TARGET, -ENOENT, "table %s of the dump is not on the target after "
						   "its schema was restored", mt->name);
		}
		for (int c = 0; c < mt->ncols || c < t->ncols; c++)
			if (c >= mt->ncols || c >= t->ncols || strcmp(mt->cols[c], t->cols[c].name) != 0 ||
				strcmp(mt->types[c], t->cols[c].type) != 0)
			{
				plan_destroy(p);
				return err_set(err, SIDE_TARGET, -EINVAL, "table %s on the target does not have the "
							   "dump's columns (column %d: %s %s in the dump, %s %s on the target)",
							   mt->name, c + 1, c < mt->ncols ? mt->cols[c] : "none",
							   c < mt->ncols ? mt->types[c] : "", c < t->ncols ? t->cols[c].name : "none",
							   c < t->ncols ? t->cols[c].type : "");
			}
		ti = (int) (t - ctx->cat->tables);
		p->chunks[i] = (plan_chunk) {ti, mc->seq, mc->where ? strdup(mc->where) : NULL, mc->est_bytes, mc->freeze};
		if (p->tables[ti].nchunks == 0)
			p->tables[ti] = (plan_table) {i, 0, mc->where ? PLAN_KEY : PLAN_WHOLE};
		p->tables[ti].nchunks++;
		p->nchunks++;
		ctx->chunk_of[i] = i;
	}
	*out = p;
	return 0;
}

/* A plan whose chunks are the manifest's, for the scheduler of the pre-check. */
static int
check_plan(const manifest *m, plan **out)
{
	plan	   *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || (p->chunks = calloc((size_t) m->nchunks + 1, sizeof(plan_chunk))) == NULL ||
		(p->tables = calloc((size_t) m->ntables + 1, sizeof(plan_table))) == NULL)
	{
		plan_destroy(p);
		return -ENOMEM;
	}
	p->ntables = m->ntables;
	p->nchunks = m->nchunks;
	for (int i = 0; i < m->nchunks; i++)
		p->chunks[i] = (plan_chunk) {m->chunks[i].table, m->chunks[i].seq, NULL,
		(int64_t) m->chunks[i].info.compressed, false};
	*out = p;
	return 0;
}

/* None of the dump's tables may be on the target yet (a new restore restores the schema). */
static int
check_target_free(PGconn *target, const manifest *m, sl_err *err)
{
	sbuf		sql;
	PGresult   *res;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT t FROM pg_catalog.unnest(ARRAY[''");
	for (int i = 0; i < m->ntables; i++)
	{
		char	   *lit = PQescapeLiteral(target, m->tables[i].name, strlen(m->tables[i].name));

		sbuf_printf(&sql, ", %s", lit ? lit : "''");
		PQfreemem(lit);
	}
	/* the large objects' catalog is on every target: in the way are the objects in it */
	sbuf_append(&sql, "]) AS t WHERE t <> '' AND CASE WHEN t = '" LOBJ_TABLE "'"
				" THEN EXISTS (SELECT FROM " LOBJ_TABLE ") ELSE pg_catalog.to_regclass(t) IS NOT NULL END LIMIT 5");
	rc = sbuf_failed(&sql) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory")
		: conn_query(target, SIDE_TARGET, sbuf_str(&sql), &res, err);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	if (PQntuples(res) > 0)
		rc = err_set(err, SIDE_TARGET, -EEXIST, "the target database already has tables of the dump "
					 "(%s%s): restore into an empty database", PQgetvalue(res, 0, 0),
					 PQntuples(res) > 1 ? ", ..." : "");
	PQclear(res);
	return rc;
}

int
restore_target_free(const char *dir, PGconn *target, sl_err *err)
{
	manifest   *m = NULL;
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int			rc;

	if (fd < 0)
		return err_set(err, SIDE_USAGE, -errno, "could not open dump directory \"%s\": %s", dir, strerror(errno));
	if ((rc = manifest_load(fd, dir, &m, err)) == 0)
		rc = check_target_free(target, m, err);
	manifest_free(m);
	close(fd);
	return rc;
}

int
restore_run(const restore_options *opt, restore_report **report_out, sl_err *err)
{
	restore_report *r = calloc(1, sizeof(*r));
	restore_ctx ctx;
	PGconn	   *control = NULL;
	manifest   *m = NULL;
	catalog    *cat = NULL;
	plan	   *p = NULL;
	state		st = {0};
	state_run	run = {0};
	state_chunk *chunks = NULL;
	schema_tools tools;
	schema_options sopt = {opt->common.no_owner, opt->common.no_privileges, stop_flag(), NULL, false, NULL,
		opt->common.no_tablespaces};
	char		workdir[PATH_MAX] = "";
	char		schema_path[PATH_MAX];
	char		fingerprint[64];
	char		appname[64];
	double		t_start = clock_seconds();
	double		t;
	bool		refused = false;
	int			rc;

	*report_out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.dir.fd = -1;
	ctx.dir.path = opt->dir;
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	ctx.opt = opt;
	ctx.r = r;

	/* 1. the manifest and every chunk file, before the target is touched */
	ctx.dir.fd = open(opt->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx.dir.fd < 0)
	{
		rc = err_set(err, SIDE_USAGE, -errno, "could not open dump directory \"%s\": %s", opt->dir,
					 strerror(errno));
		goto done;
	}
	if ((rc = manifest_load(ctx.dir.fd, opt->dir, &m, err)) < 0)
		goto done;
	ctx.m = m;
	memcpy(ctx.dir.id, m->dump_id, SPILL_DUMP_ID_SIZE);
	snprintf(r->dump_id, sizeof(r->dump_id), "%s", m->dump_hex);
	snprintf(schema_path, sizeof(schema_path), "%s/%s", opt->dir, DUMP_SCHEMA);
	if (access(schema_path, R_OK) < 0)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "dump directory \"%s\" lacks its schema file %s",
					 opt->dir, DUMP_SCHEMA);
		goto done;
	}
	t = clock_seconds();
	if (check_plan(m, &p) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	ctx.chunk_of = calloc((size_t) m->nchunks + 1, sizeof(int));
	if (ctx.chunk_of == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < m->nchunks; i++)
		ctx.chunk_of[i] = i;
	ctx.plan = p;
	ctx.checking = true;
	log_info("restore: dump %s, %d tables in %d chunks: checking every chunk file", m->dump_hex,
			 m->ntables, m->nchunks);
	{
		sched_options sopt2 = {opt->common.jobs, "check", NULL, NULL, NULL, NULL};
		int			checked = 0;

		if ((rc = sched_run(&restore_ops, &ctx, p, &sopt2, &checked, err)) < 0)
			goto done;
	}
	ctx.checking = false;
	r->seconds_check = clock_seconds() - t;
	plan_destroy(p);
	p = NULL;
	free(ctx.chunk_of);
	ctx.chunk_of = NULL;

	/* 2. the target: what pgsluice check finds there (the source's part is the dump's), the run's record */
	if ((rc = conn_open(&control, opt->common.target, SIDE_TARGET, NULL, err)) < 0 ||
		(rc = state_init(&st, control, opt->state_schema, err)) < 0)
		goto done;
	{
		check_options copt = {0};

		copt.common = opt->common;
		copt.common.source = NULL;	/* the dump stands for it */
		copt.common.filter = NULL;
		copt.common.jobs = opt->common.jobs > 0 ? opt->common.jobs : 1;
		copt.state_schema = opt->state_schema;
		copt.recorded = opt->resume != NULL;
		copt.roles = m->has_roles ? m->roles : NULL;
		copt.nroles = m->nroles;
		copt.held_target = 1;	/* the control session */
		rc = check_before_run("the restore", &copt, opt->on_check, opt->on_check_arg, err);
		refused = rc == -ECANCELED;
		if (rc < 0)
			goto done;
	}
	ctx.encoding = PQparameterStatus(control, "server_encoding");
	snprintf(fingerprint, sizeof(fingerprint), "dump %s", m->dump_hex);
	if ((rc = schema_find_tools(opt->common.pg_bindir, conn_major_version(control), &tools, err)) < 0 ||
		(rc = schema_workdir_create(workdir, sizeof(workdir), err)) < 0)
		goto done;
	sopt.workdir = workdir;
	if (opt->resume != NULL)
	{
		if ((rc = state_attach(&st, err)) == 0)
			rc = err_set(err, SIDE_USAGE, -ENOENT, "the target has no run records in schema %s: a run "
						 "that finished removed its record (unless it ran with --keep-record), and there "
						 "is nothing to resume; or give the --state-schema it used", st.schema);
		if (rc < 0 || (rc = state_run_load(&st, opt->resume, &run, err)) < 0)
			goto done;
		if (strcmp(run.fingerprint, fingerprint) != 0)
		{
			rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld restored another dump (%s), not %s: refusing "
						 "to resume it from here", (long long) run.id, run.fingerprint, fingerprint);
			goto done;
		}
		if (strcmp(run.step, STATE_STEP_DONE) == 0)
		{
			log_info("run %lld is complete: there is nothing to resume", (long long) run.id);
			r->run_id = run.id;
			goto done;
		}
		if ((rc = state_run_set(&st, run.id, "running", NULL, NULL, err)) < 0)
			goto done;
		sopt.clean = strcmp(run.step, STATE_STEP_POST) == 0;
	}
	else
	{
		if ((rc = check_target_free(control, m, err)) < 0)
			goto done;
		snprintf(run.fingerprint, sizeof(run.fingerprint), "%s", fingerprint);
		snprintf(run.source, sizeof(run.source), "%s", opt->dir);
		if ((rc = state_run_create(&st, &run, "{\"restore\": true}", err)) < 0)
			goto done;
	}
	r->run_id = ctx.run_id = run.id;
	ctx.jobs.target = opt->common.target;
	ctx.jobs.encoding = ctx.encoding;
	ctx.jobs.state_schema = opt->state_schema;
	ctx.jobs.run_id = run.id;
	log_info("run %lld: recorded in schema %s of the target", (long long) run.id, st.schema);
	/* --max-rate goes on record, for every process; a resumed run starts unpaused */
	if ((rc = state_run_throttle(&st, run.id, opt->common.max_rate, 0, err)) < 0)
		goto done;
	snprintf(appname, sizeof(appname), "pgsluice run %lld", (long long) run.id);
	sopt.application_name = appname;

	/* 3. pre-data (one transaction: on resume, either none of the tables is there or all are), then the chunks */
	t = clock_seconds();
	if (strcmp(run.step, STATE_STEP_START) == 0)
	{
		sl_err		exists;

		err_clear(&exists);
		if (opt->resume == NULL || check_target_free(control, m, &exists) == 0)
			rc = schema_restore(&tools, &sopt, opt->common.target, schema_path, "pre-data", 1, err);
		/* the large objects' metadata, before the catalog that lists them (idempotent, as on resume) */
		if (rc == 0)
		{
			lobj_metadata_options lopt = {sopt.no_owner, sopt.no_privileges};
			char		lobj_path[PATH_MAX];
			long long	count;

			snprintf(lobj_path, sizeof(lobj_path), "%s/%s", opt->dir, LOBJ_METADATA_FILE);
			if ((rc = lobj_metadata_replay(control, lobj_path, &lopt, &count, err)) == 0 && count > 0)
				log_info("schema: %lld large objects created", count);
		}
		if (rc < 0)
			goto done;
	}
	r->seconds_schema = clock_seconds() - t;
	if ((rc = catalog_load(control, SIDE_TARGET, conn_major_version(control), NULL, &cat, err)) < 0)
		goto done;
	ctx.cat = cat;
	if ((rc = match_tables(&ctx, &p, err)) < 0)
		goto done;
	ctx.plan = p;
	r->chunks = calloc((size_t) p->nchunks + 1, sizeof(restore_chunk));
	if (r->chunks == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if (strcmp(run.step, STATE_STEP_START) == 0 && (rc = state_chunks_record(&st, run.id, cat, p, err)) < 0)
		goto done;
	if (strcmp(run.step, STATE_STEP_POST) != 0)
	{
		plan	   *recorded = NULL;
		uint8_t    *skip = calloc((size_t) p->nchunks + 1, 1);

		if (skip == NULL || (rc = state_chunks_load(&st, run.id, cat, &recorded, &chunks, err)) < 0 ||
			recorded->nchunks != p->nchunks)
		{
			free(skip);
			plan_destroy(recorded);
			rc = rc < 0 ? rc : err_set(err, SIDE_TARGET, -EPROTO, "run %lld's chunk records do not match the "
									   "dump's chunks", (long long) run.id);
			goto done;
		}
		plan_destroy(recorded);
		for (int i = 0; i < p->nchunks; i++)
		{
			skip[i] = chunks[i].done;
			r->chunks_before += chunks[i].done;
		}
		log_info("data: %d chunks (%d done before), %d workers", p->nchunks, r->chunks_before,
				 opt->common.jobs > 0 ? opt->common.jobs : 1);
		t = clock_seconds();
		{
			sched_options sopt2 = {opt->common.jobs, "restore", cat, skip, NULL, NULL};
			char		host[64] = "";
			char		process[128];

			gethostname(host, sizeof(host) - 1);
			snprintf(process, sizeof(process), "%s/%d", host, (int) getpid());
			if ((rc = rate_watch_start(opt->common.target, opt->state_schema, run.id, process, err)) == 0)
				rc = sched_run(&restore_ops, &ctx, p, &sopt2, &r->chunks_done, err);
			rate_watch_stop();
		}
		free(skip);
		r->seconds_data = clock_seconds() - t;
		r->retries = atomic_load(&ctx.retries);
		if (rc < 0)
			goto done;
		conn_close(&control);	/* a new one: the target may have restarted meanwhile */
		if ((rc = conn_open(&control, opt->common.target, SIDE_TARGET, NULL, err)) < 0)
			goto done;
		st.conn = control;
		if ((rc = state_run_set(&st, run.id, NULL, STATE_STEP_POST, NULL, err)) < 0)
			goto done;
	}
	for (int i = 0; i < m->nchunks; i++)
	{
		r->rows += m->chunks[i].info.rows;
		r->bytes += m->chunks[i].info.bytes;
		r->compressed += m->chunks[i].info.compressed;
	}

	/* 4. sequences, post-data, materialized views */
	t = clock_seconds();
	if ((rc = catalog_write_sequences(control, m->nsequences, m->sequence_names, m->sequence_values, err)) < 0)
		goto done;
	r->sequences_set = m->nsequences;
	if (sopt.clean && (rc = schema_end_sessions(control, appname, err)) < 0)
		goto done;
	if ((rc = schema_restore(&tools, &sopt, opt->common.target, schema_path, "post-data", opt->common.jobs, err)) < 0 ||
		(rc = schema_refresh_matviews(control, m->nmatviews, m->matviews, err)) < 0)
		goto done;
	r->seconds_post = clock_seconds() - t;
	if ((rc = state_run_set(&st, run.id, "done", STATE_STEP_DONE, NULL, err)) == 0)
	{
		sl_err		kept;

		/* finished: its record goes, unless kept (a restore has no other process on it) */
		err_clear(&kept);
		if (state_run_finish(control, opt->state_schema, run.id, opt->keep_record, &r->record_removed,
							 &kept) < 0)
			log_warning("run %lld is finished, but its record stays on the target: %s; \"pgsluice "
						"cleanup --run %lld\" removes it", (long long) run.id, kept.msg, (long long) run.id);
	}

done:
	sched_blame_stop(rc, err);
	if (rc < 0 && run.id > 0 && control != NULL && !refused)
	{
		sl_err		ignored;

		err_clear(&ignored);
		(void) state_run_set(&st, run.id, err->side == SIDE_INTERRUPT ? "interrupted" : "failed",
							 NULL, err->msg, &ignored);
	}
	free(chunks);
	free(ctx.chunk_of);
	plan_destroy(p);
	catalog_destroy(cat);
	manifest_free(m);
	state_fini(&st);
	conn_close(&control);
	schema_workdir_remove(workdir);
	if (ctx.dir.fd >= 0)
		close(ctx.dir.fd);
	r->seconds_total = clock_seconds() - t_start;
	*report_out = r;
	return rc;
}

void
restore_report_destroy(restore_report *r)
{
	if (r == NULL)
		return;
	free(r->chunks);
	free(r);
}
