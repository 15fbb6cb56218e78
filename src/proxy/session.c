/* Client side of a connection: reading request heads, routing, producing
 * local responses (return, static files, error pages), keep-alive and
 * pipelining. Proxying lives in forward.c. */
#include "proxy/session.h"
#include "core/common.h"
#include "core/log.h"
#include "conf/mime.h"
#include "proxy/route.h"
#include "tls/tls.h"
#include "tls/transport.h"

#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <strings.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RP_MAX_FIELDS 256
#define RP_VERSION "0.1.0"

static __thread rp_http_field_t scratch_fields[RP_MAX_FIELDS];

static void conn_free(void *p);
static void conn_timeout(rp_timer_t *t);
static void conn_io(rp_io_t *io, uint32_t ev);
static void conn_resume(rp_timer_t *t)
{
    rp_conn_run(t->data);
}
static void req_start(rp_conn_t *c, const rp_h1_request_t *parsed);
static void req_handle(rp_req_t *r);
static void conn_send_error_close(rp_conn_t *c, int status);

void rp_worker_update_time(rp_worker_t *w)
{
    time_t now = time(NULL);
    if (now == w->time_sec)
        return;
    w->time_sec = now;
    struct tm g, l;
    gmtime_r(&now, &g);
    localtime_r(&now, &l);
    strftime(w->http_date, sizeof(w->http_date), "%a, %d %b %Y %H:%M:%S GMT", &g);
    strftime(w->time_local, sizeof(w->time_local), "%d/%b/%Y:%H:%M:%S %z", &l);
    strftime(w->time_iso8601, sizeof(w->time_iso8601), "%Y-%m-%dT%H:%M:%S%z", &l);
    /* ISO 8601 wants +00:00, strftime gives +0000 */
    size_t n = strlen(w->time_iso8601);
    if (n >= 5 && n + 2 < sizeof(w->time_iso8601)) {
        memmove(w->time_iso8601 + n - 1, w->time_iso8601 + n - 2, 3);
        w->time_iso8601[n - 2] = ':';
    }
}

/* ---------------------------------------------------------------- conns */

static const rp_server_t *default_srv(const rp_conn_t *c)
{
    return c->ls->default_server;
}

void rp_conn_set_timer(rp_conn_t *c, int64_t ms)
{
    if (ms <= 0)
        rp_timer_cancel(&c->w->loop, &c->timer);
    else
        rp_timer_set(&c->w->loop, &c->timer, (uint64_t)ms);
}

void rp_conn_accepted(rp_worker_t *w, int fd, const rp_wlisten_t *wl, struct sockaddr *sa,
                      socklen_t salen)
{
    rp_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->io.fd = fd;
    c->io.cb = conn_io;
    c->io.data = c;
    c->w = w;
    /* the listen entry and the generation must match: an accept event of
     * the previous generation can still arrive in the batch that swapped
     * generations */
    c->conf = wl->conf;
    rp_conf_ref(c->conf);
    c->ls = wl->ls;
    c->id = ++w->conn_seq;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, c->peer_addr, sizeof(c->peer_addr));
        snprintf(c->peer_port, sizeof(c->peer_port), "%u", ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, c->peer_addr, sizeof(c->peer_addr));
        snprintf(c->peer_port, sizeof(c->peer_port), "%u", ntohs(s6->sin6_port));
    }
    const struct sockaddr *la = (const struct sockaddr *)&c->ls->addr.addr;
    unsigned lport = la->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)la)->sin6_port)
                                               : ntohs(((const struct sockaddr_in *)la)->sin_port);
    snprintf(c->local_port, sizeof(c->local_port), "%u", lport);
    rp_timer_init(&c->timer, conn_timeout, c);
    rp_timer_init(&c->resume, conn_resume, c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    rp_h1_limits_t lim;
    const rp_server_t *s = default_srv(c);
    lim.max_line = (size_t)s->large_client_header_buffers_size;
    lim.max_field = (size_t)s->large_client_header_buffers_size;
    lim.max_head =
        (size_t)(s->large_client_header_buffers_size * s->large_client_header_buffers_num);
    lim.max_fields = RP_MAX_FIELDS;
    rp_h1_parser_init(&c->parser, &lim);
    if (rp_loop_add(&w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != RP_OK) {
        rp_conn_close(c);
        return;
    }
    if (c->ls->ssl) {
        void *ctx = s->ssl_ctx;
        c->tpctx = ctx ? rp_tls_conn_new(ctx, fd, c->ls) : NULL;
        if (!c->tpctx) {
            rp_conn_close(c);
            return;
        }
        c->tp = &rp_tls_transport;
        rp_conn_set_timer(c, s->ssl_handshake_timeout);
        return;
    }
    c->handshaked = 1;
    rp_conn_set_timer(c, s->client_header_timeout);
}

void rp__conn_init_timers(rp_conn_t *c)
{
    rp_timer_init(&c->timer, conn_timeout, c);
    rp_timer_init(&c->resume, conn_resume, c);
}

void rp_conn_release_conf(rp_conn_t *c, rp_conf_t *conf)
{
    rp_conf_unref(conf);
}

static void req_free(rp_req_t *r)
{
    rp_resp_filters_free(r);
    if (r->peer_held) {
        rp_peer_release(r->peer);
        r->peer_held = 0;
    }
    if (r->file_fd > 0)
        close(r->file_fd);
    if (r->body_fd > 0)
        close(r->body_fd);
    free(r->body_mem.data);
    rp_arena_destroy(&r->arena);
    free(r);
}

void rp_conn_close(rp_conn_t *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    rp_worker_t *w = c->w;
    if (c->h2)
        rp_h2conn_close(c); /* its streams first */
    if (c->req) {
        rp_req_t *r = c->req;
        if (r->up)
            rp_proxy_abort(r);
        if (!r->finalized) {
            r->finalized = 1;
            if (r->status)
                rp_req_access_log(r);
        }
        c->req = NULL;
        req_free(r);
    }
    rp_timer_cancel(&w->loop, &c->timer);
    rp_timer_cancel(&w->loop, &c->resume);
    if (c->parent) {
        rp_h2stream_close(c); /* RST_STREAM unless it ended; unlinks */
        rp_buf_release(w, &c->in);
        rp_buf_release(w, &c->out);
        rp_loop_defer(&w->loop, conn_free, c);
        return;
    }
    if (c->tp) {
        c->tp->close(c->tpctx);
        c->tp = NULL;
    }
    close(c->io.fd); /* also leaves the epoll set */
    c->io.cb = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    rp_buf_release(w, &c->in);
    rp_buf_release(w, &c->out);
    rp_loop_defer(&w->loop, conn_free, c);
}

static void conn_free(void *p)
{
    rp_conn_t *c = p;
    rp_conf_unref(c->conf);
    free(c);
}

static void conn_timeout(rp_timer_t *t)
{
    rp_conn_t *c = t->data;
    if (c->parent && rp_h2conn_stalled(c->parent)) {
        /* every stream waits on the client's flow-control window: the
         * client stopped reading (zero-window stall), cut the connection */
        rp_log_error(RP_LOG_INFO, "client %s timed out (HTTP/2 window closed)", c->peer_addr);
        rp_conn_close(c->parent);
        return;
    }
    const rp_loc_conf_t *tlc = c->req && c->req->lc ? c->req->lc : &default_srv(c)->conf;
    if (tlc->reset_timedout_connection && !c->parent) {
        /* reset instead of a FIN: the kernel drops what is unsent at once */
        struct linger lg = { 1, 0 };
        setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    if (c->req && !c->lingering) {
        rp_log_error(RP_LOG_INFO, "client %s timed out, request %" PRIu64 " aborted", c->peer_addr,
                     c->req->id);
        if (c->req->status == 0)
            c->req->status = 408;
    }
    rp_conn_close(c);
}

static void conn_io(rp_io_t *io, uint32_t ev)
{
    rp_conn_t *c = io->data;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        c->readable = 1;
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        c->rdhup = 1;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->writable = 1;
    if (ev & EPOLLERR)
        c->error = 1;
    if (c->read_wants_write && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        c->read_wants_write = 0;
        c->readable = 1;
    }
    if (c->write_wants_read && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
        c->write_wants_read = 0;
        c->writable = 1;
    }
    if ((ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && c->req && !c->lingering &&
        c->req->phase == RP_PHASE_UPSTREAM && c->req->body_done && !c->req->head_bytes) {
        /* the client went away while the backend works: stop (nginx's
         * proxy_ignore_client_abort off); 499 in the access log */
        char b;
        ssize_t n = recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            rp_log_error(RP_LOG_INFO,
                         "client %s prematurely closed connection while waiting for upstream",
                         c->peer_addr);
            c->req->status = 499;
            rp_conn_close(c);
            return;
        }
    }
    rp_conn_run(c);
}

void rp_conn_nodelay(rp_conn_t *c, const rp_loc_conf_t *lc)
{
    if (c->parent)
        c = c->parent;
    if (c->nodelay || (lc && !lc->tcp_nodelay))
        return;
    int one = 1;
    setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->nodelay = 1;
}

ssize_t rp_conn_recv(rp_conn_t *c, void *buf, size_t len)
{
    if (!c->tp)
        return read(c->io.fd, buf, len);
    ssize_t n = c->tp->recv(c->tpctx, buf, len);
    if (n >= 0)
        return n;
    if (n == RP_IO_WANT_WRITE) {
        /* TLS needs to write before it can read on: retry on writable */
        c->read_wants_write = 1;
        c->writable = 0;
        errno = EAGAIN;
    } else {
        errno = n == RP_IO_WANT_READ ? EAGAIN : EIO;
    }
    return -1;
}

ssize_t rp_conn_send(rp_conn_t *c, const void *buf, size_t len)
{
    if (c->parent)
        return rp_h2stream_send(c, buf, len);
    if (!c->tp)
        return write(c->io.fd, buf, len);
    ssize_t n = c->tp->send(c->tpctx, buf, len);
    if (n > 0)
        return n;
    if (n == RP_IO_WANT_READ) {
        c->write_wants_read = 1;
        c->readable = 0;
        errno = EAGAIN;
    } else {
        errno = n == RP_IO_WANT_WRITE ? EAGAIN : EIO;
    }
    return -1;
}

/* Reads into c->in. Returns bytes read, 0 at EOF, RP_AGAIN, RP_ERROR. */
int rp_conn_read(rp_conn_t *c)
{
    if (c->parent)
        return rp_h2stream_read(c);
    if (!c->in.data && rp_buf_alloc(c->w, &c->in, RP_BUF_SIZE) != RP_OK)
        return RP_ERROR;
    if (rp_buf_room(&c->in) == 0)
        rp_buf_compact(&c->in);
    if (rp_buf_room(&c->in) == 0)
        return RP_AGAIN; /* caller decides: full */
    for (;;) {
        size_t want = rp_buf_room(&c->in);
        ssize_t n = rp_conn_recv(c, c->in.data + c->in.last, want);
        if (n > 0) {
            c->in.last += (size_t)n;
            /* a short read drained the socket: edge-triggered epoll reports
             * the next data, so skip the read that would say EAGAIN (not
             * with TLS: decrypted bytes may wait inside the library) */
            if ((size_t)n < want && !c->rdhup && !c->tp)
                c->readable = 0;
            return (int)n;
        }
        if (n == 0) {
            c->eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            c->readable = 0;
            return RP_AGAIN;
        }
        c->error = 1;
        return RP_ERROR;
    }
}

/* Writes c->out. RP_OK when empty, RP_AGAIN when blocked, RP_ERROR. */
int rp_conn_flush(rp_conn_t *c)
{
    if (c->parent && rp_buf_len(&c->out) && rp_h2stream_head(c) != RP_OK) {
        c->error = 1;
        return RP_ERROR;
    }
    while (rp_buf_len(&c->out)) {
        if (!c->writable)
            return RP_AGAIN;
        size_t want = rp_buf_len(&c->out);
        ssize_t n = rp_conn_send(c, c->out.data + c->out.pos, want);
        if (n > 0) {
            if ((size_t)n < want)
                c->writable = 0; /* socket buffer full: wait for the edge */
            c->out.pos += (size_t)n;
            if (c->req)
                c->req->bytes_sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->writable = 0;
            return RP_AGAIN;
        }
        c->error = 1;
        return RP_ERROR;
    }
    c->out.pos = c->out.last = 0;
    return RP_OK;
}

/* Rebases a slice from the parse buffer into the request's copy. */
static void rebase(rp_str_t *s, const char *from, size_t len, char *to)
{
    if (s->data && s->data >= from && s->data <= from + len)
        s->data = to + (s->data - from);
}

static void lingering_run(rp_conn_t *c)
{
    char tmp[4096];
    for (;;) {
        ssize_t n = read(c->io.fd, tmp, sizeof(tmp));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->readable = 0;
            return;
        }
        rp_conn_close(c);
        return;
    }
}

/* Sends TLS close_notify and drops the TLS state: what follows on this
 * connection (lingering reads) is raw bytes to discard. */
static void conn_end_tls(rp_conn_t *c)
{
    if (c->tp) {
        c->tp->close(c->tpctx);
        c->tp = NULL;
        c->tpctx = NULL;
    }
}

/* After an answer that ends the connection: send what is queued, then stop
 * sending and drain the client for a moment so our answer is not destroyed
 * by a reset caused by unread request bytes. */
static void conn_finish_close(rp_conn_t *c)
{
    int rc = rp_conn_flush(c);
    if (rc == RP_AGAIN)
        return;
    if (rc == RP_ERROR) {
        rp_conn_close(c);
        return;
    }
    if (!c->lingering) {
        c->lingering = 1;
        conn_end_tls(c);
        shutdown(c->io.fd, SHUT_WR);
        rp_conn_set_timer(c, 2000);
    }
    lingering_run(c);
}

static void send_plain_http_error(rp_conn_t *c);

/* The TLS handshake. A client that speaks plain HTTP to a TLS port gets a
 * plain 400 that says so. Returns 1 when done, 0 to wait, -1 closed. */
static int conn_handshake(rp_conn_t *c)
{
    if (!c->readable && !c->writable)
        return 0;
    if (!c->tpctx_started) {
        /* look at the first byte once, before TLS reads anything: a TLS
         * handshake record starts with 0x16; anything else (most likely
         * "GET ...") is plain HTTP sent to a TLS port */
        unsigned char first;
        ssize_t n = recv(c->io.fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            rp_conn_close(c);
            return -1;
        }
        if (n < 0) {
            c->readable = 0; /* nothing yet: wait for the first bytes */
            return 0;
        }
        if (first != 0x16) {
            send_plain_http_error(c);
            return -1;
        }
        c->tpctx_started = 1;
    }
    int rc = c->tp->handshake(c->tpctx);
    if (rc == RP_OK) {
        c->handshaked = 1;
        rp_conn_set_timer(c, default_srv(c)->client_header_timeout);
        if (rp_tls_alpn_h2(c->tpctx)) {
            rp_h2conn_start(c);
            return c->closed ? -1 : 0;
        }
        return 1;
    }
    if (rc == RP_IO_WANT_READ) {
        c->readable = 0;
        return 0;
    }
    if (rc == RP_IO_WANT_WRITE) {
        c->writable = 0;
        c->read_wants_write = 1;
        return 0;
    }
    rp_log_error(RP_LOG_INFO, "TLS handshake with client %s failed: %s", c->peer_addr,
                 rp_tls_last_error());
    rp_conn_close(c);
    return -1;
}

/* Moves the connection's current request on: the backend exchange, or a
 * local response's head, body and file. Returns 1 to be called again, 0
 * when waiting (or when the connection closed). */
int rp__req_run(rp_conn_t *c)
{
    rp_req_t *r = c->req;
    if (r->phase == RP_PHASE_UPSTREAM || r->phase == RP_PHASE_TUNNEL ||
        r->phase == RP_PHASE_READ_BODY) {
        rp_proxy_run(r);
        if (c->closed)
            return 0;
        return c->req != r || r->phase == RP_PHASE_HANDLE;
    }
    /* local response: flush head/body, then the file */
    int rc = rp_conn_flush(c);
    if (rc == RP_ERROR) {
        rp_conn_close(c);
        return 0;
    }
    if (rc == RP_AGAIN) {
        rp_conn_set_timer(c, r->lc->send_timeout);
        return 0;
    }
    if (r->zchain && r->file_fd > 0) {
        int zr = rp_resp_filters_file(r);
        if (zr < 0)
            return 0;
        if (zr == 0) {
            rp_conn_set_timer(c, r->lc->send_timeout);
            return 0;
        }
    }
    while (r->file_left > 0) {
        if (!c->writable) {
            rp_conn_set_timer(c, r->lc->send_timeout);
            return 0;
        }
        ssize_t n;
        if (r->lc->sendfile && !c->tp && !c->parent) {
            n = sendfile(c->io.fd, r->file_fd, &r->file_off,
                         r->file_left > (1 << 20) ? (1 << 20) : r->file_left);
        } else {
            /* sendfile off (files on filesystems where it misbehaves), TLS
             * and HTTP/2: through a buffer */
            char fbuf[16384];
            ssize_t got = pread(r->file_fd, fbuf, RP_MIN(sizeof(fbuf), r->file_left), r->file_off);
            if (got <= 0) {
                rp_log_error(RP_LOG_ERR,
                             "a file being sent was truncated, client: %s, request: %" PRIu64,
                             c->peer_addr, r->id);
                rp_conn_close(c);
                return 0;
            }
            n = rp_conn_send(c, fbuf, (size_t)got);
            if (n > 0)
                r->file_off += n;
        }
        if (n > 0) {
            r->file_left -= (uint64_t)n;
            r->body_sent += (uint64_t)n;
            r->bytes_sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            c->writable = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            rp_log_error(RP_LOG_ERR,
                         "a file being sent was truncated, client: %s, request: %" PRIu64,
                         c->peer_addr, r->id);
        rp_conn_close(c); /* error or file shrank: never a short body */
        return 0;
    }
    if (r->corked) {
        int zero = 0;
        setsockopt(c->io.fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
        r->corked = 0;
    }
    rp_req_finalize(r);
    return 1;
}

/* 1 when buf[0..n) is the start of the HTTP/2 client preface. */
static int h2_preface_prefix(const char *buf, size_t n)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    return memcmp(buf, preface, RP_MIN(n, sizeof(preface) - 1)) == 0;
}

void rp_conn_run(rp_conn_t *c)
{
    if (c->parent) {
        rp_h2stream_kick(c);
        return;
    }
    if (c->h2) {
        rp_h2conn_run(c);
        return;
    }
    while (!c->closed) {
        if (c->lingering) {
            conn_finish_close(c);
            return;
        }
        if (!c->handshaked) {
            if (conn_handshake(c) <= 0)
                return;
            continue;
        }
        if (c->req) {
            if (!rp__req_run(c))
                return;
            continue;
        }

        /* h2c with prior knowledge: the preface instead of a first request */
        if (c->nrequests == 0 && !c->tp && c->in.data && rp_buf_len(&c->in) &&
            h2_preface_prefix(c->in.data + c->in.pos, rp_buf_len(&c->in)) && rp_h2conn_enabled(c)) {
            if (rp_buf_len(&c->in) >= 24) {
                rp_h2conn_start(c);
                return;
            }
            if (!c->readable)
                return;
            int n = rp_conn_read(c);
            if (n == RP_AGAIN)
                return;
            if (n <= 0) {
                rp_conn_close(c);
                return;
            }
            continue;
        }

        /* no request: read and parse the next head */
        if (c->in.data && rp_buf_len(&c->in)) {
            rp_h1_request_t *h = &(rp_h1_request_t){ 0 };
            h->fields = scratch_fields;
            int rc = rp_h1_parse_request(&c->parser, c->in.data + c->in.pos, rp_buf_len(&c->in), h);
            if (rc == RP_OK) {
                req_start(c, h);
                continue;
            }
            if (rc == RP_ERROR) {
                rp_log_error(RP_LOG_INFO, "client %s sent invalid request: %s (%d)", c->peer_addr,
                             h->error ? h->error : "bad request", h->error_status);
                conn_send_error_close(c, h->error_status ? h->error_status : 400);
                continue;
            }
            /* RP_AGAIN: head incomplete; make room */
            const rp_server_t *s = default_srv(c);
            size_t max_head =
                (size_t)(s->large_client_header_buffers_size * s->large_client_header_buffers_num);
            if (rp_buf_room(&c->in) == 0) {
                if (c->in.pos > 0) {
                    rp_buf_compact(&c->in);
                } else if (c->in.cap < max_head) {
                    if (rp_buf_resize(c->w, &c->in, max_head) != RP_OK) {
                        rp_conn_close(c);
                        return;
                    }
                } else {
                    conn_send_error_close(c, 431);
                    continue;
                }
            }
        }
        if (!c->readable) {
            if (!c->in.data || rp_buf_len(&c->in) == 0) {
                /* idle: hold no buffers */
                rp_buf_release(c->w, &c->in);
                rp_buf_release(c->w, &c->out);
            }
            return;
        }
        int n = rp_conn_read(c);
        if (n == RP_AGAIN) {
            if (rp_buf_len(&c->in) == 0) {
                rp_buf_release(c->w, &c->in);
                rp_buf_release(c->w, &c->out);
            }
            return;
        }
        if (n <= 0) {
            rp_conn_close(c);
            return;
        }
        if (c->nrequests > 0 && !c->parser.scanned)
            rp_conn_set_timer(c, default_srv(c)->client_header_timeout);
    }
}

/* ------------------------------------------------------------ responses */

int rp_out_printf(rp_req_t *r, const char *fmt, ...)
{
    rp_conn_t *c = r->c;
    if (!c->out.data && rp_buf_alloc(c->w, &c->out, RP_BUF_SIZE) != RP_OK)
        return RP_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = rp_buf_room(&c->out);
        int n = vsnprintf(c->out.data + c->out.last, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return RP_ERROR;
        if ((size_t)n < room) {
            c->out.last += (size_t)n;
            return RP_OK;
        }
        /* grow and retry */
        char tmp[1];
        if (rp_buf_append(c->w, &c->out, tmp, 0, 1 << 20) != RP_OK)
            return RP_ERROR;
        size_t need = c->out.last + (size_t)n + 1;
        if (need > c->out.cap) {
            if (need > (1 << 20) || rp_buf_resize(c->w, &c->out, need) != RP_OK)
                return RP_ERROR;
        }
    }
    return RP_ERROR;
}

static int add_header_applies(int status)
{
    switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
        return 1;
    }
    return 0;
}

int rp_req_add_headers(rp_req_t *r, int status)
{
    const rp_loc_conf_t *lc = r->lc;
    if (!lc)
        return RP_OK;
    for (size_t i = 0; i < lc->nadd_headers; i++) {
        const rp_add_header_t *ah = &lc->add_headers[i];
        if (!ah->always && !add_header_applies(status))
            continue;
        rp_str_t v;
        if (rp_tpl_eval(ah->value, rp_req_var, r, &r->arena, &v) != RP_OK)
            return RP_ERROR;
        if (v.len == 0)
            continue;
        if (memchr(v.data, '\r', v.len) || memchr(v.data, '\n', v.len) ||
            memchr(ah->name.data, '\r', ah->name.len) ||
            memchr(ah->name.data, '\n', ah->name.len)) {
            /* never split the response head */
            rp_log_error(RP_LOG_ERR, "add_header \"%.*s\" value has a line break, not sent",
                         (int)ah->name.len, ah->name.data);
            continue;
        }
        if (rp_out_printf(r, "%.*s: %.*s\r\n", (int)ah->name.len, ah->name.data, (int)v.len,
                          v.data) != RP_OK)
            return RP_ERROR;
    }
    return RP_OK;
}

static const char *server_header(const rp_req_t *r)
{
    return r->lc && r->lc->server_tokens ? "rampart/" RP_VERSION : "rampart";
}

int rp_req_write_head(rp_req_t *r, int status, const char *extra, size_t extra_len, int framing,
                      uint64_t length)
{
    rp_worker_update_time(r->c->w);
    r->status = status;
    r->out_framing = framing;
    if (rp_out_printf(r, "HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n", status,
                      rp_http_reason(status), server_header(r), r->c->w->http_date) != RP_OK)
        return RP_ERROR;
    if (framing == RP_OUT_LENGTH || (framing == RP_OUT_NONE && length != UINT64_MAX)) {
        if (rp_out_printf(r, "Content-Length: %" PRIu64 "\r\n", length) != RP_OK)
            return RP_ERROR;
    } else if (framing == RP_OUT_CHUNKED) {
        if (rp_out_printf(r, "Transfer-Encoding: chunked\r\n") != RP_OK)
            return RP_ERROR;
    }
    if (extra_len && rp_out_printf(r, "%.*s", (int)extra_len, extra) != RP_OK)
        return RP_ERROR;
    if (framing == RP_OUT_CLOSE)
        r->keep_alive = 0;
    if (status >= 200 || status == 101) {
        if (status != 101 &&
            rp_out_printf(r, "Connection: %s\r\n", r->keep_alive ? "keep-alive" : "close") != RP_OK)
            return RP_ERROR;
        if (status != 101 && r->keep_alive && r->lc && r->lc->keepalive_header > 0 &&
            rp_out_printf(r, "Keep-Alive: timeout=%lld\r\n",
                          (long long)(r->lc->keepalive_header / 1000)) != RP_OK)
            return RP_ERROR;
        if (rp_req_add_headers(r, status) != RP_OK)
            return RP_ERROR;
    }
    if (rp_out_printf(r, "\r\n") != RP_OK)
        return RP_ERROR;
    r->head_bytes = rp_buf_len(&r->c->out);
    return RP_OK;
}

static int status_closes(int status)
{
    switch (status) {
    case 400:
    case 408:
    case 413:
    case 414:
    case 431:
    case 501:
    case 505:
        return 1;
    }
    return 0;
}

static void send_page(rp_req_t *r, int status)
{
    char body[512];
    const char *reason = rp_http_reason(status);
    if (status == 400 && r->c->plain_on_tls)
        reason = "The plain HTTP request was sent to HTTPS port";
    int n;
    if (status >= 300 && status < 400 && status != 304)
        n = snprintf(body, sizeof(body),
                     "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
                     "%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                     status, reason, status, reason, server_header(r));
    else
        n = snprintf(body, sizeof(body),
                     "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
                     "%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                     status, reason, status, reason, server_header(r));
    int nobody = status == 204 || status == 304 || status < 200;
    if (status_closes(status) || !r->body_done)
        r->keep_alive = 0;
    const char *ct = "Content-Type: text/html\r\n";
    if (rp_req_write_head(r, status, nobody ? "" : ct, nobody ? 0 : strlen(ct),
                          nobody ? RP_OUT_NONE : RP_OUT_LENGTH,
                          nobody ? UINT64_MAX : (uint64_t)n) != RP_OK ||
        (!nobody && !r->head_only && rp_out_printf(r, "%s", body) != RP_OK)) {
        rp_conn_close(r->c);
        return;
    }
    if (!nobody && !r->head_only)
        r->body_sent += (uint64_t)n;
    r->phase = RP_PHASE_HANDLE;
}

/* Plain HTTP on a TLS port: answered in plain text (the client could not
 * read anything else), then closed. */
static void send_plain_http_error(rp_conn_t *c)
{
    conn_end_tls(c);
    c->handshaked = 1;
    c->plain_on_tls = 1;
    conn_send_error_close(c, 400);
    rp_conn_run(c);
}

/* An answer to a request whose head could not be parsed: no routing, no
 * error_page; the connection closes after it. */
static void conn_send_error_close(rp_conn_t *c, int status)
{
    rp_req_t *r = calloc(1, sizeof(*r));
    if (!r) {
        rp_conn_close(c);
        return;
    }
    rp_arena_init(&r->arena, 1024);
    r->c = c;
    r->conf = c->conf;
    r->srv = (rp_server_t *)default_srv(c);
    r->lc = &r->srv->conf;
    r->id = ++c->w->req_seq;
    r->start_ms = c->w->loop.now;
    clock_gettime(CLOCK_REALTIME, &r->start_ts);
    r->keep_alive = 0;
    r->body_done = 0;
    c->req = r;
    c->nrequests++;
    /* keep the request line (as far as it came) for the access log, then
     * discard the input: nothing of it reaches a backend */
    if (c->in.data) {
        const char *p = c->in.data + c->in.pos;
        size_t n = rp_buf_len(&c->in);
        const char *lf = memchr(p, '\n', n);
        if (lf)
            n = (size_t)(lf - p) + 1;
        if (n > 2048)
            n = 2048;
        r->head = rp_arena_strndup(&r->arena, p, n);
        r->h.head_len = r->head ? n : 0;
        c->in.pos = c->in.last = 0;
    }
    send_page(r, status);
}

static const rp_error_page_t *find_error_page(const rp_loc_conf_t *lc, int status)
{
    for (size_t i = 0; i < lc->nerror_pages; i++)
        for (size_t j = 0; j < lc->error_pages[i].ncodes; j++)
            if (lc->error_pages[i].codes[j] == status)
                return &lc->error_pages[i];
    return NULL;
}

static void route_path(rp_req_t *r, rp_str_t path);

void rp_req_error(rp_req_t *r, int status)
{
    rp_conn_t *c = r->c;
    if (r->head_bytes) {
        /* head already sent: the only honest signal left is closing */
        rp_conn_close(c);
        return;
    }
    if (c->out.data)
        c->out.pos = c->out.last = 0;
    const rp_error_page_t *ep = r->lc ? find_error_page(r->lc, status) : NULL;
    if (ep && !r->error_page_done) {
        r->error_page_done = 1;
        rp_str_t uri;
        if (rp_tpl_eval(ep->uri, rp_req_var, r, &r->arena, &uri) == RP_OK && uri.len) {
            int forced = ep->response > 0 ? ep->response : (ep->response == 0 ? status : 0);
            if (uri.data[0] == '@') {
                rp_location_t *nl = rp_route_named(r->srv, rp_str(uri.data + 1, uri.len - 1));
                if (nl) {
                    r->loc = nl;
                    r->lc = &nl->conf;
                    r->status = forced;
                    req_handle(r);
                    return;
                }
            } else if (uri.data[0] == '/') {
                if (r->h.method_id != RP_METHOD_HEAD) {
                    r->h.method_id = RP_METHOD_GET;
                    r->h.method = RP_STR("GET");
                }
                const char *q = memchr(uri.data, '?', uri.len);
                rp_str_t p = q ? rp_str(uri.data, (size_t)(q - uri.data)) : uri;
                r->args = q ? rp_str(q + 1, uri.len - (size_t)(q - uri.data) - 1) : RP_NULL_STR;
                route_path(r, p);
                r->status = forced;
                if (!r->body_done)
                    r->keep_alive = 0;
                req_handle(r);
                return;
            } else {
                /* absolute URL: redirect (302 unless "=code") */
                int code = ep->response > 0 ? ep->response : 302;
                char *hdr = rp_arena_alloc(&r->arena, uri.len + 16);
                if (hdr) {
                    int n =
                        snprintf(hdr, uri.len + 16, "Location: %.*s\r\n", (int)uri.len, uri.data);
                    if (!r->body_done)
                        r->keep_alive = 0;
                    if (rp_req_write_head(r, code, hdr, (size_t)n, RP_OUT_LENGTH, 0) == RP_OK) {
                        r->phase = RP_PHASE_HANDLE;
                        return;
                    }
                }
            }
        }
    }
    send_page(r, status);
}

/* ------------------------------------------------------------- handlers */

static void route_path(rp_req_t *r, rp_str_t path)
{
    char *np = rp_arena_alloc(&r->arena, path.len + 1);
    int n = np ? rp_route_normalize_path(path, np, path.len + 1) : -1;
    r->path = n >= 0 ? rp_str(np, (size_t)n) : path;
    r->loc = rp_route_location(r->srv, r->path, r->caps, 10, &r->ncaps);
    r->lc = r->loc ? &r->loc->conf : &r->srv->conf;
}

/* `lc` holds the return: the server's own when the server has one (it runs
 * before any location in nginx, so it wins), else the location's. */
static void do_return(rp_req_t *r, const rp_loc_conf_t *lc)
{
    int code = r->status ? r->status : lc->return_code;
    rp_str_t text = RP_NULL_STR;
    if (lc->return_text && rp_tpl_eval(lc->return_text, rp_req_var, r, &r->arena, &text) != RP_OK) {
        rp_req_error(r, 500);
        return;
    }
    int redirect = lc->return_code == 301 || lc->return_code == 302 || lc->return_code == 303 ||
                   lc->return_code == 307 || lc->return_code == 308;
    if (redirect || (!lc->return_text && code >= 400) || code == 444) {
        if (code == 444) {
            rp_conn_close(r->c);
            return;
        }
        if (redirect && text.len) {
            char *hdr = rp_arena_alloc(&r->arena, text.len + 16);
            if (!hdr) {
                rp_req_error(r, 500);
                return;
            }
            int n = snprintf(hdr, text.len + 16, "Location: %.*s\r\n", (int)text.len, text.data);
            /* the small page nginx sends with redirects */
            char body[512];
            const char *reason = rp_http_reason(code);
            int bn = snprintf(body, sizeof(body),
                              "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center>"
                              "<h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n"
                              "</html>\r\n",
                              code, reason, code, reason, server_header(r));
            char *ex = rp_arena_alloc(&r->arena, (size_t)n + 32);
            if (!ex) {
                rp_req_error(r, 500);
                return;
            }
            int en = snprintf(ex, (size_t)n + 32, "Content-Type: text/html\r\n%s", hdr);
            if (rp_req_write_head(r, code, ex, (size_t)en, RP_OUT_LENGTH, (uint64_t)bn) != RP_OK ||
                (!r->head_only && rp_out_printf(r, "%s", body) != RP_OK)) {
                rp_conn_close(r->c);
                return;
            }
            if (!r->head_only)
                r->body_sent = (uint64_t)bn;
            r->phase = RP_PHASE_HANDLE;
            return;
        }
        rp_req_error(r, code);
        return;
    }
    char ct[256];
    int ctn = snprintf(ct, sizeof(ct), "Content-Type: %.*s\r\n",
                       (int)RP_MIN(lc->default_type.len, 200), lc->default_type.data);
    int nobody = code == 204 || code == 304 || code < 200;
    if (rp_req_write_head(r, code, nobody ? "" : ct, nobody ? 0 : (size_t)ctn,
                          nobody ? RP_OUT_NONE : RP_OUT_LENGTH,
                          nobody ? UINT64_MAX : text.len) != RP_OK) {
        rp_conn_close(r->c);
        return;
    }
    if (!nobody && !r->head_only && text.len) {
        if (rp_out_printf(r, "%.*s", (int)text.len, text.data) != RP_OK) {
            rp_conn_close(r->c);
            return;
        }
        r->body_sent = text.len;
    }
    r->phase = RP_PHASE_HANDLE;
}

static void do_static(rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    if (r->h.method_id != RP_METHOD_GET && r->h.method_id != RP_METHOD_HEAD) {
        rp_req_error(r, 405);
        return;
    }
    rp_str_t root;
    rp_str_t upath = r->path;
    if (lc->alias) {
        /* alias: the location's prefix is replaced by the path */
        size_t cut = RP_MIN(lc->alias_len, upath.len);
        upath = rp_str(upath.data + cut, upath.len - cut);
    }
    if (rp_tpl_eval(lc->alias ? lc->alias : lc->root, rp_req_var, r, &r->arena, &root) != RP_OK) {
        rp_req_error(r, 500);
        return;
    }
    const char *prefix = (root.len && root.data[0] == '/') ? "" : r->conf->prefix;
    size_t cap = strlen(prefix) + root.len + upath.len + 256;
    char *path = rp_arena_alloc(&r->arena, cap);
    if (!path) {
        rp_req_error(r, 500);
        return;
    }
    int n = snprintf(path, cap, "%s%.*s%.*s", prefix, (int)root.len, root.data, (int)upath.len,
                     upath.data);
    struct stat st;
    int fd = -1;
    const char *pre = NULL; /* coding of a precompressed copy sent instead */
    if (n > 0 && path[n - 1] == '/') {
        for (size_t i = 0; i < lc->nindex; i++) {
            snprintf(path + n, cap - (size_t)n, "%.*s", (int)lc->index[i].len, lc->index[i].data);
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
            if (fd >= 0)
                break;
        }
        if (fd < 0) {
            path[n] = '\0';
            rp_req_error(r, stat(path, &st) == 0 ? 403 : 404);
            return;
        }
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT) { /* only FILE.gz may be there */
            fd = rp_static_precompressed(r, path, &st, &pre);
            if (fd < 0)
                errno = ENOENT;
        }
        if (fd < 0) {
            int e = errno;
            if (e == EACCES || lc->log_not_found)
                rp_log_error(RP_LOG_ERR,
                             "open() \"%s\" failed (%d: %s), client: %s, request: \"%.*s\"", path,
                             e, strerror(e), r->c->peer_addr, (int)r->request_uri.len,
                             r->request_uri.data);
            rp_req_error(r, e == EACCES ? 403 : 404);
            return;
        }
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        rp_req_error(r, 500);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        /* directory without the trailing slash: redirect, as nginx does */
        size_t lcap = r->path.len + r->args.len + 32;
        char *hdr = rp_arena_alloc(&r->arena, lcap);
        if (!hdr) {
            rp_req_error(r, 500);
            return;
        }
        int hn = snprintf(hdr, lcap, "Location: %.*s/%s%.*s\r\n", (int)r->path.len, r->path.data,
                          r->args.len ? "?" : "", (int)r->args.len, r->args.data);
        if (rp_req_write_head(r, 301, hdr, (size_t)hn, RP_OUT_LENGTH, 0) != RP_OK) {
            rp_conn_close(r->c);
            return;
        }
        r->phase = RP_PHASE_HANDLE;
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        rp_req_error(r, 404);
        return;
    }
    if (!pre) {
        struct stat pst;
        int pfd = rp_static_precompressed(r, path, &pst, &pre);
        if (pfd >= 0) {
            close(fd);
            fd = pfd;
            st = pst;
        }
    }
    char lm[64], ims_buf[64];
    struct tm g;
    gmtime_r(&st.st_mtime, &g);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &g);
    rp_str_t ims = rp_req_field(r, "if_modified_since");
    rp_str_t ctype = rp_mime_type(lc, rp_str_cstr(path));
    int status = r->status ? r->status : 200;
    if (status == 200 && ims.len && ims.len < sizeof(ims_buf) && ims.len == strlen(lm) &&
        memcmp(ims.data, lm, ims.len) == 0) {
        close(fd);
        char hdr[160];
        int hn = snprintf(hdr, sizeof(hdr), "Last-Modified: %s\r\n", lm);
        /* the Vary the 200 would carry (RFC 9110 15.4.5) */
        rp_static_filters_plan(r, 200, ctype, (uint64_t)st.st_size, pre, 0);
        hn += (int)rp_resp_filters_head(r, hdr + hn, sizeof(hdr) - (size_t)hn);
        if (rp_req_write_head(r, 304, hdr, (size_t)hn, RP_OUT_NONE, UINT64_MAX) != RP_OK)
            rp_conn_close(r->c);
        r->phase = RP_PHASE_HANDLE;
        return;
    }
    char hdr[400];
    int hn = snprintf(hdr, sizeof(hdr), "Content-Type: %.*s\r\nLast-Modified: %s\r\n",
                      (int)RP_MIN(ctype.len, 200), ctype.data, lm);
    int framing = RP_OUT_LENGTH;
    if (rp_static_filters_plan(r, status, ctype, (uint64_t)st.st_size, pre, 1))
        framing = r->h.version_minor >= 1 && !r->c->parent ? RP_OUT_CHUNKED : RP_OUT_CLOSE;
    hn += (int)rp_resp_filters_head(r, hdr + hn, sizeof(hdr) - (size_t)hn);
    if (rp_req_write_head(r, status, hdr, (size_t)hn, framing, (uint64_t)st.st_size) != RP_OK) {
        close(fd);
        rp_conn_close(r->c);
        return;
    }
    if (r->head_only || (st.st_size == 0 && !r->zchain)) {
        close(fd);
    } else {
        r->file_fd = fd;
        r->file_off = 0;
        r->file_left = (uint64_t)st.st_size;
        rp_conn_nodelay(r->c, lc);
        if (lc->tcp_nopush && lc->sendfile && !r->c->parent && !r->zchain) {
            /* head and first file bytes in full packets (TCP_CORK) */
            int one = 1;
            setsockopt(r->c->io.fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
            r->corked = 1;
        }
    }
    r->phase = RP_PHASE_HANDLE;
}

/* A handler that answers locally does not need the request body. When it
 * has all arrived already (the usual small POST), it is skipped so the
 * connection can stay open; otherwise the connection closes after the
 * answer. */
static void skip_buffered_body(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    if (r->body_done || r->body_kind != RP_BODY_LENGTH || !c->in.data)
        return;
    if (r->body_left <= rp_buf_len(&c->in)) {
        c->in.pos += r->body_left;
        r->body_received = r->body_left;
        r->body_left = 0;
        r->body_done = 1;
    }
}

static int file_exists(rp_req_t *r, rp_str_t root, rp_str_t v, int want_dir)
{
    const char *prefix = (root.len && root.data[0] == '/') ? "" : r->conf->prefix;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s%.*s%.*s", prefix, (int)root.len, root.data, (int)v.len,
                     v.data);
    if (n <= 0 || (size_t)n >= sizeof(path))
        return 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/* try_files: the first existing file (or "dir/") is served as a static
 * file; otherwise the last argument decides: =code, @named location, or an
 * internal redirect to a URI. */
static void do_try_files(rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    rp_str_t root;
    if (rp_tpl_eval(lc->root, rp_req_var, r, &r->arena, &root) != RP_OK) {
        rp_req_error(r, 500);
        return;
    }
    for (size_t i = 0; i + 1 < lc->ntry_files; i++) {
        rp_str_t v;
        if (rp_tpl_eval(lc->try_files[i], rp_req_var, r, &r->arena, &v) != RP_OK || !v.len ||
            v.data[0] != '/' || memmem(v.data, v.len, "/../", 4))
            continue;
        int dir = v.data[v.len - 1] == '/';
        if (file_exists(r, root, v, dir)) {
            r->path = v;
            if (!r->body_done)
                r->keep_alive = 0; /* the body is not read: close after */
            do_static(r);
            return;
        }
    }
    rp_str_t last;
    if (rp_tpl_eval(lc->try_files[lc->ntry_files - 1], rp_req_var, r, &r->arena, &last) != RP_OK ||
        !last.len || ++r->redirects > 10) {
        rp_req_error(r, 500);
        return;
    }
    if (last.data[0] == '=') {
        int code = atoi(rp_arena_strndup(&r->arena, last.data + 1, last.len - 1));
        rp_req_error(r, code >= 100 && code <= 999 ? code : 500);
        return;
    }
    if (last.data[0] == '@') {
        rp_location_t *nl = rp_route_named(r->srv, rp_str(last.data + 1, last.len - 1));
        if (!nl) {
            rp_req_error(r, 500);
            return;
        }
        r->loc = nl;
        r->lc = &nl->conf;
        req_handle(r);
        return;
    }
    const char *q = memchr(last.data, '?', last.len);
    rp_str_t p = q ? rp_str(last.data, (size_t)(q - last.data)) : last;
    if (q)
        r->args = rp_str(q + 1, last.len - (size_t)(q - last.data) - 1);
    route_path(r, p);
    req_handle(r);
}

static void req_handle(rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    if (!lc->proxy_pass && !lc->api)
        skip_buffered_body(r);
    const rp_loc_conf_t *srv_ret =
        r->srv && r->srv->conf.return_code && !r->error_page_done ? &r->srv->conf : NULL;
    if (srv_ret || lc->return_code) {
        /* `return` runs before allow/deny, as in nginx (rewrite phase) */
        if (!r->body_done)
            r->keep_alive = 0; /* the body is not read: close after */
        do_return(r, srv_ret ? srv_ret : lc);
    } else if (!rp_access_allowed(r)) {
        rp_log_error(RP_LOG_ERR, "access forbidden by rule, client: %s, request: \"%.*s\"",
                     r->c->peer_addr, (int)r->request_uri.len, r->request_uri.data);
        if (!r->body_done)
            r->keep_alive = 0;
        rp_req_error(r, 403);
    } else if (lc->api) {
        rp_api_handle(r);
    } else if (lc->ntry_files) {
        do_try_files(r);
    } else if (lc->proxy_pass) {
        rp_proxy_start(r);
    } else {
        if (!r->body_done)
            r->keep_alive = 0;
        do_static(r);
    }
}

/* Finds the listen entry of the newest generation for this connection's
 * address, so a keep-alive connection serves its next request with the
 * configuration in force now. */
static void conn_refresh_conf(rp_conn_t *c)
{
    rp_wgen_t *g = c->w->gen;
    if (!g || g->conf == c->conf)
        return;
    for (size_t i = 0; i < g->nlistens; i++) {
        if (strcmp(g->listens[i].ls->addr.text, c->ls->addr.text) == 0) {
            rp_conf_ref(g->conf);
            rp_conf_unref(c->conf);
            c->conf = g->conf;
            c->ls = g->listens[i].ls;
            return;
        }
    }
}

/* Host chose another server than SNI did, and either one verifies client
 * certificates: the request would bypass (or dodge) that verification. */
static int misdirected(rp_conn_t *c, const rp_server_t *srv)
{
    const char *sni = rp_tls_server_name(c->tpctx);
    const rp_server_t *by_sni = c->ls->default_server;
    if (sni && *sni && strlen(sni) < 256) {
        char buf[256];
        int n = rp_route_normalize_host(rp_str_cstr(sni), buf, sizeof(buf));
        if (n >= 0)
            by_sni = rp_route_server(c->ls, rp_str(buf, (size_t)n));
    }
    if (by_sni == srv)
        return 0;
    return by_sni->ssl.verify_client != RP_SSL_VERIFY_OFF ||
           srv->ssl.verify_client != RP_SSL_VERIFY_OFF;
}

rp_req_t *rp__req_new(rp_conn_t *c)
{
    rp_worker_t *w = c->w;
    rp_req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    rp_arena_init(&r->arena, 4096);
    r->c = c;
    r->conf = c->conf;
    r->file_fd = -1;
    r->id = ++w->req_seq;
    r->start_ms = w->loop.now;
    clock_gettime(CLOCK_REALTIME, &r->start_ts);
    c->req = r;
    c->nrequests++;
    return r;
}

static void req_start(rp_conn_t *c, const rp_h1_request_t *parsed)
{
    rp_req_t *r = rp__req_new(c);
    if (!r) {
        rp_conn_close(c);
        return;
    }

    /* the head becomes the request's own copy; c->in is then free for the
     * body and for pipelined requests */
    rp_h1_request_t *h = &r->h;
    *h = *parsed;
    const char *base = c->in.data + c->in.pos;
    r->head = rp_arena_alloc(&r->arena, h->head_len + 1);
    rp_http_field_t *fields = rp_arena_alloc(&r->arena, (h->nfields + 1) * sizeof(*fields));
    if (!r->head || !fields) {
        rp_conn_close(c);
        return;
    }
    memcpy(r->head, base, h->head_len);
    for (size_t i = 0; i < h->nfields; i++) {
        fields[i] = h->fields[i];
        rebase(&fields[i].name, base, h->head_len, r->head);
        rebase(&fields[i].value, base, h->head_len, r->head);
    }
    h->fields = fields;
    rebase(&h->method, base, h->head_len, r->head);
    rebase(&h->target, base, h->head_len, r->head);
    rebase(&h->path, base, h->head_len, r->head);
    rebase(&h->authority, base, h->head_len, r->head);
    rebase(&h->host, base, h->head_len, r->head);
    rebase(&h->connection, base, h->head_len, r->head);
    c->in.pos += h->head_len;
    rp_h1_limits_t lim = c->parser.limits;
    rp_h1_parser_init(&c->parser, &lim);

    conn_refresh_conf(c);
    r->conf = c->conf;
    rp__req_route(r);
}

void rp__req_route(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    rp_worker_t *w = c->w;
    rp_h1_request_t *h = &r->h;
    rp_http_field_t *fields = h->fields;
    if (!default_srv(c)->underscores_in_headers) {
        /* nginx's default: a field whose name has '_' is dropped (it could
         * alias a '-' field for CGI-style backends) */
        size_t k = 0;
        for (size_t i = 0; i < h->nfields; i++) {
            if (memchr(fields[i].name.data, '_', fields[i].name.len)) {
                rp_log_error(RP_LOG_INFO, "client %s sent invalid header: \"%.*s\"", c->peer_addr,
                             (int)fields[i].name.len, fields[i].name.data);
                continue;
            }
            fields[k++] = fields[i];
        }
        h->nfields = k;
    }
    r->head_only = h->method_id == RP_METHOD_HEAD;

    /* server by Host */
    char *hostbuf = rp_arena_alloc(&r->arena, h->host.len + 1);
    int hl = hostbuf ? rp_route_normalize_host(h->host, hostbuf, h->host.len + 1) : -1;
    r->srv = c->ls->default_server;
    r->lc = &r->srv->conf;
    if (hl < 0) {
        r->keep_alive = 0;
        send_page(r, 400);
        return;
    }
    h->host = rp_str(hostbuf, (size_t)hl);
    r->srv = rp_route_server(c->ls, h->host);
    r->lc = &r->srv->conf;
    if (c->tpctx && misdirected(c, r->srv)) {
        /* the certificate checks of one server must not admit requests
         * to another (RFC 9110 15.5.20) */
        r->keep_alive = 0;
        send_page(r, 421);
        return;
    }

    /* target */
    rp_str_t uri = h->path;
    if (h->target_form == RP_TARGET_ASTERISK)
        uri = RP_STR("*");
    r->request_uri = uri;
    const char *q = memchr(uri.data, '?', uri.len);
    rp_str_t p = q ? rp_str(uri.data, (size_t)(q - uri.data)) : uri;
    r->args = q ? rp_str(q + 1, uri.len - (size_t)(q - uri.data) - 1) : RP_NULL_STR;
    if (h->target_form == RP_TARGET_ORIGIN || h->target_form == RP_TARGET_ABSOLUTE) {
        char *np = rp_arena_alloc(&r->arena, p.len + 1);
        int n = np ? rp_route_normalize_path(p, np, p.len + 1) : -1;
        if (n < 0) {
            r->keep_alive = 0;
            send_page(r, 400);
            return;
        }
        r->path = rp_str(np, (size_t)n);
    } else {
        r->path = p;
    }
    r->loc = rp_route_location(r->srv, r->path, r->caps, 10, &r->ncaps);
    r->lc = r->loc ? &r->loc->conf : &r->srv->conf;
    const rp_loc_conf_t *lc = r->lc;

    r->keep_alive = h->keep_alive && lc->keepalive_timeout > 0 &&
                    (int64_t)c->nrequests < lc->keepalive_requests && !w->quitting;

    /* body framing */
    r->body_kind = h->body_kind;
    if (h->body_kind == RP_BODY_LENGTH) {
        r->body_left = h->content_length;
        r->body_done = h->content_length == 0;
        if (lc->client_max_body_size && h->content_length > (uint64_t)lc->client_max_body_size &&
            !r->srv->conf.return_code) {
            r->keep_alive = 0;
            send_page(r, 413);
            return;
        }
    } else if (h->body_kind == RP_BODY_CHUNKED) {
        rp_h1_chunked_init(&r->chunked);
    } else {
        r->body_done = 1;
    }
    if (h->target_form == RP_TARGET_AUTHORITY) {
        r->keep_alive = 0;
        send_page(r, 405);
        return;
    }
    rp_timer_cancel(&w->loop, &c->timer);
    req_handle(r);
}

void rp_req_finalize(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    if (r->finalized)
        return;
    r->finalized = 1;
    rp_req_access_log(r);
    c->req = NULL;
    if (c->parent) {
        /* HTTP/2: the stream ends; the connection goes on */
        rp_loop_defer(&c->w->loop, (void (*)(void *))req_free, r);
        rp_h2stream_end(c);
        return;
    }
    int keep = r->keep_alive && !c->eof && !c->error && r->body_done && !r->upgraded;
    rp_loop_defer(&c->w->loop, (void (*)(void *))req_free, r);
    if (!keep) {
        if (r->body_done && !c->error && (!c->in.data || rp_buf_len(&c->in) == 0) &&
            rp_buf_len(&c->out) == 0) {
            /* clean end: nothing unread that could turn our close into a
             * reset, so no lingering */
            rp_conn_close(c);
            return;
        }
        c->lingering = 1;
        conn_end_tls(c);
        shutdown(c->io.fd, SHUT_WR);
        rp_conn_set_timer(c, 2000);
        return;
    }
    rp_conn_nodelay(c, r->lc);
    if (c->w->quitting && (!c->in.data || rp_buf_len(&c->in) == 0)) {
        rp_conn_close(c);
        return;
    }
    rp_conn_set_timer(c, default_srv(c)->client_header_timeout);
    if (!c->in.data || rp_buf_len(&c->in) == 0) {
        /* idle keep-alive */
        rp_buf_release(c->w, &c->in);
        rp_buf_release(c->w, &c->out);
        rp_conn_set_timer(c, r->lc->keepalive_timeout);
    }
}
