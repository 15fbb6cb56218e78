/* libFuzzer target for the HTTP/1.x head parser and chunked decoder.
 *
 * The input is parsed as a request, as a response (to a method picked from
 * the first byte) and as a chunked body, each once whole and once split at a
 * point picked from the input, every piece in a fresh heap buffer so ASan
 * catches reads outside it or through a pointer kept from an earlier call.
 * Split and whole must give the same answer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "http/h1_parser.h"

#define FZ_MAXF 32

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_h1: check failed: %s (line %d)\n", #c, __LINE__);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const rp_h1_limits_t fz_limits = {
    .max_line = 512,
    .max_field = 512,
    .max_head = 4096,
    .max_fields = FZ_MAXF,
};

static char *dup_buf(const uint8_t *data, size_t n)
{
    char *b = malloc(n ? n : 1);
    CHECK(b != NULL);
    if (n)
        memcpy(b, data, n);
    return b;
}

static void check_slice(rp_str_t s, const char *buf, size_t len)
{
    /* empty slices also point into the buffer (callers rebase them) */
    CHECK(s.data >= buf && s.data <= buf + len && s.len <= (size_t)(buf + len - s.data));
}

static int eq(rp_str_t a, rp_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static void check_fields(const rp_http_field_t *f, size_t n, const char *buf, size_t len)
{
    CHECK(n <= FZ_MAXF);
    for (size_t i = 0; i < n; i++) {
        CHECK(f[i].name.len > 0);
        check_slice(f[i].name, buf, len);
        check_slice(f[i].value, buf, len);
        /* values are trimmed */
        if (f[i].value.len) {
            char a = f[i].value.data[0], z = f[i].value.data[f[i].value.len - 1];
            CHECK(a != ' ' && a != '\t' && z != ' ' && z != '\t');
        }
        for (size_t k = 0; k < f[i].value.len; k++) {
            unsigned char c = (unsigned char)f[i].value.data[k];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
    }
}

static void check_req(int rc, const rp_h1_request_t *r, const char *buf, size_t len)
{
    CHECK(rc == RP_OK || rc == RP_AGAIN || rc == RP_ERROR);
    if (rc == RP_ERROR) {
        CHECK(r->error != NULL);
        CHECK(r->error_status == 400 || r->error_status == 414 || r->error_status == 431 ||
              r->error_status == 501 || r->error_status == 505);
        return;
    }
    if (rc != RP_OK)
        return;
    CHECK(r->head_len > 0 && r->head_len <= len);
    CHECK(buf[r->head_len - 1] == '\n');
    CHECK(r->method.len > 0);
    check_slice(r->method, buf, r->head_len);
    check_slice(r->target, buf, r->head_len);
    check_slice(r->authority, buf, r->head_len);
    check_slice(r->host, buf, r->head_len);
    check_slice(r->connection, buf, r->head_len);
    if (!(r->path.len == 1 && r->path.data[0] == '/'))
        check_slice(r->path, buf, r->head_len);
    CHECK(r->version_minor == 0 || r->version_minor == 1);
    CHECK(r->body_kind == RP_BODY_NONE || r->body_kind == RP_BODY_LENGTH ||
          r->body_kind == RP_BODY_CHUNKED);
    if (r->body_kind == RP_BODY_LENGTH)
        CHECK(r->content_length <= (uint64_t)INT64_MAX);
    if (r->target_form == RP_TARGET_ORIGIN)
        CHECK(r->path.len > 0 && r->path.data[0] == '/');
    if (r->target_form == RP_TARGET_AUTHORITY)
        CHECK(r->method_id == RP_METHOD_CONNECT && r->authority.len > 0);
    if (r->target_form == RP_TARGET_ASTERISK)
        CHECK(r->method_id == RP_METHOD_OPTIONS);
    if (r->version_minor == 0)
        CHECK(r->body_kind != RP_BODY_CHUNKED);
    check_fields(r->fields, r->nfields, buf, r->head_len);
}

static void same_req(const rp_h1_request_t *a, const rp_h1_request_t *b)
{
    CHECK(a->head_len == b->head_len);
    CHECK(a->nfields == b->nfields);
    CHECK(eq(a->method, b->method) && eq(a->target, b->target) && eq(a->path, b->path));
    CHECK(eq(a->host, b->host) && eq(a->authority, b->authority));
    CHECK(eq(a->connection, b->connection));
    CHECK(a->body_kind == b->body_kind && a->keep_alive == b->keep_alive);
    CHECK(a->upgrade == b->upgrade && a->expect_continue == b->expect_continue);
    if (a->body_kind == RP_BODY_LENGTH)
        CHECK(a->content_length == b->content_length);
    for (size_t i = 0; i < a->nfields; i++)
        CHECK(eq(a->fields[i].name, b->fields[i].name) &&
              eq(a->fields[i].value, b->fields[i].value));
}

static void fuzz_request(const uint8_t *data, size_t size, size_t split)
{
    rp_http_field_t f1[FZ_MAXF], f2[FZ_MAXF];
    rp_h1_request_t r1, r2;
    rp_h1_parser_t p;

    /* whole */
    char *b1 = dup_buf(data, size);
    rp_h1_parser_init(&p, &fz_limits);
    memset(&r1, 0, sizeof(r1));
    r1.fields = f1;
    int rc1 = rp_h1_parse_request(&p, b1, size, &r1);
    check_req(rc1, &r1, b1, size);
    if (rc1 == RP_AGAIN)
        CHECK(p.scanned == size);

    /* two pieces, the first buffer freed before the second call */
    rp_h1_parser_init(&p, &fz_limits);
    memset(&r2, 0, sizeof(r2));
    r2.fields = f2;
    char *b2 = dup_buf(data, split);
    int rc2 = rp_h1_parse_request(&p, b2, split, &r2);
    check_req(rc2, &r2, b2, split);
    if (rc2 == RP_AGAIN) {
        free(b2);
        b2 = dup_buf(data, size);
        rc2 = rp_h1_parse_request(&p, b2, size, &r2);
        check_req(rc2, &r2, b2, size);
        CHECK(rc2 == rc1);
        if (rc1 == RP_OK)
            same_req(&r1, &r2);
        if (rc1 == RP_ERROR)
            CHECK(r1.error_status == r2.error_status);
    } else if (rc2 == RP_OK) {
        /* a complete head in the prefix is the same head in the whole */
        CHECK(rc1 == RP_OK);
        same_req(&r1, &r2);
    } else {
        CHECK(rc1 == RP_ERROR && r1.error_status == r2.error_status);
    }
    free(b1);
    free(b2);
}

static void check_resp(int rc, const rp_h1_response_t *r, const char *buf, size_t len)
{
    CHECK(rc == RP_OK || rc == RP_AGAIN || rc == RP_ERROR);
    if (rc == RP_ERROR)
        CHECK(r->error != NULL);
    if (rc != RP_OK)
        return;
    CHECK(r->head_len > 0 && r->head_len <= len);
    CHECK(r->status >= 100 && r->status <= 599);
    check_slice(r->reason, buf, r->head_len);
    check_slice(r->connection, buf, r->head_len);
    check_fields(r->fields, r->nfields, buf, r->head_len);
    if (r->body_kind == RP_BODY_CLOSE)
        CHECK(!r->keep_alive);
    if (r->status < 200 || r->status == 204 || r->status == 304)
        CHECK(r->body_kind == RP_BODY_NONE);
}

static void fuzz_response(const uint8_t *data, size_t size, size_t split, int method)
{
    rp_http_field_t f1[FZ_MAXF], f2[FZ_MAXF];
    rp_h1_response_t r1, r2;
    rp_h1_parser_t p;

    char *b1 = dup_buf(data, size);
    rp_h1_parser_init(&p, &fz_limits);
    memset(&r1, 0, sizeof(r1));
    r1.fields = f1;
    int rc1 = rp_h1_parse_response(&p, b1, size, method, &r1);
    check_resp(rc1, &r1, b1, size);

    rp_h1_parser_init(&p, &fz_limits);
    memset(&r2, 0, sizeof(r2));
    r2.fields = f2;
    char *b2 = dup_buf(data, split);
    int rc2 = rp_h1_parse_response(&p, b2, split, method, &r2);
    check_resp(rc2, &r2, b2, split);
    if (rc2 == RP_AGAIN) {
        free(b2);
        b2 = dup_buf(data, size);
        rc2 = rp_h1_parse_response(&p, b2, size, method, &r2);
        check_resp(rc2, &r2, b2, size);
        CHECK(rc2 == rc1);
    } else {
        CHECK(rc2 == rc1);
    }
    if (rc1 == RP_OK && rc2 == RP_OK) {
        CHECK(r1.head_len == r2.head_len && r1.status == r2.status);
        CHECK(r1.body_kind == r2.body_kind && r1.keep_alive == r2.keep_alive);
        CHECK(r1.nfields == r2.nfields && eq(r1.reason, r2.reason));
    }
    free(b1);
    free(b2);
}

/* Decodes data in pieces of at most `step` bytes (0: whole); returns the rc
 * and fills out/total consumed. */
static int chunked_run(const uint8_t *data, size_t size, size_t step, char *out, size_t *out_n,
                       size_t *cons_total)
{
    rp_h1_chunked_t c;
    rp_h1_chunked_init(&c);
    size_t pos = 0;
    int rc = RP_AGAIN;
    *out_n = 0;
    *cons_total = 0;
    do {
        size_t n = step == 0 || size - pos < step ? size - pos : step;
        char *b = dup_buf(data + pos, n);
        size_t cons = (size_t)-1, olen = (size_t)-1;
        rc = rp_h1_chunked_decode(&c, b, n, &cons, &olen);
        CHECK(rc == RP_OK || rc == RP_AGAIN || rc == RP_ERROR);
        CHECK(cons <= n);
        CHECK(olen <= cons);
        if (rc == RP_AGAIN)
            CHECK(cons == n);
        memcpy(out + *out_n, b, olen);
        *out_n += olen;
        *cons_total += cons;
        pos += n;
        free(b);
    } while (rc == RP_AGAIN && pos < size);
    return rc;
}

static void fuzz_chunked(const uint8_t *data, size_t size, size_t split)
{
    char *o1 = malloc(size + 1), *o2 = malloc(size + 1);
    size_t n1, n2, c1, c2;
    int rc1 = chunked_run(data, size, 0, o1, &n1, &c1);
    int rc2 = chunked_run(data, size, split ? split : 1, o2, &n2, &c2);
    CHECK(rc1 == rc2);
    if (rc1 != RP_ERROR) {
        CHECK(n1 == n2 && memcmp(o1, o2, n1) == 0);
        CHECK(c1 == c2);
    }
    free(o1);
    free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int methods[] = { RP_METHOD_GET, RP_METHOD_HEAD, RP_METHOD_CONNECT,
                                   RP_METHOD_POST };
    if (size > 65536)
        return 0;
    /* the split point and the method come from the input's own bytes so the
     * fuzzer can steer them, without shifting the text it mutates */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i += 1 + size / 16)
        h = (h ^ data[i]) * 16777619u;
    size_t split = size ? h % (size + 1) : 0;
    int method = methods[(h >> 24) & 3];

    fuzz_request(data, size, split);
    fuzz_response(data, size, split, method);
    fuzz_chunked(data, size, split);
    return 0;
}
