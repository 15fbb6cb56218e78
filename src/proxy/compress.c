/* Compression of backend responses: which body filters a response gets
 * (gunzip, then gzip, br or zstd), how its head changes, and the pump that
 * runs the body through them (src/filter does the coding). */
#include "proxy/forward_int.h"
#include "core/common.h"
#include "core/log.h"
#include "filter/filter.h"
#include "http/accept_encoding.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static const int ce_of[RP_Z_COUNT] = { RP_CE_GZIP, RP_CE_BR, RP_CE_ZSTD };

/* MSIE 4 to 6, except 6 with SP2 (SV1), which handles compressed bodies. */
static int is_msie6(rp_str_t ua)
{
    for (size_t i = 0; i + 7 <= ua.len; i++)
        if (memcmp(ua.data + i, "MSIE ", 5) == 0 && ua.data[i + 5] >= '4' &&
            ua.data[i + 5] <= '6' && ua.data[i + 6] == '.') {
            for (size_t k = 0; k + 3 <= ua.len; k++)
                if (memcmp(ua.data + k, "SV1", 3) == 0)
                    return 0;
            return 1;
        }
    return 0;
}

static int ua_disabled(const rp_compress_conf_t *cc, rp_str_t ua)
{
    if (!ua.data)
        return 0;
    if (cc->disable_msie6 && is_msie6(ua))
        return 1;
    static __thread pcre2_match_data *md;
    if (cc->ndisable && !md)
        md = pcre2_match_data_create(1, NULL);
    for (size_t i = 0; i < cc->ndisable && md; i++)
        if (pcre2_match(cc->disable[i], (PCRE2_SPTR)ua.data, ua.len, 0, 0, md, NULL) >= 0)
            return 1;
    return 0;
}

/* The backend's fields compression looks at. */
typedef struct {
    rp_str_t ctype, cenc, etag, expires;
    int ncenc;
    int no_transform, no_cache, no_store, private_, last_modified, vary_ae;
} resp_info_t;

static void scan_response(const rp_h1_response_t *rs, resp_info_t *ri)
{
    memset(ri, 0, sizeof(*ri));
    for (size_t i = 0; i < rs->nfields; i++) {
        rp_str_t n = rs->fields[i].name, v = rs->fields[i].value;
        if (rp_str_caseeq_lit(n, "content-type")) {
            ri->ctype = v;
        } else if (rp_str_caseeq_lit(n, "content-encoding") && rp_str_trim(v).len) {
            ri->cenc = rp_str_trim(v);
            ri->ncenc++;
        } else if (rp_str_caseeq_lit(n, "cache-control")) {
            ri->no_transform |= rp_str_list_has_token(v, RP_STR("no-transform"));
            ri->no_cache |= rp_str_list_has_token(v, RP_STR("no-cache"));
            ri->no_store |= rp_str_list_has_token(v, RP_STR("no-store"));
            ri->private_ |= rp_str_list_has_token(v, RP_STR("private"));
        } else if (rp_str_caseeq_lit(n, "etag")) {
            ri->etag = v;
        } else if (rp_str_caseeq_lit(n, "expires")) {
            ri->expires = v;
        } else if (rp_str_caseeq_lit(n, "last-modified")) {
            ri->last_modified = 1;
        } else if (rp_str_caseeq_lit(n, "vary")) {
            ri->vary_ae |= rp_str_list_has_token(v, RP_STR("accept-encoding")) ||
                           rp_str_list_has_token(v, RP_STR("*"));
        }
    }
}

/* Expires that is not a valid date in the future. */
static int expired(rp_str_t v)
{
    char buf[64];
    if (!v.data)
        return 0;
    if (v.len >= sizeof(buf))
        return 1;
    memcpy(buf, v.data, v.len);
    buf[v.len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return 1;
    return timegm(&tm) <= time(NULL);
}

/* gzip_proxied: may a response to a request that came through another
 * proxy (it has Via) be compressed? */
static int proxied_ok(rp_req_t *r, const rp_compress_conf_t *cc, const resp_info_t *ri)
{
    if (!rp_req_field(r, "via").data)
        return 1;
    int b = cc->proxied;
    if (b & RP_GZP_ANY)
        return 1;
    return ((b & RP_GZP_EXPIRED) && expired(ri->expires)) ||
           ((b & RP_GZP_NO_CACHE) && ri->no_cache) || ((b & RP_GZP_NO_STORE) && ri->no_store) ||
           ((b & RP_GZP_PRIVATE) && ri->private_) || ((b & RP_GZP_NO_LM) && !ri->last_modified) ||
           ((b & RP_GZP_NO_ETAG) && !ri->etag.data) ||
           ((b & RP_GZP_AUTH) && rp_req_field(r, "authorization").data);
}

/* The request side, the same for every coding: gzip_http_version,
 * gzip_disable, and what gzip_proxied allows with Via (via_ok). */
static int request_ok(rp_req_t *r, const rp_compress_conf_t *cc, int via_ok)
{
    return (cc->http_version == 10 || r->h.version_minor >= 1) && via_ok &&
           !ua_disabled(cc, rp_req_field(r, "user_agent"));
}

static int type_ok(const rp_coding_conf_t *c, rp_str_t ctype)
{
    if (c->any_type)
        return 1;
    size_t n = 0;
    while (n < ctype.len && ctype.data[n] != ';')
        n++;
    rp_str_t t = rp_str_trim(rp_str(ctype.data, n));
    if (!t.len)
        return 0;
    if (rp_str_caseeq_lit(t, "text/html"))
        return 1;
    for (size_t i = 0; i < c->ntypes; i++) {
        rp_str_t p = c->types[i];
        if (p.len >= 2 && p.data[p.len - 1] == '*' && p.data[p.len - 2] == '/') {
            /* a wildcard subtype: every subtype of the top-level type */
            if (t.len >= p.len - 1 &&
                rp_str_caseeq(rp_str(t.data, p.len - 1), rp_str(p.data, p.len - 1)))
                return 1;
        } else if (rp_str_caseeq(p, t)) {
            return 1;
        }
    }
    return 0;
}

/* No filters and nothing added to the head (an earlier answer's state,
 * from before an error_page, is dropped). */
static void filters_reset(rp_req_t *r)
{
    if (r->zchain)
        rp_filter_chain_release(r->zchain);
    r->zchain = NULL;
    r->zcoding = -1;
    r->zgunzip = r->zvary = r->zdirty = r->zfinished = 0;
    r->zin_total = 0;
    r->zpre = NULL;
}

void rp__resp_filters_plan(rp_req_t *r)
{
    const rp_compress_conf_t *cc = &r->lc->compress;
    filters_reset(r);
    int any_on = cc->c[RP_Z_GZIP].on || cc->c[RP_Z_BR].on || cc->c[RP_Z_ZSTD].on;
    if (!any_on && !cc->gunzip)
        return;
    const rp_h1_response_t *rs = &r->resp;
    if (rs->status < 200 || rs->status == 204 || rs->status == 304)
        return;
    resp_info_t ri;
    scan_response(rs, &ri);
    int has_body = rs->body_kind != RP_BODY_NONE && !r->head_only;
    /* the request side: the same rules for every coding */
    int req_ok = request_ok(r, cc, proxied_ok(r, cc, &ri));
    rp_str_t ae = rp_req_field(r, "accept_encoding");
    int backend_gzip = ri.ncenc == 1 &&
                       (rp_str_caseeq_lit(ri.cenc, "gzip") || rp_str_caseeq_lit(ri.cenc, "x-gzip"));

    /* a 206 holds a part of the gzip stream, which cannot be decoded alone */
    if (cc->gunzip && backend_gzip && !ri.no_transform && rs->status != 206) {
        static const int gz[] = { RP_CE_GZIP };
        int client_gzip = req_ok && ae.data && rp_accept_encoding_choose(ae, gz, 1) == RP_CE_GZIP;
        r->zvary = 1;
        if (client_gzip || !has_body)
            goto vary;
        r->zgunzip = 1;
    }

    if (any_on && (rs->status == 200 || rs->status == 403 || rs->status == 404) &&
        (!ri.cenc.data || r->zgunzip) && !ri.no_transform) {
        int offered[RP_Z_COUNT], n = 0;
        int known = rs->body_kind == RP_BODY_LENGTH && !r->zgunzip;
        for (int k = 0; k < cc->norder; k++) {
            int z = cc->order[k];
            const rp_coding_conf_t *c = &cc->c[z];
            if (!c->on || !type_ok(c, ri.ctype))
                continue;
            if (known && rs->content_length < (uint64_t)c->min_length)
                continue;
            offered[n++] = ce_of[z];
        }
        if (n) {
            r->zvary = 1; /* another client could get it compressed */
            if (has_body && req_ok && ae.data) {
                int ce = rp_accept_encoding_choose(ae, offered, (size_t)n);
                for (int z = 0; z < RP_Z_COUNT; z++)
                    if (ce_of[z] == ce)
                        r->zcoding = z;
            }
        }
    }

    if (r->zgunzip || r->zcoding >= 0) {
        rp_filter_chain_t *ch = rp_arena_alloc(&r->arena, sizeof(*ch));
        int ok = ch != NULL;
        if (ok)
            memset(ch, 0, sizeof(*ch));
        if (ok && r->zgunzip)
            ok = rp_filter_chain_add(ch, RP_FILTER_GUNZIP, 0, 0, 0, 0) == 0;
        if (ok && r->zcoding >= 0) {
            uint64_t hint = rs->body_kind == RP_BODY_LENGTH && !r->zgunzip ? rs->content_length : 0;
            ok = rp_filter_chain_add(ch, RP_FILTER_COMPRESS, ce_of[r->zcoding],
                                     (int)cc->c[r->zcoding].level, (int)cc->brotli_window,
                                     hint) == 0;
        }
        if (!ok) {
            rp_log_error(RP_LOG_ERR, "cannot start the response's body filters (out of memory)");
            if (ch)
                rp_filter_chain_release(ch);
            r->zgunzip = 0;
            r->zcoding = -1;
        } else {
            r->zchain = ch;
        }
    }
vary:
    if (!cc->vary || ri.vary_ae)
        r->zvary = 0;
}

/* "gzip", "br", "zstd" for the Content-Encoding added, or NULL. */
static const char *coding_of(const rp_req_t *r)
{
    if (r->zpre)
        return r->zpre;
    return r->zchain && r->zcoding >= 0 ? rp_coding_name(ce_of[r->zcoding]) : NULL;
}

/* How a backend field goes out when the body is transformed: 0 dropped,
 * 1 as it is or as rewritten into *v. */
int rp__resp_filters_field(rp_req_t *r, rp_str_t name, rp_str_t *v)
{
    if (!r->zchain)
        return 1;
    if (rp_str_caseeq_lit(name, "accept-ranges"))
        return 0;
    if (r->zgunzip && rp_str_caseeq_lit(name, "content-encoding"))
        return 0;
    if (rp_str_caseeq_lit(name, "etag")) {
        /* the bytes differ: a strong validator becomes weak */
        if (v->len >= 2 && v->data[0] == 'W' && v->data[1] == '/')
            return 1;
        if (!v->len || v->data[0] != '"')
            return 0;
        char *w = rp_arena_alloc(&r->arena, v->len + 2);
        if (!w)
            return 0;
        memcpy(w, "W/", 2);
        memcpy(w + 2, v->data, v->len);
        *v = rp_str(w, v->len + 2);
    }
    return 1;
}

void rp_resp_filters_free(rp_req_t *r)
{
    if (r->zchain) {
        rp_filter_chain_release(r->zchain);
        r->zchain = NULL;
    }
    if (r->zin.data)
        rp_buf_release(r->c->w, &r->zin);
}

/* Takes body bytes from the backend's buffer into r->zin (chunked framing
 * removed). 1 when bytes moved, 0 when none, -1 on a framing error
 * (answered). */
static int fill_zin(rp_req_t *r)
{
    rp_upconn_t *u = r->up;
    if (r->resp_done || !u || !u->in.data || !rp_buf_len(&u->in))
        return 0;
    rp_buf_t *z = &r->zin;
    if (!z->data && rp_buf_alloc(r->c->w, z, RP_BUF_SIZE) != RP_OK)
        return 0;
    if (z->pos == z->last)
        z->pos = z->last = 0;
    else if (rp_buf_room(z) == 0)
        rp_buf_compact(z);
    size_t room = rp_buf_room(z);
    if (!room)
        return 0;
    char *p;
    size_t n;
    int t = rp__resp_body_take(r, room, &p, &n);
    if (t > 0 && n) {
        memcpy(z->data + z->last, p, n);
        z->last += n;
    }
    return t;
}

/* Output bytes held for the client before the chain waits. */
static size_t max_out(const rp_req_t *r)
{
    const rp_compress_conf_t *cc = &r->lc->compress;
    return (size_t)(r->zcoding >= 0 ? cc->c[r->zcoding].buffers : cc->gunzip_buffers);
}

/* One run of the chain from r->zin into c->out (as a chunk when the client
 * gets chunked framing). 1 when bytes moved, 0 when none could (no room, or
 * nothing to do), -1 on an error (logged; the caller closes). Sets
 * r->zfinished when FINISH completed. */
static int chain_step(rp_req_t *r, int mode)
{
    rp_conn_t *c = r->c;
    int chunked = r->out_framing == RP_OUT_CHUNKED;
    size_t zl = r->zin.data ? rp_buf_len(&r->zin) : 0;
    size_t frame = chunked ? 12 : 0; /* hex size, CRLF, CRLF */
    size_t room = rp__out_room(r, max_out(r));
    if (room < frame + 64)
        return 0; /* the client must take some first */
    size_t at = c->out.last;
    unsigned char *dst = (unsigned char *)c->out.data + at + (chunked ? 10 : 0);
    size_t consumed = 0, produced = 0;
    int rc = rp_filter_chain_run(r->zchain, zl ? (unsigned char *)r->zin.data + r->zin.pos : NULL,
                                 zl, &consumed, dst, room - frame, &produced, mode);
    if (rc < 0) {
        rp_log_error(RP_LOG_ERR, "%s of the response failed (%s), client: %s, request: %" PRIu64,
                     r->zgunzip ? "gunzip" : "compression",
                     r->zchain->error ? r->zchain->error : "error", c->peer_addr, r->id);
        return -1;
    }
    if (consumed) {
        r->zin.pos += consumed;
        r->zin_total += consumed;
        r->zdirty = 1;
    }
    if (rc == 1 && mode == RP_FILTER_FLUSH)
        r->zdirty = 0;
    if (produced) {
        if (chunked) {
            char hex[20];
            size_t hn = rp_u64_fmt(hex, produced, 1);
            char *o = c->out.data + at;
            memcpy(o, hex, hn);
            memcpy(o + hn, "\r\n", 2);
            if (hn + 2 != 10)
                memmove(o + hn + 2, dst, produced);
            memcpy(o + hn + 2 + produced, "\r\n", 2);
            c->out.last = at + hn + 2 + produced + 2;
        } else {
            c->out.last = at + produced;
        }
        r->body_sent += produced;
    }
    if (rc == 1 && mode == RP_FILTER_FINISH) {
        /* the contexts go back to the thread's pool now, not when the
         * client has taken the last bytes: a worker with many answers on
         * their way still codes with a few warm contexts */
        r->zfinished = 1;
        rp_filter_chain_release(r->zchain);
        rp_buf_release(c->w, &r->zin);
        return 1;
    }
    return consumed || produced;
}

int rp__resp_pump_filtered(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    int progress = 0;
    for (int round = 0; round < 256 && !r->zfinished; round++) {
        int f = fill_zin(r);
        if (f < 0)
            return -1;
        progress |= f;
        rp_upconn_t *u = r->up;
        int mode;
        if (r->resp_done)
            mode = RP_FILTER_FINISH;
        else if ((r->zin.data && rp_buf_len(&r->zin)) || r->zchain->pending)
            mode = RP_FILTER_RUN;
        else if (r->zdirty && u && !u->readable && !u->eof && r->resp_kind != RP_BODY_LENGTH)
            /* a stream (its length unknown: events, long polls) paused:
             * what it sent goes out now. A body of known length is not
             * flushed on its way: its bytes go out as the coder makes
             * them, the rest with its end, as compact as without pauses */
            mode = RP_FILTER_FLUSH;
        else
            break;
        int rc = chain_step(r, mode);
        if (rc > 0 && r->zfinished && r->out_framing == RP_OUT_CHUNKED &&
            rp__out_add(r, "0\r\n\r\n", 5) != RP_OK)
            rc = -1; /* the last chunk goes out with the body's end */
        if (rc < 0) {
            rp__up_detach(r, 0);
            r->keep_alive = 0;
            rp_conn_flush(c);
            rp_conn_close(c);
            return -1;
        }
        if (rc == 0)
            break;
        progress = 1;
    }
    return progress;
}

/* ---- local files ---- */

int rp_static_filters_plan(rp_req_t *r, int status, rp_str_t ctype, uint64_t size, const char *pre,
                           int build)
{
    const rp_compress_conf_t *cc = &r->lc->compress;
    if (pre) {
        /* sent as it is on disk; Vary as on-the-fly compression adds it */
        filters_reset(r);
        r->zpre = build ? pre : NULL;
        r->zvary = cc->vary;
        return 0;
    }
    rp_h1_response_t saved = r->resp;
    int head_only = r->head_only;
    rp_http_field_t f = { RP_STR("content-type"), ctype };
    memset(&r->resp, 0, sizeof(r->resp));
    r->resp.status = status;
    r->resp.fields = &f;
    r->resp.nfields = 1;
    r->resp.body_kind = RP_BODY_LENGTH;
    r->resp.content_length = size;
    if (!build)
        r->head_only = 1; /* no body is coded: only the decision is wanted */
    rp__resp_filters_plan(r);
    r->resp = saved;
    r->head_only = head_only;
    if (cc->vary &&
        (cc->c[RP_Z_GZIP].static_ || cc->c[RP_Z_BR].static_ || cc->c[RP_Z_ZSTD].static_))
        r->zvary = 1; /* another client could have got a precompressed copy */
    return r->zchain != NULL;
}

static int open_variant(rp_req_t *r, const char *path, const char *ext, struct stat *st)
{
    size_t pl = strlen(path), el = strlen(ext);
    char *v = rp_arena_alloc(&r->arena, pl + el + 1);
    if (!v)
        return -1;
    memcpy(v, path, pl);
    memcpy(v + pl, ext, el + 1);
    int fd = open(v, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

int rp_static_precompressed(rp_req_t *r, const char *path, struct stat *st, const char **coding)
{
    static const char *const ext[RP_Z_COUNT] = { ".gz", ".br", ".zst" };
    const rp_compress_conf_t *cc = &r->lc->compress;
    if (!cc->c[RP_Z_GZIP].static_ && !cc->c[RP_Z_BR].static_ && !cc->c[RP_Z_ZSTD].static_)
        return -1;
    /* the request side of the on-the-fly rules; a file has no response
     * fields yet, so with Via only gzip_proxied any / no_etag / auth
     * (with Authorization) let it through */
    int via_ok = !rp_req_field(r, "via").data || (cc->proxied & (RP_GZP_ANY | RP_GZP_NO_ETAG)) ||
                 ((cc->proxied & RP_GZP_AUTH) && rp_req_field(r, "authorization").data);
    int req_ok = request_ok(r, cc, via_ok);
    rp_str_t ae = rp_req_field(r, "accept_encoding");
    int offered[RP_Z_COUNT], n = 0;
    for (int k = 0; k < cc->norder; k++)
        if (cc->c[cc->order[k]].static_)
            offered[n++] = ce_of[cc->order[k]];
    /* the best coding the client takes whose file exists */
    while (req_ok && ae.data && n > 0) {
        int ce = rp_accept_encoding_choose(ae, offered, (size_t)n), z = -1;
        for (int k = 0; k < RP_Z_COUNT; k++)
            if (ce_of[k] == ce)
                z = k;
        if (z < 0)
            break;
        int fd = open_variant(r, path, ext[z], st);
        if (fd >= 0) {
            *coding = rp_coding_name(ce);
            return fd;
        }
        int m = 0;
        for (int k = 0; k < n; k++)
            if (offered[k] != ce)
                offered[m++] = offered[k];
        n = m;
    }
    /* `always`: whatever the client said */
    for (int k = 0; k < cc->norder; k++) {
        int z = cc->order[k];
        if (cc->c[z].static_ != 2)
            continue;
        int fd = open_variant(r, path, ext[z], st);
        if (fd >= 0) {
            *coding = rp_coding_name(ce_of[z]);
            return fd;
        }
    }
    return -1;
}

size_t rp_resp_filters_head(const rp_req_t *r, char *buf, size_t cap)
{
    const char *coding = coding_of(r);
    int n = snprintf(buf, cap, "%s%s%s%s", coding ? "Content-Encoding: " : "", coding ? coding : "",
                     coding ? "\r\n" : "", r->zvary ? "Vary: Accept-Encoding\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int rp_resp_filters_file(rp_req_t *r)
{
    rp_conn_t *c = r->c;
    for (int round = 0; round < 64; round++) {
        if (c->out.data && rp_buf_len(&c->out)) {
            int rc = rp_conn_flush(c);
            if (rc == RP_ERROR) {
                rp_conn_close(c);
                return -1;
            }
            if (rc == RP_AGAIN)
                return 0;
        }
        if (r->zfinished)
            return 1;
        rp_buf_t *z = &r->zin;
        if (!z->data && rp_buf_alloc(c->w, z, RP_BUF_SIZE) != RP_OK) {
            rp_conn_close(c);
            return -1;
        }
        if (z->pos == z->last)
            z->pos = z->last = 0;
        if (r->file_left && rp_buf_room(z)) {
            ssize_t got = pread(r->file_fd, z->data + z->last, RP_MIN(rp_buf_room(z), r->file_left),
                                r->file_off);
            if (got <= 0) {
                rp_log_error(RP_LOG_ERR,
                             "a file being sent was truncated, client: %s, request: %" PRIu64,
                             c->peer_addr, r->id);
                rp_conn_close(c); /* the file shrank: never a short body */
                return -1;
            }
            z->last += (size_t)got;
            r->file_off += got;
            r->file_left -= (uint64_t)got;
        }
        int rc = chain_step(r, r->file_left ? RP_FILTER_RUN : RP_FILTER_FINISH);
        if (rc < 0) {
            rp_conn_close(c);
            return -1;
        }
        if (r->zfinished && r->out_framing == RP_OUT_CHUNKED &&
            rp__out_add(r, "0\r\n\r\n", 5) != RP_OK) {
            rp_conn_close(c);
            return -1;
        }
    }
    rp_timer_set(&c->w->loop, &c->resume, 0); /* others' turn; continue after */
    return 0;
}
