/*
 * progress.h: what a run is doing, for the people watching it.
 *
 * The scheduler (engine/sched.c) tells this module when a chunk step
 * begins and ends and when each worker takes up and finishes a chunk; a
 * step without chunks (the schema, the indexes) is named with
 * progress_phase.  A thread that the command starts with progress_start
 * shows it:
 *   - on a terminal, a block kept below the log lines and redrawn in place
 *     twice a second (engine/log.h's log_status): one line per busy worker
 *     (table, chunk, seconds on it) and a bar per running step with tables
 *     and chunks done of total, rows, bytes, MB/s and an ETA;
 *   - otherwise a log line every interval seconds, with the same figures.
 * The ETA is the step's time so far scaled by the planned heap bytes of the
 * chunks not yet done over those done.
 *
 * Thread safety: one mutex guards the steps and the workers' slots; the
 * display thread takes it to read them.  It is taken after no other lock
 * of this program, and log_status's lock is taken inside it.
 */
#ifndef PGSLUICE_ENGINE_PROGRESS_H
#define PGSLUICE_ENGINE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "engine/plan.h"

#define PROGRESS_MAX_STEPS 2	/* at once: clone --spill reads and loads together */
#define PROGRESS_MAX_WORKERS 64 /* shown on a terminal; the others are counted */

/*
 * Starts showing progress: live on a terminal when live, else a log line
 * every interval seconds (0: none).  Returns 0 or a negative errno.
 */
int			progress_start(bool live, int interval);

/* Stops the display and removes the live block; safe when not started. */
void		progress_stop(void);

/* Names what the run does when no chunk step runs ("schema: pre-data"); NULL: nothing. */
void		progress_phase(const char *what);

/*
 * A chunk step begins: label names it ("data", "verify"), over the chunks
 * of p that skip (NULL: none) leaves; returns its slot for the calls below.
 */
int			progress_step_begin(const char *label, const catalog *cat, const plan *p, const uint8_t *skip);
void		progress_step_end(int slot);

/* Worker worker (1 on) of the step took up, or finished, chunk idx of its plan. */
void		progress_chunk_begin(int slot, int worker, int idx);
void		progress_chunk_end(int slot, int worker, int idx, bool ok, uint64_t bytes, uint64_t rows);

#endif
