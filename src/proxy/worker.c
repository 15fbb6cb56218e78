#include "proxy/worker.h"
#include "core/common.h"
#include "core/log.h"
#include "filter/filter.h"
#include "proxy/session.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int rp_nworkers;
rp_worker_t *rp_workers;

typedef struct {
    char text[64];
    rp_sockaddr_t addr;
    int *fds;
    int used;
} lsock_t;

static lsock_t *lsocks;
static size_t nlsocks;

static int open_listen(const rp_listen_t *ls, char *err, size_t errlen)
{
    const struct sockaddr *sa = (const struct sockaddr *)&ls->addr.addr;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket() %s failed (%d: %s)", ls->addr.text, errno, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (sa->sa_family == AF_INET6) {
        int v6only = ls->ipv6only;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    if (bind(fd, sa, ls->addr.addrlen) != 0) {
        snprintf(err, errlen, "bind() to %s failed (%d: %s)", ls->addr.text, errno,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, ls->backlog > 0 ? ls->backlog : 511) != 0) {
        snprintf(err, errlen, "listen() to %s failed (%d: %s)", ls->addr.text, errno,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* the generation last handed to the workers (main thread only) */
static rp_conf_t *published;

int rp_workers_prepare(rp_conf_t *conf, int nworkers, char *err, size_t errlen)
{
    rp_resolve_carry(conf, published);
    rp_health_carry(conf, published);
    for (size_t i = 0; i < nlsocks; i++)
        lsocks[i].used = 0;
    size_t added_from = nlsocks;
    for (size_t i = 0; i < conf->nlistens; i++) {
        const rp_listen_t *ls = &conf->listens[i];
        lsock_t *found = NULL;
        for (size_t j = 0; j < nlsocks; j++)
            if (strcmp(lsocks[j].text, ls->addr.text) == 0)
                found = &lsocks[j];
        if (found) {
            found->used = 1;
            continue;
        }
        lsock_t *n = realloc(lsocks, (nlsocks + 1) * sizeof(*n));
        if (!n) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        lsocks = n;
        lsock_t *l = &lsocks[nlsocks];
        memset(l, 0, sizeof(*l));
        snprintf(l->text, sizeof(l->text), "%s", ls->addr.text);
        l->addr = ls->addr;
        l->used = 1;
        l->fds = calloc((size_t)nworkers, sizeof(int));
        if (!l->fds) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        nlsocks++;
        for (int w = 0; w < nworkers; w++) {
            l->fds[w] = open_listen(ls, err, errlen);
            if (l->fds[w] < 0) {
                for (int k = 0; k < w; k++)
                    close(l->fds[k]);
                free(l->fds);
                nlsocks--;
                goto fail;
            }
        }
    }
    /* balancer state, shared by the workers so the weighted sequence is
     * the configured one whichever worker a connection lands on */
    for (size_t i = 0; i < conf->nupstreams; i++) {
        rp_upstream_t *us = conf->upstreams[i];
        if (rp_balance_prepare(us, &conf->arena) != RP_OK) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return RP_OK;
fail:
    /* close what this call opened; keep the sockets of the running config */
    while (nlsocks > added_from) {
        nlsocks--;
        for (int w = 0; w < nworkers; w++)
            close(lsocks[nlsocks].fds[w]);
        free(lsocks[nlsocks].fds);
    }
    for (size_t i = 0; i < nlsocks; i++)
        lsocks[i].used = 1;
    return RP_ERROR;
}

static void accept_cb(rp_io_t *io, uint32_t ev);

static rp_wgen_t *make_wgen(rp_conf_t *conf, rp_worker_t *w)
{
    rp_wgen_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->listens = calloc(conf->nlistens + 1, sizeof(*g->listens));
    if (!g->listens) {
        free(g);
        return NULL;
    }
    rp_conf_ref(conf);
    g->conf = conf;
    for (size_t i = 0; i < conf->nlistens; i++) {
        rp_wlisten_t *wl = &g->listens[g->nlistens++];
        wl->ls = &conf->listens[i];
        wl->conf = conf;
        wl->w = w;
        wl->fd = -1;
        for (size_t j = 0; j < nlsocks; j++)
            if (strcmp(lsocks[j].text, conf->listens[i].addr.text) == 0)
                wl->fd = lsocks[j].fds[w->id];
        wl->io.fd = wl->fd;
        wl->io.cb = accept_cb;
        wl->io.data = wl;
    }
    return g;
}

static void wgen_free(void *p)
{
    rp_wgen_t *g = p;
    rp_conf_unref(g->conf);
    free(g->listens);
    free(g);
}

static void set_max_conns(rp_worker_t *w)
{
    w->max_conns = w->gen->conf->worker_connections;
}

static void accept_resume(rp_timer_t *t)
{
    rp_worker_t *w = t->data;
    for (size_t i = 0; w->gen && i < w->gen->nlistens; i++) {
        rp_wlisten_t *wl = &w->gen->listens[i];
        if (wl->paused && !w->quitting) {
            wl->paused = 0;
            rp_loop_add(&w->loop, &wl->io, EPOLLIN);
        }
    }
}

/* Listen sockets are level-triggered and each readiness report accepts
 * one connection (nginx's multi_accept off): under light load that saves
 * the accept() that would only say EAGAIN, and under heavy load epoll keeps
 * reporting the socket while connections wait, interleaved fairly with the
 * other events of the batch. */
static void accept_cb(rp_io_t *io, uint32_t ev)
{
    rp_wlisten_t *wl = io->data;
    rp_worker_t *w = wl->w;
    if (w->quitting || wl->paused)
        return;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(wl->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: stop accepting for a moment instead of
                 * spinning on a readable listen socket we cannot serve */
                rp_log_error(RP_LOG_CRIT, "accept4() failed (%d: %s), pausing accepts", errno,
                             strerror(errno));
                wl->paused = 1;
                rp_loop_del(&w->loop, &wl->io);
                rp_timer_set(&w->loop, &w->accept_timer, 100);
                return;
            }
            rp_log_error(RP_LOG_ALERT, "accept4() failed (%d: %s)", errno, strerror(errno));
            return;
        }
        if (w->nconns >= w->max_conns) {
            /* past worker_connections: refuse this one cleanly and keep
             * serving the others */
            static __thread uint64_t last_warn;
            if (w->loop.now - last_warn > 1000) {
                rp_log_error(RP_LOG_WARN, "%d worker_connections are not enough, refusing",
                             w->max_conns);
                last_warn = w->loop.now;
            }
            close(fd);
            return;
        }
        rp_conn_accepted(w, fd, wl, (struct sockaddr *)&ss, len);
        return;
    }
}

static void quit_check(rp_timer_t *t)
{
    rp_worker_t *w = t->data;
    /* close idle keep-alive connections; busy ones finish their request */
    rp_conn_t *c = w->conns;
    while (c) {
        rp_conn_t *next = c->next;
        if (c->h2)
            rp_h2conn_goaway(c); /* streams in flight finish, then it closes */
        else if (!c->req && (!c->in.data || rp_buf_len(&c->in) == 0))
            rp_conn_close(c);
        c = next;
    }
    rp_pool_close_all(w);
    rp_access_log_flush(w, 0);
    if (w->nconns == 0)
        w->loop.stop = 1;
    else
        rp_timer_set(&w->loop, t, 100);
}

static void on_wake(rp_loop_t *loop)
{
    rp_worker_t *w = loop->data;
    pthread_mutex_lock(&w->lock);
    rp_wgen_t *ng = w->pending;
    w->pending = NULL;
    int quit = w->quit;
    pthread_mutex_unlock(&w->lock);
    if (ng) {
        rp_wgen_t *og = w->gen;
        for (size_t i = 0; og && i < og->nlistens; i++) {
            int keep = 0;
            for (size_t j = 0; j < ng->nlistens; j++)
                if (ng->listens[j].fd == og->listens[i].fd)
                    keep = 1;
            if (!keep && !og->listens[i].paused)
                rp_loop_del(loop, &og->listens[i].io);
        }
        for (size_t j = 0; j < ng->nlistens; j++) {
            int existed = 0;
            for (size_t i = 0; og && i < og->nlistens; i++)
                if (og->listens[i].fd == ng->listens[j].fd && !og->listens[i].paused)
                    existed = 1;
            if (w->quitting)
                continue;
            if (existed)
                rp_loop_mod(loop, &ng->listens[j].io, EPOLLIN);
            else
                rp_loop_add(loop, &ng->listens[j].io, EPOLLIN);
        }
        w->gen = ng;
        set_max_conns(w);
        if (!w->quitting) {
            rp_health_apply(w, ng->conf);
            rp_resolve_apply(w, ng->conf);
        }
        /* HTTP/2 connections of older generations are told to go away:
         * their streams finish, and the clients' next connections get the
         * new configuration (certificates included) */
        for (rp_conn_t *c = w->conns; c; c = c->next)
            if (c->h2 && c->conf != ng->conf)
                rp_h2conn_goaway(c);
        if (og)
            rp_loop_defer(loop, wgen_free, og);
    }
    if (quit == 2) {
        loop->stop = 1;
        return;
    }
    if (!w->quitting)
        rp_health_sync(w);
    if (quit == 1 && !w->quitting) {
        w->quitting = 1;
        rp_health_stop(w);
        rp_resolve_stop(w);
        for (size_t i = 0; w->gen && i < w->gen->nlistens; i++)
            if (!w->gen->listens[i].paused)
                rp_loop_del(loop, &w->gen->listens[i].io);
        static __thread rp_timer_t qt;
        rp_timer_init(&qt, quit_check, w);
        quit_check(&qt);
    }
}

static void accept_timer_cb(rp_timer_t *t)
{
    accept_resume(t);
}

static void tick_cb(rp_timer_t *t)
{
    rp_worker_t *w = t->data;
    rp_access_log_flush(w, 0);
    rp_timer_set(&w->loop, t, 1000);
}

static void *worker_main(void *arg)
{
    rp_worker_t *w = arg;
    rp_timer_init(&w->tick, tick_cb, w);
    rp_timer_set(&w->loop, &w->tick, 1000);
    rp_loop_run(&w->loop);
    /* fast exit or drained: close everything still open */
    rp_health_stop(w);
    rp_resolve_stop(w);
    while (w->conns)
        rp_conn_close(w->conns);
    rp_pool_close_all(w);
    rp_pool_free_buckets(w);
    rp_filter_thread_cleanup(); /* idle compression contexts */
    rp_access_log_flush(w, 1);
    return NULL;
}

int rp_workers_start(rp_conf_t *conf, char *err, size_t errlen)
{
    published = conf;
    rp_nworkers = conf->worker_processes;
    rp_workers = calloc((size_t)rp_nworkers, sizeof(*rp_workers));
    if (!rp_workers) {
        snprintf(err, errlen, "out of memory");
        return RP_ERROR;
    }
    for (int i = 0; i < rp_nworkers; i++) {
        rp_worker_t *w = &rp_workers[i];
        w->id = i;
        pthread_mutex_init(&w->lock, NULL);
        if (rp_loop_init(&w->loop) != RP_OK) {
            snprintf(err, errlen, "epoll_create1() failed (%d: %s)", errno, strerror(errno));
            return RP_ERROR;
        }
        w->loop.data = w;
        w->loop.on_wake = on_wake;
        rp_timer_init(&w->accept_timer, accept_timer_cb, w);
        w->pending = make_wgen(conf, w);
        if (!w->pending) {
            snprintf(err, errlen, "out of memory");
            return RP_ERROR;
        }
        rp_loop_wake(&w->loop);
    }
    for (int i = 0; i < rp_nworkers; i++) {
        rp_worker_t *w = &rp_workers[i];
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            snprintf(err, errlen, "pthread_create() failed");
            return RP_ERROR;
        }
        char name[24];
        snprintf(name, sizeof(name), "rampart-w%d", i);
        pthread_setname_np(w->tid, name);
    }
    return RP_OK;
}

void rp_workers_publish(rp_conf_t *conf)
{
    published = conf;
    for (int i = 0; i < rp_nworkers; i++) {
        rp_worker_t *w = &rp_workers[i];
        rp_wgen_t *g = make_wgen(conf, w);
        if (!g)
            continue;
        pthread_mutex_lock(&w->lock);
        rp_wgen_t *old = w->pending;
        w->pending = g;
        pthread_mutex_unlock(&w->lock);
        if (old)
            wgen_free(old);
        rp_loop_wake(&w->loop);
    }
    /* wait (bounded) until every worker took it, then close the sockets
     * that no generation uses any more */
    for (int tries = 0; tries < 500; tries++) {
        int pending = 0;
        for (int i = 0; i < rp_nworkers; i++) {
            pthread_mutex_lock(&rp_workers[i].lock);
            pending += rp_workers[i].pending != NULL;
            pthread_mutex_unlock(&rp_workers[i].lock);
        }
        if (!pending)
            break;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    size_t k = 0;
    for (size_t i = 0; i < nlsocks; i++) {
        if (!lsocks[i].used) {
            for (int w = 0; w < rp_nworkers; w++)
                close(lsocks[i].fds[w]);
            free(lsocks[i].fds);
            continue;
        }
        lsocks[k++] = lsocks[i];
    }
    nlsocks = k;
}

void rp_workers_quit(int how)
{
    for (int i = 0; i < rp_nworkers; i++) {
        rp_worker_t *w = &rp_workers[i];
        pthread_mutex_lock(&w->lock);
        if (how > w->quit)
            w->quit = how;
        pthread_mutex_unlock(&w->lock);
        rp_loop_wake(&w->loop);
    }
}

void rp_workers_join(void)
{
    for (int i = 0; i < rp_nworkers; i++)
        pthread_join(rp_workers[i].tid, NULL);
}
