/* fuzz_kv.c: libFuzzer target: bytes in arbitrary pieces through examples/kv's RESP parser and commands. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

/*
 * Input: two bytes that seed how the rest is cut into pieces (as TCP
 * would), then the request stream. Each piece lives in its own heap block
 * that is freed once parsed, so a parser that kept a pointer into a piece
 * is caught by ASan. The clock moves 1 ms per command so that deadlines
 * pass; the timer's work (active expiry, rehash, shrink) runs every few
 * commands. Checked: every reply is well-formed RESP, the store's
 * invariants hold, and every byte accounted comes back.
 */

#define FUZZ_MAXMEMORY (64 * 1024)
#define FUZZ_MAX_PIECE 64
#define FUZZ_TICK_EVERY 16
#define FUZZ_CHECK_EVERY 64

static const struct resp_limits *fuzz_limits(struct resp_budget *budget)
{
	/* Small limits so that the fuzzer reaches them. */
	static struct resp_limits lim = { 16, 256, 512, 1024, NULL };

	lim.budget = budget;
	return &lim;
}

/* Length of one well-formed RESP reply at p, or 0. */
static size_t fuzz_reply_len(const char *p, size_t len, int depth)
{
	const char *crlf;
	int64_t n;
	size_t line, at;

	if (len < 3 || depth > 8)
		return 0;
	crlf = memchr(p, '\r', len);
	if (!crlf || (size_t)(crlf - p) + 1 >= len || crlf[1] != '\n')
		return 0;
	line = (size_t)(crlf - p);
	if (memchr(p, '\n', line))
		return 0;
	switch (p[0]) {
	case '+':
	case '-':
		return line + 2;
	case ':':
		return resp_parse_int(p + 1, line - 1, &n) ? line + 2 : 0;
	case '$':
		if (!resp_parse_int(p + 1, line - 1, &n) || n < -1)
			return 0;
		if (n == -1)
			return line + 2;
		if (len - line - 2 < (uint64_t)n + 2 || p[line + 2 + n] != '\r' ||
		    p[line + 3 + n] != '\n')
			return 0;
		return line + 2 + (size_t)n + 2;
	case '*':
		if (!resp_parse_int(p + 1, line - 1, &n) || n < 0)
			return 0;
		at = line + 2;
		for (int64_t i = 0; i < n; i++) {
			size_t k = fuzz_reply_len(p + at, len - at, depth + 1);

			if (!k)
				return 0;
			at += k;
		}
		return at;
	default:
		return 0;
	}
}

static void fuzz_check_replies(struct resp_buf *out)
{
	size_t at = out->head;

	if (out->failed)
		abort();
	while (at < out->len) {
		size_t k = fuzz_reply_len(out->data + at, out->len - at, 0);

		if (!k) {
			fprintf(stderr, "malformed reply: %.*s\n", (int)(out->len - at), out->data + at);
			abort();
		}
		at += k;
	}
	resp_buf_sent(out, resp_buf_pending(out), 0);
}

static void fuzz_check_store(const struct store *s)
{
	const char *why = store_check(s);

	if (why) {
		fprintf(stderr, "store_check: %s\n", why);
		abort();
	}
	if (s->maxmemory && store_used(s) > s->maxmemory)
		abort();
}

static void fuzz_new_client(struct resp_parser *p, struct resp_budget *budget,
			    struct commands_client *client)
{
	resp_parser_free(p);
	if (resp_parser_init(p, fuzz_limits(budget)) < 0)
		abort();
	client->close_after_reply = false;
	client->name_len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_budget budget = { 0, 0 };
	struct store store;
	struct config cfg;
	struct commands_stats stats = { 0 };
	struct commands_env env;
	struct commands_client client = { .id = 1 };
	struct resp_parser parser;
	struct resp_buf out;
	uint32_t seed;
	size_t pos = 2;
	unsigned ncmd = 0;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1];
	config_defaults(&cfg);
	cfg.maxmemory = FUZZ_MAXMEMORY;
	store_init(&store, FUZZ_MAXMEMORY, 1, 2);
	commands_env_init(&env, &store, &cfg, &stats, &budget);
	env.now_ms = 1000;
	resp_buf_init(&out, 0, &budget);
	if (resp_parser_init(&parser, fuzz_limits(&budget)) < 0)
		abort();

	while (pos < size) {
		size_t piece, off = 0;
		char *buf;

		seed = seed * 1103515245u + 12345u;
		piece = 1 + (seed >> 16) % FUZZ_MAX_PIECE;
		if (piece > size - pos)
			piece = size - pos;
		buf = malloc(piece);
		memcpy(buf, data + pos, piece);
		while (off < piece) {
			size_t used;
			enum resp_result r = resp_parse(&parser, buf + off, piece - off, &used);

			off += used;
			if (r == RESP_NEED_MORE)
				break;
			if (r == RESP_ERROR) {
				/* The server replies and closes; the next piece is a new client. */
				resp_add_error(&out, parser.error);
				fuzz_check_replies(&out);
				fuzz_new_client(&parser, &budget, &client);
				break;
			}
			commands_exec(&env, &client, parser.argv, parser.argc, &out);
			fuzz_check_replies(&out);
			if (client.close_after_reply)   /* QUIT */
				fuzz_new_client(&parser, &budget, &client);
			env.now_ms++;
			if (++ncmd % FUZZ_TICK_EVERY == 0) {
				store_expire(&store, env.now_ms, 4);
				store_rehash(&store, 4);
				store_maybe_shrink(&store);
			}
			if (ncmd % FUZZ_CHECK_EVERY == 0)
				fuzz_check_store(&store);
		}
		resp_parser_trim(&parser);
		free(buf);
		pos += piece;
	}
	fuzz_check_store(&store);
	{
		struct store_op flush = { .kind = STORE_FLUSH };

		if (store_apply(&store, &flush, 1, env.now_ms) < 0 || store_used(&store) != 0)
			abort();
	}
	resp_parser_free(&parser);
	resp_buf_free(&out);
	commands_env_free(&env);
	store_free(&store);
	if (budget.used != 0)
		abort();
	return 0;
}
