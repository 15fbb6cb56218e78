/* `server name resolve` (with `resolver`): host names of upstream servers
 * re-resolved while rampart runs, the servers following the answers.
 *
 * Worker 0 asks the configured name servers (UDP, A and AAAA as
 * `resolver ... ipv4= ipv6=` allow) for each such name, again after the
 * answers' TTL (or `valid=`). An address that appears becomes a server
 * with the parameters of its `server` line (or comes back, if it was there
 * before); one that disappears is removed: it gets no new requests, those
 * in flight finish. A name server that does not answer within
 * resolver_timeout is replaced by the next one; when none answers, the
 * servers stay as they are and the name is asked again 5 s later.
 */
#include "core/common.h"
#include "core/log.h"
#include "proxy/dns.h"
#include "proxy/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ADDRS 32

typedef struct rp_rjob_s rp_rjob_t;
struct rp_rjob_s {
    rp_worker_t *w;
    rp_upstream_t *us;
    rp_resolve_name_t *rn;
    const rp_resolver_t *res;
    int64_t timeout;
    rp_io_t io;
    rp_timer_t timer;
    uint16_t id[2]; /* A, AAAA */
    int pending;    /* bit 0: A, bit 1: AAAA */
    size_t srv;     /* name server in use */
    rp_dns_addr_t got[MAX_ADDRS];
    size_t ngot;
    uint32_t ttl;
    rp_rjob_t *next;
};

static rp_rjob_t *jobs;
static rp_conf_t *jobs_conf;

static void job_start(rp_timer_t *t);

static void job_close(rp_rjob_t *j)
{
    if (j->io.fd >= 0) {
        close(j->io.fd);
        j->io.fd = -1;
    }
}

static void schedule(rp_rjob_t *j, uint64_t ms)
{
    rp_timer_cancel(&j->w->loop, &j->timer);
    rp_timer_init(&j->timer, job_start, j);
    rp_timer_set(&j->w->loop, &j->timer, ms);
}

/* The servers of the name follow the answer. */
static void apply(rp_rjob_t *j)
{
    rp_upstream_t *us = j->us;
    rp_resolve_name_t *rn = j->rn;
    int changed = 0;
    rp_upstream_lock();
    size_t n = __atomic_load_n(&us->nservers, __ATOMIC_ACQUIRE);
    /* present: keep, or bring back */
    for (size_t k = 0; k < j->ngot; k++) {
        char ip[INET6_ADDRSTRLEN], text[80];
        inet_ntop(j->got[k].family, j->got[k].addr, ip, sizeof(ip));
        snprintf(text, sizeof(text), j->got[k].family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                 rn->port);
        rp_sockaddr_t a;
        if (rp_conf_parse_addr(text, &a) != RP_OK)
            continue;
        size_t i = 0;
        while (i < n && strcmp(us->servers[i].addr.text, a.text) != 0)
            i++;
        if (i < n) {
            if (RP_LD(us->servers[i].removed)) {
                RP_ST(us->servers[i].removed, 0);
                rp_log_error(RP_LOG_NOTICE, "upstream \"%s\": %s resolves to %s, added", us->name,
                             rn->host, a.text);
                changed = 1;
            }
            continue;
        }
        if (!rp_upstream_add_server(us, &rn->tmpl, &a, rn->written)) {
            rp_log_error(RP_LOG_WARN, "upstream \"%s\": no room for %s of %s", us->name, a.text,
                         rn->host);
            continue;
        }
        n++;
        rp_log_error(RP_LOG_NOTICE, "upstream \"%s\": %s resolves to %s, added", us->name, rn->host,
                     a.text);
        changed = 1;
    }
    /* gone: removed (requests in flight finish) */
    for (size_t i = 0; i < n; i++) {
        rp_upstream_server_t *s = &us->servers[i];
        if (RP_LD(s->removed) || !s->name || strcmp(s->name, rn->written) != 0)
            continue;
        int found = 0;
        for (size_t k = 0; k < j->ngot && !found; k++) {
            unsigned char b[16];
            const char *t = s->addr.text;
            char ip[64];
            size_t l = strcspn(t[0] == '[' ? t + 1 : t, t[0] == '[' ? "]" : ":");
            snprintf(ip, sizeof(ip), "%.*s", (int)l, t[0] == '[' ? t + 1 : t);
            if (inet_pton(j->got[k].family, ip, b) == 1 &&
                memcmp(b, j->got[k].addr, j->got[k].family == AF_INET ? 4 : 16) == 0)
                found = 1;
        }
        if (!found) {
            RP_ST(s->removed, 1);
            rp_log_error(RP_LOG_NOTICE, "upstream \"%s\": %s no longer resolves to %s, removed",
                         us->name, rn->host, s->addr.text);
            changed = 1;
        }
    }
    if (changed && us->ring)
        rp_balance_ring(us, &jobs_conf->arena);
    rp_upstream_unlock();
    if (changed && us->hc)
        rp_health_notify();
}

static void job_done(rp_rjob_t *j, int ok)
{
    job_close(j);
    uint64_t next;
    if (ok) {
        apply(j);
        next = j->res->valid ? (uint64_t)j->res->valid
                             : (uint64_t)RP_MIN(RP_MAX(j->ttl, 1u), 3600u) * 1000u;
    } else {
        rp_log_error(RP_LOG_ERR, "upstream \"%s\": resolving %s failed", j->us->name, j->rn->host);
        next = 5000;
    }
    schedule(j, next);
}

static void job_timeout(rp_timer_t *t)
{
    rp_rjob_t *j = t->data;
    job_close(j);
    if (j->srv + 1 < j->res->naddrs) {
        j->srv++; /* the next name server */
        schedule(j, 0);
        return;
    }
    j->srv = 0;
    job_done(j, 0);
}

static void job_io(rp_io_t *io, uint32_t ev)
{
    rp_rjob_t *j = io->data;
    (void)ev;
    for (;;) {
        uint8_t buf[4096];
        ssize_t n = recv(io->fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            rp_timer_cancel(&j->w->loop, &j->timer);
            job_timeout(&j->timer); /* refused: next server */
            return;
        }
        for (int k = 0; k < 2; k++) {
            if (!(j->pending & (1 << k)))
                continue;
            size_t cnt = 0;
            uint32_t ttl = 0;
            int qt = k ? RP_DNS_AAAA : RP_DNS_A;
            if (rp_dns_parse(buf, (size_t)n, j->id[k], qt, j->got + j->ngot, MAX_ADDRS - j->ngot,
                             &cnt, &ttl) != 0)
                continue;
            j->pending &= ~(1 << k);
            j->ngot += cnt;
            if (cnt && (!j->ttl || ttl < j->ttl))
                j->ttl = ttl;
        }
        if (!j->pending) {
            rp_timer_cancel(&j->w->loop, &j->timer);
            j->srv = 0;
            job_done(j, 1);
            return;
        }
    }
}

static void job_start(rp_timer_t *t)
{
    rp_rjob_t *j = t->data;
    const rp_sockaddr_t *ns = &j->res->addrs[j->srv];
    j->ngot = 0;
    j->ttl = 0;
    j->pending = 0;
    int fd = socket(((const struct sockaddr *)&ns->addr)->sa_family,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&ns->addr, ns->addrlen) != 0) {
        if (fd >= 0)
            close(fd);
        job_done(j, 0);
        return;
    }
    j->io.fd = fd;
    j->io.cb = job_io;
    j->io.data = j;
    if (rp_loop_add(&j->w->loop, &j->io, EPOLLIN | EPOLLET) != RP_OK) {
        job_done(j, 0);
        return;
    }
    for (int k = 0; k < 2; k++) {
        if (!(k ? j->res->ipv6 : j->res->ipv4))
            continue;
        uint8_t q[512];
        j->id[k] = (uint16_t)rp_random64();
        size_t ql = rp_dns_query(q, sizeof(q), j->id[k], j->rn->host, k ? RP_DNS_AAAA : RP_DNS_A);
        if (ql && send(fd, q, ql, 0) == (ssize_t)ql)
            j->pending |= 1 << k;
    }
    if (!j->pending) {
        job_done(j, 0);
        return;
    }
    rp_timer_cancel(&j->w->loop, &j->timer);
    rp_timer_init(&j->timer, job_timeout, j);
    rp_timer_set(&j->w->loop, &j->timer, (uint64_t)j->timeout);
}

void rp_resolve_stop(rp_worker_t *w)
{
    if (w->id != 0)
        return;
    while (jobs) {
        rp_rjob_t *j = jobs;
        jobs = j->next;
        rp_timer_cancel(&w->loop, &j->timer);
        job_close(j);
        free(j);
    }
    if (jobs_conf) {
        rp_conf_unref(jobs_conf);
        jobs_conf = NULL;
    }
}

void rp_resolve_apply(rp_worker_t *w, rp_conf_t *conf)
{
    if (w->id != 0 || conf == jobs_conf)
        return;
    rp_resolve_stop(w);
    if (!conf)
        return;
    rp_conf_ref(conf);
    jobs_conf = conf;
    for (size_t i = 0; i < conf->nupstreams; i++) {
        rp_upstream_t *us = conf->upstreams[i];
        const rp_resolver_t *res = us->resolver ? us->resolver : conf->resolver;
        for (size_t k = 0; res && k < us->nrnames; k++) {
            rp_rjob_t *j = calloc(1, sizeof(*j));
            if (!j)
                break;
            j->w = w;
            j->us = us;
            j->rn = &us->rnames[k];
            j->res = res;
            j->timeout = us->resolver_timeout > 0     ? us->resolver_timeout
                         : conf->resolver_timeout > 0 ? conf->resolver_timeout
                                                      : 30000;
            j->io.fd = -1;
            j->next = jobs;
            jobs = j;
            rp_timer_init(&j->timer, job_start, j);
            rp_timer_set(&w->loop, &j->timer, 0);
        }
    }
}

/* Before a generation is published (main thread): the servers a `resolve`
 * name has in the running generation are carried over, so the new one
 * starts from the last answer instead of what the system resolver says
 * (or nothing) and a reload opens no window of 502s. */
void rp_resolve_carry(rp_conf_t *conf, const rp_conf_t *old)
{
    if (!old)
        return;
    for (size_t i = 0; i < conf->nupstreams; i++) {
        rp_upstream_t *us = conf->upstreams[i];
        if (!us->nrnames || us->implicit)
            continue;
        const rp_upstream_t *ou = rp_upstream_in(old, us);
        if (!ou)
            continue;
        for (size_t r = 0; r < us->nrnames; r++) {
            rp_resolve_name_t *rn = &us->rnames[r];
            size_t on = __atomic_load_n(&ou->nservers, __ATOMIC_ACQUIRE);
            /* the name's servers now: the old generation's live ones */
            for (size_t j = 0; j < on; j++) {
                const rp_upstream_server_t *os = &ou->servers[j];
                if (RP_LD(os->removed) || !os->name || strcmp(os->name, rn->written) != 0)
                    continue;
                size_t k = 0;
                while (k < us->nservers && strcmp(us->servers[k].addr.text, os->addr.text) != 0)
                    k++;
                if (k == us->nservers)
                    rp_upstream_add_server(us, &rn->tmpl, &os->addr, rn->written);
            }
            /* and the ones only the system resolver gave that the last
             * answer did not have are left to the first new answer */
        }
    }
}
