/*
 * clone.c: the steps of a clone and the scheduler of its chunks.  See clone.h.
 *
 * Thread safety: the chunks run on engine/sched.c's workers; a chunk's slot
 * in the report is written by the one worker that runs it and read after
 * the scheduler has joined them all.  The catalog and the plan are
 * read-only once workers start; the clone's context has two atomics.
 */
#include "cmd/clone.h"
#include "cmd/clone_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/chunkjob.h"
#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/rate.h"
#include "engine/sched.h"
#include "engine/schema.h"
#include "engine/state.h"
#include "engine/target.h"
#include "engine/stop.h"
#include "io/spillfile.h"

#define BATCH_STATEMENTS 500	/* tables per batched statement */
#define LOCK_TIMEOUT "60s"		/* to lock the source tables */

/*
 * Refuses a target whose tables stand in the way (see engine/target.h): in
 * schema mode any of the source's tables there, in data-only mode any
 * missing or with other copy columns.  Names the first few.
 */
static int
check_target_tables(PGconn *target, const catalog *cat, bool data_only, sl_err *err)
{
	target_problems found;
	sbuf		msg;
	int			rc;

	target_problems_init(&found);
	sbuf_init(&msg, 1 << 16);
	rc = target_find_conflicts(target, cat, data_only, &found, err);
	for (int i = 0; rc == 0 && i < found.n && i < 5; i++)
		sbuf_printf(&msg, "%s%s", i == 0 ? "" : data_only ? "; " : ", ", found.items[i].what);
	if (rc == 0 && found.n > 0 && !data_only)
	{
		rc = err_set(err, SIDE_TARGET, -EEXIST, "the target database already has tables of the source (%s%s)",
					 sbuf_str(&msg), found.n > 5 ? ", ..." : "");
		err_hint(err, "Clone into an empty database, or use --data-only to load into the existing schema.");
	}
	else if (rc == 0 && found.n > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EINVAL, "the target's tables differ from the source's: %s%s",
					 sbuf_str(&msg), found.n > 5 ? "; ..." : "");
		err_hint(err, "--data-only needs the source's tables and columns there: make the target's schema "
				 "match (pg_dump --schema-only of the source), or clone into an empty database without "
				 "--data-only.");
	}
	sbuf_fini(&msg);
	target_problems_fini(&found);
	return rc;
}

int
clone_empty_target(PGconn *target, const catalog *cat, bool truncate, sl_err *err)
{
	target_problems found;
	sbuf		names;
	sbuf		tables;
	sbuf		sql;
	bool		unlink_large_objects = false;
	int			rc;

	target_problems_init(&found);
	sbuf_init(&names, SBUF_DEFAULT_CAP);
	sbuf_init(&tables, SBUF_DEFAULT_CAP);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	rc = target_find_nonempty(target, cat, NULL, &found, err);
	for (int i = 0; rc == 0 && i < found.n; i++)
	{
		sbuf_printf(&names, "%s%s", i ? ", " : "", found.items[i].what);
		if (cat->tables[found.items[i].table].large_objects)
			unlink_large_objects = true;
		else
			sbuf_printf(&tables, "%s%s", tables.len ? ", " : "", found.items[i].what);
	}
	if (rc == 0 && found.n > 0 && !truncate)
	{
		rc = err_set(err, SIDE_TARGET, -EEXIST, "target table%s %.600s already hold%s rows",
					 found.n > 1 ? "s" : "", sbuf_str(&names), found.n > 1 ? "" : "s");
		err_hint(err, "Use --truncate to replace them, or empty them first.");
	}
	else if (rc == 0 && found.n > 0)
	{
		log_info("truncating %d target table%s that hold rows", found.n, found.n > 1 ? "s" : "");
		sbuf_printf(&sql, "TRUNCATE ONLY %s", sbuf_str(&tables));
		if (tables.len > 0)
			rc = conn_exec(target, SIDE_TARGET, sbuf_str(&sql), err);
		/* the large objects' catalog is not truncated: its objects are unlinked */
		if (rc == 0 && unlink_large_objects)
			rc = conn_exec(target, SIDE_TARGET, "SELECT pg_catalog.lo_unlink(oid) FROM " LOBJ_TABLE, err);
	}
	sbuf_fini(&tables);
	sbuf_fini(&sql);
	sbuf_fini(&names);
	target_problems_fini(&found);
	return rc;
}

/* The large objects' owners, ACLs and comments, from the holder's snapshot onto the target. */
static int
copy_large_object_metadata(PGconn *holder, PGconn *target, const catalog *cat, const schema_options *sopt,
						   sl_err *err)
{
	lobj_metadata_options lopt = {sopt->no_owner, sopt->no_privileges};
	double		t = clock_seconds();
	long long	count;
	int			rc;

	if (catalog_user_tables(cat) == cat->ntables)
		return 0;
	progress_phase("schema: large objects");
	if ((rc = lobj_metadata_copy(holder, target, &lopt, &count, err)) == 0)
		log_info("schema: %lld large objects created in %.1f s", count, clock_seconds() - t);
	return rc;
}

/* Locks every source table in ACCESS SHARE mode, in the holder's transaction. */
static int
lock_source_tables(PGconn *holder, const catalog *cat, sl_err *err)
{
	sbuf		sql;
	int			ntables = catalog_user_tables(cat);	/* not the large objects: nobody drops that catalog */
	int			rc;

	if (ntables == 0)
		return 0;
	rc = conn_exec(holder, SIDE_SOURCE, "SET LOCAL lock_timeout = '" LOCK_TIMEOUT "'", err);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	for (int start = 0; start < ntables && rc == 0; start += BATCH_STATEMENTS)
	{
		sbuf_reset(&sql);
		sbuf_append(&sql, "LOCK TABLE ");
		for (int i = start; i < ntables && i < start + BATCH_STATEMENTS; i++)
			sbuf_printf(&sql, "%sONLY %s", i > start ? ", " : "", cat->tables[i].qname);
		sbuf_append(&sql, " IN ACCESS SHARE MODE");
		rc = conn_exec(holder, SIDE_SOURCE, sbuf_str(&sql), err);
	}
	sbuf_fini(&sql);
	return rc;
}

void
clone_sum_tables(clone_report *r)
{
	for (int ti = 0; ti < r->cat->ntables; ti++)
	{
		clone_table *t = &r->tables[ti];
		const plan_table *pt = &r->plan->tables[ti];
		double		first = -1;
		double		last = 0;

		chunk_digest_reset(&t->digest);
		for (int ci = pt->first_chunk; ci < pt->first_chunk + pt->nchunks; ci++)
		{
			const clone_chunk *c = &r->chunks[ci];

			if (c->status != CHUNK_DONE)
				continue;
			t->rows += c->result.rows;
			t->bytes += c->result.bytes;
			t->chunks_done++;
			chunk_digest_merge(&t->digest, &c->result.digest);
			if (first < 0 || c->started < first)
				first = c->started;
			if (c->started + c->seconds > last)
				last = c->started + c->seconds;
		}
		t->seconds = first < 0 ? 0 : last - first;
		r->rows += t->rows;
		r->bytes += t->bytes;
	}
}

/*
 * The verification pass after the data.  With a snapshot the clone's own
 * source digests stand for the source, so only the target is read; in best
 * effort there is no point in time they belong to, so both sides are read.
 */
static int
verify_clone(const clone_options *opt, clone_report *r, const char *snapshot, sl_err *err)
{
	verify_options vopt = {0};
	chunk_digest *digests = NULL;
	int			rc;

	vopt.common = opt->common;
	vopt.common.filter = r->filter;
	vopt.sample = 1.0;
	vopt.max_diffs = opt->max_diffs;
	vopt.repair = opt->repair;
	if (snapshot != NULL)
	{
		digests = calloc((size_t) r->plan->nchunks + 1, sizeof(chunk_digest));
		if (digests == NULL)
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		for (int i = 0; i < r->plan->nchunks; i++)
			digests[i] = r->chunks[i].result.digest;
		vopt.snapshot = snapshot;
		vopt.clone_catalog = r->cat;
		vopt.clone_plan = r->plan;
		vopt.clone_digests = digests;
	}
	log_info("verify: %s", snapshot != NULL ? "reading the target against the digests of the copy"
			 : "reading both sides (best effort: the source may have changed since its rows were read)");
	rc = verify_run(&vopt, &r->verify, err);
	free(digests);
	if (rc == 0)
		log_info("verify: %s", verify_identical(r->verify) ? "the target is identical to the source"
				 : "the target differs from the source");
	return rc;
}

/*
 * The target digests the verification read, on record beside the source
 * digests: per chunk where the verification read the clone's chunks (a
 * table the clone split by ctid was read whole, and its chunks get none).
 */
static int
record_target_digests(state *st, const clone_report *r, sl_err *err)
{
	const verify_report *v = r->verify;
	int		   *nos = calloc((size_t) r->plan->nchunks + 1, sizeof(int));
	chunk_digest *digests = calloc((size_t) r->plan->nchunks + 1, sizeof(chunk_digest));
	int			n = 0;
	int			rc;

	if (nos == NULL || digests == NULL)
	{
		free(nos);
		free(digests);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	for (int t = 0; t < r->plan->ntables && v->plan != NULL; t++)
	{
		const plan_table *ct = &r->plan->tables[t];
		const plan_table *vt = &v->plan->tables[t];

		if (ct->nchunks != vt->nchunks)
			continue;
		for (int i = 0; i < ct->nchunks; i++)
		{
			const verify_chunk *vc = &v->chunks[vt->first_chunk + i];

			if (vc->status != VERIFY_EQUAL && vc->status != VERIFY_DIFFERENT)
				continue;
			nos[n] = ct->first_chunk + i;
			digests[n++] = vc->target;
		}
	}
	rc = state_chunks_verified(st, r->run_id, n, nos, digests, err);
	free(nos);
	free(digests);
	return rc;
}


/*
 * The source at a resumed run's snapshot when it still exists (another
 * process holds it); else, unless the user requires consistency, a new
 * snapshot, and the run is best effort from now on.
 */
static int
resume_snapshot(const clone_options *opt, state *st, const state_run *run, PGconn *holder,
				clone_report *r, sl_err *err)
{
	sl_err		gone;
	int			rc;

	err_clear(&gone);
	if (!run->best_effort && run->snapshot[0] != '\0' &&
		conn_import_snapshot(holder, SIDE_SOURCE, run->snapshot, &gone) == 0)
	{
		snprintf(r->snapshot, sizeof(r->snapshot), "%s", run->snapshot);
		log_info("run %lld: its snapshot %s still exists: the copy stays consistent",
				 (long long) run->id, run->snapshot);
		return 0;
	}
	PQclear(PQexec(holder, "ROLLBACK"));
	if (strcmp(run->step, STATE_STEP_START) != 0)
	{
		state_summary sum;

		if ((rc = state_summarize(st, run->id, &sum, err)) < 0)
			return rc;
		if (sum.done == sum.chunks)
		{
			/* every row was read at the old snapshot: what is left is schema and sequences */
			log_verbose("run %lld: every chunk is done; its snapshot is no longer needed", (long long) run->id);
			return opt->best_effort ? 0 : conn_export_snapshot(holder, SIDE_SOURCE, r->snapshot, sizeof(r->snapshot), err);
		}
	}
	if (!run->best_effort && opt->require_consistent)
		return err_set(err, SIDE_SOURCE, -ESTALE,
					   "run %lld: its snapshot %s no longer exists (the process that held it has "
					   "ended), and --require-consistent was given: start a new run into an empty "
					   "database", (long long) run->id, run->snapshot);
	if (!run->best_effort)
		log_warning("run %lld: its snapshot %s no longer exists: the chunks not yet copied are "
					"copied at a new point in time, so the copy as a whole is not consistent; "
					"the run is now best effort (--require-consistent refuses instead)",
					(long long) run->id, run->snapshot);
	r->best_effort = true;
	if (!opt->best_effort && (rc = conn_export_snapshot(holder, SIDE_SOURCE, r->snapshot, sizeof(r->snapshot), err)) < 0)
		return rc;
	return state_run_rebase(st, run->id, r->snapshot, true, err);
}

/* The source's catalog at the holder's snapshot, its tables locked while a snapshot is held. */
int
clone_load_source(clone_report *r, PGconn *holder, bool lock, sl_err *err)
{
	int			rc;

	if ((rc = catalog_load(holder, SIDE_SOURCE, r->target_major, r->filter, &r->cat, err)) < 0)
		return rc;
	if (lock && (rc = lock_source_tables(holder, r->cat, err)) < 0)
		return rc;
	log_info("source: PostgreSQL %d, %d tables, %d sequences; target: PostgreSQL %d",
			 r->source_major, r->cat->ntables, r->cat->nsequences, r->target_major);
	for (int i = 0; i < r->cat->ntables; i++)
		if (r->cat->tables[i].text_reason != NULL)
			log_info("table %s moves as text: %s", r->cat->tables[i].qname,
					 r->cat->tables[i].text_reason);
	return 0;
}

/* What the run was started with, for its record. */
static void
options_json(const clone_options *opt, sbuf *out)
{
	json_writer w;

	json_writer_init(&w, out);
	json_put_object(&w, NULL, JSON_INLINE);
	json_put_int(&w, "jobs", opt->common.jobs);
	json_put_int(&w, "chunk_size", opt->common.chunk_bytes);
	json_put_bool(&w, "data_only", opt->data_only);
	json_put_bool(&w, "truncate", opt->truncate);
	json_put_bool(&w, "best_effort", opt->best_effort);
	json_put_bool(&w, "no_owner", opt->common.no_owner);
	json_put_bool(&w, "no_privileges", opt->common.no_privileges);
	json_put_bool(&w, "verify", opt->verify);
	json_put_bool(&w, "split_all", opt->split_all);
	json_put_bool(&w, "follow", opt->follow);
	filter_json_put(opt->common.filter, &w, "filter");
	json_put_end(&w);
	if (json_writer_finish(&w) < 0)
		out->failed = true;
}

/*
 * A resumed or joined run takes its tables as it first chose them, from its
 * record; table options given now must say the same.
 */
int
clone_take_recorded_filter(clone_report *r, state *st, const cat_filter *given, sl_err *err)
{
	sbuf		was;
	sbuf		now;
	int			rc;

	if ((rc = state_run_filter(st, r->run_id, &r->recorded, err)) < 0)
		return rc;
	r->filter = &r->recorded;
	if (filter_empty(given))
		return 0;
	sbuf_init(&was, 256);
	sbuf_init(&now, 256);
	filter_json(&r->recorded, &was);
	filter_json(given, &now);
	if (sbuf_failed(&was) || sbuf_failed(&now))
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	else if (strcmp(sbuf_str(&was), sbuf_str(&now)) != 0)
		rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld chose its tables with %s, not %s: leave "
					 "out --table, --exclude-table, --schema and --exclude-schema to go on with it "
					 "as it was started", (long long) r->run_id, sbuf_str(&was), sbuf_str(&now));
	sbuf_fini(&was);
	sbuf_fini(&now);
	return rc;
}

/* Chunks that an earlier attempt or another process copied: their figures come from the record. */
void
clone_take_recorded_chunks(clone_report *r, const state_chunk *chunks)
{
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		clone_chunk *c = &r->chunks[i];

		if (!chunks[i].done || c->status == CHUNK_DONE)
			continue;
		c->status = CHUNK_DONE;
		c->elsewhere = true;
		c->result.rows = chunks[i].rows;
		c->result.bytes = chunks[i].bytes;
		c->result.digest = chunks[i].digest;
		r->chunks_elsewhere++;
	}
	r->chunks_done = 0;
	for (int i = 0; i < r->plan->nchunks; i++)
		r->chunks_done += r->chunks[i].status == CHUNK_DONE;
}

/* The run's plan and chunks, from its record; the report's chunk slots to match. */
int
clone_load_recorded_plan(state *st, clone_report *r, state_chunk **chunks, sl_err *err)
{
	plan_destroy(r->plan);
	r->plan = NULL;
	if (state_chunks_load(st, r->run_id, r->cat, &r->plan, chunks, err) < 0)
		return err->code;
	free(r->chunks);
	free(r->tables);
	r->chunks = calloc((size_t) r->plan->nchunks + 1, sizeof(clone_chunk));
	r->tables = calloc((size_t) r->cat->ntables + 1, sizeof(clone_table));
	if (r->chunks == NULL || r->tables == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	return 0;
}

/* Records how a run ended, on a fresh connection if need be; the run's own error comes first. */
static void
record_end(const clone_options *opt, state *st, int64_t run_id, bool following, int rc, const sl_err *err)
{
	sl_err		ignored;
	PGconn	   *conn = NULL;
	state		fresh;

	if (run_id <= 0)
		return;
	err_clear(&ignored);
	if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK ||
		PQtransactionStatus(st->conn) != PQTRANS_IDLE)
	{
		if (conn_open(&conn, opt->common.target, SIDE_TARGET, NULL, &ignored) < 0 ||
			state_init(&fresh, conn, opt->state_schema, &ignored) < 0)
		{
			conn_close(&conn);
			return;
		}
		st = &fresh;
	}
	if (rc == 0 && following)
		(void) state_run_set(st, run_id, "following", STATE_STEP_FOLLOW, NULL, &ignored);
	else if (rc == 0)
		(void) state_run_set(st, run_id, "done", STATE_STEP_DONE, NULL, &ignored);
	else
		(void) state_run_set(st, run_id, err->side == SIDE_INTERRUPT ? "interrupted" : "failed",
							 NULL, err->msg, &ignored);
	if (conn != NULL)
	{
		state_fini(&fresh);
		conn_close(&conn);
	}
}

/*
 * The checks of pgsluice check that apply to this run (engine/check.h),
 * before it writes anything: blockers refuse it (r->refused), warnings are
 * shown and it goes on.  filter and data_only are the run's (a resumed
 * run's from its record).
 */
static int
check_first(const clone_options *opt, const cat_filter *filter, bool data_only, clone_report *r, sl_err *err)
{
	check_options copt = {0};
	int			rc;

	copt.common = opt->common;
	copt.common.jobs = opt->common.jobs > 0 ? opt->common.jobs : 1;
	copt.common.filter = filter;
	copt.data_only = data_only;
	copt.truncate = opt->truncate;
	copt.spill_dir = opt->spill_dir;
	copt.state_schema = opt->state_schema;
	copt.recorded = opt->resume != NULL;
	copt.follow = r->follow;
	copt.held_source = 1;		/* the snapshot's session */
	copt.held_target = 1;		/* the control session */
	rc = check_before_run("the clone", &copt, opt->on_check, opt->on_check_arg, err);
	r->refused = rc == -ECANCELED;
	return rc;
}

int
clone_run(const clone_options *opt, clone_report **report_out, sl_err *err)
{
	clone_report *r;
	PGconn	   *holder = NULL;
	PGconn	   *control = NULL;
	conn_settings target_settings = {NULL, 1, 0};
	schema_tools tools;
	schema_options sopt = {opt->common.no_owner, opt->common.no_privileges, stop_flag(), NULL, false, NULL,
		opt->common.no_tablespaces};
	state		st = {0};
	char		appname[64];
	state_run	run = {0};
	state_chunk *chunks = NULL;
	clone_ctx	ctx;
	char		fingerprint[256];
	char		workdir[PATH_MAX] = "";
	char		dumpfile[PATH_MAX];
	bool		data_only = opt->data_only;
	bool		pre_data_done = false;
	bool		follow_snapshot;	/* the run's point in time comes from its slot, now */
	follow_slot slot = {0};
	double		t_start = clock_seconds();
	double		t;
	int			rc;

	if (report_out != NULL)
		*report_out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	snprintf(r->io_backend, sizeof(r->io_backend), "none");
	r->best_effort = opt->best_effort;
	r->filter = opt->common.filter;
	r->follow = opt->follow;

	/* 1. connections, the run's record, the checks, the spill directory, the snapshot */
	if ((rc = conn_open(&holder, opt->common.source, SIDE_SOURCE, NULL, err)) < 0)
		goto done;
	r->source_major = conn_major_version(holder);
	target_settings.client_encoding = PQparameterStatus(holder, "server_encoding");
	if ((rc = conn_open(&control, opt->common.target, SIDE_TARGET, &target_settings, err)) < 0)
		goto done;
	r->target_major = conn_major_version(control);
	if ((rc = state_init(&st, control, opt->state_schema, err)) < 0 ||
		(rc = state_fingerprint(holder, fingerprint, sizeof(fingerprint), err)) < 0)
		goto done;
	if (opt->resume != NULL)
	{
		if ((rc = state_attach(&st, err)) == 0)
			rc = err_set(err, SIDE_USAGE, -ENOENT, "the target has no run records in schema %s: a run "
						 "that finished removed its record (unless it ran with --keep-record), and there "
						 "is nothing to resume; or give the --state-schema it used", st.schema);
		if (rc < 0 || (rc = state_run_load(&st, opt->resume, &run, err)) < 0)
			goto done;
		r->run_id = run.id;
		r->resumed = true;
		if ((rc = clone_take_recorded_filter(r, &st, opt->common.filter, err)) < 0)
			goto done;
		if (strcmp(run.fingerprint, fingerprint) != 0)
		{
			rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld was copying from another source (%s, "
						 "this one is %s): refusing to resume it from here", (long long) run.id,
						 run.fingerprint, fingerprint);
			goto done;
		}
		if (strcmp(run.step, STATE_STEP_DONE) == 0)
		{
			log_info("run %lld is complete: there is nothing to resume", (long long) run.id);
			r->nothing_to_do = true;
			goto done;
		}
		if (opt->follow && !run.follow)
		{
			rc = err_set(err, SIDE_USAGE, -EINVAL, "run %lld was not started with --follow: a run keeps what "
						 "it started with; leave out --follow to resume it", (long long) run.id);
			goto done;
		}
		log_info("run %lld: resuming at step %s (it was %s)", (long long) run.id, run.step, run.status);
		data_only = run.data_only;
		r->best_effort = run.best_effort;
		r->follow = run.follow;
		if (strcmp(run.step, STATE_STEP_FOLLOW) == 0)
		{
			/* copied and subscribed: the subscription is enabled again if need be */
			if ((rc = clone_follow_check_slot(r, holder, control, err)) == 0)
				rc = clone_follow_subscribe(opt, r, holder, control, err);
			goto done;
		}
	}
	follow_snapshot = r->follow && (opt->resume == NULL || strcmp(run.step, STATE_STEP_START) == 0 ||
									strcmp(run.step, STATE_STEP_DATA) == 0);
	if ((rc = check_first(opt, r->filter, data_only, r, err)) < 0)
		goto done;
	if (opt->spill_dir != NULL)
	{
		sl_err		why;
		int			fd = -1;

		err_clear(&why);
		if ((rc = spillfile_dir_create(opt->spill_dir, &fd, &why)) < 0)
		{
			rc = err_set(err, SIDE_USAGE, rc, "--spill: %s", why.msg);
			goto done;
		}
		close(fd);
	}
	if (opt->resume != NULL)
	{
		if ((rc = state_run_set(&st, run.id, "running", NULL, NULL, err)) < 0)
			goto done;
		if (follow_snapshot)
			rc = clone_follow_snapshot(opt, r, &st, holder, control, run.step, &slot, err);
		else if ((rc = resume_snapshot(opt, &st, &run, holder, r, err)) == 0 && r->follow)
			rc = clone_follow_check_slot(r, holder, control, err);
		if (rc < 0)
			goto done;
	}
	else if (!opt->best_effort && !r->follow)
	{
		if ((rc = conn_export_snapshot(holder, SIDE_SOURCE, r->snapshot, sizeof(r->snapshot), err)) < 0)
			goto done;
		log_verbose("source snapshot %s exported", r->snapshot);
	}

	/* 2. catalog */
	r->data_only = data_only;
	if (r->cat == NULL && (rc = clone_load_source(r, holder, r->snapshot[0] != '\0', err)) < 0)
		goto done;

	/* 3. the target, unless the run got past its schema step */
	if (opt->resume != NULL && strcmp(run.step, STATE_STEP_START) == 0 && !data_only)
	{
		sl_err		exists;

		/* pre-data is one transaction: either none of the tables is there, or all are */
		err_clear(&exists);
		if (check_target_tables(control, r->cat, false, &exists) == -EEXIST)
		{
			if ((rc = check_target_tables(control, r->cat, true, err)) < 0)
				goto done;
			pre_data_done = true;
			log_info("run %lld: the schema's pre-data is on the target already", (long long) run.id);
		}
	}
	else if (opt->resume == NULL || strcmp(run.step, STATE_STEP_START) == 0)
	{
		if ((rc = check_target_tables(control, r->cat, data_only, err)) < 0)
			goto done;
		if (data_only && (rc = clone_empty_target(control, r->cat, opt->truncate, err)) < 0)
			goto done;
	}
	if (opt->resume == NULL)
	{
		sbuf		options;
		char	   *without = NULL;
		char	   *password = NULL;

		/* the record is made once the target has passed its checks: a refused run leaves nothing */
		sbuf_init(&options, 1024);
		options_json(opt, &options);
		if (sbuf_failed(&options) || conn_split_password(opt->common.source, &without, &password) < 0)
			rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		else
		{
			snprintf(run.fingerprint, sizeof(run.fingerprint), "%s", fingerprint);
			snprintf(run.source, sizeof(run.source), "%s", without);
			snprintf(run.snapshot, sizeof(run.snapshot), "%s", r->snapshot);
			run.best_effort = opt->best_effort;
			rc = state_run_create(&st, &run, sbuf_str(&options), err);
		}
		sbuf_fini(&options);
		free(without);
		free(password);
		if (rc < 0)
			goto done;
		r->run_id = run.id;
		log_info("run %lld: recorded in schema %s of the target", (long long) run.id, st.schema);
		if (follow_snapshot && (rc = clone_follow_snapshot(opt, r, &st, holder, control, STATE_STEP_START,
														  &slot, err)) < 0)
			goto done;
	}
	/* --max-rate goes on record, for every process; a resumed run starts unpaused */
	if ((rc = state_run_throttle(&st, r->run_id, opt->common.max_rate, 0, err)) < 0)
		goto done;

	/* the sessions of pg_restore say which run they belong to: see end_orphans */
	snprintf(appname, sizeof(appname), "pgsluice run %lld", (long long) r->run_id);
	sopt.application_name = appname;

	/* 4. schema: the dump serves pre-data now and post-data later */
	t = clock_seconds();
	if (!data_only && strcmp(run.step, STATE_STEP_DONE) != 0)
	{
		rc = schema_find_tools(opt->common.pg_bindir,
							   r->source_major > r->target_major ? r->source_major : r->target_major,
							   &tools, err);
		if (rc < 0 || (rc = schema_workdir_create(workdir, sizeof(workdir), err)) < 0)
			goto done;
		sopt.workdir = workdir;
		snprintf(dumpfile, sizeof(dumpfile), "%s/schema.dump", workdir);
		progress_phase("schema: pg_dump --schema-only");
		if ((rc = schema_dump(&tools, &sopt, opt->common.source, r->snapshot[0] ? r->snapshot : NULL,
							  r->cat->selection.nargs, r->cat->selection.dump_args,
							  dumpfile, err)) < 0)
			goto done;
	}
	if (strcmp(run.step, STATE_STEP_START) == 0)
	{
		/*
		 * Tables that plan_reads_whole go in whole, but not with --split-all,
		 * nor in a spill run: its files, and what --spill-limit holds, stay
		 * of --chunk-size.
		 */
		int			whole_jobs = opt->split_all || opt->spill_dir != NULL ? 0 : opt->common.jobs;
		plan_options popt = {opt->common.chunk_bytes, !data_only, false, whole_jobs};

		if (!data_only && !pre_data_done)
		{
			progress_phase("schema: pre-data");
			if ((rc = schema_restore(&tools, &sopt, opt->common.target, dumpfile, "pre-data", 1, err)) < 0)
				goto done;
			r->seconds_schema = clock_seconds() - t;
			log_info("schema: pre-data restored in %.1f s", r->seconds_schema);
		}
		/* the large objects' metadata (idempotent: a run cut short before its plan does it again) */
		if ((rc = copy_large_object_metadata(holder, control, r->cat, &sopt, err)) < 0)
			goto done;
		/* 5. plan, on record before any chunk is copied */
		progress_phase("planning: sampling the keys");
		if ((rc = plan_build(holder, r->cat, &popt, &r->plan, err)) < 0 ||
			(rc = state_chunks_record(&st, r->run_id, r->cat, r->plan, err)) < 0)
			goto done;
		snprintf(run.step, sizeof(run.step), "%s", STATE_STEP_DATA);
	}
	if ((rc = clone_load_recorded_plan(&st, r, &chunks, err)) < 0)
		goto done;

	/* 6. data */
	clone_ctx_init(&ctx, opt, opt->common.source, r, &control);
	ctx.holder = r->snapshot[0] != '\0' && !r->best_effort ? holder : NULL;
	if (strcmp(run.step, STATE_STEP_DATA) == 0)
	{
		int			before = 0;

		for (int i = 0; i < r->plan->nchunks; i++)
			before += chunks[i].done;
		log_info("data: %d tables in %d chunks (%d done before), %d workers", r->cat->ntables,
				 r->plan->nchunks, before, opt->common.jobs > 0 ? opt->common.jobs : 1);
		t = clock_seconds();
		if ((rc = rate_watch_start(opt->common.target, opt->state_schema, r->run_id, ctx.worker_prefix, err)) == 0)
			rc = clone_run_chunks(&ctx, &st, chunks, false, err);
		rate_watch_stop();
		r->seconds_data = clock_seconds() - t;
		r->retries = atomic_load(&ctx.retries);
		if (rc < 0)
			goto done;
		if ((rc = state_run_set(&st, r->run_id, NULL, STATE_STEP_POST, NULL, err)) < 0)
			goto done;
	}
	else
		sopt.clean = true;		/* post-data may have been cut short: redo it whole */
	clone_take_recorded_chunks(r, chunks);
	clone_sum_tables(r);
	if (r->snapshot[0] != '\0' && !opt->verify && !r->snapshot_released &&
		(rc = conn_exec(holder, SIDE_SOURCE, "COMMIT", err)) < 0)
		goto done;
	if (!opt->verify)
		follow_slot_release(&slot);	/* every session that reads at the snapshot has it */
	log_info("data: %llu rows, %.1f MB in %.1f s", (unsigned long long) r->rows,
			 (double) r->bytes / 1048576.0, r->seconds_data);

	/* 7. sequences */
	progress_phase("sequences");
	t = clock_seconds();
	if ((rc = catalog_copy_sequences(holder, control, r->cat, 0, &r->sequences_set, err)) < 0)
		goto done;
	r->seconds_sequences = clock_seconds() - t;

	/* 8. schema post-data, and materialized views over the new data */
	progress_phase("schema: post-data (indexes, constraints, triggers)");
	t = clock_seconds();
	if (!data_only && sopt.clean && (rc = schema_end_sessions(control, appname, err)) < 0)
		goto done;
	if (!data_only &&
		(rc = schema_restore(&tools, &sopt, opt->common.target, dumpfile, "post-data", opt->common.jobs, err)) < 0)
		goto done;
	progress_phase("materialized views: refresh");
	if ((rc = schema_refresh_matviews(control, r->cat->nmatviews, r->cat->matviews, err)) < 0)
		goto done;
	r->seconds_post = clock_seconds() - t;
	log_info("schema: %s%d materialized views refreshed in %.1f s",
			 data_only ? "" : "post-data restored, ", r->cat->nmatviews, r->seconds_post);

	/* 9. verify, the source at the snapshot the holder still keeps */
	if (opt->verify)
	{
		t = clock_seconds();
		if ((rc = verify_clone(opt, r, r->snapshot[0] && !r->best_effort ? r->snapshot : NULL, err)) < 0 ||
			(rc = record_target_digests(&st, r, err)) < 0)
			goto done;
		r->seconds_verify = clock_seconds() - t;
		if (r->snapshot[0] != '\0' && (rc = conn_exec(holder, SIDE_SOURCE, "COMMIT", err)) < 0)
			goto done;
		follow_slot_release(&slot);
	}

	/* 10. follow: the subscription, from the slot's consistent point */
	if (r->follow && (rc = clone_follow_subscribe(opt, r, holder, control, err)) < 0)
		goto done;

done:
	progress_phase(NULL);
	sched_blame_stop(rc, err);
	if (!r->nothing_to_do && !r->refused)
		record_end(opt, &st, r->run_id, r->following, rc, err);
	/*
	 * Finished: every chunk and the post-data are done, here (a worker still
	 * on it leaves cleanly).  A verification that found differences keeps
	 * the record, with the digests it read, for a look at them.
	 */
	if (rc == 0 && !r->nothing_to_do && !r->following && r->run_id > 0 && st.conn != NULL)
	{
		sl_err		kept;
		bool		keep = opt->keep_record || (r->verify != NULL && !verify_identical(r->verify));

		err_clear(&kept);
		if (state_run_finish(st.conn, opt->state_schema, r->run_id, keep, &r->record_removed, &kept) < 0)
			log_warning("run %lld is finished, but its record stays on the target: %s; \"pgsluice "
						"cleanup --run %lld\" removes it", (long long) r->run_id, kept.msg,
						(long long) r->run_id);
	}
	free(chunks);
	state_fini(&st);
	follow_slot_release(&slot);
	conn_close(&holder);
	conn_close(&control);
	schema_workdir_remove(workdir);
	r->seconds_total = clock_seconds() - t_start;
	if (report_out != NULL)
		*report_out = r;
	else
		clone_report_destroy(r);
	return rc;
}

void
clone_report_destroy(clone_report *report)
{
	if (report == NULL)
		return;
	verify_report_destroy(report->verify);	/* refers to the catalog and plan */
	plan_destroy(report->plan);
	catalog_destroy(report->cat);
	free(report->chunks);
	free(report->tables);
	filter_free(&report->recorded);
	free(report);
}

