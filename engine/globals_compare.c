/*
 * globals_compare.c: what differs between two clusters beside their
 * databases' contents.  See globals.h.
 *
 * Each side is described by one query as (key, value, role, role) rows:
 * a role's attributes, a membership, a role's settings, a database's
 * property.  Keys are built by each server's format() the same way, sorted
 * here by their bytes (never by a collation, which may differ between the
 * servers) and merged.  A row the target has and the source lacks is a
 * difference unless it names a role the source does not have: a clone
 * leaves the target's own roles as they are, so those are notes.
 */
#include "engine/globals.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "engine/conn.h"

#define NONE "(none)"

typedef struct fact
{
	const char *key;
	const char *value;			/* NONE for NULL */
	const char *roles[2];		/* the roles it names, NULL where none */
} fact;

static int
fact_cmp(const void *a, const void *b)
{
	return strcmp(((const fact *) a)->key, ((const fact *) b)->key);
}

/* The rows of res as facts sorted by key; pointers into res. */
static fact *
facts_of(const PGresult *res)
{
	int			n = PQntuples(res);
	fact	   *f = calloc((size_t) n + 1, sizeof(fact));

	if (f == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		f[i].key = PQgetvalue(res, i, 0);
		f[i].value = PQgetisnull(res, i, 1) ? NONE : PQgetvalue(res, i, 1);
		for (int j = 0; j < 2; j++)
			f[i].roles[j] = PQgetisnull(res, i, 2 + j) ? NULL : PQgetvalue(res, i, 2 + j);
	}
	qsort(f, (size_t) n, sizeof(fact), fact_cmp);
	return f;
}

static int
add_line(char ***lines, int *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
add_line(char ***lines, int *n, const char *fmt, ...)
{
	char	  **grown = realloc(*lines, sizeof(char *) * ((size_t) *n + 1));
	va_list		ap;
	int			len;

	if (grown == NULL)
		return -ENOMEM;
	*lines = grown;
	va_start(ap, fmt);
	len = vasprintf(&grown[*n], fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Whether role is among the roles named by the first role column of names. */
static bool
role_on_source(const fact *names, int n, const char *role)
{
	for (int i = 0; i < n; i++)
		if (names[i].roles[0] != NULL && strcmp(names[i].roles[0], role) == 0)
			return true;
	return false;
}

/*
 * Merges the two sides' facts into out.  prefix starts each line (the
 * database's name, or nothing).  source_roles, when not NULL, holds the
 * source's role names, to tell a target-only row that names a role the
 * source lacks (a note) from one that does not (a difference).
 */
static int
merge(const PGresult *source, const PGresult *target, const char *prefix, const PGresult *source_roles,
	  globals_diffs *out)
{
	fact	   *s = facts_of(source);
	fact	   *t = facts_of(target);
	fact	   *names = source_roles != NULL ? facts_of(source_roles) : NULL;
	int			ns = PQntuples(source);
	int			nt = PQntuples(target);
	int			nnames = source_roles != NULL ? PQntuples(source_roles) : 0;
	int			i = 0;
	int			j = 0;
	int			rc = 0;

	if (s == NULL || t == NULL || (source_roles != NULL && names == NULL))
		rc = -ENOMEM;
	while (rc == 0 && (i < ns || j < nt))
	{
		int			cmp = i >= ns ? 1 : j >= nt ? -1 : strcmp(s[i].key, t[j].key);

		if (cmp < 0)
			rc = add_line(&out->diffs, &out->ndiffs, "%s%s: missing on the target (on the source: %s)", prefix,
						  s[i].key, s[i].value);
		else if (cmp > 0)
		{
			bool		foreign = false;

			for (int k = 0; k < 2; k++)
				foreign = foreign || (t[j].roles[k] != NULL && !role_on_source(names, nnames, t[j].roles[k]));
			if (foreign)
				rc = add_line(&out->notes, &out->nnotes, "%s%s: on the target only (a role the source lacks)",
							  prefix, t[j].key);
			else
				rc = add_line(&out->diffs, &out->ndiffs, "%s%s: extra on the target (%s)", prefix, t[j].key,
							  t[j].value);
		}
		else if (strcmp(s[i].value, t[j].value) != 0)
			rc = add_line(&out->diffs, &out->ndiffs, "%s%s: %s on the source, %s on the target", prefix,
						  s[i].key, s[i].value, t[j].value);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	free(s);
	free(t);
	free(names);
	return rc;
}

static int
read_facts(PGconn *conn, sl_side side, sbuf *sql, PGresult **res, sl_err *err)
{
	if (sbuf_failed(sql))
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	return conn_query(conn, side, sbuf_str(sql), res, err);
}

/* The roles' facts; passwords only where both sides read pg_authid. */
static void
roles_query(sbuf *sql, bool passwords)
{
	sbuf_reset(sql);
	sbuf_printf(sql,
				"SELECT pg_catalog.format('role %%I', r.rolname),"
				"  pg_catalog.concat_ws(' ',"
				"    CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END,"
				"    CASE WHEN r.rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END,"
				"    CASE WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END,"
				"    CASE WHEN r.rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END,"
				"    CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,"
				"    CASE WHEN r.rolreplication THEN 'REPLICATION' ELSE 'NOREPLICATION' END,"
				"    CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,"
				"    'CONNECTION LIMIT ' || r.rolconnlimit,"
				"    'VALID UNTIL ' || pg_catalog.quote_literal(pg_catalog.to_char(r.rolvaliduntil"
				"      AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')),"
				"    'COMMENT ' || pg_catalog.quote_literal(d.description)),"
				"  r.rolname, NULL"
				" FROM pg_catalog.%s r"
				" LEFT JOIN pg_catalog.pg_shdescription d"
				"   ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass"
				" WHERE r.rolname !~ '^pg_'"
				" UNION ALL"
				" SELECT pg_catalog.format('membership of %%I in %%I', um.rolname, ur.rolname),"
				"   CASE WHEN pg_catalog.bool_or(a.admin_option) THEN 'with admin option'"
				"        ELSE 'without admin option' END, um.rolname, ur.rolname"
				" FROM pg_catalog.pg_auth_members a"
				" JOIN pg_catalog.pg_roles ur ON ur.oid = a.roleid"
				" JOIN pg_catalog.pg_roles um ON um.oid = a.member"
				" WHERE um.rolname !~ '^pg_' GROUP BY um.rolname, ur.rolname"
				" UNION ALL"
				" SELECT pg_catalog.format('settings of role %%I', r.rolname), s.setconfig::pg_catalog.text,"
				"   r.rolname, NULL"
				" FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
				" WHERE s.setdatabase = 0 AND r.rolname !~ '^pg_'"
				"%s",
				passwords ? "pg_authid" : "pg_roles",
				/* a fingerprint of the hash: enough to tell two apart, never the hash itself */
				passwords ? " UNION ALL"
				" SELECT pg_catalog.format('password of role %I', r.rolname),"
				"   CASE WHEN r.rolpassword IS NULL THEN 'none'"
				"        ELSE 'hash ' || pg_catalog.left(pg_catalog.md5(r.rolpassword), 12) END, r.rolname, NULL"
				" FROM pg_catalog.pg_authid r WHERE r.rolname !~ '^pg_'" : "");
}

static int
reads_authid(PGconn *conn, sl_side side, bool *out, sl_err *err)
{
	PGresult   *res = NULL;
	int			rc;

	rc = conn_query(conn, side, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')", &res, err);
	*out = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

int
globals_compare_roles(PGconn *source, PGconn *target, const globals_options *opt, globals_diffs *out, sl_err *err)
{
	PGresult   *src = NULL;
	PGresult   *dst = NULL;
	bool		src_authid = false;
	bool		dst_authid = false;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if ((rc = reads_authid(source, SIDE_SOURCE, &src_authid, err)) < 0 ||
		(rc = reads_authid(target, SIDE_TARGET, &dst_authid, err)) < 0)
		goto done;
	out->passwords = src_authid && dst_authid && !opt->no_role_passwords;
	roles_query(&sql, out->passwords);
	if ((rc = read_facts(source, SIDE_SOURCE, &sql, &src, err)) < 0 ||
		(rc = read_facts(target, SIDE_TARGET, &sql, &dst, err)) < 0)
		goto done;
	if ((rc = merge(src, dst, "", src, out)) < 0)
		rc = err_set(err, SIDE_LOCAL, rc, "out of memory");

done:
	PQclear(src);
	PQclear(dst);
	sbuf_fini(&sql);
	return rc;
}

/* One database's facts: its properties but those the options leave out, and its settings. */
static void
database_query(sbuf *sql, PGconn *conn, const char *name, const globals_options *opt)
{
	int			major = conn_major_version(conn);

	sbuf_reset(sql);
	sbuf_printf(sql,
				"SELECT f.k, f.v, f.r, NULL FROM pg_catalog.pg_database d, LATERAL (VALUES"
				"  ('owner'::pg_catalog.text, pg_catalog.pg_get_userbyid(d.datdba)::pg_catalog.text,"
				"   pg_catalog.pg_get_userbyid(d.datdba)::pg_catalog.text),"
				"  ('encoding', pg_catalog.pg_encoding_to_char(d.encoding), NULL),"
				"  ('collation', d.datcollate::pg_catalog.text, NULL),"
				"  ('ctype', d.datctype::pg_catalog.text, NULL),"
				"  ('locale provider', %s, NULL),"
				"  ('locale', %s, NULL),"
				"  ('connection limit', d.datconnlimit::pg_catalog.text, NULL),"
				"  ('template', d.datistemplate::pg_catalog.text, NULL),"
				"  ('tablespace', (SELECT t.spcname::pg_catalog.text FROM pg_catalog.pg_tablespace t"
				"                  WHERE t.oid = d.dattablespace), NULL),"
				"  ('comment', pg_catalog.shobj_description(d.oid, 'pg_database'), NULL),"
				"  ('privileges', (SELECT pg_catalog.string_agg(g.item, ', ' ORDER BY g.item COLLATE \"C\")"
				"     FROM (SELECT pg_catalog.concat("
				"             COALESCE(pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(NULLIF(a.grantee, 0))), 'PUBLIC'),"
				"             '=', a.privilege_type, CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' END) AS item"
				"           FROM pg_catalog.aclexplode(COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))) a"
				"           WHERE %s) g), NULL)"
				") AS f(k, v, r)"
				" WHERE d.datname = ",
				major >= 15 ? "d.datlocprovider::pg_catalog.text" : "'c'",
				major >= 17 ? "d.datlocale" : major >= 15 ? "d.daticulocale" : "NULL::pg_catalog.text",
				opt->no_owner ? "a.grantee <> d.datdba" : "true");
	conn_append_literal(sql, conn, name);
	sbuf_printf(sql, " AND f.k NOT IN ('%s', '%s', '%s')",
				opt->no_owner ? "owner" : "", opt->no_tablespaces ? "tablespace" : "",
				opt->no_privileges ? "privileges" : "");
	sbuf_append(sql,
				" UNION ALL"
				" SELECT CASE WHEN s.setrole = 0 THEN 'settings'"
				"        ELSE pg_catalog.format('settings of role %I', r.rolname) END,"
				"   s.setconfig::pg_catalog.text, r.rolname, NULL"
				" FROM pg_catalog.pg_db_role_setting s"
				" JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
				" LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
				" WHERE (s.setrole = 0 OR r.rolname IS NOT NULL) AND d.datname = ");
	conn_append_literal(sql, conn, name);
}

int
globals_compare_database(PGconn *source, PGconn *target, const globals_database *db, const globals_options *opt,
						 globals_diffs *out, sl_err *err)
{
	PGresult   *src = NULL;
	PGresult   *dst = NULL;
	PGresult   *roles = NULL;
	char	   *prefix = NULL;
	sbuf		sql;
	int			rc;

	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	database_query(&sql, source, db->name, opt);
	if ((rc = read_facts(source, SIDE_SOURCE, &sql, &src, err)) < 0)
		goto done;
	database_query(&sql, target, db->target_name, opt);
	if ((rc = read_facts(target, SIDE_TARGET, &sql, &dst, err)) < 0 ||
		(rc = conn_query(source, SIDE_SOURCE, "SELECT NULL, NULL, rolname, NULL FROM pg_catalog.pg_roles",
						 &roles, err)) < 0)
		goto done;
	if (asprintf(&prefix, "database \"%s\": ", db->name) < 0)
	{
		prefix = NULL;
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = merge(src, dst, prefix, roles, out)) < 0)
		rc = err_set(err, SIDE_LOCAL, rc, "out of memory");

done:
	free(prefix);
	PQclear(src);
	PQclear(dst);
	PQclear(roles);
	sbuf_fini(&sql);
	return rc;
}

void
globals_diffs_fini(globals_diffs *d)
{
	for (int i = 0; i < d->ndiffs; i++)
		free(d->diffs[i]);
	for (int i = 0; i < d->nnotes; i++)
		free(d->notes[i]);
	free(d->diffs);
	free(d->notes);
	memset(d, 0, sizeof(*d));
}
