/* http_profile.h: registering the built-in profile route (http_profile.c). */
#ifndef UNICYCLE_NET_HTTP_PROFILE_H
#define UNICYCLE_NET_HTTP_PROFILE_H

/* Adds GET /_unicycle/profile; 0 or a negative errno from uc_http_route(). */
int http_profile_register(void);

#endif
