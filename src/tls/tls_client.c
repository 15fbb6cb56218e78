/* TLS to backends: the client SSL_CTX of a location with proxy_pass
 * https:// (from its merged proxy_ssl_* settings), the client SSL objects
 * made from it, and a small session cache per context keyed by backend
 * server and name, shared by the worker threads.
 */
#include "tls/tls.h"
#include "tls/tls_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/common.h"

/* ---- per-context data: the session cache ---- */

/* Sessions are keyed by (peer, SNI, verified name): a session is only
 * offered to the server, and under the name, it was made with, so a
 * resumption (which skips certificate verification, RFC 8446 section 2.2)
 * never stands in for a check of another name. */
#define CACHE_BUCKETS 256
#define CACHE_MAX 1024 /* entries per context; bounds hostile proxy_ssl_name values */

typedef struct sess_ent_s {
    struct sess_ent_s *next;
    const void *peer;
    SSL_SESSION *sess; /* NULL until the first session arrives */
    size_t klen;
    char key[]; /* "sni\nverify_name" */
} sess_ent_t;

typedef struct {
    pthread_mutex_t lock;
    int reuse;
    size_t n;
    sess_ent_t *b[CACHE_BUCKETS];
} client_data_t;

/* what an SSL stores so that the new-session callback finds its entry */
typedef struct {
    const void *peer;
    size_t klen;
    char key[];
} sess_key_t;

static int cdata_idx = -1; /* SSL_CTX: client_data_t */
static int skey_idx = -1;  /* SSL: sess_key_t */
static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static int client_init_rc = RP_ERROR;

static void cdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    client_data_t *d = ptr;
    if (!d)
        return;
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        sess_ent_t *e = d->b[i];
        while (e) {
            sess_ent_t *next = e->next;
            SSL_SESSION_free(e->sess);
            OPENSSL_free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&d->lock);
    OPENSSL_free(d);
}

static void skey_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    OPENSSL_free(ptr);
}

static void client_init(void)
{
    if (rp_tls_init() != RP_OK)
        return;
    cdata_idx = SSL_CTX_get_ex_new_index(0, "rampart client data", NULL, NULL, cdata_free);
    skey_idx = SSL_get_ex_new_index(0, "rampart session key", NULL, NULL, skey_free);
    if (cdata_idx >= 0 && skey_idx >= 0)
        client_init_rc = RP_OK;
}

static size_t bucket(const void *peer, const char *key, size_t klen)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)peer;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return (size_t)(h % CACHE_BUCKETS);
}

/* Called with d->lock held. */
static sess_ent_t *find(client_data_t *d, const void *peer, const char *key, size_t klen,
                        size_t *bi)
{
    *bi = bucket(peer, key, klen);
    for (sess_ent_t *e = d->b[*bi]; e; e = e->next)
        if (e->peer == peer && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

/* OpenSSL hands every new session here: at the end of a TLS 1.2
 * handshake, and for TLS 1.3 with each NewSessionTicket, which arrives
 * after the handshake (RFC 8446 section 4.6.1) and is read with the
 * response. Returns 1 when the reference is kept. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    client_data_t *d = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cdata_idx);
    sess_key_t *k = SSL_get_ex_data(ssl, skey_idx);
    if (!d || !d->reuse || !k || !SSL_SESSION_is_resumable(sess))
        return 0;
    int kept = 0;
    pthread_mutex_lock(&d->lock);
    size_t bi;
    sess_ent_t *e = find(d, k->peer, k->key, k->klen, &bi);
    if (!e && d->n >= CACHE_MAX && d->b[bi]) {
        /* full: the bucket's first entry makes room (bounded memory) */
        sess_ent_t *old = d->b[bi];
        d->b[bi] = old->next;
        SSL_SESSION_free(old->sess);
        OPENSSL_free(old);
        d->n--;
    }
    if (!e && d->n < CACHE_MAX) {
        e = OPENSSL_zalloc(sizeof(*e) + k->klen);
        if (e) {
            e->peer = k->peer;
            e->klen = k->klen;
            memcpy(e->key, k->key, k->klen);
            e->next = d->b[bi];
            d->b[bi] = e;
            d->n++;
        }
    }
    if (e) {
        SSL_SESSION_free(e->sess);
        e->sess = sess;
        kept = 1;
    }
    pthread_mutex_unlock(&d->lock);
    return kept;
}

/* ---- building ---- */

static void ctx_release(void *ctx)
{
    SSL_CTX_free(ctx);
}

static int set_protocols(rp__tls_err_t *e, SSL_CTX *ctx, int p, const char *file, int line)
{
    static const struct {
        int bit;
        int version;
        uint64_t no;
    } v[] = {
        { RP_SSL_TLSv1, TLS1_VERSION, SSL_OP_NO_TLSv1 },
        { RP_SSL_TLSv1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { RP_SSL_TLSv1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
        { RP_SSL_TLSv1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
    };
    int lo = 0, hi = 0;
    for (size_t i = 0; i < RP_ARRAY_LEN(v); i++)
        if (p & v[i].bit) {
            if (!lo)
                lo = v[i].version;
            hi = v[i].version;
        }
    if (!lo)
        return rp__tls_fail(e, file, line, 0,
                            "no TLS protocol is enabled in \"proxy_ssl_protocols\"");
    if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi))
        return rp__tls_fail(e, file, line, 1, "cannot set TLS protocol versions");
    for (size_t i = 0; i < RP_ARRAY_LEN(v); i++)
        if (v[i].version > lo && v[i].version < hi && !(p & v[i].bit))
            SSL_CTX_set_options(ctx, v[i].no);
    return RP_OK;
}

static int load_client_cert(rp__tls_err_t *e, SSL_CTX *ctx, const rp_proxy_ssl_conf_t *c)
{
    return rp__tls_load_pair(e, ctx, &c->certificate, &c->certificate_key);
}

static int build(rp__tls_err_t *e, SSL_CTX *ctx, client_data_t *d, const rp_proxy_ssl_conf_t *c,
                 const char *file, int line)
{
    /* renegotiation and compression off, as on the server side (tls_ctx.c) */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    /* a backend that closes without close_notify ends the response the
     * way a TCP close does: HTTP framing detects truncation (RFC 9112
     * section 8) */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (set_protocols(e, ctx, c->protocols, file, line) != RP_OK)
        return RP_ERROR;
    const char *ciphers = c->ciphers.value ? c->ciphers.value : "DEFAULT";
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        return rp__tls_fail(e, c->ciphers.file ? c->ciphers.file : file,
                            c->ciphers.file ? c->ciphers.line : line, 1,
                            "SSL_CTX_set_cipher_list(\"%s\") failed", ciphers);
    if (c->trusted_certificate.value) {
        const rp_ssl_arg_t *f = &c->trusted_certificate;
        if (SSL_CTX_load_verify_locations(ctx, f->value, NULL) != 1)
            return rp__tls_fail(e, f->file, f->line, 1, "cannot load trusted certificates \"%s\"",
                                f->value);
    }
    if (c->verify) {
        if (!c->trusted_certificate.value)
            return rp__tls_fail(e, c->verify_file, c->verify_line, 0,
                                "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, (int)c->verify_depth);
    } else {
        /* nginx's default: the connection is encrypted, the peer is not
         * authenticated */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (c->certificate.value && load_client_cert(e, ctx, c) != RP_OK)
        return RP_ERROR;
    d->reuse = c->session_reuse;
    if (c->session_reuse) {
        /* OpenSSL's client cache is never looked up by itself: the new
         * session callback files sessions under our key instead */
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    return rp__tls_conf_commands(e, ctx, c->conf_cmds, c->nconf_cmds, SSL_CONF_FLAG_CLIENT,
                                 "proxy_ssl_conf_command");
}

int rp_tls_client_ctx(const rp_proxy_ssl_conf_t *c, rp_arena_t *a, void **out, const char *file,
                      int line, char *err, size_t errlen)
{
    rp__tls_err_t e = { err, errlen };
    pthread_once(&client_once, client_init);
    if (client_init_rc != RP_OK)
        return rp__tls_fail(&e, file, line, 1, "OpenSSL initialisation failed");
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return rp__tls_fail(&e, file, line, 1, "SSL_CTX_new() failed");
    if (rp_arena_add_cleanup(a, ctx_release, ctx) != RP_OK) {
        SSL_CTX_free(ctx);
        return rp__tls_fail(&e, file, line, 0, "out of memory");
    }
    client_data_t *d = OPENSSL_zalloc(sizeof(*d));
    if (!d)
        return rp__tls_fail(&e, file, line, 0, "out of memory");
    pthread_mutex_init(&d->lock, NULL);
    if (!SSL_CTX_set_ex_data(ctx, cdata_idx, d)) {
        pthread_mutex_destroy(&d->lock);
        OPENSSL_free(d);
        return rp__tls_fail(&e, file, line, 1, "SSL_CTX_set_ex_data() failed");
    }
    if (build(&e, ctx, d, c, file, line) != RP_OK)
        return RP_ERROR;
    *out = ctx;
    return RP_OK;
}

/* ---- connections ---- */

static int is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The cached session for k, with a reference for the caller, or NULL. */
static SSL_SESSION *cache_get(client_data_t *d, const sess_key_t *k)
{
    SSL_SESSION *s = NULL;
    pthread_mutex_lock(&d->lock);
    size_t bi;
    sess_ent_t *e = find(d, k->peer, k->key, k->klen, &bi);
    if (e && e->sess) {
        long now = (long)time(NULL);
        if (SSL_SESSION_get_time(e->sess) + SSL_SESSION_get_timeout(e->sess) < now) {
            SSL_SESSION_free(e->sess); /* expired: a full handshake refills it */
            e->sess = NULL;
        } else if (SSL_SESSION_up_ref(e->sess) == 1) {
            s = e->sess;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return s;
}

void *rp_tls_client_new(void *client_ctx, int fd, const char *sni, const char *verify_name,
                        const void *peer)
{
    SSL_CTX *ctx = client_ctx;
    SSL *s = SSL_new(ctx);
    if (!s)
        return NULL;
    SSL_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_set_fd(s, fd))
        goto fail;
    SSL_set_read_ahead(s, 1); /* whole records per read(); see transport.c */
    SSL_set_connect_state(s);
    /* RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not
     * permitted in HostName" */
    if (sni && sni[0] && !is_ip_literal(sni) && SSL_set_tlsext_host_name(s, sni) != 1)
        goto fail;
    if (verify_name && verify_name[0]) {
        if (is_ip_literal(verify_name)) {
            /* an address is matched against iPAddress subjectAltNames */
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), verify_name) != 1)
                goto fail;
        } else {
            SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(s, verify_name) != 1)
                goto fail;
        }
    }
    client_data_t *d = SSL_CTX_get_ex_data(ctx, cdata_idx);
    if (peer && d && d->reuse) {
        const char *a = sni ? sni : "", *b = verify_name ? verify_name : "";
        size_t la = strlen(a), lb = strlen(b);
        sess_key_t *k = OPENSSL_malloc(sizeof(*k) + la + 1 + lb);
        if (!k)
            goto fail;
        k->peer = peer;
        k->klen = la + 1 + lb;
        memcpy(k->key, a, la);
        k->key[la] = '\n';
        memcpy(k->key + la + 1, b, lb);
        if (!SSL_set_ex_data(s, skey_idx, k)) {
            OPENSSL_free(k);
            goto fail;
        }
        SSL_SESSION *sess = cache_get(d, k);
        if (sess) {
            SSL_set_session(s, sess); /* takes its own reference */
            SSL_SESSION_free(sess);
        }
    }
    ERR_clear_error();
    return s;
fail:
    ERR_clear_error();
    SSL_free(s);
    return NULL;
}

const char *rp_tls_verify_error(SSL *ssl)
{
    long r = SSL_get_verify_result(ssl);
    return r == X509_V_OK ? NULL : X509_verify_cert_error_string(r);
}

size_t rp_tls_client_cached(void *client_ctx)
{
    pthread_once(&client_once, client_init);
    client_data_t *d = client_init_rc == RP_OK ? SSL_CTX_get_ex_data(client_ctx, cdata_idx) : NULL;
    if (!d)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < CACHE_BUCKETS; i++)
        for (sess_ent_t *e = d->b[i]; e; e = e->next)
            n += e->sess != NULL;
    pthread_mutex_unlock(&d->lock);
    return n;
}
