#include "tls/transport.h"
#include "core/common.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/tls.h"

static int want(SSL *s, int rc)
{
    switch (SSL_get_error(s, rc)) {
    case SSL_ERROR_WANT_READ:
        return RP_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return RP_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        /* EOF without close_notify: the peer is gone; no data is lost
         * that framing would not catch */
        ERR_clear_error();
        return errno == 0 ? 0 : RP_IO_ERROR;
    default:
        ERR_clear_error();
        return RP_IO_ERROR;
    }
}

static int tls_handshake(void *ctx)
{
    SSL *s = ctx;
    ERR_clear_error();
    int rc = SSL_do_handshake(s);
    if (rc == 1)
        return RP_OK;
    int w = want(s, rc);
    return w == 0 ? RP_IO_ERROR : w;
}

static ssize_t tls_recv(void *ctx, void *buf, size_t len)
{
    SSL *s = ctx;
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(s, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0)
        return n;
    return want(s, n);
}

static ssize_t tls_send(void *ctx, const void *buf, size_t len)
{
    SSL *s = ctx;
    if (len == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(s, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0)
        return n;
    int w = want(s, n);
    return w == 0 ? RP_IO_ERROR : w;
}

static void tls_close(void *ctx)
{
    SSL *s = ctx;
    if (SSL_is_init_finished(s)) {
        /* one non-blocking close_notify; no waiting for the peer's */
        ERR_clear_error();
        SSL_shutdown(s);
    }
    ERR_clear_error();
    SSL_free(s);
}

const rp_transport_t rp_tls_transport = {
    .name = "tls",
    .handshake = tls_handshake,
    .recv = tls_recv,
    .send = tls_send,
    .close = tls_close,
};

void *rp_tls_conn_new(void *ssl_ctx, int fd, const void *listen)
{
    SSL *s = SSL_new(ssl_ctx);
    if (!s)
        return NULL;
    /* our output buffers move (compaction) and writes may be partial */
    SSL_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_set_fd(s, fd)) {
        SSL_free(s);
        return NULL;
    }
    /* read whole records (and what follows) in one read() instead of a
     * 5-byte header read and a body read; the connection code keeps
     * reading until the library says WANT_READ, so nothing buffered inside
     * is ever stranded by edge-triggered epoll */
    SSL_set_read_ahead(s, 1);
    SSL_set_ex_data(s, rp_tls_listen_idx, (void *)listen);
    SSL_set_accept_state(s);
    return s;
}
