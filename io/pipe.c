/*
 * pipe.c: bounded ring buffer between the read and write stages of a worker.
 * See pipe.h.
 */
#include "io/pipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
io_pipe_init(io_pipe *pipe, size_t capacity)
{
	memset(pipe, 0, sizeof(*pipe));
	if (capacity == 0)
		return -EINVAL;
	pipe->data = malloc(capacity);
	if (pipe->data == NULL)
		return -ENOMEM;
	pipe->capacity = capacity;
	return 0;
}

void
io_pipe_fini(io_pipe *pipe)
{
	free(pipe->data);
	memset(pipe, 0, sizeof(*pipe));
}

void
io_pipe_clear(io_pipe *pipe)
{
	pipe->head = 0;
	pipe->used = 0;
}

size_t
io_pipe_write(io_pipe *pipe, const void *src, size_t size)
{
	size_t		tail;
	size_t		first;

	if (size > io_pipe_space(pipe))
		size = io_pipe_space(pipe);
	if (size == 0)
		return 0;

	tail = (pipe->head + pipe->used) % pipe->capacity;
	first = pipe->capacity - tail;
	if (first > size)
		first = size;
	memcpy(pipe->data + tail, src, first);
	if (size > first)
		memcpy(pipe->data, (const uint8_t *) src + first, size - first);
	pipe->used += size;
	return size;
}

size_t
io_pipe_peek(const io_pipe *pipe, const uint8_t **span, size_t max)
{
	size_t		contiguous = pipe->capacity - pipe->head;

	if (contiguous > pipe->used)
		contiguous = pipe->used;
	if (contiguous > max)
		contiguous = max;
	*span = pipe->data + pipe->head;
	return contiguous;
}

void
io_pipe_consume(io_pipe *pipe, size_t size)
{
	if (size > pipe->used)
		size = pipe->used;
	pipe->used -= size;
	pipe->head = pipe->used == 0 ? 0 : (pipe->head + size) % pipe->capacity;
}
