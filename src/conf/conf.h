/* Configuration generation: the immutable, reference-counted result of
 * parsing and validating one configuration (DESIGN.md, "Configuration
 * generations and reload").
 *
 * Everything hangs off one arena owned by the generation. Per-location
 * settings are already merged (http -> server -> location -> nested
 * location) when a generation is built: the request path never looks up
 * inheritance. Times are milliseconds, sizes bytes; RP_UNSET (-1) appears
 * only during building, never in a finished generation.
 */
#ifndef RP_CONF_CONF_H
#define RP_CONF_CONF_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "conf/ast.h"
#include "conf/vars.h"
#include "core/arena.h"
#include "core/str.h"

typedef struct rp_conf_s rp_conf_t;
typedef struct rp_server_s rp_server_t;
typedef struct rp_location_s rp_location_t;
typedef struct rp_log_file_s rp_log_file_t; /* core/log.h */

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[64]; /* "127.0.0.1:8080", "[::1]:8080" */
} rp_sockaddr_t;

/* ---- upstreams ---- */

/* Servers (addresses) one upstream may have: a request's set of servers
 * tried is a bitmap of this size. */
#define RP_MAX_UPSTREAM_SERVERS 64

/* proxy_next_upstream conditions */
#define RP_NEXT_ERROR 0x001
#define RP_NEXT_TIMEOUT 0x002
#define RP_NEXT_INVALID_HEADER 0x004
#define RP_NEXT_500 0x008
#define RP_NEXT_502 0x010
#define RP_NEXT_503 0x020
#define RP_NEXT_504 0x040
#define RP_NEXT_403 0x080
#define RP_NEXT_404 0x100
#define RP_NEXT_429 0x200
#define RP_NEXT_NON_IDEMPOTENT 0x400

/* `match name { ... }`: what a health-check response must look like. */
enum rp_match_op {
    RP_MATCH_PRESENT = 0, /* header Name */
    RP_MATCH_ABSENT,      /* header ! Name */
    RP_MATCH_EQ,          /* header Name = value */
    RP_MATCH_NE,          /* header Name != value */
    RP_MATCH_RE,          /* header Name ~ regex, body ~ regex */
    RP_MATCH_NRE,         /* header Name !~ regex, body !~ regex */
};

typedef struct {
    char *name; /* lower-case */
    int op;     /* enum rp_match_op */
    char *value;
    void *re; /* pcre2_code * for RE / NRE */
} rp_match_header_t;

typedef struct {
    char *name;
    struct {
        int lo, hi;
    } * status; /* any of these ranges (none: 2xx or 3xx) */
    size_t nstatus;
    int status_not;             /* status ! ...: none of them */
    rp_match_header_t *headers; /* all must hold */
    size_t nheaders;
    int body_op;   /* 0: no body test, RP_MATCH_RE or RP_MATCH_NRE */
    void *body_re; /* pcre2_code * */
    const char *file;
    int line;
} rp_match_t;

/* allow / deny rules */
typedef struct rp_access_rule {
    int family; /* AF_INET, AF_INET6, or 0 for "all" */
    unsigned char addr[16], mask[16];
    int deny;
} rp_access_rule_t;

/* `health_check` of an upstream (src/proxy/health.c). */
typedef struct {
    int64_t interval; /* ms, default 5000 */
    int64_t jitter;   /* ms, default 0: each probe is delayed by up to this */
    int fails;        /* consecutive failed probes that take a server out; 1 */
    int passes;       /* consecutive passed probes that bring it back; 1 */
    char *uri;        /* default "/" */
    int port;         /* 0: the server's port */
    char *match_name; /* match=NAME, resolved to match at the end of http */
    rp_match_t *match;
    int mandatory;  /* servers start "checking" (unusable) until a pass */
    int persistent; /* with mandatory: a reload keeps the verdicts */
    const char *file;
    int line;
} rp_health_check_t;

/* health of a server under active checks */
enum { RP_HEALTH_UP = 0, RP_HEALTH_DOWN = 1, RP_HEALTH_CHECKING = 2 };

/* Parses a numeric "IPv4:port" or "[IPv6]:port" into out (no DNS).
 * Returns RP_OK or RP_ERROR. */
int rp_conf_parse_addr(const char *text, rp_sockaddr_t *out);

/* A consistent-hash ring (src/proxy/balance.c). */
struct rp_ring {
    size_t n;
    uint32_t *hash;   /* sorted points ... */
    uint32_t *server; /* ... and the server of each */
};

/* `upstream` balancing methods (src/proxy/balance.c). */
enum rp_balance {
    RP_BALANCE_RR = 0,     /* smooth weighted round robin (default) */
    RP_BALANCE_LEAST_CONN, /* least_conn */
    RP_BALANCE_IP_HASH,    /* ip_hash */
    RP_BALANCE_HASH,       /* hash KEY [consistent] */
    RP_BALANCE_RANDOM,     /* random [two [least_conn|least_time=...]] */
    RP_BALANCE_LEAST_TIME, /* least_time header|last_byte [inflight] */
};

/* least_time: which response time is averaged */
enum { RP_LT_HEADER = 1, RP_LT_LAST_BYTE = 2 };

typedef struct {
    char *name; /* as written: "backend1.example.com:8080" */
    rp_sockaddr_t addr;
    int weight;           /* >= 1 */
    int max_conns;        /* 0: no limit */
    int max_fails;        /* default 1; 0: failures never take it out */
    int64_t fail_timeout; /* ms, default 10000 */
    int64_t slow_start;   /* ms, 0: none */
    int backup;           /* used only when no primary server is usable */
    /* Runtime state shared by the worker threads; read and written with
     * atomics (src/proxy/balance.c). down and drain start as configured. */
    int down;               /* marked down: never chosen */
    int drain;              /* no new requests (in-flight ones finish) */
    int conns;              /* requests in flight to it */
    int fails;              /* failures in the current window */
    uint64_t fail_since_ms; /* start of that window (monotonic) */
    uint64_t down_until_ms; /* passive check: unusable until then */
    uint64_t up_since_ms;   /* back after failures: slow_start ramps from here */
    uint64_t ema_header_us; /* least_time: moving averages (1/8 weight) */
    uint64_t ema_last_byte_us;
    uint64_t requests; /* requests sent to it */
    /* active health checks (src/proxy/health.c): the verdict every worker
     * reads, and the checker's own counters */
    int health;                 /* RP_HEALTH_*; atomic */
    int hc_fails, hc_passes;    /* consecutive results */
    int hc_last_status;         /* HTTP status of the last probe, 0: none */
    uint64_t hc_checks, hc_bad; /* probes made, probes failed */
    struct {
        uint64_t at_ms; /* wall clock */
        int status;     /* HTTP status, 0: none */
        int passed;
    } hc_hist[8];       /* the last probes, hc_checks % 8 the next slot */
    char sticky_id[17]; /* sticky cookie value naming it (hex) */
    int removed;        /* removed through the API: never used */
} rp_upstream_server_t;

/* `sticky cookie name [expires=] [domain=] [path=] [httponly] [secure]
 * [samesite=]` */
typedef struct {
    char *name;
    int64_t expires; /* ms; -1: a session cookie; "max": 10 years */
    char *domain, *path, *samesite;
    int httponly, secure;
} rp_sticky_t;

/* `resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off]` */
typedef struct {
    rp_sockaddr_t addrs[4]; /* port 53 unless given */
    size_t naddrs;
    int64_t valid; /* ms; 0: as the answers' TTL says */
    int ipv4, ipv6;
} rp_resolver_t;

/* A `server name resolve` of an upstream: re-resolved while running
 * (src/proxy/resolve.c); its addresses become servers with tmpl's
 * parameters. */
typedef struct {
    char *host;
    int port;
    char *written; /* "name:port" as written */
    rp_upstream_server_t tmpl;
} rp_resolve_name_t;

typedef struct {
    char *name;                    /* upstream name, or "host:port" for an
                                      implicit upstream made by proxy_pass */
    rp_upstream_server_t *servers; /* every resolved address is one server */
    size_t nservers;
    int keepalive;              /* idle connections kept per worker (default 32) */
    int64_t keepalive_timeout;  /* ms, default 60000 */
    int64_t keepalive_requests; /* default 1000 */
    int implicit;               /* made from proxy_pass http://host:port */
    int balance;                /* enum rp_balance */
    rp_tpl_t *hash_key;         /* hash KEY */
    int hash_consistent;        /* hash KEY consistent: a ring of points */
    int random_two;             /* random two: the better of two */
    int two_method;             /* RP_BALANCE_LEAST_CONN or _LEAST_TIME */
    int lt_mode;                /* RP_LT_HEADER or RP_LT_LAST_BYTE */
    int lt_inflight;            /* least_time ... inflight */
    int has_backup;             /* some server is `backup` */
    rp_health_check_t *hc;      /* active health checks, or NULL */
    rp_sticky_t *sticky;        /* sticky cookie, or NULL */
    struct rp_ring *ring;       /* consistent hash ring (src/proxy/balance.c);
                                   replaced whole when servers change */
    size_t cap_servers;         /* slots in servers: named upstreams have
                                   RP_MAX_UPSTREAM_SERVERS, so the runtime
                                   API can add servers without moving them */
    rp_resolve_name_t *rnames;  /* servers with `resolve` */
    size_t nrnames;
    rp_resolver_t *resolver;  /* the upstream's own, else the http one */
    int64_t resolver_timeout; /* ms */
    char *state_file;         /* `state FILE` */
    const char *state_conf_file;
    int state_line;
    int64_t *rr_current; /* smooth WRR state shared by the workers
                            (nservers entries), set up by the worker
                            layer when the generation is activated */
    int rr_lock;         /* spin lock guarding rr_current */
    const char *file;
    int line;
} rp_upstream_t;

/* ---- TLS values shared by ssl_* and proxy_ssl_* ---- */

/* A value with the place of the directive that wrote it: TLS problems found
 * while building the SSL_CTX (unreadable file, key mismatch, expired
 * certificate) are reported with that file:line. */
typedef struct {
    char *value; /* paths are absolute (prefix applied) */
    const char *file;
    int line;
} rp_ssl_arg_t;

typedef struct {
    char *name;
    char *value;
    const char *file;
    int line;
} rp_ssl_conf_cmd_t;

/* ssl_protocols bits */
#define RP_SSL_TLSv1 0x01
#define RP_SSL_TLSv1_1 0x02
#define RP_SSL_TLSv1_2 0x04
#define RP_SSL_TLSv1_3 0x08

/* ---- per-location settings ---- */

typedef struct {
    rp_str_t name;   /* field name as written */
    rp_tpl_t *value; /* empty value after evaluation: field not sent */
} rp_set_header_t;

typedef struct {
    rp_str_t name;
    rp_tpl_t *value;
    int always;
} rp_add_header_t;

typedef struct {
    int *codes;
    size_t ncodes;
    int response;  /* "=NNN": answer with NNN; 0: keep the original status;
                      -1: "=" alone (status of the error page handler) */
    rp_tpl_t *uri; /* "/50x.html", "@named" or "http://..." (redirect) */
} rp_error_page_t;

typedef struct {
    rp_log_file_t *file;
    const struct rp_log_format_s *format;
    size_t buffer; /* bytes; 0 = write each line */
    int64_t flush; /* ms, `flush=`; 0 = not set (added by conf.c) */
} rp_access_log_t;

enum rp_log_escape {
    RP_LOG_ESCAPE_DEFAULT = 0, /* \xXX for '"', '\\', controls, >= 0x7f */
    RP_LOG_ESCAPE_JSON,
    RP_LOG_ESCAPE_NONE,
};

typedef struct rp_log_format_s {
    char *name;
    rp_tpl_t *tpl; /* the concatenated format strings */
    int escape;    /* enum rp_log_escape, `escape=` (added by conf.c) */
} rp_log_format_t;

typedef struct {
    rp_upstream_t *upstream;
    int has_uri;   /* proxy_pass http://host/uri: replace matched prefix */
    rp_str_t uri;  /* the uri part ("/" or "/api/") when has_uri */
    rp_str_t host; /* $proxy_host: "host:port" as written, or upstream
                      name; ":80" omitted */
    rp_str_t port; /* $proxy_port */
    /* the proxy_pass argument as written ("http://backend:8080/two/"):
     * the pattern of `proxy_redirect default` */
    rp_str_t url;
    int ssl; /* proxy_pass https://: TLS to the backend with the
                location's proxy_ssl_ctx (default port 443) */
    /* the host part as written, without port or IPv6 brackets (the
     * upstream name for proxy_pass https://name): the default
     * proxy_ssl_name */
    rp_str_t ssl_name;
} rp_proxy_pass_t;

/* proxy_ssl_* (http, server, location; a scalar is inherited when unset,
 * proxy_ssl_conf_command lists only when a level has none). src/tls builds
 * the client SSL_CTX (rp_loc_conf_t.proxy_ssl_ctx) from them for every
 * location whose proxy_pass is https. */
typedef struct {
    int verify;              /* proxy_ssl_verify, default 0 (nginx) */
    const char *verify_file; /* where proxy_ssl_verify on was written */
    int verify_line;
    rp_ssl_arg_t trusted_certificate; /* required with verify */
    int64_t verify_depth;             /* default 1 */
    int server_name;                  /* proxy_ssl_server_name, default 0: no SNI */
    /* proxy_ssl_name (may hold variables). For a location with an https
     * proxy_pass never NULL once loaded: default is the proxy_pass host
     * (rp_proxy_pass_t.ssl_name) as a constant template */
    rp_tpl_t *name;
    rp_ssl_arg_t certificate;     /* client certificate (mTLS) */
    rp_ssl_arg_t certificate_key; /* required with certificate */
    int protocols;                /* RP_SSL_TLSv* bits, default TLSv1.2|TLSv1.3 */
    rp_ssl_arg_t ciphers;         /* NULL value = "DEFAULT" */
    int session_reuse;            /* default 1 */
    rp_ssl_conf_cmd_t *conf_cmds;
    size_t nconf_cmds;
} rp_proxy_ssl_conf_t;

/* One `proxy_redirect redirect replacement` rule (conf/redirect.h applies
 * them). Exactly one of pattern / re is set. */
typedef struct {
    /* prefix, compared case-sensitively; may hold variables */
    rp_tpl_t *pattern;
    /* pcre2_code * for `~re` / `~*re`: a match replaces the whole value */
    void *re;
    /* may hold variables ($1..$9 of re) */
    rp_tpl_t *replacement;
} rp_proxy_redirect_t;

/* Response compression (conf_compress.c; src/filter runs it, the proxy
 * decides per response). Codings by index: */
enum rp_zcoding { RP_Z_GZIP = 0, RP_Z_BR, RP_Z_ZSTD, RP_Z_COUNT };

typedef struct {
    int on;             /* `gzip` / `brotli` / `zstd`, default 0 */
    int64_t level;      /* default gzip 1, brotli 4, zstd 3 */
    int64_t min_length; /* `*_min_length`, default 20 */
    rp_str_t *types;    /* `*_types`, lower-case, without text/html (always
                           included); NULL after merging = text/html only */
    size_t ntypes;
    int any_type; /* `*_types *` */
    int types_set;
    int64_t buffers; /* `*_buffers N size`: compressed bytes held per
                        response before they are written, default 128k */
    int static_;     /* `*_static`: 0 off (default), 1 on, 2 always: a
                        precompressed FILE.gz / .br / .zst is sent */
} rp_coding_conf_t;

/* gzip_proxied bits */
#define RP_GZP_EXPIRED 0x01
#define RP_GZP_NO_CACHE 0x02
#define RP_GZP_NO_STORE 0x04
#define RP_GZP_PRIVATE 0x08
#define RP_GZP_NO_LM 0x10
#define RP_GZP_NO_ETAG 0x20
#define RP_GZP_AUTH 0x40
#define RP_GZP_ANY 0x80

typedef struct {
    rp_coding_conf_t c[RP_Z_COUNT];
    int proxied;       /* `gzip_proxied`: RP_GZP_* bits, 0 = off (default) */
    int vary;          /* `gzip_vary`, default 1 in rampart (nginx: off) */
    void **disable;    /* `gzip_disable`: pcre2_code * on User-Agent */
    size_t ndisable;   /* (-1 when unset before merging) */
    int disable_msie6; /* `gzip_disable msie6` */
    int disable_set;   /* the level has gzip_disable */
    int http_version;  /* `gzip_http_version`: 10 or 11 (default) */
    int gunzip;        /* `gunzip`, default 0 */
    int64_t gunzip_buffers;
    int64_t brotli_window; /* `brotli_window`: log2, default 19 (512k) */
    int order[RP_Z_COUNT]; /* `compression_preference`: RP_Z_*, */
    int norder;            /* default zstd br gzip; 0 unset */
} rp_compress_conf_t;

typedef struct {
    /* content handlers, at most one of return / proxy_pass / static */
    int return_code;       /* 0 when no `return` */
    rp_tpl_t *return_text; /* body, or Location for 301/302/303/307/308 */
    rp_proxy_pass_t *proxy_pass;
    rp_tpl_t *root;   /* `root` (default "html" under the prefix);
                         the same pointer as alias when alias is set,
                         so it stays the $document_root value */
    rp_tpl_t *alias;  /* NULL unless `alias`; replaces the location prefix.
                         Inherited as nginx does: a nested location that
                         sets neither root nor alias keeps the parent's
                         alias and alias_len */
    size_t alias_len; /* with alias: bytes of the URI it replaces (the
                         name length of the location that wrote it), so
                         file path = alias + uri[alias_len..] */
    rp_str_t *index;  /* `index` names, default {"index.html"} */
    size_t nindex;
    rp_tpl_t **try_files; /* `try_files file ... last`: tried in order; the
                             last is a URI, @name or =code */
    size_t ntry_files;

    rp_error_page_t *error_pages;
    size_t nerror_pages;
    rp_add_header_t *add_headers; /* inherited only when none at this level */
    size_t nadd_headers;

    /* proxy */
    rp_set_header_t *proxy_set_headers; /* inherited only when none at this
                                           level; defaults: Host $proxy_host,
                                           Connection "" (rampart keeps
                                           backend keep-alive itself) */
    size_t nproxy_set_headers;
    rp_str_t *proxy_hide_headers; /* lower-case */
    size_t nproxy_hide_headers;
    rp_str_t *proxy_pass_headers; /* lower-case */
    size_t nproxy_pass_headers;
    int proxy_http_version;              /* 10 or 11, default 11 */
    int64_t proxy_connect_timeout;       /* default 60000 */
    int64_t proxy_read_timeout;          /* default 60000 */
    int proxy_next_upstream;             /* RP_NEXT_* bits, default error|timeout */
    int64_t proxy_next_upstream_tries;   /* 0: no limit */
    int64_t proxy_next_upstream_timeout; /* ms, 0: no limit */
    int64_t proxy_send_timeout;          /* default 60000 */
    int proxy_buffering;                 /* default 1 */
    int proxy_request_buffering;         /* default 1 */
    int64_t proxy_buffer_size;           /* default 4096 (one page) */
    int proxy_buffers_num;               /* default 8 */
    int64_t proxy_buffers_size;          /* default 4096 */
    int proxy_intercept_errors;          /* default 0 */

    /* client side */
    int64_t client_max_body_size;  /* default 1m; 0 = unlimited */
    int64_t client_body_timeout;   /* default 60000 */
    int64_t send_timeout;          /* default 60000 */
    int64_t keepalive_timeout;     /* default 75000; 0 disables keep-alive */
    int64_t keepalive_header;      /* second keepalive_timeout argument, ms:
                                      "Keep-Alive: timeout=N" is sent; 0 = none */
    int64_t keepalive_requests;    /* default 1000 */
    int server_tokens;             /* default 0 in rampart: no version */
    rp_str_t default_type;         /* `default_type`, default "text/plain"
                                      (nginx's compiled-in default too; its
                                      sample nginx.conf sets
                                      application/octet-stream) */
    struct rp_mime_types_s *types; /* `types`, conf/mime.h: extension ->
                                      Content-Type. A level's own block(s)
                                      replace the inherited table entirely
                                      (nginx); after merging never NULL: the
                                      built-in table when no level has one.
                                      Look up with rp_mime_type(). */

    rp_access_log_t *access_logs; /* none = access_log off */
    size_t naccess_logs;

    /* ---- nginx-compatibility settings ---- */

    /* `proxy_redirect`: 0 after `off`, else 1 */
    int proxy_redirect;
    /* rules in config order, first match wins; inherited only when a
     * level has none; when no level has any, a location with proxy_pass
     * gets the `default` rule. NULL: Location and Refresh pass unchanged.
     * Apply with rp_proxy_redirect() (conf/redirect.h). */
    rp_proxy_redirect_t *proxy_redirects;
    size_t nproxy_redirects;
    /* `sendfile`, default 1 in rampart (nginx: off): rampart always served
     * files with sendfile(2); off = read and write through a buffer */
    int sendfile;
    /* `tcp_nopush`, default 0: 1 = TCP_CORK while the response head and
     * the first file bytes go out with sendfile */
    int tcp_nopush;
    /* `tcp_nodelay`, default 1: TCP_NODELAY on keep-alive connections */
    int tcp_nodelay;
    /* `client_body_buffer_size`, default 16k (nginx on 64-bit): the part of
     * a buffered request body held in memory before it spills to a
     * temporary file */
    int64_t client_body_buffer_size;
    /* `client_body_temp_path`: directory of those temporary files
     * (unlinked O_TMPFILE files, so only the directory matters; nginx's
     * levels are accepted and ignored); NULL = $TMPDIR, else /tmp */
    char *client_body_temp_path;
    /* `reset_timedout_connection`, default 0: 1 = a connection closed on
     * a timeout is reset (SO_LINGER 0: RST) instead of closed with FIN */
    int reset_timedout_connection;
    /* `log_not_found`, default 1: log a missing static file to the error
     * log (the 404 is answered either way) */
    int log_not_found;

    /* TLS to backends (proxy_pass https://) */
    rp_proxy_ssl_conf_t proxy_ssl;
    /* client SSL_CTX * built from proxy_ssl when proxy_pass->ssl, else
     * NULL; never inherited; locations with identical settings share one;
     * freed with the generation (tls/tls.h rp_tls_client_new) */
    void *proxy_ssl_ctx;
    /* health_check in a location (NGINX Plus's place): given to the
     * upstream of the location's proxy_pass when the http block ends */
    /* allow / deny, in order; the first rule that matches decides */
    struct rp_access_rule *access;
    size_t naccess;
    int api; /* `api`: 0 none, 1 read-only, 2 write=on */
    rp_health_check_t *health_check;
    rp_compress_conf_t compress;
} rp_loc_conf_t;

enum rp_loc_match {
    RP_LOC_PREFIX = 0,     /* location /path */
    RP_LOC_EXACT,          /* location = /path */
    RP_LOC_PREFIX_NOREGEX, /* location ^~ /path */
    RP_LOC_REGEX,          /* location ~ re */
    RP_LOC_REGEX_ICASE,    /* location ~* re */
    RP_LOC_NAMED,          /* location @name */
};

struct rp_location_s {
    int match;                /* enum rp_loc_match */
    rp_str_t name;            /* prefix, exact path, regex source or @name */
    void *re;                 /* pcre2_code * for regex locations */
    rp_location_t *parent;    /* NULL at server level */
    rp_location_t **children; /* nested, in config order */
    size_t nchildren;
    const char *file;
    int line;
    rp_loc_conf_t conf; /* merged */
};

/* ---- TLS (server side; src/tls builds the SSL_CTX from these) ---- */

enum rp_ssl_verify {
    RP_SSL_VERIFY_OFF = 0,
    RP_SSL_VERIFY_ON,
    RP_SSL_VERIFY_OPTIONAL,
    RP_SSL_VERIFY_OPTIONAL_NO_CA,
};

enum rp_ssl_cache {
    RP_SSL_CACHE_OFF = 0, /* `off` */
    RP_SSL_CACHE_NONE,    /* `none` (nginx's default): no server-side cache */
    RP_SSL_CACHE_ON,      /* builtin and/or shared: OpenSSL's internal cache */
};

/* Server-level TLS settings (http and server contexts; merged as nginx:
 * a scalar is inherited when unset; ssl_certificate, ssl_certificate_key,
 * ssl_conf_command and ssl_session_ticket_key lists are inherited only when
 * the server has none). After merging, RP_UNSET never remains. */
typedef struct {
    rp_ssl_arg_t *certs; /* ssl_certificate, paired by position with keys */
    size_t ncerts;
    rp_ssl_arg_t *keys; /* ssl_certificate_key */
    size_t nkeys;
    int protocols;           /* RP_SSL_TLSv* bits, default TLSv1.2 | TLSv1.3 */
    rp_ssl_arg_t ciphers;    /* TLS 1.2 list; NULL value = rampart default */
    rp_ssl_arg_t ecdh_curve; /* NULL value = X25519:prime256v1:secp384r1 */
    rp_ssl_arg_t dhparam;    /* NULL value: no DHE */
    rp_ssl_conf_cmd_t *conf_cmds;
    size_t nconf_cmds;
    int prefer_server_ciphers;  /* default 1 in rampart (nginx: off) */
    int session_cache;          /* enum rp_ssl_cache, default NONE */
    int64_t session_cache_size; /* sessions, with RP_SSL_CACHE_ON */
    int64_t session_timeout;    /* ms, default 300000 */
    int session_tickets;        /* default 1 */
    rp_ssl_arg_t *ticket_keys;  /* first encrypts, all decrypt */
    size_t nticket_keys;
    int stapling;               /* default 0 */
    const char *stapling_dfile; /* where `ssl_stapling on` was written */
    int stapling_dline;
    int stapling_verify;        /* default 0; accepted, the file is served as is */
    rp_ssl_arg_t stapling_file; /* DER OCSP response */
    rp_ssl_arg_t client_certificate;
    rp_ssl_arg_t trusted_certificate;
    int verify_client; /* enum rp_ssl_verify, default OFF */
    const char *verify_client_file;
    int verify_client_line;
    int64_t verify_depth; /* default 1 */
} rp_ssl_conf_t;

/* ---- servers and listening ---- */

enum rp_name_kind {
    RP_NAME_EXACT = 0,  /* example.com */
    RP_NAME_WILD_START, /* *.example.com (stored without "*": ".example.com") */
    RP_NAME_WILD_END,   /* www.example.* (stored without "*": "www.example.") */
    RP_NAME_DOT,        /* .example.com: matches example.com and *.example.com
                           (stored with its leading dot: ".example.com") */
    RP_NAME_REGEX,      /* ~^www\d+\.example\.com$ (stored without "~",
                           compiled caseless as nginx does) */
};

typedef struct {
    int kind;      /* enum rp_name_kind */
    rp_str_t name; /* lower-case; pattern text for regex */
    void *re;      /* pcre2_code * */
} rp_server_name_t;

struct rp_server_s {
    rp_server_name_t *names; /* in config order; names[0] is $server_name */
    size_t nnames;
    rp_location_t **locations; /* top-level locations in config order */
    size_t nlocations;
    rp_location_t **named_locations;
    size_t nnamed_locations;
    rp_loc_conf_t conf; /* server-level merged settings (used when no
                           location matches) */
    /* client request head limits (server level in nginx) */
    int64_t client_header_buffer_size;        /* default 1024 */
    int large_client_header_buffers_num;      /* default 4 */
    int64_t large_client_header_buffers_size; /* default 8192 */
    int64_t client_header_timeout;            /* default 60000 */
    void *ssl_ctx;                            /* SSL_CTX * when the server has
                                                 certificates (src/tls) */
    int64_t ssl_handshake_timeout;            /* ms, default 60000 */
    /* `underscores_in_headers`, default 0: request fields whose names
     * contain '_' are dropped (not forwarded, not seen by $http_*) */
    int underscores_in_headers;
    /* `ignore_invalid_headers`, default 1. Stored only: rampart answers 400
     * to an invalid field name either way (off does not make it lenient) */
    int ignore_invalid_headers;
    /* HTTP/2: `http2 on` (with `listen ... http2` on the address, either
     * enables it), and its limits */
    int http2;                            /* default 0 */
    int64_t http2_max_concurrent_streams; /* default 128 */
    int64_t http2_body_preread_size;      /* stream receive window, default 64 KiB */
    int64_t http2_chunk_size;             /* largest DATA frame written, default 8 KiB */
    const char *file;
    int line;
    /* TLS: merged ssl_* settings; ssl_ctx above is built from them at
     * load (tls/tls.h) and freed with the generation's arena */
    rp_ssl_conf_t ssl;
};

/* One listening address and the servers that listen on it. */
typedef struct {
    rp_sockaddr_t addr;
    int backlog;                 /* default 511 */
    int reuseport;               /* always used per worker; flag kept for -T output */
    int ipv6only;                /* default 1 for [::] */
    int ssl;                     /* `listen ... ssl`: TLS on this address */
    int http2;                   /* `listen ... http2` on any listen of it */
    rp_server_t *default_server; /* `default_server`, else first one */
    rp_server_t **servers;
    size_t nservers;
    const char *ssl_file; /* the first `listen ... ssl` of the address */
    int ssl_line;
} rp_listen_t;

/* ---- the generation ---- */

enum rp_log_level {
    RP_LOG_EMERG = 0,
    RP_LOG_ALERT,
    RP_LOG_CRIT,
    RP_LOG_ERR,
    RP_LOG_WARN,
    RP_LOG_NOTICE,
    RP_LOG_INFO,
    RP_LOG_DEBUG,
};

struct rp_conf_s {
    rp_arena_t arena;
    int refs; /* atomic; see rp_conf_ref / rp_conf_unref */
    unsigned long generation;
    char *file;   /* main config file */
    char *prefix; /* -p prefix, ends with '/' */

    /* main context */
    int worker_processes;   /* resolved: "auto" = online CPUs */
    int worker_connections; /* default 1024... sized from RLIMIT_NOFILE
                               when not set: see docs/configuration.md */
    int worker_connections_set;
    int64_t worker_rlimit_nofile; /* 0 = not set */
    char *pid_path;               /* default "<prefix>logs/rampart.pid"; NULL if "off" */
    char *user;                   /* NULL = don't switch */
    char *group;
    int daemon;           /* default 1, as nginx */
    char *error_log_path; /* default "<prefix>logs/error.log"; "stderr" ok */
    int error_log_level;  /* default RP_LOG_ERR */

    /* http */
    int has_http;
    rp_listen_t *listens;
    size_t nlistens;
    rp_server_t **servers;
    size_t nservers;
    rp_upstream_t **upstreams; /* named and implicit */
    size_t nupstreams;
    rp_match_t **matches; /* `match` blocks */
    size_t nmatches;
    rp_resolver_t *resolver;  /* http-level `resolver` */
    int64_t resolver_timeout; /* http-level, default 30s */
    rp_map_t **maps;
    size_t nmaps;
    rp_log_format_t **log_formats; /* "combined" first */
    size_t nlog_formats;
    rp_log_file_t **log_files; /* every file opened by this generation */
    size_t nlog_files;
};

/* Flags for rp_conf_load. */
#define RP_CONF_TEST 1 /* -t: validate only (log files are not opened) */

/* Parses and validates `path` (prefix ends with '/'), applying -g
 * `directives` (may be NULL) as if they were at the top of the file.
 * On failure returns NULL and writes "<sentence> in <file>:<line>" to err.
 * The returned generation has refs == 1. */
rp_conf_t *rp_conf_load(const char *path, const char *prefix, const char *directives, int flags,
                        char *err, size_t errlen);

/* Test hook (fuzzers, tests that must not touch DNS): when non-zero, host
 * names in proxy_pass, upstream `server` and `listen` are resolved only
 * when numeric or "localhost"; any other name is "host not found". Set it
 * before loading; default 0 (getaddrinfo() as usual). */
extern int rp_conf_resolve_numeric_only;

/* Writes the configuration files as read (for -T) to `out`. */
int rp_conf_dump(const char *path, const char *prefix, FILE *out);

void rp_conf_ref(rp_conf_t *c);
void rp_conf_unref(rp_conf_t *c); /* frees on last reference */

#endif
