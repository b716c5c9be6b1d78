/*
 * lobj.c: large objects, copied as data.  See lobj.h.
 */
#include "engine/lobj.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/conn.h"

#define METADATA_FETCH "1000"	/* large objects per FETCH */
#define METADATA_BATCH 500		/* large objects per batch of statements */
#define METADATA_PART_MAX (64u << 20)	/* the longest statement a metadata file may hold */
#define INV_WRITE "131072"		/* lo_open's mode (libpq-fs.h) */

void
lobj_copy_out_sql(sbuf *out, const char *predicate, bool text)
{
	sbuf_printf(out, "COPY (SELECT oid, pg_catalog.lo_get(oid) FROM " LOBJ_TABLE " WHERE %s)"
				" TO STDOUT (FORMAT %s)", predicate != NULL ? predicate : "true", text ? "text" : "binary");
}

void
lobj_copy_in_sql(sbuf *out, bool text)
{
	sbuf_printf(out, "COPY " LOBJ_LOAD_TABLE " (oid, data) FROM STDIN (FORMAT %s)", text ? "text" : "binary");
}

int
lobj_load_begin(PGconn *target, sl_err *err)
{
	PGresult   *res;
	bool		exists;
	int			rc;

	/* to_regclass, not CREATE ... IF NOT EXISTS, which says so in a notice each time */
	if ((rc = conn_query_params(target, SIDE_TARGET, "SELECT pg_catalog.to_regclass('" LOBJ_LOAD_TABLE "') IS NOT NULL",
								0, NULL, &res, "could not prepare the large objects' load on", err)) < 0)
		return rc;
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (exists)
		return 0;
	return conn_exec_watched(target, SIDE_TARGET,
					 "CREATE TEMPORARY TABLE " LOBJ_LOAD_TABLE " (oid pg_catalog.oid, data pg_catalog.bytea)"
					 " ON COMMIT DELETE ROWS", err);
}

int
lobj_load_finish(PGconn *target, sl_err *err)
{
	int			rc;

	/* one statement each: the objects exist before they are opened, and are empty before they are written */
	if ((rc = conn_exec_watched(target, SIDE_TARGET,
								"SELECT pg_catalog.lo_create(i.oid) FROM " LOBJ_LOAD_TABLE " i"
								" WHERE NOT EXISTS (SELECT FROM " LOBJ_TABLE " m WHERE m.oid = i.oid)", err)) < 0 ||
		(rc = conn_exec_watched(target, SIDE_TARGET,
								"SELECT pg_catalog.lo_truncate64(pg_catalog.lo_open(i.oid, " INV_WRITE "), 0)"
								" FROM " LOBJ_LOAD_TABLE " i", err)) < 0 ||
		(rc = conn_exec_watched(target, SIDE_TARGET,
								"SELECT pg_catalog.lo_put(i.oid, 0, i.data) FROM " LOBJ_LOAD_TABLE " i"
								" WHERE pg_catalog.length(i.data) > 0", err)) < 0)
		return rc;
	return conn_exec_watched(target, SIDE_TARGET, "TRUNCATE " LOBJ_LOAD_TABLE, err);
}

/*
 * One row per large object, its statements in four parts (lobj_part): the
 * server quotes every name and text.
 */
static const char metadata_query[] =
	"DECLARE pgsluice_lobj NO SCROLL CURSOR FOR"
	" SELECT pg_catalog.format('SELECT pg_catalog.lo_create(%s) WHERE NOT EXISTS"
	"                           (SELECT FROM " LOBJ_TABLE " WHERE oid = %s::pg_catalog.oid);',"
	"                          m.oid, m.oid),"
	"   pg_catalog.format(' ALTER LARGE OBJECT %s OWNER TO %I;', m.oid, pg_catalog.pg_get_userbyid(m.lomowner)),"
	"   CASE WHEN m.lomacl IS NOT NULL THEN pg_catalog.concat("
	"     pg_catalog.format(' REVOKE ALL ON LARGE OBJECT %s FROM PUBLIC, %I;',"
	"                       m.oid, pg_catalog.pg_get_userbyid(m.lomowner)),"
	"     (SELECT pg_catalog.string_agg(pg_catalog.format(' GRANT %s ON LARGE OBJECT %s TO %s%s;',"
	"                a.privilege_type, m.oid,"
	"                CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
	"                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,"
	"                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), '' ORDER BY a.n)"
	"      FROM pg_catalog.aclexplode(m.lomacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type,"
	"                                                                 is_grantable, n))) END,"
	"   (SELECT pg_catalog.format(' COMMENT ON LARGE OBJECT %s IS %L;', m.oid, d.description)"
	"    FROM pg_catalog.pg_description d"
	"    WHERE d.objoid = m.oid AND d.objsubid = 0"
	"      AND d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass)"
	" FROM " LOBJ_TABLE " m ORDER BY m.oid";

/* Statements of many objects, run together on a target. */
typedef struct batch
{
	PGconn	   *target;			/* borrowed; NULL: kept for a file */
	lobj_metadata_options opt;
	sbuf		sql;
	int			n;
} batch;

static int
batch_flush(batch *b, sl_err *err)
{
	int			rc = 0;

	if (sbuf_failed(&b->sql))
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory creating the large objects");
	else if (b->n > 0)
		rc = conn_exec_watched(b->target, SIDE_TARGET, sbuf_str(&b->sql), err);
	sbuf_reset(&b->sql);
	b->n = 0;
	return rc;
}

/* Adds one object's parts, those the options keep. */
static int
batch_add(batch *b, const char *const *part, const size_t *len, sl_err *err)
{
	for (int i = 0; i < LOBJ_NPARTS; i++)
	{
		if ((i == LOBJ_PART_OWNER && b->opt.no_owner) || (i == LOBJ_PART_ACL && b->opt.no_privileges))
			continue;
		sbuf_appendn(&b->sql, part[i], len[i]);
	}
	sbuf_append(&b->sql, "\n");
	return ++b->n < METADATA_BATCH ? 0 : batch_flush(b, err);
}

typedef int (*row_sink) (void *arg, const char *const *part, const size_t *len, sl_err *err);

/* Hands sink each large object's parts, in OID order. */
static int
read_metadata(PGconn *source, row_sink sink, void *arg, long long *count, sl_err *err)
{
	/* a cursor lives in a transaction: the snapshot's, or else one of its own */
	bool		own_transaction = PQtransactionStatus(source) == PQTRANS_IDLE;
	PGresult   *res = NULL;
	int			rc;

	*count = 0;
	if (own_transaction && (rc = conn_exec(source, SIDE_SOURCE, "BEGIN", err)) < 0)
		return rc;
	if ((rc = conn_exec(source, SIDE_SOURCE, metadata_query, err)) < 0)
		return own_transaction ? conn_end_transaction(source, SIDE_SOURCE, rc, err) : rc;
	for (;;)
	{
		int			n;

		if ((rc = conn_query(source, SIDE_SOURCE, "FETCH " METADATA_FETCH " FROM pgsluice_lobj", &res, err)) < 0)
			break;
		n = PQntuples(res);
		for (int i = 0; i < n && rc == 0; i++)
		{
			const char *part[LOBJ_NPARTS];
			size_t		len[LOBJ_NPARTS];

			for (int p = 0; p < LOBJ_NPARTS; p++)
			{
				part[p] = PQgetvalue(res, i, p);
				len[p] = (size_t) PQgetlength(res, i, p);
			}
			rc = sink(arg, part, len, err);
		}
		PQclear(res);
		*count += n;
		if (n == 0 || rc < 0)
			break;
	}
	if (own_transaction)
		return conn_end_transaction(source, SIDE_SOURCE, rc, err);
	return rc == 0 ? conn_exec(source, SIDE_SOURCE, "CLOSE pgsluice_lobj", err) : rc;
}

static int
sink_batch(void *arg, const char *const *part, const size_t *len, sl_err *err)
{
	return batch_add(arg, part, len, err);
}

int
lobj_metadata_copy(PGconn *source, PGconn *target, const lobj_metadata_options *opt, long long *count,
				   sl_err *err)
{
	batch		b = {target, *opt, {0}, 0};
	int			rc;

	*count = 0;
	if ((rc = conn_exec(target, SIDE_TARGET, "BEGIN", err)) < 0)
		return rc;
	sbuf_init(&b.sql, SBUF_DEFAULT_CAP);
	if ((rc = read_metadata(source, sink_batch, &b, count, err)) == 0)
		rc = batch_flush(&b, err);
	sbuf_fini(&b.sql);
	return conn_end_transaction(target, SIDE_TARGET, rc, err);
}

/*
 * The file: per object, a line "lo LEN LEN LEN LEN" (the parts' lengths in
 * bytes, in lobj_part order), then the parts, back to back.
 */
static int
sink_file(void *arg, const char *const *part, const size_t *len, sl_err *err)
{
	FILE	   *f = arg;
	bool		ok = fprintf(f, "lo %zu %zu %zu %zu\n", len[0], len[1], len[2], len[3]) > 0;

	for (int i = 0; ok && i < LOBJ_NPARTS; i++)
		ok = fwrite(part[i], 1, len[i], f) == len[i];
	return ok ? 0 : err_set(err, SIDE_LOCAL, -EIO, "could not write the large objects' metadata: %s",
							strerror(errno));
}

int
lobj_metadata_dump(PGconn *source, const char *path, long long *count, sl_err *err)
{
	char		tmp[PATH_MAX];
	FILE	   *f;
	int			fd;
	int			rc;

	*count = 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
		return err_set(err, SIDE_USAGE, -ENAMETOOLONG, "path too long: \"%s\"", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 || (f = fdopen(fd, "w")) == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not create \"%s\": %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = read_metadata(source, sink_file, f, count, err);
	if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		rc = err_set(err, SIDE_LOCAL, -errno, "could not write \"%s\": %s", tmp, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = err_set(err, SIDE_LOCAL, -errno, "could not write \"%s\": %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = err_set(err, SIDE_LOCAL, -errno, "could not rename \"%s\": %s", tmp, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int
lobj_metadata_parse_header(const char *line, size_t *len)
{
	const char *p = line;

	if (strncmp(p, "lo ", 3) != 0)
		return -EPROTO;
	p += 3;
	for (int i = 0; i < LOBJ_NPARTS; i++)
	{
		char	   *end;
		unsigned long long n;

		if (*p < '0' || *p > '9')
			return -EPROTO;
		errno = 0;
		n = strtoull(p, &end, 10);
		if (errno != 0 || n > METADATA_PART_MAX || *end != (i + 1 < LOBJ_NPARTS ? ' ' : '\n'))
			return -EPROTO;
		len[i] = (size_t) n;
		p = end + 1;
	}
	return *p == '\0' ? 0 : -EPROTO;
}

int
lobj_metadata_replay(PGconn *target, const char *path, const lobj_metadata_options *opt, long long *count,
					 sl_err *err)
{
	FILE	   *f = fopen(path, "r");
	batch		b = {target, *opt, {0}, 0};
	char		line[128];
	char	   *part[LOBJ_NPARTS] = {NULL};
	int			rc;

	*count = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : err_set(err, SIDE_USAGE, -errno, "could not open \"%s\": %s", path,
											 strerror(errno));
	if ((rc = conn_exec(target, SIDE_TARGET, "BEGIN", err)) < 0)
	{
		fclose(f);
		return rc;
	}
	sbuf_init(&b.sql, SBUF_DEFAULT_CAP);
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
	{
		size_t		len[LOBJ_NPARTS];

		if (lobj_metadata_parse_header(line, len) < 0)
		{
			rc = err_set(err, SIDE_USAGE, -EPROTO, "\"%s\" is not a large object metadata file of pgsluice: "
						 "object %lld has no valid header", path, *count + 1);
			break;
		}
		for (int i = 0; i < LOBJ_NPARTS && rc == 0; i++)
		{
			if ((part[i] = malloc(len[i] + 1)) == NULL)
				rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory reading \"%s\"", path);
			else if (fread(part[i], 1, len[i], f) != len[i])
				rc = err_set(err, SIDE_USAGE, -EPROTO, "\"%s\" is truncated in object %lld", path, *count + 1);
			else if (memchr(part[i], '\0', len[i]) != NULL)
				rc = err_set(err, SIDE_USAGE, -EPROTO, "\"%s\" holds a NUL byte in object %lld", path,
							 *count + 1);
		}
		if (rc == 0)
		{
			(*count)++;
			rc = batch_add(&b, (const char *const *) part, len, err);
		}
		for (int i = 0; i < LOBJ_NPARTS; i++)
		{
			free(part[i]);
			part[i] = NULL;
		}
	}
	if (rc == 0 && ferror(f))
		rc = err_set(err, SIDE_LOCAL, -EIO, "could not read \"%s\": %s", path, strerror(errno));
	if (rc == 0)
		rc = batch_flush(&b, err);
	fclose(f);
	sbuf_fini(&b.sql);
	return conn_end_transaction(target, SIDE_TARGET, rc, err);
}
