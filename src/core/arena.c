#include "core/arena.h"
#include "core/common.h"

#include <string.h>

struct rp_arena_chunk_s {
    rp_arena_chunk_t *next;
    size_t size;
    size_t used;
    /* data follows, max_align_t aligned */
    _Alignas(16) unsigned char data[];
};

struct rp_arena_cleanup_s {
    rp_arena_cleanup_t *next;
    void (*fn)(void *);
    void *data;
};

void rp_arena_init(rp_arena_t *a, size_t chunk_size)
{
    memset(a, 0, sizeof(*a));
    a->chunk_size = chunk_size ? chunk_size : 4096;
}

static rp_arena_chunk_t *new_chunk(rp_arena_t *a, size_t need)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    if (a->max_total && a->total + size > a->max_total)
        return NULL;
    rp_arena_chunk_t *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    a->total += size;
    return c;
}

void *rp_arena_alloc(rp_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    rp_arena_chunk_t *c = a->head;
    if (!c || c->size - c->used < n) {
        rp_arena_chunk_t *nc = new_chunk(a, n);
        if (!nc)
            return NULL;
        if (c && n > a->chunk_size / 4) {
            /* big block: keep the current chunk as head for small ones */
            nc->next = c->next;
            c->next = nc;
            nc->used = n;
            return nc->data;
        }
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void *rp_arena_calloc(rp_arena_t *a, size_t n)
{
    void *p = rp_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *rp_arena_strndup(rp_arena_t *a, const char *s, size_t n)
{
    char *p = rp_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rp_arena_strdup(rp_arena_t *a, const char *s)
{
    return rp_arena_strndup(a, s, strlen(s));
}

rp_str_t rp_arena_str(rp_arena_t *a, rp_str_t s)
{
    char *p = rp_arena_strndup(a, s.data ? s.data : "", s.len);
    if (!p)
        return RP_NULL_STR;
    return rp_str(p, s.len);
}

int rp_arena_add_cleanup(rp_arena_t *a, void (*fn)(void *), void *data)
{
    rp_arena_cleanup_t *c = rp_arena_alloc(a, sizeof(*c));
    if (!c)
        return RP_ERROR;
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
    return RP_OK;
}

static void run_cleanups(rp_arena_t *a)
{
    rp_arena_cleanup_t *c = a->cleanups;
    a->cleanups = NULL;
    while (c) {
        rp_arena_cleanup_t *next = c->next;
        c->fn(c->data);
        c = next;
    }
}

void rp_arena_reset(rp_arena_t *a)
{
    run_cleanups(a);
    rp_arena_chunk_t *c = a->head;
    if (!c)
        return;
    /* keep the last chunk (the oldest, usually chunk_size) */
    rp_arena_chunk_t *keep = NULL;
    while (c) {
        rp_arena_chunk_t *next = c->next;
        if (!keep && c->size == a->chunk_size && !next) {
            keep = c;
        } else {
            a->total -= c->size;
            free(c);
        }
        c = next;
    }
    a->head = keep;
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
}

void rp_arena_destroy(rp_arena_t *a)
{
    run_cleanups(a);
    rp_arena_chunk_t *c = a->head;
    while (c) {
        rp_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
