/* Body filters: streaming transforms of a response body (gunzip, then
 * compression with gzip, brotli or zstd), run in the order of one explicit
 * table (filter.c). A response uses a chain of the stages it needs; each
 * stage consumes bytes and produces bytes into bounded buffers, so memory
 * per response stays fixed whatever the body size.
 *
 * Codec contexts are reused: each thread keeps its idle deflate, inflate
 * and zstd contexts and hands them to the next response (reset, not freed),
 * and brotli's allocations go through a per-thread cache of blocks, so a
 * busy worker does not allocate per response.
 */
#ifndef RP_FILTER_FILTER_H
#define RP_FILTER_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* The stages, in the order they run on a body. */
enum rp_filter_id {
    RP_FILTER_GUNZIP = 0, /* gzip -> identity (gunzip on) */
    RP_FILTER_COMPRESS,   /* identity -> gzip, br or zstd */
    RP_FILTER_COUNT
};

/* How much a run must push out. */
enum rp_filter_mode {
    RP_FILTER_RUN = 0, /* consume input; output may be held back */
    RP_FILTER_FLUSH,   /* everything given so far must come out (decodable) */
    RP_FILTER_FINISH,  /* the body ended: complete the stream */
};

typedef struct rp_filter_stage_s rp_filter_stage_t;

#define RP_FILTER_MAX_STAGES RP_FILTER_COUNT

typedef struct rp_filter_chain_s {
    rp_filter_stage_t *stage[RP_FILTER_MAX_STAGES];
    int nstages;
    /* bytes between stage i and i + 1 */
    unsigned char *mid[RP_FILTER_MAX_STAGES - 1];
    size_t mid_pos[RP_FILTER_MAX_STAGES - 1], mid_last[RP_FILTER_MAX_STAGES - 1];
    int done;    /* FINISH completed */
    int pending; /* a FLUSH or FINISH ran out of room: later runs go on with it */
    const char *error;
} rp_filter_chain_t;

#define RP_FILTER_MID_SIZE 16384

/* Names and parsing of the codings (RP_CE_* of http/accept_encoding.h). */
const char *rp_filter_name(int id);

/* Adds a stage to an empty or partial chain; stages must be added in table
 * order. `coding` is RP_CE_GZIP/BR/ZSTD for RP_FILTER_COMPRESS (unused for
 * gunzip); `level` the coding's level; `window_log` brotli's window (0 =
 * default); `size_hint` the body size when known, else 0. Returns 0, or -1
 * (out of memory, bad order). */
int rp_filter_chain_add(rp_filter_chain_t *ch, int id, int coding, int level, int window_log,
                        uint64_t size_hint);

/* Runs the chain over in[0..inlen): *consumed input bytes were taken and
 * *produced bytes written to out (at most outcap).
 * Returns 1 when the mode's work is complete (RUN: all input taken; FLUSH:
 * all of it pushed out; FINISH: the stream ended), 0 when it needs more
 * output room (call again with the rest of the input), -1 on an error (a
 * corrupt or truncated gzip body for gunzip; ch->error says what). */
int rp_filter_chain_run(rp_filter_chain_t *ch, const unsigned char *in, size_t inlen,
                        size_t *consumed, unsigned char *out, size_t outcap, size_t *produced,
                        int mode);

/* Gives the contexts back to the thread's pool; the chain is empty after. */
void rp_filter_chain_release(rp_filter_chain_t *ch);

/* Frees the calling thread's idle contexts (a worker thread ending). */
void rp_filter_thread_cleanup(void);

/* Idle contexts kept per thread and per kind; a zstd context, and the
 * thread's cache of brotli blocks, larger than RP_FILTER_KEEP_MAX are freed
 * rather than kept (high levels). */
#define RP_FILTER_POOL_MAX 8
#define RP_FILTER_KEEP_MAX (8u << 20)

#endif
