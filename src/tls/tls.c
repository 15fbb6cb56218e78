/* The values behind the $ssl_* variables and error text for logs.
 * Contexts and callbacks are in tls_ctx.c, the transport in transport.c.
 */
#include "tls/tls.h"

#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/common.h"

static __thread char err_text[320];

const char *rp_tls_last_error(void)
{
    unsigned long code = 0, c;
    while ((c = ERR_get_error()) != 0)
        code = c;
    if (!code) {
        err_text[0] = '\0';
        return err_text;
    }
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    snprintf(err_text, sizeof(err_text), "SSL: %s", buf);
    return err_text;
}

rp_server_t *rp_tls_server(SSL *ssl)
{
    return rp_tls_server_idx >= 0 ? SSL_get_ex_data(ssl, rp_tls_server_idx) : NULL;
}

int rp_tls_alpn_h2(SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
}

/* ---- variables ---- */

const char *rp_tls_protocol(SSL *ssl)
{
    return SSL_get_version(ssl);
}

const char *rp_tls_cipher(SSL *ssl)
{
    return SSL_get_cipher_name(ssl);
}

const char *rp_tls_server_name(SSL *ssl)
{
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

int rp_tls_session_reused(SSL *ssl)
{
    return SSL_session_reused(ssl) == 1;
}

const char *rp_tls_client_verify(SSL *ssl)
{
    static __thread char buf[160];
    if (!SSL_get0_peer_certificate(ssl))
        return "NONE";
    long r = SSL_get_verify_result(ssl);
    if (r == X509_V_OK)
        return "SUCCESS";
    snprintf(buf, sizeof(buf), "FAILED:%s", X509_verify_cert_error_string(r));
    return buf;
}

int rp_tls_client_s_dn(SSL *ssl, char *buf, size_t cap)
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (!x) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    BIO *m = BIO_new(BIO_s_mem());
    if (!m)
        return -1;
    int rc = -1;
    if (X509_NAME_print_ex(m, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        char *data;
        long n = BIO_get_mem_data(m, &data);
        if (n >= 0 && (size_t)n < cap) {
            memcpy(buf, data, (size_t)n);
            buf[n] = '\0';
            rc = (int)n;
        }
    }
    BIO_free(m);
    return rc;
}

int rp_tls_client_fingerprint(SSL *ssl, char *buf, size_t cap)
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (!x) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    if (cap < 41)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != 20)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        buf[2 * i] = hex[md[i] >> 4];
        buf[2 * i + 1] = hex[md[i] & 15];
    }
    buf[40] = '\0';
    return 40;
}
