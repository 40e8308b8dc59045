/* test_kv_commands.c: examples/kv's commands: the exact reply bytes of each command and error (Redis 7.0's words). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commands.h"

/*
 * Every expected reply below was checked against Debian's redis-server
 * 7.0.15 (the same command, the same state), except where a comment says
 * kv differs on purpose.
 */

#define REPLY_MAX (64 * 1024)
#define ARGS_MAX 16
#define START_MS 1000000

static struct resp_budget budget;
static const struct resp_limits limits = {
	KV_MAX_ARGS, KV_MAX_BULK, KV_MAX_INLINE, KV_MAX_COMMAND, &budget,
};

static struct {
	struct store store;
	struct config config;
	struct commands_stats stats;
	struct commands_env env;
	struct commands_client client;
	struct resp_parser parser;
	struct resp_buf out;
} w;

static void world(size_t maxmemory)
{
	memset(&w, 0, sizeof(w));
	config_defaults(&w.config);
	w.config.maxmemory = maxmemory;
	store_init(&w.store, maxmemory, 21, 22);
	commands_env_init(&w.env, &w.store, &w.config, &w.stats, &budget);
	w.env.now_ms = START_MS;
	w.env.start_ms = 0;
	w.client.id = 7;
	resp_parser_init(&w.parser, &limits);
	resp_buf_init(&w.out, 0, &budget);
}

static void world_end(void)
{
	CHECK(store_check(&w.store) == NULL);
	resp_parser_free(&w.parser);
	resp_buf_free(&w.out);
	commands_env_free(&w.env);
	store_free(&w.store);
	CHECK(budget.used == 0);
}

/* Runs the raw request bytes through the parser and the commands; returns
 * every reply, NUL-terminated. */
static const char *run_raw(const char *in, size_t len)
{
	static char reply[REPLY_MAX];
	size_t pos = 0, n;

	while (pos < len) {
		size_t used;
		enum resp_result r = resp_parse(&w.parser, in + pos, len - pos, &used);

		pos += used;
		if (r == RESP_COMMAND)
			commands_exec(&w.env, &w.client, w.parser.argv, w.parser.argc, &w.out);
		else if (r == RESP_ERROR)
			break;
	}
	n = resp_buf_pending(&w.out);
	if (n >= sizeof(reply))
		n = sizeof(reply) - 1;
	memcpy(reply, w.out.data + w.out.head, n);
	reply[n] = '\0';
	resp_buf_sent(&w.out, resp_buf_pending(&w.out), 0);
	return reply;
}

/* One command from NULL-terminated arguments, sent as a RESP array. */
static const char *run_args(const char *const *argv)
{
	static char req[REPLY_MAX];
	size_t len = 0, argc = 0;

	while (argv[argc])
		argc++;
	len += (size_t)snprintf(req + len, sizeof(req) - len, "*%zu\r\n", argc);
	for (size_t i = 0; i < argc; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "$%zu\r\n%s\r\n",
					strlen(argv[i]), argv[i]);
	return run_raw(req, len);
}

static void expect(int line, const char *got, const char *want)
{
	passed += strcmp(got, want) == 0;
	if (strcmp(got, want) != 0) {
		failed++;
		fprintf(stderr, "%s:%d: reply\n  got  %s\n  want %s\n", __FILE__, line, got, want);
	}
}

#define R(want, ...) expect(__LINE__, run_args((const char *const[]){ __VA_ARGS__, NULL }), want)

static const char *rep(char c, size_t n)
{
	static char bufs[4][1024];
	static int next;
	char *b = bufs[next++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void test_connection(void)
{
	world(0);
	R("+PONG\r\n", "PING");
	R("$5\r\nhello\r\n", "ping", "hello");
	R("-ERR wrong number of arguments for 'ping' command\r\n", "PING", "a", "b");
	R("$1\r\nx\r\n", "ECHO", "x");
	R("$0\r\n\r\n", "ECHO", "");
	R("-ERR wrong number of arguments for 'echo' command\r\n", "ECHO");
	R("-ERR wrong number of arguments for 'echo' command\r\n", "ECHO", "a", "b");
	R("+OK\r\n", "SELECT", "0");
	/* Redis with `databases 1` says this; kv has one database */
	R("-ERR DB index is out of range\r\n", "SELECT", "1");
	R("-ERR DB index is out of range\r\n", "SELECT", "-1");
	R("-ERR value is not an integer or out of range\r\n", "SELECT", "x");
	R("-ERR wrong number of arguments for 'select' command\r\n", "SELECT", "0", "1");
	R("$-1\r\n", "CLIENT", "GETNAME");
	R("+OK\r\n", "CLIENT", "SETNAME", "worker-1");
	R("$8\r\nworker-1\r\n", "client", "getname");
	R("+OK\r\n", "CLIENT", "SETNAME", "");
	R("$-1\r\n", "CLIENT", "GETNAME");
	R("-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
	  "CLIENT", "SETNAME", "foo bar");
	R(":7\r\n", "CLIENT", "ID");
	R("-ERR wrong number of arguments for 'client' command\r\n", "CLIENT");
	R("-ERR wrong number of arguments for 'client|setname' command\r\n", "CLIENT", "SETNAME");
	R("-ERR unknown subcommand 'BLAH'. Try CLIENT HELP.\r\n", "CLIENT", "BLAH");
	R("-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n", "CLIENT", "SETINFO", "a", "b");
	R("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n"
	  ":2\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
	  "$7\r\nmodules\r\n*0\r\n", "HELLO", "2");
	/* RESP3 is refused as Redis refuses versions it does not speak */
	R("-NOPROTO unsupported protocol version\r\n", "HELLO", "3");
	R("-ERR Protocol version is not an integer or out of range\r\n", "HELLO", "3x");
	R("-ERR Syntax error in HELLO option 'FOO'\r\n", "HELLO", "2", "FOO");
	CHECK(!w.client.close_after_reply);
	R("+OK\r\n", "QUIT");
	CHECK(w.client.close_after_reply);
	world_end();
}

static void test_unknown_and_arity(void)
{
	char want[1024];

	world(0);
	R("-ERR unknown command 'foo', with args beginning with: \r\n", "foo");
	R("-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n", "FOO", "a", "b");
	/* arguments are quoted up to 128 bytes in all, the name up to 128 */
	snprintf(want, sizeof(want), "-ERR unknown command 'FOO', with args beginning with: '%s' \r\n",
		 rep('a', 126));
	R(want, "FOO", rep('a', 126), "b", "c");
	snprintf(want, sizeof(want), "-ERR unknown command 'FOO', with args beginning with: '%s' \r\n",
		 rep('a', 128));
	R(want, "FOO", rep('a', 200));
	snprintf(want, sizeof(want), "-ERR unknown command '%s', with args beginning with: \r\n",
		 rep('F', 128));
	R(want, rep('F', 130));
	snprintf(want, sizeof(want), "-ERR unknown subcommand '%s'. Try CONFIG HELP.\r\n",
		 rep('X', 128));
	R(want, "CONFIG", rep('X', 130));
	/* CR and LF never reach the reply line */
	R("-ERR unknown command 'FOO', with args beginning with: 'a  b' \r\n", "FOO", "a\r\nb");
	R("-ERR wrong number of arguments for 'get' command\r\n", "GET");
	R("-ERR wrong number of arguments for 'get' command\r\n", "GET", "a", "b");
	R("-ERR wrong number of arguments for 'set' command\r\n", "SET", "k");
	R("-ERR wrong number of arguments for 'incr' command\r\n", "INCR", "a", "b");
	R("-ERR wrong number of arguments for 'incrby' command\r\n", "INCRBY", "a");
	R("-ERR wrong number of arguments for 'mset' command\r\n", "MSET", "a");
	R("-ERR wrong number of arguments for 'mset' command\r\n", "MSET", "a", "1", "b");
	R("-ERR wrong number of arguments for 'mget' command\r\n", "MGET");
	R("-ERR wrong number of arguments for 'del' command\r\n", "DEL");
	R("-ERR wrong number of arguments for 'expire' command\r\n", "EXPIRE", "n");
	R("-ERR wrong number of arguments for 'ttl' command\r\n", "TTL", "a", "b");
	R("-ERR wrong number of arguments for 'persist' command\r\n", "PERSIST");
	R("-ERR wrong number of arguments for 'dbsize' command\r\n", "DBSIZE", "x");
	R("-ERR wrong number of arguments for 'type' command\r\n", "TYPE");
	R("-ERR wrong number of arguments for 'config' command\r\n", "CONFIG");
	R("-ERR wrong number of arguments for 'config|get' command\r\n", "CONFIG", "GET");
	R("-ERR wrong number of arguments for 'command|count' command\r\n", "COMMAND", "COUNT", "x");
	world_end();
}

static void test_strings(void)
{
	world(0);
	R("$-1\r\n", "GET", "k");
	R("+OK\r\n", "SET", "k", "v");
	R("$1\r\nv\r\n", "GET", "k");
	R("+OK\r\n", "SET", "", "");
	R("$0\r\n\r\n", "GET", "");
	R("$-1\r\n", "SET", "k", "v", "NX");
	R("$-1\r\n", "SET", "k", "v", "nx");
	R("+OK\r\n", "SET", "k", "v2", "XX");
	R("$-1\r\n", "SET", "zz", "v2", "XX");
	R("$2\r\nv2\r\n", "SET", "k", "v3", "GET");
	R("$2\r\nv3\r\n", "SET", "k", "v4", "NX", "GET");   /* GET's answer, nothing set */
	R("$2\r\nv3\r\n", "GET", "k");
	R("$-1\r\n", "SET", "new", "1", "XX", "GET");
	R("$-1\r\n", "SET", "new2", "1", "GET");
	R("$1\r\n1\r\n", "GET", "new2");
	R("-ERR syntax error\r\n", "SET", "k", "v", "NX", "XX");
	R("-ERR syntax error\r\n", "SET", "k", "v", "XX", "NX");
	R("-ERR syntax error\r\n", "SET", "k", "v", "EX", "10", "PX", "100");
	R("-ERR syntax error\r\n", "SET", "k", "v", "KEEPTTL", "EX", "10");
	R("-ERR syntax error\r\n", "SET", "k", "v", "EX", "10", "KEEPTTL");
	R("-ERR syntax error\r\n", "SET", "k", "v", "BOGUS");
	R("-ERR syntax error\r\n", "SET", "k", "v", "EX");
	R("-ERR syntax error\r\n", "SET", "k", "v", "ex", "abc", "nx", "xx");
	/* EXAT/PXAT need a wall clock kv does not have (Redis: +OK) */
	R("-ERR syntax error\r\n", "SET", "k", "v", "EXAT", "100");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "0");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "-1");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "PX", "0");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "PX", "-5");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX",
	  "9223372036854775807");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "99999999999999999");
	R("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "PX",
	  "9223372036854775807");
	R("-ERR value is not an integer or out of range\r\n", "SET", "k", "v", "EX", "abc");
	R("+OK\r\n", "SET", "k", "v", "EX", "9223372036854");
	R("+OK\r\n", "SET", "k", "v", "KEEPTTL");
	R(":9223372036854\r\n", "TTL", "k");
	R("+OK\r\n", "SET", "k", "v", "EX", "10", "EX", "20");   /* the last EX wins */
	R(":20000\r\n", "PTTL", "k");

	R("+OK\r\n", "MSET", "a", "1", "b", "2");
	R("*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n", "MGET", "a", "b", "zz");
	R("+OK\r\n", "MSET", "a", "1", "a", "2");
	R("$1\r\n2\r\n", "GET", "a");
	R("+string\r\n", "TYPE", "a");
	R("+none\r\n", "TYPE", "zz");
	world_end();
}

static void test_counters(void)
{
	world(0);
	R("+OK\r\n", "SET", "n", "10");
	R(":11\r\n", "INCR", "n");
	R(":6\r\n", "INCRBY", "n", "-5");
	R(":5\r\n", "DECR", "n");
	R(":3\r\n", "DECRBY", "n", "2");
	R(":1\r\n", "INCR", "fresh");
	R("-ERR value is not an integer or out of range\r\n", "INCRBY", "n", "abc");
	R("-ERR value is not an integer or out of range\r\n", "INCRBY", "n", "9223372036854775808");
	R("-ERR increment or decrement would overflow\r\n", "INCRBY", "n", "9223372036854775807");
	R("+OK\r\n", "SET", "m", "9223372036854775807");
	R("-ERR increment or decrement would overflow\r\n", "INCR", "m");
	R("+OK\r\n", "SET", "m", "-9223372036854775808");
	R("-ERR increment or decrement would overflow\r\n", "DECR", "m");
	R("-ERR decrement would overflow\r\n", "DECRBY", "x", "-9223372036854775808");
	R(":-9223372036854775807\r\n", "DECRBY", "x", "9223372036854775807");
	R(":-9223372036854775808\r\n", "DECR", "x");
	/* Redis's strict integers: no spaces, '+', leading zeros, "-0" */
	R("+OK\r\n", "SET", "s", "abc");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	R("+OK\r\n", "SET", "s", " 1");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	R("+OK\r\n", "SET", "s", "01");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	R("+OK\r\n", "SET", "s", "+1");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	R("+OK\r\n", "SET", "s", "-0");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	R("+OK\r\n", "SET", "s", "");
	R("-ERR value is not an integer or out of range\r\n", "INCR", "s");
	/* Every value is a string: there is no other type, so no WRONGTYPE;
	 * a non-number answers with the string type's own error above. */
	/* INCR keeps the deadline */
	R("+OK\r\n", "SET", "t", "5", "EX", "100");
	R(":6\r\n", "INCR", "t");
	R(":100000\r\n", "PTTL", "t");
	world_end();
}

static void test_keys_and_expiry(void)
{
	world(0);
	R("+OK\r\n", "MSET", "a", "1", "b", "2");
	R(":2\r\n", "DEL", "a", "b", "zz");
	R("+OK\r\n", "SET", "a", "1");
	R(":1\r\n", "DEL", "a", "a");
	R("+OK\r\n", "SET", "n", "1");
	R(":2\r\n", "EXISTS", "n", "n", "zz");
	R(":-1\r\n", "TTL", "n");
	R(":-2\r\n", "TTL", "zz");
	R(":-2\r\n", "PTTL", "zz");
	R(":0\r\n", "EXPIRE", "zz", "10");
	R(":1\r\n", "EXPIRE", "n", "100");
	R(":100\r\n", "TTL", "n");
	R(":100000\r\n", "PTTL", "n");
	w.env.now_ms += 400;
	R(":100\r\n", "TTL", "n");                    /* 99.6 s rounds to 100 */
	w.env.now_ms += 200;
	R(":99\r\n", "TTL", "n");
	R(":99400\r\n", "PTTL", "n");
	R(":1\r\n", "PERSIST", "n");
	R(":0\r\n", "PERSIST", "n");
	R(":-1\r\n", "TTL", "n");
	R(":0\r\n", "PERSIST", "zz");
	/* the clock: gone at its deadline, for every command */
	R("+OK\r\n", "SET", "k", "v", "PX", "300");
	w.env.now_ms += 299;
	R("$1\r\nv\r\n", "GET", "k");
	R(":1\r\n", "PTTL", "k");
	w.env.now_ms += 1;
	R("$-1\r\n", "GET", "k");
	R(":0\r\n", "EXISTS", "k");
	R(":-2\r\n", "TTL", "k");
	R(":0\r\n", "DEL", "k");
	/* EXPIRE in the past or 0 deletes */
	R(":1\r\n", "EXPIRE", "n", "0");
	R(":0\r\n", "EXISTS", "n");
	R("+OK\r\n", "SET", "n", "1");
	R(":1\r\n", "EXPIRE", "n", "-5");
	R(":0\r\n", "EXISTS", "n");
	R("+OK\r\n", "SET", "n", "1");
	R(":1\r\n", "PEXPIRE", "n", "-9223372036854775808");
	R(":0\r\n", "EXISTS", "n");
	/* limits and options */
	R("+OK\r\n", "SET", "n", "1");
	R("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "n", "9223372036854775807");
	R("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "n", "9223372036854775");
	R("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "n", "-9223372036854776");
	R("-ERR invalid expire time in 'pexpire' command\r\n", "PEXPIRE", "n",
	  "9223372036854775807");
	R("-ERR value is not an integer or out of range\r\n", "EXPIRE", "n", "abc");
	R("-ERR Unsupported option FOO\r\n", "EXPIRE", "n", "10", "FOO");
	R("-ERR Unsupported option bogus\r\n", "EXPIRE", "n", "abc", "bogus");
	R("-ERR value is not an integer or out of range\r\n", "EXPIRE", "n", "abc", "nx");
	R("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
	  "EXPIRE", "n", "10", "NX", "XX");
	R("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
	  "EXPIRE", "n", "10", "nx", "gt");
	R("-ERR GT and LT options at the same time are not compatible\r\n",
	  "EXPIRE", "n", "10", "GT", "LT");
	R(":0\r\n", "EXPIRE", "n", "100", "XX");
	R(":0\r\n", "EXPIRE", "n", "100", "GT");     /* no deadline counts as forever */
	R(":1\r\n", "EXPIRE", "n", "100", "LT");
	R(":0\r\n", "EXPIRE", "n", "100", "NX");
	R(":1\r\n", "EXPIRE", "n", "200", "GT");
	R(":200000\r\n", "PTTL", "n");
	R(":0\r\n", "EXPIRE", "n", "50", "GT");
	R(":1\r\n", "EXPIRE", "n", "50", "LT");
	R(":1\r\n", "EXPIRE", "n", "60", "XX");
	R(":60000\r\n", "PTTL", "n");
	R(":1\r\n", "PEXPIRE", "n", "1500");
	R(":2\r\n", "TTL", "n");
	R(":1\r\n", "DBSIZE");
	R("+OK\r\n", "FLUSHALL");
	R(":0\r\n", "DBSIZE");
	R("+OK\r\n", "FLUSHALL", "sync");
	R("+OK\r\n", "FLUSHALL", "ASYNC");
	R("+OK\r\n", "FLUSHDB");
	R("-ERR syntax error\r\n", "FLUSHALL", "X");
	R("-ERR syntax error\r\n", "FLUSHALL", "a", "b");
	CHECK(store_used(&w.store) == 0);
	world_end();
}

static void test_config_command_info(void)
{
	const char *r;

	world(16 * 1024 * 1024);
	R("*2\r\n$4\r\nsave\r\n$0\r\n\r\n", "CONFIG", "GET", "save");
	R("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n", "CONFIG", "GET", "appendonly");
	R("*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n", "CONFIG", "GET", "SAVE");   /* named as asked */
	R("*2\r\n$4\r\nsave\r\n$0\r\n\r\n", "CONFIG", "GET", "sa[uv]e");
	R("*2\r\n$4\r\nsave\r\n$0\r\n\r\n", "CONFIG", "GET", "sa?e");
	R("*2\r\n$9\r\nmaxmemory\r\n$8\r\n16777216\r\n", "CONFIG", "GET", "maxmemory");
	R("*4\r\n$9\r\nmaxmemory\r\n$8\r\n16777216\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n",
	  "CONFIG", "GET", "maxmemory*");
	/* several patterns: each parameter once (Redis's order may differ) */
	R("*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
	  "CONFIG", "GET", "appendonly", "save", "s*");
	R("*0\r\n", "CONFIG", "GET", "nonexist");
	R("*0\r\n", "CONFIG", "GET", "nope*");
	R("-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n", "CONFIG", "FOO");
	R("-ERR unknown subcommand 'set'. Try CONFIG HELP.\r\n", "config", "set", "x", "y");
	R("-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n", "COMMAND", "FOO");
	R(":28\r\n", "COMMAND", "COUNT");
	R("*0\r\n", "COMMAND", "DOCS");
	R("*0\r\n", "COMMAND", "DOCS", "get");
	R("*1\r\n$-1\r\n", "COMMAND", "INFO", "nonexistent");
	R("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
	  "*0\r\n*0\r\n*0\r\n*0\r\n", "COMMAND", "INFO", "get");
	r = run_args((const char *const[]){ "COMMAND", NULL });
	CHECK(strncmp(r, "*28\r\n*10\r\n$3\r\nget\r\n", 19) == 0);
	CHECK(strstr(r, "$10\r\nconfig|get\r\n:-3\r\n") != NULL);

	R("+OK\r\n", "SET", "a", "1");
	R("+OK\r\n", "SET", "b", "2", "EX", "100");
	r = run_args((const char *const[]){ "INFO", NULL });
	CHECK(strstr(r, "# Server\r\nredis_version:7.0.15\r\n") != NULL);
	CHECK(strstr(r, "\r\n\r\n# Clients\r\nconnected_clients:0\r\n") != NULL);
	CHECK(strstr(r, "\r\nmaxmemory:16777216\r\nmaxmemory_human:16.00M\r\n") != NULL);
	CHECK(strstr(r, "\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n\r\n") != NULL);
	CHECK(strstr(r, "uptime_in_seconds:1000\r\n") != NULL);
	{
		char want[64];

		snprintf(want, sizeof(want), "\r\nused_memory:%zu\r\n", store_used(&w.store));
		CHECK(strstr(r, want) != NULL);
	}
	/* one section; an unknown one is empty, as in Redis */
	R("$44\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n\r\n", "INFO", "keyspace");
	R("$0\r\n\r\n", "INFO", "nosuchsection");
	r = run_args((const char *const[]){ "INFO", "keyspace", "server", NULL });
	/* sections come in Redis's order, whatever the order asked */
	CHECK(strstr(r, "\r\n# Server\r\n") && strstr(r, "\r\n\r\n# Keyspace\r\n") &&
	      strstr(r, "# Server") < strstr(r, "# Keyspace") && !strstr(r, "# Clients"));
	R("+OK\r\n", "FLUSHALL");
	R("$12\r\n# Keyspace\r\n\r\n", "INFO", "keyspace");
	world_end();
}

/* maxmemory: a refused write answers OOM and changes nothing; what frees
 * memory always works; then writes pass again. */
static void test_oom(void)
{
	static const char oom[] = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
	char v[501];
	char key[32];
	int i;

	memset(v, 'x', 500);
	v[500] = '\0';
	world(32 * 1024);
	for (i = 0;; i++) {
		const char *r;

		snprintf(key, sizeof(key), "k%d", i);
		r = run_args((const char *const[]){ "SET", key, v, NULL });
		if (strcmp(r, "+OK\r\n") != 0) {
			expect(__LINE__, r, oom);
			break;
		}
	}
	CHECK(i > 20);
	R("$-1\r\n", "GET", key);
	R(oom, "SET", "k0", rep('z', 1000), "GET");   /* no old value: the command failed */
	{
		/* ... also when earlier replies are half sent and making room for
		 * the old value moves them */
		const char *big = rep('z', 1000);
		struct resp_arg argv[] = {
			{ "SET", 3, 0 }, { "k0", 2, 0 }, { big, 1000, 0 }, { "GET", 3, 0 },
		};
		char filler[3000];
		size_t keep;

		memset(filler, 'f', sizeof(filler));
		resp_add_raw(&w.out, filler, sizeof(filler));
		keep = w.out.cap - w.out.len;
		resp_add_raw(&w.out, filler, keep);            /* buffer now full */
		resp_buf_sent(&w.out, 2000, w.out.cap);        /* head moves, nothing freed */
		CHECK(w.out.head == 2000);
		commands_exec(&w.env, &w.client, argv, 4, &w.out);
		CHECK(w.out.head == 0);                        /* the buffer was compacted */
		CHECK(resp_buf_pending(&w.out) == 1000 + keep + strlen(oom));
		CHECK(memcmp(w.out.data + 1000 + keep, oom, strlen(oom)) == 0);
		resp_buf_sent(&w.out, resp_buf_pending(&w.out), 0);
	}
	R(oom, "MSET", "m1", "1", "m2", v);
	R("*2\r\n$-1\r\n$-1\r\n", "MGET", "m1", "m2");
	R(oom, "SET", "k0", rep('y', 1000));
	R("+OK\r\n", "SET", "k0", rep('y', 500));   /* the same size fits */
	R(":1\r\n", "EXPIRE", "k1", "100");
	R(":1\r\n", "PERSIST", "k1");
	R(":2\r\n", "DEL", "k1", "k2");
	R("+OK\r\n", "SET", key, v);
	CHECK(strncmp(run_args((const char *const[]){ "GET", key, NULL }), "$500\r\nxxx", 9) == 0);
	CHECK(store_used(&w.store) <= 32 * 1024);
	R("+OK\r\n", "FLUSHALL");
	CHECK(store_used(&w.store) == 0);
	world_end();
}

/* Inline commands and a protocol error, through the same path. */
static void test_inline(void)
{
	static const char in[] = "set \"x y\" 'z'\r\nget \"x y\"\r\nPING\n\r\n";

	world(0);
	expect(__LINE__, run_raw(in, sizeof(in) - 1), "+OK\r\n$1\r\nz\r\n+PONG\r\n");
	world_end();
}

int main(void)
{
	test_connection();
	test_unknown_and_arity();
	test_strings();
	test_counters();
	test_keys_and_expiry();
	test_config_command_info();
	test_oom();
	test_inline();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
