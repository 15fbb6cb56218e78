/* Client connections, requests and backend connections of one worker.
 *
 * Ownership: a worker owns its connections; a client connection owns its
 * current request; a request owns the backend connection it uses until the
 * response ends, then gives it back to the worker's pool or closes it. Every
 * object is freed through rp_loop_defer so an event later in the same epoll
 * batch never touches freed memory.
 */
#ifndef RP_PROXY_SESSION_H
#define RP_PROXY_SESSION_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "core/arena.h"
#include "core/loop.h"
#include "core/transport.h"
#include "http/h1_parser.h"

#define RP_BUF_SIZE 16384
#define RP_BUF_BIG 32768 /* backend response reads: a 16 KiB body and its head in one read */

typedef struct {
    char *data;
    size_t cap;
    size_t pos;  /* first unread byte */
    size_t last; /* end of data */
} rp_buf_t;

typedef struct rp_worker_s rp_worker_t;
typedef struct rp_conn_s rp_conn_t;
typedef struct rp_req_s rp_req_t;
typedef struct rp_upconn_s rp_upconn_t;
typedef struct rp_h2conn_s rp_h2conn_t;
typedef struct rp_pool_bucket_s rp_pool_bucket_t;

typedef struct {
    int fd;
    rp_io_t io;
    rp_conf_t *conf; /* the generation ls belongs to */
    const rp_listen_t *ls;
    rp_worker_t *w;
    int paused; /* EMFILE back-off */
} rp_wlisten_t;

/* Listening sockets and the generation they belong to, as handed to a
 * worker by the main thread. */
typedef struct {
    rp_conf_t *conf; /* one reference owned by this table */
    rp_wlisten_t *listens;
    size_t nlistens;
} rp_wgen_t;

struct rp_worker_s {
    int id;
    pthread_t tid;
    rp_loop_t loop;
    rp_wgen_t *gen;       /* current generation for new connections */
    rp_wgen_t *pending;   /* posted by the main thread, taken on wake */
    pthread_mutex_t lock; /* guards pending and quit requests */
    int quit;             /* 1 graceful, 2 fast (posted) */
    int quitting;
    int max_conns;
    int nconns;
    rp_conn_t *conns;  /* all client connections (doubly linked) */
    rp_upconn_t *idle; /* pooled backend connections */
    int nidle;
    rp_pool_bucket_t **pool_buckets; /* the same, per address (upstream.c) */
    size_t npool_buckets, cap_pool_buckets;
    char **free_bufs[2]; /* RP_BUF_SIZE and RP_BUF_BIG buffers */
    size_t nfree[2], capfree[2];
    rp_timer_t accept_timer;
    rp_timer_t tick; /* once a second: buffered logs */
    uint64_t conn_seq;
    uint64_t req_seq;
    /* cached HTTP Date and log times, refreshed once per second */
    time_t time_sec;
    char http_date[40];
    char time_local[40];
    char time_iso8601[40];
};

struct rp_conn_s {
    rp_io_t io;
    rp_worker_t *w;
    rp_conf_t *conf;
    const rp_listen_t *ls;
    rp_conn_t *prev, *next;
    char peer_addr[48];
    char peer_port[8];
    char local_port[8];
    rp_buf_t in;
    rp_buf_t out;
    rp_req_t *req;
    rp_timer_t timer;
    rp_timer_t resume; /* continue after yielding to other connections */
    uint64_t id;
    uint64_t nrequests;
    rp_h1_parser_t parser;
    const rp_transport_t *tp; /* NULL: plain TCP, the socket is used directly */
    void *tpctx;              /* the SSL while TLS is on (streams: their
                                 connection's, with tp NULL) */
    /* HTTP/2 (h2conn.c): a connection that speaks it has h2; each of its
     * streams is an rp_conn_t of its own (inside an rp_h2stream_t) whose
     * parent is the connection. A stream has no socket (io.fd -1), is not
     * in the worker's list and carries one request, so everything above
     * the byte level (routing, proxying, responses) is shared with
     * HTTP/1.1. */
    rp_h2conn_t *h2;
    rp_conn_t *parent;
    unsigned readable : 1;
    unsigned writable : 1;
    unsigned eof : 1; /* client closed its sending side */
    unsigned error : 1;
    unsigned closed : 1;
    unsigned lingering : 1;        /* closing after an error answer */
    unsigned rdhup : 1;            /* the peer's FIN was seen: reads go on to EOF */
    unsigned nodelay : 1;          /* TCP_NODELAY set */
    unsigned handshaked : 1;       /* transport handshake done */
    unsigned tpctx_started : 1;    /* handshake bytes seen */
    unsigned plain_on_tls : 1;     /* plain HTTP sent to a TLS port */
    unsigned read_wants_write : 1; /* TLS: a read waits for writability */
    unsigned write_wants_read : 1; /* TLS: a write waits for readability */
};

enum rp_req_phase {
    RP_PHASE_HANDLE = 0, /* response being produced */
    RP_PHASE_UPSTREAM,   /* waiting for / streaming a backend response */
    RP_PHASE_TUNNEL,     /* after 101: bytes both ways */
    RP_PHASE_READ_BODY,  /* proxy_request_buffering: reading the whole body
                            before choosing a backend */
    RP_PHASE_DONE,
};

enum rp_out_framing {
    RP_OUT_LENGTH = 0, /* Content-Length known */
    RP_OUT_CHUNKED,    /* re-framed as chunked for the client */
    RP_OUT_CLOSE,      /* close-delimited (HTTP/1.0 client) */
    RP_OUT_NONE,       /* no body (HEAD, 204, 304, 1xx) */
};

struct rp_req_s {
    rp_arena_t arena;
    rp_conn_t *c;
    rp_conf_t *conf;
    rp_h1_request_t h;
    char *head; /* private copy of the request head */
    rp_server_t *srv;
    rp_location_t *loc;
    const rp_loc_conf_t *lc;
    rp_str_t request_uri; /* path and query as received */
    rp_str_t path;        /* normalised, decoded */
    rp_str_t args;        /* query without '?' */
    int caps[20];
    int ncaps;
    uint64_t start_ms;        /* monotonic */
    struct timespec start_ts; /* wall clock for $request_time */
    uint64_t id;
    int phase;
    int status;
    int error_page_done;
    int redirects;      /* internal redirects (try_files): at most 10 */
    uint64_t body_sent; /* response body bytes to the client */
    uint64_t bytes_sent;
    uint64_t head_bytes;

    /* request body from the client */
    int body_kind;
    uint64_t body_left; /* LENGTH: bytes still to read */
    uint64_t body_received;
    rp_h1_chunked_t chunked;
    unsigned body_done : 1;
    unsigned continue_sent : 1;
    unsigned keep_alive : 1; /* client connection persists after this */
    unsigned head_only : 1;  /* HEAD request */
    unsigned upgraded : 1;
    unsigned finalized : 1;
    unsigned body_started : 1;  /* some body bytes went to a backend */
    unsigned body_buffered : 1; /* body read whole into body_mem/body_fd */
    unsigned body_pending : 1;
    unsigned corked : 1;           /* TCP_CORK set for a static file */
    unsigned head_timer_armed : 1; /* read timer set for the response head */
    rp_buf_t body_mem;             /* first bytes of a buffered body */
    int body_fd;                   /* rest of it, in an unlinked temp file */
    uint64_t body_file_len;
    uint64_t body_send_off; /* bytes of the buffered body sent */

    /* response to the client */
    int out_framing;
    uint64_t out_left; /* LENGTH: body bytes still to send */
    int file_fd;
    off_t file_off;
    uint64_t file_left;

    /* proxying */
    rp_upstream_t *upstream;
    rp_upstream_server_t *peer;
    rp_upconn_t *up;
    rp_str_t uphead;                                  /* serialised request head for the backend */
    unsigned char tried[RP_MAX_UPSTREAM_SERVERS / 8]; /* bitmap of servers tried */
    int tries;
    unsigned peer_held : 1; /* counted in r->peer's requests in flight */
    unsigned sticky_checked : 1;
    int sticky_hit;       /* 1 + index of the server the sticky cookie named */
    uint64_t up_first_ms; /* the first attempt (proxy_next_upstream_timeout) */
    uint64_t up_start_us; /* this attempt, for least_time */
    int upstream_status;
    int upstream_timed_out;
    uint64_t up_start_ms;
    uint64_t up_header_ms;
    uint64_t up_connect_ms;
    uint64_t up_sent_base; /* up->sent when this attempt began */
    char request_id[33];
    uint64_t up_end_ms;
    char *upstream_addr; /* "$upstream_addr": addresses tried */
    rp_h1_response_t resp;
    char *resp_head; /* private copy of the backend response head */
    int resp_kind;
    uint64_t resp_left;
    rp_h1_chunked_t resp_chunked;
    unsigned resp_head_done : 1;
    unsigned resp_done : 1;
    unsigned up_keepalive : 1;

    /* body filters (compress.c): gunzip and/or compression */
    struct rp_filter_chain_s *zchain; /* NULL: the body passes unchanged */
    rp_buf_t zin;                     /* body bytes waiting for the chain */
    int zcoding;                      /* RP_Z_* the body is coded with, -1 none */
    uint64_t zin_total;               /* body bytes the chain took ($gzip_ratio) */
    const char *zpre;                 /* coding of a precompressed file sent */
    unsigned zgunzip : 1;             /* the backend's gzip is decoded */
    unsigned zvary : 1;               /* Vary: Accept-Encoding is added */
    unsigned zdirty : 1;              /* bytes went in since the last flush */
    unsigned zfinished : 1;           /* the chain's output is complete */
};

struct rp_upconn_s {
    rp_io_t io;
    rp_worker_t *w;
    rp_req_t *req;              /* NULL while idle in the pool */
    rp_upconn_t *prev, *next;   /* pool links: the worker's idle list */
    rp_upconn_t *bprev, *bnext; /* and its bucket's */
    rp_pool_bucket_t *bucket;
    rp_sockaddr_t addr;
    const rp_transport_t *tp; /* NULL: plain TCP */
    void *tpctx;
    const void *tls_key; /* client SSL_CTX: pooled TLS connections are
                            reused only for the same TLS settings */
    rp_buf_t in;
    rp_buf_t out;
    size_t out_head_written; /* bytes of req->uphead already sent */
    uint64_t sent;           /* bytes written, for progress detection */
    rp_timer_t timer;
    uint64_t nrequests;
    int64_t keepalive_requests;
    int keepalive_max;
    unsigned connected : 1;
    unsigned readable : 1;
    unsigned writable : 1;
    unsigned eof : 1;
    unsigned reused : 1;
    unsigned got_bytes : 1;        /* any response byte on this request */
    unsigned handshaked : 1;       /* TLS handshake done (or plain) */
    unsigned read_wants_write : 1; /* TLS: a read waits for writability */
    unsigned write_wants_read : 1; /* TLS: a write waits for readability */
    unsigned rdhup : 1;            /* the backend's FIN was seen */
};

/* buffers (per-worker free list of RP_BUF_SIZE blocks) */
int rp_buf_alloc(rp_worker_t *w, rp_buf_t *b, size_t cap);
void rp_buf_release(rp_worker_t *w, rp_buf_t *b);
static inline size_t rp_buf_len(const rp_buf_t *b)
{
    return b->last - b->pos;
}
static inline size_t rp_buf_room(const rp_buf_t *b)
{
    return b->cap - b->last;
}
/* Moves unread data to the front. */
void rp_buf_compact(rp_buf_t *b);
/* Moves the unread data into a new buffer of `cap` bytes (>= its length). */
int rp_buf_resize(rp_worker_t *w, rp_buf_t *b, size_t cap);
/* Appends; grows up to `max` bytes of capacity; RP_ERROR when it can't. */
int rp_buf_append(rp_worker_t *w, rp_buf_t *b, const char *p, size_t n, size_t max);

/* session.c: client side */
void rp_conn_accepted(rp_worker_t *w, int fd, const rp_wlisten_t *wl, struct sockaddr *sa,
                      socklen_t salen);
void rp_conn_close(rp_conn_t *c);
void rp_conn_run(rp_conn_t *c);
void rp_worker_update_time(rp_worker_t *w);
/* Ends the current request (access log, keep-alive or close). */
void rp_req_finalize(rp_req_t *r);
/* Answers with an error/status page (error_page aware). */
void rp_req_error(rp_req_t *r, int status);
int rp_req_write_head(rp_req_t *r, int status, const char *extra, size_t extra_len, int framing,
                      uint64_t length);
int rp_conn_flush(rp_conn_t *c);
int rp_conn_read(rp_conn_t *c);
/* Socket I/O of a client connection through its transport: > 0 bytes, 0 at
 * the end of the stream, -1 with errno (EAGAIN: readiness flags updated). */
ssize_t rp_conn_recv(rp_conn_t *c, void *buf, size_t len);
ssize_t rp_conn_send(rp_conn_t *c, const void *buf, size_t len);
/* Sets TCP_NODELAY once: needed as soon as a response takes more than one
 * write (keep-alive, streaming), not for one-write answers that close. */
void rp_conn_nodelay(rp_conn_t *c, const rp_loc_conf_t *lc);
void rp_conn_set_timer(rp_conn_t *c, int64_t ms);
void rp_conn_release_conf(rp_conn_t *c, rp_conf_t *conf);
/* Adds the configured add_header fields for `status` to c->out. */
int rp_req_add_headers(rp_req_t *r, int status);
int rp_out_printf(rp_req_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* session.c, shared with h2conn.c */
rp_req_t *rp__req_new(rp_conn_t *c);
/* The timeout and resume timers every connection (and stream) has. */
void rp__conn_init_timers(rp_conn_t *c);
/* Routes a request whose head is in r->h and handles it. */
void rp__req_route(rp_req_t *r);
/* Moves the connection's current request on; 1 to call again, 0 to wait. */
int rp__req_run(rp_conn_t *c);

/* h2conn.c: HTTP/2 connections and streams */
/* 1 when HTTP/2 may be spoken on c (cleartext: h2c with prior knowledge). */
int rp_h2conn_enabled(const rp_conn_t *c);
/* Switches c to HTTP/2; the bytes in c->in (the preface first) are fed. */
void rp_h2conn_start(rp_conn_t *c);
void rp_h2conn_run(rp_conn_t *c);
/* Releases the HTTP/2 state of a connection being closed (its streams
 * first). */
void rp_h2conn_close(rp_conn_t *c);
/* GOAWAY: finish the streams in flight, take no new ones, then close. */
void rp_h2conn_goaway(rp_conn_t *c);
/* 1 when every open stream of c waits on the client's window. */
int rp_h2conn_stalled(rp_conn_t *c);
/* Stream side of rp_conn_run / close / read / send / flush / finalize. */
void rp_h2stream_kick(rp_conn_t *s);
void rp_h2stream_close(rp_conn_t *s);
int rp_h2stream_read(rp_conn_t *s);
ssize_t rp_h2stream_send(rp_conn_t *s, const void *buf, size_t len);
int rp_h2stream_head(rp_conn_t *s);
void rp_h2stream_end(rp_conn_t *s);

/* compress.c: body filters (gzip, br, zstd) */
void rp_resp_filters_free(rp_req_t *r);
/* A local file of `size` bytes with type ctype: how its answer is coded,
 * as for a backend response. With `pre` (the coding of a precompressed
 * copy being sent) nothing is coded. build 0: only the decision, for the
 * Vary of a 304. Returns 1 when its body goes through filters. */
int rp_static_filters_plan(rp_req_t *r, int status, rp_str_t ctype, uint64_t size, const char *pre,
                           int build);
/* gzip_static, brotli_static, zstd_static: a precompressed copy of the
 * file at `path` (path.gz, .br, .zst) the client may take: its descriptor,
 * *st and *coding; -1 when there is none. */
struct stat;
int rp_static_precompressed(rp_req_t *r, const char *path, struct stat *st, const char **coding);
/* The Content-Encoding and Vary lines of an answer's head, as planned. */
size_t rp_resp_filters_head(const rp_req_t *r, char *buf, size_t cap);
/* Sends r->file_fd through the filters: 1 done, 0 waiting for the client,
 * -1 closed. */
int rp_resp_filters_file(rp_req_t *r);

/* forward.c: backend side */
void rp_proxy_start(rp_req_t *r);
void rp_proxy_run(rp_req_t *r);
void rp_proxy_abort(rp_req_t *r);
void rp_pool_close_all(rp_worker_t *w);

/* Relaxed atomics for the per-server state the worker threads share
 * (balance.c, health.c, resolve.c, api.c). */
#define RP_LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define RP_ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define RP_ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)

/* balance.c: choosing a server, and the per-server state */
/* A usable server the request has not tried (primary first, then backup),
 * or NULL. */
rp_upstream_server_t *rp_upstream_pick(rp_worker_t *w, rp_req_t *r);
/* 1 when rp_upstream_pick would find a server (nothing is changed). */
int rp_upstream_has_next(rp_worker_t *w, rp_req_t *r);
/* Counts a request in flight to s; 0 when s is at max_conns. */
int rp_peer_acquire(rp_upstream_server_t *s);
void rp_peer_release(rp_upstream_server_t *s);
/* A failed attempt (error, timeout, invalid header, or a status listed in
 * proxy_next_upstream): max_fails of them within fail_timeout take the
 * server out for fail_timeout. */
void rp_peer_failed(rp_upstream_t *us, rp_upstream_server_t *s, uint64_t now);
void rp_peer_ok(rp_upstream_server_t *s, uint64_t now);
/* Response time samples for least_time (µs, RP_LT_HEADER / _LAST_BYTE). */
void rp_peer_time(rp_upstream_server_t *s, int which, uint64_t us);
uint64_t rp_peer_clock_us(void);
uint32_t rp_hash32(const void *p, size_t n, uint32_t seed);
/* The Set-Cookie value for a sticky upstream, written into buf (at least
 * 512 bytes); 0 when no cookie is due (the client's cookie named r->peer). */
size_t rp_sticky_set_cookie(rp_req_t *r, char *buf, size_t cap);
/* Fills the next free server slot of us from tmpl (address addr, name)
 * and publishes it; the caller holds rp_upstream_lock. Returns the new
 * server, or NULL when the upstream has no free slot. */
rp_upstream_server_t *rp_upstream_add_server(rp_upstream_t *us, const rp_upstream_server_t *tmpl,
                                             const rp_sockaddr_t *addr, const char *name);
/* The upstream of old with the same name (and kind) as us, or NULL. */
const rp_upstream_t *rp_upstream_in(const rp_conf_t *old, const rp_upstream_t *us);
/* The sticky id of a server (from its address). */
void rp_balance_server_id(rp_upstream_server_t *s);
/* (Re)builds the consistent-hash ring after servers changed. */
int rp_balance_ring(rp_upstream_t *us, rp_arena_t *a);
/* Round-robin state and consistent-hash ring of a generation's upstream. */
int rp_balance_prepare(rp_upstream_t *us, rp_arena_t *a);

/* health.c: active health checks, run by worker 0 */
/* The generation worker 0 serves now: its checks replace the previous. */
void rp_health_apply(rp_worker_t *w, rp_conf_t *conf);
void rp_health_stop(rp_worker_t *w);
/* Servers were added through the API: worker 0 probes them too. */
void rp_health_notify(void);
void rp_health_sync(rp_worker_t *w);
/* Main thread, before conf is published: initial verdicts (mandatory,
 * persistent from old). */
void rp_health_carry(rp_conf_t *conf, const rp_conf_t *old);

/* api.c: the runtime API, and allow / deny */
void rp_api_handle(rp_req_t *r);
/* Serialises changes to upstreams' servers (API, resolver). */
void rp_upstream_lock(void);
void rp_upstream_unlock(void);
int rp_access_allowed(const rp_req_t *r);

/* resolve.c: `server name resolve`, re-resolved by worker 0 */
void rp_resolve_apply(rp_worker_t *w, rp_conf_t *conf);
void rp_resolve_stop(rp_worker_t *w);
/* Main thread, before conf is published: resolved servers carried from
 * old. */
void rp_resolve_carry(rp_conf_t *conf, const rp_conf_t *old);

/* upstream.c */
rp_upconn_t *rp_pool_get(rp_worker_t *w, const rp_sockaddr_t *addr, const void *tls_key);
void rp_pool_put(rp_worker_t *w, rp_upconn_t *u, const rp_upstream_t *us);
void rp_upconn_free(rp_upconn_t *u);
/* Frees the pool's per-address buckets (the worker is ending). */
void rp_pool_free_buckets(rp_worker_t *w);

/* variables.c */
/* The request's field `name`, written as in $http_NAME (lower case, '_'
 * for '-'); several fields are one list joined with ", "; RP_NULL_STR
 * when there is none. */
rp_str_t rp_req_field(rp_req_t *r, const char *name);
uint64_t rp_random64(void);
int rp_req_var(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out);
void rp_req_access_log(rp_req_t *r);
/* Writes buffered access log lines: those due, or all when `all`. */
void rp_access_log_flush(rp_worker_t *w, int all);

/* worker.c */
extern int rp_nworkers;
extern rp_worker_t *rp_workers;

#endif
