/*
 * fuzz_http.c: libFuzzer target for the request parser of the metrics
 * listener (io/http.c), which reads whatever a client on the network sends.
 *
 * The input is the request head (a NUL ends it early).  The answer must be
 * one of 200, 400, 404 and 405; only GET and HEAD get a 200 or a 404, only
 * HEAD drops the body, a 200 names / or /metrics and an HTTP version; and the
 * same head must give the same answer again.  Otherwise the target aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/http.h"

#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *head;
	http_request req,
				again;
	bool		get,
				head_method;

	if (size > HTTP_REQUEST_MAX)
		return 0;
	head = malloc(size + 1);	/* exactly the head and its NUL: ASan sees a read past it */
	if (head == NULL)
		return 0;
	memcpy(head, data, size);
	head[size] = '\0';

	req = http_request_parse(head);
	get = strncmp(head, "GET ", 4) == 0;
	head_method = strncmp(head, "HEAD ", 5) == 0;
	if ((req.status != 200 && req.status != 400 && req.status != 404 && req.status != 405) ||
		((req.status == 200 || req.status == 404) && !get && !head_method) ||
		(req.head_only && !head_method) ||
		(req.status == 200 && (strstr(head, " HTTP/") == NULL ||
							   (strncmp(head + (get ? 4 : 5), "/ ", 2) != 0 &&
								strncmp(head + (get ? 4 : 5), "/?", 2) != 0 &&
								strncmp(head + (get ? 4 : 5), "/metrics", 8) != 0))))
	{
		fprintf(stderr, "request \"%.80s\": status %d, head only %d\n", head, req.status, req.head_only);
		abort();
	}
	again = http_request_parse(head);
	if (again.status != req.status || again.head_only != req.head_only)
		abort();
	free(head);
	return 0;
}
