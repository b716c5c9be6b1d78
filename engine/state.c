/*
 * state.c: the run and chunk tables in the target.  See state.h.
 *
 * Every statement names the schema through st->schema, quoted once; values
 * travel as parameters, never spliced into the SQL.
 */
#include "engine/state.h"
#include "engine/state_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"

int
state_init(state *st, PGconn *conn, const char *schema, sl_err *err)
{
	size_t		len = strlen(schema);
	char	   *q = malloc(2 * len + 3);
	size_t		n = 0;

	memset(st, 0, sizeof(*st));
	if (q == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	/* always quoted, as PQescapeIdentifier does, so that it needs no connection */
	q[n++] = '"';
	for (size_t i = 0; i < len; i++)
	{
		if (schema[i] == '"')
			q[n++] = '"';
		q[n++] = schema[i];
	}
	q[n++] = '"';
	q[n] = '\0';
	st->conn = conn;
	st->schema = q;
	return 0;
}

void
state_fini(state *st)
{
	free(st->schema);
	st->schema = NULL;
}

/* Runs sql with text parameters; *res (when wanted) gets the rows. */
int
state_exec(state *st, const char *sql, int nparams, const char *const *params, PGresult **res,
			const char *what, sl_err *err)
{
	PGresult   *r;
	ExecStatusType status;
	int			rc;

	if (res != NULL)
		*res = NULL;
	/* the chunks' records go with their rows: a stalled target must not hold them up */
	if ((rc = conn_run(st->conn, SIDE_TARGET, sql, nparams, params, &r, err)) < 0)
		return rc;
	status = PQresultStatus(r);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		rc = conn_fail(st->conn, r, SIDE_TARGET, err, what);
	if (rc == 0 && res != NULL)
	{
		*res = r;
		return 0;
	}
	PQclear(r);
	return rc;
}

/* Formats one statement with the schema name in every %1$s. */
char *
state_sql(const state *st, const char *fmt)
{
	sbuf		sql;

	sbuf_init(&sql, 1 << 16);
	/* every %s in fmt is the schema */
	for (const char *p = fmt; *p != '\0'; p++)
	{
		if (p[0] == '%' && p[1] == 's')
		{
			sbuf_append(&sql, st->schema);
			p++;
		}
		else
			sbuf_appendn(&sql, p, 1);
	}
	if (sbuf_failed(&sql))
	{
		sbuf_fini(&sql);
		return NULL;
	}
	return sbuf_take(&sql);
}

int
state_run_sql(state *st, const char *fmt, int nparams, const char *const *params, PGresult **res,
		const char *what, sl_err *err)
{
	char	   *sql = state_sql(st, fmt);
	int			rc;

	if (sql == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	rc = state_exec(st, sql, nparams, params, res, what, err);
	free(sql);
	return rc;
}

int
state_exists(state *st, sl_err *err)
{
	PGresult   *res = NULL;
	const char *params[1] = {st->schema};
	int			rc;

	rc = state_exec(st, "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
					 " ON n.oid = c.relnamespace WHERE '\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\"' = $1"
					 " AND c.relname = 'pgsluice_state_version'",
					 1, params, &res, "could not look for the state schema on the target", err);
	if (rc < 0)
		return rc;
	rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

/*
 * The marker of a state schema that pgsluice created: only such a schema is
 * dropped with its last run (one the user made, or public, only loses the
 * tables).
 */
#define STATE_SCHEMA_COMMENT "pgsluice: the records of runs; dropped with the last of them"

/* Serialises the processes that create, fill and drop the state schema on one target. */
#define STATE_LOCK "SELECT pg_catalog.pg_advisory_xact_lock(7362198405511);"

int
state_layout(state *st, int *version, sl_err *err)
{
	PGresult   *res;
	int			rc;

	rc = state_run_sql(st, "SELECT coalesce(pg_catalog.max(version), 1) FROM %s.pgsluice_state_version", 0, NULL, &res,
				 "could not read the state schema's version on the target", err);
	if (rc < 0)
		return rc;
	*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Refuses a layout newer than this pgsluice's. */
static int
check_version(state *st, sl_err *err)
{
	int			found;
	int			rc;

	if ((rc = state_layout(st, &found, err)) < 0)
		return rc;
	if (found > STATE_VERSION)
	{
		err_set(err, SIDE_TARGET, -EPROTO, "the state schema %s on the target has layout %d, newer "
				"than this pgsluice's %d", st->schema, found, STATE_VERSION);
		err_hint(err, "Use a newer pgsluice, or --state-schema to keep runs elsewhere.");
		return -EPROTO;
	}
	return 0;
}

/*
 * Layout 2: the run's cap and pause, and the processes that share them; in
 * prepare_in_transaction's transaction, only where missing: ALTER TABLE locks
 * the run table, which the processes of a running run read every second.
 */
static int
upgrade_layout(state *st, sl_err *err)
{
	int			found;
	int			rc;

	if ((rc = state_layout(st, &found, err)) < 0 || found >= 2)
		return rc;
	return state_run_sql(st,
				   "ALTER TABLE %s.run ADD COLUMN IF NOT EXISTS max_rate bigint NOT NULL DEFAULT 0,"
				   "  ADD COLUMN IF NOT EXISTS paused boolean NOT NULL DEFAULT false;"
				   "CREATE TABLE IF NOT EXISTS %s.process ("
				   "  run_id bigint NOT NULL REFERENCES %s.run (id) ON DELETE CASCADE,"
				   "  process text NOT NULL,"
				   "  heartbeat_at timestamptz NOT NULL DEFAULT pg_catalog.now(),"
				   "  PRIMARY KEY (run_id, process));"
				   "UPDATE %s.pgsluice_state_version SET version = 2 WHERE version < 2",
				   0, NULL, NULL, "could not bring the state schema on the target to layout 2", err);
}

/*
 * Refuses a state schema, or a table of ours in it, that belongs to a role
 * other than ours and not to a superuser: the owner of a database may make a
 * schema of that name before the first run, with tables of the same names
 * whose triggers or defaults would run, with our privileges, at our first
 * INSERT; a schema's owner may also replace the tables in it at any time.
 */
int
state_check_owners(state *st, sl_err *err)
{
	const char *params[1] = {st->schema};
	PGresult   *res;
	int			rc;

	rc = state_exec(st, "SELECT CASE WHEN o.relname IS NULL THEN 'schema ' || $1"
					 "            ELSE 'table ' || $1 || '.' || pg_catalog.quote_ident(o.relname) END,"
					 "       pg_catalog.quote_ident(r.rolname)"
					 " FROM (SELECT n.nspowner AS owner, NULL::pg_catalog.name AS relname"
					 "       FROM pg_catalog.pg_namespace n"
					 "       WHERE '\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\"' = $1"
					 "       UNION ALL"
					 "       SELECT c.relowner, c.relname"
					 "       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					 "       WHERE '\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\"' = $1"
					 "         AND c.relname IN ('pgsluice_state_version', 'run', 'run_id_seq', 'chunk',"
					 "                           'process')) o"
					 " JOIN pg_catalog.pg_roles r ON r.oid = o.owner"
					 " WHERE NOT r.rolsuper AND r.rolname <> CURRENT_USER"
					 " ORDER BY o.relname NULLS FIRST LIMIT 1",
					 1, params, &res, "could not read the owner of the state schema on the target", err);
	if (rc < 0)
		return rc;
	if (PQntuples(res) > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EPERM,
					 "the %s on the target belongs to role %s, neither the role pgsluice connects as "
					 "nor a superuser, who could make pgsluice run code of theirs",
					 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		err_hint(err, "Drop it if it is not a record of pgsluice's, or keep the runs' records in a "
				 "schema of your own (--state-schema).");
	}
	PQclear(res);
	return rc;
}

/* The schema and its tables where missing, in the caller's transaction, under STATE_LOCK. */
static int
prepare_in_transaction(state *st, sl_err *err)
{
	PGresult   *res;
	int			rc;

	if ((rc = state_run_sql(st, STATE_LOCK, 0, NULL, NULL, "could not lock the state schema on the target",
					  err)) < 0 ||
		(rc = state_check_owners(st, err)) < 0 ||
		(rc = state_exists(st, err)) < 0)
		return rc;
	if (rc == 0)
	{
		/* CREATE SCHEMA IF NOT EXISTS would leave no trace of whether it created it */
		const char *params[1] = {st->schema};

		rc = state_exec(st, "SELECT 1 FROM pg_catalog.pg_namespace"
						 " WHERE '\"' || pg_catalog.replace(nspname, '\"', '\"\"') || '\"' = $1",
						 1, params, &res, "could not look for the state schema on the target", err);
		if (rc < 0)
			return rc;
		rc = PQntuples(res) == 0
			? state_run_sql(st, "CREATE SCHEMA %s; COMMENT ON SCHEMA %s IS '" STATE_SCHEMA_COMMENT "'",
					  0, NULL, NULL, "could not create the state schema on the target", err)
			: 0;
		PQclear(res);
		if (rc < 0)
			return rc;
	}
	return state_run_sql(st,
				   "CREATE TABLE IF NOT EXISTS %s.pgsluice_state_version (version int NOT NULL);"
				   "INSERT INTO %s.pgsluice_state_version"
				   "  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM %s.pgsluice_state_version);"
				   "CREATE TABLE IF NOT EXISTS %s.run ("
				   "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
				   "  source_fingerprint text NOT NULL,"
				   "  source text NOT NULL,"
				   "  snapshot text,"
				   "  best_effort boolean NOT NULL,"
				   "  options jsonb NOT NULL,"
				   "  status text NOT NULL,"
				   "  step text NOT NULL,"
				   "  started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),"
				   "  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),"
				   "  finished_at timestamptz,"
				   "  last_error text);"
				   "CREATE TABLE IF NOT EXISTS %s.chunk ("
				   "  run_id bigint NOT NULL REFERENCES %s.run (id) ON DELETE CASCADE,"
				   "  chunk_no int NOT NULL,"
				   "  table_name text NOT NULL,"
				   "  seq int NOT NULL,"
				   "  method text NOT NULL,"
				   "  predicate text,"
				   "  est_bytes bigint NOT NULL,"
				   "  frozen boolean NOT NULL,"
				   "  status text NOT NULL DEFAULT 'pending',"
				   "  rows bigint,"
				   "  bytes bigint,"
				   "  source_digest text,"
				   "  target_digest text,"
				   "  attempts int NOT NULL DEFAULT 0,"
				   "  worker text,"
				   "  started_at timestamptz,"
				   "  finished_at timestamptz,"
				   "  last_error text,"
				   "  PRIMARY KEY (run_id, chunk_no))",
				   0, NULL, NULL, "could not create the state schema on the target", err) < 0 ||
		upgrade_layout(st, err) < 0 ||
	/* again: in a schema others may create in, one may have made a table of ours meanwhile */
		state_check_owners(st, err) < 0
		? err->code : check_version(st, err);
}

int
state_attach(state *st, sl_err *err)
{
	int			version;
	int			rc;

	if ((rc = state_exists(st, err)) <= 0)
		return rc;
	if (state_check_owners(st, err) < 0 || check_version(st, err) < 0 || state_layout(st, &version, err) < 0)
		return err->code;
	if (version < STATE_VERSION)
	{
		/* a run recorded by an older pgsluice goes on with what this one needs: the cap, the processes */
		if ((rc = conn_exec_watched(st->conn, SIDE_TARGET, "BEGIN", err)) < 0)
			return rc;
		if ((rc = state_run_sql(st, STATE_LOCK, 0, NULL, NULL, "could not lock the state schema on the target",
						  err)) < 0 ||
			(rc = upgrade_layout(st, err)) < 0 ||
			(rc = conn_exec_watched(st->conn, SIDE_TARGET, "COMMIT", err)) < 0)
		{
			PQclear(PQexec(st->conn, "ROLLBACK"));
			return rc;
		}
	}
	return 1;
}

int
state_run_was(state *st, int64_t run_id, sl_err *err)
{
	char		id[32];
	const char *params[2] = {st->schema, id};
	PGresult   *res;
	int			rc;

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	rc = state_exec(st, "SELECT coalesce(pg_catalog.pg_sequence_last_value("
					 "  pg_catalog.pg_get_serial_sequence($1 || '.run', 'id')), 0) >= $2::bigint",
					 2, params, &res, "could not read the run numbers of the target", err);
	if (rc < 0)
		return rc;
	rc = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

int
state_fingerprint(PGconn *source, char *out, size_t outlen, sl_err *err)
{
	PGresult   *res;
	int			rc;

	/* pg_control_system() only where the role may call it: the rest still tells clusters apart */
	rc = conn_query(source, SIDE_SOURCE,
					"SELECT CASE WHEN pg_catalog.has_function_privilege("
					"  'pg_catalog.pg_control_system()', 'EXECUTE')"
					"  THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system())"
					"  ELSE '?' END || '/' || d.datname || '/' || d.oid"
					" FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()",
					&res, err);
	if (rc < 0)
		return rc;
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
state_run_create(state *st, state_run *run, const char *options_json, sl_err *err)
{
	const char *params[6] = {run->fingerprint, run->source, run->snapshot[0] ? run->snapshot : NULL,
	run->best_effort ? "true" : "false", options_json, STATE_STEP_START};
	PGresult   *res;
	int			rc;

	/* with the schema in one transaction: a run that ends meanwhile may drop it (state_run_forget) */
	if ((rc = conn_exec(st->conn, SIDE_TARGET, "BEGIN", err)) < 0)
		return rc;
	if ((rc = prepare_in_transaction(st, err)) < 0 ||
		(rc = state_run_sql(st, "INSERT INTO %s.run (source_fingerprint, source, snapshot, best_effort, options,"
					  " status, step) VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING id",
					  6, params, &res, "could not record the run on the target", err)) < 0)
	{
		PQclear(PQexec(st->conn, "ROLLBACK"));
		return rc;
	}
	if ((rc = conn_exec(st->conn, SIDE_TARGET, "COMMIT", err)) < 0)
	{
		PQclear(res);
		return rc;
	}
	run->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(run->status, sizeof(run->status), "running");
	snprintf(run->step, sizeof(run->step), STATE_STEP_START);
	PQclear(res);
	return 0;
}


/* The run's live processes, where the layout has them (2 on). */
static int
count_processes(state *st, state_run *run, sl_err *err)
{
	char		id[32];
	char		live[16];
	const char *params[2] = {id, live};
	PGresult   *res;
	int			version;
	int			rc;

	run->processes = 0;
	if ((rc = state_layout(st, &version, err)) < 0 || version < 2)
		return rc;
	snprintf(id, sizeof(id), "%lld", (long long) run->id);
	snprintf(live, sizeof(live), "%d", STATE_PROCESS_LIVE_SECONDS);
	rc = state_run_sql(st, "SELECT pg_catalog.count(*) FROM %s.process WHERE run_id = $1::bigint"
				 " AND heartbeat_at > pg_catalog.now() - pg_catalog.make_interval(secs => $2::int)",
				 2, params, &res, "could not read the run's processes from the target", err);
	if (rc < 0)
		return rc;
	run->processes = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
state_run_load(state *st, const char *which, state_run *run, sl_err *err)
{
	const char *params[1] = {which};
	PGresult   *res;
	char	   *end;
	int			rc;

	memset(run, 0, sizeof(*run));
	if (strcmp(which, "last") != 0 && (strtoll(which, &end, 10) <= 0 || *end != '\0'))
		return err_set(err, SIDE_USAGE, -EINVAL, "invalid run \"%s\": want a run number or \"last\"", which);
	/* a layout 1 record has no max_rate or paused: to_jsonb reads it too, as uncapped */
	rc = state_run_sql(st, "SELECT id, source_fingerprint, source, coalesce(snapshot, ''), best_effort,"
				 " coalesce((options->>'data_only')::boolean, false), status, step,"
				 " coalesce((options->>'follow')::boolean, false),"
				 " pg_catalog.to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'),"
				 " coalesce((pg_catalog.to_jsonb(r)->>'max_rate')::bigint, 0),"
				 " coalesce((pg_catalog.to_jsonb(r)->>'paused')::boolean, false) FROM %s.run r"
				 " WHERE $1 = 'last' OR id::text = $1 ORDER BY id DESC LIMIT 1",
				 1, params, &res, "could not read the run from the target", err);
	if (rc < 0)
		return rc;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return err_set(err, SIDE_USAGE, -ENOENT, "there is no run %s in the state schema %s of the "
					   "target (a run that finished removed its record, unless it ran with "
					   "--keep-record): \"pgsluice status\" shows the last run", which, st->schema);
	}
	run->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(run->fingerprint, sizeof(run->fingerprint), "%s", PQgetvalue(res, 0, 1));
	snprintf(run->source, sizeof(run->source), "%s", PQgetvalue(res, 0, 2));
	snprintf(run->snapshot, sizeof(run->snapshot), "%s", PQgetvalue(res, 0, 3));
	run->best_effort = PQgetvalue(res, 0, 4)[0] == 't';
	run->data_only = PQgetvalue(res, 0, 5)[0] == 't';
	snprintf(run->status, sizeof(run->status), "%s", PQgetvalue(res, 0, 6));
	snprintf(run->step, sizeof(run->step), "%s", PQgetvalue(res, 0, 7));
	run->follow = PQgetvalue(res, 0, 8)[0] == 't';
	snprintf(run->started_at, sizeof(run->started_at), "%s", PQgetvalue(res, 0, 9));
	run->max_rate = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
	run->paused = PQgetvalue(res, 0, 11)[0] == 't';
	PQclear(res);
	return count_processes(st, run, err);
}

int
state_run_filter(state *st, int64_t run_id, cat_filter *f, sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};
	PGresult   *res;
	int			rc;

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	rc = state_run_sql(st, "SELECT k.key, p.value"
				 " FROM %s.run r,"
				 "      pg_catalog.jsonb_each(coalesce(r.options->'filter', '{}'::jsonb)) k,"
				 "      pg_catalog.jsonb_array_elements_text(k.value) WITH ORDINALITY p(value, i)"
				 " WHERE r.id = $1::bigint ORDER BY k.key, p.i",
				 1, params, &res, "could not read the run's table selection from the target", err);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
	{
		int			kind = filter_kind_of(PQgetvalue(res, i, 0));

		if (kind < 0)
			rc = err_set(err, SIDE_TARGET, -EPROTO, "run %lld has an unknown table option \"%s\" in "
						 "its record", (long long) run_id, PQgetvalue(res, i, 0));
		else
			rc = filter_add(f, (filter_kind) kind, PQgetvalue(res, i, 1), err);
	}
	PQclear(res);
	return rc;
}

int
state_run_set(state *st, int64_t run_id, const char *status, const char *step, const char *error,
			  sl_err *err)
{
	char		id[32];
	const char *params[4] = {id, status, step, error};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	return state_run_sql(st, "UPDATE %s.run SET status = coalesce($2, status), step = coalesce($3, step),"
				   " last_error = coalesce($4, last_error), updated_at = pg_catalog.now(),"
				   " finished_at = CASE WHEN coalesce($2, status) = 'running' THEN NULL ELSE pg_catalog.now() END"
				   " WHERE id = $1::bigint",
				   4, params, NULL, "could not record the run's status on the target", err);
}

int
state_run_throttle(state *st, int64_t run_id, int64_t max_rate, int paused, sl_err *err)
{
	char		id[32];
	char		rate[32];
	const char *params[3] = {id, max_rate >= 0 ? rate : NULL,
	paused < 0 ? NULL : paused ? "true" : "false"};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	snprintf(rate, sizeof(rate), "%lld", (long long) max_rate);
	return state_run_sql(st, "UPDATE %s.run SET max_rate = coalesce($2::bigint, max_rate),"
				   " paused = coalesce($3::boolean, paused), updated_at = pg_catalog.now() WHERE id = $1::bigint",
				   3, params, NULL, "could not record the run's rate on the target", err);
}

int
state_run_poll(state *st, int64_t run_id, const char *process, state_control *out, sl_err *err)
{
	char		id[32];
	char		live[16];
	const char *params[3] = {id, process, live};
	PGresult   *res;
	int			rc;

	memset(out, 0, sizeof(*out));
	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	snprintf(live, sizeof(live), "%d", STATE_PROCESS_LIVE_SECONDS);
	/* the heartbeat is not visible to the count in the same statement: others + 1 */
	rc = state_run_sql(st, "WITH beat AS (INSERT INTO %s.process (run_id, process) VALUES ($1::bigint, $2)"
				 "   ON CONFLICT (run_id, process) DO UPDATE SET heartbeat_at = pg_catalog.now())"
				 " SELECT r.max_rate, r.paused, r.status, 1 + (SELECT pg_catalog.count(*) FROM %s.process p"
				 "   WHERE p.run_id = r.id AND p.process <> $2"
				 "   AND p.heartbeat_at > pg_catalog.now() - pg_catalog.make_interval(secs => $3::int))"
				 " FROM %s.run r WHERE r.id = $1::bigint",
				 3, params, &res, "could not read the run's rate from the target", err);
	if (rc < 0)
		return rc;
	if (PQntuples(res) == 1)
	{
		out->max_rate = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		out->paused = PQgetvalue(res, 0, 1)[0] == 't';
		snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 2));
		out->processes = atoi(PQgetvalue(res, 0, 3));
	}
	else
		rc = err_set(err, SIDE_TARGET, -ENOENT, "run %lld is no longer recorded on the target",
					 (long long) run_id);
	PQclear(res);
	return rc;
}

int
state_run_leave(state *st, int64_t run_id, const char *process, sl_err *err)
{
	char		id[32];
	const char *params[2] = {id, process};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	return state_run_sql(st, "DELETE FROM %s.process WHERE run_id = $1::bigint AND process = $2",
				   2, params, NULL, "could not take this process out of the run's record", err);
}

int
state_run_rebase(state *st, int64_t run_id, const char *snapshot, bool best_effort, sl_err *err)
{
	char		id[32];
	const char *params[3] = {id, snapshot && snapshot[0] ? snapshot : NULL, best_effort ? "true" : "false"};

	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	return state_run_sql(st, "UPDATE %s.run SET snapshot = $2, best_effort = $3::boolean, status = 'running',"
				   " updated_at = pg_catalog.now(), finished_at = NULL WHERE id = $1::bigint",
				   3, params, NULL, "could not record the run's status on the target", err);
}

int
state_run_forget(state *st, int64_t run_id, bool *schema_dropped, sl_err *err)
{
	char		id[32];
	const char *params[1] = {id};
	const char *schema_param[1] = {st->schema};
	PGresult   *res = NULL;
	bool		last;
	int			rc;

	*schema_dropped = false;
	snprintf(id, sizeof(id), "%lld", (long long) run_id);
	if ((rc = conn_exec(st->conn, SIDE_TARGET, "BEGIN", err)) < 0)
		return rc;
	if ((rc = state_run_sql(st, STATE_LOCK, 0, NULL, NULL, "could not lock the state schema on the target",
					  err)) < 0 ||
		(rc = state_run_sql(st, "DELETE FROM %s.run WHERE id = $1::bigint RETURNING id", 1, params, &res,
					  "could not remove the run from the target", err)) < 0)
		goto done;
	if (PQntuples(res) == 0)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "there is no run %s in the state schema %s of the target",
					 id, st->schema);
		goto done;
	}
	PQclear(res);
	res = NULL;
	if ((rc = state_run_sql(st, "SELECT NOT EXISTS (SELECT 1 FROM %s.run)", 0, NULL, &res,
					  "could not read the runs of the target", err)) < 0)
		goto done;
	last = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	res = NULL;
	if (last)
	{
		/* no other run is recorded: the tables go, and the schema if pgsluice made it and it is empty */
		if ((rc = state_run_sql(st, "DROP TABLE IF EXISTS %s.process;"
						  " DROP TABLE %s.chunk, %s.run, %s.pgsluice_state_version", 0, NULL, NULL,
						  "could not drop the state schema's tables on the target", err)) < 0 ||
			(rc = state_exec(st, "SELECT 1 FROM pg_catalog.pg_namespace n"
							  " WHERE '\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\"' = $1"
							  "   AND pg_catalog.obj_description(n.oid, 'pg_namespace') = '"
							  STATE_SCHEMA_COMMENT "'"
							  "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
							  "                   WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass"
							  "                     AND d.refobjid = n.oid)",
							  1, schema_param, &res, "could not read the state schema on the target", err)) < 0)
			goto done;
		*schema_dropped = PQntuples(res) == 1;
		if (*schema_dropped &&
			(rc = state_run_sql(st, "DROP SCHEMA %s", 0, NULL, NULL, "could not drop the state schema on the target",
						  err)) < 0)
			goto done;
	}
	rc = conn_exec(st->conn, SIDE_TARGET, "COMMIT", err);

done:
	PQclear(res);
	if (rc < 0)
	{
		*schema_dropped = false;
		PQclear(PQexec(st->conn, "ROLLBACK"));
	}
	return rc;
}

int
state_run_finish(PGconn *target, const char *schema, int64_t run_id, bool keep, bool *removed, sl_err *err)
{
	state		st;
	bool		schema_dropped = false;
	int			rc;

	*removed = false;
	if (keep)
	{
		log_info("run %lld: finished; its record stays in the target: \"pgsluice cleanup --run %lld\" "
				 "removes it", (long long) run_id, (long long) run_id);
		return 0;
	}
	if ((rc = state_init(&st, target, schema, err)) < 0)
		return rc;
	rc = state_run_forget(&st, run_id, &schema_dropped, err);
	if (rc == 0)
	{
		*removed = true;
		log_info("run %lld: finished; its record is removed from the target%s", (long long) run_id,
				 schema_dropped ? ", with the state schema" : " (other runs are recorded there)");
	}
	state_fini(&st);
	return rc;
}

int
state_unfinished_run(PGconn *conn, const char *schema, int64_t *run_id, sl_err *err)
{
	state		st;
	state_run	run;
	int			rc;

	*run_id = 0;
	if ((rc = state_init(&st, conn, schema, err)) < 0)
		return rc;
	if ((rc = state_attach(&st, err)) > 0)
	{
		memset(&run, 0, sizeof(run));
		rc = state_run_load(&st, "last", &run, err);
		if (rc == 0 && strcmp(run.step, STATE_STEP_DONE) != 0)
			*run_id = run.id;
		else if (rc == -ENOENT)
		{
			err_clear(err);
			rc = 0;
		}
	}
	state_fini(&st);
	return rc < 0 ? rc : 0;
}
