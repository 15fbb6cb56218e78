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

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

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
    if (LD(s->down))
        return "down";
    if (LD(s->drain))
        return "draining";
    if (us->hc && LD(s->health) == RP_HEALTH_CHECKING)
        return "checking";
    if (us->hc && LD(s->health) == RP_HEALTH_DOWN)
        return "unhealthy";
    if (s->max_fails && us->nservers > 1 && LD(s->down_until_ms) > now)
        return "unavailable";
    return "up";
}

static void server_json(jout_t *o, const rp_upstream_t *us, size_t i, uint64_t now)
{
    const rp_upstream_server_t *s = &us->servers[i];
    int active = LD(s->conns);
    jfmt(o, "{\"id\":%zu,\"server\":", i);
    jstr(o, s->addr.text);
    jlit(o, ",\"name\":");
    jstr(o, s->name);
    jfmt(o,
         ",\"weight\":%d,\"max_conns\":%d,\"max_fails\":%d,\"fail_timeout_ms\":%" PRId64
         ",\"slow_start_ms\":%" PRId64 ",\"backup\":%s,\"down\":%s,\"drain\":%s,\"state\":\"%s\""
         ",\"idle\":%s,\"active\":%d,\"requests\":%" PRIu64 ",\"fails\":%d"
         ",\"header_time_ms\":%.3f,\"response_time_ms\":%.3f",
         LD(s->weight), LD(s->max_conns), s->max_fails, s->fail_timeout, s->slow_start,
         LD(s->backup) ? "true" : "false", LD(s->down) ? "true" : "false",
         LD(s->drain) ? "true" : "false", server_state(us, s, now), active == 0 ? "true" : "false",
         active, LD(s->requests), LD(s->fails), (double)LD(s->ema_header_us) / 1000.0,
         (double)LD(s->ema_last_byte_us) / 1000.0);
    if (us->hc) {
        int h = LD(s->health);
        jfmt(o,
             ",\"health_checks\":{\"checks\":%" PRIu64 ",\"fails\":%" PRIu64
             ",\"healthy\":%s,\"last_status\":%d}",
             LD(s->hc_checks), LD(s->hc_bad), h == RP_HEALTH_UP ? "true" : "false",
             LD(s->hc_last_status));
    }
    jlit(o, "}");
}

static void servers_json(jout_t *o, const rp_upstream_t *us, uint64_t now)
{
    jlit(o, "[");
    for (size_t i = 0; i < us->nservers; i++) {
        if (i)
            jlit(o, ",");
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
    if (!s.len || s.len > 6)
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

/* PATCH: the body is whole in r->body_mem (at most client_body_buffer_size
 * bytes; a larger body is refused). */
static void patch_server(rp_req_t *r, rp_upstream_t *us, size_t id)
{
    if (r->body_fd > 0 || r->body_received > r->body_mem.last) {
        error_reply(r, 413, "BodyTooLarge", "request body too large");
        return;
    }
    rp_api_change_t ch;
    char why[128];
    if (rp_api_parse_change(r->body_mem.data ? r->body_mem.data : "", (size_t)r->body_received, &ch,
                            why, sizeof(why)) != RP_OK) {
        error_reply(r, 400, "BadRequest", why);
        return;
    }
    rp_upstream_server_t *s = &us->servers[id];
    if (ch.has_backup && ch.backup &&
        (us->balance == RP_BALANCE_HASH || us->balance == RP_BALANCE_IP_HASH ||
         us->balance == RP_BALANCE_RANDOM)) {
        error_reply(r, 400, "BadRequest", "backup is not supported by this balancing method");
        return;
    }
    /* everything validated: apply */
    if (ch.has_weight)
        ST(s->weight, ch.weight);
    if (ch.has_max_conns)
        ST(s->max_conns, ch.max_conns);
    if (ch.has_backup) {
        ST(s->backup, ch.backup);
        if (ch.backup)
            ST(us->has_backup, 1);
    }
    if (ch.has_down)
        ST(s->down, ch.down);
    if (ch.has_drain)
        ST(s->drain, ch.drain);
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
    int patch = m == RP_METHOD_PATCH;
    if (!get && !patch) {
        error_reply(r, 405, "MethodNotAllowed", "method not allowed");
        return;
    }
    if (patch && r->lc->api != 2) {
        error_reply(r, 405, "MethodDisabled", "write access is off (api write=on)");
        return;
    }
    if (patch && !r->body_done) {
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
    if (id >= us->nservers) {
        error_reply(r, 404, "UpstreamServerNotFound", "server not found");
        return;
    }
    if (patch) {
        patch_server(r, us, id);
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
