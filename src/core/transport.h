/* A byte transport over a connected socket: plain TCP is the null
 * transport (the connection code calls the socket directly, the fast path);
 * TLS plugs in through this table, so the HTTP code never names OpenSSL. */
#ifndef RP_CORE_TRANSPORT_H
#define RP_CORE_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

/* Besides byte counts (> 0) and 0 for an orderly end of stream, the calls
 * return one of these. */
#define RP_IO_ERROR (-1)
#define RP_IO_WANT_READ (-2)  /* call again when the socket is readable */
#define RP_IO_WANT_WRITE (-3) /* call again when the socket is writable */

typedef struct rp_transport_s {
    const char *name;
    /* Completes the handshake: RP_OK (0), RP_IO_WANT_*, or RP_IO_ERROR. */
    int (*handshake)(void *ctx);
    ssize_t (*recv)(void *ctx, void *buf, size_t len);
    ssize_t (*send)(void *ctx, const void *buf, size_t len);
    /* Says goodbye (TLS close_notify, best effort, never blocks) and frees
     * ctx. The socket itself is closed by the caller. */
    void (*close)(void *ctx);
} rp_transport_t;

#endif
