/* server.h: the kv server's network side: clients over <unicycle/tcp.h>, the expiry timer. */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include "config.h"

/* Listens on cfg->port (IPv4 and IPv6) and starts the periodic timer.
 * Returns 0, or a negative errno from uc_tcp_listen(). */
int server_start(const struct config *cfg);

#endif
