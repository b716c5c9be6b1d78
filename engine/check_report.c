/*
 * check_report.c: what every check of the preflight uses (see
 * check_int.h): the report and its findings, most severe first when shown,
 * the lists of names a finding gives, the pure verdicts the unit tests
 * take apart (spill room, versions, locks, slots), and the checks' query
 * helper over a server's read-only session.
 */
#include "engine/check.h"
#include "engine/check_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "engine/conn.h"

void
check_names_add(names *l, const char *name)
{
	char	   *copy;

	if (l->failed)
		return;
	if (l->n == l->alloc)
	{
		int			alloc = l->alloc > 0 ? l->alloc * 2 : 16;
		char	  **items = realloc(l->items, (size_t) alloc * sizeof(char *));

		if (items == NULL)
		{
			l->failed = true;
			return;
		}
		l->items = items;
		l->alloc = alloc;
	}
	if ((copy = strdup(name)) == NULL)
	{
		l->failed = true;
		return;
	}
	l->items[l->n++] = copy;
}

void
check_names_fini(names *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

bool
check_names_has(const names *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], name) == 0)
			return true;
	return false;
}

static void
finding_fini(check_finding *f)
{
	for (int i = 0; i < f->nobjects; i++)
		free(f->objects[i]);
	free(f->objects);
	free(f->message);
	free(f->fix);
	free(f->database);
}

/* Appends a finding; name_objects: its message names the first objects. */
void
check_finding_add(check_report *r, check_severity severity, check_where where, const char *code,
			const char *summary, const char *fix, char *const *objects, int nobjects, bool name_objects)
{
	check_finding f = {severity, where, code, NULL, NULL, 0, NULL, NULL};
	sbuf		msg;
	bool		ok;

	if (r->failed)
		return;
	sbuf_init(&msg, SBUF_DEFAULT_CAP);
	sbuf_append(&msg, summary);
	for (int i = 0; name_objects && i < nobjects && i < CHECK_MAX_NAMED; i++)
		sbuf_printf(&msg, "%s%s", i ? ", " : ": ", objects[i]);
	if (name_objects && nobjects > CHECK_MAX_NAMED)
		sbuf_printf(&msg, ", and %d more", nobjects - CHECK_MAX_NAMED);
	f.message = sbuf_failed(&msg) ? NULL : sbuf_take(&msg);
	sbuf_fini(&msg);
	f.fix = fix != NULL ? strdup(fix) : NULL;
	f.objects = calloc((size_t) nobjects + 1, sizeof(char *));
	ok = f.message != NULL && (fix == NULL || f.fix != NULL) && f.objects != NULL;
	for (int i = 0; ok && i < nobjects; i++)
	{
		ok = (f.objects[i] = strdup(objects[i])) != NULL;
		f.nobjects += ok;
	}
	if (ok && r->nfindings == r->alloc)
	{
		int			alloc = r->alloc > 0 ? r->alloc * 2 : 32;
		check_finding *findings = realloc(r->findings, (size_t) alloc * sizeof(check_finding));

		ok = findings != NULL;
		if (ok)
		{
			r->findings = findings;
			r->alloc = alloc;
		}
	}
	if (ok)
		r->findings[r->nfindings++] = f;
	else
	{
		finding_fini(&f);
		r->failed = true;
	}
}

void
check_add_copy(check_report *r, const check_finding *f, const char *database)
{
	int			before = r->nfindings;

	/* the message has its objects already */
	check_finding_add(r, f->severity, f->where, f->code, f->message, f->fix, f->objects, f->nobjects, false);
	if (r->nfindings > before && database != NULL &&
		(r->findings[before].database = strdup(database)) == NULL)
		r->failed = true;
}

void
check_add(check_report *r, check_severity severity, check_where where, const char *code,
		  const char *summary, const char *fix, char *const *objects, int nobjects)
{
	check_finding_add(r, severity, where, code, summary, fix, objects, nobjects, true);
}

/* check_add with the objects of a name list (failed lists mark the report failed). */
void
check_add_named(check_report *r, check_severity severity, check_where where, const char *code,
		  const char *summary, const char *fix, const names *l)
{
	if (l->failed)
		r->failed = true;
	else
		check_add(r, severity, where, code, summary, fix, l->items, l->n);
}

void
check_report_destroy(check_report *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nfindings; i++)
		finding_fini(&r->findings[i]);
	free(r->findings);
	free(r);
}

int
check_count(const check_report *r, check_severity severity)
{
	int			n = 0;

	for (int i = 0; i < r->nfindings; i++)
		n += r->findings[i].severity == severity;
	return n;
}

check_severity
check_worst(const check_report *r)
{
	check_severity worst = CHECK_OK;

	for (int i = 0; i < r->nfindings; i++)
		if (r->findings[i].severity > worst)
			worst = r->findings[i].severity;
	return worst;
}

const char *
check_severity_name(check_severity severity)
{
	switch (severity)
	{
		case CHECK_NOTE:
			return "note";
		case CHECK_WARNING:
			return "warning";
		case CHECK_BLOCKER:
			return "blocker";
		case CHECK_OK:
			break;
	}
	return "ok";
}

const char *
check_where_name(check_where where)
{
	switch (where)
	{
		case CHECK_TARGET:
			return "target";
		case CHECK_BOTH:
			return "both";
		case CHECK_LOCAL:
			return "local";
		case CHECK_SOURCE:
			break;
	}
	return "source";
}

int64_t
check_spill_need(int64_t heap_bytes)
{
	return heap_bytes > 0 ? heap_bytes / SPILL_RATIO : 0;
}

check_severity
check_version_severity(int source_major, int target_major)
{
	return source_major > target_major ? CHECK_BLOCKER : CHECK_OK;
}

check_severity
check_lock_severity(int64_t locks_needed, int64_t lock_table)
{
	if (locks_needed > lock_table)
		return CHECK_BLOCKER;
	if (locks_needed > lock_table / 2)
		return CHECK_WARNING;
	return CHECK_OK;
}

int
check_free_slots(const check_slots *slots)
{
	int			free_slots = slots->max_connections - slots->reserved - slots->others;

	if (!slots->superuser && slots->role_limit >= 0 &&
		slots->role_limit - slots->role_sessions < free_slots)
		free_slots = slots->role_limit - slots->role_sessions;
	if (!slots->superuser && slots->database_limit >= 0 &&
		slots->database_limit - slots->database_sessions < free_slots)
		free_slots = slots->database_limit - slots->database_sessions;
	return free_slots > 0 ? free_slots : 0;
}

/* Runs sql on s; a failure fills c->err. */
int
check_query(check_ctx *c, server *s, const char *sql, PGresult **res)
{
	return conn_query(s->conn, s->side, sql, res, &c->err);
}

int
check_out_of_memory(check_ctx *c)
{
	return err_set(&c->err, SIDE_LOCAL, -ENOMEM, "out of memory checking");
}

/* --table: the schema step creates the chosen relations alone, in schemas that must exist. */
bool
check_by_table(const check_ctx *c)
{
	return c->opt->common.filter != NULL && c->opt->common.filter->n[FILTER_TABLE] > 0;
}

