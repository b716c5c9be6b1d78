/*
 * check_local.c: the preflight's checks of this machine (see
 * check_int.h): room in the spill directory, and pg_dump and pg_restore
 * of a version that can read the source and write the target.
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

#include "base/sbuf.h"
#include "engine/conn.h"
#include "engine/log.h"
#include "engine/schema.h"
#include "engine/target.h"

/* --spill DIR: its file system's free space against the source's data, compressed. */
int
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
		int64_t		limit = (free_bytes - (int64_t) c->opt->common.jobs * c->opt->common.chunk_bytes) / 4 * 3;

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

/* Schema mode: pg_dump and pg_restore of the newer server's major version, found as clone finds them. */
int
check_tools(check_ctx *c)
{
	schema_tools tools;
	sl_err		missing;
	char		summary[PATH_MAX + 256];
	char		fix[1024];
	int			need;

	if (c->opt->data_only || c->opt->loads_only || c->src.conn == NULL ||
		(c->dst.conn == NULL && c->opt->common.target != NULL))
		return 0;
	/* dump (no target) needs a pg_dump of the source's version */
	need = c->dst.conn == NULL || c->src.major > c->dst.major ? c->src.major : c->dst.major;
	err_clear(&missing);
	if (schema_find_tools(c->opt->common.pg_bindir, need, &tools, &missing) == 0)
	{
		snprintf(summary, sizeof(summary), "pg_dump and pg_restore of PostgreSQL %d, for the schema: %s",
				 tools.major, tools.pg_dump);
		check_add(c->r, CHECK_OK, CHECK_LOCAL, "pg_tools", summary, NULL, NULL, 0);
		return 0;
	}
	snprintf(summary, sizeof(summary), "no pg_dump and pg_restore of PostgreSQL %d or later%s%s%s, which "
			 "the schema step needs", need, c->opt->common.pg_bindir ? " in \"" : " found",
			 c->opt->common.pg_bindir ? c->opt->common.pg_bindir : "", c->opt->common.pg_bindir ? "\"" : "");
	snprintf(fix, sizeof(fix), "install postgresql-client-%d, or name their directory with --pg-bindir",
			 need);
	check_add(c->r, CHECK_BLOCKER, CHECK_LOCAL, "pg_tools", summary, fix, NULL, 0);
	return 0;
}

