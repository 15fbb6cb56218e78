/* http, server and location contexts: their directives, listen and
 * server_name parsing, location nesting rules, and the merge of settings
 * http -> server -> location -> nested location (nginx semantics: a scalar
 * is inherited when unset; an array directive — proxy_set_header,
 * add_header, error_page, access_log, proxy_hide_header, ... — is inherited
 * only when the inner level has none of it).
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_int.h"
#include "conf/mime.h"
#include "core/log.h"

/* ---- initial (unset) state ---- */

void rp__conf_loc_init(rp_loc_conf_t *lc)
{
    memset(lc, 0, sizeof(*lc));
    lc->return_code = RP_UNSET;
    lc->proxy_http_version = RP_UNSET;
    lc->proxy_connect_timeout = RP_UNSET;
    lc->proxy_read_timeout = RP_UNSET;
    lc->proxy_next_upstream = RP_UNSET;
    lc->proxy_next_upstream_tries = RP_UNSET;
    lc->proxy_next_upstream_timeout = RP_UNSET;
    lc->proxy_send_timeout = RP_UNSET;
    lc->proxy_buffering = RP_UNSET;
    lc->proxy_request_buffering = RP_UNSET;
    lc->proxy_buffer_size = RP_UNSET;
    lc->proxy_buffers_num = RP_UNSET;
    lc->proxy_buffers_size = RP_UNSET;
    lc->proxy_intercept_errors = RP_UNSET;
    lc->client_max_body_size = RP_UNSET;
    lc->client_body_timeout = RP_UNSET;
    lc->send_timeout = RP_UNSET;
    lc->keepalive_timeout = RP_UNSET;
    lc->keepalive_header = RP_UNSET;
    lc->keepalive_requests = RP_UNSET;
    lc->server_tokens = RP_UNSET;
    lc->proxy_redirect = RP_UNSET;
    lc->sendfile = RP_UNSET;
    lc->tcp_nopush = RP_UNSET;
    lc->tcp_nodelay = RP_UNSET;
    lc->client_body_buffer_size = RP_UNSET;
    lc->reset_timedout_connection = RP_UNSET;
    lc->log_not_found = RP_UNSET;
    rp__conf_proxy_ssl_init(&lc->proxy_ssl);
    rp__conf_compress_init(&lc->compress);
}

void rp__conf_srv_init(rp_server_t *s)
{
    memset(s, 0, sizeof(*s));
    rp__conf_loc_init(&s->conf);
    s->client_header_buffer_size = RP_UNSET;
    s->large_client_header_buffers_num = RP_UNSET;
    s->large_client_header_buffers_size = RP_UNSET;
    s->client_header_timeout = RP_UNSET;
    s->underscores_in_headers = RP_UNSET;
    s->ignore_invalid_headers = RP_UNSET;
    rp__conf_ssl_init(&s->ssl);
    s->ssl_handshake_timeout = RP_UNSET;
    s->http2 = RP_UNSET;
    s->http2_max_concurrent_streams = RP_UNSET;
    s->http2_body_preread_size = RP_UNSET;
    s->http2_chunk_size = RP_UNSET;
}

/* ---- shared helpers ---- */

void rp__conf_sa_fill(rp_sockaddr_t *out, const struct sockaddr *sa, socklen_t len)
{
    char host[INET6_ADDRSTRLEN];
    memset(out, 0, sizeof(*out));
    memcpy(&out->addr, sa, len);
    out->addrlen = len;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(out->text, sizeof(out->text), "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(out->text, sizeof(out->text), "%s:%u", host, ntohs(s4->sin_port));
    }
}

int rp__conf_split_hostport(const char *in, char *buf, size_t cap, int *port)
{
    const char *host = in, *colon = NULL;
    size_t hlen;
    *port = 0;
    if (in[0] == '[') {
        const char *end = strchr(in, ']');
        if (!end)
            return RP_ERROR;
        host = in + 1;
        hlen = (size_t)(end - host);
        if (end[1] == ':')
            colon = end + 1;
        else if (end[1] != '\0')
            return RP_ERROR;
    } else {
        colon = strchr(in, ':');
        if (colon && strchr(colon + 1, ':'))
            return RP_ERROR; /* bare IPv6 needs brackets */
        hlen = colon ? (size_t)(colon - in) : strlen(in);
    }
    if (hlen >= cap)
        return RP_ERROR;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    if (colon) {
        int64_t v;
        if (rp__conf_parse_int(colon + 1, &v) != RP_OK || v < 1 || v > 65535)
            return RP_ERROR;
        *port = (int)v;
    }
    return RP_OK;
}

static void regex_free(void *re)
{
    pcre2_code_free(re);
}

void *rp__conf_regex(rp__cparse_t *p, const rp_conf_node_t *n, const char *re, int caseless)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                     caseless ? PCRE2_CASELESS : 0, &ec, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        rp__conf_err(p, n, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", (char *)msg, re,
                     re + off);
        return NULL;
    }
    if (rp_arena_add_cleanup(p->a, regex_free, code) != RP_OK) {
        pcre2_code_free(code);
        rp__conf_oom(p, n);
        return NULL;
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* optional speed-up */
    return code;
}

static char *lower_dup(rp__cparse_t *p, const char *s)
{
    char *r = rp_arena_strdup(p->a, s);
    if (r)
        for (char *q = r; *q; q++)
            *q = rp_lower(*q);
    return r;
}

/* ---- listen ---- */

static int add_listen(rp__cparse_t *p, const rp_conf_node_t *n, rp_server_t *srv,
                      const struct sockaddr *sa, socklen_t salen, int def, int opts, int backlog,
                      int reuseport, int ipv6only, int ssl, int http2)
{
    rp_conf_t *c = p->conf;
    rp_sockaddr_t addr;
    rp__conf_sa_fill(&addr, sa, salen);
    rp_listen_t *ls = NULL;
    size_t idx;
    for (idx = 0; idx < c->nlistens; idx++)
        if (strcmp(c->listens[idx].addr.text, addr.text) == 0) {
            ls = &c->listens[idx];
            break;
        }
    /* listens are referenced by index until the http block ends (the
     * array may move while it grows) */
    if (!ls) {
        ls = RP__PUSH(p->a, c->listens, c->nlistens);
        int *o = RP__PUSH(p->a, p->listen_opts, p->nlisten_opts);
        if (!ls || !o)
            return rp__conf_oom(p, n);
        ls->addr = addr;
        ls->backlog = 511;
        ls->ipv6only = sa->sa_family == AF_INET6;
        ls->ssl = ssl;
    } else {
        /* one socket cannot be both: the first bytes of a connection decide
         * nothing before the server is known */
        if (ls->ssl != ssl)
            return rp__conf_err(p, n, "%s is \"ssl\" in one \"listen\" and plain in another",
                                addr.text);
        for (size_t i = 0; i < ls->nservers; i++)
            if (ls->servers[i] == srv)
                return rp__conf_err(p, n, "a duplicate listen %s", addr.text);
        if (def && ls->default_server)
            return rp__conf_err(p, n, "a duplicate default server for %s", addr.text);
        if (opts && p->listen_opts[idx] &&
            (backlog != ls->backlog || reuseport != ls->reuseport || ipv6only != ls->ipv6only))
            return rp__conf_err(p, n, "duplicate listen options for %s", addr.text);
    }
    if (opts) {
        p->listen_opts[idx] = 1;
        ls->backlog = backlog;
        ls->reuseport = reuseport;
        ls->ipv6only = ipv6only;
    }
    if (ssl && !ls->ssl_file) {
        ls->ssl_file = rp_arena_strdup(p->a, n->file ? n->file : "?");
        ls->ssl_line = n->line;
        if (!ls->ssl_file)
            return rp__conf_oom(p, n);
    }
    if (http2)
        ls->http2 = 1; /* `listen ... http2` enables it for the address */
    if (def)
        ls->default_server = srv;
    rp_server_t **slot = RP__PUSH(p->a, ls->servers, ls->nservers);
    if (!slot)
        return rp__conf_oom(p, n);
    *slot = srv;
    return RP_OK;
}

/* Listen parameters of later capabilities: rejected by name, not as typos. */
static const char *const listen_not_yet[] = {
    "quic",   "proxy_protocol", "deferred",      "fastopen", "so_keepalive",
    "rcvbuf", "sndbuf",         "accept_filter", "setfib",
};

static int set_listen(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    const char *a0 = n->args[0];
    char host[256];
    int port = 0, def = 0, opts = 0, reuseport = 0, ipv6only = -1, ssl = 0, http2 = 0;
    int64_t backlog = 511;

    if (strncmp(a0, "unix:", 5) == 0)
        return rp__conf_err(p, n, "unix domain sockets in \"listen\" are not supported yet");
    /* "8080" alone is a port */
    int64_t v;
    if (rp__conf_parse_int(a0, &v) == RP_OK) {
        if (v < 1 || v > 65535)
            return rp__conf_err(p, n, "invalid port in \"%s\" of the \"listen\" directive", a0);
        host[0] = '\0';
        port = (int)v;
    } else if (rp__conf_split_hostport(a0, host, sizeof(host), &port) != RP_OK) {
        return rp__conf_err(p, n, "invalid port in \"%s\" of the \"listen\" directive", a0);
    }
    if (port == 0)
        port = 80;

    for (size_t i = 1; i < n->nargs; i++) {
        const char *o = n->args[i];
        if (strcmp(o, "default_server") == 0 || strcmp(o, "default") == 0) {
            def = 1;
        } else if (strcmp(o, "reuseport") == 0) {
            reuseport = 1;
            opts = 1;
        } else if (strncmp(o, "backlog=", 8) == 0) {
            if (rp__conf_parse_int(o + 8, &backlog) != RP_OK || backlog < 1 || backlog > 65535)
                return rp__conf_err(p, n, "invalid backlog \"%s\"", o + 8);
            opts = 1;
        } else if (strncmp(o, "ipv6only=", 9) == 0) {
            if (strcmp(o + 9, "on") == 0)
                ipv6only = 1;
            else if (strcmp(o + 9, "off") == 0)
                ipv6only = 0;
            else
                return rp__conf_err(p, n, "invalid ipv6only flags \"%s\"", o + 9);
            opts = 1;
        } else if (strcmp(o, "ssl") == 0) {
            ssl = 1;
        } else if (strcmp(o, "http2") == 0) {
            http2 = 1;
        } else if (strcmp(o, "bind") == 0) {
            /* every address is bound on its own already */
        } else {
            size_t k = strcspn(o, "=");
            for (size_t j = 0; j < RP_ARRAY_LEN(listen_not_yet); j++)
                if (strlen(listen_not_yet[j]) == k && strncmp(o, listen_not_yet[j], k) == 0)
                    return rp__conf_err(p, n,
                                        "the \"%.*s\" parameter of the \"listen\" directive "
                                        "is not supported yet",
                                        (int)k, o);
            return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
        }
    }

    b->srv_has_listen = 1;
    if (host[0] == '\0' || strcmp(host, "*") == 0) {
        struct sockaddr_in sin = { 0 };
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        return add_listen(p, n, b->srv, (struct sockaddr *)&sin, sizeof(sin), def, opts,
                          (int)backlog, reuseport, ipv6only == 1, ssl, http2);
    }
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (rp_conf_resolve_numeric_only && strcmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST; /* test hook, conf.h */
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return rp__conf_err(p, n, "host not found in \"%s\" of the \"listen\" directive", a0);
    int rc = RP_OK;
    for (struct addrinfo *ai = res; ai && rc == RP_OK; ai = ai->ai_next) {
        int v6only = ai->ai_family == AF_INET6 ? (ipv6only != 0) : 0;
        /* one name resolving to the same address twice binds it once */
        int seen = 0;
        for (struct addrinfo *x = res; x != ai; x = x->ai_next)
            if (x->ai_addrlen == ai->ai_addrlen &&
                memcmp(x->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
                seen = 1;
        if (!seen)
            rc = add_listen(p, n, b->srv, ai->ai_addr, ai->ai_addrlen, def, opts, (int)backlog,
                            reuseport, v6only, ssl, http2);
    }
    freeaddrinfo(res);
    return rc;
}

/* ---- server_name ---- */

static int set_server_name(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                           const rp__cdir_t *d)
{
    rp_server_t *s = b->srv;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        rp_server_name_t *sn = RP__PUSH(p->a, s->names, s->nnames);
        if (!sn)
            return rp__conf_oom(p, n);
        if (a[0] == '~') {
            if (a[1] == '\0')
                return rp__conf_err(p, n, "empty regex in server name \"%s\"", a);
            sn->kind = RP_NAME_REGEX;
            sn->name = rp_str_cstr(rp_arena_strdup(p->a, a + 1));
            sn->re = rp__conf_regex(p, n, a + 1, 1);
            if (!sn->re)
                return RP_ERROR;
            continue;
        }
        size_t len = strlen(a);
        const char *star = strchr(a, '*');
        char *low;
        if (star) {
            if (len >= 3 && a[0] == '*' && a[1] == '.' && !strchr(a + 1, '*')) {
                sn->kind = RP_NAME_WILD_START;
                low = lower_dup(p, a + 1);
            } else if (len >= 3 && a[len - 1] == '*' && a[len - 2] == '.' && star == a + len - 1) {
                sn->kind = RP_NAME_WILD_END;
                low = lower_dup(p, a);
                if (low)
                    low[len - 1] = '\0';
            } else {
                return rp__conf_err(p, n, "invalid server name or wildcard \"%s\"", a);
            }
        } else if (a[0] == '.' && len > 1) {
            sn->kind = RP_NAME_DOT;
            low = lower_dup(p, a);
        } else {
            sn->kind = RP_NAME_EXACT;
            low = lower_dup(p, a);
        }
        if (!low)
            return rp__conf_oom(p, n);
        sn->name = rp_str_cstr(low);
    }
    return RP_OK;
}

/* ---- server and location blocks ---- */

static int set_server(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    rp_server_t *s = rp_arena_alloc(p->a, sizeof(*s));
    rp_server_t **slot = RP__PUSH(p->a, p->conf->servers, p->conf->nservers);
    if (!s || !slot)
        return rp__conf_oom(p, n);
    rp__conf_srv_init(s);
    s->file = n->file;
    s->line = n->line;
    *slot = s;
    rp__cblock_t sb = { .ctx = RP__CTX_SRV, .srv = s, .loc = &s->conf };
    if (rp__conf_block(p, n, &sb) != RP_OK)
        return RP_ERROR;
    if (!sb.srv_has_listen) {
        /* nginx listens on *:80 when run as root (8000 otherwise); rampart
         * always uses 0.0.0.0:80 (docs/configuration.md) */
        struct sockaddr_in sin = { 0 };
        sin.sin_family = AF_INET;
        sin.sin_port = htons(80);
        if (add_listen(p, n, s, (struct sockaddr *)&sin, sizeof(sin), 0, 0, 511, 0, 0, 0, 0) !=
            RP_OK)
            return RP_ERROR;
    }
    if (s->nnames == 0) {
        rp_server_name_t *sn = RP__PUSH(p->a, s->names, s->nnames);
        if (!sn)
            return rp__conf_oom(p, n);
        sn->kind = RP_NAME_EXACT;
        sn->name = RP_STR("");
    }
    return RP_OK;
}

static int is_prefix_kind(int m)
{
    return m == RP_LOC_PREFIX || m == RP_LOC_PREFIX_NOREGEX;
}

static int set_location(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d)
{
    int match = RP_LOC_PREFIX;
    const char *name;
    if (n->nargs == 2) {
        const char *m = n->args[0];
        if (strcmp(m, "=") == 0)
            match = RP_LOC_EXACT;
        else if (strcmp(m, "^~") == 0)
            match = RP_LOC_PREFIX_NOREGEX;
        else if (strcmp(m, "~") == 0)
            match = RP_LOC_REGEX;
        else if (strcmp(m, "~*") == 0)
            match = RP_LOC_REGEX_ICASE;
        else
            return rp__conf_err(p, n, "invalid location modifier \"%s\"", m);
        name = n->args[1];
    } else {
        /* modifiers may be glued to the name, as nginx allows: "=/x" */
        name = n->args[0];
        if (name[0] == '=' && !n->quoted[0]) {
            match = RP_LOC_EXACT;
            name++;
        } else if (strncmp(name, "^~", 2) == 0 && !n->quoted[0]) {
            match = RP_LOC_PREFIX_NOREGEX;
            name += 2;
        } else if (strncmp(name, "~*", 2) == 0 && !n->quoted[0]) {
            match = RP_LOC_REGEX_ICASE;
            name += 2;
        } else if (name[0] == '~' && !n->quoted[0]) {
            match = RP_LOC_REGEX;
            name++;
        } else if (name[0] == '@') {
            match = RP_LOC_NAMED;
        }
    }
    if (name[0] == '\0')
        return rp__conf_err(p, n, "invalid location name \"%s\"", n->args[n->nargs - 1]);
    if (match == RP_LOC_NAMED && n->nargs == 2)
        return rp__conf_err(p, n, "invalid location modifier \"%s\"", n->args[0]);

    rp_location_t *parent = b->location;
    if (match == RP_LOC_NAMED && parent)
        return rp__conf_err(p, n, "named location \"%s\" can be on the server level only", name);
    if (parent) {
        if (parent->match == RP_LOC_EXACT)
            return rp__conf_err(p, n,
                                "location \"%s\" cannot be inside the exact location \"%.*s\"",
                                name, (int)parent->name.len, parent->name.data);
        if (parent->match == RP_LOC_NAMED)
            return rp__conf_err(p, n,
                                "location \"%s\" cannot be inside the named location \"%.*s\"",
                                name, (int)parent->name.len, parent->name.data);
        if (is_prefix_kind(parent->match) && match != RP_LOC_REGEX && match != RP_LOC_REGEX_ICASE &&
            strncmp(name, parent->name.data, parent->name.len) != 0)
            return rp__conf_err(p, n, "location \"%s\" is outside location \"%.*s\"", name,
                                (int)parent->name.len, parent->name.data);
    }

    rp_location_t ***list;
    size_t *nlist;
    if (match == RP_LOC_NAMED) {
        list = &b->srv->named_locations;
        nlist = &b->srv->nnamed_locations;
    } else if (parent) {
        list = &parent->children;
        nlist = &parent->nchildren;
    } else {
        list = &b->srv->locations;
        nlist = &b->srv->nlocations;
    }
    /* "^~ /a" and "/a" are both prefix locations: the same one twice */
    for (size_t i = 0; i < *nlist; i++) {
        rp_location_t *o = (*list)[i];
        int same_kind = (is_prefix_kind(o->match) && is_prefix_kind(match)) || o->match == match;
        if (same_kind && match != RP_LOC_REGEX && match != RP_LOC_REGEX_ICASE &&
            strcmp(o->name.data, name) == 0)
            return rp__conf_err(p, n, "duplicate location \"%s\"", name);
    }

    rp_location_t *loc = rp_arena_calloc(p->a, sizeof(*loc));
    if (!loc)
        return rp__conf_oom(p, n);
    rp__conf_loc_init(&loc->conf);
    loc->match = match;
    loc->name = rp_str_cstr(rp_arena_strdup(p->a, name));
    loc->parent = parent;
    loc->file = n->file;
    loc->line = n->line;
    if (!loc->name.data)
        return rp__conf_oom(p, n);
    if (match == RP_LOC_REGEX || match == RP_LOC_REGEX_ICASE) {
        loc->re = rp__conf_regex(p, n, name, match == RP_LOC_REGEX_ICASE);
        if (!loc->re)
            return RP_ERROR;
    }
    rp_location_t **slot = RP__PUSH(p->a, *list, *nlist);
    if (!slot)
        return rp__conf_oom(p, n);
    *slot = loc;
    rp__cblock_t lb = { .ctx = RP__CTX_LOC, .srv = b->srv, .loc = &loc->conf, .location = loc };
    return rp__conf_block(p, n, &lb);
}

/* ---- location-level directives ---- */

static int set_return(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (lc->return_code != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t code;
    const char *text = NULL;
    if (rp__conf_parse_int(n->args[0], &code) == RP_OK) {
        if (code < 100 || code > 999)
            return rp__conf_err(p, n, "invalid return code \"%s\"", n->args[0]);
        if (n->nargs == 2)
            text = n->args[1];
    } else {
        /* `return URL`: a 302 redirect (nginx) */
        const char *u = n->args[0];
        if (n->nargs != 1 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0 &&
                              strncmp(u, "$scheme", 7) != 0))
            return rp__conf_err(p, n, "invalid return code \"%s\"", u);
        code = 302;
        text = u;
    }
    lc->return_code = (int)code;
    lc->return_text = NULL;
    if (text) {
        lc->return_text = rp__conf_tpl(p, n, text);
        if (!lc->return_text)
            return RP_ERROR;
    }
    return RP_OK;
}

/* `root` and `alias` share one slot per level, as in nginx: a second one of
 * either kind is a duplicate, named after the one written first. */
static int root_dup(rp__cparse_t *p, const rp_conf_node_t *n, const rp_loc_conf_t *lc)
{
    const char *earlier = lc->alias ? "alias" : "root";
    if (strcmp(earlier, n->name) == 0)
        return rp__conf_dup(p, n);
    return rp__conf_err(p, n,
                        "\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
                        n->name, earlier);
}

static rp_tpl_t *root_tpl(rp__cparse_t *p, const rp_conf_node_t *n)
{
    const char *r = n->args[0];
    char *path = r[0] == '$' ? rp_arena_strdup(p->a, r) : rp__conf_path(p, r);
    if (!path) {
        rp__conf_oom(p, n);
        return NULL;
    }
    return rp__conf_tpl(p, n, path);
}

static int set_root(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    if (b->loc->root || b->loc->alias)
        return root_dup(p, n, b->loc);
    b->loc->root = root_tpl(p, n);
    return b->loc->root ? RP_OK : RP_ERROR;
}

/* `alias path`: the file is path + the URI after the location's name. The
 * root slot is filled at merge time (merge_loc). */
static int set_alias(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    const rp_location_t *loc = b->location;
    if (lc->root || lc->alias)
        return root_dup(p, n, lc);
    if (loc->match == RP_LOC_NAMED)
        return rp__conf_err(p, n,
                            "the \"alias\" directive cannot be used inside the named location");
    /* nginx substitutes the regex captures into the alias instead of cutting
     * a prefix; that needs capture variables rampart does not have yet */
    if (loc->match == RP_LOC_REGEX || loc->match == RP_LOC_REGEX_ICASE)
        return rp__conf_err(p, n,
                            "\"alias\" inside a location given by regular expression "
                            "is not supported yet");
    /* $document_root would be the alias itself (nginx refuses it too) */
    static const char *const self_refs[] = { "$document_root", "$realpath_root" };
    for (size_t i = 0; i < RP_ARRAY_LEN(self_refs); i++)
        if (strstr(n->args[0], self_refs[i]))
            return rp__conf_err(p, n, "the %s variable cannot be used in the \"alias\" directive",
                                self_refs[i]);
    lc->alias = root_tpl(p, n);
    lc->alias_len = loc->name.len;
    return lc->alias ? RP_OK : RP_ERROR;
}

static int set_default_type(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    if (b->loc->default_type.data)
        return rp__conf_dup(p, n);
    /* the value goes out as a Content-Type field: a CR or LF would split
     * the response head (RFC 9110, section 5.5) */
    if (strpbrk(n->args[0], "\r\n"))
        return rp__conf_err(p, n, "invalid value \"%s\" in \"default_type\" directive", n->args[0]);
    char *v = rp_arena_strdup(p->a, n->args[0]);
    if (!v)
        return rp__conf_oom(p, n);
    b->loc->default_type = rp_str_cstr(v);
    return RP_OK;
}

static int set_index(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    for (size_t i = 0; i < n->nargs; i++) {
        if (n->args[i][0] == '\0')
            return rp__conf_err(p, n, "index \"%s\" in \"index\" directive is invalid", n->args[i]);
        rp_str_t *s = RP__PUSH(p->a, lc->index, lc->nindex);
        char *v = rp_arena_strdup(p->a, n->args[i]);
        if (!s || !v)
            return rp__conf_oom(p, n);
        *s = rp_str_cstr(v);
    }
    return RP_OK;
}

/* try_files file ... uri | =code: each but the last is a path (under
 * root) tried in order, "name/" meaning a directory; the last is where the
 * request goes when none exists. */
static int set_try_files(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (lc->try_files)
        return rp__conf_dup(p, n);
    const char *last = n->args[n->nargs - 1];
    if (last[0] == '=') {
        int64_t v;
        if (rp__conf_parse_int(last + 1, &v) != RP_OK || v < 100 || v > 999)
            return rp__conf_err(p, n, "invalid code \"%s\"", last);
    } else if (last[0] != '/' && last[0] != '@' && last[0] != '$') {
        return rp__conf_err(p, n, "invalid URI \"%s\" in \"try_files\" directive", last);
    }
    lc->try_files = rp_arena_calloc(p->a, n->nargs * sizeof(*lc->try_files));
    if (!lc->try_files)
        return rp__conf_oom(p, n);
    for (size_t i = 0; i < n->nargs; i++) {
        lc->try_files[i] = rp__conf_tpl(p, n, n->args[i]);
        if (!lc->try_files[i])
            return RP_ERROR;
    }
    lc->ntry_files = n->nargs;
    return RP_OK;
}

static int set_error_page(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    size_t ncodes = n->nargs - 1;
    int response = 0;
    const char *eq = n->args[n->nargs - 2];
    if (eq[0] == '=') {
        ncodes--;
        if (eq[1] == '\0') {
            response = -1;
        } else {
            int64_t v;
            if (rp__conf_parse_int(eq + 1, &v) != RP_OK || v < 100 || v > 999)
                return rp__conf_err(p, n, "invalid value \"%s\"", eq);
            response = (int)v;
        }
    }
    if (ncodes == 0)
        return rp__conf_err(p, n, "invalid number of arguments in \"error_page\" directive");
    rp_error_page_t *ep = RP__PUSH(p->a, lc->error_pages, lc->nerror_pages);
    if (!ep || !(ep->codes = rp_arena_alloc(p->a, ncodes * sizeof(int))))
        return rp__conf_oom(p, n);
    for (size_t i = 0; i < ncodes; i++) {
        int64_t v;
        if (rp__conf_parse_int(n->args[i], &v) != RP_OK)
            return rp__conf_err(p, n, "invalid value \"%s\"", n->args[i]);
        if (v < 300 || v > 599 || v == 499)
            return rp__conf_err(p, n, "value \"%s\" must be between 300 and 599", n->args[i]);
        ep->codes[i] = (int)v;
    }
    ep->ncodes = ncodes;
    ep->response = response;
    ep->uri = rp__conf_tpl(p, n, n->args[n->nargs - 1]);
    return ep->uri ? RP_OK : RP_ERROR;
}

static int set_add_header(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (n->nargs == 3 && strcmp(n->args[2], "always") != 0)
        return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[2]);
    if (n->args[0][0] == '\0')
        return rp__conf_err(p, n, "invalid header name \"\" in \"add_header\" directive");
    rp_add_header_t *h = RP__PUSH(p->a, lc->add_headers, lc->nadd_headers);
    if (!h)
        return rp__conf_oom(p, n);
    h->name = rp_str_cstr(rp_arena_strdup(p->a, n->args[0]));
    h->value = rp__conf_tpl(p, n, n->args[1]);
    h->always = n->nargs == 3;
    if (!h->name.data)
        return rp__conf_oom(p, n);
    return h->value ? RP_OK : RP_ERROR;
}

static int set_proxy_set_header(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (n->args[0][0] == '\0')
        return rp__conf_err(p, n, "invalid header name \"\" in \"proxy_set_header\" directive");
    rp_set_header_t *h = RP__PUSH(p->a, lc->proxy_set_headers, lc->nproxy_set_headers);
    if (!h)
        return rp__conf_oom(p, n);
    h->name = rp_str_cstr(rp_arena_strdup(p->a, n->args[0]));
    h->value = rp__conf_tpl(p, n, n->args[1]);
    if (!h->name.data)
        return rp__conf_oom(p, n);
    return h->value ? RP_OK : RP_ERROR;
}

/* proxy_hide_header / proxy_pass_header: the row's offset names the array
 * pointer; its count follows it in rp_loc_conf_t (checked below). */
_Static_assert(offsetof(rp_loc_conf_t, nproxy_hide_headers) ==
                   offsetof(rp_loc_conf_t, proxy_hide_headers) + sizeof(rp_str_t *),
               "count follows array");
_Static_assert(offsetof(rp_loc_conf_t, nproxy_pass_headers) ==
                   offsetof(rp_loc_conf_t, proxy_pass_headers) + sizeof(rp_str_t *),
               "count follows array");

static int set_header_list(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                           const rp__cdir_t *d)
{
    rp_str_t **arr = (rp_str_t **)((char *)b->loc + d->offset);
    size_t *cnt = (size_t *)((char *)b->loc + d->offset + sizeof(rp_str_t *));
    rp_str_t *s = RP__PUSH(p->a, *arr, *cnt);
    char *v = lower_dup(p, n->args[0]);
    if (!s || !v)
        return rp__conf_oom(p, n);
    *s = rp_str_cstr(v);
    return RP_OK;
}

static int set_proxy_http_version(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                  const rp__cdir_t *d)
{
    if (b->loc->proxy_http_version != RP_UNSET)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "1.0") == 0)
        b->loc->proxy_http_version = 10;
    else if (strcmp(n->args[0], "1.1") == 0)
        b->loc->proxy_http_version = 11;
    else
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

static int set_proxy_buffers(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    if (b->loc->proxy_buffers_num != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t num, size;
    if (rp__conf_parse_int(n->args[0], &num) != RP_OK || num < 2 || num > 65536)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    if (rp__conf_parse_size(n->args[1], &size) != RP_OK || size < 1)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[1], n->name);
    b->loc->proxy_buffers_num = (int)num;
    b->loc->proxy_buffers_size = size;
    return RP_OK;
}

static int set_large_buffers(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    if (b->srv->large_client_header_buffers_num != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t num, size;
    if (rp__conf_parse_int(n->args[0], &num) != RP_OK || num < 1 || num > 1024)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    if (rp__conf_parse_size(n->args[1], &size) != RP_OK || size < 1)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[1], n->name);
    b->srv->large_client_header_buffers_num = (int)num;
    b->srv->large_client_header_buffers_size = size;
    return RP_OK;
}

/* `client_body_temp_path path [l1 [l2 [l3]]]` / `proxy_temp_path`: nginx
 * spreads its temporary files over 1- or 2-digit subdirectory levels.
 * rampart's request-body files are unlinked O_TMPFILE files, so only the
 * directory matters: levels are validated and ignored. rampart never
 * spools responses to disk (it streams with back-pressure), so
 * proxy_temp_path is validated and has no effect at all. */
static int check_temp_levels(rp__cparse_t *p, const rp_conf_node_t *n)
{
    for (size_t i = 1; i < n->nargs; i++) {
        int64_t v;
        if (rp__conf_parse_int(n->args[i], &v) != RP_OK || v < 1 || v > 2)
            return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[i],
                                n->name);
    }
    if (n->args[0][0] == '\0')
        return rp__conf_err(p, n, "invalid value \"\" in \"%s\" directive", n->name);
    return RP_OK;
}

static int set_client_body_temp_path(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                     const rp__cdir_t *d)
{
    if (b->loc->client_body_temp_path)
        return rp__conf_dup(p, n);
    if (check_temp_levels(p, n) != RP_OK)
        return RP_ERROR;
    b->loc->client_body_temp_path = rp__conf_path(p, n->args[0]);
    return b->loc->client_body_temp_path ? RP_OK : rp__conf_oom(p, n);
}

static int set_proxy_temp_path(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                               const rp__cdir_t *d)
{
    return check_temp_levels(p, n);
}

/* proxy_max_temp_file_size / proxy_temp_file_write_size: sizes of the
 * response spooling rampart does not do (see above); validated, no effect.
 * 0 is valid (nginx: no temporary files). */
static int set_size_noop(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    int64_t v;
    if (rp__conf_parse_size(n->args[0], &v) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

/* http2_* numbers: stored in int64_t fields, bounded so the HTTP/2 codec's
 * 32-bit settings can hold them (RFC 9113 6.5.2, 6.9.1). */
static int set_h2_bounded(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d, int size)
{
    int64_t *f = (int64_t *)((char *)b->srv + d->offset);
    if (*f != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t v;
    int rc = size ? rp__conf_parse_size(n->args[0], &v) : rp__conf_parse_int(n->args[0], &v);
    if (rc != RP_OK || v < 1 || v > 0x7fffffff)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    *f = v;
    return RP_OK;
}

static int set_h2_num(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    return set_h2_bounded(p, n, b, d, 0);
}

static int set_h2_size(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                       const rp__cdir_t *d)
{
    return set_h2_bounded(p, n, b, d, 1);
}

/* `allow address[/bits] | all`, `deny ...`: rules of one level replace the
 * inherited ones (nginx's rule: a location with its own rules does not
 * add the server's). */
static int set_access(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    rp_access_rule_t r = { 0 };
    r.deny = n->name[0] == 'd';
    const char *a = n->args[0];
    if (strcmp(a, "all") != 0) {
        char buf[64];
        const char *slash = strchr(a, '/');
        size_t hl = slash ? (size_t)(slash - a) : strlen(a);
        if (hl >= sizeof(buf))
            return rp__conf_err(p, n, "invalid parameter \"%s\"", a);
        memcpy(buf, a, hl);
        buf[hl] = '\0';
        int bits;
        if (inet_pton(AF_INET, buf, r.addr) == 1) {
            r.family = AF_INET;
            bits = 32;
        } else if (inet_pton(AF_INET6, buf, r.addr) == 1) {
            r.family = AF_INET6;
            bits = 128;
        } else {
            return rp__conf_err(p, n, "invalid parameter \"%s\"", a);
        }
        int64_t v = bits;
        if (slash && (rp__conf_parse_int(slash + 1, &v) != RP_OK || v > bits))
            return rp__conf_err(p, n, "invalid parameter \"%s\"", a);
        for (int i = 0; i < bits / 8; i++)
            r.mask[i] = i * 8 + 8 <= v ? 0xff
                        : i * 8 < v    ? (unsigned char)(0xff << (8 - (v - i * 8)))
                                       : 0;
        for (int i = 0; i < 16; i++)
            if (r.addr[i] & ~r.mask[i]) {
                /* nginx warns "low address bits are meaningless"; rampart
                 * refuses: 10.0.0.1/8 is most likely a typo */
                return rp__conf_err(p, n, "low address bits of %s are meaningless", a);
            }
    }
    rp_loc_conf_t *lc = b->loc;
    rp_access_rule_t *slot = RP__PUSH(p->a, lc->access, lc->naccess);
    if (!slot)
        return rp__conf_oom(p, n);
    *slot = r;
    return RP_OK;
}

/* `api [write=on|off]` */
static int set_api(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    if (b->loc->api)
        return rp__conf_dup(p, n);
    b->loc->api = 1;
    if (n->nargs == 1) {
        if (strcmp(n->args[0], "write=on") == 0)
            b->loc->api = 2;
        else if (strcmp(n->args[0], "write=off") != 0)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[0]);
    }
    return RP_OK;
}

/* `proxy_next_upstream error timeout ... | off` */
static int set_next_upstream(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    static const struct {
        const char *name;
        int bit;
    } words[] = {
        { "error", RP_NEXT_ERROR },
        { "timeout", RP_NEXT_TIMEOUT },
        { "invalid_header", RP_NEXT_INVALID_HEADER },
        { "http_500", RP_NEXT_500 },
        { "http_502", RP_NEXT_502 },
        { "http_503", RP_NEXT_503 },
        { "http_504", RP_NEXT_504 },
        { "http_403", RP_NEXT_403 },
        { "http_404", RP_NEXT_404 },
        { "http_429", RP_NEXT_429 },
        { "non_idempotent", RP_NEXT_NON_IDEMPOTENT },
    };
    if (b->loc->proxy_next_upstream != RP_UNSET)
        return rp__conf_dup(p, n);
    int mask = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        if (strcmp(a, "off") == 0) {
            if (n->nargs != 1)
                return rp__conf_err(p, n, "invalid value \"off\" in \"%s\" directive", n->name);
            continue;
        }
        size_t j = 0;
        while (j < RP_ARRAY_LEN(words) && strcmp(a, words[j].name) != 0)
            j++;
        if (j == RP_ARRAY_LEN(words))
            return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", a, n->name);
        mask |= words[j].bit;
    }
    b->loc->proxy_next_upstream = mask;
    return RP_OK;
}

/* ---- logs ---- */

static const rp_log_format_t *find_format(rp__cparse_t *p, const char *name)
{
    for (size_t i = 0; i < p->conf->nlog_formats; i++)
        if (strcmp(p->conf->log_formats[i]->name, name) == 0)
            return p->conf->log_formats[i];
    return NULL;
}

static int open_log(rp__cparse_t *p, const rp_conf_node_t *n, const char *path, rp_log_file_t **out)
{
    *out = NULL;
    if (p->flags & RP_CONF_TEST)
        return RP_OK; /* -t validates; it does not create files */
    char e[256] = "";
    rp_log_file_t *f = rp_log_file_open(path, e, sizeof(e));
    if (!f)
        return rp__conf_err(p, n, "%s", e[0] ? e : "cannot open log file");
    rp_log_file_t **slot = RP__PUSH(p->a, p->conf->log_files, p->conf->nlog_files);
    if (!slot) {
        rp_log_file_release(f);
        return rp__conf_oom(p, n);
    }
    *slot = f;
    *out = f;
    return RP_OK;
}

static int set_access_log(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    static rp_access_log_t off_marker;
    rp_loc_conf_t *lc = b->loc;
    if (strcmp(n->args[0], "off") == 0) {
        if (n->nargs != 1)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[1]);
        if (!lc->access_logs)
            lc->access_logs = &off_marker; /* set, with no log */
        return RP_OK;
    }
    const char *path = n->args[0];
    if (strncmp(path, "syslog:", 7) == 0 || strchr(path, '$'))
        return rp__conf_err(p, n, "\"access_log\" %s is not supported yet",
                            path[0] == 's' ? "to syslog" : "with variables");
    const rp_log_format_t *fmt = find_format(p, n->nargs > 1 ? n->args[1] : "combined");
    if (!fmt)
        return rp__conf_err(p, n, "unknown log format \"%s\"", n->args[1]);
    int64_t buffer = 0, flush = 0;
    for (size_t i = 2; i < n->nargs; i++) {
        const char *o = n->args[i];
        if (strncmp(o, "buffer=", 7) == 0) {
            if (rp__conf_parse_size(o + 7, &buffer) != RP_OK || buffer < 1)
                return rp__conf_err(p, n, "invalid buffer size \"%s\"", o + 7);
        } else if (strncmp(o, "flush=", 6) == 0) {
            if (rp__conf_parse_msec(o + 6, &flush) != RP_OK || flush < 1)
                return rp__conf_err(p, n, "invalid flush time \"%s\"", o + 6);
        } else if (strncmp(o, "gzip", 4) == 0 || strncmp(o, "if=", 3) == 0) {
            return rp__conf_err(p, n,
                                "the \"%.*s\" parameter of \"access_log\" is not supported yet",
                                (int)strcspn(o, "="), o);
        } else {
            return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
        }
    }
    if (lc->access_logs == &off_marker) {
        lc->access_logs = NULL;
        lc->naccess_logs = 0;
    }
    rp_access_log_t *al = RP__PUSH(p->a, lc->access_logs, lc->naccess_logs);
    char *full = rp__conf_path(p, path);
    if (!al || !full)
        return rp__conf_oom(p, n);
    al->format = fmt;
    al->buffer = (size_t)buffer;
    al->flush = flush;
    return open_log(p, n, full, &al->file);
}

static int add_log_format(rp__cparse_t *p, const rp_conf_node_t *n, const char *name, int escape,
                          const char *text)
{
    rp_log_format_t *f = rp_arena_calloc(p->a, sizeof(*f));
    rp_log_format_t **slot = RP__PUSH(p->a, p->conf->log_formats, p->conf->nlog_formats);
    if (!f || !slot || !(f->name = rp_arena_strdup(p->a, name)))
        return rp__conf_oom(p, n);
    *slot = f;
    f->escape = escape;
    f->tpl = rp__conf_tpl(p, n, text);
    return f->tpl ? RP_OK : RP_ERROR;
}

static int prepass_log_format(rp__cparse_t *p, const rp_conf_node_t *n)
{
    if (n->nargs < 2 || n->is_block)
        return RP_OK; /* the directive pass reports arity */
    if (find_format(p, n->args[0]))
        return rp__conf_err(p, n, "duplicate \"log_format\" name \"%s\"", n->args[0]);
    size_t i = 1;
    int escape = RP_LOG_ESCAPE_DEFAULT;
    if (strncmp(n->args[1], "escape=", 7) == 0) {
        const char *e = n->args[1] + 7;
        if (strcmp(e, "default") == 0)
            escape = RP_LOG_ESCAPE_DEFAULT;
        else if (strcmp(e, "json") == 0)
            escape = RP_LOG_ESCAPE_JSON;
        else if (strcmp(e, "none") == 0)
            escape = RP_LOG_ESCAPE_NONE;
        else
            return rp__conf_err(p, n, "unknown log format escaping \"%s\"", e);
        i++;
    }
    if (i >= n->nargs)
        return rp__conf_err(p, n, "invalid number of arguments in \"log_format\" directive");
    size_t len = 0;
    for (size_t k = i; k < n->nargs; k++)
        len += strlen(n->args[k]);
    char *text = rp_arena_alloc(p->a, len + 1);
    if (!text)
        return rp__conf_oom(p, n);
    text[0] = '\0';
    for (size_t k = i; k < n->nargs; k++)
        strcat(text, n->args[k]);
    return add_log_format(p, n, n->args[0], escape, text);
}

/* ---- types ---- */

/* `types { mime/type ext ...; }`: every line of the body is a content type
 * followed by its extensions, so the body is read here rather than through
 * the directive table (as `map` bodies are). Several blocks at one level
 * add to one table; a level with a table of its own does not inherit its
 * parent's (merge_loc). `types { }` is a real, empty table: everything is
 * served as default_type, the usual nginx idiom for a download area. */
static int set_types(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_loc_conf_t *lc = b->loc;
    if (!lc->types && !(lc->types = rp_arena_calloc(p->a, sizeof(*lc->types))))
        return rp__conf_oom(p, n);
    for (size_t i = 0; i < n->nchildren; i++) {
        const rp_conf_node_t *e = &n->children[i];
        if (e->is_block)
            return rp__conf_err(p, e, "unexpected \"{\" in \"types\" block");
        /* the type goes out as a Content-Type field: a CR or LF would split
         * the response head (RFC 9110, section 5.5) */
        if (e->name[0] == '\0' || strpbrk(e->name, "\r\n"))
            return rp__conf_err(p, e, "invalid content type \"%s\" in \"types\" block", e->name);
        if (e->nargs == 0)
            continue; /* nginx accepts a type without extensions */
        char *type = rp_arena_strdup(p->a, e->name);
        if (!type)
            return rp__conf_oom(p, e);
        for (size_t k = 0; k < e->nargs; k++) {
            if (e->args[k][0] == '\0')
                return rp__conf_err(p, e, "invalid extension \"\" in \"types\" block");
            if (rp_mime_types_add(p->a, lc->types, rp_str_cstr(type), rp_str_cstr(e->args[k])) !=
                RP_OK)
                return rp__conf_oom(p, e);
        }
    }
    return RP_OK;
}

/* types_hash_*, server_names_hash_*, variables_hash_*, map_hash_*,
 * proxy_headers_hash_* (max_size and bucket_size) only size nginx's
 * internal hash tables. rampart keeps sorted arrays or short lists instead
 * (conf/mime.c, vars.c, ...), which have nothing to size: the values are
 * validated, so a typo still fails, and ignored. */
static int set_hash_size(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    int64_t v;
    if (rp__conf_parse_size(n->args[0], &v) != RP_OK || v < 1)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    return RP_OK;
}

static void types_dup_warn(void *ctx, rp_str_t ext, rp_str_t kept, rp_str_t dropped)
{
    rp_log_error(RP_LOG_WARN,
                 "duplicate extension \"%.*s\", content type: \"%.*s\", previous content type: "
                 "\"%.*s\"",
                 (int)ext.len, ext.data, (int)kept.len, kept.data, (int)dropped.len, dropped.data);
}

/* ---- map ---- */

static int prepass_map_name(rp__cparse_t *p, const rp_conf_node_t *n)
{
    if (n->nargs != 2 || !n->is_block)
        return RP_OK; /* the directive pass reports it */
    const char *v = n->args[1];
    if (v[0] != '$' || v[1] == '\0')
        return rp__conf_err(p, n, "invalid variable name \"%s\"", v);
    rp_str_t name = rp_str_cstr(v + 1);
    rp_var_ref_t ref;
    if (rp_var_lookup(name, &p->reg, &ref) == RP_OK)
        return rp__conf_err(p, n, "the duplicate \"%s\" variable", v + 1);
    rp_map_t *m = rp_map_new(p->a, name, NULL);
    rp_map_t **slot = RP__PUSH(p->a, p->conf->maps, p->conf->nmaps);
    if (!m || !slot)
        return rp__conf_oom(p, n);
    *slot = m;
    p->reg.maps = p->conf->maps;
    p->reg.nmaps = p->conf->nmaps;
    return RP_OK;
}

static int prepass_map_body(rp__cparse_t *p, const rp_conf_node_t *n, rp_map_t *m)
{
    m->source = rp__conf_tpl(p, n, n->args[0]);
    if (!m->source)
        return RP_ERROR;
    /* `hostnames` changes how keys are read: apply it first */
    for (size_t i = 0; i < n->nchildren; i++)
        if (strcmp(n->children[i].name, "hostnames") == 0 && n->children[i].nargs == 0)
            m->hostnames = 1;
    for (size_t i = 0; i < n->nchildren; i++) {
        const rp_conf_node_t *e = &n->children[i];
        if (e->is_block || e->nargs > 1)
            return rp__conf_err(p, e, "invalid number of the map parameters");
        rp_tpl_t *val = NULL;
        if (e->nargs == 1 && !(val = rp__conf_tpl(p, e, e->args[0])))
            return RP_ERROR;
        char em[256] = "";
        if (rp_map_add(p->a, m, e->name, 0, val, em, sizeof(em)) != RP_OK)
            return rp__conf_err(p, e, "%s", em[0] ? em : "invalid map parameter");
    }
    if (!m->deflt) {
        m->deflt = rp__conf_tpl(p, n, "");
        if (!m->deflt)
            return RP_ERROR;
    }
    return RP_OK;
}

/* Named groups of server_name and location regexes become variables
 * ($sub for "~^(?<sub>.+)\\.example\\.com$"); they are collected before any
 * template is compiled, so a use before the regex is fine (nginx too). */
static int add_capture_names(rp__cparse_t *p, const rp_conf_node_t *n, const char *re)
{
    for (const char *q = re; (q = strstr(q, "(?")) != NULL; q += 2) {
        const char *nm = q + 2;
        char close = '>';
        if (*nm == 'P' && nm[1] == '<')
            nm += 2;
        else if (*nm == '<' && nm[1] != '=' && nm[1] != '!')
            nm += 1;
        else if (*nm == '\'') {
            nm += 1;
            close = '\'';
        } else
            continue;
        const char *e = nm;
        while (*e && (isalnum((unsigned char)*e) || *e == '_'))
            e++;
        if (*e != close || e == nm)
            continue;
        rp_str_t name = rp_str(nm, (size_t)(e - nm));
        int known = 0;
        for (size_t i = 0; i < p->reg.ncaptures; i++)
            if (rp_str_eq(name, rp_str_cstr(p->reg.captures[i])))
                known = 1;
        if (known)
            continue;
        char *copy = rp_arena_strndup(p->a, name.data, name.len);
        char **slot = RP__PUSH(p->a, p->reg.captures, p->reg.ncaptures);
        if (!copy || !slot)
            return rp__conf_oom(p, n);
        *slot = copy;
    }
    return RP_OK;
}

static int prepass_captures(rp__cparse_t *p, const rp_conf_node_t *n)
{
    for (size_t i = 0; i < n->nchildren; i++) {
        const rp_conf_node_t *c = &n->children[i];
        if (strcmp(c->name, "server_name") == 0) {
            for (size_t k = 0; k < c->nargs; k++)
                if (c->args[k][0] == '~' && add_capture_names(p, c, c->args[k]) != RP_OK)
                    return RP_ERROR;
        } else if (strcmp(c->name, "location") == 0 && c->nargs == 2 && c->args[0][0] == '~') {
            if (add_capture_names(p, c, c->args[1]) != RP_OK)
                return RP_ERROR;
        }
        if (c->is_block && prepass_captures(p, c) != RP_OK)
            return RP_ERROR;
    }
    return RP_OK;
}

static int prepass(rp__cparse_t *p, const rp_conf_node_t *http)
{
    if (prepass_captures(p, http) != RP_OK)
        return RP_ERROR;
    for (size_t i = 0; i < http->nchildren; i++)
        if (strcmp(http->children[i].name, "map") == 0 &&
            prepass_map_name(p, &http->children[i]) != RP_OK)
            return RP_ERROR;
    size_t mi = 0;
    for (size_t i = 0; i < http->nchildren; i++) {
        const rp_conf_node_t *c = &http->children[i];
        if (strcmp(c->name, "map") == 0 && c->nargs == 2 && c->is_block &&
            prepass_map_body(p, c, p->conf->maps[mi++]) != RP_OK)
            return RP_ERROR;
    }
    for (size_t i = 0; i < http->nchildren; i++)
        if (strcmp(http->children[i].name, "log_format") == 0 &&
            prepass_log_format(p, &http->children[i]) != RP_OK)
            return RP_ERROR;
    return RP_OK;
}

static int set_prepassed(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    return RP_OK; /* map and log_format were read by prepass() */
}

/* ---- merge ---- */

typedef struct {
    rp_tpl_t *host;  /* $proxy_host */
    rp_tpl_t *empty; /* "" */
    rp_tpl_t *root;
    rp_str_t *index; /* {"index.html"}, in the generation's arena */
} defaults_t;

#define MERGE(f, def)                                                                              \
    do {                                                                                           \
        if (c->f == RP_UNSET)                                                                      \
            c->f = parent ? parent->f : (def);                                                     \
    } while (0)
#define MERGE_ARR(f, nf, def, ndef)                                                                \
    do {                                                                                           \
        if (!c->f) {                                                                               \
            c->f = parent ? parent->f : (def);                                                     \
            c->nf = parent ? parent->nf : (ndef);                                                  \
        }                                                                                          \
    } while (0)

/* Default proxy_set_header entries, merged under the user's ones: the
 * finished list is the user's entries in config order, then "Host:
 * $proxy_host" and "Connection: ''" unless the user set those names. */
static int merge_set_headers(rp__cparse_t *p, rp_loc_conf_t *c, const rp_loc_conf_t *parent,
                             const defaults_t *df)
{
    if (!c->proxy_set_headers && parent) {
        c->proxy_set_headers = parent->proxy_set_headers;
        c->nproxy_set_headers = parent->nproxy_set_headers;
        return RP_OK;
    }
    size_t n = c->nproxy_set_headers;
    rp_set_header_t *arr = rp_arena_alloc(p->a, (n + 2) * sizeof(*arr));
    if (!arr)
        return RP_ERROR;
    if (n)
        memcpy(arr, c->proxy_set_headers, n * sizeof(*arr));
    int has_host = 0, has_conn = 0;
    for (size_t i = 0; i < n; i++) {
        has_host |= rp_str_caseeq_cstr(arr[i].name, "host");
        has_conn |= rp_str_caseeq_cstr(arr[i].name, "connection");
    }
    if (!has_host)
        arr[n++] = (rp_set_header_t){ RP_STR("Host"), df->host };
    if (!has_conn)
        arr[n++] = (rp_set_header_t){ RP_STR("Connection"), df->empty };
    c->proxy_set_headers = arr;
    c->nproxy_set_headers = n;
    return RP_OK;
}

/* Merges c with its (already merged) parent, or with the defaults when
 * parent is NULL (http level). srv is the merged server level for
 * locations: a server-level `return` runs before any location is chosen in
 * nginx, so locations inherit it; a location's own `return` is not
 * inherited by nested locations (nginx's rewrite phase works that way). */
static int merge_loc(rp__cparse_t *p, rp_loc_conf_t *c, const rp_loc_conf_t *parent,
                     const rp_loc_conf_t *srv, const defaults_t *df, const rp_location_t *loc)
{
    if (c->return_code == RP_UNSET) {
        c->return_code = srv ? srv->return_code : 0;
        c->return_text = srv ? srv->return_text : NULL;
    }
    /* root and alias are one setting (nginx): a level that writes neither
     * takes the parent's, alias and its prefix length included; a level that
     * writes either drops the other. */
    if (c->alias) {
        c->root = c->alias;
    } else if (!c->root) {
        c->root = parent ? parent->root : df->root;
        c->alias = parent ? parent->alias : NULL;
        c->alias_len = parent ? parent->alias_len : 0;
    }
    MERGE_ARR(index, nindex, df->index, 1);
    MERGE_ARR(error_pages, nerror_pages, NULL, 0);
    /* try_files is not inherited (nginx): a server-level one serves the
     * requests no location matches */
    MERGE_ARR(add_headers, nadd_headers, NULL, 0);
    MERGE_ARR(access, naccess, NULL, 0);
    if (merge_set_headers(p, c, parent, df) != RP_OK)
        return RP_ERROR;
    MERGE_ARR(proxy_hide_headers, nproxy_hide_headers, NULL, 0);
    MERGE_ARR(proxy_pass_headers, nproxy_pass_headers, NULL, 0);
    MERGE(proxy_http_version, 11);
    MERGE(proxy_connect_timeout, 60000);
    MERGE(proxy_read_timeout, 60000);
    MERGE(proxy_next_upstream, RP_NEXT_ERROR | RP_NEXT_TIMEOUT | RP_NEXT_INVALID_HEADER);
    MERGE(proxy_next_upstream_tries, 0);
    MERGE(proxy_next_upstream_timeout, 0);
    MERGE(proxy_send_timeout, 60000);
    MERGE(proxy_buffering, 1);
    MERGE(proxy_request_buffering, 1);
    MERGE(proxy_buffer_size, 4096);
    if (c->proxy_buffers_num == RP_UNSET) {
        c->proxy_buffers_num = parent ? parent->proxy_buffers_num : 8;
        c->proxy_buffers_size = parent ? parent->proxy_buffers_size : 4096;
    }
    MERGE(proxy_intercept_errors, 0);
    if (rp__conf_redirect_merge(p, c, parent, loc) != RP_OK)
        return RP_ERROR;
    MERGE(client_max_body_size, 1024 * 1024);
    MERGE(client_body_timeout, 60000);
    MERGE(send_timeout, 60000);
    MERGE(keepalive_timeout, 75000);
    MERGE(keepalive_header, 0);
    MERGE(keepalive_requests, 1000);
    MERGE(server_tokens, 0);
    MERGE(sendfile, 1); /* nginx: off; rampart always used sendfile(2) */
    MERGE(tcp_nopush, 0);
    MERGE(tcp_nodelay, 1);
    MERGE(client_body_buffer_size, 16384); /* nginx: 2 pages, 16k on x86-64 */
    MERGE(reset_timedout_connection, 0);
    MERGE(log_not_found, 1);
    rp__conf_proxy_ssl_merge(&c->proxy_ssl, parent ? &parent->proxy_ssl : NULL);
    rp__conf_compress_merge(&c->compress, parent ? &parent->compress : NULL);
    if (!c->client_body_temp_path && parent)
        c->client_body_temp_path = parent->client_body_temp_path; /* NULL: $TMPDIR or /tmp */
    if (!c->default_type.data)
        c->default_type = parent ? parent->default_type : RP_STR("text/plain");
    if (c->types)
        rp_mime_types_finish(c->types, types_dup_warn, NULL);
    else
        c->types = parent ? parent->types : (rp_mime_types_t *)rp_mime_builtin();
    if (c->access_logs && c->naccess_logs == 0)
        c->access_logs = NULL; /* `access_log off` */
    else if (!c->access_logs && parent) {
        c->access_logs = parent->access_logs;
        c->naccess_logs = parent->naccess_logs;
    }
    return RP_OK;
}

static int merge_tree(rp__cparse_t *p, rp_location_t *loc, const rp_loc_conf_t *parent,
                      const rp_loc_conf_t *srv, const defaults_t *df)
{
    if (merge_loc(p, &loc->conf, parent, srv, df, loc) != RP_OK)
        return RP_ERROR;
    for (size_t i = 0; i < loc->nchildren; i++)
        if (merge_tree(p, loc->children[i], &loc->conf, srv, df) != RP_OK)
            return RP_ERROR;
    return RP_OK;
}

static int merge_all(rp__cparse_t *p, const rp_conf_node_t *http)
{
    defaults_t df = { 0 };
    char *root = rp__conf_path(p, "html");
    if (!root || !(df.host = rp__conf_tpl(p, http, "$proxy_host")) ||
        !(df.empty = rp__conf_tpl(p, http, "")) || !(df.root = rp__conf_tpl(p, http, root)))
        return RP_ERROR;
    if (!(df.index = rp_arena_alloc(p->a, sizeof(*df.index))))
        return rp__conf_oom(p, http);
    *df.index = RP_STR("index.html");

    rp_server_t *hs = p->http_srv;
    rp_loc_conf_t *h = &hs->conf;
    /* nginx logs to logs/access.log in the combined format when no level
     * says otherwise; `access_log off` anywhere turns that level off */
    int default_log = !h->access_logs;
    if (merge_loc(p, h, NULL, NULL, &df, NULL) != RP_OK)
        return rp__conf_oom(p, http);
    if (default_log) {
        rp_access_log_t *al = rp_arena_calloc(p->a, sizeof(*al));
        char *path = rp__conf_path(p, "logs/access.log");
        if (!al || !path)
            return rp__conf_oom(p, http);
        al->format = find_format(p, "combined");
        if (open_log(p, http, path, &al->file) != RP_OK)
            return RP_ERROR;
        h->access_logs = al;
        h->naccess_logs = 1;
    }
    h->return_code = 0;
    rp__conf_ssl_merge(&hs->ssl, NULL);

    for (size_t i = 0; i < p->conf->nservers; i++) {
        rp_server_t *s = p->conf->servers[i];
#define SMERGE(f, def)                                                                             \
    if (s->f == RP_UNSET)                                                                          \
    s->f = hs->f != RP_UNSET ? hs->f : (def)
        SMERGE(client_header_buffer_size, 1024);
        SMERGE(client_header_timeout, 60000);
        SMERGE(underscores_in_headers, 0);
        SMERGE(ignore_invalid_headers, 1);
        SMERGE(ssl_handshake_timeout, 60000);
        SMERGE(http2, 0);
        SMERGE(http2_max_concurrent_streams, 128);
        SMERGE(http2_body_preread_size, 65536);
        SMERGE(http2_chunk_size, 8192);
        rp__conf_ssl_merge(&s->ssl, &hs->ssl);
        if (s->large_client_header_buffers_num == RP_UNSET) {
            s->large_client_header_buffers_num = hs->large_client_header_buffers_num != RP_UNSET
                                                     ? hs->large_client_header_buffers_num
                                                     : 4;
            s->large_client_header_buffers_size = hs->large_client_header_buffers_size != RP_UNSET
                                                      ? hs->large_client_header_buffers_size
                                                      : 8192;
        }
#undef SMERGE
        if (merge_loc(p, &s->conf, h, NULL, &df, NULL) != RP_OK)
            return rp__conf_oom(p, http);
        for (size_t k = 0; k < s->nlocations; k++)
            if (merge_tree(p, s->locations[k], &s->conf, &s->conf, &df) != RP_OK)
                return rp__conf_oom(p, http);
        for (size_t k = 0; k < s->nnamed_locations; k++)
            if (merge_tree(p, s->named_locations[k], &s->conf, &s->conf, &df) != RP_OK)
                return rp__conf_oom(p, http);
    }
    return RP_OK;
}

/* ---- http ---- */

int rp__conf_http(rp__cparse_t *p, const rp_conf_node_t *n)
{
    if (p->http_seen)
        return rp__conf_err(p, n, "\"http\" directive is duplicate");
    p->http_seen = 1;
    p->conf->has_http = 1;
    p->http_srv = rp_arena_alloc(p->a, sizeof(*p->http_srv));
    if (!p->http_srv)
        return rp__conf_oom(p, n);
    rp__conf_srv_init(p->http_srv);
    if (add_log_format(p, n, "combined", RP_LOG_ESCAPE_DEFAULT,
                       "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                       "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"") != RP_OK)
        return RP_ERROR;
    if (prepass(p, n) != RP_OK)
        return RP_ERROR;
    rp__cblock_t hb = { .ctx = RP__CTX_HTTP, .srv = p->http_srv, .loc = &p->http_srv->conf };
    if (rp__conf_block(p, n, &hb) != RP_OK)
        return RP_ERROR;
    if (rp__conf_resolve_pending(p) != RP_OK)
        return RP_ERROR;
    if (merge_all(p, n) != RP_OK)
        return RP_ERROR;
    for (size_t i = 0; i < p->conf->nlistens; i++) {
        rp_listen_t *ls = &p->conf->listens[i];
        if (!ls->default_server)
            ls->default_server = ls->servers[0];
    }
    return rp__conf_ssl_finish(p);
}

static int set_http(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    return rp__conf_http(p, n);
}

#define LOC(f) RP__BASE_LOC, offsetof(rp_loc_conf_t, f)
#define SRV(f) RP__BASE_SRV, offsetof(rp_server_t, f)
#define HS (RP__CTX_HTTP | RP__CTX_SRV)

/* keepalive_timeout timeout [header_timeout]: the second value is announced
 * to clients in "Keep-Alive: timeout=N" (seconds), as nginx does. */
static int set_keepalive_timeout(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                 const rp__cdir_t *d)
{
    int rc = rp__conf_set_msec(p, n, b, d);
    if (rc != RP_OK || n->nargs < 2)
        return rc;
    if (rp__conf_parse_msec(n->args[1], &b->loc->keepalive_header) != RP_OK)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[1], n->name);
    return RP_OK;
}

const rp__cdir_t rp__conf_http_dirs[] = {
    { "http", RP__CTX_MAIN, RP__NOARGS | RP__BLOCK, set_http, 0, 0 },
    { "server", RP__CTX_HTTP, RP__NOARGS | RP__BLOCK, set_server, 0, 0 },
    { "map", RP__CTX_HTTP, RP__TAKE2 | RP__BLOCK, set_prepassed, 0, 0 },
    { "log_format", RP__CTX_HTTP, RP__2MORE, set_prepassed, 0, 0 },
    { "listen", RP__CTX_SRV, RP__1MORE, set_listen, 0, 0 },
    { "server_name", RP__CTX_SRV, RP__1MORE, set_server_name, 0, 0 },
    { "location", RP__CTX_SRV | RP__CTX_LOC, RP__TAKE12 | RP__BLOCK, set_location, 0, 0 },
    { "return", RP__CTX_SRV | RP__CTX_LOC, RP__TAKE12, set_return, 0, 0 },
    { "root", RP__CTX_HSL, RP__TAKE1, set_root, 0, 0 },
    { "alias", RP__CTX_LOC, RP__TAKE1, set_alias, 0, 0 },
    { "index", RP__CTX_HSL, RP__1MORE, set_index, 0, 0 },
    { "try_files", RP__CTX_SRV | RP__CTX_LOC, RP__2MORE, set_try_files, 0, 0 },
    { "default_type", RP__CTX_HSL, RP__TAKE1, set_default_type, 0, 0 },
    { "types", RP__CTX_HSL, RP__NOARGS | RP__BLOCK, set_types, 0, 0 },
    { "types_hash_max_size", RP__CTX_HSL, RP__TAKE1, set_hash_size, 0, 0 },
    { "types_hash_bucket_size", RP__CTX_HSL, RP__TAKE1, set_hash_size, 0, 0 },
    { "error_page", RP__CTX_HSL, RP__2MORE, set_error_page, 0, 0 },
    { "add_header", RP__CTX_HSL, RP__TAKE2 | RP__TAKE3, set_add_header, 0, 0 },
    { "access_log", RP__CTX_HSL, RP__1MORE, set_access_log, 0, 0 },
    { "proxy_pass", RP__CTX_LOC, RP__TAKE1, rp__conf_proxy_pass, 0, 0 },
    { "proxy_set_header", RP__CTX_HSL, RP__TAKE2, set_proxy_set_header, 0, 0 },
    { "proxy_hide_header", RP__CTX_HSL, RP__TAKE1, set_header_list, LOC(proxy_hide_headers) },
    { "proxy_pass_header", RP__CTX_HSL, RP__TAKE1, set_header_list, LOC(proxy_pass_headers) },
    { "proxy_http_version", RP__CTX_HSL, RP__TAKE1, set_proxy_http_version, 0, 0 },
    { "proxy_connect_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec,
      LOC(proxy_connect_timeout) },
    { "proxy_read_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec, LOC(proxy_read_timeout) },
    { "proxy_next_upstream", RP__CTX_HSL, RP__1MORE, set_next_upstream, 0, 0 },
    { "allow", RP__CTX_HSL, RP__TAKE1, set_access, 0, 0 },
    { "deny", RP__CTX_HSL, RP__TAKE1, set_access, 0, 0 },
    { "api", RP__CTX_LOC, RP__NOARGS | RP__TAKE1, set_api, 0, 0 },
    { "proxy_next_upstream_tries", RP__CTX_HSL, RP__TAKE1, rp__conf_set_num,
      LOC(proxy_next_upstream_tries) },
    { "proxy_next_upstream_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec,
      LOC(proxy_next_upstream_timeout) },
    { "proxy_send_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec, LOC(proxy_send_timeout) },
    { "proxy_buffering", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(proxy_buffering) },
    { "proxy_request_buffering", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag,
      LOC(proxy_request_buffering) },
    { "proxy_buffer_size", RP__CTX_HSL, RP__TAKE1, rp__conf_set_size, LOC(proxy_buffer_size) },
    { "proxy_buffers", RP__CTX_HSL, RP__TAKE2, set_proxy_buffers, 0, 0 },
    { "proxy_intercept_errors", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag,
      LOC(proxy_intercept_errors) },
    { "client_max_body_size", RP__CTX_HSL, RP__TAKE1, rp__conf_set_size,
      LOC(client_max_body_size) },
    { "client_body_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec, LOC(client_body_timeout) },
    { "send_timeout", RP__CTX_HSL, RP__TAKE1, rp__conf_set_msec, LOC(send_timeout) },
    { "keepalive_timeout", RP__CTX_HSL, RP__TAKE12, set_keepalive_timeout, LOC(keepalive_timeout) },
    { "keepalive_requests", RP__CTX_HSL, RP__TAKE1, rp__conf_set_num, LOC(keepalive_requests) },
    { "server_tokens", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(server_tokens) },
    { "client_header_buffer_size", HS, RP__TAKE1, rp__conf_set_size,
      SRV(client_header_buffer_size) },
    { "client_header_timeout", HS, RP__TAKE1, rp__conf_set_msec, SRV(client_header_timeout) },
    { "large_client_header_buffers", HS, RP__TAKE2, set_large_buffers, 0, 0 },
    { "underscores_in_headers", HS, RP__TAKE1, rp__conf_set_flag, SRV(underscores_in_headers) },
    { "ignore_invalid_headers", HS, RP__TAKE1, rp__conf_set_flag, SRV(ignore_invalid_headers) },
    { "http2", HS, RP__TAKE1, rp__conf_set_flag, SRV(http2) },
    { "http2_max_concurrent_streams", HS, RP__TAKE1, set_h2_num,
      SRV(http2_max_concurrent_streams) },
    { "http2_body_preread_size", HS, RP__TAKE1, set_h2_size, SRV(http2_body_preread_size) },
    { "http2_chunk_size", HS, RP__TAKE1, set_h2_size, SRV(http2_chunk_size) },
    { "http2_recv_buffer_size", RP__CTX_HTTP, RP__TAKE1, set_size_noop, 0, 0 },
    { "proxy_redirect", RP__CTX_HSL, RP__TAKE12, rp__conf_proxy_redirect, 0, 0 },
    { "proxy_temp_path", RP__CTX_HSL, RP__TAKE1234, set_proxy_temp_path, 0, 0 },
    { "proxy_max_temp_file_size", RP__CTX_HSL, RP__TAKE1, set_size_noop, 0, 0 },
    { "proxy_temp_file_write_size", RP__CTX_HSL, RP__TAKE1, set_size_noop, 0, 0 },
    { "proxy_headers_hash_max_size", RP__CTX_HSL, RP__TAKE1, set_hash_size, 0, 0 },
    { "proxy_headers_hash_bucket_size", RP__CTX_HSL, RP__TAKE1, set_hash_size, 0, 0 },
    { "server_names_hash_max_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "server_names_hash_bucket_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "variables_hash_max_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "variables_hash_bucket_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "map_hash_max_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "map_hash_bucket_size", RP__CTX_HTTP, RP__TAKE1, set_hash_size, 0, 0 },
    { "sendfile", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(sendfile) },
    { "tcp_nopush", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(tcp_nopush) },
    { "tcp_nodelay", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(tcp_nodelay) },
    { "client_body_buffer_size", RP__CTX_HSL, RP__TAKE1, rp__conf_set_size,
      LOC(client_body_buffer_size) },
    { "client_body_temp_path", RP__CTX_HSL, RP__TAKE1234, set_client_body_temp_path, 0, 0 },
    { "reset_timedout_connection", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag,
      LOC(reset_timedout_connection) },
    { "log_not_found", RP__CTX_HSL, RP__TAKE1, rp__conf_set_flag, LOC(log_not_found) },
    { "log_subrequest", RP__CTX_HSL, RP__TAKE1, rp__conf_set_noop_flag, 0, 0 },
    { NULL, 0, 0, NULL, 0, 0 },
};
