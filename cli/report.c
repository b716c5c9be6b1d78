/*
 * report.c: the summary table and the JSON report.  See report.h.
 */
#include "cli/report.h"
#include "cli/report_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "engine/log.h"
#include "codec/digest.h"
#include "codec/json.h"
#include "engine/conn.h"

static double
mb_per_second(uint64_t bytes, double seconds)
{
	return per_second((double) bytes / 1048576.0, seconds);
}

/* A name fit for one line of the table: control characters as \n, \t or \xNN. */
static const char *
display_name(const char *name, char *out, size_t outlen)
{
	size_t		len = 0;

	for (const unsigned char *p = (const unsigned char *) name; *p && len + 5 < outlen; p++)
	{
		if (*p == '\n')
			len += (size_t) snprintf(out + len, outlen - len, "\\n");
		else if (*p == '\t')
			len += (size_t) snprintf(out + len, outlen - len, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			len += (size_t) snprintf(out + len, outlen - len, "\\x%02x", *p);
		else
			out[len++] = (char) *p;
	}
	out[len] = '\0';
	return out;
}

void
report_summary(FILE *out, const clone_report *r)
{
	int			width = 5;
	char		size[32];
	char		name[512];

	if (r->cat == NULL || r->tables == NULL)
		return;
	for (int i = 0; i < r->cat->ntables; i++)
	{
		int			len = (int) strlen(display_name(r->cat->tables[i].qname, name, sizeof(name)));

		if (len > width)
			width = len > 60 ? 60 : len;
	}
	fprintf(out, "%-*s %12s %10s %7s %8s %8s  %s\n", width, "table", "rows", "bytes", "chunks",
			"seconds", "MB/s", "format");
	for (int i = 0; i < r->cat->ntables; i++)
	{
		const cat_table *t = &r->cat->tables[i];
		const clone_table *ct = &r->tables[i];
		int			planned = r->plan != NULL ? r->plan->tables[i].nchunks : 0;
		char		chunks[32];

		sbuf_format_bytes(ct->bytes, size, sizeof(size));
		if (ct->chunks_done == planned)
			snprintf(chunks, sizeof(chunks), "%d", planned);
		else
			snprintf(chunks, sizeof(chunks), "%d/%d", ct->chunks_done, planned);
		fprintf(out, "%-*s %12llu %10s %7s %8.2f %8.1f  %s\n", width,
				display_name(t->qname, name, sizeof(name)),
				(unsigned long long) ct->rows, size, chunks, ct->seconds,
				mb_per_second(ct->bytes, ct->seconds), t->text_reason ? "text" : "binary");
	}
	sbuf_format_bytes(r->bytes, size, sizeof(size));
	fprintf(out, "%-*s %12llu %10s %7d %8.2f %8.1f\n", width, "total", (unsigned long long) r->rows,
			size, r->chunks_done, r->seconds_data, mb_per_second(r->bytes, r->seconds_data));
	fprintf(out, "\n%-*s %8s  %s\n", width, "step", "seconds", "what, and how fast");
	if (r->data_only || r->seconds_schema == 0)
		fprintf(out, "%-*s %8s  %s\n", width, "schema", "-", r->data_only ? "--data-only" : "done before");
	else
		fprintf(out, "%-*s %8.2f  pre-data: types, functions, %d tables, sequences\n", width, "schema",
				r->seconds_schema, r->cat->ntables);
	fprintf(out, "%-*s %8.2f  %.1f MB/s, %.0f rows/s, %.1f chunks/s\n", width, "data", r->seconds_data,
			mb_per_second(r->bytes, r->seconds_data), per_second((double) r->rows, r->seconds_data),
			per_second(r->chunks_done, r->seconds_data));
	fprintf(out, "%-*s %8.2f  %d set\n", width, "sequences", r->seconds_sequences, r->sequences_set);
	fprintf(out, "%-*s %8.2f  %s%d materialized views refreshed\n", width, "post-data", r->seconds_post,
			r->data_only ? "" : "indexes, constraints, triggers; ", r->cat->nmatviews);
	if (r->verify != NULL)
		fprintf(out, "%-*s %8.2f  %.1f MB/s, %.0f rows/s, %d chunks checked\n", width, "verify",
				r->seconds_verify, mb_per_second(r->verify->bytes, r->seconds_verify),
				per_second((double) r->verify->rows_target, r->seconds_verify), r->verify->chunks_checked);
	fprintf(out, "%-*s %8.2f  %.1f MB/s of data over the whole run\n", width, "total", r->seconds_total,
			mb_per_second(r->bytes, r->seconds_total));
	if (r->seconds_read > 0)
	{
		sbuf_format_bytes(r->spill_peak, size, sizeof(size));
		fprintf(out, "spill: every chunk read %.1f s into the data step, %s%.1f s before the load ended; "
				"at most %s of chunk files on disk\n", r->seconds_read,
				r->snapshot_released ? "the source snapshot released " : "", r->seconds_data - r->seconds_read,
				size);
	}
	if (r->run_id > 0)
		fprintf(out, "run %lld%s%s", (long long) r->run_id, r->resumed ? ", resumed" : "",
				r->best_effort ? ", best effort" : "");
	if (r->run_id > 0 && r->chunks_elsewhere > 0)
		fprintf(out, ": %d chunks were copied before, by an earlier attempt or another process",
				r->chunks_elsewhere);
	if (r->run_id > 0 && r->retries > 0)
		fprintf(out, "%s%d chunk attempts failed and were retried", r->chunks_elsewhere > 0 ? "; " : ": ",
				r->retries);
	if (r->run_id > 0)
		fputs("\n", out);
	for (int i = 0; i < r->cat->ntables; i++)
		if (r->cat->tables[i].text_reason != NULL)
			fprintf(out, "text format: %s: %s\n", display_name(r->cat->tables[i].qname, name, sizeof(name)),
					r->cat->tables[i].text_reason);
}

/* Prints "label: n (a, b, ...)" with the first few names. */
static void
print_names(FILE *out, const char *label, char *const *names, int n)
{
	fprintf(out, "%s %d", label, n);
	for (int i = 0; i < n && i < 10; i++)
		fprintf(out, "%s%s", i == 0 ? " (" : ", ", names[i]);
	fputs(n > 10 ? ", ...)" : n > 0 ? ")" : "", out);
}

void
report_cluster_summary(FILE *out, const cluster_report *r)
{
	int			width = 8;
	int			done = 0;
	char		size[32];
	char		name[512];

	for (int i = 0; i < r->ndatabases; i++)
	{
		int			len = (int) strlen(display_name(r->databases[i].name, name, sizeof(name)));

		if (len > width)
			width = len > 60 ? 60 : len;
	}
	fprintf(out, "%-*s %7s %12s %10s %8s  %s\n", width, "database", "tables", "rows", "bytes", "seconds", "status");
	for (int i = 0; i < r->ndatabases; i++)
	{
		const cluster_database *db = &r->databases[i];
		char		target[600] = "";

		if (strcmp(db->name, db->target_name) != 0)
			snprintf(target, sizeof(target), " (as %s)", display_name(db->target_name, name, sizeof(name)));
		sbuf_format_bytes(db->copied_bytes, size, sizeof(size));
		fprintf(out, "%-*s %7d %12llu %10s %8.2f  %s%s%s%s%s\n", width, display_name(db->name, name, sizeof(name)),
				db->tables, (unsigned long long) db->rows, size, db->seconds,
				db->status == CLUSTER_DB_DONE ? "done"
				: db->status == CLUSTER_DB_FAILED ? "failed: " : "skipped: the run stopped before it",
				db->status == CLUSTER_DB_FAILED ? db->err.msg : "", target, db->created ? ", created" : "",
				db->done_before ? ", before" : db->resumed_run > 0 ? ", resumed" : "");
	}
	if (r->roles_copied)
	{
		print_names(out, "roles: created", r->roles.created, r->roles.ncreated);
		print_names(out, "; there already, left as they are:", r->roles.existing, r->roles.nexisting);
		fprintf(out, "; %d memberships granted\n", r->roles.nmemberships);
	}
	for (int i = 0; i < r->ndatabases; i++)
		done += r->databases[i].status == CLUSTER_DB_DONE;
	fprintf(out, "cluster: %d of %d databases done in %.1f s%s\n", done, r->ndatabases, r->seconds,
			r->failed > 0 ? "; each failed one resumes with the command its error gave" : "");
}

static void
print_diff(FILE *out, const drill_diff *d)
{
	const char *what = d->kind == DRILL_MISSING ? "missing on the target"
		: d->kind == DRILL_EXTRA ? "extra on the target" : d->kind == DRILL_CHANGED ? "changed" : NULL;

	if (what == NULL)
		fprintf(out, "  %s\n", d->detail);
	else if (d->kind == DRILL_CHANGED)
		fprintf(out, "  changed: %s: %s\n", d->key, d->detail);
	else if (d->key != NULL)
		fprintf(out, "  %s: %s\n", what, d->key);
	else if (d->count > 1)
		fprintf(out, "  %s, %llu times: %s\n", what, (unsigned long long) d->count, d->detail);
	else
		fprintf(out, "  %s: %s\n", what, d->detail);
}

/* What a repair did of one chunk, and the rows it repaired. */
static void
print_repair(FILE *out, const verify_report *r, const plan_chunk *pc, const repair_result *res)
{
	char		name[512];
	bool		written = r->repair_sql != NULL;
	const char *what = res->state == REPAIR_ROWS ? (written ? "to repair" : "repaired")
		: res->state == REPAIR_RECOPIED ? (written ? "to re-copy" : "re-copied")
		: res->state == REPAIR_LEFT ? "not repaired" : "repair failed";

	fprintf(out, "%s: table %s chunk %d (%s)", what, display_name(r->source_cat->tables[pc->table].qname, name,
																	sizeof(name)), pc->seq,
			pc->predicate ? pc->predicate : "whole table");
	if (res->state == REPAIR_LEFT || res->state == REPAIR_FAILED)
		fprintf(out, ": %s\n", res->why != NULL ? res->why : "out of memory");
	else if (written)
		fprintf(out, ": %s\n", res->state == REPAIR_RECOPIED ? "more rows differ than may be named one by one"
				: "the rows below");
	else
		fprintf(out, ": %llu rows deleted, %llu copied in, %.1f MB in %.2f s\n", (unsigned long long) res->deleted,
				(unsigned long long) res->inserted, (double) res->bytes / 1e6, res->seconds);
	for (int d = 0; d < res->found.ndiffs; d++)
		print_diff(out, &res->found.diffs[d]);
}

/* The repair's totals, after the findings. */
static void
print_repair_totals(FILE *out, const verify_report *r)
{
	int			chunks = r->chunks_repaired + r->chunks_recopied;

	if (r->repair_sql != NULL)
	{
		fprintf(out, "repair: the statements for %d chunks (%d of them re-copied whole) and %d sequences are in "
				"%s; nothing was changed%s\n", chunks, r->chunks_recopied, r->sequences_set, r->repair_sql,
				r->chunks_left > 0 ? "; some chunks cannot be repaired (above)" : "");
		return;
	}
	fprintf(out, "repair: %d chunks repaired row by row, %d re-copied whole, %d not repaired, %d rolled back; "
			"%llu rows deleted, %llu copied in (%.1f MB); %d sequences set; in %.1f s, checked again in %.1f s\n",
			r->chunks_repaired, r->chunks_recopied, r->chunks_left, r->chunks_repair_failed,
			(unsigned long long) r->rows_deleted, (unsigned long long) r->rows_inserted,
			(double) r->bytes_written / 1e6, r->sequences_set, r->seconds_repair, r->seconds_recheck);
}

void
report_verify_summary(FILE *out, const verify_report *r, bool verbose)
{
	char		name[512];
	int			width = 5;

	for (int i = 0; i < r->nproblems; i++)
		fprintf(out, "difference: %s\n", r->problems[i]);
	if (r->repaired && r->catalog_problems > 0)
		fprintf(out, "not repaired: the tables above.  A table missing on one side, or with other columns, is "
				"made alike by hand, then copied again with clone --data-only --truncate --table NAME\n");
	if (r->source_cat == NULL || r->plan == NULL || r->chunks == NULL)
		return;
	for (int i = 0; i < r->plan->nchunks; i++)
		if (r->chunks[i].repair.state != REPAIR_NONE)
			print_repair(out, r, &r->plan->chunks[i], &r->chunks[i].repair);
	for (int i = 0; i < r->plan->nchunks; i++)
	{
		const plan_chunk *pc = &r->plan->chunks[i];
		const verify_chunk *vc = &r->chunks[i];

		if (vc->status != VERIFY_DIFFERENT || (r->repair_sql != NULL && vc->repair.state != REPAIR_NONE))
			continue;
		fprintf(out, "difference: table %s chunk %d (%s): %llu rows on the source, %llu on the target%s\n",
				display_name(r->source_cat->tables[pc->table].qname, name, sizeof(name)), pc->seq,
				pc->predicate ? pc->predicate : "whole table", (unsigned long long) vc->source.rows,
				(unsigned long long) vc->target.rows,
				vc->source.rows == vc->target.rows ? ", rows differ" : "");
		for (int d = 0; d < vc->drill.ndiffs; d++)
			print_diff(out, &vc->drill.diffs[d]);
		if (vc->drill.truncated && vc->repair.state == REPAIR_NONE)
			fprintf(out, "  (more rows differ in this chunk: the --max-diffs limit was reached)\n");
	}
	if (verbose)
	{
		for (int i = 0; i < r->source_cat->ntables; i++)
		{
			int			len = (int) strlen(display_name(r->source_cat->tables[i].qname, name, sizeof(name)));

			if (len > width)
				width = len > 60 ? 60 : len;
		}
		fprintf(out, "%-*s %12s %12s %7s  %s\n", width, "table", "source rows", "target rows", "chunks", "result");
		for (int i = 0; i < r->source_cat->ntables; i++)
		{
			const verify_table *vt = &r->tables[i];

			fprintf(out, "%-*s %12llu %12llu %7d  %s\n", width,
					display_name(r->source_cat->tables[i].qname, name, sizeof(name)),
					(unsigned long long) vt->rows_source, (unsigned long long) vt->rows_target,
					vt->chunks_checked, !vt->comparable ? "not compared" :
					vt->chunks_different > 0 ? "different" : "equal");
		}
	}
	fprintf(out, "verify: %d tables, %d chunks, %llu rows checked in %.1f s: %s",
			r->tables_compared, r->chunks_checked, (unsigned long long) r->rows_source, r->seconds,
			verify_identical(r) ? "identical\n" : "");
	if (!verify_identical(r))
		fprintf(out, "%d chunks differ, %llu rows named%s, %d catalog differences\n",
				r->chunks_different, (unsigned long long) r->rows_different,
				r->diffs_truncated ? " (stopped at --max-diffs)" : "", r->nproblems);
	if (r->chunks_not_checked > 0)
		fprintf(out, "%d chunks were not checked: the --max-diffs limit was reached first\n",
				r->chunks_not_checked);
	if (r->repaired)
		print_repair_totals(out, r);
}

/* What one database of a cluster verification came to, in a few words. */
static const char *
database_verdict(const cluster_verify_database *db, char *buf, size_t size)
{
	const verify_report *v = db->report;

	if (db->status == CLUSTER_DB_PENDING)
		return "skipped: the run stopped before it";
	if (db->status == CLUSTER_DB_FAILED)
		snprintf(buf, size, "failed: %.1000s", db->err.msg);
	else if (db->missing)
		snprintf(buf, size, "different: missing on the target");
	else if (!cluster_verify_database_different(db))
		snprintf(buf, size, "identical");
	else
		snprintf(buf, size, "different: %d properties, %d tables' catalog entries, %d chunks, %llu rows",
				 db->property_diffs, v->nproblems, v->chunks_different, (unsigned long long) v->rows_different);
	return buf;
}

void
report_cluster_verify_summary(FILE *out, const cluster_verify_report *r, bool verbose)
{
	int			width = 8;
	char		name[512];
	char		verdict[1200];
	int			next = r->role_diffs;

	for (int i = 0; i < r->role_diffs; i++)
		fprintf(out, "difference: %s\n", r->globals.diffs[i]);
	for (int i = 0; i < r->ndatabases; i++)
	{
		const cluster_verify_database *db = &r->databases[i];

		for (int k = 0; k < db->property_diffs; k++)
			fprintf(out, "difference: %s\n", r->globals.diffs[next++]);
		if (db->report != NULL && !verify_identical(db->report))
		{
			fprintf(out, "database %s:\n", display_name(db->name, name, sizeof(name)));
			report_verify_summary(out, db->report, verbose);
		}
	}
	for (int i = 0; i < r->globals.nnotes; i++)
		fprintf(out, "note: %s\n", r->globals.notes[i]);
	for (int i = 0; i < r->ndatabases; i++)
	{
		int			len = (int) strlen(display_name(r->databases[i].name, name, sizeof(name)));

		if (len > width)
			width = len > 60 ? 60 : len;
	}
	fprintf(out, "%-*s %7s %8s %12s %8s  %s\n", width, "database", "tables", "chunks", "rows", "seconds", "result");
	for (int i = 0; i < r->ndatabases; i++)
	{
		const cluster_verify_database *db = &r->databases[i];
		const verify_report *v = db->report;

		fprintf(out, "%-*s %7d %8d %12llu %8.2f  %s\n", width, display_name(db->name, name, sizeof(name)),
				v != NULL ? v->tables_compared : 0, v != NULL ? v->chunks_checked : 0,
				(unsigned long long) (v != NULL ? v->rows_source : 0), db->seconds,
				database_verdict(db, verdict, sizeof(verdict)));
	}
	fprintf(out, "verify: %d databases%s checked in %.1f s: %s", r->ndatabases,
			r->roles_compared ? " and the roles" : "", r->seconds,
			cluster_verify_identical(r) && r->failed == 0 ? "identical\n" : "");
	if (!cluster_verify_identical(r) || r->failed > 0)
		fprintf(out, "%d databases differ, %d role differences, %d databases failed\n", r->different,
				r->role_diffs, r->failed);
}

void
report_cluster_status(FILE *out, const run_database *dbs, int n)
{
	int			width = 8;
	int			running = 0;
	char		name[512];
	char		size[32];

	for (int i = 0; i < n; i++)
	{
		int			len = (int) strlen(display_name(dbs[i].name, name, sizeof(name)));

		if (len > width)
			width = len > 60 ? 60 : len;
	}
	fprintf(out, "%-*s %5s  %-11s %-9s %11s %12s %10s  %s\n", width, "database", "run", "status", "step", "chunks",
			"rows", "bytes", "last error");
	for (int i = 0; i < n; i++)
	{
		const run_database *d = &dbs[i];
		char		chunks[32];

		if (!d->loaded)
		{
			fprintf(out, "%-*s %5s  %s\n", width, display_name(d->name, name, sizeof(name)), "-",
					err_is_set(&d->err) ? d->err.msg : "no record (none ran here, or its run finished)");
			continue;
		}
		running += strcmp(d->run.status, "running") == 0;
		snprintf(chunks, sizeof(chunks), "%d/%d", d->sum.done, d->sum.chunks);
		sbuf_format_bytes(d->sum.bytes, size, sizeof(size));
		fprintf(out, "%-*s %5lld  %-11s %-9s %11s %12llu %10s  %s\n", width, display_name(d->name, name, sizeof(name)),
				(long long) d->run.id, d->run.paused ? "paused" : d->run.status, d->run.step, chunks,
				(unsigned long long) d->sum.rows, size, d->sum.last_error);
	}
	fprintf(out, "cluster: %d databases, %d with a run running\n", n, running);
	for (int i = 0; i < n; i++)
	{
		const run_database *d = &dbs[i];

		if (!d->follows)
			continue;
		fprintf(out, "%s:\n", display_name(d->name, name, sizeof(name)));
		if (d->follow_known)
			report_follow(out, &d->follow);
		else
			fprintf(out, "replication: could not be read: %s\n", d->follow_err.msg);
	}
}

void
report_status(FILE *out, const state_run *run, const state_summary *sum)
{
	char		size[32];
	double		rate;
	double		eta;

	status_rates(sum, &rate, &eta);
	sbuf_format_bytes(sum->bytes, size, sizeof(size));
	fprintf(out, "run %lld: %s, step %s, started %s, %.0f s %s\n", (long long) run->id, run->status,
			run->step, run->started_at, sum->seconds,
			strcmp(run->status, "running") == 0 ? "so far" : "in all");
	fprintf(out, "chunks: %d in all: %d done, %d in flight, %d with a failed attempt, %d waiting\n",
			sum->chunks, sum->done, sum->in_flight, sum->failed,
			sum->chunks - sum->done - sum->in_flight);
	fprintf(out, "data: %llu rows, %s copied, %.1f MB/s", (unsigned long long) sum->rows, size, rate / 1048576.0);
	if (eta > 0)
		fprintf(out, ", about %.0f s left\n", eta);
	else
		fputs("\n", out);
	if (run->max_rate > 0)
	{
		sbuf_format_bytes((uint64_t) run->max_rate, size, sizeof(size));
		fprintf(out, "rate: capped at %s/s", size);
	}
	else
		fputs("rate: no cap", out);
	fprintf(out, "%s, %d %s live\n", run->paused ? ", paused (pgsluice throttle --resume to go on)" : "",
			run->processes, run->processes == 1 ? "process" : "processes");
	if (sum->last_error[0] != '\0')
		fprintf(out, "last error: %s\n", sum->last_error);
}

/* "primary key (a, b)", or "none" */
static void
key_text(const cat_table *t, char *out, size_t outlen)
{
	size_t		n = (size_t) snprintf(out, outlen, "%s", key_kind_name(t->key_kind));

	for (int k = 0; k < t->nkeys && n < outlen; k++)
		n += (size_t) snprintf(out + n, outlen - n, "%s%s", k == 0 ? " (" : ", ", t->keys[k].name);
	if (t->nkeys > 0 && n < outlen)
		snprintf(out + n, outlen - n, ")");
}

void
report_forecast(FILE *out, const forecast *f, int jobs, bool verbose)
{
	const catalog *cat = f->cat;
	int			width = 5;
	int			keyless = 0;
	char		name[256];
	char		size[32];
	char		key[256];

	for (int i = 0; i < cat->ntables; i++)
	{
		int			len = (int) strlen(display_name(cat->tables[i].qname, name, sizeof(name)));

		if (len > width)
			width = len;
	}
	sbuf_format_bytes((uint64_t) f->heap_bytes, size, sizeof(size));
	fprintf(out, "source: PostgreSQL %d; target: PostgreSQL %d; %d tables, %s of heap", f->source_major,
			f->target_major, cat->ntables, size);
	sbuf_format_bytes((uint64_t) f->index_bytes, size, sizeof(size));
	fprintf(out, ", %s of indexes; %d chunks\n\n", size, f->plan->nchunks);
	fprintf(out, "%-*s %10s %12s %7s %6s  %-6s  %s\n", width, "table", "size", "rows (est.)", "split", "chunks",
			"format", "key");
	for (int i = 0; i < cat->ntables; i++)
	{
		const cat_table *t = &cat->tables[i];
		const plan_table *pt = &f->plan->tables[i];

		keyless += t->key_kind == KEY_NONE;
		sbuf_format_bytes((uint64_t) t->bytes, size, sizeof(size));
		key_text(t, key, sizeof(key));
		fprintf(out, "%-*s %10s %12.0f %7s %6d  %-6s  %s\n", width, display_name(t->qname, name, sizeof(name)),
				size, t->reltuples > 0 ? t->reltuples : 0, plan_method_name(pt->method), pt->nchunks,
				t->text_reason ? "text" : "binary", key);
		for (int c = pt->first_chunk; verbose && c < pt->first_chunk + pt->nchunks; c++)
		{
			const plan_chunk *pc = &f->plan->chunks[c];

			sbuf_format_bytes((uint64_t) pc->est_bytes, size, sizeof(size));
			fprintf(out, "    chunk %d (%s%s): %s\n", pc->seq, size, pc->freeze ? ", truncate + freeze" : "",
					pc->predicate != NULL ? pc->predicate : "the whole table");
		}
	}
	if (keyless > 0)
	{
		fprintf(out, "\nno usable key (split into ctid ranges; verify names their rows by content):");
		for (int i = 0; i < cat->ntables; i++)
			if (cat->tables[i].key_kind == KEY_NONE)
				fprintf(out, " %s", display_name(cat->tables[i].qname, name, sizeof(name)));
		fputs("\n", out);
	}
	for (int i = 0; i < cat->ntables; i++)
		if (cat->tables[i].text_reason != NULL)
			fprintf(out, "text format: %s: %s\n", display_name(cat->tables[i].qname, name, sizeof(name)),
					cat->tables[i].text_reason);
	if (f->read_rate > 0)
		fprintf(out, "\nestimate with --jobs %d: about %.0f s (schema %.0f s, data %.0f s, indexes %.0f s), from "
				"a %.1f s read of %s at %.1f MB/s in one session\n", jobs, f->seconds_total, f->seconds_schema,
				f->seconds_data, f->seconds_index, f->sample_seconds,
				display_name(f->sample_table, name, sizeof(name)), f->read_rate / 1048576.0);
	else
		fputs("\nestimate: no rows to read\n", out);
}

void
report_forecast_cluster(FILE *out, const forecast_cluster *fc, int jobs, bool verbose)
{
	int			width = 8;
	char		name[512];
	char		heap[32];
	char		index[32];

	for (int i = 0; i < fc->ndatabases; i++)
	{
		int			len = (int) strlen(display_name(fc->databases[i].name, name, sizeof(name)));

		if (len > width)
			width = len > 60 ? 60 : len;
	}
	for (int i = 0; verbose && i < fc->ndatabases; i++)
		if (fc->databases[i].f != NULL)
		{
			fprintf(out, "database %s:\n", display_name(fc->databases[i].name, name, sizeof(name)));
			report_forecast(out, fc->databases[i].f, jobs, true);
			fputs("\n", out);
		}
	fprintf(out, "%-*s %7s %7s %10s %10s %9s\n", width, "database", "tables", "chunks", "heap", "indexes",
			"estimate");
	for (int i = 0; i < fc->ndatabases; i++)
	{
		const forecast_database *d = &fc->databases[i];

		if (d->f == NULL)
		{
			fprintf(out, "%-*s  failed: %s\n", width, display_name(d->name, name, sizeof(name)), d->err.msg);
			continue;
		}
		sbuf_format_bytes((uint64_t) d->f->heap_bytes, heap, sizeof(heap));
		sbuf_format_bytes((uint64_t) d->f->index_bytes, index, sizeof(index));
		fprintf(out, "%-*s %7d %7d %10s %10s %7.0f s\n", width, display_name(d->name, name, sizeof(name)),
				catalog_user_tables(d->f->cat), d->f->plan->nchunks, heap, index, d->f->seconds_total);
	}
	fprintf(out, "\nestimate with --jobs %d and %d databases at once: about %.0f s (the databases' data and "
			"indexes in turn on the shared workers, their schema steps overlapping)\n", jobs, fc->database_jobs,
			fc->seconds_total);
}

/* The preflight's findings, most severe first, each with its fix (and every object when verbose); the counts last. */
void
report_check(FILE *out, const check_report *r, bool quiet, bool verbose)
{
	char		line[8192];

	for (int severity = CHECK_BLOCKER; severity >= CHECK_OK; severity--)
	{
		if (quiet && severity < CHECK_WARNING)
			break;
		for (int i = 0; i < r->nfindings; i++)
		{
			const check_finding *f = &r->findings[i];

			if ((int) f->severity != severity)
				continue;
			fprintf(out, "%-7s  %-6s  %s%s%s", check_severity_name(f->severity), check_where_name(f->where),
					f->database != NULL ? "database " : "",
					f->database != NULL ? display_name(f->database, line, sizeof(line)) : "",
					f->database != NULL ? ": " : "");
			fprintf(out, "%s [%s]\n", display_name(f->message, line, sizeof(line)), f->code);
			if (f->fix != NULL)
				fprintf(out, "%17sfix: %s\n", "", display_name(f->fix, line, sizeof(line)));
			if (verbose && f->nobjects > CHECK_MAX_NAMED)
			{
				fprintf(out, "%17sall %d:", "", f->nobjects);
				for (int j = 0; j < f->nobjects; j++)
					fprintf(out, "%s %s", j ? "," : "", display_name(f->objects[j], line, sizeof(line)));
				fputs("\n", out);
			}
		}
	}
	fprintf(out, "check: %d blocker%s, %d warning%s, %d note%s\n",
			check_count(r, CHECK_BLOCKER), check_count(r, CHECK_BLOCKER) == 1 ? "" : "s",
			check_count(r, CHECK_WARNING), check_count(r, CHECK_WARNING) == 1 ? "" : "s",
			check_count(r, CHECK_NOTE), check_count(r, CHECK_NOTE) == 1 ? "" : "s");
}


void
report_follow(FILE *out, const run_follow *f)
{
	const follow_state *fs = &f->state;
	char		lag[32];
	char		held[32];

	sbuf_format_bytes((uint64_t) fs->lag_bytes, lag, sizeof(lag));
	sbuf_format_bytes((uint64_t) fs->retained_bytes, held, sizeof(held));
	fprintf(out, "replication: subscription %s %s, %s and %.1f s behind the source%s\n", f->name,
			follow_state_word(fs), lag, fs->lag_seconds,
			fs->apply_errors > 0 ? ", with apply errors (see the target's server log)" : "");
	if (!fs->slot)
		fprintf(out, "slot: %s is missing on the source: the target no longer follows it\n", f->name);
	else
		fprintf(out, "slot: %s holds %s of the source's WAL (wal_status %s)\n", f->name, held, fs->wal_status);
	if (!fs->publication)
		fprintf(out, "publication: %s is missing on the source\n", f->name);
	if (fs->slot && f->slot_wal_limit > 0 && fs->retained_bytes > f->slot_wal_limit)
		log_warning("slot %s holds %s of WAL, more than %s: the source's disk fills while the target is "
					"behind; cut over, or remove the run (pgsluice cleanup)", f->name, held, f->slot_wal_why);
}

void
report_cutover(FILE *out, const cutover_report *r, int n)
{
	for (int k = 0; k < n; k++)
	{
		const cutover_report *d = &r[k];

		if (n > 1)
			fprintf(out, "cutover: database %s, run %lld, %s\n", d->database, (long long) d->run_id,
					d->done ? "cut over" : "not cut over");
		else
			fprintf(out, "cutover: run %lld, %s\n", (long long) d->run_id, d->done ? "cut over"
					: d->verify != NULL && !verify_identical(d->verify) ? "the target differs: replication kept"
					: "not cut over");
		fprintf(out, "  watch for writes  %6.1f s  (%d tables)\n", d->seconds_watch, d->tables);
		fprintf(out, "  catch up          %6.1f s  (to %s)\n", d->seconds_catch_up, d->lsn[0] ? d->lsn : "-");
		fprintf(out, "  sequences         %6.1f s  (%d set)\n", d->seconds_sequences, d->sequences_set);
		if (d->verify != NULL)
			fprintf(out, "  verify            %6.1f s  (%s)\n", d->seconds_verify,
					verify_identical(d->verify) ? "identical" : "different");
		fprintf(out, "  teardown          %6.1f s  (%d objects dropped)\n", d->seconds_teardown, d->dropped);
	}
	fprintf(out, "  write downtime    %6.1f s%s\n", n > 0 ? r[0].seconds_total : 0.0,
			n > 1 ? "  (every database)" : "");
}
