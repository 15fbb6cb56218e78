/* Backend selection (smooth weighted round robin) and the per-worker pool of
 * idle keep-alive backend connections. */
#include "core/common.h"
#include "proxy/session.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#if defined(__x86_64__) || defined(__i386__)
#define RP_CPU_RELAX() __builtin_ia32_pause()
#else
#define RP_CPU_RELAX() ((void)0)
#endif
#include <unistd.h>

/* Smooth weighted round robin: every pick adds each server's weight to its
 * current value and takes the largest, then lowers it by the total. With
 * weights 5,1,1 the order is a a b a c a a: spread out, not bursty. The
 * state is shared by the workers under a spin lock held for a few
 * additions, so the sequence holds across workers (as nginx with a zone). */
rp_upstream_server_t *rp_upstream_pick(rp_worker_t *w, rp_req_t *r)
{
    (void)w;
    rp_upstream_t *us = r->upstream;
    if (us->nservers == 1)
        return (r->tried[0] & 1) ? NULL : &us->servers[0];
    int64_t *cw = us->rr_current;
    ssize_t best = -1;
    while (__atomic_exchange_n(&us->rr_lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&us->rr_lock, __ATOMIC_RELAXED))
            RP_CPU_RELAX();
    int64_t total = 0;
    for (size_t i = 0; i < us->nservers && i < 64; i++) {
        if (r->tried[i / 8] & (1u << (i % 8)))
            continue;
        int wt = us->servers[i].weight > 0 ? us->servers[i].weight : 1;
        cw[i] += wt;
        total += wt;
        if (best < 0 || cw[i] > cw[best])
            best = (ssize_t)i;
    }
    if (best >= 0)
        cw[best] -= total;
    __atomic_store_n(&us->rr_lock, 0, __ATOMIC_RELEASE);
    return best < 0 ? NULL : &us->servers[best];
}

static void idle_remove(rp_upconn_t *u);

static void idle_io(rp_io_t *io, uint32_t ev)
{
    /* an idle backend connection has nothing to say: data or EOF means it
     * is unusable; a late "writable" edge means nothing */
    rp_upconn_t *u = io->data;
    if (u->req)
        return;
    if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    if (u->tp && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        /* TLS: records that carry no data (a TLS 1.3 session ticket) are
         * fine; data or the end of the stream are not */
        char b;
        if (u->tp->recv(u->tpctx, &b, 1) == RP_IO_WANT_READ)
            return;
        idle_remove(u);
        return;
    }
    char b;
    ssize_t n = recv(io->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    idle_remove(u);
}

static void idle_remove(rp_upconn_t *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        u->w->idle = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->w->nidle--;
    rp_upconn_free(u);
}

static void idle_timeout(rp_timer_t *t)
{
    idle_remove(t->data);
}

static void upconn_dealloc(void *p)
{
    free(p);
}

void rp_upconn_free(rp_upconn_t *u)
{
    rp_worker_t *w = u->w;
    rp_timer_cancel(&w->loop, &u->timer);
    if (u->tp) {
        u->tp->close(u->tpctx);
        u->tp = NULL;
    }
    if (u->io.fd >= 0) {
        close(u->io.fd); /* also leaves the epoll set */
        u->io.fd = -1;
    }
    u->io.cb = NULL;
    rp_buf_release(w, &u->in);
    rp_buf_release(w, &u->out);
    rp_loop_defer(&w->loop, upconn_dealloc, u);
}

rp_upconn_t *rp_pool_get(rp_worker_t *w, const rp_sockaddr_t *addr, const void *tls_key)
{
    for (rp_upconn_t *u = w->idle; u; u = u->next) {
        if (u->tls_key == tls_key && u->addr.addrlen == addr->addrlen &&
            memcmp(&u->addr.addr, &addr->addr, addr->addrlen) == 0) {
            if (u->prev)
                u->prev->next = u->next;
            else
                w->idle = u->next;
            if (u->next)
                u->next->prev = u->prev;
            u->prev = u->next = NULL;
            w->nidle--;
            rp_timer_cancel(&w->loop, &u->timer);
            u->reused = 1;
            return u;
        }
    }
    return NULL;
}

void rp_pool_put(rp_worker_t *w, rp_upconn_t *u, const rp_upstream_t *us)
{
    u->req = NULL;
    if (us->keepalive <= 0 || w->quitting) {
        rp_upconn_free(u);
        return;
    }
    int same = 0;
    rp_upconn_t *oldest = NULL;
    for (rp_upconn_t *x = w->idle; x; x = x->next) {
        if (x->addr.addrlen == u->addr.addrlen &&
            memcmp(&x->addr.addr, &u->addr.addr, u->addr.addrlen) == 0) {
            same++;
            oldest = x;
        }
    }
    if (same >= us->keepalive && oldest) {
        /* keep the newest; the cache holds at most `keepalive` per address */
        idle_remove(oldest);
    }
    rp_buf_release(w, &u->in);
    rp_buf_release(w, &u->out);
    u->io.cb = idle_io;
    u->keepalive_requests = us->keepalive_requests;
    rp_timer_init(&u->timer, idle_timeout, u);
    rp_timer_set(&w->loop, &u->timer, (uint64_t)us->keepalive_timeout);
    u->prev = NULL;
    u->next = w->idle;
    if (w->idle)
        w->idle->prev = u;
    w->idle = u;
    w->nidle++;
}

void rp_pool_close_all(rp_worker_t *w)
{
    while (w->idle)
        idle_remove(w->idle);
}
