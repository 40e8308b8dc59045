/* http_stats.h: registering the built-in statistics route (http_stats.c). */
#ifndef UNICYCLE_NET_HTTP_STATS_H
#define UNICYCLE_NET_HTTP_STATS_H

/* Adds GET /_unicycle/stats; 0 or a negative errno from uc_http_route(). */
int http_stats_register(void);

#endif
