/* upstream blocks and proxy_pass.
 *
 * Host names are resolved once, at load time, with getaddrinfo(); every
 * address a name resolves to becomes one server (nginx does the same).
 * Resolution waits for the end of the http block: an upstream may be
 * defined after the proxy_pass that names it, and a directive error later
 * in the file is reported before any DNS lookup is attempted.
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int read_state(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *ub);

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
    if (u->state_file) {
        if (p->nusrvs != before)
            return rp__conf_err(p, p->usrvs[before].node,
                                "\"server\" cannot be used with \"state\" in upstream");
        if (read_state(p, n, &ub) != RP_OK)
            return RP_ERROR;
    } else if (p->nusrvs == before) {
        return rp__conf_err(p, n, "no servers are inside upstream");
    }
    /* a hash picks a server by the key: a backup would break the mapping */
    if (u->has_backup && (u->balance == RP_BALANCE_HASH || u->balance == RP_BALANCE_IP_HASH ||
                          u->balance == RP_BALANCE_RANDOM)) {
        for (size_t i = before; i < p->nusrvs; i++)
            if (p->usrvs[i].tmpl.backup)
                return rp__conf_err(p, p->usrvs[i].node,
                                    "load balancing method doesn't support parameter \"backup\"");
    }
    rp__conf_upstream_defaults(u);
    return RP_OK;
}

/* Upstream server parameters of later capabilities. */
static const char *const server_not_yet[] = {
    "service",
    "route",
};

static int opt_num(const char *o, size_t plen, int64_t lo, int64_t hi, int64_t *out)
{
    return rp__conf_parse_int(o + plen, out) == RP_OK && *out >= lo && *out <= hi ? RP_OK
                                                                                  : RP_ERROR;
}

static int opt_time(const char *o, size_t plen, int64_t *out)
{
    return rp__conf_parse_msec(o + plen, out);
}

static int set_ups_server(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    const char *a0 = n->args[0];
    char host[256];
    int port;
    rp_upstream_server_t t = { 0 };
    int resolve = 0;
    t.weight = 1;
    t.max_fails = 1;
    t.fail_timeout = 10000;
    if (strncmp(a0, "unix:", 5) == 0)
        return rp__conf_err(p, n,
                            "unix domain sockets in upstream \"server\" are not supported yet");
    if (rp__conf_split_hostport(a0, host, sizeof(host), &port) != RP_OK)
        return rp__conf_err(p, n, "invalid port in upstream \"%s\"", a0);
    if (host[0] == '\0')
        return rp__conf_err(p, n, "no host in upstream \"%s\"", a0);
    for (size_t i = 1; i < n->nargs; i++) {
        const char *o = n->args[i];
        int64_t v;
        int rc = RP_OK;
        if (strncmp(o, "weight=", 7) == 0) {
            rc = opt_num(o, 7, 1, 1000000, &v);
            t.weight = (int)v;
        } else if (strncmp(o, "max_conns=", 10) == 0) {
            rc = opt_num(o, 10, 0, 1000000000, &v);
            t.max_conns = (int)v;
        } else if (strncmp(o, "max_fails=", 10) == 0) {
            rc = opt_num(o, 10, 0, 1000000, &v);
            t.max_fails = (int)v;
        } else if (strncmp(o, "fail_timeout=", 13) == 0) {
            rc = opt_time(o, 13, &t.fail_timeout);
        } else if (strncmp(o, "slow_start=", 11) == 0) {
            rc = opt_time(o, 11, &t.slow_start);
        } else if (strcmp(o, "backup") == 0) {
            t.backup = 1;
        } else if (strcmp(o, "down") == 0) {
            t.down = 1;
        } else if (strcmp(o, "drain") == 0) {
            t.drain = 1;
        } else if (strcmp(o, "resolve") == 0) {
            resolve = 1;
        } else {
            size_t k = strcspn(o, "=");
            for (size_t j = 0; j < RP_ARRAY_LEN(server_not_yet); j++)
                if (strlen(server_not_yet[j]) == k && strncmp(o, server_not_yet[j], k) == 0)
                    return rp__conf_err(p, n,
                                        "the \"%.*s\" parameter of upstream \"server\" is not "
                                        "supported yet",
                                        (int)k, o);
            rc = RP_ERROR;
        }
        if (rc != RP_OK)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
    }
    if (t.backup)
        b->ups->has_backup = 1;
    rp__cpending_srv_t *ps = RP__PUSH(p->a, p->usrvs, p->nusrvs);
    if (!ps || !(ps->host = rp_arena_strdup(p->a, host)))
        return rp__conf_oom(p, n);
    ps->ups = b->ups;
    ps->port = port ? port : 80;
    ps->tmpl = t;
    ps->resolve = resolve;
    ps->node = n;
    return RP_OK;
}

/* `health_check [interval=] [jitter=] [fails=] [passes=] [uri=] [port=]
 * [match=] [mandatory [persistent]]`, in an upstream or in a location
 * that proxies to one. */
static int set_health_check(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                            const rp__cdir_t *d)
{
    rp_health_check_t **slot = b->ctx == RP__CTX_UPS ? &b->ups->hc : &b->loc->health_check;
    if (*slot)
        return rp__conf_dup(p, n);
    rp_health_check_t *hc = rp_arena_calloc(p->a, sizeof(*hc));
    if (!hc)
        return rp__conf_oom(p, n);
    hc->interval = 5000;
    hc->fails = 1;
    hc->passes = 1;
    hc->uri = "/";
    hc->file = n->file;
    hc->line = n->line;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *o = n->args[i];
        int64_t v;
        int rc = RP_OK;
        if (strncmp(o, "interval=", 9) == 0) {
            rc = opt_time(o, 9, &hc->interval);
            if (rc == RP_OK && hc->interval < 1)
                rc = RP_ERROR;
        } else if (strncmp(o, "jitter=", 7) == 0) {
            rc = opt_time(o, 7, &hc->jitter);
        } else if (strncmp(o, "fails=", 6) == 0) {
            rc = opt_num(o, 6, 1, 1000000, &v);
            hc->fails = (int)v;
        } else if (strncmp(o, "passes=", 7) == 0) {
            rc = opt_num(o, 7, 1, 1000000, &v);
            hc->passes = (int)v;
        } else if (strncmp(o, "port=", 5) == 0) {
            rc = opt_num(o, 5, 1, 65535, &v);
            hc->port = (int)v;
        } else if (strncmp(o, "uri=", 4) == 0) {
            /* a request line is built from it: no spaces or controls */
            const char *u = o + 4;
            rc = u[0] == '/' ? RP_OK : RP_ERROR;
            for (const char *q = u; *q && rc == RP_OK; q++)
                if ((unsigned char)*q <= ' ' || *q == 0x7f)
                    rc = RP_ERROR;
            if (rc == RP_OK && !(hc->uri = rp_arena_strdup(p->a, u)))
                return rp__conf_oom(p, n);
        } else if (strncmp(o, "match=", 6) == 0 && o[6]) {
            if (!(hc->match_name = rp_arena_strdup(p->a, o + 6)))
                return rp__conf_oom(p, n);
        } else if (strcmp(o, "mandatory") == 0) {
            hc->mandatory = 1;
        } else if (strcmp(o, "persistent") == 0) {
            hc->persistent = 1;
        } else {
            rc = RP_ERROR;
        }
        if (rc != RP_OK)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
    }
    if (hc->persistent && !hc->mandatory)
        return rp__conf_err(p, n, "\"persistent\" requires \"mandatory\"");
    *slot = hc;
    return RP_OK;
}

/* `status [!] code|lo-hi ...` */
static int match_status(rp__cparse_t *p, const rp_conf_node_t *e, rp_match_t *m)
{
    size_t i = 0;
    if (e->nargs && strcmp(e->args[0], "!") == 0) {
        m->status_not = 1;
        i = 1;
    }
    if (m->nstatus || i == e->nargs)
        return rp__conf_err(p, e, "invalid \"status\" in \"match\" block");
    m->status = rp_arena_calloc(p->a, e->nargs * sizeof(*m->status));
    if (!m->status)
        return rp__conf_oom(p, e);
    for (; i < e->nargs; i++) {
        char *dash = strchr(e->args[i], '-');
        int64_t lo, hi;
        char buf[32];
        snprintf(buf, sizeof(buf), "%.*s", dash ? (int)(dash - e->args[i]) : 31, e->args[i]);
        if (rp__conf_parse_int(buf, &lo) != RP_OK ||
            (dash ? rp__conf_parse_int(dash + 1, &hi) : (hi = lo, RP_OK)) != RP_OK || lo < 100 ||
            hi > 999 || lo > hi)
            return rp__conf_err(p, e, "invalid status \"%s\" in \"match\" block", e->args[i]);
        m->status[m->nstatus].lo = (int)lo;
        m->status[m->nstatus].hi = (int)hi;
        m->nstatus++;
    }
    return RP_OK;
}

/* `header Name`, `header ! Name`, `header Name (=|!=|~|!~) value` */
static int match_header(rp__cparse_t *p, const rp_conf_node_t *e, rp_match_t *m)
{
    rp_match_header_t h = { 0 };
    const char *name;
    if (e->nargs == 1) {
        name = e->args[0];
        h.op = RP_MATCH_PRESENT;
    } else if (e->nargs == 2 && strcmp(e->args[0], "!") == 0) {
        name = e->args[1];
        h.op = RP_MATCH_ABSENT;
    } else if (e->nargs == 3) {
        name = e->args[0];
        const char *op = e->args[1];
        h.op = strcmp(op, "=") == 0    ? RP_MATCH_EQ
               : strcmp(op, "!=") == 0 ? RP_MATCH_NE
               : strcmp(op, "~") == 0  ? RP_MATCH_RE
               : strcmp(op, "!~") == 0 ? RP_MATCH_NRE
                                       : -1;
        if (h.op < 0)
            return rp__conf_err(p, e, "invalid operator \"%s\" in \"match\" block", op);
        if (!(h.value = rp_arena_strdup(p->a, e->args[2])))
            return rp__conf_oom(p, e);
        if ((h.op == RP_MATCH_RE || h.op == RP_MATCH_NRE) &&
            !(h.re = rp__conf_regex(p, e, e->args[2], 0)))
            return RP_ERROR;
    } else {
        return rp__conf_err(p, e, "invalid \"header\" in \"match\" block");
    }
    if (!(h.name = rp_arena_strdup(p->a, name)))
        return rp__conf_oom(p, e);
    for (char *c = h.name; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c | 0x20);
    rp_match_header_t *slot = RP__PUSH(p->a, m->headers, m->nheaders);
    if (!slot)
        return rp__conf_oom(p, e);
    *slot = h;
    return RP_OK;
}

/* `match name { status ...; header ...; body ~ regex; }` */
static int set_match(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b, const rp__cdir_t *d)
{
    rp_conf_t *c = p->conf;
    for (size_t i = 0; i < c->nmatches; i++)
        if (strcmp(c->matches[i]->name, n->args[0]) == 0)
            return rp__conf_err(p, n, "duplicate match \"%s\"", n->args[0]);
    rp_match_t *m = rp_arena_calloc(p->a, sizeof(*m));
    rp_match_t **slot = RP__PUSH(p->a, c->matches, c->nmatches);
    if (!m || !slot || !(m->name = rp_arena_strdup(p->a, n->args[0])))
        return rp__conf_oom(p, n);
    *slot = m;
    m->file = n->file;
    m->line = n->line;
    for (size_t i = 0; i < n->nchildren; i++) {
        const rp_conf_node_t *e = &n->children[i];
        int rc;
        if (e->is_block)
            return rp__conf_err(p, e, "unexpected \"{\" in \"match\" block");
        if (strcmp(e->name, "status") == 0) {
            rc = match_status(p, e, m);
        } else if (strcmp(e->name, "header") == 0) {
            rc = match_header(p, e, m);
        } else if (strcmp(e->name, "body") == 0) {
            if (e->nargs != 2 || (strcmp(e->args[0], "~") != 0 && strcmp(e->args[0], "!~") != 0) ||
                m->body_op)
                return rp__conf_err(p, e, "invalid \"body\" in \"match\" block");
            m->body_op = e->args[0][0] == '!' ? RP_MATCH_NRE : RP_MATCH_RE;
            rc = (m->body_re = rp__conf_regex(p, e, e->args[1], 0)) ? RP_OK : RP_ERROR;
        } else {
            return rp__conf_err(p, e, "unknown directive \"%s\" in \"match\" block", e->name);
        }
        if (rc != RP_OK)
            return RP_ERROR;
    }
    return RP_OK;
}

/* match= names, and health checks written in locations, once every block
 * is known. */
static int resolve_health_checks(rp__cparse_t *p)
{
    rp_conf_t *c = p->conf;
    for (size_t i = 0; i < p->npasses; i++) {
        rp_location_t *loc = p->passes[i].loc;
        rp_health_check_t *hc = loc ? loc->conf.health_check : NULL;
        rp_upstream_t *u = p->passes[i].pass->upstream;
        if (!hc || !u)
            continue;
        if (u->hc && u->hc != hc) {
            if (u->hc->file && hc->file && strcmp(u->hc->file, hc->file) == 0 &&
                u->hc->line == hc->line)
                continue; /* the same directive, inherited */
            return rp__conf_err(p, NULL,
                                "upstream \"%s\" has a health check already (%s:%d), another in "
                                "%s:%d",
                                u->name, u->hc->file ? u->hc->file : "?", u->hc->line,
                                hc->file ? hc->file : "?", hc->line);
        }
        u->hc = hc;
    }
    for (size_t i = 0; i < c->nupstreams; i++) {
        rp_health_check_t *hc = c->upstreams[i]->hc;
        if (!hc || !hc->match_name || hc->match)
            continue;
        for (size_t j = 0; j < c->nmatches && !hc->match; j++)
            if (strcmp(c->matches[j]->name, hc->match_name) == 0)
                hc->match = c->matches[j];
        if (!hc->match)
            return rp__conf_err(p, NULL, "match \"%s\" not found in %s:%d", hc->match_name,
                                hc->file ? hc->file : "?", hc->line);
    }
    return RP_OK;
}

/* `sticky cookie name [expires=time|max] [domain=d] [path=p] [httponly]
 * [secure] [samesite=strict|lax|none]` */
static int set_sticky(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                      const rp__cdir_t *d)
{
    rp_upstream_t *u = b->ups;
    if (u->sticky)
        return rp__conf_dup(p, n);
    if (strcmp(n->args[0], "cookie") != 0)
        return rp__conf_err(p, n, "\"sticky %s\" is not supported yet (only \"sticky cookie\")",
                            n->args[0]);
    if (n->nargs < 2)
        return rp__conf_err(p, n, "invalid number of arguments in \"sticky\" directive");
    rp_sticky_t *st = rp_arena_calloc(p->a, sizeof(*st));
    if (!st || !(st->name = rp_arena_strdup(p->a, n->args[1])))
        return rp__conf_oom(p, n);
    for (const char *c = st->name; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *c))
            return rp__conf_err(p, n, "invalid cookie name \"%s\"", st->name);
    st->expires = -1;
    for (size_t i = 2; i < n->nargs; i++) {
        const char *o = n->args[i];
        int rc = RP_OK;
        char **str = NULL;
        const char *val = NULL;
        if (strncmp(o, "expires=", 8) == 0) {
            if (strcmp(o + 8, "max") == 0)
                st->expires = 315360000000LL; /* ten years */
            else
                rc = opt_time(o, 8, &st->expires);
        } else if (strncmp(o, "domain=", 7) == 0) {
            str = &st->domain;
            val = o + 7;
        } else if (strncmp(o, "path=", 5) == 0) {
            str = &st->path;
            val = o + 5;
        } else if (strncmp(o, "samesite=", 9) == 0) {
            str = &st->samesite;
            val = o + 9;
            if (strcasecmp(val, "strict") != 0 && strcasecmp(val, "lax") != 0 &&
                strcasecmp(val, "none") != 0)
                rc = RP_ERROR;
        } else if (strcmp(o, "httponly") == 0) {
            st->httponly = 1;
        } else if (strcmp(o, "secure") == 0) {
            st->secure = 1;
        } else {
            rc = RP_ERROR;
        }
        /* attribute values go into a Set-Cookie field: no ';', no controls */
        for (const char *c = val; c && *c && rc == RP_OK; c++)
            if ((unsigned char)*c < 0x21 || *c == ';' || *c == 0x7f)
                rc = RP_ERROR;
        if (rc == RP_OK && str && (!val[0] || !(*str = rp_arena_strdup(p->a, val))))
            rc = val[0] ? rp__conf_oom(p, n) : RP_ERROR;
        if (rc != RP_OK)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", o);
    }
    u->sticky = st;
    return RP_OK;
}

/* `state FILE`: the servers of the upstream live in FILE (written by the
 * runtime API on every change); `server` lines are not allowed with it. */
static int set_ups_state(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                         const rp__cdir_t *d)
{
    if (b->ups->state_file)
        return rp__conf_dup(p, n);
    if (!(b->ups->state_file = rp__conf_path(p, n->args[0])))
        return rp__conf_oom(p, n);
    b->ups->state_conf_file = n->file;
    b->ups->state_line = n->line;
    return RP_OK;
}

/* Reads the servers of a `state` file: `server ADDRESS [parameters];`
 * lines as in an upstream block (numeric addresses). A missing file is an
 * empty group. Errors name the state file and its line. */
static int read_state(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *ub)
{
    const char *path = ub->ups->state_file;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return RP_OK;
        return rp__conf_err(p, n, "cannot open state file \"%s\" (%d: %s)", path, errno,
                            strerror(errno));
    }
    char line[1024];
    int lineno = 0, rc = RP_OK;
    while (rc == RP_OK && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *semi = strrchr(line, ';');
        char *args[16];
        size_t na = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n;", &save); t && na < 16;
             t = strtok_r(NULL, " \t\r\n;", &save))
            args[na++] = t;
        if (!na)
            continue;
        /* a node that lives as long as the configuration: pending servers
         * keep a pointer to it until the http block ends */
        rp_conf_node_t *tmp = rp_arena_calloc(p->a, sizeof(*tmp));
        char **targs = rp_arena_calloc(p->a, na * sizeof(char *));
        if (!tmp || !targs) {
            rc = rp__conf_oom(p, n);
            break;
        }
        tmp->name = "server";
        tmp->file = path;
        tmp->line = lineno;
        tmp->args = targs;
        tmp->nargs = na - 1;
        for (size_t k = 1; k < na && rc == RP_OK; k++)
            if (!(targs[k - 1] = rp_arena_strdup(p->a, args[k])))
                rc = rp__conf_oom(p, n);
        if (rc != RP_OK)
            break;
        if (strcmp(args[0], "server") != 0 || na < 2 || !semi || na == 16)
            rc = rp__conf_err(p, tmp, "invalid line in state file");
        else
            rc = set_ups_server(p, tmp, ub, NULL);
    }
    fclose(f);
    return rc;
}

/* `resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off]`: used by
 * `server ... resolve` (in http or in the upstream; accepted and unused in
 * server and location). */
static int set_resolver(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d)
{
    rp_resolver_t *r = rp_arena_calloc(p->a, sizeof(*r));
    if (!r)
        return rp__conf_oom(p, n);
    r->ipv4 = 1;
    r->ipv6 = 1;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        int rc = RP_OK;
        if (strncmp(a, "valid=", 6) == 0) {
            rc = opt_time(a, 6, &r->valid);
        } else if (strcmp(a, "ipv4=on") == 0 || strcmp(a, "ipv4=off") == 0) {
            r->ipv4 = a[6] == 'n';
        } else if (strcmp(a, "ipv6=on") == 0 || strcmp(a, "ipv6=off") == 0) {
            r->ipv6 = a[6] == 'n';
        } else if (strncmp(a, "status_zone=", 12) == 0) {
            /* NGINX Plus statistics: accepted */
        } else {
            char buf[300];
            unsigned char t[16];
            int v6 = inet_pton(AF_INET6, a, t) == 1;
            snprintf(buf, sizeof(buf), v6 ? "[%s]:53" : strchr(a, ':') ? "%s" : "%s:53", a);
            if (r->naddrs == RP_ARRAY_LEN(r->addrs) ||
                rp_conf_parse_addr(buf, &r->addrs[r->naddrs]) != RP_OK)
                rc = RP_ERROR;
            else
                r->naddrs++;
        }
        if (rc != RP_OK)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", a);
    }
    if (!r->naddrs)
        return rp__conf_err(p, n, "no name servers defined");
    if (!r->ipv4 && !r->ipv6)
        return rp__conf_err(p, n, "\"ipv4\" and \"ipv6\" cannot both be \"off\"");
    if (b->ctx == RP__CTX_UPS) {
        if (b->ups->resolver)
            return rp__conf_dup(p, n);
        b->ups->resolver = r;
    } else if (b->ctx == RP__CTX_HTTP) {
        if (p->conf->resolver)
            return rp__conf_dup(p, n);
        p->conf->resolver = r;
    }
    return RP_OK;
}

static int set_resolver_timeout(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                                const rp__cdir_t *d)
{
    int64_t v;
    if (rp__conf_parse_msec(n->args[0], &v) != RP_OK || v < 1)
        return rp__conf_err(p, n, "invalid value \"%s\" in \"%s\" directive", n->args[0], n->name);
    if (b->ctx == RP__CTX_UPS)
        b->ups->resolver_timeout = v;
    else if (b->ctx == RP__CTX_HTTP)
        p->conf->resolver_timeout = v;
    return RP_OK;
}

/* One balancing method per upstream. */
static int set_method(rp__cparse_t *p, const rp_conf_node_t *n, rp_upstream_t *u, int m)
{
    if (u->balance != RP_BALANCE_RR)
        return rp__conf_err(p, n, "load balancing method redefined");
    u->balance = m;
    return RP_OK;
}

static int set_ups_method(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                          const rp__cdir_t *d)
{
    rp_upstream_t *u = b->ups;
    const char *nm = n->name;
    if (strcmp(nm, "least_conn") == 0 || strcmp(nm, "ip_hash") == 0)
        return set_method(p, n, u, nm[0] == 'l' ? RP_BALANCE_LEAST_CONN : RP_BALANCE_IP_HASH);
    if (strcmp(nm, "hash") == 0) {
        if (n->nargs == 2 && strcmp(n->args[1], "consistent") != 0)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[1]);
        if (set_method(p, n, u, RP_BALANCE_HASH) != RP_OK)
            return RP_ERROR;
        u->hash_consistent = n->nargs == 2;
        u->hash_key = rp__conf_tpl(p, n, n->args[0]);
        return u->hash_key ? RP_OK : RP_ERROR;
    }
    if (strcmp(nm, "least_time") == 0) {
        if (strcmp(n->args[0], "header") != 0 && strcmp(n->args[0], "last_byte") != 0)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[0]);
        if (n->nargs == 2 && strcmp(n->args[1], "inflight") != 0)
            return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[1]);
        if (set_method(p, n, u, RP_BALANCE_LEAST_TIME) != RP_OK)
            return RP_ERROR;
        u->lt_mode = n->args[0][0] == 'h' ? RP_LT_HEADER : RP_LT_LAST_BYTE;
        u->lt_inflight = n->nargs == 2;
        return RP_OK;
    }
    /* random [two [least_conn|least_time=header|least_time=last_byte]] */
    if (n->nargs >= 1 && strcmp(n->args[0], "two") != 0)
        return rp__conf_err(p, n, "invalid parameter \"%s\"", n->args[0]);
    if (set_method(p, n, u, RP_BALANCE_RANDOM) != RP_OK)
        return RP_ERROR;
    u->random_two = n->nargs >= 1;
    u->two_method = RP_BALANCE_LEAST_CONN;
    if (n->nargs == 2) {
        const char *m = n->args[1];
        if (strcmp(m, "least_conn") == 0) {
            u->two_method = RP_BALANCE_LEAST_CONN;
        } else if (strcmp(m, "least_time=header") == 0 || strcmp(m, "least_time=last_byte") == 0) {
            u->two_method = RP_BALANCE_LEAST_TIME;
            u->lt_mode = m[11] == 'h' ? RP_LT_HEADER : RP_LT_LAST_BYTE;
        } else {
            return rp__conf_err(p, n, "invalid parameter \"%s\"", m);
        }
    }
    return RP_OK;
}

/* `zone name [size]`: accepted; rampart's workers are threads of one
 * process, so every upstream's state is shared already. */
static int set_ups_zone(rp__cparse_t *p, const rp_conf_node_t *n, rp__cblock_t *b,
                        const rp__cdir_t *d)
{
    int64_t v;
    if (n->nargs == 2 && (rp__conf_parse_size(n->args[1], &v) != RP_OK || v < 1))
        return rp__conf_err(p, n, "invalid zone size \"%s\"", n->args[1]);
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
static int add_servers(rp__cparse_t *p, rp_upstream_t *u, const char *host, int port,
                       const rp_upstream_server_t *tmpl, const char *written,
                       const rp_conf_node_t *n)
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
        *s = *tmpl;
        s->name = name;
        rp__conf_sa_fill(&s->addr, ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    return rc;
}

int rp__conf_resolve_pending(rp__cparse_t *p)
{
    for (size_t i = 0; i < p->nusrvs; i++) {
        rp__cpending_srv_t *ps = &p->usrvs[i];
        rp_upstream_t *u = ps->ups;
        unsigned char tmp[16];
        int numeric =
            inet_pton(AF_INET, ps->host, tmp) == 1 || inet_pton(AF_INET6, ps->host, tmp) == 1;
        if (ps->resolve && !numeric) {
            /* re-resolved while running: what resolves now is a start, a
             * name that does not resolve yet is no error */
            rp_resolve_name_t *rn = RP__PUSH(p->a, u->rnames, u->nrnames);
            if (!rn || !(rn->host = rp_arena_strdup(p->a, ps->host)) ||
                !(rn->written = rp_arena_strdup(p->a, ps->node->args[0])))
                return rp__conf_oom(p, ps->node);
            rn->port = ps->port;
            rn->tmpl = ps->tmpl;
            if (!u->resolver && !p->conf->resolver)
                return rp__conf_err(p, ps->node, "no resolver defined to resolve %s", ps->host);
            char saved = p->err[0];
            if (add_servers(p, u, ps->host, ps->port, &ps->tmpl, ps->node->args[0], ps->node) !=
                RP_OK)
                p->err[0] = saved; /* forget the error */
            continue;
        }
        if (add_servers(p, u, ps->host, ps->port, &ps->tmpl, ps->node->args[0], ps->node) != RP_OK)
            return RP_ERROR;
    }
    for (size_t i = 0; i < p->conf->nupstreams; i++) {
        rp_upstream_t *u = p->conf->upstreams[i];
        if (u->nservers > RP_MAX_UPSTREAM_SERVERS)
            return rp__conf_err(p, NULL, "more than %d servers in upstream \"%s\" in %s:%d",
                                RP_MAX_UPSTREAM_SERVERS, u->name, u->file ? u->file : "?", u->line);
        /* every slot up front: servers added at runtime never move the
         * others (requests in flight point at them) */
        rp_upstream_server_t *all = rp_arena_calloc(p->a, RP_MAX_UPSTREAM_SERVERS * sizeof(*all));
        if (!all)
            return rp__conf_oom(p, NULL);
        if (u->nservers)
            memcpy(all, u->servers, u->nservers * sizeof(*all));
        u->servers = all;
        u->cap_servers = RP_MAX_UPSTREAM_SERVERS;
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
            rp_upstream_server_t t = { .weight = 1, .max_fails = 1, .fail_timeout = 10000 };
            if (add_servers(p, u, h, port, &t, written, n) != RP_OK)
                return RP_ERROR;
        }
        pend->pass->upstream = u;
    }
    return resolve_health_checks(p);
}

#define UPS(f) RP__BASE_UPS, offsetof(rp_upstream_t, f)

const rp__cdir_t rp__conf_upstream_dirs[] = {
    { "upstream", RP__CTX_HTTP, RP__TAKE1 | RP__BLOCK, rp__conf_upstream_block, 0, 0 },
    { "server", RP__CTX_UPS, RP__1MORE, set_ups_server, 0, 0 },
    { "keepalive", RP__CTX_UPS, RP__TAKE1, set_ups_keepalive, 0, 0 },
    { "keepalive_timeout", RP__CTX_UPS, RP__TAKE1, rp__conf_set_msec, UPS(keepalive_timeout) },
    { "keepalive_requests", RP__CTX_UPS, RP__TAKE1, rp__conf_set_num, UPS(keepalive_requests) },
    { "least_conn", RP__CTX_UPS, RP__NOARGS, set_ups_method, 0, 0 },
    { "ip_hash", RP__CTX_UPS, RP__NOARGS, set_ups_method, 0, 0 },
    { "hash", RP__CTX_UPS, RP__TAKE12, set_ups_method, 0, 0 },
    { "random", RP__CTX_UPS, RP__NOARGS | RP__TAKE12, set_ups_method, 0, 0 },
    { "least_time", RP__CTX_UPS, RP__TAKE12, set_ups_method, 0, 0 },
    { "zone", RP__CTX_UPS, RP__TAKE12, set_ups_zone, 0, 0 },
    { "health_check", RP__CTX_UPS | RP__CTX_LOC, RP__NOARGS | RP__1MORE, set_health_check, 0, 0 },
    { "match", RP__CTX_HTTP, RP__TAKE1 | RP__BLOCK, set_match, 0, 0 },
    { "sticky", RP__CTX_UPS, RP__1MORE, set_sticky, 0, 0 },
    { "state", RP__CTX_UPS, RP__TAKE1, set_ups_state, 0, 0 },
    { "resolver", RP__CTX_HSL | RP__CTX_UPS, RP__1MORE, set_resolver, 0, 0 },
    { "resolver_timeout", RP__CTX_HSL | RP__CTX_UPS, RP__TAKE1, set_resolver_timeout, 0, 0 },
    { NULL, 0, 0, NULL, 0, 0 },
};

int rp_conf_parse_addr(const char *text, rp_sockaddr_t *out)
{
    char host[256];
    int port;
    if (rp__conf_split_hostport(text, host, sizeof(host), &port) != RP_OK || !host[0] || port < 1 ||
        port > 65535)
        return RP_ERROR;
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return RP_ERROR;
    rp__conf_sa_fill(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return RP_OK;
}
