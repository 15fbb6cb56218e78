/* libFuzzer target for the body filters (src/filter/filter.c).
 * 1. gunzip parses a backend's gzip body: arbitrary bytes, fed in slices of
 *    varying size into output buffers of varying size, never crash, never
 *    write past the room given, and end in a result or a clean error.
 * 2. Compression round trip: the input compressed with gzip, br or zstd in
 *    slices (with a flush after each slice in one variant) into small
 *    output rooms decodes to the input exactly.
 * 3. gunzip undoes the chain's own gzip exactly. */
#include <brotli/decode.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "filter/filter.h"
#include "http/accept_encoding.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_filter: check failed: %s (line %d)\n", #c, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    unsigned char *p;
    size_t len, cap;
} obuf_t;

static void ob_room(obuf_t *o, size_t n)
{
    if (o->len + n <= o->cap)
        return;
    size_t c = o->cap ? o->cap : 256;
    while (c < o->len + n)
        c *= 2;
    o->p = realloc(o->p, c);
    CHECK(o->p != NULL);
    o->cap = c;
}

/* Runs ch over in with input slices of `step` bytes and output rooms of
 * `room` bytes; a FLUSH after each slice when `flush`. Returns the
 * chain's final result (1 or -1). */
static int drive(rp_filter_chain_t *ch, const unsigned char *in, size_t n, size_t step, size_t room,
                 int flush, obuf_t *out)
{
    size_t off = 0;
    for (int guard = 0; guard < 1 << 22; guard++) {
        size_t sl = RP_FILTER_MID_SIZE;
        if (step && step < sl)
            sl = step;
        size_t give = n - off < sl ? n - off : sl;
        int mode = off + give == n ? RP_FILTER_FINISH : flush ? RP_FILTER_FLUSH : RP_FILTER_RUN;
        ob_room(out, room + 1);
        out->p[out->len + room] = 0xA5; /* canary past the room */
        size_t c = 0, p = 0;
        int rc = rp_filter_chain_run(ch, in + off, give, &c, out->p + out->len, room, &p, mode);
        CHECK(out->p[out->len + room] == 0xA5);
        CHECK(c <= give && p <= room);
        off += c;
        out->len += p;
        if (rc < 0)
            return -1;
        if (rc == 1 && mode == RP_FILTER_FINISH)
            return 1;
        CHECK(rc == 0 || c == give);
    }
    CHECK(!"no end");
    return -1;
}

static int decode(int coding, const unsigned char *in, size_t n, obuf_t *out)
{
    if (coding == RP_CE_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        CHECK(inflateInit2(&z, 31) == Z_OK);
        z.next_in = (unsigned char *)in;
        z.avail_in = (uInt)n;
        int rc;
        do {
            ob_room(out, 65536);
            z.next_out = out->p + out->len;
            z.avail_out = 65536;
            rc = inflate(&z, Z_NO_FLUSH);
            out->len += 65536 - z.avail_out;
        } while (rc == Z_OK && (z.avail_in || z.avail_out == 0));
        inflateEnd(&z);
        return rc == Z_STREAM_END ? 0 : -1;
    }
    if (coding == RP_CE_BR) {
        BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        size_t ain = n;
        const uint8_t *nin = in;
        BrotliDecoderResult rc;
        do {
            ob_room(out, 65536);
            size_t aout = 65536;
            uint8_t *nout = out->p + out->len;
            rc = BrotliDecoderDecompressStream(d, &ain, &nin, &aout, &nout, NULL);
            out->len += 65536 - aout;
        } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
        BrotliDecoderDestroyInstance(d);
        return rc == BROTLI_DECODER_RESULT_SUCCESS ? 0 : -1;
    }
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer ib = { in, n, 0 };
    size_t rc;
    do {
        ob_room(out, 65536);
        ZSTD_outBuffer obuf = { out->p + out->len, 65536, 0 };
        rc = ZSTD_decompressStream(d, &obuf, &ib);
        out->len += obuf.pos;
        if (ZSTD_isError(rc))
            break;
    } while (ib.pos < ib.size || rc != 0);
    ZSTD_freeDCtx(d);
    return ZSTD_isError(rc) || rc != 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t step = 1 + data[0] * 37u;
    size_t room = 1 + (data[1] & 0x3f) * (data[1] & 0x40 ? 512u : 1u);
    int which = data[2] % 4;
    const unsigned char *body = data + 3;
    size_t n = size - 3;

    /* 1: gunzip of arbitrary bytes */
    rp_filter_chain_t g = { 0 };
    CHECK(rp_filter_chain_add(&g, RP_FILTER_GUNZIP, 0, 0, 0, 0) == 0);
    obuf_t out = { 0 };
    int rc = drive(&g, body, n, step, room, 0, &out);
    CHECK(rc == 1 || (rc == -1 && g.error != NULL));
    rp_filter_chain_release(&g);

    /* 2: round trip */
    static const int codings[3] = { RP_CE_GZIP, RP_CE_BR, RP_CE_ZSTD };
    int coding = codings[which % 3];
    static const int levels[3][2] = { { 1, 6 }, { 1, 4 }, { 1, 3 } };
    int level = levels[which % 3][data[2] >> 7];
    rp_filter_chain_t ch = { 0 };
    CHECK(rp_filter_chain_add(&ch, RP_FILTER_COMPRESS, coding, level, 0, 0) == 0);
    obuf_t comp = { 0 };
    int flush = which == 3;
    CHECK(drive(&ch, body, n, step, room, flush, &comp) == 1);
    rp_filter_chain_release(&ch);
    obuf_t plain = { 0 };
    CHECK(decode(coding, comp.p, comp.len, &plain) == 0);
    CHECK(plain.len == n && (n == 0 || memcmp(plain.p, body, n) == 0));

    /* 3: gunzip undoes gzip */
    if (coding == RP_CE_GZIP) {
        rp_filter_chain_t u = { 0 };
        CHECK(rp_filter_chain_add(&u, RP_FILTER_GUNZIP, 0, 0, 0, 0) == 0);
        obuf_t back = { 0 };
        CHECK(drive(&u, comp.p, comp.len, step, room, 0, &back) == 1);
        CHECK(back.len == n && (n == 0 || memcmp(back.p, body, n) == 0));
        rp_filter_chain_release(&u);
        free(back.p);
    }
    free(out.p);
    free(comp.p);
    free(plain.p);
    return 0;
}
