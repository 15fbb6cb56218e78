/* The per-worker pool of idle keep-alive backend connections (choosing the
 * server is balance.c's). */
#include "core/common.h"
#include "proxy/session.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <unistd.h>

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

/* Idle connections are kept per (address, TLS settings) in a bucket, newest
 * first, so taking one and enforcing `keepalive` are O(1) however large the
 * pool; the worker's list of all idle connections serves close-all. The
 * buckets of a worker live as long as the worker (one per backend address
 * it ever pooled a connection to). */
struct rp_pool_bucket_s {
    rp_sockaddr_t addr;
    const void *tls_key;
    rp_upconn_t *head, *tail;
    int n;
};

static rp_pool_bucket_t *bucket_find(rp_worker_t *w, const rp_sockaddr_t *addr, const void *tls_key,
                                     int create)
{
    for (size_t i = 0; i < w->npool_buckets; i++) {
        rp_pool_bucket_t *b = w->pool_buckets[i];
        if (b->tls_key == tls_key && b->addr.addrlen == addr->addrlen &&
            memcmp(&b->addr.addr, &addr->addr, addr->addrlen) == 0)
            return b;
    }
    if (!create)
        return NULL;
    if (w->npool_buckets == w->cap_pool_buckets) {
        size_t cap = w->cap_pool_buckets ? w->cap_pool_buckets * 2 : 8;
        rp_pool_bucket_t **nb = realloc(w->pool_buckets, cap * sizeof(*nb));
        if (!nb)
            return NULL;
        w->pool_buckets = nb;
        w->cap_pool_buckets = cap;
    }
    rp_pool_bucket_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->addr = *addr;
    b->tls_key = tls_key;
    w->pool_buckets[w->npool_buckets++] = b;
    return b;
}

void rp_pool_free_buckets(rp_worker_t *w)
{
    for (size_t i = 0; i < w->npool_buckets; i++)
        free(w->pool_buckets[i]);
    free(w->pool_buckets);
    w->pool_buckets = NULL;
    w->npool_buckets = w->cap_pool_buckets = 0;
}

/* Takes u off the idle lists (the worker's and its bucket's). */
static void idle_unlink(rp_upconn_t *u)
{
    rp_worker_t *w = u->w;
    if (u->prev)
        u->prev->next = u->next;
    else
        w->idle = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->prev = u->next = NULL;
    w->nidle--;
    rp_pool_bucket_t *b = u->bucket;
    if (b) {
        if (u->bprev)
            u->bprev->bnext = u->bnext;
        else
            b->head = u->bnext;
        if (u->bnext)
            u->bnext->bprev = u->bprev;
        else
            b->tail = u->bprev;
        b->n--;
        u->bprev = u->bnext = NULL;
        u->bucket = NULL;
    }
}

static void idle_remove(rp_upconn_t *u)
{
    idle_unlink(u);
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
    rp_pool_bucket_t *b = bucket_find(w, addr, tls_key, 0);
    if (!b || !b->head)
        return NULL;
    rp_upconn_t *u = b->head; /* the newest: the least likely to be closed */
    idle_unlink(u);
    rp_timer_cancel(&w->loop, &u->timer);
    u->reused = 1;
    return u;
}

void rp_pool_put(rp_worker_t *w, rp_upconn_t *u, const rp_upstream_t *us)
{
    u->req = NULL;
    rp_pool_bucket_t *b =
        us->keepalive > 0 && !w->quitting ? bucket_find(w, &u->addr, u->tls_key, 1) : NULL;
    if (!b) {
        rp_upconn_free(u);
        return;
    }
    /* the cache holds at most `keepalive` per address: the oldest goes */
    while (b->n >= us->keepalive && b->tail)
        idle_remove(b->tail);
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
    u->bucket = b;
    u->bprev = NULL;
    u->bnext = b->head;
    if (b->head)
        b->head->bprev = u;
    else
        b->tail = u;
    b->head = u;
    b->n++;
}

void rp_pool_close_all(rp_worker_t *w)
{
    while (w->idle)
        idle_remove(w->idle);
}
