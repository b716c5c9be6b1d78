/*
 * metrics.h: the run's counters in Prometheus's text exposition format,
 * written to a file (for node_exporter's textfile collector) and served over
 * HTTP (for scraping while the run goes on).
 *
 * A process runs one command at a time, so the state is process-wide: any
 * thread adds to the counters with atomics, no lock and no system call.
 * metrics_file_start and metrics_listen_start share one background thread,
 * which rewrites the file every interval, answers scrapes one at a time, and
 * samples the byte counter once a second for the rate gauge.  Every sample
 * carries the label command="clone" (or whatever metrics_begin said last).
 *
 * Counters count the whole process: metrics_begin for the next step (verify
 * after clone) changes the label, the start time and the planned chunks, but
 * does not reset them, so no counter ever goes backwards.
 *
 * Thread safety: the counter functions and metrics_render may be called from
 * any thread.  metrics_begin, the start functions and metrics_stop are
 * meant for the command's main thread; they take the module's one lock
 * around the state they share with the background thread, as metrics_render
 * does, so there is no lock order to keep.
 */
#ifndef PGSLUICE_ENGINE_METRICS_H
#define PGSLUICE_ENGINE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "base/err.h"

/*
 * Starts a step: sets the command label ("clone", "verify"...; NULL is ""),
 * the start time (which also restarts the rate gauge) and the planned chunks.
 */
void		metrics_begin(const char *command, int chunks_planned);

/* Adds n to the planned chunks (each chunk step of the command adds its own). */
void		metrics_add_planned(int n);

void		metrics_add_rows(uint64_t n);
void		metrics_add_bytes(uint64_t n);	/* COPY bytes moved */
void		metrics_chunk_started(void);	/* in flight +1 */
void		metrics_chunk_finished(bool ok);	/* in flight -1; done or failed +1 */
void		metrics_chunk_put_back(void);	/* in flight -1: to be run later */
void		metrics_add_retry(void);
void		metrics_add_repair(uint64_t deleted, uint64_t inserted, uint64_t bytes, bool recopied);

/*
 * A follow run's replication, as status or clone --follow last read it: the
 * gauges pgsluice_replication_lag_bytes, pgsluice_replication_lag_seconds
 * and pgsluice_slot_retained_bytes, shown from the first call on.  slot is
 * the database's of metrics_share (status --all-databases sets them all
 * from one process), or -1: where this process counts.
 */
void		metrics_set_replication(int slot, int64_t lag_bytes, double lag_seconds, int64_t retained_bytes);

/* Appends the exposition text to out; 0 or -ENOMEM. */
int			metrics_render(sbuf *out);

/*
 * A cluster run, before it forks: n slots of counters in memory shared
 * with the children, one per database (named for the "database" label);
 * the parent then renders every slot, a series per database, and the
 * rate of them all.  0 or a negative errno.  The slots last as long as
 * the process.
 */
int			metrics_share(int n, char *const *databases);

/*
 * In a child forked after metrics_share: count into slot i, and leave the
 * file and the listener to the parent.
 */
void		metrics_use_slot(int i);

/*
 * Writes the metrics to path now, so that a bad path fails here with an error
 * that names it, then every interval_seconds from the background thread, each
 * time to path + ".tmp" renamed over path.  A periodic write that fails is
 * tried again at the next interval; the last word is metrics_stop's.
 * -EINVAL for a bad interval, -EALREADY when a file is being written already.
 */
int			metrics_file_start(const char *path, double interval_seconds, sl_err *err);

/*
 * Serves GET /metrics (and GET /, and HEAD) on addr_port: "127.0.0.1:9187",
 * "[::1]:9187", "localhost:9187", or ":9187" for every interface (IPv6 and
 * IPv4 where the machine has both).  Port 0 takes a free port, which
 * metrics_listen_port tells.  -EINVAL for a malformed address or an unknown
 * host, the bind's errno (-EADDRINUSE...) otherwise, -EALREADY when listening
 * already.
 */
int			metrics_listen_start(const char *addr_port, sl_err *err);

/* The bound port, or -ENOTCONN when not listening. */
int			metrics_listen_port(void);

/*
 * Stops the background thread, closes the socket and, when a file was
 * started, writes it a last time with the final values.  Returns 0 or the
 * error of that last write (err receives it; err may be NULL).  Safe when
 * nothing was started, and twice; the start functions may be called again
 * after it.
 */
int			metrics_stop(sl_err *err);

#endif
