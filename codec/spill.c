/*
 * spill.c: what the chunk files' encoder (spill_enc.c) and decoder
 * (spill_dec.c) share: the file header, written and parsed, and zstd's
 * causes in words.  See spill.h for the format.

 */
#include "codec/spill.h"
#include "codec/spill_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

static void
hex_id(char *dst, const uint8_t *id)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SPILL_DUMP_ID_SIZE; i++)
	{
		dst[2 * i] = digits[id[i] >> 4];
		dst[2 * i + 1] = digits[id[i] & 15];
	}
	dst[2 * SPILL_DUMP_ID_SIZE] = '\0';
}

const uint8_t spill_zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

/* ---- header ---- */

void
spill_header_encode(uint8_t *dst, const spill_header *h)
{
	memset(dst, 0, SPILL_HEADER_SIZE);
	memcpy(dst, SPILL_MAGIC, 8);
	put_le16(dst + 8, SPILL_VERSION);
	dst[10] = (uint8_t) h->format;
	put_le32(dst + 12, h->table_oid);
	put_le32(dst + 16, h->chunk_no);
	memcpy(dst + 24, h->dump_id, SPILL_DUMP_ID_SIZE);
	put_le64(dst + 40, XXH3_64bits(dst, 40));
}

int
spill_header_parse(const uint8_t *buf, size_t len, const uint8_t *expected_dump_id,
				   spill_header *out, sl_err *err)
{
	unsigned	version;
	uint64_t	stored, computed;
	sl_err		ignored;

	if (err == NULL)
	{
		err_clear(&ignored);
		err = &ignored;
	}
	if (len < SPILL_HEADER_SIZE)
		return err_set(err, SIDE_LOCAL, -EINVAL, "header needs %d bytes, got %zu",
					   SPILL_HEADER_SIZE, len);
	if (memcmp(buf, SPILL_MAGIC, 8) != 0)
		return err_set(err, SIDE_LOCAL, -EPROTO, "not a pgsluice chunk file: bad magic");
	version = (unsigned) get_le(buf + 8, 2);
	if (version != SPILL_VERSION)
		return err_set(err, SIDE_LOCAL, -ENOTSUP,
					   "chunk file format version %u is not supported (this build reads version %d)",
					   version, SPILL_VERSION);
	stored = get_le(buf + 40, 8);
	computed = XXH3_64bits(buf, 40);
	if (stored != computed)
		return err_set(err, SIDE_LOCAL, -EBADMSG,
					   "header checksum mismatch: computed %016llx, stored %016llx",
					   (unsigned long long) computed, (unsigned long long) stored);
	if (buf[11] != 0 || get_le(buf + 20, 4) != 0)
		return err_set(err, SIDE_LOCAL, -EPROTO, "header has nonzero reserved bytes");
	if (buf[10] != SPILL_FORMAT_BINARY && buf[10] != SPILL_FORMAT_TEXT)
		return err_set(err, SIDE_LOCAL, -EPROTO, "unknown COPY format %u in header", buf[10]);
	if (expected_dump_id != NULL && memcmp(buf + 24, expected_dump_id, SPILL_DUMP_ID_SIZE) != 0)
	{
		char		found[2 * SPILL_DUMP_ID_SIZE + 1];
		char		wanted[2 * SPILL_DUMP_ID_SIZE + 1];

		hex_id(found, buf + 24);
		hex_id(wanted, expected_dump_id);
		return err_set(err, SIDE_LOCAL, -EPROTO, "dump id %s is not %s: belongs to another dump", found,
					   wanted);
	}
	if (out != NULL)
	{
		memcpy(out->dump_id, buf + 24, SPILL_DUMP_ID_SIZE);
		out->table_oid = (uint32_t) get_le(buf + 12, 4);
		out->chunk_no = (uint32_t) get_le(buf + 16, 4);
		out->format = (spill_format) buf[10];
	}
	return 0;
}

/*
 * zstd's error as a message in our style.  Which error a damaged frame gives
 * can depend on how the file was split (zstd decodes a frame that is whole in
 * the buffer in one pass, else block by block), so all but a checksum
 * mismatch read "corrupted data", with zstd's own words after it.
 */
const char *
spill_zstd_cause(size_t code, char *buf, size_t buflen)
{
	switch (ZSTD_getErrorCode(code))
	{
		case ZSTD_error_checksum_wrong:
			return "checksum mismatch";
		case ZSTD_error_memory_allocation:
			return "out of memory";
		default:
			snprintf(buf, buflen, "corrupted data (zstd: %s)", ZSTD_getErrorName(code));
			return buf;
	}
}

