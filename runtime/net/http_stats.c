/* http_stats.c: the optional built-in route GET /_unicycle/stats (CONFIG_HTTP_STATS). */
#include <stdio.h>

#include <unicycle/http.h>
#include <unicycle/stats.h>

#include "config.h"
#include "net/http_stats.h"

#ifdef CONFIG_HTTP_STATS

#define HTTP_STATS_PATH "/_unicycle/stats"

/* One JSON object; tests and `make bench` read bytes_in_use from it to see
 * that a run of requests gives back every byte it allocated. */
static void http_stats_page(const struct uc_http_request *req, struct uc_http_response *res)
{
	struct uc_mem_stats mem;
	struct uc_loop_stats loop;
	char body[512];
	int n;

	(void)req;
	uc_mem_stats(&mem);
	uc_loop_stats(&loop);
	n = snprintf(body, sizeof(body),
		     "{\"mem\": {\"bytes_in_use\": %zu, \"peak_bytes\": %zu, "
		     "\"pages_free\": %zu, \"pages_total\": %zu, \"large_blocks\": %zu}, "
		     "\"loop\": {\"iterations\": %llu, \"events\": %llu, "
		     "\"idle_passes\": %llu, \"idle_ns\": %llu}}\n",
		     mem.bytes_in_use, mem.peak_bytes, mem.pages_free, mem.pages_total,
		     mem.large_blocks, (unsigned long long)loop.iterations,
		     (unsigned long long)loop.events, (unsigned long long)loop.idle_passes,
		     (unsigned long long)loop.idle_ns);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		uc_http_respond(res, 500, "text/plain", "stats too long\n", 15);
		return;
	}
	uc_http_header(res, "Cache-Control", "no-store");
	uc_http_respond(res, 200, "application/json", body, (size_t)n);
}

int http_stats_register(void)
{
	return uc_http_route(HTTP_STATS_PATH, http_stats_page);
}

#endif
