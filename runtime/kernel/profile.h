/* profile.h: per-stage TSC profile of the network path (CONFIG_PROFILE); every macro is empty without it. */
#ifndef UNICYCLE_KERNEL_PROFILE_H
#define UNICYCLE_KERNEL_PROFILE_H

#include <stdint.h>

/* The build's config.h; host unit tests have none, and no profile. */
#if defined(__has_include) && __has_include("config.h")
#include "config.h"
#endif

/*
 * Stages nest (a receive poll runs lwIP's input, which runs the HTTP
 * engine, which queues output...), and each is charged only its own
 * cycles: entering a stage pauses the one it runs inside. So the stages'
 * totals add up to the time spent in all of them, and a stage's max is
 * its own longest single run. CPU 0's network path only (the one that
 * runs lwIP); not safe to call from other CPUs.
 */
enum profile_stage {
	PROFILE_DRIVER_RX,   /* NIC receive poll that found frames (minus the stack) */
	PROFILE_LWIP_IN,     /* netif->input: ethernet_input .. tcp_input, and lwIP's
			      * own output work run from inside it (tcp_output, IP) */
	PROFILE_HTTP,        /* the HTTP engine around the two below: feeding it the
			      * received bytes, flushing, keep-alive and close */
	PROFILE_HTTP_PARSE,  /* http-parser over the request bytes (its callbacks) */
	PROFILE_HTTP_HANDLER,/* route lookup done: the app's handler and the
			      * response head it formats (uc_http_respond) */
	PROFILE_LWIP_WRITE,  /* tcp_write: the response copied into lwIP's segments */
	PROFILE_LWIP_OUT,    /* tcp_output called outside lwIP's input (deferred pushes) */
	PROFILE_OUTPUT,      /* linkoutput: lwIP frame to the driver's TX ring */
	PROFILE_TX_DOORBELL, /* the TX doorbell: virtio notify / e1000e TDT write */
	PROFILE_NSTAGES,
};

struct profile_stage_stats {
	uint64_t count;      /* runs */
	uint64_t cycles;     /* own TSC cycles, all runs */
	uint64_t max_cycles; /* own TSC cycles, longest run */
};

#ifdef CONFIG_PROFILE
void profile_enter(enum profile_stage s);
void profile_exit(enum profile_stage s);
void profile_request(void);
/* A copy of the counters; returns the requests counted. */
uint64_t profile_read(struct profile_stage_stats out[PROFILE_NSTAGES]);
void profile_reset(void);
const char *profile_stage_name(enum profile_stage s);
#define PROFILE_ENTER(s) profile_enter(s)
#define PROFILE_EXIT(s)  profile_exit(s)
#define PROFILE_REQUEST() profile_request()
#else
#define PROFILE_ENTER(s) do { } while (0)
#define PROFILE_EXIT(s)  do { } while (0)
#define PROFILE_REQUEST() do { } while (0)
#endif

#endif
