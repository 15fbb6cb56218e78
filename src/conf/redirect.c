/* proxy_redirect: the directive, its merge, and applying the rules to a
 * backend's Location / Refresh value (nginx semantics, see
 * nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_redirect).
 *
 *   proxy_redirect default;            pattern from proxy_pass (below)
 *   proxy_redirect off;                no rewriting at this level
 *   proxy_redirect redirect replacement;   prefix rule, variables allowed
 *   proxy_redirect ~re replacement;    regex rule (~* caseless), $1..$9
 *
 * `default` is, for `proxy_pass http://up:8080/two/` in `location /one/`,
 * the rule "http://up:8080/two/" -> "/one/"; for proxy_pass without a URI
 * part (`proxy_pass http://up:8080`), "http://up:8080/" -> "/". A level
 * with rules of its own does not inherit its parent's; when no level has
 * any, a location with proxy_pass gets `default` implicitly (nginx's
 * default is `proxy_redirect default`). `off` cancels what would be
 * inherited; like nginx, further proxy_redirect lines after `off` at the
 * same level are ignored, and `off` after rules at the same level is a
 * duplicate.
 */
#include "conf/redirect.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_int.h"
#include "core/log.h"

/* ---- configuration ---- */

/* A template with no variables, holding text as is (the `default` rule's
 * parts come from proxy_pass and the location name: a '$' in a location
 * name is not a variable there, as in nginx). */
static rp_tpl_t *const_tpl(rp_arena_t *a, const char *text, size_t len)
{
    rp_tpl_t *t = rp_arena_calloc(a, sizeof(*t));
    rp_tpl_part_t *part = rp_arena_calloc(a, sizeof(*part));
    char *s = rp_arena_strndup(a, text, len);
    if (!t || !part || !s)
        return NULL;
    part->lit = rp_str(s, len);
    t->raw = rp_str(s, len);
    t->parts = part;
    t->nparts = 1;
    t->is_const = 1;
    return t;
}

/* Appends the `default` rule of location loc (whose proxy_pass is pp). */
static int add_default(rp__cparse_t *p, const rp_conf_node_t *n, rp_loc_conf_t *lc,
                       const rp_proxy_pass_t *pp, const rp_location_t *loc)
{
    rp_proxy_redirect_t *r = RP__PUSH(p->a, lc->proxy_redirects, lc->nproxy_redirects);
    if (!r)
        return rp__conf_oom(p, n);
    if (pp->has_uri && loc) {
        r->pattern = const_tpl(p->a, pp->url.data, pp->url.len);
        r->replacement = const_tpl(p->a, loc->name.data, loc->name.len);
    } else {
        char buf[512];
        int k = snprintf(buf, sizeof(buf), "%.*s/", (int)pp->url.len, pp->url.data);
        if (k < 0 || (size_t)k >= sizeof(buf))
            return rp__conf_err(p, n, "too long \"proxy_pass\" URL for \"proxy_redirect default\"");
        r->pattern = const_tpl(p->a, buf, (size_t)k);
        r->replacement = const_tpl(p->a, "/", 1);
    }
    return r->pattern && r->replacement ? RP_OK : rp__conf_oom(p, n);
}

int rp__conf_proxy_redirect(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (lc->proxy_redirect == 0)
        return RP_OK; /* `off` earlier at this level: nginx ignores the rest */
    const char *a0 = n->args[0];
    if (n->nargs == 1) {
        if (strcmp(a0, "off") == 0 || strcmp(a0, "false") == 0) {
            if (lc->proxy_redirects)
                return rp__conf_dup(p, n);
            if (a0[0] == 'f')
                rp_log_error(RP_LOG_WARN,
                             "invalid parameter \"false\", use \"off\" instead in %s:%d", n->file,
                             n->line);
            lc->proxy_redirect = 0;
            return RP_OK;
        }
        if (strcmp(a0, "default") != 0)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", a0);
        /* the rule is built from this level's proxy_pass, so it must
         * already have been read (nginx has the same requirement) */
        if (!lc->proxy_pass)
            return rp__conf_err(p, n,
                                "\"proxy_redirect default\" should be placed after the "
                                "\"proxy_pass\" directive");
        lc->proxy_redirect = 1;
        return add_default(p, n, lc, lc->proxy_pass, b->location);
    }
    if (strcmp(a0, "default") == 0 || strcmp(a0, "off") == 0)
        return rp__conf_err(p, n, "invalid parameter \"%s\"", a0);
    lc->proxy_redirect = 1;
    rp_proxy_redirect_t *r = RP__PUSH(p->a, lc->proxy_redirects, lc->nproxy_redirects);
    if (!r)
        return rp__conf_oom(p, n);
    if (a0[0] == '~') {
        int caseless = a0[1] == '*';
        const char *re = a0 + 1 + caseless;
        if (re[0] == '\0')
            return rp__conf_err(p, n, "empty regex in \"proxy_redirect\" directive");
        if (!(r->re = rp__conf_regex(p, n, re, caseless)))
            return RP_ERROR;
    } else if (!(r->pattern = rp__conf_tpl(p, n, a0))) {
        return RP_ERROR;
    }
    r->replacement = rp__conf_tpl(p, n, n->args[1]);
    return r->replacement ? RP_OK : RP_ERROR;
}

int rp__conf_redirect_merge(rp__cparse_t *p, rp_loc_conf_t *c, const rp_loc_conf_t *parent,
                            const rp_location_t *loc)
{
    if (c->proxy_redirect == RP_UNSET)
        c->proxy_redirect = parent ? parent->proxy_redirect : 1;
    if (!c->proxy_redirect) {
        c->proxy_redirects = NULL;
        c->nproxy_redirects = 0;
        return RP_OK;
    }
    if (!c->proxy_redirects && parent) {
        c->proxy_redirects = parent->proxy_redirects;
        c->nproxy_redirects = parent->nproxy_redirects;
    }
    if (!c->proxy_redirects && c->proxy_pass && loc) {
        rp_conf_node_t where = { .file = loc->file, .line = loc->line };
        return add_default(p, &where, c, c->proxy_pass, loc);
    }
    return RP_OK;
}

/* ---- applying the rules ---- */

typedef struct {
    rp_var_get_fn get;
    void *ctx;
    rp_str_t subject;
    const PCRE2_SIZE *ov;
    int n;
} caps_t;

/* $1..$9 of the rule's regex match; everything else to the caller. */
static int caps_get(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    const caps_t *c = ctx;
    if (ref->id != RP_VAR_CAPTURE)
        return c->get ? c->get(c->ctx, ref, a, out) : RP_DECLINED;
    int k = ref->index;
    if (k < 0 || k >= c->n || c->ov[2 * k] == PCRE2_UNSET)
        return RP_DECLINED;
    size_t from = c->ov[2 * k], to = c->ov[2 * k + 1];
    if (to < from || to > c->subject.len)
        return RP_DECLINED;
    *out = rp_str(c->subject.data + from, to - from);
    return RP_OK;
}

static int concat(rp_arena_t *a, const rp_str_t *parts, size_t n, rp_str_t *out)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    char *buf = rp_arena_alloc(a, total + 1);
    if (!buf)
        return RP_ERROR;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            memcpy(buf + off, parts[i].data, parts[i].len);
        off += parts[i].len;
    }
    buf[total] = '\0';
    *out = rp_str(buf, total);
    return RP_OK;
}

/* Tries one regex rule on rest; RP_DECLINED when it does not match. */
static int try_regex(const rp_proxy_redirect_t *r, rp_str_t rest, rp_var_get_fn get, void *ctx,
                     rp_arena_t *a, rp_str_t *repl)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);
    if (!md)
        return RP_ERROR;
    int rc = pcre2_match(r->re, (PCRE2_SPTR)(rest.data ? rest.data : ""), rest.len, 0, 0, md, NULL);
    if (rc < 0) {
        pcre2_match_data_free(md);
        return RP_DECLINED; /* no match, or a match limit: leave the value */
    }
    caps_t caps = { get, ctx, rest, pcre2_get_ovector_pointer(md),
                    rc == 0 ? (int)pcre2_get_ovector_count(md) : rc };
    rc = rp_tpl_eval(r->replacement, caps_get, &caps, a, repl);
    pcre2_match_data_free(md);
    return rc;
}

/* Rewrites value[prefix..] with the first matching rule. *matched says
 * whether one did; *out is value itself otherwise. */
static int apply(const rp_loc_conf_t *lc, rp_str_t value, size_t prefix, rp_var_get_fn get,
                 void *ctx, rp_arena_t *a, rp_str_t *out, int *matched)
{
    *out = value;
    *matched = 0;
    if (!lc || !lc->proxy_redirect)
        return RP_OK;
    rp_str_t head = rp_str(value.data, prefix);
    rp_str_t rest = rp_str(value.data + prefix, value.len - prefix);
    for (size_t i = 0; i < lc->nproxy_redirects; i++) {
        const rp_proxy_redirect_t *r = &lc->proxy_redirects[i];
        rp_str_t repl, tail = rp_str("", 0);
        if (r->re) {
            int rc = try_regex(r, rest, get, ctx, a, &repl);
            if (rc == RP_DECLINED)
                continue;
            if (rc != RP_OK)
                return RP_ERROR;
        } else {
            rp_str_t pat;
            if (rp_tpl_eval(r->pattern, get, ctx, a, &pat) != RP_OK)
                return RP_ERROR;
            /* a plain, case-sensitive prefix comparison, as nginx's */
            if (pat.len > rest.len || (pat.len && memcmp(rest.data, pat.data, pat.len) != 0))
                continue;
            if (rp_tpl_eval(r->replacement, get, ctx, a, &repl) != RP_OK)
                return RP_ERROR;
            tail = rp_str(rest.data + pat.len, rest.len - pat.len);
        }
        *matched = 1;
        rp_str_t parts[3] = { head, repl, tail };
        return concat(a, parts, 3, out);
    }
    return RP_OK;
}

static int var(rp_var_get_fn get, void *ctx, int id, rp_arena_t *a, rp_str_t *out)
{
    rp_var_ref_t ref = { .id = id };
    *out = rp_str("", 0);
    int rc = get(ctx, &ref, a, out);
    if (rc == RP_OK && !out->data)
        *out = rp_str("", 0);
    return rc;
}

/* nginx's header filter turns a rewritten Location that starts with '/'
 * into an absolute URI with the client-facing scheme, host and port. */
static int absolutize(rp_str_t *v, rp_var_get_fn get, void *ctx, rp_arena_t *a)
{
    if (!get || v->len == 0 || v->data[0] != '/')
        return RP_OK;
    rp_str_t scheme, host, port;
    if (var(get, ctx, RP_VAR_HOST, a, &host) == RP_ERROR)
        return RP_ERROR;
    if (host.len == 0)
        return RP_OK; /* nothing to name the server with: stay relative */
    if (var(get, ctx, RP_VAR_SCHEME, a, &scheme) == RP_ERROR ||
        var(get, ctx, RP_VAR_SERVER_PORT, a, &port) == RP_ERROR)
        return RP_ERROR;
    if (scheme.len == 0)
        scheme = RP_STR("http");
    int https = rp_str_caseeq_lit(scheme, "https");
    if (rp_str_eq(port, https ? RP_STR("443") : RP_STR("80")))
        port = rp_str("", 0);
    rp_str_t parts[6] = { scheme, RP_STR("://"), host, port.len ? RP_STR(":") : rp_str("", 0), port,
                          *v };
    return concat(a, parts, 6, v);
}

int rp_proxy_redirect(const rp_loc_conf_t *lc, const rp_location_t *loc, rp_str_t value,
                      rp_var_get_fn get, void *ctx, rp_arena_t *a, rp_str_t *out)
{
    (void)loc;
    int matched;
    if (apply(lc, value, 0, get, ctx, a, out, &matched) != RP_OK)
        return RP_ERROR;
    return matched ? absolutize(out, get, ctx, a) : RP_OK;
}

int rp_proxy_redirect_refresh(const rp_loc_conf_t *lc, const rp_location_t *loc, rp_str_t value,
                              rp_var_get_fn get, void *ctx, rp_arena_t *a, rp_str_t *out)
{
    (void)loc;
    *out = value;
    for (size_t i = 0; i + 4 <= value.len; i++)
        if (rp_str_caseeq_lit(rp_str(value.data + i, 4), "url=")) {
            int matched;
            return apply(lc, value, i + 4, get, ctx, a, out, &matched);
        }
    return RP_OK;
}
