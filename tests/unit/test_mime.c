/* Content types: `types` blocks (inline, included, Debian's mime.types),
 * nginx's replace-not-merge inheritance, the built-in table, default_type
 * fallback, extension extraction and case folding. */
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
#include "conf/mime.h"
#include "core/common.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static rp_conf_t *load_ok(const char *text)
{
    char path[512], prefix[512], err[512] = "";
    write_file("t.conf", text);
    snprintf(path, sizeof(path), "%s/t.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    rp_conf_t *c = rp_conf_load(path, prefix, NULL, RP_CONF_TEST, err, sizeof(err));
    if (!c)
        fail_msg("unexpected error: %s\nconfig:\n%s", err, text);
    return c;
}

/* Which level of the first server a lookup runs against. */
enum { AT_SRV, AT_LOC, AT_NESTED };

typedef struct {
    int at;
    const char *path;
    const char *want;
} probe_t;

typedef struct {
    const char *conf;
    probe_t probes[8];
} conf_case_t;

#define SRV_LOCS "server { listen 127.0.0.1:1; location / { location /n { } } }"

static const conf_case_t conf_cases[] = {
    /* nothing configured: built-in table, then default_type (text/plain) */
    { "http { " SRV_LOCS " }",
      { { AT_SRV, "/index.html", "text/html" },
        { AT_LOC, "/a/b.CSS", "text/css" },
        { AT_NESTED, "/n/app.mjs", "text/javascript" },
        { AT_LOC, "/x.unknownext", "text/plain" },
        { AT_LOC, "/noext", "text/plain" } } },
    /* an http-level table replaces the built-in one entirely */
    { "http { types { text/html html; application/x-foo foo FOO2; } "
      "default_type application/octet-stream; " SRV_LOCS " }",
      { { AT_SRV, "/a.html", "text/html" },
        { AT_LOC, "/a.foo", "application/x-foo" },
        { AT_NESTED, "/a.Foo2", "application/x-foo" },
        { AT_LOC, "/a.css", "application/octet-stream" },
        { AT_LOC, "/a.png", "application/octet-stream" } } },
    /* a location's table replaces the inherited one, nested ones inherit it */
    { "http { types { text/html html; } server { listen 127.0.0.1:1; "
      "location / { types { text/x-l l; } location /n { } } } }",
      { { AT_SRV, "/a.html", "text/html" },
        { AT_SRV, "/a.l", "text/plain" },
        { AT_LOC, "/a.l", "text/x-l" },
        { AT_LOC, "/a.html", "text/plain" },
        { AT_NESTED, "/a.l", "text/x-l" },
        { AT_NESTED, "/a.html", "text/plain" } } },
    /* server level replaces http level */
    { "http { types { text/html html; } server { listen 127.0.0.1:1; types { a/s s; } "
      "location / { location /n { } } } }",
      { { AT_SRV, "/a.s", "a/s" },
        { AT_LOC, "/a.html", "text/plain" },
        { AT_NESTED, "/a.s", "a/s" } } },
    /* an empty block is a table: everything is default_type */
    { "http { server { listen 127.0.0.1:1; location / { types { } default_type a/dl; "
      "location /n { } } } }",
      { { AT_SRV, "/a.html", "text/html" },
        { AT_LOC, "/a.html", "a/dl" },
        { AT_NESTED, "/a.css", "a/dl" } } },
    /* two blocks at one level add up; a redefined extension: last wins */
    { "http { types { text/html html; a/one dup; } types { a/two dup; text/css css; } " SRV_LOCS
      " }",
      { { AT_LOC, "/a.html", "text/html" },
        { AT_LOC, "/a.css", "text/css" },
        { AT_LOC, "/a.dup", "a/two" },
        { AT_LOC, "/a.js", "text/plain" } } },
    /* quoted type with parameters; a type with no extension is accepted */
    { "http { types { \"text/html; charset=utf-8\" html; text/empty; } " SRV_LOCS " }",
      { { AT_LOC, "/a.html", "text/html; charset=utf-8" } } },
    /* types_hash_* are accepted and change nothing */
    { "http { types_hash_max_size 2048; types_hash_bucket_size 64; " SRV_LOCS " }",
      { { AT_LOC, "/a.json", "application/json" } } },
};

static const rp_loc_conf_t *level(const rp_conf_t *c, int at)
{
    const rp_server_t *s = c->servers[0];
    if (at == AT_SRV)
        return &s->conf;
    if (at == AT_LOC)
        return &s->locations[0]->conf;
    return &s->locations[0]->children[0]->conf;
}

static void test_conf_tables(void **state)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(conf_cases); i++) {
        rp_conf_t *c = load_ok(conf_cases[i].conf);
        for (size_t k = 0; k < RP_ARRAY_LEN(conf_cases[i].probes); k++) {
            const probe_t *pr = &conf_cases[i].probes[k];
            if (!pr->path)
                break;
            const rp_loc_conf_t *lc = level(c, pr->at);
            assert_non_null(lc->types);
            rp_str_t got = rp_mime_type(lc, rp_str_cstr(pr->path));
            if (!rp_str_eq(got, rp_str_cstr(pr->want)))
                fail_msg("case %zu probe %zu (%s): got \"%.*s\", want \"%s\"", i, k, pr->path,
                         (int)got.len, got.data, pr->want);
        }
        rp_conf_unref(c);
    }
}

static void test_ext(void **state)
{
    static const struct {
        const char *path;
        const char *ext;
    } cases[] = {
        { "/a/b.html", "html" },
        { "/v1.2/README", "" },
        { "/v1.2/file.tar.gz", "gz" },
        { "/dir.d/", "" },
        { "/.htaccess", "htaccess" },
        { "/a.", "" },
        { "noslash.TXT", "TXT" },
        { "", "" },
        { "/srv/www/site.example/index.HTM", "HTM" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_str_t e = rp_mime_ext(rp_str_cstr(cases[i].path));
        if (!rp_str_eq(e, rp_str_cstr(cases[i].ext)))
            fail_msg("%s: got \"%.*s\"", cases[i].path, (int)e.len, e.data);
    }
}

static void test_builtin(void **state)
{
    const rp_mime_types_t *t = rp_mime_builtin();
    assert_true(t->n >= 40);
    /* strictly ascending: binary search relies on it */
    for (size_t i = 1; i < t->n; i++) {
        const rp_str_t a = t->entries[i - 1].ext, b = t->entries[i].ext;
        int c = memcmp(a.data, b.data, RP_MIN(a.len, b.len));
        if (c > 0 || (c == 0 && a.len >= b.len))
            fail_msg("built-in table out of order at \"%.*s\"", (int)b.len, b.data);
    }
    for (size_t i = 0; i < t->n; i++) {
        rp_str_t got = rp_mime_lookup(t, t->entries[i].ext);
        assert_true(rp_str_eq(got, t->entries[i].type));
    }
    static const struct {
        const char *path;
        const char *want;
    } cases[] = {
        { "/x.html", "text/html" },
        { "/x.htm", "text/html" },
        { "/x.css", "text/css" },
        { "/x.js", "text/javascript" },
        { "/x.json", "application/json" },
        { "/x.txt", "text/plain" },
        { "/x.xml", "text/xml" },
        { "/x.png", "image/png" },
        { "/x.JPG", "image/jpeg" },
        { "/x.jpeg", "image/jpeg" },
        { "/x.gif", "image/gif" },
        { "/x.svg", "image/svg+xml" },
        { "/x.ico", "image/x-icon" },
        { "/x.webp", "image/webp" },
        { "/x.avif", "image/avif" },
        { "/x.woff", "font/woff" },
        { "/x.woff2", "font/woff2" },
        { "/x.ttf", "font/ttf" },
        { "/x.otf", "font/otf" },
        { "/x.pdf", "application/pdf" },
        { "/x.wasm", "application/wasm" },
        { "/x.mp4", "video/mp4" },
        { "/x.webm", "video/webm" },
        { "/x.mp3", "audio/mpeg" },
        { "/x.ogg", "audio/ogg" },
        { "/x.zip", "application/zip" },
        { "/x.gz", "application/gzip" },
        { "/x.tar", "application/x-tar" },
        { "/x.js.map", "application/json" },
        { "/x.csv", "text/csv" },
        { "/x.md", "text/markdown" },
        { "/x.7z", "application/x-7z-compressed" },
        { "/x.woff3", "d/t" },
        { "/x.h", "d/t" },
        { "/x.zzzz", "d/t" },
        { "/x.0", "d/t" },
    };
    rp_loc_conf_t lc;
    memset(&lc, 0, sizeof(lc));
    lc.default_type = RP_STR("d/t");
    for (int pass = 0; pass < 2; pass++) {
        /* NULL (never merged) and the built-in pointer behave the same */
        lc.types = pass ? (rp_mime_types_t *)rp_mime_builtin() : NULL;
        for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
            rp_str_t got = rp_mime_type(&lc, rp_str_cstr(cases[i].path));
            if (!rp_str_eq(got, rp_str_cstr(cases[i].want)))
                fail_msg("%s: got \"%.*s\"", cases[i].path, (int)got.len, got.data);
        }
    }
    /* the path is a slice: bytes past len are not read */
    rp_str_t p = rp_str("/a.cssXYZ", 6);
    assert_true(rp_str_eq(rp_mime_type(&lc, p), RP_STR("text/css")));
}

static void test_build_dedup(void **state)
{
    rp_arena_t a;
    rp_arena_init(&a, 1024);
    rp_mime_types_t t;
    memset(&t, 0, sizeof(t));
    /* enough entries to grow the array several times */
    char ext[16];
    for (int i = 0; i < 300; i++) {
        snprintf(ext, sizeof(ext), "E%d", i % 150);
        assert_int_equal(rp_mime_types_add(&a, &t, i < 150 ? RP_STR("first") : RP_STR("second"),
                                           rp_str_cstr(ext)),
                         RP_OK);
    }
    rp_mime_types_finish(&t, NULL, NULL);
    rp_mime_types_finish(&t, NULL, NULL); /* idempotent */
    assert_int_equal(t.n, 150);
    for (int i = 0; i < 150; i++) {
        snprintf(ext, sizeof(ext), "e%d", i);
        assert_true(rp_str_eq(rp_mime_lookup(&t, rp_str_cstr(ext)), RP_STR("second")));
    }
    assert_null(rp_mime_lookup(&t, RP_STR("e150")).data);
    assert_null(rp_mime_lookup(&t, RP_STR("")).data);
    rp_arena_destroy(&a);
}

/* A small mime.types in nginx's layout, included at http level. */
static void test_include_inline_file(void **state)
{
    write_file("mime.types", "\ntypes {\n    text/html   html htm shtml;\n"
                             "    # comment\n    image/png png;\n"
                             "    application/octet-stream bin exe;\n}\n");
    rp_conf_t *c =
        load_ok("http { include mime.types; default_type application/octet-stream; " SRV_LOCS " }");
    const rp_loc_conf_t *lc = level(c, AT_NESTED);
    assert_true(rp_str_eq(rp_mime_type(lc, RP_STR("/a.SHTML")), RP_STR("text/html")));
    assert_true(rp_str_eq(rp_mime_type(lc, RP_STR("/a.png")), RP_STR("image/png")));
    assert_true(rp_str_eq(rp_mime_type(lc, RP_STR("/a.css")), RP_STR("application/octet-stream")));
    assert_int_equal(lc->types->n, 6);
    rp_conf_unref(c);
}

/* Debian's /etc/nginx/mime.types, installed with nginx. */
static void test_debian_mime_types(void **state)
{
    if (access("/etc/nginx/mime.types", R_OK) != 0)
        skip();
    rp_conf_t *c = load_ok("http { include /etc/nginx/mime.types; "
                           "default_type application/octet-stream; " SRV_LOCS " }");
    const rp_loc_conf_t *lc = level(c, AT_LOC);
    assert_true(lc->types->n > 80);
    static const struct {
        const char *path;
        const char *want;
    } cases[] = {
        { "/index.html", "text/html" },
        { "/s/style.css", "text/css" },
        { "/img/logo.PNG", "image/png" },
        { "/f.woff2", "font/woff2" },
        { "/d.json", "application/json" },
        { "/a.jpg", "image/jpeg" },
        { "/no.such-ext", "application/octet-stream" },
        { "/README", "application/octet-stream" },
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_str_t got = rp_mime_type(lc, rp_str_cstr(cases[i].path));
        if (!rp_str_eq(got, rp_str_cstr(cases[i].want)))
            fail_msg("%s: got \"%.*s\"", cases[i].path, (int)got.len, got.data);
    }
    rp_conf_unref(c);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rp-test-mime-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_tables),
        cmocka_unit_test(test_ext),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_build_dedup),
        cmocka_unit_test(test_include_inline_file),
        cmocka_unit_test(test_debian_mime_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
