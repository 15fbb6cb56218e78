/* The runtime API (`api [write=on]` in a location): upstreams and their
 * servers as JSON, and changes to a server's weight, limits and state with
 * no reload (docs/api.md).
 *
 * Paths are taken from the first "/upstreams" in the request path, so the
 * location may be any prefix: GET .../upstreams, .../upstreams/NAME,
 * .../upstreams/NAME/servers, .../upstreams/NAME/servers/ID; PATCH
 * .../upstreams/NAME/servers/ID with a JSON object. A change is validated
 * whole before anything is applied: a bad body changes nothing.
 *
 * The state changed is the shared per-server state of the running
 * generation (atomics, as the balancers read it): every worker sees it at
 * once. A reload starts from the configuration again.
 */
#include "core/common.h"
#include "core/log.h"
#include "proxy/api_json.h"
#include "proxy/forward_int.h"

#include <arpa/inet.h>
#include <stdarg.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

/* A growing output buffer in the request's arena. */
typedef struct {
    rp_req_t *r;
    char *p;
    size_t len, cap;
    int oom;
} jout_t;

static void jadd(jout_t *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *d = rp_arena_alloc(&o->r->arena, cap);
        if (!d) {
            o->oom = 1;
            return;
        }
        if (o->len)
            memcpy(d, o->p, o->len);
        o->p = d;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void jlit(jout_t *o, const char *s)
{
    jadd(o, s, strlen(s));
}

static void jfmt(jout_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jfmt(jout_t *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        jadd(o, buf, RP_MIN((size_t)n, sizeof(buf) - 1));
}

/* A JSON string (names come from the configuration: escape anyway). */
static void jstr(jout_t *o, const char *s)
{
    jlit(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jfmt(o, "\\%c", c);
        else if (c < 0x20)
            jfmt(o, "\\u%04x", c);
        else
            jadd(o, (const char *)&c, 1);
    }
    jlit(o, "\"");
}

static const char *method_name(const rp_upstream_t *us)
{
    static const char *const names[] = { "round_robin", "least_conn", "ip_hash",
                                         "hash",        "random",     "least_time" };
    return us->balance >= 0 && us->balance < (int)RP_ARRAY_LEN(names) ? names[us->balance] : "?";
}

static const char *server_state(const rp_upstream_t *us, const rp_upstream_server_t *s,
                                uint64_t now)
{
    if (RP_LD(s->down))
        return "down";
    if (RP_LD(s->drain))
        return "draining";
    if (us->hc && RP_LD(s->health) == RP_HEALTH_CHECKING)
        return "checking";
    if (us->hc && RP_LD(s->health) == RP_HEALTH_DOWN)
        return "unhealthy";
    if (s->max_fails && us->nservers > 1 && RP_LD(s->down_until_ms) > now)
        return "unavailable";
    return "up";
}

static void server_json(jout_t *o, const rp_upstream_t *us, size_t i, uint64_t now)
{
    const rp_upstream_server_t *s = &us->servers[i];
    int active = RP_LD(s->conns);
    jfmt(o, "{\"id\":%zu,\"server\":", i);
    jstr(o, s->addr.text);
    jlit(o, ",\"name\":");
    jstr(o, s->name ? s->name : s->addr.text);
    jfmt(o,
         ",\"weight\":%d,\"max_conns\":%d,\"max_fails\":%d,\"fail_timeout_ms\":%" PRId64
         ",\"slow_start_ms\":%" PRId64 ",\"backup\":%s,\"down\":%s,\"drain\":%s,\"state\":\"%s\""
         ",\"idle\":%s,\"active\":%d,\"requests\":%" PRIu64 ",\"fails\":%d"
         ",\"header_time_ms\":%.3f,\"response_time_ms\":%.3f",
         RP_LD(s->weight), RP_LD(s->max_conns), RP_LD(s->max_fails), s->fail_timeout, s->slow_start,
         RP_LD(s->backup) ? "true" : "false", RP_LD(s->down) ? "true" : "false",
         RP_LD(s->drain) ? "true" : "false", server_state(us, s, now),
         active == 0 ? "true" : "false", active, RP_LD(s->requests), RP_LD(s->fails),
         (double)RP_LD(s->ema_header_us) / 1000.0, (double)RP_LD(s->ema_last_byte_us) / 1000.0);
    if (us->hc) {
        int h = RP_LD(s->health);
        uint64_t checks = RP_LD(s->hc_checks);
        jfmt(o,
             ",\"health_checks\":{\"checks\":%" PRIu64 ",\"fails\":%" PRIu64
             ",\"healthy\":%s,\"last_status\":%d,\"history\":[",
             checks, RP_LD(s->hc_bad), h == RP_HEALTH_UP ? "true" : "false",
             RP_LD(s->hc_last_status));
        /* the last probes, newest first */
        size_t nh = RP_ARRAY_LEN(s->hc_hist);
        for (size_t k = 0; k < nh && k < checks; k++) {
            size_t slot = (size_t)((checks - 1 - k) % nh);
            jfmt(o, "%s{\"time_ms\":%" PRIu64 ",\"status\":%d,\"passed\":%s}", k ? "," : "",
                 RP_LD(s->hc_hist[slot].at_ms), RP_LD(s->hc_hist[slot].status),
                 RP_LD(s->hc_hist[slot].passed) ? "true" : "false");
        }
        jlit(o, "]}");
    }
    jlit(o, "}");
}

static void servers_json(jout_t *o, const rp_upstream_t *us, uint64_t now)
{
    jlit(o, "[");
    size_t n = __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (RP_LD(us->servers[i].removed))
            continue;
        if (!first)
            jlit(o, ",");
        first = 0;
        server_json(o, us, i, now);
    }
    jlit(o, "]");
}

static void upstream_json(jout_t *o, const rp_upstream_t *us, uint64_t now)
{
    jlit(o, "{\"name\":");
    jstr(o, us->name);
    jfmt(o, ",\"method\":\"%s\",\"keepalive\":%d,\"health_check\":%s,\"servers\":", method_name(us),
         us->keepalive, us->hc ? "true" : "false");
    servers_json(o, us, now);
    jlit(o, "}");
}

static void reply(rp_req_t *r, int status, jout_t *o)
{
    if (o->oom) {
        rp_req_error(r, 500);
        return;
    }
    jlit(o, "\n");
    static const char ct[] = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
    if (rp_req_write_head(r, status, ct, sizeof(ct) - 1, RP_OUT_LENGTH, o->len) != RP_OK ||
        (!r->head_only && rp__out_add(r, o->p, o->len) != RP_OK)) {
        rp_conn_close(r->c);
        return;
    }
    if (!r->head_only)
        r->body_sent = o->len;
    r->phase = RP_PHASE_HANDLE;
}

static void error_reply(rp_req_t *r, int status, const char *code, const char *text)
{
    jout_t o = { .r = r };
    jfmt(&o, "{\"error\":{\"status\":%d,\"code\":\"%s\",\"text\":", status, code);
    jstr(&o, text);
    jlit(&o, "}}");
    reply(r, status, &o);
}

static rp_upstream_t *find_upstream(rp_req_t *r, rp_str_t name)
{
    for (size_t i = 0; i < r->conf->nupstreams; i++) {
        rp_upstream_t *us = r->conf->upstreams[i];
        if (!us->implicit && strlen(us->name) == name.len &&
            memcmp(us->name, name.data, name.len) == 0)
            return us;
    }
    return NULL;
}

/* Splits the path after "/upstreams" into at most 3 segments. Returns the
 * number, or -1 when the path has no "/upstreams". */
static int split(rp_str_t path, rp_str_t seg[3])
{
    const char *p = memmem(path.data, path.len, "/upstreams", 10);
    if (!p)
        return -1;
    const char *e = path.data + path.len;
    p += 10;
    if (p < e && *p != '/')
        return -1;
    int n = 0;
    while (p < e) {
        while (p < e && *p == '/')
            p++;
        if (p == e)
            break;
        const char *q = memchr(p, '/', (size_t)(e - p));
        if (!q)
            q = e;
        if (n == 3)
            return 4;
        seg[n++] = rp_str(p, (size_t)(q - p));
        p = q;
    }
    return n;
}

static int parse_id(rp_str_t s, size_t *out)
{
    if (!s.len || s.len > 6 || (s.len > 1 && s.data[0] == '0'))
        return RP_ERROR;
    size_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9')
            return RP_ERROR;
        v = v * 10 + (size_t)(s.data[i] - '0');
    }
    *out = v;
    return RP_OK;
}

/* Changes are made one at a time (they may come from several workers and
 * from the resolver in worker 0). */
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

void rp_upstream_lock(void)
{
    pthread_mutex_lock(&api_lock);
}

void rp_upstream_unlock(void)
{
    pthread_mutex_unlock(&api_lock);
}

/* `state FILE`: the upstream's servers as `server` lines, written to a
 * temporary file and renamed over the old one. */
static void write_state(const rp_upstream_t *us)
{
    if (!us->state_file)
        return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", us->state_file);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rp_log_error(RP_LOG_ERR, "api: cannot write state file \"%s\" (%d: %s)", tmp, errno,
                     strerror(errno));
        return;
    }
    size_t n = __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++) {
        const rp_upstream_server_t *s = &us->servers[i];
        if (RP_LD(s->removed))
            continue;
        fprintf(f, "server %s weight=%d max_conns=%d max_fails=%d fail_timeout=%" PRId64 "ms",
                s->addr.text, RP_LD(s->weight), RP_LD(s->max_conns), RP_LD(s->max_fails),
                s->fail_timeout);
        if (s->slow_start)
            fprintf(f, " slow_start=%" PRId64 "ms", s->slow_start);
        fprintf(f, "%s%s%s;\n", RP_LD(s->backup) ? " backup" : "", RP_LD(s->down) ? " down" : "",
                RP_LD(s->drain) ? " drain" : "");
    }
    if (fclose(f) != 0 || rename(tmp, us->state_file) != 0) {
        rp_log_error(RP_LOG_ERR, "api: cannot write state file \"%s\" (%d: %s)", us->state_file,
                     errno, strerror(errno));
        unlink(tmp);
    }
}

static int backup_allowed(const rp_upstream_t *us)
{
    return us->balance != RP_BALANCE_HASH && us->balance != RP_BALANCE_IP_HASH &&
           us->balance != RP_BALANCE_RANDOM;
}

/* Applies the members of ch other than server (validated already). */
static void apply(rp_upstream_t *us, rp_upstream_server_t *s, const rp_api_change_t *ch)
{
    if (ch->has_weight)
        RP_ST(s->weight, ch->weight);
    if (ch->has_max_conns)
        RP_ST(s->max_conns, ch->max_conns);
    if (ch->has_max_fails)
        RP_ST(s->max_fails, ch->max_fails);
    if (ch->has_backup) {
        RP_ST(s->backup, ch->backup);
        if (ch->backup)
            RP_ST(us->has_backup, 1);
    }
    if (ch->has_down)
        RP_ST(s->down, ch->down);
    if (ch->has_drain)
        RP_ST(s->drain, ch->drain);
}

/* The request body, whole in memory (API bodies are small). */
static int body_of(rp_req_t *r, rp_api_change_t *ch, char *why, size_t whylen)
{
    if (r->body_fd > 0 || r->body_received > r->body_mem.last) {
        snprintf(why, whylen, "request body too large");
        return 413;
    }
    if (rp_api_parse_change(r->body_mem.data ? r->body_mem.data : "", (size_t)r->body_received, ch,
                            why, whylen) != RP_OK)
        return 400;
    return 0;
}

/* POST .../upstreams/NAME/servers {"server": "addr:port", ...} */
static void add_server(rp_req_t *r, rp_upstream_t *us)
{
    rp_api_change_t ch;
    char why[128];
    int st = body_of(r, &ch, why, sizeof(why));
    if (st) {
        error_reply(r, st, st == 413 ? "BodyTooLarge" : "BadRequest", why);
        return;
    }
    rp_sockaddr_t addr;
    if (!ch.has_server || rp_conf_parse_addr(ch.server, &addr) != RP_OK) {
        error_reply(r, 400, "BadRequest",
                    "\"server\" must be a numeric address with a port (\"10.0.0.1:8080\")");
        return;
    }
    if (ch.has_backup && ch.backup && !backup_allowed(us)) {
        error_reply(r, 400, "BadRequest", "backup is not supported by this balancing method");
        return;
    }
    pthread_mutex_lock(&api_lock);
    size_t n = us->nservers;
    for (size_t i = 0; i < n; i++) {
        if (!RP_LD(us->servers[i].removed) && strcmp(us->servers[i].addr.text, addr.text) == 0) {
            pthread_mutex_unlock(&api_lock);
            error_reply(r, 409, "UpstreamServerExists", "the server is in the upstream already");
            return;
        }
    }
    rp_upstream_server_t t = { .weight = 1, .max_fails = 1, .fail_timeout = 10000 };
    apply(us, &t, &ch);
    rp_upstream_server_t *s = rp_upstream_add_server(us, &t, &addr, NULL);
    if (!s) {
        pthread_mutex_unlock(&api_lock);
        error_reply(r, 400, "TooManyServers", "the upstream has no room for another server");
        return;
    }
    if (us->ring)
        rp_balance_ring(us, &r->conf->arena);
    write_state(us);
    pthread_mutex_unlock(&api_lock);
    if (us->hc)
        rp_health_notify();
    rp_log_error(RP_LOG_NOTICE, "api: server %s added to upstream \"%s\" by %s", addr.text,
                 us->name, r->c->peer_addr);
    jout_t o = { .r = r };
    server_json(&o, us, n, r->c->w->loop.now);
    reply(r, 201, &o);
}

/* DELETE .../upstreams/NAME/servers/ID: the server gets no new request;
 * requests in flight finish. Its id is not reused. */
static void remove_server(rp_req_t *r, rp_upstream_t *us, size_t id)
{
    pthread_mutex_lock(&api_lock);
    rp_upstream_server_t *s = &us->servers[id];
    RP_ST(s->removed, 1);
    if (us->ring)
        rp_balance_ring(us, &r->conf->arena);
    write_state(us);
    pthread_mutex_unlock(&api_lock);
    rp_log_error(RP_LOG_NOTICE, "api: server %s removed from upstream \"%s\" by %s", s->addr.text,
                 us->name, r->c->peer_addr);
    jout_t o = { .r = r };
    servers_json(&o, us, r->c->w->loop.now);
    reply(r, 200, &o);
}

static void patch_server(rp_req_t *r, rp_upstream_t *us, size_t id)
{
    rp_api_change_t ch;
    char why[128];
    int st = body_of(r, &ch, why, sizeof(why));
    if (st) {
        error_reply(r, st, st == 413 ? "BodyTooLarge" : "BadRequest", why);
        return;
    }
    rp_upstream_server_t *s = &us->servers[id];
    if (ch.has_server) {
        error_reply(r, 400, "BadRequest", "the address of a server cannot change");
        return;
    }
    if (ch.has_backup && ch.backup && !backup_allowed(us)) {
        error_reply(r, 400, "BadRequest", "backup is not supported by this balancing method");
        return;
    }
    /* everything validated: apply */
    pthread_mutex_lock(&api_lock);
    apply(us, s, &ch);
    if (ch.has_weight && us->ring)
        rp_balance_ring(us, &r->conf->arena);
    write_state(us);
    pthread_mutex_unlock(&api_lock);
    rp_log_error(RP_LOG_NOTICE, "api: server %s of upstream \"%s\" changed by %s", s->addr.text,
                 us->name, r->c->peer_addr);
    jout_t o = { .r = r };
    server_json(&o, us, id, r->c->w->loop.now);
    reply(r, 200, &o);
}

void rp_api_handle(rp_req_t *r)
{
    int m = r->h.method_id;
    int get = m == RP_METHOD_GET || m == RP_METHOD_HEAD;
    int patch = m == RP_METHOD_PATCH, post = m == RP_METHOD_POST, del = m == RP_METHOD_DELETE;
    if (!get && !patch && !post && !del) {
        error_reply(r, 405, "MethodNotAllowed", "method not allowed");
        return;
    }
    if (!get && r->lc->api != 2) {
        error_reply(r, 405, "MethodDisabled", "write access is off (api write=on)");
        return;
    }
    if ((patch || post) && !r->body_done) {
        /* read the (small) body whole first, then come back */
        rp__api_read_body(r);
        return;
    }
    rp_str_t seg[3];
    int n = split(r->path, seg);
    uint64_t now = r->c->w->loop.now;
    jout_t o = { .r = r };
    if (n < 0) {
        if (!get) {
            error_reply(r, 405, "MethodNotAllowed", "method not allowed");
            return;
        }
        jlit(&o, "[\"upstreams\"]");
        reply(r, 200, &o);
        return;
    }
    if (n == 0) {
        if (!get) {
            error_reply(r, 405, "MethodNotAllowed", "method not allowed");
            return;
        }
        jlit(&o, "{");
        int first = 1;
        for (size_t i = 0; i < r->conf->nupstreams; i++) {
            const rp_upstream_t *us = r->conf->upstreams[i];
            if (us->implicit)
                continue;
            if (!first)
                jlit(&o, ",");
            first = 0;
            jstr(&o, us->name);
            jlit(&o, ":");
            upstream_json(&o, us, now);
        }
        jlit(&o, "}");
        reply(r, 200, &o);
        return;
    }
    rp_upstream_t *us = find_upstream(r, seg[0]);
    if (!us) {
        error_reply(r, 404, "UpstreamNotFound", "upstream not found");
        return;
    }
    if (n == 2 && rp_str_eq(seg[1], RP_STR("servers")) && post) {
        add_server(r, us);
        return;
    }
    if (n == 1 || (n == 2 && rp_str_eq(seg[1], RP_STR("servers")))) {
        if (!get) {
            error_reply(r, 405, "MethodNotAllowed", "method not allowed");
            return;
        }
        if (n == 1)
            upstream_json(&o, us, now);
        else
            servers_json(&o, us, now);
        reply(r, 200, &o);
        return;
    }
    size_t id;
    if (n != 3 || !rp_str_eq(seg[1], RP_STR("servers")) || parse_id(seg[2], &id) != RP_OK) {
        error_reply(r, 404, "NotFound", "no such endpoint");
        return;
    }
    if (id >= __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE) || RP_LD(us->servers[id].removed)) {
        error_reply(r, 404, "UpstreamServerNotFound", "server not found");
        return;
    }
    if (patch) {
        patch_server(r, us, id);
        return;
    }
    if (del) {
        remove_server(r, us, id);
        return;
    }
    if (post) {
        error_reply(r, 405, "MethodNotAllowed", "method not allowed");
        return;
    }
    server_json(&o, us, id, now);
    reply(r, 200, &o);
}

/* allow / deny: the first rule that matches the client address decides;
 * no rule matching allows. */
int rp_access_allowed(const rp_req_t *r)
{
    const rp_loc_conf_t *lc = r->lc;
    if (!lc->naccess)
        return 1;
    unsigned char a[16];
    int fam = 0;
    const char *peer = r->c->peer_addr;
    if (inet_pton(AF_INET, peer, a) == 1)
        fam = AF_INET;
    else if (inet_pton(AF_INET6, peer, a) == 1)
        fam = AF_INET6;
    for (size_t i = 0; i < lc->naccess; i++) {
        const rp_access_rule_t *ru = &lc->access[i];
        if (ru->family) {
            if (ru->family != fam)
                continue;
            int n = fam == AF_INET ? 4 : 16, hit = 1;
            for (int k = 0; k < n && hit; k++)
                if ((a[k] & ru->mask[k]) != ru->addr[k])
                    hit = 0;
            if (!hit)
                continue;
        }
        return !ru->deny;
    }
    return 1;
}
