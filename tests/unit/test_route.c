/* Unit tests for src/proxy/route.c: host normalisation, server choice,
 * location choice, path normalisation and the proxy_pass URI.
 *
 * The server and nested-location fixtures mirror nginx configs whose
 * answers were taken from nginx 1.22.1 itself (each request sent to a real
 * nginx with `return 200 "<name>"` in every block), so the expectations are
 * nginx's behaviour, not our reading of it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/common.h"
#include "proxy/route.h"

/* ---- fixture helpers: everything lives in one arena per fixture ---- */

#define MAX_CHILDREN 32

static void re_free(void *p)
{
    pcre2_code_free(p);
}

static void *compile_re(rp_arena_t *a, const char *src, int caseless)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                                   caseless ? PCRE2_CASELESS : 0, &err, &off, NULL);
    assert_non_null(re);
    rp_arena_add_cleanup(a, re_free, re);
    return re;
}

static rp_server_t *mkserver(rp_arena_t *a)
{
    rp_server_t *s = rp_arena_calloc(a, sizeof(*s));
    s->locations = rp_arena_calloc(a, sizeof(rp_location_t *) * 64);
    s->named_locations = rp_arena_calloc(a, sizeof(rp_location_t *) * 8);
    s->names = rp_arena_calloc(a, sizeof(rp_server_name_t) * 8);
    return s;
}

/* Adds a location under parent (or at server level when parent is NULL).
 * `tag` names it for the expectation tables. */
static rp_location_t *mkloc(rp_arena_t *a, rp_server_t *srv, rp_location_t *parent, int match,
                            const char *name, const char *tag)
{
    rp_location_t *l = rp_arena_calloc(a, sizeof(*l));
    l->match = match;
    l->name = rp_str_cstr(name);
    l->parent = parent;
    l->children = rp_arena_calloc(a, sizeof(rp_location_t *) * MAX_CHILDREN);
    l->file = tag; /* the test's name for it */
    if (match == RP_LOC_REGEX || match == RP_LOC_REGEX_ICASE)
        l->re = compile_re(a, name, match == RP_LOC_REGEX_ICASE);
    if (match == RP_LOC_NAMED)
        srv->named_locations[srv->nnamed_locations++] = l;
    else if (parent)
        parent->children[parent->nchildren++] = l;
    else
        srv->locations[srv->nlocations++] = l;
    return l;
}

static void addname(rp_arena_t *a, rp_server_t *s, int kind, const char *name)
{
    rp_server_name_t *n = &s->names[s->nnames++];
    n->kind = kind;
    n->name = rp_str_cstr(name);
    if (kind == RP_NAME_REGEX)
        n->re = compile_re(a, name, 1); /* nginx compiles server_name regexes caseless */
}

static const char *loc_tag(const rp_location_t *l)
{
    return l ? l->file : "NULL";
}

/* ---- host normalisation ---- */

typedef struct {
    const char *in;
    size_t len;       /* 0: strlen */
    const char *want; /* NULL: invalid */
} host_case_t;

#define HL(s) s, sizeof(s) - 1

static const host_case_t host_cases[] = {
    { "example.com", 0, "example.com" },
    { "Example.COM", 0, "example.com" },
    { "WWW.Example.Com:8443", 0, "www.example.com" },
    { "example.com:8080", 0, "example.com" },
    { "example.com:", 0, "example.com" },
    { "example.com:65535", 0, "example.com" },
    { "example.com.", 0, "example.com" },
    { "example.com.:443", 0, "example.com" },
    { "EXAMPLE.com.:80", 0, "example.com" },
    { "localhost", 0, "localhost" },
    { "a", 0, "a" },
    { "A", 0, "a" },
    { "a.", 0, "a" },
    { "a_b.example", 0, "a_b.example" },
    { "a-b.example", 0, "a-b.example" },
    { "xn--bcher-kva.example", 0, "xn--bcher-kva.example" },
    { "B\xc3\xbc"
      "cher.example",
      0,
      "b\xc3\xbc"
      "cher.example" },
    { "127.0.0.1", 0, "127.0.0.1" },
    { "127.0.0.1:80", 0, "127.0.0.1" },
    { "10.0.0.1.", 0, "10.0.0.1" },
    { "[::1]", 0, "[::1]" },
    { "[::1]:8080", 0, "[::1]" },
    { "[::1]:", 0, "[::1]" },
    { "[2001:DB8::1]", 0, "[2001:db8::1]" },
    { "[2001:db8:0:0:0:0:0:1]:443", 0, "[2001:db8:0:0:0:0:0:1]" },
    { "[::ffff:127.0.0.1]:80", 0, "[::ffff:127.0.0.1]" },
    { "[::]", 0, "[::]" },
    { "", 0, "" },
    /* invalid */
    { "example.com..", 0, NULL },
    { "a..b", 0, NULL },
    { "..", 0, NULL },
    { ".example.com", 0, NULL },
    { ".", 0, NULL },
    { ".:80", 0, NULL },
    { ":80", 0, NULL },
    { ":", 0, NULL },
    { "example.com:80a", 0, NULL },
    { "example.com:123456", 0, NULL },
    { "example.com:80:80", 0, NULL },
    { "example.com: 80", 0, NULL },
    { "example.com:-1", 0, NULL },
    { "[::1", 0, NULL },
    { "[]", 0, NULL },
    { "[::1]x", 0, NULL },
    { "[::1]:8a", 0, NULL },
    { "[::1]]", 0, NULL },
    { "[1.2.3.4]", 0, NULL },
    { "[fe80::1%25eth0]", 0, NULL },
    { "[::g]", 0, NULL },
    { "[v1.x]", 0, NULL },
    { "a b", 0, NULL },
    { " example.com", 0, NULL },
    { "example.com ", 0, NULL },
    { "a/b", 0, NULL },
    { "a\\b", 0, NULL },
    { "a\tb", 0, NULL },
    { "a\x7f", 0, NULL },
    { "a\r\nb", 0, NULL },
    { HL("a\0b"), NULL },
    { HL("\0"), NULL },
    { "a@b", 0, NULL },
    { "user@example.com", 0, NULL },
    { "a%41", 0, NULL },
    { "a\"b", 0, NULL },
    { "a<b", 0, NULL },
    { "a>b", 0, NULL },
    { "a{b}", 0, NULL },
    { "a|b", 0, NULL },
    { "a?b", 0, NULL },
    { "a#b", 0, NULL },
    { "a[b]", 0, NULL },
};

static void test_normalize_host(void **state)
{
    (void)state;
    char out[256];
    for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
        const host_case_t *c = &host_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        memset(out, 'Z', sizeof(out));
        int n = rp_route_normalize_host(rp_str(c->in, len), out, sizeof(out));
        if (c->want == NULL) {
            if (n != -1)
                fail_msg("host case %zu \"%s\": want invalid, got \"%.*s\"", i, c->in, n, out);
        } else {
            if (n < 0 || (size_t)n != strlen(c->want) || memcmp(out, c->want, (size_t)n) != 0)
                fail_msg("host case %zu \"%s\": want \"%s\", got %d \"%.*s\"", i, c->in, c->want, n,
                         n < 0 ? 0 : n, out);
        }
    }
}

static void test_normalize_host_cap(void **state)
{
    (void)state;
    char out[4];
    /* cap must hold host.len; a short buffer is refused, never overrun */
    assert_int_equal(rp_route_normalize_host(RP_STR("example.com"), out, sizeof(out)), -1);
    assert_int_equal(rp_route_normalize_host(RP_STR("ab:1"), out, sizeof(out)), 2);
    assert_memory_equal(out, "ab", 2);
}

/* ---- server choice ---- */

enum { S_FIRST, S1, S2, S_DEFAULT, S3, S4, S5, S6, S7, S8, S9, S10, S11, S14, S15, S_COUNT };

static const char *server_tags[S_COUNT] = { "S_first", "S1",  "S2",  "S_default", "S3",
                                            "S4",      "S5",  "S6",  "S7",        "S8",
                                            "S9",      "S10", "S11", "S14",       "S15" };

typedef struct {
    rp_arena_t arena;
    rp_listen_t ls;
    rp_server_t *srv[S_COUNT];
} server_fx_t;

/* Same servers, same order as the nginx config the expectations came from. */
static void build_servers(server_fx_t *fx)
{
    rp_arena_t *a = &fx->arena;
    rp_arena_init(a, 0);
    for (int i = 0; i < S_COUNT; i++) {
        fx->srv[i] = mkserver(a);
        fx->srv[i]->file = server_tags[i];
    }
    addname(a, fx->srv[S_FIRST], RP_NAME_EXACT, "first.test");
    addname(a, fx->srv[S1], RP_NAME_EXACT, "example.com");
    addname(a, fx->srv[S1], RP_NAME_EXACT, "www.example.com");
    addname(a, fx->srv[S2], RP_NAME_DOT, ".example.org");
    addname(a, fx->srv[S_DEFAULT], RP_NAME_EXACT, "_");
    addname(a, fx->srv[S3], RP_NAME_WILD_START, ".example.com");
    addname(a, fx->srv[S4], RP_NAME_WILD_START, ".api.example.com");
    addname(a, fx->srv[S5], RP_NAME_WILD_END, "www.example.");
    addname(a, fx->srv[S6], RP_NAME_WILD_END, "mail.");
    addname(a, fx->srv[S7], RP_NAME_REGEX, "^(?<n>\\w+)\\.regex\\.net$");
    addname(a, fx->srv[S8], RP_NAME_REGEX, "^www\\d+\\.example\\.com$");
    addname(a, fx->srv[S8], RP_NAME_REGEX, "^www\\d+\\.example\\.net$");
    addname(a, fx->srv[S9], RP_NAME_REGEX, "^.*\\.example\\.org$");
    addname(a, fx->srv[S9], RP_NAME_REGEX, "^.*\\.net$");
    addname(a, fx->srv[S10], RP_NAME_EXACT, "");
    addname(a, fx->srv[S11], RP_NAME_EXACT, "[::1]");
    addname(a, fx->srv[S11], RP_NAME_EXACT, "127.0.0.1");
    addname(a, fx->srv[S14], RP_NAME_WILD_END, "www.example.com.");
    addname(a, fx->srv[S15], RP_NAME_WILD_START, ".org");
    fx->ls.servers = fx->srv;
    fx->ls.nservers = S_COUNT;
    fx->ls.default_server = fx->srv[S_DEFAULT];
}

typedef struct {
    const char *host; /* raw Host value, normalised first */
    int want;
} server_case_t;

static const server_case_t server_cases[] = {
    { "first.test", S_FIRST },
    { "example.com", S1 },
    { "EXAMPLE.COM.", S1 },
    { "example.com.", S1 },
    { "example.com:80", S1 },
    { "www.example.com", S1 },
    { "Www.Example.Com:8080", S1 },
    { "a.example.com", S3 },
    { "a.b.example.com", S3 },
    { "x.api.example.com", S4 },
    { "y.x.api.example.com", S4 },
    { "api.example.com", S3 },
    { "example.org", S2 },
    { "a.example.org", S2 },
    { "a.b.example.org", S2 },
    { "www.example.net", S5 },
    { "www.example.com.au", S14 },
    { "www.example.org", S2 },
    { "www.example", S_DEFAULT },
    { "mail.x", S6 },
    { "mail.example.net", S6 },
    { "mail", S_DEFAULT },
    { "foo.regex.net", S7 },
    { "a.b.regex.net", S9 },
    { "www12.example.com", S3 },
    { "www12.example.net", S8 },
    { "x.net", S9 },
    { "example.net", S9 },
    { "net", S_DEFAULT },
    { "nothing.test", S_DEFAULT },
    { "first.test.", S_FIRST },
    { "first.testx", S_DEFAULT },
    { "xfirst.test", S_DEFAULT },
    { "[::1]", S11 },
    { "[::1]:80", S11 },
    { "127.0.0.1", S11 },
    { "127.0.0.1:8080", S11 },
    { "127.0.0.2", S_DEFAULT },
    { "foo.org", S15 },
    { "a.b.foo.org", S15 },
    { "org", S_DEFAULT },
    { "_", S_DEFAULT },
    { "xexample.com", S_DEFAULT },
    { "xexample.org", S15 },
    { "", S10 }, /* no Host: the server named "" (nginx) */
};

static void test_route_server(void **state)
{
    (void)state;
    server_fx_t fx;
    build_servers(&fx);
    char buf[256];
    for (size_t i = 0; i < sizeof(server_cases) / sizeof(server_cases[0]); i++) {
        const server_case_t *c = &server_cases[i];
        int n = rp_route_normalize_host(rp_str_cstr(c->host), buf, sizeof(buf));
        assert_true(n >= 0);
        rp_server_t *got = rp_route_server(&fx.ls, rp_str(buf, (size_t)n));
        if (got != fx.srv[c->want])
            fail_msg("server case %zu \"%s\": want %s, got %s", i, c->host, server_tags[c->want],
                     got ? got->file : "NULL");
    }
    rp_arena_destroy(&fx.arena);
}

/* Stored forms may keep or drop the wildcard dot; both must work. */
static void test_route_server_name_forms(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s[4];
    for (int i = 0; i < 4; i++)
        s[i] = mkserver(&a);
    addname(&a, s[0], RP_NAME_EXACT, "default.test");
    addname(&a, s[1], RP_NAME_WILD_START, "example.com"); /* "*.example.com" w/o "*." */
    addname(&a, s[2], RP_NAME_WILD_END, "www.example");   /* "www.example.*" w/o ".*" */
    addname(&a, s[3], RP_NAME_DOT, "example.org");        /* ".example.org" w/o "." */
    rp_listen_t ls = { .servers = s, .nservers = 4, .default_server = NULL };
    static const struct {
        const char *host;
        int want;
    } cases[] = {
        { "a.example.com", 1 },
        { "example.com", 0 },
        { "www.example.net", 2 },
        { "www.example", 0 },
        { "example.org", 3 },
        { "a.example.org", 3 },
        { "", 0 },
        { "xexample.org", 0 },
        { "www.examplex.net", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_server_t *got = rp_route_server(&ls, rp_str_cstr(cases[i].host));
        if (got != s[cases[i].want])
            fail_msg("name form case %zu \"%s\"", i, cases[i].host);
    }
    /* without default_server the first server is the default */
    assert_ptr_equal(rp_route_server(&ls, RP_STR("none.test")), s[0]);
    rp_listen_t empty = { 0 };
    assert_null(rp_route_server(&empty, RP_STR("x")));
    assert_null(rp_route_server(NULL, RP_STR("x")));
    rp_arena_destroy(&a);
}

/* Many names: every one reachable, longest wildcard wins over shorter ones
 * that come earlier, regex order is config order across servers. */
static void test_route_server_many(void **state)
{
    (void)state;
    enum { N = 2000 };
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t **s = rp_arena_calloc(&a, sizeof(*s) * (N + 4));
    char *names = rp_arena_alloc(&a, (size_t)N * 32);
    for (int i = 0; i < N; i++) {
        s[i] = mkserver(&a);
        char *nm = names + (size_t)i * 32;
        snprintf(nm, 32, "host%d.example", i);
        addname(&a, s[i], RP_NAME_EXACT, nm);
    }
    s[N] = mkserver(&a);
    addname(&a, s[N], RP_NAME_WILD_START, ".example");
    s[N + 1] = mkserver(&a);
    addname(&a, s[N + 1], RP_NAME_WILD_START, ".deep.example");
    s[N + 2] = mkserver(&a);
    addname(&a, s[N + 2], RP_NAME_REGEX, "^r\\d+\\.test$");
    s[N + 3] = mkserver(&a);
    addname(&a, s[N + 3], RP_NAME_REGEX, "^r1\\d*\\.test$"); /* shadowed by the first */
    rp_listen_t ls = { .servers = s, .nservers = N + 4, .default_server = s[0] };
    char host[64];
    for (int i = 0; i < N; i++) {
        int n = snprintf(host, sizeof(host), "host%d.example", i);
        assert_ptr_equal(rp_route_server(&ls, rp_str(host, (size_t)n)), s[i]);
    }
    assert_ptr_equal(rp_route_server(&ls, RP_STR("hostx.example")), s[N]);
    assert_ptr_equal(rp_route_server(&ls, RP_STR("a.deep.example")), s[N + 1]);
    assert_ptr_equal(rp_route_server(&ls, RP_STR("deep.example")), s[N]);
    assert_ptr_equal(rp_route_server(&ls, RP_STR("r12.test")), s[N + 2]);
    assert_ptr_equal(rp_route_server(&ls, RP_STR("rx.test")), s[0]);
    rp_arena_destroy(&a);
}

/* ---- location choice: the example of nginx's location documentation ---- */

typedef struct {
    const char *path;
    const char *want; /* tag, or "NULL" */
} loc_case_t;

static void run_loc_cases(const rp_server_t *srv, const loc_case_t *cases, size_t n,
                          const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int caps[20];
        int nc = -5;
        rp_location_t *got = rp_route_location(srv, rp_str_cstr(cases[i].path), caps, 10, &nc);
        if (strcmp(loc_tag(got), cases[i].want) != 0)
            fail_msg("%s case %zu \"%s\": want %s, got %s", what, i, cases[i].path, cases[i].want,
                     loc_tag(got));
        assert_true(nc >= 0);
        if (got == NULL || (got->match != RP_LOC_REGEX && got->match != RP_LOC_REGEX_ICASE))
            assert_int_equal(nc, 0);
    }
}

static void test_location_doc_example(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = mkserver(&a);
    mkloc(&a, s, NULL, RP_LOC_EXACT, "/", "A");
    mkloc(&a, s, NULL, RP_LOC_PREFIX, "/", "B");
    mkloc(&a, s, NULL, RP_LOC_PREFIX, "/documents/", "C");
    mkloc(&a, s, NULL, RP_LOC_PREFIX_NOREGEX, "/images/", "D");
    mkloc(&a, s, NULL, RP_LOC_REGEX_ICASE, "\\.(gif|jpg|jpeg)$", "E");
    static const loc_case_t cases[] = {
        /* the documented answers */
        { "/", "A" },
        { "/index.html", "B" },
        { "/documents/document.html", "C" },
        { "/images/1.gif", "D" },
        { "/documents/1.jpg", "E" },
        /* around them */
        { "/documents/", "C" },
        { "/documents", "B" },
        { "/images/", "D" },
        { "/images", "B" },
        { "/images/a/b/c.jpeg", "D" },
        { "/imagesx/1.gif", "E" },
        { "/Images/1.gif", "E" },
        { "/documents/1.JPG", "E" },
        { "/documents/1.jpg.txt", "C" },
        { "/1.gif", "E" },
        { "/x.jpeg", "E" },
        { "/x.png", "B" },
        { "/DOCUMENTS/x", "B" },
        { "/.gif", "E" },
        { "", "NULL" },
        { "x.gif", "E" },
        { "x", "NULL" },
    };
    run_loc_cases(s, cases, sizeof(cases) / sizeof(cases[0]), "doc");
    rp_arena_destroy(&a);
}

/* ---- location choice: nested and regex locations ---- */

static rp_server_t *build_nested(rp_arena_t *a)
{
    rp_server_t *s = mkserver(a);
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/", "root");
    rp_location_t *api = mkloc(a, s, NULL, RP_LOC_PREFIX, "/api/", "api");
    rp_location_t *v1 = mkloc(a, s, api, RP_LOC_PREFIX, "/api/v1/", "api_v1");
    mkloc(a, s, v1, RP_LOC_REGEX, "^/api/v1/users/(\\d+)$", "api_v1_user");
    mkloc(a, s, api, RP_LOC_EXACT, "/api/health", "api_health");
    mkloc(a, s, api, RP_LOC_REGEX, "\\.json$", "api_json");
    rp_location_t *ast = mkloc(a, s, api, RP_LOC_PREFIX_NOREGEX, "/api/static/", "api_static");
    mkloc(a, s, ast, RP_LOC_REGEX, "\\.css$", "api_static_css");
    rp_location_t *st = mkloc(a, s, NULL, RP_LOC_PREFIX_NOREGEX, "/static/", "static");
    mkloc(a, s, st, RP_LOC_REGEX, "\\.png$", "static_png");
    mkloc(a, s, NULL, RP_LOC_REGEX, "\\.php$", "php");
    mkloc(a, s, NULL, RP_LOC_REGEX_ICASE, "\\.JSON$", "json_outer");
    mkloc(a, s, NULL, RP_LOC_REGEX, "^/(\\w+)/(\\d+)$", "two");
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/Case/", "case");
    mkloc(a, s, NULL, RP_LOC_EXACT, "/exact", "exact");
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/exact", "exact_prefix");
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/a", "a");
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/a/b", "a_b");
    mkloc(a, s, NULL, RP_LOC_PREFIX, "/a/b/c/", "a_b_c");
    rp_location_t *outer = mkloc(a, s, NULL, RP_LOC_REGEX, "^/outer/", "outer");
    mkloc(a, s, outer, RP_LOC_REGEX, "inner$", "outer_inner");
    mkloc(a, s, NULL, RP_LOC_NAMED, "@fallback", "named_fallback");
    return s;
}

/* Every answer below is what nginx 1.22.1 answered for the same config. */
static const loc_case_t nested_cases[] = {
    { "/", "root" },
    { "/x", "root" },
    { "/api/v1/users/42", "api_v1_user" },
    { "/api/v1/users/42/", "api_v1" },
    { "/api/v1/x.json", "api_json" },
    { "/api/v1/", "api_v1" },
    { "/api/health", "api_health" },
    { "/api/health/x", "api" },
    { "/api/static/a.css", "api_static_css" },
    /* "^~" works per level in nginx: it stops /api/'s regexes, not the
     * server level's */
    { "/api/static/a.json", "json_outer" },
    { "/api/x.json", "api_json" },
    { "/api/x.JSON", "json_outer" },
    { "/static/a.png", "static_png" },
    { "/static/a.php", "static" },
    { "/static/x/a.png", "static_png" },
    { "/x.php", "php" },
    { "/X.PHP", "root" },
    { "/a.Json", "json_outer" },
    { "/foo/123", "two" },
    { "/api/123", "two" },
    { "/static/123", "static" },
    { "/case/x", "root" },
    { "/Case/x", "case" },
    { "/exact", "exact" },
    { "/exact/", "exact_prefix" },
    { "/exactly", "exact_prefix" },
    { "/a", "a" },
    { "/ab", "a" },
    { "/a/b", "a_b" },
    { "/a/bc", "a_b" },
    { "/a/b/c", "a_b" },
    { "/a/b/c/", "a_b_c" },
    { "/a/b/c/d", "a_b_c" },
    { "/outer/xinner", "outer_inner" },
    { "/outer/x", "outer" },
    { "/inner", "root" },
    { "/a/x.php", "php" },
    { "/api/v1/x.php", "php" },
    { "/api/static/x.php", "php" },
    { "/Case/1", "two" },
    /* named locations never take part in the search */
    { "@fallback", "NULL" },
    { "", "NULL" },
};

static void test_location_nested(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = build_nested(&a);
    run_loc_cases(s, nested_cases, sizeof(nested_cases) / sizeof(nested_cases[0]), "nested");
    rp_arena_destroy(&a);
}

/* Worker threads each get their own match block (freed at thread exit);
 * concurrent lookups give the same answers as one thread. */
static void *loc_thread(void *arg)
{
    const rp_server_t *s = arg;
    for (int iter = 0; iter < 200; iter++) {
        for (size_t i = 0; i < sizeof(nested_cases) / sizeof(nested_cases[0]); i++) {
            int caps[20], nc;
            rp_location_t *got =
                rp_route_location(s, rp_str_cstr(nested_cases[i].path), caps, 10, &nc);
            if (strcmp(loc_tag(got), nested_cases[i].want) != 0)
                return (void *)1;
        }
    }
    return NULL;
}

static void test_location_threads(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = build_nested(&a);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, loc_thread, s), 0);
    for (int i = 0; i < 4; i++) {
        void *r = (void *)1;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
    rp_arena_destroy(&a);
}

static void test_location_captures(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = build_nested(&a);
    int caps[20];
    int nc = 0;

    rp_location_t *l = rp_route_location(s, RP_STR("/foo/123"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "two");
    assert_int_equal(nc, 3);
    int want1[] = { 0, 8, 1, 4, 5, 8 };
    assert_memory_equal(caps, want1, sizeof(want1));

    l = rp_route_location(s, RP_STR("/api/v1/users/42"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "api_v1_user");
    assert_int_equal(nc, 2);
    int want2[] = { 0, 16, 14, 16 };
    assert_memory_equal(caps, want2, sizeof(want2));

    /* room for fewer pairs than the regex has: truncated, not overrun */
    caps[2] = 777;
    l = rp_route_location(s, RP_STR("/foo/123"), caps, 1, &nc);
    assert_string_equal(loc_tag(l), "two");
    assert_int_equal(nc, 1);
    assert_int_equal(caps[2], 777);

    /* no capture buffer at all */
    l = rp_route_location(s, RP_STR("/foo/123"), NULL, 0, NULL);
    assert_string_equal(loc_tag(l), "two");

    /* a prefix answer reports no captures */
    l = rp_route_location(s, RP_STR("/a/b"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "a_b");
    assert_int_equal(nc, 0);

    /* an optional group that did not take part is -1 */
    rp_server_t *s2 = mkserver(&a);
    mkloc(&a, s2, NULL, RP_LOC_REGEX, "^/opt(/x)?(/y)$", "opt");
    l = rp_route_location(s2, RP_STR("/opt/y"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "opt");
    assert_int_equal(nc, 3);
    int want3[] = { 0, 6, -1, -1, 4, 6 };
    assert_memory_equal(caps, want3, sizeof(want3));

    /* outer regex captures stay when the nested regex does not match */
    rp_server_t *s3 = mkserver(&a);
    rp_location_t *o = mkloc(&a, s3, NULL, RP_LOC_REGEX, "^/o/(\\w+)", "o");
    mkloc(&a, s3, o, RP_LOC_REGEX, "^/o/(z)(z)(z)$", "ozzz");
    l = rp_route_location(s3, RP_STR("/o/abc"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "o");
    assert_int_equal(nc, 2);
    int want4[] = { 0, 6, 3, 6 };
    assert_memory_equal(caps, want4, sizeof(want4));
    l = rp_route_location(s3, RP_STR("/o/zzz"), caps, 10, &nc);
    assert_string_equal(loc_tag(l), "ozzz");
    assert_int_equal(nc, 4);

    /* a regex with many captures grows the per-thread match block */
    rp_server_t *s4 = mkserver(&a);
    mkloc(&a, s4, NULL, RP_LOC_REGEX,
          "^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)(u)(v)$", "many");
    int big[64];
    l = rp_route_location(s4, RP_STR("/abcdefghijklmnopqrstuv"), big, 32, &nc);
    assert_string_equal(loc_tag(l), "many");
    assert_int_equal(nc, 23);
    assert_int_equal(big[2 * 22], 22);
    assert_int_equal(big[2 * 22 + 1], 23);

    rp_arena_destroy(&a);
}

static void test_location_misc(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = mkserver(&a);
    int nc = 9;
    /* no locations: NULL, server settings apply */
    assert_null(rp_route_location(s, RP_STR("/x"), NULL, 0, &nc));
    assert_int_equal(nc, 0);
    assert_null(rp_route_location(NULL, RP_STR("/x"), NULL, 0, NULL));

    /* exact only: no prefix semantics */
    mkloc(&a, s, NULL, RP_LOC_EXACT, "/only", "only");
    assert_null(rp_route_location(s, RP_STR("/only/"), NULL, 0, NULL));
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/only"), NULL, 0, NULL)), "only");

    /* nested exact beats everything below it, including regexes */
    rp_location_t *p = mkloc(&a, s, NULL, RP_LOC_PREFIX, "/p/", "p");
    mkloc(&a, s, p, RP_LOC_EXACT, "/p/x.re", "p_exact");
    mkloc(&a, s, p, RP_LOC_REGEX, "\\.re$", "p_re");
    mkloc(&a, s, NULL, RP_LOC_REGEX, "re$", "top_re");
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/p/x.re"), NULL, 0, NULL)), "p_exact");
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/p/y.re"), NULL, 0, NULL)), "p_re");
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/p/y.xre"), NULL, 0, NULL)), "top_re");
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/q.re"), NULL, 0, NULL)), "top_re");
    assert_string_equal(loc_tag(rp_route_location(s, RP_STR("/p/"), NULL, 0, NULL)), "p");

    /* regex order is config order: first match wins, not the longest */
    rp_server_t *s2 = mkserver(&a);
    mkloc(&a, s2, NULL, RP_LOC_REGEX, "^/r", "r_short");
    mkloc(&a, s2, NULL, RP_LOC_REGEX, "^/r/longer", "r_long");
    assert_string_equal(loc_tag(rp_route_location(s2, RP_STR("/r/longer"), NULL, 0, NULL)),
                        "r_short");

    /* paths with bytes that are not text are fine */
    assert_string_equal(loc_tag(rp_route_location(s2, rp_str("/r\0x", 4), NULL, 0, NULL)),
                        "r_short");
    rp_arena_destroy(&a);
}

static void test_named(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_server_t *s = build_nested(&a);
    assert_string_equal(loc_tag(rp_route_named(s, RP_STR("fallback"))), "named_fallback");
    assert_string_equal(loc_tag(rp_route_named(s, RP_STR("@fallback"))), "named_fallback");
    assert_null(rp_route_named(s, RP_STR("fallbac")));
    assert_null(rp_route_named(s, RP_STR("Fallback")));
    assert_null(rp_route_named(s, RP_STR("")));
    assert_null(rp_route_named(NULL, RP_STR("fallback")));
    /* a named location kept in the ordinary list is found too */
    rp_server_t *s2 = mkserver(&a);
    rp_location_t *l = rp_arena_calloc(&a, sizeof(*l));
    l->match = RP_LOC_NAMED;
    l->name = RP_STR("@other");
    s2->locations[s2->nlocations++] = l;
    assert_ptr_equal(rp_route_named(s2, RP_STR("other")), l);
    assert_null(rp_route_location(s2, RP_STR("@other"), NULL, 0, NULL));
    rp_arena_destroy(&a);
}

/* ---- path normalisation ---- */

typedef struct {
    const char *in;
    size_t len;
    const char *want; /* NULL: invalid */
} path_case_t;

static const path_case_t path_cases[] = {
    { "/", 0, "/" },
    { "/a", 0, "/a" },
    { "/a/", 0, "/a/" },
    { "/a/b/c", 0, "/a/b/c" },
    { "/a?b=c", 0, "/a" },
    { "/a/../b?x/../..", 0, "/b" },
    { "/?", 0, "/" },
    /* slashes */
    { "//", 0, "/" },
    { "///a///b//", 0, "/a/b/" },
    { "/a//b", 0, "/a/b" },
    /* dot segments, RFC 3986 5.2.4 */
    { "/.", 0, "/" },
    { "/./", 0, "/" },
    { "/a/.", 0, "/a/" },
    { "/a/./b", 0, "/a/b" },
    { "/a/b/..", 0, "/a/" },
    { "/a/b/../", 0, "/a/" },
    { "/a/b/../c", 0, "/a/c" },
    { "/a/b/../../c", 0, "/c" },
    { "/a/b/c/./../../g", 0, "/a/g" },
    { "/a/..", 0, "/" },
    { "/a/../", 0, "/" },
    { "/a//..", 0, "/" },
    { "/a/.../b", 0, "/a/.../b" },
    { "/a/..b/c", 0, "/a/..b/c" },
    { "/a/b../c", 0, "/a/b../c" },
    { "/.a/.b", 0, "/.a/.b" },
    { "/a/./././b", 0, "/a/b" },
    { "/a/b/./..", 0, "/a/" },
    { "/..a", 0, "/..a" },
    /* above the root */
    { "/..", 0, NULL },
    { "/../", 0, NULL },
    { "/../a", 0, NULL },
    { "/a/../..", 0, NULL },
    { "/a/../../b", 0, NULL },
    { "/./..", 0, NULL },
    { "//..", 0, NULL },
    { "/%2e%2e", 0, NULL },
    { "/%2E%2E/etc/passwd", 0, NULL },
    { "/a/%2e%2e/%2e%2e/b", 0, NULL },
    { "/.%2e/", 0, NULL },
    /* percent-decoding */
    { "/%41%42%43", 0, "/ABC" },
    { "/%61%62", 0, "/ab" },
    { "/a%20b", 0, "/a b" },
    { "/%e2%82%ac", 0, "/\xe2\x82\xac" },
    { "/%E2%82%AC", 0, "/\xe2\x82\xac" },
    { "/a%3Fb", 0, "/a?b" },
    { "/a%23b", 0, "/a#b" },
    { "/a%25b", 0, "/a%b" },
    { "/a%252e%252e", 0, "/a%2e%2e" },
    { "/a/%2e/b", 0, "/a/b" },
    { "/a/b/%2e%2e", 0, "/a/" },
    { "/a/b/%2E%2e/c", 0, "/a/c" },
    { "/a%2Fb", 0, "/a/b" },
    { "/a%2fb", 0, "/a/b" },
    { "/a%2F%2Fb", 0, "/a/b" },
    { "/a%2F..%2Fb", 0, "/b" },
    { "/%2F", 0, "/" },
    { "/a%2F..", 0, "/" },
    { "/%2Fetc", 0, "/etc" },
    { "/a%5Cb", 0, "/a\\b" },
    { "/%7e", 0, "/~" },
    { "/%ff", 0, "/\xff" },
    { "/a%3fb?c", 0, "/a?b" },
    /* bad encodings */
    { "/%00", 0, NULL },
    { "/a%00b", 0, NULL },
    { "/%", 0, NULL },
    { "/a%", 0, NULL },
    { "/a%4", 0, NULL },
    { "/a%4?x", 0, NULL },
    { "/%zz", 0, NULL },
    { "/%g0", 0, NULL },
    { "/%0g", 0, NULL },
    { "/% 1", 0, NULL },
    { "/%%41", 0, NULL },
    { HL("/a\0b"), NULL },
    /* not an origin-form path */
    { "", 0, NULL },
    { "a", 0, NULL },
    { "*", 0, NULL },
    { "?a", 0, NULL },
    { "%2Fa", 0, NULL },
    { "http://h/a", 0, NULL },
};

static void test_normalize_path(void **state)
{
    (void)state;
    char out[256];
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        const path_case_t *c = &path_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        int n = rp_route_normalize_path(rp_str(c->in, len), out, sizeof(out));
        if (c->want == NULL) {
            if (n != -1)
                fail_msg("path case %zu \"%s\": want invalid, got \"%.*s\"", i, c->in, n, out);
        } else if (n < 0 || (size_t)n != strlen(c->want) || memcmp(out, c->want, (size_t)n) != 0) {
            fail_msg("path case %zu \"%s\": want \"%s\", got %d \"%.*s\"", i, c->in, c->want, n,
                     n < 0 ? 0 : n, out);
        }
    }
}

static void test_normalize_path_cap(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'Z', sizeof(out));
    assert_int_equal(rp_route_normalize_path(RP_STR("/abcdefghij"), out, 4), -1);
    assert_int_equal(out[4], 'Z');
    /* cap >= path.len up to '?' is enough, even for the whole target */
    assert_int_equal(rp_route_normalize_path(RP_STR("/abc?longquery"), out, 4), 4);
    assert_memory_equal(out, "/abc", 4);
    assert_int_equal(rp_route_normalize_path(RP_NULL_STR, out, sizeof(out)), -1);
}

/* Normalisation is idempotent and its output never has "//", "/./" or
 * "/../"; checked over generated paths. */
static void test_normalize_path_generated(void **state)
{
    (void)state;
    static const char *parts[] = { "/", "a", ".", "..", "%2e", "%2F", "%41", "b", "//", "%2e%2e" };
    char in[64], out[64], again[64];
    unsigned seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        in[len++] = '/';
        int k = (int)((seed >> 16) % 8);
        for (int j = 0; j < k; j++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = parts[(seed >> 16) % 10];
            size_t pl = strlen(p);
            if (len + pl >= sizeof(in))
                break;
            memcpy(in + len, p, pl);
            len += pl;
        }
        seed = seed * 1103515245u + 12345u;
        int n = rp_route_normalize_path(rp_str(in, len), out, sizeof(out));
        if (n < 0)
            continue;
        assert_true(n >= 1 && out[0] == '/');
        /* what was decoded may not be re-decoded: only re-check when no '%'
         * remains (a decoded %25 would be read again) */
        if (memchr(out, '%', (size_t)n) == NULL) {
            int m = rp_route_normalize_path(rp_str(out, (size_t)n), again, sizeof(again));
            assert_int_equal(m, n);
            assert_memory_equal(again, out, (size_t)n);
        }
        for (int j = 0; j + 1 < n; j++)
            assert_false(out[j] == '/' && out[j + 1] == '/');
        for (int j = 0; j + 1 < n; j++)
            assert_false(out[j] == '/' && out[j + 1] == '.' && (j + 2 == n || out[j + 2] == '/'));
        for (int j = 0; j + 3 <= n; j++)
            assert_false(out[j] == '/' && out[j + 1] == '.' && out[j + 2] == '.' &&
                         (j + 3 == n || out[j + 3] == '/'));
    }
}

/* ---- proxy_pass URI ---- */

typedef struct {
    int match;            /* location kind, -1: no location */
    const char *loc;      /* location name */
    const char *pass_uri; /* NULL: proxy_pass without a URI part */
    const char *request;  /* request-target as sent */
    const char *want;
} up_case_t;

static const up_case_t up_cases[] = {
    /* these first ones mirror what nginx 1.22.1 sent to a backend */
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/x?a=1", "/remote/x?a=1" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/x?", "/remote/x" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%20b", "/remote/a%20b" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%2Fb", "/remote/a/b" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/./x/../y", "/remote/y" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/%E2%82%AC", "/remote/%E2%82%AC" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%3Fb?q=%3F", "/remote/a%3Fb?q=%3F" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%23b", "/remote/a%23b" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%25b", "/remote/a%25b" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%7Bb%7D", "/remote/a%7Bb%7D" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%5Cb^`", "/remote/a%5Cb%5E%60" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%01b%7F", "/remote/a%01b%7F" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name//x//y", "/remote/x/y" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/x;p=1,@:$&+=!*()~'",
      "/remote/x;p=1,@:$&+=!*()~'" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/%41", "/remote/A" },
    { RP_LOC_PREFIX, "/name", "/", "/name/x", "//x" },
    { RP_LOC_PREFIX, "/name", "/", "/namex", "/x" },
    { RP_LOC_PREFIX, "/name", "/", "/name", "/" },
    { RP_LOC_EXACT, "/ex", "/exact-target", "/ex?q", "/exact-target?q" },
    { RP_LOC_EXACT, "/ex", "/exact-target", "/ex", "/exact-target" },
    { RP_LOC_PREFIX, "/strip/", "/", "/strip/", "/" },
    { RP_LOC_PREFIX, "/strip/", "/", "/strip/a%2e%2e/b", "/a../b" },
    { -1, NULL, NULL, "/raw/a%20b/../c?x", "/raw/a%20b/../c?x" },
    { -1, NULL, NULL, "/raw//a//b", "/raw//a//b" },
    /* escaping beyond nginx: always (nginx only when the client used %),
     * and also the characters RFC 3986 keeps out of a path */
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a\"b", "/remote/a%22b" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a|b", "/remote/a%7Cb" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a<>b", "/remote/a%3C%3Eb" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/[x]", "/remote/%5Bx%5D" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%0D%0Ab", "/remote/a%0D%0Ab" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/%C3%BF%FF", "/remote/%C3%BF%FF" },
    { RP_LOC_PREFIX, "/name/", "/remote/", "/name/a%09b", "/remote/a%09b" },
    /* other shapes */
    { RP_LOC_PREFIX, "/", "/", "/a/b?c=d&e", "/a/b?c=d&e" },
    { RP_LOC_PREFIX, "/", "/base", "/a", "/basea" },
    { RP_LOC_PREFIX, "/", "/base/", "/a/b", "/base/a/b" },
    { RP_LOC_PREFIX_NOREGEX, "/img/", "/static/images/", "/img/x.png?v=2",
      "/static/images/x.png?v=2" },
    { RP_LOC_PREFIX, "/api/v1/", "/", "/api/v1/users/1", "/users/1" },
    { RP_LOC_PREFIX, "/api/", "/v2/", "/api/../api/x", "/v2/x" },
    { RP_LOC_PREFIX, "/api/", "/v2/", "/api/x?a=%20b+c", "/v2/x?a=%20b+c" },
    { RP_LOC_REGEX, "\\.php$", "/ignored/", "/a/b.php?x=1", "/a/b.php?x=1" },
    { RP_LOC_REGEX_ICASE, "\\.php$", "/ignored/", "/a%20b.PHP", "/a%20b.PHP" },
    { RP_LOC_NAMED, "@up", "/ignored/", "/a/%2e/b", "/a/b" },
    { -1, NULL, "/ignored/", "/q?x", "/q?x" },
    { -1, NULL, NULL, "/a?", "/a?" },
    { -1, NULL, NULL, "/", "/" },
    { -1, NULL, NULL, "/a%2Fb%00?\x01", "/a%2Fb%00?\x01" },
};

static void test_upstream_uri(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    char norm[256];
    for (size_t i = 0; i < sizeof(up_cases) / sizeof(up_cases[0]); i++) {
        const up_case_t *c = &up_cases[i];
        rp_location_t loc;
        memset(&loc, 0, sizeof(loc));
        const rp_location_t *lp = NULL;
        if (c->match >= 0) {
            loc.match = c->match;
            loc.name = rp_str_cstr(c->loc);
            lp = &loc;
        }
        rp_proxy_pass_t pass;
        memset(&pass, 0, sizeof(pass));
        if (c->pass_uri) {
            pass.has_uri = 1;
            pass.uri = rp_str_cstr(c->pass_uri);
        }
        rp_str_t req = rp_str_cstr(c->request);
        const char *q = strchr(c->request, '?');
        rp_str_t args = q ? rp_str_cstr(q + 1) : RP_NULL_STR;
        rp_str_t np = RP_NULL_STR;
        int n = rp_route_normalize_path(req, norm, sizeof(norm));
        if (n >= 0)
            np = rp_str(norm, (size_t)n);
        else
            assert_null(c->pass_uri); /* only raw passing may see a bad path */
        rp_str_t out = { 0 };
        assert_int_equal(rp_route_upstream_uri(&pass, lp, req, np, args, &a, &out), RP_OK);
        if (out.len != strlen(c->want) || memcmp(out.data, c->want, out.len) != 0)
            fail_msg("upstream case %zu \"%s\": want \"%s\", got \"%.*s\"", i, c->request, c->want,
                     (int)out.len, out.data);
        assert_int_equal(out.data[out.len], '\0');
    }
    rp_arena_destroy(&a);
}

/* Every byte: re-encoded paths are valid RFC 3986 request-targets and
 * decode back to the normalised path. */
static void test_upstream_uri_all_bytes(void **state)
{
    (void)state;
    rp_arena_t a;
    rp_arena_init(&a, 0);
    rp_location_t loc = { .match = RP_LOC_PREFIX, .name = RP_STR("/") };
    rp_proxy_pass_t pass = { .has_uri = 1, .uri = RP_STR("/") };
    for (int b = 1; b < 256; b++) {
        char path[4] = { '/', 'x', (char)b, 0 };
        rp_str_t out;
        assert_int_equal(rp_route_upstream_uri(&pass, &loc, rp_str(path, 3), rp_str(path, 3),
                                               RP_NULL_STR, &a, &out),
                         RP_OK);
        for (size_t i = 0; i < out.len; i++) {
            unsigned char c = (unsigned char)out.data[i];
            assert_true(c > 0x20 && c < 0x7f);
            assert_null(strchr("\"#<>?[\\]^`{|} ", c));
        }
        char back[8];
        int n = rp_route_normalize_path(out, back, sizeof(back));
        assert_int_equal(n, 3);
        assert_memory_equal(back, path, 3);
    }
    rp_proxy_pass_t bad = { 0 };
    rp_str_t out;
    assert_int_equal(
        rp_route_upstream_uri(NULL, NULL, RP_STR("/"), RP_STR("/"), RP_NULL_STR, &a, &out),
        RP_ERROR);
    assert_int_equal(
        rp_route_upstream_uri(&bad, NULL, RP_STR("/"), RP_STR("/"), RP_NULL_STR, NULL, &out),
        RP_ERROR);
    rp_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_host),
        cmocka_unit_test(test_normalize_host_cap),
        cmocka_unit_test(test_route_server),
        cmocka_unit_test(test_route_server_name_forms),
        cmocka_unit_test(test_route_server_many),
        cmocka_unit_test(test_location_doc_example),
        cmocka_unit_test(test_location_nested),
        cmocka_unit_test(test_location_captures),
        cmocka_unit_test(test_location_threads),
        cmocka_unit_test(test_location_misc),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_normalize_path),
        cmocka_unit_test(test_normalize_path_cap),
        cmocka_unit_test(test_normalize_path_generated),
        cmocka_unit_test(test_upstream_uri),
        cmocka_unit_test(test_upstream_uri_all_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
