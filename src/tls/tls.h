/* TLS termination with OpenSSL 3: one SSL_CTX per server that has
 * certificates (built at configuration load from rp_server_t.ssl), SNI
 * choosing the server, ALPN, session tickets, OCSP stapling from a file,
 * client certificates; and the small non-blocking transport the connection
 * code drives.
 *
 * Threading: contexts are built on the main thread at load and are then
 * read-only; every worker thread creates its SSL objects from them (OpenSSL
 * locks the shared session cache itself). A context is freed with the
 * generation's arena, after the last connection of that generation: an SSL
 * holds its own reference to its SSL_CTX, so a live connection keeps the
 * context usable even after the generation was released.
 */
#ifndef RP_TLS_TLS_H
#define RP_TLS_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "conf/conf.h"
#include "core/arena.h"

/* ex_data indexes on SSL objects (valid after rp_tls_init):
 * rp_tls_listen_idx: the `const rp_listen_t *` the connection was accepted
 *   on (rp_tls_conn_new sets it; the SNI callback reads it);
 * rp_tls_server_idx: the `rp_server_t *` SNI selected (unset/NULL when the
 *   client sent no SNI or no resolver is installed). */
extern int rp_tls_listen_idx;
extern int rp_tls_server_idx;

/* Creates the ex_data indexes; idempotent and thread-safe (pthread_once).
 * The context builder calls it too, so a config load works without it.
 * Returns RP_OK or RP_ERROR. */
int rp_tls_init(void);

/* SNI: fn picks the server of listen `ls` for a host name (lower-case, no
 * trailing dot, NUL-terminated, len bytes), normally
 * rp_route_server(ls, (rp_str_t){host, len}). Without a resolver SNI never
 * switches contexts. Set once at start-up, before any handshake. */
typedef rp_server_t *(*rp_tls_sni_resolver_t)(const rp_listen_t *ls, const char *host, size_t len);
void rp_tls_set_sni_resolver(rp_tls_sni_resolver_t fn);

/* Builds s->ssl_ctx from s->ssl (certificates, protocols, ciphers, curves,
 * DH, session cache/tickets, stapling, client verification, SNI and ALPN
 * callbacks) and registers its release on arena a. On failure writes
 * "<sentence> in FILE:LINE" (the directive at fault) to err and returns
 * RP_ERROR. Called by the configuration layer for every server with
 * certificates; idempotent when s->ssl_ctx is already set. */
int rp_tls_server_ctx(rp_server_t *s, rp_arena_t *a, char *err, size_t errlen);

/* The transport itself (rp_tls_transport, rp_tls_conn_new) is declared in
 * tls/transport.h. */

/* The server SNI chose, or NULL (then route by Host / use the default). */
rp_server_t *rp_tls_server(SSL *ssl);

/* Text of the last OpenSSL error of this thread ("" when none), for logs,
 * e.g. "SSL_do_handshake() failed (SSL: error:0A00010B:...:wrong version
 * number)". Clears the thread's error queue. */
const char *rp_tls_last_error(void);

/* ---- variables ($ssl_*): cheap, no allocation unless noted ---- */

const char *rp_tls_protocol(SSL *ssl);    /* "TLSv1.3" */
const char *rp_tls_cipher(SSL *ssl);      /* "TLS_AES_128_GCM_SHA256" */
const char *rp_tls_server_name(SSL *ssl); /* SNI as sent, or NULL */
/* 1 when ALPN chose "h2" in the finished handshake. */
int rp_tls_alpn_h2(SSL *ssl);
int rp_tls_session_reused(SSL *ssl); /* 1 resumed, 0 full handshake */
/* "SUCCESS", "FAILED:<reason>", "NONE" (no client certificate). The
 * FAILED text lives in a thread-local buffer until the next call. */
const char *rp_tls_client_verify(SSL *ssl);
/* Subject DN of the client certificate, RFC 2253 ("CN=x,O=y"), NUL-
 * terminated into buf. Returns the length, 0 when no certificate, or -1
 * when it does not fit. */
int rp_tls_client_s_dn(SSL *ssl, char *buf, size_t cap);
/* SHA-1 of the DER client certificate as 40 lower-case hex digits (nginx's
 * $ssl_client_fingerprint). Returns 40, 0 when no certificate, -1 when
 * cap < 41. */
int rp_tls_client_fingerprint(SSL *ssl, char *buf, size_t cap);

/* ---- TLS to backends (tls_client.c) ---- */

/* Builds a client SSL_CTX from merged proxy_ssl_* settings c: protocols,
 * ciphers, verification (SSL_VERIFY_PEER, trusted store, depth when
 * c->verify), client certificate, conf commands, and the session cache
 * when c->session_reuse. Registers its release on arena a and stores it
 * in *out. On failure writes "<sentence> in FILE:LINE" (the directive at
 * fault, else file:line given, the location) and returns RP_ERROR. Called
 * by the configuration layer for each location with proxy_pass https://. */
int rp_tls_client_ctx(const rp_proxy_ssl_conf_t *c, rp_arena_t *a, void **out, const char *file,
                      int line, char *err, size_t errlen);

/* New client SSL (an SSL *) on connected socket fd, in connect state, with
 * partial writes, moving write buffers and released idle buffers; drive it
 * with rp_tls_transport (tls/transport.h) like a server-side one.
 *   sni: host name sent in SNI, NULL for none (an IP literal is never sent,
 *        RFC 6066 section 3);
 *   verify_name: name (or IP literal) the certificate must match when the
 *        context verifies, NULL for no name check;
 *   peer: identity of the backend server for session reuse (any pointer
 *        stable for the generation, e.g. the rp_upstream_server_t *), NULL
 *        for no reuse. A session cached for (peer, sni, verify_name) is
 *        offered, and new sessions (TLS 1.3: tickets read after the
 *        handshake) replace it; the cache lives in the context, is shared
 *        by all threads (mutex) and holds at most 1024 entries.
 * NULL on failure. Freed by rp_tls_transport.close. */
void *rp_tls_client_new(void *client_ctx, int fd, const char *sni, const char *verify_name,
                        const void *peer);

/* Why certificate verification failed ("certificate has expired",
 * "hostname mismatch", ...), for the error log after a failed handshake;
 * NULL when verification did not fail. Static text. */
const char *rp_tls_verify_error(SSL *ssl);

/* Number of sessions cached in a client context (tests, status). */
size_t rp_tls_client_cached(void *client_ctx);

#endif
