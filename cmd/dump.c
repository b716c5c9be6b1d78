/*
 * dump.c: pgsluice dump.  See dump.h.
 *
 * A worker writes each chunk it takes into its file (engine/chunkfile.h),
 * hashed as it passes.  The manifest is written once every chunk file is
 * durable.
 *
 * Thread safety: chunks run on engine/sched.c's workers; a chunk's slot in
 * the report is written by the worker that runs it and read after all are
 * joined.  The catalog and the plan are read-only while workers run.
 */
#include "cmd/dump.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "codec/json.h"
#include "codec/spill.h"
#include "engine/chunkfile.h"
#include "engine/chunkjob.h"
#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"
#include "engine/reader.h"
#include "engine/sched.h"
#include "engine/schema.h"
#include "engine/stop.h"
#include "io/spillfile.h"

typedef struct dump_ctx
{
	const dump_options *opt;
	dump_report *r;
	chunkfile_dir dir;
	chunkjob_spec jobs;			/* the workers' sessions: the source at the snapshot */
	atomic_int	fallback_said;	/* the sockets' io_uring fallback was reported */
} dump_ctx;

typedef struct dump_worker
{
	int			id;
	PGconn	   *source;
	io_loop    *loop;
	chunkfile_writer *writer;
	const atomic_int *stop;
} dump_worker;

static int
dump_worker_open(void *arg, int id, const atomic_int *stop, void **state_out, sl_err *err)
{
	dump_ctx   *ctx = arg;
	dump_worker *w = calloc(1, sizeof(*w));
	int			rc;

	*state_out = w;
	if (w == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory starting worker %d", id);
	w->id = id;
	w->stop = stop;
	if ((rc = chunkfile_writer_create(ctx->opt->compress_level, &w->writer, err)) < 0 ||
		(rc = copy_reader_loop_create(&w->loop, ctx->opt->common.io_kind, id, &ctx->fallback_said, ctx->r->io_backend,
								 sizeof(ctx->r->io_backend), err)) < 0 ||
		(rc = chunkjob_open_source(&ctx->jobs, &w->source, err)) < 0)
		return rc;
	return 0;
}

static void
dump_worker_close(void *arg, void *state_arg)
{
	dump_worker *w = state_arg;

	(void) arg;
	if (w == NULL)
		return;
	if (w->loop != NULL)
		io_loop_forget(w->loop);
	conn_close(&w->source);
	io_loop_destroy(w->loop);
	chunkfile_writer_destroy(w->writer);
	free(w);
}

static int64_t
dump_worker_run(void *arg, void *state_arg, int idx, uint64_t *rows, sl_err *err)
{
	dump_ctx   *ctx = arg;
	dump_worker *w = state_arg;
	const plan_chunk *pc = &ctx->r->plan->chunks[idx];
	dump_chunk *dc = &ctx->r->chunks[idx];
	chunkfile_info info;
	char		what[512];
	double		t0 = clock_seconds();
	int			rc;

	if (w->source == NULL)
		return err_set(err, SIDE_LOCAL, -ENOTCONN, "worker %d has no connection", w->id);
	plan_chunk_describe(pc, &ctx->r->cat->tables[pc->table], what, sizeof(what));
	rc = chunkfile_write(w->writer, &ctx->dir, w->source, w->loop,
						 !ctx->opt->common.via_libpq && !conn_encrypted(w->source), &ctx->r->cat->tables[pc->table],
						 pc, idx, w->stop, what, &info, err);
	if (rc < 0)
	{
		io_loop_forget(w->loop);
		conn_close(&w->source); /* in an unknown state: the run ends anyway */
		return rc;
	}
	dc->rows = info.rows;
	dc->bytes = info.bytes;
	dc->compressed = info.compressed;
	dc->digest = info.digest;
	dc->seconds = clock_seconds() - t0;
	dc->done = true;
	*rows = dc->rows;
	return (int64_t) dc->bytes;
}

static const sched_ops dump_ops = {dump_worker_open, dump_worker_run, dump_worker_close};

/* ---- the manifest ---- */

static void
manifest_text(const dump_options *opt, const dump_report *r, const char *source,
			  const cat_sequence_value *seqs, sbuf *out)
{
	const catalog *cat = r->cat;
	char		hex[CHUNK_DIGEST_HEX_LEN + 1];
	char		file[64];
	char		when[64];
	time_t		now = time(NULL);
	json_writer w;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_writer_init(&w, out);
	json_put_object(&w, NULL, JSON_LINES);
	json_put_string(&w, "format", "pgsluice dump");
	json_put_int(&w, "version", 1);
	json_put_string(&w, "dump_id", r->dump_id);
	json_put_string(&w, "created_at", when);
	json_put_string(&w, "source", source);
	json_put_int(&w, "source_version", cat->server_major);
	json_put_string(&w, "encoding", cat->encoding);
	json_put_string(&w, "snapshot", r->snapshot[0] ? r->snapshot : NULL);
	json_put_bool(&w, "best_effort", opt->best_effort);
	json_put_int(&w, "compress_level", opt->compress_level);
	json_put_string(&w, "schema", DUMP_SCHEMA);
	json_put_array(&w, "tables", JSON_LINES);
	for (int i = 0; i < cat->ntables; i++)
	{
		const cat_table *t = &cat->tables[i];

		json_put_object(&w, NULL, JSON_INLINE);
		json_put_string(&w, "name", t->qname);
		json_put_uint(&w, "oid", t->oid);
		json_put_string(&w, "format", t->text_reason ? "text" : "binary");
		json_put_string(&w, "method", plan_method_name(r->plan->tables[i].method));
		json_put_array(&w, "columns", JSON_INLINE);
		for (int c = 0; c < t->ncols; c++)
		{
			json_put_object(&w, NULL, JSON_INLINE);
			json_put_string(&w, "name", t->cols[c].name);
			json_put_string(&w, "type", t->cols[c].type);
			json_put_end(&w);
		}
		json_put_end(&w);
		json_put_end(&w);
	}
	json_put_end(&w);
	json_put_array(&w, "chunks", JSON_LINES);
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		const plan_chunk *pc = &r->plan->chunks[i];
		const dump_chunk *dc = &r->chunks[i];

		chunkfile_name(i, file, sizeof(file));
		chunk_digest_hex(&dc->digest, hex);
		json_put_object(&w, NULL, JSON_INLINE);
		json_put_string(&w, "file", file);
		json_put_string(&w, "table", cat->tables[pc->table].qname);
		json_put_int(&w, "seq", pc->seq);
		json_put_string(&w, "where", pc->predicate);
		json_put_bool(&w, "freeze", pc->freeze);
		json_put_int(&w, "est_bytes", pc->est_bytes);
		json_put_uint(&w, "rows", dc->rows);
		json_put_uint(&w, "bytes", dc->bytes);
		json_put_uint(&w, "compressed_bytes", dc->compressed);
		json_put_string(&w, "digest", hex);
		json_put_end(&w);
	}
	json_put_end(&w);
	json_put_array(&w, "sequences", JSON_LINES);
	for (int i = 0; i < cat->nsequences; i++)
	{
		json_put_object(&w, NULL, JSON_INLINE);
		json_put_string(&w, "name", cat->sequences[i].qname);
		json_put_string(&w, "last_value", seqs[i].last_value);
		json_put_bool(&w, "is_called", seqs[i].is_called);
		json_put_end(&w);
	}
	json_put_end(&w);
	/* for the restore's checks: the roles must exist on its target */
	json_put_array(&w, "roles", JSON_LINES);
	for (int i = 0; i < r->nroles; i++)
	{
		json_put_object(&w, NULL, JSON_INLINE);
		json_put_string(&w, "name", r->roles[i].name);
		json_put_bool(&w, "owns", r->roles[i].owns);
		json_put_bool(&w, "granted", r->roles[i].granted);
		json_put_bool(&w, "in_policies", r->roles[i].in_policies);
		json_put_end(&w);
	}
	json_put_end(&w);
	json_put_array(&w, "matviews", JSON_INLINE);
	for (int i = 0; i < cat->nmatviews; i++)
		json_put_string(&w, NULL, cat->matviews[i]);
	json_put_end(&w);
	json_put_end(&w);
	if (json_writer_finish(&w) < 0)
		out->failed = true;
	sbuf_append(out, "\n");
}

int
dump_write_file(int dir_fd, const char *name, const sbuf *text, sl_err *err)
{
	spillfile *f = NULL;
	int			rc;

	if ((rc = spillfile_create(dir_fd, name, SPILLFILE_IO_PWRITE, &f, NULL, 0, err)) < 0)
		return rc;
	if ((rc = spillfile_write(f, text->data, text->len)) < 0 || (rc = spillfile_commit(f)) < 0)
		rc = err_set(err, SIDE_LOCAL, rc, "%s", spillfile_error(f));
	spillfile_destroy(f);
	return rc;
}

/*
 * After ENOSPC: how much more the dump needs, from the heap size of the
 * chunks not written and the compression seen so far (or none, at first).
 */
static void
say_space_needed(const dump_report *r, sl_err *err)
{
	int64_t		left = 0;
	double		ratio = r->bytes > 0 ? (double) r->compressed / (double) r->bytes : 1.0;

	for (int i = 0; i < r->plan->nchunks; i++)
		if (!r->chunks[i].done)
			left += r->plan->chunks[i].est_bytes;
	if (err->hint[0] == '\0')	/* the error is the write's, set before: its hint is ours to give */
		snprintf(err->hint, sizeof(err->hint), "the dump needs about %.0f MB more for its %d chunks "
				 "not yet written: free that much, or dump elsewhere (remove this directory first)",
				 (double) left * ratio / 1048576.0 + 1, r->plan->nchunks - r->chunks_done);
}

int
dump_dir_open(const char *path, int *dir_fd, sl_err *err)
{
	sl_err		why;
	DIR		   *d;
	struct dirent *e;
	int			rc;

	err_clear(&why);
	if ((rc = spillfile_dir_create(path, dir_fd, &why)) < 0)
		return err_set(err, SIDE_USAGE, rc, "%s", why.msg);
	d = fdopendir(dup(*dir_fd));
	if (d == NULL)
		return err_set(err, SIDE_LOCAL, -errno, "could not read directory \"%s\": %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
	{
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		closedir(d);
		return err_set(err, SIDE_USAGE, -EEXIST, "directory \"%s\" is not empty (it holds \"%s\"): "
					   "dump into a new or empty directory", path, e->d_name);
	}
	closedir(d);
	return 0;
}

int
dump_read_json(int dir_fd, const char *dir, const char *name, size_t max, json_doc **doc, sl_err *err)
{
	char		path[PATH_MAX];
	sl_err		why;
	char	   *text = NULL;
	struct stat st;
	int			fd;
	int			rc = 0;

	*doc = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ENOENT : err_set(err, SIDE_LOCAL, -errno, "could not open \"%s\": %s", path,
												  strerror(errno));
	if (fstat(fd, &st) < 0 || (size_t) st.st_size > max || (text = malloc((size_t) st.st_size + 1)) == NULL)
	{
		rc = err_set(err, SIDE_USAGE, -E2BIG, "\"%s\" is too large or unreadable", path);
		goto done;
	}
	for (size_t got = 0; got < (size_t) st.st_size;)
	{
		ssize_t		n = read(fd, text + got, (size_t) st.st_size - got);

		if (n <= 0)
		{
			rc = err_set(err, SIDE_LOCAL, n < 0 ? -errno : -EIO, "could not read \"%s\": %s", path,
						 n < 0 ? strerror(errno) : "it was cut short while read");
			goto done;
		}
		got += (size_t) n;
	}
	err_clear(&why);
	if (json_parse(text, (size_t) st.st_size, NULL, doc, &why) < 0)
		rc = err_set(err, SIDE_USAGE, -EPROTO, "\"%s\" is not valid JSON: %s", path, why.msg);
done:
	close(fd);
	free(text);
	return rc;
}

int
dump_run(const dump_options *opt, dump_report **report_out, sl_err *err)
{
	dump_report *r = calloc(1, sizeof(*r));
	dump_ctx	ctx;
	PGconn	   *holder = NULL;
	cat_sequence_value *seqs = NULL;
	schema_tools tools;
	schema_options sopt = {false, false, stop_flag(), NULL, false, NULL, false};
	char		schema_path[PATH_MAX];
	char		workdir[PATH_MAX] = "";
	char	   *without = NULL;
	char	   *password = NULL;
	sbuf		manifest;
	double		t_start = clock_seconds();
	double		t;
	int			rc;

	*report_out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.dir.fd = -1;
	ctx.dir.path = opt->dir;
	ctx.dir.io = opt->common.io_kind == IO_LOOP_POLL ? SPILLFILE_IO_PWRITE : SPILLFILE_IO_AUTO;
	sbuf_init(&manifest, SBUF_DEFAULT_CAP);
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	snprintf(r->io_backend, sizeof(r->io_backend), "none");
	ctx.opt = opt;
	ctx.r = r;
	if (getrandom(ctx.dir.id, sizeof(ctx.dir.id), 0) != (ssize_t) sizeof(ctx.dir.id))
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not make a dump id: %s", strerror(errno));
		goto done;
	}
	for (int i = 0; i < SPILL_DUMP_ID_SIZE; i++)
		snprintf(r->dump_id + 2 * i, 3, "%02x", ctx.dir.id[i]);

	/* the source and its snapshot, before the directory: a bad connection string leaves nothing */
	if ((rc = conn_open(&holder, opt->common.source, SIDE_SOURCE, NULL, err)) < 0)
		goto done;
	{
		check_options copt = {0};

		/* what pgsluice check finds on the source alone (it reads the source, writes no server) */
		copt.common = opt->common;
		copt.common.target = NULL;	/* a dump has none */
		copt.common.jobs = opt->common.jobs > 0 ? opt->common.jobs : 1;
		copt.state_schema = "";
		copt.held_source = 1;	/* the snapshot's session */
		rc = check_before_run("the dump", &copt, opt->on_check, opt->on_check_arg, err);
		if (rc < 0)
			goto done;
	}
	if ((rc = dump_dir_open(opt->dir, &ctx.dir.fd, err)) < 0)
		goto done;
	if (!opt->best_effort &&
		(rc = conn_export_snapshot(holder, SIDE_SOURCE, r->snapshot, sizeof(r->snapshot), err)) < 0)
		goto done;
	if ((rc = catalog_load(holder, SIDE_SOURCE, conn_major_version(holder), opt->common.filter, &r->cat, err)) < 0 ||
		(rc = check_source_roles(holder, &r->roles, &r->nroles, err)) < 0)
		goto done;
	log_info("source: PostgreSQL %d, %d tables, %d sequences; dump %s into \"%s\"",
			 r->cat->server_major, r->cat->ntables, r->cat->nsequences, r->dump_id, opt->dir);

	/* schema, beside the chunks */
	t = clock_seconds();
	snprintf(schema_path, sizeof(schema_path), "%s/%s", opt->dir, DUMP_SCHEMA);
	sopt.workdir = workdir;
	if ((rc = schema_find_tools(opt->common.pg_bindir, r->cat->server_major, &tools, err)) < 0 ||
		(rc = schema_workdir_create(workdir, sizeof(workdir), err)) < 0 ||
		(rc = schema_dump(&tools, &sopt, opt->common.source, r->snapshot[0] ? r->snapshot : NULL,
							 r->cat->selection.nargs, r->cat->selection.dump_args, schema_path, err)) < 0)
		goto done;
	if (chmod(schema_path, 0600) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not set the mode of \"%s\": %s", schema_path, strerror(errno));
		goto done;
	}
	if (catalog_user_tables(r->cat) < r->cat->ntables)
	{
		char		lobj_path[PATH_MAX];
		long long	count;

		snprintf(lobj_path, sizeof(lobj_path), "%s/%s", opt->dir, LOBJ_METADATA_FILE);
		if ((rc = lobj_metadata_dump(holder, lobj_path, &count, err)) < 0)
			goto done;
		log_info("schema: the metadata of %lld large objects written", count);
	}
	r->seconds_schema = clock_seconds() - t;

	/* plan and sequences at the snapshot */
	{
		plan_options popt = {opt->common.chunk_bytes, true, false, 0};

		if ((rc = plan_build(holder, r->cat, &popt, &r->plan, err)) < 0)
			goto done;
	}
	r->chunks = calloc((size_t) r->plan->nchunks + 1, sizeof(dump_chunk));
	seqs = calloc((size_t) r->cat->nsequences + 1, sizeof(cat_sequence_value));
	if (r->chunks == NULL || seqs == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = catalog_read_sequences(holder, SIDE_SOURCE, r->cat, seqs, err)) < 0)
		goto done;

	/* data */
	ctx.jobs.source = opt->common.source;
	ctx.jobs.snapshot = r->snapshot[0] ? r->snapshot : NULL;
	ctx.jobs.encoding = r->cat->encoding;
	log_info("data: %d tables in %d chunks, %d workers", r->cat->ntables, r->plan->nchunks,
			 opt->common.jobs > 0 ? opt->common.jobs : 1);
	t = clock_seconds();
	{
		sched_options sopt2 = {opt->common.jobs, "dump", r->cat, NULL, NULL, NULL};

		rc = sched_run(&dump_ops, &ctx, r->plan, &sopt2, &r->chunks_done, err);
	}
	r->seconds_data = clock_seconds() - t;
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		r->rows += r->chunks[i].rows;
		r->bytes += r->chunks[i].bytes;
		r->compressed += r->chunks[i].compressed;
	}
	if (rc == -ENOSPC)
		say_space_needed(r, err);
	if (rc < 0)
		goto done;

	/* the manifest last: a directory without one is not a dump */
	if (conn_split_password(opt->common.source, &without, &password) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	manifest_text(opt, r, without, seqs, &manifest);
	if (sbuf_failed(&manifest))
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory writing the manifest");
	else
		rc = dump_write_file(ctx.dir.fd, DUMP_MANIFEST, &manifest, err);
	if (rc == 0)
		log_info("dump: %d chunks, %llu rows, %.1f MB of COPY data in %.1f MB of files (%.2fx) in %.1f s",
				 r->chunks_done, (unsigned long long) r->rows, (double) r->bytes / 1048576.0,
				 (double) r->compressed / 1048576.0, r->compressed ? (double) r->bytes / (double) r->compressed : 0,
				 r->seconds_data);

done:
	sched_blame_stop(rc, err);
	if (seqs != NULL && r->cat != NULL)
		catalog_free_sequence_values(seqs, r->cat->nsequences);
	free(seqs);
	free(without);
	free(password);
	sbuf_fini(&manifest);
	conn_close(&holder);
	if (ctx.dir.fd >= 0)
		close(ctx.dir.fd);
	schema_workdir_remove(workdir);
	r->seconds_total = clock_seconds() - t_start;
	*report_out = r;
	return rc;
}

void
dump_report_destroy(dump_report *r)
{
	if (r == NULL)
		return;
	plan_destroy(r->plan);
	catalog_destroy(r->cat);
	check_roles_free(r->roles, r->nroles);
	free(r->chunks);
	free(r);
}
