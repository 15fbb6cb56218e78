/* upstream blocks and proxy_pass.
 *
 * Host names are resolved once, at load time, with getaddrinfo(); every
 * address a name resolves to becomes one server (nginx does the same).
 * Resolution waits for the end of the http block: an upstream may be
 * defined after the proxy_pass that names it, and a directive error later
 * in the file is reported before any DNS lookup is attempted.
 */
#include "conf/conf.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"

int rp_conf_resolve_numeric_only;

void rp__conf_upstream_defaults(rp_upstream_t *u)
{
    if (u->keepalive == RP_UNSET)
        u->keepalive = 32;
    if (u->keepalive_timeout == RP_UNSET)
        u->keepalive_timeout = 60000;
    if (u->keepalive_requests == RP_UNSET)
        u->keepalive_requests = 1000;
}

static rp_upstream_t *new_upstream(rp__cparse_t *p, const char *name, const rp_conf_node_t *n)
{
    rp_upstream_t *u = rp_arena_calloc(p->a, sizeof(*u));
    rp_upstream_t **slot = RP__PUSH(p->a, p->conf->upstreams, p->conf->nupstreams);
    if (!u || !slot || !(u->name = rp_arena_strdup(p->a, name)))
        return NULL;
    *slot = u;
    u->keepalive = RP_UNSET;
    u->keepalive_timeout = RP_UNSET;
    u->keepalive_requests = RP_UNSET;
    u->file = n->file;
    u->line = n->line;
    return u;
}

static rp_upstream_t *find_upstream(rp__cparse_t *p, const char *name, int implicit)
{
    for (size_t i = 0; i < p->conf->nupstreams; i++) {
        rp_upstream_t *u = p->conf->upstreams[i];
        if (u->implicit == implicit && strcmp(u->name, name) == 0)
            return u;
    }
    return NULL;
}

int rp__conf_upstream_block(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    if (find_upstream(p, n->args[0], 0))
        return rp__conf_err(p, n, "duplicate upstream \"%s\"", n->args[0]);
    rp_upstream_t *u = new_upstream(p, n->args[0], n);
    if (!u)
        return rp__conf_oom(p, n);
    size_t before = p->nusrvs;
    rp__cblock_t ub = { .ctx = RP__CTX_UPS, .ups = u };
    if (rp__conf_block(p, n, &ub) != RP_OK)
        return RP_ERROR;
    if (p->nusrvs == before)
        return rp__conf_err(p, n, "no servers are inside upstream");
    rp__conf_upstream_defaults(u);
    return RP_OK;
}

/* Upstream server parameters of later capabilities. */
static const char *const server_not_yet[] = {
    "max_fails", "fail_timeout", "backup",     "down",  "max_conns",
    "resolve",   "service",      "slow_start", "route", "drain",
};

static int set_ups_server(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    const char *a0 = n->args[0];
    char host[256];
    int port;
    int64_t weight = 1;
    if (strncmp(a0, "unix:", 5) == 0)
        return rp__conf_err(p, n,
                            "unix domain sockets in upstream \"server\" are not supported yet");
    if (rp__conf_split_hostport(a0, host, sizeof(host), &port) != RP_OK)
        return rp__conf_err(p, n, "invalid port in upstream \"%s\"", a0);
    if (host[0] == '\0')
        return rp__conf_err(p, n, "no host in upstream \"%s\"", a0);
    for (size_t i = 1; i < n->nargs; i++) {
        const char *o = n->args[i];
        if (strncmp(o, "weight=", 7) == 0) {
            if (rp__conf_parse_int(o + 7, &weight) != RP_OK || weight < 1 || weight > 1000000)
                return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
            continue;
        }
        size_t k = strcspn(o, "=");
        for (size_t j = 0; j < RP_ARRAY_LEN(server_not_yet); j++)
            if (strlen(server_not_yet[j]) == k && strncmp(o, server_not_yet[j], k) == 0)
                return rp__conf_err(p, n,
                                    "the \"%.*s\" parameter of upstream \"server\" is not "
                                    "supported yet",
                                    (int)k, o);
        return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
    }
    rp__cpending_srv_t *ps = RP__PUSH(p->a, p->usrvs, p->nusrvs);
    if (!ps || !(ps->host = rp_arena_strdup(p->a, host)))
        return rp__conf_oom(p, n);
    ps->ups = b->ups;
    ps->port = port ? port : 80;
    ps->weight = (int)weight;
    ps->node = n;
    return RP_OK;
}

static int set_ups_keepalive(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                             const rp__cdir_t *d)
{
    if (b->ups->keepalive != RP_UNSET)
        return rp__conf_dup(p, n);
    int64_t v;
    if (rp__conf_parse_int(n->args[0], &v) != RP_OK || v < 1 || v > 1000000)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    b->ups->keepalive = (int)v;
    return RP_OK;
}

int rp__conf_proxy_pass(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d)
{
    rp_location_t *loc = b->location;
    const char *url = n->args[0];
    if (loc->conf.proxy_pass)
        return rp__conf_dup(p, n);
    if (strchr(url, '$'))
        return rp__conf_err(p, n, "\"proxy_pass\" with variables is not supported yet");
    /* the scheme decides the default port and whether the backend
     * connection is TLS (the location's proxy_ssl_ctx) */
    int ssl = strncasecmp(url, "https://", 8) == 0;
    if (!ssl && strncasecmp(url, "http://", 7) != 0)
        return rp__conf_err(p, n, "invalid URL prefix in \"%s\"", url);
    int defport = ssl ? 443 : 80;
    const char *hp = url + (ssl ? 8 : 7);
    if (strncmp(hp, "unix:", 5) == 0)
        return rp__conf_err(p, n, "\"proxy_pass\" to unix domain sockets is not supported yet");
    size_t hplen = strcspn(hp, "/?#");
    if (hplen == 0)
        return rp__conf_err(p, n, "no host in \"%s\"", url);
    if (hp[hplen] == '?' || hp[hplen] == '#')
        return rp__conf_err(p, n, "invalid URL \"%s\"", url);
    const char *uri = hp[hplen] ? hp + hplen : NULL;
    if (uri && (loc->match == RP_LOC_REGEX || loc->match == RP_LOC_REGEX_ICASE ||
                loc->match == RP_LOC_NAMED))
        return rp__conf_err(p, n,
                            "\"proxy_pass\" cannot have URI part in location given by regular "
                            "expression, or inside named location, or inside \"if\" statement, "
                            "or inside \"limit_except\" block");
    char hostport[300], host[256];
    int port;
    if (hplen >= sizeof(hostport))
        return rp__conf_err(p, n, "invalid host in \"%s\"", url);
    memcpy(hostport, hp, hplen);
    hostport[hplen] = '\0';
    if (rp__conf_split_hostport(hostport, host, sizeof(host), &port) != RP_OK)
        return rp__conf_err(p, n, "invalid port in \"%s\"", url);
    if (host[0] == '\0')
        return rp__conf_err(p, n, "no host in \"%s\"", url);

    rp_proxy_pass_t *pp = rp_arena_calloc(p->a, sizeof(*pp));
    rp__cpending_pass_t *pend = RP__PUSH(p->a, p->passes, p->npasses);
    if (!pp || !pend)
        return rp__conf_oom(p, n);
    /* $proxy_host: host[:port] as written, the scheme's default port
     * (":80", ":443") left out */
    char hbuf[300];
    if (port && port != defport)
        snprintf(hbuf, sizeof(hbuf), "%.*s", (int)hplen, hp);
    else if (hp[0] == '[')
        snprintf(hbuf, sizeof(hbuf), "[%s]", host);
    else
        snprintf(hbuf, sizeof(hbuf), "%s", host);
    char pbuf[8];
    snprintf(pbuf, sizeof(pbuf), "%d", port ? port : defport);
    pp->host = rp_str_cstr(rp_arena_strdup(p->a, hbuf));
    pp->port = rp_str_cstr(rp_arena_strdup(p->a, pbuf));
    pp->url = rp_str_cstr(rp_arena_strdup(p->a, url));
    pp->ssl = ssl;
    pp->ssl_name = rp_str_cstr(rp_arena_strdup(p->a, host));
    if (uri) {
        pp->has_uri = 1;
        pp->uri = rp_str_cstr(rp_arena_strdup(p->a, uri));
    }
    pend->pass = pp;
    pend->loc = loc;
    pend->host = rp_arena_strdup(p->a, host);
    pend->port = port;
    pend->node = n;
    if (!pp->host.data || !pp->port.data || !pp->url.data || (uri && !pp->uri.data) ||
        !pp->ssl_name.data || !pend->host)
        return rp__conf_oom(p, n);
    loc->conf.proxy_pass = pp;
    return RP_OK;
}

/* Resolves host:port and appends one server per distinct address. */
static int add_servers(rp__cparse_t *p, rp_upstream_t *u, const char *host, int port, int weight,
                       const char *written, const rp_conf_node_t *n)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (rp_conf_resolve_numeric_only && strcmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST; /* no DNS query: a name is "not found" */
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return rp__conf_err(p, n, "host not found in upstream \"%s\"", written);
    char *name = rp_arena_strdup(p->a, written);
    int rc = name ? RP_OK : rp__conf_oom(p, n);
    for (struct addrinfo *ai = res; ai && rc == RP_OK; ai = ai->ai_next) {
        int seen = 0;
        for (struct addrinfo *x = res; x != ai; x = x->ai_next)
            if (x->ai_addrlen == ai->ai_addrlen &&
                memcmp(x->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
                seen = 1;
        if (seen)
            continue;
        rp_upstream_server_t *s = RP__PUSH(p->a, u->servers, u->nservers);
        if (!s) {
            rc = rp__conf_oom(p, n);
            break;
        }
        s->name = name;
        s->weight = weight;
        rp__conf_sa_fill(&s->addr, ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    return rc;
}

int rp__conf_resolve_pending(rp__cparse_t *p)
{
    for (size_t i = 0; i < p->nusrvs; i++) {
        rp__cpending_srv_t *ps = &p->usrvs[i];
        if (add_servers(p, ps->ups, ps->host, ps->port, ps->weight, ps->node->args[0], ps->node) !=
            RP_OK)
            return RP_ERROR;
    }
    for (size_t i = 0; i < p->npasses; i++) {
        rp__cpending_pass_t *pend = &p->passes[i];
        const rp_conf_node_t *n = pend->node;
        if (pend->port == 0) {
            rp_upstream_t *u = find_upstream(p, pend->host, 0);
            if (u) {
                pend->pass->upstream = u;
                continue;
            }
        }
        /* implicit upstream "host:port", shared by every proxy_pass to it */
        char key[300];
        const char *h = pend->host;
        int v6 = strchr(h, ':') != NULL;
        int port = pend->port ? pend->port : pend->pass->ssl ? 443 : 80;
        snprintf(key, sizeof(key), "%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", port);
        rp_upstream_t *u = find_upstream(p, key, 1);
        if (!u) {
            char written[300];
            const char *hp = n->args[0] + (pend->pass->ssl ? 8 : 7);
            snprintf(written, sizeof(written), "%.*s", (int)strcspn(hp, "/"), hp);
            if (!(u = new_upstream(p, key, n)))
                return rp__conf_oom(p, n);
            u->implicit = 1;
            rp__conf_upstream_defaults(u);
            if (add_servers(p, u, h, port, 1, written, n) != RP_OK)
                return RP_ERROR;
        }
        pend->pass->upstream = u;
    }
    return RP_OK;
}

#define UPS(f) RP__BASE_UPS, offsetof(rp_upstream_t, f)

const rp__cdir_t rp__conf_upstream_dirs[] = {
    { "upstream", RP__CTX_HTTP, RP__TAKE1 | RP__BLOCK, rp__conf_upstream_block, 0, 0 },
    { "server", RP__CTX_UPS, RP__1MORE, set_ups_server, 0, 0 },
    { "keepalive", RP__CTX_UPS, RP__TAKE1, set_ups_keepalive, 0, 0 },
    { "keepalive_timeout", RP__CTX_UPS, RP__TAKE1, rp__conf_set_msec, UPS(keepalive_timeout) },
    { "keepalive_requests", RP__CTX_UPS, RP__TAKE1, rp__conf_set_num, UPS(keepalive_requests) },
    { NULL, 0, 0, NULL, 0, 0 },
};
