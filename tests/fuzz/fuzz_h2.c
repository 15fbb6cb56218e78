/* libFuzzer target for the HTTP/2 server codec (src/http/h2.c).
 *
 * The client preface is prepended to the input, which is fed in pieces
 * whose sizes come from the input itself. Every request that arrives gets
 * a response (head, a body in pieces as the send room allows), request
 * bodies are consumed, output is pulled through a small buffer after each
 * piece. Checked: no crash, leak or UB; on_stream_close exactly once per
 * request; nothing that reached on_request breaks the RFC 9113 8.3 rules
 * the codec promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "http/h2.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_h2: check failed: %s (line %d)\n", #c, __LINE__);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FZ_MAXS 64

typedef struct {
    rp_h2_session_t *s;
    int32_t open[FZ_MAXS]; /* stream ids with a pending response body */
    size_t left[FZ_MAXS];
    int nopen;
    int requests, closes;
    uint64_t now;
} fz_t;

static uint64_t fz_now(void *user)
{
    fz_t *f = user;
    return f->now;
}

static void check_str(rp_str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.data[i];
        CHECK(c != '\r' && c != '\n' && c != 0);
    }
}

static int fz_request(void *user, int32_t sid, const rp_h2_request_t *req)
{
    fz_t *f = user;
    f->requests++;
    CHECK(req->method.len > 0 && req->path.len > 0 && req->authority.len > 0);
    CHECK(req->path.data[0] == '/' || (req->path.len == 1 && req->path.data[0] == '*'));
    CHECK(req->method_id != RP_METHOD_CONNECT);
    check_str(req->method);
    check_str(req->path);
    check_str(req->authority);
    for (size_t i = 0; i < req->nfields; i++) {
        CHECK(req->fields[i].name.len > 0 && req->fields[i].name.data[0] != ':');
        for (size_t k = 0; k < req->fields[i].name.len; k++)
            CHECK(!(req->fields[i].name.data[k] >= 'A' && req->fields[i].name.data[k] <= 'Z'));
        check_str(req->fields[i].value);
    }
    rp_http_field_t hdr[] = {
        { RP_STR("Content-Type"), RP_STR("text/plain") },
        { RP_STR("Connection"), RP_STR("close") },
    };
    int with_body = req->path.len > 1;
    CHECK(rp_h2_submit_response(f->s, sid, 200, hdr, 2, !with_body) == RP_OK);
    if (with_body && f->nopen < FZ_MAXS) {
        f->open[f->nopen] = sid;
        f->left[f->nopen] = req->path.len * 1000;
        f->nopen++;
    } else if (with_body) {
        rp_h2_reset_stream(f->s, sid, RP_H2_CANCEL);
    }
    return 0;
}

static void fz_data(void *user, int32_t sid, void *su, const uint8_t *d, size_t len, int end)
{
    fz_t *f = user;
    if (len)
        rp_h2_consumed(f->s, sid, len);
}

static void fz_close(void *user, int32_t sid, void *su, uint32_t code)
{
    fz_t *f = user;
    f->closes++;
    for (int i = 0; i < f->nopen; i++) {
        if (f->open[i] == sid) {
            f->open[i] = f->open[--f->nopen];
            f->left[i] = f->left[f->nopen];
            break;
        }
    }
}

static void fz_send_bodies(fz_t *f)
{
    static const uint8_t body[4096];
    for (int i = 0; i < f->nopen; i++) {
        size_t room = rp_h2_stream_send_room(f->s, f->open[i]);
        size_t n = RP_MIN(RP_MIN(room, sizeof(body)), f->left[i]);
        if (n == 0 && f->left[i])
            continue;
        ssize_t r = rp_h2_submit_data(f->s, f->open[i], body, n, n == f->left[i]);
        /* RP_ERROR only for a stream the codec already reset */
        CHECK(r == RP_ERROR || (size_t)r <= n);
        if (r >= 0)
            f->left[i] -= (size_t)r;
        if (r < 0 || (r >= 0 && (size_t)r == n && f->left[i] == 0)) {
            /* body ended (or stream gone): forget it */
            f->open[i] = f->open[--f->nopen];
            f->left[i] = f->left[f->nopen];
            i--;
        }
    }
}

static void fz_pull(fz_t *f)
{
    uint8_t out[700];
    for (int i = 0; i < 10000; i++) {
        fz_send_bodies(f);
        ssize_t r = rp_h2_session_pull(f->s, out, sizeof(out));
        if (r <= 0)
            return;
        CHECK((size_t)r <= sizeof(out));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rp_h2_callbacks_t cb = {
        .on_request = fz_request,
        .on_data = fz_data,
        .on_stream_close = fz_close,
        .now_ms = fz_now,
    };
    fz_t f;
    memset(&f, 0, sizeof(f));
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.max_concurrent_streams = 16;
    cfg.max_header_list = 4096;
    cfg.stream_buffer = 8192;
    cfg.reset_burst = 20;
    cfg.ctrl_burst = 100;
    f.s = rp_h2_session_new(&cfg, &cb, &f);
    CHECK(f.s != NULL);

    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    int alive = rp_h2_session_feed(f.s, (const uint8_t *)preface, 24) == 24;
    size_t off = 0;
    unsigned step = size ? data[0] : 0;
    while (alive && off < size) {
        /* piece sizes from the input: exercises frames split anywhere */
        size_t n = 1 + (step % 97) * 13;
        step = step * 31 + 7;
        if (n > size - off)
            n = size - off;
        ssize_t r = rp_h2_session_feed(f.s, data + off, n);
        if (r < 0)
            alive = 0;
        else
            CHECK((size_t)r == n);
        off += n;
        f.now += 10;
        fz_pull(&f);
        if ((step & 0xff) == 0)
            rp_h2_goaway(f.s, 1);
    }
    fz_pull(&f);
    (void)rp_h2_session_idle(f.s);
    (void)rp_h2_session_done(f.s);
    rp_h2_session_free(f.s);
    CHECK(f.closes == f.requests);
    return 0;
}
