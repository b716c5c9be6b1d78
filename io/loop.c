/*
 * loop.c: readiness waits on io_uring (persistent one-shot POLL_ADD requests)
 * or poll(2).  See loop.h.
 *
 * io_uring: each slot remembers the descriptor and events of its armed poll
 * request and a generation number.  The request's user_data holds the slot
 * and generation, so a completion that belongs to a request the slot has
 * since replaced or cancelled is recognised and dropped.  A completed request
 * is not re-armed until the caller asks for that slot again.
 */
#include "io/loop.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_RING_ENTRIES 32
#define LOOP_REMOVE_TAG UINT64_MAX	/* user_data of POLL_REMOVE requests */

typedef struct loop_slot
{
	int			fd;
	short		events;
	bool		armed;			/* a POLL_ADD is in the kernel for (fd, events) */
	uint32_t	generation;		/* of the armed request */
	short		ready;			/* completed, not yet returned to the caller */
} loop_slot;

struct io_loop
{
	bool		use_uring;
	struct io_uring ring;
	loop_slot	slots[IO_LOOP_MAX_WATCHES];
};

static uint64_t
slot_tag(int slot, uint32_t generation)
{
	return ((uint64_t) generation << 8) | (uint64_t) slot;
}

int
io_loop_create(io_loop **out, io_loop_kind kind, char *fallback, size_t fallbacklen)
{
	io_loop    *loop;
	int			rc;

	*out = NULL;
	if (fallback != NULL && fallbacklen > 0)
		fallback[0] = '\0';
	loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return -ENOMEM;

	if (kind != IO_LOOP_POLL)
	{
		rc = io_uring_queue_init(LOOP_RING_ENTRIES, &loop->ring, 0);
		if (rc == 0)
			loop->use_uring = true;
		else if (kind == IO_LOOP_URING)
		{
			free(loop);
			return rc;
		}
		else if (fallback != NULL && fallbacklen > 0)
			snprintf(fallback, fallbacklen, "io_uring_queue_init failed: %s", strerror(-rc));
	}
	*out = loop;
	return 0;
}

void
io_loop_destroy(io_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->use_uring)
		io_uring_queue_exit(&loop->ring);
	free(loop);
}

const char *
io_loop_backend(const io_loop *loop)
{
	return loop->use_uring ? "io_uring" : "poll";
}

static int
wait_poll(io_watch *watches, int nwatches, int timeout_ms)
{
	struct pollfd fds[IO_LOOP_MAX_WATCHES];
	int			rc;
	int			ready = 0;

	for (int i = 0; i < nwatches; i++)
	{
		fds[i].fd = watches[i].fd;	/* poll ignores negative descriptors */
		fds[i].events = watches[i].events;
		fds[i].revents = 0;
	}
	rc = poll(fds, (nfds_t) nwatches, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < nwatches; i++)
	{
		watches[i].revents = fds[i].revents;
		if (fds[i].revents != 0)
			ready++;
	}
	return ready;
}

static struct io_uring_sqe *
get_sqe(io_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	if (sqe == NULL)
	{
		/* The submission queue is full: hand it to the kernel and retry. */
		io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	return sqe;
}

static int
disarm_slot(io_loop *loop, int i)
{
	loop_slot  *slot = &loop->slots[i];
	struct io_uring_sqe *sqe;

	if (!slot->armed)
		return 0;
	sqe = get_sqe(loop);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_poll_remove(sqe, slot_tag(i, slot->generation));
	io_uring_sqe_set_data64(sqe, LOOP_REMOVE_TAG);
	slot->armed = false;
	slot->generation++;			/* whatever the old request reports is stale */
	return 0;
}

static int
arm_slot(io_loop *loop, int i, int fd, short events)
{
	loop_slot  *slot = &loop->slots[i];
	struct io_uring_sqe *sqe;

	sqe = get_sqe(loop);
	if (sqe == NULL)
		return -EBUSY;
	slot->generation++;
	slot->fd = fd;
	slot->events = events;
	slot->armed = true;
	slot->ready = 0;
	io_uring_prep_poll_add(sqe, fd, (unsigned) events);
	io_uring_sqe_set_data64(sqe, slot_tag(i, slot->generation));
	return 0;
}

/* Moves completions into their slots; returns how many cqes were seen. */
static unsigned
reap(io_loop *loop)
{
	struct io_uring_cqe *cqe;
	unsigned	head;
	unsigned	seen = 0;

	io_uring_for_each_cqe(&loop->ring, head, cqe)
	{
		uint64_t	tag = io_uring_cqe_get_data64(cqe);

		seen++;
		if (tag != LOOP_REMOVE_TAG)
		{
			int			i = (int) (tag & 0xff);
			uint32_t	generation = (uint32_t) (tag >> 8);
			loop_slot  *slot = &loop->slots[i];

			if (i < IO_LOOP_MAX_WATCHES && slot->armed && slot->generation == generation)
			{
				slot->armed = false;
				if (cqe->res >= 0)
					slot->ready = (short) cqe->res;
				else if (cqe->res != -ECANCELED)
					slot->ready = POLLERR;
				/* a cancelled request is simply armed again next time */
			}
		}
	}
	io_uring_cq_advance(&loop->ring, seen);
	return seen;
}

static int
collect(io_loop *loop, io_watch *watches, int nwatches)
{
	int			ready = 0;

	for (int i = 0; i < nwatches; i++)
	{
		loop_slot  *slot = &loop->slots[i];

		watches[i].revents = 0;
		if (watches[i].fd < 0 || slot->ready == 0)
			continue;
		watches[i].revents = slot->ready;
		slot->ready = 0;
		ready++;
	}
	return ready;
}

static int
wait_uring(io_loop *loop, io_watch *watches, int nwatches, int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe = NULL;
	int			ready;
	int			rc;

	for (int i = 0; i < nwatches; i++)
	{
		loop_slot  *slot = &loop->slots[i];
		io_watch   *w = &watches[i];

		if (slot->armed && (w->fd != slot->fd || w->events != slot->events))
		{
			if ((rc = disarm_slot(loop, i)) < 0)
				return rc;
		}
		if (slot->ready != 0 && (w->fd != slot->fd || (slot->ready & (w->events | POLLERR | POLLHUP)) == 0))
			slot->ready = 0;	/* a result for a watch the caller no longer asks */
		if (w->fd >= 0 && !slot->armed && slot->ready == 0)
		{
			if ((rc = arm_slot(loop, i, w->fd, w->events)) < 0)
				return rc;
		}
	}
	for (int i = nwatches; i < IO_LOOP_MAX_WATCHES; i++)
	{
		if ((rc = disarm_slot(loop, i)) < 0)
			return rc;
		loop->slots[i].ready = 0;
	}

	reap(loop);
	ready = collect(loop, watches, nwatches);
	if (ready > 0)
	{
		io_uring_submit(&loop->ring);
		return ready;
	}

	if (timeout_ms >= 0)
	{
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long) (timeout_ms % 1000) * 1000000;
	}
	rc = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, timeout_ms >= 0 ? &ts : NULL, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR)
		return rc;
	reap(loop);
	return collect(loop, watches, nwatches);
}

int
io_loop_wait(io_loop *loop, io_watch *watches, int nwatches, int timeout_ms)
{
	if (nwatches < 0 || nwatches > IO_LOOP_MAX_WATCHES)
		return -EINVAL;
	if (!loop->use_uring)
		return wait_poll(watches, nwatches, timeout_ms);
	return wait_uring(loop, watches, nwatches, timeout_ms);
}

void
io_loop_forget(io_loop *loop)
{
	struct __kernel_timespec ts = {0, 0};
	struct io_uring_cqe *cqe = NULL;
	bool		any = false;

	if (!loop->use_uring)
		return;
	for (int i = 0; i < IO_LOOP_MAX_WATCHES; i++)
	{
		any |= loop->slots[i].armed;
		disarm_slot(loop, i);
		loop->slots[i].ready = 0;
	}
	if (!any)
		return;
	/* Let the kernel process the removals before the descriptors close. */
	io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
	reap(loop);
}
