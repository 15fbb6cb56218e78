/* HTTP/2 server codec: nghttp2 session glue, flow control and defences.
 * Request head validation lives in h2_request.c. */
#include "http/h2.h"

#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "http/h2_int.h"

/* Token bucket in milli-tokens so integer arithmetic refills smoothly. */
typedef struct {
    uint64_t mtokens;
    uint64_t last_ms;
} rp__h2_bucket_t;

struct rp_h2_session {
    nghttp2_session *ng;
    rp_h2_config_t cfg;
    rp_h2_callbacks_t cb;
    void *user;

    rp__h2_stream_t *streams; /* live streams, newest first */
    size_t nstreams;

    /* SETTINGS_MAX_CONCURRENT_STREAMS is enforced here, not by nghttp2,
     * which would end the whole connection when a client exceeds it (RFC
     * 9113 5.1.2 asks for a stream error: REFUSED_STREAM). So nghttp2's
     * SETTINGS frame leaves it out and a second SETTINGS frame carrying it
     * follows; the client's ACK of that second frame is not passed to
     * nghttp2. Client bytes are scanned frame by frame for that ACK. */
    uint8_t own_settings[15];
    unsigned own_settings_sent : 1;
    unsigned acks_seen : 2;
    uint8_t scan_hdr[9];
    uint8_t scan_have;
    uint32_t scan_left;    /* payload bytes of the current frame still to pass */
    uint32_t preface_left; /* client magic bytes still to pass */

    /* bytes nghttp2 produced that did not fit the caller's buffer; valid
     * until the next nghttp2_session_mem_send */
    const uint8_t *pend;
    size_t pend_len;

    rp__h2_bucket_t reset_bucket;
    rp__h2_bucket_t ctrl_bucket;
    uint32_t continuations; /* CONTINUATION frames in the current block */
    size_t block_bytes;     /* encoded size of the current header block */

    unsigned dead : 1;  /* a defence tripped: GOAWAY queued, input ignored */
    unsigned fatal : 1; /* nghttp2 failed: nothing more to do */
    unsigned freeing : 1;
    unsigned shutdown_notice : 1; /* graceful GOAWAY: waiting for PING ack */
};

void rp_h2_config_default(rp_h2_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_concurrent_streams = 128;
    cfg->initial_window = 65535;
    cfg->conn_window = 1 << 20;
    cfg->max_header_list = 32768;
    cfg->chunk_size = 8192;
    cfg->stream_buffer = 65536;
    cfg->max_continuations = 8;
    cfg->max_outbound_ack = 1000;
    cfg->reset_burst = 200;
    cfg->reset_rate = 33;
    cfg->ctrl_burst = 1000;
    cfg->ctrl_rate = 100;
}

static uint64_t now_ms(rp_h2_session_t *s)
{
    if (s->cb.now_ms)
        return s->cb.now_ms(s->user);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void bucket_init(rp__h2_bucket_t *b, uint32_t burst, uint64_t now)
{
    b->mtokens = (uint64_t)burst * 1000;
    b->last_ms = now;
}

/* Returns 1 when a token was available. */
static int bucket_take(rp__h2_bucket_t *b, uint32_t burst, uint32_t rate, uint64_t now)
{
    if (now > b->last_ms) {
        /* rate tokens per second = rate milli-tokens per millisecond */
        b->mtokens += (now - b->last_ms) * rate;
        if (b->mtokens > (uint64_t)burst * 1000)
            b->mtokens = (uint64_t)burst * 1000;
        b->last_ms = now;
    }
    if (b->mtokens < 1000)
        return 0;
    b->mtokens -= 1000;
    return 1;
}

/* A defence tripped: GOAWAY(code) goes out, the rest of the input is
 * ignored and feed reports the end of the connection. */
static void kill_session(rp_h2_session_t *s, uint32_t code)
{
    if (s->dead)
        return;
    s->dead = 1;
    nghttp2_session_terminate_session(s->ng, code);
}

static void count_ctrl(rp_h2_session_t *s)
{
    if (!bucket_take(&s->ctrl_bucket, s->cfg.ctrl_burst, s->cfg.ctrl_rate, now_ms(s)))
        kill_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
}

/* Resets by the client and requests we had to refuse share one bucket:
 * both make the server do work for a stream the client throws away
 * (CVE-2023-44487 rapid reset and its "made you reset" variant). */
static void count_reset(rp_h2_session_t *s)
{
    if (!bucket_take(&s->reset_bucket, s->cfg.reset_burst, s->cfg.reset_rate, now_ms(s)))
        kill_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
}

static rp__h2_stream_t *get_stream(rp_h2_session_t *s, int32_t id)
{
    if (id <= 0)
        return NULL;
    return nghttp2_session_get_stream_user_data(s->ng, id);
}

static void stream_free(rp__h2_stream_t *st)
{
    free(st->hbuf);
    free(st->fo);
    free(st->fields);
    free(st->rbuf);
    free(st);
}

static void stream_unlink(rp_h2_session_t *s, rp__h2_stream_t *st)
{
    s->nstreams--;
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->prev = st->next = NULL;
}

static void reset(rp_h2_session_t *s, rp__h2_stream_t *st, uint32_t code)
{
    if (st->reset)
        return;
    st->reset = 1;
    st->end_in = 1;
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, code);
}

static void notify_room(rp_h2_session_t *s, rp__h2_stream_t *only)
{
    if (s->cb.on_send_room == NULL)
        return;
    for (rp__h2_stream_t *st = s->streams, *next; st; st = next) {
        next = st->next;
        if ((only && st != only) || !st->want_room || !st->delivered || st->reset)
            continue;
        if (rp_h2_stream_send_room(s, st->id) == 0)
            continue;
        st->want_room = 0;
        s->cb.on_send_room(s->user, st->id, st->user);
    }
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)ng;
    if (s->dead)
        return 0;
    switch (hd->type) {
    case NGHTTP2_HEADERS:
        s->continuations = 0;
        s->block_bytes = hd->length;
        if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM))
            count_ctrl(s);
        break;
    case NGHTTP2_CONTINUATION:
        /* CVE-2024-28182: a header block split into endless (or empty)
         * CONTINUATION frames costs us, not the sender. An encoded block
         * is never larger than its RFC 9113 6.5.2 decoded size (each field
         * counts 32 bytes more than its literal encoding), so anything
         * beyond max_header_list plus slack for table-size updates is an
         * attack, not a big request. */
        s->block_bytes += hd->length;
        if (++s->continuations > s->cfg.max_continuations ||
            s->block_bytes > (size_t)s->cfg.max_header_list + 1024)
            kill_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
        else if (hd->length == 0)
            count_ctrl(s);
        break;
    case NGHTTP2_DATA:
        if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM))
            count_ctrl(s);
        break;
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
        if (!(hd->flags & NGHTTP2_FLAG_ACK))
            count_ctrl(s);
        break;
    case NGHTTP2_PRIORITY:
        count_ctrl(s);
        break;
    case NGHTTP2_RST_STREAM:
        count_reset(s);
        break;
    case NGHTTP2_WINDOW_UPDATE:
    case NGHTTP2_GOAWAY:
    case NGHTTP2_PUSH_PROMISE:
        break;
    default:
        /* unknown extension frames are ignored by nghttp2: still work */
        count_ctrl(s);
        break;
    }
    return 0;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    rp_h2_session_t *s = ud;
    if (s->dead || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    rp__h2_stream_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
    st->id = f->hd.stream_id;
    if (nghttp2_session_set_stream_user_data(ng, st->id, st) != 0) {
        free(st);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    /* over the advertised limit: refused once the head is complete */
    st->refused = s->nstreams >= s->cfg.max_concurrent_streams;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->nstreams++;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)ng;
    (void)flags;
    if (s->dead || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    rp__h2_stream_t *st = get_stream(s, f->hd.stream_id);
    if (st == NULL)
        return 0;
    if (st->too_large) {
        /* keep counting: the size of the bomb decides its price */
        st->decoded += nl + vl + 32;
        return 0;
    }
    /* HPACK bomb: a few encoded bytes can name a large dynamic-table entry
     * again and again; the limit is on the decoded size (RFC 9113 6.5.2,
     * RFC 7541 4.1 accounting), each field counted before it is copied. */
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST && f->headers.cat != NGHTTP2_HCAT_HEADERS)
        return 0;
    st->decoded += nl + vl + 32;
    if (st->decoded > s->cfg.max_header_list) {
        st->too_large = 1;
        return 0;
    }
    if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
        rp__h2_request_field(st, s->cfg.max_header_list, name, nl, value, vl);
    /* trailer fields (HCAT_HEADERS) are counted and discarded */
    return 0;
}

static void end_of_request_body(rp_h2_session_t *s, rp__h2_stream_t *st)
{
    if (st->end_in || st->reset)
        return;
    /* RFC 9113 8.1.1: DATA summing to other than content-length is
     * malformed; the backend must not get a truncated body as complete. */
    if (st->has_cl && st->received != st->content_length) {
        reset(s, st, NGHTTP2_PROTOCOL_ERROR);
        count_reset(s);
        return;
    }
    st->end_in = 1;
    s->cb.on_data(s->user, st->id, st->user, NULL, 0, 1);
}

static void reject_431(rp_h2_session_t *s, rp__h2_stream_t *st, int end_stream)
{
    static const nghttp2_nv nv[] = {
        { (uint8_t *)":status", (uint8_t *)"431", 7, 3, NGHTTP2_NV_FLAG_NONE },
    };
    st->end_in = end_stream ? 1 : 0;
    /* RFC 9113 10.5.1: a server may answer 431 to a header list it will
     * not handle. With no body to wait for, the response ends the
     * stream; otherwise on_frame_send adds RST_STREAM(NO_ERROR). */
    if (nghttp2_submit_response(s->ng, st->id, nv, 1, NULL) != 0)
        reset(s, st, NGHTTP2_INTERNAL_ERROR);
}

static void request_complete(rp_h2_session_t *s, rp__h2_stream_t *st, int end_stream)
{
    rp_h2_request_t req;
    if (st->refused) {
        /* RFC 9113 5.1.2; the client may retry it (8.7). Counted with the
         * rejected requests, so opening streams beyond the limit in a loop
         * trips the rapid-reset defence. */
        count_reset(s);
        reset(s, st, NGHTTP2_REFUSED_STREAM);
        return;
    }
    if (st->too_large) {
        /* an HPACK bomb costs us decoding time in proportion to its
         * decoded size: it draws one token per max_header_list decoded
         * (at most 50), so a few bombs end the connection */
        size_t tokens = 1 + RP_MIN(st->decoded / RP_MAX(s->cfg.max_header_list, 1u), (size_t)49);
        for (size_t i = 0; i < tokens && !s->dead; i++)
            count_reset(s);
        if (s->dead)
            return;
        reject_431(s, st, end_stream);
        return;
    }
    const char *err = rp__h2_request_build(st, s->cfg.max_header_list, end_stream, &req);
    if (err != NULL) {
        /* RFC 9113 8.1.1: malformed request, stream error PROTOCOL_ERROR. */
        st->error = err;
        count_reset(s);
        reset(s, st, NGHTTP2_PROTOCOL_ERROR);
        return;
    }
    st->delivered = 1;
    st->end_in = end_stream ? 1 : 0;
    int rc = s->cb.on_request(s->user, st->id, &req);
    if (rc > 0)
        reset(s, st, (uint32_t)rc);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    rp_h2_session_t *s = ud;
    rp__h2_stream_t *st;
    (void)ng;
    if (s->dead)
        return 0;
    switch (f->hd.type) {
    case NGHTTP2_HEADERS:
        st = get_stream(s, f->hd.stream_id);
        if (st == NULL)
            break;
        if (f->headers.cat == NGHTTP2_HCAT_REQUEST) {
            request_complete(s, st, (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
        } else if (st->delivered) {
            /* trailers: fields discarded, but over-large ones still
             * count as abuse */
            if (st->too_large) {
                reset(s, st, NGHTTP2_PROTOCOL_ERROR);
                count_reset(s);
            } else if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
                end_of_request_body(s, st);
            }
        }
        st->decoded = 0;
        break;
    case NGHTTP2_DATA:
        st = get_stream(s, f->hd.stream_id);
        if (st && st->delivered && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            end_of_request_body(s, st);
        break;
    case NGHTTP2_WINDOW_UPDATE:
        notify_room(s, f->hd.stream_id ? get_stream(s, f->hd.stream_id) : NULL);
        break;
    case NGHTTP2_SETTINGS:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
            notify_room(s, NULL); /* SETTINGS_INITIAL_WINDOW_SIZE may grow */
        break;
    case NGHTTP2_PING:
        if ((f->hd.flags & NGHTTP2_FLAG_ACK) && s->shutdown_notice) {
            /* RFC 9113 6.8: one round trip after the notice, every stream
             * the client started has reached us; now the real GOAWAY. */
            s->shutdown_notice = 0;
            nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
                                  nghttp2_session_get_last_proc_stream_id(s->ng), NGHTTP2_NO_ERROR,
                                  NULL, 0);
        }
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)flags;
    /* The connection window is given back at once: the per-stream windows
     * are what bound buffering, and one slow upload must not starve the
     * other streams of the connection. */
    nghttp2_session_consume_connection(ng, len);
    rp__h2_stream_t *st = s->dead ? NULL : get_stream(s, sid);
    if (st == NULL || !st->delivered || st->end_in || st->reset) {
        nghttp2_session_consume_stream(ng, sid, len);
        return 0;
    }
    st->received += len;
    if (st->has_cl && st->received > st->content_length) {
        nghttp2_session_consume_stream(ng, sid, len);
        reset(s, st, NGHTTP2_PROTOCOL_ERROR);
        count_reset(s);
        return 0;
    }
    s->cb.on_data(s->user, sid, st->user, data, len, 0);
    return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)ng;
    if (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS)
        return 0;
    rp__h2_stream_t *st = get_stream(s, f->hd.stream_id);
    if (st == NULL)
        return 0;
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !st->end_in && !st->reset) {
        /* RFC 9113 8.1: the response is complete before the request body;
         * ask the client to stop sending rather than leave its upload
         * stuck on a window nobody will open. */
        reset(s, st, NGHTTP2_NO_ERROR);
    }
    if (f->hd.type == NGHTTP2_DATA && st->want_room)
        notify_room(s, st);
    return 0;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f, int err, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)ng;
    (void)f;
    (void)err;
    /* nghttp2 rejected a frame (a malformed request among them): the
     * client made us reset a stream. */
    if (!s->dead)
        count_reset(s);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *ud)
{
    rp_h2_session_t *s = ud;
    rp__h2_stream_t *st = nghttp2_session_get_stream_user_data(ng, sid);
    if (st == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(ng, sid, NULL);
    stream_unlink(s, st);
    if (st->delivered && s->cb.on_stream_close && !s->freeing)
        s->cb.on_stream_close(s->user, sid, st->user, code);
    stream_free(st);
    return 0;
}

static ssize_t data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    rp__h2_stream_t *st = src->ptr;
    (void)ng;
    (void)sid;
    (void)ud;
    size_t n = RP_MIN(length, st->rlen);
    if (n == 0 && !st->eof_out) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t first = RP_MIN(n, st->rcap - st->rhead);
    if (first)
        memcpy(buf, st->rbuf + st->rhead, first);
    if (n > first)
        memcpy(buf + first, st->rbuf, n - first);
    st->rhead = st->rcap ? (st->rhead + n) % st->rcap : 0;
    st->rlen -= n;
    if (st->rlen == 0) {
        st->rhead = 0;
        if (st->eof_out)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static ssize_t read_length(nghttp2_session *ng, uint8_t type, int32_t sid, int32_t conn_win,
                           int32_t stream_win, uint32_t max_frame, void *ud)
{
    rp_h2_session_t *s = ud;
    (void)ng;
    (void)type;
    (void)sid;
    (void)conn_win;
    (void)stream_win;
    /* http2_chunk_size: smaller frames let streams interleave. */
    return (ssize_t)RP_MIN((uint32_t)s->cfg.chunk_size, max_frame);
}

/* ---- session ---- */

rp_h2_session_t *rp_h2_session_new(const rp_h2_config_t *cfg, const rp_h2_callbacks_t *cb,
                                   void *user)
{
    rp_h2_config_t def;
    rp_h2_config_default(&def);
    rp_h2_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = def;
    if (cfg) {
        /* zero fields keep their default */
#define RP__H2_TAKE(f)                                                                             \
    do {                                                                                           \
        if (cfg->f)                                                                                \
            s->cfg.f = cfg->f;                                                                     \
    } while (0)
        RP__H2_TAKE(max_concurrent_streams);
        RP__H2_TAKE(initial_window);
        RP__H2_TAKE(conn_window);
        RP__H2_TAKE(max_header_list);
        RP__H2_TAKE(chunk_size);
        RP__H2_TAKE(stream_buffer);
        RP__H2_TAKE(max_continuations);
        RP__H2_TAKE(max_outbound_ack);
        RP__H2_TAKE(reset_burst);
        RP__H2_TAKE(reset_rate);
        RP__H2_TAKE(ctrl_burst);
        RP__H2_TAKE(ctrl_rate);
#undef RP__H2_TAKE
    }
    if (s->cfg.initial_window > 0x7fffffff)
        s->cfg.initial_window = 0x7fffffff;
    if (s->cfg.conn_window > 0x7fffffff)
        s->cfg.conn_window = 0x7fffffff;
    if (s->cfg.chunk_size > 16384)
        s->cfg.chunk_size = 16384; /* our SETTINGS_MAX_FRAME_SIZE peer default */
    s->cb = *cb;
    s->user = user;
    uint64_t now = now_ms(s);
    bucket_init(&s->reset_bucket, s->cfg.reset_burst, now);
    bucket_init(&s->ctrl_bucket, s->cfg.ctrl_burst, now);

    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;
    int rv = nghttp2_session_callbacks_new(&cbs);
    if (rv == 0)
        rv = nghttp2_option_new(&opt);
    if (rv != 0)
        goto fail;
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_data_source_read_length_callback(cbs, read_length);

    /* Request bodies are given back to the client's window only as the
     * application consumes them (rp_h2_consumed): upload back-pressure. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* above the control-frame burst, so a burst of SETTINGS meets our
     * bucket (GOAWAY ENHANCE_YOUR_CALM) before nghttp2's silent cut */
    nghttp2_option_set_max_outbound_ack(opt, (size_t)s->cfg.max_outbound_ack + s->cfg.ctrl_burst);
    /* nghttp2's own limits stay as a looser backstop behind ours, which
     * answer with GOAWAY(ENHANCE_YOUR_CALM) rather than a silent close. */
    nghttp2_option_set_max_continuations(opt, (size_t)s->cfg.max_continuations + 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, (uint64_t)s->cfg.reset_burst * 2,
                                               (uint64_t)s->cfg.reset_rate * 2);
    rv = nghttp2_session_server_new2(&s->ng, cbs, s, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    cbs = NULL;
    opt = NULL;
    if (rv != 0)
        goto fail;

    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s->cfg.initial_window },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->cfg.max_header_list },
        /* RFC 9218 2.1: we ignore RFC 7540 priorities */
        { NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
    };
    if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, RP_ARRAY_LEN(iv)) != 0)
        goto fail;
    /* the second SETTINGS frame: length 6, type 4, no flags, stream 0,
     * then MAX_CONCURRENT_STREAMS (id 3) */
    uint32_t mcs = s->cfg.max_concurrent_streams;
    static const uint8_t own_head[] = { 0, 0, 6, NGHTTP2_SETTINGS, 0, 0, 0, 0, 0, 0, 3 };
    memcpy(s->own_settings, own_head, sizeof(own_head));
    s->own_settings[11] = (uint8_t)(mcs >> 24);
    s->own_settings[12] = (uint8_t)(mcs >> 16);
    s->own_settings[13] = (uint8_t)(mcs >> 8);
    s->own_settings[14] = (uint8_t)mcs;
    s->preface_left = NGHTTP2_CLIENT_MAGIC_LEN;
    if (s->cfg.conn_window > 65535 &&
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)s->cfg.conn_window) != 0)
        goto fail;
    return s;

fail:
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    if (opt)
        nghttp2_option_del(opt);
    if (s->ng)
        nghttp2_session_del(s->ng);
    free(s);
    return NULL;
}

void rp_h2_session_free(rp_h2_session_t *s)
{
    if (s == NULL)
        return;
    while (s->streams) {
        rp__h2_stream_t *st = s->streams;
        stream_unlink(s, st);
        nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
        if (st->delivered && s->cb.on_stream_close)
            s->cb.on_stream_close(s->user, st->id, st->user, RP_H2_CANCEL);
        stream_free(st);
    }
    s->freeing = 1;
    nghttp2_session_del(s->ng);
    free(s);
}

static int ng_recv(rp_h2_session_t *s, const uint8_t *in, size_t len)
{
    if (len == 0)
        return RP_OK;
    ssize_t rv = nghttp2_session_mem_recv(s->ng, in, len);
    if (rv < 0) {
        s->fatal = 1;
        return RP_ERROR;
    }
    return s->dead ? RP_ERROR : RP_OK;
}

ssize_t rp_h2_session_feed(rp_h2_session_t *s, const uint8_t *in, size_t len)
{
    if (s->fatal || s->dead)
        return RP_ERROR;
    size_t i = 0;
    while (i < len) {
        /* the magic and frame payloads pass through as they are */
        uint32_t *left = s->preface_left ? &s->preface_left : &s->scan_left;
        if (*left) {
            size_t k = RP_MIN((size_t)*left, len - i);
            if (ng_recv(s, in + i, k) != RP_OK)
                return RP_ERROR;
            i += k;
            *left -= (uint32_t)k;
            continue;
        }
        /* a frame header is held back until it is whole */
        size_t k = RP_MIN((size_t)(9 - s->scan_have), len - i);
        memcpy(s->scan_hdr + s->scan_have, in + i, k);
        s->scan_have += (uint8_t)k;
        i += k;
        if (s->scan_have < 9)
            break;
        s->scan_have = 0;
        const uint8_t *h = s->scan_hdr;
        uint32_t flen = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
        if (h[3] == NGHTTP2_SETTINGS && (h[4] & NGHTTP2_FLAG_ACK) && flen == 0 &&
            s->acks_seen < 2 && ++s->acks_seen == 2 && s->own_settings_sent)
            continue; /* the ACK of our own SETTINGS frame */
        if (ng_recv(s, h, 9) != RP_OK)
            return RP_ERROR;
        s->scan_left = flen;
    }
    if (s->dead || !nghttp2_session_want_read(s->ng))
        return RP_ERROR;
    return (ssize_t)len;
}

int rp_h2_session_want_write(rp_h2_session_t *s)
{
    if (s->pend_len)
        return 1;
    return !s->fatal && nghttp2_session_want_write(s->ng);
}

ssize_t rp_h2_session_pull(rp_h2_session_t *s, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    if (s->pend_len) {
        size_t k = RP_MIN(cap, s->pend_len);
        memcpy(buf, s->pend, k);
        s->pend += k;
        s->pend_len -= k;
        n = k;
        if (s->pend_len)
            return (ssize_t)n;
    }
    while (n < cap && !s->fatal) {
        const uint8_t *d;
        if (!s->own_settings_sent && n > 0 && cap - n >= sizeof(s->own_settings)) {
            /* right after nghttp2's first output, which starts with its
             * SETTINGS frame: frames never straddle an output chunk */
            memcpy(buf + n, s->own_settings, sizeof(s->own_settings));
            n += sizeof(s->own_settings);
            s->own_settings_sent = 1;
        }
        ssize_t r = nghttp2_session_mem_send(s->ng, &d);
        if (r < 0) {
            s->fatal = 1;
            return n ? (ssize_t)n : RP_ERROR;
        }
        if (r == 0)
            break;
        size_t k = RP_MIN((size_t)r, cap - n);
        memcpy(buf + n, d, k);
        n += k;
        if (k < (size_t)r) {
            s->pend = d + k;
            s->pend_len = (size_t)r - k;
            break;
        }
    }
    return (ssize_t)n;
}

int rp_h2_session_done(rp_h2_session_t *s)
{
    if (s->pend_len)
        return 0;
    if (s->fatal)
        return 1;
    return !nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng);
}

int rp_h2_session_idle(rp_h2_session_t *s)
{
    if (rp_h2_session_want_write(s))
        return RP_H2_ACTIVE;
    int open = 0;
    int32_t conn_win = nghttp2_session_get_remote_window_size(s->ng);
    for (rp__h2_stream_t *st = s->streams; st; st = st->next) {
        if (!st->delivered || st->reset)
            continue;
        open = 1;
        int32_t w = nghttp2_session_get_stream_remote_window_size(s->ng, st->id);
        /* stalled: bytes wait in the stream, or the application waits for
         * room (it never queues beyond the window), and a window is shut */
        if ((st->rlen == 0 && !st->want_room) || (w > 0 && conn_win > 0))
            return RP_H2_ACTIVE;
    }
    return open ? RP_H2_IDLE_STALLED : RP_H2_IDLE_EMPTY;
}

int rp_h2_stream_set_user(rp_h2_session_t *s, int32_t stream_id, void *stream_user)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    if (st == NULL)
        return RP_ERROR;
    st->user = stream_user;
    return RP_OK;
}

void *rp_h2_stream_user(rp_h2_session_t *s, int32_t stream_id)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    return st ? st->user : NULL;
}

/* RFC 9113 8.2.2: fields that only mean something to one HTTP/1.1 hop. */
static int connection_specific(rp_str_t name)
{
    return rp_str_caseeq_lit(name, "connection") || rp_str_caseeq_lit(name, "keep-alive") ||
           rp_str_caseeq_lit(name, "proxy-connection") ||
           rp_str_caseeq_lit(name, "transfer-encoding") || rp_str_caseeq_lit(name, "upgrade") ||
           rp_str_caseeq_lit(name, "te");
}

static int drop_field(const rp_http_field_t *fields, size_t n, size_t i)
{
    rp_str_t name = fields[i].name;
    if (name.len == 0 || name.data[0] == ':' || connection_specific(name))
        return 1;
    for (size_t k = 0; k < fields[i].value.len; k++) {
        char c = fields[i].value.data[k];
        if (c == '\r' || c == '\n' || c == '\0')
            return 1;
    }
    for (size_t k = 0; k < n; k++)
        if (rp_str_caseeq_lit(fields[k].name, "connection") &&
            rp_str_list_has_token(fields[k].value, name))
            return 1;
    return 0;
}

int rp_h2_submit_response(rp_h2_session_t *s, int32_t stream_id, int status,
                          const rp_http_field_t *fields, size_t n, int end_stream)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    if (st == NULL || !st->delivered || st->head_sent || st->reset || status < 100 ||
        status > 999 || status == 101)
        return RP_ERROR;
    int interim = status < 200;
    if (interim && end_stream)
        return RP_ERROR;

    size_t names = 0;
    for (size_t i = 0; i < n; i++)
        names += fields[i].name.len;
    /* one block: nv array then lower-cased names; nghttp2 copies both */
    nghttp2_nv *nv = malloc((n + 1) * sizeof(*nv) + names + 4);
    if (nv == NULL)
        return RP_ERROR;
    char *lc = (char *)(nv + n + 1);
    char *st3 = lc + names;
    st3[0] = (char)('0' + status / 100);
    st3[1] = (char)('0' + status / 10 % 10);
    st3[2] = (char)('0' + status % 10);
    size_t nvlen = 0;
    nv[nvlen++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)st3, 7, 3, NGHTTP2_NV_FLAG_NONE };
    for (size_t i = 0; i < n; i++) {
        if (drop_field(fields, n, i))
            continue;
        char *nm = lc;
        for (size_t k = 0; k < fields[i].name.len; k++)
            *lc++ = rp_lower(fields[i].name.data[k]);
        nv[nvlen++] = (nghttp2_nv){ (uint8_t *)nm, (uint8_t *)fields[i].value.data,
                                    fields[i].name.len, fields[i].value.len, NGHTTP2_NV_FLAG_NONE };
    }

    int rv;
    if (interim) {
        rv = nghttp2_submit_headers(s->ng, NGHTTP2_FLAG_NONE, stream_id, NULL, nv, nvlen, NULL);
    } else {
        nghttp2_data_provider prd = { .source.ptr = st, .read_callback = data_read };
        rv = nghttp2_submit_response(s->ng, stream_id, nv, nvlen, end_stream ? NULL : &prd);
        if (rv == 0) {
            st->head_sent = 1;
            st->provider = !end_stream;
            st->eof_out = end_stream ? 1 : 0;
        }
    }
    free(nv);
    return rv == 0 ? RP_OK : RP_ERROR;
}

ssize_t rp_h2_submit_data(rp_h2_session_t *s, int32_t stream_id, const uint8_t *p, size_t len,
                          int end_stream)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    if (st == NULL || !st->provider || st->eof_out || st->reset)
        return RP_ERROR;
    if (len && st->rbuf == NULL) {
        st->rbuf = malloc(s->cfg.stream_buffer);
        if (st->rbuf == NULL)
            return RP_ERROR;
        st->rcap = s->cfg.stream_buffer;
        st->rhead = 0;
    }
    size_t n = RP_MIN(len, st->rcap - st->rlen);
    if (n) {
        size_t tail = (st->rhead + st->rlen) % st->rcap;
        size_t first = RP_MIN(n, st->rcap - tail);
        memcpy(st->rbuf + tail, p, first);
        if (n > first)
            memcpy(st->rbuf, p + first, n - first);
        st->rlen += n;
    }
    if (n < len)
        st->want_room = 1;
    else if (end_stream)
        st->eof_out = 1;
    if (st->deferred && (n || st->eof_out)) {
        st->deferred = 0;
        nghttp2_session_resume_data(s->ng, stream_id);
    }
    return (ssize_t)n;
}

size_t rp_h2_stream_send_room(rp_h2_session_t *s, int32_t stream_id)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    if (st == NULL || !st->provider || st->eof_out || st->reset)
        return 0;
    int32_t w = nghttp2_session_get_stream_remote_window_size(s->ng, stream_id);
    int32_t c = nghttp2_session_get_remote_window_size(s->ng);
    size_t win = (size_t)RP_MAX(0, RP_MIN(w, c));
    size_t buf_room = s->cfg.stream_buffer - st->rlen;
    size_t win_room = win > st->rlen ? win - st->rlen : 0;
    size_t room = RP_MIN(buf_room, win_room);
    if (room == 0)
        st->want_room = 1;
    return room;
}

int rp_h2_consumed(rp_h2_session_t *s, int32_t stream_id, size_t n)
{
    if (get_stream(s, stream_id) == NULL)
        return RP_ERROR;
    return nghttp2_session_consume_stream(s->ng, stream_id, n) == 0 ? RP_OK : RP_ERROR;
}

int rp_h2_reset_stream(rp_h2_session_t *s, int32_t stream_id, uint32_t error_code)
{
    rp__h2_stream_t *st = get_stream(s, stream_id);
    if (st == NULL)
        return RP_ERROR;
    reset(s, st, error_code);
    return RP_OK;
}

int rp_h2_goaway(rp_h2_session_t *s, int graceful)
{
    if (s->fatal)
        return RP_ERROR;
    if (graceful) {
        if (nghttp2_submit_shutdown_notice(s->ng) != 0)
            return RP_ERROR;
        s->shutdown_notice = 1;
        return nghttp2_submit_ping(s->ng, NGHTTP2_FLAG_NONE, NULL) == 0 ? RP_OK : RP_ERROR;
    }
    return nghttp2_session_terminate_session(s->ng, NGHTTP2_NO_ERROR) == 0 ? RP_OK : RP_ERROR;
}
