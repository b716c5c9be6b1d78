/*
 * chunkfile.h: one chunk's rows into a chunk file, and out of one, for
 * dump, restore and clone --spill.
 *
 * A chunkfile_dir is a spill directory and the identity its files carry
 * (codec/spill.h: the dump id in every header).  A chunkfile_writer streams
 * a chunk's COPY from the source (engine/reader.h, hashed as it passes)
 * through its zstd encoder into a file written by io/spillfile.h, which
 * exists under its final name only once it is whole and durable.  A
 * chunkfile_loader reads a file whole, checking every frame, the trailer
 * and the byte count against what was written; chunkfile_load also COPYs
 * the rows into a target table and accepts them only when they hash to the
 * digest the writer took.
 *
 * Thread safety: a writer or loader belongs to one thread.  A
 * chunkfile_dir is shared by a run's workers: only its atomics change.
 */
#ifndef PGSLUICE_ENGINE_CHUNKFILE_H
#define PGSLUICE_ENGINE_CHUNKFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "codec/digest.h"
#include "codec/spill.h"
#include "engine/catalog.h"
#include "base/err.h"
#include "engine/plan.h"
#include "io/loop.h"
#include "io/spillfile.h"

typedef struct chunkfile_dir
{
	int			fd;
	const char *path;			/* for messages */
	uint8_t		id[SPILL_DUMP_ID_SIZE]; /* in every file's header */
	spillfile_io_kind io;
	atomic_int	fallback_said;	/* io_uring was refused for files, and that was said */
} chunkfile_dir;

/* What a chunk file holds, as its writer saw it. */
typedef struct chunkfile_info
{
	uint64_t	rows;
	uint64_t	bytes;			/* of the COPY stream */
	uint64_t	compressed;		/* of the file */
	chunk_digest digest;
} chunkfile_info;

typedef struct chunkfile_writer chunkfile_writer;
typedef struct chunkfile_loader chunkfile_loader;

/* The file name of chunk idx (an index into the plan): chunk-000001.pgsl on. */
void		chunkfile_name(int idx, char *out, size_t outlen);

int			chunkfile_writer_create(int compress_level, chunkfile_writer **out, sl_err *err);
void		chunkfile_writer_destroy(chunkfile_writer *w);

/*
 * Copies chunk idx (pc, of table t) from source, waiting on its socket
 * through loop, into its file in dir.  direct: the reader's direct socket
 * path.  what names the chunk in messages.  On failure no file is left
 * under the final name, and the source connection is in an unknown state.
 */
int			chunkfile_write(chunkfile_writer *w, chunkfile_dir *dir, PGconn *source, io_loop *loop, bool direct,
							const cat_table *t, const plan_chunk *pc, int idx, const atomic_int *stop,
							const char *what, chunkfile_info *out, sl_err *err);

int			chunkfile_loader_create(chunkfile_loader **out, sl_err *err);
void		chunkfile_loader_destroy(chunkfile_loader *l);

/*
 * Whether the bytes l sends to a target count for --max-rate: restore's do;
 * clone --spill's do not, its readers counted them from the source.
 */
void		chunkfile_loader_charge_rate(chunkfile_loader *l, bool charge);

/*
 * Reads file name of dir whole and checks it against expect (its size, every
 * frame, the trailer, the stream's length); table names its table in
 * messages.  Touches no server.
 */
int			chunkfile_check(chunkfile_loader *l, const chunkfile_dir *dir, const char *name,
							const chunkfile_info *expect, const char *table, const atomic_int *stop, sl_err *err);

/*
 * COPYs file name of dir into table t on target, inside the caller's
 * transaction (with freeze: TRUNCATE, then COPY ... FREEZE), and fails
 * unless the file is whole, its rows hash to expect's digest and the target
 * took all of them.  On failure the COPY is left unfinished: the caller
 * drops the connection, which rolls it back.
 */
int			chunkfile_load(chunkfile_loader *l, const chunkfile_dir *dir, const char *name,
						   const chunkfile_info *expect, PGconn *target, const cat_table *t, bool freeze,
						   const atomic_int *stop, sl_err *err);

#endif
