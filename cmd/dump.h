/*
 * dump.h: a database into a spill directory, and back out of one.
 *
 * A dump directory (mode 0700, files 0600) holds:
 *   manifest.json        written last, atomically: the dump's id, source,
 *                        snapshot, tables with their columns and formats,
 *                        and per chunk its file, range, rows, bytes,
 *                        compressed bytes and digest; sequences; matviews
 *   schema.dump          pg_dump --schema-only --format=custom, at the
 *                        dump's snapshot (pre-data and post-data)
 *   chunk-NNNNNN.pgsl    one per chunk of the plan (codec/spill.h), written
 *                        through io/spillfile.h: a file exists under its
 *                        final name only once it is whole and durable
 * Every chunk is read at one exported snapshot (--best-effort: without),
 * with the plan the clone uses, and hashed on the way with the clone's
 * digest.
 *
 * A restore reads the manifest, then checks every chunk file it names
 * (header, dump id, every frame's checksum, the trailer) before it writes
 * anything to the target; then it restores the pre-data, loads the chunks
 * in parallel, each in one target transaction that commits only when the
 * rows it read hash to the manifest's digest, and recorded in the target's
 * run tables (engine/state.h) so that a restore resumes like a clone;
 * then sequences, post-data and materialized views.
 *
 * Thread safety: both run their chunks on engine/sched.c's workers; each
 * worker owns its connection, encoder or decoder and buffers.
 */
#ifndef PGSLUICE_CMD_DUMP_H
#define PGSLUICE_CMD_DUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "codec/digest.h"
#include "codec/json.h"
#include "engine/catalog.h"
#include "engine/check.h"
#include "base/err.h"
#include "engine/plan.h"
#include "io/loop.h"
#include "engine/options.h"

#define DUMP_MANIFEST "manifest.json"
#define DUMP_SCHEMA "schema.dump"

typedef struct dump_options
{
	common_options common;		/* the options the commands share (engine/options.h); target unused */
	const char *dir;			/* the spill directory: new, or empty */
	int			compress_level; /* zstd level; 0: the default (fast) */
	bool		best_effort;	/* no snapshot */
	/* shown the findings of the checks run before anything is written (engine/check.h); may be NULL */
	check_shown_fn on_check;
	void	   *on_check_arg;
} dump_options;

typedef struct dump_chunk
{
	bool		done;
	uint64_t	rows;
	uint64_t	bytes;			/* COPY stream bytes */
	uint64_t	compressed;		/* chunk file bytes */
	chunk_digest digest;
	double		seconds;
} dump_chunk;

typedef struct dump_report
{
	catalog    *cat;
	plan	   *plan;
	dump_chunk *chunks;			/* parallel to plan->chunks */
	char		snapshot[64];
	char		dump_id[33];	/* hex */
	char		io_backend[16];
	int			chunks_done;
	uint64_t	rows;
	uint64_t	bytes;
	uint64_t	compressed;
	double		seconds_schema;
	double		seconds_data;
	double		seconds_total;
	check_role *roles;			/* those the source's objects need, for the manifest */
	int			nroles;
} dump_report;

int			dump_run(const dump_options *opt, dump_report **report, sl_err *err);

/* ---- what dump, restore and their cluster forms share ---- */

/* Opens path as a dump's directory: created 0700, or an existing empty one.  0 or a negative errno. */
int			dump_dir_open(const char *path, int *dir_fd, sl_err *err);

/* Writes name in the directory (0600) whole and durable, or not at all. */
int			dump_write_file(int dir_fd, const char *name, const sbuf *text, sl_err *err);

/*
 * Reads and parses name of the directory, at most max bytes, into *doc
 * (json_doc_destroy).  -ENOENT (err untouched) when it is not there.
 */
int			dump_read_json(int dir_fd, const char *dir, const char *name, size_t max, json_doc **doc, sl_err *err);

void		dump_report_destroy(dump_report *report);

#endif
