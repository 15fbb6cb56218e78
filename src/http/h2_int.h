/* Internal to src/http/h2*.c: per-stream state shared by the session glue
 * (h2.c) and the request head collector (h2_request.c). */
#ifndef RP_HTTP_H2_INT_H
#define RP_HTTP_H2_INT_H

#include <stddef.h>
#include <stdint.h>

#include "http/h2.h"

enum { RP__H2_METHOD = 0, RP__H2_SCHEME, RP__H2_AUTHORITY, RP__H2_PATH, RP__H2_NPSEUDO };

/* A field as offsets into the stream's header buffer (it grows by realloc,
 * so slices are only made once the head is complete). */
typedef struct {
    uint32_t no, nl, vo, vl;
    unsigned cookie : 1;
} rp__h2_foff_t;

typedef struct rp__h2_stream {
    struct rp__h2_stream *prev, *next; /* session's list of live streams */
    int32_t id;
    void *user;

    /* request head: names and values copied into hbuf, bounded by the
     * decoded-size limit (max_header_list), twice that with cookies joined */
    char *hbuf;
    size_t hlen, hcap;
    rp__h2_foff_t *fo;
    size_t nfo, cfo;
    rp_http_field_t *fields; /* built when the head is complete */
    struct {
        uint32_t off, len;
    } pseudo[RP__H2_NPSEUDO];
    unsigned pseudo_seen;
    uint32_t host_idx; /* 1 + index in fo of the Host field, 0 if none */
    size_t decoded;    /* RFC 9113 6.5.2 size of the current header block */
    const char *error; /* first reason the head is malformed */
    uint64_t content_length;
    uint64_t received; /* request body bytes */

    /* response body: ring buffer of rcap bytes, allocated on first use */
    uint8_t *rbuf;
    size_t rcap, rhead, rlen;

    unsigned regular_seen : 1;
    unsigned has_cl : 1;
    unsigned too_large : 1; /* header block over max_header_list: 431 */
    unsigned delivered : 1; /* on_request called: on_stream_close owed */
    unsigned end_in : 1;    /* request body complete (or reset) */
    unsigned head_sent : 1; /* final response head submitted */
    unsigned provider : 1;  /* response has a body served from rbuf */
    unsigned eof_out : 1;   /* application ended the response body */
    unsigned deferred : 1;  /* data provider deferred: resume on new data */
    unsigned want_room : 1; /* application waits for on_send_room */
    unsigned reset : 1;     /* RST_STREAM submitted by the codec */
    unsigned refused : 1;   /* over max_concurrent_streams: REFUSED_STREAM */
} rp__h2_stream_t;

/* Collects one field of a request header block; the first problem is kept
 * in st->error. limit bounds the stream's header buffer. */
void rp__h2_request_field(rp__h2_stream_t *st, size_t limit, const uint8_t *name, size_t nl,
                          const uint8_t *value, size_t vl);
/* Checks the complete head (RFC 9113 8.3) and fills req with slices of the
 * stream's memory. Returns NULL when valid, else the reason. */
const char *rp__h2_request_build(rp__h2_stream_t *st, size_t limit, int end_stream,
                                 rp_h2_request_t *req);

#endif
