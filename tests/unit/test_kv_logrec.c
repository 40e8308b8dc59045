/* test_kv_logrec.c: examples/kv's log format: the CRC32C check value, records and headers round-trip, every damaged byte is caught. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "logrec.h"

#define BS 512

static void test_crc(void)
{
	/* RFC 3720 B.4 and the usual check value of "123456789" */
	static const uint8_t zeros[32];

	CHECK(logrec_crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(logrec_crc32c(0, zeros, sizeof(zeros)) == 0x8A9136AAu);
	/* chained pieces give the whole */
	CHECK(logrec_crc32c(logrec_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
}

static void test_record_round_trip(void)
{
	struct store_op ops[3] = {
		{ .kind = STORE_SET, .ttl = STORE_TTL_AT, .key = "k1", .klen = 2, .val = "value",
		  .vlen = 5, .expire_at = 123456 },
		{ .kind = STORE_DEL, .key = "k2", .klen = 2, .vlen = 99 },   /* vlen ignored */
		{ .kind = STORE_SET, .key = "", .klen = 0, .val = "", .vlen = 0 },
	};
	struct store_op out[4];
	uint8_t buf[256] = { 0 };
	size_t size = logrec_size(ops, 3);
	struct logrec r;

	CHECK(size == LOGREC_HDR_SIZE + LOGREC_PAYLOAD_HDR + 3 * LOGREC_OP_HDR + 2 + 5 + 2);
	logrec_encode(buf, 7, 42, 1000, ops, 3);
	CHECK(logrec_parse(buf, size - 1, &r) == LOGREC_MORE);
	CHECK(logrec_parse(buf, size, &r) == LOGREC_OK);
	CHECK(r.gen == 7 && r.seq == 42 && r.stamp == 1000 && r.size == size);
	CHECK(logrec_ops(&r, out, 4) == 3);
	CHECK(out[0].kind == STORE_SET && out[0].ttl == STORE_TTL_AT && out[0].expire_at == 123456);
	CHECK(out[0].klen == 2 && !memcmp(out[0].key, "k1", 2) && out[0].vlen == 5 &&
	      !memcmp(out[0].val, "value", 5));
	CHECK(out[1].kind == STORE_DEL && out[1].vlen == 0 && !memcmp(out[1].key, "k2", 2));
	CHECK(out[2].kind == STORE_SET && out[2].klen == 0 && out[2].vlen == 0);
	CHECK(logrec_ops(&r, out, 2) == -EINVAL);   /* more ops than room */
	/* the zero header after it is the clean end */
	CHECK(logrec_parse(buf + size, sizeof(buf) - size, &r) == LOGREC_END);

	/* every single flipped byte is caught (checksum or length) */
	for (size_t i = 0; i < size; i++) {
		enum logrec_result res;

		buf[i] ^= 0x5a;
		res = logrec_parse(buf, sizeof(buf), &r);
		CHECK(res == LOGREC_BAD || res == LOGREC_MORE);
		buf[i] ^= 0x5a;
	}
	CHECK(logrec_parse(buf, size, &r) == LOGREC_OK);
}

static void test_flush_record(void)
{
	struct store_op flush = { .kind = STORE_FLUSH }, two[2] = { { .kind = STORE_FLUSH },
								  { .kind = STORE_FLUSH } };
	struct store_op out[2];
	uint8_t buf[128] = { 0 };
	struct logrec r;

	logrec_encode(buf, 1, 1, 0, &flush, 1);
	CHECK(logrec_parse(buf, sizeof(buf), &r) == LOGREC_OK);
	CHECK(logrec_ops(&r, out, 2) == 1 && out[0].kind == STORE_FLUSH);
	/* a FLUSH among other ops is malformed even with a good checksum */
	logrec_encode(buf, 1, 1, 0, two, 2);
	CHECK(logrec_parse(buf, sizeof(buf), &r) == LOGREC_OK);
	CHECK(logrec_ops(&r, out, 2) == -EINVAL);
}

static void test_header(void)
{
	struct loghdr h = { .gen = 5, .area = 1, .block_size = BS, .area_off = { 1024, 8389632 },
			    .area_len = 8388608 }, got;
	uint8_t blk[BS] = { 0 };

	CHECK(loghdr_parse(blk, BS, &got) == -ENOENT);
	loghdr_encode(blk, BS, &h);
	CHECK(loghdr_parse(blk, BS, &got) == 0);
	CHECK(got.gen == 5 && got.area == 1 && got.block_size == BS && got.area_off[0] == 1024 &&
	      got.area_off[1] == 8389632 && got.area_len == 8388608);
	for (size_t i = 0; i < LOGHDR_SIZE; i++) {
		blk[i] ^= 1;
		CHECK(loghdr_parse(blk, BS, &got) == -EINVAL);
		blk[i] ^= 1;
	}
	blk[BS - 1] = 1;   /* not all zero, not a header */
	memset(blk, 0, LOGHDR_SIZE);
	CHECK(loghdr_parse(blk, BS, &got) == -EINVAL);
}

int main(void)
{
	test_crc();
	test_record_round_trip();
	test_flush_record();
	test_header();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
