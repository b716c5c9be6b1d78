/*
 * json.h: a strict JSON (RFC 8259) reader, for the manifest of a dump
 * directory, a string quoter, and a streaming writer for every JSON that
 * pgsluice writes (the reports, the manifest, the records of a run).  Pure:
 * no I/O; the writer appends to a growable buffer (base/sbuf.h).
 *
 * The manifest is written by pgsluice but read back as untrusted bytes: it
 * may be truncated, corrupted or edited by hand.  So the reader accepts
 * exactly RFC 8259 and nothing else: no comments, no trailing commas, no
 * leading zeros, no byte order mark, no NaN or Infinity, no single quotes,
 * no unescaped control characters in strings, only the escapes JSON has,
 * no invalid UTF-8 anywhere (overlong forms and encoded surrogates
 * included), no lone surrogate in a \u escape except json_quote's \udc80 to
 * \udcff, no two members with the same key in one object, and nothing but
 * whitespace after the top-level value (which may be any value, not only an
 * object or an array).
 *
 * json_parse() builds an immutable tree in an arena owned by the json_doc:
 * strings come out decoded (UTF-8, NUL-terminated, with their length, since
 * \u0000 is allowed; a lone \udcXX gives back the byte XX of invalid UTF-8
 * that json_quote escaped), arrays and objects keep their document order.  The
 * input need not be NUL-terminated and is not referenced after the call.
 * Every resource has a cap (json_limits): input size, nesting depth and
 * number of values; memory is linear in them, and the parser never recurses.
 *
 * A failure returns a negative errno and writes a message in PostgreSQL's
 * style that says what and where, e.g.
 *   unexpected character "x" at line 3, byte 57
 * where byte is the offset from the start of the input (from 0) and line
 * counts "\n" bytes before it (from 1).
 *
 * Thread safety: json_parse() and json_quote() use no shared state.  A
 * json_doc is never written after json_parse() returns, so any number of
 * threads may read one at once; json_doc_destroy() must come after the last
 * reader.
 */
#ifndef PGSLUICE_CODEC_JSON_H
#define PGSLUICE_CODEC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/sbuf.h"

#define JSON_DEPTH_DEFAULT 64						/* nested arrays and objects */
#define JSON_NODES_DEFAULT ((size_t) 10000000)		/* values of any kind */
#define JSON_INPUT_DEFAULT ((size_t) 1 << 30)		/* bytes of input */

typedef enum json_type
{
	JSON_NONE = 0,				/* no value: what json_kind(NULL) says */
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
} json_type;

/* Caps on one parse.  A field of 0 takes its default. */
typedef struct json_limits
{
	size_t		max_depth;		/* arrays and objects open at once; [[]] is 2 */
	size_t		max_nodes;		/* values in the document, containers included, keys not */
	size_t		max_input;		/* bytes of input, whitespace included */
} json_limits;

typedef struct json_doc json_doc;
typedef struct json_value json_value;

/*
 * Parses text[0..len) into *out (NULL on failure).  limits NULL means all
 * defaults.  err (when not NULL) gets the message of a failure (on
 * SIDE_LOCAL: the caller says whose document it was).  Returns 0, or:
 *   -EPROTO   not valid JSON (syntax, escapes, UTF-8, duplicate key)
 *   -E2BIG    over a limit: input size, nesting depth or number of values
 *   -ENOMEM
 *   -EINVAL   out is NULL, or text is NULL with len > 0
 */
int			json_parse(const char *text, size_t len, const json_limits *limits,
					   json_doc **out, sl_err *err);

/* Frees the document and every value in it.  Accepts NULL. */
void		json_doc_destroy(json_doc *doc);

/* The top-level value; NULL only for a NULL doc. */
const json_value *json_root(const json_doc *doc);

/* ---- access: each accepts NULL and a value of the wrong kind ---- */

json_type	json_kind(const json_value *value);

/* The kind as a word for messages ("object", "string", ...). */
const char *json_type_name(json_type type);

/*
 * The member of object with this key (compared byte for byte, so a key
 * holding \u0000 is never found by a C string); NULL when absent or when
 * object is not an object.  Linear in small objects, a binary search in
 * larger ones.
 */
const json_value *json_get(const json_value *object, const char *key);

/* Elements of an array, members of an object, else 0. */
size_t		json_len(const json_value *value);

/* Element i of an array (from 0); NULL when out of range or not an array. */
const json_value *json_at(const json_value *array, size_t i);

/*
 * Member i of an object in document order: returns its value and sets *key
 * (NUL-terminated) and *key_len (either may be NULL).  NULL when out of
 * range or not an object, with *key set to NULL and *key_len to 0.
 */
const json_value *json_member(const json_value *object, size_t i,
							  const char **key, size_t *key_len);

/*
 * A string's bytes, decoded (UTF-8 and NUL-terminated, but it may hold NUL
 * bytes, hence *len, which may be NULL, and the bytes of invalid UTF-8 that
 * json_quote escaped).  NULL when not a string.
 */
const char *json_string(const json_value *value, size_t *len);

/*
 * A number as an integer.  Returns 0, -ERANGE when the number is written
 * with a fraction or an exponent ("1.0", "1e3") or does not fit, or -EINVAL
 * when value is not a number.  "-0" is 0.
 */
int			json_int64(const json_value *value, int64_t *out);
int			json_uint64(const json_value *value, uint64_t *out);

/*
 * A number as the nearest double.  Returns 0, -ERANGE when its magnitude is
 * beyond DBL_MAX ("1e999"; an underflow rounds to 0 or a subnormal and is
 * fine), or -EINVAL when value is not a number.
 */
int			json_double(const json_value *value, double *out);

/* Returns 0 or -EINVAL (not true or false). */
int			json_bool(const json_value *value, bool *out);

bool		json_is_null(const json_value *value);

/* ---- writing ---- */

/*
 * Writes s[0..len) as a JSON string literal, quotes included, to out, as
 * snprintf does: returns the length of the whole literal, and writes its
 * first outlen - 1 bytes and a NUL (nothing when outlen is 0; out may then
 * be NULL).  So the literal was cut when the result is >= outlen.  Escapes
 * '"', '\\' and the control characters below 0x20 (\b \f \n \r \t, the
 * others as \u00XX), and each byte that is not part of valid UTF-8 as
 * \udcXX (XX from 80 to ff: the "surrogateescape" of Python, whose json
 * module reads it so); copies every other byte as it is.  So names and
 * values from a database in SQL_ASCII or another encoding make valid JSON
 * that json_parse() gives back byte for byte.
 */
size_t		json_quote(char *out, size_t outlen, const char *s, size_t len);

/* The literal of NUL-terminated s, as json_quote writes it, in a malloc()ed string; NULL: out of memory. */
char	   *json_quote_dup(const char *s);

/*
 * The writer: objects, arrays and values in the order they are written,
 * the commas, the colons, the nesting and the layout tracked by it.  Every
 * call takes the member's key, or NULL for an element of an array (or for
 * the top-level value).  A container is written inline ({"a": 1, "b": 2})
 * or one member per line, indented two spaces for each such container
 * open, its closing bracket on a line of its own.  Strings are quoted as
 * json_quote does; a NULL string is null, a double that is not finite is
 * null.  Misuse (a key inside an array, no key inside an object, a value
 * after the top-level one, an end with nothing open, nesting past
 * JSON_WRITE_DEPTH) and running out of room are sticky, and
 * json_writer_finish says which, once.
 *
 *     json_writer w;
 *     json_writer_init(&w, &buf);
 *     json_put_object(&w, NULL, JSON_LINES);
 *     json_put_string(&w, "status", "done");
 *     json_put_array(&w, "tables", JSON_LINES);
 *     ...
 *     json_put_end(&w);
 *     json_put_end(&w);
 *     rc = json_writer_finish(&w);
 */
#define JSON_WRITE_DEPTH 32

typedef enum json_layout
{
	JSON_INLINE = 0,
	JSON_LINES
} json_layout;

typedef struct json_writer
{
	sbuf	   *out;			/* borrowed */
	int			depth;			/* containers open */
	int			lines;			/* of them, written one member per line */
	bool		top_done;		/* the top-level value is written */
	int			misuse;			/* 0, or -EINVAL once misused */
	struct
	{
		bool		object;
		bool		lines;
		bool		any;		/* a member is written already */
	}			open[JSON_WRITE_DEPTH];
} json_writer;

void		json_writer_init(json_writer *w, sbuf *out);

/* Opens an object or an array as key's value (NULL: an element, or the top). */
void		json_put_object(json_writer *w, const char *key, json_layout layout);
void		json_put_array(json_writer *w, const char *key, json_layout layout);

/* Closes the innermost open object or array. */
void		json_put_end(json_writer *w);

void		json_put_string(json_writer *w, const char *key, const char *value);
void		json_put_int(json_writer *w, const char *key, int64_t value);
void		json_put_uint(json_writer *w, const char *key, uint64_t value);
/* With decimals digits after the point ("%.*f"), as the reports round their figures. */
void		json_put_double(json_writer *w, const char *key, double value, int decimals);
void		json_put_bool(json_writer *w, const char *key, bool value);
void		json_put_null(json_writer *w, const char *key);

/*
 * Returns 0 when the top-level value is written whole, -EINVAL after
 * misuse or with a container still open, -ENOMEM when the buffer ran out
 * of memory or passed its cap.
 */
int			json_writer_finish(const json_writer *w);

#endif
