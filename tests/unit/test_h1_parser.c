/* Unit tests for the HTTP/1.x head parser and chunked decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "http/h1_parser.h"

#define MAXF 16
#define SKIP (-1)
#define SKIPS ((const char *)0)

static const rp_h1_limits_t test_limits = {
    .max_line = 256,
    .max_field = 256,
    .max_head = 1024,
    .max_fields = MAXF,
};

static int str_is(rp_str_t s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.data, c, n) == 0);
}

static void fail_case(const char *what, const char *raw, size_t n)
{
    char esc[1024];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(esc) - 8; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            esc[o++] = (char)c;
        else
            o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\x%02x", c);
    }
    esc[o] = 0;
    fail_msg("%s: case \"%s\"", what, esc);
}

/* A slice must be empty or lie inside buf[0..len). */
static int slice_in(rp_str_t s, const char *buf, size_t len)
{
    /* empty slices also point into the buffer (callers rebase them) */
    return s.data >= buf && s.data <= buf + len && s.len <= (size_t)(buf + len - s.data);
}

/* ------------------------------------------------------------ requests */

typedef struct {
    const char *raw;
    int rc;
    int status; /* for RP_ERROR */
    const char *method, *path, *host;
    int body;
    long long cl;
    int ka;
} req_case_t;

#define ROK(raw, m, p, h, body, cl, ka)                                                            \
    {                                                                                              \
        raw, RP_OK, 0, m, p, h, body, cl, ka                                                       \
    }
#define RGOOD(raw)                                                                                 \
    {                                                                                              \
        raw, RP_OK, 0, SKIPS, SKIPS, SKIPS, SKIP, SKIP, SKIP                                       \
    }
#define RERR(raw, st)                                                                              \
    {                                                                                              \
        raw, RP_ERROR, st, SKIPS, SKIPS, SKIPS, SKIP, SKIP, SKIP                                   \
    }
#define RAGAIN(raw)                                                                                \
    {                                                                                              \
        raw, RP_AGAIN, 0, SKIPS, SKIPS, SKIPS, SKIP, SKIP, SKIP                                    \
    }

#define N RP_BODY_NONE
#define L RP_BODY_LENGTH
#define C RP_BODY_CHUNKED
#define H "Host: a\r\n"
#define G "GET / HTTP/1.1\r\n"

static const req_case_t req_cases[] = {
    /* basics */
    ROK(G "Host: example.com\r\n\r\n", "GET", "/", "example.com", N, SKIP, 1),
    ROK("GET /a/b?c=d&e HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/a/b?c=d&e", "x", N, SKIP, 1),
    ROK("HEAD / HTTP/1.1\r\n" H "\r\n", "HEAD", "/", "a", N, SKIP, 1),
    ROK("GET / HTTP/1.0\r\n\r\n", "GET", "/", "", N, SKIP, 0),
    ROK("GET / HTTP/1.0\r\nHost: h\r\n\r\n", "GET", "/", "h", N, SKIP, 0),
    ROK("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", "", N, SKIP, 1),
    ROK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", "", N, SKIP, 1),
    ROK("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/", "", N, SKIP, 0),
    ROK(G H "Connection: close\r\n\r\n", "GET", "/", "a", N, SKIP, 0),
    ROK(G H "Connection: CLOSE\r\n\r\n", "GET", "/", "a", N, SKIP, 0),
    ROK(G H "Connection: foo, close\r\n\r\n", "GET", "/", "a", N, SKIP, 0),
    ROK(G H "Connection: foo\r\nConnection: close\r\n\r\n", "GET", "/", "a", N, SKIP, 0),
    ROK(G H "Connection: keep-alive\r\n\r\n", "GET", "/", "a", N, SKIP, 1),
    ROK(G H "Connection: closed\r\n\r\n", "GET", "/", "a", N, SKIP, 1),
    ROK(G H "Connection: ,, close ,\r\n\r\n", "GET", "/", "a", N, SKIP, 0),
    /* bodies */
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", "POST", "/p", "a", L, 5, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", "POST", "/p", "a", L, 0, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 005\r\n\r\n", "POST", "/p", "a", L, 5, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n", "POST", "/p", "a", L, 5, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 5,5,5\r\n\r\n", "POST", "/p", "a", L, 5, 1),
    ROK("POST /p HTTP/1.1\r\n" H "content-length:    7   \r\n\r\n", "POST", "/p", "a", L, 7, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Content-Length: 9223372036854775807\r\n\r\n", "POST", "/p", "a",
        L, 9223372036854775807LL, 1),
    ROK("POST /p HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", "POST", "/p", "", L, 3, 0),
    ROK("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n", "POST", "/p", "a", C, SKIP,
        1),
    ROK("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: Chunked\r\n\r\n", "POST", "/p", "a", C, SKIP,
        1),
    ROK("POST /p HTTP/1.1\r\n" H "transfer-encoding: CHUNKED\r\n\r\n5\r\nhello\r\n", "POST", "/p",
        "a", C, SKIP, 1),
    ROK("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked,\r\n\r\n", "POST", "/p", "a", C, SKIP,
        1),
    ROK("POST /p HTTP/1.1\r\n" H "Transfer-Encoding: , chunked\r\n\r\n", "POST", "/p", "a", C, SKIP,
        1),
    ROK("PUT /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", "PUT",
        "/p", "a", C, SKIP, 0),
    /* line terminators: bare LF accepted */
    ROK("GET / HTTP/1.1\nHost: a\n\n", "GET", "/", "a", N, SKIP, 1),
    ROK("GET / HTTP/1.1\r\nHost: a\n\r\n", "GET", "/", "a", N, SKIP, 1),
    ROK("GET / HTTP/1.1\nHost: a\r\n\n", "GET", "/", "a", N, SKIP, 1),
    /* leading empty lines before the request line (RFC 9112 2.2) */
    ROK("\r\nGET / HTTP/1.1\r\n" H "\r\n", "GET", "/", "a", N, SKIP, 1),
    ROK("\r\n\r\n\nGET / HTTP/1.1\r\n" H "\r\n", "GET", "/", "a", N, SKIP, 1),
    /* request-target forms */
    ROK("GET http://example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n", "GET", "/x?y",
        "example.com:8080", N, SKIP, 1),
    ROK("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", "/", "example.com",
        N, SKIP, 1),
    ROK("GET HTTPS://Example.COM/ HTTP/1.1\r\n" H "\r\n", "GET", "/", "Example.COM", N, SKIP, 1),
    ROK("GET hTTp://a/b HTTP/1.1\r\n" H "\r\n", "GET", "/b", "a", N, SKIP, 1),
    ROK("GET http://[::1]:80/ HTTP/1.1\r\n" H "\r\n", "GET", "/", "[::1]:80", N, SKIP, 1),
    ROK("GET http://a/b HTTP/1.0\r\n\r\n", "GET", "/b", "a", N, SKIP, 0),
    ROK("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "CONNECT", "",
        "example.com:443", N, SKIP, 1),
    ROK("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", "CONNECT", "", "[::1]:443", N,
        SKIP, 1),
    ROK("CONNECT 10.0.0.1:8443 HTTP/1.1\r\nHost: 10.0.0.1:8443\r\n\r\n", "CONNECT", "",
        "10.0.0.1:8443", N, SKIP, 1),
    ROK("OPTIONS * HTTP/1.1\r\n" H "\r\n", "OPTIONS", "", "a", N, SKIP, 1),
    ROK("OPTIONS / HTTP/1.1\r\n" H "\r\n", "OPTIONS", "/", "a", N, SKIP, 1),
    ROK("GET /%20a%2F?q=%41 HTTP/1.1\r\n" H "\r\n", "GET", "/%20a%2F?q=%41", "a", N, SKIP, 1),
    ROK("GET /a:b@c!$&'()*+,;=~ HTTP/1.1\r\n" H "\r\n", "GET", "/a:b@c!$&'()*+,;=~", "a", N, SKIP,
        1),
    ROK("GET //double HTTP/1.1\r\n" H "\r\n", "GET", "//double", "a", N, SKIP, 1),
    /* methods */
    ROK("PROPFIND /d HTTP/1.1\r\n" H "\r\n", "PROPFIND", "/d", "a", N, SKIP, 1),
    ROK("get / HTTP/1.1\r\n" H "\r\n", "get", "/", "a", N, SKIP, 1),
    RGOOD("M-SEARCH / HTTP/1.1\r\n" H "\r\n"),
    ROK("DELETE /x HTTP/1.1\r\n" H "\r\n", "DELETE", "/x", "a", N, SKIP, 1),
    ROK("PATCH /x HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\n{}", "PATCH", "/x", "a", L, 2, 1),
    ROK("TRACE / HTTP/1.1\r\n" H "\r\n", "TRACE", "/", "a", N, SKIP, 1),
    ROK("X!#$%&'*+-.^_`|~9 / HTTP/1.1\r\n" H "\r\n", "X!#$%&'*+-.^_`|~9", "/", "a", N, SKIP, 1),
    /* Host syntax */
    ROK(G "Host: 127.0.0.1\r\n\r\n", "GET", "/", "127.0.0.1", N, SKIP, 1),
    ROK(G "Host: 127.0.0.1:8080\r\n\r\n", "GET", "/", "127.0.0.1:8080", N, SKIP, 1),
    ROK(G "Host: [::1]\r\n\r\n", "GET", "/", "[::1]", N, SKIP, 1),
    ROK(G "Host: [2001:db8::1]:443\r\n\r\n", "GET", "/", "[2001:db8::1]:443", N, SKIP, 1),
    ROK(G "Host: [::ffff:1.2.3.4]\r\n\r\n", "GET", "/", "[::ffff:1.2.3.4]", N, SKIP, 1),
    ROK(G "Host:\r\n\r\n", "GET", "/", "", N, SKIP, 1),
    ROK(G "Host:   \r\n\r\n", "GET", "/", "", N, SKIP, 1),
    ROK(G "Host: a-b_c~d.e%41\r\n\r\n", "GET", "/", "a-b_c~d.e%41", N, SKIP, 1),
    ROK(G "host: lower\r\n\r\n", "GET", "/", "lower", N, SKIP, 1),
    ROK(G "HOST: upper:65535\r\n\r\n", "GET", "/", "upper:65535", N, SKIP, 1),
    ROK(G "Host:\tx\t\r\n\r\n", "GET", "/", "x", N, SKIP, 1),
    /* field values */
    RGOOD(G H "X-A: \x80\xff\xc3\xa9\r\n\r\n"),
    RGOOD(G H "X-A: a\tb  c\r\n\r\n"),
    RGOOD(G H "X-A:\r\n\r\n"),
    RGOOD(G H "X-A:a\r\n\r\n"),
    RGOOD(G H "X-A: \"quoted, \\\"str\\\"\"\r\n\r\n"),
    RGOOD(G H "!#$%&'*+-.^_`|~: v\r\n\r\n"),
    RGOOD(G H "X: ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./\r\n\r\n"),
    /* Expect / Upgrade */
    RGOOD(G H "Expect: 100-continue\r\n\r\n"),
    RGOOD(G H "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    /* body follows the head */
    ROK(G H "\r\nGET / HTTP/1.1\r\n" H "\r\n", "GET", "/", "a", N, SKIP, 1),

    /* ---- hostile / invalid */
    RERR(G "\r\n", 400),                       /* missing Host */
    RERR(G "X: y\r\n\r\n", 400),               /* missing Host */
    RERR(G H H "\r\n", 400),                   /* several Host */
    RERR(G "Host: a\r\nHost: b\r\n\r\n", 400), /* several Host */
    RERR("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    RERR(G "Host: a b\r\n\r\n", 400),
    RERR(G "Host: a:b\r\n\r\n", 400),
    RERR(G "Host: a:\r\n\r\n", 400),
    RERR(G "Host: :80\r\n\r\n", 400),
    RERR(G "Host: a:99999\r\n\r\n", 400),
    RERR(G "Host: a:65536\r\n\r\n", 400),
    RERR(G "Host: a:123456\r\n\r\n", 400),
    RERR(G "Host: user@a\r\n\r\n", 400),
    RERR(G "Host: a/b\r\n\r\n", 400),
    RERR(G "Host: a?b\r\n\r\n", 400),
    RERR(G "Host: [::1\r\n\r\n", 400),
    RERR(G "Host: [::1]x\r\n\r\n", 400),
    RERR(G "Host: []\r\n\r\n", 400),
    RERR(G "Host: [zz::1]\r\n\r\n", 400),
    RERR(G "Host: a%4\r\n\r\n", 400),
    RERR(G "Host: a%zz\r\n\r\n", 400),
    RERR(G "Host: a,b c\r\n\r\n", 400),
    RERR(G "Host: \"a\"\r\n\r\n", 400),
    RERR(G "Host: a:80:80\r\n\r\n", 400),
    /* Content-Length */
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    /* several Content-Length lines, even equal: 400 (a list in one line is fine) */
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 3\r\nX: y\r\ncontent-length: 3\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: abc\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5.0\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 0x10\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 1 2\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length:  \r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5,\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: ,5\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5,,5\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775808\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551616\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: x\r\n\r\n", 400),
    /* Transfer-Encoding */
    RERR("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400),
    RERR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, deflate\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
         501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: deflate;q=1, chunked\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
         400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;x=1\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked x\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunke\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n", 501),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip, chunked\r\n\r\n", 400),
    RERR("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked, gzip\r\n\r\n", 400),
    /* field syntax */
    RERR(G H "X: a\r\n b\r\n\r\n", 400),  /* obs-fold */
    RERR(G H "X: a\r\n\tb\r\n\r\n", 400), /* obs-fold */
    RERR(G " Host: a\r\n\r\n", 400),      /* whitespace after start line */
    RERR(G "Host : a\r\n\r\n", 400),      /* whitespace before colon */
    RERR(G "Host\t: a\r\n\r\n", 400),
    RERR(G H ": x\r\n\r\n", 400),    /* empty name */
    RERR(G H "X\r\n\r\n", 400),      /* no colon */
    RERR(G H "X Y: z\r\n\r\n", 400), /* space in name */
    RERR(G H "X(: z\r\n\r\n", 400),
    RERR(G H "X\"Y: z\r\n\r\n", 400),
    RERR(G H "X/Y: z\r\n\r\n", 400),
    RERR(G H "X@: z\r\n\r\n", 400),
    RERR(G H "X\xc3\xa9: z\r\n\r\n", 400),
    RERR(G H "X: a\x7f\r\n\r\n", 400),
    RERR(G H "X: a\x01\r\n\r\n", 400),
    RERR(G H "X: a\x1b[31m\r\n\r\n", 400),
    RERR(G H "X: a\x0b\r\n\r\n", 400),
    RERR(G H "X: a\x0c\r\n\r\n", 400),
    /* bare CR */
    RERR("GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    RERR(G "Host: a\rX: b\r\n\r\n", 400),
    RERR(G H "X: a\rb\r\n\r\n", 400),
    RERR(G H "X: a\r\r\n\r\n", 400),
    RERR(G H "\r\r\n", 400),
    RERR(G H "X\r: a\r\n\r\n", 400),
    RERR("GET /\r HTTP/1.1\r\n" H "\r\n", 400),
    /* request line */
    RERR(" / HTTP/1.1\r\n" H "\r\n", 400),
    RERR("G(ET / HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GE,T / HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET  / HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET /  HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET / HTTP/1.1 \r\n" H "\r\n", 400),
    RERR("GET\t/ HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET /\tHTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET / HTTP/1.1 x\r\n" H "\r\n", 400),
    RERR("GET /\r\n" H "\r\n", 400),
    RERR("GET\r\n" H "\r\n", 400),
    RERR("GET / \r\n" H "\r\n", 400),
    RERR("GET /a b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET /\x01 HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET /\x7f HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET /\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 400),
    RERR("\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n", 400),
    /* request-target forms */
    RERR("GET foo HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET a.com:80 HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET * HTTP/1.1\r\n" H "\r\n", 400),
    RERR("M-SEARCH * HTTP/1.1\r\n" H "\r\n", 400),
    RERR("OPTIONS *x HTTP/1.1\r\n" H "\r\n", 400),
    RERR("OPTIONS ** HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT / HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT a.com HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT a.com: HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT :443 HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT a.com:443/x HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT http://a.com:443/ HTTP/1.1\r\n" H "\r\n", 400),
    RERR("CONNECT * HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET ftp://a/b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http:/a/b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http:///b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http:// HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://a?b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://a#b HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://u:p@a/ HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://a:99999/ HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://a b/ HTTP/1.1\r\n" H "\r\n", 400),
    RERR("GET http://[::1/ HTTP/1.1\r\n" H "\r\n", 400),
    /* version */
    RERR("GET / HTTP/2.0\r\n" H "\r\n", 505),
    RERR("GET / HTTP/1.2\r\n" H "\r\n", 505),
    RERR("GET / HTTP/0.9\r\n" H "\r\n", 505),
    RERR("GET / HTTP/3.0\r\n" H "\r\n", 505),
    RERR("GET / HTTP/9.9\r\n" H "\r\n", 505),
    RERR("GET / HTTP/1.10\r\n" H "\r\n", 400),
    RERR("GET / HTTP/11\r\n" H "\r\n", 400),
    RERR("GET / HTTP/1\r\n" H "\r\n", 400),
    RERR("GET / HTTP/2\r\n" H "\r\n", 400),
    RERR("GET / http/1.1\r\n" H "\r\n", 400),
    RERR("GET / HTTPS/1.1\r\n" H "\r\n", 400),
    RERR("GET / HTTP/1.x\r\n" H "\r\n", 400),
    RERR("GET / HTTP/a.1\r\n" H "\r\n", 400),
    RERR("GET / HTTP /1.1\r\n" H "\r\n", 400),
    /* incomplete */
    RAGAIN(""),
    RAGAIN("G"),
    RAGAIN("GET / HTTP/1.1"),
    RAGAIN("GET / HTTP/1.1\r"),
    RAGAIN(G),
    RAGAIN(G H),
    RAGAIN(G H "\r"),
    RAGAIN(G "Host: a"),
    RAGAIN("\r\n"),
    RAGAIN("\r\n\r\n"),
    RAGAIN("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\n"),
};

#undef N
#undef L
#undef C

static void check_req_slices(const rp_h1_request_t *r, const char *buf, size_t len)
{
    assert_true(r->head_len <= len);
    assert_true(slice_in(r->method, buf, len));
    assert_true(slice_in(r->target, buf, len));
    assert_true(slice_in(r->authority, buf, len));
    assert_true(slice_in(r->host, buf, len));
    assert_true(slice_in(r->connection, buf, len));
    if (!(r->path.len == 1 && r->path.data[0] == '/'))
        assert_true(slice_in(r->path, buf, len));
    assert_true(r->nfields <= MAXF);
    for (size_t i = 0; i < r->nfields; i++) {
        assert_true(r->fields[i].name.len > 0);
        assert_true(slice_in(r->fields[i].name, buf, len));
        assert_true(slice_in(r->fields[i].value, buf, len));
    }
}

static int parse_req_oneshot(const char *raw, size_t n, const rp_h1_limits_t *lim,
                             rp_h1_request_t *r, rp_http_field_t *fields)
{
    rp_h1_parser_t p;
    rp_h1_parser_init(&p, lim);
    memset(r, 0x5a, sizeof(*r)); /* the parser must not rely on a zeroed req */
    r->fields = fields;
    return rp_h1_parse_request(&p, raw, n, r);
}

static int same_str(rp_str_t a, rp_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* Compares two successful parses (possibly of different buffers) by content. */
static int same_req(const rp_h1_request_t *a, const rp_h1_request_t *b)
{
    if (!same_str(a->method, b->method) || !same_str(a->target, b->target) ||
        !same_str(a->path, b->path) || !same_str(a->authority, b->authority) ||
        !same_str(a->host, b->host) || !same_str(a->connection, b->connection))
        return 0;
    if (a->method_id != b->method_id || a->target_form != b->target_form ||
        a->version_minor != b->version_minor || a->nfields != b->nfields ||
        a->head_len != b->head_len || a->body_kind != b->body_kind ||
        a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue ||
        a->upgrade != b->upgrade)
        return 0;
    if (a->body_kind == RP_BODY_LENGTH && a->content_length != b->content_length)
        return 0;
    for (size_t i = 0; i < a->nfields; i++)
        if (!same_str(a->fields[i].name, b->fields[i].name) ||
            !same_str(a->fields[i].value, b->fields[i].value))
            return 0;
    return 1;
}

/* Feeds raw[0..n) in growing prefixes, each copied to a fresh heap buffer
 * (the old one freed, so ASan catches a parser that keeps pointers). `step`
 * bytes per call; step 0 means: split once at `split`. Returns the final rc;
 * *buf_out keeps the last buffer (caller frees). */
static int parse_req_pieces(const char *raw, size_t n, const rp_h1_limits_t *lim, size_t step,
                            size_t split, rp_h1_request_t *r, rp_http_field_t *fields,
                            char **buf_out, size_t *len_out)
{
    rp_h1_parser_t p;
    rp_h1_parser_init(&p, lim);
    memset(r, 0, sizeof(*r));
    r->fields = fields;
    char *prev = NULL;
    size_t len = 0;
    int rc = RP_AGAIN;
    for (;;) {
        if (step)
            len = len + step > n ? n : len + step;
        else
            len = len < split ? split : n;
        char *b = malloc(len ? len : 1);
        memcpy(b, raw, len);
        free(prev);
        prev = b;
        rc = rp_h1_parse_request(&p, b, len, r);
        if (rc != RP_AGAIN || len == n)
            break;
    }
    *buf_out = prev;
    *len_out = len;
    return rc;
}

static void run_req_case(const req_case_t *tc, size_t n)
{
    rp_http_field_t f1[MAXF], f2[MAXF];
    rp_h1_request_t r, r2;

    int rc = parse_req_oneshot(tc->raw, n, &test_limits, &r, f1);
    if (rc != tc->rc)
        fail_case("rc", tc->raw, n);
    if (rc == RP_ERROR) {
        if (r.error_status != tc->status || r.error == NULL)
            fail_case("error status", tc->raw, n);
    }
    if (rc == RP_OK) {
        check_req_slices(&r, tc->raw, n);
        if (tc->method && !str_is(r.method, tc->method))
            fail_case("method", tc->raw, n);
        if (tc->path && !str_is(r.path, tc->path))
            fail_case("path", tc->raw, n);
        if (tc->host && !str_is(r.host, tc->host))
            fail_case("host", tc->raw, n);
        if (tc->body != SKIP && r.body_kind != tc->body)
            fail_case("body_kind", tc->raw, n);
        if (tc->cl != SKIP && r.content_length != (uint64_t)tc->cl)
            fail_case("content_length", tc->raw, n);
        if (tc->ka != SKIP && (int)r.keep_alive != tc->ka)
            fail_case("keep_alive", tc->raw, n);
        if (r.head_len == 0 || r.head_len > n)
            fail_case("head_len", tc->raw, n);
    }

    /* byte by byte and split at every point: same answer */
    for (size_t mode = 0; mode <= n + 1; mode++) {
        char *b;
        size_t blen;
        int rc2 = mode == 0
                      ? parse_req_pieces(tc->raw, n, &test_limits, 1, 0, &r2, f2, &b, &blen)
                      : parse_req_pieces(tc->raw, n, &test_limits, 0, mode - 1, &r2, f2, &b, &blen);
        if (rc2 != rc)
            fail_case(mode == 0 ? "bytewise rc" : "split rc", tc->raw, n);
        if (rc == RP_ERROR && r2.error_status != r.error_status)
            fail_case("incremental error status", tc->raw, n);
        if (rc == RP_OK) {
            check_req_slices(&r2, b, blen);
            if (!same_req(&r, &r2))
                fail_case("incremental result differs", tc->raw, n);
            if (mode == 0 && blen != r.head_len)
                fail_case("bytewise OK not at head end", tc->raw, n);
        }
        free(b);
    }
}

static void test_request_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < RP_ARRAY_LEN(req_cases); i++)
        run_req_case(&req_cases[i], strlen(req_cases[i].raw));
}

/* Field slices, trimming, flags. */
static void test_request_fields(void **state)
{
    (void)state;
    rp_http_field_t f[MAXF];
    rp_h1_request_t r;
    const char *raw = "POST http://h.example:81/up?x=1 HTTP/1.1\r\n"
                      "Host:   h.example  \r\n"
                      "X-Empty:\r\n"
                      "X-Tab:\t a \t b\t \r\n"
                      "Connection: Upgrade, keep-alive\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: te\r\n"
                      "Expect: 100-Continue\r\n"
                      "Content-Length: 3\r\n"
                      "\r\nabc";
    size_t n = strlen(raw);
    assert_int_equal(parse_req_oneshot(raw, n, &test_limits, &r, f), RP_OK);
    assert_int_equal(r.method_id, RP_METHOD_POST);
    assert_int_equal(r.target_form, RP_TARGET_ABSOLUTE);
    assert_true(str_is(r.target, "http://h.example:81/up?x=1"));
    assert_true(str_is(r.authority, "h.example:81"));
    assert_true(str_is(r.host, "h.example:81"));
    assert_true(str_is(r.path, "/up?x=1"));
    assert_int_equal(r.version_minor, 1);
    assert_int_equal(r.nfields, 8);
    assert_true(str_is(r.fields[0].name, "Host"));
    assert_true(str_is(r.fields[0].value, "h.example"));
    assert_true(str_is(r.fields[1].name, "X-Empty"));
    assert_true(str_is(r.fields[1].value, ""));
    assert_true(str_is(r.fields[2].value, "a \t b"));
    assert_true(str_is(r.connection, "Upgrade, keep-alive"));
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(r.upgrade, 1);
    assert_int_equal(r.expect_continue, 1);
    assert_int_equal(r.body_kind, RP_BODY_LENGTH);
    assert_int_equal(r.content_length, 3);
    assert_int_equal(r.head_len, n - 3);

    /* Upgrade without Connection: upgrade is not an upgrade */
    raw = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.upgrade, 0);
    /* Connection: upgrade without Upgrade field */
    raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.upgrade, 0);
    /* RFC 9110 7.8: Upgrade ignored in HTTP/1.0; 10.1.1: Expect too */
    raw = "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\nExpect: 100-continue\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.upgrade, 0);
    assert_int_equal(r.expect_continue, 0);
    /* other expectations are not 100-continue */
    raw = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.expect_continue, 0);
    /* no Connection: empty slice */
    raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.connection.len, 0);
    assert_int_equal(r.nfields, 1);
    assert_int_equal(r.target_form, RP_TARGET_ORIGIN);
    assert_int_equal(r.authority.len, 0);
    /* CONNECT */
    raw = "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.method_id, RP_METHOD_CONNECT);
    assert_int_equal(r.target_form, RP_TARGET_AUTHORITY);
    assert_true(str_is(r.authority, "a:1"));
    assert_int_equal(r.path.len, 0);
    raw = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(parse_req_oneshot(raw, strlen(raw), &test_limits, &r, f), RP_OK);
    assert_int_equal(r.target_form, RP_TARGET_ASTERISK);
    assert_true(str_is(r.target, "*"));
}

/* Every byte value in every position of the head: only the allowed ones pass. */
static void test_request_byte_classes(void **state)
{
    (void)state;
    static const char tchars[] = "!#$%&'*+-.^_`|~";
    int ncase = 0;
    for (int c = 0; c < 256; c++) {
        char raw[128];
        size_t n;
        int tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c != 0 && strchr(tchars, c) != NULL);
        int vchar = c > 0x20 && c < 0x7f;
        int fval = c == '\t' || c == ' ' || vchar || c >= 0x80;
        req_case_t tc;
        memset(&tc, 0, sizeof(tc));
        tc.method = tc.path = tc.host = NULL;
        tc.body = tc.cl = tc.ka = SKIP;

        /* in the method */
        n = (size_t)snprintf(raw, sizeof(raw), "GE%cT / HTTP/1.1\r\nHost: a\r\n\r\n", 'X');
        raw[2] = (char)c;
        tc.raw = raw;
        tc.rc = tchar ? RP_OK : RP_ERROR;
        tc.status = tchar ? 0 : 400;
        if (c != '\n')
            run_req_case(&tc, n), ncase++;

        /* in the target */
        n = (size_t)snprintf(raw, sizeof(raw), "GET /aXb HTTP/1.1\r\nHost: a\r\n\r\n");
        raw[6] = (char)c;
        tc.rc = vchar ? RP_OK : RP_ERROR;
        tc.status = vchar ? 0 : 400;
        if (c != '\n')
            run_req_case(&tc, n), ncase++;

        /* in a field name */
        n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nXaY: v\r\n\r\n");
        raw[27] = (char)c;
        tc.rc = tchar ? RP_OK : RP_ERROR;
        tc.status = tchar ? 0 : 400;
        if (c != '\n' && c != ':')
            run_req_case(&tc, n), ncase++;

        /* in a field value */
        n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nX: aYb\r\n\r\n");
        raw[29] = (char)c;
        tc.rc = fval ? RP_OK : RP_ERROR;
        tc.status = fval ? 0 : 400;
        if (c != '\n')
            run_req_case(&tc, n), ncase++;

        /* in the Host value */
        n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: aYb\r\n\r\n");
        raw[23] = (char)c;
        int reg = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c != 0 && strchr("-._~!$&'()*+,;=", c) != NULL);
        tc.rc = reg ? RP_OK : RP_ERROR;
        tc.status = reg ? 0 : 400;
        if (c != '\n')
            run_req_case(&tc, n), ncase++;
    }
    assert_true(ncase > 1200);
}

/* Limits: 414 and 431 at exactly one byte past the limit. */
static void test_request_limits(void **state)
{
    (void)state;
    rp_http_field_t f[MAXF];
    rp_h1_request_t r;
    char raw[4096];
    rp_h1_limits_t lim = { .max_line = 64, .max_field = 48, .max_head = 512, .max_fields = 4 };

    /* request line of exactly max_line bytes, then one more */
    for (int extra = 0; extra <= 1; extra++) {
        size_t tl = 64 - strlen("GET  HTTP/1.1") + (size_t)extra;
        char target[128];
        memset(target, 'a', tl);
        target[0] = '/';
        target[tl] = 0;
        size_t n = (size_t)snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
        int rc = parse_req_oneshot(raw, n, &lim, &r, f);
        if (extra) {
            assert_int_equal(rc, RP_ERROR);
            assert_int_equal(r.error_status, 414);
        } else {
            assert_int_equal(rc, RP_OK);
        }
        /* incomplete line already over the limit: 414 without waiting */
        n = (size_t)snprintf(raw, sizeof(raw), "GET %s HTTP/1.1", target);
        rc = parse_req_oneshot(raw, n + (size_t)extra, &lim, &r, f);
        assert_int_equal(rc, extra ? RP_ERROR : RP_AGAIN);
        /* byte by byte gives the same */
        char *b;
        size_t blen;
        n = (size_t)snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
        rc = parse_req_pieces(raw, n, &lim, 1, 0, &r, f, &b, &blen);
        free(b);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
        if (extra)
            assert_int_equal(r.error_status, 414);
    }
    /* a long line with no LF at all */
    memset(raw, 'A', 200);
    assert_int_equal(parse_req_oneshot(raw, 200, &lim, &r, f), RP_ERROR);
    assert_int_equal(r.error_status, 414);

    /* field line of exactly max_field bytes, then one more */
    for (int extra = 0; extra <= 1; extra++) {
        char val[128];
        size_t vl = 48 - strlen("X: ") + (size_t)extra;
        memset(val, 'v', vl);
        val[vl] = 0;
        size_t n =
            (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", val);
        int rc = parse_req_oneshot(raw, n, &lim, &r, f);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
        if (extra)
            assert_int_equal(r.error_status, 431);
        char *b;
        size_t blen;
        rc = parse_req_pieces(raw, n, &lim, 1, 0, &r, f, &b, &blen);
        free(b);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
        if (extra)
            assert_int_equal(r.error_status, 431);
    }

    /* max_fields fields, then one more */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i < 4 + extra; i++)
            n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X%d: y\r\n", i);
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n");
        int rc = parse_req_oneshot(raw, n, &lim, &r, f);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
        if (extra)
            assert_int_equal(r.error_status, 431);
        else
            assert_int_equal(r.nfields, 4);
    }

    /* whole head over max_head: head of exactly max_head is fine */
    lim.max_fields = 100;
    lim.max_head = 200;
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\n");
        while (n + 12 <= 170)
            n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X: 0123456\r\n");
        /* pad the last field so the head is exactly 200 (+extra) bytes */
        size_t pad = 200 - n - 7 + (size_t)extra;
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "Y: ");
        memset(raw + n, 'p', pad);
        n += pad;
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n\r\n");
        int rc = parse_req_oneshot(raw, n, &lim, &r, f);
        if (extra) {
            assert_int_equal(rc, RP_ERROR);
            assert_int_equal(r.error_status, 431);
        } else {
            assert_int_equal(rc, RP_OK);
            assert_int_equal(r.head_len, 200);
        }
        char *b;
        size_t blen;
        rc = parse_req_pieces(raw, n, &lim, 1, 0, &r, f, &b, &blen);
        free(b);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
    }
    /* incomplete head already over max_head */
    size_t n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\n");
    while (n < 300)
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X: 0123456\r\n");
    assert_int_equal(parse_req_oneshot(raw, n, &lim, &r, f), RP_ERROR);
    assert_int_equal(r.error_status, 431);

    /* default limits */
    rp_http_field_t fd[100];
    rp_h1_parser_t p;
    rp_h1_parser_init(&p, NULL);
    assert_true(p.limits.max_line > 0 && p.limits.max_fields == 100);
    memset(&r, 0, sizeof(r));
    r.fields = fd;
    const char *ok = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(rp_h1_parse_request(&p, ok, strlen(ok), &r), RP_OK);
}

/* NUL bytes (strlen-based tables cannot hold them). */
static void test_request_nul(void **state)
{
    (void)state;
    static const struct {
        const char raw[64];
        size_t len;
    } cases[] = {
        { "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29 },
        { "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 28 },
        { "GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 29 },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n", 34 },
        { "GET / HTTP/1.1\r\nHost: a\r\nX\0: y\r\n\r\n", 34 },
        { "GET / HTTP/1.1\0\r\nHost: a\r\n\r\n", 29 },
        { "\0GET / HTTP/1.1\r\nHost: a\r\n\r\n", 29 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        req_case_t tc = RERR(cases[i].raw, 400);
        run_req_case(&tc, cases[i].len);
    }
}

/* The parser may be called again after a result; it answers the same. */
static void test_request_reuse(void **state)
{
    (void)state;
    rp_http_field_t f[MAXF];
    rp_h1_request_t r;
    rp_h1_parser_t p;
    const char *raw = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    rp_h1_parser_init(&p, &test_limits);
    memset(&r, 0, sizeof(r));
    r.fields = f;
    assert_int_equal(rp_h1_parse_request(&p, raw, 10, &r), RP_AGAIN);
    assert_int_equal(p.scanned, 10);
    assert_int_equal(rp_h1_parse_request(&p, raw, strlen(raw), &r), RP_OK);
    assert_int_equal(rp_h1_parse_request(&p, raw, strlen(raw), &r), RP_OK);
    assert_true(str_is(r.path, "/x"));
    /* a buffer that shrank (caller bug or reuse): starts over */
    assert_int_equal(rp_h1_parse_request(&p, raw, 5, &r), RP_AGAIN);
    assert_int_equal(rp_h1_parse_request(&p, raw, strlen(raw), &r), RP_OK);
}

/* ----------------------------------------------------------- responses */

typedef struct {
    const char *raw;
    int method;
    int rc;
    int status;
    int body;
    long long cl;
    int ka;
} resp_case_t;

#define SOK(raw, m, st, body, cl, ka)                                                              \
    {                                                                                              \
        raw, m, RP_OK, st, body, cl, ka                                                            \
    }
#define SERR(raw, m)                                                                               \
    {                                                                                              \
        raw, m, RP_ERROR, 0, SKIP, SKIP, SKIP                                                      \
    }
#define SAGAIN(raw)                                                                                \
    {                                                                                              \
        raw, RP_METHOD_GET, RP_AGAIN, 0, SKIP, SKIP, SKIP                                          \
    }
#define MG RP_METHOD_GET
#define MH RP_METHOD_HEAD
#define MC RP_METHOD_CONNECT
#define MP RP_METHOD_POST
#define N RP_BODY_NONE
#define L RP_BODY_LENGTH
#define C RP_BODY_CHUNKED
#define X RP_BODY_CLOSE

static const resp_case_t resp_cases[] = {
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", MG, 200, L, 5, 1),
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", MG, 200, L, 0, 1),
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", MG, 200, L, 5, 1),
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", MG, 200, L, 5, 1),
    SOK("HTTP/1.1 200 OK\r\n\r\n", MG, 200, X, SKIP, 0),
    SOK("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", MG, 200, X, SKIP, 0),
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", MG, 200, L, 5, 0),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MG, 200, C, SKIP, 1),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", MG, 200, C, SKIP, 1),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", MG, 200, X, SKIP, 0),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", MG, 200, X, SKIP, 0),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", MG, 200,
        C, SKIP, 1),
    SOK("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", MG, 200, L, 5, 0),
    SOK("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n", MG, 200, L, 5, 1),
    SOK("HTTP/1.0 200 OK\r\n\r\n", MG, 200, X, SKIP, 0),
    /* RFC 9112 6.3 (1): no body */
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", MH, 200, N, SKIP, 1),
    SOK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MH, 200, N, SKIP, 1),
    SOK("HTTP/1.1 200 OK\r\n\r\n", MH, 200, N, SKIP, 1),
    SOK("HTTP/1.1 204 No Content\r\n\r\n", MG, 204, N, SKIP, 1),
    SOK("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", MG, 204, N, SKIP, 1),
    SOK("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", MG, 304, N, SKIP, 1),
    SOK("HTTP/1.1 100 Continue\r\n\r\n", MP, 100, N, SKIP, 1),
    SOK("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", MG, 103, N, SKIP, 1),
    SOK("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", MG,
        101, N, SKIP, 0),
    /* RFC 9112 6.3 (2): 2xx to CONNECT */
    SOK("HTTP/1.1 200 Connection Established\r\n\r\n", MC, 200, N, SKIP, 0),
    SOK("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", MC, 200, N, SKIP, 0),
    SOK("HTTP/1.1 407 Auth\r\nContent-Length: 5\r\n\r\n", MC, 407, L, 5, 1),
    /* status line variants */
    SOK("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", MG, 200, L, 0, 1),
    SOK("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", MG, 200, L, 0, 1),
    SOK("HTTP/1.1 404 Not  Found \t\r\nContent-Length: 0\r\n\r\n", MG, 404, L, 0, 1),
    SOK("HTTP/1.1 200 D\xc3\xa9j\xc3\xa0\r\nContent-Length: 0\r\n\r\n", MG, 200, L, 0, 1),
    SOK("HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n", MG, 599, L, 0, 1),
    SOK("HTTP/1.1 100 Continue\n\n", MP, 100, N, SKIP, 1),
    SOK("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", MG, 200, L, 2, 1),
    SOK("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\nServer: x\r\n\r\n", MG, 500, L,
        3, 1),
    SOK("HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", MG, 302, L, 0, 1),
    /* errors */
    SERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", MG),
    SERR("HTTP/1.1 204 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", MG),
    SERR("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", MG),
    SERR("HTTP/1.1 304 OK\r\nContent-Length: x\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\rX: a\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", MG),
    SERR("HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n", MG),
    SERR("HTTP/1.1 200 O\x01K\r\n\r\n", MG),
    SERR("HTTP/1.1 200 O\x7fK\r\n\r\n", MG),
    SERR("HTTP/1.1 099 x\r\n\r\n", MG),
    SERR("HTTP/1.1 600 x\r\n\r\n", MG),
    SERR("HTTP/1.1 000 x\r\n\r\n", MG),
    SERR("HTTP/1.1 2000 x\r\n\r\n", MG),
    SERR("HTTP/1.1 20 x\r\n\r\n", MG),
    SERR("HTTP/1.1 20a x\r\n\r\n", MG),
    SERR("HTTP/1.1 -20 x\r\n\r\n", MG),
    SERR("HTTP/1.1  200 x\r\n\r\n", MG),
    SERR("HTTP/1.1\r\n\r\n", MG),
    SERR("HTTP/1.2 200 OK\r\n\r\n", MG),
    SERR("HTTP/2.0 200 OK\r\n\r\n", MG),
    SERR("HTTP/2 200 OK\r\n\r\n", MG),
    SERR("http/1.1 200 OK\r\n\r\n", MG),
    SERR("HTTP/1.1\t200 OK\r\n\r\n", MG),
    SERR("ICY 200 OK\r\n\r\n", MG),
    SERR("\r\nHTTP/1.1 200 OK\r\n\r\n", MG),
    SERR("<html>\r\n\r\n", MG),
    SAGAIN(""),
    SAGAIN("HTTP/1.1 200 OK\r\n"),
    SAGAIN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r"),
    SAGAIN("HTTP/1.1 200"),
};

#undef N
#undef L
#undef C
#undef X

static int parse_resp(const char *raw, size_t n, int method, size_t step, rp_h1_response_t *r,
                      rp_http_field_t *f, char **buf_out, size_t *len_out)
{
    rp_h1_parser_t p;
    rp_h1_parser_init(&p, &test_limits);
    memset(r, 0x5a, sizeof(*r));
    r->fields = f;
    char *prev = NULL;
    size_t len = 0;
    int rc;
    for (;;) {
        len = step == 0 || len + step > n ? n : len + step;
        char *b = malloc(len ? len : 1);
        memcpy(b, raw, len);
        free(prev);
        prev = b;
        rc = rp_h1_parse_response(&p, b, len, method, r);
        if (rc != RP_AGAIN || len == n)
            break;
    }
    *buf_out = prev;
    *len_out = len;
    return rc;
}

static void test_response_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < RP_ARRAY_LEN(resp_cases); i++) {
        const resp_case_t *tc = &resp_cases[i];
        size_t n = strlen(tc->raw);
        rp_http_field_t f1[MAXF], f2[MAXF];
        rp_h1_response_t r1, r2;
        char *b1, *b2;
        size_t l1, l2;
        int rc1 = parse_resp(tc->raw, n, tc->method, 0, &r1, f1, &b1, &l1);
        int rc2 = parse_resp(tc->raw, n, tc->method, 1, &r2, f2, &b2, &l2);
        if (rc1 != tc->rc)
            fail_case("response rc", tc->raw, n);
        if (rc2 != rc1)
            fail_case("response bytewise rc", tc->raw, n);
        if (rc1 == RP_ERROR && (r1.error == NULL || r2.error == NULL))
            fail_case("response error reason", tc->raw, n);
        if (rc1 == RP_OK) {
            if (r1.status != tc->status || r2.status != tc->status)
                fail_case("response status", tc->raw, n);
            if (r1.body_kind != tc->body || r2.body_kind != tc->body)
                fail_case("response body_kind", tc->raw, n);
            if (tc->cl != SKIP && r1.content_length != (uint64_t)tc->cl)
                fail_case("response content_length", tc->raw, n);
            if ((int)r1.keep_alive != tc->ka || (int)r2.keep_alive != tc->ka)
                fail_case("response keep_alive", tc->raw, n);
            if (r1.head_len != r2.head_len || r1.head_len > n || l2 != r2.head_len)
                fail_case("response head_len", tc->raw, n);
            if (r1.nfields != r2.nfields || !same_str(r1.reason, r2.reason) ||
                !slice_in(r1.reason, b1, l1) || !slice_in(r2.reason, b2, l2) ||
                !slice_in(r1.connection, b1, l1) || !slice_in(r2.connection, b2, l2))
                fail_case("response fields", tc->raw, n);
            for (size_t k = 0; k < r2.nfields; k++)
                if (!slice_in(r2.fields[k].name, b2, l2) || !slice_in(r2.fields[k].value, b2, l2))
                    fail_case("response field slice", tc->raw, n);
        }
        free(b1);
        free(b2);
    }
}

static void test_response_details(void **state)
{
    (void)state;
    rp_http_field_t f[MAXF];
    rp_h1_response_t r;
    char *b;
    size_t l;
    const char *raw = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n";
    assert_int_equal(parse_resp(raw, strlen(raw), RP_METHOD_GET, 0, &r, f, &b, &l), RP_OK);
    assert_int_equal(r.upgrade, 1);
    assert_int_equal(r.version_minor, 1);
    assert_true(str_is(r.reason, "Switching Protocols"));
    assert_true(str_is(r.connection, "Upgrade"));
    assert_int_equal(r.nfields, 2);
    free(b);
    raw = "HTTP/1.0 404 Not Found\r\nX-A:  b \r\n\r\n";
    assert_int_equal(parse_resp(raw, strlen(raw), RP_METHOD_GET, 0, &r, f, &b, &l), RP_OK);
    assert_int_equal(r.version_minor, 0);
    assert_int_equal(r.status, 404);
    assert_true(str_is(r.reason, "Not Found"));
    assert_true(str_is(r.fields[0].value, "b"));
    assert_int_equal(r.upgrade, 0);
    free(b);
    raw = "HTTP/1.1 200\r\n\r\n";
    assert_int_equal(parse_resp(raw, strlen(raw), RP_METHOD_HEAD, 0, &r, f, &b, &l), RP_OK);
    assert_int_equal(r.reason.len, 0);
    free(b);
}

/* ------------------------------------------------------------- chunked */

typedef struct {
    const char *raw;
    int rc;
    const char *out; /* decoded bytes (for OK / AGAIN) */
    long consumed;   /* SKIP: all input */
} chunk_case_t;

#define KOK(raw, out)                                                                              \
    {                                                                                              \
        raw, RP_OK, out, SKIP                                                                      \
    }
#define KOKC(raw, out, cons)                                                                       \
    {                                                                                              \
        raw, RP_OK, out, cons                                                                      \
    }
#define KAGAIN(raw, out)                                                                           \
    {                                                                                              \
        raw, RP_AGAIN, out, SKIP                                                                   \
    }
#define KERR(raw)                                                                                  \
    {                                                                                              \
        raw, RP_ERROR, NULL, SKIP                                                                  \
    }

static const chunk_case_t chunk_cases[] = {
    KOK("0\r\n\r\n", ""),
    KOK("5\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
    KOK("1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n", "abc"),
    KOK("a\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    KOK("A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    KOK("0000a\r\n0123456789\r\n000\r\n\r\n", "0123456789"),
    KOK("000000000000000a\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    KOK("5\nhello\n0\n\n", "hello"),
    KOK("5\r\nhello\n0\r\n\n", "hello"),
    KOK("5\r\n"
        "\r\n\r\n\r"
        "\r\n"
        "0\r\n\r\n",
        "\r\n\r\n\r"),
    KERR("5\r\n"
         "\r\n\r\n\r"
         "\n\r\n"
         "0\r\n\r\n"),
    KOK("3\r\n0\r\n\r\n0\r\n\r\n", "0\r\n"),
    /* chunk extensions (RFC 9112 7.1.1) */
    KOK("5;foo\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;foo=bar\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;foo=bar;baz\r\nhello\r\n0;last=1\r\n\r\n", "hello"),
    KOK("5;a=\"b c\"\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;a=\"b\\\"c\\\\\"\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;a=\"\xc3\xa9\t;,=\"\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5 ;a\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5; a=\"x\" ;b=y\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;a=\"x\";b\r\nhello\r\n0\r\n\r\n", "hello"),
    KOK("5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n", "hello"),
    /* trailers */
    KOK("0\r\nX: y\r\n\r\n", ""),
    KOK("0\r\nX: y\r\nY:\r\nZ: \x80\t z\r\n\r\n", ""),
    KOK("0\nX: y\n\n", ""),
    KOK("5\r\nhello\r\n0\r\nExpires: never\r\n\r\n", "hello"),
    /* the next message follows */
    KOKC("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "hello", 15),
    KOKC("0\r\n\r\n0\r\n\r\n", "", 5),
    KOKC("0\r\n\r\nX", "", 5),
    /* incomplete */
    KAGAIN("", ""),
    KAGAIN("5", ""),
    KAGAIN("5\r", ""),
    KAGAIN("5\r\n", ""),
    KAGAIN("5\r\nhel", "hel"),
    KAGAIN("5\r\nhello", "hello"),
    KAGAIN("5\r\nhello\r", "hello"),
    KAGAIN("5\r\nhello\r\n", "hello"),
    KAGAIN("5\r\nhello\r\n0", "hello"),
    KAGAIN("5\r\nhello\r\n0\r\n", "hello"),
    KAGAIN("5\r\nhello\r\n0\r\nX: y\r\n", "hello"),
    KAGAIN("5\r\nhello\r\n0\r\n\r", "hello"),
    KAGAIN("5;a=\"b", ""),
    KAGAIN("7fffffffffffffff\r\nabc", "abc"),
    KAGAIN("ffffffff\r\nab", "ab"),
    /* errors */
    KERR("\r\n"),
    KERR("\n"),
    KERR("g\r\n"),
    KERR("-5\r\n"),
    KERR("+5\r\n"),
    KERR("0x5\r\n"),
    KERR(" 5\r\n"),
    KERR("5 \r\n"),
    KERR("5\t\r\n"),
    KERR("5 5\r\n"),
    KERR("5\r\r\n"),
    KERR("5\rx"),
    KERR("5\r\nhelloX\r\n0\r\n\r\n"),
    KERR("5\r\nhello\rX\r\n0\r\n\r\n"),
    KERR("5\r\nhello\r\r\n0\r\n\r\n"),
    KERR("5\r\nhellohello\r\n"),
    KERR("00000000000000001\r\n"), /* 17 digits */
    KERR("10000000000000000\r\n"), /* 2^64 */
    KERR("8000000000000000\r\n"),  /* 2^63 */
    KERR("ffffffffffffffff\r\n"),  /* 2^64 - 1 */
    KERR("5;\r\nhello\r\n"),       /* empty ext name */
    KERR("5;=a\r\nhello\r\n"),
    KERR("5;a=\r\nhello\r\n"), /* empty value */
    KERR("5;a= \r\nhello\r\n"),
    KERR("5;a b\r\nhello\r\n"),
    KERR("5;a=b c\r\nhello\r\n"),
    KERR("5;a=\"b\"c\r\nhello\r\n"),
    KERR("5;a=\"b\r\nhello\r\n"), /* CR inside quoted-string */
    KERR("5;a=\"b\x01\"\r\nhello\r\n"),
    KERR("5;a=\"b\\\x01\"\r\nhello\r\n"),
    KERR("5;a=b \r\nhello\r\n"), /* BWS must be followed by ';' */
    KERR("5;a \r\nhello\r\n"),
    KERR("5;a\x01\r\nhello\r\n"),
    KERR("5;a=b\x7f\r\nhello\r\n"),
    KERR("5;a(\r\nhello\r\n"),
    KERR("5;a=(\r\nhello\r\n"),
    KERR("5,\r\nhello\r\n"),
    KERR("0\r\nX: y\r\n z\r\n\r\n"), /* obs-fold in trailer */
    KERR("0\r\n X: y\r\n\r\n"),
    KERR("0\r\nX y\r\n\r\n"),
    KERR("0\r\nX : y\r\n\r\n"),
    KERR("0\r\n: y\r\n\r\n"),
    KERR("0\r\nX: y\rz\r\n\r\n"),
    KERR("0\r\nX: \x01\r\n\r\n"),
    KERR("0\r\n\rX"),
    KERR("0\r\nX: y\r\r\n\r\n"),
};

/* Decodes in `step`-byte pieces (0: all at once), accumulating output. */
static int run_chunked(const char *raw, size_t n, size_t step, char *out, size_t *out_n,
                       size_t *consumed_total)
{
    rp_h1_chunked_t c;
    rp_h1_chunked_init(&c);
    size_t pos = 0;
    int rc = RP_AGAIN;
    *out_n = 0;
    *consumed_total = 0;
    do {
        size_t len = step == 0 || pos + step > n ? n - pos : step;
        char *b = malloc(len ? len : 1);
        memcpy(b, raw + pos, len);
        size_t cons = 999999, olen = 999999;
        rc = rp_h1_chunked_decode(&c, b, len, &cons, &olen);
        assert_true(olen <= cons);
        assert_true(cons <= len);
        if (rc == RP_AGAIN)
            assert_int_equal(cons, len);
        if (rc != RP_ERROR) {
            memcpy(out + *out_n, b, olen);
            *out_n += olen;
        }
        *consumed_total += cons;
        pos += len;
        free(b);
    } while (rc == RP_AGAIN && pos < n);
    return rc;
}

static void test_chunked_table(void **state)
{
    (void)state;
    char out[512];
    for (size_t i = 0; i < RP_ARRAY_LEN(chunk_cases); i++) {
        const chunk_case_t *tc = &chunk_cases[i];
        size_t n = strlen(tc->raw);
        for (size_t step = 0; step <= n; step++) {
            size_t on, cons;
            int rc = run_chunked(tc->raw, n, step, out, &on, &cons);
            if (rc != tc->rc)
                fail_case(step ? "chunked rc (pieces)" : "chunked rc", tc->raw, n);
            if (tc->out && (on != strlen(tc->out) || memcmp(out, tc->out, on) != 0))
                fail_case("chunked output", tc->raw, n);
            if (rc == RP_OK) {
                size_t want = tc->consumed == SKIP ? n : (size_t)tc->consumed;
                if (cons != want)
                    fail_case("chunked consumed", tc->raw, n);
            }
        }
    }
}

static void test_chunked_limits(void **state)
{
    (void)state;
    static char buf[40000];
    rp_h1_chunked_t c;
    size_t cons, olen, n;

    /* a size line of exactly 4096 bytes passes, 4097 fails */
    for (int extra = 0; extra <= 1; extra++) {
        n = 0;
        buf[n++] = '1';
        buf[n++] = ';';
        while (n < 4096 + (size_t)extra)
            buf[n++] = 'x';
        memcpy(buf + n, "\r\nA\r\n0\r\n\r\n", 10);
        n += 10;
        rp_h1_chunked_init(&c);
        int rc = rp_h1_chunked_decode(&c, buf, n, &cons, &olen);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
        if (!extra) {
            assert_int_equal(olen, 1);
            assert_int_equal(buf[0], 'A');
        }
    }
    /* trailer section limit */
    for (int extra = 0; extra <= 1; extra++) {
        n = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
        size_t start = n;
        while (n - start + 9 <= 8000)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: yyyy\r\n");
        /* make the section (fields and final CRLF) exactly 8192 bytes (+extra) */
        size_t pad = 8186 - (n - start) + (size_t)extra;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Z:");
        memset(buf + n, 'z', pad);
        n += pad;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
        rp_h1_chunked_init(&c);
        int rc = rp_h1_chunked_decode(&c, buf, n, &cons, &olen);
        assert_int_equal(rc, extra ? RP_ERROR : RP_OK);
    }
    /* a custom smaller limit */
    rp_h1_chunked_init(&c);
    c.max_trailer = 10;
    n = (size_t)snprintf(buf, sizeof(buf), "0\r\nX: 123456789\r\n\r\n");
    assert_int_equal(rp_h1_chunked_decode(&c, buf, n, &cons, &olen), RP_ERROR);
    /* after an error the decoder stays in error */
    assert_int_equal(rp_h1_chunked_decode(&c, buf, n, &cons, &olen), RP_ERROR);
    /* after the end, no more input is taken */
    rp_h1_chunked_init(&c);
    n = (size_t)snprintf(buf, sizeof(buf), "0\r\n\r\n");
    assert_int_equal(rp_h1_chunked_decode(&c, buf, n, &cons, &olen), RP_OK);
    assert_int_equal(rp_h1_chunked_decode(&c, buf, n, &cons, &olen), RP_OK);
    assert_int_equal(cons, 0);
    /* NUL in data is just data; NUL in a size line is an error */
    rp_h1_chunked_init(&c);
    memcpy(buf, "3\r\n\0\0\0\r\n0\r\n\r\n", 13);
    assert_int_equal(rp_h1_chunked_decode(&c, buf, 13, &cons, &olen), RP_OK);
    assert_int_equal(olen, 3);
    rp_h1_chunked_init(&c);
    memcpy(buf, "3\0\r\n", 4);
    assert_int_equal(rp_h1_chunked_decode(&c, buf, 4, &cons, &olen), RP_ERROR);

    /* a large body in odd pieces decodes intact */
    static char big[30000], enc[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    n = 0;
    for (size_t off = 0; off < sizeof(big);) {
        size_t cl = RP_MIN((size_t)1 + off % 1500, sizeof(big) - off);
        n += (size_t)snprintf(enc + n, sizeof(enc) - n, "%zx;i=%zu\r\n", cl, off);
        memcpy(enc + n, big + off, cl);
        n += cl;
        enc[n++] = '\r';
        enc[n++] = '\n';
        off += cl;
    }
    memcpy(enc + n, "0\r\nA: b\r\n\r\n", 11);
    n += 11;
    static char out[40000];
    size_t steps[] = { 0, 1, 7, 100, 4096 };
    for (size_t s = 0; s < RP_ARRAY_LEN(steps); s++) {
        size_t on, ct;
        assert_int_equal(run_chunked(enc, n, steps[s], out, &on, &ct), RP_OK);
        assert_int_equal(on, sizeof(big));
        assert_memory_equal(out, big, sizeof(big));
        assert_int_equal(ct, n);
    }
}

/* ------------------------------------------------------------- helpers */

static void test_helpers(void **state)
{
    (void)state;
    static const struct {
        const char *m;
        int id;
        int idem;
    } methods[] = {
        { "GET", RP_METHOD_GET, 1 },       { "HEAD", RP_METHOD_HEAD, 1 },
        { "POST", RP_METHOD_POST, 0 },     { "PUT", RP_METHOD_PUT, 1 },
        { "DELETE", RP_METHOD_DELETE, 1 }, { "OPTIONS", RP_METHOD_OPTIONS, 1 },
        { "TRACE", RP_METHOD_TRACE, 1 },   { "CONNECT", RP_METHOD_CONNECT, 0 },
        { "PATCH", RP_METHOD_PATCH, 0 },   { "get", RP_METHOD_OTHER, 0 },
        { "GETX", RP_METHOD_OTHER, 0 },    { "GE", RP_METHOD_OTHER, 0 },
        { "", RP_METHOD_OTHER, 0 },        { "PROPFIND", RP_METHOD_OTHER, 0 },
        { "Post", RP_METHOD_OTHER, 0 },    { "CONNECTX", RP_METHOD_OTHER, 0 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(methods); i++) {
        int id = rp_http_method_id(rp_str_cstr(methods[i].m));
        assert_int_equal(id, methods[i].id);
        assert_int_equal(rp_http_method_idempotent(id), methods[i].idem);
    }

    static const struct {
        const char *name;
        int hop;
    } hops[] = {
        { "Connection", 1 },
        { "connection", 1 },
        { "Proxy-Connection", 1 },
        { "Keep-Alive", 1 },
        { "KEEP-ALIVE", 1 },
        { "TE", 1 },
        { "te", 1 },
        { "Transfer-Encoding", 1 },
        { "Upgrade", 1 },
        { "Trailer", 1 },
        { "Trailers", 0 },
        { "Host", 0 },
        { "Content-Length", 0 },
        { "T", 0 },
        { "", 0 },
        { "Connectio", 0 },
        { "X-Connection", 0 },
        { "Transfer-Encodings", 0 },
        { "Proxy-Authorization", 0 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(hops); i++)
        assert_int_equal(rp_http_is_hop_by_hop(rp_str_cstr(hops[i].name)), hops[i].hop);

    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        { 100, "Continue" },
        { 101, "Switching Protocols" },
        { 200, "OK" },
        { 201, "Created" },
        { 204, "No Content" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 302, "Found" },
        { 304, "Not Modified" },
        { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" },
        { 400, "Bad Request" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 413, "Content Too Large" },
        { 414, "URI Too Long" },
        { 417, "Expectation Failed" },
        { 421, "Misdirected Request" },
        { 422, "Unprocessable Content" },
        { 426, "Upgrade Required" },
        { 429, "Too Many Requests" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" },
        { 505, "HTTP Version Not Supported" },
        { 0, "Unknown" },
        { 299, "Unknown" },
        { 600, "Unknown" },
        { -1, "Unknown" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(reasons); i++)
        assert_string_equal(rp_http_reason(reasons[i].status), reasons[i].reason);
    /* every status the RFC 9110 registry lists has a reason */
    static const int rfc9110[] = { 100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301,
                                   302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
                                   405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
                                   416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505 };
    for (size_t i = 0; i < RP_ARRAY_LEN(rfc9110); i++)
        assert_string_not_equal(rp_http_reason(rfc9110[i]), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_request_byte_classes),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_request_nul),
        cmocka_unit_test(test_request_reuse),
        cmocka_unit_test(test_response_table),
        cmocka_unit_test(test_response_details),
        cmocka_unit_test(test_chunked_table),
        cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
