/* ssl_* directives (http and server contexts), their nginx-style merge,
 * and the end-of-http checks: every `listen ... ssl` has a default server
 * with a certificate, every server with certificates gets its SSL_CTX
 * (tls/tls.h), so key and certificate problems are configuration errors
 * with file:line at -t and at reload. Also proxy_ssl_* (http, server,
 * location): TLS to backends, a client SSL_CTX per location whose
 * proxy_pass is https:// (shared by locations with the same settings).
 */
#include "conf/conf.h"

#include <string.h>

#include "conf/conf_int.h"
#include "tls/tls.h"

void rp__conf_ssl_init(rp_ssl_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->protocols = RP_UNSET;
    c->prefer_server_ciphers = RP_UNSET;
    c->session_cache = RP_UNSET;
    c->session_cache_size = RP_UNSET;
    c->session_timeout = RP_UNSET;
    c->session_tickets = RP_UNSET;
    c->stapling = RP_UNSET;
    c->stapling_verify = RP_UNSET;
    c->verify_client = RP_UNSET;
    c->verify_depth = RP_UNSET;
}

/* nginx resolves certificate paths against the directory of the main
 * configuration file (its "conf prefix"), not against -p. */
static char *conf_dir_path(rp__cparse_t *p, const char *path)
{
    if (path[0] == '/')
        return rp_arena_strdup(p->a, path);
    const char *main_file = p->conf->file ? p->conf->file : "";
    const char *slash = strrchr(main_file, '/');
    size_t dl = slash ? (size_t)(slash - main_file) + 1 : 0, l = strlen(path);
    char *r = rp_arena_alloc(p->a, dl + l + 1);
    if (!r)
        return NULL;
    memcpy(r, main_file, dl);
    memcpy(r + dl, path, l + 1);
    return r;
}

static int fill_arg(rp__cparse_t *p, const rp_conf_node_t *n, rp_ssl_arg_t *a, int is_path)
{
    const char *v = n->args[0];
    if (is_path) {
        if (v[0] == '\0')
            return rp__conf_err(p, n, "empty path in \"%s\" directive", n->name);
        /* nginx loads such certificates per handshake; rampart loads every
         * key at start-up, before privileges are dropped */
        if (strchr(v, '$') || strncmp(v, "data:", 5) == 0 || strncmp(v, "engine:", 7) == 0)
            return rp__conf_err(p, n, "\"%s\" in \"%s\" directive is not supported yet", v,
                                n->name);
    }
    a->value = is_path ? conf_dir_path(p, v) : rp_arena_strdup(p->a, v);
    a->file = rp_arena_strdup(p->a, n->file ? n->file : "?");
    a->line = n->line;
    return a->value && a->file ? RP_OK : rp__conf_oom(p, n);
}

#define SSLC(b) (&(b)->srv->ssl)

/* ssl_certificate, ssl_certificate_key, ssl_session_ticket_key: lists */
static int set_list(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_ssl_conf_t *c = SSLC(b);
    rp_ssl_arg_t *a;
    if (strcmp(n->name, "ssl_certificate") == 0)
        a = RP__PUSH(p->a, c->certs, c->ncerts);
    else if (strcmp(n->name, "ssl_certificate_key") == 0)
        a = RP__PUSH(p->a, c->keys, c->nkeys);
    else
        a = RP__PUSH(p->a, c->ticket_keys, c->nticket_keys);
    if (!a)
        return rp__conf_oom(p, n);
    return fill_arg(p, n, a, 1);
}

/* single-valued strings and paths at d->offset of the server */
static int set_arg(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_ssl_arg_t *a = (rp_ssl_arg_t *)((char *)b->srv + d->offset);
    if (a->value)
        return rp__conf_dup(p, n);
    int is_path = strcmp(n->name, "ssl_ciphers") != 0 && strcmp(n->name, "ssl_ecdh_curve") != 0;
    return fill_arg(p, n, a, is_path);
}

/* "TLSv1.2 TLSv1.3" -> RP_SSL_TLSv* bits */
static int parse_protocols(rp__cparse_t *p, const rp_conf_node_t *n, int *out)
{
    static const struct {
        const char *name;
        int bit;
    } names[] = {
        { "TLSv1", RP_SSL_TLSv1 },
        { "TLSv1.1", RP_SSL_TLSv1_1 },
        { "TLSv1.2", RP_SSL_TLSv1_2 },
        { "TLSv1.3", RP_SSL_TLSv1_3 },
    };
    int bits = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        size_t j;
        for (j = 0; j < RP_ARRAY_LEN(names); j++)
            if (strcmp(n->args[i], names[j].name) == 0)
                break;
        if (j == RP_ARRAY_LEN(names)) {
            if (strcmp(n->args[i], "SSLv2") == 0 || strcmp(n->args[i], "SSLv3") == 0)
                return rp__conf_err(p, n, "\"%s\" is not supported (insecure, RFC 7568)",
                                    n->args[i]);
            return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[i],
                                n->name);
        }
        bits |= names[j].bit;
    }
    *out = bits;
    return RP_OK;
}

static int set_protocols(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    rp_ssl_conf_t *c = SSLC(b);
    if (c->protocols != RP_UNSET)
        return rp__conf_dup(p, n);
    return parse_protocols(p, n, &c->protocols);
}

static int push_conf_command(rp__cparse_t *p, const rp_conf_node_t *n, rp_ssl_conf_cmd_t **cmds,
                             size_t *ncmds)
{
    rp_ssl_conf_cmd_t *m = RP__PUSH(p->a, *cmds, *ncmds);
    if (!m)
        return rp__conf_oom(p, n);
    m->name = rp_arena_strdup(p->a, n->args[0]);
    m->value = rp_arena_strdup(p->a, n->args[1]);
    m->file = rp_arena_strdup(p->a, n->file ? n->file : "?");
    m->line = n->line;
    return m->name && m->value && m->file ? RP_OK : rp__conf_oom(p, n);
}

static int set_conf_command(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    rp_ssl_conf_t *c = SSLC(b);
    return push_conf_command(p, n, &c->conf_cmds, &c->nconf_cmds);
}

/* ssl_session_cache off | none | [builtin[:size]] [shared:name:size].
 * rampart is one process: OpenSSL's cache in the shared SSL_CTX already
 * serves every worker thread, so builtin and shared both size that cache
 * (shared: about 4000 sessions per megabyte, nginx's figure). */
static int set_session_cache(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    rp_ssl_conf_t *c = SSLC(b);
    if (c->session_cache != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t sessions = 0;
    int mode = -1;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        int64_t v;
        if (strcmp(a, "off") == 0 || strcmp(a, "none") == 0) {
            if (n->nargs != 1)
                return rp__conf_err(p, n, "invalid session cache \"%s\"", a);
            mode = a[0] == 'o' ? RP_SSL_CACHE_OFF : RP_SSL_CACHE_NONE;
        } else if (strcmp(a, "builtin") == 0) {
            mode = RP_SSL_CACHE_ON;
            sessions += 20480; /* OpenSSL's and nginx's default */
        } else if (strncmp(a, "builtin:", 8) == 0) {
            if (rp__conf_parse_int(a + 8, &v) != RP_OK || v < 1 || v > 10000000)
                return rp__conf_err(p, n, "invalid session cache size \"%s\"", a + 8);
            mode = RP_SSL_CACHE_ON;
            sessions += v;
        } else if (strncmp(a, "shared:", 7) == 0) {
            const char *colon = strrchr(a + 7, ':');
            if (!colon || colon == a + 7 || rp__conf_parse_size(colon + 1, &v) != RP_OK)
                return rp__conf_err(p, n, "invalid session cache \"%s\"", a);
            if (v < 8192)
                return rp__conf_err(p, n, "session cache \"%s\" is too small", a);
            mode = RP_SSL_CACHE_ON;
            sessions += v / 256;
        } else {
            return rp__conf_err(p, n, "invalid session cache \"%s\"", a);
        }
    }
    c->session_cache = mode;
    c->session_cache_size = sessions;
    return RP_OK;
}

static int set_stapling(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d)
{
    if (rp__conf_set_flag(p, n, b, d) != RP_OK)
        return RP_ERROR;
    rp_ssl_conf_t *c = SSLC(b);
    c->stapling_dfile = rp_arena_strdup(p->a, n->file ? n->file : "?");
    c->stapling_dline = n->line;
    return c->stapling_dfile ? RP_OK : rp__conf_oom(p, n);
}

static int set_verify_client(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    static const char *const modes[] = { "off", "on", "optional", "optional_no_ca" };
    rp_ssl_conf_t *c = SSLC(b);
    if (c->verify_client != RP_UNSET)
        return rp__conf_dup(p, n);
    for (size_t i = 0; i < RP_ARRAY_LEN(modes); i++)
        if (strcmp(n->args[0], modes[i]) == 0) {
            c->verify_client = (int)i;
            c->verify_client_file = rp_arena_strdup(p->a, n->file ? n->file : "?");
            c->verify_client_line = n->line;
            return c->verify_client_file ? RP_OK : rp__conf_oom(p, n);
        }
    return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
}

static int set_verify_depth(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    if (rp__conf_set_num(p, n, b, d) != RP_OK)
        return RP_ERROR;
    if (SSLC(b)->verify_depth > 100)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

/* ---- proxy_ssl_* (http, server, location) ---- */

void rp__conf_proxy_ssl_init(rp_proxy_ssl_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->verify = RP_UNSET;
    c->verify_depth = RP_UNSET;
    c->server_name = RP_UNSET;
    c->protocols = RP_UNSET;
    c->session_reuse = RP_UNSET;
}

#define PSSL(b) (&(b)->loc->proxy_ssl)

/* single-valued strings and paths at d->offset of the level's settings */
static int set_loc_arg(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    rp_ssl_arg_t *a = (rp_ssl_arg_t *)((char *)b->loc + d->offset);
    if (a->value)
        return rp__conf_dup(p, n);
    return fill_arg(p, n, a, strcmp(n->name, "proxy_ssl_ciphers") != 0);
}

static int set_proxy_verify(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    if (rp__conf_set_flag(p, n, b, d) != RP_OK)
        return RP_ERROR;
    rp_proxy_ssl_conf_t *c = PSSL(b);
    c->verify_file = rp_arena_strdup(p->a, n->file ? n->file : "?");
    c->verify_line = n->line;
    return c->verify_file ? RP_OK : rp__conf_oom(p, n);
}

static int set_proxy_verify_depth(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                  const rp__cdir_t *d)
{
    if (rp__conf_set_num(p, n, b, d) != RP_OK)
        return RP_ERROR;
    if (PSSL(b)->verify_depth > 100)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

/* proxy_ssl_name: a template, evaluated per backend connection */
static int set_proxy_name(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    rp_proxy_ssl_conf_t *c = PSSL(b);
    if (c->name)
        return rp__conf_dup(p, n);
    if (n->args[0][0] == '\0')
        return rp__conf_err(p, n, "empty value in \"%s\" directive", n->name);
    c->name = rp__conf_tpl(p, n, n->args[0]);
    return c->name ? RP_OK : RP_ERROR;
}

static int set_proxy_protocols(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                               const rp__cdir_t *d)
{
    rp_proxy_ssl_conf_t *c = PSSL(b);
    if (c->protocols != RP_UNSET)
        return rp__conf_dup(p, n);
    return parse_protocols(p, n, &c->protocols);
}

static int set_proxy_conf_command(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                  const rp__cdir_t *d)
{
    rp_proxy_ssl_conf_t *c = PSSL(b);
    return push_conf_command(p, n, &c->conf_cmds, &c->nconf_cmds);
}

void rp__conf_proxy_ssl_merge(rp_proxy_ssl_conf_t *c, const rp_proxy_ssl_conf_t *h)
{
#define M(f, def)                                                                                  \
    if (c->f == RP_UNSET)                                                                          \
    c->f = h ? h->f : (def)
#define MA(f)                                                                                      \
    if (!c->f.value && h)                                                                          \
    c->f = h->f
    if (c->verify == RP_UNSET) {
        c->verify = h ? h->verify : 0;
        c->verify_file = h ? h->verify_file : NULL;
        c->verify_line = h ? h->verify_line : 0;
    }
    MA(trusted_certificate);
    M(verify_depth, 1);
    M(server_name, 0);
    if (!c->name && h)
        c->name = h->name;
    MA(certificate);
    MA(certificate_key);
    M(protocols, RP_SSL_TLSv1_2 | RP_SSL_TLSv1_3);
    MA(ciphers);
    M(session_reuse, 1);
    if (c->nconf_cmds == 0 && h) {
        c->conf_cmds = h->conf_cmds;
        c->nconf_cmds = h->nconf_cmds;
    }
#undef M
#undef MA
}

#define PLOC(f) RP__BASE_LOC, offsetof(rp_loc_conf_t, proxy_ssl.f)
#define HSL RP__CTX_HSL

#define SSRV(f) RP__BASE_SRV, offsetof(rp_server_t, f)
#define HS (RP__CTX_HTTP | RP__CTX_SRV)

const rp__cdir_t rp__conf_ssl_dirs[] = {
    { "ssl_certificate", HS, RP__TAKE1, set_list, 0, 0 },
    { "ssl_certificate_key", HS, RP__TAKE1, set_list, 0, 0 },
    { "ssl_protocols", HS, RP__1MORE, set_protocols, 0, 0 },
    { "ssl_ciphers", HS, RP__TAKE1, set_arg, SSRV(ssl.ciphers) },
    { "ssl_conf_command", HS, RP__TAKE2, set_conf_command, 0, 0 },
    { "ssl_prefer_server_ciphers", HS, RP__TAKE1, rp__conf_set_flag,
      SSRV(ssl.prefer_server_ciphers) },
    { "ssl_ecdh_curve", HS, RP__TAKE1, set_arg, SSRV(ssl.ecdh_curve) },
    { "ssl_dhparam", HS, RP__TAKE1, set_arg, SSRV(ssl.dhparam) },
    { "ssl_session_cache", HS, RP__TAKE12, set_session_cache, 0, 0 },
    { "ssl_session_timeout", HS, RP__TAKE1, rp__conf_set_msec, SSRV(ssl.session_timeout) },
    { "ssl_session_tickets", HS, RP__TAKE1, rp__conf_set_flag, SSRV(ssl.session_tickets) },
    { "ssl_session_ticket_key", HS, RP__TAKE1, set_list, 0, 0 },
    { "ssl_stapling", HS, RP__TAKE1, set_stapling, SSRV(ssl.stapling) },
    { "ssl_stapling_file", HS, RP__TAKE1, set_arg, SSRV(ssl.stapling_file) },
    { "ssl_stapling_verify", HS, RP__TAKE1, rp__conf_set_flag, SSRV(ssl.stapling_verify) },
    { "ssl_client_certificate", HS, RP__TAKE1, set_arg, SSRV(ssl.client_certificate) },
    { "ssl_trusted_certificate", HS, RP__TAKE1, set_arg, SSRV(ssl.trusted_certificate) },
    { "ssl_verify_client", HS, RP__TAKE1, set_verify_client, 0, 0 },
    { "ssl_verify_depth", HS, RP__TAKE1, set_verify_depth, SSRV(ssl.verify_depth) },
    { "ssl_handshake_timeout", HS, RP__TAKE1, rp__conf_set_msec, SSRV(ssl_handshake_timeout) },
    { "proxy_ssl_verify", HSL, RP__TAKE1, set_proxy_verify, PLOC(verify) },
    { "proxy_ssl_trusted_certificate", HSL, RP__TAKE1, set_loc_arg, PLOC(trusted_certificate) },
    { "proxy_ssl_verify_depth", HSL, RP__TAKE1, set_proxy_verify_depth, PLOC(verify_depth) },
    { "proxy_ssl_server_name", HSL, RP__TAKE1, rp__conf_set_flag, PLOC(server_name) },
    { "proxy_ssl_name", HSL, RP__TAKE1, set_proxy_name, 0, 0 },
    { "proxy_ssl_certificate", HSL, RP__TAKE1, set_loc_arg, PLOC(certificate) },
    { "proxy_ssl_certificate_key", HSL, RP__TAKE1, set_loc_arg, PLOC(certificate_key) },
    { "proxy_ssl_protocols", HSL, RP__1MORE, set_proxy_protocols, 0, 0 },
    { "proxy_ssl_ciphers", HSL, RP__TAKE1, set_loc_arg, PLOC(ciphers) },
    { "proxy_ssl_session_reuse", HSL, RP__TAKE1, rp__conf_set_flag, PLOC(session_reuse) },
    { "proxy_ssl_conf_command", HSL, RP__TAKE2, set_proxy_conf_command, 0, 0 },
    { NULL, 0, 0, NULL, 0, 0 },
};

/* ---- merge: c (a server) from h (the http level, already merged with
 * the defaults when h is NULL) ---- */

void rp__conf_ssl_merge(rp_ssl_conf_t *c, const rp_ssl_conf_t *h)
{
#define M(f, def)                                                                                  \
    if (c->f == RP_UNSET)                                                                          \
    c->f = h ? h->f : (def)
#define MA(f)                                                                                      \
    if (!c->f.value && h)                                                                          \
    c->f = h->f
#define ML(f, nf)                                                                                  \
    if (c->nf == 0 && h) {                                                                         \
        c->f = h->f;                                                                               \
        c->nf = h->nf;                                                                             \
    }
    ML(certs, ncerts);
    ML(keys, nkeys);
    ML(conf_cmds, nconf_cmds);
    ML(ticket_keys, nticket_keys);
    M(protocols, RP_SSL_TLSv1_2 | RP_SSL_TLSv1_3);
    MA(ciphers);
    MA(ecdh_curve);
    MA(dhparam);
    M(prefer_server_ciphers, 1); /* nginx: off; strong ciphers in our order */
    if (c->session_cache == RP_UNSET) {
        c->session_cache = h ? h->session_cache : RP_SSL_CACHE_NONE;
        c->session_cache_size = h ? h->session_cache_size : 0;
    }
    M(session_timeout, 300000);
    M(session_tickets, 1);
    if (c->stapling == RP_UNSET) {
        c->stapling = h ? h->stapling : 0;
        c->stapling_dfile = h ? h->stapling_dfile : NULL;
        c->stapling_dline = h ? h->stapling_dline : 0;
    }
    M(stapling_verify, 0);
    MA(stapling_file);
    MA(client_certificate);
    MA(trusted_certificate);
    if (c->verify_client == RP_UNSET) {
        c->verify_client = h ? h->verify_client : RP_SSL_VERIFY_OFF;
        c->verify_client_file = h ? h->verify_client_file : NULL;
        c->verify_client_line = h ? h->verify_client_line : 0;
    }
    M(verify_depth, 1);
#undef M
#undef MA
#undef ML
}

/* ---- client contexts for proxy_pass https:// ---- */

static int streq0(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Same client SSL_CTX: every setting the context is built from (the name
 * and SNI are per connection). */
static int same_proxy_ssl(const rp_proxy_ssl_conf_t *a, const rp_proxy_ssl_conf_t *b)
{
    if (a->verify != b->verify || a->verify_depth != b->verify_depth ||
        a->protocols != b->protocols || a->session_reuse != b->session_reuse ||
        !streq0(a->trusted_certificate.value, b->trusted_certificate.value) ||
        !streq0(a->certificate.value, b->certificate.value) ||
        !streq0(a->certificate_key.value, b->certificate_key.value) ||
        !streq0(a->ciphers.value, b->ciphers.value) || a->nconf_cmds != b->nconf_cmds)
        return 0;
    for (size_t i = 0; i < a->nconf_cmds; i++)
        if (strcmp(a->conf_cmds[i].name, b->conf_cmds[i].name) != 0 ||
            strcmp(a->conf_cmds[i].value, b->conf_cmds[i].value) != 0)
            return 0;
    return 1;
}

typedef struct {
    const rp_proxy_ssl_conf_t *conf;
    void *ctx;
} built_ctx_t;

typedef struct {
    built_ctx_t *v;
    size_t n;
} built_t;

static int proxy_ssl_location(rp__cparse_t *p, rp_location_t *loc, built_t *built)
{
    rp_loc_conf_t *lc = &loc->conf;
    rp_proxy_ssl_conf_t *c = &lc->proxy_ssl;
    rp_conf_node_t n = { .file = loc->file, .line = loc->line };
    if (!lc->proxy_pass || !lc->proxy_pass->ssl)
        return RP_OK;
    if (!c->name) {
        /* nginx's default proxy_ssl_name: the host of proxy_pass */
        c->name = rp__conf_tpl(p, &n, (const char *)lc->proxy_pass->ssl_name.data);
        if (!c->name)
            return RP_ERROR;
    }
    if (c->verify && !c->trusted_certificate.value) {
        rp_conf_node_t v = { .file = c->verify_file, .line = c->verify_line };
        return rp__conf_err(p, &v, "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
    }
    if (c->certificate.value && !c->certificate_key.value) {
        rp_conf_node_t v = { .file = c->certificate.file, .line = c->certificate.line };
        return rp__conf_err(p, &v,
                            "no \"proxy_ssl_certificate_key\" is defined for certificate \"%s\"",
                            c->certificate.value);
    }
    for (size_t i = 0; i < built->n; i++)
        if (same_proxy_ssl(built->v[i].conf, c)) {
            lc->proxy_ssl_ctx = built->v[i].ctx;
            return RP_OK;
        }
    if (rp_tls_client_ctx(c, p->a, &lc->proxy_ssl_ctx, loc->file, loc->line, p->err, p->errlen) !=
        RP_OK)
        return RP_ERROR;
    built_ctx_t *b = RP__PUSH(p->a, built->v, built->n);
    if (!b)
        return rp__conf_oom(p, &n);
    b->conf = c;
    b->ctx = lc->proxy_ssl_ctx;
    return RP_OK;
}

static int proxy_ssl_tree(rp__cparse_t *p, rp_location_t *loc, built_t *built)
{
    if (proxy_ssl_location(p, loc, built) != RP_OK)
        return RP_ERROR;
    for (size_t i = 0; i < loc->nchildren; i++)
        if (proxy_ssl_tree(p, loc->children[i], built) != RP_OK)
            return RP_ERROR;
    return RP_OK;
}

/* After merging and default servers: pairs, stapling, listens, contexts. */
int rp__conf_ssl_finish(rp__cparse_t *p)
{
    rp_conf_t *conf = p->conf;
    for (size_t i = 0; i < conf->nservers; i++) {
        rp_server_t *s = conf->servers[i];
        rp_ssl_conf_t *c = &s->ssl;
        if (c->ncerts > c->nkeys) {
            rp_conf_node_t n = { .file = c->certs[c->nkeys].file, .line = c->certs[c->nkeys].line };
            return rp__conf_err(p, &n,
                                "no \"ssl_certificate_key\" is defined for certificate \"%s\"",
                                c->certs[c->nkeys].value);
        }
        if (c->nkeys > c->ncerts) {
            rp_conf_node_t n = { .file = c->keys[c->ncerts].file, .line = c->keys[c->ncerts].line };
            return rp__conf_err(p, &n, "no \"ssl_certificate\" is defined for key \"%s\"",
                                c->keys[c->ncerts].value);
        }
        if (c->stapling && !c->stapling_file.value) {
            /* rampart makes no outgoing OCSP requests */
            rp_conf_node_t n = { .file = c->stapling_dfile, .line = c->stapling_dline };
            return rp__conf_err(
                p, &n, "\"ssl_stapling\" is not supported yet: needs \"ssl_stapling_file\"");
        }
    }
    for (size_t i = 0; i < conf->nlistens; i++) {
        const rp_listen_t *ls = &conf->listens[i];
        if (ls->ssl && ls->default_server->ssl.ncerts == 0) {
            rp_conf_node_t n = { .file = ls->ssl_file, .line = ls->ssl_line };
            return rp__conf_err(p, &n,
                                "no \"ssl_certificate\" is defined for the \"listen ... ssl\" "
                                "directive");
        }
    }
    for (size_t i = 0; i < conf->nservers; i++) {
        rp_server_t *s = conf->servers[i];
        if (s->ssl.ncerts && rp_tls_server_ctx(s, p->a, p->err, p->errlen) != RP_OK)
            return RP_ERROR;
    }
    built_t built = { NULL, 0 };
    for (size_t i = 0; i < conf->nservers; i++) {
        rp_server_t *s = conf->servers[i];
        for (size_t k = 0; k < s->nlocations; k++)
            if (proxy_ssl_tree(p, s->locations[k], &built) != RP_OK)
                return RP_ERROR;
        for (size_t k = 0; k < s->nnamed_locations; k++)
            if (proxy_ssl_tree(p, s->named_locations[k], &built) != RP_OK)
                return RP_ERROR;
    }
    return RP_OK;
}
