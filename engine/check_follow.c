/*
 * check_follow.c: the preflight's checks of live follow (see check_int.h):
 * what clone --follow needs of both servers and of every chosen table, and,
 * for every check, the slots and publications pgsluice runs left on the
 * source, since a forgotten slot fills the source's disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "engine/check_int.h"
#include "engine/conn.h"
#include "engine/follow.h"

/* The slots and publications of pgsluice runs on the source: idle slots hold WAL. */
static int
check_leftovers(check_ctx *c)
{
	follow_leftover *found = NULL;
	names		idle = {0};
	names		busy = {0};
	char		summary[512];
	char		item[256];
	char		size[32];
	int64_t		held = 0;
	int			n = 0;
	int			rc;

	if ((rc = follow_leftovers(c->src.conn, &found, &n, &c->err)) < 0)
		return rc;
	for (int i = 0; i < n; i++)
	{
		sbuf_format_bytes((uint64_t) found[i].retained_bytes, size, sizeof(size));
		if (strcmp(found[i].kind, "slot") == 0)
			snprintf(item, sizeof(item), "slot %s (database %s, %s, holding %s of WAL%s%s)", found[i].name,
					 found[i].database, found[i].active ? "streaming" : "idle", size,
					 found[i].wal_status[0] ? ", " : "", found[i].wal_status);
		else
			snprintf(item, sizeof(item), "publication %s (database %s)", found[i].name, found[i].database);
		check_names_add(strcmp(found[i].kind, "slot") == 0 && !found[i].active ? &idle : &busy, item);
		if (!found[i].active)
			held += found[i].retained_bytes;
	}
	free(found);
	if (idle.n > 0)
	{
		sbuf_format_bytes((uint64_t) held, size, sizeof(size));
		snprintf(summary, sizeof(summary), "%d slot%s of pgsluice follow runs on the source %s idle, holding %s "
				 "of WAL that the source cannot remove until %s dropped", idle.n, PLURAL(idle.n, "", "s"),
				 PLURAL(idle.n, "is", "are"), size, PLURAL(idle.n, "it is", "they are"));
		check_add_named(c->r, CHECK_WARNING, CHECK_SOURCE, "follow_slots", summary,
						"\"pgsluice cutover\" ends a follow run, \"pgsluice cleanup --run N\" removes what "
						"a run made (both on the run's target); a slot whose run is gone: "
						"SELECT pg_drop_replication_slot('NAME') on the source", &idle);
	}
	if (busy.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d slot%s and publication%s of pgsluice follow runs on the source",
				 busy.n, "", "");
		check_add_named(c->r, CHECK_NOTE, CHECK_SOURCE, "follow_objects", summary, NULL, &busy);
	}
	rc = idle.failed || busy.failed ? check_out_of_memory(c) : 0;
	check_names_fini(&idle);
	check_names_fini(&busy);
	return rc;
}

/* The servers' settings and roles that a follow run needs. */
static int
check_follow_servers(check_ctx *c)
{
	PGresult   *res = NULL;
	char		summary[512];
	char		fix[512];
	int			rc;

	rc = check_query(c, &c->src,
					 "SELECT pg_catalog.current_setting('wal_level'),"
					 " pg_catalog.current_setting('max_replication_slots')::int"
					 "   - (SELECT pg_catalog.count(*) FROM pg_catalog.pg_replication_slots),"
					 " pg_catalog.current_setting('max_wal_senders')::int"
					 "   - (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_replication),"
					 " r.rolsuper OR r.rolreplication,"
					 " pg_catalog.current_setting('max_slot_wal_keep_size')"
					 " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user", &res);
	if (rc < 0)
		return rc;
	if (c->src.in_recovery)
		check_add(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_standby", "the source is a standby: PostgreSQL "
				  "15 makes no logical slot on a standby", "follow from the primary", NULL, 0);
	if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
	{
		snprintf(summary, sizeof(summary), "the source's wal_level is %s: logical replication needs logical",
				 PQgetvalue(res, 0, 0));
		check_add(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_wal_level", summary,
				  "ALTER SYSTEM SET wal_level = logical on the source, then restart it", NULL, 0);
	}
	if (atoi(PQgetvalue(res, 0, 1)) < 1 && !c->opt->recorded)
		check_add(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_slots_free", "the source has no free replication "
				  "slot (max_replication_slots are all taken)", "raise max_replication_slots on the source "
				  "(a restart), or drop a slot that is no longer used", NULL, 0);
	if (atoi(PQgetvalue(res, 0, 2)) < 1)
		check_add(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_wal_senders", "the source has no free WAL sender "
				  "(max_wal_senders are all streaming)", "raise max_wal_senders on the source (a restart)",
				  NULL, 0);
	if (PQgetvalue(res, 0, 3)[0] != 't')
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not make a replication slot on the source "
				 "(neither REPLICATION nor a superuser)", c->src.user);
		snprintf(fix, sizeof(fix), "ALTER ROLE \"%s\" REPLICATION (and let it own the chosen tables, for the "
				 "publication), or connect as a superuser", c->src.user);
		check_add(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_replication_role", summary, fix, NULL, 0);
	}
	if (strcmp(PQgetvalue(res, 0, 4), "-1") == 0)
		check_add(c->r, CHECK_NOTE, CHECK_SOURCE, "follow_slot_wal", "max_slot_wal_keep_size is -1 on the "
				  "source: the run's slot holds WAL without limit while the target is behind; \"pgsluice "
				  "status\" shows how much, and warns past --max-slot-wal", NULL, NULL, 0);
	else
	{
		snprintf(summary, sizeof(summary), "max_slot_wal_keep_size is %s on the source: a slot that falls "
				 "further behind is lost, and the follow run with it", PQgetvalue(res, 0, 4));
		check_add(c->r, CHECK_NOTE, CHECK_SOURCE, "follow_slot_wal", summary, NULL, NULL, 0);
	}
	PQclear(res);
	if (c->dst.conn != NULL && !c->dst.superuser)
	{
		snprintf(summary, sizeof(summary), "user \"%s\" may not create a subscription on the target "
				 "(PostgreSQL %d wants a superuser%s)", c->dst.user, c->dst.major,
				 c->dst.major >= 16 ? " or a member of pg_create_subscription" : "");
		check_add(c->r, c->dst.major >= 16 ? CHECK_WARNING : CHECK_BLOCKER, CHECK_TARGET,
				  "follow_subscription_role", summary, "connect to the target as a superuser", NULL, 0);
	}
	return 0;
}

/* Every chosen table replicable: a key or a replica identity, and logged. */
static int
check_follow_tables(check_ctx *c)
{
	PGresult   *res = NULL;
	sbuf		sql;
	names		keyless = {0};
	names		unlogged = {0};
	char		summary[512];
	int			rc;

	if (c->cat == NULL)
		return 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relpersistence = 'u',"
				" c.relreplident = 'f' OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
				"   WHERE i.indrelid = c.oid AND i.indisreplident))"
				" OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
				"   WHERE i.indrelid = c.oid AND i.indisprimary))"
				" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				" WHERE c.oid IN (0");
	for (int i = 0; i < catalog_user_tables(c->cat); i++)
		sbuf_printf(&sql, ", %u", c->cat->tables[i].oid);
	sbuf_append(&sql, ") ORDER BY 1");
	rc = sbuf_failed(&sql) ? check_out_of_memory(c) : check_query(c, &c->src, sbuf_str(&sql), &res);
	sbuf_fini(&sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (PQgetvalue(res, i, 1)[0] == 't')
			check_names_add(&unlogged, PQgetvalue(res, i, 0));
		else if (PQgetvalue(res, i, 2)[0] != 't')
			check_names_add(&keyless, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	if (keyless.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the chosen tables %s no primary key and no replica identity: "
				 "in a publication, the source would refuse UPDATE and DELETE on %s", keyless.n,
				 PLURAL(keyless.n, "has", "have"), PLURAL(keyless.n, "it", "them"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_replica_identity", summary,
						"ALTER TABLE ... REPLICA IDENTITY FULL on the source (every column identifies a row), "
						"or add a primary key; or leave the table out with --exclude-table", &keyless);
	}
	if (unlogged.n > 0)
	{
		snprintf(summary, sizeof(summary), "%d of the chosen tables %s unlogged: logical replication cannot "
				 "carry %s changes", unlogged.n, PLURAL(unlogged.n, "is", "are"),
				 PLURAL(unlogged.n, "its", "their"));
		check_add_named(c->r, CHECK_BLOCKER, CHECK_SOURCE, "follow_unlogged", summary,
						"ALTER TABLE ... SET LOGGED on the source, or leave the table out with --exclude-table",
						&unlogged);
	}
	if (keyless.n == 0 && unlogged.n == 0)
	{
		snprintf(summary, sizeof(summary), "every chosen table (%d) can be replicated: a primary key or a "
				 "replica identity", catalog_user_tables(c->cat));
		check_add(c->r, CHECK_OK, CHECK_SOURCE, "follow_replica_identity", summary, NULL, NULL, 0);
	}
	if (catalog_user_tables(c->cat) < c->cat->ntables)
		check_add(c->r, CHECK_WARNING, CHECK_SOURCE, "follow_large_objects", "large objects are copied at the "
				  "run's snapshot, but logical replication does not carry their later changes",
				  "stop writing large objects before the copy starts, or copy them again after the cutover "
				  "(pgsluice verify shows which differ)", NULL, 0);
	rc = keyless.failed || unlogged.failed ? check_out_of_memory(c) : 0;
	check_names_fini(&keyless);
	check_names_fini(&unlogged);
	return rc;
}

int
check_follow(check_ctx *c)
{
	int			rc;

	if (c->src.conn == NULL)
		return 0;
	if ((rc = check_leftovers(c)) < 0 || !c->opt->follow)
		return rc;
	if ((rc = check_follow_servers(c)) < 0)
		return rc;
	return check_follow_tables(c);
}
