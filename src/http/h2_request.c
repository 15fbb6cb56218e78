/* HTTP/2 request head collection and validation (RFC 9113 8.2, 8.3).
 *
 * nghttp2 checks most of this too (its HTTP messaging layer is left on);
 * the rules are restated here so what reaches the proxy does not depend on
 * a library version, and so the request is shaped like an HTTP/1 one
 * (h1_parser.h): every byte that could change meaning when the request is
 * re-serialised as HTTP/1.1 towards a backend is refused here. */
#include "http/h2_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"

/* RFC 9110 5.6.2 tchar, upper case excluded: RFC 9113 8.2.1 makes field
 * names with upper-case letters malformed. */
static int lc_tchar(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return 1;
    if (c >= '0' && c <= '9')
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int tchar(unsigned char c)
{
    return lc_tchar(c) || (c >= 'A' && c <= 'Z');
}

/* RFC 9113 8.2.1: no NUL, CR or LF, no leading or trailing SP/HTAB. Other
 * controls are refused as the HTTP/1 parser refuses them: the value may be
 * written into an HTTP/1.1 head. */
static int value_ok(const uint8_t *v, size_t n)
{
    if (n && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return 0;
    return 1;
}

static int eq_lit(const uint8_t *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

static int append(rp__h2_stream_t *st, size_t limit, const uint8_t *p, size_t n, uint32_t *off)
{
    if (st->hlen + n > limit)
        return RP_ERROR;
    if (st->hlen + n > st->hcap) {
        size_t cap = st->hcap ? st->hcap : 512;
        while (cap < st->hlen + n)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        char *b = realloc(st->hbuf, cap);
        if (b == NULL)
            return RP_ERROR;
        st->hbuf = b;
        st->hcap = cap;
    }
    if (n)
        memcpy(st->hbuf + st->hlen, p, n);
    *off = (uint32_t)st->hlen;
    st->hlen += n;
    return RP_OK;
}

static int parse_cl(const uint8_t *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 19)
        return RP_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return RP_ERROR;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return RP_OK;
}

static void fail(rp__h2_stream_t *st, const char *why)
{
    if (st->error == NULL)
        st->error = why;
}

void rp__h2_request_field(rp__h2_stream_t *st, size_t limit, const uint8_t *name, size_t nl,
                          const uint8_t *value, size_t vl)
{
    if (st->error)
        return;
    if (nl == 0) {
        fail(st, "empty field name");
        return;
    }
    if (!value_ok(value, vl)) {
        fail(st, "invalid field value");
        return;
    }

    if (name[0] == ':') {
        static const char *const pseudo[RP__H2_NPSEUDO] = { ":method", ":scheme", ":authority",
                                                            ":path" };
        int k;
        /* RFC 9113 8.3: pseudo-header fields come first, each once, and
         * only the defined ones (:protocol needs RFC 8441, not offered). */
        if (st->regular_seen) {
            fail(st, "pseudo-header after regular field");
            return;
        }
        for (k = 0; k < RP__H2_NPSEUDO; k++)
            if (eq_lit(name, nl, pseudo[k]))
                break;
        if (k == RP__H2_NPSEUDO) {
            fail(st, "unknown pseudo-header");
            return;
        }
        if (st->pseudo_seen & (1u << k)) {
            fail(st, "repeated pseudo-header");
            return;
        }
        st->pseudo_seen |= 1u << k;
        if (append(st, limit, value, vl, &st->pseudo[k].off) != RP_OK) {
            fail(st, "out of memory");
            return;
        }
        st->pseudo[k].len = (uint32_t)vl;
        return;
    }

    st->regular_seen = 1;
    for (size_t i = 0; i < nl; i++) {
        if (!lc_tchar(name[i])) {
            fail(st, "invalid field name");
            return;
        }
    }
    /* RFC 9113 8.2.2: connection-specific fields make the request
     * malformed; TE may only say "trailers". */
    if (eq_lit(name, nl, "connection") || eq_lit(name, nl, "keep-alive") ||
        eq_lit(name, nl, "proxy-connection") || eq_lit(name, nl, "transfer-encoding") ||
        eq_lit(name, nl, "upgrade")) {
        fail(st, "connection-specific field");
        return;
    }
    if (eq_lit(name, nl, "te") && !rp_str_caseeq_lit(rp_str((const char *)value, vl), "trailers")) {
        fail(st, "TE other than trailers");
        return;
    }
    int is_cookie = eq_lit(name, nl, "cookie");
    if (eq_lit(name, nl, "content-length")) {
        uint64_t cl;
        /* Several equal values are one; differing ones are a smuggling
         * risk once forwarded (RFC 9110 8.6). */
        if (parse_cl(value, vl, &cl) != RP_OK || (st->has_cl && cl != st->content_length)) {
            fail(st, "invalid content-length");
            return;
        }
        st->has_cl = 1;
        st->content_length = cl;
    }

    if (st->nfo == st->cfo) {
        size_t c = st->cfo ? st->cfo * 2 : 16;
        void *f = realloc(st->fo, c * sizeof(*st->fo));
        if (f == NULL) {
            fail(st, "out of memory");
            return;
        }
        st->fo = f;
        st->cfo = c;
    }
    rp__h2_foff_t *fo = &st->fo[st->nfo];
    if (append(st, limit, name, nl, &fo->no) != RP_OK ||
        append(st, limit, value, vl, &fo->vo) != RP_OK) {
        fail(st, "out of memory");
        return;
    }
    fo->nl = (uint32_t)nl;
    fo->vl = (uint32_t)vl;
    fo->cookie = is_cookie;
    if (eq_lit(name, nl, "host")) {
        if (st->host_idx) {
            fail(st, "several host fields");
            return;
        }
        st->host_idx = (uint32_t)st->nfo + 1;
    }
    st->nfo++;
}

static rp_str_t at(const rp__h2_stream_t *st, uint32_t off, uint32_t len)
{
    return rp_str(st->hbuf + off, len);
}

/* RFC 3986 authority without userinfo (RFC 9113 8.3.1): host chars, IP
 * literals and a port; nothing that would change the target's meaning. */
static int authority_ok(rp_str_t a)
{
    if (a.len == 0)
        return 0;
    for (size_t i = 0; i < a.len; i++) {
        unsigned char c = (unsigned char)a.data[i];
        if (c <= 0x20 || c >= 0x7f || c == '@' || c == '/' || c == '?' || c == '#' || c == '\\')
            return 0;
    }
    return 1;
}

const char *rp__h2_request_build(rp__h2_stream_t *st, size_t limit, int end_stream,
                                 rp_h2_request_t *req)
{
    if (st->error)
        return st->error;
    if (!(st->pseudo_seen & (1u << RP__H2_METHOD)))
        return "missing :method";

    rp_str_t method = at(st, st->pseudo[RP__H2_METHOD].off, st->pseudo[RP__H2_METHOD].len);
    if (method.len == 0)
        return "empty :method";
    for (size_t i = 0; i < method.len; i++)
        if (!tchar((unsigned char)method.data[i]))
            return "invalid :method";
    int mid = rp_http_method_id(method);
    /* RFC 9113 8.5: CONNECT is a tunnel; rampart does not offer one yet. */
    if (mid == RP_METHOD_CONNECT)
        return "CONNECT not supported";

    /* RFC 9113 8.3.1: :method, :scheme and :path are mandatory. */
    if ((st->pseudo_seen & ((1u << RP__H2_SCHEME) | (1u << RP__H2_PATH))) !=
        ((1u << RP__H2_SCHEME) | (1u << RP__H2_PATH)))
        return "missing :scheme or :path";
    rp_str_t scheme = at(st, st->pseudo[RP__H2_SCHEME].off, st->pseudo[RP__H2_SCHEME].len);
    if (!rp_str_eq(scheme, RP_STR("http")) && !rp_str_eq(scheme, RP_STR("https")))
        return "unsupported :scheme";
    rp_str_t path = at(st, st->pseudo[RP__H2_PATH].off, st->pseudo[RP__H2_PATH].len);
    if (path.len == 0)
        return "empty :path";
    if (path.data[0] == '*') {
        if (path.len != 1 || mid != RP_METHOD_OPTIONS)
            return "asterisk :path outside OPTIONS";
    } else if (path.data[0] != '/') {
        return ":path not absolute";
    }
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.data[i];
        if (c <= 0x20 || c == 0x7f)
            return "invalid :path";
    }

    rp_str_t authority = RP_NULL_STR, host = RP_NULL_STR;
    int has_auth = (st->pseudo_seen & (1u << RP__H2_AUTHORITY)) != 0;
    if (has_auth)
        authority = at(st, st->pseudo[RP__H2_AUTHORITY].off, st->pseudo[RP__H2_AUTHORITY].len);
    if (st->host_idx) {
        const rp__h2_foff_t *h = &st->fo[st->host_idx - 1];
        host = at(st, h->vo, h->vl);
    }
    /* RFC 9113 8.3.1: a Host naming another origin than :authority is
     * malformed; routing would otherwise see one name and the backend
     * another. */
    if (has_auth && st->host_idx && !rp_str_caseeq(authority, host))
        return "host differs from :authority";
    if (!has_auth)
        authority = host;
    if (!authority_ok(authority))
        return "missing or invalid authority";

    if (end_stream && st->has_cl && st->content_length != 0)
        return "content-length without body";

    /* Cookie crumbs (RFC 9113 8.2.3) become one field, joined with "; ",
     * at the first crumb's position. The joined value is appended to the
     * stream's buffer, which may move: slices are made afterwards. */
    size_t ncookie = 0, first_cookie = 0;
    uint32_t joined_off = 0, joined_len = 0;
    for (size_t i = 0; i < st->nfo; i++) {
        if (st->fo[i].cookie) {
            if (ncookie++ == 0)
                first_cookie = i;
        }
    }
    if (ncookie > 1) {
        size_t total = 0;
        for (size_t i = 0; i < st->nfo; i++)
            if (st->fo[i].cookie)
                total += st->fo[i].vl + 2;
        total -= 2;
        if (st->hlen + total > 2 * limit)
            return "cookie too large";
        if (st->hlen + total > st->hcap) {
            char *b = realloc(st->hbuf, st->hlen + total);
            if (b == NULL)
                return "out of memory";
            st->hbuf = b;
            st->hcap = st->hlen + total;
        }
        /* sources lie below hlen, the destination above: no overlap */
        joined_off = (uint32_t)st->hlen;
        for (size_t i = 0, n = 0; i < st->nfo; i++) {
            if (!st->fo[i].cookie)
                continue;
            if (n++) {
                memcpy(st->hbuf + st->hlen, "; ", 2);
                st->hlen += 2;
            }
            memcpy(st->hbuf + st->hlen, st->hbuf + st->fo[i].vo, st->fo[i].vl);
            st->hlen += st->fo[i].vl;
        }
        joined_len = (uint32_t)total;
    }

    size_t nout = st->nfo - (ncookie > 1 ? ncookie - 1 : 0);
    st->fields = malloc((nout ? nout : 1) * sizeof(*st->fields));
    if (st->fields == NULL)
        return "out of memory";
    size_t k = 0;
    for (size_t i = 0; i < st->nfo; i++) {
        const rp__h2_foff_t *f = &st->fo[i];
        if (f->cookie && ncookie > 1) {
            if (i != first_cookie)
                continue;
            st->fields[k].name = at(st, f->no, f->nl);
            st->fields[k].value = at(st, joined_off, joined_len);
        } else {
            st->fields[k].name = at(st, f->no, f->nl);
            st->fields[k].value = at(st, f->vo, f->vl);
        }
        k++;
    }
    RP_ASSERT(k == nout);

    memset(req, 0, sizeof(*req));
    /* Re-slice everything now that the buffer no longer moves. */
    req->method = at(st, st->pseudo[RP__H2_METHOD].off, st->pseudo[RP__H2_METHOD].len);
    req->method_id = mid;
    req->scheme = at(st, st->pseudo[RP__H2_SCHEME].off, st->pseudo[RP__H2_SCHEME].len);
    req->path = at(st, st->pseudo[RP__H2_PATH].off, st->pseudo[RP__H2_PATH].len);
    if (has_auth)
        req->authority = at(st, st->pseudo[RP__H2_AUTHORITY].off, st->pseudo[RP__H2_AUTHORITY].len);
    else
        req->authority = at(st, st->fo[st->host_idx - 1].vo, st->fo[st->host_idx - 1].vl);
    req->fields = st->fields;
    req->nfields = nout;
    req->end_stream = end_stream;
    req->has_content_length = st->has_cl;
    req->content_length = st->content_length;
    return NULL;
}
