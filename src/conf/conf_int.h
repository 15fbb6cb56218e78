/* Internal to src/conf/conf*.c: the directive table machinery and the
 * building state shared by the files of the semantic layer. Nothing outside
 * src/conf includes this header.
 */
#ifndef RP_CONF_CONF_INT_H
#define RP_CONF_CONF_INT_H

#include <stdarg.h>

#include "conf/conf.h"
#include "core/common.h"

/* Contexts (bitmask). */
#define RP__CTX_MAIN 0x01
#define RP__CTX_EVENTS 0x02
#define RP__CTX_HTTP 0x04
#define RP__CTX_SRV 0x08
#define RP__CTX_LOC 0x10
#define RP__CTX_UPS 0x20
#define RP__CTX_HSL (RP__CTX_HTTP | RP__CTX_SRV | RP__CTX_LOC)

/* Argument counts (bitmask, as nginx's NGX_CONF_TAKE*). */
#define RP__NOARGS 0x001
#define RP__TAKE1 0x002
#define RP__TAKE2 0x004
#define RP__TAKE3 0x008
#define RP__TAKE12 (RP__TAKE1 | RP__TAKE2)
#define RP__TAKE4 0x010
#define RP__TAKE123 (RP__TAKE1 | RP__TAKE2 | RP__TAKE3)
#define RP__TAKE1234 (RP__TAKE123 | RP__TAKE4)
#define RP__1MORE 0x100
#define RP__2MORE 0x200
#define RP__BLOCK 0x400

/* What a generic setter's offset is relative to. */
enum { RP__BASE_NONE = 0, RP__BASE_MAIN, RP__BASE_LOC, RP__BASE_SRV, RP__BASE_UPS };

typedef struct rp__cparse_s rp__cparse_t;
typedef struct rp__cdir_s rp__cdir_t;

/* The block being read: which objects its directives fill. */
typedef struct {
    int ctx;                 /* one RP__CTX_* */
    rp_server_t *srv;        /* server, or the http-level pseudo server */
    rp_loc_conf_t *loc;      /* settings of the current level */
    rp_location_t *location; /* current location (NULL above) */
    rp_upstream_t *ups;
    int srv_has_listen;
} rp__cblock_t;

typedef int (*rp__dir_fn)(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d);

struct rp__cdir_s {
    const char *name;
    unsigned ctx;
    unsigned args;
    rp__dir_fn set;
    int base;
    size_t offset;
};

/* proxy_pass / upstream server waiting for the end of the http block. */
typedef struct {
    rp_proxy_pass_t *pass;
    rp_location_t *loc;
    char *host; /* host as written, without port */
    int port;   /* 0 when not written */
    const rp_conf_node_t *node;
} rp__cpending_pass_t;

typedef struct {
    rp_upstream_t *ups;
    char *host;
    int port;
    rp_upstream_server_t tmpl; /* parameters; copied to each address */
    int resolve;               /* `resolve`: re-resolved while running */
    const rp_conf_node_t *node;
} rp__cpending_srv_t;

struct rp__cparse_s {
    rp_conf_t *conf;
    rp_arena_t *a;
    const char *prefix;
    int flags;
    char *err;
    size_t errlen;
    rp_var_registry_t reg;
    rp_server_t *http_srv; /* http-level settings */
    rp__cpending_pass_t *passes;
    size_t npasses;
    rp__cpending_srv_t *usrvs;
    size_t nusrvs;
    int *listen_opts; /* parallel to conf->listens: options set */
    size_t nlisten_opts;
    int events_seen;
    int http_seen;
};

/* Every directive table, in module order. */
extern const rp__cdir_t rp__conf_main_dirs[];
extern const rp__cdir_t rp__conf_http_dirs[];
extern const rp__cdir_t rp__conf_upstream_dirs[];
extern const rp__cdir_t rp__conf_ssl_dirs[];
extern const rp__cdir_t rp__conf_compress_dirs[];

/* Errors: formats the sentence and appends " in FILE:LINE" of n. Returns
 * RP_ERROR so handlers can `return rp__conf_err(...)`. */
int rp__conf_err(rp__cparse_t *p, const rp_conf_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rp__conf_oom(rp__cparse_t *p, const rp_conf_node_t *n);
int rp__conf_dup(rp__cparse_t *p, const rp_conf_node_t *n);

/* Runs the directives of a block body in context b. */
int rp__conf_block(rp__cparse_t *p, const rp_conf_node_t *blk, rp__cblock_t *b);

/* Grows an arena array by one zeroed slot (capacity doubles). */
void *rp__conf_push(rp_arena_t *a, void **arr, size_t *n, size_t size);
#define RP__PUSH(a, arr, n)                                                                        \
    __extension__({                                                                                \
        void *rp__b = (arr);                                                                       \
        void *rp__s = rp__conf_push((a), &rp__b, &(n), sizeof(*(arr)));                            \
        (arr) = rp__b;                                                                             \
        (__typeof__(arr))rp__s;                                                                    \
    })

/* Value parsers: return RP_OK or RP_ERROR (no message). */
int rp__conf_parse_size(const char *s, int64_t *out);
int rp__conf_parse_msec(const char *s, int64_t *out); /* bare number = s */
int rp__conf_parse_int(const char *s, int64_t *out);  /* >= 0 decimal */

/* on|off into *f (RP_UNSET before: else a duplicate), with the errors of
 * nginx's flag directives. */
int rp__conf_flag(rp__cparse_t *p, const rp_conf_node_t *n, int *f);
/* Generic setters; the field lies at d->offset of d->base's object. */
int rp__conf_set_flag(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d);
int rp__conf_set_msec(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d);
int rp__conf_set_size(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d);
int rp__conf_set_num(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                     const rp__cdir_t *d);
/* on|off validated, nothing stored: directives with nothing to tune. */
int rp__conf_set_noop_flag(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                           const rp__cdir_t *d);

/* Helpers. */
char *rp__conf_path(rp__cparse_t *p, const char *path); /* prefix + relative */
rp_tpl_t *rp__conf_tpl(rp__cparse_t *p, const rp_conf_node_t *n, const char *text);

/* http side (conf_http.c). */
int rp__conf_http(rp__cparse_t *p, const rp_conf_node_t *n);
void rp__conf_loc_init(rp_loc_conf_t *lc);
void rp__conf_srv_init(rp_server_t *s);

/* Splits "host", "host:port", "[v6]", "[v6]:port" into buf (host part,
 * brackets removed) and *port (0 when absent). RP_ERROR: bad port. */
int rp__conf_split_hostport(const char *in, char *buf, size_t cap, int *port);
void rp__conf_sa_fill(rp_sockaddr_t *out, const struct sockaddr *sa, socklen_t len);
/* Compiles a regex (location, server_name); freed with the arena. */
void *rp__conf_regex(rp__cparse_t *p, const rp_conf_node_t *n, const char *re, int caseless);

/* upstream side (conf_upstream.c). */
int rp__conf_resolve_pending(rp__cparse_t *p);
int rp__conf_upstream_block(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d);
int rp__conf_proxy_pass(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d);
void rp__conf_upstream_defaults(rp_upstream_t *u);

/* TLS settings (conf_ssl.c): unset state; merge of a server with the
 * merged http level (NULL: the http level itself, with the defaults); the
 * checks and SSL_CTX building once the http block is complete. */
void rp__conf_ssl_init(rp_ssl_conf_t *c);
void rp__conf_ssl_merge(rp_ssl_conf_t *c, const rp_ssl_conf_t *h);
int rp__conf_ssl_finish(rp__cparse_t *p);
/* proxy_ssl_* (conf_ssl.c): unset state, and the merge of one level with
 * its merged parent (NULL: the http level, with the defaults). The client
 * SSL_CTXs are built by rp__conf_ssl_finish. */
void rp__conf_proxy_ssl_init(rp_proxy_ssl_conf_t *c);
void rp__conf_proxy_ssl_merge(rp_proxy_ssl_conf_t *c, const rp_proxy_ssl_conf_t *parent);

/* gzip, brotli, zstd, gunzip (conf_compress.c): unset state and merge. */
void rp__conf_compress_init(rp_compress_conf_t *c);
void rp__conf_compress_merge(rp_compress_conf_t *c, const rp_compress_conf_t *parent);

/* proxy_redirect (redirect.c): the directive, and the merge of one level
 * with its merged parent (NULL at http level); loc is the location whose
 * settings c are (NULL at http and server level). */
int rp__conf_proxy_redirect(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d);
int rp__conf_redirect_merge(rp__cparse_t *p, rp_loc_conf_t *c, const rp_loc_conf_t *parent,
                            const rp_location_t *loc);

#endif
