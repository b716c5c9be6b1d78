/*
 * http.h: the smallest HTTP/1.1 server that a Prometheus scraper needs: a
 * listening socket on "host:port", and one request at a time answered with
 * what the caller renders (GET or HEAD of / or /metrics; 404, 405 or 400
 * otherwise; Connection: close).  The caller's thread runs it (the metrics
 * thread polls the socket and calls http_serve_next when it is readable).
 *
 * Thread safety: none of its own; the callbacks run on the calling thread.
 */
#ifndef PGSLUICE_IO_HTTP_H
#define PGSLUICE_IO_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/sbuf.h"

#define HTTP_REQUEST_MAX 8192	/* bytes of a request head; more is a 400 */

typedef struct http_service
{
	int			(*render) (sbuf *body, void *arg);	/* the 200 body: 0, or <0 for a 500 */
	bool		(*stopping) (void *arg);	/* after a wake: give up the client? (NULL: never) */
	void	   *arg;
} http_service;

typedef struct http_request
{
	int			status;			/* 200, 400 (malformed), 404 (other path), 405 (other method) */
	bool		head_only;		/* HEAD: the headers without the body */
} http_request;

/*
 * What a request head (NUL-terminated, as the client sent it) asks for:
 * pure, it reads nothing past the NUL.
 */
http_request http_request_parse(const char *head);

/*
 * Binds and listens on addr_port: "127.0.0.1:9187", "[::1]:9187",
 * "localhost:9187", or ":9187" for every interface (IPv6 and IPv4 where the
 * machine has both); port 0 takes a free port.  The socket (non-blocking,
 * close-on-exec) in fd_out, its port in port_out.  -EINVAL for a malformed
 * address or an unknown host, the bind's errno (-EADDRINUSE...) otherwise;
 * the messages name the listener what ("metrics").
 */
int			http_listen_open(const char *what, const char *addr_port, int *fd_out, int *port_out,
							 sl_err *err);

/*
 * Accepts one connection on listen_fd (readable), reads its request and
 * answers it, then closes it.  wake_fd (an eventfd) readable makes it ask
 * svc->stopping.  0, also when the client went away first; the accept's
 * negative errno when it failed for a reason that lasts (-EMFILE...), on
 * which the caller should wait before it tries again.
 */
int			http_serve_next(int listen_fd, int wake_fd, const http_service *svc);

/* Empties the eventfd wake_fd. */
void		http_wake_drain(int wake_fd);

#endif
