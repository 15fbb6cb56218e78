/* Configuration semantic layer: syntax tree -> generation.
 *
 * The directive tables (this file: main and events; conf_http.c: http,
 * server, location; conf_upstream.c: upstream) drive everything: a row names
 * the directive, the contexts it may appear in, how many arguments it takes
 * and its handler. rp__conf_block() looks every node of a block up in them,
 * checks context and arity, and calls the handler.
 *
 * Unknown directives are errors. Directives of capabilities that have not
 * landed yet (HTTP/2, caching, compression, health checks, rate limits, ...)
 * are errors that say so, rather than being mistaken for typos or, worse,
 * silently ignored: an operator who configures gzip must not believe it is
 * on.
 */
#include "conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conf/conf_int.h"
#include "core/log.h"

/* ---- errors ---- */

int rp__conf_err(rp__cparse_t *p, const rp_conf_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    if (k < 0)
        k = 0;
    if (!n)
        return RP_ERROR;
    const char *file = n->file ? n->file : "?";
    /* The place is what the operator needs most: when a long argument
     * (a 2 KiB unknown directive name, say) fills the buffer, cut the
     * sentence and mark the cut instead of losing " in FILE:LINE". */
    int pl = snprintf(NULL, 0, " in %s:%d", file, n->line);
    if (pl > 0 && (size_t)pl + 4 < p->errlen && (size_t)k + (size_t)pl >= p->errlen) {
        k = (int)(p->errlen - (size_t)pl - 1 - 3);
        memcpy(p->err + k, "...", 3);
        k += 3;
    }
    if ((size_t)k < p->errlen)
        snprintf(p->err + k, p->errlen - (size_t)k, " in %s:%d", file, n->line);
    return RP_ERROR;
}

int rp__conf_oom(rp__cparse_t *p, const rp_conf_node_t *n)
{
    return rp__conf_err(p, n, "out of memory");
}

int rp__conf_dup(rp__cparse_t *p, const rp_conf_node_t *n)
{
    return rp__conf_err(p, n, "\"%s\" directive is duplicate", n->name);
}

/* ---- arrays ---- */

void *rp__conf_push(rp_arena_t *a, void **arr, size_t *n, size_t size)
{
    size_t cnt = *n;
    /* capacity is implied by the count: 4, 8, 16, ... */
    if (cnt == 0 || (cnt >= 4 && (cnt & (cnt - 1)) == 0)) {
        size_t cap = cnt == 0 ? 4 : cnt * 2;
        void *na = rp_arena_alloc(a, cap * size);
        if (!na)
            return NULL;
        if (cnt)
            memcpy(na, *arr, cnt * size);
        *arr = na;
    }
    void *slot = (char *)*arr + cnt * size;
    memset(slot, 0, size);
    (*n)++;
    return slot;
}

/* ---- values ---- */

int rp__conf_parse_int(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!*s)
        return RP_ERROR;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return RP_ERROR;
        if (v > (INT64_MAX - 9) / 10)
            return RP_ERROR;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return RP_OK;
}

/* "512", "8k", "1m", "2g" (either case), as nginx's ngx_parse_size. */
int rp__conf_parse_size(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    int64_t scale = 1;
    char buf[32];
    if (len == 0 || len >= sizeof(buf))
        return RP_ERROR;
    switch (s[len - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        len--;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        len--;
        break;
    case 'g':
    case 'G':
        scale = 1024LL * 1024 * 1024;
        len--;
        break;
    default:
        break;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    int64_t v;
    if (rp__conf_parse_int(buf, &v) != RP_OK || v > INT64_MAX / scale)
        return RP_ERROR;
    *out = v * scale;
    return RP_OK;
}

/* nginx's time syntax: parts "<n><unit>" with units y M w d h m s ms in
 * that order, each at most once; a bare trailing number counts as seconds
 * ("1m30" = 90 s). Result in milliseconds. */
int rp__conf_parse_msec(const char *s, int64_t *out)
{
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {
        { "y", 365LL * 86400000 },
        { "M", 30LL * 86400000 },
        { "w", 7LL * 86400000 },
        { "d", 86400000 },
        { "h", 3600000 },
        { "ms", 1 },
        { "m", 60000 },
        { "s", 1000 },
    };
    /* rank of each unit in the required order */
    static const int rank[] = { 0, 1, 2, 3, 4, 7, 5, 6 };
    int64_t total = 0;
    int last = -1;
    if (!*s)
        return RP_ERROR;
    while (*s) {
        int64_t v = 0;
        if (*s < '0' || *s > '9')
            return RP_ERROR;
        while (*s >= '0' && *s <= '9') {
            if (v > (INT64_MAX / 10) - 9)
                return RP_ERROR;
            v = v * 10 + (*s++ - '0');
        }
        int64_t ms = 1000;
        int r = 6; /* bare number: seconds */
        if (*s == '\0') {
            if (last >= 6)
                return RP_ERROR;
        } else {
            size_t i;
            for (i = 0; i < RP_ARRAY_LEN(units); i++) {
                size_t ul = strlen(units[i].u);
                if (strncmp(s, units[i].u, ul) == 0)
                    break;
            }
            if (i == RP_ARRAY_LEN(units))
                return RP_ERROR;
            ms = units[i].ms;
            r = rank[i];
            s += strlen(units[i].u);
            if (r <= last)
                return RP_ERROR;
        }
        last = r;
        if (v > (INT64_MAX - total) / ms)
            return RP_ERROR;
        total += v * ms;
    }
    *out = total;
    return RP_OK;
}

static void *field(rp__cparse_t *p, rp__cblock_t *b, const rp__cdir_t *d)
{
    char *base = NULL;
    switch (d->base) {
    case RP__BASE_MAIN:
        base = (char *)p->conf;
        break;
    case RP__BASE_LOC:
        base = (char *)b->loc;
        break;
    case RP__BASE_SRV:
        base = (char *)b->srv;
        break;
    case RP__BASE_UPS:
        base = (char *)b->ups;
        break;
    default:
        break;
    }
    RP_ASSERT(base != NULL);
    return base + d->offset;
}

int rp__conf_set_flag(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    return rp__conf_flag(p, n, field(p, b, d));
}

int rp__conf_flag(rp__cparse_t *p, const rp_conf_node_t *n, int *f)
{
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (strcasecmp(n->args[0], "on") == 0)
        *f = 1;
    else if (strcasecmp(n->args[0], "off") == 0)
        *f = 0;
    else
        return rp__conf_err(
            p, n, "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
            n->args[0], n->name);
    return RP_OK;
}

int rp__conf_set_msec(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    int64_t *f = field(p, b, d);
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (rp__conf_parse_msec(n->args[0], f) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

int rp__conf_set_size(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    int64_t *f = field(p, b, d);
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (rp__conf_parse_size(n->args[0], f) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

int rp__conf_set_num(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    int64_t *f = field(p, b, d);
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    if (rp__conf_parse_int(n->args[0], f) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

/* ---- helpers ---- */

char *rp__conf_path(rp__cparse_t *p, const char *path)
{
    if (path[0] == '/' || strcmp(path, "stderr") == 0 || strcmp(path, "stdout") == 0 ||
        !p->prefix || !p->prefix[0])
        return rp_arena_strdup(p->a, path);
    size_t pl = strlen(p->prefix), l = strlen(path);
    char *r = rp_arena_alloc(p->a, pl + l + 1);
    if (!r)
        return NULL;
    memcpy(r, p->prefix, pl);
    memcpy(r + pl, path, l + 1);
    return r;
}

rp_tpl_t *rp__conf_tpl(rp__cparse_t *p, const rp_conf_node_t *n, const char *text)
{
    char e[256];
    e[0] = '\0';
    rp_tpl_t *t = rp_tpl_compile(p->a, text, &p->reg, e, sizeof(e));
    if (!t)
        rp__conf_err(p, n, "%s", e[0] ? e : "out of memory");
    return t;
}

/* ---- capabilities that have not landed yet ---- */

/* A trailing '*' matches any suffix. Kept in one place so that enabling a
 * capability is deleting its line here and adding table rows. */
static const char *const not_yet[] = {
    "ssl*",       /* the ssl_* of conf_ssl.c are table rows, found first */
    "proxy_ssl*", /* the rest of nginx's (crl, password_file, ...): rows win */
    "http3*",
    "quic*",
    "grpc_*",
    "proxy_cache*",
    "proxy_store*",
    "proxy_cookie_*",
    "proxy_ignore_headers",
    "proxy_method",
    "proxy_pass_request_*",
    "proxy_bind",
    "proxy_limit_rate",
    "proxy_socket_keepalive",
    "proxy_ignore_client_abort",
    "zstd_dict_file",
    "limit_req*",
    "limit_conn*",
    "limit_rate*",
    "limit_except",
    "queue",
    "ntlm",
    "status_zone",
    "auth_basic*",
    "auth_request*",
    "satisfy",
    "rewrite*",
    "if",
    "set",
    "break",
    "sub_filter*",
    "real_ip_*",
    "set_real_ip_from",
    "stream",
    "mail",
    "uwsgi_*",
    "fastcgi_*",
    "scgi_*",
    "ssi*",
    "expires",
    "etag",
    "charset*",
    "source_charset",
    "override_charset",
    "autoindex*",
    "open_file_cache*",
};

static int not_supported(const char *name)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(not_yet); i++) {
        const char *pat = not_yet[i];
        size_t l = strlen(pat);
        if (pat[l - 1] == '*') {
            if (strncmp(name, pat, l - 1) == 0)
                return 1;
        } else if (strcmp(name, pat) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- dispatch ---- */

static const rp__cdir_t *const tables[] = {
    rp__conf_main_dirs, rp__conf_http_dirs,     rp__conf_upstream_dirs,
    rp__conf_ssl_dirs,  rp__conf_compress_dirs,
};

static int check_args(rp__cparse_t *p, const rp_conf_node_t *n, const rp__cdir_t *d)
{
    if ((d->args & RP__BLOCK) && !n->is_block)
        return rp__conf_err(p, n, "directive \"%s\" has no opening \"{\"", n->name);
    if (!(d->args & RP__BLOCK) && n->is_block)
        return rp__conf_err(p, n, "directive \"%s\" is not terminated by \";\"", n->name);
    size_t k = n->nargs;
    int ok = 0;
    if (k < 8 && (d->args & (1u << k)))
        ok = 1;
    if ((d->args & RP__1MORE) && k >= 1)
        ok = 1;
    if ((d->args & RP__2MORE) && k >= 2)
        ok = 1;
    if (!ok)
        return rp__conf_err(p, n, "invalid number of arguments in \"%s\" directive", n->name);
    return RP_OK;
}

static int run_directive(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b)
{
    const rp__cdir_t *found = NULL;
    int known = 0;
    for (size_t t = 0; t < RP_ARRAY_LEN(tables) && !found; t++) {
        for (const rp__cdir_t *d = tables[t]; d->name; d++) {
            if (strcmp(d->name, n->name) != 0)
                continue;
            known = 1;
            if (d->ctx & (unsigned)b->ctx) {
                found = d;
                break;
            }
        }
    }
    if (!found) {
        /* a table row wins over a not_yet pattern (ssl_* vs "ssl*") */
        if (known)
            return rp__conf_err(p, n, "\"%s\" directive is not allowed here", n->name);
        if (not_supported(n->name))
            return rp__conf_err(p, n, "\"%s\" directive is not supported yet", n->name);
        return rp__conf_err(p, n, "unknown directive \"%s\"", n->name);
    }
    if (check_args(p, n, found) != RP_OK)
        return RP_ERROR;
    return found->set(p, n, b, found);
}

int rp__conf_block(rp__cparse_t *p, const rp_conf_node_t *blk, rp__cblock_t *b)
{
    for (size_t i = 0; i < blk->nchildren; i++)
        if (run_directive(p, &blk->children[i], b) != RP_OK)
            return RP_ERROR;
    return RP_OK;
}

/* ---- main and events ---- */

static int set_worker_processes(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                const rp__cdir_t *d)
{
    if (p->conf->worker_processes != RP_UNSET)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "auto") == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        p->conf->worker_processes = c > 0 ? (int)c : 1;
        return RP_OK;
    }
    int64_t v;
    if (rp__conf_parse_int(n->args[0], &v) != RP_OK || v < 1 || v > 1024)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    p->conf->worker_processes = (int)v;
    return RP_OK;
}

static int set_worker_connections(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                  const rp__cdir_t *d)
{
    if (p->conf->worker_connections_set)
        return rp__conf_dup(p, n);
    int64_t v;
    if (rp__conf_parse_int(n->args[0], &v) != RP_OK || v < 1 || v > 1048576)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    p->conf->worker_connections = (int)v;
    p->conf->worker_connections_set = 1;
    return RP_OK;
}

static int set_rlimit_nofile(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    if (p->conf->worker_rlimit_nofile != 0)
        return rp__conf_dup(p, n);
    int64_t v;
    if (rp__conf_parse_int(n->args[0], &v) != RP_OK || v < 1 || v > INT_MAX)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    p->conf->worker_rlimit_nofile = v;
    return RP_OK;
}

static int set_pid(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    static char off_marker;
    if (p->conf->pid_path)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "off") == 0) {
        p->conf->pid_path = &off_marker; /* replaced by NULL when finishing */
        return RP_OK;
    }
    p->conf->pid_path = rp__conf_path(p, n->args[0]);
    return p->conf->pid_path ? RP_OK : rp__conf_oom(p, n);
}

static int set_user(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    if (p->conf->user)
        return rp__conf_dup(p, n);
    /* nginx: an omitted group is the group named like the user */
    p->conf->user = rp_arena_strdup(p->a, n->args[0]);
    p->conf->group = rp_arena_strdup(p->a, n->nargs > 1 ? n->args[1] : n->args[0]);
    return p->conf->user && p->conf->group ? RP_OK : rp__conf_oom(p, n);
}

static const char *const level_names[] = { "emerg", "alert",  "crit", "error",
                                           "warn",  "notice", "info", "debug" };

static int set_error_log(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    int level = RP_LOG_ERR;
    if (n->nargs > 1) {
        level = -1;
        for (size_t i = 0; i < RP_ARRAY_LEN(level_names); i++)
            if (strcmp(n->args[1], level_names[i]) == 0)
                level = (int)i;
        if (level < 0)
            return rp__conf_err(p, n, "invalid log level \"%s\"", n->args[1]);
    }
    if (strncmp(n->args[0], "syslog:", 7) == 0 || strncmp(n->args[0], "memory:", 7) == 0)
        return rp__conf_err(p, n, "\"%s\" error log is not supported yet", n->args[0]);
    if (b->ctx != RP__CTX_MAIN) {
        /* Accepted and validated in http/server/location so nginx configs
         * load, but there is one error log per process for now: messages
         * go to the main one (docs/nginx-compat.md). */
        return RP_OK;
    }
    if (p->conf->error_log_path)
        return rp__conf_dup(p, n);
    p->conf->error_log_path = rp__conf_path(p, n->args[0]);
    p->conf->error_log_level = level;
    return p->conf->error_log_path ? RP_OK : rp__conf_oom(p, n);
}

static int set_events(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    if (p->events_seen)
        return rp__conf_err(p, n, "\"events\" directive is duplicate");
    p->events_seen = 1;
    rp__cblock_t eb = { .ctx = RP__CTX_EVENTS };
    return rp__conf_block(p, n, &eb);
}

static int set_use(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    if (strcmp(n->args[0], "epoll") != 0)
        return rp__conf_err(p, n, "invalid event type \"%s\"", n->args[0]);
    return RP_OK;
}

int rp__conf_set_noop_flag(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                           const rp__cdir_t *d)
{
    /* multi_accept / accept_mutex: rampart gives every worker its own
     * SO_REUSEPORT socket, so there is nothing to tune; log_subrequest:
     * rampart makes no subrequests. Values validated, nothing stored. */
    if (strcasecmp(n->args[0], "on") != 0 && strcasecmp(n->args[0], "off") != 0)
        return rp__conf_err(
            p, n, "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
            n->args[0], n->name);
    return RP_OK;
}

static int set_include(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    return RP_OK; /* the parser expands includes in place */
}

#define MAINOFF(f) RP__BASE_MAIN, offsetof(rp_conf_t, f)

const rp__cdir_t rp__conf_main_dirs[] = {
    { "worker_processes", RP__CTX_MAIN, RP__TAKE1, set_worker_processes, 0, 0 },
    { "worker_rlimit_nofile", RP__CTX_MAIN, RP__TAKE1, set_rlimit_nofile, 0, 0 },
    { "pid", RP__CTX_MAIN, RP__TAKE1, set_pid, 0, 0 },
    { "user", RP__CTX_MAIN, RP__TAKE12, set_user, 0, 0 },
    { "daemon", RP__CTX_MAIN, RP__TAKE1, rp__conf_set_flag, MAINOFF(daemon) },
    { "error_log", RP__CTX_MAIN | RP__CTX_HSL, RP__TAKE12, set_error_log, 0, 0 },
    { "include", RP__CTX_MAIN | RP__CTX_EVENTS | RP__CTX_HSL | RP__CTX_UPS, RP__TAKE1, set_include,
      0, 0 },
    { "events", RP__CTX_MAIN, RP__NOARGS | RP__BLOCK, set_events, 0, 0 },
    { "worker_connections", RP__CTX_EVENTS, RP__TAKE1, set_worker_connections, 0, 0 },
    { "use", RP__CTX_EVENTS, RP__TAKE1, set_use, 0, 0 },
    { "multi_accept", RP__CTX_EVENTS, RP__TAKE1, rp__conf_set_noop_flag, 0, 0 },
    { "accept_mutex", RP__CTX_EVENTS, RP__TAKE1, rp__conf_set_noop_flag, 0, 0 },
    { NULL, 0, 0, NULL, 0, 0 },
};

/* ---- loading ---- */

static int is_http_only(const char *name)
{
    int http = 0, main_ctx = 0;
    for (size_t t = 0; t < RP_ARRAY_LEN(tables); t++)
        for (const rp__cdir_t *d = tables[t]; d->name; d++)
            if (strcmp(d->name, name) == 0) {
                if (d->ctx & RP__CTX_MAIN)
                    main_ctx = 1;
                if (d->ctx & RP__CTX_HTTP)
                    http = 1;
            }
    return http && !main_ctx;
}

/* A file whose top level holds server, upstream or other http-level
 * directives and no `http` block is read as the body of `http {}`
 * (configs/README.md): fragments written for an include inside http work
 * as whole files. Main-level directives keep their meaning. */
static int run_main(rp__cparse_t *p, const rp_conf_node_t *root)
{
    int has_http = 0, fragment = 0;
    for (size_t i = 0; i < root->nchildren; i++) {
        if (strcmp(root->children[i].name, "http") == 0)
            has_http = 1;
        else if (is_http_only(root->children[i].name))
            fragment = 1;
    }
    rp__cblock_t mb = { .ctx = RP__CTX_MAIN };
    if (has_http || !fragment)
        return rp__conf_block(p, root, &mb);

    rp_conf_node_t http = { 0 };
    http.name = "http";
    http.is_block = 1;
    http.file = root->nchildren ? root->children[0].file : "";
    http.line = 1;
    http.children = rp_arena_alloc(p->a, root->nchildren * sizeof(rp_conf_node_t));
    if (!http.children)
        return rp__conf_oom(p, NULL);
    for (size_t i = 0; i < root->nchildren; i++) {
        const rp_conf_node_t *c = &root->children[i];
        int main_ctx = 0;
        for (size_t t = 0; t < RP_ARRAY_LEN(tables) && !main_ctx; t++)
            for (const rp__cdir_t *d = tables[t]; d->name; d++)
                if (strcmp(d->name, c->name) == 0 && (d->ctx & RP__CTX_MAIN)) {
                    main_ctx = 1;
                    break;
                }
        if (main_ctx) {
            if (run_directive(p, c, &mb) != RP_OK)
                return RP_ERROR;
        } else {
            http.children[http.nchildren++] = *c;
        }
    }
    return rp__conf_http(p, &http);
}

static void finish_main(rp__cparse_t *p)
{
    rp_conf_t *c = p->conf;
    if (c->worker_processes == RP_UNSET)
        c->worker_processes = 1; /* nginx's default */
    if (c->daemon == RP_UNSET)
        c->daemon = 1;
    if (!c->pid_path)
        c->pid_path = rp__conf_path(p, "logs/rampart.pid");
    else if (c->pid_path[0] == '\0')
        c->pid_path = NULL; /* "off" */
    if (!c->error_log_path) {
        c->error_log_path = rp__conf_path(p, "logs/error.log");
        c->error_log_level = RP_LOG_ERR;
    }
    if (!c->worker_connections_set) {
        /* Not set: size it from the descriptor limit the process will run
         * with (worker_rlimit_nofile if given, else the soft RLIMIT_NOFILE).
         * A proxied connection costs two descriptors (client + backend), all
         * workers share the process limit, and 64 are kept back for
         * listeners, log files and the like:
         *   (nofile - 64) / (2 * workers), clamped to [32, 65536]. */
        int64_t nofile = c->worker_rlimit_nofile;
        if (nofile == 0) {
            struct rlimit rl;
            nofile = 1024;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                nofile = (int64_t)rl.rlim_cur;
            else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                nofile = 1 << 20;
        }
        int64_t wc = (nofile - 64) / (2 * (int64_t)c->worker_processes);
        c->worker_connections = (int)RP_MAX(32, RP_MIN(wc, 65536));
    }
}

static void conf_free(rp_conf_t *c)
{
    for (size_t i = 0; i < c->nlog_files; i++)
        if (c->log_files[i])
            rp_log_file_release(c->log_files[i]);
    rp_arena_destroy(&c->arena);
    free(c);
}

static unsigned long generation_counter;

rp_conf_t *rp_conf_load(const char *path, const char *prefix, const char *directives, int flags,
                        char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    rp_conf_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rp_arena_init(&c->arena, 16384);
    c->refs = 1;
    c->generation = __atomic_add_fetch(&generation_counter, 1, __ATOMIC_RELAXED);
    c->worker_processes = RP_UNSET;
    c->daemon = RP_UNSET;
    c->error_log_level = RP_LOG_ERR;

    rp__cparse_t p = { 0 };
    p.conf = c;
    p.a = &c->arena;
    p.flags = flags;
    p.err = err;
    p.errlen = errlen;
    c->prefix = rp_arena_strdup(p.a, prefix ? prefix : "");
    p.prefix = c->prefix;

    rp_conf_tree_t gtree = { 0 }, tree = { 0 };
    int have_g = 0, have_tree = 0, rc = RP_ERROR;

    /* a relative -c path is relative to the prefix, as in nginx */
    c->file = rp__conf_path(&p, path);
    if (!c->prefix || !c->file) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    if (directives && directives[0]) {
        if (rp_conf_parse_string("command line", directives, strlen(directives), &gtree, err,
                                 errlen) != 0)
            goto done;
        have_g = 1;
        rp__cblock_t mb = { .ctx = RP__CTX_MAIN };
        if (rp__conf_block(&p, &gtree.root, &mb) != RP_OK)
            goto done;
    }
    if (rp_conf_parse_file(c->file, &tree, err, errlen) != 0)
        goto done;
    have_tree = 1;
    if (run_main(&p, &tree.root) != RP_OK)
        goto done;
    finish_main(&p);
    rc = RP_OK;

done:
    if (have_g)
        rp_conf_tree_free(&gtree);
    if (have_tree)
        rp_conf_tree_free(&tree);
    if (rc != RP_OK) {
        if (!err[0])
            snprintf(err, errlen, "invalid configuration");
        conf_free(c);
        return NULL;
    }
    return c;
}

void rp_conf_ref(rp_conf_t *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void rp_conf_unref(rp_conf_t *c)
{
    if (!c)
        return;
    /* acq_rel: the freeing thread must see every write made by the others
     * before they dropped their reference */
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
        conf_free(c);
}

/* ---- -T ---- */

static int dump_file(const char *name, FILE *out)
{
    fprintf(out, "# configuration file %s:\n", name);
    FILE *f = fopen(name, "r");
    if (!f) {
        fprintf(out, "# open() failed (%d: %s)\n\n", errno, strerror(errno));
        return RP_ERROR;
    }
    char buf[8192];
    size_t k, total = 0;
    int last = '\n';
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
        fwrite(buf, 1, k, out);
        last = buf[k - 1];
        total += k;
    }
    fclose(f);
    if (total && last != '\n')
        fputc('\n', out);
    fputc('\n', out);
    return RP_OK;
}

static void collect_files(const rp_conf_node_t *n, const char ***files, size_t *nfiles)
{
    for (size_t i = 0; i < n->nchildren; i++) {
        const rp_conf_node_t *c = &n->children[i];
        int seen = 0;
        for (size_t j = 0; j < *nfiles && !seen; j++)
            if ((*files)[j] == c->file || strcmp((*files)[j], c->file) == 0)
                seen = 1;
        if (!seen && c->file) {
            const char **nf = realloc(*files, (*nfiles + 1) * sizeof(*nf));
            if (nf) {
                nf[(*nfiles)++] = c->file;
                *files = nf;
            }
        }
        collect_files(c, files, nfiles);
    }
}

int rp_conf_dump(const char *path, const char *prefix, FILE *out)
{
    char file[PATH_MAX];
    if (path[0] != '/' && prefix && prefix[0])
        snprintf(file, sizeof(file), "%s%s", prefix, path);
    else
        snprintf(file, sizeof(file), "%s", path);
    rp_conf_tree_t tree = { 0 };
    char err[512];
    if (rp_conf_parse_file(file, &tree, err, sizeof(err)) != 0) {
        dump_file(file, out);
        return RP_ERROR;
    }
    const char **files = NULL;
    size_t nfiles = 0;
    collect_files(&tree.root, &files, &nfiles);
    int rc = dump_file(file, out);
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i], file) != 0 && dump_file(files[i], out) != RP_OK)
            rc = RP_ERROR;
    free(files);
    rp_conf_tree_free(&tree);
    return rc;
}
