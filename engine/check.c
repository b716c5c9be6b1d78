/*
 * check.c: the preflight of a clone.  See check.h.
 *
 * One session per server, made read-only (default_transaction_read_only)
 * right after it opens, so that nothing the checks run can write.  First
 * each server says what it is (version, user, limits, sessions, settings,
 * one query each), the source's catalog is read as clone reads it
 * (engine/catalog.c), and the source's schemas are listed; then each check
 * in the table at the bottom runs in turn, reading what it needs and adding
 * its findings.  A check that a server refuses becomes a "check_failed"
 * blocker and the others still run; only running out of memory stops the
 * lot.  The target's tables are compared by engine/target.c, the functions
 * clone refuses a target with, so check and clone cannot disagree.
 */
#include "engine/check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/catalog.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/sched.h"
#include "engine/schema.h"
#include "engine/target.h"

#define PLURAL(n, one, many) ((n) == 1 ? (one) : (many))
#define SPILL_RATIO 3			/* zstd level 1 on COPY data: 3.02x on the benchmark (README.md) */
#define BOOTSTRAP_SUPERUSER_OID 10
#define NAME_BYTES 256			/* a role or database name, as the server prints it */

/* The settings read from pg_settings, by their reset values: what a new session starts with. */
static const char *const setting_names[] = {
	"max_connections", "superuser_reserved_connections", "reserved_connections",
	"max_locks_per_transaction", "max_prepared_transactions", "old_snapshot_threshold",
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
	"idle_session_timeout", "default_transaction_read_only", NULL
};

enum
{
	SET_MAX_CONNECTIONS,
	SET_SUPERUSER_RESERVED,
	SET_RESERVED,
	SET_MAX_LOCKS,
	SET_MAX_PREPARED,
	SET_OLD_SNAPSHOT,
	SET_STATEMENT_TIMEOUT,
	SET_LOCK_TIMEOUT,
	SET_IDLE_IN_TRANSACTION,
	SET_IDLE_SESSION,
	SET_READ_ONLY,
	NSETTINGS
};

typedef struct setting
{
	bool		present;		/* the server has it (some are newer or gone) */
	char		value[64];		/* reset_val */
	char		unit[16];
} setting;

/* One server, as the checks see it; all filled by connect_server. */
typedef struct server
{
	PGconn	   *conn;			/* NULL: not connected */
	sl_side		side;
	check_where where;
	const char *name;			/* "source" or "target" */
	int			major;
	char		version[64];	/* server_version, its first word */
	char		user[NAME_BYTES];
	char		database[NAME_BYTES];
	bool		superuser;
	bool		in_recovery;
	char		system_id[32];	/* "": the user may not read it */
	char		database_oid[16];
	check_slots slots;
	setting		settings[NSETTINGS];
} server;

/* A source schema that the schema step creates or fills. */
typedef struct source_schema
{
	char	   *name;			/* as is, not quoted */
	bool		has_relations;
} source_schema;

typedef struct check_ctx
{
	const check_options *opt;
	check_report *r;
	server		src;
	server		dst;
	catalog    *cat;			/* NULL: the source's catalog could not be read */
	int			nschemas;
	source_schema *schemas;		/* NULL when unknown */
	uint8_t    *dst_unreadable; /* per table: the target's user may not read or load it */
	bool		same_cluster;
	sl_err		err;			/* of the check running */
} check_ctx;

/* A growing list of names; out of memory marks it failed, and its owner reports that. */
typedef struct names
{
	int			n;
	int			alloc;
	char	  **items;
	bool		failed;
} names;

static void
names_add(names *l, const char *name)
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

static void
names_fini(names *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static bool
names_has(const names *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], name) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------------------------------
 * The report
 * ---------------------------------------------------------------------------------------------
 */

static void
finding_fini(check_finding *f)
{
	for (int i = 0; i < f->nobjects; i++)
		free(f->objects[i]);
	free(f->objects);
	free(f->message);
	free(f->fix);
}

/* Appends a finding; name_objects: its message names the first objects. */
static void
finding_add(check_report *r, check_severity severity, check_where where, const char *code,
			const char *summary, const char *fix, char *const *objects, int nobjects, bool name_objects)
{
	check_finding f = {severity, where, code, NULL, NULL, 0, NULL};
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
check_add(check_report *r, check_severity severity, check_where where, const char *code,
		  const char *summary, const char *fix, char *const *objects, int nobjects)
{
	finding_add(r, severity, where, code, summary, fix, objects, nobjects, true);
}

/* check_add with the objects of a name list (failed lists mark the report failed). */
static void
add_named(check_report *r, check_severity severity, check_where where, const char *code,
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

/* ---------------------------------------------------------------------------------------------
 * Pure verdicts
 * ---------------------------------------------------------------------------------------------
 */

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

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------------
 */

/* A setting's reset value as PostgreSQL shows it: "5min", "30s", "on". */
static void
format_setting(const setting *s, char *out, size_t outlen)
{
	static const struct
	{
		const char *unit;
		long long	ms;
	}			units[] = {{"h", 3600000}, {"min", 60000}, {"s", 1000}, {"ms", 1}};
	long long	ms;
	char	   *end;

	ms = strtoll(s->value, &end, 10);
	if (*end != '\0' || s->unit[0] == '\0' || ms <= 0)
	{
		snprintf(out, outlen, "%.47s%.15s", s->value, s->unit);
		return;
	}
	for (int i = 0; i < 4; i++)
		if (strcmp(s->unit, units[i].unit) == 0)
			ms *= units[i].ms;
	for (int i = 0; i < 4; i++)
		if (ms % units[i].ms == 0)
		{
			snprintf(out, outlen, "%lld%s", ms / units[i].ms, units[i].unit);
			return;
		}
}

/* True when a setting is set to something other than off/0/-1. */
static bool
setting_on(const setting *s)
{
	return s->present && strcmp(s->value, "0") != 0 && strcmp(s->value, "-1") != 0 &&
		strcmp(s->value, "off") != 0;
}

static int
setting_int(const server *s, int which)
{
	return s->settings[which].present ? atoi(s->settings[which].value) : 0;
}

/* Runs sql on s; a failure fills c->err. */
static int
query(check_ctx *c, server *s, const char *sql, PGresult **res)
{
	return conn_query(s->conn, s->side, sql, res, &c->err);
}

static int
out_of_memory(check_ctx *c)
{
	return err_set(&c->err, SIDE_LOCAL, -ENOMEM, "out of memory checking");
}

/* ---------------------------------------------------------------------------------------------
 * Connecting: what each server is
 * ---------------------------------------------------------------------------------------------
 */

/*
 * A session that takes a connection slot.  pg_stat_activity hides the
 * backend_type of other users' sessions from a user without
 * pg_read_all_stats, but not their database: such a row with a database is
 * counted as a client too (a passing autovacuum worker may count as well).
 */
#define CLIENT_SESSION \
	"(a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.datid IS NOT NULL))"

static int
read_server(check_ctx *c, server *s)
{
	PGresult   *res = NULL;
	sbuf		sql;
	int			rc;

	rc = query(c, s,
			   "SELECT pg_catalog.current_setting('server_version'), pg_catalog.current_setting('server_version_num'),"
			   "       current_user, current_database(), r.rolsuper, pg_catalog.pg_is_in_recovery(),"
			   "       CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')"
			   "            THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END,"
			   "       d.oid, r.rolconnlimit, d.datconnlimit,"
			   "       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a"
			   "         WHERE " CLIENT_SESSION " AND a.pid <> pg_catalog.pg_backend_pid()),"
			   "       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a"
			   "         WHERE " CLIENT_SESSION " AND a.pid <> pg_catalog.pg_backend_pid()"
			   "           AND a.usesysid = r.oid),"
			   "       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a"
			   "         WHERE " CLIENT_SESSION " AND a.pid <> pg_catalog.pg_backend_pid()"
			   "           AND a.datid = d.oid)"
			   " FROM pg_catalog.pg_roles r, pg_catalog.pg_database d"
			   " WHERE r.rolname = current_user AND d.datname = pg_catalog.current_database()", &res);
	if (rc < 0)
		return rc;
	snprintf(s->version, sizeof(s->version), "%s", PQgetvalue(res, 0, 0));
	s->version[strcspn(s->version, " ")] = '\0';	/* "15.18", without the packager's words */
	s->major = atoi(PQgetvalue(res, 0, 1)) / 10000;
	snprintf(s->user, sizeof(s->user), "%s", PQgetvalue(res, 0, 2));
	snprintf(s->database, sizeof(s->database), "%s", PQgetvalue(res, 0, 3));
	s->superuser = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	s->in_recovery = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	snprintf(s->system_id, sizeof(s->system_id), "%s", PQgetvalue(res, 0, 6));
	snprintf(s->database_oid, sizeof(s->database_oid), "%s", PQgetvalue(res, 0, 7));
	s->slots.superuser = s->superuser;
	s->slots.role_limit = atoi(PQgetvalue(res, 0, 8));
	s->slots.database_limit = atoi(PQgetvalue(res, 0, 9));
	s->slots.others = atoi(PQgetvalue(res, 0, 10));
	s->slots.role_sessions = atoi(PQgetvalue(res, 0, 11));
	s->slots.database_sessions = atoi(PQgetvalue(res, 0, 12));
	PQclear(res);

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT name, reset_val, coalesce(unit, '') FROM pg_catalog.pg_settings WHERE name IN (");
	for (int i = 0; setting_names[i] != NULL; i++)
		sbuf_printf(&sql, "%s'%s'", i ? ", " : "", setting_names[i]);
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, s, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int row = 0; row < PQntuples(res); row++)
		for (int i = 0; i < NSETTINGS; i++)
			if (strcmp(PQgetvalue(res, row, 0), setting_names[i]) == 0)
			{
				s->settings[i].present = true;
				snprintf(s->settings[i].value, sizeof(s->settings[i].value), "%s", PQgetvalue(res, row, 1));
				snprintf(s->settings[i].unit, sizeof(s->settings[i].unit), "%s", PQgetvalue(res, row, 2));
			}
	PQclear(res);
	s->slots.max_connections = setting_int(s, SET_MAX_CONNECTIONS);
	if (!s->superuser)
		s->slots.reserved = setting_int(s, SET_SUPERUSER_RESERVED) + setting_int(s, SET_RESERVED);
	return 0;
}

/* Opens s read-only and reads what it is; an unreachable server is a blocker finding. */
static int
connect_server(check_ctx *c, server *s, const char *conninfo)
{
	sl_err		failed;
	char		summary[SL_ERR_MSG_MAX + 64];
	int			rc;

	err_clear(&failed);
	if (conn_open(&s->conn, conninfo, s->side, NULL, &failed) < 0)
	{
		check_add(c->r, CHECK_BLOCKER, s->where, "connection_failed", failed.msg,
				  failed.side == SIDE_USAGE
				  ? "write the connection string as libpq reads it: keyword=value pairs or a "
				  "postgresql:// URI"
				  : "check the connection string (host, port, dbname, user), that the server runs "
				  "and its pg_hba.conf lets this host and user in, and the password (.pgpass, "
				  "PGPASSWORD)", NULL, 0);
		return 0;
	}
	/* whatever a check runs, this session writes nothing */
	if ((rc = conn_exec(s->conn, s->side, "SET default_transaction_read_only = on", &c->err)) < 0 ||
		(rc = read_server(c, s)) < 0)
	{
		snprintf(summary, sizeof(summary), "could not read what the %s server is: %s", s->name, c->err.msg);
		check_add(c->r, CHECK_BLOCKER, s->where, "check_failed", summary,
				  "see the server's message; the checks that need this server were left out", NULL, 0);
		conn_close(&s->conn);
		rc = c->err.code == -ENOMEM ? rc : 0;
		err_clear(&c->err);
	}
	return rc;
}

/* --table: the schema step creates the chosen relations alone, in schemas that must exist. */
static bool
by_table(const check_ctx *c)
{
	return c->opt->filter != NULL && c->opt->filter->n[FILTER_TABLE] > 0;
}

/*
 * The source's schemas that the schema step creates (all but the system's
 * and extensions', or those the schema options choose), or with --table,
 * those of the chosen relations.
 */
static int
read_source_schemas(check_ctx *c)
{
	PGresult   *res;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.relnamespace = n.oid"
				"                          AND r.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))"
				" FROM pg_catalog.pg_namespace n"
				" WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"
				"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class v WHERE v.relnamespace = n.oid"
				"                   AND v.relname = 'pgsluice_state_version')"
				"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
				"                   WHERE d.classid = 'pg_catalog.pg_namespace'::regclass"
				"                     AND d.objid = n.oid AND d.deptype = 'e')");
	if (by_table(c))
	{
		sbuf_append(&sql, " AND n.oid IN (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = ANY ('{0");
		for (int i = 0; i < c->cat->selection.noids; i++)
			sbuf_printf(&sql, ",%u", c->cat->selection.oids[i]);
		sbuf_append(&sql, "}'::pg_catalog.oid[]))");
	}
	else if (!filter_empty(c->opt->filter))
	{
		sbuf_append(&sql, " AND ");
		filter_append_schema_condition(&sql, c->src.conn, c->opt->filter, "n.nspname");
	}
	sbuf_append(&sql, " ORDER BY 1");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->src, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	c->schemas = calloc((size_t) PQntuples(res) + 1, sizeof(source_schema));
	if (c->schemas == NULL)
	{
		PQclear(res);
		return out_of_memory(c);
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		if ((c->schemas[i].name = strdup(PQgetvalue(res, i, 0))) == NULL)
			rc = out_of_memory(c);
		c->schemas[i].has_relations = strcmp(PQgetvalue(res, i, 1), "t") == 0;
		c->nschemas++;
	}
	PQclear(res);
	return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The checks
 * ---------------------------------------------------------------------------------------------
 */

/* Versions; the same database on both sides; a target that takes no writes. */
static int
check_servers(check_ctx *c)
{
	char		summary[1024];
	char		fix[1024];

	if (c->src.conn != NULL && c->dst.conn != NULL)
	{
		if (c->same_cluster && strcmp(c->src.database_oid, c->dst.database_oid) == 0)
			check_add(c->r, CHECK_BLOCKER, CHECK_BOTH, "same_database",
					  "the source and the target are the same database", "give another database as the target",
					  NULL, 0);
		if (check_version_severity(c->src.major, c->dst.major) == CHECK_BLOCKER)
		{
			snprintf(summary, sizeof(summary), "the source runs PostgreSQL %s, the target PostgreSQL %s: "
					 "a target older than its source may refuse the source's schema (pg_dump's output is "
					 "meant for a server of its own major version or a later one) and the binary COPY "
					 "data of some types", c->src.version, c->dst.version);
			snprintf(fix, sizeof(fix), "use a target of PostgreSQL %d or later", c->src.major);
			check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "server_version", summary, fix, NULL, 0);
		}
		else
		{
			snprintf(summary, sizeof(summary), "source PostgreSQL %s, target PostgreSQL %s%s",
					 c->src.version, c->dst.version,
					 c->dst.major > c->src.major ? " (a major-version upgrade)" : "");
			check_add(c->r, CHECK_OK, CHECK_BOTH, "server_version", summary, NULL, NULL, 0);
		}
	}
	if (c->dst.conn != NULL && c->dst.in_recovery)
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_read_only",
				  "the target is a standby (in recovery): it takes no writes",
				  "give the connection string of the primary server", NULL, 0);
	else if (c->dst.conn != NULL && setting_on(&c->dst.settings[SET_READ_ONLY]))
	{
		snprintf(summary, sizeof(summary), "default_transaction_read_only is on for user \"%s\" on "
				 "database \"%s\" of the target: every write of the run would fail", c->dst.user,
				 c->dst.database);
		snprintf(fix, sizeof(fix), "turn it off for the run: ALTER DATABASE \"%s\" SET "
				 "default_transaction_read_only = off (or ALTER ROLE, or the server's configuration, "
				 "wherever it is set)", c->dst.database);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_read_only", summary, fix, NULL, 0);
	}
	return 0;
}

/* A target before 14: the tables that move as text because of it alone. */
static int
check_target_before_14(check_ctx *c)
{
	catalog    *binary = NULL;
	names		slow = {0};
	char		summary[256];
	int			rc;

	if (c->cat == NULL || c->dst.conn == NULL || c->dst.major >= 14)
		return 0;
	if ((rc = catalog_load(c->src.conn, SIDE_SOURCE, 14, c->opt->filter, &binary, &c->err)) < 0)
		return rc;
	for (int i = 0; i < c->cat->ntables; i++)
	{
		const cat_table *t = &c->cat->tables[i];
		const cat_table *on_14 = catalog_find(binary, t->qname);

		if (t->text_reason != NULL && on_14 != NULL && on_14->text_reason == NULL)
			names_add(&slow, t->qname);
	}
	if (slow.n > 0)
	{
		snprintf(summary, sizeof(summary), "the target runs PostgreSQL %d, before 14, which refuses "
				 "arrays and composites of user-defined types in binary format: %d %s as text (slower) "
				 "because of it", c->dst.major, slow.n, PLURAL(slow.n, "table moves", "tables move"));
		add_named(c->r, CHECK_NOTE, CHECK_TARGET, "target_before_14", summary,
				  "a target of PostgreSQL 14 or later takes them in binary format", &slow);
	}
	names_fini(&slow);
	catalog_destroy(binary);
	return 0;
}

/* The source's user may read every table and sequence, through schemas it may use. */
static int
check_source_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		schemas = {0};
	names		unreadable = {0};
	names		secured = {0};
	char		summary[1024];
	char		fix[1024];
	int			rc;

	if (c->cat == NULL)
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT n.nspname, pg_catalog.has_schema_privilege(n.oid, 'USAGE'),"
				"       pg_catalog.format('%I.%I', n.nspname, c.relname),"
				"       pg_catalog.has_table_privilege(c.oid, 'SELECT'),"
				"       c.relkind = 'r' AND c.relrowsecurity AND NOT (u.rolsuper OR u.rolbypassrls)"
				"       AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,"
				"      pg_catalog.pg_roles u"
				" WHERE u.rolname = current_user AND (c.oid IN (0");
	for (int i = 0; i < c->cat->ntables; i++)
		sbuf_printf(&sql, ", %u", c->cat->tables[i].oid);
	sbuf_append(&sql, ") OR (c.relkind = 'S' AND pg_catalog.format('%I.%I', n.nspname, c.relname) IN (''");
	for (int i = 0; i < c->cat->nsequences; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->src.conn, c->cat->sequences[i].qname);
	}
	sbuf_append(&sql, "))) ORDER BY 1, 3");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->src, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0 && !names_has(&schemas, PQgetvalue(res, i, 0)))
			names_add(&schemas, PQgetvalue(res, i, 0));
		if (strcmp(PQgetvalue(res, i, 3), "t") != 0)
			names_add(&unreadable, PQgetvalue(res, i, 2));
		if (strcmp(PQgetvalue(res, i, 4), "t") == 0)
			names_add(&secured, PQgetvalue(res, i, 2));
	}
	PQclear(res);

	if (schemas.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no USAGE privilege on %d of the source's "
				 "schemas that hold tables to copy", c->src.user, schemas.n);
		snprintf(fix, sizeof(fix), "GRANT USAGE ON SCHEMA ... TO \"%s\"%s, or connect as a superuser",
				 c->src.user, c->src.major >= 14
				 ? " (or GRANT pg_read_all_data, which gives USAGE on every schema and SELECT on every table)"
				 : "");
		add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_privileges", summary, fix, &schemas);
	}
	if (unreadable.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not read %d of the source's tables and "
				 "sequences (no SELECT privilege)", c->src.user, unreadable.n);
		snprintf(fix, sizeof(fix), "GRANT SELECT ON them TO \"%s\"%s, or connect as their owner or a "
				 "superuser", c->src.user, c->src.major >= 14 ? " (or GRANT pg_read_all_data)" : "");
		add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_privileges", summary, fix, &unreadable);
	}
	if (schemas.n == 0 && unreadable.n == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may read the source's tables (%d) and sequences (%d)",
				 c->src.user, c->cat->ntables, c->cat->nsequences);
		check_add(c->r, CHECK_OK, CHECK_SOURCE, "source_privileges", summary, NULL, NULL, 0);
	}
	if (secured.n > 0)
	{
		snprintf(summary, sizeof(summary), "row-level security applies to user \"%s\" on %d of the "
				 "source's tables: pgsluice reads with row_security off, so that no policy hides rows "
				 "silently, and the server refuses to read them", c->src.user, secured.n);
		snprintf(fix, sizeof(fix), "connect as the tables' owner, a superuser, or a role with BYPASSRLS "
				 "(ALTER ROLE \"%s\" BYPASSRLS)", c->src.user);
		add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "source_row_security", summary, fix, &secured);
	}
	rc = schemas.failed || unreadable.failed || secured.failed ? out_of_memory(c) : 0;
	names_fini(&schemas);
	names_fini(&unreadable);
	names_fini(&secured);
	return rc;
}

/*
 * Data-only: the target's user may load every table (INSERT, SELECT), set
 * every sequence (UPDATE) and refresh every materialized view (its owner,
 * or from PostgreSQL 17 a role with MAINTAIN).  Returns the findings added.
 */
static int
check_target_table_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		tables = {0};
	names		sequences = {0};
	names		matviews = {0};
	char		summary[1024];
	char		fix[1024];
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), c.relkind,"
				"       pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND CASE c.relkind"
				"         WHEN 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'UPDATE')"
				"         WHEN 'm' THEN pg_catalog.pg_has_role(c.relowner, 'USAGE')%s"
				"         ELSE pg_catalog.has_table_privilege(c.oid, 'INSERT')"
				"              AND pg_catalog.has_table_privilege(c.oid, 'SELECT') END"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				" WHERE c.relkind IN ('r', 'p', 'S', 'm') AND pg_catalog.format('%%I.%%I', n.nspname, c.relname) IN (''",
				c->dst.major >= 17 ? " OR pg_catalog.has_table_privilege(c.oid, 'MAINTAIN')" : "");
	for (int i = 0; i < c->cat->ntables; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->tables[i].qname);
	}
	for (int i = 0; i < c->cat->nsequences; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->sequences[i].qname);
	}
	for (int i = 0; i < c->cat->nmatviews; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->cat->matviews[i]);
	}
	sbuf_append(&sql, ") ORDER BY 1");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *name = PQgetvalue(res, i, 0);
		char		kind = PQgetvalue(res, i, 1)[0];
		const cat_table *t;

		if (strcmp(PQgetvalue(res, i, 2), "t") == 0)
			continue;
		if (kind == 'S')
			names_add(&sequences, name);
		else if (kind == 'm')
			names_add(&matviews, name);
		else
		{
			names_add(&tables, name);
			if ((t = catalog_find(c->cat, name)) != NULL)
				c->dst_unreadable[t - c->cat->tables] = 1;
		}
	}
	PQclear(res);
	if (tables.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not load %d of the target's tables (it needs "
				 "USAGE on their schemas, INSERT and SELECT on them)", c->dst.user, tables.n);
		snprintf(fix, sizeof(fix), "GRANT INSERT, SELECT ON them TO \"%s\" (and USAGE on their schemas), "
				 "or connect as their owner or a superuser", c->dst.user);
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &tables);
	}
	if (sequences.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not set %d of the target's sequences to the "
				 "source's values (it needs UPDATE on them)", c->dst.user, sequences.n);
		snprintf(fix, sizeof(fix), "GRANT UPDATE ON them TO \"%s\", or connect as their owner or a superuser",
				 c->dst.user);
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &sequences);
	}
	if (matviews.n > 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not refresh %d of the target's materialized "
				 "views after the data (only their owner may%s)", c->dst.user, matviews.n,
				 c->dst.major >= 17 ? ", or a role with MAINTAIN on them" : "");
		snprintf(fix, sizeof(fix), "ALTER MATERIALIZED VIEW ... OWNER TO \"%s\"%s, or connect as their "
				 "owner or a superuser", c->dst.user, c->dst.major >= 17 ? " (or GRANT MAINTAIN ON them)" : "");
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &matviews);
	}
	rc = tables.failed || sequences.failed || matviews.failed ? out_of_memory(c)
		: (tables.n > 0) + (sequences.n > 0) + (matviews.n > 0);
	names_fini(&tables);
	names_fini(&sequences);
	names_fini(&matviews);
	return rc;
}

/*
 * The target's user may record the run (CREATE SCHEMA IF NOT EXISTS wants
 * CREATE on the database even when the schema exists; then CREATE TABLE IF
 * NOT EXISTS in it), may create the schema step's objects in the schemas
 * that exist already (public, most often), or, in data-only mode, may load.
 */
static int
check_target_privileges(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		schemas = {0};
	char		summary[1024];
	char		fix[1024];
	int			problems = 0;
	int			rc;

	if (c->dst.conn == NULL)
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (c->opt->loads_only)
		goto loads;				/* the run's record and schema are there: it only loads */
	sbuf_append(&sql, "SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),"
				"       (SELECT pg_catalog.has_schema_privilege(n.oid, 'CREATE')"
				"               AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
				"          FROM pg_catalog.pg_namespace n WHERE n.nspname = ");
	conn_append_literal(&sql, c->dst.conn, c->opt->state_schema);
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_reset(&sql);
	if (rc < 0)
		goto done;
	/* a resumed run's record is there already, and its schema step made what it needed */
	if (!c->opt->recorded && strcmp(PQgetvalue(res, 0, 0), "t") != 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no CREATE privilege on database \"%s\" of the "
				 "target: the run is recorded there, in schema \"%s\", which it creates%s", c->dst.user,
				 c->dst.database, c->opt->state_schema,
				 c->opt->data_only ? "" : ", and the schema step creates the source's schemas");
		snprintf(fix, sizeof(fix), "GRANT CREATE ON DATABASE \"%s\" TO \"%s\", or connect as the "
				 "database's owner or a superuser", c->dst.database, c->dst.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, NULL, 0);
		problems++;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "f") == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" has no CREATE and USAGE privileges on schema "
				 "\"%s\" of the target, where the run is recorded", c->dst.user, c->opt->state_schema);
		snprintf(fix, sizeof(fix), "GRANT USAGE, CREATE ON SCHEMA \"%s\" TO \"%s\", or use another "
				 "--state-schema", c->opt->state_schema, c->dst.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, NULL, 0);
		problems++;
	}
	PQclear(res);
	res = NULL;

loads:
	if ((c->opt->data_only || c->opt->loads_only) && c->cat != NULL)
	{
		if ((rc = check_target_table_privileges(c)) < 0)
			goto done;
		problems += rc;
	}
	else if (!c->opt->data_only && !c->opt->loads_only && !c->opt->recorded && c->schemas != NULL)
	{
		/* the schema step creates objects in the source's schemas that the target has already */
		sbuf_append(&sql, "SELECT n.nspname FROM pg_catalog.pg_namespace n"
					" WHERE NOT (pg_catalog.has_schema_privilege(n.oid, 'CREATE')"
					"            AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'))"
					"   AND n.nspname IN (''");
		for (int i = 0; i < c->nschemas; i++)
			if (c->schemas[i].has_relations)
			{
				sbuf_append(&sql, ", ");
				conn_append_literal(&sql, c->dst.conn, c->schemas[i].name);
			}
		sbuf_append(&sql, ") ORDER BY 1");
		rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->dst, sbuf_str(&sql), &res);
		if (rc < 0)
			goto done;
		for (int i = 0; i < PQntuples(res); i++)
			names_add(&schemas, PQgetvalue(res, i, 0));
		if (schemas.n > 0)
		{
			snprintf(summary, sizeof(summary), "user \"%s\" may not create objects in %d of the target's "
					 "schemas where the source has some (no CREATE privilege; since PostgreSQL 15 only "
					 "the database's owner may create in schema public unless granted)", c->dst.user,
					 schemas.n);
			snprintf(fix, sizeof(fix), "GRANT USAGE, CREATE ON SCHEMA ... TO \"%s\", or connect as the "
					 "database's owner or a superuser", c->dst.user);
			add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_privileges", summary, fix, &schemas);
			problems++;
		}
	}
	if (problems == 0)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may record the run in schema \"%s\" of the target "
				 "and %s", c->dst.user, c->opt->state_schema,
				 c->opt->data_only || c->opt->loads_only ? "load every table" : "create the source's schema");
		check_add(c->r, CHECK_OK, CHECK_TARGET, "target_privileges", summary, NULL, NULL, 0);
	}
	rc = schemas.failed ? out_of_memory(c) : 0;

done:
	PQclear(res);
	sbuf_fini(&sql);
	names_fini(&schemas);
	return rc;
}

/* Data-only: triggers and foreign keys are off while loading only where the user may say so. */
static int
check_replication_role(check_ctx *c)
{
	PGresult   *res;
	char		summary[1024];
	char		fix[1024];
	bool		refused;

	if (c->dst.conn == NULL || !c->opt->data_only)
		return 0;
	/* a session setting, gone with this session; it writes nothing */
	res = PQexec(c->dst.conn, "SET session_replication_role = replica");
	refused = PQresultStatus(res) != PGRES_COMMAND_OK;
	PQclear(res);
	if (!refused)
		PQclear(PQexec(c->dst.conn, "RESET session_replication_role"));
	if (refused)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not set session_replication_role on the "
				 "target (a superuser may): triggers and foreign keys fire while the data loads, chunk "
				 "by chunk in any order, so a foreign key can refuse a row whose parent comes later, "
				 "and triggers run again on rows that fired them on the source", c->dst.user);
		snprintf(fix, sizeof(fix), "load as a superuser%s, or drop the foreign keys and disable the "
				 "triggers for the load", c->dst.major >= 15
				 ? ", or GRANT SET ON PARAMETER session_replication_role TO the user" : "");
		check_add(c->r, CHECK_WARNING, CHECK_TARGET, "replication_role", summary, fix, NULL, 0);
	}
	else
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may set session_replication_role on the target: "
				 "triggers and foreign keys do not fire while the data loads", c->dst.user);
		check_add(c->r, CHECK_OK, CHECK_TARGET, "replication_role", summary, NULL, NULL, 0);
	}
	return 0;
}

/* Tables without a key, tables that move as text, unlogged tables, materialized views. */
static int
check_tables(check_ctx *c)
{
	names		keyless = {0};
	names		unlogged = {0};
	names		matviews = {0};
	char		summary[1024];
	int			rc;

	if (c->cat == NULL)
		return 0;
	for (int i = 0; i < c->cat->ntables; i++)
	{
		const cat_table *t = &c->cat->tables[i];

		if (t->key_kind == KEY_NONE)
			names_add(&keyless, t->qname);
		if (t->persistence == 'u')
			names_add(&unlogged, t->qname);
		if (t->text_reason != NULL)
		{
			snprintf(summary, sizeof(summary), "table %s moves as text, not binary: %s", t->qname,
					 t->text_reason);
			finding_add(c->r, CHECK_NOTE, CHECK_SOURCE, "text_format", summary, NULL,
						(char *const *) &t->qname, 1, false);
		}
	}
	for (int i = 0; i < c->cat->nmatviews; i++)
		names_add(&matviews, c->cat->matviews[i]);
	if (keyless.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d %s no primary key and no unique index usable as one: "
				 "%s, and verify matches their rows by content (a difference names the row, not a key)",
				 keyless.n, PLURAL(keyless.n, "table has", "tables have"), c->src.major >= 14 ? "each is split into heap page ranges (ctid)"
				 : "each is copied as one chunk (ctid ranges need PostgreSQL 14)");
		add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "table_without_key", summary,
				  "where rows have an identity, a primary key gives key-range chunks and differences "
				  "named by key", &keyless);
	}
	if (unlogged.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d unlogged %s unlogged on the target: unlogged tables "
				 "are not written to the WAL, so a crash of the target empties them and its standbys do "
				 "not have them", unlogged.n,
				 PLURAL(unlogged.n, "table is copied and stays", "tables are copied and stay"));
		add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "unlogged_tables", summary, NULL, &unlogged);
	}
	if (matviews.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d materialized %s refreshed on the target after the data "
				 "(REFRESH MATERIALIZED VIEW runs the query there)", matviews.n,
				 PLURAL(matviews.n, "view holds data: it is", "views hold data: they are"));
		add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "materialized_views", summary, NULL, &matviews);
	}
	rc = keyless.failed || unlogged.failed || matviews.failed ? out_of_memory(c) : 0;
	names_fini(&keyless);
	names_fini(&unlogged);
	names_fini(&matviews);
	return rc;
}

static int
check_large_objects(check_ctx *c)
{
	PGresult   *res;
	char		summary[512];
	int			rc;

	if (c->src.conn == NULL)
		return 0;
	if ((rc = query(c, &c->src, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_largeobject_metadata", &res)) < 0)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
	{
		long long	count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

		snprintf(summary, sizeof(summary), "the source holds %lld large object%s: pgsluice does not copy "
				 "large objects", count, PLURAL(count, "", "s"));
		check_add(c->r, CHECK_WARNING, CHECK_SOURCE, "large_objects", summary,
				  "copy them after the clone: pg_dump --format=custom --data-only --blobs "
				  "--exclude-table-data='*.*' --file=lo.dump SOURCE (the large objects alone; pg_dump 16 "
				  "and later also call --blobs --large-objects), then pg_restore --dbname=TARGET lo.dump", NULL, 0);
	}
	PQclear(res);
	return 0;
}

/* Extensions installed on the source that the target cannot install. */
static int
check_extensions(check_ctx *c)
{
	PGresult   *installed = NULL;
	PGresult   *available = NULL;
	names		missing = {0};
	char		summary[512];
	int			rc;

	if (c->src.conn == NULL || c->dst.conn == NULL || c->opt->loads_only)
		return 0;
	if ((rc = query(c, &c->src, "SELECT extname FROM pg_catalog.pg_extension ORDER BY 1", &installed)) < 0 ||
		(rc = query(c, &c->dst, "SELECT name FROM pg_catalog.pg_available_extensions", &available)) < 0)
		goto done;
	for (int i = 0; i < PQntuples(installed); i++)
	{
		bool		found = false;

		for (int j = 0; j < PQntuples(available) && !found; j++)
			found = strcmp(PQgetvalue(installed, i, 0), PQgetvalue(available, j, 0)) == 0;
		if (!found)
			names_add(&missing, PQgetvalue(installed, i, 0));
	}
	if (missing.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the source's extensions %s not available on the target "
				 "(not in its pg_available_extensions), so the schema cannot be created there",
				 missing.n, PLURAL(missing.n, "is", "are"));
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "extension_missing", summary,
				  "install their packages on the target's server (the same major version as the "
				  "target's), or drop them from the source if they are unused", &missing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the source's extensions (%d) are all available on the target",
				 PQntuples(installed));
		check_add(c->r, CHECK_OK, CHECK_TARGET, "extension_missing", summary, NULL, NULL, 0);
	}
	rc = missing.failed ? out_of_memory(c) : 0;

done:
	names_fini(&missing);
	PQclear(installed);
	PQclear(available);
	return rc;
}

/* The names of the problems of one kind (their tables' names when table_names). */
static void
problem_names(const check_ctx *c, const target_problems *found, target_problem_kind kind,
			  bool table_names, names *out)
{
	for (int i = 0; i < found->n; i++)
		if (found->items[i].kind == kind)
			names_add(out, table_names ? c->cat->tables[found->items[i].table].qname : found->items[i].what);
}

/*
 * The source schemas of c->schemas that the target has (present; public
 * left out, as every database has one), or lacks, into out.
 */
static int
target_schemas(check_ctx *c, bool present, names *out)
{
	PGresult   *res = NULL;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT s FROM pg_catalog.unnest(ARRAY[''");
	for (int i = 0; i < c->nschemas; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, c->schemas[i].name);
	}
	sbuf_printf(&sql, "]) s WHERE s <> ''%s AND %sEXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
				" WHERE n.nspname = s) ORDER BY 1", present ? " AND s <> 'public'" : "", present ? "" : "NOT ");
	rc = sbuf_failed(&sql) ? out_of_memory(c) : query(c, &c->dst, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		names_add(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return out->failed ? out_of_memory(c) : 0;
}

/*
 * The schemas the schema step creates must not exist on the target; with
 * --table it creates none, and those of the chosen relations must exist.
 * *nfound: how many are in the way, or missing.
 */
static int
check_target_schemas(check_ctx *c, int *nfound)
{
	bool		need = by_table(c);
	names		found = {0};
	char		summary[512];
	int			rc;

	*nfound = 0;
	if (c->schemas == NULL)
		return 0;
	if ((rc = target_schemas(c, !need, &found)) == 0 && found.n > 0)
	{
		if (need)
		{
			snprintf(summary, sizeof(summary), "with --table the schema step creates the chosen relations "
					 "alone, as pg_dump --table does, and %d of their schemas %s missing on the target",
					 found.n, PLURAL(found.n, "is", "are"));
			add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_schemas_missing", summary,
					  "create them on the target first (CREATE SCHEMA), with the types and functions the "
					  "tables use, or choose with --schema, which creates them", &found);
		}
		else
		{
			snprintf(summary, sizeof(summary), "%d of the source's schemas %s on the target already: the "
					 "schema step's CREATE SCHEMA fails on %s", found.n, PLURAL(found.n, "exists", "exist"),
					 PLURAL(found.n, "it", "them"));
			add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_schemas_exist", summary,
					  "clone into a new, empty database (or drop them from the target), or use --data-only "
					  "to load into the existing schema", &found);
		}
	}
	*nfound = found.n;
	names_fini(&found);
	return rc;
}

/* Data-only: copy columns missing on the target, of another type there, or extra there. */
static int
report_column_problems(check_ctx *c, const target_problems *found)
{
	names		tables = {0};
	sbuf		summary;
	int			ncolumns = 0;
	int			rc;

	sbuf_init(&summary, SBUF_DEFAULT_CAP);
	for (int i = 0; i < found->n; i++)
	{
		const target_problem *p = &found->items[i];
		const char *table = c->cat->tables[p->table].qname;

		if (p->kind != TARGET_COLUMN_MISSING && p->kind != TARGET_COLUMN_TYPE && p->kind != TARGET_COLUMN_EXTRA)
			continue;
		if (ncolumns < CHECK_MAX_NAMED)
			sbuf_printf(&summary, "%s%s", ncolumns ? "; " : "", p->what);
		ncolumns++;
		if (!names_has(&tables, table))
			names_add(&tables, table);
	}
	if (ncolumns > CHECK_MAX_NAMED)
		sbuf_printf(&summary, "; and %d more", ncolumns - CHECK_MAX_NAMED);
	if (ncolumns > 0 && !sbuf_failed(&summary) && !tables.failed)
		finding_add(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_columns_differ", sbuf_str(&summary),
					"make the target's tables match the source's (the same copy columns, of the same types: "
					"pg_dump --schema-only of the source), or clone into an empty database without --data-only",
					tables.items, tables.n, false);
	rc = sbuf_failed(&summary) || tables.failed ? out_of_memory(c) : 0;
	sbuf_fini(&summary);
	names_fini(&tables);
	return rc;
}

/*
 * What the target holds of the source's tables, as clone judges it: in
 * schema mode none of them may be there; in data-only mode all, with the
 * same columns, and empty.
 */
static int
check_target_tables(check_ctx *c)
{
	target_problems found;
	names		list = {0};
	char		summary[512];
	int			nschemas = 0;
	int			rc;

	/* a resumed or joined run's tables are its own; the run checks them against its record */
	if (c->cat == NULL || c->dst.conn == NULL || c->opt->recorded || c->opt->loads_only)
		return 0;
	target_problems_init(&found);
	if ((rc = target_find_conflicts(c->dst.conn, c->cat, c->opt->data_only, &found, &c->err)) < 0)
		goto done;
	if (!c->opt->data_only)
	{
		problem_names(c, &found, TARGET_TABLE_EXISTS, true, &list);
		if (list.n > 0)
		{
			snprintf(summary, sizeof(summary), "%d of the source's tables %s on the target already (clone "
					 "creates them, into an empty database)", list.n, PLURAL(list.n, "exists", "exist"));
			add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_tables_exist", summary,
					  "clone into a new, empty database (or drop those tables from the target), or use "
					  "--data-only to load into the existing tables", &list);
		}
		if ((rc = check_target_schemas(c, &nschemas)) < 0)
			goto done;
		if (list.n == 0 && nschemas == 0)
		{
			if (by_table(c))
				snprintf(summary, sizeof(summary), "none of the chosen tables (%d) exists on the target, "
						 "and their schemas (%d) do", c->cat->ntables, c->nschemas);
			else
				snprintf(summary, sizeof(summary), "none of the source's tables (%d) and schemas (%d) "
						 "exists on the target", c->cat->ntables, c->nschemas);
			check_add(c->r, CHECK_OK, CHECK_TARGET, "target_tables_exist", summary, NULL, NULL, 0);
		}
		goto done;
	}

	problem_names(c, &found, TARGET_TABLE_MISSING, true, &list);
	if (list.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the source's tables %s on the target (--data-only "
				 "loads into existing tables)", list.n, PLURAL(list.n, "does not exist", "do not exist"));
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_table_missing", summary,
				  "create them first (pg_dump --schema-only of the source, loaded into the target), "
				  "or clone without --data-only into an empty database", &list);
	}
	for (int i = 0; i < found.n; i++)
		if (found.items[i].kind == TARGET_TABLE_MISSING)
			c->dst_unreadable[found.items[i].table] = 1;
	names_fini(&list);
	if ((rc = report_column_problems(c, &found)) < 0)
		goto done;
	target_problems_fini(&found);
	target_problems_init(&found);
	if ((rc = target_find_nonempty(c->dst.conn, c->cat, c->dst_unreadable, &found, &c->err)) < 0)
		goto done;
	problem_names(c, &found, TARGET_TABLE_NOT_EMPTY, true, &list);
	if (list.n > 0 && c->opt->truncate)
	{
		snprintf(summary, sizeof(summary), "%d of the target's tables %s rows: --truncate empties %s "
				 "before the load", list.n, PLURAL(list.n, "holds", "hold"), PLURAL(list.n, "it", "them"));
		add_named(c->r, CHECK_NOTE, CHECK_TARGET, "target_tables_not_empty", summary, NULL, &list);
	}
	else if (list.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the target's tables %s rows already", list.n,
				 PLURAL(list.n, "holds", "hold"));
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "target_tables_not_empty", summary,
				  "clone with --truncate (it empties them before the load), or empty them first", &list);
	}
	else
	{
		int			ready = 0;

		for (int i = 0; i < c->cat->ntables; i++)
			ready += !c->dst_unreadable[i];
		if (ready == c->cat->ntables)
		{
			snprintf(summary, sizeof(summary), "the source's tables (%d) all exist on the target, and are "
					 "empty", c->cat->ntables);
			check_add(c->r, CHECK_OK, CHECK_TARGET, "target_tables_not_empty", summary, NULL, NULL, 0);
		}
	}

done:
	if (list.failed)
		rc = out_of_memory(c);
	names_fini(&list);
	target_problems_fini(&found);
	return rc;
}

int
check_source_roles(PGconn *source, check_role **out, int *nout, sl_err *err)
{
	PGresult   *res = NULL;
	check_role *roles;
	char		sql[2048];
	int			rc;

	*out = NULL;
	*nout = 0;
	/*
	 * Owners and grantees come from pg_shdepend (and policies' roles), but
	 * for the bootstrap superuser, whose ownerships are not recorded there;
	 * extensions' objects are left out, as pg_dump leaves them.
	 */
	snprintf(sql, sizeof(sql),
			 "WITH d AS (SELECT d.refobjid AS role, d.deptype FROM pg_catalog.pg_shdepend d"
			 "            WHERE d.dbid = (SELECT oid FROM pg_catalog.pg_database"
			 "                            WHERE datname = pg_catalog.current_database())"
			 "              AND d.refclassid = 'pg_catalog.pg_authid'::regclass"
			 "              AND d.deptype IN ('r', 'o', 'a')"
			 "              AND d.classid <> 'pg_catalog.pg_extension'::regclass"
			 "              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
			 "                              WHERE e.classid = d.classid AND e.objid = d.objid"
			 "                                AND e.deptype = 'e')),"
			 "     boot AS (SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class k"
			 "                JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace"
			 "                WHERE k.relowner = %d AND n.nspname !~ '^pg_'"
			 "                  AND n.nspname <> 'information_schema') AS owns)"
			 " SELECT r.rolname,"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'o')"
			 "          OR (r.oid = %d AND (SELECT owns FROM boot)),"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'a'),"
			 "        EXISTS (SELECT 1 FROM d WHERE d.role = r.oid AND d.deptype = 'r')"
			 " FROM pg_catalog.pg_roles r"
			 " WHERE r.oid IN (SELECT role FROM d) OR (r.oid = %d AND (SELECT owns FROM boot))"
			 " ORDER BY 1", BOOTSTRAP_SUPERUSER_OID, BOOTSTRAP_SUPERUSER_OID, BOOTSTRAP_SUPERUSER_OID);
	if ((rc = conn_query(source, SIDE_SOURCE, sql, &res, err)) < 0)
		return rc;
	if ((roles = calloc((size_t) PQntuples(res) + 1, sizeof(check_role))) == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		check_role *r = &roles[*nout];

		if ((r->name = strdup(PQgetvalue(res, i, 0))) == NULL)
		{
			check_roles_free(roles, *nout);
			PQclear(res);
			return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		}
		r->owns = PQgetvalue(res, i, 1)[0] == 't';
		r->granted = PQgetvalue(res, i, 2)[0] == 't';
		r->in_policies = PQgetvalue(res, i, 3)[0] == 't';
		(*nout)++;
	}
	PQclear(res);
	*out = roles;
	return 0;
}

void
check_roles_free(check_role *roles, int n)
{
	for (int i = 0; roles != NULL && i < n; i++)
		free(roles[i].name);
	free(roles);
}

/*
 * Schema mode: roles that own the source's objects or hold privileges on
 * them must exist on the target, or the schema step (pg_restore, one
 * transaction) fails at the first ALTER ... OWNER TO or GRANT.  The roles
 * are the source's, or with no source (restore) the dump's.
 */
static int
check_roles(check_ctx *c)
{
	PGresult   *there = NULL;
	check_role *found = NULL;
	const check_role *roles = c->opt->roles;
	int			nroles = c->opt->nroles;
	sbuf		sql;
	names		wanted = {0};
	names		missing = {0};
	char		summary[512];
	int			rc = 0;

	if (c->opt->data_only || c->opt->loads_only || c->dst.conn == NULL ||
		(c->src.conn == NULL && roles == NULL) || (c->opt->no_owner && c->opt->no_privileges))
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (c->src.conn != NULL)
	{
		if ((rc = check_source_roles(c->src.conn, &found, &nroles, &c->err)) < 0)
			goto done;
		roles = found;
	}
	for (int i = 0; i < nroles; i++)
		if (roles[i].in_policies || (roles[i].owns && !c->opt->no_owner) ||
			(roles[i].granted && !c->opt->no_privileges))
			names_add(&wanted, roles[i].name);
	sbuf_append(&sql, "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN (''");
	for (int i = 0; i < wanted.n; i++)
	{
		sbuf_append(&sql, ", ");
		conn_append_literal(&sql, c->dst.conn, wanted.items[i]);
	}
	sbuf_append(&sql, ")");
	rc = sbuf_failed(&sql) || wanted.failed ? out_of_memory(c) : query(c, &c->dst, sbuf_str(&sql), &there);
	if (rc < 0)
		goto done;
	for (int i = 0; i < wanted.n; i++)
	{
		bool		present = false;

		for (int j = 0; j < PQntuples(there) && !present; j++)
			present = strcmp(wanted.items[i], PQgetvalue(there, j, 0)) == 0;
		if (!present)
			names_add(&missing, wanted.items[i]);
	}
	if (missing.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d %s on the target: the schema step (one transaction) fails "
				 "at the first", missing.n, PLURAL(missing.n, "role that owns objects of the source "
				 "database or holds privileges on them does not exist", "roles that own objects of the "
				 "source database or hold privileges on them do not exist"));
		add_named(c->r, CHECK_BLOCKER, CHECK_TARGET, "roles_missing", summary,
				  "create them on the target first (pg_dumpall --roles-only on the source prints them), "
				  "or clone with --no-owner --no-privileges", &missing);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the roles that own the source's objects or hold privileges on "
				 "them (%d) all exist on the target", wanted.n);
		check_add(c->r, CHECK_OK, CHECK_TARGET, "roles_missing", summary, NULL, NULL, 0);
	}
	rc = missing.failed ? out_of_memory(c) : 0;

done:
	sbuf_fini(&sql);
	PQclear(there);
	check_roles_free(found, found != NULL ? nroles : 0);
	names_fini(&wanted);
	names_fini(&missing);
	return rc;
}

/* --spill DIR: its file system's free space against the source's data, compressed. */
static int
check_spill(check_ctx *c)
{
	char		dir[PATH_MAX];
	char		summary[PATH_MAX + 512];
	char		fix[1024];
	char		free_text[32];
	char		need_text[32];
	char		heap_text[32];
	struct statvfs vfs;
	int64_t		heap = 0;
	int64_t		need;
	int64_t		free_bytes;

	if (c->opt->spill_dir == NULL)
		return 0;
	/* the directory, or the nearest of its parents that exists (clone makes the rest) */
	snprintf(dir, sizeof(dir), "%s", c->opt->spill_dir);
	while (statvfs(dir, &vfs) != 0)
	{
		char	   *slash = strrchr(dir, '/');

		if (errno != ENOENT)
		{
			snprintf(summary, sizeof(summary), "could not examine the spill directory \"%s\": %s", dir,
					 strerror(errno));
			check_add(c->r, CHECK_BLOCKER, CHECK_LOCAL, "spill_directory", summary,
					  "give a --spill directory that this user may create and write", NULL, 0);
			return 0;
		}
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	if (access(dir, W_OK | X_OK) != 0)
	{
		snprintf(summary, sizeof(summary), "this user may not write in \"%s\"%s: %s", dir,
				 strcmp(dir, c->opt->spill_dir) != 0 ? " (where the spill directory would be made)" : "",
				 strerror(errno));
		check_add(c->r, CHECK_BLOCKER, CHECK_LOCAL, "spill_directory", summary,
				  "give a --spill directory that this user may create and write", NULL, 0);
		return 0;
	}
	if (c->cat == NULL)
		return 0;
	for (int i = 0; i < c->cat->ntables; i++)
		heap += c->cat->tables[i].bytes;
	need = check_spill_need(heap);
	free_bytes = (int64_t) vfs.f_bavail * (int64_t) vfs.f_frsize;
	sbuf_format_bytes(free_bytes, free_text, sizeof(free_text));
	sbuf_format_bytes(need, need_text, sizeof(need_text));
	sbuf_format_bytes(heap, heap_text, sizeof(heap_text));
	if (free_bytes < need)
	{
		/* room for the chunks being written (compression may not help), and a quarter to spare */
		int64_t		limit = (free_bytes - (int64_t) c->opt->jobs * c->opt->chunk_bytes) / 4 * 3;

		snprintf(summary, sizeof(summary), "the spill directory's file system (\"%s\") has %s free; the "
				 "chunk files of the source's %s of tables take about %s (zstd compresses COPY data about "
				 "%dx), all of it at once if the target falls behind the source", dir, free_text,
				 heap_text, need_text, SPILL_RATIO);
		if (limit >= 1024)
			snprintf(fix, sizeof(fix), "cap the files waiting to load with --spill-limit, below the free "
					 "space less the --jobs chunks being written (e.g. --spill-limit %lld%s: readers then "
					 "wait for the loaders), or spill to a larger file system",
					 (long long) (limit >= (1ll << 30) ? limit >> 30 : limit >= (1ll << 20) ? limit >> 20 : limit >> 10),
					 limit >= (1ll << 30) ? "GB" : limit >= (1ll << 20) ? "MB" : "kB");
		else
			snprintf(fix, sizeof(fix), "spill to a file system with more free space");
		check_add(c->r, CHECK_WARNING, CHECK_LOCAL, "spill_space", summary, fix, NULL, 0);
	}
	else
	{
		snprintf(summary, sizeof(summary), "the spill directory's file system (\"%s\") has %s free; the "
				 "chunk files of the source's %s of tables take about %s", dir, free_text, heap_text,
				 need_text);
		check_add(c->r, CHECK_OK, CHECK_LOCAL, "spill_space", summary, NULL, NULL, 0);
	}
	return 0;
}

/* Timeouts and old_snapshot_threshold, as a new session of the run's user would start with them. */
static void
check_settings_of(check_ctx *c, server *s)
{
	static const int timeouts[] = {SET_STATEMENT_TIMEOUT, SET_LOCK_TIMEOUT, SET_IDLE_IN_TRANSACTION};
	names		set = {0};
	char		value[64];
	char		summary[1024];
	char		fix[1024];
	size_t		len;

	if (s->conn == NULL)
		return;
	snprintf(summary, sizeof(summary), "on the %s,", s->name);
	for (int i = 0; i < 3; i++)
	{
		const setting *st = &s->settings[timeouts[i]];

		if (!setting_on(st))
			continue;
		format_setting(st, value, sizeof(value));
		len = strlen(summary);
		snprintf(summary + len, sizeof(summary) - len, "%s %s is %s", set.n ? "," : "",
				 setting_names[timeouts[i]], value);
		names_add(&set, setting_names[timeouts[i]]);
	}
	if (set.n > 0)
	{
		len = strlen(summary);
		snprintf(summary + len, sizeof(summary) - len, ": pgsluice sets %s to 0 in its own sessions, as "
				 "pg_dump and pg_restore do in theirs, so %s not cut a long run short",
				 set.n > 1 ? "them" : "it", set.n > 1 ? "they do" : "it does");
		finding_add(c->r, CHECK_NOTE, s->where, "session_timeouts", summary, NULL, set.items, set.n,
					false);
	}
	if (set.failed)
		c->r->failed = true;
	names_fini(&set);

	if (setting_on(&s->settings[SET_IDLE_SESSION]))
	{
		format_setting(&s->settings[SET_IDLE_SESSION], value, sizeof(value));
		snprintf(summary, sizeof(summary), "idle_session_timeout is %s on the %s: pgsluice leaves it as "
				 "it is, and the server ends a session of the run that waits longer between two "
				 "statements (%s)", value, s->name, s->side == SIDE_SOURCE
				 ? "the snapshot's session, from the moment --spill releases the snapshot until the "
				 "sequences are read" : "the control session, while the workers copy");
		snprintf(fix, sizeof(fix), "turn it off for the run's user: ALTER ROLE \"%s\" SET "
				 "idle_session_timeout = 0", s->user);
		check_add(c->r, CHECK_WARNING, s->where, "idle_session_timeout", summary, fix, NULL, 0);
	}
	if (s->side == SIDE_SOURCE && setting_on(&s->settings[SET_OLD_SNAPSHOT]))
	{
		format_setting(&s->settings[SET_OLD_SNAPSHOT], value, sizeof(value));
		snprintf(summary, sizeof(summary), "old_snapshot_threshold is %s on the source: a snapshot older "
				 "than that can fail a read with \"snapshot too old\", and the run holds its snapshot "
				 "from its start until the last chunk is read", value);
		check_add(c->r, CHECK_WARNING, CHECK_SOURCE, "old_snapshot_threshold", summary,
				  "set old_snapshot_threshold = -1 on the source for the run (a restart), or hold the "
				  "snapshot for a shorter time: --spill releases it once every chunk is read "
				  "(--best-effort takes none, and the copy is then not one point in time)", NULL, 0);
	}
}

static int
check_settings(check_ctx *c)
{
	check_settings_of(c, &c->src);
	check_settings_of(c, &c->dst);
	return 0;
}

/*
 * One server's connection slots against the sessions the run opens there:
 * need, of which --jobs (twice where both sides are one server) are workers.
 */
static void
slots_finding(check_ctx *c, const server *s, check_where where, int need, const char *who)
{
	check_slots slots = s->slots;
	int			held = (where != CHECK_TARGET ? c->opt->held_source : 0) +
		(where != CHECK_SOURCE ? c->opt->held_target : 0);
	int			free_slots;
	int			per_job = where == CHECK_BOTH ? 2 : 1;
	int			fixed = need - per_job * c->opt->jobs;
	char		limits[256];
	char		summary[1024];
	char		fix[1024];

	/* the run's own sessions open now are among those it needs, not others' */
	slots.others = slots.others > held ? slots.others - held : 0;
	slots.role_sessions = slots.role_sessions > held ? slots.role_sessions - held : 0;
	slots.database_sessions = slots.database_sessions > held ? slots.database_sessions - held : 0;
	free_slots = check_free_slots(&slots);
	snprintf(limits, sizeof(limits), "max_connections %d, %d other session%s%s%s%s", slots.max_connections,
			 slots.others, PLURAL(slots.others, "", "s"), slots.reserved > 0 ? ", slots reserved for superusers" : "",
			 s->slots.role_limit >= 0 && !s->superuser ? ", the role's connection limit" : "",
			 s->slots.database_limit >= 0 && !s->superuser ? ", the database's connection limit" : "");
	if (where == CHECK_BOTH)
		snprintf(summary, sizeof(summary), "the source and the target are one server, with %d free "
				 "connection slot%s for user \"%s\" (%s); the run opens %d there (%s)", free_slots,
				 PLURAL(free_slots, "", "s"), s->user, limits, need, who);
	else
		snprintf(summary, sizeof(summary), "the %s has %d free connection slot%s for user \"%s\" (%s); "
				 "the run opens %d there (%s)", s->name, free_slots, PLURAL(free_slots, "", "s"), s->user,
				 limits, need, who);
	if (free_slots >= need)
	{
		check_add(c->r, CHECK_OK, where, "connection_slots", summary, NULL, NULL, 0);
		return;
	}
	if ((free_slots - fixed) / per_job >= 1)
		snprintf(fix, sizeof(fix), "lower --jobs to %d, or raise max_connections (a restart)",
				 (free_slots - fixed) / per_job);
	else
		snprintf(fix, sizeof(fix), "raise max_connections (a restart), or end other sessions");
	check_add(c->r, CHECK_BLOCKER, where, "connection_slots", summary, fix, NULL, 0);
}

static int
check_connections(check_ctx *c)
{
	char		src_who[256];
	char		dst_who[256];
	char		both_who[256];
	int			extra = c->opt->data_only || c->opt->loads_only ? 1 : 2;	/* pg_dump's? */

	/*
	 * The target also has the session that reads the run's rate and pause
	 * (engine/rate.h) during the data step: with the schema step, that is
	 * while pg_restore's leader does not run, so only --data-only needs one
	 * more.
	 */
	int			dst_extra = 2;

	snprintf(src_who, sizeof(src_who), "%d workers%s the snapshot's session%s", c->opt->jobs,
			 extra == 1 ? " and" : ",", extra == 1 ? "" : " and pg_dump's");
	if (c->opt->data_only)
		snprintf(dst_who, sizeof(dst_who), "%d workers, the control session and the one that reads "
				 "the run's rate", c->opt->jobs);
	else
		snprintf(dst_who, sizeof(dst_who), "%d workers, later pg_restore's %d and its leader, and the "
				 "control session", c->opt->jobs, c->opt->jobs);
	snprintf(both_who, sizeof(both_who), "%d workers on each side, and the sessions of the snapshot, "
			 "the control%s", c->opt->jobs, c->opt->data_only ? ", the rate's" : ", pg_dump and pg_restore");
	if (c->same_cluster)
		slots_finding(c, &c->src, CHECK_BOTH, 2 * c->opt->jobs + extra + dst_extra, both_who);
	else
	{
		if (c->src.conn != NULL)
			slots_finding(c, &c->src, CHECK_SOURCE, c->opt->jobs + extra, src_who);
		if (c->dst.conn != NULL)
			slots_finding(c, &c->dst, CHECK_TARGET, c->opt->jobs + dst_extra, dst_who);
	}
	return 0;
}

/* One server's shared lock table against the locks the run holds at once there. */
static void
locks_finding(check_ctx *c, const server *s, check_where where, int64_t need, const char *why)
{
	int64_t		slots_per_lock = (int64_t) s->slots.max_connections + setting_int(s, SET_MAX_PREPARED);
	int64_t		table = (int64_t) setting_int(s, SET_MAX_LOCKS) * slots_per_lock;
	check_severity severity = check_lock_severity(need, table);
	char		summary[1024];
	char		fix[1024];

	snprintf(summary, sizeof(summary), "the run holds about %lld lock%s at once on the %s (%s); its lock "
			 "table has room for %lld (max_locks_per_transaction %d x (max_connections %d + "
			 "max_prepared_transactions %d)), shared by every session%s", (long long) need,
			 PLURAL(need, "", "s"), where == CHECK_BOTH ? "server of both sides" : s->name, why, (long long) table,
			 setting_int(s, SET_MAX_LOCKS), s->slots.max_connections, setting_int(s, SET_MAX_PREPARED),
			 severity == CHECK_BLOCKER ? ": it would run out of shared memory for locks"
			 : severity == CHECK_WARNING ? ": more than half of it" : "");
	snprintf(fix, sizeof(fix), "raise max_locks_per_transaction to %lld or more (a restart)",
			 slots_per_lock > 0 ? (long long) ((2 * need + slots_per_lock - 1) / slots_per_lock) : 64);
	check_add(c->r, severity, where, "lock_table", summary, severity == CHECK_OK ? NULL : fix, NULL, 0);
}

static int
check_locks(check_ctx *c)
{
	char		src_why[256];
	char		dst_why[256];
	int64_t		src_need;
	int64_t		dst_need;

	if (c->cat == NULL)
		return 0;
	src_need = (int64_t) c->cat->ntables * (c->opt->data_only ? 1 : 2);
	dst_need = c->opt->data_only ? 0 : (int64_t) c->cat->ntables + c->cat->nsequences;
	snprintf(src_why, sizeof(src_why), "ACCESS SHARE on every table (%d), in the snapshot's "
			 "transaction%s", c->cat->ntables, c->opt->data_only ? "" : " and in pg_dump's");
	snprintf(dst_why, sizeof(dst_why), "at least one per table and sequence that the schema step "
			 "creates in one transaction");
	if (c->same_cluster)
	{
		char		both_why[1024];

		snprintf(both_why, sizeof(both_why), "%s%s%s", src_why, dst_need > 0 ? "; on the target's side, " : "",
				 dst_need > 0 ? dst_why : "");
		locks_finding(c, &c->src, CHECK_BOTH, src_need + dst_need, both_why);
		return 0;
	}
	locks_finding(c, &c->src, CHECK_SOURCE, src_need, src_why);
	if (c->dst.conn != NULL && dst_need > 0)
		locks_finding(c, &c->dst, CHECK_TARGET, dst_need, dst_why);
	return 0;
}

/* Schema mode: pg_dump and pg_restore of the newer server's major version, found as clone finds them. */
static int
check_tools(check_ctx *c)
{
	schema_tools tools;
	sl_err		missing;
	char		summary[PATH_MAX + 256];
	char		fix[1024];
	int			need;

	if (c->opt->data_only || c->opt->loads_only || c->src.conn == NULL ||
		(c->dst.conn == NULL && c->opt->target != NULL))
		return 0;
	/* dump (no target) needs a pg_dump of the source's version */
	need = c->dst.conn == NULL || c->src.major > c->dst.major ? c->src.major : c->dst.major;
	err_clear(&missing);
	if (schema_find_tools(c->opt->pg_bindir, need, &tools, &missing) == 0)
	{
		snprintf(summary, sizeof(summary), "pg_dump and pg_restore of PostgreSQL %d, for the schema: %s",
				 tools.major, tools.pg_dump);
		check_add(c->r, CHECK_OK, CHECK_LOCAL, "pg_tools", summary, NULL, NULL, 0);
		return 0;
	}
	snprintf(summary, sizeof(summary), "no pg_dump and pg_restore of PostgreSQL %d or later%s%s%s, which "
			 "the schema step needs", need, c->opt->pg_bindir ? " in \"" : " found",
			 c->opt->pg_bindir ? c->opt->pg_bindir : "", c->opt->pg_bindir ? "\"" : "");
	snprintf(fix, sizeof(fix), "install postgresql-client-%d, or name their directory with --pg-bindir",
			 need);
	check_add(c->r, CHECK_BLOCKER, CHECK_LOCAL, "pg_tools", summary, fix, NULL, 0);
	return 0;
}

typedef struct check_step
{
	const char *what;			/* "could not check WHAT: ..." */
	int			(*run) (check_ctx *c);
} check_step;

static const check_step steps[] = {
	{"the servers", check_servers},
	{"the target's version", check_target_before_14},
	{"the source's privileges", check_source_privileges},
	{"the target's privileges", check_target_privileges},
	{"session_replication_role", check_replication_role},
	{"the tables", check_tables},
	{"large objects", check_large_objects},
	{"extensions", check_extensions},
	{"the target's tables", check_target_tables},
	{"roles", check_roles},
	{"the spill directory", check_spill},
	{"settings", check_settings},
	{"connection slots", check_connections},
	{"the lock table", check_locks},
	{"pg_dump and pg_restore", check_tools},
	{NULL, NULL}
};

int
check_run(const check_options *opt, check_report **out, sl_err *err)
{
	check_ctx	c;
	char		summary[SL_ERR_MSG_MAX + 128];
	int			rc = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.opt = opt;
	c.src = (server) {.side = SIDE_SOURCE, .where = CHECK_SOURCE, .name = "source"};
	c.dst = (server) {.side = SIDE_TARGET, .where = CHECK_TARGET, .name = "target"};
	if ((c.r = calloc(1, sizeof(check_report))) == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	err_clear(&c.err);

	if ((opt->source != NULL && (rc = connect_server(&c, &c.src, opt->source)) < 0) ||
		(opt->target != NULL && (rc = connect_server(&c, &c.dst, opt->target)) < 0))
		goto done;
	c.same_cluster = c.src.conn != NULL && c.dst.conn != NULL && c.src.system_id[0] != '\0' &&
		strcmp(c.src.system_id, c.dst.system_id) == 0;
	if (c.src.conn != NULL)
	{
		/* the catalog as clone reads it: the target's version decides which types move as text */
		if ((rc = catalog_load(c.src.conn, SIDE_SOURCE, c.dst.conn != NULL ? c.dst.major : c.src.major, opt->filter,
							   &c.cat, &c.err)) < 0 ||
			(rc = read_source_schemas(&c)) < 0)
		{
			if (c.err.code == -ENOMEM)
				goto done;
			c.r->bad_usage = c.err.side == SIDE_USAGE;
			snprintf(summary, sizeof(summary), "could not read the source's catalog: %s", c.err.msg);
			check_add(c.r, CHECK_BLOCKER, CHECK_SOURCE, "check_failed", summary,
					  "see the server's message; the checks of the source's tables were left out", NULL, 0);
			catalog_destroy(c.cat);
			c.cat = NULL;
			err_clear(&c.err);
			rc = 0;
		}
	}
	if (c.cat != NULL &&
		(c.dst_unreadable = calloc((size_t) c.cat->ntables + 1, 1)) == NULL)
	{
		rc = out_of_memory(&c);
		goto done;
	}
	for (const check_step *step = steps; step->run != NULL && !c.r->failed; step++)
	{
		err_clear(&c.err);
		if ((rc = step->run(&c)) == 0)
			continue;
		if (c.err.code == -ENOMEM)
			goto done;
		snprintf(summary, sizeof(summary), "could not check %s: %s", step->what, c.err.msg);
		check_add(c.r, CHECK_BLOCKER, c.err.side == SIDE_SOURCE ? CHECK_SOURCE : c.err.side == SIDE_TARGET
				  ? CHECK_TARGET : CHECK_LOCAL, "check_failed", summary,
				  "see the server's message; the other checks ran", NULL, 0);
		rc = 0;
	}
	if (c.r->failed)
		rc = out_of_memory(&c);

done:
	if (rc < 0)
		err_take(err, &c.err);
	for (int i = 0; i < c.nschemas; i++)
		free(c.schemas[i].name);
	free(c.schemas);
	free(c.dst_unreadable);
	catalog_destroy(c.cat);
	conn_close(&c.src.conn);
	conn_close(&c.dst.conn);
	*out = c.r;
	return rc;
}

int
check_before_run(const char *command, const check_options *opt, check_shown_fn shown, void *shown_arg,
				 sl_err *err)
{
	check_report *found = NULL;
	double		t = clock_seconds();
	int			blockers;
	sl_side		side = SIDE_LOCAL;
	int			rc;

	if ((rc = check_run(opt, &found, err)) < 0)
		goto done;
	if (shown != NULL)
		shown(found, shown_arg);
	log_verbose("checks: %d blockers, %d warnings in %.2f s", check_count(found, CHECK_BLOCKER),
				check_count(found, CHECK_WARNING), clock_seconds() - t);
	if ((blockers = check_count(found, CHECK_BLOCKER)) == 0)
		goto done;
	/* the target's blockers first, as a target that is not ready exits as a target error */
	for (int i = 0; i < found->nfindings; i++)
	{
		const check_finding *f = &found->findings[i];

		if (f->severity != CHECK_BLOCKER)
			continue;
		if (f->where == CHECK_TARGET || f->where == CHECK_BOTH)
			side = SIDE_TARGET;
		else if (f->where == CHECK_SOURCE && side != SIDE_TARGET)
			side = SIDE_SOURCE;
	}
	if (found->bad_usage)
		side = SIDE_USAGE;		/* as the run itself would have said */
	rc = err_set(err, side, -ECANCELED, "%s is refused before it writes anything: %d %s in the way",
				 command, blockers, PLURAL(blockers, "blocker is", "blockers are"));
	err_hint(err, "Each is listed above with its fix; \"pgsluice check\" with the same options lists them too.");
done:
	check_report_destroy(found);
	return rc;
}
