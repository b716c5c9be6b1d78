/*
 * loop.h: waits until a worker's sockets are ready, through io_uring where
 * the kernel allows it and poll(2) where it does not.
 *
 * A worker drives its source and target connections without blocking: it
 * asks for "source readable" and "target writable" and sleeps here until one
 * holds.  With io_uring a poll request stays armed in the kernel across calls
 * as long as the caller watches the same descriptor for the same events, so a
 * busy loop costs one io_uring_enter per wake-up; the poll(2) backend is the
 * plain fallback for kernels or sandboxes that refuse io_uring (ENOSYS,
 * EPERM, the io_uring_disabled sysctl).  The caller reports the fallback.
 *
 * Watches are positional: slot i of each call is the same logical watch
 * (say 0 = source, 1 = target).  Before closing a watched descriptor, call
 * io_loop_forget(), or an armed io_uring poll keeps watching the old file.
 *
 * Thread safety: none; a loop belongs to one worker thread.
 */
#ifndef PGSLUICE_IO_LOOP_H
#define PGSLUICE_IO_LOOP_H

#include <stddef.h>

#define IO_LOOP_MAX_WATCHES 8

typedef struct io_watch
{
	int			fd;				/* -1: slot unused this call */
	short		events;			/* POLLIN, POLLOUT */
	short		revents;		/* out: what happened (POLLERR, POLLHUP too) */
} io_watch;

typedef enum io_loop_kind
{
	IO_LOOP_AUTO = 0,			/* io_uring, else poll */
	IO_LOOP_URING,				/* io_uring or fail */
	IO_LOOP_POLL				/* poll only */
} io_loop_kind;

typedef struct io_loop io_loop;

/*
 * Creates a loop.  With IO_LOOP_AUTO, when io_uring is refused the loop uses
 * poll and fallback (if not NULL) receives the reason, a note rather than an
 * error; otherwise it is set to "".
 * Returns 0, -ENOMEM, or (IO_LOOP_URING only) the io_uring error.
 */
int			io_loop_create(io_loop **out, io_loop_kind kind, char *fallback, size_t fallbacklen);

void		io_loop_destroy(io_loop *loop);

/* "io_uring" or "poll". */
const char *io_loop_backend(const io_loop *loop);

/*
 * Waits until at least one watch is ready or timeout_ms passes (-1: no
 * timeout).  Fills each watch's revents; returns how many are ready (0 on
 * timeout or when a signal interrupted the wait), or a negative errno.
 */
int			io_loop_wait(io_loop *loop, io_watch *watches, int nwatches, int timeout_ms);

/* Disarms every watch, so that watched descriptors can be closed. */
void		io_loop_forget(io_loop *loop);

#endif
