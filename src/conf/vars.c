/* Variable names, string templates and `map` tables.
 *
 * Templates are compiled at configuration time into literal and variable
 * parts so the request path only concatenates. Maps follow nginx's map
 * module: exact keys win over wildcards, wildcards over regexes, regexes are
 * tried in config order, and exact matching ignores case.
 */
#include "conf/vars.h"
#include "core/common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

/* Maps whose source is another map nest; a cycle (a -> b -> a) would
 * otherwise recurse until the stack is gone. */
#define RP_MAP_MAX_NESTING 16

static const struct {
    const char *name;
    int id;
} builtin_vars[] = {
    { "host", RP_VAR_HOST },
    { "remote_addr", RP_VAR_REMOTE_ADDR },
    { "remote_port", RP_VAR_REMOTE_PORT },
    { "server_addr", RP_VAR_SERVER_ADDR },
    { "server_port", RP_VAR_SERVER_PORT },
    { "server_name", RP_VAR_SERVER_NAME },
    { "server_protocol", RP_VAR_SERVER_PROTOCOL },
    { "scheme", RP_VAR_SCHEME },
    { "https", RP_VAR_HTTPS },
    { "request_uri", RP_VAR_REQUEST_URI },
    { "uri", RP_VAR_URI },
    { "document_uri", RP_VAR_URI },
    { "args", RP_VAR_ARGS },
    { "query_string", RP_VAR_ARGS },
    { "is_args", RP_VAR_IS_ARGS },
    { "request_method", RP_VAR_REQUEST_METHOD },
    { "request", RP_VAR_REQUEST },
    { "request_length", RP_VAR_REQUEST_LENGTH },
    { "request_time", RP_VAR_REQUEST_TIME },
    { "request_id", RP_VAR_REQUEST_ID },
    { "content_length", RP_VAR_CONTENT_LENGTH },
    { "content_type", RP_VAR_CONTENT_TYPE },
    { "proxy_host", RP_VAR_PROXY_HOST },
    { "proxy_port", RP_VAR_PROXY_PORT },
    { "proxy_add_x_forwarded_for", RP_VAR_PROXY_ADD_X_FORWARDED_FOR },
    { "status", RP_VAR_STATUS },
    { "body_bytes_sent", RP_VAR_BODY_BYTES_SENT },
    { "bytes_sent", RP_VAR_BYTES_SENT },
    { "upstream_addr", RP_VAR_UPSTREAM_ADDR },
    { "upstream_status", RP_VAR_UPSTREAM_STATUS },
    { "upstream_response_time", RP_VAR_UPSTREAM_RESPONSE_TIME },
    { "upstream_connect_time", RP_VAR_UPSTREAM_CONNECT_TIME },
    { "upstream_header_time", RP_VAR_UPSTREAM_HEADER_TIME },
    { "upstream_cache_status", RP_VAR_UPSTREAM_CACHE_STATUS },
    { "time_local", RP_VAR_TIME_LOCAL },
    { "time_iso8601", RP_VAR_TIME_ISO8601 },
    { "msec", RP_VAR_MSEC },
    { "connection", RP_VAR_CONNECTION },
    { "connection_requests", RP_VAR_CONNECTION_REQUESTS },
    { "remote_user", RP_VAR_REMOTE_USER },
    { "ssl_protocol", RP_VAR_SSL_PROTOCOL },
    { "ssl_cipher", RP_VAR_SSL_CIPHER },
    { "ssl_server_name", RP_VAR_SSL_SERVER_NAME },
    { "ssl_session_reused", RP_VAR_SSL_SESSION_REUSED },
    { "ssl_client_verify", RP_VAR_SSL_CLIENT_VERIFY },
    { "ssl_client_s_dn", RP_VAR_SSL_CLIENT_S_DN },
    { "ssl_client_fingerprint", RP_VAR_SSL_CLIENT_FINGERPRINT },
    { "hostname", RP_VAR_HOSTNAME },
    { "pid", RP_VAR_PID },
    { "gzip_ratio", RP_VAR_GZIP_RATIO },
};

/* Longest prefixes first is not needed: none is a prefix of another. */
static const struct {
    const char *prefix;
    int id;
} prefixed_vars[] = {
    { "http_", RP_VAR_HTTP_ },
    { "sent_http_", RP_VAR_SENT_HTTP_ },
    { "upstream_http_", RP_VAR_UPSTREAM_HTTP_ },
    { "cookie_", RP_VAR_COOKIE_ },
    { "arg_", RP_VAR_ARG_ },
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int rp_var_lookup(rp_str_t name, const rp_var_registry_t *reg, rp_var_ref_t *ref)
{
    memset(ref, 0, sizeof(*ref));
    if (name.len == 0 || !name.data)
        return RP_ERROR;
    if (name.len == 1 && name.data[0] >= '0' && name.data[0] <= '9') {
        ref->id = RP_VAR_CAPTURE;
        ref->index = name.data[0] - '0';
        return RP_OK;
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(builtin_vars); i++) {
        if (rp_str_eq(name, rp_str_cstr(builtin_vars[i].name))) {
            ref->id = builtin_vars[i].id;
            return RP_OK;
        }
    }
    if (reg) {
        for (size_t i = 0; i < reg->nmaps; i++) {
            const rp_map_t *m = reg->maps[i];
            if (m && rp_str_eq(name, m->name)) {
                ref->id = RP_VAR_MAP;
                ref->map = m;
                return RP_OK;
            }
        }
    }
    if (reg) {
        for (size_t i = 0; i < reg->ncaptures; i++) {
            if (rp_str_eq(name, rp_str_cstr(reg->captures[i]))) {
                ref->id = RP_VAR_NAMED_CAPTURE;
                ref->arg = rp_str(reg->captures[i], name.len);
                return RP_OK;
            }
        }
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(prefixed_vars); i++) {
        rp_str_t p = rp_str_cstr(prefixed_vars[i].prefix);
        if (name.len > p.len && memcmp(name.data, p.data, p.len) == 0) {
            ref->id = prefixed_vars[i].id;
            ref->arg = rp_str(name.data + p.len, name.len - p.len);
            return RP_OK;
        }
    }
    return RP_ERROR;
}

/* ---- templates ---- */

rp_tpl_t *rp_tpl_compile(rp_arena_t *a, const char *text, const rp_var_registry_t *reg, char *err,
                         size_t errlen)
{
    if (!text)
        text = "";
    size_t len = strlen(text);
    rp_tpl_t *t = rp_arena_calloc(a, sizeof(*t));
    char *raw = rp_arena_strndup(a, text, len);
    if (!t || !raw)
        goto oom;
    t->raw = rp_str(raw, len);

    /* each '$' yields at most a variable part and the literal before it */
    size_t ndollar = 0;
    for (size_t i = 0; i < len; i++)
        ndollar += raw[i] == '$';
    t->parts = rp_arena_calloc(a, (2 * ndollar + 1) * sizeof(rp_tpl_part_t));
    if (!t->parts)
        goto oom;

    size_t i = 0, lit = 0;
    while (i < len) {
        if (raw[i] != '$') {
            i++;
            continue;
        }
        size_t j = i + 1, nstart, nend, end;
        if (j < len && raw[j] == '{') {
            size_t k = j + 1;
            while (k < len && is_name_char(raw[k]))
                k++;
            if (k == j + 1) {
                set_err(err, errlen, "invalid variable name in \"%s\"", text);
                return NULL;
            }
            if (k >= len || raw[k] != '}') {
                set_err(err, errlen, "the closing bracket in \"%.*s\" variable is missing",
                        (int)(k - j - 1), raw + j + 1);
                return NULL;
            }
            nstart = j + 1;
            nend = k;
            end = k + 1;
        } else if (j < len && is_name_char(raw[j])) {
            size_t k = j + 1;
            /* $1 is one digit, as in nginx: "$12" is capture 1 then "2" */
            if (!(raw[j] >= '0' && raw[j] <= '9'))
                while (k < len && is_name_char(raw[k]))
                    k++;
            nstart = j;
            nend = k;
            end = k;
        } else {
            i++; /* a lone '$' is literal */
            continue;
        }

        rp_tpl_part_t *p;
        if (i > lit) {
            p = &t->parts[t->nparts++];
            p->lit = rp_str(raw + lit, i - lit);
        }
        p = &t->parts[t->nparts++];
        rp_str_t name = rp_str(raw + nstart, nend - nstart);
        if (rp_var_lookup(name, reg, &p->var) != RP_OK) {
            set_err(err, errlen, "unknown \"%.*s\" variable", (int)name.len, name.data);
            return NULL;
        }
        if (p->var.arg.len && p->var.id != RP_VAR_NAMED_CAPTURE) {
            /* header, cookie and argument names compare case-insensitively;
             * storing them lower-case lets the request layer compare bytes */
            char *lc = rp_arena_alloc(a, p->var.arg.len + 1);
            if (!lc)
                goto oom;
            for (size_t x = 0; x < p->var.arg.len; x++)
                lc[x] = rp_lower(p->var.arg.data[x]);
            lc[p->var.arg.len] = '\0';
            p->var.arg = rp_str(lc, p->var.arg.len);
        }
        i = lit = end;
    }
    if (len > lit) {
        rp_tpl_part_t *p = &t->parts[t->nparts++];
        p->lit = rp_str(raw + lit, len - lit);
    }
    t->is_const = 1;
    for (size_t x = 0; x < t->nparts; x++)
        if (t->parts[x].var.id != RP_VAR_NONE)
            t->is_const = 0;
    return t;
oom:
    set_err(err, errlen, "out of memory");
    return NULL;
}

static int eval_part(const rp_tpl_part_t *p, rp_var_get_fn get, void *ctx, rp_arena_t *a,
                     rp_str_t *out)
{
    if (p->var.id == RP_VAR_NONE) {
        *out = p->lit;
        return RP_OK;
    }
    if (p->var.id == RP_VAR_MAP)
        return rp_map_eval(p->var.map, get, ctx, a, out);
    *out = rp_str("", 0);
    if (!get)
        return RP_OK;
    int rc = get(ctx, &p->var, a, out);
    if (rc == RP_OK) {
        if (!out->data) {
            out->data = "";
            out->len = 0;
        }
        return RP_OK;
    }
    *out = rp_str("", 0);
    return rc == RP_DECLINED ? RP_OK : RP_ERROR;
}

int rp_tpl_eval(const rp_tpl_t *t, rp_var_get_fn get, void *ctx, rp_arena_t *out_arena,
                rp_str_t *out)
{
    if (!t) {
        *out = rp_str("", 0);
        return RP_OK;
    }
    if (t->is_const) {
        *out = t->raw;
        return RP_OK;
    }
    if (t->nparts == 1) /* "$host": hand the value through, no copy */
        return eval_part(&t->parts[0], get, ctx, out_arena, out);

    rp_str_t small[16];
    rp_str_t *vals = small;
    if (t->nparts > RP_ARRAY_LEN(small)) {
        vals = rp_arena_alloc(out_arena, t->nparts * sizeof(rp_str_t));
        if (!vals)
            return RP_ERROR;
    }
    size_t total = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        if (eval_part(&t->parts[i], get, ctx, out_arena, &vals[i]) != RP_OK)
            return RP_ERROR;
        total += vals[i].len;
    }
    char *buf = rp_arena_alloc(out_arena, total + 1);
    if (!buf)
        return RP_ERROR;
    size_t off = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        if (vals[i].len)
            memcpy(buf + off, vals[i].data, vals[i].len);
        off += vals[i].len;
    }
    buf[total] = '\0';
    *out = rp_str(buf, total);
    return RP_OK;
}

/* ---- maps ---- */

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}
static void md_init(void)
{
    pthread_key_create(&md_key, md_free);
}

/* Captures a map value can name: $0..$9, as rp_var_lookup accepts. */
#define RP_MAP_NCAPTURES 10

/* One match-data block per thread, kept: PCRE2 caches its backtracking
 * frames there, so steady-state matching does not allocate. Ten ovector
 * pairs cover $0..$9 in map values; a nested map reuses the block, so the
 * offsets are copied out (map_caps_t) before the value is evaluated. */
static pcre2_match_data *thread_match_data(void)
{
    pthread_once(&md_once, md_init);
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (!md) {
        md = pcre2_match_data_create(RP_MAP_NCAPTURES, NULL);
        if (md && pthread_setspecific(md_key, md) != 0) {
            pcre2_match_data_free(md);
            md = NULL;
        }
    }
    return md;
}

static void code_free(void *p)
{
    pcre2_code_free(p);
}

rp_map_t *rp_map_new(rp_arena_t *a, rp_str_t name, rp_tpl_t *source)
{
    rp_map_t *m = rp_arena_calloc(a, sizeof(*m));
    if (!m)
        return NULL;
    m->name = rp_arena_str(a, name);
    if (!m->name.data)
        return NULL;
    m->source = source;
    return m;
}

/* Entries grow by doubling inside the arena; the capacity is implied by
 * the count (powers of two from 8), so rp_map_t needs no extra field. */
static int map_push(rp_arena_t *a, rp_map_t *m, const rp_map_entry_t *e)
{
    size_t n = m->nentries;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t ncap = n == 0 ? 8 : n * 2;
        rp_map_entry_t *v = rp_arena_alloc(a, ncap * sizeof(*v));
        if (!v)
            return RP_ERROR;
        if (n)
            memcpy(v, m->entries, n * sizeof(*v));
        m->entries = v;
    }
    m->entries[m->nentries++] = *e;
    return RP_OK;
}

enum wc_kind { WC_NONE, WC_HEAD_DOT, WC_HEAD_STAR, WC_TAIL };

static enum wc_kind wildcard_kind(rp_str_t k)
{
    if (k.len >= 2 && k.data[0] == '*' && k.data[1] == '.')
        return WC_HEAD_STAR;
    if (k.len >= 1 && k.data[0] == '.')
        return WC_HEAD_DOT;
    if (k.len >= 2 && k.data[k.len - 2] == '.' && k.data[k.len - 1] == '*')
        return WC_TAIL;
    return WC_NONE;
}

static int valid_wildcard(rp_str_t k)
{
    size_t stars = 0;
    for (size_t i = 0; i < k.len; i++)
        stars += k.data[i] == '*';
    enum wc_kind w = wildcard_kind(k);
    switch (w) {
    case WC_NONE:
        return stars == 0;
    case WC_HEAD_STAR:
        return stars == 1 && k.len > 2;
    case WC_HEAD_DOT:
        return stars == 0 && k.len > 1;
    case WC_TAIL:
        return stars == 1 && k.len > 2;
    }
    return 0;
}

int rp_map_add(rp_arena_t *a, rp_map_t *m, const char *key, int key_quoted, rp_tpl_t *value,
               char *err, size_t errlen)
{
    (void)key_quoted;
    if (!key) {
        set_err(err, errlen, "invalid map parameter");
        return RP_ERROR;
    }
    if (!value) {
        if (strcmp(key, "hostnames") == 0) {
            m->hostnames = 1;
            return RP_OK;
        }
        if (strcmp(key, "volatile") == 0)
            return RP_OK; /* results are never cached per request here */
        set_err(err, errlen, "invalid number of the map parameters");
        return RP_ERROR;
    }
    if (strcmp(key, "default") == 0) {
        if (m->deflt) {
            set_err(err, errlen, "duplicate default map parameter");
            return RP_ERROR;
        }
        m->deflt = value;
        return RP_OK;
    }

    rp_map_entry_t e = { .value = value };
    if (key[0] == '~') {
        int caseless = key[1] == '*';
        const char *pat = key + 1 + caseless;
        int ecode;
        PCRE2_SIZE eoff;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                       caseless ? PCRE2_CASELESS : 0, &ecode, &eoff, NULL);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ecode, msg, sizeof(msg));
            size_t plen = strlen(pat);
            if (eoff > plen)
                eoff = plen;
            set_err(err, errlen, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", (char *)msg, pat,
                    pat + eoff);
            return RP_ERROR;
        }
        if (rp_arena_add_cleanup(a, code_free, re) != RP_OK) {
            pcre2_code_free(re);
            set_err(err, errlen, "out of memory");
            return RP_ERROR;
        }
        /* JIT is an optimisation: when unavailable the interpreter runs */
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        e.re = re;
        e.key = rp_arena_str(a, rp_str_cstr(key));
    } else {
        if (key[0] == '\\') /* `\default`, `\~x`: the literal words */
            key++;
        size_t n = strlen(key);
        char *lc = rp_arena_alloc(a, n + 1);
        if (!lc) {
            set_err(err, errlen, "out of memory");
            return RP_ERROR;
        }
        for (size_t i = 0; i < n; i++)
            lc[i] = rp_lower(key[i]);
        lc[n] = '\0';
        e.key = rp_str(lc, n);
        if (m->hostnames && !valid_wildcard(e.key)) {
            set_err(err, errlen, "invalid hostname or wildcard \"%s\"", key);
            return RP_ERROR;
        }
        for (size_t i = 0; i < m->nentries; i++) {
            if (!m->entries[i].re && rp_str_eq(m->entries[i].key, e.key)) {
                set_err(err, errlen, "conflicting parameter \"%s\"", key);
                return RP_ERROR;
            }
        }
    }
    if (!e.key.data || map_push(a, m, &e) != RP_OK) {
        set_err(err, errlen, "out of memory");
        return RP_ERROR;
    }
    return RP_OK;
}

static int has_suffix_ci(rp_str_t s, rp_str_t suf)
{
    return s.len >= suf.len && rp_str_caseeq(rp_str(s.data + s.len - suf.len, suf.len), suf);
}

/* The captures of the regex entry that matched, for its value template:
 * offsets into `subject` (the evaluated map source). */
typedef struct {
    rp_var_get_fn get; /* the caller's getter, for every other variable */
    void *ctx;
    rp_str_t subject;
    size_t ov[2 * RP_MAP_NCAPTURES];
    int n; /* pairs set by pcre2_match (0 when not a regex) */
} map_caps_t;

/* Index of the matching entry, or -1. When a regex entry matches, its
 * capture offsets are stored in caps. */
static long map_find(const rp_map_t *m, rp_str_t v, map_caps_t *caps)
{
    int wc = m->hostnames;
    for (size_t i = 0; i < m->nentries; i++) {
        const rp_map_entry_t *e = &m->entries[i];
        if (!e->re && (!wc || wildcard_kind(e->key) == WC_NONE) && rp_str_caseeq(e->key, v))
            return (long)i;
    }
    if (wc) {
        /* as nginx: the longest head wildcard, then the longest tail one */
        long best = -1;
        size_t best_len = 0;
        for (size_t i = 0; i < m->nentries; i++) {
            const rp_map_entry_t *e = &m->entries[i];
            if (e->re)
                continue;
            enum wc_kind w = wildcard_kind(e->key);
            int hit = 0;
            if (w == WC_HEAD_STAR) {
                rp_str_t suf = rp_str(e->key.data + 1, e->key.len - 1); /* ".x" */
                hit = v.len > suf.len && has_suffix_ci(v, suf);
            } else if (w == WC_HEAD_DOT) {
                hit = has_suffix_ci(v, e->key) ||
                      rp_str_caseeq(v, rp_str(e->key.data + 1, e->key.len - 1));
            }
            if (hit && e->key.len > best_len) {
                best = (long)i;
                best_len = e->key.len;
            }
        }
        if (best >= 0)
            return best;
        for (size_t i = 0; i < m->nentries; i++) {
            const rp_map_entry_t *e = &m->entries[i];
            if (e->re || wildcard_kind(e->key) != WC_TAIL)
                continue;
            rp_str_t pre = rp_str(e->key.data, e->key.len - 1); /* "www.x." */
            if (v.len > pre.len && rp_str_caseeq(rp_str(v.data, pre.len), pre) &&
                e->key.len > best_len) {
                best = (long)i;
                best_len = e->key.len;
            }
        }
        if (best >= 0)
            return best;
    }
    pcre2_match_data *md = NULL;
    for (size_t i = 0; i < m->nentries; i++) {
        const rp_map_entry_t *e = &m->entries[i];
        if (!e->re)
            continue;
        if (!md && !(md = thread_match_data()))
            return -1;
        int rc = pcre2_match(e->re, (PCRE2_SPTR)(v.data ? v.data : ""), v.len, 0, 0, md, NULL);
        if (rc >= 0) {
            /* rc 0: matched, with more groups than the ovector holds; the
             * first RP_MAP_NCAPTURES pairs are still set */
            int n = rc == 0 ? RP_MAP_NCAPTURES : rc;
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            for (int k = 0; k < 2 * n; k++)
                caps->ov[k] = ov[k];
            caps->n = n;
            caps->subject = v;
            return (long)i;
        }
    }
    return -1;
}

/* Getter used while a regex entry's value is evaluated: $0..$9 are the
 * groups of that match (nginx's map sets the request's captures when a
 * regex key matches); a group that did not take part is empty. Everything
 * else goes to the caller's getter. */
static int caps_get(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    const map_caps_t *c = ctx;
    if (ref->id != RP_VAR_CAPTURE)
        return c->get ? c->get(c->ctx, ref, a, out) : RP_DECLINED;
    int k = ref->index;
    if (k < 0 || k >= c->n || c->ov[2 * k] == PCRE2_UNSET)
        return RP_DECLINED;
    size_t from = c->ov[2 * k], to = c->ov[2 * k + 1];
    if (to < from || to > c->subject.len)
        return RP_DECLINED; /* \K in a lookahead can end before it starts */
    *out = rp_str(c->subject.data + from, to - from);
    return RP_OK;
}

static _Thread_local int map_depth;

int rp_map_eval(const rp_map_t *m, rp_var_get_fn get, void *ctx, rp_arena_t *out_arena,
                rp_str_t *out)
{
    *out = rp_str("", 0);
    if (!m)
        return RP_OK;
    if (map_depth >= RP_MAP_MAX_NESTING)
        return RP_ERROR;
    map_depth++;
    rp_str_t v;
    int rc = rp_tpl_eval(m->source, get, ctx, out_arena, &v);
    if (rc == RP_OK) {
        /* "example.com." names the same host as "example.com" */
        if (m->hostnames && v.len && v.data[v.len - 1] == '.')
            v.len--;
        map_caps_t caps = { .get = get, .ctx = ctx };
        long i = map_find(m, v, &caps);
        const rp_tpl_t *val = i >= 0 ? m->entries[i].value : m->deflt;
        if (caps.n > 0 && val && !val->is_const)
            rc = rp_tpl_eval(val, caps_get, &caps, out_arena, out);
        else
            rc = rp_tpl_eval(val, get, ctx, out_arena, out);
    }
    map_depth--;
    return rc;
}
