/* TLS: ssl_* directives and their errors (file:line), SNI selection, RSA vs
 * ECDSA by client support, protocol floor, ALPN, session resumption with
 * OpenSSL's and with file ticket keys (rotation), client certificates and
 * OCSP stapling, over real in-process handshakes on a socketpair.
 *
 * Certificates are generated per run by tests/fixtures/tls/make-certs.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf/conf.h"
#include "core/common.h"
#include "proxy/route.h"
#include "tls/tls.h"
#include "tls/transport.h"

static char dir[256];

/* "@D" in a config or expectation is the certificate directory, "@F" the
 * config file. */
static void expand(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *s = in; *s && o + 1 < cap; s++) {
        if (s[0] == '@' && (s[1] == 'D' || s[1] == 'F')) {
            int k = snprintf(out + o, cap - o, "%s%s", dir, s[1] == 'F' ? "/t.conf" : "");
            o += (size_t)k;
            s++;
        } else {
            out[o++] = *s;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static rp_conf_t *load(const char *text, char *err, size_t errlen)
{
    char conf[8192], path[512], prefix[512];
    expand(text, conf, sizeof(conf));
    snprintf(path, sizeof(path), "%s/t.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(conf, f);
    fclose(f);
    return rp_conf_load(path, prefix, NULL, RP_CONF_TEST, err, errlen);
}

static rp_conf_t *load_ok(const char *text)
{
    char err[1024] = "";
    rp_conf_t *c = load(text, err, sizeof(err));
    if (!c)
        fail_msg("unexpected error: %s\nconfig:\n%s", err, text);
    return c;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rampart-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char cmd[600];
    const char *src = getenv("RAMPART_SRC");
    snprintf(cmd, sizeof(cmd), "sh %s/tests/fixtures/tls/make-certs.sh %s >/dev/null 2>&1",
             src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make-certs.sh failed (run from the repository root)\n");
        return -1;
    }
    rp_conf_resolve_numeric_only = 1;
    signal(SIGPIPE, SIG_IGN); /* as in rampart: writes to closed peers fail */
    return rp_tls_init();
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- configuration: accepted ---- */

#define SRV_A "ssl_certificate @D/rsa-a.pem; ssl_certificate_key @D/rsa-a.key;"

/* http2 on / listen ... http2 and the http2_* limits: defaults, values,
 * inheritance from http to server. */
static void test_conf_http2(void **state)
{
    (void)state;
    rp_conf_t *c = load_ok("http {\n http2_chunk_size 4k;\n"
                           " server {\n  listen 127.0.0.1:8443 ssl http2;\n  " SRV_A "\n }\n"
                           " server {\n  listen 127.0.0.1:8080;\n  http2 on;\n"
                           "  http2_max_concurrent_streams 7;\n  http2_body_preread_size 32k;\n }\n"
                           " server { listen 127.0.0.1:8081; }\n}\n");
    assert_int_equal(c->nlistens, 3);
    assert_int_equal(c->listens[0].http2, 1);
    assert_int_equal(c->listens[1].http2, 0);
    rp_server_t *a = c->servers[0], *b = c->servers[1], *d = c->servers[2];
    assert_int_equal(a->http2, 0); /* the listen enables it, not the server */
    assert_int_equal(a->http2_max_concurrent_streams, 128);
    assert_int_equal(a->http2_body_preread_size, 65536);
    assert_int_equal(a->http2_chunk_size, 4096);
    assert_int_equal(b->http2, 1);
    assert_int_equal(b->http2_max_concurrent_streams, 7);
    assert_int_equal(b->http2_body_preread_size, 32768);
    assert_int_equal(b->http2_chunk_size, 4096);
    assert_int_equal(d->http2, 0);
    assert_int_equal(d->http2_chunk_size, 4096);
    rp_conf_unref(c);
}

static void test_conf_defaults(void **state)
{
    rp_conf_t *c = load_ok("http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
                           "\n }\n server { listen 127.0.0.1:8080; }\n}\n");
    assert_int_equal(c->nlistens, 2);
    assert_int_equal(c->listens[0].ssl, 1);
    assert_int_equal(c->listens[1].ssl, 0);
    rp_server_t *s = c->servers[0];
    assert_non_null(s->ssl_ctx);
    assert_null(c->servers[1]->ssl_ctx);
    assert_int_equal(s->ssl_handshake_timeout, 60000);
    assert_int_equal(s->ssl.protocols, RP_SSL_TLSv1_2 | RP_SSL_TLSv1_3);
    assert_int_equal(s->ssl.prefer_server_ciphers, 1);
    assert_int_equal(s->ssl.session_timeout, 300000);
    assert_int_equal(s->ssl.session_tickets, 1);
    assert_int_equal(s->ssl.session_cache, RP_SSL_CACHE_NONE);
    assert_int_equal(s->ssl.verify_client, RP_SSL_VERIFY_OFF);
    assert_int_equal(s->ssl.verify_depth, 1);
    SSL_CTX *ctx = s->ssl_ctx;
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    assert_true(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
    assert_int_equal(SSL_CTX_get_timeout(ctx), 300);
    /* no CBC and no RSA key exchange among the TLS 1.2 suites */
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
        assert_int_not_equal(SSL_CIPHER_get_kx_nid(ci), NID_kx_rsa);
        assert_true(SSL_CIPHER_is_aead(ci));
    }
    rp_conf_unref(c);
}

static void test_conf_all_directives(void **state)
{
    rp_conf_t *c = load_ok(
        "http {\n"
        " ssl_protocols TLSv1.2 TLSv1.3;\n"
        " ssl_session_cache builtin:1000 shared:SSL:10m;\n"
        " ssl_session_timeout 10m;\n"
        " ssl_handshake_timeout 5s;\n"
        " server {\n"
        "  listen 127.0.0.1:8443 ssl default_server;\n"
        "  server_name a.test;\n"
        "  ssl_certificate @D/rsa-a.pem;\n  ssl_certificate_key @D/rsa-a.key;\n"
        "  ssl_certificate @D/ec-a.pem;\n  ssl_certificate_key @D/ec-a.key;\n"
        "  ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;\n"
        "  ssl_conf_command Options PrioritizeChaCha;\n"
        "  ssl_prefer_server_ciphers off;\n"
        "  ssl_ecdh_curve X25519:prime256v1;\n"
        "  ssl_dhparam @D/dhparam.pem;\n"
        "  ssl_session_tickets on;\n"
        "  ssl_session_ticket_key @D/ticket80.key;\n"
        "  ssl_session_ticket_key @D/ticket48.key;\n"
        "  ssl_stapling on;\n  ssl_stapling_file @D/ocsp-a.der;\n  ssl_stapling_verify on;\n"
        "  ssl_client_certificate @D/ca.pem;\n"
        "  ssl_trusted_certificate @D/other-ca.pem;\n"
        "  ssl_verify_client optional;\n"
        "  ssl_verify_depth 2;\n"
        " }\n"
        " server { listen 127.0.0.1:8443 ssl; server_name b.test; ssl_session_tickets off;\n"
        "   ssl_session_cache off; ssl_certificate rsa-b.pem; ssl_certificate_key rsa-b.key; }\n"
        "}\n");
    rp_server_t *s = c->servers[0], *b = c->servers[1];
    assert_non_null(s->ssl_ctx);
    assert_non_null(b->ssl_ctx);
    assert_ptr_not_equal(s->ssl_ctx, b->ssl_ctx);
    assert_int_equal(s->ssl.ncerts, 2);
    assert_int_equal(s->ssl.nticket_keys, 2);
    assert_int_equal(s->ssl.session_cache, RP_SSL_CACHE_ON);
    assert_int_equal(s->ssl.session_cache_size, 1000 + 10 * 1024 * 1024 / 256);
    assert_int_equal(s->ssl.session_timeout, 600000);
    assert_int_equal(s->ssl_handshake_timeout, 5000);
    assert_int_equal(s->ssl.prefer_server_ciphers, 0);
    assert_int_equal(s->ssl.stapling, 1);
    assert_int_equal(s->ssl.stapling_verify, 1);
    assert_int_equal(s->ssl.verify_client, RP_SSL_VERIFY_OPTIONAL);
    assert_int_equal(s->ssl.verify_depth, 2);
    assert_int_equal(SSL_CTX_sess_get_cache_size(s->ssl_ctx), 1000 + 40960);
    assert_int_equal(SSL_CTX_get_verify_mode(s->ssl_ctx), SSL_VERIFY_PEER);
    assert_false(SSL_CTX_get_options(s->ssl_ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
    assert_true(SSL_CTX_get_options(s->ssl_ctx) & SSL_OP_PRIORITIZE_CHACHA);
    assert_true(SSL_CTX_get_options(b->ssl_ctx) & SSL_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_get_session_cache_mode(b->ssl_ctx), SSL_SESS_CACHE_OFF);
    /* relative paths are relative to the directory of the config file */
    char want[512];
    snprintf(want, sizeof(want), "%s/rsa-b.pem", dir);
    assert_string_equal(b->ssl.certs[0].value, want);
    /* http-level values reach the server */
    assert_int_equal(b->ssl.session_timeout, 600000);
    rp_conf_unref(c);
}

static void test_conf_inheritance(void **state)
{
    /* certificates at http level: every server gets its own context */
    rp_conf_t *c = load_ok("http {\n ssl_certificate @D/rsa-default.pem;\n"
                           " ssl_certificate_key @D/rsa-default.key;\n"
                           " ssl_protocols TLSv1.3;\n"
                           " server { listen 127.0.0.1:8443 ssl; server_name x.test; }\n"
                           " server { listen 127.0.0.1:8443 ssl; server_name y.test;\n"
                           "   ssl_protocols TLSv1.2; }\n"
                           "}\n");
    assert_non_null(c->servers[0]->ssl_ctx);
    assert_non_null(c->servers[1]->ssl_ctx);
    assert_ptr_not_equal(c->servers[0]->ssl_ctx, c->servers[1]->ssl_ctx);
    assert_int_equal(c->servers[0]->ssl.protocols, RP_SSL_TLSv1_3);
    assert_int_equal(c->servers[1]->ssl.protocols, RP_SSL_TLSv1_2);
    assert_int_equal(SSL_CTX_get_min_proto_version(c->servers[0]->ssl_ctx), TLS1_3_VERSION);
    rp_conf_unref(c);
    /* non-default servers of an ssl listen may lack certificates (the
     * default server's is served to them) */
    c = load_ok("http {\n server { listen 127.0.0.1:8443 ssl; " SRV_A " }\n"
                " server { listen 127.0.0.1:8443 ssl; server_name nocert.test; }\n}\n");
    assert_null(c->servers[1]->ssl_ctx);
    rp_conf_unref(c);
}

/* ---- configuration: errors ---- */

typedef struct {
    const char *conf;
    const char *err; /* expected text, @D / @F expanded */
} err_case_t;

static const err_case_t err_cases[] = {
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n }\n}",
      "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in @F:3" },
    { "http {\n server { listen 127.0.0.1:8443 ssl; server_name a; " SRV_A " }\n"
      " server {\n  listen 127.0.0.1:8443 ssl default_server;\n }\n}",
      "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in @F:2" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/nope.pem;\n"
      "  ssl_certificate_key @D/rsa-a.key;\n }\n}",
      "cannot load certificate \"@D/nope.pem\": No such file or directory" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/nope.pem;\n"
      "  ssl_certificate_key @D/rsa-a.key;\n }\n}",
      " in @F:4" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/garbage.pem;\n"
      "  ssl_certificate_key @D/rsa-a.key;\n }\n}",
      "cannot load certificate \"@D/garbage.pem\": PEM_read_bio_X509_AUX() failed" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/rsa-a.pem;\n"
      "  ssl_certificate_key @D/rsa-b.key;\n }\n}",
      "certificate \"@D/rsa-a.pem\" and key \"@D/rsa-b.key\" do not match in @F:5" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/ec-a.pem;\n"
      "  ssl_certificate_key @D/rsa-a.key;\n }\n}",
      "certificate \"@D/ec-a.pem\" and key \"@D/rsa-a.key\" do not match in @F:5" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/rsa-a.pem;\n"
      "  ssl_certificate_key @D/nope.key;\n }\n}",
      "cannot load certificate key \"@D/nope.key\"" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/rsa-a.pem;\n"
      "  ssl_certificate_key @D/garbage.pem;\n }\n}",
      "cannot load certificate key \"@D/garbage.pem\"" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/expired.pem;\n"
      "  ssl_certificate_key @D/expired.key;\n }\n}",
      "certificate \"@D/expired.pem\" expired on Jan  2 00:00:00 2020 GMT in @F:4" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A "\n"
      "  ssl_certificate @D/rsa-b.pem; ssl_certificate_key @D/rsa-b.key;\n }\n}",
      "a second RSA certificate \"@D/rsa-b.pem\" in the same server" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  ssl_certificate @D/rsa-a.pem;\n }\n}",
      "no \"ssl_certificate_key\" is defined for certificate \"@D/rsa-a.pem\" in @F:4" },
    { "http {\n server {\n  ssl_certificate_key @D/rsa-a.key;\n }\n}",
      "no \"ssl_certificate\" is defined for key \"@D/rsa-a.key\" in @F:3" },
    { "http { ssl_protocols TLSv1.2 TLSv9; }",
      "invalid value \"TLSv9\" in \"ssl_protocols\" directive in @F:1" },
    { "http { ssl_protocols SSLv3 TLSv1.2; }", "\"SSLv3\" is not supported" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_protocols TLSv1 TLSv1.2 TLSv1.3;\n }\n}",
      "\"ssl_protocols\" must name consecutive versions" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A "\n  ssl_ciphers BOGUS;\n }\n}",
      "SSL_CTX_set_cipher_list(\"BOGUS\") failed" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A "\n  ssl_ciphers BOGUS;\n }\n}",
      " in @F:5" },
    { "http {\n ssl_ecdh_curve nocurve;\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n }\n}",
      "SSL_CTX_set1_groups_list(\"nocurve\") failed" },
    { "http {\n ssl_ecdh_curve nocurve;\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n }\n}",
      " in @F:2" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_dhparam @D/garbage.pem;\n }\n}",
      "cannot load DH parameters \"@D/garbage.pem\"" },
    { "http { ssl_session_cache bogus; }", "invalid session cache \"bogus\" in @F:1" },
    { "http { ssl_session_cache shared:x; }", "invalid session cache \"shared:x\" in @F:1" },
    { "http { ssl_session_cache off builtin; }", "invalid session cache \"off\" in @F:1" },
    { "http { ssl_session_cache builtin:x; }", "invalid session cache size \"x\" in @F:1" },
    { "http { ssl_session_timeout 5x; }",
      "invalid value \"5x\" in \"ssl_session_timeout\" directive in @F:1" },
    { "http { ssl_session_tickets maybe; }",
      "invalid value \"maybe\" in \"ssl_session_tickets\" directive, it must be \"on\" or \"off\" "
      "in @F:1" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_session_ticket_key @D/ticket20.key;\n }\n}",
      "session ticket key \"@D/ticket20.key\" must be 48 or 80 bytes, not 20 in @F:5" },
    { "http {\n ssl_stapling on;\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A "\n }\n}",
      "\"ssl_stapling\" is not supported yet: needs \"ssl_stapling_file\" in @F:2" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_stapling on;\n  ssl_stapling_file @D/garbage.pem;\n }\n}",
      "\"@D/garbage.pem\" is not a DER OCSP response" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_verify_client on;\n }\n}",
      "no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client in @F:5" },
    { "http { ssl_verify_client sometimes; }",
      "invalid value \"sometimes\" in \"ssl_verify_client\" directive in @F:1" },
    { "http { ssl_verify_depth x; }",
      "invalid value \"x\" in \"ssl_verify_depth\" directive in @F:1" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_client_certificate @D/nope.pem;\n }\n}",
      "cannot load client certificates \"@D/nope.pem\"" },
    { "http {\n server {\n  listen 127.0.0.1:8443 ssl;\n  " SRV_A
      "\n  ssl_conf_command NoSuchCommand x;\n }\n}",
      "ssl_conf_command \"NoSuchCommand\" \"x\" failed" },
    { "http { ssl_ciphers A; ssl_ciphers B; }", "\"ssl_ciphers\" directive is duplicate in @F:1" },
    { "http { server { location / { ssl_certificate x; } } }",
      "\"ssl_certificate\" directive is not allowed here in @F:1" },
    { "http { ssl_certificate $ssl_server_name.pem; }",
      "\"$ssl_server_name.pem\" in \"ssl_certificate\" directive is not supported yet in @F:1" },
    { "http { ssl_certificate data:xyz; }",
      "\"data:xyz\" in \"ssl_certificate\" directive is not supported yet in @F:1" },
    { "http {\n server { listen 127.0.0.1:8443 ssl; " SRV_A " }\n"
      " server {\n  listen 127.0.0.1:8443;\n }\n}",
      "127.0.0.1:8443 is \"ssl\" in one \"listen\" and plain in another in @F:4" },
    { "http { server { listen 443 ssl http2; } }",
      "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in @F:1" },
    { "http { http2_chunk_size 1x; }",
      "invalid value \"1x\" in \"http2_chunk_size\" directive in @F:1" },
    { "http { ssl on; }", "\"ssl\" directive is not supported yet in @F:1" },
    { "http { ssl_early_data on; }", "\"ssl_early_data\" directive is not supported yet in @F:1" },
    { "http { ssl_stapling_responder http://x; }",
      "\"ssl_stapling_responder\" directive is not supported yet in @F:1" },
    { "http { proxy_ssl_crl @D/ca.pem; }",
      "\"proxy_ssl_crl\" directive is not supported yet in @F:1" },
};

static void test_conf_errors(void **state)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(err_cases); i++) {
        char err[1024] = "", want[1024];
        rp_conf_t *c = load(err_cases[i].conf, err, sizeof(err));
        expand(err_cases[i].err, want, sizeof(want));
        if (c) {
            rp_conf_unref(c);
            fail_msg("case %zu: loaded, expected: %s", i, want);
        }
        if (!strstr(err, want))
            fail_msg("case %zu:\n  got:  %s\n  want: %s", i, err, want);
    }
}

/* ---- handshakes over a socketpair ---- */

static rp_server_t *resolve(const rp_listen_t *ls, const char *host, size_t len)
{
    return rp_route_server(ls, rp_str(host, len));
}

typedef struct {
    const char *sni;
    const char *alpn; /* wire format, NULL = none */
    size_t alpn_len;
    int max_version;     /* 0 = any */
    const char *sigalgs; /* client signature algorithms, NULL = default */
    const char *ciphers; /* client TLS 1.2 ciphers, NULL = default */
    const char *cert;    /* client certificate base name, NULL = none */
    SSL_SESSION *session;
    int want_status; /* request OCSP stapling */
} client_opts_t;

typedef struct {
    SSL *c, *s;
    SSL_CTX *cctx;
    int fds[2];
    int ok;
    long status_len; /* stapled OCSP response bytes seen */
} hs_t;

static int status_seen_cb(SSL *s, void *arg)
{
    hs_t *h = arg;
    const unsigned char *resp;
    h->status_len = SSL_get_tlsext_status_ocsp_resp(s, &resp);
    return 1;
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Runs client and server handshakes in turns (bounded), then moves one
 * application byte each way so TLS 1.3 tickets reach the client. */
static void handshake(hs_t *h, const rp_listen_t *ls, const client_opts_t *o)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, h->fds), 0);
    nonblock(h->fds[0]);
    nonblock(h->fds[1]);
    h->cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(h->cctx);
    SSL_CTX_set_security_level(h->cctx, 0);
    SSL_CTX_set_min_proto_version(h->cctx, TLS1_VERSION);
    if (o->max_version)
        SSL_CTX_set_max_proto_version(h->cctx, o->max_version);
    SSL_CTX_set_cipher_list(h->cctx, o->ciphers ? o->ciphers : "ALL:@SECLEVEL=0");
    if (o->sigalgs)
        assert_int_equal(SSL_CTX_set1_sigalgs_list(h->cctx, o->sigalgs), 1);
    if (o->cert) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s.pem", dir, o->cert);
        assert_int_equal(SSL_CTX_use_certificate_chain_file(h->cctx, p), 1);
        snprintf(p, sizeof(p), "%s/%s.key", dir, o->cert);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(h->cctx, p, SSL_FILETYPE_PEM), 1);
    }
    if (o->want_status) {
        SSL_CTX_set_tlsext_status_cb(h->cctx, status_seen_cb);
        SSL_CTX_set_tlsext_status_arg(h->cctx, h);
    }
    h->c = SSL_new(h->cctx);
    assert_non_null(h->c);
    SSL_set_fd(h->c, h->fds[0]);
    SSL_set_connect_state(h->c);
    if (o->sni)
        SSL_set_tlsext_host_name(h->c, o->sni);
    if (o->alpn)
        SSL_set_alpn_protos(h->c, (const unsigned char *)o->alpn, (unsigned)o->alpn_len);
    if (o->session)
        SSL_set_session(h->c, o->session);
    if (o->want_status)
        SSL_set_tlsext_status_type(h->c, TLSEXT_STATUSTYPE_ocsp);
    h->s = rp_tls_conn_new(ls->default_server->ssl_ctx, h->fds[1], ls);
    assert_non_null(h->s);

    int cdone = 0, sdone = 0, failed = 0;
    for (int i = 0; i < 200 && !(cdone && sdone) && !failed; i++) {
        if (!cdone) {
            int rc = SSL_do_handshake(h->c);
            if (rc == 1)
                cdone = 1;
            else {
                int e = SSL_get_error(h->c, rc);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                    failed = 1;
            }
        }
        if (!sdone) {
            int rc = rp_tls_transport.handshake(h->s);
            if (rc == RP_OK)
                sdone = 1;
            else if (rc == RP_IO_ERROR)
                failed = 1;
        }
    }
    ERR_clear_error();
    h->ok = cdone && sdone && !failed;
    if (!h->ok)
        return;
    /* a byte each way: the server's send flushes TLS 1.3 tickets, the
     * client's read processes them */
    assert_int_equal(rp_tls_transport.send(h->s, "s", 1), 1);
    char ch;
    for (int i = 0; i < 50; i++)
        if (SSL_read(h->c, &ch, 1) == 1)
            break;
    assert_int_equal(SSL_write(h->c, "c", 1), 1);
    ssize_t n = RP_IO_WANT_READ;
    for (int i = 0; i < 50 && n == RP_IO_WANT_READ; i++)
        n = rp_tls_transport.recv(h->s, &ch, 1);
    assert_int_equal(n, 1);
    assert_int_equal(ch, 'c');
}

static void hs_free(hs_t *h)
{
    if (h->c) {
        if (h->ok)
            SSL_shutdown(h->c); /* else the session is marked not resumable */
        SSL_free(h->c);
    }
    if (h->s)
        rp_tls_transport.close(h->s);
    SSL_CTX_free(h->cctx);
    close(h->fds[0]);
    close(h->fds[1]);
    ERR_clear_error();
}

/* CN of the certificate the server sent, and its key type. */
static void peer_cert(hs_t *h, char *cn, size_t cap, int *keytype)
{
    X509 *x = SSL_get0_peer_certificate(h->c);
    assert_non_null(x);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cap);
    *keytype = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
}

static const char sni_conf[] =
    "http {\n"
    " server { listen 127.0.0.1:8443 ssl; server_name default.test;\n"
    "   ssl_certificate @D/rsa-default.pem; ssl_certificate_key @D/rsa-default.key; }\n"
    " server { listen 127.0.0.1:8443 ssl; server_name a.test;\n"
    "   ssl_certificate @D/rsa-a.pem; ssl_certificate_key @D/rsa-a.key;\n"
    "   ssl_certificate @D/ec-a.pem; ssl_certificate_key @D/ec-a.key; }\n"
    " server { listen 127.0.0.1:8443 ssl; server_name b.test;\n"
    "   ssl_certificate @D/ec-b.pem; ssl_certificate_key @D/ec-b.key; }\n"
    " server { listen 127.0.0.1:8443 ssl; server_name *.wild.test;\n"
    "   ssl_certificate @D/rsa-wild.pem; ssl_certificate_key @D/rsa-wild.key; }\n"
    " server { listen 127.0.0.1:8443 ssl; server_name nocert.test; }\n"
    "}\n";

static void test_sni(void **state)
{
    static const struct {
        const char *sni;
        const char *cn;       /* served certificate */
        const char *selected; /* rp_tls_server's first name, NULL = none */
    } cases[] = {
        { "a.test", "a.test", "a.test" },
        { "A.Test.", "a.test", "a.test" },
        { "b.test", "b.test", "b.test" },
        { "x.wild.test", "*.wild.test", ".wild.test" },
        { "unknown.test", "default.test", "default.test" },
        { "nocert.test", "default.test", "nocert.test" },
        { NULL, "default.test", NULL },
    };
    rp_conf_t *c = load_ok(sni_conf);
    rp_tls_set_sni_resolver(resolve);
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        hs_t h;
        client_opts_t o = { .sni = cases[i].sni };
        handshake(&h, &c->listens[0], &o);
        if (!h.ok)
            fail_msg("case %zu (%s): handshake failed", i, cases[i].sni);
        char cn[256];
        int kt;
        peer_cert(&h, cn, sizeof(cn), &kt);
        if (strcmp(cn, cases[i].cn) != 0)
            fail_msg("case %zu (%s): served %s, want %s", i, cases[i].sni, cn, cases[i].cn);
        rp_server_t *s = rp_tls_server(h.s);
        if (!cases[i].selected)
            assert_null(s);
        else {
            assert_non_null(s);
            assert_memory_equal(s->names[0].name.data, cases[i].selected,
                                strlen(cases[i].selected));
        }
        if (cases[i].sni)
            assert_string_equal(rp_tls_server_name(h.s), cases[i].sni);
        hs_free(&h);
    }
    /* an SNI no DNS name could be fails with unrecognized_name */
    hs_t h;
    client_opts_t bad = { .sni = "a/b" };
    handshake(&h, &c->listens[0], &bad);
    assert_false(h.ok);
    hs_free(&h);
    /* without a resolver nothing switches */
    rp_tls_set_sni_resolver(NULL);
    client_opts_t oa = { .sni = "a.test" };
    handshake(&h, &c->listens[0], &oa);
    assert_true(h.ok);
    char cn[256];
    int kt;
    peer_cert(&h, cn, sizeof(cn), &kt);
    assert_string_equal(cn, "default.test");
    hs_free(&h);
    rp_tls_set_sni_resolver(resolve);
    rp_conf_unref(c);
}

static void test_rsa_vs_ecdsa(void **state)
{
    static const struct {
        int max_version;
        const char *sigalgs;
        const char *ciphers;
        int keytype;
    } cases[] = {
        { 0, NULL, NULL, EVP_PKEY_EC }, /* both supported: ECDSA first */
        { 0, "ECDSA+SHA256", NULL, EVP_PKEY_EC },
        { 0, "RSA-PSS+SHA256:RSA+SHA256", NULL, EVP_PKEY_RSA },
        { TLS1_3_VERSION, "rsa_pss_rsae_sha256", NULL, EVP_PKEY_RSA },
        { TLS1_2_VERSION, NULL, "ECDHE-RSA-AES128-GCM-SHA256", EVP_PKEY_RSA },
        { TLS1_2_VERSION, NULL, "ECDHE-ECDSA-AES128-GCM-SHA256", EVP_PKEY_EC },
    };
    rp_conf_t *c = load_ok(sni_conf);
    rp_tls_set_sni_resolver(resolve);
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        hs_t h;
        client_opts_t o = { .sni = "a.test",
                            .max_version = cases[i].max_version,
                            .sigalgs = cases[i].sigalgs,
                            .ciphers = cases[i].ciphers };
        handshake(&h, &c->listens[0], &o);
        if (!h.ok)
            fail_msg("case %zu: handshake failed", i);
        char cn[256];
        int kt;
        peer_cert(&h, cn, sizeof(cn), &kt);
        assert_string_equal(cn, "a.test");
        if (kt != cases[i].keytype)
            fail_msg("case %zu: key type %d, want %d", i, kt, cases[i].keytype);
        hs_free(&h);
    }
    rp_conf_unref(c);
}

static void test_protocols(void **state)
{
    static const struct {
        const char *protocols; /* ssl_protocols line, "" = default */
        int client_max;
        int ok;
        const char *version;
    } cases[] = {
        { "", TLS1_1_VERSION, 0, NULL }, /* the floor: TLS 1.1 refused */
        { "", TLS1_VERSION, 0, NULL },
        { "", TLS1_2_VERSION, 1, "TLSv1.2" },
        { "", 0, 1, "TLSv1.3" },
        { "ssl_protocols TLSv1.3;", TLS1_2_VERSION, 0, NULL },
        { "ssl_protocols TLSv1.2;", 0, 1, "TLSv1.2" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char conf[1024];
        snprintf(conf, sizeof(conf), "http { server { listen 127.0.0.1:8443 ssl; %s " SRV_A " } }",
                 cases[i].protocols);
        rp_conf_t *c = load_ok(conf);
        hs_t h;
        client_opts_t o = { .max_version = cases[i].client_max };
        handshake(&h, &c->listens[0], &o);
        if (h.ok != cases[i].ok)
            fail_msg("case %zu: handshake %s", i, h.ok ? "succeeded" : "failed");
        if (h.ok) {
            assert_string_equal(rp_tls_protocol(h.s), cases[i].version);
            assert_non_null(rp_tls_cipher(h.s));
        }
        hs_free(&h);
        rp_conf_unref(c);
    }
}

static void test_alpn(void **state)
{
    static const struct {
        const char *alpn;
        size_t len;
        int ok;
        const char *selected;
    } cases[] = {
        { NULL, 0, 1, NULL },
        { "\x08http/1.1", 9, 1, "http/1.1" },
        { "\x02h2\x08http/1.1", 12, 1, "http/1.1" },
        { "\x02h2", 3, 0, NULL }, /* RFC 7301 3.2: no_application_protocol */
    };
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A " } }");
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        hs_t h;
        client_opts_t o = { .alpn = cases[i].alpn, .alpn_len = cases[i].len };
        handshake(&h, &c->listens[0], &o);
        if (h.ok != cases[i].ok)
            fail_msg("case %zu: handshake %s", i, h.ok ? "succeeded" : "failed");
        if (h.ok) {
            const unsigned char *p;
            unsigned int n;
            SSL_get0_alpn_selected(h.c, &p, &n);
            if (cases[i].selected) {
                assert_int_equal(n, strlen(cases[i].selected));
                assert_memory_equal(p, cases[i].selected, n);
            } else {
                assert_int_equal(n, 0);
            }
        }
        hs_free(&h);
    }
    rp_conf_unref(c);
}

/* Full handshake, then a second one offering the first's session. */
static int resumes(const rp_listen_t *ls1, const rp_listen_t *ls2, int max_version)
{
    hs_t h;
    client_opts_t o = { .sni = "a.test", .max_version = max_version };
    handshake(&h, ls1, &o);
    assert_true(h.ok);
    assert_int_equal(rp_tls_session_reused(h.s), 0);
    SSL_SESSION *sess = SSL_get1_session(h.c);
    assert_non_null(sess);
    assert_true(SSL_SESSION_is_resumable(sess));
    hs_free(&h);
    o.session = sess;
    handshake(&h, ls2, &o);
    assert_true(h.ok);
    int r = rp_tls_session_reused(h.s);
    assert_int_equal(r, SSL_session_reused(h.c));
    hs_free(&h);
    SSL_SESSION_free(sess);
    return r;
}

static void test_resumption(void **state)
{
    /* OpenSSL's own ticket keys */
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A " } }");
    assert_true(resumes(&c->listens[0], &c->listens[0], TLS1_2_VERSION));
    assert_true(resumes(&c->listens[0], &c->listens[0], 0));
    /* a new generation has new automatic keys: old tickets are refused */
    rp_conf_t *c2 = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A " } }");
    assert_false(resumes(&c->listens[0], &c2->listens[0], 0));
    rp_conf_unref(c2);
    rp_conf_unref(c);

    /* tickets off, cache none: nothing resumes */
    c = load_ok("http { server { listen 127.0.0.1:8443 ssl; ssl_session_tickets off; " SRV_A
                " } }");
    assert_false(resumes(&c->listens[0], &c->listens[0], TLS1_2_VERSION));
    rp_conf_unref(c);
    /* tickets off, builtin cache: resumption by session id */
    c = load_ok("http { server { listen 127.0.0.1:8443 ssl; ssl_session_tickets off;\n"
                " ssl_session_cache builtin:100; " SRV_A " } }");
    assert_true(resumes(&c->listens[0], &c->listens[0], TLS1_2_VERSION));
    assert_true(resumes(&c->listens[0], &c->listens[0], 0));
    rp_conf_unref(c);

    /* ticket key files: the same keys in the next generation resume; a
     * rotated list (new key first, old one second) still decrypts old
     * tickets; a list without the old key does not */
    static const char *const kconf[] = {
        "ssl_session_ticket_key @D/ticket80.key;",
        "ssl_session_ticket_key @D/ticket80b.key; ssl_session_ticket_key @D/ticket80.key;",
        "ssl_session_ticket_key @D/ticket80b.key;",
        "ssl_session_ticket_key @D/ticket48.key;",
    };
    rp_conf_t *g[RP_ARRAY_LEN(kconf)];
    for (size_t i = 0; i < RP_ARRAY_LEN(kconf); i++) {
        char conf[1024];
        snprintf(conf, sizeof(conf), "http { server { listen 127.0.0.1:8443 ssl; %s " SRV_A " } }",
                 kconf[i]);
        g[i] = load_ok(conf);
    }
    for (int v = 0; v < 2; v++) {
        int maxv = v ? 0 : TLS1_2_VERSION;
        rp_conf_t *again = load_ok("http { server { listen 127.0.0.1:8443 ssl;"
                                   " ssl_session_ticket_key @D/ticket80.key; " SRV_A " } }");
        assert_true(resumes(&g[0]->listens[0], &again->listens[0], maxv));
        rp_conf_unref(again);
        assert_true(resumes(&g[0]->listens[0], &g[1]->listens[0], maxv));
        assert_false(resumes(&g[0]->listens[0], &g[2]->listens[0], maxv));
        assert_true(resumes(&g[3]->listens[0], &g[3]->listens[0], maxv));
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(kconf); i++)
        rp_conf_unref(g[i]);
}

static void test_client_certificates(void **state)
{
    static const struct {
        const char *mode;
        const char *cert;
        int ok;
        const char *verify; /* prefix of rp_tls_client_verify */
    } cases[] = {
        { "on", "client", 1, "SUCCESS" },
        { "on", NULL, 0, NULL },
        { "on", "client-other", 0, NULL },
        { "optional", NULL, 1, "NONE" },
        { "optional", "client", 1, "SUCCESS" },
        { "optional", "client-other", 0, NULL },
        { "optional_no_ca", "client-other", 1, "FAILED:" },
        { "off", "client", 1, "NONE" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char conf[1024];
        snprintf(conf, sizeof(conf),
                 "http { server { listen 127.0.0.1:8443 ssl; " SRV_A
                 " ssl_client_certificate @D/ca.pem; ssl_verify_client %s; } }",
                 cases[i].mode);
        rp_conf_t *c = load_ok(conf);
        for (int v = 0; v < 2; v++) {
            hs_t h;
            client_opts_t o = { .cert = cases[i].cert, .max_version = v ? TLS1_2_VERSION : 0 };
            handshake(&h, &c->listens[0], &o);
            if (h.ok != cases[i].ok)
                fail_msg("case %zu (%s, %s): handshake %s", i, cases[i].mode,
                         cases[i].cert ? cases[i].cert : "none", h.ok ? "succeeded" : "failed");
            if (h.ok) {
                const char *vr = rp_tls_client_verify(h.s);
                if (strncmp(vr, cases[i].verify, strlen(cases[i].verify)) != 0)
                    fail_msg("case %zu: verify %s, want %s", i, vr, cases[i].verify);
            }
            if (h.ok && strcmp(cases[i].verify, "SUCCESS") == 0) {
                char dn[256], fp[64];
                assert_true(rp_tls_client_s_dn(h.s, dn, sizeof(dn)) > 0);
                assert_string_equal(dn, "CN=client one,O=rampart tests");
                assert_int_equal(rp_tls_client_s_dn(h.s, dn, 5), -1);
                assert_int_equal(rp_tls_client_fingerprint(h.s, fp, sizeof(fp)), 40);
                unsigned char md[20];
                unsigned int n;
                X509_digest(SSL_get_certificate(h.c), EVP_sha1(), md, &n);
                char want[41];
                for (int k = 0; k < 20; k++)
                    snprintf(want + 2 * k, 3, "%02x", md[k]);
                assert_string_equal(fp, want);
            } else if (h.ok) {
                char buf[64];
                if (strcmp(cases[i].verify, "NONE") == 0) {
                    assert_int_equal(rp_tls_client_s_dn(h.s, buf, sizeof(buf)), 0);
                    assert_int_equal(rp_tls_client_fingerprint(h.s, buf, sizeof(buf)), 0);
                }
            }
            hs_free(&h);
        }
        rp_conf_unref(c);
    }
}

static void test_stapling(void **state)
{
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A
                           " ssl_stapling on; ssl_stapling_file @D/ocsp-a.der; } }");
    char path[512];
    snprintf(path, sizeof(path), "%s/ocsp-a.der", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    for (int v = 0; v < 2; v++) {
        hs_t h;
        client_opts_t o = { .want_status = 1, .max_version = v ? TLS1_2_VERSION : 0 };
        handshake(&h, &c->listens[0], &o);
        assert_true(h.ok);
        assert_int_equal(h.status_len, size);
        hs_free(&h);
    }
    rp_conf_unref(c);
    /* ssl_stapling off: the file is not served */
    c = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A
                " ssl_stapling off; ssl_stapling_file @D/ocsp-a.der; } }");
    hs_t h;
    client_opts_t o = { .want_status = 1 };
    handshake(&h, &c->listens[0], &o);
    assert_true(h.ok);
    assert_true(h.status_len <= 0);
    hs_free(&h);
    rp_conf_unref(c);
}

static void test_transport_eof(void **state)
{
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:8443 ssl; " SRV_A " } }");
    hs_t h;
    client_opts_t o = { 0 };
    handshake(&h, &c->listens[0], &o);
    assert_true(h.ok);
    char buf[16];
    assert_int_equal(rp_tls_transport.recv(h.s, buf, sizeof(buf)), RP_IO_WANT_READ);
    /* close_notify from the client reads as the end of the stream */
    SSL_shutdown(h.c);
    assert_int_equal(rp_tls_transport.recv(h.s, buf, sizeof(buf)), 0);
    hs_free(&h);
    /* a TCP EOF without close_notify too */
    handshake(&h, &c->listens[0], &o);
    assert_true(h.ok);
    shutdown(h.fds[0], SHUT_WR);
    assert_int_equal(rp_tls_transport.recv(h.s, buf, sizeof(buf)), 0);
    hs_free(&h);
    rp_conf_unref(c);
}

/* ---- TLS to backends (proxy_pass https://, proxy_ssl_*) ---- */

/* The backend: server a.test (rsa-a) on 8443, plus `extra` in its block;
 * the proxy: location / with proxy_pass https://a.test (an upstream on
 * 127.0.0.1:8443) and `pssl` in the location. */
static rp_conf_t *proxy_conf(const char *extra, const char *pssl)
{
    char conf[4096];
    snprintf(conf, sizeof(conf),
             "http {\n"
             " server { listen 127.0.0.1:8443 ssl; server_name a.test;\n"
             "   ssl_certificate @D/rsa-a.pem; ssl_certificate_key @D/rsa-a.key; %s }\n"
             " server { listen 127.0.0.1:8080;\n"
             "   location / { proxy_pass https://a.test; %s } }\n"
             " upstream a.test { server 127.0.0.1:8443; }\n"
             "}\n",
             extra ? extra : "", pssl ? pssl : "");
    return load_ok(conf);
}

static rp_loc_conf_t *proxy_loc(rp_conf_t *c)
{
    return &c->servers[1]->locations[0]->conf;
}

typedef struct {
    SSL *c, *s;
    int fds[2];
    int ok;
} chs_t;

/* The backend connection the way the proxy makes it: the name from
 * proxy_ssl_name (constant here), SNI only with proxy_ssl_server_name on,
 * the name checked only with proxy_ssl_verify on. Server side: listen ls
 * (its default server's context), or a bare context sctx. */
static void chandshake(chs_t *h, const rp_listen_t *ls, SSL_CTX *sctx, const rp_loc_conf_t *lc,
                       const char *name, const void *peer)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, h->fds), 0);
    nonblock(h->fds[0]);
    nonblock(h->fds[1]);
    if (!name)
        name = (const char *)lc->proxy_ssl.name->raw.data;
    h->c = rp_tls_client_new(lc->proxy_ssl_ctx, h->fds[0], lc->proxy_ssl.server_name ? name : NULL,
                             lc->proxy_ssl.verify ? name : NULL, peer);
    assert_non_null(h->c);
    h->s = rp_tls_conn_new(sctx ? (void *)sctx : ls->default_server->ssl_ctx, h->fds[1], ls);
    assert_non_null(h->s);
    int cdone = 0, sdone = 0, failed = 0;
    for (int i = 0; i < 200 && !(cdone && sdone) && !failed; i++) {
        if (!cdone) {
            int rc = rp_tls_transport.handshake(h->c);
            if (rc == RP_OK)
                cdone = 1;
            else if (rc == RP_IO_ERROR)
                failed = 1;
        }
        if (!sdone) {
            int rc = rp_tls_transport.handshake(h->s);
            if (rc == RP_OK)
                sdone = 1;
            else if (rc == RP_IO_ERROR)
                failed = 1;
        }
    }
    ERR_clear_error();
    h->ok = cdone && sdone && !failed;
    if (!h->ok)
        return;
    /* a byte each way: TLS 1.3 tickets reach the client's cache */
    char ch;
    assert_int_equal(rp_tls_transport.send(h->s, "s", 1), 1);
    ssize_t n = RP_IO_WANT_READ;
    for (int i = 0; i < 50 && n == RP_IO_WANT_READ; i++)
        n = rp_tls_transport.recv(h->c, &ch, 1);
    assert_int_equal(n, 1);
    assert_int_equal(rp_tls_transport.send(h->c, "c", 1), 1);
    n = RP_IO_WANT_READ;
    for (int i = 0; i < 50 && n == RP_IO_WANT_READ; i++)
        n = rp_tls_transport.recv(h->s, &ch, 1);
    assert_int_equal(n, 1);
}

static void chs_free(chs_t *h)
{
    if (h->c)
        rp_tls_transport.close(h->c);
    if (h->s)
        rp_tls_transport.close(h->s);
    close(h->fds[0]);
    close(h->fds[1]);
    ERR_clear_error();
}

static void test_proxy_conf(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           " proxy_ssl_verify on;\n"
                           " proxy_ssl_trusted_certificate @D/ca.pem;\n"
                           " proxy_ssl_verify_depth 2;\n"
                           " proxy_ssl_protocols TLSv1.2;\n"
                           " proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
                           " proxy_ssl_conf_command Options -SessionTicket;\n"
                           " server { listen 127.0.0.1:8080;\n"
                           "  proxy_ssl_server_name on; proxy_ssl_name backend.test;\n"
                           "  proxy_ssl_certificate @D/client.pem;\n"
                           "  proxy_ssl_certificate_key @D/client.key;\n"
                           "  location / { proxy_pass https://127.0.0.1:9443; }\n"
                           "  location /p { proxy_pass http://127.0.0.1:9080; }\n"
                           "  location /n { proxy_pass https://127.0.0.1:9443;\n"
                           "   proxy_ssl_session_reuse off; proxy_ssl_verify off; } } }\n");
    rp_loc_conf_t *l = &c->servers[0]->locations[0]->conf;
    const rp_proxy_ssl_conf_t *ps = &l->proxy_ssl;
    assert_int_equal(ps->verify, 1);
    assert_int_equal(ps->verify_line, 2);
    assert_int_equal(ps->verify_depth, 2);
    assert_int_equal(ps->server_name, 1);
    assert_true(rp_str_eq(ps->name->raw, RP_STR("backend.test")));
    assert_int_equal(ps->protocols, RP_SSL_TLSv1_2);
    assert_int_equal(ps->session_reuse, 1);
    assert_int_equal(ps->nconf_cmds, 1);
    char want[512];
    snprintf(want, sizeof(want), "%s/client.key", dir);
    assert_string_equal(ps->certificate_key.value, want);
    assert_int_equal(ps->certificate_key.line, 11);
    SSL_CTX *ctx = l->proxy_ssl_ctx;
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
    assert_int_equal(SSL_CTX_get_verify_depth(ctx), 2);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_2_VERSION);
    assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET); /* the conf command */
    assert_non_null(SSL_CTX_get0_certificate(ctx));
    assert_int_equal(SSL_CTX_get_session_cache_mode(ctx) & SSL_SESS_CACHE_CLIENT,
                     SSL_SESS_CACHE_CLIENT);
    assert_null(c->servers[0]->locations[1]->conf.proxy_ssl_ctx);
    SSL_CTX *n = c->servers[0]->locations[2]->conf.proxy_ssl_ctx;
    assert_non_null(n);
    assert_ptr_not_equal(n, ctx);
    assert_int_equal(SSL_CTX_get_verify_mode(n), SSL_VERIFY_NONE);
    assert_int_equal(SSL_CTX_get_session_cache_mode(n), SSL_SESS_CACHE_OFF);
    rp_conf_unref(c);

    /* nginx's defaults: no verification, TLSv1.2 and TLSv1.3, DEFAULT */
    c = proxy_conf(NULL, NULL);
    l = proxy_loc(c);
    ctx = l->proxy_ssl_ctx;
    assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    assert_null(SSL_CTX_get0_certificate(ctx));
    assert_int_equal(l->proxy_ssl.server_name, 0);
    assert_true(rp_str_eq(l->proxy_ssl.name->raw, RP_STR("a.test")));
    rp_conf_unref(c);

    /* settings that would be errors are not checked without https */
    c = load_ok("http { proxy_ssl_verify on; proxy_ssl_certificate @D/none.pem;\n"
                " server { listen 127.0.0.1:8080; location / { proxy_pass http://127.0.0.1; } } }");
    rp_conf_unref(c);
}

static void test_proxy_conf_errors(void **state)
{
    static const struct {
        const char *pssl; /* http-level directives, one per line from line 2 */
        const char *err;  /* "@D" = the certificate directory */
        int line;         /* of the directive at fault */
    } cases[] = {
        { "proxy_ssl_verify on;", "no proxy_ssl_trusted_certificate for proxy_ssl_verify", 2 },
        { "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate @D/none.pem;",
          "cannot load trusted certificates \"@D/none.pem\"", 3 },
        { "proxy_ssl_trusted_certificate @D/garbage.pem;",
          "cannot load trusted certificates \"@D/garbage.pem\"", 2 },
        { "proxy_ssl_certificate @D/none.pem;\nproxy_ssl_certificate_key @D/client.key;",
          "cannot load certificate \"@D/none.pem\"", 2 },
        { "proxy_ssl_certificate @D/client.pem;\nproxy_ssl_certificate_key @D/none.key;",
          "cannot load certificate key \"@D/none.key\"", 3 },
        { "proxy_ssl_certificate @D/client.pem;\nproxy_ssl_certificate_key @D/garbage.pem;",
          "cannot load certificate key \"@D/garbage.pem\"", 3 },
        { "proxy_ssl_certificate @D/client.pem;\nproxy_ssl_certificate_key @D/rsa-a.key;",
          "certificate \"@D/client.pem\" and key \"@D/rsa-a.key\" do not match", 3 },
        { "proxy_ssl_certificate @D/client.pem;",
          "no \"proxy_ssl_certificate_key\" is defined for certificate \"@D/client.pem\"", 2 },
        { "proxy_ssl_ciphers NOPE;", "SSL_CTX_set_cipher_list(\"NOPE\") failed", 2 },
        { "proxy_ssl_conf_command Nope x;", "proxy_ssl_conf_command \"Nope\" \"x\" failed", 2 },
        { "proxy_ssl_certificate $x.pem;",
          "\"$x.pem\" in \"proxy_ssl_certificate\" directive is not supported yet", 2 },
        { "proxy_ssl_protocols TLSv9;", "invalid value \"TLSv9\" in \"proxy_ssl_protocols\"", 2 },
        { "proxy_ssl_name \"\";", "empty value in \"proxy_ssl_name\" directive", 2 },
        { "proxy_ssl_name a;\nproxy_ssl_name b;", "\"proxy_ssl_name\" directive is duplicate", 3 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char conf[2048], err[1024] = "", want[1024], at[600], wat[600];
        snprintf(conf, sizeof(conf),
                 "http {\n%s\n server { listen 127.0.0.1:8080;\n"
                 "  location / { proxy_pass https://127.0.0.1:9443; } } }\n",
                 cases[i].pssl);
        rp_conf_t *c = load(conf, err, sizeof(err));
        expand(cases[i].err, want, sizeof(want));
        snprintf(at, sizeof(at), "@F:%d", cases[i].line);
        expand(at, wat, sizeof(wat));
        if (c) {
            rp_conf_unref(c);
            fail_msg("case %zu: loaded, expected: %s", i, want);
        }
        if (!strstr(err, want) || !strstr(err, wat))
            fail_msg("case %zu:\n  got:  %s\n  want: %s ... in %s", i, err, want, wat);
    }
}

static SSL_CTX *bare_server_ctx(const char *base)
{
    char p[512];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    int leaf = strcmp(base, "leaf-a") == 0; /* rsa-a without its CA */
    if (leaf)
        base = "rsa-a";
    snprintf(p, sizeof(p), "%s/%s.pem", dir, base);
    if (leaf)
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, p, SSL_FILETYPE_PEM), 1);
    else
        assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, p), 1);
    snprintf(p, sizeof(p), "%s/%s.key", dir, base);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, p, SSL_FILETYPE_PEM), 1);
    return ctx;
}

static void test_proxy_verify(void **state)
{
    static const struct {
        const char *pssl;
        const char *server; /* bare server context from this pair, NULL: a.test */
        const char *name;   /* NULL: the configured proxy_ssl_name */
        int ok;
        const char *why; /* rp_tls_verify_error, NULL: none */
    } cases[] = {
        /* off (nginx's default): any certificate, any name */
        { "", NULL, NULL, 1, NULL },
        { "", NULL, "b.test", 1, NULL },
        { "", "expired", NULL, 1, NULL },
        { "", "rsa-wild", NULL, 1, NULL },
        /* on: trusted chain and the name */
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", NULL, NULL, 1, NULL },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", "ec-a", NULL, 1, NULL },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", NULL, "b.test", 0,
          "hostname mismatch" },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", NULL, "A.TEST", 1,
          NULL },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", "rsa-wild",
          "x.wild.test", 1, NULL },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", "rsa-wild",
          "x.y.wild.test", 0, "hostname mismatch" },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", NULL, "127.0.0.1", 0,
          "IP address mismatch" },
        /* the backend sends its chain with the (untrusted) CA in it */
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/other-ca.pem;", NULL, NULL, 0,
          "self-signed certificate in certificate chain" },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/other-ca.pem;", "leaf-a", NULL, 0,
          "unable to get local issuer certificate" },
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;", "expired",
          "expired.test", 0, "certificate has expired" },
        /* OpenSSL's depth counts intermediates: a leaf issued by the
         * trusted CA itself passes even at 0 */
        { "proxy_ssl_verify on; proxy_ssl_trusted_certificate @D/ca.pem;"
          " proxy_ssl_verify_depth 0;",
          NULL, NULL, 1, NULL },
        { "proxy_ssl_name b.test; proxy_ssl_verify on;"
          " proxy_ssl_trusted_certificate @D/ca.pem;",
          "rsa-b", NULL, 1, NULL },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char pssl[512];
        expand(cases[i].pssl, pssl, sizeof(pssl));
        rp_conf_t *c = proxy_conf(NULL, pssl);
        SSL_CTX *sctx = cases[i].server ? bare_server_ctx(cases[i].server) : NULL;
        chs_t h;
        chandshake(&h, &c->listens[0], sctx, proxy_loc(c), cases[i].name, NULL);
        if (h.ok != cases[i].ok)
            fail_msg("case %zu: handshake %s", i, h.ok ? "succeeded" : "failed");
        const char *why = rp_tls_verify_error(h.c);
        if (cases[i].why) {
            if (!why || strcmp(why, cases[i].why) != 0)
                fail_msg("case %zu: verify error \"%s\", want \"%s\"", i, why ? why : "(none)",
                         cases[i].why);
        } else if (cases[i].ok && proxy_loc(c)->proxy_ssl.verify) {
            assert_null(why);
        }
        chs_free(&h);
        SSL_CTX_free(sctx);
        rp_conf_unref(c);
    }
}

static void test_proxy_sni(void **state)
{
    static const struct {
        const char *pssl;
        const char *name; /* NULL: the configured proxy_ssl_name */
        const char *sni;  /* what the backend saw, NULL: none */
    } cases[] = {
        { "", NULL, NULL },
        { "proxy_ssl_server_name off;", NULL, NULL },
        { "proxy_ssl_server_name on;", NULL, "a.test" },
        { "proxy_ssl_server_name on; proxy_ssl_name b.test;", NULL, "b.test" },
        { "proxy_ssl_server_name on;", "127.0.0.1", NULL }, /* RFC 6066: no IP literals */
        { "proxy_ssl_server_name on;", "::1", NULL },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_conf_t *c = proxy_conf(NULL, cases[i].pssl);
        chs_t h;
        chandshake(&h, &c->listens[0], NULL, proxy_loc(c), cases[i].name, NULL);
        assert_true(h.ok);
        const char *got = rp_tls_server_name(h.s);
        if (cases[i].sni ? !got || strcmp(got, cases[i].sni) != 0 : got != NULL)
            fail_msg("case %zu: SNI \"%s\", want \"%s\"", i, got ? got : "(none)",
                     cases[i].sni ? cases[i].sni : "(none)");
        chs_free(&h);
        rp_conf_unref(c);
    }
}

static void test_proxy_client_cert(void **state)
{
    static const char backend[] = "ssl_verify_client on; ssl_client_certificate @D/ca.pem;";
    static const struct {
        const char *pssl;
        int ok;
    } cases[] = {
        { "", 0 },
        { "proxy_ssl_certificate @D/client.pem; proxy_ssl_certificate_key @D/client.key;", 1 },
        { "proxy_ssl_certificate @D/client-other.pem;"
          " proxy_ssl_certificate_key @D/client-other.key;",
          0 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        for (int v = 0; v < 2; v++) {
            char pssl[512];
            snprintf(pssl, sizeof(pssl), "%s%s", cases[i].pssl,
                     v ? " proxy_ssl_protocols TLSv1.2;" : "");
            rp_conf_t *c = proxy_conf(backend, pssl);
            chs_t h;
            chandshake(&h, &c->listens[0], NULL, proxy_loc(c), NULL, NULL);
            if (h.ok != cases[i].ok)
                fail_msg("case %zu (%s): handshake %s", i, v ? "TLSv1.2" : "TLSv1.3",
                         h.ok ? "succeeded" : "failed");
            if (h.ok) {
                assert_string_equal(rp_tls_client_verify(h.s), "SUCCESS");
                char dn[256];
                assert_true(rp_tls_client_s_dn(h.s, dn, sizeof(dn)) > 0);
                assert_non_null(strstr(dn, "CN=client one"));
            }
            chs_free(&h);
            rp_conf_unref(c);
        }
    }
}

/* Two connections to the same backend server: the second resumes when
 * proxy_ssl_session_reuse is on, under both TLS versions; sessions never
 * cross server identities (peer) or names. */
static void test_proxy_session_reuse(void **state)
{
    static const struct {
        const char *pssl;
        int reuse;
    } cases[] = {
        { "", 1 },
        { "proxy_ssl_protocols TLSv1.2;", 1 },
        { "proxy_ssl_session_reuse on; proxy_ssl_verify on;"
          " proxy_ssl_trusted_certificate @D/ca.pem;",
          1 },
        { "proxy_ssl_session_reuse off;", 0 },
        { "proxy_ssl_session_reuse off; proxy_ssl_protocols TLSv1.2;", 0 },
    };
    int peer_a, peer_b; /* identities of two backend servers */
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char pssl[512];
        expand(cases[i].pssl, pssl, sizeof(pssl));
        rp_conf_t *c = proxy_conf(NULL, pssl);
        rp_loc_conf_t *lc = proxy_loc(c);
        chs_t h;
        chandshake(&h, &c->listens[0], NULL, lc, NULL, &peer_a);
        assert_true(h.ok);
        assert_int_equal(SSL_session_reused(h.c), 0);
        chs_free(&h);
        assert_int_equal(rp_tls_client_cached(lc->proxy_ssl_ctx), cases[i].reuse ? 1 : 0);
        for (int k = 0; k < 2; k++) { /* a resumed session stays usable */
            chandshake(&h, &c->listens[0], NULL, lc, NULL, &peer_a);
            assert_true(h.ok);
            if (SSL_session_reused(h.c) != cases[i].reuse)
                fail_msg("case %zu, connection %d: reused %d", i, k + 2, SSL_session_reused(h.c));
            assert_int_equal(SSL_session_reused(h.s), cases[i].reuse);
            chs_free(&h);
        }
        /* another backend server, another name, or no peer: full handshake */
        chandshake(&h, &c->listens[0], NULL, lc, NULL, &peer_b);
        assert_true(h.ok);
        assert_int_equal(SSL_session_reused(h.c), 0);
        chs_free(&h);
        chandshake(&h, &c->listens[0], NULL, lc, "A.test", &peer_a);
        assert_true(h.ok);
        if (lc->proxy_ssl.verify) /* the verified name is part of the key */
            assert_int_equal(SSL_session_reused(h.c), 0);
        chs_free(&h);
        chandshake(&h, &c->listens[0], NULL, lc, NULL, NULL);
        assert_true(h.ok);
        assert_int_equal(SSL_session_reused(h.c), 0);
        chs_free(&h);
        rp_conf_unref(c);
    }

    /* a new generation (new server ticket keys) refuses the old session;
     * the client falls back to a full handshake and caches the new one */
    rp_conf_t *c = proxy_conf(NULL, NULL), *c2 = proxy_conf(NULL, NULL);
    chs_t h;
    chandshake(&h, &c->listens[0], NULL, proxy_loc(c), NULL, &peer_a);
    chs_free(&h);
    chandshake(&h, &c2->listens[0], NULL, proxy_loc(c), NULL, &peer_a);
    assert_true(h.ok);
    assert_int_equal(SSL_session_reused(h.c), 0);
    chs_free(&h);
    chandshake(&h, &c2->listens[0], NULL, proxy_loc(c), NULL, &peer_a);
    assert_true(h.ok);
    assert_int_equal(SSL_session_reused(h.c), 1);
    chs_free(&h);
    rp_conf_unref(c2);
    rp_conf_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_http2),
        cmocka_unit_test(test_conf_all_directives),
        cmocka_unit_test(test_conf_inheritance),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_sni),
        cmocka_unit_test(test_rsa_vs_ecdsa),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_alpn),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_stapling),
        cmocka_unit_test(test_transport_eof),
        cmocka_unit_test(test_proxy_conf),
        cmocka_unit_test(test_proxy_conf_errors),
        cmocka_unit_test(test_proxy_verify),
        cmocka_unit_test(test_proxy_sni),
        cmocka_unit_test(test_proxy_client_cert),
        cmocka_unit_test(test_proxy_session_reuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
