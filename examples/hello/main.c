/* main.c: a small Unicycle app that exercises the runtime: console, malloc, clock, crashes on request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/unicycle.h>

/* Addresses that fault on purpose: non-canonical (#GP) and far above any
 * RAM the firmware maps (#PF). */
#define HELLO_NONCANONICAL 0x8000000000000000ULL
#define HELLO_UNMAPPED     0x0000700000000000ULL

static void hello_crash(const char *how)
{
	if (strcmp(how, "crash=gp") == 0)
		(void)*(volatile int *)HELLO_NONCANONICAL;
	if (strcmp(how, "crash=pf") == 0)
		*(volatile int *)HELLO_UNMAPPED = 1;
	if (strcmp(how, "crash=ud") == 0)
		__asm__ volatile("ud2");
	if (strcmp(how, "crash=abort") == 0)
		abort();
}

int app_main(void)
{
	const char *cmd = uc_cmdline();
	uint64_t t0, t1;
	char *blocks[64];

	uc_printf("hello from app_main, cmdline '%s'\n", cmd);
	hello_crash(cmd);

	t0 = uc_time_ns();
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc((size_t)(i + 1) * 100);
		if (!blocks[i]) {
			uc_printf("hello: malloc failed\n");
			return 2;
		}
		memset(blocks[i], i, (size_t)(i + 1) * 100);
	}
	for (int i = 0; i < 64; i++)
		free(blocks[i]);

	t1 = uc_time_ns();
	printf("hello: 64 malloc/free pairs took %lu us; uptime %lu ms\n",
	       (unsigned long)((t1 - t0) / 1000), (unsigned long)(t1 / 1000000));
	return strcmp(cmd, "exit=7") == 0 ? 7 : 0;
}
