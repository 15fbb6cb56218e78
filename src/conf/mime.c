/* Content types by file extension (see mime.h).
 *
 * A sorted array and a binary search rather than a hash: Debian's
 * mime.types has ~110 extensions, so a lookup is about 7 short comparisons,
 * needs no tuning (nginx's types_hash_* directives exist only to size its
 * hash) and the comparison can fold case on the fly, so a request's
 * extension is never copied.
 */
#include "conf/mime.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"
#include "core/common.h"

/* Used when no level of the configuration has a `types` block. Kept in
 * ascending byte order of the extension (the unit tests check it): the
 * lookup is the same binary search as for configured tables. Types follow
 * nginx's mime.types where it has the extension, so a config moving
 * between the two serves the same headers; JavaScript is text/javascript
 * as RFC 9239, section 6 asks. */
#define E(ext, type)                                                                               \
    {                                                                                              \
        { ext, sizeof(ext) - 1 }, { type, sizeof(type) - 1 }, 0                                    \
    }
static const rp_mime_entry_t builtin_entries[] = {
    E("7z", "application/x-7z-compressed"),
    E("atom", "application/atom+xml"),
    E("avif", "image/avif"),
    E("bin", "application/octet-stream"),
    E("bmp", "image/x-ms-bmp"),
    E("css", "text/css"),
    E("csv", "text/csv"),
    E("eot", "application/vnd.ms-fontobject"),
    E("flac", "audio/flac"),
    E("gif", "image/gif"),
    E("gz", "application/gzip"),
    E("htm", "text/html"),
    E("html", "text/html"),
    E("ico", "image/x-icon"),
    E("jpeg", "image/jpeg"),
    E("jpg", "image/jpeg"),
    E("js", "text/javascript"),
    E("json", "application/json"),
    E("m4a", "audio/x-m4a"),
    E("map", "application/json"),
    E("md", "text/markdown"),
    E("mjs", "text/javascript"),
    E("mov", "video/quicktime"),
    E("mp3", "audio/mpeg"),
    E("mp4", "video/mp4"),
    E("ogg", "audio/ogg"),
    E("otf", "font/otf"),
    E("pdf", "application/pdf"),
    E("png", "image/png"),
    E("rss", "application/rss+xml"),
    E("svg", "image/svg+xml"),
    E("svgz", "image/svg+xml"),
    E("tar", "application/x-tar"),
    E("tif", "image/tiff"),
    E("tiff", "image/tiff"),
    E("ttf", "font/ttf"),
    E("txt", "text/plain"),
    E("wasm", "application/wasm"),
    E("wav", "audio/wav"),
    E("webm", "video/webm"),
    E("webmanifest", "application/manifest+json"),
    E("webp", "image/webp"),
    E("woff", "font/woff"),
    E("woff2", "font/woff2"),
    E("xhtml", "application/xhtml+xml"),
    E("xml", "text/xml"),
    E("yaml", "application/yaml"),
    E("yml", "application/yaml"),
    E("zip", "application/zip"),
};
#undef E

static const rp_mime_types_t builtin = {
    (rp_mime_entry_t *)builtin_entries,
    RP_ARRAY_LEN(builtin_entries),
    1,
};

const rp_mime_types_t *rp_mime_builtin(void)
{
    return &builtin;
}

/* Orders a probe (any case) against a lower-case key: bytes first, then
 * length, the order the table is sorted in. */
static int probe_cmp(rp_str_t probe, rp_str_t key)
{
    size_t n = RP_MIN(probe.len, key.len);
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)rp_lower(probe.data[i]);
        unsigned char b = (unsigned char)key.data[i];
        if (a != b)
            return a < b ? -1 : 1;
    }
    return probe.len < key.len ? -1 : probe.len > key.len ? 1 : 0;
}

rp_str_t rp_mime_lookup(const rp_mime_types_t *t, rp_str_t ext)
{
    if (!t || ext.len == 0)
        return RP_NULL_STR;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = probe_cmp(ext, t->entries[mid].ext);
        if (c == 0)
            return t->entries[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return RP_NULL_STR;
}

rp_str_t rp_mime_ext(rp_str_t path)
{
    /* scan back to the last '.', stopping at the segment's '/': a dot in a
     * directory name ("/v1.2/README") is no extension. As in nginx, a
     * leading dot counts (".htaccess" has extension "htaccess"). */
    for (size_t i = path.len; i > 0; i--) {
        char c = path.data[i - 1];
        if (c == '/')
            break;
        if (c == '.')
            return rp_str(path.data + i, path.len - i);
    }
    return rp_str(path.data, 0);
}

rp_str_t rp_mime_type(const rp_loc_conf_t *lc, rp_str_t path)
{
    /* a merged location always has a table; a NULL one (settings not
     * merged, e.g. built by hand) reads as "no types configured" */
    const rp_mime_types_t *t = lc->types ? lc->types : &builtin;
    rp_str_t ty = rp_mime_lookup(t, rp_mime_ext(path));
    if (ty.data)
        return ty;
    return lc->default_type.data ? lc->default_type : RP_STR("text/plain");
}

/* ---- building ---- */

int rp_mime_types_add(rp_arena_t *a, rp_mime_types_t *t, rp_str_t type, rp_str_t ext)
{
    RP_ASSERT(!t->finished);
    char *low = rp_arena_alloc(a, ext.len + 1);
    if (!low)
        return RP_ERROR;
    for (size_t i = 0; i < ext.len; i++)
        low[i] = rp_lower(ext.data[i]);
    low[ext.len] = '\0';
    rp_mime_entry_t *e = RP__PUSH(a, t->entries, t->n);
    if (!e)
        return RP_ERROR;
    e->ext = rp_str(low, ext.len);
    e->type = type;
    e->seq = (uint32_t)(t->n - 1);
    return RP_OK;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const rp_mime_entry_t *a = pa, *b = pb;
    int c = probe_cmp(a->ext, b->ext);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

void rp_mime_types_finish(rp_mime_types_t *t,
                          void (*dup)(void *ctx, rp_str_t ext, rp_str_t kept, rp_str_t dropped),
                          void *ctx)
{
    if (t->finished)
        return;
    t->finished = 1;
    if (t->n < 2)
        return;
    qsort(t->entries, t->n, sizeof(*t->entries), entry_cmp);
    /* equal extensions are now adjacent in definition order: keep the last */
    size_t out = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (out > 0 && rp_str_eq(t->entries[out - 1].ext, t->entries[i].ext)) {
            if (dup)
                dup(ctx, t->entries[i].ext, t->entries[i].type, t->entries[out - 1].type);
            t->entries[out - 1] = t->entries[i];
            continue;
        }
        t->entries[out++] = t->entries[i];
    }
    t->n = out;
}
