/* kvfile.h: reading "key = value" text files (boot.cfg, payload.cfg) line by line. */
#ifndef UNICYCLE_BOOT_KVFILE_H
#define UNICYCLE_BOOT_KVFILE_H

#include <stddef.h>

/*
 * The format both files share: one "key = value" per line, blanks around
 * key and value ignored, '#' starts a comment anywhere on a line (so values
 * cannot hold '#'), CRLF line ends and a UTF-8 BOM accepted, no NUL bytes.
 */

enum kvfile_status {
	KVFILE_END,        /* no more lines */
	KVFILE_PAIR,       /* kv holds the next pair */
	KVFILE_NO_EQUALS,  /* a non-blank line without '=': kv.key holds the line */
	KVFILE_EMPTY_KEY,  /* "= value" */
	KVFILE_TOO_BIG,    /* from kvfile_init */
	KVFILE_NUL,        /* from kvfile_init */
};

struct kvfile {
	const char *p, *end;
	unsigned line;     /* line number of the pair last returned, from 1 */
};

struct kv {
	const char *key;
	size_t keylen;
	const char *value;
	size_t valuelen;
};

/* KVFILE_PAIR when `text` may be read with kvfile_next(), else TOO_BIG/NUL. */
enum kvfile_status kvfile_init(struct kvfile *kf, const char *text, size_t len,
                               size_t max);
/* The next pair, skipping blank and comment-only lines. */
enum kvfile_status kvfile_next(struct kvfile *kf, struct kv *out);
/* Index of kv's key in keys[0..n), or -1. */
int kvfile_key(const char *const *keys, int n, const struct kv *kv);
/* n hex digits (either case, n even, n / 2 <= max) into out: the byte count,
 * or -1 for anything else (digests, key ids, signatures). */
long kvfile_hex(const char *s, size_t n, unsigned char *out, size_t max);

#endif
