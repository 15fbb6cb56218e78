/* TLS as a core/transport.h byte transport for client connections
 * (transport.c). */
#ifndef RP_TLS_TRANSPORT_H
#define RP_TLS_TRANSPORT_H

#include "core/transport.h"

/* The table for rp_conn_t.tp; its ctx is the SSL * from rp_tls_conn_new,
 * which is also what the rp_tls_* functions of tls/tls.h take. */
extern const rp_transport_t rp_tls_transport;

/* New server-side SSL (an SSL *) on accepted socket fd, from ssl_ctx (the
 * default server's of the listen), in accept state, with `listen` (a
 * const rp_listen_t *) stored in rp_tls_listen_idx for the SNI callback.
 * NULL on failure. Freed by rp_tls_transport.close. */
void *rp_tls_conn_new(void *ssl_ctx, int fd, const void *listen);

#endif
