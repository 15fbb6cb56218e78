/* libFuzzer target for the Accept-Encoding parser (src/http/accept_encoding.c).
 * Checked: no crash, read out of bounds or UB; the choice is -1 or a known
 * coding that was offered (or identity); the same value gives the same
 * choice; a coding the value excludes with q=0 is never chosen. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/accept_encoding.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_accept_encoding: check failed: %s (line %d)\n", #c, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    static const int orders[3][3] = { { RP_CE_ZSTD, RP_CE_BR, RP_CE_GZIP },
                                      { RP_CE_GZIP, RP_CE_BR, RP_CE_ZSTD },
                                      { RP_CE_BR, 0, 0 } };
    static const size_t lens[3] = { 3, 3, 1 };
    for (int k = 0; k < 3; k++) {
        int c = rp_accept_encoding_choose(rp_str(buf, size), orders[k], lens[k]);
        CHECK(c >= -1 && c < RP_CE_COUNT);
        int offered = c <= 0;
        for (size_t i = 0; i < lens[k]; i++)
            offered |= orders[k][i] == c;
        CHECK(offered);
        CHECK(rp_accept_encoding_choose(rp_str(buf, size), orders[k], lens[k]) == c);
    }
    /* "<value>, gzip;q=0" can never choose gzip: a later q=0 does not lower an
     * earlier higher q for the same coding, so only check when the value
     * names no gzip itself */
    char *low = malloc(size ? size : 1);
    if (!low) {
        free(buf);
        return 0;
    }
    for (size_t i = 0; i < size; i++)
        low[i] = (char)(buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] | 0x20 : buf[i]);
    int names_gzip = memmem(low, size, "gzip", 4) != NULL;
    free(low);
    if (!names_gzip && size < 4000) {
        char *v = malloc(size + 16);
        if (v) {
            memcpy(v, buf, size);
            memcpy(v + size, ", gzip;q=0", 10);
            CHECK(rp_accept_encoding_choose(rp_str(v, size + 10), orders[1], 3) != RP_CE_GZIP);
            free(v);
        }
    }
    free(buf);
    return 0;
}
