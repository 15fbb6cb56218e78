/* Bump allocator freed in one go, with cleanup hooks. Used for config
 * generations (one arena each) and for requests. Not thread-safe: an arena
 * belongs to one owner. */
#ifndef RP_CORE_ARENA_H
#define RP_CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

typedef struct rp_arena_chunk_s rp_arena_chunk_t;
typedef struct rp_arena_cleanup_s rp_arena_cleanup_t;

typedef struct {
    rp_arena_chunk_t *head;
    rp_arena_cleanup_t *cleanups;
    size_t chunk_size;
    size_t total;     /* bytes allocated from the system */
    size_t max_total; /* 0 = unlimited; past it rp_arena_alloc returns NULL */
} rp_arena_t;

void rp_arena_init(rp_arena_t *a, size_t chunk_size);
/* Returns NULL on out-of-memory or when max_total would be exceeded. */
void *rp_arena_alloc(rp_arena_t *a, size_t n);
void *rp_arena_calloc(rp_arena_t *a, size_t n);
char *rp_arena_strdup(rp_arena_t *a, const char *s);
char *rp_arena_strndup(rp_arena_t *a, const char *s, size_t n);
/* Copies s into the arena; returns RP_NULL_STR with data NULL on failure. */
rp_str_t rp_arena_str(rp_arena_t *a, rp_str_t s);
/* Registers fn(data) to run when the arena is reset or destroyed (LIFO). */
int rp_arena_add_cleanup(rp_arena_t *a, void (*fn)(void *), void *data);
/* Frees everything except the first chunk, keeping the arena usable. */
void rp_arena_reset(rp_arena_t *a);
void rp_arena_destroy(rp_arena_t *a);

#endif
