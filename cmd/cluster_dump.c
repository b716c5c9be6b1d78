/*
 * cluster_dump.c: dump and restore --all-databases.  See cluster_dump.h.
 */
#include "cmd/cluster_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "codec/json.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/progress.h"
#include "engine/state.h"
#include "engine/stop.h"

#define CLUSTER_FORMAT "pgsluice cluster dump"
#define CLUSTER_MANIFEST_MAX ((size_t) 1 << 28)

/* What cluster.json holds of one database. */
typedef struct dumped_database
{
	char		dir[16];		/* db-NNNN */
	globals_database db;		/* name, target name (restore: mapped), tablespace */
	globals_db_props props;
	bool		done;			/* its dump finished */
	char	   *error;			/* why it did not; NULL */
	int			tables;
	uint64_t	rows;
} dumped_database;

static int
oom(sl_err *err)
{
	return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
}

/* ---- dump ---- */

static void
put_database(json_writer *w, const dumped_database *d, const cluster_database *cd)
{
	json_put_object(w, NULL, JSON_LINES);
	json_put_string(w, "name", d->db.name);
	json_put_string(w, "dir", d->dir);
	json_put_string(w, "tablespace", d->db.tablespace);
	json_put_int(w, "bytes", d->db.bytes);
	json_put_string(w, "status", cd->status == CLUSTER_DB_DONE ? "done" : "failed");
	json_put_string(w, "error", cd->status == CLUSTER_DB_DONE ? NULL : cd->err.msg);
	json_put_int(w, "tables", cd->tables);
	json_put_uint(w, "rows", cd->rows);
	textrows_put(w, "properties", &d->props.props);
	textrows_put(w, "privileges", &d->props.acl);
	textrows_put(w, "settings", &d->props.settings);
	json_put_end(w);
}

static int
write_cluster_manifest(int dir_fd, const cluster_dump_options *opt, const globals_role_set *roles,
					   const dumped_database *dbs, const cluster_report *r, sl_err *err)
{
	char		redacted[2048];
	sbuf		text;
	json_writer w;
	int			rc;

	sbuf_init(&text, CLUSTER_MANIFEST_MAX);
	json_writer_init(&w, &text);
	json_put_object(&w, NULL, JSON_LINES);
	json_put_string(&w, "format", CLUSTER_FORMAT);
	json_put_int(&w, "version", 1);
	conn_redact(opt->dump.common.source, redacted, sizeof(redacted));
	json_put_string(&w, "source", redacted);
	if (roles != NULL)
	{
		json_put_object(&w, "roles", JSON_LINES);
		json_put_bool(&w, "passwords", roles->passwords && !opt->globals.no_role_passwords);
		textrows_put(&w, "roles", &roles->roles);
		textrows_put(&w, "memberships", &roles->members);
		textrows_put(&w, "settings", &roles->settings);
		json_put_end(&w);
	}
	json_put_array(&w, "databases", JSON_LINES);
	for (int i = 0; i < r->ndatabases; i++)
		if (r->databases[i].status != CLUSTER_DB_PENDING)
			put_database(&w, &dbs[i], &r->databases[i]);
	json_put_end(&w);
	json_put_end(&w);
	if ((rc = json_writer_finish(&w)) < 0 || (rc = sbuf_append(&text, "\n")) < 0)
		rc = err_set(err, SIDE_LOCAL, rc, "could not write %s: %s", CLUSTER_MANIFEST, strerror(-rc));
	else
		rc = dump_write_file(dir_fd, CLUSTER_MANIFEST, &text, err);
	sbuf_fini(&text);
	return rc;
}

/* One database into its directory; its result into d. */
static void
dump_database(const cluster_dump_options *opt, PGconn *source, dumped_database *dd, cluster_database *d)
{
	dump_options one = opt->dump;
	dump_report *report = NULL;
	char	   *info = NULL;
	char		path[PATH_MAX];
	double		t = clock_seconds();
	int			rc;

	err_clear(&d->err);
	snprintf(path, sizeof(path), "%s/%s", opt->dump.dir, dd->dir);
	if ((rc = globals_read_database(source, dd->db.name, &dd->props, &d->err)) == 0 &&
		(rc = conn_info_with_dbname(opt->dump.common.source, dd->db.name, &info)) < 0)
		rc = oom(&d->err);
	if (rc == 0)
	{
		one.common.source = info;
		one.dir = path;
		log_set_label(dd->db.name);
		rc = dump_run(&one, &report, &d->err);
		log_set_label(NULL);
	}
	d->status = rc == 0 ? CLUSTER_DB_DONE : CLUSTER_DB_FAILED;
	if (report != NULL)
	{
		d->tables = report->cat != NULL ? report->cat->ntables : 0;
		d->rows = report->rows;
		d->copied_bytes = report->bytes;
	}
	d->seconds = clock_seconds() - t;
	dump_report_destroy(report);
	free(info);
}

int
cluster_dump_run(const cluster_dump_options *opt, cluster_report **report_out, sl_err *err)
{
	cluster_report *r = NULL;
	globals_database *dbs = NULL;
	dumped_database *dumped = NULL;
	globals_role_set roles = {0};
	bool		have_roles = false;
	PGconn	   *source = NULL;
	int			ndbs = 0;
	int			dir_fd = -1;
	double		start = clock_seconds();
	int			rc;

	*report_out = NULL;
	if ((rc = globals_connect(&source, opt->dump.common.source, NULL, SIDE_SOURCE, err)) < 0 ||
		(rc = globals_list_databases(source, &opt->patterns, &dbs, &ndbs, err)) < 0)
		goto done;
	if ((r = calloc(1, sizeof(*r))) == NULL || (dumped = calloc((size_t) ndbs + 1, sizeof(dumped_database))) == NULL ||
		cluster_report_add(r, dbs, ndbs) < 0)
	{
		rc = oom(err);
		goto done;
	}
	for (int i = 0; i < ndbs; i++)
	{
		snprintf(dumped[i].dir, sizeof(dumped[i].dir), "db-%04d", i + 1);
		dumped[i].db = dbs[i];
	}
	if ((rc = dump_dir_open(opt->dump.dir, &dir_fd, err)) < 0)
		goto done;
	log_info("cluster: %d database%s to dump into \"%s\", largest first", ndbs, ndbs == 1 ? "" : "s",
			 opt->dump.dir);
	if (!opt->no_roles)
	{
		double		t = clock_seconds();

		if ((rc = globals_read_roles(source, &opt->globals, &roles, err)) < 0)
			goto done;
		have_roles = true;
		r->seconds_roles = clock_seconds() - t;
		log_info("roles: %d, %d memberships%s", roles.roles.nrows, roles.members.nrows,
				 roles.passwords || opt->globals.no_role_passwords ? ""
				 : " (without passwords: reading their hashes needs a superuser)");
	}
	for (int i = 0; i < ndbs && !atomic_load(stop_flag()); i++)
	{
		cluster_database *d = &r->databases[i];

		progress_phase("cluster: dumping a database");
		log_info("database \"%s\": into %s", d->name, dumped[i].dir);
		dump_database(opt, source, &dumped[i], d);
		if (d->status == CLUSTER_DB_FAILED)
		{
			r->failed++;
			log_error("database \"%s\" failed: %s", d->name, d->err.msg);
		}
		else
			log_info("database \"%s\": done in %.1f s", d->name, d->seconds);
	}
	/* last, so that a directory without it is known to be unfinished */
	if ((rc = write_cluster_manifest(dir_fd, opt, have_roles ? &roles : NULL, dumped, r, err)) == 0 &&
		atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

done:
	if (r != NULL)
		r->seconds = clock_seconds() - start;
	for (int i = 0; dumped != NULL && i < ndbs; i++)
		globals_db_props_fini(&dumped[i].props);
	free(dumped);
	globals_role_set_fini(&roles);
	globals_databases_free(dbs, ndbs);
	conn_close(&source);
	if (dir_fd >= 0)
		close(dir_fd);
	*report_out = r;
	return rc;
}

/* ---- restore ---- */

static int
bad_cluster(sl_err *err, const char *dir, const char *what)
{
	return err_set(err, SIDE_USAGE, -EPROTO, "\"%s/%s\" is not a valid pgsluice cluster dump manifest: %s", dir,
				   CLUSTER_MANIFEST, what);
}

static char *
dup_string(const json_value *v)
{
	size_t		len;
	const char *s = json_string(v, &len);

	return s != NULL && strlen(s) == len ? strdup(s) : NULL;
}

bool
cluster_dump_is_cluster(const char *dir)
{
	char		path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, CLUSTER_MANIFEST);
	return access(path, F_OK) == 0;
}

/* What cluster.json says, its shapes checked: the roles (when there), every database. */
static int
read_cluster_manifest(int dir_fd, const char *dir, globals_role_set *roles, bool *have_roles,
					  dumped_database **out, int *count, sl_err *err)
{
	json_doc   *doc = NULL;
	const json_value *root;
	const json_value *v;
	const json_value *list;
	dumped_database *dbs = NULL;
	char	   *format = NULL;
	int64_t		version = 0;
	int			n = 0;
	int			rc;

	*out = NULL;
	*count = 0;
	*have_roles = false;
	memset(roles, 0, sizeof(*roles));
	if ((rc = dump_read_json(dir_fd, dir, CLUSTER_MANIFEST, CLUSTER_MANIFEST_MAX, &doc, err)) < 0)
	{
		if (rc == -ENOENT)
			rc = err_set(err, SIDE_USAGE, -ENOENT, "directory \"%s\" is not a pgsluice cluster dump: it has no "
						 "%s (a dump writes it last, so the dump may not have finished)", dir, CLUSTER_MANIFEST);
		return rc;
	}
	root = json_root(doc);
	format = dup_string(json_get(root, "format"));
	if (format == NULL || strcmp(format, CLUSTER_FORMAT) != 0)
	{
		rc = bad_cluster(err, dir, "its \"format\" is not \"" CLUSTER_FORMAT "\"");
		goto done;
	}
	if (json_int64(json_get(root, "version"), &version) < 0 || version != 1)
	{
		rc = bad_cluster(err, dir, "its version is not 1 (a newer pgsluice wrote it?)");
		goto done;
	}
	if ((v = json_get(root, "roles")) != NULL)
	{
		if (json_bool(json_get(v, "passwords"), &roles->passwords) < 0 ||
			(rc = textrows_get(json_get(v, "roles"), 2, &roles->roles)) < 0 ||
			(rc = textrows_get(json_get(v, "memberships"), 4, &roles->members)) < 0 ||
			(rc = textrows_get(json_get(v, "settings"), 2, &roles->settings)) < 0 ||
			!globals_role_set_valid(roles))
		{
			rc = rc == -ENOMEM ? oom(err) : bad_cluster(err, dir, "its \"roles\" are not as a dump writes them");
			goto done;
		}
		*have_roles = true;
	}
	list = json_get(root, "databases");
	if (list == NULL || json_kind(list) != JSON_ARRAY || json_len(list) > 100000)
	{
		rc = bad_cluster(err, dir, "it lacks the \"databases\" array");
		goto done;
	}
	if ((dbs = calloc(json_len(list) + 1, sizeof(dumped_database))) == NULL)
	{
		rc = oom(err);
		goto done;
	}
	for (size_t i = 0; i < json_len(list); i++)
	{
		const json_value *e = json_at(list, i);
		dumped_database *d = &dbs[i];
		char	   *dirname = dup_string(json_get(e, "dir"));
		char	   *status = dup_string(json_get(e, "status"));
		int64_t		tables = 0;
		bool		ok;

		n = (int) i + 1;		/* so that a failure frees what this one took */
		d->db.name = dup_string(json_get(e, "name"));
		d->db.tablespace = json_is_null(json_get(e, "tablespace")) ? NULL : dup_string(json_get(e, "tablespace"));
		d->error = json_is_null(json_get(e, "error")) ? NULL : dup_string(json_get(e, "error"));
		/* a directory of the dump's own: db-NNNN, never a path */
		ok = d->db.name != NULL && dirname != NULL && strlen(dirname) == 7 && strncmp(dirname, "db-", 3) == 0 &&
			strspn(dirname + 3, "0123456789") == 4 && status != NULL &&
			(strcmp(status, "done") == 0 || strcmp(status, "failed") == 0) &&
			json_int64(json_get(e, "tables"), &tables) == 0 && tables >= 0 && tables < INT32_MAX &&
			json_uint64(json_get(e, "rows"), &d->rows) == 0 &&
			json_int64(json_get(e, "bytes"), &d->db.bytes) == 0;
		if (ok)
		{
			snprintf(d->dir, sizeof(d->dir), "%s", dirname);
			d->done = strcmp(status, "done") == 0;
			d->tables = (int) tables;
		}
		free(dirname);
		free(status);
		if (!ok)
		{
			rc = bad_cluster(err, dir, "a database lacks its name, directory, status or figures");
			goto done;
		}
		if ((rc = textrows_get(json_get(e, "properties"), GLOBALS_DB_PROPS_COLS, &d->props.props)) < 0 ||
			(rc = textrows_get(json_get(e, "privileges"), 3, &d->props.acl)) < 0 ||
			(rc = textrows_get(json_get(e, "settings"), 2, &d->props.settings)) < 0 ||
			!globals_db_props_valid(&d->props))
		{
			rc = rc == -ENOMEM ? oom(err) : bad_cluster(err, dir, "a database's properties are not as a dump "
														"writes them");
			goto done;
		}
	}
	for (int i = 0; i < n && rc == 0; i++)
		for (int j = i + 1; j < n && rc == 0; j++)
			if (strcmp(dbs[i].db.name, dbs[j].db.name) == 0 || strcmp(dbs[i].dir, dbs[j].dir) == 0)
				rc = bad_cluster(err, dir, "two databases have one name or one directory");

done:
	free(format);
	json_doc_destroy(doc);
	if (rc < 0)
	{
		for (int i = 0; dbs != NULL && i < n; i++)
		{
			free(dbs[i].db.name);
			free(dbs[i].db.tablespace);
			free(dbs[i].error);
			globals_db_props_fini(&dbs[i].props);
		}
		free(dbs);
		globals_role_set_fini(roles);
		*have_roles = false;
		return rc;
	}
	*out = dbs;
	*count = n;
	return 0;
}

/* --database-map over the dump's databases: each OLD one of them, no two onto one name. */
static int
map_names(const globals_patterns *p, dumped_database *dbs, int n, sl_err *err)
{
	for (int m = 0; m < p->nmap; m++)
	{
		const char *eq = strchr(p->map[m], '=');
		bool		found = false;

		if (eq == NULL || eq == p->map[m] || eq[1] == '\0')
			return err_set(err, SIDE_USAGE, -EINVAL, "invalid --database-map \"%s\": want OLD=NEW", p->map[m]);
		for (int i = 0; i < n; i++)
			if (strlen(dbs[i].db.name) == (size_t) (eq - p->map[m]) &&
				strncmp(dbs[i].db.name, p->map[m], (size_t) (eq - p->map[m])) == 0)
			{
				found = true;
				dbs[i].db.target_name = (char *) eq + 1;
			}
		if (!found)
			return err_set(err, SIDE_USAGE, -EINVAL, "--database-map \"%s\": the dump has no database of that "
						   "name", p->map[m]);
	}
	for (int i = 0; i < n; i++)
		if (dbs[i].db.target_name == NULL)
			dbs[i].db.target_name = dbs[i].db.name;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(dbs[i].db.target_name, dbs[j].db.target_name) == 0)
				return err_set(err, SIDE_USAGE, -EINVAL, "databases \"%s\" and \"%s\" would both land in \"%s\"",
							   dbs[i].db.name, dbs[j].db.name, dbs[i].db.target_name);
	return 0;
}

/*
 * Before anything is written: a database of the dump that the target has
 * and that holds tables of its dump is in the way (resumed: it goes on
 * with its unfinished run, or was done).  exists[i] says what is there.
 */
static int
check_restore_targets(const cluster_restore_options *opt, dumped_database *dbs, cluster_report *r, PGconn *target,
					  bool *exists, sl_err *err)
{
	sbuf		in_the_way;
	int			blocked = 0;
	int			rc = 0;

	sbuf_init(&in_the_way, 1 << 16);
	for (int i = 0; i < r->ndatabases && rc == 0; i++)
	{
		cluster_database *d = &r->databases[i];
		PGconn	   *conn = NULL;
		char		path[PATH_MAX];
		sl_err		why;

		if (!dbs[i].done)
			continue;
		if ((rc = globals_database_exists(target, d->target_name, err)) < 0)
			break;
		if (!(exists[i] = rc > 0))
		{
			rc = 0;
			continue;
		}
		if ((rc = globals_connect(&conn, opt->restore.common.target, d->target_name, SIDE_TARGET, err)) < 0)
			break;
		if (opt->resume)
			rc = state_unfinished_run(conn, opt->restore.state_schema, &d->resumed_run, err);
		snprintf(path, sizeof(path), "%s/%s", opt->restore.dir, dbs[i].dir);
		err_clear(&why);
		if (rc == 0 && d->resumed_run == 0 && restore_target_free(path, conn, &why) < 0)
		{
			if (why.code != -EEXIST)
				rc = err_set(err, why.side, why.code, "database \"%s\": %s", d->name, why.msg);
			else if (opt->resume)
				d->done_before = true;
			else
				sbuf_printf(&in_the_way, "%s\"%s\"", blocked++ ? ", " : "", d->target_name);
		}
		conn_close(&conn);
	}
	if (rc == 0 && blocked > 0)
	{
		rc = err_set(err, SIDE_TARGET, -EEXIST, "databases on the target already hold tables of the dump: %.2000s",
					 sbuf_str(&in_the_way));
		err_hint(err, "Drop them, land them elsewhere with --database-map, or --resume last to go on with a "
				 "cluster restore that stopped.");
	}
	sbuf_fini(&in_the_way);
	return rc;
}

/* Step 4 for one database: created where missing, then restored. */
static void
restore_database(const cluster_restore_options *opt, PGconn *target, const dumped_database *dd, bool exists,
				 cluster_database *d)
{
	restore_options one = opt->restore;
	restore_report *report = NULL;
	char	   *info = NULL;
	char		path[PATH_MAX];
	char		resume[32];
	double		t = clock_seconds();
	int			rc = 0;

	err_clear(&d->err);
	if (!exists)
	{
		if ((rc = globals_apply_database(target, &dd->db, &dd->props, &opt->globals, &d->err)) == 0)
			d->created = true;
	}
	if (rc == 0 && conn_info_with_dbname(opt->restore.common.target, d->target_name, &info) < 0)
		rc = oom(&d->err);
	if (rc == 0)
	{
		snprintf(path, sizeof(path), "%s/%s", opt->restore.dir, dd->dir);
		one.common.target = info;
		one.dir = path;
		if (d->resumed_run > 0)
		{
			snprintf(resume, sizeof(resume), "%lld", (long long) d->resumed_run);
			one.resume = resume;
		}
		log_set_label(d->name);
		rc = restore_run(&one, &report, &d->err);
		log_set_label(NULL);
	}
	d->status = rc == 0 ? CLUSTER_DB_DONE : CLUSTER_DB_FAILED;
	d->tables = dd->tables;
	if (report != NULL)
	{
		d->run_id = report->run_id;
		d->rows = report->rows;
		d->copied_bytes = report->bytes;
	}
	d->seconds = clock_seconds() - t;
	restore_report_destroy(report);
	free(info);
}

int
cluster_restore_run(const cluster_restore_options *opt, cluster_report **report_out, sl_err *err)
{
	cluster_report *r = NULL;
	dumped_database *dbs = NULL;
	globals_role_set roles = {0};
	bool		have_roles = false;
	PGconn	   *target = NULL;
	bool	   *exists = NULL;
	int			ndbs = 0;
	int			dir_fd;
	double		start = clock_seconds();
	int			rc;

	*report_out = NULL;
	if ((dir_fd = open(opt->restore.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(err, SIDE_USAGE, -errno, "could not open dump directory \"%s\": %s", opt->restore.dir,
					   strerror(errno));
	rc = read_cluster_manifest(dir_fd, opt->restore.dir, &roles, &have_roles, &dbs, &ndbs, err);
	close(dir_fd);
	if (rc < 0)
		return rc;
	if ((rc = map_names(&opt->patterns, dbs, ndbs, err)) < 0)
		goto done;
	if (!have_roles && !opt->no_roles)
	{
		rc = err_set(err, SIDE_USAGE, -ENOENT, "the dump in \"%s\" has no roles (it was made with --no-roles)",
					 opt->restore.dir);
		err_hint(err, "Create the roles on the target first and restore with --no-roles.");
		goto done;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (exists = calloc((size_t) ndbs + 1, sizeof(bool))) == NULL)
	{
		rc = oom(err);
		goto done;
	}
	for (int i = 0; i < ndbs; i++)
		if (cluster_report_add(r, &dbs[i].db, 1) < 0)
		{
			rc = oom(err);
			goto done;
		}
	if ((rc = globals_connect(&target, opt->restore.common.target, NULL, SIDE_TARGET, err)) < 0)
		goto done;
	log_info("cluster: %d database%s to restore from \"%s\"", ndbs, ndbs == 1 ? "" : "s", opt->restore.dir);

	/* nothing in the way, before anything is written */
	progress_phase("cluster: checking the target's databases");
	if ((rc = check_restore_targets(opt, dbs, r, target, exists, err)) < 0)
		goto done;
	if (!opt->no_roles)
	{
		double		t = clock_seconds();

		progress_phase("cluster: roles");
		if ((rc = globals_apply_roles(target, &roles, &r->roles, err)) < 0)
			goto done;
		r->roles_copied = true;
		r->seconds_roles = clock_seconds() - t;
		log_info("roles: %d created, %d there already, %d memberships granted", r->roles.ncreated,
				 r->roles.nexisting, r->roles.nmemberships);
	}
	for (int i = 0; i < ndbs && !atomic_load(stop_flag()); i++)
	{
		cluster_database *d = &r->databases[i];

		if (!dbs[i].done)
		{
			d->status = CLUSTER_DB_FAILED;
			err_set(&d->err, SIDE_USAGE, -ENOENT, "its dump did not finish: %s",
					dbs[i].error != NULL ? dbs[i].error : "no reason recorded");
		}
		else if (d->done_before)
		{
			d->status = CLUSTER_DB_DONE;
			log_info("database \"%s\": done by the run before", d->name);
			continue;
		}
		else
		{
			progress_phase("cluster: restoring a database");
			log_info("database \"%s\"%s%s%s: %s", d->name, strcmp(d->name, d->target_name) ? " as \"" : "",
					 strcmp(d->name, d->target_name) ? d->target_name : "", strcmp(d->name, d->target_name) ? "\"" : "",
					 d->resumed_run > 0 ? "going on with its run" : exists[i] ? "into the existing database"
					 : "creating it on the target");
			restore_database(opt, target, &dbs[i], exists[i], d);
		}
		if (d->status == CLUSTER_DB_FAILED)
		{
			r->failed++;
			log_error("database \"%s\" failed: %s", d->name, d->err.msg);
		}
		else
			log_info("database \"%s\": done in %.1f s", d->name, d->seconds);
	}
	if (atomic_load(stop_flag()))
		rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");

done:
	if (r != NULL)
		r->seconds = clock_seconds() - start;
	for (int i = 0; dbs != NULL && i < ndbs; i++)
	{
		free(dbs[i].db.name);
		free(dbs[i].db.tablespace);
		free(dbs[i].error);
		globals_db_props_fini(&dbs[i].props);
	}
	free(dbs);
	free(exists);
	globals_role_set_fini(&roles);
	conn_close(&target);
	*report_out = r;
	return rc;
}
