/* Choosing a backend server: the balancing methods of `upstream`, and the
 * per-server state they read (requests in flight, passive failures,
 * response-time averages, slow-start ramps).
 *
 * Each method is one entry of a small table (STYLE.md point 10) with one
 * function: given the request (which servers it already tried) and the
 * time, return the index of a usable server or -1. The state lives in the
 * rp_upstream_server_t of the generation and is shared by every worker
 * thread: counters are updated with atomics, the smooth weighted round
 * robin sequence under the upstream's spin lock. Reads are racy by design
 * (a count one request old changes no decision that matters).
 */
#include "core/common.h"
#include "core/log.h"
#include "proxy/session.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define RP_CPU_RELAX() __builtin_ia32_pause()
#else
#define RP_CPU_RELAX() ((void)0)
#endif

/* consistent hash: points on the ring per unit of weight */
#define RING_POINTS 160
/* hash, ip_hash: other servers tried by rehashing before round robin */
#define REHASH_TRIES 20

typedef struct {
    rp_upstream_t *us;
    rp_req_t *r;
    uint64_t now;
    int backup; /* choosing among the backup servers */
} pick_t;

/* ------------------------------------------------------------- helpers */

uint32_t rp_hash32(const void *p, size_t n, uint32_t seed)
{
    /* FNV-1a, then murmur3's finaliser for avalanche */
    const unsigned char *b = p;
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static uint64_t rand64(void)
{
    static __thread uint64_t x;
    if (!x)
        x = rp_random64() | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* Servers in use: the runtime API may add one at any time (the slot is
 * filled first, then the count published). */
static size_t nserv(const rp_upstream_t *us)
{
    return __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE);
}

static int tried(const rp_req_t *r, size_t i)
{
    return i >= RP_MAX_UPSTREAM_SERVERS || ((r->tried[i / 8] >> (i % 8)) & 1);
}

/* Usable for a new request: not marked down or draining, not taken out by
 * failures, below max_conns. A lone server is never taken out by failures
 * (there would be nothing else to try). */
static int usable(const rp_upstream_t *us, const rp_upstream_server_t *s, uint64_t now)
{
    if (RP_LD(s->down) || RP_LD(s->drain) || RP_LD(s->removed))
        return 0;
    if (us->hc && RP_LD(s->health) != RP_HEALTH_UP)
        return 0;
    if (RP_LD(s->max_fails) && nserv(us) > 1 && RP_LD(s->down_until_ms) > now)
        return 0;
    int mc = RP_LD(s->max_conns);
    if (mc && RP_LD(s->conns) >= mc)
        return 0;
    return 1;
}

static int candidate(const pick_t *pk, size_t i)
{
    const rp_upstream_server_t *s = &pk->us->servers[i];
    return RP_LD(s->backup) == pk->backup && !tried(pk->r, i) && usable(pk->us, s, pk->now);
}

/* The weight with the slow_start ramp: from 1 up to the configured weight
 * over slow_start after the server came back. */
static int64_t eff_weight(const rp_upstream_server_t *s, uint64_t now)
{
    int64_t w = RP_LD(s->weight);
    if (s->slow_start) {
        uint64_t since = RP_LD(s->up_since_ms);
        if (since && now < since + (uint64_t)s->slow_start) {
            w = w * (int64_t)(now - since) / s->slow_start;
            if (w < 1)
                w = 1;
        }
    }
    return w;
}

/* Smooth weighted round robin over the candidates (and, when mask is not
 * NULL, only those in it): every pick adds each one's weight to its
 * current value and takes the largest, then lowers it by the total. With
 * weights 5,1,1 the order is a a b a c a a. */
static ssize_t wrr(const pick_t *pk, const uint64_t *mask)
{
    rp_upstream_t *us = pk->us;
    int64_t *cw = us->rr_current;
    ssize_t best = -1;
    while (__atomic_exchange_n(&us->rr_lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&us->rr_lock, __ATOMIC_RELAXED))
            RP_CPU_RELAX();
    int64_t total = 0;
    for (size_t i = 0; i < nserv(us); i++) {
        if ((mask && !((*mask >> i) & 1)) || (!mask && !candidate(pk, i)))
            continue;
        int64_t wt = eff_weight(&us->servers[i], pk->now);
        cw[i] += wt;
        total += wt;
        if (best < 0 || cw[i] > cw[best])
            best = (ssize_t)i;
    }
    if (best >= 0)
        cw[best] -= total;
    __atomic_store_n(&us->rr_lock, 0, __ATOMIC_RELEASE);
    return best;
}

/* least_conn's order: fewer requests in flight per unit of weight. */
static int conn_less(const pick_t *pk, size_t a, size_t b)
{
    const rp_upstream_server_t *sa = &pk->us->servers[a], *sb = &pk->us->servers[b];
    return (int64_t)RP_LD(sa->conns) * eff_weight(sb, pk->now) <
           (int64_t)RP_LD(sb->conns) * eff_weight(sa, pk->now);
}

/* least_time's score: the moving average of the chosen response time
 * times the requests in flight (counting this one), per unit of weight.
 * A server without samples scores as if it answered in 1 µs, so a new or
 * recovered server gets requests and thereby an average. */
static double time_score(const pick_t *pk, size_t i)
{
    const rp_upstream_server_t *s = &pk->us->servers[i];
    uint64_t ema =
        pk->us->lt_mode == RP_LT_HEADER ? RP_LD(s->ema_header_us) : RP_LD(s->ema_last_byte_us);
    return (double)(ema + 1) * (double)(RP_LD(s->conns) + 1) / (double)eff_weight(s, pk->now);
}

/* ------------------------------------------------------------- methods */

static ssize_t pick_rr(const pick_t *pk)
{
    return wrr(pk, NULL);
}

/* The candidates with the best score; ties share by weighted round robin. */
static ssize_t pick_least(const pick_t *pk, int by_time)
{
    uint64_t mask = 0;
    ssize_t best = -1;
    double best_t = 0;
    for (size_t i = 0; i < nserv(pk->us); i++) {
        if (!candidate(pk, i))
            continue;
        int better, tie;
        if (by_time) {
            double t = time_score(pk, i);
            better = best < 0 || t < best_t;
            tie = best >= 0 && t == best_t;
            if (better)
                best_t = t;
        } else {
            better = best < 0 || conn_less(pk, i, (size_t)best);
            tie = best >= 0 && !better && !conn_less(pk, (size_t)best, i);
        }
        if (better) {
            best = (ssize_t)i;
            mask = 0;
        }
        if (better || tie)
            mask |= 1ull << i;
    }
    if (best < 0)
        return -1;
    return (mask & (mask - 1)) ? wrr(pk, &mask) : best;
}

static ssize_t pick_least_conn(const pick_t *pk)
{
    return pick_least(pk, 0);
}

static ssize_t pick_least_time(const pick_t *pk)
{
    return pick_least(pk, 1);
}

/* hash and ip_hash without `consistent`: the key's hash picks a point on
 * the servers' weights laid end to end (all of them, so the mapping holds
 * while servers come and go); a server that cannot take the request sends
 * it to a rehash, and after REHASH_TRIES to round robin. */
static ssize_t by_hash(const pick_t *pk, uint32_t h)
{
    rp_upstream_t *us = pk->us;
    uint64_t total = 0;
    for (size_t i = 0; i < nserv(us); i++)
        total += (uint64_t)us->servers[i].weight;
    for (uint32_t attempt = 0; attempt < REHASH_TRIES && total; attempt++) {
        uint32_t x = attempt ? rp_hash32(&h, sizeof(h), attempt) : h;
        uint64_t point = x % total;
        size_t i = 0;
        while (i + 1 < nserv(us) && point >= (uint64_t)us->servers[i].weight) {
            point -= (uint64_t)us->servers[i].weight;
            i++;
        }
        if (candidate(pk, i))
            return (ssize_t)i;
    }
    return wrr(pk, NULL);
}

/* hash ... consistent: the first point at or after the key's hash on the
 * ring (RING_POINTS per unit of weight) whose server can take it. Taking
 * one of N servers out moves only the keys it had: about 1/N. */
static ssize_t by_ring(const pick_t *pk, uint32_t h)
{
    const struct rp_ring *ring = __atomic_load_n(&pk->us->ring, __ATOMIC_ACQUIRE);
    size_t n = ring ? ring->n : 0;
    if (!n)
        return -1;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->hash[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = ring->server[(lo + k) % n];
        if (candidate(pk, i))
            return (ssize_t)i;
    }
    return -1;
}

static ssize_t pick_hash(const pick_t *pk)
{
    rp_str_t key = RP_NULL_STR;
    if (rp_tpl_eval(pk->us->hash_key, rp_req_var, pk->r, &pk->r->arena, &key) != RP_OK)
        key = RP_NULL_STR;
    uint32_t h = rp_hash32(key.data, key.len, 0);
    return pk->us->hash_consistent ? by_ring(pk, h) : by_hash(pk, h);
}

/* ip_hash: the first three octets of an IPv4 client address (clients of
 * one /24 stay together), the whole of an IPv6 one. */
static ssize_t pick_ip_hash(const pick_t *pk)
{
    unsigned char a[16];
    const char *addr = pk->r->c->peer_addr;
    uint32_t h;
    if (inet_pton(AF_INET, addr, a) == 1)
        h = rp_hash32(a, 3, 0);
    else if (inet_pton(AF_INET6, addr, a) == 1)
        h = rp_hash32(a, 16, 0);
    else
        h = rp_hash32(addr, strlen(addr), 0);
    return by_hash(pk, h);
}

/* Weighted random among the candidates, skipping `not` (or -1). */
static ssize_t random_one(const pick_t *pk, ssize_t not )
{
    int64_t total = 0;
    for (size_t i = 0; i < nserv(pk->us); i++)
        if ((ssize_t)i != not &&candidate(pk, i))
            total += eff_weight(&pk->us->servers[i], pk->now);
    if (!total)
        return -1;
    int64_t x = (int64_t)(rand64() % (uint64_t)total);
    for (size_t i = 0; i < nserv(pk->us); i++) {
        if ((ssize_t)i == not || !candidate(pk, i))
            continue;
        x -= eff_weight(&pk->us->servers[i], pk->now);
        if (x < 0)
            return (ssize_t)i;
    }
    return -1;
}

/* random, or `random two`: the better of two random candidates by
 * least_conn or least_time ("power of two choices"). */
static ssize_t pick_random(const pick_t *pk)
{
    ssize_t a = random_one(pk, -1);
    if (a < 0 || !pk->us->random_two)
        return a;
    ssize_t b = random_one(pk, a);
    if (b < 0)
        return a;
    if (pk->us->two_method == RP_BALANCE_LEAST_TIME)
        return time_score(pk, (size_t)b) < time_score(pk, (size_t)a) ? b : a;
    return conn_less(pk, (size_t)b, (size_t)a) ? b : a;
}

typedef struct {
    const char *name;
    ssize_t (*pick)(const pick_t *pk);
} rp_balancer_t;

/* indexed by enum rp_balance */
static const rp_balancer_t balancers[] = {
    [RP_BALANCE_RR] = { "round robin", pick_rr },
    [RP_BALANCE_LEAST_CONN] = { "least_conn", pick_least_conn },
    [RP_BALANCE_IP_HASH] = { "ip_hash", pick_ip_hash },
    [RP_BALANCE_HASH] = { "hash", pick_hash },
    [RP_BALANCE_RANDOM] = { "random", pick_random },
    [RP_BALANCE_LEAST_TIME] = { "least_time", pick_least_time },
};

/* ---------------------------------------------------------- sticky */

/* The value of cookie `name` in the request's Cookie fields. */
static rp_str_t cookie_value(const rp_req_t *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->h.nfields; i++) {
        const rp_http_field_t *f = &r->h.fields[i];
        if (!rp_str_caseeq_cstr(f->name, "cookie"))
            continue;
        const char *p = f->value.data, *e = p + f->value.len;
        while (p < e) {
            while (p < e && (*p == ' ' || *p == ';'))
                p++;
            const char *ce = memchr(p, ';', (size_t)(e - p));
            if (!ce)
                ce = e;
            if ((size_t)(ce - p) > nl && p[nl] == '=' && memcmp(p, name, nl) == 0)
                return rp_str(p + nl + 1, (size_t)(ce - p - (ptrdiff_t)nl - 1));
            p = ce;
        }
    }
    return RP_NULL_STR;
}

/* The server the client's sticky cookie names, when it can take the
 * request; otherwise the method chooses (and a new cookie is set). */
static ssize_t sticky_pick(const pick_t *pk)
{
    rp_str_t v = cookie_value(pk->r, pk->us->sticky->name);
    if (v.len != 16)
        return -1;
    for (size_t i = 0; i < nserv(pk->us); i++) {
        if (memcmp(pk->us->servers[i].sticky_id, v.data, 16) != 0)
            continue;
        pick_t p2 = *pk;
        p2.backup = RP_LD(pk->us->servers[i].backup);
        return candidate(&p2, i) ? (ssize_t)i : -1;
    }
    return -1;
}

size_t rp_sticky_set_cookie(rp_req_t *r, char *buf, size_t cap)
{
    const rp_upstream_t *us = r->upstream;
    const rp_sticky_t *st = us ? us->sticky : NULL;
    if (!st || !r->peer)
        return 0;
    if (r->sticky_hit && &us->servers[r->sticky_hit - 1] == r->peer)
        return 0;
    int n = snprintf(buf, cap, "%s=%s", st->name, r->peer->sticky_id);
    if (st->expires >= 0) {
        time_t t = time(NULL) + (time_t)(st->expires / 1000);
        struct tm g;
        char d[64];
        gmtime_r(&t, &g);
        strftime(d, sizeof(d), "%a, %d-%b-%Y %H:%M:%S GMT", &g);
        n += snprintf(buf + n, cap - (size_t)n, "; expires=%s; max-age=%lld", d,
                      (long long)(st->expires / 1000));
    }
    if (st->domain)
        n += snprintf(buf + n, cap - (size_t)n, "; domain=%s", st->domain);
    if (st->path)
        n += snprintf(buf + n, cap - (size_t)n, "; path=%s", st->path);
    if (st->httponly)
        n += snprintf(buf + n, cap - (size_t)n, "; HttpOnly");
    if (st->secure)
        n += snprintf(buf + n, cap - (size_t)n, "; Secure");
    if (st->samesite)
        n += snprintf(buf + n, cap - (size_t)n, "; SameSite=%s", st->samesite);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Backups are chosen by the same method where it has no key (round robin,
 * least_conn, least_time); the configuration refuses backups with the
 * hashes and random. */
rp_upstream_server_t *rp_upstream_pick(rp_worker_t *w, rp_req_t *r)
{
    rp_upstream_t *us = r->upstream;
    pick_t pk = { us, r, w->loop.now, 0 };
    if (us->sticky && !r->sticky_checked) {
        r->sticky_checked = 1;
        ssize_t i = sticky_pick(&pk);
        if (i >= 0) {
            r->sticky_hit = (int)i + 1;
            return &us->servers[i];
        }
    }
    if (nserv(us) == 1 && !us->has_backup)
        return candidate(&pk, 0) ? &us->servers[0] : NULL;
    ssize_t i = balancers[us->balance].pick(&pk);
    if (i < 0 && us->has_backup) {
        pk.backup = 1;
        i = balancers[us->balance].pick(&pk);
    }
    return i < 0 ? NULL : &us->servers[i];
}

int rp_upstream_has_next(rp_worker_t *w, rp_req_t *r)
{
    rp_upstream_t *us = r->upstream;
    pick_t pk = { us, r, w->loop.now, 0 };
    for (size_t i = 0; i < nserv(us); i++) {
        pk.backup = RP_LD(us->servers[i].backup);
        if (candidate(&pk, i))
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- state */

int rp_peer_acquire(rp_upstream_server_t *s)
{
    /* max_conns holds across worker threads: take the place first, give
     * it back when another thread took the last one meanwhile */
    int n = RP_ADD(s->conns, 1);
    int max = RP_LD(s->max_conns);
    if (max && n > max) {
        RP_ADD(s->conns, -1);
        return 0;
    }
    RP_ADD(s->requests, 1);
    return 1;
}

void rp_peer_release(rp_upstream_server_t *s)
{
    RP_ADD(s->conns, -1);
}

void rp_peer_failed(rp_upstream_t *us, rp_upstream_server_t *s, uint64_t now)
{
    int mf = RP_LD(s->max_fails);
    if (!mf || nserv(us) == 1)
        return;
    uint64_t since = RP_LD(s->fail_since_ms);
    if (!since || now >= since + (uint64_t)s->fail_timeout) {
        RP_ST(s->fail_since_ms, now);
        RP_ST(s->fails, 0);
    }
    if (RP_ADD(s->fails, 1) == mf) {
        RP_ST(s->down_until_ms, now + (uint64_t)s->fail_timeout);
        RP_ST(s->up_since_ms, (uint64_t)0);
        rp_log_error(RP_LOG_WARN, "upstream server temporarily disabled: %s in upstream \"%s\"",
                     s->addr.text, us->name);
    }
}

void rp_peer_ok(rp_upstream_server_t *s, uint64_t now)
{
    if (RP_LD(s->fails))
        RP_ST(s->fails, 0);
    if (RP_LD(s->down_until_ms)) {
        /* back after being taken out: slow_start ramps from here */
        RP_ST(s->down_until_ms, (uint64_t)0);
        if (s->slow_start)
            RP_ST(s->up_since_ms, now);
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t rp_peer_clock_us(void)
{
    return now_us();
}

void rp_peer_time(rp_upstream_server_t *s, int which, uint64_t us)
{
    uint64_t *ema = which == RP_LT_HEADER ? &s->ema_header_us : &s->ema_last_byte_us;
    uint64_t old = RP_LD(*ema);
    RP_ST(*ema, old ? old - old / 8 + us / 8 : us);
}

/* Per generation: the round robin state and the consistent-hash ring. */
static int ring_cmp(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void rp_balance_server_id(rp_upstream_server_t *s)
{
    /* sticky cookie values: from the address, so they survive reloads */
    const char *t = s->addr.text;
    snprintf(s->sticky_id, sizeof(s->sticky_id), "%08x%08x", rp_hash32(t, strlen(t), 0x5eed),
             rp_hash32(t, strlen(t), 0x57c1));
}

static void ring_free(void *p)
{
    struct rp_ring *ring = p;
    free(ring->hash);
    free(ring->server);
    free(ring);
}

int rp_balance_ring(rp_upstream_t *us, rp_arena_t *a)
{
    if (us->balance != RP_BALANCE_HASH || !us->hash_consistent)
        return RP_OK;
    size_t ns = nserv(us), n = 0;
    for (size_t i = 0; i < ns; i++)
        if (!us->servers[i].removed)
            n += (size_t)us->servers[i].weight * RING_POINTS;
    /* hash in the high half, server in the low: one sort orders both */
    uint64_t *pts = malloc((n ? n : 1) * sizeof(*pts));
    struct rp_ring *ring = calloc(1, sizeof(*ring));
    if (ring) {
        ring->hash = malloc((n ? n : 1) * sizeof(uint32_t));
        ring->server = malloc((n ? n : 1) * sizeof(uint32_t));
    }
    if (!pts || !ring || !ring->hash || !ring->server ||
        rp_arena_add_cleanup(a, ring_free, ring) != RP_OK) {
        free(pts);
        if (ring)
            ring_free(ring);
        return RP_ERROR;
    }
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        if (us->servers[i].removed)
            continue;
        /* points from the server's address, so they do not move when the
         * other servers change */
        const char *t = us->servers[i].addr.text;
        for (size_t j = 0; j < (size_t)us->servers[i].weight * RING_POINTS; j++)
            pts[k++] = (uint64_t)rp_hash32(t, strlen(t), (uint32_t)j) << 32 | i;
    }
    qsort(pts, n, sizeof(*pts), ring_cmp);
    for (size_t j = 0; j < n; j++) {
        ring->hash[j] = (uint32_t)(pts[j] >> 32);
        ring->server[j] = (uint32_t)pts[j];
    }
    ring->n = n;
    free(pts);
    /* the old ring stays valid until the generation ends (arena cleanup) */
    __atomic_store_n(&us->ring, ring, __ATOMIC_RELEASE);
    return RP_OK;
}

rp_upstream_server_t *rp_upstream_add_server(rp_upstream_t *us, const rp_upstream_server_t *tmpl,
                                             const rp_sockaddr_t *addr, const char *name)
{
    size_t n = us->nservers;
    if (n >= us->cap_servers)
        return NULL;
    /* the slot is filled before the count says it exists */
    rp_upstream_server_t *s = &us->servers[n];
    *s = *tmpl;
    s->addr = *addr;
    s->name = (char *)name;
    rp_balance_server_id(s);
    s->health = us->hc && us->hc->mandatory ? RP_HEALTH_CHECKING : RP_HEALTH_UP;
    __atomic_store_n(&us->nservers, n + 1, __ATOMIC_RELEASE);
    return s;
}

const rp_upstream_t *rp_upstream_in(const rp_conf_t *old, const rp_upstream_t *us)
{
    for (size_t k = 0; old && k < old->nupstreams; k++)
        if (old->upstreams[k]->implicit == us->implicit &&
            strcmp(old->upstreams[k]->name, us->name) == 0)
            return old->upstreams[k];
    return NULL;
}

int rp_balance_prepare(rp_upstream_t *us, rp_arena_t *a)
{
    for (size_t i = 0; i < us->nservers; i++)
        rp_balance_server_id(&us->servers[i]);
    if (!us->rr_current) {
        size_t cap = RP_MAX(us->cap_servers, us->nservers);
        us->rr_current = rp_arena_calloc(a, (cap + 1) * sizeof(int64_t));
        if (!us->rr_current)
            return RP_ERROR;
    }
    if (us->ring)
        return RP_OK;
    return rp_balance_ring(us, a);
}
