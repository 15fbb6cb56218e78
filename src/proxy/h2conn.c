/* HTTP/2 connections and streams: the glue between the codec (http/h2.c)
 * and the request model of session.c.
 *
 * A connection that speaks HTTP/2 (ALPN h2, or the h2c preface on a
 * cleartext listener with HTTP/2 on) keeps its socket, TLS and timers and
 * gets an rp_h2conn_t with the codec session. Each stream is an rp_conn_t
 * of its own, inside an rp_h2stream_t, whose parent is the connection: it
 * carries one rp_req_t, so routing, proxying, local responses and access
 * logs are the HTTP/1.1 code unchanged. At the byte level a stream differs:
 *  - reading (rp_h2stream_read) takes DATA the codec delivered and gives
 *    the stream window back as the request body moves on, so an upload
 *    goes only as fast as the backend takes it; a body without
 *    content-length is presented as chunked, which the HTTP/1 body code
 *    decodes, limits and re-frames for the backend;
 *  - the response head, written in HTTP/1.1 form by the shared head
 *    writers, is converted once by the strict HTTP/1 parser into a HEADERS
 *    frame (rp_h2stream_head; the codec drops connection-specific fields);
 *    body framing is never chunked on a stream: DATA frames carry lengths;
 *  - writing (rp_h2stream_send) queues DATA only up to the stream's room
 *    (buffer and peer window), so a slow HTTP/2 reader slows the backend
 *    read exactly as a slow HTTP/1 client does.
 * The connection's loop (rp_h2conn_run) reads and feeds the codec, runs
 * the streams that became ready, and writes what the codec has; stream
 * events from elsewhere (backend sockets, timers) mark the stream ready and
 * run the loop, so codec calls never nest inside codec callbacks.
 */
#include "proxy/session.h"
#include "core/common.h"
#include "core/log.h"
#include "http/h2.h"
#include "tls/tls.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct rp_h2stream_s rp_h2stream_t;

struct rp_h2conn_s {
    rp_h2_session_t *sess;
    rp_h2stream_t *streams; /* live streams, doubly linked */
    rp_h2stream_t *ready;   /* streams to run, FIFO */
    rp_h2stream_t *ready_tail;
    int64_t max_requests; /* keepalive_requests: then GOAWAY */
    unsigned running : 1; /* inside rp_h2conn_run */
    unsigned closing : 1; /* the connection is being closed */
    unsigned goaway : 1;  /* graceful GOAWAY sent: no new streams */
    unsigned failed : 1;  /* the codec ended the session */
};

struct rp_h2stream_s {
    rp_conn_t c; /* first: a stream is an rp_conn_t */
    rp_h2stream_t *prev, *next;
    rp_h2stream_t *rnext;
    int32_t id;
    rp_buf_t data;              /* DATA received and not read yet */
    unsigned queued : 1;        /* on the ready list */
    unsigned started : 1;       /* request routed */
    unsigned data_end : 1;      /* END_STREAM received */
    unsigned chunked : 1;       /* body without content-length: as chunked */
    unsigned chunked_final : 1; /* the last-chunk was given */
    unsigned head_sent : 1;     /* HEADERS submitted */
    unsigned ended : 1;         /* END_STREAM submitted */
    unsigned gone : 1;          /* the codec closed the stream */
};

#define STREAM(c) ((rp_h2stream_t *)(c))

static void stream_queue(rp_h2stream_t *s)
{
    if (s->queued || s->c.closed)
        return;
    rp_h2conn_t *h2 = s->c.parent->h2;
    s->queued = 1;
    s->rnext = NULL;
    if (h2->ready_tail)
        h2->ready_tail->rnext = s;
    else
        h2->ready = s;
    h2->ready_tail = s;
}

static void stream_unqueue(rp_h2conn_t *h2, rp_h2stream_t *s)
{
    if (!s->queued)
        return;
    rp_h2stream_t *prev = NULL;
    for (rp_h2stream_t *x = h2->ready; x; prev = x, x = x->rnext) {
        if (x != s)
            continue;
        if (prev)
            prev->rnext = x->rnext;
        else
            h2->ready = x->rnext;
        if (h2->ready_tail == x)
            h2->ready_tail = prev;
        break;
    }
    s->queued = 0;
}

/* Lets the connection's loop run soon (after the current event batch). */
static void conn_schedule(rp_conn_t *c)
{
    if (!c->closed && c->h2 && !c->h2->closing && !c->h2->running)
        rp_timer_set(&c->w->loop, &c->resume, 0);
}

/* ---------------------------------------------------------- codec events */

static uint64_t cb_now(void *user)
{
    rp_conn_t *c = user;
    return c->w->loop.now;
}

/* Copies the request into the stream's own rp_req_t, in the shape the
 * HTTP/1 parser produces. */
static int fill_request(rp_req_t *r, const rp_h2_request_t *hr)
{
    rp_h1_request_t *h = &r->h;
    /* "$request": the request line nginx logs for HTTP/2 */
    size_t ll = hr->method.len + hr->path.len + 12;
    char *line = rp_arena_alloc(&r->arena, ll + 1);
    rp_http_field_t *f = rp_arena_alloc(&r->arena, (hr->nfields + 1) * sizeof(*f));
    char *host = rp_arena_strndup(&r->arena, hr->authority.data, hr->authority.len);
    if (!line || !f || !host)
        return RP_ERROR;
    int n = snprintf(line, ll + 1, "%.*s %.*s HTTP/2.0\r\n", (int)hr->method.len, hr->method.data,
                     (int)hr->path.len, hr->path.data);
    r->head = line;
    h->head_len = (size_t)n;
    h->method = rp_str(line, hr->method.len);
    h->method_id = hr->method_id;
    h->target = rp_str(line + hr->method.len + 1, hr->path.len);
    h->path = h->target;
    h->target_form =
        hr->path.len == 1 && hr->path.data[0] == '*' ? RP_TARGET_ASTERISK : RP_TARGET_ORIGIN;
    h->version_minor = 1;
    for (size_t i = 0; i < hr->nfields; i++) {
        const rp_http_field_t *in = &hr->fields[i];
        char *nm = rp_arena_strndup(&r->arena, in->name.data, in->name.len);
        char *v = rp_arena_strndup(&r->arena, in->value.data, in->value.len);
        if (!nm || !v)
            return RP_ERROR;
        f[i].name = rp_str(nm, in->name.len);
        f[i].value = rp_str(v, in->value.len);
        h->head_len += in->name.len + in->value.len + 4;
    }
    h->fields = f;
    h->nfields = hr->nfields;
    h->host = rp_str(host, hr->authority.len);
    h->keep_alive = 1;
    if (hr->end_stream) {
        h->body_kind = RP_BODY_NONE;
    } else if (hr->has_content_length) {
        h->body_kind = RP_BODY_LENGTH;
        h->content_length = hr->content_length;
    } else {
        h->body_kind = RP_BODY_CHUNKED;
    }
    return RP_OK;
}

static int on_request(void *user, int32_t id, const rp_h2_request_t *hr)
{
    rp_conn_t *c = user;
    rp_h2conn_t *h2 = c->h2;
    /* after a graceful GOAWAY, streams the client sent before it saw it
     * are still served (RFC 9113 6.8); the codec drops later ones */
    if (h2->closing)
        return RP_H2_REFUSED_STREAM;
    rp_h2stream_t *s = calloc(1, sizeof(*s));
    if (!s)
        return RP_H2_REFUSED_STREAM;
    rp_conn_t *sc = &s->c;
    sc->io.fd = -1;
    sc->w = c->w;
    sc->conf = c->conf;
    rp_conf_ref(sc->conf);
    sc->ls = c->ls;
    sc->parent = c;
    sc->tpctx = c->tpctx;
    sc->id = c->id;
    memcpy(sc->peer_addr, c->peer_addr, sizeof(sc->peer_addr));
    memcpy(sc->peer_port, c->peer_port, sizeof(sc->peer_port));
    memcpy(sc->local_port, c->local_port, sizeof(sc->local_port));
    sc->handshaked = 1;
    sc->writable = 1;
    sc->readable = 1;
    rp__conn_init_timers(sc);
    s->id = id;
    rp_req_t *r = rp__req_new(sc);
    if (!r || fill_request(r, hr) != RP_OK) {
        if (r) {
            sc->req = NULL;
            rp_arena_destroy(&r->arena);
            free(r);
        }
        rp_conf_unref(sc->conf);
        free(s);
        return RP_H2_REFUSED_STREAM;
    }
    s->chunked = r->h.body_kind == RP_BODY_CHUNKED;
    s->next = h2->streams;
    if (h2->streams)
        h2->streams->prev = s;
    h2->streams = s;
    rp_h2_stream_set_user(h2->sess, id, s);
    stream_queue(s);
    /* keepalive_requests bounds an HTTP/2 connection's streams too */
    if ((int64_t)++c->nrequests >= h2->max_requests)
        rp_h2conn_goaway(c);
    return 0;
}

static void on_data(void *user, int32_t id, void *su, const uint8_t *data, size_t len,
                    int end_stream)
{
    rp_conn_t *c = user;
    rp_h2stream_t *s = su;
    if (!s || s->c.closed) {
        /* the response went out already: the rest of the body is dropped
         * and the window given back so the client can finish */
        if (len)
            rp_h2_consumed(c->h2->sess, id, len);
        return;
    }
    /* bounded by the stream window (http2_body_preread_size) */
    if (len && rp_buf_append(c->w, &s->data, (const char *)data, len, 1u << 31) != RP_OK) {
        rp_h2_reset_stream(c->h2->sess, id, RP_H2_INTERNAL_ERROR);
        return;
    }
    if (end_stream)
        s->data_end = 1;
    s->c.readable = 1;
    stream_queue(s);
}

static void on_stream_close(void *user, int32_t id, void *su, uint32_t err)
{
    rp_conn_t *c = user;
    rp_h2stream_t *s = su;
    (void)id;
    if (!s)
        return;
    s->gone = 1;
    if (s->c.closed)
        return;
    rp_req_t *r = s->c.req;
    if (r && !r->finalized) {
        if (err)
            rp_log_error(RP_LOG_INFO,
                         "client %s reset HTTP/2 stream %d (error %u), request %" PRIu64,
                         c->peer_addr, (int)id, err, r->id);
        if (!r->status || !r->head_bytes)
            r->status = 499;
    }
    rp_conn_close(&s->c);
}

static void on_send_room(void *user, int32_t id, void *su)
{
    rp_h2stream_t *s = su;
    (void)user;
    (void)id;
    if (!s)
        return;
    s->c.writable = 1;
    stream_queue(s);
}

/* ------------------------------------------------------------ connection */

int rp_h2conn_enabled(const rp_conn_t *c)
{
    return c->ls->http2 || c->ls->default_server->http2 == 1;
}

void rp_h2conn_start(rp_conn_t *c)
{
    const rp_server_t *srv = c->tpctx ? rp_tls_server(c->tpctx) : NULL;
    if (!srv)
        srv = c->ls->default_server;
    rp_h2conn_t *h2 = calloc(1, sizeof(*h2));
    if (!h2) {
        rp_conn_close(c);
        return;
    }
    rp_h2_config_t cfg;
    rp_h2_config_default(&cfg);
    cfg.max_concurrent_streams = (uint32_t)srv->http2_max_concurrent_streams;
    cfg.initial_window = (uint32_t)srv->http2_body_preread_size;
    cfg.chunk_size = (uint32_t)srv->http2_chunk_size;
    int64_t hl = srv->large_client_header_buffers_size * srv->large_client_header_buffers_num;
    cfg.max_header_list = (uint32_t)RP_MIN(hl, (int64_t)1 << 30);
    if (cfg.stream_buffer < cfg.chunk_size)
        cfg.stream_buffer = cfg.chunk_size;
    rp_h2_callbacks_t cb = { 0 };
    cb.on_request = on_request;
    cb.on_data = on_data;
    cb.on_stream_close = on_stream_close;
    cb.on_send_room = on_send_room;
    cb.now_ms = cb_now;
    h2->sess = rp_h2_session_new(&cfg, &cb, c);
    if (!h2->sess) {
        free(h2);
        rp_conn_close(c);
        return;
    }
    h2->max_requests = srv->conf.keepalive_requests > 0 ? srv->conf.keepalive_requests : 1000;
    c->h2 = h2;
    rp_conn_nodelay(c, NULL); /* frames of many streams: never delayed */
    rp_conn_set_timer(c, srv->conf.keepalive_timeout > 0 ? srv->conf.keepalive_timeout : 75000);
    rp_h2conn_run(c);
}

static void stream_run(rp_h2stream_t *s)
{
    rp_conn_t *sc = &s->c;
    if (!s->started) {
        s->started = 1;
        rp__req_route(sc->req);
    }
    while (!sc->closed && sc->req && rp__req_run(sc))
        ;
}

static void h2_free(void *p)
{
    free(p);
}

void rp_h2conn_close(rp_conn_t *c)
{
    rp_h2conn_t *h2 = c->h2;
    h2->closing = 1;
    while (h2->streams) {
        rp_h2stream_t *s = h2->streams;
        if (s->c.req && !s->c.req->finalized && (!s->c.req->status || !s->c.req->head_bytes))
            s->c.req->status = 499;
        rp_conn_close(&s->c);
    }
    rp_h2_session_free(h2->sess);
    h2->sess = NULL;
    c->h2 = NULL;
    rp_loop_defer(&c->w->loop, h2_free, h2);
}

void rp_h2conn_goaway(rp_conn_t *c)
{
    rp_h2conn_t *h2 = c->h2;
    if (!h2 || h2->goaway || h2->failed)
        return;
    h2->goaway = 1;
    rp_h2_goaway(h2->sess, 1);
    conn_schedule(c);
}

int rp_h2conn_stalled(rp_conn_t *c)
{
    return c->h2 && c->h2->sess && rp_h2_session_idle(c->h2->sess) == RP_H2_IDLE_STALLED;
}

/* Feeds what c->in holds. RP_ERROR when the codec ended the session. */
static int feed(rp_conn_t *c)
{
    rp_h2conn_t *h2 = c->h2;
    ssize_t n =
        rp_h2_session_feed(h2->sess, (const uint8_t *)c->in.data + c->in.pos, rp_buf_len(&c->in));
    c->in.pos = c->in.last = 0;
    if (n < 0) {
        rp_log_error(RP_LOG_INFO, "client %s: HTTP/2 connection ended (protocol error or flood)",
                     c->peer_addr);
        h2->failed = 1;
        return RP_ERROR;
    }
    return RP_OK;
}

/* Writes what the codec has. RP_OK (all written or nothing to write),
 * RP_AGAIN (socket full) or RP_ERROR. *progress is set when bytes left. */
static int output(rp_conn_t *c, int *progress)
{
    rp_h2conn_t *h2 = c->h2;
    for (;;) {
        if (rp_buf_len(&c->out) == 0) {
            if (!rp_h2_session_want_write(h2->sess))
                return RP_OK;
            if (!c->out.data && rp_buf_alloc(c->w, &c->out, RP_BUF_SIZE) != RP_OK)
                return RP_ERROR;
            c->out.pos = c->out.last = 0;
            ssize_t n = rp_h2_session_pull(h2->sess, (uint8_t *)c->out.data, c->out.cap);
            if (n < 0)
                return RP_ERROR;
            if (n == 0)
                return RP_OK;
            c->out.last = (size_t)n;
        }
        size_t before = rp_buf_len(&c->out);
        int rc = rp_conn_flush(c);
        if (rp_buf_len(&c->out) < before)
            *progress = 1;
        if (rc != RP_OK)
            return rc;
    }
}

void rp_h2conn_run(rp_conn_t *c)
{
    rp_h2conn_t *h2 = c->h2;
    if (c->closed || !h2 || h2->running)
        return;
    h2->running = 1;
    for (int round = 0;; round++) {
        if (round == 64) {
            /* fairness: other connections run, then this one goes on */
            rp_timer_set(&c->w->loop, &c->resume, 0);
            break;
        }
        int progress = 0;
        /* client bytes into the codec */
        if (!h2->failed && c->in.data && rp_buf_len(&c->in)) {
            feed(c);
            progress = 1;
        } else if (!h2->failed && c->readable) {
            int n = rp_conn_read(c);
            if (n > 0) {
                feed(c);
                progress = 1;
            } else if (n == 0 || n == RP_ERROR) {
                rp_conn_close(c); /* the client is gone: so are its streams */
                return;
            }
        }
        if (h2->failed) {
            /* a fatal error or a flood: no stream runs any more; what is
             * left to write is the GOAWAY */
            while (h2->streams) {
                rp_h2stream_t *s = h2->streams;
                if (s->c.req && !s->c.req->finalized && !s->c.req->status)
                    s->c.req->status = 499;
                rp_conn_close(&s->c);
            }
        }
        /* streams that can move */
        while (h2->ready) {
            rp_h2stream_t *s = h2->ready;
            h2->ready = s->rnext;
            if (!h2->ready)
                h2->ready_tail = NULL;
            s->queued = 0;
            stream_run(s);
            progress = 1;
            if (c->closed)
                return;
        }
        /* frames out */
        int rc = output(c, &progress);
        if (rc == RP_ERROR) {
            rp_conn_close(c);
            return;
        }
        if (h2->ready)
            continue;
        if (!progress)
            break;
    }
    h2->running = 0;
    if ((h2->failed || rp_h2_session_done(h2->sess)) && rp_buf_len(&c->out) == 0 &&
        !rp_h2_session_want_write(h2->sess)) {
        rp_conn_close(c);
        return;
    }
    const rp_server_t *srv = c->ls->default_server;
    int idle = rp_h2_session_idle(h2->sess);
    if (rp_buf_len(&c->out) || idle == RP_H2_IDLE_STALLED || h2->failed) {
        rp_conn_set_timer(c, srv->conf.send_timeout);
    } else if (idle == RP_H2_IDLE_EMPTY && !h2->streams) {
        int64_t t = srv->conf.keepalive_timeout > 0 ? srv->conf.keepalive_timeout : 75000;
        if (h2->goaway || c->w->quitting)
            t = RP_MIN(t, 1000); /* stopping: the client had its chance */
        rp_conn_set_timer(c, t);
        /* idle: hold no buffers */
        if (rp_buf_len(&c->in) == 0)
            rp_buf_release(c->w, &c->in);
        if (rp_buf_len(&c->out) == 0)
            rp_buf_release(c->w, &c->out);
    } else {
        rp_timer_cancel(&c->w->loop, &c->timer); /* streams have their timers */
    }
}

/* --------------------------------------------------------------- streams */

void rp_h2stream_kick(rp_conn_t *sc)
{
    rp_h2stream_t *s = STREAM(sc);
    rp_conn_t *c = sc->parent;
    if (sc->closed || !c->h2)
        return;
    stream_queue(s);
    if (!c->h2->running)
        rp_h2conn_run(c);
}

void rp_h2stream_close(rp_conn_t *sc)
{
    rp_h2stream_t *s = STREAM(sc);
    rp_conn_t *c = sc->parent;
    rp_h2conn_t *h2 = c->h2;
    if (h2 && h2->sess && !s->gone) {
        rp_h2_stream_set_user(h2->sess, s->id, NULL);
        if (!s->ended && !h2->closing)
            rp_h2_reset_stream(h2->sess, s->id, RP_H2_INTERNAL_ERROR);
        else if (rp_buf_len(&s->data))
            /* body bytes never read: the client may finish sending */
            rp_h2_consumed(h2->sess, s->id, rp_buf_len(&s->data));
    }
    if (h2) {
        stream_unqueue(h2, s);
        if (s->prev)
            s->prev->next = s->next;
        else if (h2->streams == s)
            h2->streams = s->next;
        if (s->next)
            s->next->prev = s->prev;
        s->prev = s->next = NULL;
    }
    rp_buf_release(sc->w, &s->data);
    conn_schedule(c);
}

/* Request body bytes into sc->in, as received or framed as chunked. */
int rp_h2stream_read(rp_conn_t *sc)
{
    rp_h2stream_t *s = STREAM(sc);
    rp_h2conn_t *h2 = sc->parent->h2;
    if (!sc->in.data && rp_buf_alloc(sc->w, &sc->in, RP_BUF_SIZE) != RP_OK)
        return RP_ERROR;
    if (rp_buf_room(&sc->in) < 64)
        rp_buf_compact(&sc->in);
    size_t room = rp_buf_room(&sc->in);
    size_t avail = rp_buf_len(&s->data);
    if (avail == 0) {
        if (!s->data_end) {
            sc->readable = 0;
            return RP_AGAIN;
        }
        if (s->chunked && !s->chunked_final) {
            if (room < 5)
                return RP_AGAIN;
            memcpy(sc->in.data + sc->in.last, "0\r\n\r\n", 5);
            sc->in.last += 5;
            s->chunked_final = 1;
            return 5;
        }
        sc->eof = 1;
        return 0;
    }
    size_t n, added;
    if (s->chunked) {
        if (room < 64)
            return RP_AGAIN;
        n = RP_MIN(avail, room - 24);
        char *o = sc->in.data + sc->in.last;
        size_t hn = rp_u64_fmt(o, n, 1);
        o[hn++] = '\r';
        o[hn++] = '\n';
        memcpy(o + hn, s->data.data + s->data.pos, n);
        memcpy(o + hn + n, "\r\n", 2);
        added = hn + n + 2;
    } else {
        if (room == 0)
            return RP_AGAIN;
        n = RP_MIN(avail, room);
        memcpy(sc->in.data + sc->in.last, s->data.data + s->data.pos, n);
        added = n;
    }
    sc->in.last += added;
    s->data.pos += n;
    if (rp_buf_len(&s->data) == 0)
        s->data.pos = s->data.last = 0;
    if (!s->gone && h2 && h2->sess)
        rp_h2_consumed(h2->sess, s->id, n);
    return (int)added;
}

ssize_t rp_h2stream_send(rp_conn_t *sc, const void *buf, size_t len)
{
    rp_h2stream_t *s = STREAM(sc);
    rp_h2conn_t *h2 = sc->parent->h2;
    if (!h2 || !h2->sess || !s->head_sent || s->ended || s->gone) {
        errno = EIO;
        return -1;
    }
    size_t room = rp_h2_stream_send_room(h2->sess, s->id);
    if (room == 0) {
        errno = EAGAIN; /* on_send_room follows */
        return -1;
    }
    ssize_t n = rp_h2_submit_data(h2->sess, s->id, buf, RP_MIN(len, room), 0);
    if (n < 0) {
        errno = EIO;
        return -1;
    }
    if ((size_t)n < len)
        rp_h2_stream_send_room(h2->sess, s->id); /* 0 now: arms on_send_room */
    return n;
}

/* The response head in sc->out (HTTP/1.1 form, written by the shared head
 * writers) becomes the stream's HEADERS. */
int rp_h2stream_head(rp_conn_t *sc)
{
    rp_h2stream_t *s = STREAM(sc);
    if (s->head_sent)
        return RP_OK;
    rp_h2conn_t *h2 = sc->parent->h2;
    rp_req_t *r = sc->req;
    if (!h2 || !h2->sess || s->gone || !r)
        return RP_ERROR;
    static __thread rp_http_field_t fields[512];
    rp_h1_parser_t p;
    size_t len = rp_buf_len(&sc->out);
    rp_h1_limits_t lim = { .max_line = len, .max_field = len, .max_head = len, .max_fields = 512 };
    rp_h1_parser_init(&p, &lim);
    rp_h1_response_t rs = { 0 };
    rs.fields = fields;
    if (rp_h1_parse_response(&p, sc->out.data + sc->out.pos, len, r->h.method_id, &rs) != RP_OK) {
        rp_log_error(RP_LOG_ERR, "response head for HTTP/2 stream %d not converted (%s)",
                     (int)s->id, rs.error ? rs.error : "incomplete");
        return RP_ERROR;
    }
    int end = r->out_framing == RP_OUT_NONE || r->head_only;
    if (rp_h2_submit_response(h2->sess, s->id, rs.status, rs.fields, rs.nfields, end) != RP_OK)
        return RP_ERROR;
    s->head_sent = 1;
    if (end) {
        s->ended = 1;
        sc->out.pos = sc->out.last = 0; /* nothing may follow */
    } else {
        sc->out.pos += rs.head_len;
    }
    r->bytes_sent += rs.head_len;
    return RP_OK;
}

/* The request is finished: END_STREAM (an empty DATA frame when the body
 * had no natural end), then the stream's rp_conn_t goes. */
void rp_h2stream_end(rp_conn_t *sc)
{
    rp_h2stream_t *s = STREAM(sc);
    rp_h2conn_t *h2 = sc->parent->h2;
    if (h2 && h2->sess && !s->gone && s->head_sent && !s->ended &&
        rp_h2_submit_data(h2->sess, s->id, NULL, 0, 1) >= 0)
        s->ended = 1;
    rp_conn_close(sc);
}
