/* logrec.h: the on-disk format of kv's append-only log: records of store ops with CRC32C, and the header blocks. */
#ifndef KV_LOGREC_H
#define KV_LOGREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/*
 * All integers are little-endian.
 *
 * Disk layout (block size B: the disk's logical block):
 *   block 0, block 1   header slots; a header with generation g lives in
 *                      slot g % 2, so writing one never touches the other
 *   area 0, area 1     two equal halves of the rest of the disk; the
 *                      header with the highest generation whose checksum
 *                      holds names the area that is the log
 *
 * Header (first LOGHDR_SIZE bytes of its block, the rest zero):
 *   0  magic "UCKVLOG1"     8  u32 version (1)      12 u32 crc32c of the
 *   16 u64 generation       24 u32 area (0 or 1)       64 bytes, this
 *   28 u32 block size       32 u64 area 0 offset       field as zero
 *   40 u64 area 1 offset    48 u64 area length      56 u64 zero
 *
 * An area holds records back to back from its first byte; after the last
 * one there is always a zero record header (the writer writes it in the
 * same request as the record before it), which is the clean end. Record:
 *   0  u32 crc32c of bytes 4 .. 32 + len
 *   4  u32 len (payload bytes)
 *   8  u64 generation   (the header's: records a previous use of the area
 *                        left behind never pass for the current log)
 *   16 u64 seq          (1, 2, 3, ... within the generation)
 *   24 i64 stamp        (the store's clock, ms, when the ops ran)
 *   32 payload: u32 op count, u32 zero, then per op:
 *      u8 kind (enum store_op_kind), u8 ttl (enum store_ttl), u16 zero,
 *      u32 key length, u32 value length, u32 zero, i64 deadline (ms),
 *      the key bytes, the value bytes
 * A record is one store_apply() call: replay applies it whole, at its
 * stamp. A compaction writes the live keys as SET records (with their
 * deadlines) into the other area under generation g + 1, then the header.
 *
 * CRC32C: the Castagnoli polynomial 0x1EDC6F41 (reflected 0x82F63B78),
 * initial value and final xor 0xFFFFFFFF, as iSCSI defines it (RFC 3720
 * sec 12.1 and appendix B.4; check value of "123456789": 0xE3069283).
 */

#define LOGHDR_SIZE        64
#define LOGHDR_VERSION     1
#define LOGHDR_SLOTS       2
#define LOGREC_HDR_SIZE    32
#define LOGREC_PAYLOAD_HDR 8
#define LOGREC_OP_HDR      24
/* The most ops one record holds: one command's keys (DEL with KV_MAX_ARGS
 * arguments) or one snapshot record's. */
#define LOGREC_OPS_MAX     KV_MAX_ARGS
/* The largest payload: one command's arguments and their op headers. */
#define LOGREC_PAYLOAD_MAX (LOGREC_PAYLOAD_HDR + KV_MAX_COMMAND + LOGREC_OPS_MAX * LOGREC_OP_HDR)
#define LOGREC_SIZE_MAX    (LOGREC_HDR_SIZE + LOGREC_PAYLOAD_MAX)

uint32_t logrec_crc32c(uint32_t crc, const void *data, size_t len);

struct loghdr {
	uint64_t gen;
	uint32_t area;
	uint32_t block_size;
	uint64_t area_off[2];
	uint64_t area_len;
};

/* Writes `h` into blk[0..block_size) (zero after the header). */
void loghdr_encode(uint8_t *blk, size_t block_size, const struct loghdr *h);
/* 0 and *h; -ENOENT when the slot is all zero (never written); -EINVAL
 * when it is something else (bad magic, version or checksum). */
int loghdr_parse(const uint8_t *blk, size_t block_size, struct loghdr *h);

/* Bytes of the record for ops[0..n) (header and payload). */
size_t logrec_size(const struct store_op *ops, size_t n);
/* Writes that record at dst (logrec_size() bytes). */
void logrec_encode(uint8_t *dst, uint64_t gen, uint64_t seq, int64_t stamp,
		   const struct store_op *ops, size_t n);

struct logrec {
	uint64_t gen;
	uint64_t seq;
	int64_t stamp;
	const uint8_t *payload;
	uint32_t len;
	size_t size;             /* header + payload */
};

enum logrec_result {
	LOGREC_OK,               /* *r is a record whose checksum holds */
	LOGREC_END,              /* a zero header: the clean end of the log */
	LOGREC_MORE,             /* `avail` ends inside the record: give more bytes */
	LOGREC_BAD,              /* a length or checksum that does not hold */
};

/* Looks at the record starting at p[0..avail). */
enum logrec_result logrec_parse(const uint8_t *p, size_t avail, struct logrec *r);

/* Decodes r's ops into ops[0..cap) (pointing into r's payload); returns
 * the count, or -EINVAL when the payload is malformed. */
long logrec_ops(const struct logrec *r, struct store_op *ops, size_t cap);

#endif
