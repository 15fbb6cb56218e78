/* HTTP/1.x message head parser and chunked decoder (RFC 9110, RFC 9112).
 *
 * Allocation-free: every name and value is a slice of the caller's buffer.
 * Incremental: the caller feeds the whole buffered input again on each call
 * (the buffer may have moved or grown between calls; the parser stores only
 * offsets); `p->scanned` remembers how far the search for the end of the head
 * has gone so bytes are not rescanned.
 *
 * Strictness policy (docs/architecture.md, "HTTP/1 parsing"):
 *  - Bare LF is accepted as a line terminator (RFC 9112 2.2 allows it); rampart
 *    re-serialises every head it forwards, so the backend only ever sees CRLF.
 *  - Bare CR, NUL and other control characters (except HTAB in field values)
 *    are rejected with 400.
 *  - obs-fold, whitespace between field name and colon, empty field names and
 *    invalid token characters in names are rejected with 400.
 */
#ifndef RP_HTTP_H1_PARSER_H
#define RP_HTTP_H1_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

typedef struct {
    rp_str_t name;
    rp_str_t value; /* leading/trailing SP/HTAB removed */
} rp_http_field_t;

enum rp_http_method {
    RP_METHOD_OTHER = 0,
    RP_METHOD_GET,
    RP_METHOD_HEAD,
    RP_METHOD_POST,
    RP_METHOD_PUT,
    RP_METHOD_DELETE,
    RP_METHOD_OPTIONS,
    RP_METHOD_TRACE,
    RP_METHOD_CONNECT,
    RP_METHOD_PATCH,
};

enum rp_target_form {
    RP_TARGET_ORIGIN = 0, /* /path?query */
    RP_TARGET_ABSOLUTE,   /* http://host[:port]/path?query */
    RP_TARGET_AUTHORITY,  /* host:port (CONNECT only) */
    RP_TARGET_ASTERISK,   /* * (OPTIONS only) */
};

enum rp_body_kind {
    RP_BODY_NONE = 0, /* no body */
    RP_BODY_LENGTH,   /* Content-Length bytes */
    RP_BODY_CHUNKED,  /* chunked transfer coding */
    RP_BODY_CLOSE,    /* responses only: until the connection closes */
};

typedef struct {
    size_t max_line;   /* longest request line / status line; longer: 414 (request) or error */
    size_t max_field;  /* longest single field line; longer: 431 */
    size_t max_head;   /* longest whole head; longer: 431 */
    size_t max_fields; /* most field lines; more: 431 */
} rp_h1_limits_t;

/* Parser state; zero it with rp_h1_parser_init before each message. */
typedef struct {
    rp_h1_limits_t limits;
    size_t scanned;    /* bytes already searched for the end of the head */
    size_t line_start; /* offset of the current line during the scan */
    int line_no;       /* lines seen so far (0 = request/status line) */
    int state;
} rp_h1_parser_t;

typedef struct {
    /* request line */
    rp_str_t method;
    int method_id;      /* enum rp_http_method */
    rp_str_t target;    /* raw request-target */
    int target_form;    /* enum rp_target_form */
    rp_str_t path;      /* path + query; for absolute-form the part after
                           the authority ("/" when empty); empty for
                           authority/asterisk forms */
    rp_str_t authority; /* from absolute-form / authority-form, else empty */
    int version_minor;  /* 0 or 1; major is always 1 */

    /* fields: slices of the buffer, in order received */
    rp_http_field_t *fields; /* caller-provided array, max_fields long */
    size_t nfields;

    size_t head_len; /* bytes of the head including the final empty line */

    /* analysis (RFC 9112 6, 9.3; RFC 9110 7.2, 7.6.1, 10.1.1) */
    int body_kind;                /* RP_BODY_NONE, RP_BODY_LENGTH or RP_BODY_CHUNKED */
    uint64_t content_length;      /* valid when body_kind == RP_BODY_LENGTH */
    rp_str_t host;                /* Host field value, or the absolute-form
                                     authority when present (it wins, RFC 9112 3.2.2) */
    rp_str_t connection;          /* raw Connection value ("" when absent); when
                                     several Connection lines, the first one and
                                     flags below account for all */
    unsigned keep_alive : 1;      /* persistent per version and Connection */
    unsigned expect_continue : 1; /* Expect: 100-continue */
    unsigned upgrade : 1;         /* Connection contains "upgrade" and an
                                     Upgrade field is present */

    /* on RP_ERROR: the status to answer (400, 413, 414, 431, 501, 505) and
     * a short static reason for the error log */
    int error_status;
    const char *error;
} rp_h1_request_t;

typedef struct {
    int version_minor;
    int status;
    rp_str_t reason;
    rp_http_field_t *fields;
    size_t nfields;
    size_t head_len;

    int body_kind; /* NONE, LENGTH, CHUNKED or CLOSE */
    uint64_t content_length;
    rp_str_t connection;
    unsigned keep_alive : 1; /* backend connection reusable after this response */
    unsigned upgrade : 1;    /* 101 with Upgrade */

    const char *error;
} rp_h1_response_t;

void rp_h1_parser_init(rp_h1_parser_t *p, const rp_h1_limits_t *limits);

/* Parses a request head at buf[0..len).
 * Returns RP_OK when the head is complete and valid (req filled, head_len
 * set), RP_AGAIN when more bytes are needed (if len already reaches a limit
 * the parser returns RP_ERROR with 414/431 instead), RP_ERROR with
 * req->error_status and req->error set when the input is invalid.
 * req->fields must point to an array of at least limits.max_fields entries.
 *
 * Rejected (400 unless noted): Content-Length with Transfer-Encoding;
 * differing or malformed Content-Length (several equal values, also as a
 * comma list, are accepted as one); Transfer-Encoding in HTTP/1.0;
 * Transfer-Encoding whose final coding is not chunked, "chunked" applied
 * twice, or any coding other than chunked (501); obs-fold; whitespace
 * before the colon; control characters or NUL in the request line or fields;
 * bare CR; missing Host or several Host fields in HTTP/1.1 (several in 1.0
 * too); invalid Host value; invalid method token; a request-target with
 * spaces, control characters or in a form not allowed for the method; a
 * version other than HTTP/1.0 or HTTP/1.1 (505 for HTTP/x.y with other
 * digits, 400 for garbage); request line longer than max_line (414); field
 * line longer than max_field, head longer than max_head, or more than
 * max_fields fields (431). */
int rp_h1_parse_request(rp_h1_parser_t *p, const char *buf, size_t len, rp_h1_request_t *req);

/* Parses a response head from a backend. `req_method` is the method of the
 * request it answers (HEAD and CONNECT change the framing, RFC 9112 6.3).
 * Body framing: 1xx, 204, 304 and responses to HEAD have none; chunked
 * when Transfer-Encoding ends in chunked; Content-Length; otherwise CLOSE.
 * Content-Length with Transfer-Encoding, differing Content-Lengths, garbage,
 * bare CR, obs-fold and over-long heads are RP_ERROR (the proxy answers 502). */
int rp_h1_parse_response(rp_h1_parser_t *p, const char *buf, size_t len, int req_method,
                         rp_h1_response_t *resp);

/* Chunked transfer coding decoder (RFC 9112 7.1). */
typedef struct {
    int state;
    uint64_t remaining;   /* bytes left in the current chunk */
    size_t line_len;      /* length of the current size/ext/trailer line */
    size_t trailer_bytes; /* total trailer bytes seen */
    size_t max_trailer;   /* limit on trailer section size (default 8192) */
} rp_h1_chunked_t;

void rp_h1_chunked_init(rp_h1_chunked_t *c);

/* Decodes in place. Input is buf[0..len). Decoded payload bytes are moved to
 * the front of buf: on return buf[0..*out_len) holds them. *consumed is how
 * many input bytes were used (out_len <= consumed). Returns RP_AGAIN when the
 * input was all used and the body is not finished, RP_OK when the final
 * chunk and trailer section ended (bytes from buf+*consumed on belong to the
 * next message), RP_ERROR on invalid framing: bad hex, a size that overflows
 * 2^63, bad chunk extension syntax, missing CRLF after chunk data, over-long
 * size line (> 4096) or trailer section. Trailer fields are discarded. */
int rp_h1_chunked_decode(rp_h1_chunked_t *c, char *buf, size_t len, size_t *consumed,
                         size_t *out_len);

/* Helpers used by the proxy. */
int rp_http_method_id(rp_str_t m);
/* 1 for methods RFC 9110 9.2.2 calls idempotent. */
int rp_http_method_idempotent(int method_id);
/* 1 for fields that are hop-by-hop per RFC 9110 7.6.1: Connection,
 * Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade, Trailer.
 * Fields named in Connection are hop-by-hop too; the caller checks those. */
int rp_http_is_hop_by_hop(rp_str_t name);
/* Standard reason phrase ("Not Found"), or "Unknown". */
const char *rp_http_reason(int status);

#endif
