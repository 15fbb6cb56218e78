/* Request routing: server by Host, location by path, upstream URI.
 *
 * The rules are nginx's (ngx_http_validate_host, the virtual-server hashes,
 * ngx_http_core_find_location, ngx_http_parse_complex_uri and the URI part
 * of proxy_pass), re-derived from their documented behaviour. Everything
 * here works on an immutable configuration generation and request-owned
 * buffers; the only mutable state is one PCRE2 match-data block per thread.
 */
#include "proxy/route.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <string.h>

#include "core/common.h"

/* ---- per-thread regex match data ----
 *
 * A match-data block is sized by capture count; allocating one per request
 * would put malloc on the hot path. Each worker thread keeps one block and
 * grows it when a pattern with more captures comes along (only after a
 * reload, in practice). A thread-specific key frees it when the thread ends.
 */

static __thread pcre2_match_data *tl_md;
static __thread uint32_t tl_md_pairs;
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}

static void md_key_init(void)
{
    (void)pthread_key_create(&md_key, md_free);
}

static pcre2_match_data *match_data_for(uint32_t pairs)
{
    if (tl_md != NULL && tl_md_pairs >= pairs)
        return tl_md;

    if (pairs < 10)
        pairs = 10; /* $1..$9 cover nearly every config: grow once at most */
    pcre2_match_data *md = pcre2_match_data_create(pairs, NULL);
    if (md == NULL)
        return NULL;
    pthread_once(&md_once, md_key_init);
    if (tl_md != NULL)
        pcre2_match_data_free(tl_md);
    tl_md = md;
    tl_md_pairs = pairs;
    (void)pthread_setspecific(md_key, md);
    return md;
}

/* Runs `re` over s. Returns 1 on a match (captures copied to caps when
 * caps != NULL), 0 otherwise. A matching error (match limit, no memory) is
 * treated as no match: the request then falls through to the next rule,
 * which is never a wider permission than the regex would have given. */
static int regex_match(const void *re_, rp_str_t s, int *caps, int ncaps, int *ncaps_out)
{
    const pcre2_code *re = re_;
    if (re == NULL)
        return 0;
    uint32_t caps_in_re = 0;
    if (pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &caps_in_re) != 0)
        caps_in_re = 0;
    pcre2_match_data *md = match_data_for(caps_in_re + 1);
    if (md == NULL)
        return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)(s.data ? s.data : ""), s.len, 0, 0, md, NULL);
    if (rc < 0)
        return 0;
    if (caps != NULL && ncaps > 0) {
        uint32_t pairs = pcre2_get_ovector_count(md);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        int n = (int)RP_MIN((uint32_t)ncaps, RP_MIN(pairs, caps_in_re + 1));
        for (int i = 0; i < n; i++) {
            /* rc == 0 cannot happen (the block fits every pair); pairs
             * past rc were not set by this match */
            if ((rc > 0 && i >= rc) || ov[2 * i] == PCRE2_UNSET) {
                caps[2 * i] = -1;
                caps[2 * i + 1] = -1;
            } else {
                caps[2 * i] = (int)ov[2 * i];
                caps[2 * i + 1] = (int)ov[2 * i + 1];
            }
        }
        if (ncaps_out)
            *ncaps_out = n;
    } else if (ncaps_out) {
        *ncaps_out = 0;
    }
    return 1;
}

/* ---- Host ---- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* RFC 3986 3.2.2 reg-name: unreserved / sub-delims (pct-encoded is
 * refused: no DNS name needs it, and it would give one host two spellings).
 * Bytes
 * >= 0x80 are accepted as nginx does (raw UTF-8 names reach servers that
 * list them); '/' and '\' are refused above all, since a host ends up in
 * file paths and log lines. */
/* RFC 3986 2.3 unreserved and 2.2 sub-delims: the bytes a reg-name and a
 * path segment share. */
static int unreserved_or_subdelim(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

static int reg_name_char(unsigned char c)
{
    return c >= 0x80 || unreserved_or_subdelim(c);
}

static int port_ok(const char *p, size_t n)
{
    /* RFC 3986 3.2.3: port = *DIGIT (empty is allowed) */
    if (n > 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

int rp_route_normalize_host(rp_str_t host, char *out, size_t cap)
{
    const char *h = host.data;
    size_t n = host.len;

    if (n == 0)
        return 0; /* RFC 9112 3.2: empty Host is valid; default server */
    if (cap < n || h == NULL)
        return -1;

    if (h[0] == '[') {
        /* IP-literal (RFC 3986 3.2.2): "[" IPv6address "]"; the brackets
         * stay so that "[::1]" can be named in server_name. */
        size_t i = 1;
        int colons = 0;
        for (; i < n && h[i] != ']'; i++) {
            unsigned char c = (unsigned char)h[i];
            colons += c == ':';
            if (!(hexval(c) >= 0 || c == ':' || c == '.'))
                return -1;
        }
        if (i >= n || colons < 2)
            return -1;
        size_t end = i + 1;
        if (end < n && (h[end] != ':' || !port_ok(h + end + 1, n - end - 1)))
            return -1;
        for (size_t j = 0; j < end; j++)
            out[j] = rp_lower(h[j]);
        return (int)end;
    }

    size_t len = n;
    const char *colon = memchr(h, ':', n);
    if (colon != NULL) {
        len = (size_t)(colon - h);
        if (!port_ok(colon + 1, n - len - 1))
            return -1;
    }
    if (len == 0 || h[0] == '.')
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!reg_name_char(c))
            return -1;
        /* an empty label ("a..b", "a..") would let two spellings of one name
         * reach different servers */
        if (c == '.' && i + 1 < len && h[i + 1] == '.')
            return -1;
        out[i] = rp_lower((char)c);
    }
    /* one trailing dot names the same host (RFC 1034 3.1, absolute name) */
    if (h[len - 1] == '.')
        len--;
    if (len == 0)
        return -1;
    return (int)len;
}

/* ---- server ---- */

/* The stored text of a wildcard may or may not keep its dot; accept both
 * ("*.example.com" stored as ".example.com" or "example.com"). */
static rp_str_t name_base_dot(rp_str_t n)
{
    if (n.len > 0 && n.data[0] == '.')
        return rp_str(n.data + 1, n.len - 1);
    return n;
}

static rp_str_t name_tail_base(rp_str_t n)
{
    if (n.len > 0 && n.data[n.len - 1] == '.')
        return rp_str(n.data, n.len - 1);
    return n;
}

/* host ends with "." + base, with at least one character before the dot */
static int wild_start_match(rp_str_t host, rp_str_t base)
{
    if (host.len < base.len + 2)
        return 0;
    size_t off = host.len - base.len;
    return host.data[off - 1] == '.' && memcmp(host.data + off, base.data, base.len) == 0;
}

/* host begins with base + "." and has at least one character after it */
static int wild_end_match(rp_str_t host, rp_str_t base)
{
    if (host.len < base.len + 2)
        return 0;
    return host.data[base.len] == '.' && memcmp(host.data, base.data, base.len) == 0;
}

rp_server_t *rp_route_server(const rp_listen_t *ls, rp_str_t host)
{
    if (ls == NULL)
        return NULL;
    rp_server_t *dflt = ls->default_server;
    if (dflt == NULL && ls->nservers > 0)
        dflt = ls->servers[0];

    rp_server_t *head = NULL, *tail = NULL;
    size_t head_len = 0, tail_len = 0;
    int have_regex = 0;

    /* One pass: an exact name answers at once; the best wildcards are
     * remembered. Ties between equal wildcards go to the first in config
     * order (nginx warns "conflicting server name" and keeps the first). */
    for (size_t s = 0; s < ls->nservers; s++) {
        rp_server_t *srv = ls->servers[s];
        for (size_t i = 0; i < srv->nnames; i++) {
            const rp_server_name_t *nm = &srv->names[i];
            rp_str_t base;
            switch (nm->kind) {
            case RP_NAME_EXACT:
                if (nm->name.len == host.len &&
                    (host.len == 0 || memcmp(nm->name.data, host.data, host.len) == 0))
                    return srv;
                break;
            case RP_NAME_DOT:
                base = name_base_dot(nm->name);
                if (host.len == 0)
                    break;
                if (base.len == host.len && memcmp(base.data, host.data, host.len) == 0)
                    return srv;
                if (base.len + 1 > head_len && wild_start_match(host, base)) {
                    head = srv;
                    head_len = base.len + 1;
                }
                break;
            case RP_NAME_WILD_START:
                base = name_base_dot(nm->name);
                if (host.len && base.len + 1 > head_len && wild_start_match(host, base)) {
                    head = srv;
                    head_len = base.len + 1;
                }
                break;
            case RP_NAME_WILD_END:
                base = name_tail_base(nm->name);
                if (host.len && base.len + 1 > tail_len && wild_end_match(host, base)) {
                    tail = srv;
                    tail_len = base.len + 1;
                }
                break;
            case RP_NAME_REGEX:
                have_regex = 1;
                break;
            default:
                break;
            }
        }
    }
    if (head != NULL)
        return head;
    if (tail != NULL)
        return tail;
    if (host.len == 0 || !have_regex)
        return dflt;

    for (size_t s = 0; s < ls->nservers; s++) {
        rp_server_t *srv = ls->servers[s];
        for (size_t i = 0; i < srv->nnames; i++) {
            const rp_server_name_t *nm = &srv->names[i];
            if (nm->kind == RP_NAME_REGEX && regex_match(nm->re, host, NULL, 0, NULL))
                return srv;
        }
    }
    return dflt;
}

/* ---- location ---- */

enum { FIND_DECLINED = 0, FIND_AGAIN, FIND_OK };

typedef struct {
    rp_str_t path;
    int *caps;
    int ncaps;
    int *ncaps_out;
    rp_location_t *cur;
} find_ctx_t;

static int is_static(int m)
{
    return m == RP_LOC_PREFIX || m == RP_LOC_PREFIX_NOREGEX || m == RP_LOC_EXACT;
}

/* One level of ngx_http_core_find_location: the static search among
 * siblings, the recursion into the winner's nested locations, then this
 * level's regexes. Returns FIND_OK when the answer is final (exact or regex
 * match), FIND_AGAIN when a prefix was found (ctx->cur), else FIND_DECLINED. */
static int find_level(find_ctx_t *c, rp_location_t *const *locs, size_t n, int depth)
{
    rp_str_t path = c->path;
    rp_location_t *best = NULL;
    int rc = FIND_DECLINED;
    int noregex = 0;

    if (depth > 64) /* nesting is bounded by the loader; this is a seat belt */
        return FIND_DECLINED;

    /* Static locations: "=" wins only on equality; otherwise the longest
     * matching prefix. Compared case-sensitively (URIs are, RFC 3986 6.2.2.1,
     * and nginx on Linux does the same). */
    for (size_t i = 0; i < n; i++) {
        rp_location_t *l = locs[i];
        if (!is_static(l->match))
            continue;
        if (l->name.len > path.len || memcmp(l->name.data, path.data, l->name.len) != 0)
            continue;
        if (l->match == RP_LOC_EXACT) {
            if (l->name.len == path.len) {
                c->cur = l;
                if (c->ncaps_out)
                    *c->ncaps_out = 0;
                return FIND_OK;
            }
            continue;
        }
        if (best == NULL || l->name.len > best->name.len)
            best = l;
    }

    if (best != NULL) {
        c->cur = best;
        rc = FIND_AGAIN;
        /* nginx decides "^~" per level: the prefix found at this level
         * switches off this level's regexes; nested levels decide their own */
        noregex = best->match == RP_LOC_PREFIX_NOREGEX;
        if (best->nchildren > 0) {
            int r = find_level(c, best->children, best->nchildren, depth + 1);
            if (r == FIND_OK)
                return FIND_OK;
        }
    }

    if (noregex)
        return rc;

    for (size_t i = 0; i < n; i++) {
        rp_location_t *l = locs[i];
        if (l->match != RP_LOC_REGEX && l->match != RP_LOC_REGEX_ICASE)
            continue;
        if (!regex_match(l->re, path, c->caps, c->ncaps, c->ncaps_out))
            continue;
        c->cur = l;
        /* a regex location may hold nested regexes; the first of those
         * that matches refines the choice (and its captures win) */
        if (l->nchildren > 0) {
            /* a failed regex leaves caps alone, so the outer captures stay
             * when no nested regex matches */
            if (find_level(c, l->children, l->nchildren, depth + 1) != FIND_OK)
                c->cur = l;
        }
        return FIND_OK;
    }
    return rc;
}

rp_location_t *rp_route_location(const rp_server_t *srv, rp_str_t path, int *caps, int ncaps,
                                 int *ncaps_out)
{
    if (ncaps_out)
        *ncaps_out = 0;
    if (srv == NULL)
        return NULL;
    if (path.data == NULL)
        path = RP_STR("");
    find_ctx_t c = { path, caps, caps ? ncaps : 0, ncaps_out, NULL };
    (void)find_level(&c, srv->locations, srv->nlocations, 0);
    if (c.cur != NULL && c.cur->match != RP_LOC_REGEX && c.cur->match != RP_LOC_REGEX_ICASE &&
        ncaps_out)
        *ncaps_out = 0;
    return c.cur;
}

static rp_str_t strip_at(rp_str_t n)
{
    if (n.len > 0 && n.data[0] == '@')
        return rp_str(n.data + 1, n.len - 1);
    return n;
}

rp_location_t *rp_route_named(const rp_server_t *srv, rp_str_t name)
{
    if (srv == NULL)
        return NULL;
    name = strip_at(name);
    for (size_t i = 0; i < srv->nnamed_locations; i++) {
        rp_location_t *l = srv->named_locations[i];
        if (rp_str_eq(strip_at(l->name), name))
            return l;
    }
    /* a loader may also keep named locations in the ordinary list */
    for (size_t i = 0; i < srv->nlocations; i++) {
        rp_location_t *l = srv->locations[i];
        if (l->match == RP_LOC_NAMED && rp_str_eq(strip_at(l->name), name))
            return l;
    }
    return NULL;
}

/* ---- path normalisation ---- */

int rp_route_normalize_path(rp_str_t path, char *out, size_t cap)
{
    size_t n = path.len;
    if (path.data == NULL)
        return -1;
    const char *q = memchr(path.data, '?', n);
    if (q != NULL)
        n = (size_t)(q - path.data);
    if (n == 0 || path.data[0] != '/' || cap < n)
        return -1;

    /* 1. Percent-decoding (RFC 3986 2.1). A decoded "/" is a separator and
     * a decoded "." takes part in dot segments, as in nginx: otherwise
     * "/%2e%2e/" would reach a backend that decodes it as "/../". NUL is
     * refused in any form; it truncates paths in C backends. */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)path.data[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)path.data[i + 1]);
            int lo = hexval((unsigned char)path.data[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (ch == '\0')
            return -1;
        out[len++] = (char)ch;
    }

    /* 2. Merge slashes and remove dot segments (RFC 3986 5.2.4), in place:
     * the write index never passes the read index. ".." above the root is
     * an error rather than being clamped, as nginx answers 400. */
    size_t w = 1; /* out[0] == '/' stays */
    size_t r = 0;
    while (r < len) {
        while (r < len && out[r] == '/')
            r++;
        if (r >= len)
            break;
        size_t s = r;
        while (r < len && out[r] != '/')
            r++;
        size_t sl = r - s;
        int slash_after = r < len;
        if (sl == 1 && out[s] == '.')
            continue;
        if (sl == 2 && out[s] == '.' && out[s + 1] == '.') {
            if (w == 1)
                return -1;
            /* out[w-1] == '/'; drop the segment before it */
            w--;
            while (w > 0 && out[w - 1] != '/')
                w--;
            continue;
        }
        memmove(out + w, out + s, sl);
        w += sl;
        if (slash_after)
            out[w++] = '/';
    }
    return (int)w;
}

/* ---- upstream URI ---- */

/* RFC 3986 3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@",
 * plus "/" between segments. Everything else in a decoded path is escaped
 * so the backend receives a valid request-target: besides what nginx
 * escapes (space, "#", "%", "?", controls, non-ASCII) also '"', '<', '>',
 * '\', '^', '`', '{', '|', '}', '[' and ']', which strict parsers refuse. */
/* pchar (RFC 3986 3.3) plus '/': what stays unescaped in a path sent on. */
static int path_char_ok(unsigned char c)
{
    return unreserved_or_subdelim(c) || c == ':' || c == '@' || c == '/';
}

int rp_route_upstream_uri(const rp_proxy_pass_t *pass, const rp_location_t *loc,
                          rp_str_t request_uri, rp_str_t norm_path, rp_str_t args, rp_arena_t *a,
                          rp_str_t *out)
{
    static const char hex[] = "0123456789ABCDEF";

    if (pass == NULL || a == NULL || out == NULL)
        return RP_ERROR;

    if (!pass->has_uri) {
        /* proxy_pass without a URI part: the request URI as the client sent
         * it, so the backend sees exactly the bytes it would have seen. */
        char *p = rp_arena_alloc(a, request_uri.len + 1);
        if (p == NULL)
            return RP_ERROR;
        if (request_uri.len)
            memcpy(p, request_uri.data, request_uri.len);
        p[request_uri.len] = '\0';
        *out = rp_str(p, request_uri.len);
        return RP_OK;
    }

    rp_str_t prefix = RP_NULL_STR;
    rp_str_t rest = norm_path;
    if (loc != NULL && is_static(loc->match) && rp_str_has_prefix(norm_path, loc->name)) {
        prefix = pass->uri;
        rest = rp_str(norm_path.data + loc->name.len, norm_path.len - loc->name.len);
    }

    size_t esc = 0;
    for (size_t i = 0; i < rest.len; i++)
        if (!path_char_ok((unsigned char)rest.data[i]))
            esc++;
    size_t total = prefix.len + rest.len + 2 * esc + (args.len ? 1 + args.len : 0);
    char *p = rp_arena_alloc(a, total + 1);
    if (p == NULL)
        return RP_ERROR;
    char *w = p;
    if (prefix.len) {
        memcpy(w, prefix.data, prefix.len);
        w += prefix.len;
    }
    for (size_t i = 0; i < rest.len; i++) {
        unsigned char c = (unsigned char)rest.data[i];
        if (path_char_ok(c)) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    if (args.len) {
        /* the query goes as received: its encoding is the application's */
        *w++ = '?';
        memcpy(w, args.data, args.len);
        w += args.len;
    }
    *w = '\0';
    *out = rp_str(p, (size_t)(w - p));
    return RP_OK;
}
