/* commands.h: the Redis command table: runs one parsed command against the store, reply into a buffer. */
#ifndef KV_COMMANDS_H
#define KV_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "resp.h"
#include "store.h"

/* The Redis release whose replies (and error wording) these match. */
#define COMMANDS_REDIS_VERSION "7.0.15"
/* Longest CLIENT SETNAME name kept. */
#define COMMANDS_CLIENT_NAME_MAX 64

/* What commands know about the connection they came from. */
struct commands_client {
	uint64_t id;
	bool close_after_reply;  /* QUIT: the server closes once replies are out */
	uint8_t name_len;
	char name[COMMANDS_CLIENT_NAME_MAX];
};

/* Counters for INFO; the server keeps the connection ones. */
struct commands_stats {
	uint64_t commands;       /* commands run */
	uint64_t hits;           /* GET/MGET keys found */
	uint64_t misses;
	uint64_t connections;    /* accepted since boot */
	uint64_t rejected;       /* refused for maxclients */
	uint64_t net_in;         /* bytes received */
	uint64_t net_out;        /* bytes handed to TCP */
	unsigned clients;        /* connected now */
};

/* What INFO persistence shows about the log. */
struct commands_log_info {
	uint64_t generation;     /* the header's: one more per compaction */
	uint64_t current_size;   /* bytes of log in the current area */
	uint64_t base_size;      /* of those, what the last compaction wrote */
	uint64_t rewrites;       /* compactions since boot */
	bool rewriting;          /* a compaction is in progress */
};

/* The write-ahead log commands_apply() feeds (persist.h); NULL: none. */
struct commands_log {
	/* Whether a record for ops[0..n) fits the log now; when it does not,
	 * the command is refused with MISCONF and changes nothing. */
	bool (*room)(const struct store_op *ops, size_t n);
	/* Records ops[0..n), which the store has just applied at `now`. */
	void (*append)(const struct store_op *ops, size_t n, int64_t now);
	void (*info)(struct commands_log_info *out);
};

/* The server-wide state every command sees. */
struct commands_env {
	struct store *store;
	const struct config *config;
	struct commands_stats *stats;
	const struct resp_budget *client_budget;   /* INFO mem_clients_normal */
	int64_t now_ms;          /* the store's clock for this batch */
	int64_t start_ms;        /* the clock when the server started */
	/* Allocator bytes in use (INFO allocator_allocated); NULL: not shown. */
	size_t (*heap_in_use)(void);
	const struct commands_log *log;
	struct store_op *ops;    /* scratch for multi-key writes, kept between commands */
	size_t ops_cap;
};

void commands_env_init(struct commands_env *env, struct store *store, const struct config *config,
		       struct commands_stats *stats, const struct resp_budget *client_budget);
void commands_env_free(struct commands_env *env);

/* Runs argv[0..argc) (argc >= 1) and appends its reply to `out`. */
void commands_exec(struct commands_env *env, struct commands_client *client,
		   const struct resp_arg *argv, size_t argc, struct resp_buf *out);

#endif
