/*
 * report_json.c: the JSON reports of clone, verify, plan, check and status
 * (see report.h), written with codec/json.h's writer.  A report is built in
 * memory, then written to PATH.tmp, synced and renamed to PATH, so that a
 * reader never sees half of one; status writes its one line to stdout with
 * "-".  Each report opens with the same members: status, error and hint
 * (after a failure), both connection strings (redacted), the selection,
 * and the process's own CPU time and memory.
 */
#include "cli/report.h"
#include "cli/report_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "codec/digest.h"
#include "codec/json.h"
#include "engine/conn.h"

#define REPORT_CAP ((size_t) 1 << 30)	/* bytes of one report */

typedef struct report_doc
{
	sbuf		text;
	json_writer w;
} report_doc;

static const char *
chunk_status_name(chunk_status status)
{
	switch (status)
	{
		case CHUNK_RUNNING:
			return "running";
		case CHUNK_DONE:
			return "done";
		case CHUNK_FAILED:
			return "failed";
		case CHUNK_PENDING:
			break;
	}
	return "pending";
}

/* Opens the report's object and writes its head: see the file's header. */
static json_writer *
doc_begin(report_doc *d, const char *status, const sl_err *err, const char *source, const char *target,
		  const cat_filter *filter)
{
	char		redacted[2048];
	struct rusage self;
	json_writer *w = &d->w;

	sbuf_init(&d->text, REPORT_CAP);
	json_writer_init(w, &d->text);
	json_put_object(w, NULL, JSON_LINES);
	json_put_string(w, "status", status);
	if (err != NULL && err_is_set(err))
	{
		json_put_string(w, "error", err->msg);
		if (err->hint[0] != '\0')
			json_put_string(w, "hint", err->hint);
	}
	conn_redact(source, redacted, sizeof(redacted));
	json_put_string(w, "source", redacted);
	conn_redact(target, redacted, sizeof(redacted));
	json_put_string(w, "target", redacted);
	if (!filter_empty(filter))
		filter_json_put(filter, w, "selection");
	/* this process alone: pg_dump and pg_restore are children, not counted */
	getrusage(RUSAGE_SELF, &self);
	json_put_double(w, "cpu_user_seconds", (double) self.ru_utime.tv_sec + (double) self.ru_utime.tv_usec / 1e6, 3);
	json_put_double(w, "cpu_system_seconds", (double) self.ru_stime.tv_sec + (double) self.ru_stime.tv_usec / 1e6,
					3);
	json_put_int(w, "max_rss_kb", self.ru_maxrss);
	return w;
}

/* Writes all of text to fd; 0 or a negative errno. */
static int
write_all(int fd, const char *text, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t) n;
	}
	return 0;
}

/* Writes text to path (created or emptied), fsynced when durable; 0 or a negative errno. */
static int
write_file(const char *path, const sbuf *text, bool durable)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int			rc;

	if (fd < 0)
		return -errno;
	if ((rc = write_all(fd, text->data, text->len)) == 0 && durable && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * Closes the report's object and puts the text at path (through path.tmp,
 * synced, renamed).  Returns 0 or a negative errno.
 */
static int
doc_finish(report_doc *d, const char *path)
{
	char		tmp[PATH_MAX];
	int			rc;

	json_put_end(&d->w);
	if ((rc = json_writer_finish(&d->w)) < 0 || (rc = sbuf_append(&d->text, "\n")) < 0)
		goto done;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
	{
		rc = -ENAMETOOLONG;
		goto done;
	}
	if ((rc = write_file(tmp, &d->text, true)) == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
done:
	sbuf_fini(&d->text);
	return rc;
}

static void
put_tables(json_writer *w, const clone_report *r)
{
	char		hex[CHUNK_DIGEST_HEX_LEN + 1];

	json_put_array(w, "tables", JSON_LINES);
	for (int i = 0; r->cat != NULL && r->tables != NULL && i < r->cat->ntables; i++)
	{
		const cat_table *t = &r->cat->tables[i];
		const clone_table *ct = &r->tables[i];
		const plan_table *pt = &r->plan->tables[i];

		json_put_object(w, NULL, JSON_INLINE);
		json_put_string(w, "name", t->qname);
		json_put_uint(w, "rows", ct->rows);
		json_put_uint(w, "bytes", ct->bytes);
		json_put_double(w, "seconds", ct->seconds, 3);
		json_put_string(w, "format", t->text_reason ? "text" : "binary");
		if (t->text_reason != NULL)
			json_put_string(w, "text_reason", t->text_reason);
		chunk_digest_hex(&ct->digest, hex);
		json_put_string(w, "split", plan_method_name(pt->method));
		json_put_string(w, "digest", hex);
		json_put_array(w, "chunks", JSON_LINES);
		for (int ci = pt->first_chunk; ci < pt->first_chunk + pt->nchunks; ci++)
		{
			const plan_chunk *pc = &r->plan->chunks[ci];
			const clone_chunk *c = &r->chunks[ci];

			chunk_digest_hex(&c->result.digest, hex);
			json_put_object(w, NULL, JSON_INLINE);
			json_put_int(w, "chunk", pc->seq);
			json_put_string(w, "status", chunk_status_name(c->status));
			json_put_string(w, "where", pc->predicate);
			json_put_uint(w, "rows", c->result.rows);
			json_put_uint(w, "bytes", c->result.bytes);
			json_put_string(w, "digest", c->status == CHUNK_DONE ? hex : "");
			json_put_double(w, "seconds", c->seconds, 3);
			json_put_int(w, "worker", c->worker);
			json_put_bool(w, "freeze", pc->freeze);
			json_put_end(w);
		}
		json_put_end(w);
		json_put_end(w);
	}
	json_put_end(w);
}

static void
put_diffs(json_writer *w, const drill_result *d)
{
	json_put_bool(w, "rows_truncated", d->truncated);
	json_put_array(w, "rows", JSON_LINES);
	for (int i = 0; i < d->ndiffs; i++)
	{
		json_put_object(w, NULL, JSON_INLINE);
		json_put_string(w, "kind", drill_kind_name(d->diffs[i].kind));
		json_put_uint(w, "count", d->diffs[i].count);
		json_put_string(w, "key", d->diffs[i].key);
		json_put_string(w, "detail", d->diffs[i].detail);
		json_put_end(w);
	}
	json_put_end(w);
}

/* The findings of a verification, as members of the object open in w. */
static void
put_verify(json_writer *w, const verify_report *r, bool counts)
{
	char		hex[CHUNK_DIGEST_HEX_LEN + 1];

	json_put_int(w, "tables_compared", r->tables_compared);
	json_put_int(w, "chunks_checked", r->chunks_checked);
	json_put_int(w, "chunks_different", r->chunks_different);
	json_put_int(w, "chunks_not_checked", r->chunks_not_checked);
	json_put_uint(w, "rows_source", r->rows_source);
	json_put_uint(w, "rows_target", r->rows_target);
	json_put_uint(w, "rows_different", r->rows_different);
	json_put_bool(w, "rows_truncated", r->diffs_truncated);
	json_put_bool(w, "target_only", r->target_only);
	json_put_uint(w, "bytes", r->bytes);
	json_put_double(w, "seconds", r->seconds, 3);
	json_put_array(w, "differences", JSON_INLINE);
	for (int i = 0; i < r->nproblems; i++)
		json_put_string(w, NULL, r->problems[i]);
	json_put_end(w);
	json_put_array(w, "chunks", JSON_LINES);
	for (int i = 0; r->plan != NULL && r->chunks != NULL && i < r->plan->nchunks; i++)
	{
		const plan_chunk *pc = &r->plan->chunks[i];
		const verify_chunk *vc = &r->chunks[i];

		if (vc->status == VERIFY_SKIPPED)
			continue;
		json_put_object(w, NULL, JSON_INLINE);
		json_put_string(w, "table", r->source_cat->tables[pc->table].qname);
		json_put_int(w, "chunk", pc->seq);
		json_put_string(w, "where", pc->predicate);
		json_put_string(w, "status", verify_status_name(vc->status));
		json_put_uint(w, "source_rows", vc->source.rows);
		json_put_uint(w, "target_rows", vc->target.rows);
		if (!counts)
		{
			chunk_digest_hex(&vc->source, hex);
			json_put_string(w, "source_digest", hex);
			chunk_digest_hex(&vc->target, hex);
			json_put_string(w, "target_digest", hex);
		}
		if (vc->status == VERIFY_DIFFERENT && vc->drill.passes > 0)
			put_diffs(w, &vc->drill);
		if (vc->repair.state != REPAIR_NONE)
		{
			json_put_object(w, "repair", JSON_INLINE);
			json_put_string(w, "state", repair_state_name(vc->repair.state));
			json_put_string(w, "why", vc->repair.why);
			json_put_uint(w, "deleted", vc->repair.deleted);
			json_put_uint(w, "inserted", vc->repair.inserted);
			json_put_uint(w, "bytes", vc->repair.bytes);
			json_put_double(w, "seconds", vc->repair.seconds, 3);
			put_diffs(w, &vc->repair.found);
			json_put_end(w);
		}
		json_put_end(w);
	}
	json_put_end(w);
	if (r->repaired)
	{
		json_put_object(w, "repair", JSON_INLINE);
		json_put_string(w, "sql_file", r->repair_sql);
		json_put_int(w, "chunks_repaired", r->chunks_repaired);
		json_put_int(w, "chunks_recopied", r->chunks_recopied);
		json_put_int(w, "chunks_left", r->chunks_left);
		json_put_int(w, "chunks_rolled_back", r->chunks_repair_failed);
		json_put_uint(w, "rows_deleted", r->rows_deleted);
		json_put_uint(w, "rows_inserted", r->rows_inserted);
		json_put_uint(w, "bytes_written", r->bytes_written);
		json_put_int(w, "sequences_set", r->sequences_set);
		json_put_double(w, "seconds", r->seconds_repair, 3);
		json_put_double(w, "seconds_check_again", r->seconds_recheck, 3);
		json_put_end(w);
	}
}

int
report_json(const char *path, const clone_report *r, const clone_options *opt, const sl_err *err)
{
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, err != NULL && err_is_set(err) ? "failed" : "done", err, opt->common.source,
				  opt->common.target, r->filter);
	json_put_int(w, "run", r->run_id);
	json_put_bool(w, "resumed", r->resumed);
	json_put_bool(w, "best_effort", r->best_effort);
	json_put_int(w, "chunks_copied_before", r->chunks_elsewhere);
	json_put_int(w, "retries", r->retries);
	json_put_bool(w, "record_removed", r->record_removed);
	json_put_int(w, "source_version", r->source_major);
	json_put_int(w, "target_version", r->target_major);
	json_put_string(w, "snapshot", r->snapshot[0] != '\0' ? r->snapshot : NULL);
	json_put_int(w, "jobs", opt->common.jobs);
	json_put_int(w, "chunk_size", opt->common.chunk_bytes);
	json_put_string(w, "io", r->io_backend);
	json_put_uint(w, "rows", r->rows);
	json_put_uint(w, "bytes", r->bytes);
	json_put_int(w, "sequences", r->sequences_set);
	json_put_object(w, "seconds", JSON_INLINE);
	json_put_double(w, "schema", r->seconds_schema, 3);
	json_put_double(w, "data", r->seconds_data, 3);
	json_put_double(w, "sequences", r->seconds_sequences, 3);
	json_put_double(w, "post_data", r->seconds_post, 3);
	if (r->verify != NULL)
		json_put_double(w, "verify", r->seconds_verify, 3);
	json_put_double(w, "total", r->seconds_total, 3);
	json_put_end(w);
	json_put_object(w, "rates", JSON_INLINE);
	json_put_double(w, "data_bytes_per_second", per_second((double) r->bytes, r->seconds_data), 0);
	json_put_double(w, "data_rows_per_second", per_second((double) r->rows, r->seconds_data), 0);
	json_put_double(w, "verify_bytes_per_second",
					r->verify != NULL ? per_second((double) r->verify->bytes, r->seconds_verify) : 0.0, 0);
	json_put_end(w);
	if (opt->spill_dir != NULL)
	{
		json_put_object(w, "spill", JSON_INLINE);
		json_put_string(w, "dir", opt->spill_dir);
		json_put_int(w, "load_jobs", opt->load_jobs > 0 ? opt->load_jobs : opt->common.jobs);
		json_put_int(w, "limit", opt->spill_limit);
		json_put_uint(w, "peak_bytes", r->spill_peak);
		json_put_double(w, "seconds_read", r->seconds_read, 3);
		json_put_bool(w, "snapshot_released", r->snapshot_released);
		json_put_end(w);
	}
	put_tables(w, r);
	if (r->verify != NULL)
	{
		json_put_object(w, "verify", JSON_LINES);
		json_put_string(w, "result", verify_identical(r->verify) ? "identical" : "different");
		json_put_double(w, "seconds_total", r->seconds_verify, 3);
		put_verify(w, r->verify, false);
		json_put_end(w);
	}
	return doc_finish(&d, path);
}

static void
put_names(json_writer *w, const char *key, char *const *names, int n)
{
	json_put_array(w, key, JSON_INLINE);
	for (int i = 0; i < n; i++)
		json_put_string(w, NULL, names[i]);
	json_put_end(w);
}

int
report_cluster_json(const char *path, const cluster_report *r, const common_options *common, bool no_role_passwords,
					const sl_err *err)
{
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, err != NULL && err_is_set(err) ? "failed" : r->failed > 0 ? "partial" : "done", err,
				  common->source != NULL ? common->source : "", common->target != NULL ? common->target : "",
				  common->filter);
	json_put_int(w, "failed", r->failed);
	json_put_double(w, "seconds", r->seconds, 3);
	if (r->roles_copied)
	{
		json_put_object(w, "roles", JSON_LINES);
		put_names(w, "created", r->roles.created, r->roles.ncreated);
		put_names(w, "existing", r->roles.existing, r->roles.nexisting);
		json_put_int(w, "memberships", r->roles.nmemberships);
		json_put_bool(w, "passwords", r->roles.passwords && !no_role_passwords);
		json_put_double(w, "seconds", r->seconds_roles, 3);
		json_put_end(w);
	}
	json_put_array(w, "databases", JSON_LINES);
	for (int i = 0; i < r->ndatabases; i++)
	{
		const cluster_database *db = &r->databases[i];

		json_put_object(w, NULL, JSON_LINES);
		json_put_string(w, "name", db->name);
		json_put_string(w, "target", db->target_name);
		json_put_string(w, "status", db->status == CLUSTER_DB_DONE ? "done"
						: db->status == CLUSTER_DB_FAILED ? "failed" : "skipped");
		json_put_string(w, "error", err_is_set(&db->err) ? db->err.msg : NULL);
		if (db->err.hint[0] != '\0')
			json_put_string(w, "hint", db->err.hint);
		json_put_bool(w, "created", db->created);
		json_put_bool(w, "done_before", db->done_before);
		json_put_int(w, "run", db->run_id);
		json_put_int(w, "resumed_run", db->resumed_run);
		json_put_int(w, "tables", db->tables);
		json_put_uint(w, "rows", db->rows);
		json_put_uint(w, "bytes", db->copied_bytes);
		json_put_double(w, "seconds", db->seconds, 3);
		json_put_end(w);
	}
	json_put_end(w);
	return doc_finish(&d, path);
}

int
report_verify_json(const char *path, const verify_report *r, const verify_options *opt, const sl_err *err)
{
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, err != NULL && err_is_set(err) ? "failed" : verify_identical(r) ? "identical" : "different",
				  err, opt->common.source, opt->common.target, opt->common.filter);
	json_put_int(w, "jobs", opt->common.jobs);
	json_put_int(w, "chunk_size", opt->common.chunk_bytes);
	json_put_bool(w, "counts_only", opt->counts);
	json_put_double(w, "sample", opt->sample, 4);
	json_put_string(w, "io", r->io_backend);
	put_verify(w, r, opt->counts);
	return doc_finish(&d, path);
}

int
report_cluster_verify_json(const char *path, const cluster_verify_report *r, const cluster_verify_options *opt,
						   const sl_err *err)
{
	report_doc	d;
	json_writer *w;
	int			next = r->role_diffs;

	w = doc_begin(&d, err != NULL && err_is_set(err) ? "failed" : r->failed > 0 ? "partial"
				  : cluster_verify_identical(r) ? "identical" : "different",
				  err, opt->verify.common.source, opt->verify.common.target, opt->verify.common.filter);
	json_put_int(w, "jobs", opt->verify.common.jobs);
	json_put_bool(w, "counts_only", opt->verify.counts);
	json_put_double(w, "sample", opt->verify.sample, 4);
	json_put_int(w, "failed", r->failed);
	json_put_int(w, "different", r->different);
	json_put_double(w, "seconds", r->seconds, 3);
	if (r->roles_compared)
	{
		json_put_object(w, "roles", JSON_LINES);
		put_names(w, "differences", r->globals.diffs, r->role_diffs);
		put_names(w, "notes", r->globals.notes, r->globals.nnotes);
		json_put_bool(w, "passwords", r->globals.passwords);
		json_put_end(w);
	}
	json_put_array(w, "databases", JSON_LINES);
	for (int i = 0; i < r->ndatabases; i++)
	{
		const cluster_verify_database *db = &r->databases[i];

		json_put_object(w, NULL, JSON_LINES);
		json_put_string(w, "name", db->name);
		json_put_string(w, "target", db->target_name);
		json_put_string(w, "status", db->status == CLUSTER_DB_DONE ? "done"
						: db->status == CLUSTER_DB_FAILED ? "failed" : "skipped");
		json_put_string(w, "result", db->status != CLUSTER_DB_DONE ? NULL : db->missing ? "missing"
						: cluster_verify_database_different(db) ? "different" : "identical");
		json_put_string(w, "error", err_is_set(&db->err) ? db->err.msg : NULL);
		if (db->err.hint[0] != '\0')
			json_put_string(w, "hint", db->err.hint);
		put_names(w, "property_differences", r->globals.diffs + next, db->property_diffs);
		next += db->property_diffs;
		json_put_double(w, "seconds", db->seconds, 3);
		if (db->report != NULL)
		{
			json_put_object(w, "verify", JSON_LINES);
			put_verify(w, db->report, opt->verify.counts);
			json_put_end(w);
		}
		json_put_end(w);
	}
	json_put_end(w);
	return doc_finish(&d, path);
}

static void
put_status(json_writer *w, const state_run *run, const state_summary *sum)
{
	double		rate;
	double		eta;

	status_rates(sum, &rate, &eta);
	json_put_int(w, "run", run->id);
	json_put_string(w, "status", run->status);
	json_put_string(w, "step", run->step);
	json_put_string(w, "started_at", run->started_at);
	json_put_double(w, "seconds", sum->seconds, 3);
	json_put_int(w, "chunks", sum->chunks);
	json_put_int(w, "done", sum->done);
	json_put_int(w, "in_flight", sum->in_flight);
	json_put_int(w, "failed", sum->failed);
	json_put_int(w, "waiting", sum->chunks - sum->done - sum->in_flight);
	json_put_uint(w, "rows", sum->rows);
	json_put_uint(w, "bytes", sum->bytes);
	json_put_double(w, "bytes_per_second", rate, 0);
	json_put_int(w, "max_rate", run->max_rate);
	json_put_bool(w, "paused", run->paused);
	json_put_int(w, "processes", run->processes);
	if (eta >= 0)
		json_put_double(w, "eta_seconds", eta, 0);
	else
		json_put_null(w, "eta_seconds");
	json_put_string(w, "last_error", sum->last_error[0] != '\0' ? sum->last_error : NULL);
}

/* A status document, one line: to stdout with "-" (no temporary file to rename), else into path. */
static int
status_finish(report_doc *d, const char *path)
{
	int			rc;

	json_put_end(&d->w);
	if ((rc = json_writer_finish(&d->w)) == 0 && (rc = sbuf_append(&d->text, "\n")) == 0)
	{
		if (strcmp(path, "-") == 0)
			rc = fflush(stdout) == 0 ? write_all(STDOUT_FILENO, d->text.data, d->text.len) : -errno;
		else
			rc = write_file(path, &d->text, false);
	}
	sbuf_fini(&d->text);
	return rc;
}

/* A follow run's object "replication". */
static void
put_replication(json_writer *w, const run_follow *f)
{
	const follow_state *fs = &f->state;

	json_put_object(w, "replication", JSON_INLINE);
	json_put_string(w, "name", f->name);
	json_put_string(w, "subscription", follow_state_word(fs));
	json_put_bool(w, "slot", fs->slot);
	json_put_bool(w, "publication", fs->publication);
	json_put_int(w, "lag_bytes", fs->lag_bytes);
	json_put_double(w, "lag_seconds", fs->lag_seconds, 3);
	json_put_int(w, "slot_retained_bytes", fs->retained_bytes);
	json_put_int(w, "slot_wal_limit_bytes", f->slot_wal_limit);
	if (f->source_free_bytes >= 0)
		json_put_int(w, "source_free_bytes", f->source_free_bytes);
	json_put_string(w, "wal_status", fs->wal_status);
	json_put_int(w, "apply_errors", fs->apply_errors);
	json_put_end(w);
}

int
report_status_json(const char *path, const state_run *run, const state_summary *sum, const run_follow *follow)
{
	report_doc	d;

	sbuf_init(&d.text, REPORT_CAP);
	json_writer_init(&d.w, &d.text);
	json_put_object(&d.w, NULL, JSON_INLINE);
	put_status(&d.w, run, sum);
	if (follow != NULL)
		put_replication(&d.w, follow);
	return status_finish(&d, path);
}

/* One database's cutover: its run, objects and steps. */
static void
put_cutover(json_writer *w, const cutover_report *r)
{
	json_put_int(w, "run", r->run_id);
	json_put_string(w, "name", r->name);
	json_put_string(w, "lsn", r->lsn[0] ? r->lsn : NULL);
	json_put_int(w, "tables", r->tables);
	json_put_int(w, "writes_seen", r->writes_seen);
	json_put_int(w, "sequences_set", r->sequences_set);
	json_put_int(w, "dropped", r->dropped);
	json_put_bool(w, "record_removed", r->record_removed);
	if (r->verify != NULL)
		json_put_bool(w, "identical", verify_identical(r->verify));
	json_put_object(w, "seconds", JSON_INLINE);
	json_put_double(w, "watch", r->seconds_watch, 3);
	json_put_double(w, "catch_up", r->seconds_catch_up, 3);
	json_put_double(w, "sequences", r->seconds_sequences, 3);
	json_put_double(w, "verify", r->seconds_verify, 3);
	json_put_double(w, "teardown", r->seconds_teardown, 3);
	json_put_double(w, "write_downtime", r->seconds_total, 3);
	json_put_end(w);
}

int
report_cutover_json(const char *path, const cutover_report *r, int n, const sl_err *err)
{
	report_doc	d;
	bool		done = n > 0;
	bool		identical = true;

	for (int k = 0; k < n; k++)
	{
		done = done && r[k].done;
		identical = identical && (r[k].verify == NULL || verify_identical(r[k].verify));
	}
	sbuf_init(&d.text, REPORT_CAP);
	json_writer_init(&d.w, &d.text);
	json_put_object(&d.w, NULL, JSON_LINES);
	json_put_string(&d.w, "status", done ? "done" : err != NULL && err_is_set(err) ? "failed"
					: !identical ? "different" : "failed");
	if (err != NULL && err_is_set(err))
	{
		json_put_string(&d.w, "error", err->msg);
		if (err->hint[0] != '\0')
			json_put_string(&d.w, "hint", err->hint);
	}
	if (n == 1)
		put_cutover(&d.w, &r[0]);
	else
	{
		json_put_array(&d.w, "databases", JSON_LINES);
		for (int k = 0; k < n; k++)
		{
			json_put_object(&d.w, NULL, JSON_INLINE);
			json_put_string(&d.w, "database", r[k].database);
			json_put_bool(&d.w, "done", r[k].done);
			put_cutover(&d.w, &r[k]);
			json_put_end(&d.w);
		}
		json_put_end(&d.w);
		json_put_double(&d.w, "write_downtime", n > 0 ? r[0].seconds_total : 0.0, 3);
	}
	return status_finish(&d, path);
}

int
report_cluster_status_json(const char *path, const run_database *dbs, int n)
{
	report_doc	d;

	sbuf_init(&d.text, REPORT_CAP);
	json_writer_init(&d.w, &d.text);
	json_put_object(&d.w, NULL, JSON_INLINE);
	json_put_array(&d.w, "databases", JSON_INLINE);
	for (int i = 0; i < n; i++)
	{
		json_put_object(&d.w, NULL, JSON_INLINE);
		json_put_string(&d.w, "name", dbs[i].name);
		json_put_bool(&d.w, "recorded", dbs[i].loaded);
		json_put_string(&d.w, "error", err_is_set(&dbs[i].err) ? dbs[i].err.msg : NULL);
		if (dbs[i].loaded)
			put_status(&d.w, &dbs[i].run, &dbs[i].sum);
		if (dbs[i].follows && dbs[i].follow_known)
			put_replication(&d.w, &dbs[i].follow);
		else if (dbs[i].follows)
			json_put_string(&d.w, "replication_error", dbs[i].follow_err.msg);
		json_put_end(&d.w);
	}
	json_put_end(&d.w);
	return status_finish(&d, path);
}

static void
put_forecast(json_writer *w, const forecast *f)
{
	json_put_int(w, "source_version", f->source_major);
	json_put_int(w, "target_version", f->target_major);
	json_put_int(w, "heap_bytes", f->heap_bytes);
	json_put_int(w, "index_bytes", f->index_bytes);
	json_put_object(w, "estimate", JSON_INLINE);
	json_put_double(w, "seconds", f->seconds_total, 1);
	json_put_double(w, "schema", f->seconds_schema, 1);
	json_put_double(w, "data", f->seconds_data, 1);
	json_put_double(w, "indexes", f->seconds_index, 1);
	json_put_double(w, "read_bytes_per_second", f->read_rate, 0);
	json_put_double(w, "copy_bytes_per_heap_byte", f->copy_ratio, 3);
	json_put_double(w, "sample_seconds", f->sample_seconds, 3);
	json_put_string(w, "sample_table", f->sample_table);
	json_put_end(w);
	json_put_array(w, "tables", JSON_LINES);
	for (int i = 0; i < f->cat->ntables; i++)
	{
		const cat_table *t = &f->cat->tables[i];
		const plan_table *pt = &f->plan->tables[i];

		json_put_object(w, NULL, JSON_INLINE);
		json_put_string(w, "name", t->qname);
		json_put_int(w, "bytes", t->bytes);
		json_put_double(w, "rows_estimate", t->reltuples > 0 ? t->reltuples : 0, 0);
		json_put_string(w, "key", key_kind_name(t->key_kind));
		json_put_array(w, "key_columns", JSON_INLINE);
		for (int k = 0; k < t->nkeys; k++)
			json_put_string(w, NULL, t->keys[k].name);
		json_put_end(w);
		json_put_string(w, "split", plan_method_name(pt->method));
		json_put_string(w, "format", t->text_reason ? "text" : "binary");
		json_put_string(w, "text_reason", t->text_reason);
		json_put_array(w, "chunks", JSON_LINES);
		for (int c = pt->first_chunk; c < pt->first_chunk + pt->nchunks; c++)
		{
			const plan_chunk *pc = &f->plan->chunks[c];

			json_put_object(w, NULL, JSON_INLINE);
			json_put_int(w, "chunk", pc->seq);
			json_put_string(w, "where", pc->predicate);
			json_put_int(w, "est_bytes", pc->est_bytes);
			json_put_bool(w, "freeze", pc->freeze);
			json_put_end(w);
		}
		json_put_end(w);
		json_put_end(w);
	}
	json_put_end(w);
}

int
report_forecast_json(const char *path, const forecast *f, const forecast_options *opt)
{
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, "planned", NULL, opt->common.source, opt->common.target != NULL ? opt->common.target : "",
				  opt->common.filter);
	json_put_int(w, "jobs", opt->common.jobs);
	json_put_int(w, "chunk_size", opt->common.chunk_bytes);
	put_forecast(w, f);
	return doc_finish(&d, path);
}

int
report_forecast_cluster_json(const char *path, const forecast_cluster *fc, const forecast_options *opt)
{
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, fc->failed > 0 ? "partial" : "planned", NULL, opt->common.source,
				  opt->common.target != NULL ? opt->common.target : "", opt->common.filter);
	json_put_int(w, "jobs", opt->common.jobs);
	json_put_int(w, "chunk_size", opt->common.chunk_bytes);
	json_put_int(w, "database_jobs", fc->database_jobs);
	json_put_int(w, "failed", fc->failed);
	json_put_double(w, "estimate_seconds", fc->seconds_total, 1);
	json_put_array(w, "databases", JSON_LINES);
	for (int i = 0; i < fc->ndatabases; i++)
	{
		const forecast_database *db = &fc->databases[i];

		json_put_object(w, NULL, JSON_LINES);
		json_put_string(w, "name", db->name);
		json_put_string(w, "target", db->target_name);
		json_put_string(w, "status", db->f != NULL ? "planned" : "failed");
		json_put_string(w, "error", err_is_set(&db->err) ? db->err.msg : NULL);
		if (db->f != NULL)
			put_forecast(w, db->f);
		json_put_end(w);
	}
	json_put_end(w);
	return doc_finish(&d, path);
}

int
report_check_json(const char *path, const check_report *r, const check_options *opt, const sl_err *err)
{
	check_severity worst = check_worst(r);
	report_doc	d;
	json_writer *w;

	w = doc_begin(&d, err != NULL && err_is_set(err) ? "failed"
				  : worst == CHECK_BLOCKER ? "blockers" : worst == CHECK_WARNING ? "warnings" : "clean",
				  err, opt->common.source, opt->common.target, opt->common.filter);
	json_put_int(w, "jobs", opt->common.jobs);
	json_put_bool(w, "data_only", opt->data_only);
	json_put_string(w, "spill", opt->spill_dir);
	json_put_int(w, "blockers", check_count(r, CHECK_BLOCKER));
	json_put_int(w, "warnings", check_count(r, CHECK_WARNING));
	json_put_int(w, "notes", check_count(r, CHECK_NOTE));
	json_put_int(w, "ok", check_count(r, CHECK_OK));
	json_put_array(w, "findings", JSON_LINES);
	for (int i = 0; i < r->nfindings; i++)
	{
		const check_finding *f = &r->findings[i];

		json_put_object(w, NULL, JSON_INLINE);
		json_put_string(w, "severity", check_severity_name(f->severity));
		json_put_string(w, "side", check_where_name(f->where));
		json_put_string(w, "code", f->code);
		if (f->database != NULL)
			json_put_string(w, "database", f->database);
		json_put_string(w, "message", f->message);
		json_put_string(w, "fix", f->fix);
		json_put_array(w, "objects", JSON_INLINE);
		for (int j = 0; j < f->nobjects; j++)
			json_put_string(w, NULL, f->objects[j]);
		json_put_end(w);
		json_put_end(w);
	}
	json_put_end(w);
	return doc_finish(&d, path);
}
