/* Values of variables for one request, and the access log line. */
#include "core/common.h"
#include "core/log.h"
#include "proxy/session.h"
#include "tls/tls.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <pcre2.h>
#include <inttypes.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

/* xorshift128+ per thread, seeded from the kernel */
static __thread uint64_t rng_s[2];

uint64_t rp_random64(void)
{
    if (!rng_s[0] && !rng_s[1]) {
        if (getrandom(rng_s, sizeof(rng_s), 0) != sizeof(rng_s) || (!rng_s[0] && !rng_s[1])) {
            rng_s[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&rng_s;
            rng_s[1] = 0x9E3779B97F4A7C15ull;
        }
    }
    uint64_t x = rng_s[0], y = rng_s[1];
    rng_s[0] = y;
    x ^= x << 23;
    rng_s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return rng_s[1] + y;
}

static rp_str_t fmt(rp_arena_t *a, const char *f, ...) __attribute__((format(printf, 2, 3)));

static rp_str_t fmt(rp_arena_t *a, const char *f, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(tmp, sizeof(tmp), f, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    return rp_arena_str(a, rp_str(tmp, (size_t)n));
}

/* "$http_x_forwarded_for": '_' in the variable matches '-' in the field. */
static int name_matches(rp_str_t field, rp_str_t var)
{
    if (field.len != var.len)
        return 0;
    for (size_t i = 0; i < var.len; i++) {
        char f = rp_lower(field.data[i]);
        char v = var.data[i];
        if (f == '-')
            f = '_';
        if (f != v)
            return 0;
    }
    return 1;
}

static int find_fields(const rp_http_field_t *fields, size_t n, rp_str_t var, rp_arena_t *a,
                       rp_str_t *out, const char *sep)
{
    rp_str_t first = RP_NULL_STR;
    size_t count = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        if (name_matches(fields[i].name, var)) {
            if (!count)
                first = fields[i].value;
            count++;
            total += fields[i].value.len + strlen(sep);
        }
    if (!count)
        return RP_DECLINED;
    if (count == 1) {
        *out = first;
        return RP_OK;
    }
    char *p = rp_arena_alloc(a, total);
    if (!p)
        return RP_ERROR;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (name_matches(fields[i].name, var)) {
            if (len) {
                memcpy(p + len, sep, strlen(sep));
                len += strlen(sep);
            }
            memcpy(p + len, fields[i].value.data, fields[i].value.len);
            len += fields[i].value.len;
        }
    *out = rp_str(p, len);
    return RP_OK;
}

rp_str_t rp_req_field(rp_req_t *r, const char *name)
{
    rp_str_t v;
    if (find_fields(r->h.fields, r->h.nfields, rp_str_cstr(name), &r->arena, &v, ", ") != RP_OK)
        return RP_NULL_STR;
    return v;
}

static rp_str_t req_field(const rp_req_t *r, const char *name)
{
    for (size_t i = 0; i < r->h.nfields; i++)
        if (rp_str_caseeq_cstr(r->h.fields[i].name, name))
            return r->h.fields[i].value;
    return RP_NULL_STR;
}

static int arg_value(rp_str_t args, rp_str_t name, rp_str_t *out)
{
    size_t i = 0;
    while (i <= args.len && args.len) {
        size_t j = i;
        while (j < args.len && args.data[j] != '&')
            j++;
        rp_str_t kv = rp_str(args.data + i, j - i);
        const char *eq = memchr(kv.data, '=', kv.len);
        rp_str_t k = eq ? rp_str(kv.data, (size_t)(eq - kv.data)) : kv;
        if (rp_str_caseeq(k, name)) {
            *out = eq ? rp_str(eq + 1, kv.len - k.len - 1) : RP_NULL_STR;
            return RP_OK;
        }
        i = j + 1;
        if (j >= args.len)
            break;
    }
    return RP_DECLINED;
}

static int cookie_value(rp_str_t cookies, rp_str_t name, rp_str_t *out)
{
    size_t i = 0;
    while (i < cookies.len) {
        size_t j = i;
        while (j < cookies.len && cookies.data[j] != ';')
            j++;
        rp_str_t kv = rp_str_trim(rp_str(cookies.data + i, j - i));
        const char *eq = memchr(kv.data, '=', kv.len);
        if (eq) {
            rp_str_t k = rp_str(kv.data, (size_t)(eq - kv.data));
            if (rp_str_caseeq(k, name)) {
                *out = rp_str(eq + 1, kv.len - k.len - 1);
                return RP_OK;
            }
        }
        i = j + 1;
    }
    return RP_DECLINED;
}

static rp_str_t ms_text(rp_arena_t *a, uint64_t ms)
{
    return fmt(a, "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
}

/* A named group of the matched location regex, else of the server_name
 * regex that chose the server (matched again here, only when used). */
static int named_capture(rp_req_t *r, rp_str_t name, rp_arena_t *a, rp_str_t *out)
{
    char nm[64];
    if (name.len >= sizeof(nm))
        return RP_DECLINED;
    memcpy(nm, name.data, name.len);
    nm[name.len] = '\0';
    if (r->loc && r->loc->re && r->ncaps > 0) {
        int g = pcre2_substring_number_from_name(r->loc->re, (PCRE2_SPTR)nm);
        if (g >= 0 && g < r->ncaps && r->caps[2 * g] >= 0) {
            *out = rp_str(r->path.data + r->caps[2 * g],
                          (size_t)(r->caps[2 * g + 1] - r->caps[2 * g]));
            return RP_OK;
        }
    }
    for (size_t i = 0; r->srv && i < r->srv->nnames; i++) {
        const rp_server_name_t *sn = &r->srv->names[i];
        if (sn->kind != RP_NAME_REGEX || !sn->re)
            continue;
        int g = pcre2_substring_number_from_name(sn->re, (PCRE2_SPTR)nm);
        if (g < 0)
            continue;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(sn->re, NULL);
        if (!md)
            return RP_ERROR;
        int rc = pcre2_match(sn->re, (PCRE2_SPTR)r->h.host.data, r->h.host.len, 0, 0, md, NULL);
        int found = RP_DECLINED;
        if (rc > g) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[2 * g] != PCRE2_UNSET) {
                *out =
                    rp_arena_str(a, rp_str(r->h.host.data + ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
                found = RP_OK;
            }
        }
        pcre2_match_data_free(md);
        if (found == RP_OK || rc >= 0)
            return found;
    }
    return RP_DECLINED;
}

int rp_req_var(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    rp_req_t *r = ctx;
    rp_conn_t *c = r->c;
    rp_worker_t *w = c->w;
    switch (ref->id) {
    case RP_VAR_HOST:
        if (r->h.host.len) {
            *out = r->h.host;
            return RP_OK;
        }
        if (r->srv && r->srv->nnames) {
            *out = r->srv->names[0].name;
            return RP_OK;
        }
        return RP_DECLINED;
    case RP_VAR_REMOTE_ADDR:
        *out = rp_str_cstr(c->peer_addr);
        return RP_OK;
    case RP_VAR_REMOTE_PORT:
        *out = rp_str_cstr(c->peer_port);
        return RP_OK;
    case RP_VAR_SERVER_ADDR: {
        /* the connection's own local address (a wildcard listen tells
         * nothing), asked of the kernel only when a config uses it */
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char buf[INET6_ADDRSTRLEN];
        if (getsockname(c->io.fd, (struct sockaddr *)&ss, &len) != 0)
            return RP_DECLINED;
        const void *ap = ss.ss_family == AF_INET6
                             ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                             : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (!inet_ntop(ss.ss_family, ap, buf, sizeof(buf)))
            return RP_DECLINED;
        *out = rp_arena_str(a, rp_str_cstr(buf));
        return RP_OK;
    }
    case RP_VAR_SERVER_PORT:
        *out = rp_str_cstr(c->local_port);
        return RP_OK;
    case RP_VAR_SERVER_NAME:
        if (r->srv && r->srv->nnames) {
            *out = r->srv->names[0].name;
            return RP_OK;
        }
        *out = RP_STR("");
        return RP_OK;
    case RP_VAR_SERVER_PROTOCOL:
        *out = c->parent            ? RP_STR("HTTP/2.0")
               : r->h.version_minor ? RP_STR("HTTP/1.1")
                                    : RP_STR("HTTP/1.0");
        return RP_OK;
    case RP_VAR_SCHEME:
        *out = c->ls->ssl ? RP_STR("https") : RP_STR("http");
        return RP_OK;
    case RP_VAR_HTTPS:
        *out = c->ls->ssl ? RP_STR("on") : RP_STR("");
        return RP_OK;
    case RP_VAR_REQUEST_URI:
        *out = r->request_uri;
        return RP_OK;
    case RP_VAR_URI:
        *out = r->path;
        return RP_OK;
    case RP_VAR_ARGS:
        *out = r->args;
        return r->args.data ? RP_OK : RP_DECLINED;
    case RP_VAR_IS_ARGS:
        *out = r->args.data ? RP_STR("?") : RP_STR("");
        return RP_OK;
    case RP_VAR_REQUEST_METHOD:
        *out = r->h.method;
        return RP_OK;
    case RP_VAR_REQUEST: {
        /* the request line as received, without CRLF */
        if (!r->head)
            return RP_DECLINED;
        const char *e = memchr(r->head, '\n', r->h.head_len);
        size_t n = e ? (size_t)(e - r->head) : 0;
        if (n && r->head[n - 1] == '\r')
            n--;
        *out = rp_str(r->head, n);
        return RP_OK;
    }
    case RP_VAR_REQUEST_LENGTH:
        *out = fmt(a, "%" PRIu64, (uint64_t)r->h.head_len + r->body_received);
        return RP_OK;
    case RP_VAR_REQUEST_TIME: {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ms = (now.tv_sec - r->start_ts.tv_sec) * 1000 +
                     (now.tv_nsec - r->start_ts.tv_nsec) / 1000000;
        *out = ms_text(a, ms < 0 ? 0 : (uint64_t)ms);
        return RP_OK;
    }
    case RP_VAR_REQUEST_ID:
        /* 128 random bits per request, from a per-thread generator seeded
         * by the kernel: unique and unpredictable enough for tracing */
        if (!r->request_id[0]) {
            uint64_t a1 = rp_random64(), a2 = rp_random64();
            snprintf(r->request_id, sizeof(r->request_id), "%016" PRIx64 "%016" PRIx64, a1, a2);
        }
        *out = rp_str(r->request_id, 32);
        return RP_OK;
    case RP_VAR_CONTENT_LENGTH:
        *out = req_field(r, "content-length");
        return out->data ? RP_OK : RP_DECLINED;
    case RP_VAR_CONTENT_TYPE:
        *out = req_field(r, "content-type");
        return out->data ? RP_OK : RP_DECLINED;
    case RP_VAR_PROXY_HOST:
        if (r->lc && r->lc->proxy_pass) {
            *out = r->lc->proxy_pass->host;
            return RP_OK;
        }
        return RP_DECLINED;
    case RP_VAR_PROXY_PORT:
        if (r->lc && r->lc->proxy_pass) {
            *out = r->lc->proxy_pass->port;
            return RP_OK;
        }
        return RP_DECLINED;
    case RP_VAR_PROXY_ADD_X_FORWARDED_FOR: {
        rp_str_t xff;
        rp_str_t addr = rp_str_cstr(c->peer_addr);
        if (find_fields(r->h.fields, r->h.nfields, RP_STR("x_forwarded_for"), a, &xff, ", ") !=
            RP_OK) {
            *out = addr;
            return RP_OK;
        }
        char *p = rp_arena_alloc(a, xff.len + 2 + addr.len);
        if (!p)
            return RP_ERROR;
        memcpy(p, xff.data, xff.len);
        memcpy(p + xff.len, ", ", 2);
        memcpy(p + xff.len + 2, addr.data, addr.len);
        *out = rp_str(p, xff.len + 2 + addr.len);
        return RP_OK;
    }
    case RP_VAR_STATUS:
        *out = fmt(a, "%03d", r->status ? r->status : 0);
        return RP_OK;
    case RP_VAR_BODY_BYTES_SENT:
        *out = fmt(a, "%" PRIu64, r->body_sent);
        return RP_OK;
    case RP_VAR_GZIP_RATIO:
        /* body bytes before compression over bytes sent (compressed
         * responses, without gunzip) */
        if (!r->zchain || r->zcoding < 0 || r->zgunzip || !r->body_sent)
            return RP_DECLINED;
        *out = fmt(a, "%.2f", (double)r->zin_total / (double)r->body_sent);
        return RP_OK;
    case RP_VAR_BYTES_SENT:
        *out = fmt(a, "%" PRIu64, r->bytes_sent);
        return RP_OK;
    case RP_VAR_UPSTREAM_ADDR:
        if (!r->upstream_addr)
            return RP_DECLINED;
        *out = rp_str_cstr(r->upstream_addr);
        return RP_OK;
    case RP_VAR_UPSTREAM_STATUS:
        if (!r->upstream_status)
            return RP_DECLINED;
        *out = fmt(a, "%d", r->upstream_status);
        return RP_OK;
    case RP_VAR_UPSTREAM_RESPONSE_TIME:
        if (!r->up_start_ms)
            return RP_DECLINED;
        *out = ms_text(a, (r->up_end_ms ? r->up_end_ms : w->loop.now) - r->up_start_ms);
        return RP_OK;
    case RP_VAR_UPSTREAM_HEADER_TIME:
        if (!r->up_header_ms)
            return RP_DECLINED;
        *out = ms_text(a, r->up_header_ms - r->up_start_ms);
        return RP_OK;
    case RP_VAR_UPSTREAM_CONNECT_TIME:
        if (!r->up_start_ms)
            return RP_DECLINED;
        *out = ms_text(a, r->up_connect_ms ? r->up_connect_ms - r->up_start_ms : 0);
        return RP_OK;
    case RP_VAR_UPSTREAM_CACHE_STATUS:
        return RP_DECLINED;
    case RP_VAR_TIME_LOCAL:
        rp_worker_update_time(w);
        *out = rp_arena_str(a, rp_str_cstr(w->time_local));
        return RP_OK;
    case RP_VAR_TIME_ISO8601:
        rp_worker_update_time(w);
        *out = rp_arena_str(a, rp_str_cstr(w->time_iso8601));
        return RP_OK;
    case RP_VAR_MSEC: {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        *out = fmt(a, "%lld.%03ld", (long long)now.tv_sec, now.tv_nsec / 1000000);
        return RP_OK;
    }
    case RP_VAR_CONNECTION:
        *out = fmt(a, "%" PRIu64, c->id);
        return RP_OK;
    case RP_VAR_CONNECTION_REQUESTS:
        *out = fmt(a, "%" PRIu64, c->nrequests);
        return RP_OK;
    case RP_VAR_REMOTE_USER:
        return RP_DECLINED;
    case RP_VAR_SSL_PROTOCOL:
    case RP_VAR_SSL_CIPHER:
    case RP_VAR_SSL_SERVER_NAME: {
        if (!c->tpctx)
            return RP_DECLINED;
        const char *v = ref->id == RP_VAR_SSL_PROTOCOL ? rp_tls_protocol(c->tpctx)
                        : ref->id == RP_VAR_SSL_CIPHER ? rp_tls_cipher(c->tpctx)
                                                       : rp_tls_server_name(c->tpctx);
        if (!v)
            return RP_DECLINED;
        *out = rp_str_cstr(v);
        return RP_OK;
    }
    case RP_VAR_SSL_SESSION_REUSED:
        if (!c->tpctx)
            return RP_DECLINED;
        *out = rp_tls_session_reused(c->tpctx) ? RP_STR("r") : RP_STR(".");
        return RP_OK;
    case RP_VAR_SSL_CLIENT_VERIFY: {
        if (!c->tpctx)
            return RP_DECLINED;
        const char *v = rp_tls_client_verify(c->tpctx);
        *out = rp_arena_str(a, rp_str_cstr(v ? v : "NONE"));
        return RP_OK;
    }
    case RP_VAR_SSL_CLIENT_S_DN:
    case RP_VAR_SSL_CLIENT_FINGERPRINT: {
        char buf[1024];
        if (!c->tpctx)
            return RP_DECLINED;
        int n = ref->id == RP_VAR_SSL_CLIENT_S_DN
                    ? rp_tls_client_s_dn(c->tpctx, buf, sizeof(buf))
                    : rp_tls_client_fingerprint(c->tpctx, buf, sizeof(buf));
        if (n <= 0)
            return RP_DECLINED;
        *out = rp_arena_str(a, rp_str(buf, (size_t)n));
        return RP_OK;
    }
    case RP_VAR_HOSTNAME: {
        char hn[256];
        if (gethostname(hn, sizeof(hn)) != 0)
            return RP_DECLINED;
        hn[sizeof(hn) - 1] = '\0';
        *out = rp_arena_str(a, rp_str_cstr(hn));
        return RP_OK;
    }
    case RP_VAR_PID:
        *out = fmt(a, "%d", (int)getpid());
        return RP_OK;
    case RP_VAR_HTTP_:
        return find_fields(r->h.fields, r->h.nfields, ref->arg, a, out,
                           rp_str_eq(ref->arg, RP_STR("cookie")) ? "; " : ", ");
    case RP_VAR_SENT_HTTP_:
    case RP_VAR_UPSTREAM_HTTP_:
        if (!r->resp_head)
            return RP_DECLINED;
        return find_fields(r->resp.fields, r->resp.nfields, ref->arg, a, out, ", ");
    case RP_VAR_COOKIE_: {
        rp_str_t all;
        if (find_fields(r->h.fields, r->h.nfields, RP_STR("cookie"), a, &all, "; ") != RP_OK)
            return RP_DECLINED;
        return cookie_value(all, ref->arg, out);
    }
    case RP_VAR_ARG_:
        return arg_value(r->args, ref->arg, out);
    case RP_VAR_NAMED_CAPTURE:
        return named_capture(r, ref->arg, a, out);
    case RP_VAR_CAPTURE:
        if (ref->index < r->ncaps && r->caps[2 * ref->index] >= 0) {
            *out = rp_str(r->path.data + r->caps[2 * ref->index],
                          (size_t)(r->caps[2 * ref->index + 1] - r->caps[2 * ref->index]));
            return RP_OK;
        }
        return RP_DECLINED;
    default:
        return RP_DECLINED;
    }
}

/* Characters an access log line never contains raw (nginx's default
 * escaping): '"', '\\', controls and bytes >= 0x7f become \xHH. */
static size_t escape_into(char *dst, rp_str_t s, int mode)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (mode == RP_LOG_ESCAPE_NONE) {
        memcpy(dst, s.data, s.len);
        return s.len;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.data[i];
        if (mode == RP_LOG_ESCAPE_JSON) {
            /* JSON string escaping (RFC 8259 7); bytes >= 0x80 pass */
            if (ch == '"' || ch == '\\') {
                dst[n++] = '\\';
                dst[n++] = (char)ch;
            } else if (ch < 0x20) {
                const char *e = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : NULL;
                if (e) {
                    dst[n++] = e[0];
                    dst[n++] = e[1];
                } else {
                    memcpy(dst + n, "\\u00", 4);
                    n += 4;
                    dst[n++] = hex[ch >> 4];
                    dst[n++] = hex[ch & 15];
                }
            } else {
                dst[n++] = (char)ch;
            }
            continue;
        }
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = hex[ch >> 4];
            dst[n++] = hex[ch & 15];
        } else {
            dst[n++] = (char)ch;
        }
    }
    return n;
}

static void log_buffered(rp_worker_t *w, const rp_access_log_t *al, const char *line, size_t n);

void rp_req_access_log(rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    if (!lc || !lc->naccess_logs)
        return;
    for (size_t i = 0; i < lc->naccess_logs; i++) {
        const rp_access_log_t *al = &lc->access_logs[i];
        if (!al->file || !al->format)
            continue;
        const rp_tpl_t *t = al->format->tpl;
        /* evaluate part by part so variable values can be escaped */
        size_t cap = 256;
        rp_str_t stackvals[64];
        rp_str_t *vals = stackvals;
        size_t np = t->nparts;
        if (np > RP_ARRAY_LEN(stackvals)) {
            vals = rp_arena_alloc(&r->arena, np * sizeof(*vals));
            if (!vals)
                continue;
        }
        for (size_t k = 0; k < np; k++) {
            const rp_tpl_part_t *p = &t->parts[k];
            if (p->var.id == RP_VAR_NONE) {
                vals[k] = p->lit;
            } else {
                rp_tpl_t one = { .raw = RP_NULL_STR, .parts = (rp_tpl_part_t *)p, .nparts = 1 };
                if (rp_tpl_eval(&one, rp_req_var, r, &r->arena, &vals[k]) != RP_OK)
                    vals[k] = RP_NULL_STR;
                if (vals[k].len == 0 && al->format->escape != RP_LOG_ESCAPE_JSON)
                    vals[k] = RP_STR("-");
                cap += vals[k].len * 5;
            }
            cap += vals[k].len;
        }
        char *line = rp_arena_alloc(&r->arena, cap + 2);
        if (!line)
            continue;
        size_t n = 0;
        for (size_t k = 0; k < np; k++) {
            if (t->parts[k].var.id == RP_VAR_NONE) {
                memcpy(line + n, vals[k].data, vals[k].len);
                n += vals[k].len;
            } else {
                n += escape_into(line + n, vals[k], al->format->escape);
            }
        }
        line[n++] = '\n';
        if (al->buffer)
            log_buffered(r->c->w, al, line, n);
        else
            rp_log_file_write(al->file, line, n);
    }
}

/* access_log buffer=size [flush=time]: lines are collected per worker and
 * written when the buffer would overflow, when the oldest line is older
 * than `flush` (default 1 s here, so lines never wait long), and when the
 * worker stops. A pending buffer holds a reference on its file so a reload
 * that drops the file cannot free it under us. */
typedef struct {
    rp_log_file_t *file;
    char *buf;
    size_t len, cap;
    uint64_t since; /* loop time of the oldest buffered line */
    int64_t flush_ms;
} logbuf_t;

static __thread logbuf_t *logbufs;
static __thread size_t nlogbufs;

static void logbuf_write(logbuf_t *b)
{
    if (!b->file)
        return;
    if (b->len)
        rp_log_file_write(b->file, b->buf, b->len);
    b->len = 0;
    rp_log_file_release(b->file);
    b->file = NULL;
}

static void log_buffered(rp_worker_t *w, const rp_access_log_t *al, const char *line, size_t n)
{
    logbuf_t *b = NULL;
    for (size_t i = 0; i < nlogbufs; i++)
        if (logbufs[i].file == al->file)
            b = &logbufs[i];
    if (!b) {
        for (size_t i = 0; i < nlogbufs; i++)
            if (!logbufs[i].file)
                b = &logbufs[i];
        if (!b) {
            logbuf_t *nb = realloc(logbufs, (nlogbufs + 1) * sizeof(*nb));
            if (!nb) {
                rp_log_file_write(al->file, line, n);
                return;
            }
            logbufs = nb;
            b = &logbufs[nlogbufs++];
            memset(b, 0, sizeof(*b));
        }
        if (b->cap < al->buffer) {
            char *d = realloc(b->buf, al->buffer);
            if (!d) {
                rp_log_file_write(al->file, line, n);
                return;
            }
            b->buf = d;
            b->cap = al->buffer;
        }
        rp_log_file_ref(al->file);
        b->file = al->file;
        b->len = 0;
    }
    if (b->len + n > b->cap) {
        rp_log_file_write(b->file, b->buf, b->len);
        b->len = 0;
    }
    if (n > b->cap) {
        rp_log_file_write(b->file, line, n);
        return;
    }
    if (b->len == 0)
        b->since = w->loop.now;
    b->flush_ms = al->flush > 0 ? al->flush : 1000;
    memcpy(b->buf + b->len, line, n);
    b->len += n;
}

void rp_access_log_flush(rp_worker_t *w, int all)
{
    for (size_t i = 0; i < nlogbufs; i++) {
        logbuf_t *b = &logbufs[i];
        if (b->file && (all || w->loop.now - b->since >= (uint64_t)b->flush_ms))
            logbuf_write(b);
    }
    if (all) {
        for (size_t i = 0; i < nlogbufs; i++)
            free(logbufs[i].buf);
        free(logbufs);
        logbufs = NULL;
        nlogbufs = 0;
    }
}
