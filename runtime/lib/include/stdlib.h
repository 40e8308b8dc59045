/* stdlib.h: the subset of the C library the runtime provides. */
#ifndef UNICYCLE_LIBC_STDLIB_H
#define UNICYCLE_LIBC_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
void *aligned_alloc(size_t alignment, size_t size);

int atoi(const char *s);
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
int abs(int x);
long labs(long x);
/* Same as uc_exit(status). */
__attribute__((noreturn)) void exit(int status);
/* Panics with "abort" and the caller's address. */
__attribute__((noreturn)) void abort(void);

#endif
