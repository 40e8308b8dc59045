/* unicycle.h: the public API an application sees. */
#ifndef UNICYCLE_UNICYCLE_H
#define UNICYCLE_UNICYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* The application's entry point: called once the runtime is up. Returning
 * from it ends the app with the returned status, as uc_exit() does. An app
 * that serves the network returns only when it wants to stop. */
int app_main(void);

/* Formatted output to the console (serial). Returns bytes written. */
int uc_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int uc_vprintf(const char *fmt, va_list ap);

/* Ends the app with `status` (0..126). On QEMU boards the status becomes
 * `unicycle run`'s exit status through isa-debug-exit; elsewhere the CPU
 * halts. 127 is what a crash (CPU exception, panic) or a status outside
 * 0..126 reports. */
__attribute__((noreturn)) void uc_exit(int status);

/* Hands the CPU to the runtime's event loop (network, timers, deferred
 * work) for good; end the app from a callback with uc_exit(). */
__attribute__((noreturn)) void uc_run(void);

/* Nanoseconds since the bootloader started (monotonic, TSC based). */
uint64_t uc_time_ns(void);

/* The kernel command line from the boot info ("" when none). */
const char *uc_cmdline(void);

/* 1 when the hardware watchdog (CONFIG_WATCHDOG) says its timeout caused
 * the reset before this boot, else 0 (also without a watchdog). */
int uc_watchdog_caused_reset(void);

#endif
