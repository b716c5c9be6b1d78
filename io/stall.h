/*
 * stall.h: tells a connection that stopped moving bytes from one that is
 * merely busy.
 *
 * A network that is cut silently (a partition, a hung load balancer) leaves
 * both sockets open: the peer neither sends nor takes anything, and a
 * wait for it never ends.  A worker keeps one stall clock per socket it
 * waits for.  Before each wait it says whether the wait is for that socket
 * and how many bytes have moved on it so far (the caller's own running
 * count, so no system call is needed); after the wait, whether the socket
 * was ready.  The clock runs only while the caller waits for the socket and
 * nothing moves: it stops when a byte moves (the count changed, or the
 * socket was ready) and when the caller waits for something else (a full
 * pipe, the other side), since a socket left alone by choice is not
 * stalled.  One clock reading per wait, never one per row.
 *
 * Thread safety: none; a clock belongs to the thread that waits, and the
 * excuse (stall_clock_excuse) is the thread's own (thread-local).
 */
#ifndef PGSLUICE_IO_STALL_H
#define PGSLUICE_IO_STALL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct stall_clock
{
	double		timeout;		/* seconds of silence that make a stall; 0: never */
	double		since;			/* when the silent wait began; < 0: not running */
	uint64_t	progress;		/* the caller's byte count when last seen */
} stall_clock;

/* A stopped clock; timeout_seconds 0 turns it off. */
void		stall_clock_init(stall_clock *c, int timeout_seconds);

/*
 * Before a wait: waiting says whether it waits for the socket, progress
 * is the caller's count of bytes moved on it, now is clock_seconds().
 */
void		stall_clock_begin(stall_clock *c, bool waiting, uint64_t progress, double now);

/*
 * After the wait: ready says the socket was ready (bytes arrived, or room
 * to send).  True when the caller has waited for the socket for the
 * timeout without a byte moving: a stall.
 */
bool		stall_clock_end(stall_clock *c, bool ready, double now);

/*
 * The calling thread waited of its own accord until now (the rate cap, a
 * pause): the silence of its sockets before that does not count, since no
 * byte was asked of them meanwhile.  Applies to every clock of the thread.
 */
void		stall_clock_excuse(double now);

#endif
