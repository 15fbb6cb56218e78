/* Forwarding a request to a backend and streaming the answer back.
 *
 * One driver, rp_proxy_run, moves bytes in every direction that can make
 * progress (client body -> backend, backend -> client) until nothing can,
 * and re-arms the timers. Buffers are bounded: when the client reads slowly
 * rampart stops reading from the backend, and the other way round, so
 * memory stays flat whatever the body size (back-pressure). */
#include "core/common.h"
#include "core/log.h"
#include "conf/redirect.h"
#include "proxy/route.h"
#include "tls/tls.h"
#include "tls/transport.h"
#include "proxy/forward_int.h"
#include "proxy/session.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RP_MAX_UPHEAD (64 * 1024)

static void up_io(rp_io_t *io, uint32_t ev);
static void up_timeout(rp_timer_t *t);
static void connect_next(rp_req_t *r);

/* The TLS settings a backend connection was made with (NULL: plain). A
 * pooled connection is reused only under the same client context; a
 * variable proxy_ssl_name is the one case this does not tell apart. */
static const void *up_tls_key(const rp_req_t *r)
{
    return r->lc->proxy_pass->ssl ? r->lc->proxy_ssl_ctx : NULL;
}

/* Starts TLS on a fresh backend connection (proxy_pass https://). */
static int up_tls_start(rp_req_t *r, rp_upconn_t *u, const rp_upstream_server_t *srv)
{
    const rp_loc_conf_t *lc = r->lc;
    rp_str_t name = RP_NULL_STR;
    if (lc->proxy_ssl.name &&
        rp_tpl_eval(lc->proxy_ssl.name, rp_req_var, r, &r->arena, &name) != RP_OK)
        return RP_ERROR;
    char *cname = rp_arena_strndup(&r->arena, name.data ? name.data : "", name.len);
    if (!cname)
        return RP_ERROR;
    void *ssl = rp_tls_client_new(lc->proxy_ssl_ctx, u->io.fd,
                                  lc->proxy_ssl.server_name && name.len ? cname : NULL,
                                  lc->proxy_ssl.verify ? cname : NULL, srv);
    if (!ssl)
        return RP_ERROR;
    u->tp = &rp_tls_transport;
    u->tpctx = ssl;
    u->tls_key = lc->proxy_ssl_ctx;
    u->handshaked = 0;
    return RP_OK;
}

/* ----------------------------------------------------- the request head */

typedef struct {
    char *p;
    size_t len, cap;
    rp_arena_t *a;
    int failed;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > RP_MAX_UPHEAD) {
            b->failed = 1;
            return;
        }
        char *np = rp_arena_alloc(b->a, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        if (b->len)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_str(sbuf_t *b, rp_str_t s)
{
    sb_add(b, s.data, s.len);
}
static void sb_cstr(sbuf_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

void rp__conn_tokens_collect(const rp_http_field_t *f, size_t n, rp__conn_tokens_t *ct)
{
    ct->n = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].name.len == 10 && rp_str_caseeq_lit(f[i].name, "connection") &&
            ct->n < RP_ARRAY_LEN(ct->v))
            ct->v[ct->n++] = f[i].value;
}

int rp__conn_tokens_has(const rp__conn_tokens_t *ct, rp_str_t name)
{
    for (size_t i = 0; i < ct->n; i++)
        if (rp_str_list_has_token(ct->v[i], name))
            return 1;
    return 0;
}

/* Fields the client sent that rampart never forwards as they are: the
 * hop-by-hop ones (RFC 9110 7.6.1) and those named in Connection, framing
 * (re-made from what was parsed, so a backend never sees ambiguous
 * framing), and Expect (rampart answers 100-continue itself). */
static int drop_request_field(const rp__conn_tokens_t *ct, rp_str_t name)
{
    if (rp_http_is_hop_by_hop(name))
        return 1;
    if (name.len == 14 && rp_str_caseeq_lit(name, "content-length"))
        return 1;
    if (name.len == 6 && rp_str_caseeq_lit(name, "expect"))
        return 1;
    return ct->n && rp__conn_tokens_has(ct, name);
}

static int build_uphead(rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    const rp_proxy_pass_t *pp = lc->proxy_pass;
    sbuf_t b = { .a = &r->arena };
    rp_str_t uri;
    if (rp_route_upstream_uri(pp, r->loc, r->request_uri, r->path, r->args, &r->arena, &uri) !=
        RP_OK)
        return 400;
    int v10 = lc->proxy_http_version == 10;
    sb_str(&b, r->h.method);
    sb_cstr(&b, " ");
    sb_str(&b, uri);
    sb_cstr(&b, v10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    int conn_set = 0;
    r->up_keepalive = !v10;
    for (size_t i = 0; i < lc->nproxy_set_headers; i++) {
        const rp_set_header_t *sh = &lc->proxy_set_headers[i];
        rp_str_t v;
        if (rp_tpl_eval(sh->value, rp_req_var, r, &r->arena, &v) != RP_OK)
            return 500;
        if (rp_str_caseeq_lit(sh->name, "connection")) {
            conn_set = v.len > 0; /* Connection "" (the default) sends none */
            if (v.len && !rp_str_list_has_token(v, RP_STR("keep-alive")))
                r->up_keepalive = 0;
        }
        if (v.len == 0)
            continue;
        /* a value must not smuggle a line break into the head; it can only
         * come from the request (a decoded %0d%0a in $uri, say): 400 */
        if (memchr(v.data, '\r', v.len) || memchr(v.data, '\n', v.len)) {
            rp_log_error(RP_LOG_INFO,
                         "proxy_set_header \"%.*s\" value has a line break, client: %s, "
                         "request refused",
                         (int)sh->name.len, sh->name.data, r->c->peer_addr);
            return 400;
        }
        sb_str(&b, sh->name);
        sb_cstr(&b, ": ");
        sb_str(&b, v);
        sb_cstr(&b, "\r\n");
    }
    rp__conn_tokens_t ct;
    rp__conn_tokens_collect(r->h.fields, r->h.nfields, &ct);
    for (size_t i = 0; i < r->h.nfields; i++) {
        const rp_http_field_t *f = &r->h.fields[i];
        if (drop_request_field(&ct, f->name))
            continue;
        int overridden = 0;
        for (size_t j = 0; j < lc->nproxy_set_headers; j++)
            if (rp_str_caseeq(lc->proxy_set_headers[j].name, f->name)) {
                overridden = 1;
                break;
            }
        if (overridden)
            continue;
        sb_str(&b, f->name);
        sb_cstr(&b, ": ");
        sb_str(&b, f->value);
        sb_cstr(&b, "\r\n");
    }
    if (r->body_kind == RP_BODY_LENGTH) {
        char tmp[24];
        size_t n = rp_u64_fmt(tmp, r->h.content_length, 0);
        sb_cstr(&b, "Content-Length: ");
        sb_add(&b, tmp, n);
        sb_cstr(&b, "\r\n");
    } else if (r->body_kind == RP_BODY_CHUNKED) {
        if (v10)
            return 411;
        sb_cstr(&b, "Transfer-Encoding: chunked\r\n");
    }
    if (v10 && !conn_set)
        sb_cstr(&b, "Connection: close\r\n");
    sb_cstr(&b, "\r\n");
    if (b.failed)
        return 500;
    r->uphead = rp_str(b.p, b.len);
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

void rp__up_detach(rp_req_t *r, int reuse)
{
    if (r->peer_held) {
        rp_peer_release(r->peer);
        r->peer_held = 0;
    }
    rp_upconn_t *u = r->up;
    if (!u)
        return;
    r->up = NULL;
    u->req = NULL;
    rp_timer_cancel(&u->w->loop, &u->timer);
    if (reuse && (int64_t)u->nrequests < r->upstream->keepalive_requests)
        rp_pool_put(u->w, u, r->upstream);
    else
        rp_upconn_free(u);
}

void rp_proxy_abort(rp_req_t *r)
{
    rp__up_detach(r, 0);
}

static void add_upstream_addr(rp_req_t *r, const char *text)
{
    size_t old = r->upstream_addr ? strlen(r->upstream_addr) : 0;
    size_t n = strlen(text);
    char *s = rp_arena_alloc(&r->arena, old + n + 3);
    if (!s)
        return;
    if (old) {
        memcpy(s, r->upstream_addr, old);
        memcpy(s + old, ", ", 2);
        old += 2;
    }
    memcpy(s + old, text, n + 1);
    r->upstream_addr = s;
}

/* May the request go to the next server after a failure of this kind
 * (RP_NEXT_*)? proxy_next_upstream names it, tries and time are left, and
 * the request can be sent again: nothing of it went out yet, or it is
 * idempotent (or non_idempotent is set) and its body can be replayed. */
static int next_allowed(rp_req_t *r, int kind, int sent)
{
    const rp_loc_conf_t *lc = r->lc;
    int mask = lc->proxy_next_upstream;
    if (!(mask & kind))
        return 0;
    if (lc->proxy_next_upstream_tries && r->tries >= lc->proxy_next_upstream_tries)
        return 0;
    if (lc->proxy_next_upstream_timeout &&
        r->c->w->loop.now >= r->up_first_ms + (uint64_t)lc->proxy_next_upstream_timeout)
        return 0;
    if (r->tries >= (int)r->upstream->nservers)
        return 0;
    if (!sent)
        return 1;
    int idem = rp_http_method_idempotent(r->h.method_id) || (mask & RP_NEXT_NON_IDEMPOTENT);
    return idem && (!r->body_started || r->body_buffered);
}

/* The bit of a response status in proxy_next_upstream, or 0. */
static int status_kind(int status)
{
    switch (status) {
    case 500:
        return RP_NEXT_500;
    case 502:
        return RP_NEXT_502;
    case 503:
        return RP_NEXT_503;
    case 504:
        return RP_NEXT_504;
    case 403:
        return RP_NEXT_403;
    case 404:
        return RP_NEXT_404;
    case 429:
        return RP_NEXT_429;
    }
    return 0;
}

/* The backend failed before an answer reached the client. */
void rp__up_fail(rp_req_t *r, int status, const char *why)
{
    rp_upconn_t *u = r->up;
    int sent = u && u->sent > r->up_sent_base; /* bytes of this request */
    /* a pooled connection the backend closed while it sat idle fails on
     * first use with an error, never a timeout: a timed-out request was
     * received, so it is not sent to that server again */
    int retry_free = u && u->reused && !u->got_bytes && status != 504 &&
                     rp_http_method_idempotent(r->h.method_id) &&
                     (!r->body_started || r->body_buffered);
    rp_log_error(RP_LOG_ERR, "%s while %s upstream %s, client: %s, request: %" PRIu64, why,
                 r->resp_head_done ? "reading response body from" : "talking to",
                 r->peer ? r->peer->addr.text : "-", r->c->peer_addr, r->id);
    rp__up_detach(r, 0);
    if (r->resp_head_done) {
        rp_conn_close(r->c);
        return;
    }
    if (retry_free) {
        /* a pooled connection the backend had closed meanwhile: retry on a
         * fresh one to the same server, invisibly to the client */
        r->tried[(r->peer - r->upstream->servers) / 8] &=
            (unsigned char)~(1u << ((r->peer - r->upstream->servers) % 8));
        r->tries--;
        r->upstream_addr = NULL;
        connect_next(r);
        return;
    }
    r->upstream_status = status;
    /* errors, timeouts and invalid heads always count against the server
     * (max_fails), whether or not they are retried */
    int kind = status == 504                            ? RP_NEXT_TIMEOUT
               : strncmp(why, "upstream sent", 13) == 0 ? RP_NEXT_INVALID_HEADER
                                                        : RP_NEXT_ERROR;
    if (r->peer)
        rp_peer_failed(r->upstream, r->peer, r->c->w->loop.now);
    if (next_allowed(r, kind, sent)) {
        connect_next(r);
        return;
    }
    r->phase = RP_PHASE_HANDLE;
    rp_req_error(r, status);
}

static int set_nonblock_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void connect_next(rp_req_t *r)
{
    rp_worker_t *w = r->c->w;
    int full = 0;
    for (;;) {
        rp_upstream_server_t *s = rp_upstream_pick(w, r);
        if (s && !rp_peer_acquire(s)) {
            /* another worker took its last place (max_conns) meanwhile */
            if (++full < 8)
                continue;
            s = NULL;
        }
        if (!s) {
            r->phase = RP_PHASE_HANDLE;
            rp_req_error(r, r->upstream_timed_out ? 504 : 502);
            return;
        }
        size_t idx = (size_t)(s - r->upstream->servers);
        r->tried[idx / 8] |= (unsigned char)(1u << (idx % 8));
        if (!r->tries)
            r->up_first_ms = w->loop.now;
        r->tries++;
        r->peer = s;
        r->peer_held = 1;
        r->up_start_us = rp_peer_clock_us();
        add_upstream_addr(r, s->addr.text);
        r->up_start_ms = w->loop.now;
        r->up_connect_ms = 0;
        r->head_timer_armed = 0;
        rp_upconn_t *u = rp_pool_get(w, &s->addr, up_tls_key(r));
        if (u) {
            u->io.cb = up_io;
            rp_timer_init(&u->timer, up_timeout, u);
        } else {
            int fd = set_nonblock_socket(((struct sockaddr *)&s->addr.addr)->sa_family);
            if (fd < 0) {
                rp_log_error(RP_LOG_ALERT, "socket() failed (%d: %s)", errno, strerror(errno));
                r->phase = RP_PHASE_HANDLE;
                rp_req_error(r, 502);
                return;
            }
            int rc = connect(fd, (struct sockaddr *)&s->addr.addr, s->addr.addrlen);
            if (rc != 0 && errno != EINPROGRESS) {
                rp_log_error(RP_LOG_ERR, "connect() to %s failed (%d: %s), client: %s",
                             s->addr.text, errno, strerror(errno), r->c->peer_addr);
                close(fd);
                rp_peer_release(s);
                r->peer_held = 0;
                rp_peer_failed(r->upstream, s, w->loop.now);
                if (!next_allowed(r, RP_NEXT_ERROR, 0)) {
                    r->phase = RP_PHASE_HANDLE;
                    rp_req_error(r, 502);
                    return;
                }
                continue;
            }
            u = calloc(1, sizeof(*u));
            if (!u) {
                close(fd);
                r->phase = RP_PHASE_HANDLE;
                rp_req_error(r, 502);
                return;
            }
            u->io.fd = fd;
            u->io.cb = up_io;
            u->w = w;
            u->addr = s->addr;
            u->connected = rc == 0;
            u->handshaked = 1;
            rp_timer_init(&u->timer, up_timeout, u);
            if (r->lc->proxy_pass->ssl && up_tls_start(r, u, s) != RP_OK) {
                rp_log_error(RP_LOG_ERR, "SSL setup for upstream %s failed: %s", s->addr.text,
                             rp_tls_last_error());
                close(fd);
                free(u);
                r->phase = RP_PHASE_HANDLE;
                rp_req_error(r, 502);
                return;
            }
            if (rp_loop_add(&w->loop, &u->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != RP_OK) {
                close(fd);
                free(u);
                r->phase = RP_PHASE_HANDLE;
                rp_req_error(r, 502);
                return;
            }
            rp_timer_set(&w->loop, &u->timer, (uint64_t)r->lc->proxy_connect_timeout);
        }
        u->io.data = u;
        u->req = r;
        u->nrequests++;
        if (r->body_buffered) {
            /* a buffered body can be replayed to another server */
            r->body_send_off = 0;
            r->body_pending = r->body_received > 0;
        }
        u->got_bytes = 0;
        u->out_head_written = 0;
        u->eof = 0;
        r->up = u;
        r->resp_head_done = 0;
        r->up_sent_base = u->sent;
        if (u->reused) {
            /* an idle pooled connection has nothing to read (data or EOF
             * would have closed it) and room to write */
            u->readable = 0;
            u->writable = 1;
            r->up_connect_ms = w->loop.now;
        }
        rp_proxy_run(r);
        return;
    }
}

void rp_proxy_start(rp_req_t *r)
{
    r->phase = RP_PHASE_UPSTREAM;
    r->upstream = r->lc->proxy_pass->upstream;
    if (r->lc->proxy_request_buffering && !r->body_done) {
        if (r->h.expect_continue && rp_buf_len(&r->c->in) == 0) {
            rp_out_printf(r, "HTTP/1.1 100 Continue\r\n\r\n");
            r->continue_sent = 1;
            if (rp_conn_flush(r->c) == RP_ERROR) {
                rp_conn_close(r->c);
                return;
            }
        }
        r->phase = RP_PHASE_READ_BODY;
        rp__body_read(r);
        return;
    }
    rp__proxy_connect(r);
}

void rp__proxy_connect(rp_req_t *r)
{
    int st = build_uphead(r);
    if (st) {
        r->phase = RP_PHASE_HANDLE;
        if (st == 400 || st == 411)
            r->keep_alive = 0;
        rp_req_error(r, st);
        return;
    }
    /* 100-continue: tell the client to send the body now that rampart
     * has decided to forward it (RFC 9110 10.1.1) */
    if (r->h.expect_continue && !r->body_done && !r->continue_sent && rp_buf_len(&r->c->in) == 0) {
        rp_out_printf(r, "HTTP/1.1 100 Continue\r\n\r\n");
        r->continue_sent = 1;
    }
    connect_next(r);
}

/* ------------------------------------------------------------------ I/O */

static void up_io(rp_io_t *io, uint32_t ev)
{
    rp_upconn_t *u = io->data;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        u->readable = 1;
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        u->rdhup = 1;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        u->writable = 1;
    if (u->read_wants_write && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        u->read_wants_write = 0;
        u->readable = 1;
    }
    if (u->write_wants_read && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
        u->write_wants_read = 0;
        u->writable = 1;
    }
    if (u->req)
        rp_conn_run(u->req->c);
}

static void up_timeout(rp_timer_t *t)
{
    rp_upconn_t *u = t->data;
    rp_req_t *r = u->req;
    if (!r)
        return;
    r->upstream_timed_out = 1;
    if (r->phase == RP_PHASE_TUNNEL) {
        rp_conn_close(r->c);
        return;
    }
    rp_conn_t *c = r->c;
    rp__up_fail(r, 504, u->connected ? "upstream timed out" : "upstream connect timed out");
    rp_conn_run(c); /* flush the answer or try the next server */
}

/* Socket I/O of a backend connection through its transport (as for
 * client connections: > 0, 0 at EOF, -1 with errno, readiness updated). */
static ssize_t up_recv(rp_upconn_t *u, void *buf, size_t len)
{
    if (!u->tp)
        return read(u->io.fd, buf, len);
    ssize_t n = u->tp->recv(u->tpctx, buf, len);
    if (n >= 0)
        return n;
    if (n == RP_IO_WANT_WRITE) {
        u->read_wants_write = 1;
        u->writable = 0;
    }
    errno = n == RP_IO_ERROR ? EIO : EAGAIN;
    return -1;
}

static ssize_t up_send(rp_upconn_t *u, const void *buf, size_t len)
{
    if (!u->tp)
        return write(u->io.fd, buf, len);
    ssize_t n = u->tp->send(u->tpctx, buf, len);
    if (n > 0)
        return n;
    if (n == RP_IO_WANT_READ) {
        u->write_wants_read = 1;
        u->readable = 0;
    }
    errno = n == RP_IO_ERROR || n == 0 ? EIO : EAGAIN;
    return -1;
}

/* Writes the head then up->out to the backend. */
static int up_flush(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    while (u->out_head_written < r->uphead.len || rp_buf_len(&u->out)) {
        if (!u->writable)
            return RP_AGAIN;
        ssize_t n;
        if (u->out_head_written < r->uphead.len) {
            struct iovec iov[2] = { { (void *)(r->uphead.data + u->out_head_written),
                                      r->uphead.len - u->out_head_written },
                                    { u->out.data ? u->out.data + u->out.pos : NULL,
                                      rp_buf_len(&u->out) } };
            n = u->tp ? up_send(u, iov[0].iov_base, iov[0].iov_len)
                      : writev(u->io.fd, iov, iov[1].iov_len ? 2 : 1);
            if (n > 0) {
                size_t h = r->uphead.len - u->out_head_written;
                if ((size_t)n <= h) {
                    u->out_head_written += (size_t)n;
                } else {
                    u->out_head_written = r->uphead.len;
                    u->out.pos += (size_t)n - h;
                }
            }
        } else {
            n = up_send(u, u->out.data + u->out.pos, rp_buf_len(&u->out));
            if (n > 0)
                u->out.pos += (size_t)n;
        }
        if (n > 0) {
            u->sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            u->writable = 0;
            return RP_AGAIN;
        }
        return RP_ERROR;
    }
    if (u->out.data)
        u->out.pos = u->out.last = 0;
    return RP_OK;
}

/* Reads from the backend into up->in. 1 progress, 0 none, -1 handled. */
static int up_read(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    if (!u->readable || u->eof)
        return 0;
    /* big enough for the largest response head proxy_buffer_size allows */
    size_t incap = RP_BUF_BIG;
    if (r->lc->proxy_buffer_size > RP_BUF_BIG)
        incap = (size_t)r->lc->proxy_buffer_size;
    if (!u->in.data && rp_buf_alloc(r->c->w, &u->in, incap) != RP_OK)
        return -1;
    if (rp_buf_len(&u->in) == 0)
        u->in.pos = u->in.last = 0;
    if (rp_buf_room(&u->in) == 0)
        rp_buf_compact(&u->in);
    if (rp_buf_room(&u->in) == 0)
        return 0;
    for (;;) {
        size_t want = rp_buf_room(&u->in);
        ssize_t n = up_recv(u, u->in.data + u->in.last, want);
        if (n > 0) {
            u->in.last += (size_t)n;
            u->got_bytes = 1;
            if ((size_t)n < want && !u->rdhup && !u->tp)
                u->readable = 0; /* drained; the next data raises an edge */
            return 1;
        }
        if (n == 0) {
            u->eof = 1;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            u->readable = 0;
            return 0;
        }
        u->eof = 1;
        u->readable = 0;
        if (!u->got_bytes || r->resp_head_done) {
            rp__up_fail(r, 502, "recv() failed");
            return -1;
        }
        return 1;
    }
}

/* The backend has sent its whole response (it is in our buffers): it no
 * longer counts as busy with this request. Released before the last bytes
 * go to the client, so a client's next request never finds the place
 * (max_conns, least_conn) still taken by the one it just got. */
static void peer_done(rp_req_t *r)
{
    if (!r->peer_held || !r->resp_head_done)
        return;
    rp_upconn_t *u = r->up;
    if (r->resp_done ||
        (r->resp_kind == RP_BODY_LENGTH && u && u->in.data && rp_buf_len(&u->in) >= r->resp_left)) {
        rp_peer_release(r->peer);
        r->peer_held = 0;
    }
}

static void finish(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    if (r->peer && r->resp_done)
        rp_peer_time(r->peer, RP_LT_LAST_BYTE, rp_peer_clock_us() - r->up_start_us);
    int reuse = r->up_keepalive && r->resp.keep_alive && r->resp_kind != RP_BODY_CLOSE &&
                r->body_done && !r->body_pending && u && !u->eof && rp_buf_len(&u->in) == 0 &&
                u->out_head_written == r->uphead.len && rp_buf_len(&u->out) == 0;
    r->up_end_ms = r->c->w->loop.now;
    rp__up_detach(r, reuse);
    if (r->out_framing == RP_OUT_CHUNKED && !r->head_only && !r->zchain) {
        /* (with filters the pump wrote it after the last bytes) */
        if (rp__out_add(r, "0\r\n\r\n", 5) != RP_OK) {
            rp_conn_close(r->c);
            return;
        }
    }
    r->phase = RP_PHASE_HANDLE; /* the session flushes and finalizes */
}

/* Tunnel after 101: raw bytes both ways. */
static int tunnel(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    rp_upconn_t *u = r->up;
    int progress = 0;
    /* client -> backend */
    for (;;) {
        if (c->in.data && rp_buf_len(&c->in)) {
            if (!u->out.data && rp_buf_alloc(c->w, &u->out, RP_BUF_SIZE) != RP_OK)
                return -1;
            rp_buf_compact(&u->out);
            size_t n = RP_MIN(rp_buf_len(&c->in), rp_buf_room(&u->out));
            if (n == 0)
                break;
            memcpy(u->out.data + u->out.last, c->in.data + c->in.pos, n);
            u->out.last += n;
            c->in.pos += n;
            progress = 1;
            continue;
        }
        if (!c->readable || c->eof)
            break;
        int n = rp_conn_read(c);
        if (n == RP_AGAIN)
            break;
        if (n <= 0) {
            /* client finished sending: pass the half-close on */
            shutdown(u->io.fd, SHUT_WR);
            break;
        }
    }
    int rc = up_flush(r);
    if (rc == RP_ERROR)
        return -2;
    /* backend -> client */
    for (;;) {
        if (u->in.data && rp_buf_len(&u->in)) {
            if (!c->out.data && rp_buf_alloc(c->w, &c->out, RP_BUF_SIZE) != RP_OK)
                return -1;
            rp_buf_compact(&c->out);
            size_t n = RP_MIN(rp_buf_len(&u->in), rp_buf_room(&c->out));
            if (n == 0)
                break;
            memcpy(c->out.data + c->out.last, u->in.data + u->in.pos, n);
            c->out.last += n;
            u->in.pos += n;
            progress = 1;
            continue;
        }
        if (u->eof)
            break;
        int n = up_read(r);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
    }
    return progress;
}

void rp_proxy_run(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    for (int round = 0; c->req == r && !c->closed; round++) {
        if (round == 64) {
            /* fairness: let other connections run, then continue (edge-
             * triggered readiness is remembered in the flags) */
            rp_timer_set(&c->w->loop, &c->resume, 0);
            return;
        }
        rp_upconn_t *u = r->up;
        int progress = 0;
        if (r->phase == RP_PHASE_HANDLE)
            return; /* the session takes over (error answer or finishing) */
        if (r->phase == RP_PHASE_READ_BODY) {
            rp__body_read(r);
            if (c->req != r || c->closed || r->phase == RP_PHASE_READ_BODY)
                return;
            continue;
        }
        if (!u)
            return;
        if (!u->connected) {
            if (!u->writable && !u->readable)
                return;
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                rp_log_error(RP_LOG_ERR, "connect() to %s failed (%d: %s), client: %s",
                             r->peer->addr.text, err, strerror(err), c->peer_addr);
                rp__up_fail(r, 502, "connect() failed");
                continue;
            }
            if (!u->writable)
                return;
            u->connected = 1;
            r->up_connect_ms = c->w->loop.now;
        }
        if (!u->handshaked) {
            /* TLS to the backend; proxy_connect_timeout covers it too */
            int hrc = u->tp->handshake(u->tpctx);
            if (hrc == RP_IO_WANT_READ) {
                u->readable = 0;
                return;
            }
            if (hrc == RP_IO_WANT_WRITE) {
                u->writable = 0;
                u->read_wants_write = 1;
                return;
            }
            if (hrc != RP_OK) {
                const char *why = rp_tls_verify_error(u->tpctx);
                char msg[300];
                snprintf(msg, sizeof(msg), "SSL_do_handshake() failed (%s) in the TLS handshake",
                         why ? why : rp_tls_last_error());
                rp__up_fail(r, 502, msg);
                continue;
            }
            u->handshaked = 1;
            r->up_connect_ms = c->w->loop.now;
        }
        if (r->phase == RP_PHASE_TUNNEL) {
            int rc = tunnel(r);
            if (rc == -1)
                return;
            if (rc == -2 || rp_conn_flush(c) == RP_ERROR) {
                rp_conn_close(c);
                return;
            }
            if (u->eof && rp_buf_len(&u->in) == 0 && rp_buf_len(&c->out) == 0) {
                rp_conn_close(c); /* the backend ended the tunnel */
                return;
            }
            if (rc > 0)
                continue;
            rp_timer_set(&c->w->loop, &u->timer, (uint64_t)r->lc->proxy_read_timeout);
            return;
        }
        /* request body -> backend */
        if (r->body_pending) {
            int p = rp__body_pump_stored(r);
            if (p < 0) {
                rp__up_fail(r, 500, "reading the buffered body failed");
                continue;
            }
            progress |= p;
        }
        if (!r->body_done) {
            int p = rp__body_pump(r);
            if (p < 0)
                return;
            progress |= p;
        }
        uint64_t up_before = r->up->sent;
        int wrc = up_flush(r);
        if (r->up && wrc != RP_ERROR && r->up->sent != up_before)
            progress = 1;
        if (wrc == RP_ERROR) {
            if (!r->resp_head_done) {
                rp__up_fail(r, 502, "send() failed");
                continue;
            }
        }
        /* backend -> client */
        int rp = up_read(r);
        if (rp < 0)
            return;
        progress |= rp;
        if (!r->resp_head_done && u->in.data && rp_buf_len(&u->in)) {
            int rc = rp__resp_parse_head(r);
            if (rc == RP_ERROR)
                continue;
            if (rc == RP_OK) {
                progress = 1;
                int kind = status_kind(r->resp.status);
                if (kind & (RP_NEXT_500 | RP_NEXT_502 | RP_NEXT_503 | RP_NEXT_504 | RP_NEXT_429) &
                    r->lc->proxy_next_upstream)
                    rp_peer_failed(r->upstream, r->peer, c->w->loop.now);
                else
                    rp_peer_ok(r->peer, c->w->loop.now);
                rp_peer_time(r->peer, RP_LT_HEADER, rp_peer_clock_us() - r->up_start_us);
                if (kind && next_allowed(r, kind, 1) && rp_upstream_has_next(c->w, r)) {
                    /* proxy_next_upstream http_XXX: this answer is dropped
                     * and the next server asked; with none left, the
                     * client gets this one */
                    rp_log_error(RP_LOG_WARN,
                                 "upstream %s answered %d, trying the next server, client: %s, "
                                 "request: %" PRIu64,
                                 r->peer->addr.text, r->resp.status, c->peer_addr, r->id);
                    rp__up_detach(r, 0);
                    connect_next(r);
                    return;
                }
                if (r->lc->proxy_intercept_errors && r->resp.status >= 300) {
                    const rp_loc_conf_t *lc = r->lc;
                    for (size_t i = 0; i < lc->nerror_pages; i++)
                        for (size_t j = 0; j < lc->error_pages[i].ncodes; j++)
                            if (lc->error_pages[i].codes[j] == r->resp.status) {
                                int st = r->resp.status;
                                rp__up_detach(r, 0);
                                r->resp_head_done = 0;
                                r->phase = RP_PHASE_HANDLE;
                                rp_req_error(r, st);
                                return;
                            }
                }
                if (r->resp.status == 101) {
                    if (!r->h.upgrade) {
                        rp__up_fail(r, 502, "upstream sent unexpected 101");
                        continue;
                    }
                    if (rp__resp_send_head(r) != RP_OK) {
                        rp_conn_close(c);
                        return;
                    }
                    r->upgraded = 1;
                    r->keep_alive = 0;
                    rp_conn_nodelay(c, r->lc);
                    r->phase = RP_PHASE_TUNNEL;
                    rp_timer_cancel(&c->w->loop, &c->timer);
                    continue;
                }
                if (rp__resp_send_head(r) != RP_OK) {
                    rp_conn_close(c);
                    return;
                }
                if (r->resp_kind == RP_BODY_NONE ||
                    (r->resp_kind == RP_BODY_LENGTH && r->resp_left == 0))
                    r->resp_done = 1;
                else if (!r->up->in.data || rp_buf_len(&r->up->in) < r->resp_left ||
                         r->resp_kind != RP_BODY_LENGTH)
                    rp_conn_nodelay(c, r->lc); /* the body follows in more writes */
            }
        }
        peer_done(r);
        if (rp__resp_direct(r)) {
            if (rp__resp_direct_flush(r, &progress) == RP_ERROR) {
                rp_conn_close(c);
                return;
            }
            if (!r->resp_done && u->eof && rp_buf_len(&u->in) == 0 && r->resp_kind == RP_BODY_CLOSE)
                r->resp_done = 1;
            else if (!r->resp_done && u->eof && rp_buf_len(&u->in) == 0) {
                rp_log_error(RP_LOG_ERR,
                             "upstream prematurely closed connection while reading upstream, "
                             "client: %s, request: %" PRIu64,
                             c->peer_addr, r->id);
                rp__up_detach(r, 0);
                r->keep_alive = 0;
                rp_conn_close(c);
                return;
            }
        } else if (r->resp_head_done && (!r->resp_done || (r->zchain && !r->zfinished))) {
            int p = rp__resp_pump(r);
            if (p < 0)
                return;
            progress |= p;
            if (!r->resp_done && u->eof && rp_buf_len(&u->in) == 0) {
                if (r->resp_kind == RP_BODY_CLOSE) {
                    r->resp_done = 1;
                } else {
                    /* backend closed mid-body: closing is the only honest
                     * signal; never a short body that looks complete */
                    rp_log_error(RP_LOG_ERR,
                                 "upstream prematurely closed connection while reading upstream, "
                                 "client: %s, request: %" PRIu64,
                                 c->peer_addr, r->id);
                    rp__up_detach(r, 0);
                    r->keep_alive = 0;
                    rp_conn_flush(c);
                    rp_conn_close(c);
                    return;
                }
            }
        } else if (!r->resp_head_done && u->eof && rp_buf_len(&u->in) == 0) {
            rp__up_fail(r, 502, "upstream prematurely closed connection");
            continue;
        } else if (!r->resp_head_done && u->eof) {
            rp__up_fail(r, 502, "upstream sent incomplete header");
            continue;
        }
        peer_done(r);
        if (r->resp_done && !(r->zchain && !r->zfinished)) {
            /* the whole answer is in c->out (with the filters' last bytes):
             * the session writes it, the last chunk included, in one go */
            if (!r->body_done)
                r->keep_alive = 0; /* answered before the whole body came */
            finish(r);
            return;
        }
        size_t before = rp_buf_len(&c->out);
        int frc = rp_conn_flush(c);
        if (frc == RP_ERROR) {
            rp_conn_close(c);
            return;
        }
        if (rp_buf_len(&c->out) < before)
            progress = 1;
        if (!progress) {
            /* timers */
            rp_upconn_t *uu = r->up;
            if (!uu)
                return;
            if (!uu->connected)
                ; /* connect timer stays */
            else if (r->resp_done)
                rp_timer_cancel(&c->w->loop, &uu->timer); /* the backend is done */
            else if (uu->out_head_written < r->uphead.len || rp_buf_len(&uu->out))
                rp_timer_set(&c->w->loop, &uu->timer, (uint64_t)r->lc->proxy_send_timeout);
            else if (uu->in.data && rp_buf_room(&uu->in) == 0 && uu->in.pos == 0)
                /* waiting for the client to take what we hold, not for the
                 * backend: send_timeout on the client side applies */
                rp_timer_cancel(&c->w->loop, &uu->timer);
            else if (!r->resp_head_done) {
                /* the whole response head must come within one
                 * proxy_read_timeout of the request being sent: a backend
                 * dripping it byte by byte does not keep the timer alive */
                if (!r->head_timer_armed) {
                    rp_timer_set(&c->w->loop, &uu->timer, (uint64_t)r->lc->proxy_read_timeout);
                    r->head_timer_armed = 1;
                }
            } else
                rp_timer_set(&c->w->loop, &uu->timer, (uint64_t)r->lc->proxy_read_timeout);
            if (rp_buf_len(&c->out) ||
                (!c->writable && rp__resp_direct(r) && uu->in.data && rp_buf_len(&uu->in)))
                rp_conn_set_timer(c, r->lc->send_timeout);
            else if (!r->body_done)
                rp_conn_set_timer(c, r->lc->client_body_timeout);
            else
                rp_timer_cancel(&c->w->loop, &c->timer);
            return;
        }
    }
}
