/* http_profile.c: the optional built-in route GET /_unicycle/profile (CONFIG_PROFILE). */
#include <stdio.h>
#include <string.h>

#include <unicycle/http.h>

#include "config.h"
#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/http_profile.h"

#ifdef CONFIG_PROFILE

#define HTTP_PROFILE_PATH "/_unicycle/profile"
#define HTTP_PROFILE_NS   1000000000ull

static uint64_t http_profile_ns(uint64_t cycles, uint64_t hz)
{
	return hz ? (uint64_t)((unsigned __int128)cycles * HTTP_PROFILE_NS / hz) : 0;
}

/* One JSON object: per stage its runs, own cycles (total, longest) and the
 * same in ns, and the means per request (HTTP requests dispatched since
 * the last reset). ?reset zeroes everything after this answer's numbers
 * are taken. */
static void http_profile_page(const struct uc_http_request *req, struct uc_http_response *res)
{
	struct profile_stage_stats st[PROFILE_NSTAGES];
	/* The TSC rate from the clock: ticks in one second of time_ns(). */
	uint64_t hz = time_ns_to_tsc(HTTP_PROFILE_NS) - time_ns_to_tsc(0);
	uint64_t requests = profile_read(st);
	char body[2048];
	size_t n;
	int k;
	unsigned i;

	k = snprintf(body, sizeof(body), "{\"tsc_hz\": %llu, \"requests\": %llu, \"stages\": {",
		     (unsigned long long)hz, (unsigned long long)requests);
	n = k > 0 ? (size_t)k : 0;
	for (i = 0; i < PROFILE_NSTAGES && n < sizeof(body); i++) {
		uint64_t per_req = requests ? st[i].cycles / requests : 0;

		k = snprintf(body + n, sizeof(body) - n,
			     "%s\"%s\": {\"count\": %llu, \"cycles\": %llu, \"max_cycles\": %llu, "
			     "\"ns\": %llu, \"max_ns\": %llu, \"cycles_per_request\": %llu, "
			     "\"ns_per_request\": %llu}",
			     i ? ", " : "", profile_stage_name((enum profile_stage)i),
			     (unsigned long long)st[i].count, (unsigned long long)st[i].cycles,
			     (unsigned long long)st[i].max_cycles,
			     (unsigned long long)http_profile_ns(st[i].cycles, hz),
			     (unsigned long long)http_profile_ns(st[i].max_cycles, hz),
			     (unsigned long long)per_req,
			     (unsigned long long)http_profile_ns(per_req, hz));
		n += k > 0 ? (size_t)k : 0;
	}
	if (n < sizeof(body)) {
		k = snprintf(body + n, sizeof(body) - n, "}}\n");
		n += k > 0 ? (size_t)k : 0;
	}
	if (n >= sizeof(body)) {
		uc_http_respond(res, 500, "text/plain", "profile too long\n", 17);
		return;
	}
	if (strcmp(req->query, "reset") == 0)
		profile_reset();
	uc_http_header(res, "Cache-Control", "no-store");
	uc_http_respond(res, 200, "application/json", body, n);
}

int http_profile_register(void)
{
	return uc_http_route(HTTP_PROFILE_PATH, http_profile_page);
}

#endif
