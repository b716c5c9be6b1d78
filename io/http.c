/*
 * http.c: see http.h.
 *
 * One connection at a time, served before the next is accepted: the request
 * head may take at most HTTP_REQUEST_MAX bytes and HTTP_CLIENT_TIMEOUT_SECONDS,
 * and a write on the caller's wake descriptor cuts the wait short when the
 * caller is stopping.
 */
#include "io/http.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

#define HTTP_CLIENT_TIMEOUT_SECONDS 2.0
#define HTTP_BODY_CAP (1u << 20)
#define HTTP_LISTEN_BACKLOG 16

void
http_wake_drain(int wake_fd)
{
	uint64_t	count;

	(void) !read(wake_fd, &count, sizeof(count));
}

/*
 * Waits until fd is ready for events, the deadline passes (0) or a stop is
 * requested (0); 1 when ready.
 */
static int
client_wait(int fd, short events, double deadline, int wake_fd, const http_service *svc)
{
	for (;;)
	{
		struct pollfd fds[2] = {{.fd = fd,.events = events}, {.fd = wake_fd,.events = POLLIN}};
		double		left = deadline - clock_seconds();
		int			n;

		if (left <= 0)
			return 0;
		n = poll(fds, 2, (int) ceil(left * 1000));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n <= 0)
			continue;
		if (fds[1].revents & POLLIN)
		{
			http_wake_drain(wake_fd);
			if (svc->stopping != NULL && svc->stopping(svc->arg))
				return 0;
		}
		if (fds[0].revents != 0)
			return 1;
	}
}

/*
 * Reads the request head into buf; its length when it is complete, 0 when
 * the client went away or took too long, -E2BIG when it is too long.
 */
static int
read_request(int fd, char *buf, double deadline, int wake_fd, const http_service *svc)
{
	size_t		len = 0;

	for (;;)
	{
		ssize_t		n;

		if (len == HTTP_REQUEST_MAX)
			return -E2BIG;
		if (!client_wait(fd, POLLIN, deadline, wake_fd, svc))
			return 0;
		n = recv(fd, buf + len, HTTP_REQUEST_MAX - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		len += (size_t) n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return (int) len;
	}
}

static void
send_all(int fd, const char *data, size_t len, double deadline, int wake_fd,
		 const http_service *svc)
{
	while (len > 0)
	{
		ssize_t		n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || !client_wait(fd, POLLOUT, deadline, wake_fd, svc))
				return;
			continue;
		}
		data += n;
		len -= (size_t) n;
	}
}

/*
 * The status line and headers for status, and the body: the metrics for
 * 200, a one-line reason otherwise.  HEAD gets the headers alone.
 */
static void
respond(int fd, int status, bool head_only, double deadline, int wake_fd, const http_service *svc)
{
	const char *reason;
	const char *content_type = "text/plain; charset=utf-8";
	sbuf		body;
	sbuf		response;

	sbuf_init(&body, HTTP_BODY_CAP);
	sbuf_init(&response, HTTP_BODY_CAP + 1024);
	switch (status)
	{
		case 200:
			reason = "OK";
			content_type = "text/plain; version=0.0.4; charset=utf-8";
			if (svc->render(&body, svc->arg) < 0)
			{
				status = 500;
				reason = "Internal Server Error";
				content_type = "text/plain; charset=utf-8";
				sbuf_reset(&body);
				sbuf_append(&body, "out of memory\n");
			}
			break;
		case 404:
			reason = "Not Found";
			sbuf_append(&body, "not found: try /metrics\n");
			break;
		case 405:
			reason = "Method Not Allowed";
			sbuf_append(&body, "method not allowed\n");
			break;
		default:
			status = 400;
			reason = "Bad Request";
			sbuf_append(&body, "bad request\n");
			break;
	}
	sbuf_printf(&response,
				"HTTP/1.1 %d %s\r\n"
				"Content-Type: %s\r\n"
				"Content-Length: %zu\r\n"
				"%s"
				"Connection: close\r\n"
				"\r\n",
				status, reason, content_type, body.len,
				status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		sbuf_appendn(&response, sbuf_str(&body), body.len);
	if (!sbuf_failed(&response))
		send_all(fd, sbuf_str(&response), response.len, deadline, wake_fd, svc);
	sbuf_fini(&response);
	sbuf_fini(&body);
}

http_request
http_request_parse(const char *head)
{
	http_request req = {400, false};
	size_t		method_len;
	size_t		target_len;
	const char *target;
	const char *version;

	/* request line: METHOD SP TARGET SP HTTP/x.y */
	method_len = strcspn(head, " \r\n");
	target = head + method_len;
	if (method_len == 0 || *target != ' ')
		return req;
	target++;
	target_len = strcspn(target, " \r\n");
	version = target + target_len;
	if (target_len == 0 || *version != ' ' || strncmp(version + 1, "HTTP/", 5) != 0)
		return req;
	req.head_only = method_len == 4 && memcmp(head, "HEAD", 4) == 0;
	if (!req.head_only && !(method_len == 3 && memcmp(head, "GET", 3) == 0))
	{
		req.head_only = false;
		req.status = 405;
		return req;
	}
	/* a query string does not change the answer */
	target_len = strcspn(target, " ?\r\n");
	if ((target_len == 1 && target[0] == '/') ||
		(target_len == 8 && memcmp(target, "/metrics", 8) == 0))
		req.status = 200;
	else
		req.status = 404;
	return req;
}

/* Reads one request from the accepted connection fd and answers it. */
static void
serve_one(int fd, int wake_fd, const http_service *svc)
{
	char		head[HTTP_REQUEST_MAX + 1];
	double		deadline = clock_seconds() + HTTP_CLIENT_TIMEOUT_SECONDS;
	int			len = read_request(fd, head, deadline, wake_fd, svc);
	http_request req;

	if (len == 0)
		return;					/* gone, too slow, or we are stopping */
	if (len < 0)
	{
		respond(fd, 400, false, deadline, wake_fd, svc);
		return;
	}
	req = http_request_parse(head);
	respond(fd, req.status, req.head_only, deadline, wake_fd, svc);
}

/*
 * Splits "host:port", "[v6]:port" or ":port" into host (maybe "") and port;
 * false when malformed.
 */
static bool
parse_listen(const char *addr_port, char *host, size_t host_size, char *port, size_t port_size)
{
	const char *host_start = addr_port;
	const char *host_end;
	const char *port_start;
	size_t		host_len;
	size_t		port_len;
	long		port_value;

	if (addr_port[0] == '[')
	{
		host_start = addr_port + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || host_end == host_start || host_end[1] != ':')
			return false;
		port_start = host_end + 2;
	}
	else
	{
		host_end = strrchr(addr_port, ':');
		if (host_end == NULL || memchr(addr_port, ':', (size_t) (host_end - addr_port)) != NULL)
			return false;		/* no port, or IPv6 without brackets */
		port_start = host_end + 1;
	}
	host_len = (size_t) (host_end - host_start);
	port_len = strlen(port_start);
	if (host_len >= host_size || port_len == 0 || port_len >= port_size ||
		strspn(port_start, "0123456789") != port_len)
		return false;
	port_value = strtol(port_start, NULL, 10);
	if (port_value > 65535)
		return false;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	memcpy(port, port_start, port_len + 1);
	return true;
}

/* Binds and listens on the first address of host:port that lets us. */
static int
bind_listen(const char *what, const char *addr_port, const char *host, const char *port, int *fd_out,
			sl_err *err)
{
	/* no host: IPv6 and IPv4 (one dual-stack socket), or IPv4 alone */
	static const char *const any_hosts[] = {"::", "0.0.0.0"};
	const char *const *hosts = host[0] == '\0' ? any_hosts : &host;
	int			nhosts = host[0] == '\0' ? 2 : 1;
	int			last_errno = EADDRNOTAVAIL;

	for (int h = 0; h < nhosts; h++)
	{
		struct addrinfo hints = {
			.ai_family = AF_UNSPEC,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		};
		struct addrinfo *res = NULL;
		int			gai = getaddrinfo(hosts[h], port, &hints, &res);

		if (gai != 0)
		{
			if (host[0] != '\0')
				return err_set(err, SIDE_USAGE, -EINVAL,
							   "could not resolve %s listen address \"%s\": %s",
							   what, addr_port, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
			last_errno = EAFNOSUPPORT;
			continue;
		}
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
		{
			int			one = 1;
			int			zero = 0;
			int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
									ai->ai_protocol);

			if (fd < 0)
			{
				last_errno = errno;
				continue;
			}
			(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6 && host[0] == '\0')
				(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, HTTP_LISTEN_BACKLOG) == 0)
			{
				freeaddrinfo(res);
				*fd_out = fd;
				return 0;
			}
			last_errno = errno;
			close(fd);
		}
		freeaddrinfo(res);
	}
	return err_set(err, SIDE_LOCAL, -last_errno, "could not listen on %s address \"%s\": %s",
				   what, addr_port, strerror(last_errno));
}

static int
socket_port(int fd)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *) &addr, &len) < 0)
		return -errno;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *) &addr)->sin6_port);
	return ntohs(((struct sockaddr_in *) &addr)->sin_port);
}

int
http_listen_open(const char *what, const char *addr_port, int *fd_out, int *port_out, sl_err *err)
{
	char		host[NI_MAXHOST];
	char		port[8];
	int			fd = -1;
	int			port_number;
	int			rc;

	*fd_out = -1;
	*port_out = 0;
	if (addr_port == NULL || !parse_listen(addr_port, host, sizeof(host), port, sizeof(port)))
	{
		rc = err_set(err, SIDE_USAGE, -EINVAL,
					 "invalid %s listen address \"%s\": expected HOST:PORT, [IPV6]:PORT or :PORT",
					 what, addr_port != NULL ? addr_port : "");
		goto done;
	}
	if ((rc = bind_listen(what, addr_port, host, port, &fd, err)) < 0)
		goto done;
	if ((port_number = socket_port(fd)) < 0)
	{
		rc = err_set(err, SIDE_LOCAL, port_number, "could not read the port of %s address \"%s\": %s",
					 what, addr_port, strerror(-port_number));
		goto done;
	}
	*fd_out = fd;
	*port_out = port_number;
	fd = -1;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
http_serve_next(int listen_fd, int wake_fd, const http_service *svc)
{
	int			client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (client < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;
	serve_one(client, wake_fd, svc);
	close(client);
	return 0;
}
