/* logrec.c: kv's log format (see logrec.h): CRC32C, record and header encoding, and their checks. */
#include <errno.h>
#include <string.h>

#include "logrec.h"

#define LOGREC_CRC_POLY   0x82F63B78u   /* Castagnoli, reflected (RFC 3720 B.4) */
#define LOGREC_CRC_INIT   0xFFFFFFFFu
#define LOGHDR_MAGIC      "UCKVLOG1"
#define LOGHDR_MAGIC_LEN  8

/* Header field offsets (logrec.h). */
#define LOGHDR_OFF_VERSION  8
#define LOGHDR_OFF_CRC      12
#define LOGHDR_OFF_GEN      16
#define LOGHDR_OFF_AREA     24
#define LOGHDR_OFF_BS       28
#define LOGHDR_OFF_AREA0    32
#define LOGHDR_OFF_AREA1    40
#define LOGHDR_OFF_AREALEN  48

/* Record header field offsets. */
#define LOGREC_OFF_LEN    4
#define LOGREC_OFF_GEN    8
#define LOGREC_OFF_SEQ    16
#define LOGREC_OFF_STAMP  24

static uint32_t logrec_table[256];
static bool logrec_table_ready;

static void logrec_make_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ LOGREC_CRC_POLY : c >> 1;
		logrec_table[i] = c;
	}
	logrec_table_ready = true;
}

/* `crc` is a previous result (0 to start), so pieces can be chained. */
uint32_t logrec_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!logrec_table_ready)
		logrec_make_table();
	crc ^= LOGREC_CRC_INIT;
	while (len--)
		crc = logrec_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc ^ LOGREC_CRC_INIT;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool logrec_all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

void loghdr_encode(uint8_t *blk, size_t block_size, const struct loghdr *h)
{
	memset(blk, 0, block_size);
	memcpy(blk, LOGHDR_MAGIC, LOGHDR_MAGIC_LEN);
	put32(blk + LOGHDR_OFF_VERSION, LOGHDR_VERSION);
	put64(blk + LOGHDR_OFF_GEN, h->gen);
	put32(blk + LOGHDR_OFF_AREA, h->area);
	put32(blk + LOGHDR_OFF_BS, h->block_size);
	put64(blk + LOGHDR_OFF_AREA0, h->area_off[0]);
	put64(blk + LOGHDR_OFF_AREA1, h->area_off[1]);
	put64(blk + LOGHDR_OFF_AREALEN, h->area_len);
	put32(blk + LOGHDR_OFF_CRC, logrec_crc32c(0, blk, LOGHDR_SIZE));
}

int loghdr_parse(const uint8_t *blk, size_t block_size, struct loghdr *h)
{
	uint8_t copy[LOGHDR_SIZE];

	if (logrec_all_zero(blk, block_size))
		return -ENOENT;
	if (memcmp(blk, LOGHDR_MAGIC, LOGHDR_MAGIC_LEN) != 0 ||
	    get32(blk + LOGHDR_OFF_VERSION) != LOGHDR_VERSION)
		return -EINVAL;
	memcpy(copy, blk, LOGHDR_SIZE);
	put32(copy + LOGHDR_OFF_CRC, 0);
	if (logrec_crc32c(0, copy, LOGHDR_SIZE) != get32(blk + LOGHDR_OFF_CRC))
		return -EINVAL;
	h->gen = get64(blk + LOGHDR_OFF_GEN);
	h->area = get32(blk + LOGHDR_OFF_AREA);
	h->block_size = get32(blk + LOGHDR_OFF_BS);
	h->area_off[0] = get64(blk + LOGHDR_OFF_AREA0);
	h->area_off[1] = get64(blk + LOGHDR_OFF_AREA1);
	h->area_len = get64(blk + LOGHDR_OFF_AREALEN);
	return h->area < LOGHDR_SLOTS ? 0 : -EINVAL;
}

/* FLUSH and DEL carry no value bytes, whatever vlen says. */
static size_t logrec_vlen(const struct store_op *op)
{
	return op->kind == STORE_SET ? op->vlen : 0;
}

size_t logrec_size(const struct store_op *ops, size_t n)
{
	size_t size = LOGREC_HDR_SIZE + LOGREC_PAYLOAD_HDR;

	for (size_t i = 0; i < n; i++)
		size += LOGREC_OP_HDR + ops[i].klen + logrec_vlen(&ops[i]);
	return size;
}

void logrec_encode(uint8_t *dst, uint64_t gen, uint64_t seq, int64_t stamp,
		   const struct store_op *ops, size_t n)
{
	size_t size = logrec_size(ops, n);
	uint8_t *p = dst + LOGREC_HDR_SIZE;

	put32(dst + LOGREC_OFF_LEN, (uint32_t)(size - LOGREC_HDR_SIZE));
	put64(dst + LOGREC_OFF_GEN, gen);
	put64(dst + LOGREC_OFF_SEQ, seq);
	put64(dst + LOGREC_OFF_STAMP, (uint64_t)stamp);
	put32(p, (uint32_t)n);
	put32(p + 4, 0);
	p += LOGREC_PAYLOAD_HDR;
	for (size_t i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		size_t vlen = logrec_vlen(op);

		p[0] = (uint8_t)op->kind;
		p[1] = (uint8_t)op->ttl;
		p[2] = p[3] = 0;
		put32(p + 4, (uint32_t)op->klen);
		put32(p + 8, (uint32_t)vlen);
		put32(p + 12, 0);
		put64(p + 16, (uint64_t)op->expire_at);
		p += LOGREC_OP_HDR;
		if (op->klen)
			memcpy(p, op->key, op->klen);
		p += op->klen;
		if (vlen)
			memcpy(p, op->val, vlen);
		p += vlen;
	}
	put32(dst, logrec_crc32c(0, dst + LOGREC_OFF_LEN, size - LOGREC_OFF_LEN));
}

enum logrec_result logrec_parse(const uint8_t *p, size_t avail, struct logrec *r)
{
	uint32_t len;

	if (avail < LOGREC_HDR_SIZE)
		return LOGREC_MORE;
	if (logrec_all_zero(p, LOGREC_HDR_SIZE))
		return LOGREC_END;
	len = get32(p + LOGREC_OFF_LEN);
	if (len < LOGREC_PAYLOAD_HDR || len > LOGREC_PAYLOAD_MAX)
		return LOGREC_BAD;
	if (avail < LOGREC_HDR_SIZE + (size_t)len)
		return LOGREC_MORE;
	if (logrec_crc32c(0, p + LOGREC_OFF_LEN, LOGREC_HDR_SIZE - LOGREC_OFF_LEN + len) != get32(p))
		return LOGREC_BAD;
	r->gen = get64(p + LOGREC_OFF_GEN);
	r->seq = get64(p + LOGREC_OFF_SEQ);
	r->stamp = (int64_t)get64(p + LOGREC_OFF_STAMP);
	r->payload = p + LOGREC_HDR_SIZE;
	r->len = len;
	r->size = LOGREC_HDR_SIZE + len;
	return LOGREC_OK;
}

long logrec_ops(const struct logrec *r, struct store_op *ops, size_t cap)
{
	const uint8_t *p = r->payload, *end = r->payload + r->len;
	uint32_t n = get32(p);

	if (n == 0 || n > cap || n > LOGREC_OPS_MAX)
		return -EINVAL;
	p += LOGREC_PAYLOAD_HDR;
	for (uint32_t i = 0; i < n; i++) {
		struct store_op *op = &ops[i];
		uint32_t klen, vlen;

		if ((size_t)(end - p) < LOGREC_OP_HDR)
			return -EINVAL;
		if (p[0] > STORE_FLUSH || p[1] > STORE_TTL_AT)
			return -EINVAL;
		memset(op, 0, sizeof(*op));
		op->kind = (enum store_op_kind)p[0];
		op->ttl = (enum store_ttl)p[1];
		klen = get32(p + 4);
		vlen = get32(p + 8);
		op->expire_at = (int64_t)get64(p + 16);
		p += LOGREC_OP_HDR;
		if ((size_t)(end - p) < (size_t)klen + vlen)
			return -EINVAL;
		op->key = (const char *)p;
		op->klen = klen;
		p += klen;
		op->val = (const char *)p;
		op->vlen = vlen;
		p += vlen;
		/* FLUSH is an op list of its own (store_apply() refuses it
		 * among others) and names no key; only a SET has a value. */
		if ((op->kind == STORE_FLUSH && (n != 1 || klen)) ||
		    (op->kind != STORE_SET && vlen))
			return -EINVAL;
	}
	return p == end ? (long)n : -EINVAL;
}
