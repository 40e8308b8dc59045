/* main.c: kv, a Redis-compatible key-value server: settings from the boot command line, then serve. */
#include <unicycle/unicycle.h>

#include "config.h"
#include "server.h"

/* Room to quote one bad command-line word. */
#define MAIN_BAD_WORD_MAX 64

int app_main(void)
{
	char bad[MAIN_BAD_WORD_MAX];
	struct config cfg;
	int rc;

	config_defaults(&cfg);
	if (config_parse(&cfg, uc_cmdline(), bad, sizeof(bad)) < 0) {
		uc_printf("kv: bad setting '%s' on the command line (known: maxmemory=SIZE "
			  "port=N maxclients=N timeout=SECONDS client-memory=SIZE)\n", bad);
		return 2;
	}
	rc = server_start(&cfg);
	if (rc < 0) {
		uc_printf("kv: cannot listen on port %u (%d)\n", (unsigned)cfg.port, rc);
		return 1;
	}
	uc_run();
}
