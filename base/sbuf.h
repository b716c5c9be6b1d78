/*
 * sbuf.h: a growable string for building SQL and messages, with a hard cap
 * (as curl's dynbuf): appending past the cap fails instead of eating memory.
 * Errors are sticky: after a failed append the buffer refuses further
 * appends and sbuf_failed() says so, so a builder can check once at the end.
 */
#ifndef PGSLUICE_BASE_SBUF_H
#define PGSLUICE_BASE_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SBUF_DEFAULT_CAP (64u << 20) /* no SQL statement we build needs more */

typedef struct sbuf
{
	char	   *data;			/* NUL-terminated when len > 0, owned */
	size_t		len;
	size_t		alloc;
	size_t		cap;			/* the most len may reach */
	bool		failed;			/* an append ran out of memory or cap */
} sbuf;

void		sbuf_init(sbuf *buf, size_t cap);
void		sbuf_fini(sbuf *buf);
void		sbuf_reset(sbuf *buf);

/* Return 0 or -ENOMEM (out of memory or over the cap). */
int			sbuf_append(sbuf *buf, const char *str);
int			sbuf_appendn(sbuf *buf, const char *str, size_t len);
int			sbuf_printf(sbuf *buf, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* The string so far, "" when empty. */
const char *sbuf_str(const sbuf *buf);

/* Bytes as PostgreSQL's pg_size_pretty writes them ("12.3 GB", powers of 1024), into out. */
void		sbuf_format_bytes(uint64_t bytes, char *out, size_t outlen);

/* Hands the string to the caller (who frees it) and empties the buffer. */
char	   *sbuf_take(sbuf *buf);

static inline bool
sbuf_failed(const sbuf *buf)
{
	return buf->failed;
}

#endif
