/*
 * spillfile.c: chunk files written through io_uring (or pwrite) with a
 * durable commit, and read back.  See spillfile.h.
 *
 * A writer owns SPILL_FILE_BUFFERS buffers.  The caller's bytes fill one; a
 * full buffer is submitted as one write at the next file offset and the
 * next free buffer is filled meanwhile.  A completion's user_data is its
 * buffer's index; a short write resubmits the rest of that buffer at the
 * matching offset.  The first failed completion is kept in io_error and
 * nothing more is submitted; the next call that sees it waits for the writes
 * still in flight, so that the message's byte counts are final, and makes it
 * the file's sticky error.  So a write error shows up late: at the write that
 * next waits for a buffer, or at commit.
 *
 * XXX: each file sets up and tears down its own ring (a few system calls and
 * mappings per chunk file); a ring per worker, shared by its files, would
 * save that once chunk files get small.
 */
#include "io/spillfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPILL_RING_ENTRIES (2 * SPILL_FILE_BUFFERS)
#define SPILL_BUFFER_ALIGN 4096
#define SPILL_READ_MAX ((size_t) 1 << 30)	/* keeps a read's count within int */

typedef enum file_state
{
	FILE_OPEN = 0,
	FILE_COMMITTED,
	FILE_ABORTED
} file_state;

typedef struct file_buffer
{
	uint8_t    *data;			/* SPILL_FILE_BUFFER_SIZE bytes, owned; allocated on first use */
	size_t		len;			/* bytes filled */
	size_t		done;			/* bytes of len the kernel has written */
	uint64_t	offset;			/* file offset of data[0], set at submission */
	bool		in_flight;		/* a write of data[done..len) is in the kernel */
} file_buffer;

/* All fields belong to the thread that created the file. */
struct spillfile
{
	int			dir_fd;			/* duplicate of the caller's, owned */
	int			fd;				/* the .part file, owned; -1 once closed */
	char	   *name;			/* final name, owned */
	char	   *part_name;		/* name + ".part", owned */
	bool		use_uring;
	struct io_uring ring;		/* set up when use_uring */
	file_buffer buffers[SPILL_FILE_BUFFERS];
	int			filling;		/* index of the buffer being filled, -1: none */
	int			in_flight;		/* buffers with a write in the kernel */
	uint64_t	next_offset;	/* file offset of the next buffer submitted */
	uint64_t	accepted;		/* bytes taken by spillfile_write */
	uint64_t	written;		/* bytes the kernel has written */
	int			io_error;		/* first failed write, not yet reported */
	file_state	state;
	sl_err		err;			/* sticky: err.code is the first failure, 0 while none */
};

struct spillfile_reader
{
	int			fd;				/* owned */
	char	   *name;			/* owned, for messages */
	uint64_t	size;
	sl_err		err;			/* the last read's failure */
};

static int	file_fail(spillfile *f, int code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* Keeps the file's first failure; returns code. */
static int
file_fail(spillfile *f, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	err_setv(&f->err, SIDE_LOCAL, code, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- directory ---- */

/* fsyncs the directory holding path, so that a new entry in it is durable. */
static int
fsync_parent(const char *path)
{
	char	   *copy = strdup(path);
	int			fd = -1;
	int			rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int
spillfile_dir_create(const char *path, int *dir_fd, sl_err *err)
{
	struct stat st;
	bool		created = false;
	int			fd = -1;
	int			rc;

	*dir_fd = -1;
	if (mkdir(path, 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return err_set(err, SIDE_LOCAL, -errno, "could not create directory \"%s\": %s",
					   path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, SIDE_LOCAL, -errno, "could not open directory \"%s\": %s",
					   path, strerror(errno));
	if (fstat(fd, &st) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not stat directory \"%s\": %s",
					 path, strerror(errno));
		goto fail;
	}
	if (created)
	{
		/* The umask may have taken bits from 0700. */
		if (fchmod(fd, 0700) < 0)
		{
			rc = err_set(err, SIDE_LOCAL, -errno, "could not set the mode of directory \"%s\": %s",
						 path, strerror(errno));
			goto fail;
		}
		if ((rc = fsync_parent(path)) < 0)
		{
			err_set(err, SIDE_LOCAL, rc, "could not fsync the directory holding \"%s\": %s",
					path, strerror(-rc));
			goto fail;
		}
	}
	else if (st.st_uid != geteuid())
	{
		rc = err_set(err, SIDE_LOCAL, -EPERM, "directory \"%s\" belongs to user %u, not to this user (%u)",
					 path, (unsigned) st.st_uid, (unsigned) geteuid());
		goto fail;
	}
	else if ((st.st_mode & 0777) != 0700)
	{
		rc = err_set(err, SIDE_LOCAL, -EPERM, "directory \"%s\" has mode %04o: it must be 0700",
					 path, (unsigned) (st.st_mode & 0777));
		goto fail;
	}
	*dir_fd = fd;
	return 0;

fail:
	close(fd);
	return rc;
}

/* ---- writing ---- */

static bool
name_valid(const char *name)
{
	size_t		len = strlen(name);

	return len > 0 && len + strlen(".part") <= NAME_MAX && strchr(name, '/') == NULL &&
		strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int
spillfile_create(int dir_fd, const char *name, spillfile_io_kind kind, spillfile **out,
				 char *fallback, size_t fallbacklen, sl_err *err)
{
	spillfile *f;
	int			rc;

	*out = NULL;
	if (fallback != NULL && fallbacklen > 0)
		fallback[0] = '\0';
	if (!name_valid(name))
		return err_set(err, SIDE_LOCAL, -EINVAL, "invalid spill file name \"%s\"", name);
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	f->dir_fd = -1;
	f->fd = -1;
	f->filling = -1;
	f->state = FILE_ABORTED;	/* nothing to remove until the .part file exists */
	f->name = strdup(name);
	if (f->name != NULL && asprintf(&f->part_name, "%s.part", name) < 0)
		f->part_name = NULL;
	if (f->name == NULL || f->part_name == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto fail;
	}
	f->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	if (f->dir_fd < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not duplicate the spill directory's descriptor: %s",
					 strerror(errno));
		goto fail;
	}

	if (kind != SPILLFILE_IO_PWRITE)
	{
		const char *failed = "io_uring_queue_init failed";

		rc = io_uring_queue_init(SPILL_RING_ENTRIES, &f->ring, 0);
		if (rc == 0)
		{
			struct io_uring_probe *probe = io_uring_get_probe_ring(&f->ring);
			bool		can_write = probe != NULL && io_uring_opcode_supported(probe, IORING_OP_WRITE);

			io_uring_free_probe(probe);
			if (can_write)
				f->use_uring = true;
			else
			{
				io_uring_queue_exit(&f->ring);
				rc = -EOPNOTSUPP;
				failed = "io_uring cannot write files on this kernel (no IORING_OP_WRITE)";
			}
		}
		if (rc < 0 && kind == SPILLFILE_IO_URING)
		{
			err_set(err, SIDE_LOCAL, rc, "%s: %s", failed, strerror(-rc));
			goto fail;
		}
		if (rc < 0 && fallback != NULL && fallbacklen > 0)
			snprintf(fallback, fallbacklen, "%s: %s", failed, strerror(-rc));
	}

	f->fd = openat(f->dir_fd, f->part_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not create spill file \"%s\": %s",
					 f->part_name, strerror(errno));
		goto fail;
	}
	f->state = FILE_OPEN;
	*out = f;
	return 0;

fail:
	spillfile_destroy(f);
	return rc;
}

/* Hands buffer i's unwritten bytes to the kernel. */
static int
queue_write(spillfile *f, int i)
{
	file_buffer *b = &f->buffers[i];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	int			rc;

	if (sqe == NULL)
		return -EBUSY;			/* cannot happen: at most one request per buffer */
	io_uring_prep_write(sqe, f->fd, b->data + b->done, (unsigned) (b->len - b->done), b->offset + b->done);
	io_uring_sqe_set_data64(sqe, (uint64_t) i);
	do
		rc = io_uring_submit(&f->ring);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	b->in_flight = true;
	f->in_flight++;
	return 0;
}

/* Writes buffer i, which is full or the last one; failures go to io_error. */
static void
submit_buffer(spillfile *f, int i)
{
	file_buffer *b = &f->buffers[i];

	b->offset = f->next_offset;
	b->done = 0;
	f->next_offset += b->len;
	if (f->use_uring)
	{
		int			rc = queue_write(f, i);

		if (rc < 0 && f->io_error == 0)
			f->io_error = rc;
		return;
	}
	while (b->done < b->len)
	{
		ssize_t		n = pwrite(f->fd, b->data + b->done, b->len - b->done, (off_t) (b->offset + b->done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			f->io_error = n < 0 ? -errno : -EIO;
			return;
		}
		b->done += (size_t) n;
		f->written += (uint64_t) n;
	}
	b->len = 0;
}

/* Waits for one completion and books it.  Returns 0 or the ring's error. */
static int
wait_one(spillfile *f)
{
	struct io_uring_cqe *cqe = NULL;
	file_buffer *b;
	int			res;
	int			rc;

	do
		rc = io_uring_wait_cqe(&f->ring, &cqe);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	b = &f->buffers[io_uring_cqe_get_data64(cqe) % SPILL_FILE_BUFFERS];
	res = cqe->res;
	io_uring_cqe_seen(&f->ring, cqe);
	b->in_flight = false;
	f->in_flight--;
	if (res > 0)
	{
		b->done += (size_t) res;
		f->written += (uint64_t) res;
	}
	if (res <= 0)
	{
		if (f->io_error == 0)
			f->io_error = res < 0 ? res : -EIO;
	}
	else if (b->done < b->len && f->io_error == 0)
	{
		/* A short write: the rest of the buffer, at its own offset. */
		if ((rc = queue_write(f, (int) (b - f->buffers))) < 0)
			f->io_error = rc;
	}
	else if (b->done == b->len)
		b->len = 0;
	return 0;
}

/* Waits for every write in flight. */
static int
drain(spillfile *f)
{
	while (f->in_flight > 0)
	{
		int			rc = wait_one(f);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Reports io_error once every write has landed; extra: bytes the caller still had. */
static int
write_failed(spillfile *f, uint64_t extra)
{
	int			code = f->io_error;

	drain(f);
	return file_fail(f, code, "could not write spill file \"%s\": %llu bytes written, %llu more needed: %s",
					 f->part_name, (unsigned long long) f->written,
					 (unsigned long long) (f->accepted + extra - f->written), strerror(-code));
}

static int
ring_failed(spillfile *f, int rc)
{
	return file_fail(f, rc, "could not wait for writes to spill file \"%s\": %s",
					 f->part_name, strerror(-rc));
}

/* Returns a buffer to fill, waiting for a write when all are busy. */
static int
free_buffer(spillfile *f)
{
	for (;;)
	{
		for (int i = 0; i < SPILL_FILE_BUFFERS; i++)
		{
			file_buffer *b = &f->buffers[i];

			if (b->in_flight)
				continue;
			if (b->data == NULL)
			{
				void	   *data = NULL;

				if (posix_memalign(&data, SPILL_BUFFER_ALIGN, SPILL_FILE_BUFFER_SIZE) != 0)
					return file_fail(f, -ENOMEM, "out of memory for a spill file buffer");
				b->data = data;
			}
			b->len = 0;
			b->done = 0;
			return i;
		}
		{
			int			rc = wait_one(f);

			if (rc < 0)
				return ring_failed(f, rc);
			if (f->io_error)
				return 0;		/* the caller sees io_error */
		}
	}
}

int
spillfile_write(spillfile *f, const void *buf, size_t len)
{
	const uint8_t *src = buf;

	if (f->state != FILE_OPEN)
		return -EINVAL;
	if (f->err.code)
		return f->err.code;
	while (len > 0)
	{
		file_buffer *b;
		size_t		take;

		if (f->io_error)
			return write_failed(f, len);
		if (f->filling < 0)
		{
			int			i = free_buffer(f);

			if (i < 0)
				return i;
			if (f->io_error)
				return write_failed(f, len);
			f->filling = i;
		}
		b = &f->buffers[f->filling];
		take = SPILL_FILE_BUFFER_SIZE - b->len;
		if (take > len)
			take = len;
		memcpy(b->data + b->len, src, take);
		b->len += take;
		src += take;
		len -= take;
		f->accepted += take;
		if (b->len == SPILL_FILE_BUFFER_SIZE)
		{
			int			i = f->filling;

			f->filling = -1;
			submit_buffer(f, i);
		}
	}
	if (f->io_error)
		return write_failed(f, 0);
	return 0;
}

int
spillfile_commit(spillfile *f)
{
	int			rc;

	if (f->state != FILE_OPEN)
		return -EINVAL;
	if (f->err.code)
		return f->err.code;
	if (f->filling >= 0)
	{
		int			i = f->filling;

		f->filling = -1;
		if (f->buffers[i].len > 0)
			submit_buffer(f, i);
	}
	if ((rc = drain(f)) < 0)
		return ring_failed(f, rc);
	if (f->io_error)
		return write_failed(f, 0);
	if (fsync(f->fd) < 0)
		return file_fail(f, -errno, "could not fsync spill file \"%s\": %s", f->part_name, strerror(errno));
	rc = close(f->fd);
	f->fd = -1;
	if (rc < 0)
		return file_fail(f, -errno, "could not close spill file \"%s\": %s", f->part_name, strerror(errno));
	if (renameat(f->dir_fd, f->part_name, f->dir_fd, f->name) < 0)
		return file_fail(f, -errno, "could not rename spill file \"%s\" to \"%s\": %s",
						 f->part_name, f->name, strerror(errno));
	if (fsync(f->dir_fd) < 0)
	{
		rc = -errno;
		/* The rename may not be durable: take it back rather than leave a doubtful file. */
		unlinkat(f->dir_fd, f->name, 0);
		f->state = FILE_ABORTED;
		return file_fail(f, rc, "could not fsync the spill directory after renaming \"%s\": %s",
						 f->name, strerror(-rc));
	}
	f->state = FILE_COMMITTED;
	return 0;
}

int
spillfile_abort(spillfile *f)
{
	int			rc = 0;

	if (f->state == FILE_COMMITTED)
		return -EINVAL;
	if (f->state == FILE_ABORTED)
		return 0;
	/* The kernel may still be reading the buffers: let it finish first. */
	drain(f);
	if (f->fd >= 0)
	{
		close(f->fd);
		f->fd = -1;
	}
	if (unlinkat(f->dir_fd, f->part_name, 0) < 0 && errno != ENOENT)
	{
		rc = -errno;
		if (f->err.code == 0)
			file_fail(f, rc, "could not remove spill file \"%s\": %s", f->part_name, strerror(-rc));
	}
	f->state = FILE_ABORTED;
	return rc;
}

void
spillfile_destroy(spillfile *f)
{
	if (f == NULL)
		return;
	if (f->state == FILE_OPEN)
		spillfile_abort(f);
	if (f->use_uring)
		io_uring_queue_exit(&f->ring);
	for (int i = 0; i < SPILL_FILE_BUFFERS; i++)
		free(f->buffers[i].data);
	if (f->fd >= 0)
		close(f->fd);
	if (f->dir_fd >= 0)
		close(f->dir_fd);
	free(f->part_name);
	free(f->name);
	free(f);
}

uint64_t
spillfile_size(const spillfile *f)
{
	return f->accepted;
}

const char *
spillfile_backend(const spillfile *f)
{
	return f->use_uring ? "io_uring" : "pwrite";
}

const char *
spillfile_error(const spillfile *f)
{
	return f->err.msg;
}

/* ---- reading ---- */

int
spillfile_open(int dir_fd, const char *name, spillfile_reader **out, sl_err *err)
{
	spillfile_reader *r;
	struct stat st;
	int			rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
	r->fd = -1;
	r->name = strdup(name);
	if (r->name == NULL)
	{
		rc = err_set(err, SIDE_LOCAL, -ENOMEM, "out of memory");
		goto fail;
	}
	r->fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not open spill file \"%s\": %s", name, strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, -errno, "could not stat spill file \"%s\": %s", name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode))
	{
		rc = err_set(err, SIDE_LOCAL, -EINVAL, "spill file \"%s\" is not a regular file", name);
		goto fail;
	}
	r->size = (uint64_t) st.st_size;
	(void) posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*out = r;
	return 0;

fail:
	spillfile_close(r);
	return rc;
}

int
spillfile_read(spillfile_reader *r, void *buf, size_t cap)
{
	ssize_t		n;

	if (cap > SPILL_READ_MAX)
		cap = SPILL_READ_MAX;
	do
		n = read(r->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(&r->err, SIDE_LOCAL, -errno, "could not read spill file \"%s\": %s",
							r->name, strerror(errno));
	return (int) n;
}

uint64_t
spillfile_reader_size(const spillfile_reader *r)
{
	return r->size;
}

const char *
spillfile_reader_error(const spillfile_reader *r)
{
	return r->err.msg;
}

void
spillfile_close(spillfile_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->name);
	free(r);
}
