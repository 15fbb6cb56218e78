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

/* Values of every Connection field of a message (usually none or one). */
typedef struct {
    rp_str_t v[8];
    size_t n;
} conn_tokens_t;

static void collect_connection(const rp_http_field_t *f, size_t n, conn_tokens_t *ct)
{
    ct->n = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].name.len == 10 && rp_str_caseeq_lit(f[i].name, "connection") &&
            ct->n < RP_ARRAY_LEN(ct->v))
            ct->v[ct->n++] = f[i].value;
}

static int named_in_connection(const conn_tokens_t *ct, rp_str_t name)
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
static int drop_request_field(const conn_tokens_t *ct, rp_str_t name)
{
    if (rp_http_is_hop_by_hop(name))
        return 1;
    if (name.len == 14 && rp_str_caseeq_lit(name, "content-length"))
        return 1;
    if (name.len == 6 && rp_str_caseeq_lit(name, "expect"))
        return 1;
    return ct->n && named_in_connection(ct, name);
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
            conn_set = 1;
            if (v.len && !rp_str_list_has_token(v, RP_STR("keep-alive")))
                r->up_keepalive = 0;
        }
        if (v.len == 0)
            continue;
        /* a value must not smuggle a line break into the head */
        if (memchr(v.data, '\r', v.len) || memchr(v.data, '\n', v.len))
            return 500;
        sb_str(&b, sh->name);
        sb_cstr(&b, ": ");
        sb_str(&b, v);
        sb_cstr(&b, "\r\n");
    }
    conn_tokens_t ct;
    collect_connection(r->h.fields, r->h.nfields, &ct);
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

static void up_detach(rp_req_t *r, int reuse)
{
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
    up_detach(r, 0);
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

/* The backend failed before an answer reached the client. */
static void up_fail(rp_req_t *r, int status, const char *why)
{
    rp_upconn_t *u = r->up;
    int sent = u && u->sent > 0;
    int retry_free = u && u->reused && !u->got_bytes && rp_http_method_idempotent(r->h.method_id) &&
                     (!r->body_started || r->body_buffered);
    rp_log_error(RP_LOG_ERR, "%s while %s upstream %s, client: %s, request: %" PRIu64, why,
                 r->resp_head_done ? "reading response body from" : "talking to",
                 r->peer ? r->peer->addr.text : "-", r->c->peer_addr, r->id);
    up_detach(r, 0);
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
    /* next server (nginx's default proxy_next_upstream error timeout): when
     * nothing of the request was sent, or it is idempotent and its body can
     * be replayed */
    if ((status == 504 || status == 502) && r->tries < (int)r->upstream->nservers &&
        (!sent ||
         (rp_http_method_idempotent(r->h.method_id) && (!r->body_started || r->body_buffered)))) {
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
    for (;;) {
        rp_upstream_server_t *s = rp_upstream_pick(w, r);
        if (!s) {
            r->phase = RP_PHASE_HANDLE;
            rp_req_error(r, r->upstream_timed_out ? 504 : 502);
            return;
        }
        size_t idx = (size_t)(s - r->upstream->servers);
        r->tried[idx / 8] |= (unsigned char)(1u << (idx % 8));
        r->tries++;
        r->peer = s;
        add_upstream_addr(r, s->addr.text);
        r->up_start_ms = w->loop.now;
        rp_upconn_t *u = rp_pool_get(w, &s->addr);
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
            rp_timer_init(&u->timer, up_timeout, u);
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
        if (u->reused) {
            /* an idle pooled connection has nothing to read (data or EOF
             * would have closed it) and room to write */
            u->readable = 0;
            u->writable = 1;
        }
        rp_proxy_run(r);
        return;
    }
}

/* Keeps body bytes: the first client_body_buffer_size in memory, the rest
 * in an unlinked temporary file, so a large upload never lands in memory. */
static int body_store(rp_req_t *r, const char *p, size_t n)
{
    if (!n)
        return RP_OK;
    if (!r->body_mem.data && r->lc->client_body_buffer_size > 0) {
        size_t cap = (size_t)r->lc->client_body_buffer_size;
        /* no more memory than the body needs when its size is known */
        if (r->h.body_kind == RP_BODY_LENGTH && r->h.content_length < cap)
            cap = (size_t)r->h.content_length;
        r->body_mem.data = malloc(cap ? cap : 1);
        if (!r->body_mem.data)
            return RP_ERROR;
        r->body_mem.cap = cap;
    }
    size_t m = RP_MIN(n, r->body_mem.cap - r->body_mem.last);
    if (m && r->body_fd <= 0) {
        memcpy(r->body_mem.data + r->body_mem.last, p, m);
        r->body_mem.last += m;
        p += m;
        n -= m;
    }
    if (!n)
        return RP_OK;
    if (r->body_fd <= 0) {
        const char *dir = r->lc->client_body_temp_path;
        if (!dir)
            dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        r->body_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (r->body_fd < 0) {
            rp_log_error(RP_LOG_CRIT, "open() temporary file in \"%s\" failed (%d: %s)", dir, errno,
                         strerror(errno));
            r->body_fd = 0;
            return RP_ERROR;
        }
    }
    while (n) {
        ssize_t w = write(r->body_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rp_log_error(RP_LOG_CRIT, "write() to temporary file failed (%d: %s)", errno,
                         strerror(errno));
            return RP_ERROR;
        }
        p += w;
        n -= (size_t)w;
        r->body_file_len += (uint64_t)w;
    }
    return RP_OK;
}

static void body_reject(rp_req_t *r, int status)
{
    r->keep_alive = 0;
    r->body_done = 0;
    r->phase = RP_PHASE_HANDLE;
    r->c->in.pos = r->c->in.last = 0;
    rp_req_error(r, status);
}

static void connect_first(rp_req_t *r);

/* Reads more body bytes into c->in. RP_OK when some arrived; otherwise the
 * body timer is armed (RP_AGAIN) or the connection is gone (RP_ERROR). */
static int read_more_body(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    int n = c->readable ? rp_conn_read(c) : RP_AGAIN;
    if (n == RP_AGAIN) {
        rp_conn_set_timer(c, r->lc->client_body_timeout);
        return RP_AGAIN;
    }
    if (n <= 0) {
        rp_conn_close(c); /* the client left mid-body */
        return RP_ERROR;
    }
    return RP_OK;
}

/* Reads the whole request body (validating its framing) before any backend
 * is chosen: a malformed or oversized body is answered with 4xx and not a
 * byte of the request reaches a backend. */
static void read_body(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    const rp_loc_conf_t *lc = r->lc;
    while (!r->body_done) {
        if (!c->in.data || rp_buf_len(&c->in) == 0) {
            if (read_more_body(r) != RP_OK)
                return;
            continue;
        }
        char *src = c->in.data + c->in.pos;
        size_t avail = rp_buf_len(&c->in);
        if (r->body_kind == RP_BODY_LENGTH) {
            size_t n = (size_t)RP_MIN((uint64_t)avail, r->body_left);
            if (body_store(r, src, n) != RP_OK) {
                body_reject(r, 500);
                return;
            }
            c->in.pos += n;
            r->body_left -= n;
            r->body_received += n;
            if (r->body_left == 0)
                r->body_done = 1;
            continue;
        }
        size_t consumed = 0, out_len = 0;
        int rc = rp_h1_chunked_decode(&r->chunked, src, avail, &consumed, &out_len);
        if (rc == RP_ERROR) {
            rp_log_error(RP_LOG_INFO, "client %s sent invalid chunked body", c->peer_addr);
            body_reject(r, 400);
            return;
        }
        r->body_received += out_len;
        if (lc->client_max_body_size && r->body_received > (uint64_t)lc->client_max_body_size) {
            body_reject(r, 413);
            return;
        }
        if (body_store(r, src, out_len) != RP_OK) {
            body_reject(r, 500);
            return;
        }
        c->in.pos += consumed;
        if (rc == RP_OK) {
            r->body_done = 1;
        } else if (consumed == 0) {
            rp_buf_compact(&c->in);
            if (rp_buf_room(&c->in) == 0) {
                body_reject(r, 400);
                return;
            }
            if (read_more_body(r) != RP_OK)
                return;
        }
    }
    rp_timer_cancel(&c->w->loop, &c->timer);
    /* the backend gets the body with a Content-Length: its size is known */
    r->body_kind = RP_BODY_LENGTH;
    r->h.content_length = r->body_received;
    r->body_buffered = 1;
    r->body_pending = r->body_received > 0;
    r->phase = RP_PHASE_UPSTREAM;
    connect_first(r);
}

/* Copies the stored body into up->out as room allows. */
static int pump_stored(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    int progress = 0;
    while (r->body_pending) {
        if (!u->out.data && rp_buf_alloc(r->c->w, &u->out, RP_BUF_SIZE) != RP_OK)
            return -1;
        rp_buf_compact(&u->out);
        size_t room = rp_buf_room(&u->out);
        if (room == 0)
            return progress;
        uint64_t off = r->body_send_off;
        size_t n;
        if (off < r->body_mem.last) {
            n = RP_MIN(room, (size_t)(r->body_mem.last - off));
            memcpy(u->out.data + u->out.last, r->body_mem.data + off, n);
        } else {
            ssize_t got = pread(r->body_fd, u->out.data + u->out.last,
                                RP_MIN(room, (size_t)(r->body_received - off)),
                                (off_t)(off - r->body_mem.last));
            if (got <= 0) {
                rp_log_error(RP_LOG_CRIT, "pread() of temporary file failed");
                return -1;
            }
            n = (size_t)got;
        }
        u->out.last += n;
        r->body_send_off += n;
        if (r->body_send_off >= r->body_received)
            r->body_pending = 0;
        progress = 1;
    }
    return progress;
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
        read_body(r);
        return;
    }
    connect_first(r);
}

static void connect_first(rp_req_t *r)
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
    up_fail(r, 504, u->connected ? "upstream timed out" : "upstream connect timed out");
    rp_conn_run(c); /* flush the answer or try the next server */
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
            n = writev(u->io.fd, iov, iov[1].iov_len ? 2 : 1);
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
            n = write(u->io.fd, u->out.data + u->out.pos, rp_buf_len(&u->out));
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

/* Moves request body bytes from c->in to up->out (decoding chunked and
 * re-framing it). Returns 1 on progress, 0 if none, -1 on a client error
 * answered already. */
static int pump_body(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    rp_upconn_t *u = r->up;
    int progress = 0;
    while (!r->body_done) {
        if (!u->out.data && rp_buf_alloc(c->w, &u->out, RP_BUF_SIZE) != RP_OK)
            return -1;
        rp_buf_compact(&u->out);
        size_t room = rp_buf_room(&u->out);
        if (room < 64)
            return progress;
        if (!c->in.data || rp_buf_len(&c->in) == 0) {
            if (!c->readable)
                return progress;
            int n = rp_conn_read(c);
            if (n == RP_AGAIN)
                return progress;
            if (n <= 0) {
                /* client went away mid-body: nothing complete to forward */
                rp_conn_close(c);
                return -1;
            }
            continue;
        }
        char *src = c->in.data + c->in.pos;
        size_t avail = rp_buf_len(&c->in);
        if (r->body_kind == RP_BODY_LENGTH) {
            size_t n =
                RP_MIN(RP_MIN(avail, room), (size_t)RP_MIN(r->body_left, (uint64_t)SIZE_MAX));
            memcpy(u->out.data + u->out.last, src, n);
            u->out.last += n;
            c->in.pos += n;
            r->body_left -= n;
            r->body_received += n;
            if (r->body_left == 0)
                r->body_done = 1;
        } else {
            size_t slice = RP_MIN(avail, room - 32);
            size_t consumed = 0, out_len = 0;
            int rc = rp_h1_chunked_decode(&r->chunked, src, slice, &consumed, &out_len);
            if (rc == RP_ERROR) {
                rp_log_error(RP_LOG_INFO, "client %s sent invalid chunked body", c->peer_addr);
                r->keep_alive = 0;
                r->body_done = 0;
                up_detach(r, 0);
                r->phase = RP_PHASE_HANDLE;
                if (r->body_started) {
                    rp_conn_close(c);
                    return -1;
                }
                c->in.pos = c->in.last = 0;
                rp_req_error(r, 400);
                return -1;
            }
            if (out_len) {
                char hdr[24];
                size_t hn = rp_u64_fmt(hdr, out_len, 1);
                hdr[hn++] = '\r';
                hdr[hn++] = '\n';
                memcpy(u->out.data + u->out.last, hdr, (size_t)hn);
                memcpy(u->out.data + u->out.last + hn, src, out_len);
                memcpy(u->out.data + u->out.last + hn + out_len, "\r\n", 2);
                u->out.last += (size_t)hn + out_len + 2;
                r->body_received += out_len;
            }
            c->in.pos += consumed;
            const rp_loc_conf_t *lc = r->lc;
            if (lc->client_max_body_size && r->body_received > (uint64_t)lc->client_max_body_size) {
                r->keep_alive = 0;
                up_detach(r, 0);
                r->phase = RP_PHASE_HANDLE;
                if (r->body_started) {
                    rp_conn_close(c);
                    return -1;
                }
                c->in.pos = c->in.last = 0;
                rp_req_error(r, 413);
                return -1;
            }
            if (rc == RP_OK) {
                memcpy(u->out.data + u->out.last, "0\r\n\r\n", 5);
                u->out.last += 5;
                r->body_done = 1;
            } else if (consumed == 0 && slice == avail && avail > 0) {
                /* need more bytes for a framing line */
                if (c->in.pos > 0)
                    rp_buf_compact(&c->in);
                if (rp_buf_room(&c->in) == 0)
                    return progress; /* cannot happen: lines are bounded */
                if (!c->readable)
                    return progress;
                int n = rp_conn_read(c);
                if (n == RP_AGAIN)
                    return progress;
                if (n <= 0) {
                    rp_conn_close(c);
                    return -1;
                }
                continue;
            }
        }
        r->body_started = 1;
        progress = 1;
    }
    return progress;
}

/* Appends to c->out, growing it up to `max`. */
static int out_add(rp_req_t *r, const char *p, size_t n)
{
    return rp_buf_append(r->c->w, &r->c->out, p, n, 1 << 20);
}

static int in_list(const rp_str_t *list, size_t n, rp_str_t name)
{
    for (size_t i = 0; i < n; i++)
        if (rp_str_caseeq(list[i], name))
            return 1;
    return 0;
}

static int is_lit(rp_str_t s, const char *lit, size_t len)
{
    return s.len == len && rp_str_caseeq(s, rp_str(lit, len));
}
#define IS(s, lit) is_lit((s), (lit), sizeof(lit) - 1)

static int out_lit(rp_req_t *r, const char *s, size_t n)
{
    return out_add(r, s, n);
}
#define OUT(r, lit) out_lit((r), (lit), sizeof(lit) - 1)

/* Writes the response head for the client: the backend's fields minus the
 * hop-by-hop ones, those named in Connection, those hidden by default
 * (Date, Server, X-Pad, X-Accel-*: rampart sends its own) or by
 * proxy_hide_header; framing re-made for the client. */
static int send_resp_head(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    const rp_h1_response_t *rs = &r->resp;
    const rp_loc_conf_t *lc = r->lc;
    int status = rs->status;
    rp_worker_update_time(c->w);
    if (r->status > 0 && r->error_page_done)
        status = r->status; /* error_page without "=": keep the original code */
    r->status = status;

    int pass_server = lc->nproxy_pass_headers &&
                      in_list(lc->proxy_pass_headers, lc->nproxy_pass_headers, RP_STR("server"));
    int pass_date = lc->nproxy_pass_headers &&
                    in_list(lc->proxy_pass_headers, lc->nproxy_pass_headers, RP_STR("date"));
    int has_server = 0, has_date = 0;
    rp_str_t upgrade = RP_NULL_STR, clen = RP_NULL_STR;
    conn_tokens_t ct;
    collect_connection(rs->fields, rs->nfields, &ct);

    char num[24];
    const char *reason = rp_http_reason(status);
    if (OUT(r, "HTTP/1.1 ") != RP_OK ||
        out_add(r, num, rp_u64_fmt(num, (uint64_t)status, 0)) != RP_OK || OUT(r, " ") != RP_OK)
        return RP_ERROR;
    if (strcmp(reason, "Unknown") == 0 && rs->reason.len) {
        if (out_add(r, rs->reason.data, RP_MIN(rs->reason.len, 64)) != RP_OK)
            return RP_ERROR;
    } else if (out_add(r, reason, strlen(reason)) != RP_OK) {
        return RP_ERROR;
    }
    if (OUT(r, "\r\n") != RP_OK)
        return RP_ERROR;

    /* the backend's fields */
    size_t head_at = rp_buf_len(&c->out);
    for (size_t i = 0; i < rs->nfields; i++) {
        const rp_http_field_t *f = &rs->fields[i];
        rp_str_t name = f->name;
        if (rp_http_is_hop_by_hop(name)) {
            if (IS(name, "upgrade"))
                upgrade = f->value;
            continue;
        }
        if (IS(name, "content-length")) {
            clen = f->value;
            continue;
        }
        if (ct.n && named_in_connection(&ct, name))
            continue;
        if (IS(name, "server")) {
            if (!pass_server)
                continue;
            has_server = 1;
        } else if (IS(name, "date")) {
            if (!pass_date)
                continue;
            has_date = 1;
        } else if (IS(name, "x-pad") ||
                   (name.len > 8 && rp_str_caseeq_lit(rp_str(name.data, 8), "x-accel-"))) {
            if (!in_list(lc->proxy_pass_headers, lc->nproxy_pass_headers, name))
                continue;
        }
        if (lc->nproxy_hide_headers &&
            in_list(lc->proxy_hide_headers, lc->nproxy_hide_headers, name))
            continue;
        rp_str_t value = f->value;
        if (lc->nproxy_redirects && IS(name, "location"))
            rp_proxy_redirect(lc, r->loc, value, rp_req_var, r, &r->arena, &value);
        else if (lc->nproxy_redirects && IS(name, "refresh"))
            rp_proxy_redirect_refresh(lc, r->loc, value, rp_req_var, r, &r->arena, &value);
        if (out_add(r, name.data, name.len) != RP_OK || OUT(r, ": ") != RP_OK ||
            out_add(r, value.data, value.len) != RP_OK || OUT(r, "\r\n") != RP_OK)
            return RP_ERROR;
    }
    (void)head_at;
    if (!has_server) {
        if ((lc->server_tokens ? OUT(r, "Server: rampart/0.1.0\r\n")
                               : OUT(r, "Server: rampart\r\n")) != RP_OK)
            return RP_ERROR;
    }
    if (!has_date) {
        if (OUT(r, "Date: ") != RP_OK ||
            out_add(r, c->w->http_date, strlen(c->w->http_date)) != RP_OK ||
            OUT(r, "\r\n") != RP_OK)
            return RP_ERROR;
    }

    /* framing for the client */
    int client11 = r->h.version_minor >= 1;
    if (status == 101) {
        if (OUT(r, "Upgrade: ") != RP_OK || out_add(r, upgrade.data, upgrade.len) != RP_OK ||
            OUT(r, "\r\nConnection: upgrade\r\n") != RP_OK)
            return RP_ERROR;
        r->out_framing = RP_OUT_NONE;
    } else {
        if (rs->body_kind == RP_BODY_NONE || r->head_only) {
            r->out_framing = RP_OUT_NONE;
            if (clen.len && status != 204 && status >= 200)
                if (OUT(r, "Content-Length: ") != RP_OK ||
                    out_add(r, clen.data, clen.len) != RP_OK || OUT(r, "\r\n") != RP_OK)
                    return RP_ERROR;
        } else if (rs->body_kind == RP_BODY_LENGTH) {
            r->out_framing = RP_OUT_LENGTH;
            r->out_left = rs->content_length;
            if (OUT(r, "Content-Length: ") != RP_OK ||
                out_add(r, num, rp_u64_fmt(num, rs->content_length, 0)) != RP_OK ||
                OUT(r, "\r\n") != RP_OK)
                return RP_ERROR;
        } else if (client11) {
            r->out_framing = RP_OUT_CHUNKED;
            if (OUT(r, "Transfer-Encoding: chunked\r\n") != RP_OK)
                return RP_ERROR;
        } else {
            r->out_framing = RP_OUT_CLOSE;
            r->keep_alive = 0;
        }
        if ((r->keep_alive ? OUT(r, "Connection: keep-alive\r\n")
                           : OUT(r, "Connection: close\r\n")) != RP_OK)
            return RP_ERROR;
    }
    if ((lc->nadd_headers && rp_req_add_headers(r, status) != RP_OK) || OUT(r, "\r\n") != RP_OK)
        return RP_ERROR;
    r->head_bytes = rp_buf_len(&c->out);
    return RP_OK;
}

/* Parses the response head in up->in. RP_OK when done, RP_AGAIN, RP_ERROR
 * (answered). */
static int parse_resp_head(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    static __thread rp_http_field_t fields[256];
    for (;;) {
        rp_h1_parser_t p;
        rp_h1_limits_t lim = { .max_line = 8192,
                               .max_field = (size_t)RP_MAX(r->lc->proxy_buffer_size, 4096),
                               .max_head = (size_t)RP_MAX(r->lc->proxy_buffer_size, 4096),
                               .max_fields = 256 };
        rp_h1_parser_init(&p, &lim);
        rp_h1_response_t rs = { 0 };
        rs.fields = fields;
        int rc = rp_h1_parse_response(&p, u->in.data + u->in.pos, rp_buf_len(&u->in),
                                      r->h.method_id, &rs);
        if (rc == RP_AGAIN) {
            if (rp_buf_len(&u->in) >= lim.max_head) {
                up_fail(r, 502, "upstream sent too big header");
                return RP_ERROR;
            }
            return RP_AGAIN;
        }
        if (rc == RP_ERROR) {
            char why[128];
            snprintf(why, sizeof(why), "upstream sent invalid header (%s)",
                     rs.error ? rs.error : "bad response");
            up_fail(r, 502, why);
            return RP_ERROR;
        }
        if (rs.status >= 100 && rs.status < 200 && rs.status != 101) {
            /* interim responses are consumed here; the final one follows */
            u->in.pos += rs.head_len;
            continue;
        }
        /* keep a private copy: up->in is reused for the body */
        char *copy = rp_arena_alloc(&r->arena, rs.head_len + 1);
        rp_http_field_t *fc = rp_arena_alloc(&r->arena, (rs.nfields + 1) * sizeof(*fc));
        if (!copy || !fc) {
            up_fail(r, 502, "out of memory");
            return RP_ERROR;
        }
        const char *base = u->in.data + u->in.pos;
        memcpy(copy, base, rs.head_len);
        for (size_t i = 0; i < rs.nfields; i++) {
            fc[i].name = rp_str(copy + (rs.fields[i].name.data - base), rs.fields[i].name.len);
            fc[i].value = rp_str(copy + (rs.fields[i].value.data - base), rs.fields[i].value.len);
        }
        rs.fields = fc;
        if (rs.reason.data)
            rs.reason = rp_str(copy + (rs.reason.data - base), rs.reason.len);
        if (rs.connection.data)
            rs.connection = rp_str(copy + (rs.connection.data - base), rs.connection.len);
        r->resp = rs;
        r->resp_head = copy;
        u->in.pos += rs.head_len;
        r->resp_head_done = 1;
        r->upstream_status = rs.status;
        r->up_header_ms = r->c->w->loop.now;
        r->resp_kind = rs.body_kind;
        r->resp_left = rs.content_length;
        if (rs.body_kind == RP_BODY_CHUNKED)
            rp_h1_chunked_init(&r->resp_chunked);
        return RP_OK;
    }
}

/* Moves response body bytes from up->in to c->out. Returns 1 on progress. */
static int pump_resp(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    rp_upconn_t *u = r->up;
    int progress = 0;
    size_t max_out =
        (size_t)(r->lc->proxy_buffering ? r->lc->proxy_buffers_num * r->lc->proxy_buffers_size +
                                              r->lc->proxy_buffer_size
                                        : r->lc->proxy_buffer_size);
    if (max_out < RP_BUF_SIZE)
        max_out = RP_BUF_SIZE;
    while (!r->resp_done && u->in.data && rp_buf_len(&u->in)) {
        if (!c->out.data && rp_buf_alloc(c->w, &c->out, RP_BUF_SIZE) != RP_OK)
            return -1;
        rp_buf_compact(&c->out);
        size_t room = c->out.cap - c->out.last;
        if (room < 64) {
            if (c->out.cap >= max_out)
                return progress;
            if (rp_buf_append(c->w, &c->out, "", 0, max_out) != RP_OK)
                return progress;
            size_t ncap = RP_MIN(c->out.cap * 2, max_out);
            char *d = malloc(ncap);
            if (!d)
                return progress;
            size_t len = rp_buf_len(&c->out);
            memcpy(d, c->out.data + c->out.pos, len);
            rp_buf_release(c->w, &c->out);
            c->out.data = d;
            c->out.cap = ncap;
            c->out.pos = 0;
            c->out.last = len;
            continue;
        }
        char *src = u->in.data + u->in.pos;
        size_t avail = rp_buf_len(&u->in);
        int ok_body = !r->head_only && r->out_framing != RP_OUT_NONE;
        if (r->resp_kind == RP_BODY_CHUNKED) {
            size_t slice = RP_MIN(avail, room - 32);
            size_t consumed = 0, out_len = 0;
            int rc = rp_h1_chunked_decode(&r->resp_chunked, src, slice, &consumed, &out_len);
            if (rc == RP_ERROR) {
                up_fail(r, 502, "upstream sent invalid chunked response");
                return -1;
            }
            if (out_len && ok_body)
                goto emit_decoded;
            goto after_emit;
        emit_decoded:
            if (r->out_framing == RP_OUT_CHUNKED) {
                char hdr[24];
                size_t hn = rp_u64_fmt(hdr, out_len, 1);
                hdr[hn++] = '\r';
                hdr[hn++] = '\n';
                memcpy(c->out.data + c->out.last, hdr, (size_t)hn);
                c->out.last += (size_t)hn;
                memcpy(c->out.data + c->out.last, src, out_len);
                c->out.last += out_len;
                memcpy(c->out.data + c->out.last, "\r\n", 2);
                c->out.last += 2;
            } else {
                memcpy(c->out.data + c->out.last, src, out_len);
                c->out.last += out_len;
            }
            r->body_sent += out_len;
        after_emit:
            u->in.pos += consumed;
            if (rc == RP_OK) {
                r->resp_done = 1;
                if (rp_buf_len(&u->in))
                    r->up_keepalive = 0; /* extra bytes after the body */
            } else if (consumed == 0) {
                if (u->in.pos > 0) {
                    rp_buf_compact(&u->in);
                    progress = 1;
                }
                return progress; /* need more input */
            }
        } else {
            size_t n = RP_MIN(avail, room);
            if (r->resp_kind == RP_BODY_LENGTH) {
                if ((uint64_t)n > r->resp_left)
                    n = (size_t)r->resp_left;
                r->resp_left -= n;
            }
            if (ok_body) {
                if (r->out_framing == RP_OUT_CHUNKED) {
                    size_t m = RP_MIN(n, room - 32);
                    if (r->resp_kind == RP_BODY_LENGTH)
                        r->resp_left += n - m;
                    n = m;
                    char hdr[24];
                    size_t hn = rp_u64_fmt(hdr, n, 1);
                    hdr[hn++] = '\r';
                    hdr[hn++] = '\n';
                    memcpy(c->out.data + c->out.last, hdr, (size_t)hn);
                    c->out.last += (size_t)hn;
                    memcpy(c->out.data + c->out.last, src, n);
                    c->out.last += n;
                    memcpy(c->out.data + c->out.last, "\r\n", 2);
                    c->out.last += 2;
                } else {
                    memcpy(c->out.data + c->out.last, src, n);
                    c->out.last += n;
                }
                r->body_sent += n;
            }
            u->in.pos += n;
            if (r->resp_kind == RP_BODY_LENGTH && r->resp_left == 0) {
                r->resp_done = 1;
                if (rp_buf_len(&u->in))
                    r->up_keepalive = 0;
            }
        }
        progress = 1;
    }
    return progress;
}

/* Bodies that pass unchanged (Content-Length, or close-delimited to an
 * HTTP/1.0 client) go from the backend's buffer straight to the client with
 * one writev together with any queued head bytes: no copy. */
static int direct_body(const rp_req_t *r)
{
    return r->resp_head_done && !r->resp_done && !r->head_only &&
           (r->out_framing == RP_OUT_LENGTH || r->out_framing == RP_OUT_CLOSE) &&
           r->resp_kind != RP_BODY_CHUNKED;
}

static int direct_flush(rp_req_t *r, int *progress)
{
    rp_conn_t *c = r->c;
    rp_upconn_t *u = r->up;
    for (;;) {
        size_t hl = c->out.data ? rp_buf_len(&c->out) : 0;
        size_t bl = u->in.data ? rp_buf_len(&u->in) : 0;
        if (r->resp_kind == RP_BODY_LENGTH && bl > r->resp_left)
            bl = (size_t)r->resp_left;
        if (!hl && !bl)
            return RP_OK;
        if (!c->writable)
            return RP_AGAIN;
        struct iovec iov[2];
        int n = 0;
        if (hl) {
            iov[n].iov_base = c->out.data + c->out.pos;
            iov[n++].iov_len = hl;
        }
        if (bl) {
            iov[n].iov_base = u->in.data + u->in.pos;
            iov[n++].iov_len = bl;
        }
        ssize_t w = writev(c->io.fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                c->writable = 0;
                return RP_AGAIN;
            }
            c->error = 1;
            return RP_ERROR;
        }
        if ((size_t)w < hl + bl)
            c->writable = 0;
        size_t fh = RP_MIN((size_t)w, hl);
        size_t fb = (size_t)w - fh;
        c->out.pos += fh;
        if (c->out.data && rp_buf_len(&c->out) == 0)
            c->out.pos = c->out.last = 0;
        u->in.pos += fb;
        r->bytes_sent += (uint64_t)w;
        r->body_sent += fb;
        if (r->resp_kind == RP_BODY_LENGTH) {
            r->resp_left -= fb;
            if (r->resp_left == 0) {
                r->resp_done = 1;
                if (rp_buf_len(&u->in))
                    r->up_keepalive = 0; /* extra bytes after the body */
            }
        }
        *progress = 1;
    }
}

/* Reads from the backend into up->in. 1 progress, 0 none, -1 handled. */
static int up_read(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    if (!u->readable || u->eof)
        return 0;
    if (!u->in.data && rp_buf_alloc(r->c->w, &u->in, RP_BUF_BIG) != RP_OK)
        return -1;
    if (rp_buf_len(&u->in) == 0)
        u->in.pos = u->in.last = 0;
    if (rp_buf_room(&u->in) == 0)
        rp_buf_compact(&u->in);
    if (rp_buf_room(&u->in) == 0)
        return 0;
    for (;;) {
        size_t want = rp_buf_room(&u->in);
        ssize_t n = read(u->io.fd, u->in.data + u->in.last, want);
        if (n > 0) {
            u->in.last += (size_t)n;
            u->got_bytes = 1;
            if ((size_t)n < want && !u->rdhup)
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
            up_fail(r, 502, "recv() failed");
            return -1;
        }
        return 1;
    }
}

static void finish(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    int reuse = r->up_keepalive && r->resp.keep_alive && r->resp_kind != RP_BODY_CLOSE &&
                r->body_done && !r->body_pending && u && !u->eof && rp_buf_len(&u->in) == 0 &&
                u->out_head_written == r->uphead.len && rp_buf_len(&u->out) == 0;
    r->up_end_ms = r->c->w->loop.now;
    up_detach(r, reuse);
    if (r->out_framing == RP_OUT_CHUNKED && !r->head_only) {
        if (out_add(r, "0\r\n\r\n", 5) != RP_OK) {
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
            read_body(r);
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
                up_fail(r, 502, "connect() failed");
                continue;
            }
            if (!u->writable)
                return;
            u->connected = 1;
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
            int p = pump_stored(r);
            if (p < 0) {
                up_fail(r, 500, "reading the buffered body failed");
                continue;
            }
            progress |= p;
        }
        if (!r->body_done) {
            int p = pump_body(r);
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
                up_fail(r, 502, "send() failed");
                continue;
            }
        }
        /* backend -> client */
        int rp = up_read(r);
        if (rp < 0)
            return;
        progress |= rp;
        if (!r->resp_head_done && u->in.data && rp_buf_len(&u->in)) {
            int rc = parse_resp_head(r);
            if (rc == RP_ERROR)
                continue;
            if (rc == RP_OK) {
                progress = 1;
                if (r->lc->proxy_intercept_errors && r->resp.status >= 300) {
                    const rp_loc_conf_t *lc = r->lc;
                    for (size_t i = 0; i < lc->nerror_pages; i++)
                        for (size_t j = 0; j < lc->error_pages[i].ncodes; j++)
                            if (lc->error_pages[i].codes[j] == r->resp.status) {
                                int st = r->resp.status;
                                up_detach(r, 0);
                                r->resp_head_done = 0;
                                r->phase = RP_PHASE_HANDLE;
                                rp_req_error(r, st);
                                return;
                            }
                }
                if (r->resp.status == 101) {
                    if (!r->h.upgrade) {
                        up_fail(r, 502, "upstream sent unexpected 101");
                        continue;
                    }
                    if (send_resp_head(r) != RP_OK) {
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
                if (send_resp_head(r) != RP_OK) {
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
        if (direct_body(r)) {
            if (direct_flush(r, &progress) == RP_ERROR) {
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
                up_detach(r, 0);
                r->keep_alive = 0;
                rp_conn_close(c);
                return;
            }
        } else if (r->resp_head_done && !r->resp_done) {
            int p = pump_resp(r);
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
                    up_detach(r, 0);
                    r->keep_alive = 0;
                    rp_conn_flush(c);
                    rp_conn_close(c);
                    return;
                }
            }
        } else if (!r->resp_head_done && u->eof && rp_buf_len(&u->in) == 0) {
            up_fail(r, 502, "upstream prematurely closed connection");
            continue;
        } else if (!r->resp_head_done && u->eof) {
            up_fail(r, 502, "upstream sent incomplete header");
            continue;
        }
        size_t before = rp_buf_len(&c->out);
        int frc = rp_conn_flush(c);
        if (frc == RP_ERROR) {
            rp_conn_close(c);
            return;
        }
        if (rp_buf_len(&c->out) < before)
            progress = 1;
        if (r->resp_done && r->body_done) {
            finish(r);
            return;
        }
        if (r->resp_done && !r->body_done) {
            /* answered before the whole body came: close after */
            r->keep_alive = 0;
            finish(r);
            return;
        }
        if (!progress) {
            /* timers */
            rp_upconn_t *uu = r->up;
            if (!uu)
                return;
            if (!uu->connected)
                ; /* connect timer stays */
            else if (uu->out_head_written < r->uphead.len || rp_buf_len(&uu->out))
                rp_timer_set(&c->w->loop, &uu->timer, (uint64_t)r->lc->proxy_send_timeout);
            else if (uu->in.data && rp_buf_room(&uu->in) == 0 && uu->in.pos == 0)
                /* waiting for the client to take what we hold, not for the
                 * backend: send_timeout on the client side applies */
                rp_timer_cancel(&c->w->loop, &uu->timer);
            else
                rp_timer_set(&c->w->loop, &uu->timer, (uint64_t)r->lc->proxy_read_timeout);
            if (rp_buf_len(&c->out) ||
                (!c->writable && direct_body(r) && uu->in.data && rp_buf_len(&uu->in)))
                rp_conn_set_timer(c, r->lc->send_timeout);
            else if (!r->body_done)
                rp_conn_set_timer(c, r->lc->client_body_timeout);
            else
                rp_timer_cancel(&c->w->loop, &c->timer);
            return;
        }
    }
}
