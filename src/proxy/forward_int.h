/* Internal interface between the files of the proxy's forwarding path:
 * forward.c (backend connection, request head, driver), reqbody.c (request
 * bodies), response.c (response heads and bodies). Not for other folders. */
#ifndef RP_PROXY_FORWARD_INT_H
#define RP_PROXY_FORWARD_INT_H

#include "proxy/session.h"

/* Values of every Connection field of a message (usually none or one). */
typedef struct {
    rp_str_t v[8];
    size_t n;
} rp__conn_tokens_t;

void rp__conn_tokens_collect(const rp_http_field_t *f, size_t n, rp__conn_tokens_t *ct);
int rp__conn_tokens_has(const rp__conn_tokens_t *ct, rp_str_t name);

/* forward.c */
void rp__up_detach(rp_req_t *r, int reuse);
/* The backend failed before the answer was complete: retry, next server, or
 * an error answer (or a closed connection once the head was sent). */
void rp__up_fail(rp_req_t *r, int status, const char *why);
/* Builds the request head and connects to the first server. */
void rp__proxy_connect(rp_req_t *r);

/* reqbody.c: request bodies. The pump functions return 1 on progress, 0
 * when nothing could move, -1 when the request was answered or closed. */
void rp__body_read(rp_req_t *r);
int rp__body_pump_stored(rp_req_t *r);
int rp__body_pump(rp_req_t *r);
/* Reads the whole body (as rp__body_read), then calls rp_api_handle. */
void rp__api_read_body(rp_req_t *r);

/* response.c */
int rp__out_add(rp_req_t *r, const char *p, size_t n);
int rp__resp_send_head(rp_req_t *r);
int rp__resp_parse_head(rp_req_t *r);
int rp__resp_pump(rp_req_t *r);
/* Takes up to `room` body bytes of the backend's response from up->in
 * (chunked framing removed in place, Content-Length counted, r->resp_done
 * set at the end): *p and *n say where and how many. 1 on progress (maybe
 * framing only), 0 when more input is needed, -1 on invalid framing
 * (answered). */
int rp__resp_body_take(rp_req_t *r, size_t room, char **p, size_t *n);
int rp__resp_direct(const rp_req_t *r);
int rp__resp_direct_flush(rp_req_t *r, int *progress);
/* Room at the end of c->out, which is allocated, compacted and grown up to
 * max_out bytes as needed. */
size_t rp__out_room(rp_req_t *r, size_t max_out);

/* compress.c: body filters of a backend response */
/* Chooses them from the location's settings, the request and the response
 * head (sets r->zchain, r->zcoding, r->zgunzip, r->zvary). */
void rp__resp_filters_plan(rp_req_t *r);
/* A backend field under the filters: 0 dropped, 1 sent (maybe rewritten
 * into *v: strong ETags become weak). */
int rp__resp_filters_field(rp_req_t *r, rp_str_t name, rp_str_t *v);
/* Moves the body through the filters into c->out (as rp__resp_pump). */
int rp__resp_pump_filtered(rp_req_t *r);

#endif
