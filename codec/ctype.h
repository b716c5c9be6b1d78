/*
 * ctype.h: the shape of a column's binary representation, as far as the
 * checksum normaliser needs to know it.
 *
 * PostgreSQL's binary send functions for arrays and composites embed type OIDs
 * (array element type, each record field's type) and an array "has nulls"
 * flag.  User-defined types get different OIDs on different clusters, so equal
 * data would hash differently.  The normaliser walks such values with their
 * ctype and leaves those words out of the hash.  Ranges and multiranges carry
 * no OIDs themselves but may contain arrays or composites.
 *
 * The engine builds ctype trees from the catalog; the codec only reads them.
 * A type whose value holds no OID anywhere (int4, text, int4[] included: its
 * OID is a built-in one and the same everywhere, but see below) is described
 * as CTYPE_PLAIN, and hashed byte for byte.  An array of a built-in scalar is
 * still CTYPE_ARRAY: the "has nulls" flag may differ for equal data.
 */
#ifndef PGSLUICE_CODEC_CTYPE_H
#define PGSLUICE_CODEC_CTYPE_H

#include <stdint.h>

typedef enum ctype_kind
{
	CTYPE_PLAIN = 0,			/* bytes hashed as they are */
	CTYPE_ARRAY,				/* array_send: children[0] is the element type */
	CTYPE_RECORD,				/* record_send: children[i] is field i (dropped fields
								 * absent); no children: any fields, all plain */
	CTYPE_RANGE,				/* range_send: children[0] is the subtype */
	CTYPE_MULTIRANGE			/* multirange_send: children[0] is the range type */
} ctype_kind;

typedef struct ctype
{
	ctype_kind	kind;
	uint32_t	nchildren;
	const struct ctype *const *children;
} ctype;

#endif
