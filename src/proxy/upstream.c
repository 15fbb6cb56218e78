/* Backend selection (smooth weighted round robin) and the per-worker pool of
 * idle keep-alive backend connections. */
#include "core/common.h"
#include "proxy/session.h"

#include <string.h>
#include <unistd.h>

/* Smooth weighted round robin: every pick adds each server's weight to its
 * current value and takes the largest, then lowers it by the total. With
 * weights 5,1,1 the order is a a b a c a a: spread out, not bursty. Each
 * worker has its own slice of state, so no locks on the hot path. */
rp_upstream_server_t *rp_upstream_pick(rp_worker_t *w, rp_req_t *r)
{
    rp_upstream_t *us = r->upstream;
    if (us->nservers == 1)
        return (r->tried[0] & 1) ? NULL : &us->servers[0];
    int64_t *cw = us->rr_current ? us->rr_current + (size_t)w->id * us->rr_stride : NULL;
    int64_t total = 0;
    ssize_t best = -1;
    for (size_t i = 0; i < us->nservers && i < 64; i++) {
        if (r->tried[i / 8] & (1u << (i % 8)))
            continue;
        int wt = us->servers[i].weight > 0 ? us->servers[i].weight : 1;
        if (!cw) {
            best = (ssize_t)i;
            break;
        }
        cw[i] += wt;
        total += wt;
        if (best < 0 || cw[i] > cw[best])
            best = (ssize_t)i;
    }
    if (best < 0)
        return NULL;
    if (cw)
        cw[best] -= total;
    return &us->servers[best];
}

static void idle_io(rp_io_t *io, uint32_t ev)
{
    /* an idle backend connection has nothing to say: data or EOF means it
     * is unusable */
    rp_upconn_t *u = io->data;
    if (u->req)
        return;
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
    rp_upconn_t *u = t->data;
    idle_io(&u->io, 0);
}

static void upconn_dealloc(void *p) { free(p); }

void rp_upconn_free(rp_upconn_t *u)
{
    rp_worker_t *w = u->w;
    rp_timer_cancel(&w->loop, &u->timer);
    if (u->io.fd >= 0) {
        rp_loop_del(&w->loop, &u->io);
        close(u->io.fd);
        u->io.fd = -1;
    }
    u->io.cb = NULL;
    rp_buf_release(w, &u->in);
    rp_buf_release(w, &u->out);
    rp_loop_defer(&w->loop, upconn_dealloc, u);
}

rp_upconn_t *rp_pool_get(rp_worker_t *w, const rp_sockaddr_t *addr)
{
    for (rp_upconn_t *u = w->idle; u; u = u->next) {
        if (u->addr.addrlen == addr->addrlen && memcmp(&u->addr.addr, &addr->addr, addr->addrlen) == 0) {
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
        idle_io(&oldest->io, 0);
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
        idle_io(&w->idle->io, 0);
}
