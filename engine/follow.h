/*
 * follow.h: live follow through PostgreSQL's own logical replication, for
 * clone --follow, cutover, status, check and cleanup.
 *
 * A follow run has one name (follow_name) for its three objects: the
 * publication of its tables and the logical slot (pgoutput) on the source,
 * the subscription on the target.  The name says which target database and
 * run they belong to, so that teardown touches nothing else, and starts with
 * FOLLOW_PREFIX, so that check finds what any run left.
 *
 * How the copy and the stream meet: the publication is created first, then
 * the slot, on a replication connection, with an exported snapshot; every
 * chunk reads at that snapshot, and the slot streams every change committed
 * after it.  The replication connection stays idle, holding the snapshot,
 * until the last session that imports it has done so.  Once the data and the
 * post-data are on the target, the subscription is created disabled, without
 * a slot of its own and without copying, its replication origin advanced to
 * the slot's consistent point, and enabled: PostgreSQL's apply worker does
 * the rest.
 *
 * Thread safety: none inside; each caller passes its own connections.
 */
#ifndef PGSLUICE_ENGINE_FOLLOW_H
#define PGSLUICE_ENGINE_FOLLOW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "engine/catalog.h"

#define FOLLOW_PREFIX "pgsluice_"
#define FOLLOW_NAME_MAX 64

/* The name of run_id's objects: "pgsluice_" + 8 hex digits of the target database's identity + "_" + run_id. */
int			follow_name(PGconn *target, int64_t run_id, char *out, size_t outlen, sl_err *err);

/*
 * The publication of exactly the catalog's tables (not the large objects:
 * logical replication does not carry them), each with ONLY; a partition is
 * published as itself, as it is copied (publish_via_partition_root off).
 * One that exists under the name is made again.
 */
int			follow_publication_create(PGconn *source, const catalog *cat, const char *name, sl_err *err);

/*
 * At the snapshot conn is in: the catalog's tables that the publication
 * does not hold (a table created between the two), as an error naming the
 * first; 0 when it holds them all.
 */
int			follow_publication_covers(PGconn *source, const catalog *cat, const char *name, sl_err *err);

/* A slot made with its snapshot: repl holds the snapshot while it is open and idle. */
typedef struct follow_slot
{
	PGconn	   *repl;			/* the replication connection; owned */
	char		snapshot[64];	/* the exported snapshot */
	char		lsn[32];		/* the slot's consistent point */
} follow_slot;

/* Makes the logical slot name (pgoutput) over a new replication connection to conninfo. */
int			follow_slot_create(const char *conninfo, const char *name, follow_slot *slot, sl_err *err);

/* Closes the replication connection: its snapshot is gone, the slot stays. */
void		follow_slot_release(follow_slot *slot);

/* 1 when the source has the slot, 0 when not, or a negative errno. */
int			follow_slot_exists(PGconn *source, const char *name, sl_err *err);

/*
 * On the target: the subscription name, reaching the source through
 * source_conninfo (as the target's server will connect), over the existing
 * slot and publication, copying nothing, its origin advanced to the slot's
 * confirmed position (read from source), then enabled.  One that exists is
 * left as it is, and enabled.
 */
int			follow_subscribe(PGconn *source, PGconn *target, const char *source_conninfo, const char *name,
							 sl_err *err);

/* What the servers say of a follow run's objects; a side not given is not read. */
typedef struct follow_state
{
	bool		publication;	/* on the source */
	bool		slot;
	bool		slot_active;	/* a session streams from the slot */
	bool		subscription;	/* on the target */
	bool		enabled;		/* the subscription */
	bool		streaming;		/* its apply worker runs */
	long long	apply_errors;	/* since the subscription was made */
	char		wal_status[16]; /* the slot's: reserved, extended, unreserved, lost */
	int64_t		retained_bytes; /* WAL the slot holds: the source's position past its restart_lsn */
	int64_t		lag_bytes;		/* the source's position past what the target has applied */
	double		lag_seconds;	/* the source's replay_lag of the subscription; 0 when caught up */
	char		source_lsn[32]; /* pg_current_wal_lsn() of the source, when read */
	char		applied_lsn[32];	/* the slot's confirmed_flush_lsn */
} follow_state;

int			follow_read(PGconn *source, PGconn *target, const char *name, follow_state *out, sl_err *err);

/*
 * The bytes free on the disk of the source's WAL, when this host sees it:
 * the server's data directory is here, its pg_control has the server's
 * system identifier (so it is that server's, not a namesake), and
 * statvfs() reads its pg_wal.  -1 when not known (another host, no right to
 * read the setting or the directory): never an error.
 */
int64_t		follow_source_free_disk(PGconn *source);

/* The subscription's state in a word: streaming, enabled, disabled, missing. */
const char *follow_state_word(const follow_state *s);

/* Waits up to max_seconds until the subscription streams; 0, or -ETIMEDOUT naming why. */
int			follow_wait_streaming(PGconn *source, PGconn *target, const char *name, double max_seconds,
								  follow_state *out, sl_err *err);

/*
 * Waits up to max_seconds until the target has applied (the slot's
 * confirmed position) the source's position lsn; 0, or -ETIMEDOUT with the
 * lag left and the subscription's apply errors.
 */
int			follow_wait_applied(PGconn *source, PGconn *target, const char *name, const char *lsn,
								double max_seconds, sl_err *err);

/*
 * Drops the subscription (target, when given), then the slot and the
 * publication (source, when given), each where it exists; *dropped counts
 * what was there.
 */
int			follow_drop(PGconn *source, PGconn *target, const char *name, int *dropped, sl_err *err);

/* A slot or publication a pgsluice run left on a server. */
typedef struct follow_leftover
{
	char		kind[12];		/* "slot" or "publication" */
	char		name[FOLLOW_NAME_MAX];
	char		database[64];
	bool		active;			/* a slot a session streams from */
	int64_t		retained_bytes; /* a slot's WAL */
	char		wal_status[16];
} follow_leftover;

/* Every pgsluice slot of source's cluster and publication of its database, into *out (n, freed by the caller). */
int			follow_leftovers(PGconn *source, follow_leftover **out, int *n, sl_err *err);

#endif
