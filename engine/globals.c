/*
 * globals.c: databases and roles of a cluster.  See globals.h.
 *
 * The queries follow pg_dumpall's dumpRoles, dumpRoleMembership and
 * dumpDatabases, and pg_dump's dumpDatabase for a database's properties.
 * Settings ("name=value" in pg_db_role_setting) are set with their value
 * as a literal, except those of list variables, whose stored text is a
 * list: each element becomes a literal of its own, as pg_dumpall does, so
 * that search_path = '"$user", public' comes back as it was.
 */
#include "engine/globals.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "codec/pattern.h"
#include "engine/conn.h"
#include "codec/json.h"

/* pg_dumpall's variable_is_guc_list_quote */
static const char *const list_variables[] = {
	"local_preload_libraries", "search_path", "session_preload_libraries", "shared_preload_libraries",
	"temp_tablespaces", "unix_socket_directories", NULL
};

#define MAINTENANCE_DB "postgres"

int
globals_maintenance_info(const char *conninfo, char **out)
{
	PQconninfoOption *parsed = PQconninfoParse(conninfo, NULL);
	const char *dbname = MAINTENANCE_DB;
	int			rc;

	*out = NULL;
	if (parsed == NULL)
		return -EINVAL;
	for (PQconninfoOption *o = parsed; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val != NULL && o->val[0] != '\0')
			dbname = o->val;
	rc = conn_info_with_dbname(conninfo, dbname, out);
	PQconninfoFree(parsed);
	return rc;
}

int
globals_connect(PGconn **conn, const char *conninfo, const char *dbname, sl_side side, sl_err *err)
{
	char	   *info = NULL;
	int			rc;

	*conn = NULL;
	rc = dbname == NULL ? globals_maintenance_info(conninfo, &info) : conn_info_with_dbname(conninfo, dbname, &info);
	if (rc < 0)
		rc = err_set(err, SIDE_USAGE, rc, "invalid %s connection string", side == SIDE_SOURCE ? "source" : "target");
	else
		rc = conn_open(conn, info, side, NULL, err);
	free(info);
	return rc;
}

static char *
dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static int
oom(sl_err *err)
{
	return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
}

/* ---- rows ---- */

/* The rows of a result, copied; 0 or -ENOMEM. */
static int
rows_of(const PGresult *res, textrows *out)
{
	size_t		n = (size_t) PQntuples(res) * (size_t) PQnfields(res);

	memset(out, 0, sizeof(*out));
	if ((out->cells = calloc(n + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	out->nrows = PQntuples(res);
	out->ncols = PQnfields(res);
	for (int i = 0; i < out->nrows; i++)
		for (int j = 0; j < out->ncols; j++)
			if (!PQgetisnull(res, i, j) &&
				(out->cells[(size_t) i * (size_t) out->ncols + (size_t) j] = strdup(PQgetvalue(res, i, j))) == NULL)
			{
				textrows_fini(out);
				return -ENOMEM;
			}
	return 0;
}

/* Runs a query of source with one text parameter (or none) into rows. */
static int
read_rows(PGconn *source, const char *sql, const char *param, textrows *out, const char *what, sl_err *err)
{
	const char *params[1] = {param};
	PGresult   *res = NULL;
	int			rc;

	memset(out, 0, sizeof(*out));
	if ((rc = conn_query_params(source, SIDE_SOURCE, sql, param != NULL ? 1 : 0, params, &res, what, err)) < 0)
		return rc;
	if (rows_of(res, out) < 0)
		rc = oom(err);
	PQclear(res);
	return rc;
}

/*
 * Appends "SET name = value" for one "name=value" item of setconfig.  A list
 * variable's value is split at its commas (outside double quotes, which it
 * strips) and each element quoted alone.
 */
static bool
append_set(sbuf *sql, PGconn *conn, const char *item)
{
	const char *eq = strchr(item, '=');
	bool		list = false;
	sbuf		name;

	if (eq == NULL || eq == item)
		return false;
	sbuf_init(&name, 1024);
	sbuf_appendn(&name, item, (size_t) (eq - item));
	for (int i = 0; list_variables[i] != NULL && !list; i++)
		list = strcmp(sbuf_str(&name), list_variables[i]) == 0;
	sbuf_append(sql, " SET ");
	conn_append_ident(sql, conn, sbuf_str(&name));
	sbuf_fini(&name);
	sbuf_append(sql, " = ");
	if (!list)
	{
		conn_append_literal(sql, conn, eq + 1);
		return true;
	}
	for (const char *p = eq + 1;;)
	{
		sbuf		element;

		while (*p == ' ')
			p++;
		sbuf_init(&element, 1 << 20);
		if (*p == '"')
		{
			for (p++; *p != '\0' && !(*p == '"' && p[1] != '"'); p++)
			{
				if (*p == '"')
					p++;		/* "" is one quote */
				sbuf_appendn(&element, p, 1);
			}
			if (*p == '"')
				p++;
		}
		else
			for (; *p != '\0' && *p != ','; p++)
				if (*p != ' ')
					sbuf_appendn(&element, p, 1);
		if (sbuf_failed(&element))
			sql->failed = true;
		else
			conn_append_literal(sql, conn, sbuf_str(&element));
		sbuf_fini(&element);
		while (*p == ' ')
			p++;
		if (*p != ',')
			break;
		p++;
		sbuf_append(sql, ", ");
	}
	return true;
}

/* ---- databases ---- */

/* Appends " OR datname ~ 're'" for each pattern, or fails on a malformed one. */
static int
append_patterns(sbuf *sql, PGconn *conn, char *const *patterns, int n, sl_err *err)
{
	for (int i = 0; i < n; i++)
	{
		char	   *schema_re = NULL;
		char	   *name_re = NULL;
		int			rc = pattern_to_regex(patterns[i], true, &schema_re, &name_re, err);

		free(schema_re);
		if (rc < 0)
			return rc;
		sbuf_append(sql, " OR d.datname OPERATOR(pg_catalog.~) ");
		conn_append_literal(sql, conn, name_re != NULL ? name_re : "^.*$");
		free(name_re);
	}
	return 0;
}

/* The target name of db under the --database-map items, or NULL when none maps it; -EINVAL: malformed. */
static int
mapped_name(const globals_patterns *p, const char *name, const char **out, sl_err *err)
{
	*out = NULL;
	for (int i = 0; i < p->nmap; i++)
	{
		const char *eq = strchr(p->map[i], '=');

		if (eq == NULL || eq == p->map[i] || eq[1] == '\0')
			return err_set(err, SIDE_USAGE, -EINVAL, "--database-map \"%s\" is not OLD=NEW", p->map[i]);
		if (strlen(name) == (size_t) (eq - p->map[i]) && strncmp(name, p->map[i], (size_t) (eq - p->map[i])) == 0)
			*out = eq + 1;
	}
	return 0;
}

int
globals_list_databases(PGconn *source, const globals_patterns *patterns, globals_database **out, int *count,
					   sl_err *err)
{
	globals_database *dbs = NULL;
	PGresult   *res = NULL;
	sbuf		sql;
	int			n = 0;
	int			rc;

	*out = NULL;
	*count = 0;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_append(&sql, "SELECT d.datname, t.spcname, pg_catalog.pg_database_size(d.oid)"
				" FROM pg_catalog.pg_database d"
				" LEFT JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace AND t.spcname <> 'pg_default'"
				" WHERE d.datallowconn AND d.datname NOT IN ('template0', 'template1')");
	if (patterns->ninclude > 0)
	{
		sbuf_append(&sql, " AND (false");
		if ((rc = append_patterns(&sql, source, patterns->include, patterns->ninclude, err)) < 0)
			goto done;
		sbuf_append(&sql, ")");
	}
	sbuf_append(&sql, " AND NOT (false");
	if ((rc = append_patterns(&sql, source, patterns->exclude, patterns->nexclude, err)) < 0)
		goto done;
	sbuf_append(&sql, ") ORDER BY 3 DESC, 1");
	if ((rc = conn_query_sbuf(source, SIDE_SOURCE, &sql, &res, err)) < 0)
		goto done;
	n = PQntuples(res);
	if ((dbs = calloc((size_t) n + 1, sizeof(*dbs))) == NULL)
	{
		rc = oom(err);
		goto done;
	}
	for (int i = 0; i < n && rc == 0; i++)
	{
		const char *target = NULL;

		dbs[i].name = strdup(PQgetvalue(res, i, 0));
		dbs[i].tablespace = dup_or_null(res, i, 1);
		dbs[i].bytes = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		if ((rc = mapped_name(patterns, dbs[i].name ? dbs[i].name : "", &target, err)) < 0)
			break;
		dbs[i].target_name = strdup(target != NULL ? target : PQgetvalue(res, i, 0));
		if (dbs[i].name == NULL || dbs[i].target_name == NULL)
			rc = oom(err);
	}
	/* every map names a chosen database, and no two land on one name */
	for (int m = 0; m < patterns->nmap && rc == 0; m++)
	{
		const char *eq = strchr(patterns->map[m], '=');
		bool		found = false;

		for (int i = 0; i < n && !found; i++)
			found = strlen(dbs[i].name) == (size_t) (eq - patterns->map[m]) &&
				strncmp(dbs[i].name, patterns->map[m], (size_t) (eq - patterns->map[m])) == 0;
		if (!found)
			rc = err_set(err, SIDE_USAGE, -EINVAL, "--database-map \"%s\": no chosen database of the source "
						 "has that name", patterns->map[m]);
	}
	for (int i = 0; i < n && rc == 0; i++)
		for (int j = i + 1; j < n && rc == 0; j++)
			if (strcmp(dbs[i].target_name, dbs[j].target_name) == 0)
				rc = err_set(err, SIDE_USAGE, -EINVAL, "databases \"%s\" and \"%s\" would both land in \"%s\"",
							 dbs[i].name, dbs[j].name, dbs[i].target_name);
	if (rc == 0 && n == 0)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "no database of the source is chosen");
		err_hint(err, "--all-databases copies every connectable database but template0 and template1 "
				 "that --database chooses and --exclude-database does not.");
	}

done:
	PQclear(res);
	sbuf_fini(&sql);
	if (rc < 0)
	{
		globals_databases_free(dbs, n);
		return rc;
	}
	*out = dbs;
	*count = n;
	return 0;
}

void
globals_databases_free(globals_database *dbs, int count)
{
	for (int i = 0; dbs != NULL && i < count; i++)
	{
		free(dbs[i].name);
		free(dbs[i].target_name);
		free(dbs[i].tablespace);
	}
	free(dbs);
}

int
globals_database_exists(PGconn *target, const char *name, sl_err *err)
{
	const char *params[1] = {name};
	PGresult   *res;
	int			rc;

	if ((rc = conn_query_params(target, SIDE_TARGET, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1,
								params, &res, "could not list the databases of", err)) < 0)
		return rc;
	rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

/* Appends the GRANTs that make an ACL read as acl (from aclexplode rows: grantee or NULL for PUBLIC, privilege, grantable). */
static void
append_acl(sbuf *sql, PGconn *target, const char *what, const char *owner, const textrows *acl)
{
	sbuf_printf(sql, "REVOKE ALL ON %s FROM PUBLIC;", what);
	if (owner != NULL)
	{
		sbuf_printf(sql, " REVOKE ALL ON %s FROM ", what);
		conn_append_ident(sql, target, owner);
		sbuf_append(sql, ";");
	}
	for (int i = 0; i < acl->nrows; i++)
	{
		sbuf_printf(sql, " GRANT %s ON %s TO ", textrows_cell(acl, i, 1), what);
		if (textrows_cell(acl, i, 0) == NULL)
			sbuf_append(sql, "PUBLIC");
		else
			conn_append_ident(sql, target, textrows_cell(acl, i, 0));
		sbuf_append(sql, strcmp(textrows_cell(acl, i, 2), "t") == 0 ? " WITH GRANT OPTION;" : ";");
	}
}

int
globals_read_database(PGconn *source, const char *name, globals_db_props *out, sl_err *err)
{
	int			major = conn_major_version(source);
	sbuf		sql;
	int			rc;

	memset(out, 0, sizeof(*out));
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_printf(&sql, "SELECT pg_catalog.pg_get_userbyid(d.datdba), pg_catalog.pg_encoding_to_char(d.encoding),"
				"       d.datcollate, d.datctype, %s, %s, d.datconnlimit, d.datistemplate,"
				"       pg_catalog.shobj_description(d.oid, 'pg_database'), d.datacl IS NOT NULL"
				" FROM pg_catalog.pg_database d WHERE d.datname = $1",
				major >= 15 ? "d.datlocprovider" : "'c'",
				major >= 17 ? "d.datlocale" : major >= 15 ? "d.daticulocale" : "NULL");
	if (sbuf_failed(&sql))
		rc = oom(err);
	else if ((rc = read_rows(source, sbuf_str(&sql), name, &out->props, "could not read the database's properties on",
							 err)) == 0 && out->props.nrows != 1)
		rc = err_set(err, SIDE_SOURCE, -ENOENT, "database \"%s\" is gone from the source", name);
	if (rc == 0)
		rc = read_rows(source, "SELECT pg_catalog.pg_get_userbyid(NULLIF(a.grantee, 0)), a.privilege_type,"
					   "       a.is_grantable"
					   " FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) WITH ORDINALITY"
					   "   AS a(grantor, grantee, privilege_type, is_grantable, n)"
					   " WHERE d.datname = $1 ORDER BY a.n", name, &out->acl,
					   "could not read the database's privileges on", err);
	if (rc == 0)
		rc = read_rows(source, "SELECT r.rolname, pg_catalog.unnest(s.setconfig)"
					   " FROM pg_catalog.pg_db_role_setting s"
					   " JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
					   " LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
					   " WHERE d.datname = $1 AND (s.setrole = 0 OR r.rolname IS NOT NULL) ORDER BY 1 NULLS FIRST",
					   name, &out->settings, "could not read the database's settings on", err);
	sbuf_fini(&sql);
	if (rc < 0)
		globals_db_props_fini(out);
	return rc;
}

void
globals_db_props_fini(globals_db_props *p)
{
	textrows_fini(&p->props);
	textrows_fini(&p->acl);
	textrows_fini(&p->settings);
}

/* The properties as globals_read_database reads them: shapes a dump's file must have. */
bool
globals_db_props_valid(const globals_db_props *p)
{
	static const int nonnull[] = {0, 1, 2, 3, 4, 6, 7, 9};

	if (p->props.nrows != 1 || p->props.ncols != GLOBALS_DB_PROPS_COLS || p->acl.ncols != 3 ||
		p->settings.ncols != 2)
		return false;
	for (size_t i = 0; i < sizeof(nonnull) / sizeof(nonnull[0]); i++)
		if (textrows_cell(&p->props, 0, nonnull[i]) == NULL)
			return false;
	for (int i = 0; i < p->acl.nrows; i++)
		if (textrows_cell(&p->acl, i, 1) == NULL || textrows_cell(&p->acl, i, 2) == NULL ||
			strspn(textrows_cell(&p->acl, i, 1), "ABCDEFGHIJKLMNOPQRSTUVWXYZ ") != strlen(textrows_cell(&p->acl, i, 1)))
			return false;
	for (int i = 0; i < p->settings.nrows; i++)
		if (textrows_cell(&p->settings, i, 1) == NULL)
			return false;
	return true;
}

int
globals_apply_database(PGconn *target, const globals_database *db, const globals_db_props *p,
					   const globals_options *opt, sl_err *err)
{
	const textrows *props = &p->props;
	sbuf		sql;
	sbuf		what;
	bool		ok = true;
	int			rc = 0;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	sbuf_init(&what, 4096);

	/* CREATE DATABASE runs alone, outside a transaction */
	sbuf_append(&sql, "CREATE DATABASE ");
	conn_append_ident(&sql, target, db->target_name);
	sbuf_append(&sql, " WITH TEMPLATE = template0");
	if (!opt->no_owner)
	{
		sbuf_append(&sql, " OWNER = ");
		conn_append_ident(&sql, target, textrows_cell(props, 0, 0));
	}
	sbuf_append(&sql, " ENCODING = ");
	conn_append_literal(&sql, target, textrows_cell(props, 0, 1));
	if (textrows_cell(props, 0, 4)[0] == 'i' && conn_major_version(target) >= 15)
	{
		sbuf_append(&sql, " LOCALE_PROVIDER = icu");
		if (textrows_cell(props, 0, 5) != NULL)
		{
			sbuf_append(&sql, " ICU_LOCALE = ");
			conn_append_literal(&sql, target, textrows_cell(props, 0, 5));
		}
	}
	else if (conn_major_version(target) >= 15)
		sbuf_append(&sql, " LOCALE_PROVIDER = libc");
	sbuf_append(&sql, " LC_COLLATE = ");
	conn_append_literal(&sql, target, textrows_cell(props, 0, 2));
	sbuf_append(&sql, " LC_CTYPE = ");
	conn_append_literal(&sql, target, textrows_cell(props, 0, 3));
	sbuf_printf(&sql, " CONNECTION LIMIT = %d", atoi(textrows_cell(props, 0, 6)));
	if (db->tablespace != NULL && !opt->no_tablespaces)
	{
		sbuf_append(&sql, " TABLESPACE = ");
		conn_append_ident(&sql, target, db->tablespace);
	}
	if (sbuf_failed(&sql))
	{
		rc = oom(err);
		goto done;
	}
	if ((rc = conn_exec(target, SIDE_TARGET, sbuf_str(&sql), err)) < 0)
		goto done;

	/* then what pg_dump --create sets after it: template flag, comment, ACL, settings, in one transaction */
	conn_append_ident(&what, target, db->target_name);
	sbuf_reset(&sql);
	if (strcmp(textrows_cell(props, 0, 7), "t") == 0)
		sbuf_printf(&sql, " ALTER DATABASE %s IS_TEMPLATE = true;", sbuf_str(&what));
	if (textrows_cell(props, 0, 8) != NULL)
	{
		sbuf_printf(&sql, " COMMENT ON DATABASE %s IS ", sbuf_str(&what));
		conn_append_literal(&sql, target, textrows_cell(props, 0, 8));
		sbuf_append(&sql, ";");
	}
	if (strcmp(textrows_cell(props, 0, 9), "t") == 0 && !opt->no_privileges)
	{
		char		on[4200];

		snprintf(on, sizeof(on), "DATABASE %s", sbuf_str(&what));
		sbuf_append(&sql, " ");
		append_acl(&sql, target, on, opt->no_owner ? NULL : textrows_cell(props, 0, 0), &p->acl);
	}
	for (int i = 0; ok && i < p->settings.nrows; i++)
	{
		if (textrows_cell(&p->settings, i, 0) == NULL)
			sbuf_printf(&sql, " ALTER DATABASE %s", sbuf_str(&what));
		else
		{
			sbuf_append(&sql, " ALTER ROLE ");
			conn_append_ident(&sql, target, textrows_cell(&p->settings, i, 0));
			sbuf_printf(&sql, " IN DATABASE %s", sbuf_str(&what));
		}
		ok = append_set(&sql, target, textrows_cell(&p->settings, i, 1));
		sbuf_append(&sql, ";");
	}
	if (!ok || sbuf_failed(&what) || sbuf_failed(&sql))
		rc = err_set(err, SIDE_LOCAL, -EINVAL, "could not quote the properties of database \"%s\"", db->name);
	else if (sql.len > 0 && (rc = conn_exec(target, SIDE_TARGET, "BEGIN", err)) == 0)
		rc = conn_end_transaction(target, SIDE_TARGET, conn_exec(target, SIDE_TARGET, sbuf_str(&sql), err), err);

done:
	sbuf_fini(&what);
	sbuf_fini(&sql);
	return rc;
}

int
globals_create_database(PGconn *source, PGconn *target, const globals_database *db, const globals_options *opt,
						sl_err *err)
{
	globals_db_props p;
	int			rc;

	if ((rc = globals_read_database(source, db->name, &p, err)) == 0)
		rc = globals_apply_database(target, db, &p, opt, err);
	globals_db_props_fini(&p);
	return rc;
}

/* ---- roles ---- */

static int
name_list_add(char ***names, int *n, const char *name)
{
	char	  **grown = realloc(*names, sizeof(char *) * ((size_t) *n + 1));

	if (grown == NULL)
		return -ENOMEM;
	*names = grown;
	if ((grown[*n] = strdup(name)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static bool
name_listed(char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/*
 * One row per role: its name and the statements that make it, built by the
 * source's format() from its catalog: pg_authid, whose password hashes only
 * a superuser reads, or pg_roles.  $1: with passwords.
 */
#define ROLES_QUERY(catalog) \
	"SELECT r.rolname, pg_catalog.concat(" \
	"   pg_catalog.format('CREATE ROLE %I;', r.rolname)," \
	"   pg_catalog.format(' ALTER ROLE %I WITH %s %s %s %s %s %s %s CONNECTION LIMIT %s', r.rolname," \
	"     CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END," \
	"     CASE WHEN r.rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END," \
	"     CASE WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END," \
	"     CASE WHEN r.rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END," \
	"     CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END," \
	"     CASE WHEN r.rolreplication THEN 'REPLICATION' ELSE 'NOREPLICATION' END," \
	"     CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END," \
	"     r.rolconnlimit)," \
	"   CASE WHEN $1 AND r.rolpassword IS NOT NULL AND r.rolpassword <> '********'" \
	"        THEN pg_catalog.format(' PASSWORD %L', r.rolpassword) END," \
	"   CASE WHEN r.rolvaliduntil IS NOT NULL" \
	"        THEN pg_catalog.format(' VALID UNTIL %L', r.rolvaliduntil) END," \
	"   ';'," \
	"   (SELECT pg_catalog.format(' COMMENT ON ROLE %I IS %L;', r.rolname, d.description)" \
	"    FROM pg_catalog.pg_shdescription d" \
	"    WHERE d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass))" \
	" FROM pg_catalog." catalog " r WHERE r.rolname !~ '^pg_' ORDER BY 1"

int
globals_read_roles(PGconn *source, const globals_options *opt, globals_role_set *out, sl_err *err)
{
	PGresult   *authid = NULL;
	int			rc;

	memset(out, 0, sizeof(*out));
	if ((rc = conn_query(source, SIDE_SOURCE, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')",
						 &authid, err)) < 0)
		return rc;
	out->passwords = PQgetvalue(authid, 0, 0)[0] == 't';
	PQclear(authid);
	if ((rc = read_rows(source, out->passwords ? ROLES_QUERY("pg_authid") : ROLES_QUERY("pg_roles"),
						opt->no_role_passwords ? "false" : "true", &out->roles, "could not read the roles of", err)) < 0 ||
		(rc = read_rows(source, "SELECT ur.rolname, um.rolname, a.admin_option, ug.rolname"
						" FROM pg_catalog.pg_auth_members a"
						" JOIN pg_catalog.pg_roles ur ON ur.oid = a.roleid"
						" JOIN pg_catalog.pg_roles um ON um.oid = a.member"
						" LEFT JOIN pg_catalog.pg_roles ug ON ug.oid = a.grantor"
						" WHERE um.rolname !~ '^pg_' ORDER BY 1, 2", NULL, &out->members,
						"could not read the memberships of", err)) < 0 ||
		(rc = read_rows(source, "SELECT r.rolname, pg_catalog.unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting s"
						" JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
						" WHERE s.setdatabase = 0 AND r.rolname !~ '^pg_' ORDER BY 1", NULL, &out->settings,
						"could not read the role settings of", err)) < 0)
		globals_role_set_fini(out);
	return rc;
}

void
globals_role_set_fini(globals_role_set *s)
{
	textrows_fini(&s->roles);
	textrows_fini(&s->members);
	textrows_fini(&s->settings);
}

bool
globals_role_set_valid(const globals_role_set *s)
{
	if (s->roles.ncols != 2 || s->members.ncols != 4 || s->settings.ncols != 2)
		return false;
	for (int i = 0; i < s->roles.nrows; i++)
		if (textrows_cell(&s->roles, i, 0) == NULL || textrows_cell(&s->roles, i, 1) == NULL)
			return false;
	for (int i = 0; i < s->members.nrows; i++)
		if (textrows_cell(&s->members, i, 0) == NULL || textrows_cell(&s->members, i, 1) == NULL ||
			textrows_cell(&s->members, i, 2) == NULL)
			return false;
	for (int i = 0; i < s->settings.nrows; i++)
		if (textrows_cell(&s->settings, i, 0) == NULL || textrows_cell(&s->settings, i, 1) == NULL)
			return false;
	return true;
}

/*
 * XXX: a role's statements are the source's format() output, run as they
 * are: a dump's file is trusted as the dump itself is (its schema.dump is
 * pg_restore's input too); its directory is the user's, mode 0700.
 */
int
globals_apply_roles(PGconn *target, const globals_role_set *set, globals_roles *out, sl_err *err)
{
	const textrows *roles = &set->roles;
	const textrows *members = &set->members;
	const textrows *settings = &set->settings;
	PGresult   *there = NULL;
	sbuf		sql;
	bool		ok = true;
	int			rc;

	memset(out, 0, sizeof(*out));
	out->passwords = set->passwords;
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if ((rc = conn_query(target, SIDE_TARGET, "SELECT rolname FROM pg_catalog.pg_roles", &there, err)) < 0)
		goto done;
	for (int i = 0; i < roles->nrows && rc == 0; i++)
	{
		const char *name = textrows_cell(roles, i, 0);
		bool		exists = false;

		for (int j = 0; j < PQntuples(there) && !exists; j++)
			exists = strcmp(PQgetvalue(there, j, 0), name) == 0;
		if (exists)
			rc = name_list_add(&out->existing, &out->nexisting, name);
		else
		{
			rc = name_list_add(&out->created, &out->ncreated, name);
			sbuf_printf(&sql, "%s\n", textrows_cell(roles, i, 1));
		}
	}
	/* memberships that involve a created role; GRANTED BY where the target records it as given */
	for (int i = 0; i < members->nrows && rc == 0; i++)
	{
		const char *role = textrows_cell(members, i, 0);
		const char *member = textrows_cell(members, i, 1);

		if (!name_listed(out->created, out->ncreated, role) && !name_listed(out->created, out->ncreated, member))
			continue;
		sbuf_append(&sql, "GRANT ");
		conn_append_ident(&sql, target, role);
		sbuf_append(&sql, " TO ");
		conn_append_ident(&sql, target, member);
		if (strcmp(textrows_cell(members, i, 2), "t") == 0)
			sbuf_append(&sql, " WITH ADMIN OPTION");
		/* XXX: from PostgreSQL 16 GRANTED BY needs the grantor's own ADMIN OPTION: left to the default there */
		if (textrows_cell(members, i, 3) != NULL && conn_major_version(target) < 16)
		{
			sbuf_append(&sql, " GRANTED BY ");
			conn_append_ident(&sql, target, textrows_cell(members, i, 3));
		}
		sbuf_append(&sql, ";\n");
		out->nmemberships++;
	}
	for (int i = 0; i < settings->nrows && rc == 0 && ok; i++)
	{
		if (!name_listed(out->created, out->ncreated, textrows_cell(settings, i, 0)))
			continue;
		sbuf_append(&sql, "ALTER ROLE ");
		conn_append_ident(&sql, target, textrows_cell(settings, i, 0));
		ok = append_set(&sql, target, textrows_cell(settings, i, 1));
		sbuf_append(&sql, ";\n");
	}
	if (rc < 0)
		rc = oom(err);
	else if (!ok || sbuf_failed(&sql))
		rc = err_set(err, SIDE_LOCAL, -EINVAL, "could not quote the roles' statements");
	else if (out->ncreated > 0 && (rc = conn_exec(target, SIDE_TARGET, "BEGIN", err)) == 0)
		rc = conn_end_transaction(target, SIDE_TARGET, conn_exec(target, SIDE_TARGET, sbuf_str(&sql), err), err);

done:
	PQclear(there);
	sbuf_fini(&sql);
	if (rc < 0)
		globals_roles_fini(out);
	return rc;
}

int
globals_copy_roles(PGconn *source, PGconn *target, const globals_options *opt, globals_roles *out, sl_err *err)
{
	globals_role_set set;
	int			rc;

	memset(out, 0, sizeof(*out));
	if ((rc = globals_read_roles(source, opt, &set, err)) == 0)
		rc = globals_apply_roles(target, &set, out, err);
	globals_role_set_fini(&set);
	return rc;
}

void
globals_roles_fini(globals_roles *r)
{
	for (int i = 0; i < r->ncreated; i++)
		free(r->created[i]);
	for (int i = 0; i < r->nexisting; i++)
		free(r->existing[i]);
	free(r->created);
	free(r->existing);
	memset(r, 0, sizeof(*r));
}
