/* Worker threads and the listening sockets they share with the main thread.
 * Only the main thread calls these. */
#ifndef RP_PROXY_WORKER_H
#define RP_PROXY_WORKER_H

#include <stddef.h>

#include "conf/conf.h"

/* Makes sure every listen address of `conf` has one SO_REUSEPORT socket per
 * worker (sockets of addresses already open are kept: no lost SYNs across a
 * reload), and prepares per-generation balancer state. */
int rp_workers_prepare(rp_conf_t *conf, int nworkers, char *err, size_t errlen);
/* Starts the threads serving `conf`. */
int rp_workers_start(rp_conf_t *conf, char *err, size_t errlen);
/* Hands a new generation to every worker, waits until each has taken it,
 * then closes sockets no generation listens on any more. */
void rp_workers_publish(rp_conf_t *conf);
/* 1 = graceful (finish in-flight requests), 2 = fast. */
void rp_workers_quit(int how);
/* Waits for every worker to end; returns when all did. */
void rp_workers_join(void);

extern int rp_nworkers;

#endif
