/* Per-worker buffer free list: request buffers are the hot allocation, and
 * idle connections hold none (they are released when a connection idles). */
#include "core/common.h"
#include "proxy/session.h"

#include <string.h>

int rp_buf_alloc(rp_worker_t *w, rp_buf_t *b, size_t cap)
{
    if (b->data)
        return RP_OK;
    int k = cap == RP_BUF_SIZE ? 0 : cap == RP_BUF_BIG ? 1 : -1;
    if (k >= 0 && w->nfree[k]) {
        b->data = w->free_bufs[k][--w->nfree[k]];
    } else {
        b->data = malloc(cap);
        if (!b->data)
            return RP_ERROR;
    }
    b->cap = cap;
    b->pos = b->last = 0;
    return RP_OK;
}

void rp_buf_release(rp_worker_t *w, rp_buf_t *b)
{
    if (!b->data)
        return;
    int k = b->cap == RP_BUF_SIZE ? 0 : b->cap == RP_BUF_BIG ? 1 : -1;
    /* keep a bounded number: enough for bursts, not a hoard after one */
    if (k >= 0 && w->nfree[k] < 256) {
        if (w->nfree[k] == w->capfree[k]) {
            size_t cap = w->capfree[k] ? w->capfree[k] * 2 : 64;
            char **f = realloc(w->free_bufs[k], cap * sizeof(*f));
            if (!f) {
                free(b->data);
                goto out;
            }
            w->free_bufs[k] = f;
            w->capfree[k] = cap;
        }
        w->free_bufs[k][w->nfree[k]++] = b->data;
    } else {
        free(b->data);
    }
out:
    b->data = NULL;
    b->cap = b->pos = b->last = 0;
}

void rp_buf_compact(rp_buf_t *b)
{
    if (b->pos == 0)
        return;
    size_t n = b->last - b->pos;
    if (n)
        memmove(b->data, b->data + b->pos, n);
    b->pos = 0;
    b->last = n;
}

int rp_buf_resize(rp_worker_t *w, rp_buf_t *b, size_t cap)
{
    size_t len = b->last - b->pos;
    char *d = malloc(cap);
    if (!d)
        return RP_ERROR;
    if (len)
        memcpy(d, b->data + b->pos, len);
    rp_buf_release(w, b);
    b->data = d;
    b->cap = cap;
    b->pos = 0;
    b->last = len;
    return RP_OK;
}

int rp_buf_append(rp_worker_t *w, rp_buf_t *b, const char *p, size_t n, size_t max)
{
    if (!b->data && rp_buf_alloc(w, b, RP_BUF_SIZE) != RP_OK)
        return RP_ERROR;
    if (rp_buf_room(b) < n)
        rp_buf_compact(b);
    if (rp_buf_room(b) < n) {
        size_t need = b->last + n;
        if (need > max)
            return RP_ERROR;
        size_t cap = b->cap * 2;
        while (cap < need)
            cap *= 2;
        if (cap > max)
            cap = max;
        if (rp_buf_resize(w, b, cap) != RP_OK)
            return RP_ERROR;
    }
    memcpy(b->data + b->last, p, n);
    b->last += n;
    return RP_OK;
}
