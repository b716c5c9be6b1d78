/*
 * copytext.h: streaming row hasher for COPY ... (FORMAT text).
 *
 * In text format every row ends with a newline (newlines inside values are
 * escaped as \n), and the frontend/backend protocol sends no end marker.  A
 * row's hash is XXH3-128 of its bytes without the newline; rows combine into a
 * chunk_digest as in copybin.h.  Buffers may split the stream anywhere.
 */
#ifndef PGSLUICE_CODEC_COPYTEXT_H
#define PGSLUICE_CODEC_COPYTEXT_H

#include "codec/copybin.h"

typedef struct copytext_parser copytext_parser;

int			copytext_create(copytext_parser **out);
void		copytext_reset(copytext_parser *parser);
void		copytext_destroy(copytext_parser *parser);

/* Consumes all of in; returns 0, or a negative errno after an earlier error. */
int			copytext_step(copytext_parser *parser, codec_in *in, chunk_digest *digest);

/*
 * Ends the stream: returns 0, or -EPROTO when a row was left without its
 * newline (a truncated stream).
 */
int			copytext_finish(copytext_parser *parser);

const char *copytext_error(const copytext_parser *parser);

#endif
