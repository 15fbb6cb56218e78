/* Accept-Encoding (RFC 9110 12.5.3): which content coding a response may
 * use. Groundwork of the compression filters (gzip, br, zstd). */
#ifndef RP_HTTP_ACCEPT_ENCODING_H
#define RP_HTTP_ACCEPT_ENCODING_H

#include <stddef.h>

#include "core/str.h"

/* Codings rampart can produce. */
enum rp_coding { RP_CE_IDENTITY = 0, RP_CE_GZIP, RP_CE_BR, RP_CE_ZSTD, RP_CE_COUNT };

/* "gzip", "br", "zstd", "identity". */
const char *rp_coding_name(int coding);

/* Chooses the coding of a response from the Accept-Encoding field value.
 * `offered` lists the codings the server may use in its order of
 * preference (ties in q are broken by it; identity need not be listed).
 * Returns the coding with the highest q among the offered ones (q > 0),
 * RP_CE_IDENTITY when none is better and identity is acceptable, or -1
 * when nothing is acceptable (identity;q=0, or *;q=0 without identity:
 * RFC 9110 says the server then may answer 415 or send identity anyway).
 * "x-gzip" counts as gzip; `*` matches every coding not listed; unknown
 * codings and elements with an invalid q-value are ignored; names are
 * case-insensitive. An empty value accepts identity only. */
int rp_accept_encoding_choose(rp_str_t value, const int *offered, size_t noffered);

#endif
