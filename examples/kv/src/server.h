/* server.h: the kv server's network side: clients over <unicycle/tcp.h>, the expiry timer. */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include "config.h"

/* Loads the log (persist.h), then listens on cfg->port (IPv4 and IPv6)
 * and starts the periodic timer; runs started(0), or started() with the
 * negative errno from uc_tcp_listen(), from the event loop once done. */
void server_start(const struct config *cfg, void (*started)(int rc));

#endif
