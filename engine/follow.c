/*
 * follow.c: the publication, the slot and the subscription of a follow run,
 * and what the servers say of them.  See follow.h.
 *
 * Every statement names the run's objects through quoted literals and
 * identifiers; the names come from follow_name, never from a database.
 */
#include "engine/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/state.h"

#define POLL_SECONDS 0.1
#define CURRENT_DATABASE_OID "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())"
#define READ_SLOTS "could not read the source's replication slots"
#define READ_SUBSCRIPTIONS "could not read the target's subscriptions"
#define SLOT_RELEASE_SECONDS 15.0	/* a disabled subscription's walsender takes a moment to leave */

static void
pause_seconds(double seconds)
{
	struct timespec ts = {(time_t) seconds, (long) ((seconds - (double) (time_t) seconds) * 1e9)};

	nanosleep(&ts, NULL);
}

int
follow_name(PGconn *target, int64_t run_id, char *out, size_t outlen, sl_err *err)
{
	char		fingerprint[256];
	uint32_t	hash = 2166136261u; /* FNV-1a */
	int			rc;

	if ((rc = state_fingerprint(target, fingerprint, sizeof(fingerprint), err)) < 0)
		return rc;
	for (const char *p = fingerprint; *p != '\0'; p++)
		hash = (hash ^ (uint8_t) *p) * 16777619u;
	snprintf(out, outlen, FOLLOW_PREFIX "%08x_%lld", hash, (long long) run_id);
	return 0;
}

/* Runs the statement built in sql on conn; frees sql. */
static int
exec_sbuf(PGconn *conn, sl_side side, sbuf *sql, sl_err *err)
{
	int			rc = sbuf_failed(sql) ? err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory")
		: conn_exec(conn, side, sbuf_str(sql), err);

	sbuf_fini(sql);
	return rc;
}

int
follow_publication_create(PGconn *source, const catalog *cat, const char *name, sl_err *err)
{
	sbuf		sql;
	int			ntables = catalog_user_tables(cat);
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "DROP PUBLICATION IF EXISTS ");
	conn_append_ident(&sql, source, name);
	if ((rc = exec_sbuf(source, SIDE_SOURCE, &sql, err)) < 0)
		return rc;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "CREATE PUBLICATION ");
	conn_append_ident(&sql, source, name);
	for (int i = 0; i < ntables; i++)
		sbuf_printf(&sql, "%sONLY %s", i == 0 ? " FOR TABLE " : ", ", cat->tables[i].qname);
	sbuf_append(&sql, " WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = false)");
	return exec_sbuf(source, SIDE_SOURCE, &sql, err);
}

int
follow_publication_covers(PGconn *source, const catalog *cat, const char *name, sl_err *err)
{
	PGresult   *res = NULL;
	sbuf		sql;
	int			ntables = catalog_user_tables(cat);
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_publication_rel r"
				" JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE p.pubname = ");
	conn_append_literal(&sql, source, name);
	sbuf_append(&sql, " AND r.prrelid = ANY ('{");
	for (int i = 0; i < ntables; i++)
		sbuf_printf(&sql, "%s%u", i ? "," : "", cat->tables[i].oid);
	sbuf_append(&sql, "}'::pg_catalog.oid[])");
	if ((rc = conn_query_sbuf(source, SIDE_SOURCE, &sql, &res, err)) < 0)
		return rc;
	if (atoi(PQgetvalue(res, 0, 0)) != ntables)
		rc = err_set(err, SIDE_SOURCE, -EAGAIN, "publication \"%s\" holds %s of the run's %d tables: a table "
					 "was created or dropped while the run started", name, PQgetvalue(res, 0, 0), ntables);
	PQclear(res);
	if (rc < 0)
		err_hint(err, "Run the clone again (without --resume): the run's tables are read again.");
	return rc;
}

int
follow_slot_create(const char *conninfo, const char *name, follow_slot *slot, sl_err *err)
{
	conn_settings settings = {NULL, 0, 1};
	PGresult   *res = NULL;
	sbuf		sql;
	int			rc;

	memset(slot, 0, sizeof(*slot));
	if ((rc = conn_open(&slot->repl, conninfo, SIDE_SOURCE, &settings, err)) < 0)
		return rc;
	/* a replication command, not SQL: the name is ours (follow_name), an identifier as it is */
	sbuf_init(&sql, 256);
	sbuf_printf(&sql, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'export')", name);
	if ((rc = conn_query_sbuf(slot->repl, SIDE_SOURCE, &sql, &res, err)) < 0)
	{
		conn_close(&slot->repl);
		return rc;
	}
	/* slot_name, consistent_point, snapshot_name, output_plugin */
	snprintf(slot->lsn, sizeof(slot->lsn), "%s", PQgetvalue(res, 0, 1));
	snprintf(slot->snapshot, sizeof(slot->snapshot), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

void
follow_slot_release(follow_slot *slot)
{
	conn_close(&slot->repl);
}

int
follow_slot_exists(PGconn *source, const char *name, sl_err *err)
{
	follow_state st;
	int			rc;

	if ((rc = follow_read(source, NULL, name, &st, err)) < 0)
		return rc;
	return st.slot;
}

int
follow_subscribe(PGconn *source, PGconn *target, const char *source_conninfo, const char *name, sl_err *err)
{
	const char *params[1] = {name};
	PGresult   *res = NULL;
	sbuf		sql;
	char		lsn[32];
	bool		exists;
	int			rc;

	if ((rc = conn_query_params(source, SIDE_SOURCE, "SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots"
								" WHERE slot_name = $1", 1, params, &res, READ_SLOTS, err)) < 0)
		return rc;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		return err_set(err, SIDE_SOURCE, -ENOENT, "the source has no slot \"%s\": the changes since the copy "
					   "cannot reach the target", name);
	}
	snprintf(lsn, sizeof(lsn), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((rc = conn_query_params(target, SIDE_TARGET, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_subscription"
								" WHERE subname = $1 AND subdbid = " CURRENT_DATABASE_OID, 1, params, &res,
								READ_SUBSCRIPTIONS, err)) < 0)
		return rc;
	exists = atoi(PQgetvalue(res, 0, 0)) > 0;
	PQclear(res);
	if (!exists)
	{
		sbuf_init(&sql, SBUF_DEFAULT_CAP);
		sbuf_append(&sql, "CREATE SUBSCRIPTION ");
		conn_append_ident(&sql, target, name);
		sbuf_append(&sql, " CONNECTION ");
		conn_append_literal(&sql, target, source_conninfo);
		sbuf_append(&sql, " PUBLICATION ");
		conn_append_ident(&sql, target, name);
		sbuf_append(&sql, " WITH (create_slot = false, slot_name = ");
		conn_append_literal(&sql, target, name);
		sbuf_append(&sql, ", copy_data = false, enabled = false)");
		if ((rc = exec_sbuf(target, SIDE_TARGET, &sql, err)) < 0)
			return rc;
		/* the origin starts where the copy's snapshot ends */
		sbuf_init(&sql, SBUF_DEFAULT_CAP);
		sbuf_append(&sql, "SELECT pg_catalog.pg_replication_origin_advance('pg_' || s.oid, ");
		conn_append_literal(&sql, target, lsn);
		sbuf_append(&sql, "::pg_catalog.pg_lsn) FROM pg_catalog.pg_subscription s WHERE s.subname = ");
		conn_append_literal(&sql, target, name);
		sbuf_append(&sql, " AND s.subdbid = " CURRENT_DATABASE_OID);
		if ((rc = exec_sbuf(target, SIDE_TARGET, &sql, err)) < 0)
			return rc;
		log_verbose("follow: subscription %s created, its origin at %s", name, lsn);
	}
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "ALTER SUBSCRIPTION ");
	conn_append_ident(&sql, target, name);
	sbuf_append(&sql, " ENABLE");
	return exec_sbuf(target, SIDE_TARGET, &sql, err);
}

int
follow_read(PGconn *source, PGconn *target, const char *name, follow_state *out, sl_err *err)
{
	const char *params[1] = {name};
	PGresult   *res = NULL;
	int			rc;

	memset(out, 0, sizeof(*out));
	if (source != NULL)
	{
		rc = conn_query_params(source, SIDE_SOURCE,
						  "SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_publication WHERE pubname = $1),"
						  " pg_catalog.pg_current_wal_lsn(), s.slot_name IS NOT NULL, coalesce(s.wal_status, ''),"
						  " coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn), 0)::bigint,"
						  " coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::bigint,"
						  " coalesce(s.confirmed_flush_lsn::text, ''),"
						  " coalesce((SELECT extract(epoch FROM r.replay_lag) FROM pg_catalog.pg_stat_replication r"
						  "   WHERE r.pid = s.active_pid), 0), coalesce(s.active, false)"
						  " FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1",
						  1, params, &res, READ_SLOTS, err);
		if (rc < 0)
			return rc;
		out->publication = atoi(PQgetvalue(res, 0, 0)) > 0;
		snprintf(out->source_lsn, sizeof(out->source_lsn), "%s", PQgetvalue(res, 0, 1));
		out->slot = PQgetvalue(res, 0, 2)[0] == 't';
		snprintf(out->wal_status, sizeof(out->wal_status), "%s", PQgetvalue(res, 0, 3));
		out->retained_bytes = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		out->lag_bytes = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
		snprintf(out->applied_lsn, sizeof(out->applied_lsn), "%s", PQgetvalue(res, 0, 6));
		out->lag_seconds = out->lag_bytes > 0 ? strtod(PQgetvalue(res, 0, 7), NULL) : 0;
		out->slot_active = PQgetvalue(res, 0, 8)[0] == 't';
		if (out->lag_bytes < 0)
			out->lag_bytes = 0;
		PQclear(res);
	}
	if (target != NULL)
	{
		rc = conn_query_params(target, SIDE_TARGET,
						  "SELECT s.subenabled, (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_subscription a"
						  "   WHERE a.subid = s.oid AND a.pid IS NOT NULL AND a.relid IS NULL),"
						  " coalesce((SELECT t.apply_error_count FROM pg_catalog.pg_stat_subscription_stats t"
						  "   WHERE t.subid = s.oid), 0)"
						  " FROM pg_catalog.pg_subscription s WHERE s.subname = $1 AND s.subdbid = "
						  CURRENT_DATABASE_OID, 1, params, &res, READ_SUBSCRIPTIONS, err);
		if (rc < 0)
			return rc;
		if (PQntuples(res) > 0)
		{
			out->subscription = true;
			out->enabled = PQgetvalue(res, 0, 0)[0] == 't';
			out->streaming = atoi(PQgetvalue(res, 0, 1)) > 0;
			out->apply_errors = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		}
		PQclear(res);
	}
	return 0;
}

int64_t
follow_source_free_disk(PGconn *source)
{
	PGresult   *res = NULL;
	sl_err		err;
	char		path[4096];
	uint64_t	identifier = 0;
	unsigned long long want;
	struct statvfs vfs;
	int			fd;
	bool		same;

	err_clear(&err);
	if (conn_query(source, SIDE_SOURCE, "SELECT pg_catalog.current_setting('data_directory', true),"
				   " (SELECT system_identifier FROM pg_catalog.pg_control_system())", &res, &err) < 0)
		return -1;
	if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1) || PQgetvalue(res, 0, 0)[0] != '/')
	{
		PQclear(res);
		return -1;
	}
	want = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(path, sizeof(path), "%s/global/pg_control", PQgetvalue(res, 0, 0));
	/* pg_control begins with the system identifier, in the server's byte order: this host's, if it is here */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	same = fd >= 0 && read(fd, &identifier, sizeof(identifier)) == (ssize_t) sizeof(identifier) &&
		identifier == want;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/pg_wal", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!same || statvfs(path, &vfs) != 0)
		return -1;
	return (int64_t) ((uint64_t) vfs.f_bavail * (uint64_t) vfs.f_frsize);
}

const char *
follow_state_word(const follow_state *s)
{
	return !s->subscription ? "missing" : s->streaming ? "streaming" : s->enabled ? "enabled" : "disabled";
}

int
follow_wait_streaming(PGconn *source, PGconn *target, const char *name, double max_seconds,
					  follow_state *out, sl_err *err)
{
	double		deadline = clock_seconds() + max_seconds;
	int			rc;

	for (;;)
	{
		if ((rc = follow_read(source, target, name, out, err)) < 0)
			return rc;
		/* streaming: the apply worker runs and the slot has a session */
		if (out->streaming && out->slot_active)
			return 0;
		if (clock_seconds() > deadline)
			break;
		pause_seconds(POLL_SECONDS);
	}
	rc = err_set(err, SIDE_TARGET, -ETIMEDOUT, "subscription \"%s\" is %s, not streaming, after %.0f s%s",
				 name, follow_state_word(out), max_seconds,
				 out->apply_errors > 0 ? ": its apply worker failed (see the target's server log)" : "");
	err_hint(err, "The target's server connects to the source itself: give --follow-source a connection "
			 "string that works from the target's host (with its password), and see the target's log.");
	return rc;
}

int
follow_wait_applied(PGconn *source, PGconn *target, const char *name, const char *lsn, double max_seconds,
					sl_err *err)
{
	const char *params[2] = {name, lsn};
	double		deadline = clock_seconds() + max_seconds;
	follow_state st;
	int			rc;

	for (;;)
	{
		PGresult   *res = NULL;
		bool		applied;

		if ((rc = conn_query_params(source, SIDE_SOURCE, "SELECT coalesce(confirmed_flush_lsn >= $2::pg_catalog.pg_lsn,"
									" false) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
									2, params, &res, READ_SLOTS, err)) < 0)
			return rc;
		if (PQntuples(res) == 0)
		{
			PQclear(res);
			return err_set(err, SIDE_SOURCE, -ENOENT, "the source has no slot \"%s\"", name);
		}
		applied = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (applied)
			return 0;
		if (clock_seconds() > deadline)
			break;
		pause_seconds(POLL_SECONDS);
	}
	if ((rc = follow_read(source, target, name, &st, err)) < 0)
		return rc;
	rc = err_set(err, SIDE_TARGET, -ETIMEDOUT, "the target has not applied the source's position %s after "
				 "%.0f s: %lld bytes behind, subscription %s%s", lsn, max_seconds, (long long) st.lag_bytes,
				 follow_state_word(&st), st.apply_errors > 0 ? ", with apply errors (see the target's log)" : "");
	err_hint(err, "Replication keeps running: wait, or give --max-wait more seconds, then run the cutover again.");
	return rc;
}

/* Drops the slot once no session streams from it (a disabled subscription's walsender is leaving). */
static int
drop_slot(PGconn *source, const char *name, int *dropped, sl_err *err)
{
	const char *params[1] = {name};
	double		deadline = clock_seconds() + SLOT_RELEASE_SECONDS;
	PGresult   *res = NULL;
	follow_state st;
	int			rc;

	for (;;)
	{
		if ((rc = follow_read(source, NULL, name, &st, err)) < 0)
			return rc;
		if (!st.slot)
			return 0;
		if (!st.slot_active)
			break;
		if (clock_seconds() > deadline)
			return err_set(err, SIDE_SOURCE, -EBUSY, "slot \"%s\" is still in use on the source after %.0f s",
						   name, SLOT_RELEASE_SECONDS);
		pause_seconds(POLL_SECONDS);
	}
	if ((rc = conn_query_params(source, SIDE_SOURCE, "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, params,
								&res, "could not drop the source's replication slot", err)) < 0)
		return rc;
	PQclear(res);
	(*dropped)++;
	return 0;
}

int
follow_drop(PGconn *source, PGconn *target, const char *name, int *dropped, sl_err *err)
{
	follow_state st;
	sbuf		sql;
	int			rc;

	*dropped = 0;
	if ((rc = follow_read(NULL, target, name, &st, err)) < 0)
		return rc;
	if (st.subscription)
	{
		/* off its slot first: dropping the subscription then leaves the source to us */
		static const char *const steps[] = {" DISABLE", " SET (slot_name = NONE)", NULL};

		for (int i = 0; steps[i] != NULL; i++)
		{
			sbuf_init(&sql, 256);
			sbuf_append(&sql, "ALTER SUBSCRIPTION ");
			conn_append_ident(&sql, target, name);
			sbuf_append(&sql, steps[i]);
			if ((rc = exec_sbuf(target, SIDE_TARGET, &sql, err)) < 0)
				return rc;
		}
		sbuf_init(&sql, 256);
		sbuf_append(&sql, "DROP SUBSCRIPTION ");
		conn_append_ident(&sql, target, name);
		if ((rc = exec_sbuf(target, SIDE_TARGET, &sql, err)) < 0)
			return rc;
		(*dropped)++;
	}
	if (source == NULL)
		return 0;
	if ((rc = drop_slot(source, name, dropped, err)) < 0 ||
		(rc = follow_read(source, NULL, name, &st, err)) < 0)
		return rc;
	if (st.publication)
	{
		sbuf_init(&sql, 256);
		sbuf_append(&sql, "DROP PUBLICATION ");
		conn_append_ident(&sql, source, name);
		if ((rc = exec_sbuf(source, SIDE_SOURCE, &sql, err)) < 0)
			return rc;
		(*dropped)++;
	}
	return 0;
}

int
follow_leftovers(PGconn *source, follow_leftover **out, int *n, sl_err *err)
{
	PGresult   *res = NULL;
	int			rc;

	*out = NULL;
	*n = 0;
	/* LIKE's underscore matches any character: the prefix is compared as it is */
	rc = conn_query(source, SIDE_SOURCE,
					"SELECT 'slot', slot_name, coalesce(database, ''), active,"
					" coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn), 0)::bigint,"
					" coalesce(wal_status, '') FROM pg_catalog.pg_replication_slots"
					" WHERE pg_catalog.left(slot_name, 9) = '" FOLLOW_PREFIX "'"
					" UNION ALL SELECT 'publication', pubname, pg_catalog.current_database(), false, 0, ''"
					" FROM pg_catalog.pg_publication WHERE pg_catalog.left(pubname, 9) = '" FOLLOW_PREFIX "'"
					" ORDER BY 1 DESC, 2", &res, err);
	if (rc < 0)
		return rc;
	if (PQntuples(res) > 0 && (*out = calloc((size_t) PQntuples(res), sizeof(follow_leftover))) == NULL)
	{
		PQclear(res);
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		follow_leftover *l = &(*out)[i];

		snprintf(l->kind, sizeof(l->kind), "%s", PQgetvalue(res, i, 0));
		snprintf(l->name, sizeof(l->name), "%s", PQgetvalue(res, i, 1));
		snprintf(l->database, sizeof(l->database), "%s", PQgetvalue(res, i, 2));
		l->active = PQgetvalue(res, i, 3)[0] == 't';
		l->retained_bytes = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		snprintf(l->wal_status, sizeof(l->wal_status), "%s", PQgetvalue(res, i, 5));
	}
	*n = PQntuples(res);
	PQclear(res);
	return 0;
}
