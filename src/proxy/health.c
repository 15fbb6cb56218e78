/* Active health checks (`health_check` in an upstream or in the location
 * that proxies to it).
 *
 * One checker for the whole process: worker 0's event loop probes every
 * server of every upstream with a health check, one probe per server per
 * interval, and writes the verdict into the server's shared state
 * (rp_upstream_server_t.health, atomic), which every worker's balancer
 * reads at once. A probe is a plain HTTP/1.1 GET of the check's URI with
 * `Connection: close`, bounded by a timeout; the next probe of a server is
 * scheduled only when the previous one has finished, so probes never pile
 * up on a hung backend.
 *
 * Verdicts: `fails` failed probes in a row take a server out (DOWN),
 * `passes` good ones bring it back (UP), through its slow_start ramp. With
 * `mandatory`, servers start CHECKING (unusable) until their first pass;
 * with `persistent` too, a reload keeps the verdicts of the servers the
 * previous configuration had (rp_health_carry, before workers see it).
 */
#include "core/common.h"
#include "core/log.h"
#include "proxy/session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* the most response bytes a probe reads (head and body for `body ~`) */
#define PROBE_MAX 65536

typedef struct rp_probe_s rp_probe_t;
struct rp_probe_s {
    rp_worker_t *w;
    rp_upstream_t *us;
    rp_upstream_server_t *s;
    rp_io_t io;
    rp_timer_t timer; /* next probe, or this probe's timeout */
    char *buf;
    size_t len;
    size_t sent;
    int running;
    rp_probe_t *next;
};

/* worker 0's checker state */
static rp_probe_t *probes;
static rp_conf_t *probe_conf;

static void probe_start(rp_timer_t *t);

static uint64_t jitter_ms(const rp_health_check_t *hc)
{
    return hc->jitter > 0 ? rp_random64() % (uint64_t)(hc->jitter + 1) : 0;
}

static int64_t probe_timeout(const rp_health_check_t *hc)
{
    /* a probe must end before the next one is due, within sane bounds */
    return RP_MAX(1000, RP_MIN(hc->interval, 10000));
}

static void probe_close(rp_probe_t *p)
{
    if (p->io.fd >= 0) {
        close(p->io.fd); /* also leaves the epoll set */
        p->io.fd = -1;
    }
    free(p->buf);
    p->buf = NULL;
    p->len = p->sent = 0;
    p->running = 0;
}

static int status_ok(const rp_match_t *m, int status)
{
    if (!m || !m->nstatus)
        return status >= 200 && status < 400;
    int in = 0;
    for (size_t i = 0; i < m->nstatus; i++)
        if (status >= m->status[i].lo && status <= m->status[i].hi)
            in = 1;
    return m->status_not ? !in : in;
}

static int re_match(void *re, const char *s, size_t n)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static const rp_http_field_t *find(const rp_h1_response_t *rs, const char *name)
{
    for (size_t i = 0; i < rs->nfields; i++)
        if (rp_str_caseeq_cstr(rs->fields[i].name, name))
            return &rs->fields[i];
    return NULL;
}

/* The response in p->buf against the check (and its match block). NULL
 * when it passes, else why not. */
static const char *judge(rp_probe_t *p, int *status)
{
    const rp_health_check_t *hc = p->us->hc;
    const rp_match_t *m = hc->match;
    static __thread rp_http_field_t fields[128];
    rp_h1_limits_t lim = {
        .max_line = 8192, .max_field = 8192, .max_head = PROBE_MAX, .max_fields = 128
    };
    rp_h1_parser_t ps;
    rp_h1_parser_init(&ps, &lim);
    rp_h1_response_t rs = { 0 };
    rs.fields = fields;
    int rc;
    size_t off = 0;
    /* interim (1xx) heads are skipped */
    for (;;) {
        rp_h1_parser_init(&ps, &lim);
        memset(&rs, 0, sizeof(rs));
        rs.fields = fields;
        rc = rp_h1_parse_response(&ps, p->buf + off, p->len - off, RP_METHOD_GET, &rs);
        if (rc != RP_OK || rs.status >= 200 || rs.status == 101)
            break;
        off += rs.head_len;
    }
    if (rc != RP_OK)
        return p->len ? "invalid response" : "no response";
    *status = rs.status;
    if (!status_ok(m, rs.status))
        return "status not accepted";
    for (size_t i = 0; m && i < m->nheaders; i++) {
        const rp_match_header_t *h = &m->headers[i];
        const rp_http_field_t *f = find(&rs, h->name);
        int ok;
        switch (h->op) {
        case RP_MATCH_PRESENT:
            ok = f != NULL;
            break;
        case RP_MATCH_ABSENT:
            ok = f == NULL;
            break;
        case RP_MATCH_EQ:
            ok = f && f->value.len == strlen(h->value) &&
                 memcmp(f->value.data, h->value, f->value.len) == 0;
            break;
        case RP_MATCH_NE:
            ok = !f || f->value.len != strlen(h->value) ||
                 memcmp(f->value.data, h->value, f->value.len) != 0;
            break;
        case RP_MATCH_RE:
            ok = f && re_match(h->re, f->value.data, f->value.len);
            break;
        default: /* RP_MATCH_NRE */
            ok = !f || !re_match(h->re, f->value.data, f->value.len);
            break;
        }
        if (!ok)
            return "header did not match";
    }
    if (m && m->body_op) {
        char *body = p->buf + off + rs.head_len;
        size_t blen = p->len - off - rs.head_len;
        if (rs.body_kind == RP_BODY_CHUNKED) {
            rp_h1_chunked_t ck;
            rp_h1_chunked_init(&ck);
            size_t consumed = 0, out = 0;
            if (rp_h1_chunked_decode(&ck, body, blen, &consumed, &out) == RP_ERROR)
                return "invalid chunked body";
            blen = out;
        } else if (rs.body_kind == RP_BODY_LENGTH && rs.content_length < blen) {
            blen = (size_t)rs.content_length;
        }
        int hit = re_match(m->body_re, body, blen);
        if (m->body_op == RP_MATCH_RE ? !hit : hit)
            return "body did not match";
    }
    return NULL;
}

static void verdict(rp_probe_t *p, const char *why, int status)
{
    rp_upstream_server_t *s = p->s;
    const rp_health_check_t *hc = p->us->hc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t slot = (size_t)(RP_LD(s->hc_checks) % RP_ARRAY_LEN(s->hc_hist));
    RP_ST(s->hc_hist[slot].at_ms, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
    RP_ST(s->hc_hist[slot].status, status);
    RP_ST(s->hc_hist[slot].passed, why == NULL);
    RP_ADD(s->hc_checks, 1);
    RP_ST(s->hc_last_status, status);
    int h = RP_LD(s->health);
    if (why) {
        RP_ADD(s->hc_bad, 1);
        s->hc_passes = 0;
        if (++s->hc_fails >= hc->fails && h != RP_HEALTH_DOWN) {
            RP_ST(s->health, RP_HEALTH_DOWN);
            rp_log_error(RP_LOG_WARN,
                         "health check of %s in upstream \"%s\" failed (%s): server is unhealthy",
                         s->addr.text, p->us->name, why);
        }
        return;
    }
    s->hc_fails = 0;
    if (++s->hc_passes >= hc->passes && h != RP_HEALTH_UP) {
        if (s->slow_start)
            RP_ST(s->up_since_ms, p->w->loop.now);
        RP_ST(s->health, RP_HEALTH_UP);
        rp_log_error(RP_LOG_NOTICE,
                     "health check of %s in upstream \"%s\" passed: server is healthy",
                     s->addr.text, p->us->name);
    }
}

/* The probe ended (why NULL: the response is in p->buf to be judged). */
static void probe_done(rp_probe_t *p, const char *why)
{
    int status = 0;
    if (!why)
        why = judge(p, &status);
    verdict(p, why, status);
    probe_close(p);
    /* the timeout may still be armed (the probe ended first) */
    rp_timer_cancel(&p->w->loop, &p->timer);
    rp_timer_init(&p->timer, probe_start, p);
    rp_timer_set(&p->w->loop, &p->timer, (uint64_t)p->us->hc->interval + jitter_ms(p->us->hc));
}

static void probe_timeout_cb(rp_timer_t *t)
{
    probe_done(t->data, "timed out");
}

static void probe_io(rp_io_t *io, uint32_t ev)
{
    rp_probe_t *p = io->data;
    const rp_health_check_t *hc = p->us->hc;
    if (!p->running)
        return;
    if (ev & EPOLLERR) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            probe_done(p, "connect() failed");
            return;
        }
    }
    /* the request: "GET uri HTTP/1.1" with Host and Connection: close */
    char req[2300];
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rampart-health-check\r\n"
                      "Connection: close\r\n\r\n",
                      hc->uri, p->us->implicit ? p->s->addr.text : p->us->name);
    if (rl < 0 || (size_t)rl >= sizeof(req)) {
        probe_done(p, "request too long");
        return;
    }
    while (p->sent < (size_t)rl) {
        ssize_t n = send(io->fd, req + p->sent, (size_t)rl - p->sent, MSG_NOSIGNAL);
        if (n > 0) {
            p->sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return; /* the edge of writability brings us back */
        probe_done(p, n < 0 && errno == ECONNREFUSED ? "connection refused" : "send() failed");
        return;
    }
    for (;;) {
        if (!p->buf && !(p->buf = malloc(PROBE_MAX))) {
            probe_done(p, "out of memory");
            return;
        }
        if (p->len == PROBE_MAX) {
            probe_done(p, NULL); /* judged on what came */
            return;
        }
        ssize_t n = recv(io->fd, p->buf + p->len, PROBE_MAX - p->len, 0);
        if (n > 0) {
            p->len += (size_t)n;
            continue;
        }
        if (n == 0) {
            probe_done(p, NULL);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return;
        probe_done(p, p->len ? NULL : "connection reset");
        return;
    }
}

static void probe_start(rp_timer_t *t)
{
    rp_probe_t *p = t->data;
    const rp_health_check_t *hc = p->us->hc;
    if (RP_LD(p->s->removed))
        return; /* removed through the API: no more probes */
    rp_sockaddr_t a = p->s->addr;
    if (hc->port) {
        struct sockaddr *sa = (struct sockaddr *)&a.addr;
        if (sa->sa_family == AF_INET6)
            ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)hc->port);
        else
            ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)hc->port);
    }
    p->running = 1;
    p->sent = p->len = 0;
    rp_timer_cancel(&p->w->loop, &p->timer);
    rp_timer_init(&p->timer, probe_timeout_cb, p);
    rp_timer_set(&p->w->loop, &p->timer, (uint64_t)probe_timeout(hc));
    int fd = socket(((struct sockaddr *)&a.addr)->sa_family,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rp_timer_cancel(&p->w->loop, &p->timer);
        probe_done(p, "socket() failed");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    p->io.fd = fd;
    p->io.cb = probe_io;
    p->io.data = p;
    if ((connect(fd, (struct sockaddr *)&a.addr, a.addrlen) != 0 && errno != EINPROGRESS) ||
        rp_loop_add(&p->w->loop, &p->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != RP_OK) {
        rp_timer_cancel(&p->w->loop, &p->timer);
        probe_done(p, "connect() failed");
    }
}

void rp_health_stop(rp_worker_t *w)
{
    if (w->id != 0)
        return; /* the checker is worker 0's alone */
    while (probes) {
        rp_probe_t *p = probes;
        probes = p->next;
        rp_timer_cancel(&w->loop, &p->timer);
        probe_close(p);
        free(p);
    }
    if (probe_conf) {
        rp_conf_unref(probe_conf);
        probe_conf = NULL;
    }
}

static int health_dirty;

static int add_probe(rp_worker_t *w, rp_upstream_t *us, rp_upstream_server_t *s)
{
    rp_probe_t *p = calloc(1, sizeof(*p));
    if (!p) {
        rp_log_error(RP_LOG_ALERT, "out of memory: no health checks for \"%s\"", us->name);
        return RP_ERROR;
    }
    p->w = w;
    p->us = us;
    p->s = s;
    p->io.fd = -1;
    p->next = probes;
    probes = p;
    /* the first probe at once (spread by the jitter) */
    rp_timer_init(&p->timer, probe_start, p);
    rp_timer_set(&w->loop, &p->timer, jitter_ms(us->hc));
    return RP_OK;
}

void rp_health_notify(void)
{
    __atomic_store_n(&health_dirty, 1, __ATOMIC_RELEASE);
    if (rp_nworkers > 0)
        rp_loop_wake(&rp_workers[0].loop);
}

void rp_health_sync(rp_worker_t *w)
{
    if (w->id != 0 || !__atomic_exchange_n(&health_dirty, 0, __ATOMIC_ACQ_REL) || !probe_conf)
        return;
    for (size_t i = 0; i < probe_conf->nupstreams; i++) {
        rp_upstream_t *us = probe_conf->upstreams[i];
        if (!us->hc)
            continue;
        size_t n = __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE);
        for (size_t j = 0; j < n; j++) {
            int have = 0;
            for (rp_probe_t *p = probes; p && !have; p = p->next)
                have = p->s == &us->servers[j];
            if (!have && !RP_LD(us->servers[j].removed))
                add_probe(w, us, &us->servers[j]);
        }
    }
}

void rp_health_apply(rp_worker_t *w, rp_conf_t *conf)
{
    if (w->id != 0 || conf == probe_conf)
        return;
    rp_health_stop(w);
    if (!conf)
        return;
    rp_conf_ref(conf);
    probe_conf = conf;
    for (size_t i = 0; i < conf->nupstreams; i++) {
        rp_upstream_t *us = conf->upstreams[i];
        if (!us->hc)
            continue;
        for (size_t j = 0; j < us->nservers; j++)
            if (add_probe(w, us, &us->servers[j]) != RP_OK)
                break;
    }
}

/* Before a generation is published: servers under a mandatory check start
 * CHECKING; with persistent, a server the running generation had (same
 * upstream name and address) keeps its verdict. */
void rp_health_carry(rp_conf_t *conf, const rp_conf_t *old)
{
    for (size_t i = 0; i < conf->nupstreams; i++) {
        rp_upstream_t *us = conf->upstreams[i];
        if (!us->hc || !us->hc->mandatory)
            continue;
        const rp_upstream_t *ou = us->hc->persistent ? rp_upstream_in(old, us) : NULL;
        for (size_t j = 0; j < us->nservers; j++) {
            int h = RP_HEALTH_CHECKING;
            for (size_t k = 0; ou && ou->hc && k < ou->nservers; k++)
                if (strcmp(ou->servers[k].addr.text, us->servers[j].addr.text) == 0)
                    h = RP_LD(ou->servers[k].health);
            RP_ST(us->servers[j].health, h);
        }
    }
}
