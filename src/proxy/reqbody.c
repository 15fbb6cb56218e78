/* Request bodies on their way to a backend: read whole and validated first
 * (proxy_request_buffering on), or streamed (off). */
#include "proxy/forward_int.h"
#include "core/common.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

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
void rp__body_read(rp_req_t *r)
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
    if (r->lc->api) {
        r->phase = RP_PHASE_HANDLE;
        rp_api_handle(r);
        return;
    }
    r->phase = RP_PHASE_UPSTREAM;
    rp__proxy_connect(r);
}

void rp__api_read_body(rp_req_t *r)
{
    /* 100-continue: the client waits for it before sending the body */
    if (r->h.expect_continue && !r->continue_sent && rp_buf_len(&r->c->in) == 0) {
        rp_out_printf(r, "HTTP/1.1 100 Continue\r\n\r\n");
        r->continue_sent = 1;
        if (rp_conn_flush(r->c) == RP_ERROR) {
            rp_conn_close(r->c);
            return;
        }
    }
    r->phase = RP_PHASE_READ_BODY;
    rp__body_read(r);
}

/* Copies the stored body into up->out as room allows. */
int rp__body_pump_stored(rp_req_t *r)
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

/* Moves request body bytes from c->in to up->out (decoding chunked and
 * re-framing it). Returns 1 on progress, 0 if none, -1 on a client error
 * answered already. */
int rp__body_pump(rp_req_t *r)
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
            int rc = read_more_body(r); /* closes when the client left mid-body */
            if (rc != RP_OK)
                return rc == RP_AGAIN ? progress : -1;
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
                rp__up_detach(r, 0);
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
                rp__up_detach(r, 0);
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
                int more = read_more_body(r);
                if (more != RP_OK)
                    return more == RP_AGAIN ? progress : -1;
                continue;
            }
        }
        r->body_started = 1;
        progress = 1;
    }
    return progress;
}
