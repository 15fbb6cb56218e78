/* Unit tests for src/conf/vars.c: variable lookup, template compile and
 * evaluation with a fake getter, and maps (exact, regex, default,
 * hostnames wildcards, the websocket upgrade map). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/vars.h"
#include "core/common.h"

/* ---- fake request: a list of (id, arg, value) ---- */

typedef struct {
    int id;
    const char *arg;
    const char *value;
} fake_var_t;

typedef struct {
    const fake_var_t *vars;
    size_t n;
    int calls;
    int fail_id; /* getter returns RP_ERROR for this id */
} fake_req_t;

static int fake_get(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    fake_req_t *r = ctx;
    r->calls++;
    assert_int_not_equal(ref->id, RP_VAR_MAP);
    if (ref->id == r->fail_id)
        return RP_ERROR;
    if (ref->id == RP_VAR_CAPTURE) {
        /* captures come back as "cN" from arena memory */
        char *p = rp_arena_alloc(a, 2);
        p[0] = 'c';
        p[1] = (char)('0' + ref->index);
        *out = rp_str(p, 2);
        return RP_OK;
    }
    for (size_t i = 0; i < r->n; i++) {
        const fake_var_t *v = &r->vars[i];
        if (v->id != ref->id)
            continue;
        if (v->arg && !rp_str_eq(ref->arg, rp_str_cstr(v->arg)))
            continue;
        *out = rp_str_cstr(v->value);
        return RP_OK;
    }
    return RP_DECLINED;
}

static const fake_var_t std_vars[] = {
    { RP_VAR_HOST, NULL, "example.com" },
    { RP_VAR_REMOTE_ADDR, NULL, "192.0.2.7" },
    { RP_VAR_SCHEME, NULL, "https" },
    { RP_VAR_REQUEST_URI, NULL, "/a/b?x=1" },
    { RP_VAR_URI, NULL, "/a/b" },
    { RP_VAR_ARGS, NULL, "x=1" },
    { RP_VAR_HTTP_, "user_agent", "curl/8" },
    { RP_VAR_HTTP_, "x_forwarded_for", "10.0.0.1" },
    { RP_VAR_ARG_, "x", "1" },
    { RP_VAR_COOKIE_, "sid", "abc" },
    { RP_VAR_REQUEST_METHOD, NULL, "" },
};

static fake_req_t std_req(void)
{
    fake_req_t r = { std_vars, RP_ARRAY_LEN(std_vars), 0, -100 };
    return r;
}

/* ---- lookup ---- */

static const struct {
    const char *name;
    int rc;
    int id;
    const char *arg;
    int index;
} lookup_cases[] = {
    { "host", RP_OK, RP_VAR_HOST, NULL, 0 },
    { "remote_addr", RP_OK, RP_VAR_REMOTE_ADDR, NULL, 0 },
    { "remote_port", RP_OK, RP_VAR_REMOTE_PORT, NULL, 0 },
    { "server_addr", RP_OK, RP_VAR_SERVER_ADDR, NULL, 0 },
    { "server_port", RP_OK, RP_VAR_SERVER_PORT, NULL, 0 },
    { "server_name", RP_OK, RP_VAR_SERVER_NAME, NULL, 0 },
    { "server_protocol", RP_OK, RP_VAR_SERVER_PROTOCOL, NULL, 0 },
    { "scheme", RP_OK, RP_VAR_SCHEME, NULL, 0 },
    { "https", RP_OK, RP_VAR_HTTPS, NULL, 0 },
    { "request_uri", RP_OK, RP_VAR_REQUEST_URI, NULL, 0 },
    { "uri", RP_OK, RP_VAR_URI, NULL, 0 },
    { "document_uri", RP_OK, RP_VAR_URI, NULL, 0 },
    { "args", RP_OK, RP_VAR_ARGS, NULL, 0 },
    { "query_string", RP_OK, RP_VAR_ARGS, NULL, 0 },
    { "is_args", RP_OK, RP_VAR_IS_ARGS, NULL, 0 },
    { "request_method", RP_OK, RP_VAR_REQUEST_METHOD, NULL, 0 },
    { "request", RP_OK, RP_VAR_REQUEST, NULL, 0 },
    { "request_length", RP_OK, RP_VAR_REQUEST_LENGTH, NULL, 0 },
    { "request_time", RP_OK, RP_VAR_REQUEST_TIME, NULL, 0 },
    { "request_id", RP_OK, RP_VAR_REQUEST_ID, NULL, 0 },
    { "content_length", RP_OK, RP_VAR_CONTENT_LENGTH, NULL, 0 },
    { "content_type", RP_OK, RP_VAR_CONTENT_TYPE, NULL, 0 },
    { "proxy_host", RP_OK, RP_VAR_PROXY_HOST, NULL, 0 },
    { "proxy_port", RP_OK, RP_VAR_PROXY_PORT, NULL, 0 },
    { "proxy_add_x_forwarded_for", RP_OK, RP_VAR_PROXY_ADD_X_FORWARDED_FOR, NULL, 0 },
    { "status", RP_OK, RP_VAR_STATUS, NULL, 0 },
    { "body_bytes_sent", RP_OK, RP_VAR_BODY_BYTES_SENT, NULL, 0 },
    { "bytes_sent", RP_OK, RP_VAR_BYTES_SENT, NULL, 0 },
    { "upstream_addr", RP_OK, RP_VAR_UPSTREAM_ADDR, NULL, 0 },
    { "upstream_status", RP_OK, RP_VAR_UPSTREAM_STATUS, NULL, 0 },
    { "upstream_response_time", RP_OK, RP_VAR_UPSTREAM_RESPONSE_TIME, NULL, 0 },
    { "upstream_connect_time", RP_OK, RP_VAR_UPSTREAM_CONNECT_TIME, NULL, 0 },
    { "upstream_header_time", RP_OK, RP_VAR_UPSTREAM_HEADER_TIME, NULL, 0 },
    { "upstream_cache_status", RP_OK, RP_VAR_UPSTREAM_CACHE_STATUS, NULL, 0 },
    { "time_local", RP_OK, RP_VAR_TIME_LOCAL, NULL, 0 },
    { "time_iso8601", RP_OK, RP_VAR_TIME_ISO8601, NULL, 0 },
    { "msec", RP_OK, RP_VAR_MSEC, NULL, 0 },
    { "connection", RP_OK, RP_VAR_CONNECTION, NULL, 0 },
    { "connection_requests", RP_OK, RP_VAR_CONNECTION_REQUESTS, NULL, 0 },
    { "remote_user", RP_OK, RP_VAR_REMOTE_USER, NULL, 0 },
    { "ssl_protocol", RP_OK, RP_VAR_SSL_PROTOCOL, NULL, 0 },
    { "ssl_cipher", RP_OK, RP_VAR_SSL_CIPHER, NULL, 0 },
    { "ssl_server_name", RP_OK, RP_VAR_SSL_SERVER_NAME, NULL, 0 },
    { "hostname", RP_OK, RP_VAR_HOSTNAME, NULL, 0 },
    { "pid", RP_OK, RP_VAR_PID, NULL, 0 },
    { "http_user_agent", RP_OK, RP_VAR_HTTP_, "user_agent", 0 },
    { "http_x", RP_OK, RP_VAR_HTTP_, "x", 0 },
    { "sent_http_content_type", RP_OK, RP_VAR_SENT_HTTP_, "content_type", 0 },
    { "upstream_http_server", RP_OK, RP_VAR_UPSTREAM_HTTP_, "server", 0 },
    { "cookie_sid", RP_OK, RP_VAR_COOKIE_, "sid", 0 },
    { "arg_page", RP_OK, RP_VAR_ARG_, "page", 0 },
    { "1", RP_OK, RP_VAR_CAPTURE, NULL, 1 },
    { "9", RP_OK, RP_VAR_CAPTURE, NULL, 9 },
    { "connection_upgrade", RP_OK, RP_VAR_MAP, NULL, 0 },
    { "http_", RP_ERROR, 0, NULL, 0 },
    { "arg_", RP_ERROR, 0, NULL, 0 },
    { "cookie", RP_ERROR, 0, NULL, 0 },
    { "hosts", RP_ERROR, 0, NULL, 0 },
    { "Host", RP_ERROR, 0, NULL, 0 },
    { "10", RP_ERROR, 0, NULL, 0 },
    { "", RP_ERROR, 0, NULL, 0 },
    { "nope", RP_ERROR, 0, NULL, 0 },
};

static void test_lookup(void **state)
{
    (void)state;
    rp_map_t m = { .name = RP_STR("connection_upgrade") };
    rp_map_t *maps[] = { &m };
    rp_var_registry_t reg = { maps, 1 };
    for (size_t i = 0; i < RP_ARRAY_LEN(lookup_cases); i++) {
        rp_var_ref_t ref;
        int rc = rp_var_lookup(rp_str_cstr(lookup_cases[i].name), &reg, &ref);
        if (rc != lookup_cases[i].rc)
            fail_msg("case %zu (%s): rc %d", i, lookup_cases[i].name, rc);
        if (rc != RP_OK)
            continue;
        assert_int_equal(ref.id, lookup_cases[i].id);
        if (lookup_cases[i].arg)
            assert_true(rp_str_eq(ref.arg, rp_str_cstr(lookup_cases[i].arg)));
        else
            assert_int_equal(ref.arg.len, 0);
        assert_int_equal(ref.index, lookup_cases[i].index);
        if (ref.id == RP_VAR_MAP)
            assert_ptr_equal(ref.map, &m);
    }
    rp_var_ref_t ref;
    assert_int_equal(rp_var_lookup(RP_STR("connection_upgrade"), NULL, &ref), RP_ERROR);
    assert_int_equal(rp_var_lookup(RP_STR("host"), NULL, &ref), RP_OK);
}

/* ---- compile ---- */

/* parts rendered as L(text) and V(id[:arg]) */
static void describe(const rp_tpl_t *t, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->nparts; i++) {
        const rp_tpl_part_t *p = &t->parts[i];
        if (p->var.id == RP_VAR_NONE)
            n += (size_t)snprintf(buf + n, len - n, "L(%.*s)", (int)p->lit.len, p->lit.data);
        else if (p->var.arg.len)
            n += (size_t)snprintf(buf + n, len - n, "V(%d:%.*s)", p->var.id, (int)p->var.arg.len,
                                  p->var.arg.data);
        else if (p->var.id == RP_VAR_CAPTURE)
            n += (size_t)snprintf(buf + n, len - n, "C(%d)", p->var.index);
        else
            n += (size_t)snprintf(buf + n, len - n, "V(%d)", p->var.id);
        assert_true(n < len);
    }
}

static const struct {
    const char *text;
    const char *parts; /* NULL: error */
    int is_const;
    const char *err;
} compile_cases[] = {
    { "", "", 1, NULL },
    { "plain text", "L(plain text)", 1, NULL },
    { "$host", "V(1)", 0, NULL },
    { "${host}", "V(1)", 0, NULL },
    { "a$host", "L(a)V(1)", 0, NULL },
    { "$host:$remote_port", "V(1)L(:)V(3)", 0, NULL },
    { "${host}x", "V(1)L(x)", 0, NULL },
    { "$hostx", NULL, 0, "unknown \"hostx\" variable" },
    { "$scheme://$host$request_uri", "V(8)L(://)V(1)V(10)", 0, NULL },
    { "$", "L($)", 1, NULL },
    { "a$", "L(a$)", 1, NULL },
    { "$$", "L($$)", 1, NULL },
    { "$$host", "L($)V(1)", 0, NULL },
    { "100$ off", "L(100$ off)", 1, NULL },
    { "$-x", "L($-x)", 1, NULL },
    { "a$.b$host", "L(a$.b)V(1)", 0, NULL },
    { "$http_User_Agent", "V(49:user_agent)", 0, NULL },
    { "$cookie_SID", "V(52:sid)", 0, NULL },
    { "$arg_x&", "V(53:x)L(&)", 0, NULL },
    { "r=$gzip_ratio", "L(r=)V(48)", 0, NULL },
    { "$1", "C(1)", 0, NULL },
    { "/$1/$2", "L(/)C(1)L(/)C(2)", 0, NULL },
    { "$12", "C(1)L(2)", 0, NULL },
    { "${1}0", "C(1)L(0)", 0, NULL },
    { "$document_uri?$query_string", "V(11)L(?)V(12)", 0, NULL },
    { "${host", NULL, 0, "the closing bracket in \"host\" variable is missing" },
    { "${ho-st}", NULL, 0, "the closing bracket in \"ho\" variable is missing" },
    { "${}", NULL, 0, "invalid variable name in \"${}\"" },
    { "x${", NULL, 0, "invalid variable name in \"x${\"" },
    { "$nope", NULL, 0, "unknown \"nope\" variable" },
    { "a ${nope} b", NULL, 0, "unknown \"nope\" variable" },
    { "$connection_upgrade", "V(56)", 0, NULL },
};

static void test_compile(void **state)
{
    (void)state;
    rp_map_t m = { .name = RP_STR("connection_upgrade") };
    rp_map_t *maps[] = { &m };
    rp_var_registry_t reg = { maps, 1 };
    rp_arena_t a;
    rp_arena_init(&a, 1024);
    /* the numbers in the table are enum values; keep them honest */
    assert_int_equal(RP_VAR_HOST, 1);
    assert_int_equal(RP_VAR_REMOTE_PORT, 3);
    assert_int_equal(RP_VAR_SCHEME, 8);
    assert_int_equal(RP_VAR_REQUEST_URI, 10);
    assert_int_equal(RP_VAR_URI, 11);
    assert_int_equal(RP_VAR_ARGS, 12);
    assert_int_equal(RP_VAR_HTTP_, 49);
    assert_int_equal(RP_VAR_COOKIE_, 52);
    assert_int_equal(RP_VAR_ARG_, 53);
    assert_int_equal(RP_VAR_MAP, 56);
    for (size_t i = 0; i < RP_ARRAY_LEN(compile_cases); i++) {
        char err[128] = "";
        rp_tpl_t *t = rp_tpl_compile(&a, compile_cases[i].text, &reg, err, sizeof(err));
        if (!compile_cases[i].parts) {
            if (t)
                fail_msg("case %zu (%s) compiled", i, compile_cases[i].text);
            if (strcmp(err, compile_cases[i].err) != 0)
                fail_msg("case %zu (%s): err %s, want %s", i, compile_cases[i].text, err,
                         compile_cases[i].err);
            continue;
        }
        if (!t)
            fail_msg("case %zu (%s): %s", i, compile_cases[i].text, err);
        char d[256];
        describe(t, d, sizeof(d));
        if (strcmp(d, compile_cases[i].parts) != 0)
            fail_msg("case %zu (%s): got %s want %s", i, compile_cases[i].text, d,
                     compile_cases[i].parts);
        assert_int_equal(t->is_const, compile_cases[i].is_const);
        assert_true(rp_str_eq(t->raw, rp_str_cstr(compile_cases[i].text)));
    }
    rp_arena_destroy(&a);
}

/* ---- eval ---- */

static const struct {
    const char *text;
    const char *out;
} eval_cases[] = {
    { "", "" },
    { "abc", "abc" },
    { "$host", "example.com" },
    { "$scheme://$host$request_uri", "https://example.com/a/b?x=1" },
    { "[$request_method]", "[]" },
    { "[$remote_user]", "[]" },
    { "$http_User_Agent|$http_x_forwarded_for", "curl/8|10.0.0.1" },
    { "$cookie_SID-$arg_x", "abc-1" },
    { "$1:$2", "c1:c2" },
    { "${uri}?$args", "/a/b?x=1" },
    { "$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr"
      "$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr$remote_addr"
      "$remote_addr$remote_addr$remote_addr.",
      "192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2."
      "7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7192.0.2.7." },
};

static void test_eval(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    for (size_t i = 0; i < RP_ARRAY_LEN(eval_cases); i++) {
        char err[128] = "";
        const char *text = eval_cases[i].text;
        rp_tpl_t *t = rp_tpl_compile(&a, text, NULL, err, sizeof(err));
        if (!t)
            fail_msg("case %zu (%s): %s", i, text, err);
        fake_req_t r = std_req();
        rp_str_t out;
        assert_int_equal(rp_tpl_eval(t, fake_get, &r, &req, &out), RP_OK);
        if (!rp_str_eq(out, rp_str_cstr(eval_cases[i].out)))
            fail_msg("case %zu (%s): got %.*s", i, text, (int)out.len, out.data);
        rp_arena_reset(&req);
    }
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

static void test_eval_fast_paths(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    char err[128];
    fake_req_t r = std_req();
    rp_str_t out;

    rp_tpl_t *c = rp_tpl_compile(&a, "constant", NULL, err, sizeof(err));
    assert_int_equal(rp_tpl_eval(c, fake_get, &r, &req, &out), RP_OK);
    assert_ptr_equal(out.data, c->raw.data); /* no copy */
    assert_int_equal(r.calls, 0);

    rp_tpl_t *v = rp_tpl_compile(&a, "$host", NULL, err, sizeof(err));
    assert_int_equal(rp_tpl_eval(v, fake_get, &r, &req, &out), RP_OK);
    assert_ptr_equal(out.data, std_vars[0].value); /* the getter's memory */
    assert_int_equal(req.total, 0);                /* nothing allocated */
    assert_int_equal(r.calls, 1);

    /* a getter error is an evaluation error */
    r.fail_id = RP_VAR_HOST;
    rp_tpl_t *two = rp_tpl_compile(&a, "x$host", NULL, err, sizeof(err));
    assert_int_equal(rp_tpl_eval(two, fake_get, &r, &req, &out), RP_ERROR);
    assert_int_equal(rp_tpl_eval(v, fake_get, &r, &req, &out), RP_ERROR);

    /* no getter: variables are empty */
    assert_int_equal(rp_tpl_eval(two, NULL, NULL, &req, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("x")));

    /* NULL template evaluates to "" */
    assert_int_equal(rp_tpl_eval(NULL, fake_get, &r, &req, &out), RP_OK);
    assert_int_equal(out.len, 0);
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

/* ---- maps ---- */

typedef struct {
    const char *key;
    const char *value; /* NULL: one-word line (hostnames, volatile) */
} map_line_t;

static rp_map_t *build_map(rp_arena_t *a, const char *source, const map_line_t *lines, size_t n,
                           const rp_var_registry_t *reg)
{
    char err[256] = "";
    rp_tpl_t *src = rp_tpl_compile(a, source, reg, err, sizeof(err));
    assert_non_null(src);
    rp_map_t *m = rp_map_new(a, RP_STR("result"), src);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        rp_tpl_t *v = NULL;
        if (lines[i].value) {
            v = rp_tpl_compile(a, lines[i].value, reg, err, sizeof(err));
            assert_non_null(v);
        }
        if (rp_map_add(a, m, lines[i].key, 0, v, err, sizeof(err)) != RP_OK)
            fail_msg("line %zu (%s): %s", i, lines[i].key, err);
    }
    return m;
}

static const char *eval_map(const rp_map_t *m, const fake_var_t *vars, size_t n, rp_arena_t *req,
                            char *buf, size_t len)
{
    fake_req_t r = { vars, n, 0, -100 };
    rp_str_t out;
    assert_int_equal(rp_map_eval(m, fake_get, &r, req, &out), RP_OK);
    snprintf(buf, len, "%.*s", (int)out.len, out.data ? out.data : "");
    return buf;
}

static void test_map_websocket(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    /* map $http_upgrade $connection_upgrade { default upgrade; '' close; } */
    static const map_line_t lines[] = { { "default", "upgrade" }, { "", "close" } };
    rp_map_t *m = build_map(&a, "$http_upgrade", lines, 2, NULL);
    static const struct {
        const char *upgrade; /* NULL: no header */
        const char *want;
    } cases[] = {
        { NULL, "close" },
        { "", "close" },
        { "websocket", "upgrade" },
        { "h2c", "upgrade" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        fake_var_t v = { RP_VAR_HTTP_, "upgrade", cases[i].upgrade };
        char buf[64];
        assert_string_equal(eval_map(m, &v, cases[i].upgrade ? 1 : 0, &req, buf, sizeof(buf)),
                            cases[i].want);
    }

    /* and through a template that references the map by name */
    rp_var_registry_t reg = { &m, 1 };
    char err[128];
    rp_tpl_t *t = rp_tpl_compile(&a, "Connection: $result", &reg, err, sizeof(err));
    assert_non_null(t);
    fake_var_t v = { RP_VAR_HTTP_, "upgrade", "websocket" };
    fake_req_t r = { &v, 1, 0, -100 };
    rp_str_t out;
    assert_int_equal(rp_tpl_eval(t, fake_get, &r, &req, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("Connection: upgrade")));
    rp_tpl_t *single = rp_tpl_compile(&a, "$result", &reg, err, sizeof(err));
    r.n = 0;
    assert_int_equal(rp_tpl_eval(single, fake_get, &r, &req, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("close")));
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

static void test_map_exact_regex_default(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    static const map_line_t lines[] = {
        { "~^/api/", "api-regex" },
        { "/api/v1", "api-exact" },
        { "~*\\.JPG$", "image" },
        { "~\\.css$", "css" },
        { "/Mixed", "mixed" },
        { "\\default", "literal-default" },
        { "\\~tilde", "literal-tilde" },
        { "~^/s/(\\d+)$", "num" },
        { "~^/s/", "s-any" },
        { "default", "fallback-$host" },
    };
    rp_map_t *m = build_map(&a, "$uri", lines, RP_ARRAY_LEN(lines), NULL);
    static const struct {
        const char *uri;
        const char *want;
    } cases[] = {
        { "/api/v1", "api-exact" }, /* exact beats an earlier regex */
        { "/API/V1", "api-exact" }, /* exact keys ignore case, as nginx */
        { "/api/v2", "api-regex" },
        { "/a.jpg", "image" },
        { "/a.Jpg", "image" },
        { "/a.css", "css" },
        { "/a.CSS", "fallback-example.com" },
        { "/mixed", "mixed" },
        { "default", "literal-default" },
        { "~tilde", "literal-tilde" },
        { "/s/42", "num" },
        { "/s/x", "s-any" },
        { "", "fallback-example.com" },
        { "/other", "fallback-example.com" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        fake_var_t v[] = { { RP_VAR_URI, NULL, cases[i].uri },
                           { RP_VAR_HOST, NULL, "example.com" } };
        char buf[128];
        const char *got = eval_map(m, v, 2, &req, buf, sizeof(buf));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu (%s): got %s want %s", i, cases[i].uri, got, cases[i].want);
    }

    /* no default: "" */
    static const map_line_t nodef[] = { { "a", "1" } };
    rp_map_t *m2 = build_map(&a, "$uri", nodef, 1, NULL);
    fake_var_t v = { RP_VAR_URI, NULL, "b" };
    char buf[32];
    assert_string_equal(eval_map(m2, &v, 1, &req, buf, sizeof(buf)), "");
    v.value = "a";
    assert_string_equal(eval_map(m2, &v, 1, &req, buf, sizeof(buf)), "1");
    /* the arena cleanup frees the compiled regexes (ASan checks the leak) */
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

static void test_map_hostnames(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    static const map_line_t lines[] = {
        { "hostnames", NULL },        { "volatile", NULL },
        { "default", "none" },        { "example.com", "exact" },
        { "*.example.com", "star" },  { "*.deep.example.com", "deep-star" },
        { ".example.org", "dot" },    { "www.example.*", "tail" },
        { "www.*", "short-tail" },    { "~^mail\\.", "regex" },
        { "api.example.com", "api" },
    };
    rp_map_t *m = build_map(&a, "$host", lines, RP_ARRAY_LEN(lines), NULL);
    assert_true(m->hostnames);
    static const struct {
        const char *host;
        const char *want;
    } cases[] = {
        { "example.com", "exact" },
        { "EXAMPLE.com", "exact" },
        { "example.com.", "exact" },
        { "a.example.com", "star" },
        { "A.B.Example.COM", "star" },
        { "x.deep.example.com", "deep-star" },
        { "deep.example.com", "star" },
        { "api.example.com", "api" }, /* exact beats the wildcard */
        { "example.org", "dot" },
        { "a.example.org", "dot" },
        { "a.b.example.org", "dot" },
        { "xexample.org", "none" },
        { "www.example.net", "tail" },
        { "www.example.co.uk", "tail" },
        { "www.other.net", "short-tail" },
        { "mail.other.net", "regex" },
        { "www.example.", "short-tail" }, /* trailing dot dropped first */
        { "zexample.com", "none" },
        { "", "none" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        const char *want = cases[i].want;
        fake_var_t v = { RP_VAR_HOST, NULL, cases[i].host };
        char buf[64];
        const char *got = eval_map(m, &v, 1, &req, buf, sizeof(buf));
        if (strcmp(got, want) != 0)
            fail_msg("case %zu (%s): got %s want %s", i, cases[i].host, got, want);
    }

    /* without `hostnames` a '*' key is an ordinary exact key */
    static const map_line_t plain[] = { { "*.example.com", "literal" } };
    rp_map_t *p = build_map(&a, "$host", plain, 1, NULL);
    fake_var_t v = { RP_VAR_HOST, NULL, "a.example.com" };
    char buf[64];
    assert_string_equal(eval_map(p, &v, 1, &req, buf, sizeof(buf)), "");
    v.value = "*.example.com";
    assert_string_equal(eval_map(p, &v, 1, &req, buf, sizeof(buf)), "literal");
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

static void test_map_errors(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 1024);
    char err[256];
    rp_tpl_t *src = rp_tpl_compile(&a, "$host", NULL, err, sizeof(err));
    rp_tpl_t *val = rp_tpl_compile(&a, "v", NULL, err, sizeof(err));
    rp_map_t *m = rp_map_new(&a, RP_STR("x"), src);
    assert_true(rp_str_eq(m->name, RP_STR("x")));
    assert_int_equal(rp_map_add(&a, m, "default", 0, val, err, sizeof(err)), RP_OK);
    static const struct {
        const char *key;
        int has_value;
        const char *err;
    } cases[] = {
        { "default", 1, "duplicate default map parameter" },
        { "a", 1, NULL },
        { "a", 1, "conflicting parameter \"a\"" },
        { "A", 1, "conflicting parameter \"A\"" },
        { "~(", 1, "pcre2_compile() failed: missing closing parenthesis in \"(\" at \"\"" },
        { "~*[a", 1,
          "pcre2_compile() failed: missing terminating ] for character class in \"[a\" at \"\"" },
        { "~a", 1, NULL },
        { "~a", 1, NULL }, /* regexes may repeat: the first wins */
        { "b", 0, "invalid number of the map parameters" },
        { "hostnames", 0, NULL },
        { "a*.example.com", 1, "invalid hostname or wildcard \"a*.example.com\"" },
        { "*.*.example.com", 1, "invalid hostname or wildcard \"*.*.example.com\"" },
        { "*.", 1, "invalid hostname or wildcard \"*.\"" },
        { ".", 1, "invalid hostname or wildcard \".\"" },
        { "*", 1, "invalid hostname or wildcard \"*\"" },
        { "*.ok.com", 1, NULL },
        { "ok.*", 1, NULL },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        err[0] = '\0';
        int rc =
            rp_map_add(&a, m, cases[i].key, 0, cases[i].has_value ? val : NULL, err, sizeof(err));
        if (!cases[i].err) {
            if (rc != RP_OK)
                fail_msg("case %zu (%s): %s", i, cases[i].key, err);
            continue;
        }
        if (rc != RP_ERROR)
            fail_msg("case %zu (%s) accepted", i, cases[i].key);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu (%s): got %s want %s", i, cases[i].key, err, cases[i].err);
    }
    rp_arena_destroy(&a);
}

static void test_map_many_entries(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 4096);
    rp_arena_init(&req, 256);
    char err[128], key[32], value[32];
    rp_map_t *m = rp_map_new(&a, RP_STR("big"), rp_tpl_compile(&a, "$uri", NULL, err, sizeof(err)));
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        rp_tpl_t *v = rp_tpl_compile(&a, value, NULL, err, sizeof(err));
        assert_int_equal(rp_map_add(&a, m, key, 0, v, err, sizeof(err)), RP_OK);
    }
    assert_int_equal(m->nentries, 1000);
    for (int i = 0; i < 1000; i += 97) {
        snprintf(key, sizeof(key), "/k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        fake_var_t v = { RP_VAR_URI, NULL, key };
        char buf[32];
        assert_string_equal(eval_map(m, &v, 1, &req, buf, sizeof(buf)), value);
    }
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

/* $0..$9 in the value of a regex entry are the groups of that entry's
 * match (nginx's map); elsewhere they go to the request's getter, whose
 * captures the fake getter spells "cN". */
static void test_map_captures(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    static const map_line_t inner_lines[] = { { "~^/nested/(\\d)", "i$1" },
                                              { "default", "i-none" } };
    rp_map_t *inner = build_map(&a, "$uri", inner_lines, RP_ARRAY_LEN(inner_lines), NULL);
    inner->name = RP_STR("inner");
    rp_var_registry_t reg = { &inner, 1 };
    static const map_line_t lines[] = {
        { "~^/re/(\\d+)$", "num-$1" },
        { "~^/two/(\\w+)/(\\w+)$", "$2-$1-$host" },
        { "~^/opt/(a)?(b)$", "[$1][$2][$3]" },
        { "~^/whole/", "$0" },
        { "~^/many/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)$", "$9$1" },
        { "~^/named/(?<n>x+)$", "n=$1" },
        { "~^/nested/(\\d+)$", "$1:$inner:$1" },
        { "~*^/CASE/(\\w+)", "${1}!" },
        { "~^/const/(\\d+)", "no-captures" },
        { "/exact", "e-$1" },
        { "default", "d-$1" },
    };
    rp_map_t *m = build_map(&a, "$uri", lines, RP_ARRAY_LEN(lines), &reg);
    static const struct {
        const char *uri;
        const char *want;
    } cases[] = {
        { "/re/42", "num-42" },
        { "/re/x", "d-c1" },
        { "/two/ab/cd", "cd-ab-example.com" },
        { "/opt/b", "[][b][]" }, /* unset group and absent group: "" */
        { "/opt/ab", "[a][b][]" },
        { "/whole/x/y", "/whole/" },
        { "/many/abcdefghijk", "ia" }, /* more groups than $0..$9 */
        { "/named/xx", "n=xx" },
        { "/nested/42", "42:i4:42" }, /* inner map's match leaves ours intact */
        { "/case/Mixed", "Mixed!" },
        { "/const/1", "no-captures" },
        { "/exact", "e-c1" }, /* exact key: the request's $1 */
        { "/nothing", "d-c1" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        fake_var_t v[] = { { RP_VAR_URI, NULL, cases[i].uri },
                           { RP_VAR_HOST, NULL, "example.com" } };
        char buf[128];
        const char *got = eval_map(m, v, 2, &req, buf, sizeof(buf));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu (%s): got %s want %s", i, cases[i].uri, got, cases[i].want);
    }

    /* through templates: a lone map variable (handed through without a
     * copy) and one among literals; the source built from two variables
     * lives in the request arena */
    rp_map_t *maps[] = { inner, m };
    rp_var_registry_t reg2 = { maps, 2 };
    m->name = RP_STR("mapped");
    char err[128];
    rp_tpl_t *single = rp_tpl_compile(&a, "$mapped", &reg2, err, sizeof(err));
    rp_tpl_t *mixed = rp_tpl_compile(&a, "<$mapped|$inner>", &reg2, err, sizeof(err));
    assert_non_null(single);
    assert_non_null(mixed);
    fake_var_t v[] = { { RP_VAR_URI, NULL, "/re/42" }, { RP_VAR_HOST, NULL, "example.com" } };
    fake_req_t r = { v, 2, 0, -100 };
    rp_str_t out;
    assert_int_equal(rp_tpl_eval(single, fake_get, &r, &req, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("num-42")));
    assert_int_equal(rp_tpl_eval(mixed, fake_get, &r, &req, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("<num-42|i-none>")));

    static const map_line_t hl[] = { { "~^www\\.(\\w+)\\.com/p/(\\d+)$", "$1#$2" } };
    rp_map_t *hm = build_map(&a, "www.$host/p/$arg_id", hl, 1, NULL);
    fake_var_t hv[] = { { RP_VAR_HOST, NULL, "example.com" }, { RP_VAR_ARG_, "id", "7" } };
    char buf[64];
    assert_string_equal(eval_map(hm, hv, 2, &req, buf, sizeof(buf)), "example#7");

    /* a getter failure inside the value is still reported */
    static const map_line_t fl[] = { { "~^/f/(\\d+)$", "$1$host" } };
    rp_map_t *fm = build_map(&a, "$uri", fl, 1, NULL);
    fake_var_t fv[] = { { RP_VAR_URI, NULL, "/f/1" } };
    fake_req_t fr = { fv, 1, 0, RP_VAR_HOST };
    assert_int_equal(rp_map_eval(fm, fake_get, &fr, &req, &out), RP_ERROR);
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

/* A map whose source is itself (through the registry) must not recurse
 * forever: evaluation fails cleanly. */
static void test_map_cycle(void **state)
{
    (void)state;
    rp_arena_t a, req;
    rp_arena_init(&a, 1024);
    rp_arena_init(&req, 256);
    char err[128];
    rp_map_t *m = rp_map_new(&a, RP_STR("loop"), NULL);
    rp_var_registry_t reg = { &m, 1 };
    m->source = rp_tpl_compile(&a, "x$loop", &reg, err, sizeof(err));
    assert_non_null(m->source);
    fake_req_t r = std_req();
    rp_str_t out;
    assert_int_equal(rp_map_eval(m, fake_get, &r, &req, &out), RP_ERROR);
    /* and the nesting counter is back to zero afterwards */
    rp_map_t *ok =
        rp_map_new(&a, RP_STR("ok"), rp_tpl_compile(&a, "$host", NULL, err, sizeof(err)));
    assert_int_equal(rp_map_eval(ok, fake_get, &r, &req, &out), RP_OK);
    rp_arena_destroy(&req);
    rp_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_compile),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_eval_fast_paths),
        cmocka_unit_test(test_map_websocket),
        cmocka_unit_test(test_map_exact_regex_default),
        cmocka_unit_test(test_map_hostnames),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_map_many_entries),
        cmocka_unit_test(test_map_cycle),
        cmocka_unit_test(test_map_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
