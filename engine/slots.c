/*
 * slots.c: chunks in flight across processes.  See slots.h.
 */
#include "engine/slots.h"

#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "base/clock.h"

#define TAKE_WAIT_NS 100000000L	/* how often a waiting worker looks at its stop flag */

static sem_t *shared;			/* in memory the forked processes share; NULL: no slots */

int
slots_share(int n, sl_err *err)
{
	sem_t	   *sem = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sem == MAP_FAILED)
		return err_set(err, SIDE_LOCAL, -errno, "could not map the shared slots: %s", strerror(errno));
	if (sem_init(sem, 1, (unsigned) (n > 0 ? n : 1)) != 0)
	{
		int			rc = -errno;

		munmap(sem, sizeof(sem_t));
		return err_set(err, SIDE_LOCAL, rc, "could not make the shared slots: %s", strerror(-rc));
	}
	shared = sem;
	return 0;
}

int
slots_take(const atomic_int *stop)
{
	if (shared == NULL)
		return 0;
	while (!atomic_load(stop))
	{
		struct timespec until = clock_realtime_after(TAKE_WAIT_NS);

		if (sem_timedwait(shared, &until) == 0)
			return 0;
	}
	return -EINTR;
}

void
slots_give(void)
{
	if (shared != NULL)
		sem_post(shared);
}

void
slots_release(void)
{
	if (shared == NULL)
		return;
	sem_destroy(shared);
	munmap(shared, sizeof(sem_t));
	shared = NULL;
}
