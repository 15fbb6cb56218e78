/* Content types by file extension: the `types { type ext ...; }` table of a
 * location, and the lookup used when a file is served from disk.
 *
 * A table is built while the configuration is read (entries land in the
 * generation's arena), then sorted once by rp_mime_types_finish(); lookups
 * are a binary search over lower-case keys with no allocation, so the
 * request path can call rp_mime_type() freely. A finished table is
 * immutable and shared by every worker.
 */
#ifndef RP_CONF_MIME_H
#define RP_CONF_MIME_H

#include <stdint.h>

#include "conf/conf.h"
#include "core/arena.h"
#include "core/str.h"

typedef struct {
    rp_str_t ext;  /* lower-case, without the dot */
    rp_str_t type; /* as written: "text/html", "text/html; charset=utf-8" */
    uint32_t seq;  /* order of definition; the last definition wins */
} rp_mime_entry_t;

struct rp_mime_types_s {
    rp_mime_entry_t *entries; /* sorted by ext once finished */
    size_t n;
    int finished;
};
typedef struct rp_mime_types_s rp_mime_types_t;

/* Content-Type for the file `path` (a URI path or a file-system path):
 * looks the extension (the part after the last '.' of the last '/'
 * segment, compared ASCII case-insensitively) up in lc's effective types
 * table — the built-in table when no `types` block is configured at any
 * level — and falls back to lc->default_type. The result points into the
 * generation (or static storage) and lives as long as the generation. */
rp_str_t rp_mime_type(const rp_loc_conf_t *lc, rp_str_t path);

/* The extension of `path` as rp_mime_type() sees it (empty when none). */
rp_str_t rp_mime_ext(rp_str_t path);

/* Looks `ext` (any case) up in t; RP_NULL_STR when absent. t must be
 * finished (or the built-in table). */
rp_str_t rp_mime_lookup(const rp_mime_types_t *t, rp_str_t ext);

/* The compiled-in table used when no `types` block is configured. */
const rp_mime_types_t *rp_mime_builtin(void);

/* Building (configuration load only). rp_mime_types_add copies ext
 * (lower-cased) into a; `type` must already live in a. Returns RP_OK or
 * RP_ERROR (out of memory). */
int rp_mime_types_add(rp_arena_t *a, rp_mime_types_t *t, rp_str_t type, rp_str_t ext);
/* Sorts the table and drops all but the last definition of each extension,
 * as nginx does (it warns about the duplicate; so do we, through the
 * callback when given: ext, the type kept, the type dropped). Idempotent. */
void rp_mime_types_finish(rp_mime_types_t *t,
                          void (*dup)(void *ctx, rp_str_t ext, rp_str_t kept, rp_str_t dropped),
                          void *ctx);

#endif
