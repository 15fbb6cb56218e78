/* proxy_redirect: the rules a generation holds (default, implicit default,
 * explicit, regex, off, inheritance) and rp_proxy_redirect /
 * rp_proxy_redirect_refresh applying them to Location / Refresh values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/redirect.h"
#include "core/common.h"

static char dir[256];

static rp_conf_t *load(const char *text, char *err, size_t errlen)
{
    char path[512], prefix[512];
    snprintf(path, sizeof(path), "%s/r.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return rp_conf_load(path, prefix, NULL, RP_CONF_TEST, err, errlen);
}

/* The request as the getter sees it. */
typedef struct {
    const char *scheme, *host, *port, *uri;
} req_t;

static int get(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    const req_t *r = ctx;
    const char *v = NULL;
    switch (ref->id) {
    case RP_VAR_SCHEME:
        v = r->scheme;
        break;
    case RP_VAR_HOST:
        v = r->host;
        break;
    case RP_VAR_SERVER_PORT:
        v = r->port;
        break;
    case RP_VAR_URI:
        v = r->uri;
        break;
    default:
        break;
    }
    if (!v)
        return RP_DECLINED;
    *out = rp_str_cstr(v);
    return RP_OK;
}

static const rp_location_t *find_in(rp_location_t *const *locs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (rp_str_eq(locs[i]->name, rp_str_cstr(name)))
            return locs[i];
        const rp_location_t *l = find_in(locs[i]->children, locs[i]->nchildren, name);
        if (l)
            return l;
    }
    return NULL;
}

/* A server body (inside `http { server { listen ...; BODY } }`) and the
 * location whose rules are applied ("" = server level). */
typedef struct {
    const char *http; /* extra http-level directives, may be NULL */
    const char *srv;
    const char *loc;
    const char *in;
    const char *want;
    int refresh;
    req_t req; /* zero: http, "front.test", port 80 */
} case_t;

#define UP "127.0.0.1:8081"
#define C(h, s, l, i, w, ...)                                                                      \
    {                                                                                              \
        .http = h, .srv = s, .loc = l, .in = i, .want = w, __VA_ARGS__                             \
    }

static const case_t cases[] = {
    /* default with a URI part: "<proxy_pass URL>" -> location name, then
     * made absolute with the client's scheme, host and port */
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; proxy_redirect default; }", "/one/",
      "http://" UP "/two/some/uri/", "http://front.test/one/some/uri/"),
    /* the same rule when no proxy_redirect is written at all */
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/",
      "http://" UP "/two/some/uri/?a=1", "http://front.test/one/some/uri/?a=1"),
    /* ... with a non-default port and https */
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "http://" UP "/two/x",
      "http://front.test:8080/one/x", .req = { "http", "front.test", "8080", NULL }),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "http://" UP "/two/x",
      "https://front.test/one/x", .req = { "https", "front.test", "443", NULL }),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "http://" UP "/two/x",
      "https://front.test:80/one/x", .req = { "https", "front.test", "80", NULL }),
    /* no host to name the server with: stays relative */
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "http://" UP "/two/x",
      "/one/x", .req = { "http", NULL, "80", NULL }),
    /* default without a URI part: "<proxy_pass URL>/" -> "/" */
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "http://" UP "/a/b?c",
      "http://front.test/a/b?c"),
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect default; }", "/",
      "http://" UP "/", "http://front.test/"),
    /* the pattern is the URL as written: ":80" kept, upstream names kept */
    C(NULL, "location / { proxy_pass http://127.0.0.1:80; }", "/", "http://127.0.0.1/x",
      "http://127.0.0.1/x"),
    C(NULL, "location / { proxy_pass http://127.0.0.1:80; }", "/", "http://127.0.0.1:80/x",
      "http://front.test/x"),
    C("upstream backend { server " UP "; }", "location /app/ { proxy_pass http://backend/; }",
      "/app/", "http://backend/login", "http://front.test/app/login"),
    /* no match: unchanged (also a relative Location, and case matters) */
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "http://other/x", "http://other/x"),
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "/relative", "/relative"),
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "HTTP://" UP "/x", "HTTP://" UP "/x"),
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "http://" UP, "http://" UP),
    C(NULL, "location / { proxy_pass http://" UP "; }", "/", "", ""),
    /* off: nothing rewritten, also the implicit default */
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect off; }", "/", "http://" UP "/x",
      "http://" UP "/x"),
    C("proxy_redirect off;", "location / { proxy_pass http://" UP "; }", "/", "http://" UP "/x",
      "http://" UP "/x"),
    C(NULL, "proxy_redirect off; location / { proxy_pass http://" UP "; }", "/", "http://" UP "/x",
      "http://" UP "/x"),
    /* off at an outer level, own rule inside */
    C(NULL,
      "proxy_redirect off; location / { proxy_pass http://" UP "; proxy_redirect http://" UP
      "/ /; }",
      "/", "http://" UP "/x", "http://front.test/x"),
    /* after off, the level's other proxy_redirect lines are ignored */
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect off; proxy_redirect default; }",
      "/", "http://" UP "/x", "http://" UP "/x"),
    /* explicit rules: prefix replaced, rest kept; absolute replacement */
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://localhost:8000/two/ "
      "http://frontend/one/; }",
      "/", "http://localhost:8000/two/some/uri/", "http://frontend/one/some/uri/"),
    /* an explicit rule replaces the implicit default */
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://localhost:8000/two/ "
      "http://frontend/one/; }",
      "/", "http://" UP "/x", "http://" UP "/x"),
    /* several: the first match wins */
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://a/ http://first/;"
      " proxy_redirect http://a/b/ http://second/; proxy_redirect default; }",
      "/", "http://a/b/c", "http://first/b/c"),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://a/b/ http://second/;"
      " proxy_redirect http://a/ http://first/; proxy_redirect default; }",
      "/", "http://a/b/c", "http://second/c"),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://a/b/ http://second/;"
      " proxy_redirect http://a/ http://first/; proxy_redirect default; }",
      "/", "http://" UP "/d", "http://front.test/d"),
    /* variables in the replacement and in the pattern */
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://localhost:8000/ "
      "http://$host:$server_port/; }",
      "/", "http://localhost:8000/x", "http://front.test:8080/x",
      .req = { "http", "front.test", "8080", NULL }),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://$host/ "
      "$scheme://$host:$server_port/; }",
      "/", "http://front.test/x", "https://front.test:8443/x",
      .req = { "https", "front.test", "8443", NULL }),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect http://$host/ "
      "$scheme://$host:$server_port/; }",
      "/", "http://elsewhere/x", "http://elsewhere/x",
      .req = { "https", "front.test", "8443", NULL }),
    /* replacement without a server name: the client's host and port */
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect http://localhost:8000/two/ /; }",
      "/", "http://localhost:8000/two/x", "http://front.test:8080/x",
      .req = { "http", "front.test", "8080", NULL }),
    /* `proxy_redirect / /;` adds the host to relative redirects */
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect / /; }", "/", "/login?next=/",
      "http://front.test/login?next=/"),
    /* regex rules: the whole value replaced, $1..$9 from the match */
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect ~^http://([^:/]+)(:\\d+)?(.*)$ "
      "https://$1$3; }",
      "/", "http://app.test:8081/p?q", "https://app.test/p?q"),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect ~^http://([^:/]+)(:\\d+)?(.*)$ "
      "https://$1$2$3; }",
      "/", "http://app.test/p", "https://app.test/p"),
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect ~^HTTP://OLD/(.*) /new/$1; }",
      "/", "http://old/x", "http://old/x"),
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect ~*^HTTP://OLD/(.*) /new/$1; }",
      "/", "http://old/x", "http://front.test/new/x"),
    C(NULL,
      "location / { proxy_pass http://" UP "; proxy_redirect ~/(x)(y)? http://$host/$1$2$9; }", "/",
      "http://a/x", "http://front.test/x"),
    /* inheritance: server rules reach a location with proxy_pass (no
     * implicit default then), nested locations inherit their parent's */
    C(NULL, "proxy_redirect http://s/ http://srv/; location / { proxy_pass http://" UP "; }", "/",
      "http://s/x", "http://srv/x"),
    C(NULL, "proxy_redirect http://s/ http://srv/; location / { proxy_pass http://" UP "; }", "/",
      "http://" UP "/x", "http://" UP "/x"),
    C("proxy_redirect http://h/ http://http/;",
      "location / { proxy_pass http://" UP "; proxy_redirect http://l/ http://loc/; }", "/",
      "http://h/x", "http://h/x"),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; location /one/n/ { } }", "/one/n/",
      "http://" UP "/two/x", "http://front.test/one/x"),
    /* nginx merges the parent first, and its implicit default is then a
     * rule the nested location inherits: a nested proxy_pass gets no
     * default of its own (write `proxy_redirect default;` there for one) */
    C(NULL,
      "location /one/ { proxy_pass http://" UP "/two/; location /one/n/ { proxy_pass http://" UP
      "/three/; } }",
      "/one/n/", "http://" UP "/three/x", "http://" UP "/three/x"),
    C(NULL,
      "location /one/ { proxy_pass http://" UP "/two/; location /one/n/ { proxy_pass http://" UP
      "/three/; } }",
      "/one/n/", "http://" UP "/two/x", "http://front.test/one/x"),
    C(NULL,
      "location /one/ { proxy_pass http://" UP "/two/; location /one/n/ { proxy_pass http://" UP
      "/three/; proxy_redirect default; } }",
      "/one/n/", "http://" UP "/three/x", "http://front.test/one/n/x"),
    /* server level itself has no proxy_pass: nothing */
    C(NULL, "location / { proxy_pass http://" UP "; }", "", "http://" UP "/x", "http://" UP "/x"),
    /* Refresh: after "url=", never made absolute */
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/",
      "5; url=http://" UP "/two/x", "5; url=/one/x", .refresh = 1),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/",
      "0;URL=http://" UP "/two/", "0;URL=/one/", .refresh = 1),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "5", "5", .refresh = 1),
    C(NULL, "location /one/ { proxy_pass http://" UP "/two/; }", "/one/", "5; url=http://x/two/",
      "5; url=http://x/two/", .refresh = 1),
    C(NULL, "location / { proxy_pass http://" UP "; proxy_redirect ~^http://[^/]+(/.*) $1; }", "/",
      "3; url=http://a/b", "3; url=/b", .refresh = 1),
};

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const case_t *k = &cases[i];
        char text[2048], err[512] = "";
        snprintf(text, sizeof(text), "http { %s server { listen 127.0.0.1:1; %s } }",
                 k->http ? k->http : "", k->srv);
        rp_conf_t *c = load(text, err, sizeof(err));
        if (!c)
            fail_msg("case %zu: %s\n%s", i, err, text);
        rp_server_t *s = c->servers[0];
        const rp_location_t *loc = NULL;
        const rp_loc_conf_t *lc = &s->conf;
        if (k->loc[0]) {
            loc = find_in(s->locations, s->nlocations, k->loc);
            assert_non_null(loc);
            lc = &loc->conf;
        }
        req_t req = k->req;
        if (!req.scheme)
            req = (req_t){ "http", "front.test", "80", NULL };
        rp_arena_t a;
        rp_arena_init(&a, 1024);
        rp_str_t in = rp_str_cstr(k->in), out = RP_NULL_STR;
        int rc = k->refresh ? rp_proxy_redirect_refresh(lc, loc, in, get, &req, &a, &out)
                            : rp_proxy_redirect(lc, loc, in, get, &req, &a, &out);
        assert_int_equal(rc, RP_OK);
        if (!rp_str_eq(out, rp_str_cstr(k->want)))
            fail_msg("case %zu: \"%s\"\n got: \"%.*s\"\nwant: \"%s\"\n%s", i, k->in, (int)out.len,
                     out.data, k->want, text);
        if (strcmp(k->in, k->want) == 0)
            assert_ptr_equal(out.data, in.data); /* untouched: the same bytes */
        rp_arena_destroy(&a);
        rp_conf_unref(c);
    }
}

/* What the generation holds for the rules. */
static void test_rules(void **state)
{
    char err[512] = "";
    rp_conf_t *c = load("http { proxy_redirect http://h/ /; server { listen 127.0.0.1:1;\n"
                        " location /one/ { proxy_pass http://" UP "/two/; }\n"
                        " location / { proxy_pass http://" UP "; proxy_redirect default;"
                        " proxy_redirect ~*^x $1; }\n"
                        " location /off/ { proxy_redirect off; }\n"
                        " location /none/ { }\n"
                        "} }",
                        err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    rp_server_t *s = c->servers[0];
    /* server: inherited from http */
    assert_int_equal(s->conf.proxy_redirect, 1);
    assert_int_equal(s->conf.nproxy_redirects, 1);
    assert_true(rp_str_eq(s->conf.proxy_redirects[0].pattern->raw, RP_STR("http://h/")));
    /* /one/: inherits http's rule, so no implicit default */
    const rp_loc_conf_t *one = &s->locations[0]->conf;
    assert_ptr_equal(one->proxy_redirects, s->conf.proxy_redirects);
    assert_true(rp_str_eq(one->proxy_pass->url, RP_STR("http://" UP "/two/")));
    /* /: its own two rules */
    const rp_loc_conf_t *root = &s->locations[1]->conf;
    assert_int_equal(root->nproxy_redirects, 2);
    assert_true(rp_str_eq(root->proxy_redirects[0].pattern->raw, RP_STR("http://" UP "/")));
    assert_true(rp_str_eq(root->proxy_redirects[0].replacement->raw, RP_STR("/")));
    assert_null(root->proxy_redirects[0].re);
    assert_null(root->proxy_redirects[1].pattern);
    assert_non_null(root->proxy_redirects[1].re);
    assert_true(rp_str_eq(root->proxy_redirects[1].replacement->raw, RP_STR("$1")));
    const rp_loc_conf_t *off = &s->locations[2]->conf;
    assert_int_equal(off->proxy_redirect, 0);
    assert_null(off->proxy_redirects);
    const rp_loc_conf_t *none = &s->locations[3]->conf;
    assert_int_equal(none->proxy_redirect, 1);
    assert_int_equal(none->nproxy_redirects, 1);
    rp_conf_unref(c);

    /* a '$' in a location name is text in the default replacement */
    c = load("http { server { listen 127.0.0.1:1;\n"
             " location /a$b/ { proxy_pass http://" UP "/two/; } } }",
             err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    const rp_location_t *l = c->servers[0]->locations[0];
    rp_arena_t a;
    rp_arena_init(&a, 512);
    req_t req = { "http", "h", "80", NULL };
    rp_str_t out;
    assert_int_equal(
        rp_proxy_redirect(&l->conf, l, RP_STR("http://" UP "/two/z"), get, &req, &a, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("http://h/a$b/z")));
    /* no getter: rules without variables still apply, nothing absolute */
    assert_int_equal(
        rp_proxy_redirect(&l->conf, l, RP_STR("http://" UP "/two/z"), NULL, NULL, &a, &out), RP_OK);
    assert_true(rp_str_eq(out, RP_STR("/a$b/z")));
    /* NULL settings: unchanged */
    assert_int_equal(rp_proxy_redirect(NULL, NULL, RP_STR("http://x/"), get, &req, &a, &out),
                     RP_OK);
    assert_true(rp_str_eq(out, RP_STR("http://x/")));
    rp_arena_destroy(&a);
    rp_conf_unref(c);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rampart-redirect-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
    if (system(cmd) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_rules),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
