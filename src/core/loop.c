#include "core/loop.h"
#include "core/common.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

uint64_t rp_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rp_loop_update_time(rp_loop_t *loop)
{
    loop->now = rp_time_ms();
}

static void wake_cb(rp_io_t *io, uint32_t events)
{
    rp_loop_t *loop = io->data;
    uint64_t v;
    while (read(loop->wake_fd, &v, sizeof(v)) > 0) {
    }
    if (loop->on_wake)
        loop->on_wake(loop);
}

int rp_loop_init(rp_loop_t *loop)
{
    memset(loop, 0, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return RP_ERROR;
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wake_fd < 0) {
        close(loop->epfd);
        return RP_ERROR;
    }
    loop->wake_io.fd = loop->wake_fd;
    loop->wake_io.cb = wake_cb;
    loop->wake_io.data = loop;
    if (rp_loop_add(loop, &loop->wake_io, EPOLLIN | EPOLLET) != RP_OK)
        return RP_ERROR;
    loop->now = rp_time_ms();
    return RP_OK;
}

void rp_loop_free(rp_loop_t *loop)
{
    close(loop->epfd);
    close(loop->wake_fd);
    free(loop->heap);
    loop->heap = NULL;
    free(loop->deferred);
    loop->deferred = NULL;
}

int rp_loop_add(rp_loop_t *loop, rp_io_t *io, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) == 0 ? RP_OK : RP_ERROR;
}

int rp_loop_mod(rp_loop_t *loop, rp_io_t *io, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) == 0 ? RP_OK : RP_ERROR;
}

int rp_loop_del(rp_loop_t *loop, rp_io_t *io)
{
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) == 0 ? RP_OK : RP_ERROR;
}

void rp_loop_wake(rp_loop_t *loop)
{
    uint64_t one = 1;
    ssize_t n = write(loop->wake_fd, &one, sizeof(one));
    (void)n;
}

/* ---- timer heap (1-based slots so 0 means "not armed") ---- */

static void heap_swap(rp_loop_t *l, size_t a, size_t b)
{
    rp_timer_t *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->slot = a + 1;
    l->heap[b]->slot = b + 1;
}

static void heap_up(rp_loop_t *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->when <= l->heap[i]->when)
            break;
        heap_swap(l, i, p);
        i = p;
    }
}

static void heap_down(rp_loop_t *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && l->heap[a]->when < l->heap[m]->when)
            m = a;
        if (b < l->nheap && l->heap[b]->when < l->heap[m]->when)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void rp_timer_init(rp_timer_t *t, void (*cb)(rp_timer_t *), void *data)
{
    t->when = 0;
    t->slot = 0;
    t->cb = cb;
    t->data = data;
}

void rp_timer_cancel(rp_loop_t *l, rp_timer_t *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    size_t last = l->nheap - 1;
    if (i != last) {
        heap_swap(l, i, last);
        l->nheap--;
        heap_down(l, i);
        heap_up(l, i);
    } else {
        l->nheap--;
    }
    t->slot = 0;
    t->when = 0;
}

void rp_timer_set(rp_loop_t *l, rp_timer_t *t, uint64_t ms)
{
    uint64_t when = l->now + ms;
    if (t->slot) {
        if (t->when == when)
            return;
        uint64_t old = t->when;
        t->when = when;
        if (when > old)
            heap_down(l, t->slot - 1);
        else
            heap_up(l, t->slot - 1);
        return;
    }
    if (l->nheap == l->capheap) {
        size_t cap = l->capheap ? l->capheap * 2 : 256;
        rp_timer_t **h = realloc(l->heap, cap * sizeof(*h));
        RP_ASSERT(h != NULL);
        l->heap = h;
        l->capheap = cap;
    }
    t->when = when;
    l->heap[l->nheap] = t;
    t->slot = ++l->nheap;
    heap_up(l, l->nheap - 1);
}

static void run_timers(rp_loop_t *l)
{
    while (l->nheap && l->heap[0]->when <= l->now) {
        rp_timer_t *t = l->heap[0];
        rp_timer_cancel(l, t);
        t->cb(t);
    }
}

void rp_loop_defer(rp_loop_t *l, void (*fn)(void *), void *p)
{
    if (l->ndeferred == l->capdeferred) {
        size_t cap = l->capdeferred ? l->capdeferred * 2 : 64;
        struct rp_deferred_s *d = realloc(l->deferred, cap * sizeof(*d));
        RP_ASSERT(d != NULL);
        l->deferred = d;
        l->capdeferred = cap;
    }
    l->deferred[l->ndeferred].fn = fn;
    l->deferred[l->ndeferred].p = p;
    l->ndeferred++;
}

static void run_deferred(rp_loop_t *l)
{
    for (size_t i = 0; i < l->ndeferred; i++)
        l->deferred[i].fn(l->deferred[i].p);
    l->ndeferred = 0;
}

void rp_loop_run(rp_loop_t *l)
{
    struct epoll_event evs[256];
    while (!l->stop) {
        int timeout = -1;
        if (l->nheap) {
            uint64_t w = l->heap[0]->when;
            timeout = w <= l->now ? 0 : (int)RP_MIN(w - l->now, 60000);
        }
        int n = epoll_wait(l->epfd, evs, (int)RP_ARRAY_LEN(evs), timeout);
        rp_loop_update_time(l);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            rp_io_t *io = evs[i].data.ptr;
            if (io->cb)
                io->cb(io, evs[i].events);
        }
        run_timers(l);
        run_deferred(l);
    }
}
