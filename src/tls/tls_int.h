/* Internal to src/tls: configuration error text and key-pair loading
 * shared by the server (tls_ctx.c) and client (tls_client.c) contexts. */
#ifndef RP_TLS_TLS_INT_H
#define RP_TLS_TLS_INT_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "conf/conf.h"

typedef struct {
    char *err;
    size_t errlen;
} rp__tls_err_t;

/* Writes "<sentence>[ (SSL: <openssl reason>)] in FILE:LINE" into e and
 * clears OpenSSL's error queue. Returns RP_ERROR. */
int rp__tls_fail(rp__tls_err_t *e, const char *file, int line, int ssl_reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Loads a certificate chain and its key into ctx, checking they match. */
int rp__tls_load_pair(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_arg_t *cert,
                      const rp_ssl_arg_t *key);

/* Applies ssl_conf_command / proxy_ssl_conf_command entries to ctx; side is
 * SSL_CONF_FLAG_SERVER or SSL_CONF_FLAG_CLIENT, directive names the errors. */
int rp__tls_conf_commands(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_conf_cmd_t *cmds, size_t n,
                          unsigned int side, const char *directive);

#endif
