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
#include "engine/check_int.h"

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

/* The settings read from pg_settings, by their reset values: what a new session starts with. */
static const char *const setting_names[] = {
	"max_connections", "superuser_reserved_connections", "reserved_connections",
	"max_locks_per_transaction", "max_prepared_transactions", "old_snapshot_threshold",
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
	"idle_session_timeout", "default_transaction_read_only", NULL
};

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

	rc = check_query(c, s,
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
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, s, sbuf_str(&sql), &res);
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

int
check_server_room(PGconn *conn, sl_side side, int *free_slots, sl_err *err)
{
	check_ctx	c;
	server		s = {.conn = conn, .side = side, .where = side == SIDE_SOURCE ? CHECK_SOURCE : CHECK_TARGET,
	.name = side == SIDE_SOURCE ? "source" : "target"};
	int			rc;

	memset(&c, 0, sizeof(c));
	err_clear(&c.err);
	*free_slots = 0;
	if ((rc = read_server(&c, &s)) < 0)
		err_take(err, &c.err);
	else
		*free_slots = check_free_slots(&s.slots);
	return rc;
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
		check_names_add(&set, setting_names[timeouts[i]]);
	}
	if (set.n > 0)
	{
		len = strlen(summary);
		snprintf(summary + len, sizeof(summary) - len, ": pgsluice sets %s to 0 in its own sessions, as "
				 "pg_dump and pg_restore do in theirs, so %s not cut a long run short",
				 set.n > 1 ? "them" : "it", set.n > 1 ? "they do" : "it does");
		check_finding_add(c->r, CHECK_NOTE, s->where, "session_timeouts", summary, NULL, set.items, set.n,
					false);
	}
	if (set.failed)
		c->r->failed = true;
	check_names_fini(&set);

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
	int			fixed = need - per_job * c->opt->common.jobs;
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

	snprintf(src_who, sizeof(src_who), "%d workers%s the snapshot's session%s", c->opt->common.jobs,
			 extra == 1 ? " and" : ",", extra == 1 ? "" : " and pg_dump's");
	if (c->opt->data_only)
		snprintf(dst_who, sizeof(dst_who), "%d workers, the control session and the one that reads "
				 "the run's rate", c->opt->common.jobs);
	else
		snprintf(dst_who, sizeof(dst_who), "%d workers, later pg_restore's %d and its leader, and the "
				 "control session", c->opt->common.jobs, c->opt->common.jobs);
	snprintf(both_who, sizeof(both_who), "%d workers on each side, and the sessions of the snapshot, "
			 "the control%s", c->opt->common.jobs, c->opt->data_only ? ", the rate's" : ", pg_dump and pg_restore");
	if (c->same_cluster)
		slots_finding(c, &c->src, CHECK_BOTH, 2 * c->opt->common.jobs + extra + dst_extra, both_who);
	else
	{
		if (c->src.conn != NULL)
			slots_finding(c, &c->src, CHECK_SOURCE, c->opt->common.jobs + extra, src_who);
		if (c->dst.conn != NULL)
			slots_finding(c, &c->dst, CHECK_TARGET, c->opt->common.jobs + dst_extra, dst_who);
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
	{"tablespaces", check_tablespaces},
	{"replication", check_follow},
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

	if ((opt->common.source != NULL && (rc = connect_server(&c, &c.src, opt->common.source)) < 0) ||
		(opt->common.target != NULL && (rc = connect_server(&c, &c.dst, opt->common.target)) < 0))
		goto done;
	c.same_cluster = c.src.conn != NULL && c.dst.conn != NULL && c.src.system_id[0] != '\0' &&
		strcmp(c.src.system_id, c.dst.system_id) == 0;
	if (c.src.conn != NULL)
	{
		/* the catalog as clone reads it: the target's version decides which types move as text */
		if ((rc = catalog_load(c.src.conn, SIDE_SOURCE, c.dst.conn != NULL ? c.dst.major : c.src.major, opt->common.filter,
							   &c.cat, &c.err)) < 0 ||
			(rc = check_read_source_schemas(&c)) < 0)
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
		rc = check_out_of_memory(&c);
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
		rc = check_out_of_memory(&c);

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
