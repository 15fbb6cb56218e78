/* Body filters (filter.h): the stage table, the codecs behind it (zlib,
 * libbrotli, libzstd) and the chain runner. */
#include "filter/filter.h"

#include <brotli/encode.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_srcSizeHint */
#include <zstd.h>

#include "http/accept_encoding.h"

/* ---- stages ---- */

enum stage_kind { K_DEFLATE = 0, K_INFLATE, K_BROTLI, K_ZSTD, K_COUNT };

struct rp_filter_stage_s {
    int kind;
    int table_pos; /* its filter's row in filter_table */
    int level;
    int finished;    /* FINISH done (deflate, brotli, zstd); inflate: between members */
    int started;     /* inflate: some input seen */
    int member_open; /* inflate: inside a gzip member */
    int padding;     /* inflate: bytes after a member that start no member:
                        the rest of the body is dropped */
    int pend;        /* a FLUSH or FINISH that ran out of room with all its
                        input taken: completed before new input is taken */
    /* deflate: output of a flush made when the caller's room was too small
     * for one (zlib needs a few bytes), handed out from here */
    unsigned char spill[64];
    size_t spill_pos, spill_len;
    union {
        z_stream z;
        BrotliEncoderState *br;
        ZSTD_CCtx *zc;
    } u;
    int z_ready; /* z / zc initialised (kept across reuse) */
    rp_filter_stage_t *next_free;
};

/* The order stages run in: one row per filter. */
static const struct {
    int id;
    const char *name;
} filter_table[RP_FILTER_COUNT] = {
    { RP_FILTER_GUNZIP, "gunzip" },
    { RP_FILTER_COMPRESS, "compress" },
};

const char *rp_filter_name(int id)
{
    for (int i = 0; i < RP_FILTER_COUNT; i++)
        if (filter_table[i].id == id)
            return filter_table[i].name;
    return "?";
}

static int table_pos(int id)
{
    for (int i = 0; i < RP_FILTER_COUNT; i++)
        if (filter_table[i].id == id)
            return i;
    return -1;
}

/* ---- per-thread pools ---- */

static __thread rp_filter_stage_t *pool[K_COUNT];
static __thread int npool[K_COUNT];

/* brotli has no reset: an encoder is made per response, its memory comes
 * from this cache of freed blocks (same level and window: same sizes) */
#define BR_CACHE 48
static __thread void *br_cache[BR_CACHE];
static __thread int nbr_cache;
static __thread size_t br_cached; /* bytes in br_cache */

typedef struct {
    size_t size;
    size_t pad; /* keeps the block 16-byte aligned */
} br_hdr_t;

static void *br_alloc(void *opaque, size_t size)
{
    (void)opaque;
    for (int i = nbr_cache - 1; i >= 0; i--) {
        br_hdr_t *h = br_cache[i];
        if (h->size == size) {
            br_cache[i] = br_cache[--nbr_cache];
            br_cached -= size;
            return h + 1;
        }
    }
    br_hdr_t *h = malloc(sizeof(*h) + size);
    if (!h)
        return NULL;
    h->size = size;
    return h + 1;
}

static void br_free(void *opaque, void *p)
{
    (void)opaque;
    if (!p)
        return;
    br_hdr_t *h = (br_hdr_t *)p - 1;
    if (nbr_cache < BR_CACHE && br_cached + h->size <= RP_FILTER_KEEP_MAX) {
        br_cache[nbr_cache++] = h;
        br_cached += h->size;
        return;
    }
    free(h);
}

static void stage_destroy(rp_filter_stage_t *s)
{
    if (s->z_ready) {
        if (s->kind == K_DEFLATE)
            deflateEnd(&s->u.z);
        else if (s->kind == K_INFLATE)
            inflateEnd(&s->u.z);
        else if (s->kind == K_ZSTD)
            ZSTD_freeCCtx(s->u.zc);
    }
    if (s->kind == K_BROTLI && s->u.br)
        BrotliEncoderDestroyInstance(s->u.br);
    free(s);
}

static rp_filter_stage_t *stage_get(int kind)
{
    rp_filter_stage_t *s = pool[kind];
    if (s) {
        pool[kind] = s->next_free;
        npool[kind]--;
        s->next_free = NULL;
        return s;
    }
    s = calloc(1, sizeof(*s));
    if (s)
        s->kind = kind;
    return s;
}

static void stage_put(rp_filter_stage_t *s)
{
    if (s->kind == K_BROTLI && s->u.br) {
        BrotliEncoderDestroyInstance(s->u.br);
        s->u.br = NULL;
    }
    /* a context grown by a high level is not kept idle */
    if (npool[s->kind] >= RP_FILTER_POOL_MAX ||
        (s->kind == K_ZSTD && s->z_ready && ZSTD_sizeof_CCtx(s->u.zc) > RP_FILTER_KEEP_MAX)) {
        stage_destroy(s);
        return;
    }
    s->next_free = pool[s->kind];
    pool[s->kind] = s;
    npool[s->kind]++;
}

void rp_filter_thread_cleanup(void)
{
    for (int k = 0; k < K_COUNT; k++) {
        while (pool[k]) {
            rp_filter_stage_t *s = pool[k];
            pool[k] = s->next_free;
            stage_destroy(s);
        }
        npool[k] = 0;
    }
    while (nbr_cache > 0)
        free(br_cache[--nbr_cache]);
    br_cached = 0;
}

/* Readies a stage for a new body. */
static int stage_start(rp_filter_stage_t *s, int level, int window_log, uint64_t size_hint)
{
    s->finished = s->started = s->member_open = s->padding = s->pend = 0;
    s->spill_pos = s->spill_len = 0;
    switch (s->kind) {
    case K_DEFLATE:
        if (!s->z_ready) {
            memset(&s->u.z, 0, sizeof(s->u.z));
            /* 31: a gzip wrapper around a 32 KiB window */
            if (deflateInit2(&s->u.z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -1;
            s->z_ready = 1;
            s->level = level;
            return 0;
        }
        if (deflateReset(&s->u.z) != Z_OK)
            return -1;
        if (s->level != level) {
            if (deflateParams(&s->u.z, level, Z_DEFAULT_STRATEGY) != Z_OK)
                return -1;
            s->level = level;
        }
        return 0;
    case K_INFLATE:
        if (!s->z_ready) {
            memset(&s->u.z, 0, sizeof(s->u.z));
            if (inflateInit2(&s->u.z, 16 + 15) != Z_OK) /* gzip only */
                return -1;
            s->z_ready = 1;
            return 0;
        }
        return inflateReset(&s->u.z) == Z_OK ? 0 : -1;
    case K_BROTLI:
        s->u.br = BrotliEncoderCreateInstance(br_alloc, br_free, NULL);
        if (!s->u.br)
            return -1;
        BrotliEncoderSetParameter(s->u.br, BROTLI_PARAM_QUALITY, (uint32_t)level);
        BrotliEncoderSetParameter(s->u.br, BROTLI_PARAM_LGWIN,
                                  (uint32_t)(window_log ? window_log : 19));
        if (size_hint)
            BrotliEncoderSetParameter(s->u.br, BROTLI_PARAM_SIZE_HINT,
                                      (uint32_t)(size_hint > (1u << 30) ? (1u << 30) : size_hint));
        return 0;
    case K_ZSTD:
        if (!s->z_ready) {
            s->u.zc = ZSTD_createCCtx();
            if (!s->u.zc)
                return -1;
            s->z_ready = 1;
        } else {
            ZSTD_CCtx_reset(s->u.zc, ZSTD_reset_session_and_parameters);
        }
        if (ZSTD_isError(ZSTD_CCtx_setParameter(s->u.zc, ZSTD_c_compressionLevel, level)))
            return -1;
        /* a 512 KiB window at most for bodies of unknown size (level 3
         * would take 2 MiB); a known size lets zstd size it itself */
        if (!size_hint)
            ZSTD_CCtx_setParameter(s->u.zc, ZSTD_c_windowLog, 19);
        else /* a hint, not a promise: a body of another size still codes */
            ZSTD_CCtx_setParameter(s->u.zc, ZSTD_c_srcSizeHint,
                                   (int)(size_hint > (1u << 30) ? (1u << 30) : size_hint));
        return 0;
    }
    return -1;
}

/* One codec call over one input and one output. Returns 1 when the mode's
 * work is complete (RUN: all input taken), 0 when output room ran out, -1
 * on an error. */
static int codec_step(rp_filter_stage_t *s, const unsigned char *in, size_t inlen, size_t *consumed,
                      unsigned char *out, size_t outcap, size_t *produced, int mode,
                      const char **err)
{
    *consumed = *produced = 0;
    switch (s->kind) {
    case K_DEFLATE: {
        z_stream *z = &s->u.z;
        if (s->finished)
            return 1;
        z->next_in = (unsigned char *)in;
        z->avail_in = (uInt)inlen;
        z->next_out = out;
        z->avail_out = (uInt)outcap;
        int flush = mode == RP_FILTER_FINISH  ? Z_FINISH
                    : mode == RP_FILTER_FLUSH ? Z_SYNC_FLUSH
                                              : Z_NO_FLUSH;
        int rc = Z_OK;
        while (z->avail_out > 0) {
            rc = deflate(z, flush);
            if (rc == Z_STREAM_END || rc == Z_BUF_ERROR)
                break;
            if (rc != Z_OK) {
                *err = "deflate failed";
                return -1;
            }
            if (z->avail_in == 0 && (flush == Z_NO_FLUSH || z->avail_out > 0))
                break;
        }
        *consumed = inlen - z->avail_in;
        *produced = outcap - z->avail_out;
        if (rc == Z_STREAM_END) {
            s->finished = 1;
            return 1;
        }
        if (z->avail_in)
            return 0;
        if (mode == RP_FILTER_RUN)
            return 1;
        if (mode == RP_FILTER_FLUSH)
            return z->avail_out > 0 ? 1 : 0;
        return 0; /* FINISH not reached yet */
    }
    case K_INFLATE: {
        z_stream *z = &s->u.z;
        size_t ci = 0, po = 0;
        for (;;) {
            if (ci == inlen && (mode == RP_FILTER_RUN || !s->member_open))
                break;
            if (s->padding) {
                ci = inlen;
                break;
            }
            if (!s->member_open && ci < inlen) {
                /* the start of a member; anything else after a complete
                 * member is padding, dropped with all that follows */
                if (s->started && in[ci] != 0x1f) {
                    s->padding = 1;
                    ci = inlen;
                    break;
                }
                if (s->started && inflateReset(z) != Z_OK) {
                    *err = "inflateReset failed";
                    return -1;
                }
                s->member_open = 1;
                s->started = 1;
            }
            z->next_in = (unsigned char *)in + ci;
            z->avail_in = (uInt)(inlen - ci);
            z->next_out = out + po;
            z->avail_out = (uInt)(outcap - po);
            int rc = inflate(z, Z_NO_FLUSH);
            size_t took = (inlen - ci) - z->avail_in;
            size_t gave = (outcap - po) - z->avail_out;
            ci += took;
            po += gave;
            if (rc == Z_STREAM_END) {
                s->member_open = 0;
                continue;
            }
            if (rc == Z_BUF_ERROR) {
                if (po == outcap)
                    break; /* out of room */
                if (ci == inlen && mode == RP_FILTER_FINISH) {
                    *consumed = ci;
                    *produced = po;
                    *err = "truncated gzip body";
                    return -1;
                }
                break; /* needs input */
            }
            if (rc != Z_OK) {
                *consumed = ci;
                *produced = po;
                *err = z->msg ? z->msg : "invalid gzip body";
                return -1;
            }
            if (po == outcap)
                break;
            if (took == 0 && gave == 0)
                break;
        }
        *consumed = ci;
        *produced = po;
        if (ci < inlen || po == outcap)
            return ci == inlen && mode == RP_FILTER_RUN ? 1 : 0;
        if (mode == RP_FILTER_FINISH && s->member_open) {
            *err = "truncated gzip body";
            return -1;
        }
        return 1;
    }
    case K_BROTLI: {
        if (s->finished)
            return 1;
        BrotliEncoderOperation op = mode == RP_FILTER_FINISH  ? BROTLI_OPERATION_FINISH
                                    : mode == RP_FILTER_FLUSH ? BROTLI_OPERATION_FLUSH
                                                              : BROTLI_OPERATION_PROCESS;
        size_t ain = inlen, aout = outcap;
        const uint8_t *nin = in;
        uint8_t *nout = out;
        for (;;) {
            if (!BrotliEncoderCompressStream(s->u.br, op, &ain, &nin, &aout, &nout, NULL)) {
                *err = "brotli failed";
                return -1;
            }
            if (aout == 0)
                break;
            if (op == BROTLI_OPERATION_FINISH  ? BrotliEncoderIsFinished(s->u.br)
                : op == BROTLI_OPERATION_FLUSH ? ain == 0 && !BrotliEncoderHasMoreOutput(s->u.br)
                                               : ain == 0)
                break;
        }
        *consumed = inlen - ain;
        *produced = outcap - aout;
        if (op == BROTLI_OPERATION_FINISH) {
            if (BrotliEncoderIsFinished(s->u.br)) {
                s->finished = 1;
                return 1;
            }
            return 0;
        }
        if (ain)
            return 0;
        if (op == BROTLI_OPERATION_FLUSH)
            return BrotliEncoderHasMoreOutput(s->u.br) ? 0 : 1;
        return 1;
    }
    case K_ZSTD: {
        if (s->finished)
            return 1;
        ZSTD_inBuffer ib = { in, inlen, 0 };
        ZSTD_outBuffer ob = { out, outcap, 0 };
        ZSTD_EndDirective d = mode == RP_FILTER_FINISH  ? ZSTD_e_end
                              : mode == RP_FILTER_FLUSH ? ZSTD_e_flush
                                                        : ZSTD_e_continue;
        size_t left;
        for (;;) {
            left = ZSTD_compressStream2(s->u.zc, &ob, &ib, d);
            if (ZSTD_isError(left)) {
                *err = ZSTD_getErrorName(left);
                return -1;
            }
            if (ob.pos == ob.size)
                break;
            if (d == ZSTD_e_continue ? ib.pos == ib.size : left == 0)
                break;
        }
        *consumed = ib.pos;
        *produced = ob.pos;
        if (d == ZSTD_e_continue)
            return ib.pos == ib.size ? 1 : 0;
        if (left == 0 && ib.pos == ib.size) {
            if (d == ZSTD_e_end)
                s->finished = 1;
            return 1;
        }
        return 0;
    }
    }
    *err = "unknown stage";
    return -1;
}

/* codec_step, with deflate's small rooms going through the spill. */
static int stage_step_room(rp_filter_stage_t *s, const unsigned char *in, size_t inlen,
                           size_t *consumed, unsigned char *out, size_t outcap, size_t *produced,
                           int mode, const char **err)
{
    if (s->kind != K_DEFLATE || outcap >= 16 || s->finished)
        return codec_step(s, in, inlen, consumed, out, outcap, produced, mode, err);
    size_t p = 0;
    int rc = codec_step(s, in, inlen, consumed, s->spill, sizeof(s->spill), &p, mode, err);
    if (rc < 0)
        return -1;
    size_t n = p < outcap ? p : outcap;
    memcpy(out, s->spill, n);
    s->spill_pos = n;
    s->spill_len = p;
    *produced = n;
    if (n < p)
        return 0; /* the rest is handed out by the next calls */
    return rc;
}

/* A stage over one input and one output: the codec call, plus a flush or
 * finish left pending (completed before new input goes in: brotli refuses
 * input in the middle of one), plus deflate's spill for rooms too small for
 * a flush. Same results as codec_step. */
static int stage_step(rp_filter_stage_t *s, const unsigned char *in, size_t inlen, size_t *consumed,
                      unsigned char *out, size_t outcap, size_t *produced, int mode,
                      const char **err)
{
    *consumed = *produced = 0;
    size_t p0 = 0;
    if (s->spill_pos < s->spill_len) {
        size_t n = s->spill_len - s->spill_pos;
        if (n > outcap)
            n = outcap;
        memcpy(out, s->spill + s->spill_pos, n);
        s->spill_pos += n;
        p0 = n;
        if (s->spill_pos < s->spill_len) {
            *produced = p0;
            return 0;
        }
    }
    if (s->pend) {
        size_t c = 0, p = 0;
        int rc = p0 == outcap
                     ? 0
                     : stage_step_room(s, NULL, 0, &c, out + p0, outcap - p0, &p, s->pend, err);
        if (rc < 0)
            return -1;
        p0 += p;
        if (rc == 0) {
            *produced = p0;
            return 0;
        }
        s->pend = 0;
    }
    size_t c = 0, p = 0;
    int rc =
        p0 == outcap ? 0 : stage_step_room(s, in, inlen, &c, out + p0, outcap - p0, &p, mode, err);
    if (rc < 0)
        return -1;
    *consumed = c;
    *produced = p0 + p;
    if (rc == 0 && mode != RP_FILTER_RUN && c == inlen)
        s->pend = mode;
    return rc;
}

/* ---- chains ---- */

int rp_filter_chain_add(rp_filter_chain_t *ch, int id, int coding, int level, int window_log,
                        uint64_t size_hint)
{
    int pos = table_pos(id);
    if (pos < 0 || ch->nstages >= RP_FILTER_MAX_STAGES)
        return -1;
    if (ch->nstages > 0 && ch->stage[ch->nstages - 1]->table_pos >= pos)
        return -1; /* stages keep the table's order */
    int kind;
    if (id == RP_FILTER_GUNZIP)
        kind = K_INFLATE;
    else if (coding == RP_CE_GZIP)
        kind = K_DEFLATE;
    else if (coding == RP_CE_BR)
        kind = K_BROTLI;
    else if (coding == RP_CE_ZSTD)
        kind = K_ZSTD;
    else
        return -1;
    if (ch->nstages > 0) {
        int i = ch->nstages - 1;
        if (!ch->mid[i]) {
            ch->mid[i] = malloc(RP_FILTER_MID_SIZE);
            if (!ch->mid[i])
                return -1;
        }
        ch->mid_pos[i] = ch->mid_last[i] = 0;
    }
    rp_filter_stage_t *s = stage_get(kind);
    if (!s)
        return -1;
    if (stage_start(s, level, window_log, size_hint) != 0) {
        stage_destroy(s);
        return -1;
    }
    s->table_pos = pos;
    ch->stage[ch->nstages++] = s;
    ch->done = 0;
    return 0;
}

int rp_filter_chain_run(rp_filter_chain_t *ch, const unsigned char *in, size_t inlen,
                        size_t *consumed, unsigned char *out, size_t outcap, size_t *produced,
                        int mode)
{
    *consumed = *produced = 0;
    if (ch->done)
        return 1;
    if (mode < ch->pending)
        mode = ch->pending;
    int n = ch->nstages;
    for (int iter = 0; iter < 1000000; iter++) {
        int moved = 0, complete = 1;
        for (int i = 0; i < n; i++) {
            const unsigned char *src;
            size_t srclen;
            if (i == 0) {
                src = in ? in + *consumed : in;
                srclen = inlen - *consumed;
            } else {
                src = ch->mid[i - 1] + ch->mid_pos[i - 1];
                srclen = ch->mid_last[i - 1] - ch->mid_pos[i - 1];
            }
            unsigned char *dst;
            size_t dstcap;
            if (i == n - 1) {
                dst = out + *produced;
                dstcap = outcap - *produced;
            } else {
                if (ch->mid_pos[i] == ch->mid_last[i])
                    ch->mid_pos[i] = ch->mid_last[i] = 0;
                else if (ch->mid_pos[i] > RP_FILTER_MID_SIZE / 2) {
                    memmove(ch->mid[i], ch->mid[i] + ch->mid_pos[i],
                            ch->mid_last[i] - ch->mid_pos[i]);
                    ch->mid_last[i] -= ch->mid_pos[i];
                    ch->mid_pos[i] = 0;
                }
                dst = ch->mid[i] + ch->mid_last[i];
                dstcap = RP_FILTER_MID_SIZE - ch->mid_last[i];
            }
            /* a stage completes a flush or finish only once everything
             * before it has */
            int m = complete ? mode : RP_FILTER_RUN;
            size_t c = 0, p = 0;
            int rc = dstcap
                         ? stage_step(ch->stage[i], src, srclen, &c, dst, dstcap, &p, m, &ch->error)
                         : 0;
            if (rc < 0)
                return -1;
            if (i == 0)
                *consumed += c;
            else
                ch->mid_pos[i - 1] += c;
            if (i == n - 1)
                *produced += p;
            else
                ch->mid_last[i] += p;
            if (c || p)
                moved = 1;
            complete = complete && rc == 1 && c == srclen && m == mode;
        }
        if (mode == RP_FILTER_RUN) {
            if (*consumed == inlen)
                return 1;
        } else if (complete) {
            if (mode == RP_FILTER_FINISH)
                ch->done = 1;
            ch->pending = 0;
            return 1;
        }
        if (!moved)
            break;
    }
    ch->pending = mode;
    return 0;
}

void rp_filter_chain_release(rp_filter_chain_t *ch)
{
    for (int i = 0; i < ch->nstages; i++)
        stage_put(ch->stage[i]);
    for (int i = 0; i < RP_FILTER_MAX_STAGES - 1; i++) {
        free(ch->mid[i]);
        ch->mid[i] = NULL;
    }
    ch->nstages = 0;
    ch->done = 0;
    ch->pending = 0;
}
