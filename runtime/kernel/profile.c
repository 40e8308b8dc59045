/* profile.c: per-stage TSC profile of the network path (CONFIG_PROFILE, profile.h). */
#include <string.h>

#include "arch/x86_64/io.h"
#include "kernel/kernel.h"
#include "kernel/profile.h"

#ifdef CONFIG_PROFILE

#define PROFILE_DEPTH 8  /* nested stages kept; deeper ones are not timed */

static const char *const profile_names[PROFILE_NSTAGES] = {
	[PROFILE_DRIVER_RX] = "driver_rx",
	[PROFILE_LWIP_IN] = "lwip_in",
	[PROFILE_HTTP] = "http",
	[PROFILE_HTTP_PARSE] = "http_parse",
	[PROFILE_HTTP_HANDLER] = "http_handler",
	[PROFILE_LWIP_WRITE] = "lwip_write",
	[PROFILE_LWIP_OUT] = "lwip_out",
	[PROFILE_OUTPUT] = "output",
	[PROFILE_TX_DOORBELL] = "tx_doorbell",
};

static struct profile_stage_stats profile_stats[PROFILE_NSTAGES];
static uint64_t profile_requests;
/* The stages running now, innermost last, with their own cycles so far. */
static struct {
	enum profile_stage stage;
	uint64_t own;
} profile_stack[PROFILE_DEPTH];
static unsigned profile_depth;   /* may exceed PROFILE_DEPTH: those are skipped */
static uint64_t profile_last;    /* TSC when the innermost stage last resumed */

void profile_enter(enum profile_stage s)
{
	uint64_t now = rdtsc();

	if (profile_depth > 0 && profile_depth <= PROFILE_DEPTH)
		profile_stack[profile_depth - 1].own += now - profile_last;
	if (profile_depth < PROFILE_DEPTH) {
		profile_stack[profile_depth].stage = s;
		profile_stack[profile_depth].own = 0;
	}
	profile_depth++;
	profile_last = now;
}

void profile_exit(enum profile_stage s)
{
	uint64_t now = rdtsc();
	struct profile_stage_stats *st;
	uint64_t own;

	if (profile_depth == 0)
		return;   /* reset inside a stage: its exit has nothing to close */
	profile_depth--;
	if (profile_depth < PROFILE_DEPTH && profile_stack[profile_depth].stage == s) {
		own = profile_stack[profile_depth].own + (now - profile_last);
		st = &profile_stats[s];
		st->count++;
		st->cycles += own;
		if (own > st->max_cycles)
			st->max_cycles = own;
	}
	profile_last = now;
}

void profile_request(void)
{
	profile_requests++;
}

uint64_t profile_read(struct profile_stage_stats out[PROFILE_NSTAGES])
{
	memcpy(out, profile_stats, sizeof(profile_stats));
	return profile_requests;
}

void profile_reset(void)
{
	/* Called from a handler, inside stages: they keep running and are
	 * counted on exit, from zero. */
	memset(profile_stats, 0, sizeof(profile_stats));
	profile_requests = 0;
}

const char *profile_stage_name(enum profile_stage s)
{
	return (unsigned)s < PROFILE_NSTAGES ? profile_names[s] : "?";
}

#endif
