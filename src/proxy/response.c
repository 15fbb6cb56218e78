/* Backend responses: the head rewritten for the client, and the body
 * streamed with its framing re-made (or passed through untouched). */
#include "proxy/forward_int.h"
#include "core/common.h"
#include "core/log.h"
#include "conf/redirect.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Appends to c->out, growing it up to `max`. */
int rp__out_add(rp_req_t *r, const char *p, size_t n)
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
    return rp__out_add(r, s, n);
}
#define OUT(r, lit) out_lit((r), (lit), sizeof(lit) - 1)

/* Writes the response head for the client: the backend's fields minus the
 * hop-by-hop ones, those named in Connection, those hidden by default
 * (Date, Server, X-Pad, X-Accel-*: rampart sends its own) or by
 * proxy_hide_header; framing re-made for the client. */
int rp__resp_send_head(rp_req_t *r)
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
    rp__conn_tokens_t ct;
    if (status != 101)
        rp__resp_filters_plan(r);
    rp__conn_tokens_collect(rs->fields, rs->nfields, &ct);

    char num[24];
    const char *reason = rp_http_reason(status);
    if (OUT(r, "HTTP/1.1 ") != RP_OK ||
        rp__out_add(r, num, rp_u64_fmt(num, (uint64_t)status, 0)) != RP_OK || OUT(r, " ") != RP_OK)
        return RP_ERROR;
    if (strcmp(reason, "Unknown") == 0 && rs->reason.len) {
        if (rp__out_add(r, rs->reason.data, RP_MIN(rs->reason.len, 64)) != RP_OK)
            return RP_ERROR;
    } else if (rp__out_add(r, reason, strlen(reason)) != RP_OK) {
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
        if (ct.n && rp__conn_tokens_has(&ct, name))
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
        if (r->zchain && !rp__resp_filters_field(r, name, &value))
            continue;
        if (lc->nproxy_redirects && IS(name, "location"))
            rp_proxy_redirect(lc, r->loc, value, rp_req_var, r, &r->arena, &value);
        else if (lc->nproxy_redirects && IS(name, "refresh"))
            rp_proxy_redirect_refresh(lc, r->loc, value, rp_req_var, r, &r->arena, &value);
        if (rp__out_add(r, name.data, name.len) != RP_OK || OUT(r, ": ") != RP_OK ||
            rp__out_add(r, value.data, value.len) != RP_OK || OUT(r, "\r\n") != RP_OK)
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
            rp__out_add(r, c->w->http_date, strlen(c->w->http_date)) != RP_OK ||
            OUT(r, "\r\n") != RP_OK)
            return RP_ERROR;
    }

    char zhead[80];
    size_t zn = rp_resp_filters_head(r, zhead, sizeof(zhead));
    if (zn && rp__out_add(r, zhead, zn) != RP_OK)
        return RP_ERROR;

    /* framing for the client */
    int client11 = r->h.version_minor >= 1;
    if (status == 101) {
        if (OUT(r, "Upgrade: ") != RP_OK || rp__out_add(r, upgrade.data, upgrade.len) != RP_OK ||
            OUT(r, "\r\nConnection: upgrade\r\n") != RP_OK)
            return RP_ERROR;
        r->out_framing = RP_OUT_NONE;
    } else {
        if (rs->body_kind == RP_BODY_NONE || r->head_only) {
            r->out_framing = RP_OUT_NONE;
            if (clen.len && status != 204 && status >= 200)
                if (OUT(r, "Content-Length: ") != RP_OK ||
                    rp__out_add(r, clen.data, clen.len) != RP_OK || OUT(r, "\r\n") != RP_OK)
                    return RP_ERROR;
        } else if (rs->body_kind == RP_BODY_LENGTH && !r->zchain) {
            r->out_framing = RP_OUT_LENGTH;
            r->out_left = rs->content_length;
            if (OUT(r, "Content-Length: ") != RP_OK ||
                rp__out_add(r, num, rp_u64_fmt(num, rs->content_length, 0)) != RP_OK ||
                OUT(r, "\r\n") != RP_OK)
                return RP_ERROR;
        } else if (client11 && !c->parent) {
            r->out_framing = RP_OUT_CHUNKED;
            if (OUT(r, "Transfer-Encoding: chunked\r\n") != RP_OK)
                return RP_ERROR;
        } else {
            /* HTTP/1.0: until the connection closes; HTTP/2: until the
             * stream ends (DATA frames carry their own lengths) */
            r->out_framing = RP_OUT_CLOSE;
            r->keep_alive = 0;
        }
        if ((r->keep_alive ? OUT(r, "Connection: keep-alive\r\n")
                           : OUT(r, "Connection: close\r\n")) != RP_OK)
            return RP_ERROR;
        if (r->keep_alive && lc->keepalive_header > 0) {
            char kn[24];
            if (OUT(r, "Keep-Alive: timeout=") != RP_OK ||
                rp__out_add(r, kn, rp_u64_fmt(kn, (uint64_t)(lc->keepalive_header / 1000), 0)) !=
                    RP_OK ||
                OUT(r, "\r\n") != RP_OK)
                return RP_ERROR;
        }
    }
    if (r->upstream && r->upstream->sticky && status != 101) {
        char ck[600];
        size_t n = rp_sticky_set_cookie(r, ck, sizeof(ck));
        if (n && (OUT(r, "Set-Cookie: ") != RP_OK || rp__out_add(r, ck, n) != RP_OK ||
                  OUT(r, "\r\n") != RP_OK))
            return RP_ERROR;
    }
    if ((lc->nadd_headers && rp_req_add_headers(r, status) != RP_OK) || OUT(r, "\r\n") != RP_OK)
        return RP_ERROR;
    r->head_bytes = rp_buf_len(&c->out);
    return RP_OK;
}

/* Parses the response head in up->in. RP_OK when done, RP_AGAIN, RP_ERROR
 * (answered). */
int rp__resp_parse_head(rp_req_t *r)
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
            /* also when the read buffer cannot take more: the head would
             * never complete */
            if (rp_buf_len(&u->in) >= lim.max_head || rp_buf_len(&u->in) >= u->in.cap) {
                rp__up_fail(r, 502, "upstream sent too big header");
                return RP_ERROR;
            }
            return RP_AGAIN;
        }
        if (rc == RP_ERROR) {
            char why[128];
            snprintf(why, sizeof(why), "upstream sent invalid header (%s)",
                     rs.error ? rs.error : "bad response");
            rp__up_fail(r, 502, why);
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
            rp__up_fail(r, 502, "out of memory");
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

size_t rp__out_room(rp_req_t *r, size_t max_out)
{
    rp_conn_t *c = r->c;
    if (!c->out.data && rp_buf_alloc(c->w, &c->out, RP_BUF_SIZE) != RP_OK)
        return 0;
    rp_buf_compact(&c->out);
    while (c->out.cap - c->out.last < 64 && c->out.cap < max_out)
        if (rp_buf_resize(c->w, &c->out, RP_MIN(c->out.cap * 2, max_out)) != RP_OK)
            break;
    return c->out.cap - c->out.last;
}

/* Appends n body bytes to c->out, as a chunk when the client gets chunked
 * framing. The caller made sure c->out has room for n + 32 bytes. */
static void emit_body(rp_req_t *r, const char *src, size_t n)
{
    rp_buf_t *out = &r->c->out;
    if (r->out_framing == RP_OUT_CHUNKED) {
        size_t hn = rp_u64_fmt(out->data + out->last, n, 1);
        out->last += hn;
        memcpy(out->data + out->last, "\r\n", 2);
        out->last += 2;
    }
    memcpy(out->data + out->last, src, n);
    out->last += n;
    if (r->out_framing == RP_OUT_CHUNKED) {
        memcpy(out->data + out->last, "\r\n", 2);
        out->last += 2;
    }
    r->body_sent += n;
}

int rp__resp_body_take(rp_req_t *r, size_t room, char **p, size_t *n)
{
    rp_upconn_t *u = r->up;
    char *src = u->in.data + u->in.pos;
    size_t avail = rp_buf_len(&u->in);
    *p = src;
    *n = 0;
    if (r->resp_kind == RP_BODY_CHUNKED) {
        size_t consumed = 0;
        int rc = rp_h1_chunked_decode(&r->resp_chunked, src, RP_MIN(avail, room), &consumed, n);
        if (rc == RP_ERROR) {
            rp__up_fail(r, 502, "upstream sent invalid chunked response");
            return -1;
        }
        u->in.pos += consumed;
        if (rc == RP_OK) {
            r->resp_done = 1;
            if (rp_buf_len(&u->in))
                r->up_keepalive = 0; /* extra bytes after the body */
        } else if (consumed == 0) {
            if (u->in.pos == 0)
                return 0; /* need more input */
            rp_buf_compact(&u->in);
        }
        return 1;
    }
    size_t k = RP_MIN(avail, room);
    if (r->resp_kind == RP_BODY_LENGTH) {
        if ((uint64_t)k > r->resp_left)
            k = (size_t)r->resp_left;
        r->resp_left -= k;
    }
    u->in.pos += k;
    *n = k;
    if (r->resp_kind == RP_BODY_LENGTH && r->resp_left == 0) {
        r->resp_done = 1;
        if (rp_buf_len(&u->in))
            r->up_keepalive = 0;
    }
    return k > 0;
}

int rp__resp_pump(rp_req_t *r)
{
    if (r->zchain)
        return rp__resp_pump_filtered(r);
    rp_upconn_t *u = r->up;
    int progress = 0;
    size_t max_out =
        (size_t)(r->lc->proxy_buffering ? r->lc->proxy_buffers_num * r->lc->proxy_buffers_size +
                                              r->lc->proxy_buffer_size
                                        : r->lc->proxy_buffer_size);
    if (max_out < RP_BUF_SIZE)
        max_out = RP_BUF_SIZE;
    int ok_body = !r->head_only && r->out_framing != RP_OUT_NONE;
    while (!r->resp_done && u->in.data && rp_buf_len(&u->in)) {
        size_t room = rp__out_room(r, max_out);
        if (room < 64)
            return progress;
        /* room for a chunk's framing around what is taken */
        if (r->resp_kind == RP_BODY_CHUNKED || (ok_body && r->out_framing == RP_OUT_CHUNKED))
            room -= 32;
        char *p;
        size_t n;
        int t = rp__resp_body_take(r, room, &p, &n);
        if (t < 0)
            return -1;
        if (t == 0)
            return progress; /* need more input */
        if (n && ok_body)
            emit_body(r, p, n);
        progress = 1;
    }
    return progress;
}

/* Bodies that pass unchanged (Content-Length, or close-delimited to an
 * HTTP/1.0 client) go from the backend's buffer straight to the client with
 * one writev together with any queued head bytes: no copy. */
int rp__resp_direct(const rp_req_t *r)
{
    /* not over TLS: there the head and body go out best as one record,
     * which the copying path gives (one SSL_write) */
    return !r->c->tp && !r->c->parent && !r->zchain && r->resp_head_done && !r->resp_done &&
           !r->head_only && (r->out_framing == RP_OUT_LENGTH || r->out_framing == RP_OUT_CLOSE) &&
           r->resp_kind != RP_BODY_CHUNKED;
}

int rp__resp_direct_flush(rp_req_t *r, int *progress)
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
        /* TLS has no writev: the head then the body, each its own write */
        ssize_t w =
            c->tp ? rp_conn_send(c, iov[0].iov_base, iov[0].iov_len) : writev(c->io.fd, iov, n);
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
        if ((size_t)w < (c->tp ? iov[0].iov_len : hl + bl))
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
