/* Compression directives: gzip*, brotli*, zstd*, gunzip*, and
 * compression_preference. Each is inherited on its own from the enclosing
 * level when a level does not write it (nginx); a types list is replaced
 * whole by an inner level's. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_int.h"

#define UNSET_ALL(cc)                                                                              \
    do {                                                                                           \
        (cc)->on = RP_UNSET;                                                                       \
        (cc)->level = RP_UNSET;                                                                    \
        (cc)->min_length = RP_UNSET;                                                               \
        (cc)->buffers = RP_UNSET;                                                                  \
        (cc)->static_ = RP_UNSET;                                                                  \
    } while (0)

void rp__conf_compress_init(rp_compress_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < RP_Z_COUNT; i++)
        UNSET_ALL(&c->c[i]);
    c->proxied = RP_UNSET;
    c->vary = RP_UNSET;
    c->http_version = RP_UNSET;
    c->gunzip = RP_UNSET;
    c->gunzip_buffers = RP_UNSET;
    c->brotli_window = RP_UNSET;
}

static const int default_level[RP_Z_COUNT] = { 1, 4, 3 };

#define M(f, def) (c->f = c->f != RP_UNSET ? c->f : parent ? parent->f : (def))

void rp__conf_compress_merge(rp_compress_conf_t *c, const rp_compress_conf_t *parent)
{
    for (int i = 0; i < RP_Z_COUNT; i++) {
        M(c[i].on, 0);
        M(c[i].level, default_level[i]);
        M(c[i].min_length, 20);
        M(c[i].buffers, 32 * 4096);
        M(c[i].static_, 0);
        if (!c->c[i].types_set && parent) {
            c->c[i].types = parent->c[i].types;
            c->c[i].ntypes = parent->c[i].ntypes;
            c->c[i].any_type = parent->c[i].any_type;
            c->c[i].types_set = parent->c[i].types_set;
        }
    }
    M(proxied, 0);
    M(vary, 1);
    M(http_version, 11);
    M(gunzip, 0);
    M(gunzip_buffers, 32 * 4096);
    M(brotli_window, 19);
    if (!c->disable_set && parent) {
        c->disable = parent->disable;
        c->ndisable = parent->ndisable;
        c->disable_msie6 = parent->disable_msie6;
        c->disable_set = parent->disable_set;
    }
    if (!c->norder) {
        if (parent && parent->norder) {
            memcpy(c->order, parent->order, sizeof(c->order));
            c->norder = parent->norder;
        } else {
            c->order[0] = RP_Z_ZSTD;
            c->order[1] = RP_Z_BR;
            c->order[2] = RP_Z_GZIP;
            c->norder = 3;
        }
    }
}

/* ---- handlers ---- */

static rp_compress_conf_t *cc_of(rp__cblock_t *b)
{
    return &b->loc->compress;
}

/* d->offset holds the coding (RP_Z_*) for the per-coding directives. */
static int set_level(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    static const int lo[RP_Z_COUNT] = { 1, 0, 1 }, hi[RP_Z_COUNT] = { 9, 11, 19 };
    int z = (int)d->offset;
    rp_coding_conf_t *c = &cc_of(b)->c[z];
    if (c->level != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t v;
    if (rp__conf_parse_int(n->args[0], &v) != RP_OK || v < lo[z] || v > hi[z])
        return rp__conf_err(p, n, "\"%s\" must be between %d and %d, not \"%s\"", n->name, lo[z],
                            hi[z], n->args[0]);
    c->level = v;
    return RP_OK;
}

static int set_on(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    return rp__conf_flag(p, n, &cc_of(b)->c[d->offset].on);
}

/* on | off | always */
static int set_static(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    int *f = &cc_of(b)->c[d->offset].static_;
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "always") == 0) {
        *f = 2;
        return RP_OK;
    }
    if (strcmp(n->args[0], "on") != 0 && strcmp(n->args[0], "off") != 0)
        return rp__conf_err(p, n,
                            "invalid value \"%s\" in \"%s\" directive, it must be \"on\", \"off\" "
                            "or \"always\"",
                            n->args[0], n->name);
    *f = strcmp(n->args[0], "on") == 0;
    return RP_OK;
}

static int set_min_length(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    int64_t *f = &cc_of(b)->c[d->offset].min_length;
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (rp__conf_parse_size(n->args[0], f) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

/* N size, as nginx's *_buffers: the product bounds the output held. */
static int parse_buffers(rp__cparse_t *p, const rp_conf_node_t *n, int64_t *f)
{
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t num, size;
    if (rp__conf_parse_int(n->args[0], &num) != RP_OK || num < 1 ||
        rp__conf_parse_size(n->args[1], &size) != RP_OK || size < 1 || num * size > (1 << 26))
        return rp__conf_err(p, n, "invalid value \"%s %s\" in \"%s\" directive", n->args[0],
                            n->args[1], n->name);
    *f = num * size;
    return RP_OK;
}

static int set_buffers(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    return parse_buffers(p, n, &cc_of(b)->c[d->offset].buffers);
}

static int set_types(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_coding_conf_t *c = &cc_of(b)->c[d->offset];
    if (c->types_set)
        return rp__conf_dup(p, n);
    c->types_set = 1;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *t = n->args[i];
        if (strcmp(t, "*") == 0) {
            c->any_type = 1;
            continue;
        }
        const char *sl = strchr(t, '/');
        if (!sl || sl == t || !sl[1] || strchr(t, ';') || strchr(t, ' ') ||
            (strchr(t, '*') && strcmp(sl, "/*") != 0))
            return rp__conf_err(p, n, "invalid MIME type \"%s\" in \"%s\" directive", t, n->name);
        if (strcasecmp(t, "text/html") == 0)
            continue; /* always included */
        rp_str_t *s = RP__PUSH(p->a, c->types, c->ntypes);
        char *l = rp_arena_strdup(p->a, t);
        if (!s || !l)
            return rp__conf_oom(p, n);
        for (char *q = l; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q + 32);
        *s = rp_str(l, strlen(l));
    }
    return RP_OK;
}

static int set_proxied(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    static const struct {
        const char *name;
        int bit;
    } words[] = { { "off", 0 },
                  { "expired", RP_GZP_EXPIRED },
                  { "no-cache", RP_GZP_NO_CACHE },
                  { "no-store", RP_GZP_NO_STORE },
                  { "private", RP_GZP_PRIVATE },
                  { "no_last_modified", RP_GZP_NO_LM },
                  { "no_etag", RP_GZP_NO_ETAG },
                  { "auth", RP_GZP_AUTH },
                  { "any", RP_GZP_ANY } };
    rp_compress_conf_t *c = cc_of(b);
    if (c->proxied != RP_UNSET)
        return rp__conf_dup(p, n);
    int bits = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        size_t k;
        for (k = 0; k < RP_ARRAY_LEN(words); k++)
            if (strcmp(n->args[i], words[k].name) == 0)
                break;
        if (k == RP_ARRAY_LEN(words))
            return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[i],
                                n->name);
        if (words[k].bit == 0 && n->nargs > 1)
            return rp__conf_err(p, n, "\"off\" cannot be combined with other values in \"%s\"",
                                n->name);
        bits |= words[k].bit;
    }
    c->proxied = bits;
    return RP_OK;
}

static int set_disable(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    rp_compress_conf_t *c = cc_of(b);
    if (c->disable_set)
        return rp__conf_dup(p, n);
    c->disable_set = 1;
    for (size_t i = 0; i < n->nargs; i++) {
        if (strcmp(n->args[i], "msie6") == 0) {
            c->disable_msie6 = 1;
            continue;
        }
        void *re = rp__conf_regex(p, n, n->args[i], 1);
        if (!re)
            return RP_ERROR;
        void **slot = RP__PUSH(p->a, c->disable, c->ndisable);
        if (!slot)
            return rp__conf_oom(p, n);
        *slot = re;
    }
    return RP_OK;
}

static int set_http_version(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    rp_compress_conf_t *c = cc_of(b);
    if (c->http_version != RP_UNSET)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "1.0") == 0)
        c->http_version = 10;
    else if (strcmp(n->args[0], "1.1") == 0)
        c->http_version = 11;
    else
        return rp__conf_err(p, n,
                            "invalid value \"%s\" in \"%s\" directive, it must be "
                            "\"1.0\" or \"1.1\"",
                            n->args[0], n->name);
    return RP_OK;
}

static int set_vary(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    return rp__conf_flag(p, n, &cc_of(b)->vary);
}

static int set_gunzip(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    return rp__conf_flag(p, n, &cc_of(b)->gunzip);
}

static int set_gunzip_buffers(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                              const rp__cdir_t *d)
{
    return parse_buffers(p, n, &cc_of(b)->gunzip_buffers);
}

static int set_brotli_window(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    rp_compress_conf_t *c = cc_of(b);
    if (c->brotli_window != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t v;
    if (rp__conf_parse_size(n->args[0], &v) == RP_OK)
        for (int lg = 10; lg <= 24; lg++)
            if (v == ((int64_t)1 << lg)) {
                c->brotli_window = lg;
                return RP_OK;
            }
    return rp__conf_err(p, n, "\"%s\" must be a power of two from 1k to 16m, not \"%s\"", n->name,
                        n->args[0]);
}

static int set_preference(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    static const char *const names[RP_Z_COUNT] = { "gzip", "br", "zstd" };
    rp_compress_conf_t *c = cc_of(b);
    if (c->norder)
        return rp__conf_dup(p, n);
    if (n->nargs > RP_Z_COUNT)
        return rp__conf_err(p, n, "too many codings in \"%s\"", n->name);
    for (size_t i = 0; i < n->nargs; i++) {
        int z = -1;
        for (int k = 0; k < RP_Z_COUNT; k++)
            if (strcmp(n->args[i], names[k]) == 0)
                z = k;
        if (z < 0)
            return rp__conf_err(p, n,
                                "unknown coding \"%s\" in \"%s\", it must be gzip, br or zstd",
                                n->args[i], n->name);
        for (int k = 0; k < c->norder; k++)
            if (c->order[k] == z)
                return rp__conf_err(p, n, "coding \"%s\" is listed twice in \"%s\"", n->args[i],
                                    n->name);
        c->order[c->norder++] = z;
    }
    /* codings not listed come after, in the default order: the list
     * breaks ties, it does not switch codings off */
    static const int rest[RP_Z_COUNT] = { RP_Z_ZSTD, RP_Z_BR, RP_Z_GZIP };
    for (int k = 0; k < RP_Z_COUNT; k++) {
        int seen = 0;
        for (int j = 0; j < c->norder; j++)
            seen |= c->order[j] == rest[k];
        if (!seen)
            c->order[c->norder++] = rest[k];
    }
    return RP_OK;
}

/* The per-coding rows carry the coding in `offset`. */
#define Z(z) RP__BASE_NONE, (z)

const rp__cdir_t rp__conf_compress_dirs[] = {
    { "gzip", RP__CTX_HSL, RP__TAKE1, set_on, Z(RP_Z_GZIP) },
    { "gzip_types", RP__CTX_HSL, RP__1MORE, set_types, Z(RP_Z_GZIP) },
    { "gzip_comp_level", RP__CTX_HSL, RP__TAKE1, set_level, Z(RP_Z_GZIP) },
    { "gzip_min_length", RP__CTX_HSL, RP__TAKE1, set_min_length, Z(RP_Z_GZIP) },
    { "gzip_buffers", RP__CTX_HSL, RP__TAKE2, set_buffers, Z(RP_Z_GZIP) },
    { "gzip_static", RP__CTX_HSL, RP__TAKE1, set_static, Z(RP_Z_GZIP) },
    { "gzip_proxied", RP__CTX_HSL, RP__1MORE, set_proxied, Z(0) },
    { "gzip_vary", RP__CTX_HSL, RP__TAKE1, set_vary, Z(0) },
    { "gzip_disable", RP__CTX_HSL, RP__1MORE, set_disable, Z(0) },
    { "gzip_http_version", RP__CTX_HSL, RP__TAKE1, set_http_version, Z(0) },
    { "gunzip", RP__CTX_HSL, RP__TAKE1, set_gunzip, Z(0) },
    { "gunzip_buffers", RP__CTX_HSL, RP__TAKE2, set_gunzip_buffers, Z(0) },
    { "brotli", RP__CTX_HSL, RP__TAKE1, set_on, Z(RP_Z_BR) },
    { "brotli_types", RP__CTX_HSL, RP__1MORE, set_types, Z(RP_Z_BR) },
    { "brotli_comp_level", RP__CTX_HSL, RP__TAKE1, set_level, Z(RP_Z_BR) },
    { "brotli_min_length", RP__CTX_HSL, RP__TAKE1, set_min_length, Z(RP_Z_BR) },
    { "brotli_buffers", RP__CTX_HSL, RP__TAKE2, set_buffers, Z(RP_Z_BR) },
    { "brotli_window", RP__CTX_HSL, RP__TAKE1, set_brotli_window, Z(0) },
    { "brotli_static", RP__CTX_HSL, RP__TAKE1, set_static, Z(RP_Z_BR) },
    { "zstd", RP__CTX_HSL, RP__TAKE1, set_on, Z(RP_Z_ZSTD) },
    { "zstd_types", RP__CTX_HSL, RP__1MORE, set_types, Z(RP_Z_ZSTD) },
    { "zstd_comp_level", RP__CTX_HSL, RP__TAKE1, set_level, Z(RP_Z_ZSTD) },
    { "zstd_min_length", RP__CTX_HSL, RP__TAKE1, set_min_length, Z(RP_Z_ZSTD) },
    { "zstd_buffers", RP__CTX_HSL, RP__TAKE2, set_buffers, Z(RP_Z_ZSTD) },
    { "zstd_static", RP__CTX_HSL, RP__TAKE1, set_static, Z(RP_Z_ZSTD) },
    { "compression_preference", RP__CTX_HSL, RP__1MORE, set_preference, Z(0) },
    { NULL, 0, 0, NULL, 0, 0 },
};
