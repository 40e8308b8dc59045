/* main.c: kv, a Redis-compatible key-value server: settings from the boot command line, the log, then serve. */
#include <unicycle/unicycle.h>

#include "config.h"
#include "server.h"

/* Room to quote one bad command-line word. */
#define MAIN_BAD_WORD_MAX 64

static struct config main_cfg;

static void main_started(int rc)
{
	if (rc < 0) {
		uc_printf("kv: cannot listen on port %u (%d)\n", (unsigned)main_cfg.port, rc);
		uc_exit(1);
	}
}

int app_main(void)
{
	char bad[MAIN_BAD_WORD_MAX];

	config_defaults(&main_cfg);
	if (config_parse(&main_cfg, uc_cmdline(), bad, sizeof(bad)) < 0) {
		uc_printf("kv: bad setting '%s' on the command line (known: maxmemory=SIZE "
			  "port=N maxclients=N timeout=SECONDS client-memory=SIZE appendonly=yes|no "
			  "appendfsync=always|everysec|no disk=SERIAL auto-aof-rewrite-min-size=SIZE "
			  "auto-aof-rewrite-percentage=N)\n", bad);
		return 2;
	}
	server_start(&main_cfg, main_started);
	uc_run();
}
