/*
 * chunkfile.c: chunk files written from a source and loaded into a target.
 * See chunkfile.h.
 *
 * The writer reads the chunk's COPY stream into its pipe and drains the
 * pipe into its zstd encoder, whose output goes to the file in large
 * writes; when the pipe is empty and the source has sent nothing more, it
 * waits on the socket.  The loader reads the file in large reads through
 * its decoder and hands the decoded stream to the target in large
 * PQputCopyData calls, hashing it on the way.
 */
#include "engine/chunkfile.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sbuf.h"
#include "codec/copyhash.h"
#include "engine/conn.h"
#include "engine/lobj.h"
#include "engine/log.h"
#include "engine/rate.h"
#include "engine/reader.h"
#include "io/pipe.h"
#include "io/stall.h"

#define WRITER_PIPE_BYTES (4u << 20)
#define WRITER_OUT_BYTES (1u << 20) /* encoder output handed to the file at once */
#define WRITER_WAIT_MS 200
#define LOADER_FILE_BYTES (1u << 20)	/* file bytes read at once */
#define LOADER_ROWS_BYTES (1u << 20)	/* decoded COPY bytes sent at once */

struct chunkfile_writer
{
	io_pipe		pipe;
	uint8_t    *read_buf;		/* READER_BUF_BYTES */
	uint8_t    *out_buf;		/* WRITER_OUT_BYTES */
	spill_encoder *enc;
};

struct chunkfile_loader
{
	spill_decoder *dec;
	uint8_t    *file_buf;		/* LOADER_FILE_BYTES */
	uint8_t    *rows_buf;		/* LOADER_ROWS_BYTES */
	bool		charge_rate;	/* count the bytes sent to --max-rate (restore) */
};

void
chunkfile_name(int idx, char *out, size_t outlen)
{
	snprintf(out, outlen, "chunk-%06d.pgsl", idx + 1);
}

/* ---- writing ---- */

int
chunkfile_writer_create(int compress_level, chunkfile_writer **out, sl_err *err)
{
	chunkfile_writer *w = calloc(1, sizeof(*w));
	spill_header header = {{0}, 0, 0, SPILL_FORMAT_BINARY};

	*out = w;
	if (w == NULL || io_pipe_init(&w->pipe, WRITER_PIPE_BYTES) < 0 ||
		(w->read_buf = malloc(READER_BUF_BYTES)) == NULL || (w->out_buf = malloc(WRITER_OUT_BYTES)) == NULL ||
		spill_encoder_create(compress_level, &header, &w->enc) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory for a chunk file writer");
	return 0;
}

void
chunkfile_writer_destroy(chunkfile_writer *w)
{
	if (w == NULL)
		return;
	io_pipe_fini(&w->pipe);
	spill_encoder_destroy(w->enc);
	free(w->read_buf);
	free(w->out_buf);
	free(w);
}

/* Hands the encoder's output to the file once its buffer is full (or at the end: all). */
static int
flush_out(spillfile *f, spill_out *out, bool all, const char *file, sl_err *err)
{
	int			rc;

	if (out->pos == 0 || (!all && out->pos < out->size))
		return 0;
	if ((rc = spillfile_write(f, out->dst, out->pos)) < 0)
		return err_set(err, SIDE_LOCAL, rc, "%s", spillfile_error(f)[0] ? spillfile_error(f) : file);
	out->pos = 0;
	return 0;
}

/* Encodes what the pipe holds into the file. */
static int
drain_pipe(chunkfile_writer *w, spillfile *f, spill_out *out, const char *file, sl_err *err)
{
	const uint8_t *span;
	size_t		n;
	int			rc;

	while ((n = io_pipe_peek(&w->pipe, &span, w->pipe.used)) > 0)
	{
		codec_in	in = {span, n, 0};

		while (in.pos < in.size)
		{
			if ((rc = spill_encoder_update(w->enc, &in, out)) < 0)
				return err_set(err, SIDE_LOCAL, rc, "could not compress \"%s\": %s", file,
							   spill_encoder_error(w->enc));
			if ((rc = flush_out(f, out, false, file, err)) < 0)
				return rc;
		}
		io_pipe_consume(&w->pipe, n);
	}
	return 0;
}

int
chunkfile_write(chunkfile_writer *w, chunkfile_dir *dir, PGconn *source, io_loop *loop, bool direct,
				const cat_table *t, const plan_chunk *pc, int idx, const atomic_int *stop,
				const char *what, chunkfile_info *out_info, sl_err *err)
{
	copy_reader_columns columns = {t->ncols, t->shapes, t->text_reason != NULL};
	spill_header header;
	spillfile *f = NULL;
	spill_out	out = {w->out_buf, WRITER_OUT_BYTES, 0};
	copy_reader reader;
	stall_clock clock;
	char		file[64];
	char		fallback[512];	/* why io_uring was refused, when it was */
	sl_err		failure;
	sbuf		sql;
	int			rc;

	memset(&reader, 0, sizeof(reader));
	memcpy(header.dump_id, dir->id, SPILL_DUMP_ID_SIZE);
	header.table_oid = t->oid;
	header.chunk_no = (uint32_t) pc->seq;
	header.format = columns.text ? SPILL_FORMAT_TEXT : SPILL_FORMAT_BINARY;
	chunkfile_name(idx, file, sizeof(file));
	if (spill_encoder_reset(w->enc, &header) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "%s: %s", what, spill_encoder_error(w->enc));
	err_clear(&failure);
	if ((rc = spillfile_create(dir->fd, file, dir->io, &f, fallback, sizeof(fallback), &failure)) < 0)
		return err_set(err, SIDE_LOCAL, rc, "%s: %s", what, failure.msg);
	if (fallback[0] != '\0' && atomic_exchange(&dir->fallback_said, 1) == 0)
		log_warning("io_uring is not available for files (%s); using pwrite()", fallback);

	io_pipe_clear(&w->pipe);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	plan_copy_out_sql(&sql, t, pc->predicate, columns.text);
	rc = copy_reader_begin(&reader, source, SIDE_SOURCE, &columns, sbuf_str(&sql), direct, w->read_buf,
						   what, err);
	reader.stop = stop;
	sbuf_fini(&sql);
	stall_clock_init(&clock, conn_stall_timeout());
	while (rc == 0 && !reader.done)
	{
		io_watch	watch = {-1, POLLIN, 0};

		if (atomic_load(stop))
		{
			rc = err_set(err, SIDE_INTERRUPT, -EINTR, "%s: interrupted", what);
			break;
		}
		if ((rc = copy_reader_step(&reader, &w->pipe)) < 0 || (rc = drain_pipe(w, f, &out, file, err)) < 0)
			break;
		if (reader.done || copy_reader_has_buffered(&reader))
			continue;
		if (copy_reader_wants_socket(&reader, &w->pipe))
			watch.fd = PQsocket(source);
		stall_clock_begin(&clock, watch.fd >= 0, reader.bytes, clock_seconds());
		if ((rc = io_loop_wait(loop, &watch, 1, WRITER_WAIT_MS)) >= 0)
			rc = conn_stall_check(source, SIDE_SOURCE, &clock, watch.revents != 0, clock_seconds())
				? conn_fail_stall(source, SIDE_SOURCE, what, err) : 0;
		else
			rc = err_set(err, SIDE_LOCAL, rc, "%s: waiting for the source failed: %s", what, strerror(-rc));
	}
	if (rc == 0)
		rc = copy_reader_finish(&reader);
	while (rc == 0)
	{
		int			more = spill_encoder_finish(w->enc, &out);

		if (more < 0)
			rc = err_set(err, SIDE_LOCAL, more, "could not compress \"%s\": %s", file,
						 spill_encoder_error(w->enc));
		else if ((rc = flush_out(f, &out, true, file, err)) == 0 && more == 0)
			break;
	}
	if (rc == 0 && (rc = spillfile_commit(f)) < 0)
		rc = err_set(err, SIDE_LOCAL, rc, "%s", spillfile_error(f));
	if (rc == 0)
	{
		spill_stats stats;

		spill_encoder_stats(w->enc, &stats);
		out_info->rows = reader.digest.rows;
		out_info->digest = reader.digest;
		out_info->bytes = reader.bytes;
		out_info->compressed = stats.file_bytes;
	}
	copy_reader_end(&reader);
	spillfile_destroy(f);		/* removes the .part file after a failure */
	return rc;
}

/* ---- reading ---- */

int
chunkfile_loader_create(chunkfile_loader **out, sl_err *err)
{
	chunkfile_loader *l = calloc(1, sizeof(*l));
	uint8_t		no_id[SPILL_DUMP_ID_SIZE] = {0};

	*out = l;
	if (l == NULL || (l->file_buf = malloc(LOADER_FILE_BYTES)) == NULL ||
		(l->rows_buf = malloc(LOADER_ROWS_BYTES)) == NULL || spill_decoder_create(no_id, &l->dec) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory for a chunk file loader");
	return 0;
}

void
chunkfile_loader_charge_rate(chunkfile_loader *l, bool charge)
{
	l->charge_rate = charge;
}

void
chunkfile_loader_destroy(chunkfile_loader *l)
{
	if (l == NULL)
		return;
	spill_decoder_destroy(l->dec);
	free(l->file_buf);
	free(l->rows_buf);
	free(l);
}

/*
 * Reads a chunk file whole through the decoder, hashing the rows (hash:
 * NULL, only checked) and handing them to send (NULL: none).  Any fault of
 * the file names the file.
 */
static int
read_file(chunkfile_loader *l, const chunkfile_dir *dir, const char *name, const chunkfile_info *expect,
		  const char *table, copy_hash *hash, chunk_digest *digest, PGconn *send, const atomic_int *stop,
		  sl_err *err)
{
	spillfile_reader *f = NULL;
	sl_err		why;
	char		what[PATH_MAX + 128];
	uint64_t	stream = 0;
	int			rc;

	snprintf(what, sizeof(what), "chunk file \"%s/%s\" of table %s", dir->path, name, table);

	spill_decoder_reset(l->dec, dir->id);
	err_clear(&why);
	if ((rc = spillfile_open(dir->fd, name, &f, &why)) < 0)
		return err_set(err, SIDE_USAGE, rc, "chunk file \"%s/%s\" of table %s: %s", dir->path, name, table,
					   rc == -ENOENT ? "it is missing" : why.msg);
	if (spillfile_reader_size(f) != expect->compressed)
	{
		rc = err_set(err, SIDE_USAGE, -EPROTO, "chunk file \"%s/%s\" holds %llu bytes, not the %llu it was "
					 "written with: it is truncated or not this dump's", dir->path, name,
					 (unsigned long long) spillfile_reader_size(f), (unsigned long long) expect->compressed);
		goto done;
	}
	for (;;)
	{
		int			n = spillfile_read(f, l->file_buf, LOADER_FILE_BYTES);
		codec_in	in = {l->file_buf, n > 0 ? (size_t) n : 0, 0};

		if (n < 0)
		{
			rc = err_set(err, SIDE_LOCAL, n, "chunk file \"%s/%s\": %s", dir->path, name,
						 spillfile_reader_error(f));
			goto done;
		}
		do
		{
			spill_out	out = {l->rows_buf, LOADER_ROWS_BYTES, 0};

			if ((rc = spill_decoder_update(l->dec, &in, &out)) < 0)
			{
				rc = err_set(err, SIDE_USAGE, rc, "chunk file \"%s/%s\" is damaged: %s", dir->path, name,
							 spill_decoder_error(l->dec));
				goto done;
			}
			stream += out.pos;
			if (out.pos > 0 && hash != NULL && (rc = copy_hash_update(hash, l->rows_buf, out.pos, digest)) < 0)
			{
				rc = err_set(err, SIDE_USAGE, rc, "chunk file \"%s/%s\" holds malformed COPY data: %s",
							 dir->path, name, copy_hash_error(hash));
				goto done;
			}
			if (out.pos > 0 && send != NULL && PQputCopyData(send, (const char *) l->rows_buf, (int) out.pos) != 1)
			{
				rc = conn_fail(send, NULL, SIDE_TARGET, err, "could not send rows to");
				goto done;
			}
			/* the connection is non-blocking: libpq holds a batch at most, sent within the stall timeout */
			if (out.pos > 0 && send != NULL && (rc = conn_wait_result(send, SIDE_TARGET, what, err)) < 0)
				goto done;
			/* once per buffer sent: restore's bytes count, and any load waits out a pause */
			if (out.pos > 0 && send != NULL)
				(void) rate_limit_wait(l->charge_rate ? out.pos : 0, stop);
			if (atomic_load(stop))
			{
				rc = err_set(err, SIDE_INTERRUPT, -EINTR, "interrupted");
				goto done;
			}
		} while (in.pos < in.size);
		if (n == 0)
			break;
	}
	if ((rc = spill_decoder_finish(l->dec)) < 0)
		rc = err_set(err, SIDE_USAGE, rc, "chunk file \"%s/%s\" is damaged: %s", dir->path, name,
					 spill_decoder_error(l->dec));
	else if (stream != expect->bytes)
		rc = err_set(err, SIDE_USAGE, -EPROTO, "chunk file \"%s/%s\" holds %llu bytes of rows, not the %llu "
					 "it was written with", dir->path, name, (unsigned long long) stream,
					 (unsigned long long) expect->bytes);
done:
	spillfile_close(f);
	return rc;
}

int
chunkfile_check(chunkfile_loader *l, const chunkfile_dir *dir, const char *name, const chunkfile_info *expect,
				const char *table, const atomic_int *stop, sl_err *err)
{
	return read_file(l, dir, name, expect, table, NULL, NULL, NULL, stop, err);
}

int
chunkfile_load(chunkfile_loader *l, const chunkfile_dir *dir, const char *name, const chunkfile_info *expect,
			   PGconn *target, const cat_table *t, bool freeze, const atomic_int *stop, sl_err *err)
{
	copy_hash	hash;
	chunk_digest digest;
	PGresult   *res;
	sbuf		sql;
	char		what[PATH_MAX + 128];
	uint64_t	loaded = 0;
	int			rc = 0;
	int			wait_rc;

	memset(&hash, 0, sizeof(hash));
	chunk_digest_reset(&digest);
	if (copy_hash_init(&hash, t->text_reason != NULL, (uint16_t) t->ncols, t->shapes) < 0)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "chunk file \"%s/%s\" of table %s", dir->path, name, t->qname);
	sbuf_init(&sql, SBUF_DEFAULT_CAP);
	if (freeze)
	{
		sbuf_printf(&sql, "TRUNCATE ONLY %s", t->qname);
		rc = conn_exec_watched(target, SIDE_TARGET, sbuf_str(&sql), err);
		sbuf_reset(&sql);
	}
	if (rc == 0 && t->large_objects)
		rc = lobj_load_begin(target, err);
	plan_copy_in_sql(&sql, t, t->text_reason != NULL, freeze);
	if (rc == 0 && (rc = conn_run(target, SIDE_TARGET, sbuf_str(&sql), 0, NULL, &res, err)) == 0)
	{
		if (PQresultStatus(res) != PGRES_COPY_IN)
			rc = conn_fail(target, res, SIDE_TARGET, err, "could not start COPY on");
		PQclear(res);
	}
	sbuf_fini(&sql);
	/* never blocked on a target that takes nothing: rows are flushed with conn_wait_result */
	if (rc == 0 && PQsetnonblocking(target, 1) != 0)
		rc = conn_fail(target, NULL, SIDE_TARGET, err, "could not switch to non-blocking mode on");
	if (rc == 0)
		rc = read_file(l, dir, name, expect, t->qname, &hash, &digest, target, stop, err);
	if (rc == 0 && (rc = copy_hash_finish(&hash)) < 0)
		rc = err_set(err, SIDE_USAGE, rc, "chunk file \"%s/%s\" holds malformed COPY data: %s", dir->path,
					 name, copy_hash_error(&hash));
	if (rc == 0 && !chunk_digest_equal(&digest, &expect->digest))
		rc = err_set(err, SIDE_USAGE, -EBADMSG, "chunk file \"%s/%s\": its %llu rows do not hash to the "
					 "digest taken when it was written (%llu rows): the file or its record was altered",
					 dir->path, name, (unsigned long long) digest.rows, (unsigned long long) expect->rows);
	copy_hash_fini(&hash);
	if (rc < 0)
		return rc;
	if (PQputCopyEnd(target, NULL) < 0)
		return conn_fail(target, NULL, SIDE_TARGET, err, "could not end the COPY on");
	while ((wait_rc = conn_wait_result(target, SIDE_TARGET, what, err)) == 0 &&
		   (res = PQgetResult(target)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			loaded = strtoull(PQcmdTuples(res), NULL, 10);
		else if (rc == 0)
			rc = conn_fail(target, res, SIDE_TARGET, err, "could not load into");
		PQclear(res);
	}
	if (wait_rc < 0)
		return wait_rc;
	if (rc == 0 && PQsetnonblocking(target, 0) != 0)
		rc = conn_fail(target, NULL, SIDE_TARGET, err, "could not switch to blocking mode on");
	if (rc == 0 && loaded != expect->rows)
		rc = err_set(err, SIDE_LOCAL, -EPROTO, "chunk file \"%s/%s\": the target loaded %llu rows of %llu",
					 dir->path, name, (unsigned long long) loaded, (unsigned long long) expect->rows);
	if (rc == 0 && t->large_objects)
		rc = lobj_load_finish(target, err);
	return rc;
}
