/*
 * json.c: access to a parsed document (see json.h): kinds, members by key
 * (a scan in small objects, a binary search of the sorted index in larger
 * ones), elements by index, and the numbers as exact integers or doubles.
 */
#include "codec/json.h"
#include "codec/json_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const json_value *
json_root(const json_doc *doc)
{
	return doc != NULL ? &doc->root : NULL;
}

json_type
json_kind(const json_value *value)
{
	return value != NULL ? (json_type) value->type : JSON_NONE;
}

const char *
json_type_name(json_type type)
{
	switch (type)
	{
		case JSON_NULL:
			return "null";
		case JSON_BOOL:
			return "boolean";
		case JSON_NUMBER:
			return "number";
		case JSON_STRING:
			return "string";
		case JSON_ARRAY:
			return "array";
		case JSON_OBJECT:
			return "object";
		case JSON_NONE:
			break;
	}
	return "nothing";
}

const json_value *
json_get(const json_value *object, const char *key)
{
	const json_pair *const *index;
	size_t		key_len;
	size_t		lo = 0;
	size_t		hi;

	if (object == NULL || object->type != JSON_OBJECT || key == NULL)
		return NULL;
	key_len = strlen(key);
	index = object->u.object.index;
	if (index == NULL)
	{
		for (size_t i = 0; i < object->len; i++)
		{
			const json_pair *pair = &object->u.object.pairs[i];

			if (pair->key_len == key_len && memcmp(pair->key, key, key_len) == 0)
				return &pair->value;
		}
		return NULL;
	}
	hi = object->len;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			c = json_key_compare(index[mid]->key, index[mid]->key_len, key, key_len);

		if (c == 0)
			return &index[mid]->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
json_len(const json_value *value)
{
	if (value == NULL || (value->type != JSON_ARRAY && value->type != JSON_OBJECT))
		return 0;
	return value->len;
}

const json_value *
json_at(const json_value *array, size_t i)
{
	if (array == NULL || array->type != JSON_ARRAY || i >= array->len)
		return NULL;
	return &array->u.items[i];
}

const json_value *
json_member(const json_value *object, size_t i, const char **key, size_t *key_len)
{
	const json_pair *pair = NULL;

	if (object != NULL && object->type == JSON_OBJECT && i < object->len)
		pair = &object->u.object.pairs[i];
	if (key != NULL)
		*key = pair != NULL ? pair->key : NULL;
	if (key_len != NULL)
		*key_len = pair != NULL ? pair->key_len : 0;
	return pair != NULL ? &pair->value : NULL;
}

const char *
json_string(const json_value *value, size_t *len)
{
	if (value == NULL || value->type != JSON_STRING)
	{
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = value->len;
	return value->u.string;
}

/* The magnitude and sign of an integer written without fraction or exponent. */
static int
integer_of(const json_value *value, uint64_t *magnitude, bool *negative)
{
	const char *p;
	uint64_t	m = 0;

	if (value == NULL || value->type != JSON_NUMBER)
		return -EINVAL;
	if (!(value->flags & JSON_FLAG_INTEGER))
		return -ERANGE;
	p = value->u.number.text;
	*negative = *p == '-';
	if (*negative)
		p++;
	for (; *p != '\0'; p++)
	{
		uint64_t	digit = (uint64_t) (*p - '0');

		if (m > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		m = m * 10 + digit;
	}
	*magnitude = m;
	return 0;
}

int
json_int64(const json_value *value, int64_t *out)
{
	uint64_t	m = 0;
	bool		negative = false;
	int			rc = integer_of(value, &m, &negative);

	if (rc < 0)
		return rc;
	if (negative)
	{
		if (m > (uint64_t) INT64_MAX + 1)
			return -ERANGE;
		*out = m == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) m;
	}
	else
	{
		if (m > (uint64_t) INT64_MAX)
			return -ERANGE;
		*out = (int64_t) m;
	}
	return 0;
}

int
json_uint64(const json_value *value, uint64_t *out)
{
	uint64_t	m = 0;
	bool		negative = false;
	int			rc = integer_of(value, &m, &negative);

	if (rc < 0)
		return rc;
	if (negative && m != 0)
		return -ERANGE;
	*out = m;
	return 0;
}

int
json_double(const json_value *value, double *out)
{
	if (value == NULL || value->type != JSON_NUMBER)
		return -EINVAL;
	if (value->flags & JSON_FLAG_HUGE)
		return -ERANGE;
	*out = value->u.number.value;
	return 0;
}

int
json_bool(const json_value *value, bool *out)
{
	if (value == NULL || value->type != JSON_BOOL)
		return -EINVAL;
	*out = (value->flags & JSON_FLAG_TRUE) != 0;
	return 0;
}

bool
json_is_null(const json_value *value)
{
	return value != NULL && value->type == JSON_NULL;
}

