/*
 * test_pipe.c: the bounded byte pipe keeps bytes in order across wrap-around
 * and never holds more than its capacity.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "io/pipe.h"

Test(pipe, rejects_zero_capacity, .timeout = 10)
{
	io_pipe		pipe;

	cr_assert_eq(io_pipe_init(&pipe, 0), -EINVAL);
	io_pipe_fini(&pipe);
}

Test(pipe, write_stops_at_capacity, .timeout = 10)
{
	io_pipe		pipe;
	uint8_t		src[100];

	memset(src, 'x', sizeof(src));
	cr_assert_eq(io_pipe_init(&pipe, 64), 0);
	cr_assert_eq(io_pipe_write(&pipe, src, sizeof(src)), 64, "wrote more than capacity");
	cr_assert_eq(io_pipe_space(&pipe), 0);
	cr_assert_eq(io_pipe_write(&pipe, src, 1), 0);
	io_pipe_fini(&pipe);
}

Test(pipe, empty_peek_returns_zero, .timeout = 10)
{
	io_pipe		pipe;
	const uint8_t *span;

	cr_assert_eq(io_pipe_init(&pipe, 16), 0);
	cr_assert_eq(io_pipe_peek(&pipe, &span, 16), 0);
	io_pipe_fini(&pipe);
}

/* Pushes a counting byte sequence through with odd write and read sizes. */
Test(pipe, keeps_order_across_wraparound, .timeout = 30)
{
	io_pipe		pipe;
	uint8_t		src[37];
	uint8_t		next_write = 0;
	uint8_t		next_read = 0;
	size_t		total_read = 0;

	cr_assert_eq(io_pipe_init(&pipe, 100), 0);
	while (total_read < 100000)
	{
		size_t		want = (total_read % 37) + 1;
		size_t		wrote;
		const uint8_t *span;
		size_t		n;

		for (size_t i = 0; i < want; i++)
			src[i] = (uint8_t) (next_write + i);
		wrote = io_pipe_write(&pipe, src, want);
		next_write = (uint8_t) (next_write + wrote);
		cr_assert_leq(pipe.used, pipe.capacity);

		n = io_pipe_peek(&pipe, &span, (total_read % 13) + 1);
		for (size_t i = 0; i < n; i++)
		{
			cr_assert_eq(span[i], next_read, "byte %zu: got %u, want %u",
						 total_read + i, span[i], next_read);
			next_read++;
		}
		io_pipe_consume(&pipe, n);
		total_read += n;
	}
	io_pipe_fini(&pipe);
}

Test(pipe, empties_back_to_the_start, .timeout = 10)
{
	io_pipe		pipe;
	const uint8_t *span;

	cr_assert_eq(io_pipe_init(&pipe, 10), 0);
	io_pipe_write(&pipe, "abcdefg", 7);
	io_pipe_consume(&pipe, 7);
	io_pipe_write(&pipe, "0123456789", 10);
	cr_assert_eq(io_pipe_peek(&pipe, &span, 10), 10, "an emptied pipe should give one full span");
	cr_assert_eq(memcmp(span, "0123456789", 10), 0);
	io_pipe_clear(&pipe);
	cr_assert_eq(pipe.used, 0);
	io_pipe_fini(&pipe);
}
