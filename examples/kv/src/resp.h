/* resp.h: RESP2, the Redis protocol: an incremental request parser and the reply writer. */
#ifndef KV_RESP_H
#define KV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Requests arrive as pieces of a byte stream (TCP segments). The parser
 * keeps its state between pieces and hands out one command at a time as
 * an argument vector. Arguments of a command that lies whole inside the
 * piece being parsed point straight into that piece (no copy); only a
 * command split across pieces is gathered into the parser's own buffer.
 *
 * Both request forms of RESP2 are accepted:
 *   "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n"   (what clients send)
 *   an inline line "SET k \"v w\"\r\n"                     (what people type)
 */

/* Client-side buffers (parser gather buffers and reply buffers) of all
 * connections charge one shared budget, so that many clients together
 * stay within a bound the store's maxmemory does not cover. */
struct resp_budget {
	size_t used;
	size_t max;              /* 0: unlimited */
};

struct resp_limits {
	uint32_t max_args;       /* elements of one command */
	uint32_t max_bulk;       /* bytes of one argument */
	uint32_t max_inline;     /* bytes of one inline command line */
	uint32_t max_command;    /* bytes of all arguments of one command */
	struct resp_budget *budget;   /* NULL: none */
};

struct resp_arg {
	const char *ptr;
	size_t len;
	size_t off;              /* parser-internal: offset in the gather buffer */
};

enum resp_state {
	RESP_ST_START,           /* between commands */
	RESP_ST_COUNT,           /* in "*<n>\r\n" */
	RESP_ST_BULK_LEN,        /* in "$<len>\r\n" */
	RESP_ST_BULK_DATA,       /* in the argument's bytes */
	RESP_ST_BULK_CR,         /* expecting the '\r' after the bytes */
	RESP_ST_BULK_LF,         /* expecting the '\n' */
	RESP_ST_INLINE,          /* in an inline line */
	RESP_ST_ERROR,           /* a protocol error was reported: nothing more is parsed */
};

/* The longest "*<n>" or "$<len>" header line: a sign and 19 digits fit. */
#define RESP_HEADER_MAX 24

struct resp_parser {
	const struct resp_limits *lim;
	enum resp_state state;
	uint32_t want_args;      /* elements announced by "*<n>" */
	uint64_t bulk_len;       /* bytes of the argument being read */
	uint64_t bulk_got;       /* of which already gathered */
	uint64_t cmd_bytes;      /* argument bytes of the command so far */
	struct resp_arg *argv;
	uint32_t argc;
	uint32_t argcap;
	bool gathered;           /* the current command lives in `gather` */
	char header[RESP_HEADER_MAX + 1];   /* the line and its '\r' */
	uint32_t header_len;     /* bytes of a header line split across pieces */
	char *gather;            /* a command split across pieces */
	size_t gather_len;
	size_t gather_cap;
	const char *error;       /* after RESP_ERROR: the reply text, "ERR Protocol error: ..." */
	char error_buf[64];
};

enum resp_result {
	RESP_NEED_MORE,          /* every byte was used; no complete command yet */
	RESP_COMMAND,            /* p->argv[0..argc) holds a command */
	RESP_ERROR,              /* protocol error: reply p->error, then close */
};

/* 0, or -ENOMEM. */
int resp_parser_init(struct resp_parser *p, const struct resp_limits *lim);
void resp_parser_free(struct resp_parser *p);

/*
 * Parses from `buf` (len bytes). Sets *used to the bytes taken and returns
 * RESP_COMMAND when a command is complete: its arguments stay valid until
 * the next resp_parse() call and until the caller releases `buf`, so the
 * caller executes it before either. RESP_NEED_MORE: all `len` bytes were
 * taken (a split command is gathered); call again with the next piece.
 * RESP_ERROR: the input is not RESP (or breaks a limit); p->error says
 * how, in Redis's words, and every later call returns RESP_ERROR again.
 * Empty commands ("*0", blank lines) are skipped, as Redis does.
 */
enum resp_result resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *used);

/* Gives back a large gather buffer between commands (idle connections
 * keep nothing big). */
void resp_parser_trim(struct resp_parser *p);

/* Bytes the parser holds now (gather buffer and argument vector). */
size_t resp_parser_footprint(const struct resp_parser *p);

/*
 * The reply buffer: replies are appended at `len`; the server hands bytes
 * from `head` to the connection. A buffer that cannot grow (no memory, the
 * hard limit or the budget) marks itself failed, drops further writes,
 * and the connection is closed: a reply is never sent in part.
 */
struct resp_buf {
	char *data;
	size_t head;             /* first byte not yet handed to the connection */
	size_t len;
	size_t cap;
	size_t hard_limit;       /* bytes pending at most (0: unlimited) */
	struct resp_budget *budget;
	bool failed;
};

void resp_buf_init(struct resp_buf *b, size_t hard_limit, struct resp_budget *budget);
void resp_buf_free(struct resp_buf *b);
static inline size_t resp_buf_pending(const struct resp_buf *b) { return b->len - b->head; }
/* `n` bytes were handed on; an emptied buffer keeps at most `keep` bytes
 * of capacity. */
void resp_buf_sent(struct resp_buf *b, size_t n, size_t keep);
/* Room for `n` more bytes at data + len, or NULL (the buffer failed). */
char *resp_buf_reserve(struct resp_buf *b, size_t n);

void resp_add_raw(struct resp_buf *b, const void *p, size_t n);
void resp_add_simple(struct resp_buf *b, const char *s);            /* +s */
void resp_add_error(struct resp_buf *b, const char *s);             /* -s */
void resp_add_errorf(struct resp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void resp_add_int(struct resp_buf *b, int64_t v);                   /* :v */
void resp_add_bulk(struct resp_buf *b, const void *p, size_t n);    /* $n */
void resp_add_bulk_str(struct resp_buf *b, const char *s);
void resp_add_null(struct resp_buf *b);                             /* $-1 */
void resp_add_array(struct resp_buf *b, size_t n);                  /* *n */

/* The longest decimal int64 ("-9223372036854775808"), NUL not included. */
#define RESP_INT64_MAX_DIGITS 20

/* Writes `v` in decimal at `dst` (room for RESP_INT64_MAX_DIGITS);
 * returns the length. */
size_t resp_format_int(char *dst, int64_t v);

/* Redis's strict integer syntax (no '+', no spaces, no leading zeros, no
 * "-0"): true and *out when `s` is one int64. */
bool resp_parse_int(const char *s, size_t len, int64_t *out);

#endif
