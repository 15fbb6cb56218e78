/* HTTP/2 server codec over nghttp2 (RFC 9113).
 *
 * A codec, not a server: it knows frames, streams, HPACK and flow control,
 * never sockets, timers, routing or backends. The connection owner feeds it
 * the bytes it read (the client preface included), pulls the bytes to write,
 * and gets callbacks for requests, body bytes and stream ends. Requests are
 * handed over in the same shape the HTTP/1 parser produces (method, target
 * parts, rp_http_field_t fields) so the proxy core sees one request model
 * (STYLE.md point 11).
 *
 * Threading: a session belongs to one worker thread; nothing is shared.
 *
 * Re-entrancy: callbacks run inside rp_h2_session_feed() and
 * rp_h2_session_pull(). From a callback the application may call every
 * rp_h2_submit_* / rp_h2_consumed / rp_h2_reset_stream / rp_h2_goaway and
 * the query functions; it must not call feed, pull or rp_h2_session_free.
 *
 * Defences (each counted per connection; tripping one queues
 * GOAWAY(ENHANCE_YOUR_CALM) and makes feed return RP_ERROR):
 *  - rapid reset (CVE-2023-44487): RST_STREAM frames from the client and
 *    requests the codec had to reject draw from a token bucket
 *    (reset_burst tokens, reset_rate per second);
 *  - control-frame floods: SETTINGS, PING, PRIORITY, WINDOW_UPDATE-free
 *    empty DATA and empty HEADERS/CONTINUATION frames draw from a second
 *    bucket (ctrl_burst, ctrl_rate); queued SETTINGS/PING ACKs are capped
 *    by nghttp2 (max_outbound_ack) for peers that do not read;
 *  - CONTINUATION flood (CVE-2024-28182): more than max_continuations
 *    CONTINUATION frames in one header block, or an encoded block larger
 *    than max_header_list + 1 KiB;
 *  - HPACK bomb: the decoded header list size (RFC 9113 6.5.2: name +
 *    value + 32 per field) is enforced against max_header_list; the stream
 *    gets a 431 (and counts as a rejected request, see rapid reset).
 * A stalled peer (zero window) is not detected here: the caller's idle and
 * send timeouts cover it, see rp_h2_session_idle().
 */
#ifndef RP_HTTP_H2_H
#define RP_HTTP_H2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/str.h"
#include "http/h1_parser.h"

/* HTTP/2 error codes used in the interface (RFC 9113 7). */
#define RP_H2_NO_ERROR 0x0
#define RP_H2_PROTOCOL_ERROR 0x1
#define RP_H2_INTERNAL_ERROR 0x2
#define RP_H2_REFUSED_STREAM 0x7
#define RP_H2_CANCEL 0x8
#define RP_H2_ENHANCE_YOUR_CALM 0xb

typedef struct {
    uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS; 128 */
    uint32_t initial_window;         /* per-stream request body preread; 65535 */
    uint32_t conn_window;            /* connection receive window; 1 MiB */
    uint32_t max_header_list;        /* decoded header list size; 32 KiB */
    uint32_t chunk_size;             /* largest DATA payload written; 8 KiB */
    uint32_t stream_buffer;          /* per-stream response buffer; 64 KiB */
    uint32_t max_continuations;      /* CONTINUATION frames per block; 8 */
    uint32_t max_outbound_ack;       /* queued SETTINGS/PING ACKs; 1000 */
    uint32_t reset_burst;            /* rapid-reset bucket size; 200 */
    uint32_t reset_rate;             /* tokens per second; 33 */
    uint32_t ctrl_burst;             /* control-frame bucket size; 1000 */
    uint32_t ctrl_rate;              /* tokens per second; 100 */
} rp_h2_config_t;

/* Fills cfg with the defaults above. Fields left 0 by a caller who did not
 * call this take their default in rp_h2_session_new too. */
void rp_h2_config_default(rp_h2_config_t *cfg);

/* A request whose header block is complete and valid (RFC 9113 8.3).
 * Every rp_str_t points into memory owned by the stream; it stays valid
 * until on_stream_close for that stream returns. */
typedef struct {
    rp_str_t method;
    int method_id;      /* enum rp_http_method */
    rp_str_t scheme;    /* "http" or "https" */
    rp_str_t authority; /* :authority, or the Host field when absent */
    rp_str_t path;      /* :path: "/..." or "*" (OPTIONS only) */
    /* regular fields in the order received, lower-case names; cookie crumbs
     * joined with "; " into one "cookie" field at the first crumb's place
     * (RFC 9113 8.2.3); Host kept if the client sent it */
    const rp_http_field_t *fields;
    size_t nfields;
    int end_stream;         /* no body follows */
    int has_content_length; /* content-length present (and checked against
                               the DATA received: a mismatch resets the
                               stream, RFC 9113 8.1.1) */
    uint64_t content_length;
} rp_h2_request_t;

typedef struct {
    /* A valid request arrived on stream_id. Return 0 to accept it, or an
     * HTTP/2 error code > 0 to reset the stream with it (e.g.
     * RP_H2_REFUSED_STREAM when out of resources). */
    int (*on_request)(void *user, int32_t stream_id, const rp_h2_request_t *req);
    /* Request body bytes (data valid during the call only). The bytes count
     * against the stream's receive window until rp_h2_consumed() says the
     * application is done with them. The end of the body is a call with
     * end_stream = 1 (len may be 0); trailers are discarded. */
    void (*on_data)(void *user, int32_t stream_id, void *stream_user, const uint8_t *data,
                    size_t len, int end_stream);
    /* The stream is gone (error_code 0 for a normal end). Called exactly
     * once per stream that got on_request, also from rp_h2_session_free()
     * with RP_H2_CANCEL. The stream id is dead after this returns. */
    void (*on_stream_close)(void *user, int32_t stream_id, void *stream_user, uint32_t error_code);
    /* Optional. The stream had refused bytes (rp_h2_submit_data accepted
     * less, or rp_h2_stream_send_room was 0) and may now take more. */
    void (*on_send_room)(void *user, int32_t stream_id, void *stream_user);
    /* Optional monotonic clock in milliseconds (the worker's cached time);
     * CLOCK_MONOTONIC when NULL. Used by the flood buckets. */
    uint64_t (*now_ms)(void *user);
} rp_h2_callbacks_t;

typedef struct rp_h2_session rp_h2_session_t;

/* Creates a server session and queues our SETTINGS. cfg may be NULL
 * (defaults); cb is copied. Returns NULL on allocation failure. */
rp_h2_session_t *rp_h2_session_new(const rp_h2_config_t *cfg, const rp_h2_callbacks_t *cb,
                                   void *user);
/* Calls on_stream_close(RP_H2_CANCEL) for every open stream the
 * application knows, then frees everything. Not from a callback. */
void rp_h2_session_free(rp_h2_session_t *s);

/* Processes bytes read from the connection (the 24-byte client preface
 * first). Returns len when all were processed, or RP_ERROR: the session is
 * finished (bad preface, protocol error, flood); pull what is pending
 * (the GOAWAY), then close. */
ssize_t rp_h2_session_feed(rp_h2_session_t *s, const uint8_t *in, size_t len);

/* 1 when rp_h2_session_pull has bytes to give. */
int rp_h2_session_want_write(rp_h2_session_t *s);
/* Serialises pending frames into buf[0..cap). Returns the bytes written (0
 * when nothing is pending) or RP_ERROR (fatal: close). Bytes that do not
 * fit stay inside the session for the next call; no allocation per call
 * beyond nghttp2's own frame buffers. */
ssize_t rp_h2_session_pull(rp_h2_session_t *s, uint8_t *buf, size_t cap);
/* 1 when the connection is over: nothing to read or write any more (after
 * a GOAWAY once its streams finished, or after a fatal error). */
int rp_h2_session_done(rp_h2_session_t *s);

/* Progress hint for the caller's timers. */
enum rp_h2_idle {
    RP_H2_ACTIVE = 0,       /* some stream can progress: no h2 timer */
    RP_H2_IDLE_EMPTY = 1,   /* no open stream: keep-alive/idle timeout */
    RP_H2_IDLE_STALLED = 2, /* every open stream waits on the peer's window
                               with response bytes buffered: send timeout */
};
int rp_h2_session_idle(rp_h2_session_t *s);

/* Per-stream application pointer, passed back to on_data, on_send_room and
 * on_stream_close. Returns RP_ERROR for an unknown stream. */
int rp_h2_stream_set_user(rp_h2_session_t *s, int32_t stream_id, void *stream_user);
void *rp_h2_stream_user(rp_h2_session_t *s, int32_t stream_id);

/* Queues the response head. status 100..199 (not 101, RFC 9113 8.6) sends
 * an interim head and may be followed by the final one. Names are
 * lower-cased; connection-specific fields (Connection and what it names,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE; RFC 9113
 * 8.2.2), pseudo-header names and fields whose values hold CR, LF or NUL
 * are dropped. Fields are copied. end_stream: no body. Returns RP_OK or
 * RP_ERROR (unknown stream, head already sent, bad status). */
int rp_h2_submit_response(rp_h2_session_t *s, int32_t stream_id, int status,
                          const rp_http_field_t *fields, size_t n, int end_stream);
/* Copies up to len body bytes into the stream's bounded buffer; they go
 * out as the peer's flow-control windows allow. Returns the bytes accepted
 * (less than len when the buffer is full: wait for on_send_room) or
 * RP_ERROR. end_stream takes effect only when every byte was accepted;
 * (NULL, 0, 1) ends the body. */
ssize_t rp_h2_submit_data(rp_h2_session_t *s, int32_t stream_id, const uint8_t *p, size_t len,
                          int end_stream);
/* How many bytes the stream should be given now: min(buffer room, peer
 * window - buffered). 0 means wait for on_send_room. This is what makes a
 * slow HTTP/2 reader slow down the backend read. */
size_t rp_h2_stream_send_room(rp_h2_session_t *s, int32_t stream_id);
/* The application is done with n request body bytes of the stream: they
 * are given back to the client's window (WINDOW_UPDATE), so an upload
 * moves only as fast as the backend takes it. */
int rp_h2_consumed(rp_h2_session_t *s, int32_t stream_id, size_t n);
/* RST_STREAM with an HTTP/2 error code. on_stream_close follows. */
int rp_h2_reset_stream(rp_h2_session_t *s, int32_t stream_id, uint32_t error_code);
/* graceful: GOAWAY with last stream id 2^31-1 and a PING; when the PING
 * comes back, the real GOAWAY with the last stream processed (RFC 9113
 * 6.8); open streams finish, then rp_h2_session_done(). Not graceful:
 * GOAWAY(NO_ERROR) now; the session is done once it is written and open
 * streams are cancelled by rp_h2_session_free. */
int rp_h2_goaway(rp_h2_session_t *s, int graceful);

#endif
