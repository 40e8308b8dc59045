/* http_stats.c: the optional built-in route GET /_unicycle/stats (CONFIG_HTTP_STATS). */
#include <stdio.h>

#include <unicycle/http.h>
#include <unicycle/stats.h>

#include "config.h"
#include "lwip/stats.h"
#include "net/http_stats.h"

#ifdef CONFIG_HTTP_STATS

#define HTTP_STATS_PATH "/_unicycle/stats"

/* lwIP's pools in use with CONFIG_NET_STATS (else ""), so a soak sees PCBs
 * and packet buffers come back as well as heap bytes. */
static void http_stats_lwip(char *out, size_t size)
{
#if LWIP_STATS && MEMP_STATS
	snprintf(out, size,
		 ", \"lwip\": {\"tcp_pcb\": %u, \"tcp_pcb_listen\": %u, "
		 "\"tcp_seg\": %u, \"pbuf_pool\": %u, \"pbuf\": %u}",
		 (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->used,
		 (unsigned)lwip_stats.memp[MEMP_TCP_PCB_LISTEN]->used,
		 (unsigned)lwip_stats.memp[MEMP_TCP_SEG]->used,
		 (unsigned)lwip_stats.memp[MEMP_PBUF_POOL]->used,
		 (unsigned)lwip_stats.memp[MEMP_PBUF]->used);
#else
	if (size > 0)
		out[0] = '\0';
#endif
}

/* One JSON object; tests and `make bench` read bytes_in_use from it to see
 * that a run of requests gives back every byte it allocated. */
static void http_stats_page(const struct uc_http_request *req, struct uc_http_response *res)
{
	struct uc_mem_stats mem;
	struct uc_loop_stats loop;
	char body[768], lwip[192];
	int n;

	(void)req;
	uc_mem_stats(&mem);
	uc_loop_stats(&loop);
	http_stats_lwip(lwip, sizeof(lwip));
	n = snprintf(body, sizeof(body),
		     "{\"mem\": {\"bytes_in_use\": %zu, \"peak_bytes\": %zu, "
		     "\"pages_free\": %zu, \"pages_total\": %zu, \"large_blocks\": %zu}, "
		     "\"loop\": {\"iterations\": %llu, \"events\": %llu, "
		     "\"idle_passes\": %llu, \"idle_ns\": %llu}%s}\n",
		     mem.bytes_in_use, mem.peak_bytes, mem.pages_free, mem.pages_total,
		     mem.large_blocks, (unsigned long long)loop.iterations,
		     (unsigned long long)loop.events, (unsigned long long)loop.idle_passes,
		     (unsigned long long)loop.idle_ns, lwip);
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
