/* Per-thread event loop: edge-triggered epoll, a timer heap and a cached
 * clock. A loop belongs to one thread; nothing here is thread-safe except
 * rp_loop_wake. The loop knows descriptors and callbacks, never protocols. */
#ifndef RP_CORE_LOOP_H
#define RP_CORE_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct rp_loop_s rp_loop_t;
typedef struct rp_io_s rp_io_t;
typedef struct rp_timer_s rp_timer_t;

/* An I/O watcher. `events` passed to cb are EPOLL* bits. */
struct rp_io_s {
    int fd;
    void (*cb)(rp_io_t *io, uint32_t events);
    void *data;
};

struct rp_timer_s {
    uint64_t when; /* ms, monotonic; 0 = not armed */
    size_t slot;   /* heap index + 1; 0 = not in the heap */
    void (*cb)(rp_timer_t *t);
    void *data;
};

struct rp_loop_s {
    int epfd;
    int wake_fd; /* eventfd */
    rp_io_t wake_io;
    void (*on_wake)(rp_loop_t *loop);
    rp_timer_t **heap;
    size_t nheap, capheap;
    uint64_t now; /* cached monotonic ms */
    int stop;
    void *data;
    /* objects freed after the current batch of events, so a callback never
     * frees something a later event of the same batch points to */
    struct rp_deferred_s *deferred;
    size_t ndeferred, capdeferred;
};

struct rp_deferred_s {
    void (*fn)(void *);
    void *p;
};

/* Calls fn(p) after the current batch of events. */
void rp_loop_defer(rp_loop_t *loop, void (*fn)(void *), void *p);

int rp_loop_init(rp_loop_t *loop);
void rp_loop_free(rp_loop_t *loop);
/* Registers fd edge-triggered for EPOLLIN|EPOLLOUT|EPOLLRDHUP (or `events`). */
int rp_loop_add(rp_loop_t *loop, rp_io_t *io, uint32_t events);
int rp_loop_mod(rp_loop_t *loop, rp_io_t *io, uint32_t events);
int rp_loop_del(rp_loop_t *loop, rp_io_t *io);
/* Runs until loop->stop is set, one epoll_wait batch at a time. */
void rp_loop_run(rp_loop_t *loop);
/* Thread-safe: makes the loop call on_wake soon. */
void rp_loop_wake(rp_loop_t *loop);

void rp_timer_init(rp_timer_t *t, void (*cb)(rp_timer_t *), void *data);
/* Arms (or re-arms) t to fire `ms` from loop->now. */
void rp_timer_set(rp_loop_t *loop, rp_timer_t *t, uint64_t ms);
void rp_timer_cancel(rp_loop_t *loop, rp_timer_t *t);
static inline int rp_timer_armed(const rp_timer_t *t)
{
    return t->slot != 0;
}

uint64_t rp_time_ms(void); /* monotonic */
void rp_loop_update_time(rp_loop_t *loop);

#endif
