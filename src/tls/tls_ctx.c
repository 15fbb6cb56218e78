/* Building a server's SSL_CTX from its merged ssl_* settings, and the
 * callbacks installed on it: SNI, ALPN, session tickets from key files,
 * OCSP stapling from a file.
 */
#include "tls/tls.h"
#include "tls/tls_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/common.h"
#include "core/log.h"

int rp_tls_listen_idx = -1;
int rp_tls_server_idx = -1;
/* SSL: the SSL_CTX the SSL was created with, recorded by the SNI callback
 * before it switches. OpenSSL takes ticket keys from that "session
 * context" even after the switch, and has no public getter for it. */
static int session_ctx_idx = -1;
/* SSL_CTX: our per-context data (ctx_data_t) */
static int ctx_data_idx = -1;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = RP_ERROR;
static rp_tls_sni_resolver_t sni_resolver;

static void ctx_data_exfree(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp);

static void do_init(void)
{
    if (OPENSSL_init_ssl(0, NULL) != 1)
        return;
    rp_tls_listen_idx = SSL_get_ex_new_index(0, "rampart listen", NULL, NULL, NULL);
    rp_tls_server_idx = SSL_get_ex_new_index(0, "rampart server", NULL, NULL, NULL);
    session_ctx_idx = SSL_get_ex_new_index(0, "rampart session ctx", NULL, NULL, NULL);
    ctx_data_idx = SSL_CTX_get_ex_new_index(0, "rampart ctx data", NULL, NULL, ctx_data_exfree);
    if (rp_tls_listen_idx >= 0 && rp_tls_server_idx >= 0 && session_ctx_idx >= 0 &&
        ctx_data_idx >= 0)
        init_rc = RP_OK;
}

int rp_tls_init(void)
{
    pthread_once(&init_once, do_init);
    return init_rc;
}

void rp_tls_set_sni_resolver(rp_tls_sni_resolver_t fn)
{
    sni_resolver = fn;
}

/* ---- per-context data ---- */

/* nginx's ticket key files: 48 bytes = name(16) hmac(16) aes128(16),
 * 80 bytes = name(16) hmac(32) aes256(32). */
typedef struct {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
    size_t hmac_len;
    int aes256;
} ticket_key_t;

typedef struct {
    ticket_key_t *keys; /* keys[0] encrypts */
    size_t nkeys;
    unsigned char *ocsp; /* DER OCSP response to staple */
    size_t ocsp_len;
    int verify_no_ca; /* optional_no_ca: any client certificate passes */
} ctx_data_t;

/* The data lives as long as its SSL_CTX (ex_data free callback), not as
 * long as the generation: an SSL keeps its context alive past the
 * generation that built it. */
static void ctx_data_exfree(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
    ctx_data_t *d = ptr;
    if (!d)
        return;
    if (d->keys)
        OPENSSL_clear_free(d->keys, d->nkeys * sizeof(*d->keys));
    OPENSSL_free(d->ocsp);
    OPENSSL_free(d);
}

static void ctx_release(void *ctx)
{
    SSL_CTX_free(ctx);
}

/* ---- errors ---- */

int rp__tls_fail(rp__tls_err_t *e, const char *file, int line, int ssl_reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
    unsigned long code = 0, c;
    while ((c = ERR_get_error()) != 0)
        code = c; /* the last one is the most specific */
    if (k >= 0 && (size_t)k < e->errlen && ssl_reason && code) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof(buf));
        k += snprintf(e->err + k, e->errlen - (size_t)k, " (SSL: %s)", buf);
    }
    if (k >= 0 && (size_t)k < e->errlen && file)
        snprintf(e->err + k, e->errlen - (size_t)k, " in %s:%d", file, line);
    ERR_clear_error();
    return RP_ERROR;
}

int rp__tls_load_pair(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_arg_t *cert,
                      const rp_ssl_arg_t *key)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert->value) != 1)
        return rp__tls_fail(e, cert->file, cert->line, 1, "cannot load certificate \"%s\"",
                            cert->value);
    if (SSL_CTX_use_PrivateKey_file(ctx, key->value, SSL_FILETYPE_PEM) != 1) {
        unsigned long code = ERR_peek_last_error();
        if (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
            ERR_GET_REASON(code) == X509_R_KEY_TYPE_MISMATCH)
            return rp__tls_fail(e, key->file, key->line, 0,
                                "certificate \"%s\" and key \"%s\" do not match", cert->value,
                                key->value);
        return rp__tls_fail(e, key->file, key->line, 1, "cannot load certificate key \"%s\"",
                            key->value);
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return rp__tls_fail(e, key->file, key->line, 0,
                            "certificate \"%s\" and key \"%s\" do not match", cert->value,
                            key->value);
    return RP_OK;
}

/* ---- callbacks ---- */

/* Host names in SNI are ASCII DNS names (RFC 6066 section 3): lower-case
 * them for matching, drop one trailing dot, refuse what could never be a
 * host (controls, '/', '\\', empty labels) with unrecognized_name. */
static int sni_normalize(const char *in, char *out, size_t cap, size_t *len)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap || in[0] == '.')
        return RP_ERROR;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '\\')
            return RP_ERROR;
        if (ch == '.' && i + 1 < n && in[i + 1] == '.')
            return RP_ERROR;
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[n] = '\0';
    *len = n;
    return RP_OK;
}

static int servername_cb(SSL *s, int *alert, void *arg)
{
    const char *name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    const rp_listen_t *ls = SSL_get_ex_data(s, rp_tls_listen_idx);
    if (!name || !ls || !sni_resolver)
        return SSL_TLSEXT_ERR_OK; /* the default server's context stays */
    char host[256];
    size_t len;
    if (sni_normalize(name, host, sizeof(host), &len) != RP_OK) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    rp_server_t *srv = sni_resolver(ls, host, len);
    if (!srv)
        return SSL_TLSEXT_ERR_OK;
    SSL_set_ex_data(s, rp_tls_server_idx, srv);
    SSL_CTX *ctx = srv->ssl_ctx;
    if (!ctx || ctx == SSL_get_SSL_CTX(s))
        return SSL_TLSEXT_ERR_OK; /* no certificate of its own: default's */
    /* remember the context the SSL was made from: ticket keys stay its */
    SSL_set_ex_data(s, session_ctx_idx, SSL_get_SSL_CTX(s));
    if (!SSL_set_SSL_CTX(s, ctx))
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    /* SSL_set_SSL_CTX swaps certificates, CA names and the verify store but
     * not the per-SSL copies of these: take the server's client
     * verification and options. Protocol versions, ciphers, curves and
     * session caching stay those of the default server of the listen (as
     * in nginx): the ClientHello was already matched against them. */
    SSL_set_verify(s, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(s, SSL_CTX_get_verify_depth(ctx));
    SSL_clear_options(s, SSL_get_options(s) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(s, SSL_CTX_get_options(ctx));
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN (RFC 7301): h2 first when HTTP/2 is on for the address (`listen
 * ... http2`) or for the server SNI chose (`http2 on`), then http/1.1. A
 * client that sends no ALPN never gets here and is served HTTP/1.1; one
 * whose list has nothing of ours gets the no_application_protocol alert the
 * RFC requires (section 3.2) instead of bytes it could not parse. */
static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char h1[] = "\x08http/1.1";
    (void)arg;
    const rp_listen_t *ls = SSL_get_ex_data(s, rp_tls_listen_idx);
    const rp_server_t *srv = rp_tls_server(s);
    if (!srv && ls)
        srv = ls->default_server;
    int h2 = (ls && ls->http2) || (srv && srv->http2 == 1);
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h2 ? both : h1, h2 ? sizeof(both) - 1 : sizeof(h1) - 1,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static ctx_data_t *ticket_data(SSL *s)
{
    SSL_CTX *ctx = SSL_get_ex_data(s, session_ctx_idx);
    if (!ctx)
        ctx = SSL_get_SSL_CTX(s);
    return SSL_CTX_get_ex_data(ctx, ctx_data_idx);
}

static int ticket_key_init(const ticket_key_t *k, unsigned char *iv, EVP_CIPHER_CTX *ectx,
                           EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, k->hmac_len);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    const EVP_CIPHER *cipher = k->aes256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
    if (!EVP_MAC_CTX_set_params(hctx, params))
        return -1;
    if (enc)
        return EVP_EncryptInit_ex(ectx, cipher, NULL, k->aes, iv) == 1 ? 0 : -1;
    return EVP_DecryptInit_ex(ectx, cipher, NULL, k->aes, iv) == 1 ? 0 : -1;
}

/* Session tickets under operator keys (RFC 5077 section 4's recommended
 * layout: key name, AES-CBC, HMAC-SHA256). The first key encrypts new
 * tickets; a ticket under any other listed key is accepted and re-issued
 * under the first (return 2), which is how a rotation rolls over. */
static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
                     EVP_MAC_CTX *hctx, int enc)
{
    ctx_data_t *d = ticket_data(s);
    if (!d || d->nkeys == 0)
        return -1;
    if (enc) {
        const ticket_key_t *k = &d->keys[0];
        if (RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_128_cbc())) != 1)
            return -1;
        memcpy(key_name, k->name, 16);
        return ticket_key_init(k, iv, ectx, hctx, 1) == 0 ? 1 : -1;
    }
    for (size_t i = 0; i < d->nkeys; i++) {
        if (memcmp(key_name, d->keys[i].name, 16) != 0)
            continue;
        if (ticket_key_init(&d->keys[i], iv, ectx, hctx, 0) != 0)
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0; /* unknown key: full handshake, new ticket */
}

/* OCSP stapling (RFC 6066 section 8) of a response the operator fetched:
 * served as is when the client asks for it. */
static int status_cb(SSL *s, void *arg)
{
    ctx_data_t *d = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_data_idx);
    if (!d || !d->ocsp || SSL_get_tlsext_status_type(s) != TLSEXT_STATUSTYPE_ocsp)
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *copy = OPENSSL_memdup(d->ocsp, d->ocsp_len);
    if (!copy)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(s, copy, (long)d->ocsp_len) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* optional_no_ca: the certificate is requested and its verification
 * result recorded ($ssl_client_verify), but never fails the handshake. */
static int verify_accept_cb(int ok, X509_STORE_CTX *x)
{
    return 1;
}

/* ---- building ---- */

static unsigned char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = OPENSSL_malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        OPENSSL_free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static const char *key_type_name(int id)
{
    switch (id) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "ECDSA";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    default:
        return "unknown";
    }
}

static int load_pair(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_arg_t *cert,
                     const rp_ssl_arg_t *key, int *types, size_t *ntypes)
{
    /* read the leaf ourselves first: its expiry and key type are checked
     * with the certificate's own line in the error */
    BIO *b = BIO_new_file(cert->value, "r");
    if (!b)
        return rp__tls_fail(e, cert->file, cert->line, 1, "cannot load certificate \"%s\": %s",
                            cert->value, errno ? strerror(errno) : "BIO_new_file() failed");
    X509 *x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!x)
        return rp__tls_fail(e, cert->file, cert->line, 1,
                            "cannot load certificate \"%s\": PEM_read_bio_X509_AUX() failed",
                            cert->value);
    int expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
    char when[64] = "";
    if (expired) {
        BIO *m = BIO_new(BIO_s_mem());
        if (m && ASN1_TIME_print(m, X509_get0_notAfter(x)) == 1) {
            int k = BIO_read(m, when, sizeof(when) - 1);
            when[k > 0 ? k : 0] = '\0';
        }
        BIO_free(m);
    }
    EVP_PKEY *pub = X509_get0_pubkey(x);
    int type = pub ? EVP_PKEY_get_base_id(pub) : 0;
    X509_free(x);
    if (expired)
        return rp__tls_fail(e, cert->file, cert->line, 0, "certificate \"%s\" expired on %s",
                            cert->value, when);
    /* OpenSSL keeps one certificate per key type in a context: a second of
     * the same type would silently replace the first */
    for (size_t i = 0; i < *ntypes; i++)
        if (types[i] == type)
            return rp__tls_fail(
                e, cert->file, cert->line, 0,
                "a second %s certificate \"%s\" in the same server (one RSA and one "
                "ECDSA certificate may be combined)",
                key_type_name(type), cert->value);
    types[(*ntypes)++] = type;

    return rp__tls_load_pair(e, ctx, cert, key);
}

static int set_protocols(rp__tls_err_t *e, SSL_CTX *ctx, const rp_server_t *s)
{
    static const struct {
        int bit;
        int version;
    } v[] = {
        { RP_SSL_TLSv1, TLS1_VERSION },
        { RP_SSL_TLSv1_1, TLS1_1_VERSION },
        { RP_SSL_TLSv1_2, TLS1_2_VERSION },
        { RP_SSL_TLSv1_3, TLS1_3_VERSION },
    };
    int p = s->ssl.protocols, lo = 0, hi = 0;
    for (size_t i = 0; i < RP_ARRAY_LEN(v); i++)
        if (p & v[i].bit) {
            if (!lo)
                lo = v[i].version;
            hi = v[i].version;
        }
    if (!lo)
        return rp__tls_fail(e, s->file, s->line, 0, "no TLS protocol is enabled");
    if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi))
        return rp__tls_fail(e, s->file, s->line, 1, "cannot set TLS protocol versions");
    /* a hole in the range ("TLSv1 TLSv1.2"): OpenSSL then keeps only the
     * versions below the hole, which its security level refuses, so every
     * handshake would fail; say so at load time instead */
    for (size_t i = 0; i < RP_ARRAY_LEN(v); i++)
        if (v[i].version > lo && v[i].version < hi && !(p & v[i].bit))
            return rp__tls_fail(e, s->file, s->line, 0,
                                "\"ssl_protocols\" must name consecutive versions (a gap makes "
                                "every handshake fail)");
    return RP_OK;
}

/* TLS 1.2 suites: forward secrecy (ECDHE, or DHE when ssl_dhparam is
 * given) and AEAD only; no RSA key exchange, no CBC. TLS 1.3 suites are
 * OpenSSL's three (all AEAD with forward secrecy), AES-128-GCM first as in
 * the TLS 1.2 list: as strong in practice and the cheapest per byte with
 * AES-NI (ssl_conf_command Ciphersuites changes them). */
static const char default_tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char default_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                                      "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                                      "DHE-RSA-CHACHA20-POLY1305";

static int set_dhparam(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_arg_t *dh)
{
    BIO *b = BIO_new_file(dh->value, "r");
    if (!b)
        return rp__tls_fail(e, dh->file, dh->line, 1, "cannot load DH parameters \"%s\": %s",
                            dh->value, errno ? strerror(errno) : "BIO_new_file() failed");
    EVP_PKEY *pk = PEM_read_bio_Parameters(b, NULL);
    BIO_free(b);
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_DH) {
        EVP_PKEY_free(pk);
        return rp__tls_fail(e, dh->file, dh->line, 1, "cannot load DH parameters \"%s\"",
                            dh->value);
    }
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, pk) != 1) {
        EVP_PKEY_free(pk);
        return rp__tls_fail(e, dh->file, dh->line, 1, "cannot use DH parameters \"%s\"", dh->value);
    }
    return RP_OK;
}

static int load_ticket_keys(rp__tls_err_t *e, ctx_data_t *d, const rp_ssl_conf_t *c)
{
    d->keys = OPENSSL_zalloc(c->nticket_keys * sizeof(*d->keys));
    if (!d->keys)
        return rp__tls_fail(e, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < c->nticket_keys; i++) {
        const rp_ssl_arg_t *f = &c->ticket_keys[i];
        size_t len = 0;
        unsigned char *buf = read_small_file(f->value, 80, &len);
        if (!buf)
            return rp__tls_fail(e, f->file, f->line, 0, "cannot read session ticket key \"%s\": %s",
                                f->value, strerror(errno));
        ticket_key_t *k = &d->keys[i];
        d->nkeys++; /* counted for the clearing free even if refused */
        if (len == 48 || len == 80) {
            size_t half = len == 48 ? 16 : 32;
            memcpy(k->name, buf, 16);
            memcpy(k->hmac, buf + 16, half);
            memcpy(k->aes, buf + 16 + half, half);
            k->hmac_len = half;
            k->aes256 = len == 80;
        }
        OPENSSL_clear_free(buf, 81);
        if (len != 48 && len != 80)
            return rp__tls_fail(e, f->file, f->line, 0,
                                "session ticket key \"%s\" must be 48 or 80 bytes, not %zu",
                                f->value, len);
    }
    return RP_OK;
}

static int load_ocsp(rp__tls_err_t *e, ctx_data_t *d, const rp_ssl_arg_t *f)
{
    size_t len = 0;
    unsigned char *buf = read_small_file(f->value, 64 * 1024, &len);
    if (!buf)
        return rp__tls_fail(e, f->file, f->line, 0, "cannot read OCSP response \"%s\": %s",
                            f->value, strerror(errno));
    const unsigned char *q = buf;
    OCSP_RESPONSE *r = len <= 64 * 1024 ? d2i_OCSP_RESPONSE(NULL, &q, (long)len) : NULL;
    int ok = r && q == buf + len;
    OCSP_RESPONSE_free(r);
    if (!ok) {
        OPENSSL_free(buf);
        return rp__tls_fail(e, f->file, f->line, 1, "\"%s\" is not a DER OCSP response", f->value);
    }
    d->ocsp = buf;
    d->ocsp_len = len;
    return RP_OK;
}

static int set_verify(rp__tls_err_t *e, SSL_CTX *ctx, ctx_data_t *d, const rp_server_t *s)
{
    const rp_ssl_conf_t *c = &s->ssl;
    if (c->client_certificate.value) {
        const rp_ssl_arg_t *f = &c->client_certificate;
        if (SSL_CTX_load_verify_locations(ctx, f->value, NULL) != 1)
            return rp__tls_fail(e, f->file, f->line, 1, "cannot load client certificates \"%s\"",
                                f->value);
        /* the CA names sent in CertificateRequest (RFC 8446 4.2.4) */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f->value);
        if (!names)
            return rp__tls_fail(e, f->file, f->line, 1, "cannot load client CA names from \"%s\"",
                                f->value);
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (c->trusted_certificate.value) {
        const rp_ssl_arg_t *f = &c->trusted_certificate;
        if (SSL_CTX_load_verify_locations(ctx, f->value, NULL) != 1)
            return rp__tls_fail(e, f->file, f->line, 1, "cannot load trusted certificates \"%s\"",
                                f->value);
    }
    if (c->verify_client == RP_SSL_VERIFY_OFF)
        return RP_OK;
    if (c->verify_client != RP_SSL_VERIFY_OPTIONAL_NO_CA && !c->client_certificate.value &&
        !c->trusted_certificate.value)
        return rp__tls_fail(
            e, c->verify_client_file, c->verify_client_line, 0,
            "no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client");
    /* `on` fails the handshake without a valid certificate, `optional` only
     * with an invalid one (nginx answers 400 instead; a failed handshake is
     * the stricter outcome and needs nothing from the HTTP layer) */
    int mode = SSL_VERIFY_PEER;
    if (c->verify_client == RP_SSL_VERIFY_ON)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    d->verify_no_ca = c->verify_client == RP_SSL_VERIFY_OPTIONAL_NO_CA;
    SSL_CTX_set_verify(ctx, mode, d->verify_no_ca ? verify_accept_cb : NULL);
    SSL_CTX_set_verify_depth(ctx, (int)c->verify_depth);
    return RP_OK;
}

static int set_sid_context(rp__tls_err_t *e, SSL_CTX *ctx, const rp_server_t *s)
{
    /* A session resumes only in the server that issued it (sessions carry
     * the id context): a client cannot skip another server's client
     * certificate check by resuming across SNI names. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char text[600];
    int k =
        snprintf(text, sizeof(text), "%s:%d:%s", s->file ? s->file : "", s->line,
                 s->nnames ? s->names[0].name.data ? (const char *)s->names[0].name.data : "" : "");
    if (k < 0)
        k = 0;
    if (EVP_Digest(text, RP_MIN((size_t)k, sizeof(text) - 1), md, &mdlen, EVP_sha256(), NULL) !=
            1 ||
        SSL_CTX_set_session_id_context(ctx, md, RP_MIN(mdlen, SSL_MAX_SID_CTX_LENGTH)) != 1)
        return rp__tls_fail(e, s->file, s->line, 1, "cannot set the session id context");
    return RP_OK;
}

static int set_session_cache(SSL_CTX *ctx, const rp_ssl_conf_t *c)
{
    switch (c->session_cache) {
    case RP_SSL_CACHE_OFF:
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        break;
    case RP_SSL_CACHE_NONE:
        /* ids are issued but never stored: no resumption by id (tickets
         * still work) */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
                                                SSL_SESS_CACHE_NO_INTERNAL_STORE |
                                                SSL_SESS_CACHE_NO_INTERNAL_LOOKUP);
        break;
    default:
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, (long)c->session_cache_size);
        break;
    }
    SSL_CTX_set_timeout(ctx, (long)(c->session_timeout / 1000));
    return RP_OK;
}

int rp__tls_conf_commands(rp__tls_err_t *e, SSL_CTX *ctx, const rp_ssl_conf_cmd_t *cmds, size_t n,
                          unsigned int side, const char *directive)
{
    if (n == 0)
        return RP_OK;
    SSL_CONF_CTX *cc = SSL_CONF_CTX_new();
    if (!cc)
        return rp__tls_fail(e, NULL, 0, 0, "out of memory");
    SSL_CONF_CTX_set_flags(cc, SSL_CONF_FLAG_FILE | side | SSL_CONF_FLAG_CERTIFICATE |
                                   SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cc, ctx);
    for (size_t i = 0; i < n; i++) {
        const rp_ssl_conf_cmd_t *m = &cmds[i];
        if (SSL_CONF_cmd(cc, m->name, m->value) <= 0) {
            SSL_CONF_CTX_free(cc);
            return rp__tls_fail(e, m->file, m->line, 1, "%s \"%s\" \"%s\" failed", directive,
                                m->name, m->value);
        }
    }
    int ok = SSL_CONF_CTX_finish(cc);
    SSL_CONF_CTX_free(cc);
    if (ok != 1)
        return rp__tls_fail(e, cmds[0].file, cmds[0].line, 1, "SSL_CONF_CTX_finish() failed");
    return RP_OK;
}

static int build(rp__tls_err_t *e, SSL_CTX *ctx, ctx_data_t *d, rp_server_t *s)
{
    const rp_ssl_conf_t *c = &s->ssl;
    /* renegotiation is a DoS vector and HTTP/1.1 over TLS needs none;
     * compression invites CRIME (RFC 7457 section 2.6) */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
    /* a TCP EOF without close_notify reads as an orderly end (OpenSSL 3
     * makes it an error otherwise): HTTP/1.1 framing detects truncation
     * (RFC 9112 section 8) */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (c->prefer_server_ciphers)
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* non-blocking writes are retried with possibly moved buffers; idle
     * keep-alive connections give their read/write buffers back */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (set_protocols(e, ctx, s) != RP_OK)
        return RP_ERROR;
    const char *ciphers = c->ciphers.value ? c->ciphers.value : default_ciphers;
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        return rp__tls_fail(e, c->ciphers.file ? c->ciphers.file : s->file,
                            c->ciphers.file ? c->ciphers.line : s->line, 1,
                            "SSL_CTX_set_cipher_list(\"%s\") failed", ciphers);
    if (SSL_CTX_set_ciphersuites(ctx, default_tls13_suites) != 1)
        return rp__tls_fail(e, s->file, s->line, 1, "SSL_CTX_set_ciphersuites() failed");
    if ((c->protocols & (RP_SSL_TLSv1 | RP_SSL_TLSv1_1)) && SSL_CTX_get_security_level(ctx) > 0)
        rp_log_error(RP_LOG_WARN,
                     "TLSv1 and TLSv1.1 in \"ssl_protocols\" are refused by OpenSSL 3 at "
                     "security level %d: add \"@SECLEVEL=0\" to \"ssl_ciphers\" to allow them "
                     "(server at %s:%d)",
                     SSL_CTX_get_security_level(ctx), s->file ? s->file : "?", s->line);
    const char *curves = c->ecdh_curve.value ? c->ecdh_curve.value : "X25519:prime256v1:secp384r1";
    if (strcmp(curves, "auto") != 0 && SSL_CTX_set1_groups_list(ctx, curves) != 1)
        return rp__tls_fail(e, c->ecdh_curve.file ? c->ecdh_curve.file : s->file,
                            c->ecdh_curve.file ? c->ecdh_curve.line : s->line, 1,
                            "SSL_CTX_set1_groups_list(\"%s\") failed", curves);
    if (c->dhparam.value && set_dhparam(e, ctx, &c->dhparam) != RP_OK)
        return RP_ERROR;

    int types[8];
    size_t ntypes = 0;
    for (size_t i = 0; i < c->ncerts; i++) {
        if (ntypes == RP_ARRAY_LEN(types))
            return rp__tls_fail(e, c->certs[i].file, c->certs[i].line, 0, "too many certificates");
        if (load_pair(e, ctx, &c->certs[i], &c->keys[i], types, &ntypes) != RP_OK)
            return RP_ERROR;
    }

    if (set_sid_context(e, ctx, s) != RP_OK || set_session_cache(ctx, c) != RP_OK)
        return RP_ERROR;
    if (!c->session_tickets) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        /* TLS 1.3 would otherwise send stateful "tickets" that only the
         * session cache could honour */
        if (c->session_cache != RP_SSL_CACHE_ON)
            SSL_CTX_set_num_tickets(ctx, 0);
    } else if (c->nticket_keys) {
        if (load_ticket_keys(e, d, c) != RP_OK)
            return RP_ERROR;
        if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1)
            return rp__tls_fail(e, c->ticket_keys[0].file, c->ticket_keys[0].line, 1,
                                "cannot install the session ticket key callback");
    }
    if (c->stapling && c->stapling_file.value) {
        if (load_ocsp(e, d, &c->stapling_file) != RP_OK)
            return RP_ERROR;
        SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
    }
    if (set_verify(e, ctx, d, s) != RP_OK)
        return RP_ERROR;
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    /* last, so that commands override everything above (nginx's order) */
    return rp__tls_conf_commands(e, ctx, c->conf_cmds, c->nconf_cmds, SSL_CONF_FLAG_SERVER,
                                 "ssl_conf_command");
}

int rp_tls_server_ctx(rp_server_t *s, rp_arena_t *a, char *err, size_t errlen)
{
    rp__tls_err_t e = { err, errlen };
    if (s->ssl_ctx)
        return RP_OK;
    if (rp_tls_init() != RP_OK)
        return rp__tls_fail(&e, s->file, s->line, 1, "OpenSSL initialisation failed");
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return rp__tls_fail(&e, s->file, s->line, 1, "SSL_CTX_new() failed");
    if (rp_arena_add_cleanup(a, ctx_release, ctx) != RP_OK) {
        SSL_CTX_free(ctx);
        return rp__tls_fail(&e, s->file, s->line, 0, "out of memory");
    }
    ctx_data_t *d = OPENSSL_zalloc(sizeof(*d));
    if (!d)
        return rp__tls_fail(&e, s->file, s->line, 0, "out of memory");
    if (!SSL_CTX_set_ex_data(ctx, ctx_data_idx, d)) {
        OPENSSL_free(d);
        return rp__tls_fail(&e, s->file, s->line, 1, "SSL_CTX_set_ex_data() failed");
    }
    if (build(&e, ctx, d, s) != RP_OK)
        return RP_ERROR;
    s->ssl_ctx = ctx;
    return RP_OK;
}
