/*
 * spillfile.h: writing chunk files into a spill directory durably, and
 * reading them back.  Knows liburing, not libpq; what goes in the files is
 * codec/spill.h's business.
 *
 * Writing: a file is created as "<name>.part" (O_CREAT | O_EXCL, mode 0600)
 * in a directory the caller opened (spillfile_dir_create makes it 0700).  Bytes
 * are copied into one of SPILL_FILE_BUFFERS owned buffers of
 * SPILL_FILE_BUFFER_SIZE bytes; each full buffer goes to the kernel as one
 * io_uring write at its explicit file offset, so several are in flight at
 * once and the caller waits only when every buffer is busy.  Where the
 * kernel or a container refuses io_uring, the same buffers are written with
 * pwrite(2).  Commit waits for every write and checks every completion
 * (short writes are resubmitted), fsyncs the file, renames it to its final
 * name and fsyncs the directory: the final name exists only once the whole
 * file is durable.  Abort (or destroy before commit) removes the .part file.
 *
 * Reading: plain read(2), sequential.
 *
 * Errors: functions return 0 (or a count) or a negative errno, and a
 * handle's message (spillfile_error) says what, on which file, cause last.
 * A writer's first error is sticky: after it, the file can only be aborted.
 *
 * Thread safety: none, and no locks; a spillfile (its descriptor, ring and
 * buffers) or a reader belongs to one thread.  Different files share nothing
 * and may be written from different threads at once.
 */
#ifndef PGSLUICE_IO_SPILLFILE_H
#define PGSLUICE_IO_SPILLFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SPILL_FILE_BUFFERS 4
#define SPILL_FILE_BUFFER_SIZE (1u << 20)

typedef enum spillfile_io_kind
{
	SPILLFILE_IO_AUTO = 0,			/* io_uring, else pwrite */
	SPILLFILE_IO_URING,				/* io_uring or fail */
	SPILLFILE_IO_PWRITE				/* pwrite only */
} spillfile_io_kind;

typedef struct spillfile spillfile;
typedef struct spillfile_reader spillfile_reader;

/*
 * Creates the directory path with mode 0700, or, when it exists, checks
 * that it is a directory of this user with mode 0700 (whether it may hold
 * files already is the caller's business).  On success *dir_fd is the
 * directory, open (O_RDONLY | O_DIRECTORY), owned by the caller.  Returns 0,
 * -EPERM (wrong mode or owner) or another negative errno, with err saying
 * what (on SIDE_LOCAL).
 */
int			spillfile_dir_create(const char *path, int *dir_fd, sl_err *err);

/*
 * Creates "<name>.part" in dir_fd for writing.  name is a plain file name
 * (no '/').  dir_fd must be open for reading, not O_PATH (commit fsyncs it);
 * it is duplicated, so the caller may close its own.  With
 * SPILLFILE_IO_AUTO, when io_uring is refused the file uses pwrite and
 * fallback (when not NULL) receives the reason, so that the caller can say
 * so once; otherwise it is set to "".  Returns 0, or with err saying what:
 * -EINVAL (bad name), -EEXIST (a .part file of that name exists), -ENOMEM,
 * (SPILLFILE_IO_URING only) io_uring's error, or open's.
 */
int			spillfile_create(int dir_fd, const char *name, spillfile_io_kind kind, spillfile **out,
							 char *fallback, size_t fallbacklen, sl_err *err);

/*
 * Takes len bytes (copied; buf may be reused at once).  Returns 0 or the
 * file's first error (such as -ENOSPC).  May wait for an earlier write.
 */
int			spillfile_write(spillfile *f, const void *buf, size_t len);

/*
 * Writes what is buffered, waits for every write, fsyncs, renames to the
 * final name and fsyncs the directory.  An existing file of the final name
 * is replaced (atomically).  Returns 0, or a negative errno with nothing left
 * under the final name; the .part file then stays until abort or destroy.
 */
int			spillfile_commit(spillfile *f);

/*
 * Waits for the writes in flight, closes and unlinks the .part file.
 * Returns 0 or unlink's error; -EINVAL after a successful commit.
 */
int			spillfile_abort(spillfile *f);

/* Aborts a file that was neither committed nor aborted, then frees it.  NULL is fine. */
void		spillfile_destroy(spillfile *f);

/* Bytes taken by spillfile_write so far. */
uint64_t	spillfile_size(const spillfile *f);

/* "io_uring" or "pwrite". */
const char *spillfile_backend(const spillfile *f);

/* The first error's message ("" when none). */
const char *spillfile_error(const spillfile *f);

/*
 * Opens name (relative to dir_fd, which may be AT_FDCWD; or absolute) for
 * reading; it must be a regular file.  Returns 0 or a negative errno with err
 * saying what.
 */
int			spillfile_open(int dir_fd, const char *name, spillfile_reader **out, sl_err *err);

/*
 * Reads up to cap bytes into buf.  Returns the count (> 0), 0 at the end of
 * the file, or a negative errno.
 */
int			spillfile_read(spillfile_reader *r, void *buf, size_t cap);

/* The file's size when it was opened. */
uint64_t	spillfile_reader_size(const spillfile_reader *r);

const char *spillfile_reader_error(const spillfile_reader *r);

/* Closes and frees; NULL is fine. */
void		spillfile_close(spillfile_reader *r);

#endif
