/* main.c: the smallest Unicycle app: prints a line and exits with status 0. */
#include <unicycle/unicycle.h>

int app_main(void)
{
	uc_printf("hello from app_main, cmdline '%s'\n", uc_cmdline());
	return 0;
}
