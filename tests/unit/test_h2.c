/* Unit tests for the HTTP/2 server codec (src/http/h2.c, h2_request.c).
 *
 * An in-memory nghttp2 client session talks to the codec: bytes the client
 * writes are fed to the server, bytes the server pulls go to the client.
 * Defence and validation tests write frames by hand (HPACK blocks from an
 * nghttp2 deflater, which encodes anything it is given). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "http/h2.h"

#define MAXS 512

static uint64_t fake_now;
static uint64_t clock_ms(void *user)
{
    (void)user;
    return fake_now;
}

/* ---- server-side application ---- */

typedef struct {
    int requests;
    int seen[MAXS];
    char method[MAXS][16], path[MAXS][64], authority[MAXS][64], scheme[MAXS][8];
    char cookie[MAXS][128];
    int nfields[MAXS];
    int req_end[MAXS];
    uint64_t cl[MAXS];
    int has_cl[MAXS];
    size_t body[MAXS];
    int body_end[MAXS];
    int closed[MAXS];
    uint32_t close_code[MAXS];
    int room_calls[MAXS];
    int auto_respond;
    int auto_consume;
    rp_h2_session_t *srv;
} app_t;

static void copy_str(char *dst, size_t cap, rp_str_t s)
{
    size_t n = RP_MIN(cap - 1, s.len);
    memcpy(dst, s.data, n);
    dst[n] = 0;
}

static int app_request(void *user, int32_t sid, const rp_h2_request_t *req)
{
    app_t *a = user;
    assert_true(sid > 0 && sid < MAXS);
    a->requests++;
    a->seen[sid] = 1;
    copy_str(a->method[sid], sizeof(a->method[sid]), req->method);
    copy_str(a->path[sid], sizeof(a->path[sid]), req->path);
    copy_str(a->authority[sid], sizeof(a->authority[sid]), req->authority);
    copy_str(a->scheme[sid], sizeof(a->scheme[sid]), req->scheme);
    a->nfields[sid] = (int)req->nfields;
    for (size_t i = 0; i < req->nfields; i++)
        if (rp_str_eq(req->fields[i].name, RP_STR("cookie")))
            copy_str(a->cookie[sid], sizeof(a->cookie[sid]), req->fields[i].value);
    a->req_end[sid] = req->end_stream;
    a->has_cl[sid] = req->has_content_length;
    a->cl[sid] = req->content_length;
    rp_h2_stream_set_user(a->srv, sid, &a->seen[sid]);
    if (a->auto_respond) {
        rp_http_field_t f[] = {
            { RP_STR("Content-Type"), RP_STR("text/plain") },
            { RP_STR("Connection"), RP_STR("close, x-hop") },
            { RP_STR("X-Hop"), RP_STR("1") },
            { RP_STR("Transfer-Encoding"), RP_STR("chunked") },
        };
        assert_int_equal(rp_h2_submit_response(a->srv, sid, 200, f, 4, 0), RP_OK);
        assert_int_equal(rp_h2_submit_data(a->srv, sid, (const uint8_t *)"hello", 5, 1), 5);
    }
    return 0;
}

static void app_data(void *user, int32_t sid, void *su, const uint8_t *d, size_t len, int end)
{
    app_t *a = user;
    assert_ptr_equal(su, &a->seen[sid]);
    assert_false(a->body_end[sid]);
    a->body[sid] += len;
    if (end)
        a->body_end[sid] = 1;
    if (a->auto_consume && len)
        rp_h2_consumed(a->srv, sid, len);
    (void)d;
}

static void app_close(void *user, int32_t sid, void *su, uint32_t code)
{
    app_t *a = user;
    assert_true(a->seen[sid]);
    assert_false(a->closed[sid]);
    a->closed[sid] = 1;
    a->close_code[sid] = code;
}

static void app_room(void *user, int32_t sid, void *su)
{
    app_t *a = user;
    a->room_calls[sid]++;
}

static const rp_h2_callbacks_t app_cb = {
    .on_request = app_request,
    .on_data = app_data,
    .on_stream_close = app_close,
    .on_send_room = app_room,
    .now_ms = clock_ms,
};

/* ---- client side ---- */

typedef struct {
    int status[MAXS];
    size_t body[MAXS];
    char bodytxt[MAXS][16];
    int closed[MAXS];
    uint32_t close_code[MAXS];
    int goaways;
    uint32_t goaway_code;
    int32_t goaway_last;
    int hop_header_seen;
    int upper_seen;
} client_t;

typedef struct {
    app_t app;
    client_t c;
    rp_h2_session_t *srv;
    nghttp2_session *cli;
    int feed_err;
    /* upload state for the client data provider */
    size_t up_left[MAXS];
    int up_trailer[MAXS];
} pair_t;

static int cl_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *n, size_t nl,
                     const uint8_t *v, size_t vl, uint8_t flags, void *ud)
{
    pair_t *p = ud;
    int32_t sid = f->hd.stream_id;
    if (nl == 7 && memcmp(n, ":status", 7) == 0)
        p->c.status[sid] = atoi((const char *)v);
    if ((nl == 5 && memcmp(n, "x-hop", 5) == 0) || (nl == 10 && memcmp(n, "connection", 10) == 0) ||
        (nl == 17 && memcmp(n, "transfer-encoding", 17) == 0))
        p->c.hop_header_seen = 1;
    if (nl == 12 && memcmp(n, "content-type", 12) == 0)
        p->c.upper_seen = 1; /* arrived lower-cased */
    return 0;
}

static int cl_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *d, size_t len,
                   void *ud)
{
    pair_t *p = ud;
    size_t off = p->c.body[sid];
    for (size_t i = 0; i < len && off + i < sizeof(p->c.bodytxt[sid]) - 1; i++)
        p->c.bodytxt[sid][off + i] = (char)d[i];
    p->c.body[sid] += len;
    return 0;
}

static int cl_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *ud)
{
    pair_t *p = ud;
    p->c.closed[sid] = 1;
    p->c.close_code[sid] = code;
    return 0;
}

static int cl_frame(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    pair_t *p = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        p->c.goaways++;
        p->c.goaway_code = f->goaway.error_code;
        p->c.goaway_last = f->goaway.last_stream_id;
    }
    return 0;
}

static ssize_t cl_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    pair_t *p = ud;
    size_t n = RP_MIN(len, p->up_left[sid]);
    n = RP_MIN(n, 10000); /* several DATA frames */
    memset(buf, 'u', n);
    p->up_left[sid] -= n;
    if (p->up_left[sid] == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (p->up_trailer[sid]) {
            nghttp2_nv t[] = { { (uint8_t *)"x-trailer", (uint8_t *)"1", 9, 1, 0 } };
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            assert_int_equal(nghttp2_submit_trailer(ng, sid, t, 1), 0);
        }
    }
    return (ssize_t)n;
}

static void pair_init(pair_t *p, const rp_h2_config_t *cfg, int auto_window)
{
    memset(p, 0, sizeof(*p));
    p->srv = rp_h2_session_new(cfg, &app_cb, &p->app);
    assert_non_null(p->srv);
    p->app.srv = p->srv;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
    assert_int_equal(nghttp2_option_new(&opt), 0);
    nghttp2_option_set_no_auto_window_update(opt, !auto_window);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cl_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cl_frame);
    assert_int_equal(nghttp2_session_client_new2(&p->cli, cbs, p, opt), 0);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    assert_int_equal(nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

static void pair_free(pair_t *p)
{
    rp_h2_session_free(p->srv);
    nghttp2_session_del(p->cli);
}

/* client -> server only */
static void push_client(pair_t *p)
{
    const uint8_t *d;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(p->cli, &d)) > 0)
        if (!p->feed_err && rp_h2_session_feed(p->srv, d, (size_t)n) < 0)
            p->feed_err = 1;
}

static void pump(pair_t *p)
{
    for (int i = 0; i < 10000; i++) {
        int progress = 0;
        const uint8_t *d;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(p->cli, &d)) > 0) {
            progress = 1;
            if (!p->feed_err && rp_h2_session_feed(p->srv, d, (size_t)n) < 0)
                p->feed_err = 1;
        }
        uint8_t buf[1000]; /* small: exercises partial pulls */
        while ((n = rp_h2_session_pull(p->srv, buf, sizeof(buf))) > 0) {
            progress = 1;
            assert_int_equal(nghttp2_session_mem_recv(p->cli, buf, (size_t)n), n);
        }
        if (!progress)
            return;
    }
    fail_msg("pump did not settle");
}

static int32_t get(pair_t *p, const char *path, const nghttp2_nv *extra, size_t nextra)
{
    nghttp2_nv nv[16] = {
        { (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
        { (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
        { (uint8_t *)":authority", (uint8_t *)"example.com", 10, 11, 0 },
        { (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0 },
    };
    for (size_t i = 0; i < nextra; i++)
        nv[4 + i] = extra[i];
    int32_t sid = nghttp2_submit_request(p->cli, NULL, nv, 4 + nextra, NULL, NULL);
    assert_true(sid > 0);
    return sid;
}

/* A plain request on a fresh session works: defences are per connection. */
static void check_normal_session(void)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    p.app.auto_respond = 1;
    int32_t sid = get(&p, "/ok", NULL, 0);
    pump(&p);
    assert_int_equal(p.c.status[sid], 200);
    assert_string_equal(p.c.bodytxt[sid], "hello");
    assert_int_equal(p.c.goaways, 0);
    pair_free(&p);
}

/* ---- tests ---- */

static void test_simple_get(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    p.app.auto_respond = 1;
    int32_t sid = get(&p, "/index.html?q=1", NULL, 0);
    pump(&p);
    assert_int_equal(p.app.requests, 1);
    assert_string_equal(p.app.method[sid], "GET");
    assert_string_equal(p.app.path[sid], "/index.html?q=1");
    assert_string_equal(p.app.authority[sid], "example.com");
    assert_string_equal(p.app.scheme[sid], "https");
    assert_true(p.app.req_end[sid]);
    assert_int_equal(p.c.status[sid], 200);
    assert_string_equal(p.c.bodytxt[sid], "hello");
    assert_true(p.c.upper_seen);
    assert_false(p.c.hop_header_seen);
    assert_true(p.c.closed[sid]);
    assert_int_equal(p.c.close_code[sid], 0);
    assert_true(p.app.closed[sid]);
    assert_int_equal(p.app.close_code[sid], 0);
    assert_int_equal(rp_h2_session_idle(p.srv), RP_H2_IDLE_EMPTY);
    assert_false(rp_h2_session_done(p.srv));
    pair_free(&p);
}

static int32_t post(pair_t *p, size_t len, int trailer, int with_cl)
{
    char cl[32];
    snprintf(cl, sizeof(cl), "%zu", len);
    nghttp2_nv nv[] = {
        { (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
        { (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
        { (uint8_t *)":authority", (uint8_t *)"example.com", 10, 11, 0 },
        { (uint8_t *)":path", (uint8_t *)"/up", 5, 3, 0 },
        { (uint8_t *)"content-length", (uint8_t *)cl, 14, strlen(cl), 0 },
    };
    nghttp2_data_provider prd = { .read_callback = cl_read };
    int32_t sid = nghttp2_submit_request(p->cli, NULL, nv, with_cl ? 5 : 4, &prd, NULL);
    assert_true(sid > 0);
    p->up_left[sid] = len;
    p->up_trailer[sid] = trailer;
    return sid;
}

static void test_post_body(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    p.app.auto_consume = 1;
    int32_t sid = post(&p, 150000, 0, 1); /* > initial window: needs consumption */
    pump(&p);
    assert_int_equal(p.app.requests, 1);
    assert_false(p.app.req_end[sid]);
    assert_true(p.app.has_cl[sid]);
    assert_int_equal(p.app.cl[sid], 150000);
    assert_int_equal(p.app.body[sid], 150000);
    assert_true(p.app.body_end[sid]);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 204, NULL, 0, 1), RP_OK);
    pump(&p);
    assert_int_equal(p.c.status[sid], 204);
    assert_true(p.app.closed[sid]);
    pair_free(&p);
}

static void test_upload_backpressure(void **state)
{
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.initial_window = 16384;
    pair_t p;
    pair_init(&p, &cfg, 1);
    pump(&p); /* SETTINGS acknowledged: until then the window is 65535 */
    int32_t sid = post(&p, 100000, 0, 1);
    pump(&p);
    /* the application consumed nothing: only the stream window arrived */
    assert_int_equal(p.app.body[sid], 16384);
    assert_false(p.app.body_end[sid]);
    assert_int_equal(rp_h2_consumed(p.srv, sid, 16384), RP_OK);
    pump(&p);
    assert_int_equal(p.app.body[sid], 32768);
    p.app.auto_consume = 1;
    assert_int_equal(rp_h2_consumed(p.srv, sid, 16384), RP_OK);
    pump(&p);
    assert_int_equal(p.app.body[sid], 100000);
    assert_true(p.app.body_end[sid]);
    pair_free(&p);
}

static void test_trailers_ignored(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    p.app.auto_consume = 1;
    int32_t sid = post(&p, 30000, 1, 0);
    pump(&p);
    assert_int_equal(p.app.body[sid], 30000);
    assert_true(p.app.body_end[sid]);
    assert_false(p.app.has_cl[sid]);
    assert_false(p.c.closed[sid]); /* not reset */
    pair_free(&p);
}

static void test_cookie_crumbs(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    nghttp2_nv extra[] = {
        { (uint8_t *)"cookie", (uint8_t *)"a=1", 6, 3, 0 },
        { (uint8_t *)"accept", (uint8_t *)"*/*", 6, 3, 0 },
        { (uint8_t *)"cookie", (uint8_t *)"b=2", 6, 3, 0 },
        { (uint8_t *)"cookie", (uint8_t *)"c=3", 6, 3, 0 },
    };
    int32_t sid = get(&p, "/", extra, 4);
    pump(&p);
    assert_string_equal(p.app.cookie[sid], "a=1; b=2; c=3");
    assert_int_equal(p.app.nfields[sid], 2);
    pair_free(&p);
}

static void test_host_as_authority(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    nghttp2_nv nv[] = {
        { (uint8_t *)":method", (uint8_t *)"OPTIONS", 7, 7, 0 },
        { (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
        { (uint8_t *)":path", (uint8_t *)"*", 5, 1, 0 },
        { (uint8_t *)"host", (uint8_t *)"h.example:8080", 4, 14, 0 },
    };
    int32_t sid = nghttp2_submit_request(p.cli, NULL, nv, 4, NULL, NULL);
    pump(&p);
    assert_int_equal(p.app.requests, 1);
    assert_string_equal(p.app.authority[sid], "h.example:8080");
    assert_string_equal(p.app.path[sid], "*");
    pair_free(&p);
}

static void test_concurrency_limit(void **state)
{
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.max_concurrent_streams = 4;
    pair_t p;
    pair_init(&p, &cfg, 1);
    int32_t sids[6];
    /* the client sends its first flight before it has read our SETTINGS */
    for (int i = 0; i < 6; i++)
        sids[i] = get(&p, "/", NULL, 0);
    push_client(&p);
    pump(&p);
    assert_int_equal(p.app.requests, 4);
    for (int i = 4; i < 6; i++) {
        assert_true(p.c.closed[sids[i]]);
        assert_int_equal(p.c.close_code[sids[i]], NGHTTP2_REFUSED_STREAM);
    }
    for (int i = 0; i < 4; i++) {
        assert_false(p.c.closed[sids[i]]);
        assert_int_equal(rp_h2_submit_response(p.srv, sids[i], 200, NULL, 0, 1), RP_OK);
    }
    pump(&p);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p.c.status[sids[i]], 200);
    assert_int_equal(p.c.goaways, 0);
    pair_free(&p);
}

static void test_response_waits_for_window(void **state)
{
    enum { TOTAL = 200000 };
    pair_t p;
    pair_init(&p, NULL, 0); /* the client opens its window by hand */
    int32_t sid = get(&p, "/big", NULL, 0);
    pump(&p);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 0), RP_OK);
    static uint8_t chunk[4096];
    size_t sent = 0, consumed = 0;
    for (int round = 0; round < 100 && p.c.body[sid] < TOTAL; round++) {
        size_t room;
        while (sent < TOTAL && (room = rp_h2_stream_send_room(p.srv, sid)) > 0) {
            size_t n = RP_MIN(RP_MIN(room, sizeof(chunk)), TOTAL - sent);
            ssize_t r = rp_h2_submit_data(p.srv, sid, chunk, n, sent + n == TOTAL);
            assert_int_equal(r, (ssize_t)n);
            sent += n;
        }
        pump(&p);
        if (round == 0) {
            /* the peer's initial window is all that may be in flight */
            assert_int_equal(p.c.body[sid], 65535);
            assert_int_equal(sent, 65535);
            assert_int_equal(rp_h2_stream_send_room(p.srv, sid), 0);
            /* nothing buffered, but the stream waits for a window the
             * client has not opened: stalled (the send timeout applies) */
            assert_int_equal(rp_h2_session_idle(p.srv), RP_H2_IDLE_STALLED);
        }
        /* the client reads what arrived: WINDOW_UPDATE */
        assert_int_equal(nghttp2_session_consume(p.cli, sid, p.c.body[sid] - consumed), 0);
        consumed = p.c.body[sid];
        pump(&p);
        if (round == 0)
            assert_true(p.app.room_calls[sid] > 0);
    }
    assert_int_equal(p.c.body[sid], TOTAL);
    assert_true(p.c.closed[sid]);
    assert_int_equal(p.c.close_code[sid], 0);
    pair_free(&p);
}

static void test_stalled_idle(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 0);
    int32_t sid = get(&p, "/big", NULL, 0);
    pump(&p);
    assert_int_equal(rp_h2_session_idle(p.srv), RP_H2_ACTIVE); /* waits on backend */
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 0), RP_OK);
    static uint8_t big[65536];
    /* buffer more than the window: the rest stays buffered */
    assert_int_equal(rp_h2_submit_data(p.srv, sid, big, sizeof(big), 0), 65536);
    assert_int_equal(rp_h2_submit_data(p.srv, sid, big, 10, 0), 0); /* buffer full */
    pump(&p);
    assert_int_equal(p.c.body[sid], 65535);
    assert_int_equal(rp_h2_session_idle(p.srv), RP_H2_IDLE_STALLED);
    nghttp2_session_consume(p.cli, sid, 65535);
    pump(&p);
    assert_int_equal(p.c.body[sid], 65536);
    assert_true(p.app.room_calls[sid] > 0);
    assert_int_equal(rp_h2_session_idle(p.srv), RP_H2_ACTIVE);
    pair_free(&p);
}

static void test_interim_and_reset(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    int32_t sid = get(&p, "/", NULL, 0);
    pump(&p);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 101, NULL, 0, 0), RP_ERROR);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 103, NULL, 0, 1), RP_ERROR);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 103, NULL, 0, 0), RP_OK);
    assert_int_equal(rp_h2_submit_data(p.srv, sid, (const uint8_t *)"x", 1, 0), RP_ERROR);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 0), RP_OK);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 0), RP_ERROR);
    pump(&p);
    assert_int_equal(rp_h2_reset_stream(p.srv, sid, RP_H2_INTERNAL_ERROR), RP_OK);
    pump(&p);
    assert_true(p.c.closed[sid]);
    assert_int_equal(p.c.close_code[sid], NGHTTP2_INTERNAL_ERROR);
    assert_true(p.app.closed[sid]);
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 1), RP_ERROR);
    pair_free(&p);
}

static void test_graceful_goaway(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    int32_t sid = get(&p, "/", NULL, 0);
    pump(&p);
    assert_int_equal(rp_h2_goaway(p.srv, 1), RP_OK);
    pump(&p);
    assert_int_equal(p.c.goaways, 2);
    assert_int_equal(p.c.goaway_code, 0);
    assert_int_equal(p.c.goaway_last, sid);
    assert_false(rp_h2_session_done(p.srv)); /* stream still open */
    assert_int_equal(rp_h2_submit_response(p.srv, sid, 200, NULL, 0, 1), RP_OK);
    pump(&p);
    assert_int_equal(p.c.status[sid], 200);
    assert_true(rp_h2_session_done(p.srv));
    pair_free(&p);
}

static void test_free_cancels_open_streams(void **state)
{
    pair_t p;
    pair_init(&p, NULL, 1);
    int32_t sid = get(&p, "/", NULL, 0);
    pump(&p);
    assert_int_equal(rp_h2_goaway(p.srv, 0), RP_OK);
    pump(&p);
    assert_int_equal(p.c.goaways, 1);
    assert_true(rp_h2_session_done(p.srv));
    rp_h2_session_free(p.srv);
    assert_true(p.app.closed[sid]);
    assert_int_equal(p.app.close_code[sid], RP_H2_CANCEL);
    nghttp2_session_del(p.cli);
}

/* ---- hand-written frames ---- */

typedef struct {
    uint8_t b[1 << 16];
    size_t n;
} wbuf_t;

static void put_frame(wbuf_t *w, uint8_t type, uint8_t flags, int32_t sid, const void *pl,
                      size_t len)
{
    assert_true(w->n + 9 + len <= sizeof(w->b));
    uint8_t *h = w->b + w->n;
    h[0] = (uint8_t)(len >> 16);
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)len;
    h[3] = type;
    h[4] = flags;
    h[5] = (uint8_t)((uint32_t)sid >> 24);
    h[6] = (uint8_t)(sid >> 16);
    h[7] = (uint8_t)(sid >> 8);
    h[8] = (uint8_t)sid;
    if (len)
        memcpy(h + 9, pl, len);
    w->n += 9 + len;
}

static void put_preface(wbuf_t *w)
{
    memcpy(w->b, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
    w->n = NGHTTP2_CLIENT_MAGIC_LEN;
    put_frame(w, NGHTTP2_SETTINGS, 0, 0, NULL, 0);
}

/* HPACK-encodes "name\0value\0..." pairs without validating them. */
static size_t hpack(nghttp2_hd_deflater *d, uint8_t *out, size_t cap, const char *const *kv,
                    size_t npairs)
{
    nghttp2_nv nv[32];
    for (size_t i = 0; i < npairs; i++) {
        nv[i] = (nghttp2_nv){ (uint8_t *)kv[2 * i], (uint8_t *)kv[2 * i + 1], strlen(kv[2 * i]),
                              strlen(kv[2 * i + 1]), NGHTTP2_NV_FLAG_NO_INDEX };
    }
    ssize_t n = nghttp2_hd_deflate_hd(d, out, cap, nv, npairs);
    assert_true(n > 0);
    return (size_t)n;
}

typedef struct {
    int goaway;
    uint32_t goaway_code;
    uint32_t rst[MAXS];
    int rst_seen[MAXS];
    int headers[MAXS];
} wire_t;

/* Feeds w to a server session, pulls everything and decodes frame types. */
static ssize_t run_raw(rp_h2_session_t *s, const wbuf_t *w, wire_t *out)
{
    memset(out, 0, sizeof(*out));
    ssize_t fr = rp_h2_session_feed(s, w->b, w->n);
    static uint8_t o[1 << 20];
    size_t n = 0;
    ssize_t r;
    while ((r = rp_h2_session_pull(s, o + n, sizeof(o) - n)) > 0)
        n += (size_t)r;
    for (size_t i = 0; i + 9 <= n;) {
        size_t len = ((size_t)o[i] << 16) | ((size_t)o[i + 1] << 8) | o[i + 2];
        uint8_t type = o[i + 3];
        uint32_t sid = ((uint32_t)(o[i + 5] & 0x7f) << 24) | ((uint32_t)o[i + 6] << 16) |
                       ((uint32_t)o[i + 7] << 8) | o[i + 8];
        const uint8_t *pl = o + i + 9;
        if (type == NGHTTP2_GOAWAY) {
            out->goaway++;
            out->goaway_code =
                ((uint32_t)pl[4] << 24) | ((uint32_t)pl[5] << 16) | ((uint32_t)pl[6] << 8) | pl[7];
        } else if (type == NGHTTP2_RST_STREAM && sid < MAXS) {
            out->rst_seen[sid] = 1;
            out->rst[sid] =
                ((uint32_t)pl[0] << 24) | ((uint32_t)pl[1] << 16) | ((uint32_t)pl[2] << 8) | pl[3];
        } else if (type == NGHTTP2_HEADERS && sid < MAXS) {
            out->headers[sid]++;
        }
        i += 9 + len;
    }
    return fr;
}

static const char *const base_req[] = { ":method",    "GET",         ":scheme", "https",
                                        ":authority", "example.com", ":path",   "/" };

typedef struct {
    const char *name;
    const char *kv[20];
    size_t npairs;
} bad_case_t;

#define B(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
static const bad_case_t bad_cases[] = {
    { "missing :method", B(":scheme", "https", ":authority", "a", ":path", "/"), 3 },
    { "missing :path", B(":method", "GET", ":scheme", "https", ":authority", "a"), 3 },
    { "missing :scheme", B(":method", "GET", ":authority", "a", ":path", "/"), 3 },
    { "no authority", B(":method", "GET", ":scheme", "https", ":path", "/"), 3 },
    { "dup :path", B(":method", "GET", ":scheme", "https", ":path", "/", ":path", "/x"), 4 },
    { "unknown pseudo", B(":method", "GET", ":scheme", "https", ":path", "/", ":foo", "x"), 4 },
    { ":protocol", B(":method", "GET", ":scheme", "https", ":path", "/", ":protocol", "ws"), 4 },
    { "pseudo after regular",
      B(":method", "GET", ":scheme", "https", "accept", "x", ":path", "/", ":authority", "a"), 5 },
    { "uppercase name",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "Accept", "x"), 5 },
    { "connection",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "connection", "x"),
      5 },
    { "keep-alive",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "keep-alive", "1"),
      5 },
    { "transfer-encoding",
      B(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "transfer-encoding",
        "chunked"),
      5 },
    { "upgrade",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "upgrade", "h2c"),
      5 },
    { "te gzip",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "te", "gzip"), 5 },
    { "empty path", B(":method", "GET", ":scheme", "https", ":path", "", ":authority", "a"), 4 },
    { "relative path", B(":method", "GET", ":scheme", "https", ":path", "abc", ":authority", "a"),
      4 },
    { "asterisk with GET", B(":method", "GET", ":scheme", "https", ":path", "*", ":authority", "a"),
      4 },
    { "space in path", B(":method", "GET", ":scheme", "https", ":path", "/a b", ":authority", "a"),
      4 },
    { "CONNECT", B(":method", "CONNECT", ":authority", "a:443"), 2 },
    { "bad method", B(":method", "G(T", ":scheme", "https", ":path", "/", ":authority", "a"), 4 },
    { "ftp scheme", B(":method", "GET", ":scheme", "ftp", ":path", "/", ":authority", "a"), 4 },
    { "userinfo", B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "u@a"), 4 },
    { "host differs",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "host", "b"), 5 },
    { "two hosts", B(":method", "GET", ":scheme", "https", ":path", "/", "host", "a", "host", "a"),
      5 },
    { "leading space",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x", " v"), 5 },
    { "trailing tab",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x", "v\t"), 5 },
    { "CR in value",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x", "a\rb"), 5 },
    { "LF in value",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x", "a\nb"), 5 },
    { "ctl in value",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x", "a\x01"), 5 },
    { "bad name char",
      B(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "x y", "1"), 5 },
    { "content-length with END_STREAM",
      B(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "content-length",
        "5"),
      5 },
    { "content-length garbage",
      B(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "content-length",
        "5x"),
      5 },
    { "content-length differ",
      B(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a", "content-length",
        "0", "content-length", "1"),
      6 },
};

static void test_invalid_requests(void **state)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(bad_cases); i++) {
        const bad_case_t *c = &bad_cases[i];
        app_t app;
        memset(&app, 0, sizeof(app));
        rp_h2_session_t *s = rp_h2_session_new(NULL, &app_cb, &app);
        app.srv = s;
        nghttp2_hd_deflater *d;
        assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
        wbuf_t w;
        put_preface(&w);
        uint8_t blk[4096];
        size_t n = hpack(d, blk, sizeof(blk), c->kv, c->npairs);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, blk,
                  n);
        /* a valid request after it still works: stream error, not connection */
        n = hpack(d, blk, sizeof(blk), base_req, 4);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3, blk,
                  n);
        wire_t out;
        run_raw(s, &w, &out);
        if (app.seen[1] || !out.rst_seen[1] || out.rst[1] != NGHTTP2_PROTOCOL_ERROR || out.goaway ||
            !app.seen[3])
            fail_msg("case '%s': seen=%d rst=%d/%u goaway=%d next=%d", c->name, app.seen[1],
                     out.rst_seen[1], out.rst[1], out.goaway, app.seen[3]);
        nghttp2_hd_deflate_del(d);
        rp_h2_session_free(s);
    }
}

/* A client that ignores SETTINGS_MAX_CONCURRENT_STREAMS after
 * acknowledging it: the excess streams are refused (RFC 9113 5.1.2), the
 * connection and the streams within the limit go on. Both of the server's
 * SETTINGS frames are acknowledged (nghttp2 must see only its own ACK). */
static void test_concurrency_limit_after_ack(void **state)
{
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.max_concurrent_streams = 3;
    app_t app;
    memset(&app, 0, sizeof(app));
    rp_h2_session_t *s = rp_h2_session_new(&cfg, &app_cb, &app);
    app.srv = s;
    /* the server's first flight carries MAX_CONCURRENT_STREAMS = 3 */
    static uint8_t o[1 << 16];
    ssize_t on = rp_h2_session_pull(s, o, sizeof(o));
    int settings = 0, mcs = -1;
    for (size_t i = 0; on > 0 && i + 9 <= (size_t)on;) {
        size_t len = ((size_t)o[i] << 16) | ((size_t)o[i + 1] << 8) | o[i + 2];
        if (o[i + 3] == NGHTTP2_SETTINGS) {
            settings++;
            for (size_t k = 0; k + 6 <= len; k += 6) {
                const uint8_t *e = o + i + 9 + k;
                if (e[0] == 0 && e[1] == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
                    mcs = (int)(((uint32_t)e[2] << 24) | ((uint32_t)e[3] << 16) |
                                ((uint32_t)e[4] << 8) | e[5]);
            }
        }
        i += 9 + len;
    }
    assert_int_equal(settings, 2);
    assert_int_equal(mcs, 3);
    nghttp2_hd_deflater *d;
    assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
    wbuf_t w;
    put_preface(&w);
    put_frame(&w, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, NULL, 0);
    put_frame(&w, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, NULL, 0);
    uint8_t blk[4096];
    for (int32_t sid = 1; sid <= 11; sid += 2) {
        size_t n = hpack(d, blk, sizeof(blk), base_req, 4);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, blk,
                  n);
    }
    wire_t out;
    assert_true(run_raw(s, &w, &out) > 0);
    assert_int_equal(out.goaway, 0);
    for (int32_t sid = 1; sid <= 5; sid += 2) {
        assert_true(app.seen[sid]);
        assert_false(out.rst_seen[sid]);
    }
    for (int32_t sid = 7; sid <= 11; sid += 2) {
        assert_false(app.seen[sid]);
        assert_true(out.rst_seen[sid]);
        assert_int_equal(out.rst[sid], NGHTTP2_REFUSED_STREAM);
    }
    /* a finished stream frees its place */
    assert_int_equal(rp_h2_submit_response(s, 1, 200, NULL, 0, 1), RP_OK);
    while (rp_h2_session_pull(s, o, sizeof(o)) > 0)
        ;
    wbuf_t w2;
    w2.n = 0;
    size_t n = hpack(d, blk, sizeof(blk), base_req, 4);
    put_frame(&w2, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 13, blk, n);
    assert_true(run_raw(s, &w2, &out) > 0);
    assert_int_equal(out.goaway, 0);
    assert_true(app.seen[13]);
    assert_false(out.rst_seen[13]);
    nghttp2_hd_deflate_del(d);
    rp_h2_session_free(s);
}

/* DATA not matching content-length: reset, no end-of-body delivered. */
static void test_content_length_mismatch(void **state)
{
    static const struct {
        const char *cl;
        size_t data;
    } cases[] = { { "5", 3 }, { "5", 8 }, { "0", 1 } };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        app_t app;
        memset(&app, 0, sizeof(app));
        rp_h2_session_t *s = rp_h2_session_new(NULL, &app_cb, &app);
        app.srv = s;
        nghttp2_hd_deflater *d;
        assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
        const char *kv[] = { ":method", "POST",  ":scheme", "https",          ":authority",
                             "a",       ":path", "/",       "content-length", cases[i].cl };
        wbuf_t w;
        put_preface(&w);
        uint8_t blk[512];
        size_t n = hpack(d, blk, sizeof(blk), kv, 5);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, blk, n);
        put_frame(&w, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, "xxxxxxxx", cases[i].data);
        wire_t out;
        run_raw(s, &w, &out);
        assert_true(app.seen[1]);
        assert_false(app.body_end[1]);
        assert_true(app.body[1] <= 5);
        assert_true(out.rst_seen[1]);
        assert_int_equal(out.rst[1], NGHTTP2_PROTOCOL_ERROR);
        assert_true(app.closed[1]);
        assert_int_not_equal(app.close_code[1], 0);
        nghttp2_hd_deflate_del(d);
        rp_h2_session_free(s);
    }
}

static rp_h2_session_t *defence_session(app_t *app)
{
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.reset_burst = 10;
    cfg.reset_rate = 1;
    cfg.ctrl_burst = 50;
    cfg.ctrl_rate = 1;
    memset(app, 0, sizeof(*app));
    rp_h2_session_t *s = rp_h2_session_new(&cfg, &app_cb, app);
    app->srv = s;
    return s;
}

static void test_rapid_reset(void **state)
{
    app_t app;
    fake_now = 1000;
    rp_h2_session_t *s = defence_session(&app);
    nghttp2_hd_deflater *d;
    assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
    wbuf_t w;
    put_preface(&w);
    uint8_t blk[256], code[4] = { 0, 0, 0, 8 };
    for (int32_t sid = 1; sid < 60; sid += 2) {
        size_t n = hpack(d, blk, sizeof(blk), base_req, 4);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, blk,
                  n);
        put_frame(&w, NGHTTP2_RST_STREAM, 0, sid, code, 4);
    }
    wire_t out;
    assert_int_equal(run_raw(s, &w, &out), RP_ERROR);
    assert_int_equal(out.goaway, 1);
    assert_int_equal(out.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    assert_true(app.requests <= 11);
    assert_true(rp_h2_session_done(s));
    nghttp2_hd_deflate_del(d);
    rp_h2_session_free(s);
    check_normal_session();

    /* the same number spread over time refills the bucket: no GOAWAY */
    s = defence_session(&app);
    assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
    put_preface(&w);
    assert_true(rp_h2_session_feed(s, w.b, w.n) > 0);
    for (int32_t sid = 1; sid < 60; sid += 2) {
        w.n = 0;
        size_t n = hpack(d, blk, sizeof(blk), base_req, 4);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, blk,
                  n);
        put_frame(&w, NGHTTP2_RST_STREAM, 0, sid, code, 4);
        fake_now += 2000;
        assert_int_equal(rp_h2_session_feed(s, w.b, w.n), (ssize_t)w.n);
    }
    assert_int_equal(app.requests, 30);
    nghttp2_hd_deflate_del(d);
    rp_h2_session_free(s);
}

/* Requests the server must refuse count like resets ("made you reset"). */
static void test_invalid_request_flood(void **state)
{
    app_t app;
    fake_now = 1000;
    rp_h2_session_t *s = defence_session(&app);
    nghttp2_hd_deflater *d;
    assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
    wbuf_t w;
    put_preface(&w);
    uint8_t blk[256];
    static const char *const bad[] = { ":method", "GET",        ":scheme", "https",      ":path",
                                       "/",       ":authority", "a",       "connection", "x" };
    for (int32_t sid = 1; sid < 60; sid += 2) {
        size_t n = hpack(d, blk, sizeof(blk), bad, 5);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, blk,
                  n);
    }
    wire_t out;
    assert_int_equal(run_raw(s, &w, &out), RP_ERROR);
    assert_int_equal(out.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    assert_int_equal(app.requests, 0);
    nghttp2_hd_deflate_del(d);
    rp_h2_session_free(s);
    check_normal_session();
}

static void test_continuation_flood(void **state)
{
    static const struct {
        const char *name;
        size_t frames, each;
        uint8_t fill;
    } cases[] = {
        { "many empty CONTINUATION", 100, 0, 0x93 },
        { "few large CONTINUATION", 5, 16000, 0x93 },
        /* a block nghttp2 already rejected (repeated :method): its own
         * CONTINUATION cap closes the connection */
        { "CONTINUATION of a rejected block", 100, 16, 0x82 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        app_t app;
        rp_h2_session_t *s = defence_session(&app);
        nghttp2_hd_deflater *d;
        assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
        static wbuf_t w;
        put_preface(&w);
        uint8_t blk[256];
        size_t n = hpack(d, blk, sizeof(blk), base_req, 4);
        put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, blk, n);
        /* indexed static entries (0x93 = "accept: ") make an endless
         * valid block; 0x82 (":method: GET" again) a malformed one */
        static uint8_t fill[16000];
        memset(fill, cases[i].fill, sizeof(fill));
        for (size_t k = 0; k < cases[i].frames && w.n + 9 + cases[i].each < sizeof(w.b); k++)
            put_frame(&w, NGHTTP2_CONTINUATION, 0, 1, fill, cases[i].each);
        wire_t out;
        ssize_t fr = run_raw(s, &w, &out);
        if (fr != RP_ERROR || (cases[i].fill == 0x93 &&
                               (out.goaway != 1 || out.goaway_code != NGHTTP2_ENHANCE_YOUR_CALM)))
            fail_msg("%s: feed=%zd goaway=%d code=%u", cases[i].name, fr, out.goaway,
                     out.goaway_code);
        assert_int_equal(app.requests, 0);
        assert_true(rp_h2_session_done(s));
        nghttp2_hd_deflate_del(d);
        rp_h2_session_free(s);
    }
    check_normal_session();
}

static void test_control_floods(void **state)
{
    static const struct {
        const char *name;
        uint8_t type, flags;
        size_t len;
        int32_t sid;
        int need_stream;
    } cases[] = {
        { "PING", NGHTTP2_PING, 0, 8, 0, 0 },
        { "SETTINGS", NGHTTP2_SETTINGS, 0, 0, 0, 0 },
        { "PRIORITY", NGHTTP2_PRIORITY, 0, 5, 3, 0 },
        { "empty DATA", NGHTTP2_DATA, 0, 0, 1, 1 },
        { "empty HEADERS", NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 0, 1, 1 },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        app_t app;
        fake_now = 5000;
        rp_h2_session_t *s = defence_session(&app);
        nghttp2_hd_deflater *d;
        assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
        static wbuf_t w;
        put_preface(&w);
        if (cases[i].need_stream) {
            uint8_t blk[256];
            const char *kv[] = { ":method",    "POST", ":scheme", "https",
                                 ":authority", "a",    ":path",   "/" };
            size_t n = hpack(d, blk, sizeof(blk), kv, 4);
            put_frame(&w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, blk, n);
        }
        uint8_t pl[8] = { 0, 0, 0, 1, 16, 0, 0, 0 };
        for (int k = 0; k < 200; k++)
            put_frame(&w, cases[i].type, cases[i].flags, cases[i].sid, pl, cases[i].len);
        wire_t out;
        ssize_t fr = run_raw(s, &w, &out);
        if (fr != RP_ERROR || out.goaway != 1 || out.goaway_code != NGHTTP2_ENHANCE_YOUR_CALM)
            fail_msg("%s: feed=%zd goaway=%d code=%u", cases[i].name, fr, out.goaway,
                     out.goaway_code);
        nghttp2_hd_deflate_del(d);
        rp_h2_session_free(s);
    }
    check_normal_session();
}

static void test_hpack_bomb(void **state)
{
    pair_t p;
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.reset_burst = 3;
    cfg.reset_rate = 1;
    fake_now = 1000;
    pair_init(&p, &cfg, 1);
    p.app.auto_respond = 1;
    /* 2000-byte value, indexed once, then referenced: ~20 bytes on the wire
     * per 2 KB decoded */
    static char big[2001];
    memset(big, 'b', 2000);
    nghttp2_nv extra[12];
    for (int i = 0; i < 12; i++)
        extra[i] = (nghttp2_nv){ (uint8_t *)"x-bomb", (uint8_t *)big, 6, 2000, 0 };
    int32_t first = get(&p, "/", extra, 12); /* 24 KB: under the 32 KiB limit */
    pump(&p);
    assert_int_equal(p.c.status[first], 200);
    nghttp2_nv nv[21] = {
        { (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
        { (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
        { (uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0 },
        { (uint8_t *)":path", (uint8_t *)"/", 5, 1, 0 },
    };
    for (int i = 4; i < 21; i++) /* 17 x 2 KB: over 32 KiB decoded */
        nv[i] = extra[0];
    int32_t bomb = nghttp2_submit_request(p.cli, NULL, nv, 21, NULL, NULL);
    pump(&p);
    /* one bomb: 431 without reaching the application */
    assert_int_equal(p.c.status[bomb], 431);
    assert_false(p.app.seen[bomb]);
    assert_int_equal(p.c.goaways, 0);
    /* past the budget the connection goes */
    for (int k = 0; k < 4; k++)
        nghttp2_submit_request(p.cli, NULL, nv, 21, NULL, NULL);
    pump(&p);
    assert_int_equal(p.c.goaways, 1);
    assert_int_equal(p.c.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    assert_int_equal(p.app.requests, 1);
    pair_free(&p);
    check_normal_session();
}

static void test_bad_preface(void **state)
{
    app_t app;
    memset(&app, 0, sizeof(app));
    rp_h2_session_t *s = rp_h2_session_new(NULL, &app_cb, &app);
    const char *h1 = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(rp_h2_session_feed(s, (const uint8_t *)h1, strlen(h1)), RP_ERROR);
    uint8_t buf[256];
    while (rp_h2_session_pull(s, buf, sizeof(buf)) > 0)
        ;
    assert_true(rp_h2_session_done(s));
    rp_h2_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_upload_backpressure),
        cmocka_unit_test(test_trailers_ignored),
        cmocka_unit_test(test_cookie_crumbs),
        cmocka_unit_test(test_host_as_authority),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_response_waits_for_window),
        cmocka_unit_test(test_stalled_idle),
        cmocka_unit_test(test_interim_and_reset),
        cmocka_unit_test(test_graceful_goaway),
        cmocka_unit_test(test_free_cancels_open_streams),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_concurrency_limit_after_ack),
        cmocka_unit_test(test_content_length_mismatch),
        cmocka_unit_test(test_rapid_reset),
        cmocka_unit_test(test_invalid_request_flood),
        cmocka_unit_test(test_continuation_flood),
        cmocka_unit_test(test_control_floods),
        cmocka_unit_test(test_hpack_bomb),
        cmocka_unit_test(test_bad_preface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
