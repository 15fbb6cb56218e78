/* Body filters (src/filter/filter.c): gunzip and gzip/br/zstd compression
 * run as a chain, driven exactly as a caller drives it (0 = call again with
 * more room and the rest of the input, 1 = the mode's work is done). Every
 * output is checked with an independent streaming decoder (zlib inflate,
 * libbrotlidec, libzstd), every call with guard bytes past the output room.
 *
 * A check marked KNOWN_BUG guards a bug these tests found in filter.c and
 * that was fixed (deflate flushes into tiny rooms, padding between gzip
 * members, zstd size hints): it fails with the case printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <brotli/decode.h>
#include <malloc.h>
#include <pthread.h>
#include <zlib.h>
#include <zstd.h>

#include "filter/filter.h"
#include "http/accept_encoding.h"

#define G RP_CE_GZIP
#define B RP_CE_BR
#define Z RP_CE_ZSTD
#define NONE RP_CE_IDENTITY

#define KIB 1024u
#define MIB (1024u * 1024u)
#define GUARD 32

/* Checks that once recorded bugs of filter.c (fixed since): a failure
 * prints the case. */
#define KNOWN_BUG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_message("REGRESSION: " __VA_ARGS__);                                             \
            print_message("\n");                                                                   \
            fail_msg("regression of a fixed filter.c bug");                                        \
        }                                                                                          \
    } while (0)

/* ---- growable byte buffers ---- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n)
{
    if (!n)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- test data ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

enum { DATA_RANDOM = 0, DATA_TEXT };

static const char *const words[] = {
    "the",
    "proxy",
    "upstream",
    "header",
    "compress",
    "stream",
    "body",
    "server",
    "gzip",
    "brotli",
    "zstd",
    "request",
    "window",
    "location",
    "response",
    "lorem",
    "ipsum",
    "dolor",
    "Content-Type:",
    "amet",
    "rampart",
    "return",
    "value",
    "a",
    "of",
    "<div class=\"x\">",
    "</div>",
    "\n",
    "function",
    "buffer",
    "chunk",
    "Transfer-Encoding",
    "keep-alive",
    "200",
    "OK",
};

/* Deterministic bytes: uniform random, or words, numbers and punctuation
 * (compresses 3-5x, like HTML or JSON). */
static unsigned char *gen_data(int kind, size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n ? n : 1);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    assert_non_null(p);
    size_t i = 0;
    while (i < n) {
        uint64_t r = rng_next(&s);
        if (kind == DATA_RANDOM) {
            for (int k = 0; k < 8 && i < n; k++)
                p[i++] = (unsigned char)(r >> (8 * k));
            continue;
        }
        char tmp[48];
        int len;
        if (r % 11 == 0)
            len = snprintf(tmp, sizeof(tmp), "%u", (unsigned)(r >> 40));
        else
            len = snprintf(tmp, sizeof(tmp), "%s",
                           words[(r >> 8) % (sizeof(words) / sizeof(words[0]))]);
        tmp[len++] = (r >> 20) % 9 == 0 ? ',' : ' ';
        for (int k = 0; k < len && i < n; k++)
            p[i++] = (unsigned char)tmp[k];
    }
    return p;
}

/* ---- reference decoders ----
 * Each returns 1 when the input is complete stream(s) using every byte, 0
 * when it is a valid prefix (all it decodes so far is in `out`), -1 when it
 * is corrupt or has bytes after the end of the stream. */

static int gz_decode(const unsigned char *p, size_t n, buf_t *out, int multi)
{
    z_stream z;
    unsigned char tmp[16384];
    int st;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 31) != Z_OK)
        return -1;
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    for (;;) {
        z.next_out = tmp;
        z.avail_out = sizeof(tmp);
        int rc = inflate(&z, Z_NO_FLUSH);
        buf_add(out, tmp, sizeof(tmp) - z.avail_out);
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) {
                st = 1;
                break;
            }
            if (!multi || inflateReset(&z) != Z_OK) {
                st = -1;
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0)) {
            st = 0;
            break;
        }
        if (rc != Z_OK) {
            st = -1;
            break;
        }
    }
    inflateEnd(&z);
    return st;
}

static int br_decode(const unsigned char *p, size_t n, buf_t *out)
{
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    size_t ain = n;
    const uint8_t *nin = p;
    int st;
    if (!d)
        return -1;
    for (;;) {
        unsigned char tmp[16384];
        size_t aout = sizeof(tmp);
        uint8_t *nout = tmp;
        BrotliDecoderResult r = BrotliDecoderDecompressStream(d, &ain, &nin, &aout, &nout, NULL);
        buf_add(out, tmp, sizeof(tmp) - aout);
        /* output may be pending with more input needed too */
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT ||
            (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT && BrotliDecoderHasMoreOutput(d)))
            continue;
        if (r == BROTLI_DECODER_RESULT_SUCCESS)
            st = ain == 0 ? 1 : -1;
        else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            st = 0;
        else
            st = -1;
        break;
    }
    BrotliDecoderDestroyInstance(d);
    return st;
}

static int zs_decode(const unsigned char *p, size_t n, buf_t *out)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer ib = { p, n, 0 };
    int st;
    if (!d)
        return -1;
    for (;;) {
        unsigned char tmp[16384];
        ZSTD_outBuffer ob = { tmp, sizeof(tmp), 0 };
        size_t ret = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(ret)) {
            st = -1;
            break;
        }
        buf_add(out, tmp, ob.pos);
        if (ret == 0) {
            st = ib.pos == ib.size ? 1 : -1;
            break;
        }
        if (ib.pos == ib.size && ob.pos < ob.size) {
            st = 0;
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return st;
}

static int decode(int coding, const unsigned char *p, size_t n, buf_t *out)
{
    switch (coding) {
    case G:
        return gz_decode(p, n, out, 0);
    case B:
        return br_decode(p, n, out);
    case Z:
        return zs_decode(p, n, out);
    case NONE:
        buf_add(out, p, n);
        return 1;
    }
    return -1;
}

/* A gzip member of p[0..n) made by zlib itself; a sync flush after each
 * offset in `flush_at` (ascending), so every such prefix decodes whole. */
static void gz_make(const unsigned char *p, size_t n, int level, const size_t *flush_at,
                    size_t nflush, buf_t *out)
{
    z_stream z;
    unsigned char tmp[16384];
    size_t off = 0, fi = 0;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    for (;;) {
        size_t end = fi < nflush ? flush_at[fi] : n;
        int flush = fi < nflush ? Z_SYNC_FLUSH : Z_FINISH;
        z.next_in = (unsigned char *)p + off;
        z.avail_in = (uInt)(end - off);
        int rc;
        do {
            z.next_out = tmp;
            z.avail_out = sizeof(tmp);
            rc = deflate(&z, flush);
            assert_true(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
            buf_add(out, tmp, sizeof(tmp) - z.avail_out);
        } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
        off = end;
        if (fi++ >= nflush)
            break;
    }
    deflateEnd(&z);
}

/* ---- driving a chain ---- */

typedef struct {
    rp_filter_chain_t ch;
    buf_t out;
    size_t outcap;       /* room per call; 0: 1, 2, ... 7 bytes in turn */
    unsigned long calls; /* calls of rp_filter_chain_run */
    const char *viol;    /* a broken contract, seen by feed() */
    char why[160];
} run_t;

static void run_init(run_t *r, size_t outcap)
{
    memset(r, 0, sizeof(*r));
    r->outcap = outcap;
}

static int chain_add(run_t *r, int id, int coding, int level)
{
    return rp_filter_chain_add(&r->ch, id, coding, level, 0, 0);
}

/* A chain of gunzip (when `gunzip`) then compression with `coding` (unless
 * NONE). */
static void run_setup(run_t *r, size_t outcap, int gunzip, int coding, int level)
{
    run_init(r, outcap);
    if (gunzip)
        assert_int_equal(chain_add(r, RP_FILTER_GUNZIP, 0, 0), 0);
    if (coding != NONE)
        assert_int_equal(chain_add(r, RP_FILTER_COMPRESS, coding, level), 0);
}

static void run_done(run_t *r)
{
    rp_filter_chain_release(&r->ch);
    buf_free(&r->out);
}

/* Feeds in[0..n) in `mode` until the chain says the mode's work is done (1)
 * or fails (-1), giving it the rest of the input and fresh room each time
 * it returns 0. Checks the contract of every call; a violation is -2 with
 * r->viol set. */
static int feed(run_t *r, const unsigned char *in, size_t n, int mode)
{
    size_t cap = r->outcap ? r->outcap : 7;
    unsigned char *win = malloc(cap + GUARD);
    size_t off = 0;
    int stalls = 0, rc;
    /* a call gives at least a byte or takes one, and a flush or finish
     * puts out less than this much more than it is given */
    unsigned long limit = r->calls + 2 * (n + 512 * KIB) + 64;
    if (!win)
        abort();
    for (;;) {
        size_t room = r->outcap ? r->outcap : 1 + r->calls % 7;
        size_t c = (size_t)-1, p = (size_t)-1;
        memset(win, 0xA5, room + GUARD);
        rc = rp_filter_chain_run(&r->ch, n ? in + off : NULL, n - off, &c, win, room, &p, mode);
        r->calls++;
        if (rc < -1 || rc > 1 || c > n - off || p > room) {
            snprintf(r->why, sizeof(r->why), "bad result: rc %d, took %zu of %zu, gave %zu in %zu",
                     rc, c, n - off, p, room);
            r->viol = r->why;
            rc = -2;
            break;
        }
        for (int g = 0; g < GUARD; g++)
            if (win[room + g] != 0xA5) {
                r->viol = "wrote past the output room";
                rc = -2;
                break;
            }
        if (rc == -2)
            break;
        buf_add(&r->out, win, p);
        off += c;
        if (rc < 0)
            break;
        if (rc == 1) {
            if (off != n) {
                r->viol = "returned 1 without taking all input";
                rc = -2;
            }
            break;
        }
        if (c == 0 && p == 0 && ++stalls > 2) {
            r->viol = "returned 0 three times without progress";
            rc = -2;
            break;
        }
        if (c || p)
            stalls = 0;
        if (r->calls > limit) {
            r->viol = "no end in sight (livelock)";
            rc = -2;
            break;
        }
    }
    free(win);
    return rc;
}

/* How a body is given to a chain. */
typedef struct {
    size_t inslice;  /* bytes per RUN call; 0: 1, 2, ... 7 in turn; SIZE_MAX: all */
    size_t outcap;   /* room per call; 0: 1, 2, ... 7 in turn */
    int last_finish; /* the last piece goes with FINISH (else FINISH on nothing) */
} drive_t;

/* Runs a whole body: RUN per slice, then FINISH. Returns 1, -1 (chain
 * error) or -2 (contract violation). */
static int drive(run_t *r, const unsigned char *in, size_t n, const drive_t *d)
{
    size_t off = 0;
    unsigned k = 0;
    for (;;) {
        size_t slice = d->inslice == 0 ? 1 + k++ % 7 : d->inslice;
        if (slice > n - off)
            slice = n - off;
        int last = off + slice == n;
        if (last && d->last_finish)
            return feed(r, in + off, slice, RP_FILTER_FINISH);
        if (slice) {
            int rc = feed(r, in + off, slice, RP_FILTER_RUN);
            if (rc != 1)
                return rc;
        }
        off += slice;
        if (last)
            return feed(r, NULL, 0, RP_FILTER_FINISH);
    }
}

static void expect_same(const char *what, const unsigned char *got, size_t ngot,
                        const unsigned char *want, size_t nwant)
{
    size_t i = 0;
    while (i < ngot && i < nwant && got[i] == want[i])
        i++;
    if (i != ngot || i != nwant)
        fail_msg("%s: got %zu bytes, want %zu, first difference at %zu", what, ngot, nwant, i);
}

/* Decodes the whole output of a finished chain and compares it with the
 * plain body. */
static void expect_decodes(const char *what, int coding, const buf_t *out,
                           const unsigned char *plain, size_t n)
{
    buf_t dec = { 0 };
    int st = decode(coding, out->p, out->len, &dec);
    if (st != 1)
        fail_msg("%s: output (%zu bytes) does not decode as a complete stream (%d)", what, out->len,
                 st);
    expect_same(what, dec.p, dec.len, plain, n);
    buf_free(&dec);
}

static void expect_ok(const char *what, run_t *r, int rc)
{
    if (rc == -2)
        fail_msg("%s: %s (call %lu)", what, r->viol, r->calls);
    if (rc != 1)
        fail_msg("%s: chain returned %d (%s)", what, rc, r->ch.error ? r->ch.error : "-");
}

/* ---- the codecs under test ---- */

typedef struct {
    int coding, level;
    const char *name;
} codec_t;

static const codec_t codecs[] = {
    { G, 1, "gzip-1" }, { G, 6, "gzip-6" }, { G, 9, "gzip-9" },
    { B, 0, "br-0" },   { B, 4, "br-4" },   { B, 11, "br-11" },
    { Z, 1, "zstd-1" }, { Z, 3, "zstd-3" }, { Z, 19, "zstd-19" },
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Compresses in[0..n) through a one-stage chain and checks the result. */
static void roundtrip(const codec_t *cd, const unsigned char *in, size_t n, const drive_t *d,
                      const char *what, size_t *outlen)
{
    run_t r;
    run_setup(&r, d->outcap, 0, cd->coding, cd->level);
    expect_ok(what, &r, drive(&r, in, n, d));
    assert_true(r.ch.done);
    expect_decodes(what, cd->coding, &r.out, in, n);
    if (outlen)
        *outlen = r.out.len;
    run_done(&r);
}

/* ---- round trips: every coding and level, sizes, data kinds ---- */

static const size_t rt_sizes[] = { 0, 1, 19, 20, 4095, 65536, MIB + 3 };
#define NSIZES (sizeof(rt_sizes) / sizeof(rt_sizes[0]))

static const drive_t rt_drives[] = {
    { SIZE_MAX, 65536, 0 }, { 4096, 16384, 1 }, { 1000, 4096, 0 },
    { 65536, 333, 1 },      { 0, 0, 0 },        { 1, 8192, 1 },
};

static void test_roundtrip(void **state)
{
    (void)state;
    size_t text_1m[NCODECS] = { 0 };
    for (size_t ci = 0; ci < NCODECS; ci++) {
        for (size_t si = 0; si < NSIZES; si++) {
            for (int kind = DATA_RANDOM; kind <= DATA_TEXT; kind++) {
                size_t n = rt_sizes[si];
                size_t ndrives = n > 70000 ? 4 : sizeof(rt_drives) / sizeof(rt_drives[0]);
                size_t di = (ci + si + (size_t)kind) % ndrives;
                char what[128];
                snprintf(what, sizeof(what), "%s, %zu %s bytes, drive %zu", codecs[ci].name, n,
                         kind == DATA_TEXT ? "text" : "random", di);
                unsigned char *in = gen_data(kind, n, si * 2 + (size_t)kind + 1);
                size_t outlen = 0;
                roundtrip(&codecs[ci], in, n, &rt_drives[di], what, &outlen);
                /* text shrinks, by a quarter at least */
                if (kind == DATA_TEXT && n >= 4095 && outlen >= n * 3 / 4)
                    fail_msg("%s: text compressed to %zu bytes only", what, outlen);
                if (kind == DATA_RANDOM && n >= 4095 && outlen > n + n / 50 + 64)
                    fail_msg("%s: random data grew to %zu bytes", what, outlen);
                if (kind == DATA_TEXT && n == MIB + 3)
                    text_1m[ci] = outlen;
                free(in);
            }
        }
    }
    /* the level reaches the codec: a higher one compresses text better */
    for (size_t ci = 0; ci + 1 < NCODECS; ci++)
        if (codecs[ci].coding == codecs[ci + 1].coding && text_1m[ci + 1] >= text_1m[ci])
            fail_msg("%s gave %zu bytes for 1 MiB of text, %s %zu", codecs[ci + 1].name,
                     text_1m[ci + 1], codecs[ci].name, text_1m[ci]);
}

/* ---- tiny output rooms and input slices ---- */

static void test_tiny_buffers(void **state)
{
    (void)state;
    static const size_t sizes[] = { 0, 1, 20, 4095, 20000 };
    static const size_t slices[] = { 0, 1, 7, 4096, SIZE_MAX };
    for (size_t ci = 0; ci < NCODECS; ci++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            int kind = si == 3 ? DATA_RANDOM : DATA_TEXT;
            size_t n = sizes[si];
            unsigned char *in = gen_data(kind, n, 100 + si);
            for (size_t outcap = 0; outcap <= 7; outcap++) {
                for (size_t li = 0; li < sizeof(slices) / sizeof(slices[0]); li++) {
                    /* the slowest codecs get every room, not every slicing */
                    if (codecs[ci].level >= 11 && li % 2 == 1 && n > 1000)
                        continue;
                    drive_t d = { slices[li], outcap, (int)((outcap + li) % 2) };
                    char what[128];
                    snprintf(what, sizeof(what), "%s, %zu bytes, room %zu, slice %zu%s",
                             codecs[ci].name, n, outcap, slices[li],
                             d.last_finish ? ", data with FINISH" : "");
                    roundtrip(&codecs[ci], in, n, &d, what, NULL);
                }
            }
            free(in);
        }
    }
}

/* ---- FLUSH ---- */

/* After RUN and FLUSH, the output so far decodes to exactly the input so
 * far and is not a finished stream; FLUSH again with nothing new changes
 * nothing the decoder sees; FINISH then completes the same stream. */
static void flush_case(const codec_t *cd, int kind, size_t n, size_t outcap, size_t inslice)
{
    static const size_t cuts[] = { 0, 1, 19, 4096, 4097, 50000, 99999 };
    unsigned char *in = gen_data(kind, n, 7 + n);
    run_t r;
    char what[160];
    run_setup(&r, outcap, 0, cd->coding, cd->level);
    size_t off = 0;
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]) && cuts[k] <= n; k++) {
        size_t cut = cuts[k];
        snprintf(what, sizeof(what), "%s, %s, room %zu, flush at %zu", cd->name,
                 kind == DATA_TEXT ? "text" : "random", outcap, cut);
        while (off < cut) {
            size_t slice = inslice < cut - off ? inslice : cut - off;
            int rc = feed(&r, in + off, slice, RP_FILTER_RUN);
            expect_ok(what, &r, rc);
            off += slice;
        }
        expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
        assert_false(r.ch.done);
        buf_t dec = { 0 };
        int st = decode(cd->coding, r.out.p, r.out.len, &dec);
        if (st != 0)
            fail_msg("%s: flushed output decodes with status %d (want a valid prefix)", what, st);
        expect_same(what, dec.p, dec.len, in, cut);
        buf_free(&dec);
        /* FLUSH again, nothing new: a few bytes at most, same decoding */
        for (int again = 0; again < 2; again++) {
            size_t before = r.out.len;
            expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
            if (r.out.len - before > 16)
                fail_msg("%s: repeated FLUSH produced %zu bytes", what, r.out.len - before);
        }
        memset(&dec, 0, sizeof(dec));
        st = decode(cd->coding, r.out.p, r.out.len, &dec);
        if (st != 0)
            fail_msg("%s: output after repeated FLUSH decodes with status %d", what, st);
        expect_same(what, dec.p, dec.len, in, cut);
        buf_free(&dec);
    }
    snprintf(what, sizeof(what), "%s, %s, room %zu, finish", cd->name,
             kind == DATA_TEXT ? "text" : "random", outcap);
    if (off < n)
        expect_ok(what, &r, feed(&r, in + off, n - off, RP_FILTER_RUN));
    expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FINISH));
    expect_decodes(what, cd->coding, &r.out, in, n);
    run_done(&r);
    free(in);
}

/* zlib needs more than 6 bytes of room to finish a sync flush (zlib.h):
 * gzip FLUSH with a fixed smaller room is test_flush_deflate_small_room's
 * business; rooms cycling through 1..7 are fine. */
static int deflate_small_room(const codec_t *cd, size_t outcap)
{
    return cd->coding == G && outcap >= 1 && outcap <= 6;
}

static void test_flush(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < NCODECS; ci++) {
        flush_case(&codecs[ci], DATA_TEXT, 120000, 4096, 10000);
        flush_case(&codecs[ci], DATA_RANDOM, 60000, 65536, SIZE_MAX);
        flush_case(&codecs[ci], DATA_TEXT, 60000, 0, 3000);
        flush_case(&codecs[ci], DATA_TEXT, 5000, 7, 7);
        if (!deflate_small_room(&codecs[ci], 1))
            flush_case(&codecs[ci], DATA_TEXT, 5000, 1, 7);
    }
}

/* FLUSH of a few bytes into 1..7 bytes of room at a time must end. With
 * deflate it does not when the room is under 7 bytes: every call that
 * ends with the room full leaves zlib unsure the flush is done, the stage
 * calls deflate(Z_SYNC_FLUSH) again and that adds another empty stored
 * block (00 00 ff ff), for ever. */
static void test_flush_deflate_small_room(void **state)
{
    (void)state;
    static const unsigned char hello[] = "hello";
    char stuck[64] = "";
    size_t len = 0;
    for (size_t outcap = 7; outcap >= 1; outcap--) {
        run_t r;
        run_setup(&r, outcap, 0, G, 6);
        int rc = feed(&r, hello, 5, RP_FILTER_FLUSH);
        if (rc == -2 && outcap <= 6) {
            len += (size_t)snprintf(stuck + len, sizeof(stuck) - len, " %zu", outcap);
            run_done(&r);
            continue;
        }
        expect_ok("gzip FLUSH in a small room", &r, rc);
        buf_t dec = { 0 };
        assert_int_equal(gz_decode(r.out.p, r.out.len, &dec, 0), 0);
        expect_same("gzip FLUSH in a small room", dec.p, dec.len, hello, 5);
        buf_free(&dec);
        run_done(&r);
    }
    KNOWN_BUG(len == 0, "gzip FLUSH never ends with a room of%s bytes", stuck);
}

/* FLUSH given the data itself (no RUN before it), with tiny rooms, and a
 * FLUSH before any data at all. */
static void test_flush_with_data(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < NCODECS; ci++) {
        for (size_t outcap = 0; outcap <= 7; outcap += 3) {
            const codec_t *cd = &codecs[ci];
            if (deflate_small_room(cd, outcap))
                continue;
            unsigned char *in = gen_data(DATA_TEXT, 9000, 55);
            char what[128];
            snprintf(what, sizeof(what), "%s, room %zu", cd->name, outcap);
            run_t r;
            run_setup(&r, outcap, 0, cd->coding, cd->level);
            expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
            buf_t dec = { 0 };
            assert_true(decode(cd->coding, r.out.p, r.out.len, &dec) >= 0);
            assert_int_equal(dec.len, 0);
            for (size_t off = 0; off < 9000; off += 3000) {
                expect_ok(what, &r, feed(&r, in + off, 3000, RP_FILTER_FLUSH));
                dec.len = 0;
                if (decode(cd->coding, r.out.p, r.out.len, &dec) != 0)
                    fail_msg("%s: flush after %zu bytes does not decode", what, off + 3000);
                expect_same(what, dec.p, dec.len, in, off + 3000);
            }
            buf_free(&dec);
            expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FINISH));
            expect_decodes(what, cd->coding, &r.out, in, 9000);
            run_done(&r);
            free(in);
        }
    }
}

/* ---- FINISH and after ---- */

static void expect_inert(const char *what, run_t *r)
{
    static const unsigned char more[] = "more data after the end";
    unsigned char out[64];
    for (int mode = RP_FILTER_RUN; mode <= RP_FILTER_FINISH; mode++) {
        size_t c = 99, p = 99;
        memset(out, 0xA5, sizeof(out));
        int rc = rp_filter_chain_run(&r->ch, more, sizeof(more), &c, out, sizeof(out), &p, mode);
        if (rc != 1 || c != 0 || p != 0)
            fail_msg("%s: mode %d after the end: rc %d consumed %zu produced %zu", what, mode, rc,
                     c, p);
        for (size_t i = 0; i < sizeof(out); i++)
            assert_int_equal(out[i], 0xA5);
    }
}

static void test_finish(void **state)
{
    (void)state;
    unsigned char *in = gen_data(DATA_TEXT, 70000, 3);
    for (size_t ci = 0; ci < NCODECS; ci++) {
        const codec_t *cd = &codecs[ci];
        static const size_t rooms[] = { 0, 1, 5, 100, 70000 };
        static const size_t lens[] = { 0, 1, 70000 };
        for (size_t ri = 0; ri < sizeof(rooms) / sizeof(rooms[0]); ri++) {
            for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
                char what[128];
                snprintf(what, sizeof(what), "%s: FINISH on %zu bytes, room %zu", cd->name,
                         lens[li], rooms[ri]);
                run_t r;
                run_setup(&r, rooms[ri], 0, cd->coding, cd->level);
                /* everything in one FINISH */
                expect_ok(what, &r, feed(&r, in, lens[li], RP_FILTER_FINISH));
                assert_true(r.ch.done);
                expect_decodes(what, cd->coding, &r.out, in, lens[li]);
                size_t len = r.out.len;
                expect_inert(what, &r);
                assert_int_equal(r.out.len, len);
                run_done(&r);
            }
        }
        /* a FINISH cut short by the room carries on even if later calls
         * ask only for RUN */
        char what[128];
        snprintf(what, sizeof(what), "%s: pending FINISH", cd->name);
        run_t r;
        run_setup(&r, 3, 0, cd->coding, cd->level);
        size_t c, p;
        unsigned char out[3];
        int rc = rp_filter_chain_run(&r.ch, in, 70000, &c, out, 3, &p, RP_FILTER_FINISH);
        assert_int_equal(rc, 0);
        buf_add(&r.out, out, p);
        expect_ok(what, &r, feed(&r, in + c, 70000 - c, RP_FILTER_RUN));
        assert_true(r.ch.done);
        expect_decodes(what, cd->coding, &r.out, in, 70000);
        run_done(&r);
    }
    free(in);
}

/* ---- gunzip ---- */

static void gunzip_expect(const char *what, const unsigned char *gz, size_t ngz,
                          const unsigned char *plain, size_t n, const drive_t *d)
{
    run_t r;
    run_setup(&r, d->outcap, 1, NONE, 0);
    expect_ok(what, &r, drive(&r, gz, ngz, d));
    expect_same(what, r.out.p, r.out.len, plain, n);
    expect_inert(what, &r);
    run_done(&r);
}

static const drive_t gz_drives[] = {
    { SIZE_MAX, 65536, 0 }, { SIZE_MAX, 65536, 1 }, { 1, 65536, 0 }, { 0, 0, 1 },
    { 1000, 1, 0 },         { 10, 7, 1 },           { 4096, 3, 0 },
};
#define NGZDRIVES (sizeof(gz_drives) / sizeof(gz_drives[0]))

static void test_gunzip_single(void **state)
{
    (void)state;
    static const size_t sizes[] = { 0, 1, 100, 4095, 40000 };
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        for (int kind = DATA_RANDOM; kind <= DATA_TEXT; kind++) {
            unsigned char *plain = gen_data(kind, sizes[si], 9 + si);
            buf_t gz = { 0 };
            gz_make(plain, sizes[si], 6, NULL, 0, &gz);
            for (size_t di = 0; di < NGZDRIVES; di++) {
                char what[128];
                snprintf(what, sizeof(what), "gunzip %zu %s bytes, drive %zu", sizes[si],
                         kind ? "text" : "random", di);
                gunzip_expect(what, gz.p, gz.len, plain, sizes[si], &gz_drives[di]);
            }
            buf_free(&gz);
            free(plain);
        }
    }
}

static void test_gunzip_multi_member(void **state)
{
    (void)state;
    static const struct {
        int kind;
        size_t n;
    } members[] = { { DATA_TEXT, 5000 }, { DATA_RANDOM, 3000 }, { DATA_TEXT, 0 },
                    { DATA_TEXT, 10 },   { DATA_RANDOM, 1 },    { DATA_TEXT, 70000 } };
    buf_t gz = { 0 }, plain = { 0 };
    for (size_t m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
        unsigned char *p = gen_data(members[m].kind, members[m].n, 20 + m);
        gz_make(p, members[m].n, m % 2 ? 1 : 9, NULL, 0, &gz);
        buf_add(&plain, p, members[m].n);
        free(p);
        for (size_t di = 0; di < NGZDRIVES; di++) {
            char what[128];
            snprintf(what, sizeof(what), "gunzip of %zu members, drive %zu", m + 1, di);
            gunzip_expect(what, gz.p, gz.len, plain.p, plain.len, &gz_drives[di]);
        }
    }
    buf_free(&gz);
    buf_free(&plain);
}

static void test_gunzip_empty(void **state)
{
    (void)state;
    run_t r;
    run_setup(&r, 64, 1, NONE, 0);
    size_t c = 9, p = 9;
    unsigned char out[8];
    assert_int_equal(
        rp_filter_chain_run(&r.ch, NULL, 0, &c, out, sizeof(out), &p, RP_FILTER_FINISH), 1);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    assert_true(r.ch.done);
    assert_null(r.ch.error);
    run_done(&r);
    /* RUN and FLUSH on nothing first */
    run_setup(&r, 64, 1, NONE, 0);
    expect_ok("empty RUN", &r, feed(&r, NULL, 0, RP_FILTER_RUN));
    expect_ok("empty FLUSH", &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
    expect_ok("empty FINISH", &r, feed(&r, NULL, 0, RP_FILTER_FINISH));
    assert_int_equal(r.out.len, 0);
    run_done(&r);
}

/* A gzip body cut anywhere is an error at FINISH, not before; what came
 * out before is a prefix of the plain body. */
static void test_gunzip_truncated(void **state)
{
    (void)state;
    unsigned char *plain = gen_data(DATA_TEXT, 30000, 31);
    buf_t gz = { 0 };
    gz_make(plain, 30000, 6, NULL, 0, &gz);
    size_t cuts[] = { 1, 2, 3, 9, 10, 11, 12, gz.len / 2, gz.len - 8, gz.len - 5, gz.len - 1 };
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        for (size_t di = 0; di < NGZDRIVES; di++) {
            const drive_t *d = &gz_drives[di];
            char what[128];
            snprintf(what, sizeof(what), "gunzip cut at %zu of %zu, drive %zu", cuts[k], gz.len,
                     di);
            run_t r;
            run_setup(&r, d->outcap, 1, NONE, 0);
            /* every RUN succeeds */
            size_t off = 0;
            while (off < cuts[k]) {
                size_t slice = d->inslice == 0 ? 5 : d->inslice;
                if (slice > cuts[k] - off)
                    slice = cuts[k] - off;
                int rc = feed(&r, gz.p + off, slice, RP_FILTER_RUN);
                if (rc != 1)
                    fail_msg("%s: RUN at %zu returned %d (%s)", what, off, rc,
                             r.viol       ? r.viol
                             : r.ch.error ? r.ch.error
                                          : "-");
                off += slice;
            }
            int rc = feed(&r, NULL, 0, RP_FILTER_FINISH);
            if (rc != -1)
                fail_msg("%s: FINISH returned %d, want -1", what, rc);
            assert_non_null(r.ch.error);
            assert_false(r.ch.done);
            assert_true(r.out.len <= 30000);
            expect_same(what, r.out.p, r.out.len, plain, r.out.len);
            run_done(&r);
        }
    }
    buf_free(&gz);
    free(plain);
}

/* Not gzip, or gzip with a damaged body or trailer: -1 with a reason. */
static void test_gunzip_corrupt(void **state)
{
    (void)state;
    unsigned char *plain = gen_data(DATA_TEXT, 20000, 41);
    buf_t gz = { 0 };
    gz_make(plain, 20000, 6, NULL, 0, &gz);
    typedef struct {
        const char *name;
        size_t at;
        unsigned char xor_with;
        int whole;
    } damage_t;
    damage_t damage[] = {
        { "magic", 0, 0xff, 0 },           { "second magic byte", 1, 0x01, 0 },
        { "method", 2, 0x07, 0 },          { "reserved flags", 3, 0xe0, 0 },
        { "block type", 10, 0x06, 0 },     { "crc", gz.len - 8, 0x01, 0 },
        { "length", gz.len - 2, 0x10, 0 },
    };
    for (size_t k = 0; k < sizeof(damage) / sizeof(damage[0]); k++) {
        for (size_t di = 0; di < NGZDRIVES; di++) {
            unsigned char *bad = malloc(gz.len);
            memcpy(bad, gz.p, gz.len);
            bad[damage[k].at] ^= damage[k].xor_with;
            char what[128];
            snprintf(what, sizeof(what), "gunzip with a damaged %s, drive %zu", damage[k].name, di);
            run_t r;
            run_setup(&r, gz_drives[di].outcap, 1, NONE, 0);
            int rc = drive(&r, bad, gz.len, &gz_drives[di]);
            if (rc != -1)
                fail_msg("%s: chain returned %d, want -1 (%s)", what, rc, r.viol ? r.viol : "");
            assert_non_null(r.ch.error);
            run_done(&r);
            free(bad);
        }
    }
    static const struct {
        const char *p;
        size_t len;
    } garbage[] = {
        { "this is not gzip", 16 },
        { "\x1f", 1 },
        { "\x1f\x8b", 2 },
        /* a valid header, then a block of the reserved type 3 */
        { "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff", 12 },
        { "\0\0\0\0", 4 },
    };
    for (size_t k = 0; k < sizeof(garbage) / sizeof(garbage[0]); k++) {
        size_t len = garbage[k].len;
        for (size_t di = 0; di < NGZDRIVES; di++) {
            char what[128];
            snprintf(what, sizeof(what), "gunzip of garbage %zu, drive %zu", k, di);
            run_t r;
            run_setup(&r, gz_drives[di].outcap, 1, NONE, 0);
            int rc = drive(&r, (const unsigned char *)garbage[k].p, len, &gz_drives[di]);
            if (rc != -1)
                fail_msg("%s: chain returned %d, want -1 (%s)", what, rc, r.viol ? r.viol : "");
            assert_non_null(r.ch.error);
            assert_int_equal(r.out.len, 0);
            run_done(&r);
        }
    }
    buf_free(&gz);
    free(plain);
}

/* Zero padding (tape blocks) after a complete member is dropped; so is
 * any other tail that does not start a member. */
static void test_gunzip_padding(void **state)
{
    (void)state;
    unsigned char *plain = gen_data(DATA_TEXT, 12345, 51);
    buf_t gz = { 0 };
    gz_make(plain, 12345, 6, NULL, 0, &gz);
    static const size_t pads[] = { 1, 4, 512, 10000 };
    for (size_t k = 0; k < sizeof(pads) / sizeof(pads[0]); k++) {
        buf_t b = { 0 };
        unsigned char *zeros = calloc(1, pads[k]);
        buf_add(&b, gz.p, gz.len);
        buf_add(&b, zeros, pads[k]);
        for (size_t di = 0; di < NGZDRIVES; di++) {
            char what[128];
            snprintf(what, sizeof(what), "gunzip with %zu zero bytes after, drive %zu", pads[k],
                     di);
            gunzip_expect(what, b.p, b.len, plain, 12345, &gz_drives[di]);
        }
        buf_free(&b);
        free(zeros);
    }
    buf_t b = { 0 };
    buf_add(&b, gz.p, gz.len);
    buf_add(&b, "\nnot a member", 13);
    for (size_t di = 0; di < NGZDRIVES; di++)
        gunzip_expect("gunzip with a text tail", b.p, b.len, plain, 12345, &gz_drives[di]);
    buf_free(&b);
    buf_free(&gz);
    free(plain);
}

/* Padding, then another member: what comes out must not depend on where
 * the reads of the body happen to end. It does: in one read the second
 * member is dropped with the padding, when it starts a read it is decoded
 * (filter.c looks for 0x1f only at the start of each call's input). */
static void test_gunzip_padding_then_member(void **state)
{
    (void)state;
    unsigned char *plain = gen_data(DATA_TEXT, 12345, 51);
    buf_t gz = { 0 }, two = { 0 };
    gz_make(plain, 12345, 6, NULL, 0, &gz);
    buf_add(&two, gz.p, gz.len);
    buf_add(&two, "\0\0\0\0", 4);
    size_t second = two.len;
    buf_add(&two, gz.p, gz.len);
    run_t r1, r2;
    run_setup(&r1, 65536, 1, NONE, 0);
    expect_ok("padding then member, one read", &r1, feed(&r1, two.p, two.len, RP_FILTER_RUN));
    expect_ok("padding then member, one read", &r1, feed(&r1, NULL, 0, RP_FILTER_FINISH));
    run_setup(&r2, 65536, 1, NONE, 0);
    expect_ok("padding then member, two reads", &r2, feed(&r2, two.p, second, RP_FILTER_RUN));
    expect_ok("padding then member, two reads", &r2,
              feed(&r2, two.p + second, two.len - second, RP_FILTER_RUN));
    expect_ok("padding then member, two reads", &r2, feed(&r2, NULL, 0, RP_FILTER_FINISH));
    /* either way the first member comes out whole */
    assert_true(r1.out.len >= 12345 && r2.out.len >= 12345);
    expect_same("padding then member", r1.out.p, 12345, plain, 12345);
    expect_same("padding then member", r2.out.p, 12345, plain, 12345);
    size_t len1 = r1.out.len, len2 = r2.out.len;
    run_done(&r1);
    run_done(&r2);
    buf_free(&two);
    buf_free(&gz);
    free(plain);
    KNOWN_BUG(len1 == len2,
              "gunzip of member + 4 zero bytes + member gives %zu bytes in one read, %zu when "
              "the second member starts a read",
              len1, len2);
}

/* A gzip body made with sync flushes: RUN then FLUSH at each of them
 * gives out exactly the plain bytes before it. */
static void test_gunzip_flush(void **state)
{
    (void)state;
    static const size_t at[] = { 1, 4000, 4001, 30000 };
    unsigned char *plain = gen_data(DATA_TEXT, 40000, 61);
    buf_t gz = { 0 };
    gz_make(plain, 40000, 6, at, 4, &gz);
    /* where each flush point ends in the gzip body */
    size_t ends[4];
    for (size_t k = 0; k < 4; k++) {
        buf_t dec = { 0 };
        size_t e = 0;
        for (size_t i = 4; i <= gz.len; i++)
            if (!memcmp(gz.p + i - 4, "\0\0\xff\xff", 4)) {
                dec.len = 0;
                if (gz_decode(gz.p, i, &dec, 0) == 0 && dec.len == at[k]) {
                    e = i;
                    break;
                }
            }
        assert_true(e > 0);
        ends[k] = e;
        buf_free(&dec);
    }
    for (size_t outcap = 0; outcap <= 4096; outcap = outcap ? outcap * 8 : 1) {
        run_t r;
        run_setup(&r, outcap, 1, NONE, 0);
        size_t off = 0;
        for (size_t k = 0; k < 4; k++) {
            expect_ok("gunzip RUN", &r, feed(&r, gz.p + off, ends[k] - off, RP_FILTER_RUN));
            expect_ok("gunzip FLUSH", &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
            expect_same("gunzip after FLUSH", r.out.p, r.out.len, plain, at[k]);
            expect_ok("gunzip FLUSH again", &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
            expect_same("gunzip after FLUSH again", r.out.p, r.out.len, plain, at[k]);
            off = ends[k];
        }
        expect_ok("gunzip rest", &r, feed(&r, gz.p + off, gz.len - off, RP_FILTER_FINISH));
        expect_same("gunzip finished", r.out.p, r.out.len, plain, 40000);
        run_done(&r);
    }
    buf_free(&gz);
    free(plain);
}

/* ---- two stages: gunzip, then compression ---- */

static const codec_t recoders[] = {
    { B, 0, "gunzip+br-0" },   { B, 4, "gunzip+br-4" },   { B, 11, "gunzip+br-11" },
    { Z, 1, "gunzip+zstd-1" }, { Z, 3, "gunzip+zstd-3" }, { Z, 19, "gunzip+zstd-19" },
    { G, 1, "gunzip+gzip-1" }, { G, 9, "gunzip+gzip-9" },
};
#define NRECODERS (sizeof(recoders) / sizeof(recoders[0]))

static void test_two_stages(void **state)
{
    (void)state;
    static const struct {
        int kind;
        size_t n;
    } bodies[] = { { DATA_TEXT, 0 },     { DATA_TEXT, 1 },      { DATA_TEXT, 4095 },
                   { DATA_TEXT, 65536 }, { DATA_TEXT, 300000 }, { DATA_RANDOM, 70000 } };
    static const drive_t drives[] = {
        { SIZE_MAX, 65536, 0 }, { 4096, 1000, 1 }, { 0, 0, 0 }, { 100, 3, 1 }, { 1, 7, 0 },
    };
    for (size_t ci = 0; ci < NRECODERS; ci++) {
        const codec_t *cd = &recoders[ci];
        for (size_t bi = 0; bi < sizeof(bodies) / sizeof(bodies[0]); bi++) {
            size_t n = bodies[bi].n;
            unsigned char *plain = gen_data(bodies[bi].kind, n, 70 + bi);
            buf_t gz = { 0 };
            gz_make(plain, n, 6, NULL, 0, &gz);
            for (size_t di = 0; di < sizeof(drives) / sizeof(drives[0]); di++) {
                /* tiny steps only on small bodies, or the fast codecs */
                if (di >= 2 && n > 70000 && (di > 2 || cd->level > 4))
                    continue;
                char what[128];
                snprintf(what, sizeof(what), "%s, %zu bytes, drive %zu", cd->name, n, di);
                run_t r;
                run_setup(&r, drives[di].outcap, 1, cd->coding, cd->level);
                assert_int_equal(r.ch.nstages, 2);
                expect_ok(what, &r, drive(&r, gz.p, gz.len, &drives[di]));
                expect_decodes(what, cd->coding, &r.out, plain, n);
                expect_inert(what, &r);
                run_done(&r);
            }
            buf_free(&gz);
            free(plain);
        }
    }
}

/* Two stages and FLUSH: the gzip input was made with sync flushes, so
 * after RUN and FLUSH up to one of them the recoded output decodes to the
 * plain bytes before it. */
static void test_two_stages_flush(void **state)
{
    (void)state;
    static const size_t at[] = { 1, 20000, 20001, 100000 };
    unsigned char *plain = gen_data(DATA_TEXT, 120000, 81);
    buf_t gz = { 0 };
    gz_make(plain, 120000, 6, at, 4, &gz);
    size_t ends[4];
    for (size_t k = 0; k < 4; k++) {
        size_t e = 0;
        buf_t dec = { 0 };
        for (size_t i = 4; i <= gz.len && !e; i++)
            if (!memcmp(gz.p + i - 4, "\0\0\xff\xff", 4)) {
                dec.len = 0;
                if (gz_decode(gz.p, i, &dec, 0) == 0 && dec.len == at[k])
                    e = i;
            }
        buf_free(&dec);
        assert_true(e > 0);
        ends[k] = e;
    }
    for (size_t ci = 0; ci < NRECODERS; ci++) {
        const codec_t *cd = &recoders[ci];
        static const size_t rooms[] = { 0, 700, 65536 };
        for (size_t ri = 0; ri < 3; ri++) {
            char what[128];
            snprintf(what, sizeof(what), "%s FLUSH, room %zu", cd->name, rooms[ri]);
            run_t r;
            run_setup(&r, rooms[ri], 1, cd->coding, cd->level);
            size_t off = 0;
            for (size_t k = 0; k < 4; k++) {
                expect_ok(what, &r, feed(&r, gz.p + off, ends[k] - off, RP_FILTER_RUN));
                expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
                buf_t dec = { 0 };
                if (decode(cd->coding, r.out.p, r.out.len, &dec) != 0)
                    fail_msg("%s: output after FLUSH %zu does not decode", what, k);
                expect_same(what, dec.p, dec.len, plain, at[k]);
                expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FLUSH));
                dec.len = 0;
                if (decode(cd->coding, r.out.p, r.out.len, &dec) != 0)
                    fail_msg("%s: output after FLUSH %zu again does not decode", what, k);
                expect_same(what, dec.p, dec.len, plain, at[k]);
                buf_free(&dec);
                off = ends[k];
            }
            expect_ok(what, &r, feed(&r, gz.p + off, gz.len - off, RP_FILTER_RUN));
            expect_ok(what, &r, feed(&r, NULL, 0, RP_FILTER_FINISH));
            expect_decodes(what, cd->coding, &r.out, plain, 120000);
            run_done(&r);
        }
    }
    buf_free(&gz);
    free(plain);
}

/* A truncated or corrupt gzip body fails the whole chain. */
static void test_two_stages_error(void **state)
{
    (void)state;
    unsigned char *plain = gen_data(DATA_TEXT, 50000, 91);
    buf_t gz = { 0 };
    gz_make(plain, 50000, 6, NULL, 0, &gz);
    for (size_t ci = 0; ci < NRECODERS; ci++) {
        run_t r;
        run_setup(&r, 0, 1, recoders[ci].coding, recoders[ci].level);
        expect_ok("truncated RUN", &r, feed(&r, gz.p, gz.len - 3, RP_FILTER_RUN));
        assert_int_equal(feed(&r, NULL, 0, RP_FILTER_FINISH), -1);
        assert_non_null(r.ch.error);
        run_done(&r);
        run_setup(&r, 1000, 1, recoders[ci].coding, recoders[ci].level);
        unsigned char *bad = malloc(gz.len);
        memcpy(bad, gz.p, gz.len);
        bad[gz.len / 2] ^= 0x55;
        bad[gz.len / 2 + 1] ^= 0xaa;
        assert_int_equal(drive(&r, bad, gz.len, &(drive_t){ 4096, 1000, 0 }), -1);
        assert_non_null(r.ch.error);
        free(bad);
        run_done(&r);
    }
    buf_free(&gz);
    free(plain);
}

/* ---- pools ---- */

typedef struct {
    int gunzip, coding, level;
} pcfg_t;

static const pcfg_t pool_cfgs[] = {
    { 0, G, 1 },  { 0, G, 9 },  { 0, B, 0 }, { 0, Z, 1 }, { 0, G, 6 },
    { 0, Z, 19 }, { 0, B, 5 },  { 1, G, 1 }, { 1, B, 4 }, { 1, Z, 3 },
    { 0, Z, 3 },  { 0, B, 11 }, { 1, G, 9 }, { 0, G, 4 }, { 1, NONE, 0 },
};
#define NPCFGS (sizeof(pool_cfgs) / sizeof(pool_cfgs[0]))

static void pool_body(unsigned char **plain, size_t *n, buf_t *gz)
{
    *n = 24000;
    *plain = gen_data(DATA_TEXT, *n, 101);
    memset(*plain + 5000, 'x', 3000);
    gz_make(*plain, *n, 6, NULL, 0, gz);
}

/* Output of one configuration; the drive is fixed so that two runs of
 * the same configuration must give the same bytes. */
static void pool_run(const pcfg_t *pc, const unsigned char *plain, size_t n, const buf_t *gz,
                     buf_t *out)
{
    static const drive_t d = { 1000, 777, 0 };
    run_t r;
    run_setup(&r, d.outcap, pc->gunzip, pc->coding, pc->level);
    const unsigned char *in = pc->gunzip ? gz->p : plain;
    size_t len = pc->gunzip ? gz->len : n;
    expect_ok("pool run", &r, drive(&r, in, len, &d));
    expect_decodes("pool run", pc->coding, &r.out, plain, n);
    buf_add(out, r.out.p, r.out.len);
    run_done(&r);
}

/* Leaves a chain of this configuration half done and releases it: how 0
 * is one RUN call with 2 bytes of room, 1 a FLUSH cut short, 2 a FINISH
 * cut short. */
static void pool_abandon(const pcfg_t *pc, const unsigned char *plain, size_t n, const buf_t *gz,
                         int how)
{
    run_t r;
    run_setup(&r, 2, pc->gunzip, pc->coding, pc->level);
    const unsigned char *in = pc->gunzip ? gz->p : plain;
    size_t len = (pc->gunzip ? gz->len : n) / 2;
    size_t c, p;
    unsigned char out[2];
    if (how == 0) {
        (void)rp_filter_chain_run(&r.ch, in, len, &c, out, 2, &p, RP_FILTER_RUN);
    } else {
        expect_ok("abandon", &r, feed(&r, in, len, RP_FILTER_RUN));
        assert_true(rp_filter_chain_run(&r.ch, NULL, 0, &c, out, 2, &p,
                                        how == 1 ? RP_FILTER_FLUSH : RP_FILTER_FINISH) >= 0);
    }
    run_done(&r);
}

/* Reused contexts (deflateReset and deflateParams, ZSTD_CCtx_reset,
 * inflateReset, brotli's block cache) give the same bytes as fresh ones,
 * whatever the previous response was and however it ended. */
static void test_pool_reuse(void **state)
{
    (void)state;
    unsigned char *plain;
    size_t n;
    buf_t gz = { 0 }, ref[NPCFGS];
    pool_body(&plain, &n, &gz);
    memset(ref, 0, sizeof(ref));
    for (size_t k = 0; k < NPCFGS; k++) {
        rp_filter_thread_cleanup();
        pool_run(&pool_cfgs[k], plain, n, &gz, &ref[k]);
    }
    uint64_t s = 5;
    for (int i = 0; i < 200; i++) {
        /* consecutive levels of a coding differ, so a reused deflate
         * context changes level every time */
        size_t k = (size_t)(i * 7) % NPCFGS;
        const pcfg_t *pc = &pool_cfgs[k];
        if (i % 9 == 4)
            pool_abandon(&pool_cfgs[rng_next(&s) % NPCFGS], plain, n, &gz, i % 3);
        buf_t out = { 0 };
        pool_run(pc, plain, n, &gz, &out);
        char what[96];
        snprintf(what, sizeof(what), "chain %d (gunzip %d coding %d level %d) vs a fresh one", i,
                 pc->gunzip, pc->coding, pc->level);
        expect_same(what, out.p, out.len, ref[k].p, ref[k].len);
        buf_free(&out);
    }
    /* a context whose last body was corrupt */
    for (int i = 0; i < 3; i++) {
        run_t r;
        run_setup(&r, 100, 1, NONE, 0);
        assert_int_equal(drive(&r, (const unsigned char *)"\x1f\x8b\x08\x00garbage!!", 14,
                               &(drive_t){ SIZE_MAX, 100, 0 }),
                         -1);
        run_done(&r);
        buf_t out = { 0 };
        pool_run(&pool_cfgs[7], plain, n, &gz, &out);
        expect_same("gunzip after a corrupt body", out.p, out.len, ref[7].p, ref[7].len);
        buf_free(&out);
    }
    for (size_t k = 0; k < NPCFGS; k++)
        buf_free(&ref[k]);
    buf_free(&gz);
    free(plain);
    rp_filter_thread_cleanup();
}

/* Bytes allocated: heap chunks and mmapped ones; 0 when malloc is not
 * glibc's (a sanitizer's), and the checks that use it are left out. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* More chains alive at once than a pool keeps of each kind, run in turns:
 * each keeps its own context; releasing them all overflows every pool. */
static const pcfg_t alive_cfgs[] = {
    { 1, G, 1 }, { 1, B, 4 }, { 1, Z, 3 }, { 0, G, 9 }, { 0, Z, 1 }, { 0, B, 0 },
};
#define NALIVE (sizeof(alive_cfgs) / sizeof(alive_cfgs[0]))

static void test_pool_many_alive(void **state)
{
    (void)state;
    enum { N = 4 * RP_FILTER_POOL_MAX };
    unsigned char *plain;
    size_t n;
    buf_t gz = { 0 };
    pool_body(&plain, &n, &gz);
    rp_filter_thread_cleanup();
    size_t mark = heap_in_use();
    run_t *r = calloc(N, sizeof(*r));
    size_t off[N] = { 0 };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            const pcfg_t *pc = &alive_cfgs[(size_t)(i + round) % NALIVE];
            run_setup(&r[i], (size_t)(i % 5) * 97, pc->gunzip, pc->coding, pc->level);
            off[i] = 0;
        }
        for (int done = 0; done < N;) {
            done = 0;
            for (int i = 0; i < N; i++) {
                const pcfg_t *pc = &alive_cfgs[(size_t)(i + round) % NALIVE];
                const unsigned char *in = pc->gunzip ? gz.p : plain;
                size_t len = pc->gunzip ? gz.len : n;
                if (off[i] == len) {
                    done++;
                    continue;
                }
                size_t slice = 1500 + (size_t)i * 11;
                if (slice > len - off[i])
                    slice = len - off[i];
                expect_ok("many alive", &r[i], feed(&r[i], in + off[i], slice, RP_FILTER_RUN));
                off[i] += slice;
            }
        }
        for (int i = 0; i < N; i++) {
            const pcfg_t *pc = &alive_cfgs[(size_t)(i + round) % NALIVE];
            expect_ok("many alive", &r[i], feed(&r[i], NULL, 0, RP_FILTER_FINISH));
            expect_decodes("many alive", pc->coding, &r[i].out, plain, n);
        }
        for (int i = 0; i < N; i++)
            run_done(&r[i]);
    }
    free(r);
    rp_filter_thread_cleanup();
    /* what did not fit in the pools was freed on release (slack for the
     * allocator's caches, far below one context) */
    if (mark && heap_in_use() > mark + 32 * KIB)
        fail_msg("%zu bytes in use before, %zu after", mark, heap_in_use());
    buf_free(&gz);
    free(plain);
}

/* rp_filter_thread_cleanup() gives back everything the pools hold: the
 * bytes allocated return to where they were. */
static void test_pool_cleanup(void **state)
{
    (void)state;
    unsigned char *plain;
    size_t n;
    buf_t gz = { 0 };
    pool_body(&plain, &n, &gz);
    rp_filter_thread_cleanup();
    rp_filter_thread_cleanup(); /* twice is harmless */
    for (int pass = 0; pass < 3; pass++) {
        size_t mark = heap_in_use();
        for (size_t k = 0; k < NPCFGS * 3; k++) {
            buf_t out = { 0 };
            pool_run(&pool_cfgs[(k + (size_t)pass) % NPCFGS], plain, n, &gz, &out);
            buf_free(&out);
        }
        size_t held = heap_in_use();
        rp_filter_thread_cleanup();
        size_t after = heap_in_use();
        if (!mark)
            continue;
        /* the pools held contexts, and hold nothing now */
        if (held <= mark + MIB)
            fail_msg("pass %d: pools hold nothing (%zu bytes before, %zu after)", pass, mark, held);
        /* the allocator's own caches (tcache) count as in use: a few KiB
         * of slack, far below one context (a deflate state is 256 KiB) */
        if (after > mark + 32 * KIB)
            fail_msg("pass %d: %zu bytes in use before, %zu after cleanup (pools held %zu)", pass,
                     mark, after, held);
    }
    buf_free(&gz);
    free(plain);
}

/* Threads have their own pools; each checks its own outputs (no cmocka
 * assertions off the main thread). */
typedef struct {
    int id;
    int bad;
    char msg[128];
} thr_t;

static void *thr_main(void *arg)
{
    thr_t *t = arg;
    size_t n = 30000;
    unsigned char *plain = gen_data(DATA_TEXT, n, 200 + (uint64_t)t->id);
    buf_t gz = { 0 };
    /* gz_make asserts; it is only used here with valid arguments */
    z_stream z;
    memset(&z, 0, sizeof(z));
    unsigned char *tmp = malloc(n + 1024);
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = plain;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)(n + 1024);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        t->bad = 1;
        snprintf(t->msg, sizeof(t->msg), "reference deflate failed");
    }
    buf_add(&gz, tmp, z.total_out);
    deflateEnd(&z);
    free(tmp);
    for (int i = 0; i < 40 && !t->bad; i++) {
        const pcfg_t *pc = &pool_cfgs[(size_t)(i + t->id) % NPCFGS];
        if (pc->level >= 11) /* the slow ones run on the main thread */
            continue;
        run_t r;
        run_init(&r, (size_t)(1 + (i % 4) * 1000));
        if ((pc->gunzip && chain_add(&r, RP_FILTER_GUNZIP, 0, 0) != 0) ||
            (pc->coding != NONE && chain_add(&r, RP_FILTER_COMPRESS, pc->coding, pc->level))) {
            t->bad = 1;
            snprintf(t->msg, sizeof(t->msg), "chain_add failed");
        }
        drive_t d = { 999, r.outcap, i % 2 };
        int rc = t->bad ? -1 : pc->gunzip ? drive(&r, gz.p, gz.len, &d) : drive(&r, plain, n, &d);
        buf_t dec = { 0 };
        if (!t->bad && (rc != 1 || decode(pc->coding, r.out.p, r.out.len, &dec) != 1 ||
                        dec.len != n || memcmp(dec.p, plain, n))) {
            t->bad = 1;
            snprintf(t->msg, sizeof(t->msg), "thread %d chain %d: rc %d, %zu bytes decoded", t->id,
                     i, rc, dec.len);
        }
        buf_free(&dec);
        run_done(&r);
    }
    rp_filter_thread_cleanup();
    buf_free(&gz);
    free(plain);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    enum { NT = 4 };
    pthread_t th[NT];
    thr_t t[NT];
    for (int i = 0; i < NT; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++)
        if (t[i].bad)
            fail_msg("%s", t[i].msg);
}

/* ---- building chains ---- */

static void test_chain_add(void **state)
{
    (void)state;
    rp_filter_chain_t ch;

    /* order: compression before gunzip, or a stage twice */
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 6, 0, 0), 0);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_GUNZIP, 0, 0, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, B, 4, 0, 0), -1);
    assert_int_equal(ch.nstages, 1);
    rp_filter_chain_release(&ch);
    assert_int_equal(ch.nstages, 0);

    static const int compressors[] = { G, B, Z };
    for (int k = 0; k < 3; k++) {
        memset(&ch, 0, sizeof(ch));
        assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, compressors[k], 1, 0, 0), 0);
        assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_GUNZIP, 0, 0, 0, 0), -1);
        assert_int_equal(ch.nstages, 1);
        rp_filter_chain_release(&ch);
    }

    memset(&ch, 0, sizeof(ch));
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_GUNZIP, 0, 0, 0, 0), 0);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_GUNZIP, 0, 0, 0, 0), -1);
    assert_int_equal(ch.nstages, 1);
    /* unknown codings are refused, the chain stays usable */
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, RP_CE_IDENTITY, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, RP_CE_COUNT, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, -1, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, 99, 1, 0, 0), -1);
    assert_int_equal(ch.nstages, 1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, Z, 3, 0, 0), 0);
    assert_int_equal(ch.nstages, 2);
    /* full */
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 3, 0, 0), -1);
    assert_int_equal(ch.nstages, 2);
    {
        unsigned char plain[] = "hello hello hello hello";
        buf_t gz = { 0 };
        run_t r;
        run_init(&r, 5);
        r.ch = ch;
        gz_make(plain, sizeof(plain), 6, NULL, 0, &gz);
        expect_ok("chain after refusals", &r,
                  drive(&r, gz.p, gz.len, &(drive_t){ SIZE_MAX, 5, 0 }));
        expect_decodes("chain after refusals", Z, &r.out, plain, sizeof(plain));
        buf_free(&gz);
        run_done(&r);
        ch = r.ch;
    }
    assert_int_equal(ch.nstages, 0);
    rp_filter_chain_release(&ch); /* twice is harmless */

    /* unknown stages and codings on an empty chain */
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COUNT, G, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, -1, G, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, 42, G, 1, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, RP_CE_IDENTITY, 1, 0, 0), -1);
    assert_int_equal(ch.nstages, 0);
    /* a level zlib refuses */
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 10, 0, 0), -1);
    assert_int_equal(ch.nstages, 0);
    rp_filter_chain_release(&ch);
    rp_filter_thread_cleanup();
    /* ... also by a reused context (deflateParams) */
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 1, 0, 0), 0);
    rp_filter_chain_release(&ch);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 10, 0, 0), -1);
    assert_int_equal(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, G, 1, 0, 0), 0);
    rp_filter_chain_release(&ch);
    rp_filter_thread_cleanup();

    assert_string_equal(rp_filter_name(RP_FILTER_GUNZIP), "gunzip");
    assert_string_equal(rp_filter_name(RP_FILTER_COMPRESS), "compress");
    assert_string_equal(rp_filter_name(RP_FILTER_COUNT), "?");
    assert_string_equal(rp_filter_name(-1), "?");
}

/* ---- parameters: brotli window, size hints ---- */

static void test_params(void **state)
{
    (void)state;
    unsigned char *in = gen_data(DATA_TEXT, 200000, 301);
    static const int wins[] = { 0, 10, 16, 19, 22, 24 };
    for (size_t k = 0; k < sizeof(wins) / sizeof(wins[0]); k++) {
        char what[64];
        snprintf(what, sizeof(what), "br window %d", wins[k]);
        run_t r;
        run_init(&r, 4096);
        assert_int_equal(rp_filter_chain_add(&r.ch, RP_FILTER_COMPRESS, B, 5, wins[k], 0), 0);
        expect_ok(what, &r, drive(&r, in, 200000, &(drive_t){ 7000, 4096, 0 }));
        expect_decodes(what, B, &r.out, in, 200000);
        /* the window is in the stream header: WBITS of 10 is the odd
         * 7-bit code 0x21 (RFC 7932 9.1), 16 is the single bit 0 */
        if (wins[k] == 16)
            assert_int_equal(r.out.p[0] & 1, 0);
        if (wins[k] == 10)
            assert_int_equal(r.out.p[0] & 0x7f, 0x21);
        run_done(&r);
    }
    /* an exact size hint */
    static const int coding[] = { G, B, Z };
    for (int k = 0; k < 3; k++) {
        run_t r;
        run_init(&r, 4096);
        assert_int_equal(rp_filter_chain_add(&r.ch, RP_FILTER_COMPRESS, coding[k], 3, 0, 200000),
                         0);
        expect_ok("exact size hint", &r, drive(&r, in, 200000, &(drive_t){ 7000, 4096, 0 }));
        expect_decodes("exact size hint", coding[k], &r.out, in, 200000);
        run_done(&r);
    }
    /* a hint for gzip and brotli: a body of another size comes out whole */
    static const uint64_t hints[] = { 1, 199999, 200001, 1000000000 };
    for (int k = 0; k < 2; k++) {
        for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
            char what[64];
            snprintf(what, sizeof(what), "coding %d with size hint %llu", coding[k],
                     (unsigned long long)hints[h]);
            run_t r;
            run_init(&r, 4096);
            assert_int_equal(
                rp_filter_chain_add(&r.ch, RP_FILTER_COMPRESS, coding[k], 3, 0, hints[h]), 0);
            expect_ok(what, &r, drive(&r, in, 200000, &(drive_t){ 7000, 4096, 0 }));
            expect_decodes(what, coding[k], &r.out, in, 200000);
            run_done(&r);
        }
    }
    free(in);
    rp_filter_thread_cleanup();
}

/* zstd takes size_hint as the exact size (ZSTD_CCtx_setPledgedSrcSize):
 * a body of another size given over several calls fails at the end with
 * "Src size is incorrect" (in a single FINISH call zstd goes by the input
 * instead). The header calls it a hint, and brotli treats it as one. */
static void test_zstd_size_hint_mismatch(void **state)
{
    (void)state;
    unsigned char *in = gen_data(DATA_TEXT, 200000, 301);
    static const uint64_t hints[] = { 1, 199999, 200001, 1000000000 };
    int failed = 0;
    for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
        for (int streamed = 0; streamed <= 1; streamed++) {
            char what[80];
            snprintf(what, sizeof(what), "zstd, size hint %llu, %s", (unsigned long long)hints[h],
                     streamed ? "streamed" : "one FINISH");
            run_t r;
            run_init(&r, 4096);
            assert_int_equal(rp_filter_chain_add(&r.ch, RP_FILTER_COMPRESS, Z, 3, 0, hints[h]), 0);
            int rc = streamed ? drive(&r, in, 200000, &(drive_t){ 7000, 4096, 0 })
                              : feed(&r, in, 200000, RP_FILTER_FINISH);
            if (rc == -1 && streamed) {
                failed++;
                run_done(&r);
                continue;
            }
            expect_ok(what, &r, rc);
            expect_decodes(what, Z, &r.out, in, 200000);
            run_done(&r);
        }
    }
    free(in);
    rp_filter_thread_cleanup();
    KNOWN_BUG(failed == 0,
              "zstd fails (%d of 4 streamed bodies) when size_hint is not the body's size", failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_add),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_tiny_buffers),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_flush_with_data),
        cmocka_unit_test(test_flush_deflate_small_room),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_gunzip_single),
        cmocka_unit_test(test_gunzip_multi_member),
        cmocka_unit_test(test_gunzip_empty),
        cmocka_unit_test(test_gunzip_truncated),
        cmocka_unit_test(test_gunzip_corrupt),
        cmocka_unit_test(test_gunzip_padding),
        cmocka_unit_test(test_gunzip_padding_then_member),
        cmocka_unit_test(test_gunzip_flush),
        cmocka_unit_test(test_two_stages),
        cmocka_unit_test(test_two_stages_flush),
        cmocka_unit_test(test_two_stages_error),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_pool_many_alive),
        cmocka_unit_test(test_pool_cleanup),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_zstd_size_hint_mismatch),
    };
    /* RP_UNIT_FILTER=test_gunzip* runs some of the tests */
    if (getenv("RP_UNIT_FILTER"))
        cmocka_set_test_filter(getenv("RP_UNIT_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
