/* watchdog.h: selftest's watchdog modes (watchdog.c), for builds with CONFIG_WATCHDOG. */
#ifndef SELFTEST_WATCHDOG_H
#define SELFTEST_WATCHDOG_H

/* Runs watchdog mode `cmd` (wd-stall, wd-stall-irqoff, wd-healthy, wd-exit)
 * and never returns; returns at once for any other command line. */
void st_watchdog(const char *cmd);

#endif
