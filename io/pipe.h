/*
 * pipe.h: a bounded byte pipe between two stages of one worker.
 *
 * A ring buffer of fixed capacity: the reading stage (rows arriving from the
 * source) writes as much as fits, the writing stage (batches for the target)
 * peeks at the longest contiguous span and consumes what it sent.  When the
 * pipe is full the reader stops and waits for the writer; when it is empty the
 * writer waits for the reader.  So the two sides overlap while the memory
 * stays bounded, and the target receives large batches whatever the row size.
 *
 * Thread safety: none; a pipe belongs to one worker thread.
 */
#ifndef PGSLUICE_IO_PIPE_H
#define PGSLUICE_IO_PIPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct io_pipe
{
	uint8_t    *data;			/* capacity bytes, owned */
	size_t		capacity;
	size_t		head;			/* offset of the oldest unread byte */
	size_t		used;			/* bytes written and not yet consumed */
} io_pipe;

/* Returns 0, -EINVAL for a zero capacity, or -ENOMEM. */
int			io_pipe_init(io_pipe *pipe, size_t capacity);
void		io_pipe_fini(io_pipe *pipe);

/* Drops everything unread. */
void		io_pipe_clear(io_pipe *pipe);

static inline size_t
io_pipe_space(const io_pipe *pipe)
{
	return pipe->capacity - pipe->used;
}

/* Copies min(size, space) bytes in; returns how many. */
size_t		io_pipe_write(io_pipe *pipe, const void *src, size_t size);

/*
 * Points *span at the oldest unread bytes and returns how many of them are
 * contiguous (0 when empty), at most max.
 */
size_t		io_pipe_peek(const io_pipe *pipe, const uint8_t **span, size_t max);

/* Marks size bytes (at most used) as read. */
void		io_pipe_consume(io_pipe *pipe, size_t size);

#endif
