/* commands.c: the Redis commands kv serves, with Redis 7.0's replies and error wording. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

/* Longest command or subcommand name in the table, for lower-casing. */
#define COMMANDS_NAME_MAX 16
/* Redis quotes at most this many bytes of a command or of its arguments
 * in an error reply. */
#define COMMANDS_QUOTE_MAX 128
#define COMMANDS_MS_PER_S 1000
#define COMMANDS_S_PER_DAY (24 * 3600)
/* TTL in seconds rounds to the nearest second, as Redis's does. */
#define COMMANDS_HALF_S 500
/* INFO's text is built here before it becomes one bulk reply; the event
 * loop runs one command at a time, so one buffer serves every client. */
#define COMMANDS_INFO_MAX 4096
#define COMMANDS_HUMAN_MAX 24
#define COMMANDS_DB_COUNT 1
#define COMMANDS_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
/* HELLO's reply: seven name/value pairs (server ... modules). */
#define COMMANDS_HELLO_FIELDS 14
/* Redis 7's description of a command: name, arity, flags, first key,
 * last key, step, ACL categories, tips, key specs, subcommands. */
#define COMMANDS_DESCRIBE_FIELDS 10

#define COMMANDS_ERR_SYNTAX  "ERR syntax error"
#define COMMANDS_ERR_NOT_INT "ERR value is not an integer or out of range"
#define COMMANDS_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define COMMANDS_ERR_OOM     "OOM command not allowed when used memory > 'maxmemory'."
#define COMMANDS_ERR_LOG_FULL "MISCONF Errors writing to the AOF file: No space left on device"

/* Command flags, as COMMAND shows them. */
#define CMD_WRITE    (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM  (1u << 2)
#define CMD_ADMIN    (1u << 3)
#define CMD_NOSCRIPT (1u << 4)
#define CMD_LOADING  (1u << 5)
#define CMD_STALE    (1u << 6)
#define CMD_FAST     (1u << 7)

static const struct { uint32_t flag; const char *name; } commands_flag_names[] = {
	{ CMD_WRITE, "write" }, { CMD_READONLY, "readonly" }, { CMD_DENYOOM, "denyoom" },
	{ CMD_ADMIN, "admin" }, { CMD_NOSCRIPT, "noscript" }, { CMD_LOADING, "loading" },
	{ CMD_STALE, "stale" }, { CMD_FAST, "fast" },
};

struct commands_call;

struct commands_cmd {
	const char *name;        /* Redis's full name, lower case: "get", "config|get" */
	const char *key;         /* what argv matches: "get", "get" */
	size_t key_len;
	int arity;               /* n: exactly n arguments (with the name); -n: at least n */
	uint32_t flags;
	void (*run)(struct commands_call *c);
	const struct commands_cmd *subs;   /* a container's subcommands (ends with name NULL) */
	int first_key, last_key, key_step; /* for COMMAND */
};

struct commands_call {
	struct commands_env *env;
	struct commands_client *client;
	const struct resp_arg *argv;
	size_t argc;
	struct resp_buf *out;
	/* Bytes pending in `out` before this command's reply: a count, not an
	 * offset, since making room may move the pending bytes. */
	size_t reply_start;
	const struct commands_cmd *cmd;
};

/* ---- helpers ---- */

static char commands_lower(char c)
{
	return (char)tolower((unsigned char)c);
}

/* Case-insensitive: is `a` the word `lit`? */
static bool commands_arg_is(const struct resp_arg *a, const char *lit)
{
	size_t i;

	for (i = 0; i < a->len; i++)
		if (!lit[i] || commands_lower(a->ptr[i]) != lit[i])
			return false;
	return lit[i] == '\0';
}

/* Redis formats arguments as C strings with "%.128s": up to the first NUL
 * and at most `max` bytes. */
static int commands_cstr_len(const struct resp_arg *a, size_t max)
{
	const char *nul = memchr(a->ptr, '\0', a->len);
	size_t n = nul ? (size_t)(nul - a->ptr) : a->len;

	return (int)(n < max ? n : max);
}

static void commands_wrong_args(struct commands_call *c)
{
	resp_add_errorf(c->out, "ERR wrong number of arguments for '%s' command", c->cmd->name);
}

static void commands_oom(struct commands_call *c)
{
	resp_add_error(c->out, COMMANDS_ERR_OOM);
}

/*
 * Every change a command makes goes through here, as one op list: the
 * place where a write-ahead log records it. When the store refuses (over
 * maxmemory), whatever the command already replied (SET ... GET's old
 * value) is taken back and the reply is the OOM error alone. Returns the
 * store's answer.
 */
static long commands_apply(struct commands_call *c, const struct store_op *ops, size_t n)
{
	const struct commands_log *log = c->env->log;
	long r;

	if (log && !log->room(ops, n)) {
		c->out->len = c->out->head + c->reply_start;
		resp_add_error(c->out, COMMANDS_ERR_LOG_FULL);
		return -ENOSPC;
	}
	r = store_apply(c->env->store, ops, n, c->env->now_ms);
	if (r < 0) {
		c->out->len = c->out->head + c->reply_start;
		commands_oom(c);
	} else if (log) {
		log->append(ops, n, c->env->now_ms);
	}
	return r;
}

/* Scratch room for `n` ops, kept for the next command. */
static struct store_op *commands_ops(struct commands_call *c, size_t n)
{
	struct commands_env *env = c->env;
	struct store_op *ops;

	if (n <= env->ops_cap)
		return env->ops;
	ops = realloc(env->ops, n * sizeof(*ops));
	if (!ops)
		return NULL;
	env->ops = ops;
	env->ops_cap = n;
	return ops;
}

static const struct store_entry *commands_get(struct commands_call *c, const struct resp_arg *key)
{
	return store_get(c->env->store, key->ptr, key->len, c->env->now_ms);
}

/* A lookup that counts as a keyspace hit or miss (GET, MGET). */
static const struct store_entry *commands_read(struct commands_call *c, const struct resp_arg *key)
{
	const struct store_entry *e = commands_get(c, key);

	if (e)
		c->env->stats->hits++;
	else
		c->env->stats->misses++;
	return e;
}

static void commands_key_op(struct store_op *op, enum store_op_kind kind, const struct resp_arg *key)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->key = key->ptr;
	op->klen = key->len;
}

/* ---- connection and server ---- */

static void cmd_ping(struct commands_call *c)
{
	if (c->argc > 2)
		commands_wrong_args(c);
	else if (c->argc == 2)
		resp_add_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
	else
		resp_add_simple(c->out, "PONG");
}

static void cmd_echo(struct commands_call *c)
{
	resp_add_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
}

static void cmd_quit(struct commands_call *c)
{
	resp_add_simple(c->out, "OK");
	c->client->close_after_reply = true;
}

static void cmd_select(struct commands_call *c)
{
	int64_t id;

	if (!resp_parse_int(c->argv[1].ptr, c->argv[1].len, &id))
		resp_add_error(c->out, COMMANDS_ERR_NOT_INT);
	else if (id < 0 || id >= COMMANDS_DB_COUNT)
		resp_add_error(c->out, "ERR DB index is out of range");
	else
		resp_add_simple(c->out, "OK");
}

/* Redis refuses names with spaces or anything outside '!'..'~'. */
static bool commands_set_name(struct commands_call *c, const struct resp_arg *name)
{
	for (size_t i = 0; i < name->len; i++)
		if (name->ptr[i] < '!' || name->ptr[i] > '~') {
			resp_add_error(c->out, "ERR Client names cannot contain spaces, "
				       "newlines or special characters.");
			return false;
		}
	if (name->len > COMMANDS_CLIENT_NAME_MAX) {
		resp_add_errorf(c->out, "ERR Client names are limited to %d bytes here",
				COMMANDS_CLIENT_NAME_MAX);
		return false;
	}
	memcpy(c->client->name, name->ptr, name->len);
	c->client->name_len = (uint8_t)name->len;
	return true;
}

static void cmd_client_setname(struct commands_call *c)
{
	if (commands_set_name(c, &c->argv[2]))
		resp_add_simple(c->out, "OK");
}

static void cmd_client_getname(struct commands_call *c)
{
	if (c->client->name_len)
		resp_add_bulk(c->out, c->client->name, c->client->name_len);
	else
		resp_add_null(c->out);
}

static void cmd_client_id(struct commands_call *c)
{
	resp_add_int(c->out, (int64_t)c->client->id);
}

static void commands_help(struct commands_call *c, const char *const *lines, size_t n)
{
	resp_add_array(c->out, n);
	for (size_t i = 0; i < n; i++)
		resp_add_simple(c->out, lines[i]);
}

static void cmd_client_help(struct commands_call *c)
{
	static const char *const lines[] = {
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"HELP", "    Print this help.",
	};
	commands_help(c, lines, COMMANDS_COUNT_OF(lines));
}

/* HELLO [protover [SETNAME name]]: RESP2 only; "HELLO 3" is refused the
 * way Redis refuses versions it lacks, and clients fall back to RESP2. */
static void cmd_hello(struct commands_call *c)
{
	size_t j = 1;

	if (c->argc >= 2) {
		int64_t ver;

		if (!resp_parse_int(c->argv[1].ptr, c->argv[1].len, &ver)) {
			resp_add_error(c->out, "ERR Protocol version is not an integer or out of range");
			return;
		}
		if (ver != 2) {
			resp_add_error(c->out, "NOPROTO unsupported protocol version");
			return;
		}
		j = 2;
	}
	for (; j < c->argc; j++) {
		if (commands_arg_is(&c->argv[j], "setname") && j + 1 < c->argc) {
			if (!commands_set_name(c, &c->argv[j + 1]))
				return;
			j++;
			continue;
		}
		resp_add_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'",
				commands_cstr_len(&c->argv[j], COMMANDS_QUOTE_MAX), c->argv[j].ptr);
		return;
	}
	resp_add_array(c->out, COMMANDS_HELLO_FIELDS);
	resp_add_bulk_str(c->out, "server");
	resp_add_bulk_str(c->out, "redis");
	resp_add_bulk_str(c->out, "version");
	resp_add_bulk_str(c->out, COMMANDS_REDIS_VERSION);
	resp_add_bulk_str(c->out, "proto");
	resp_add_int(c->out, 2);
	resp_add_bulk_str(c->out, "id");
	resp_add_int(c->out, (int64_t)c->client->id);
	resp_add_bulk_str(c->out, "mode");
	resp_add_bulk_str(c->out, "standalone");
	resp_add_bulk_str(c->out, "role");
	resp_add_bulk_str(c->out, "master");
	resp_add_bulk_str(c->out, "modules");
	resp_add_array(c->out, 0);
}

/* ---- strings ---- */

static void cmd_get(struct commands_call *c)
{
	const struct store_entry *e = commands_read(c, &c->argv[1]);

	if (e)
		resp_add_bulk(c->out, store_value(e), e->vlen);
	else
		resp_add_null(c->out);
}

/*
 * A relative expiry argument (SET's EX/PX, EXPIRE's seconds) to a
 * deadline, with Redis's checks and messages. `positive`: zero and
 * negative times are errors (SET) rather than "expire now" (EXPIRE).
 */
static bool commands_deadline(struct commands_call *c, const struct resp_arg *a, bool seconds,
			      bool positive, int64_t *at)
{
	int64_t v, now = c->env->now_ms;

	if (!resp_parse_int(a->ptr, a->len, &v)) {
		resp_add_error(c->out, COMMANDS_ERR_NOT_INT);
		return false;
	}
	if ((positive && v <= 0) ||
	    (seconds && (v > INT64_MAX / COMMANDS_MS_PER_S || v < INT64_MIN / COMMANDS_MS_PER_S)))
		goto invalid;
	if (seconds)
		v *= COMMANDS_MS_PER_S;
	if (v > INT64_MAX - now)
		goto invalid;
	*at = v + now;
	return true;
invalid:
	resp_add_errorf(c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
	return false;
}

#define SET_NX      (1u << 0)
#define SET_XX      (1u << 1)
#define SET_GET     (1u << 2)
#define SET_KEEPTTL (1u << 3)
#define SET_EX      (1u << 4)
#define SET_PX      (1u << 5)

/* SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL]: options in any order,
 * checked as Redis 7.0 checks them (EXAT/PXAT need a wall clock this
 * server does not have: they are syntax errors here). */
static void cmd_set(struct commands_call *c)
{
	const struct resp_arg *expire = NULL;
	struct store_op op;
	unsigned flags = 0;
	size_t j;
	int64_t at = 0;
	bool found;

	for (j = 3; j < c->argc; j++) {
		const struct resp_arg *opt = &c->argv[j];
		bool next = j + 1 < c->argc;

		if (commands_arg_is(opt, "nx") && !(flags & SET_XX)) {
			flags |= SET_NX;
		} else if (commands_arg_is(opt, "xx") && !(flags & SET_NX)) {
			flags |= SET_XX;
		} else if (commands_arg_is(opt, "get")) {
			flags |= SET_GET;
		} else if (commands_arg_is(opt, "keepttl") && !(flags & (SET_EX | SET_PX))) {
			flags |= SET_KEEPTTL;
		} else if (commands_arg_is(opt, "ex") && !(flags & (SET_KEEPTTL | SET_PX)) && next) {
			flags |= SET_EX;
			expire = &c->argv[++j];
		} else if (commands_arg_is(opt, "px") && !(flags & (SET_KEEPTTL | SET_EX)) && next) {
			flags |= SET_PX;
			expire = &c->argv[++j];
		} else {
			resp_add_error(c->out, COMMANDS_ERR_SYNTAX);
			return;
		}
	}
	if (expire && !commands_deadline(c, expire, flags & SET_EX, true, &at))
		return;

	if (flags & SET_GET)
		cmd_get(c);
	found = commands_get(c, &c->argv[1]) != NULL;
	if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
		if (!(flags & SET_GET))
			resp_add_null(c->out);
		return;
	}
	commands_key_op(&op, STORE_SET, &c->argv[1]);
	op.val = c->argv[2].ptr;
	op.vlen = c->argv[2].len;
	op.ttl = expire ? STORE_TTL_AT : (flags & SET_KEEPTTL) ? STORE_TTL_KEEP : STORE_TTL_CLEAR;
	op.expire_at = at;
	if (commands_apply(c, &op, 1) < 0)
		return;   /* OOM alone, not the old value: the command failed */
	if (!(flags & SET_GET))
		resp_add_simple(c->out, "OK");
}

static void cmd_mget(struct commands_call *c)
{
	resp_add_array(c->out, c->argc - 1);
	for (size_t j = 1; j < c->argc; j++) {
		const struct store_entry *e = commands_read(c, &c->argv[j]);

		if (e)
			resp_add_bulk(c->out, store_value(e), e->vlen);
		else
			resp_add_null(c->out);
	}
}

static void cmd_mset(struct commands_call *c)
{
	size_t n = (c->argc - 1) / 2;
	struct store_op *ops;

	if (c->argc % 2 == 0) {
		commands_wrong_args(c);
		return;
	}
	ops = commands_ops(c, n);
	if (!ops) {
		commands_oom(c);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		commands_key_op(&ops[i], STORE_SET, &c->argv[1 + 2 * i]);
		ops[i].val = c->argv[2 + 2 * i].ptr;
		ops[i].vlen = c->argv[2 + 2 * i].len;
		ops[i].ttl = STORE_TTL_CLEAR;
	}
	if (commands_apply(c, ops, n) >= 0)
		resp_add_simple(c->out, "OK");
}

/* INCR and friends: the value must be an integer in Redis's strict form;
 * the key keeps its deadline. */
static void commands_incr(struct commands_call *c, int64_t by)
{
	const struct store_entry *e = commands_get(c, &c->argv[1]);
	char num[RESP_INT64_MAX_DIGITS];
	struct store_op op;
	int64_t v = 0;

	if (e && !resp_parse_int(store_value(e), e->vlen, &v)) {
		resp_add_error(c->out, COMMANDS_ERR_NOT_INT);
		return;
	}
	if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v)) {
		resp_add_error(c->out, COMMANDS_ERR_OVERFLOW);
		return;
	}
	v += by;
	commands_key_op(&op, STORE_SET, &c->argv[1]);
	op.val = num;
	op.vlen = resp_format_int(num, v);
	op.ttl = STORE_TTL_KEEP;
	if (commands_apply(c, &op, 1) >= 0)
		resp_add_int(c->out, v);
}

static void cmd_incr(struct commands_call *c)
{
	commands_incr(c, 1);
}

static void cmd_decr(struct commands_call *c)
{
	commands_incr(c, -1);
}

static void cmd_incrby(struct commands_call *c)
{
	int64_t by;

	if (!resp_parse_int(c->argv[2].ptr, c->argv[2].len, &by)) {
		resp_add_error(c->out, COMMANDS_ERR_NOT_INT);
		return;
	}
	commands_incr(c, by);
}

static void cmd_decrby(struct commands_call *c)
{
	int64_t by;

	if (!resp_parse_int(c->argv[2].ptr, c->argv[2].len, &by)) {
		resp_add_error(c->out, COMMANDS_ERR_NOT_INT);
		return;
	}
	if (by == INT64_MIN) {
		resp_add_error(c->out, "ERR decrement would overflow");
		return;
	}
	commands_incr(c, -by);
}

/* ---- keys ---- */

static void cmd_del(struct commands_call *c)
{
	size_t n = c->argc - 1;
	struct store_op *ops = commands_ops(c, n);
	long r;

	if (!ops) {
		commands_oom(c);
		return;
	}
	for (size_t i = 0; i < n; i++)
		commands_key_op(&ops[i], STORE_DEL, &c->argv[1 + i]);
	r = commands_apply(c, ops, n);
	if (r >= 0)
		resp_add_int(c->out, r);
}

static void cmd_exists(struct commands_call *c)
{
	int64_t n = 0;

	for (size_t j = 1; j < c->argc; j++)
		n += commands_get(c, &c->argv[j]) != NULL;
	resp_add_int(c->out, n);
}

static void cmd_type(struct commands_call *c)
{
	resp_add_simple(c->out, commands_get(c, &c->argv[1]) ? "string" : "none");
}

#define EXPIRE_NX (1u << 0)
#define EXPIRE_XX (1u << 1)
#define EXPIRE_GT (1u << 2)
#define EXPIRE_LT (1u << 3)

/* EXPIRE/PEXPIRE key time [NX|XX|GT|LT]; a time in the past deletes. */
static void commands_expire(struct commands_call *c, bool seconds)
{
	const struct store_entry *e;
	struct store_op op;
	unsigned flags = 0;
	int64_t at;

	for (size_t j = 3; j < c->argc; j++) {
		const struct resp_arg *opt = &c->argv[j];

		if (commands_arg_is(opt, "nx")) {
			flags |= EXPIRE_NX;
		} else if (commands_arg_is(opt, "xx")) {
			flags |= EXPIRE_XX;
		} else if (commands_arg_is(opt, "gt")) {
			flags |= EXPIRE_GT;
		} else if (commands_arg_is(opt, "lt")) {
			flags |= EXPIRE_LT;
		} else {
			resp_add_errorf(c->out, "ERR Unsupported option %.*s",
					commands_cstr_len(opt, opt->len), opt->ptr);
			return;
		}
	}
	if ((flags & EXPIRE_NX) && (flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
		resp_add_error(c->out, "ERR NX and XX, GT or LT options at the same time "
			       "are not compatible");
		return;
	}
	if ((flags & EXPIRE_GT) && (flags & EXPIRE_LT)) {
		resp_add_error(c->out, "ERR GT and LT options at the same time are not compatible");
		return;
	}
	if (!commands_deadline(c, &c->argv[2], seconds, false, &at))
		return;
	e = commands_get(c, &c->argv[1]);
	if (!e) {
		resp_add_int(c->out, 0);
		return;
	}
	if (flags) {
		bool has = store_volatile(e);

		/* A key without a deadline counts as expiring never (GT, LT). */
		if (((flags & EXPIRE_NX) && has) || ((flags & EXPIRE_XX) && !has) ||
		    ((flags & EXPIRE_GT) && (!has || at <= e->expire_at)) ||
		    ((flags & EXPIRE_LT) && has && at >= e->expire_at)) {
			resp_add_int(c->out, 0);
			return;
		}
	}
	commands_key_op(&op, STORE_EXPIRE_AT, &c->argv[1]);
	op.expire_at = at;
	if (commands_apply(c, &op, 1) >= 0)
		resp_add_int(c->out, 1);
}

static void cmd_expire(struct commands_call *c)
{
	commands_expire(c, true);
}

static void cmd_pexpire(struct commands_call *c)
{
	commands_expire(c, false);
}

static void commands_ttl(struct commands_call *c, bool ms)
{
	const struct store_entry *e = commands_get(c, &c->argv[1]);
	int64_t left;

	if (!e) {
		resp_add_int(c->out, -2);
		return;
	}
	if (!store_volatile(e)) {
		resp_add_int(c->out, -1);
		return;
	}
	left = e->expire_at - c->env->now_ms;
	if (left < 0)
		left = 0;
	resp_add_int(c->out, ms ? left : (left + COMMANDS_HALF_S) / COMMANDS_MS_PER_S);
}

static void cmd_ttl(struct commands_call *c)
{
	commands_ttl(c, false);
}

static void cmd_pttl(struct commands_call *c)
{
	commands_ttl(c, true);
}

static void cmd_persist(struct commands_call *c)
{
	struct store_op op;
	long r;

	commands_key_op(&op, STORE_PERSIST, &c->argv[1]);
	r = commands_apply(c, &op, 1);
	if (r >= 0)
		resp_add_int(c->out, r);
}

static void cmd_dbsize(struct commands_call *c)
{
	resp_add_int(c->out, (int64_t)store_keys(c->env->store));
}

/* FLUSHALL/FLUSHDB [ASYNC|SYNC]: always synchronous here. */
static void cmd_flushall(struct commands_call *c)
{
	struct store_op op;

	if (c->argc > 2 || (c->argc == 2 && !commands_arg_is(&c->argv[1], "sync") &&
			    !commands_arg_is(&c->argv[1], "async"))) {
		resp_add_error(c->out, COMMANDS_ERR_SYNTAX);
		return;
	}
	memset(&op, 0, sizeof(op));
	op.kind = STORE_FLUSH;
	if (commands_apply(c, &op, 1) >= 0)
		resp_add_simple(c->out, "OK");
}

/* ---- CONFIG ---- */

/* Redis's glob (stringmatchlen, case-insensitive): * ? [a-z] [^x] \c.
 * One backtracking point per '*', so no pattern costs more than
 * pattern x string steps. */
static bool commands_glob_one(const char *p, size_t plen, size_t *pi, char ch)
{
	size_t i = *pi;
	char c = commands_lower(ch);

	if (p[i] == '?') {
		*pi = i + 1;
		return true;
	}
	if (p[i] == '[') {
		bool neg = false, hit = false;

		i++;
		if (i < plen && p[i] == '^') {
			neg = true;
			i++;
		}
		while (i < plen && p[i] != ']') {
			if (p[i] == '\\' && i + 1 < plen) {
				hit |= commands_lower(p[i + 1]) == c;
				i += 2;
			} else if (i + 2 < plen && p[i + 1] == '-') {
				char lo = commands_lower(p[i]), hi = commands_lower(p[i + 2]);

				if (lo > hi) {
					char t = lo;
					lo = hi;
					hi = t;
				}
				hit |= c >= lo && c <= hi;
				i += 3;
			} else {
				hit |= commands_lower(p[i]) == c;
				i++;
			}
		}
		*pi = i < plen ? i + 1 : i;   /* an unclosed class ends the pattern */
		return hit != neg;
	}
	if (p[i] == '\\' && i + 1 < plen)
		i++;
	*pi = i + 1;
	return commands_lower(p[i]) == c;
}

static bool commands_glob(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, star_si = 0;

	while (si < slen) {
		size_t next = pi;

		if (pi < plen && p[pi] == '*') {
			star = pi++;
			star_si = si;
			continue;
		}
		if (pi < plen && commands_glob_one(p, plen, &next, s[si])) {
			pi = next;
			si++;
			continue;
		}
		if (star == SIZE_MAX)
			return false;
		pi = star + 1;
		si = ++star_si;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

enum commands_param {
	PARAM_SAVE, PARAM_APPENDONLY, PARAM_MAXMEMORY, PARAM_POLICY, PARAM_DATABASES,
	PARAM_PORT, PARAM_TIMEOUT, PARAM_MAXCLIENTS, PARAM_MAX_BULK, PARAM_APPENDFSYNC,
	PARAM_COUNT,
};

/* What clients ask on connect (redis-benchmark: save, appendonly) and
 * what describes this server. */
static const char *const commands_param_names[PARAM_COUNT] = {
	[PARAM_SAVE] = "save", [PARAM_APPENDONLY] = "appendonly",
	[PARAM_MAXMEMORY] = "maxmemory", [PARAM_POLICY] = "maxmemory-policy",
	[PARAM_DATABASES] = "databases", [PARAM_PORT] = "port", [PARAM_TIMEOUT] = "timeout",
	[PARAM_MAXCLIENTS] = "maxclients", [PARAM_MAX_BULK] = "proto-max-bulk-len",
	[PARAM_APPENDFSYNC] = "appendfsync",
};

static void commands_param_value(struct commands_call *c, enum commands_param p)
{
	const struct config *cfg = c->env->config;

	switch (p) {
	case PARAM_SAVE: resp_add_bulk_str(c->out, ""); break;   /* no snapshots */
	case PARAM_APPENDONLY: resp_add_bulk_str(c->out, c->env->log ? "yes" : "no"); break;
	case PARAM_APPENDFSYNC: resp_add_bulk_str(c->out, config_fsync_name(cfg->appendfsync)); break;
	case PARAM_POLICY: resp_add_bulk_str(c->out, "noeviction"); break;
	default: {
		char num[RESP_INT64_MAX_DIGITS];
		int64_t v = p == PARAM_MAXMEMORY ? (int64_t)cfg->maxmemory :
			    p == PARAM_DATABASES ? COMMANDS_DB_COUNT :
			    p == PARAM_PORT ? cfg->port :
			    p == PARAM_TIMEOUT ? cfg->timeout :
			    p == PARAM_MAXCLIENTS ? cfg->maxclients : KV_MAX_BULK;

		resp_add_bulk(c->out, num, resp_format_int(num, v));
	}
	}
}

/* The argument that asks for parameter `p`, or NULL. Redis 7.0 answers a
 * pattern without glob characters with the name as the client spelled it,
 * and a glob with the parameter's own name: *as_given says which. */
static const struct resp_arg *commands_param_match(struct commands_call *c,
						   enum commands_param p, bool *as_given)
{
	const char *name = commands_param_names[p];

	for (size_t j = 2; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];
		bool glob = memchr(a->ptr, '*', a->len) || memchr(a->ptr, '?', a->len) ||
			    memchr(a->ptr, '[', a->len);

		if (glob ? commands_glob(a->ptr, a->len, name, strlen(name))
			 : commands_arg_is(a, name)) {
			*as_given = !glob;
			return a;
		}
	}
	return NULL;
}

static void cmd_config_get(struct commands_call *c)
{
	size_t n = 0;
	bool as_given;
	int p;

	for (p = 0; p < PARAM_COUNT; p++)
		n += commands_param_match(c, p, &as_given) != NULL;
	resp_add_array(c->out, 2 * n);
	for (p = 0; p < PARAM_COUNT; p++) {
		const struct resp_arg *a = commands_param_match(c, p, &as_given);

		if (!a)
			continue;
		if (as_given)
			resp_add_bulk(c->out, a->ptr, a->len);
		else
			resp_add_bulk_str(c->out, commands_param_names[p]);
		commands_param_value(c, p);
	}
}

static void cmd_config_help(struct commands_call *c)
{
	static const char *const lines[] = {
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"HELP", "    Print this help.",
	};
	commands_help(c, lines, COMMANDS_COUNT_OF(lines));
}

/* ---- INFO ---- */

struct commands_text {
	char *buf;
	size_t len;
	size_t cap;
};

static void commands_text_add(struct commands_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void commands_text_add(struct commands_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < t->cap - t->len ? (size_t)n : t->cap - t->len - 1;
}

/* Redis's bytesToHuman: 1023B, 1.00K, 16.00M, ... (two decimals, rounded). */
static const char *commands_human(char *buf, size_t len, uint64_t n)
{
	static const char units[] = "KMGTP";
	uint64_t unit = 1024;
	size_t u = 0;

	if (n < unit) {
		snprintf(buf, len, "%lluB", (unsigned long long)n);
		return buf;
	}
	while (u + 1 < sizeof(units) - 1 && n >= unit * 1024) {
		unit *= 1024;
		u++;
	}
	/* hundredths, rounded: through division first so nothing overflows */
	uint64_t whole = n / unit, frac = ((n % unit) * 100 + unit / 2) / unit;

	if (frac == 100) {
		whole++;
		frac = 0;
	}
	snprintf(buf, len, "%llu.%02llu%c", (unsigned long long)whole, (unsigned long long)frac,
		 units[u]);
	return buf;
}

#define INFO_SERVER   (1u << 0)
#define INFO_CLIENTS  (1u << 1)
#define INFO_MEMORY   (1u << 2)
#define INFO_STATS    (1u << 3)
#define INFO_KEYSPACE (1u << 4)
#define INFO_PERSISTENCE (1u << 5)
#define INFO_ALL      (INFO_SERVER | INFO_CLIENTS | INFO_MEMORY | INFO_PERSISTENCE | INFO_STATS | \
		       INFO_KEYSPACE)

static unsigned commands_info_sections(struct commands_call *c)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "server", INFO_SERVER }, { "clients", INFO_CLIENTS }, { "memory", INFO_MEMORY },
		{ "persistence", INFO_PERSISTENCE },
		{ "stats", INFO_STATS }, { "keyspace", INFO_KEYSPACE },
		{ "default", INFO_ALL }, { "all", INFO_ALL }, { "everything", INFO_ALL },
	};
	unsigned want = 0;

	if (c->argc == 1)
		return INFO_ALL;
	for (size_t j = 1; j < c->argc; j++)
		for (size_t i = 0; i < COMMANDS_COUNT_OF(names); i++)
			if (commands_arg_is(&c->argv[j], names[i].name))
				want |= names[i].bit;
	return want;
}

/* Sections are separated by a blank line, as Redis separates them. */
static void commands_info_title(struct commands_text *t, bool *first, const char *title)
{
	commands_text_add(t, "%s# %s\r\n", *first ? "" : "\r\n", title);
	*first = false;
}

static void cmd_info(struct commands_call *c)
{
	static char buf[COMMANDS_INFO_MAX];
	struct commands_text t = { buf, 0, sizeof(buf) };
	const struct commands_env *env = c->env;
	const struct store *s = env->store;
	unsigned want = commands_info_sections(c);
	char h1[COMMANDS_HUMAN_MAX], h2[COMMANDS_HUMAN_MAX], h3[COMMANDS_HUMAN_MAX];
	int64_t up = (env->now_ms - env->start_ms) / COMMANDS_MS_PER_S;
	bool first = true;

	buf[0] = '\0';
	if (want & INFO_SERVER) {
		commands_info_title(&t, &first, "Server");
		commands_text_add(&t, "redis_version:%s\r\nredis_mode:standalone\r\n"
				  "os:Unicycle\r\narch_bits:64\r\nmultiplexing_api:unicycle\r\n"
				  "server:unicycle-kv\r\ntcp_port:%u\r\n"
				  "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%u\r\n",
				  COMMANDS_REDIS_VERSION, (unsigned)env->config->port,
				  (long long)up, (long long)(up / COMMANDS_S_PER_DAY), KV_HZ);
	}
	if (want & INFO_CLIENTS) {
		commands_info_title(&t, &first, "Clients");
		commands_text_add(&t, "connected_clients:%u\r\nmaxclients:%u\r\nblocked_clients:0\r\n",
				  env->stats->clients, env->config->maxclients);
	}
	if (want & INFO_MEMORY) {
		commands_info_title(&t, &first, "Memory");
		commands_text_add(&t, "used_memory:%zu\r\nused_memory_human:%s\r\n"
				  "used_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
				  "maxmemory:%zu\r\nmaxmemory_human:%s\r\nmaxmemory_policy:noeviction\r\n"
				  "mem_clients_normal:%zu\r\n",
				  store_used(s), commands_human(h1, sizeof(h1), store_used(s)),
				  s->peak, commands_human(h2, sizeof(h2), s->peak),
				  s->maxmemory, commands_human(h3, sizeof(h3), s->maxmemory),
				  env->client_budget ? env->client_budget->used : 0);
		if (env->heap_in_use)
			commands_text_add(&t, "allocator_allocated:%zu\r\n", env->heap_in_use());
	}
	if (want & INFO_PERSISTENCE) {
		struct commands_log_info li = { 0 };

		if (env->log)
			env->log->info(&li);
		commands_info_title(&t, &first, "Persistence");
		commands_text_add(&t, "loading:0\r\naof_enabled:%d\r\naof_rewrite_in_progress:%d\r\n"
				  "aof_rewrites:%llu\r\naof_last_write_status:ok\r\n",
				  env->log != NULL, li.rewriting, (unsigned long long)li.rewrites);
		if (env->log)
			commands_text_add(&t, "aof_current_size:%llu\r\naof_base_size:%llu\r\n"
					  "aof_generation:%llu\r\n",
					  (unsigned long long)li.current_size,
					  (unsigned long long)li.base_size,
					  (unsigned long long)li.generation);
	}
	if (want & INFO_STATS) {
		commands_info_title(&t, &first, "Stats");
		const struct commands_stats *st = env->stats;

		commands_text_add(&t, "total_connections_received:%llu\r\n"
				  "total_commands_processed:%llu\r\n"
				  "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
				  "rejected_connections:%llu\r\nexpired_keys:%llu\r\n"
				  "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n",
				  (unsigned long long)st->connections, (unsigned long long)st->commands,
				  (unsigned long long)st->net_in, (unsigned long long)st->net_out,
				  (unsigned long long)st->rejected,
				  (unsigned long long)s->stats.expired,
				  (unsigned long long)st->hits, (unsigned long long)st->misses);
	}
	if (want & INFO_KEYSPACE) {
		commands_info_title(&t, &first, "Keyspace");
		if (store_keys(s))
			commands_text_add(&t, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n",
					  store_keys(s), store_volatile_keys(s));
	}
	resp_add_bulk(c->out, t.buf, t.len);
}

/* ---- COMMAND ---- */

static const struct commands_cmd commands_table[];

static size_t commands_count(const struct commands_cmd *t)
{
	size_t n = 0;

	while (t[n].name)
		n++;
	return n;
}

/* What COMMAND says about one command, in Redis 7's layout. */
static void commands_describe(struct commands_call *c, const struct commands_cmd *cmd)
{
	size_t nflags = 0, i;

	for (i = 0; i < COMMANDS_COUNT_OF(commands_flag_names); i++)
		nflags += (cmd->flags & commands_flag_names[i].flag) != 0;
	resp_add_array(c->out, COMMANDS_DESCRIBE_FIELDS);
	resp_add_bulk_str(c->out, cmd->name);
	resp_add_int(c->out, cmd->arity);
	resp_add_array(c->out, nflags);
	for (i = 0; i < COMMANDS_COUNT_OF(commands_flag_names); i++)
		if (cmd->flags & commands_flag_names[i].flag)
			resp_add_simple(c->out, commands_flag_names[i].name);
	resp_add_int(c->out, cmd->first_key);
	resp_add_int(c->out, cmd->last_key);
	resp_add_int(c->out, cmd->key_step);
	resp_add_array(c->out, 0);   /* ACL categories */
	resp_add_array(c->out, 0);   /* tips */
	resp_add_array(c->out, 0);   /* key specs */
	if (!cmd->subs) {
		resp_add_array(c->out, 0);
		return;
	}
	resp_add_array(c->out, commands_count(cmd->subs));
	for (const struct commands_cmd *s = cmd->subs; s->name; s++)
		commands_describe(c, s);
}

static const struct commands_cmd *commands_find(const struct commands_cmd *table,
						const struct resp_arg *a)
{
	char name[COMMANDS_NAME_MAX];

	if (a->len == 0 || a->len > sizeof(name))
		return NULL;
	for (size_t i = 0; i < a->len; i++)
		name[i] = commands_lower(a->ptr[i]);
	for (const struct commands_cmd *t = table; t->name; t++)
		if (t->key_len == a->len && memcmp(t->key, name, a->len) == 0)
			return t;
	return NULL;
}

static void cmd_command(struct commands_call *c)
{
	resp_add_array(c->out, commands_count(commands_table));
	for (const struct commands_cmd *t = commands_table; t->name; t++)
		commands_describe(c, t);
}

static void cmd_command_count(struct commands_call *c)
{
	resp_add_int(c->out, (int64_t)commands_count(commands_table));
}

static void cmd_command_list(struct commands_call *c)
{
	resp_add_array(c->out, commands_count(commands_table));
	for (const struct commands_cmd *t = commands_table; t->name; t++)
		resp_add_bulk_str(c->out, t->name);
}

static void cmd_command_info(struct commands_call *c)
{
	if (c->argc == 2) {
		cmd_command(c);
		return;
	}
	resp_add_array(c->out, c->argc - 2);
	for (size_t j = 2; j < c->argc; j++) {
		const struct commands_cmd *t = commands_find(commands_table, &c->argv[j]);

		if (t)
			commands_describe(c, t);
		else
			resp_add_null(c->out);
	}
}

/* COMMAND DOCS: an empty map (no documentation is served). redis-cli asks
 * for it on connect and then uses its built-in help. */
static void cmd_command_docs(struct commands_call *c)
{
	resp_add_array(c->out, 0);
}

static void cmd_command_help(struct commands_call *c)
{
	static const char *const lines[] = {
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands.",
		"DOCS [<command-name> ...]", "    Return documentation (none here).",
		"INFO [<command-name> ...]", "    Return details about the given commands.",
		"LIST", "    Return the names of all commands.",
		"HELP", "    Print this help.",
	};
	commands_help(c, lines, COMMANDS_COUNT_OF(lines));
}

/* ---- the table ---- */

#define CMD(full, k, ar, fl, fn, sub, first, last, step) \
	{ full, k, sizeof(k) - 1, ar, fl, fn, sub, first, last, step }

static const struct commands_cmd commands_config_subs[] = {
	CMD("config|get", "get", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
	    cmd_config_get, NULL, 0, 0, 0),
	CMD("config|help", "help", 2, CMD_LOADING | CMD_STALE, cmd_config_help, NULL, 0, 0, 0),
	{ 0 },
};

static const struct commands_cmd commands_client_subs[] = {
	CMD("client|setname", "setname", 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
	    cmd_client_setname, NULL, 0, 0, 0),
	CMD("client|getname", "getname", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
	    cmd_client_getname, NULL, 0, 0, 0),
	CMD("client|id", "id", 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, cmd_client_id,
	    NULL, 0, 0, 0),
	CMD("client|help", "help", 2, CMD_LOADING | CMD_STALE, cmd_client_help, NULL, 0, 0, 0),
	{ 0 },
};

static const struct commands_cmd commands_command_subs[] = {
	CMD("command|count", "count", 2, CMD_LOADING | CMD_STALE, cmd_command_count, NULL, 0, 0, 0),
	CMD("command|docs", "docs", -2, CMD_LOADING | CMD_STALE, cmd_command_docs, NULL, 0, 0, 0),
	CMD("command|info", "info", -2, CMD_LOADING | CMD_STALE, cmd_command_info, NULL, 0, 0, 0),
	CMD("command|list", "list", 2, CMD_LOADING | CMD_STALE, cmd_command_list, NULL, 0, 0, 0),
	CMD("command|help", "help", 2, CMD_LOADING | CMD_STALE, cmd_command_help, NULL, 0, 0, 0),
	{ 0 },
};

/* The hot commands first: lookup is a scan. Arity and flags as Redis 7.0. */
static const struct commands_cmd commands_table[] = {
	CMD("get", "get", 2, CMD_READONLY | CMD_FAST, cmd_get, NULL, 1, 1, 1),
	CMD("set", "set", -3, CMD_WRITE | CMD_DENYOOM, cmd_set, NULL, 1, 1, 1),
	CMD("ping", "ping", -1, CMD_FAST, cmd_ping, NULL, 0, 0, 0),
	CMD("incr", "incr", 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, cmd_incr, NULL, 1, 1, 1),
	CMD("mget", "mget", -2, CMD_READONLY | CMD_FAST, cmd_mget, NULL, 1, -1, 1),
	CMD("mset", "mset", -3, CMD_WRITE | CMD_DENYOOM, cmd_mset, NULL, 1, -1, 2),
	CMD("del", "del", -2, CMD_WRITE, cmd_del, NULL, 1, -1, 1),
	CMD("exists", "exists", -2, CMD_READONLY | CMD_FAST, cmd_exists, NULL, 1, -1, 1),
	CMD("decr", "decr", 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, cmd_decr, NULL, 1, 1, 1),
	CMD("incrby", "incrby", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, cmd_incrby, NULL, 1, 1, 1),
	CMD("decrby", "decrby", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, cmd_decrby, NULL, 1, 1, 1),
	CMD("expire", "expire", -3, CMD_WRITE | CMD_FAST, cmd_expire, NULL, 1, 1, 1),
	CMD("pexpire", "pexpire", -3, CMD_WRITE | CMD_FAST, cmd_pexpire, NULL, 1, 1, 1),
	CMD("ttl", "ttl", 2, CMD_READONLY | CMD_FAST, cmd_ttl, NULL, 1, 1, 1),
	CMD("pttl", "pttl", 2, CMD_READONLY | CMD_FAST, cmd_pttl, NULL, 1, 1, 1),
	CMD("persist", "persist", 2, CMD_WRITE | CMD_FAST, cmd_persist, NULL, 1, 1, 1),
	CMD("type", "type", 2, CMD_READONLY | CMD_FAST, cmd_type, NULL, 1, 1, 1),
	CMD("echo", "echo", 2, CMD_FAST, cmd_echo, NULL, 0, 0, 0),
	CMD("dbsize", "dbsize", 1, CMD_READONLY | CMD_FAST, cmd_dbsize, NULL, 0, 0, 0),
	CMD("flushall", "flushall", -1, CMD_WRITE, cmd_flushall, NULL, 0, 0, 0),
	CMD("flushdb", "flushdb", -1, CMD_WRITE, cmd_flushall, NULL, 0, 0, 0),
	CMD("select", "select", 2, CMD_LOADING | CMD_STALE | CMD_FAST, cmd_select, NULL, 0, 0, 0),
	CMD("info", "info", -1, CMD_LOADING | CMD_STALE, cmd_info, NULL, 0, 0, 0),
	CMD("quit", "quit", -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, cmd_quit,
	    NULL, 0, 0, 0),
	CMD("hello", "hello", -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, cmd_hello,
	    NULL, 0, 0, 0),
	CMD("command", "command", -1, CMD_LOADING | CMD_STALE, cmd_command,
	    commands_command_subs, 0, 0, 0),
	CMD("config", "config", -2, 0, NULL, commands_config_subs, 0, 0, 0),
	CMD("client", "client", -2, 0, NULL, commands_client_subs, 0, 0, 0),
	{ 0 },
};

/* ---- dispatch ---- */

static void commands_unknown(struct commands_call *c)
{
	char args[COMMANDS_QUOTE_MAX + 4];   /* the last quoted argument may end 3 past */
	size_t len = 0;

	/* Redis: "'%.*s' " per argument while under 128 bytes in all. */
	for (size_t i = 1; i < c->argc && len < COMMANDS_QUOTE_MAX; i++) {
		int n = commands_cstr_len(&c->argv[i], COMMANDS_QUOTE_MAX - len);

		args[len++] = '\'';
		memcpy(args + len, c->argv[i].ptr, (size_t)n);
		len += (size_t)n;
		args[len++] = '\'';
		args[len++] = ' ';
	}
	args[len] = '\0';
	resp_add_errorf(c->out, "ERR unknown command '%.*s', with args beginning with: %s",
			commands_cstr_len(&c->argv[0], COMMANDS_QUOTE_MAX), c->argv[0].ptr, args);
}

static void commands_unknown_sub(struct commands_call *c)
{
	char name[COMMANDS_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < c->argv[0].len && i < COMMANDS_NAME_MAX; i++)
		name[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
	name[i] = '\0';
	resp_add_errorf(c->out, "ERR unknown subcommand '%.*s'. Try %s HELP.",
			commands_cstr_len(&c->argv[1], COMMANDS_QUOTE_MAX), c->argv[1].ptr, name);
}

void commands_exec(struct commands_env *env, struct commands_client *client,
		   const struct resp_arg *argv, size_t argc, struct resp_buf *out)
{
	struct commands_call c = { env, client, argv, argc, out, resp_buf_pending(out), NULL };
	const struct commands_cmd *cmd = commands_find(commands_table, &argv[0]);

	env->stats->commands++;
	if (!cmd) {
		commands_unknown(&c);
		return;
	}
	if (cmd->subs && argc >= 2) {
		const struct commands_cmd *sub = commands_find(cmd->subs, &argv[1]);

		if (!sub) {
			commands_unknown_sub(&c);
			return;
		}
		cmd = sub;
	}
	c.cmd = cmd;
	if ((cmd->arity > 0 && (size_t)cmd->arity != argc) ||
	    (cmd->arity < 0 && argc < (size_t)-cmd->arity) || !cmd->run) {
		commands_wrong_args(&c);
		return;
	}
	cmd->run(&c);
}

void commands_env_init(struct commands_env *env, struct store *store, const struct config *config,
		       struct commands_stats *stats, const struct resp_budget *client_budget)
{
	memset(env, 0, sizeof(*env));
	env->store = store;
	env->config = config;
	env->stats = stats;
	env->client_budget = client_budget;
}

void commands_env_free(struct commands_env *env)
{
	free(env->ops);
	env->ops = NULL;
	env->ops_cap = 0;
}
