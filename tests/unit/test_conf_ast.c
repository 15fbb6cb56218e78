/* Unit tests for src/conf/ast.c: words, quotes, escapes, comments, blocks,
 * exact line numbers, includes with globs, and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/ast.h"
#include "core/common.h"

/* ---- tree dump: name@line[arg][q:quoted]; or name@line[...]{...} ---- */

typedef struct {
    char buf[8192];
    size_t n;
} dump_t;

static void put(dump_t *d, const char *s)
{
    size_t l = strlen(s);
    assert_true(d->n + l < sizeof(d->buf));
    memcpy(d->buf + d->n, s, l + 1);
    d->n += l;
}

static void dump_node(dump_t *d, const rp_conf_node_t *n, int with_file)
{
    char tmp[64];
    put(d, n->name);
    if (with_file) {
        const char *slash = strrchr(n->file, '/');
        put(d, "@");
        put(d, slash ? slash + 1 : n->file);
        put(d, ":");
    } else {
        put(d, "@");
    }
    snprintf(tmp, sizeof(tmp), "%d", n->line);
    put(d, tmp);
    for (size_t i = 0; i < n->nargs; i++) {
        put(d, n->quoted[i] ? "[q:" : "[");
        put(d, n->args[i]);
        put(d, "]");
    }
    assert_null(n->args[n->nargs]);
    if (n->is_block) {
        put(d, "{");
        for (size_t i = 0; i < n->nchildren; i++)
            dump_node(d, &n->children[i], with_file);
        put(d, "}");
    } else {
        assert_int_equal(n->nchildren, 0);
        put(d, ";");
    }
}

static const char *dump_tree(dump_t *d, const rp_conf_tree_t *t, int with_file)
{
    d->n = 0;
    d->buf[0] = '\0';
    for (size_t i = 0; i < t->root.nchildren; i++)
        dump_node(d, &t->root.children[i], with_file);
    return d->buf;
}

/* ---- syntax that parses ---- */

static const struct {
    const char *in;
    const char *out;
} ok_cases[] = {
    { "", "" },
    { "   \n\t\n", "" },
    { "# only a comment\n# another", "" },
    { "a;", "a@1;" },
    { "a b c;", "a@1[b][c];" },
    { "  a   b\tc  ;", "a@1[b][c];" },
    { "a;b;c;", "a@1;b@1;c@1;" },
    { "a;\nb;\n\nc;", "a@1;b@2;c@4;" },
    { "a;\r\nb;\r\n", "a@1;b@2;" },
    { "a\n  b\n  c;\nd;", "a@1[b][c];d@4;" },
    { "\n\n\n   x y;", "x@4[y];" },
    { "# c\na; # trailing\nb;", "a@2;b@3;" },
    { "a b#c;", "a@1[b#c];" },
    { "a #c\n b;", "a@1[b];" },
    { "a {}", "a@1{}" },
    { "a{}", "a@1{}" },
    { "a { }", "a@1{}" },
    { "a b { c d; e; }", "a@1[b]{c@1[d];e@1;}" },
    { "http {\n  server {\n    listen 80;\n    location / {\n      proxy_pass http://b;\n    }\n  "
      "}\n}\n",
      "http@1{server@2{listen@3[80];location@4[/]{proxy_pass@5[http://b];}}}" },
    { "a{b{c{d;}}}", "a@1{b@1{c@1{d@1;}}}" },
    { "a {} b;", "a@1{}b@1;" },
    { "a \"b c\" 'd e';", "a@1[q:b c][q:d e];" },
    { "a \"\" '';", "a@1[q:][q:];" },
    { "a \"x\\\"y\" 'it\\'s';", "a@1[q:x\"y][q:it's];" },
    { "a \"t\\tn\\nr\\r\";", "a@1[q:t\tn\nr\r];" },
    { "a \"\\\\\" \"\\d\";", "a@1[q:\\][q:\\d];" },
    { "a 'x\"y' \"x'y\";", "a@1[q:x\"y][q:x'y];" },
    { "a \"{;}#\";", "a@1[q:{;}#];" },
    { "a \"multi\nline\";\nb;", "a@1[q:multi\nline];b@3;" },
    { "\"a b\" c;", "a b@1[c];" },
    { "a \"b\";c;", "a@1[q:b];c@1;" },
    { "a \"b\"{}", "a@1[q:b]{}" },
    { "a \"b\"\t;", "a@1[q:b];" },
    { "a\\ b;", "a\\ b@1;" },
    { "a b\\;c;", "a@1[b\\;c];" },
    { "a \\\"x;", "a@1[\"x];" },
    { "a b\\tc;", "a@1[b\tc];" },
    { "a x\\\ny;\nb;", "a@1[x\\\ny];b@3;" },
    { "a ${x}y;", "a@1[${x}y];" },
    { "set $a \"${b}c\";", "set@1[$a][q:${b}c];" },
    { "a ${x} { b; }", "a@1[${x}]{b@1;}" },
    { "a $x{ b; }", "a@1[$x]{b@1;}" },
    { "a b};", "a@1[b}];" },
    { "if ($a = \"b\") { return 200; }", "if@1[($a][=][q:b][)]{return@1[200];}" },
    { "location ~ \\.php$ { }", "location@1[~][\\.php$]{}" },
    { "location ~* \"^/a{2}$\" { }", "location@1[~*][q:^/a{2}$]{}" },
    { "a b\"c d;", "a@1[b\"c][d];" },
    { "log_format main '$remote_addr - $request'\n    '\"$status\"';",
      "log_format@1[main][q:$remote_addr - $request][q:\"$status\"];" },
    { "upstream u { server a:1 weight=2; server b; }",
      "upstream@1[u]{server@1[a:1][weight=2];server@1[b];}" },
    { "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n",
      "map@1[$http_upgrade][$connection_upgrade]{default@2[upgrade];@3[close];}" },
};

static void test_ok_cases(void **state)
{
    (void)state;
    dump_t d;
    for (size_t i = 0; i < RP_ARRAY_LEN(ok_cases); i++) {
        rp_conf_tree_t t;
        char err[256] = "";
        int rc = rp_conf_parse_string("t.conf", ok_cases[i].in, strlen(ok_cases[i].in), &t, err,
                                      sizeof(err));
        if (rc != RP_OK)
            fail_msg("case %zu (%s): %s", i, ok_cases[i].in, err);
        const char *got = dump_tree(&d, &t, 0);
        if (strcmp(got, ok_cases[i].out) != 0)
            fail_msg("case %zu (%s):\n got  %s\n want %s", i, ok_cases[i].in, got, ok_cases[i].out);
        assert_string_equal(t.root.name, "");
        assert_true(t.root.is_block);
        assert_string_equal(t.root.file, "t.conf");
        rp_conf_tree_free(&t);
        assert_null(t.priv);
    }
}

/* Quoted map key '' must keep its (empty) name: check the raw node. */
static void test_quoted_flags(void **state)
{
    (void)state;
    const char *in = "map $a $b { '' close; \"x\" y; }";
    rp_conf_tree_t t;
    char err[256];
    assert_int_equal(rp_conf_parse_string("t.conf", in, strlen(in), &t, err, sizeof(err)), RP_OK);
    const rp_conf_node_t *m = &t.root.children[0];
    assert_int_equal(m->nchildren, 2);
    assert_string_equal(m->children[0].name, "");
    assert_int_equal(m->children[0].nargs, 1);
    assert_int_equal(m->children[0].quoted[0], 0);
    assert_string_equal(m->children[1].name, "x");
    assert_int_equal(m->nargs, 2);
    assert_int_equal(m->quoted[0], 0);
    rp_conf_tree_free(&t);
}

/* Input that is not NUL-terminated must be read only within len. */
static void test_length_bounded(void **state)
{
    (void)state;
    char buf[] = "a b;c d;XXXX";
    rp_conf_tree_t t;
    char err[256];
    dump_t d;
    assert_int_equal(rp_conf_parse_string("t.conf", buf, 8, &t, err, sizeof(err)), RP_OK);
    assert_string_equal(dump_tree(&d, &t, 0), "a@1[b];c@1[d];");
    rp_conf_tree_free(&t);
    assert_int_equal(rp_conf_parse_string("t.conf", buf, 7, &t, err, sizeof(err)), RP_ERROR);
    assert_string_equal(err, "unexpected end of file, expecting \";\" or \"}\" in t.conf:1");
    assert_null(t.priv);
    rp_conf_tree_free(&t); /* harmless after an error */
}

/* ---- errors, each with its exact file:line ---- */

static const struct {
    const char *in;
    const char *err;
} err_cases[] = {
    { "}", "unexpected \"}\" in t.conf:1" },
    { "a;\n\n}", "unexpected \"}\" in t.conf:3" },
    { "a { }\n}", "unexpected \"}\" in t.conf:2" },
    { "a b }", "unexpected \"}\" in t.conf:1" },
    { "a {\n b\n}", "unexpected \"}\" in t.conf:3" },
    { "a", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "a b}", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "a b\n\n", "unexpected end of file, expecting \";\" or \"}\" in t.conf:3" },
    { "a {\nb;\n", "unexpected end of file, expecting \"}\" in t.conf:3" },
    { "a {\nb { c; }", "unexpected end of file, expecting \"}\" in t.conf:2" },
    { "a \"b", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "a \"b\n\nc", "unexpected end of file, expecting \";\" or \"}\" in t.conf:3" },
    { "a 'b", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "a b\\", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "a \"b\\", "unexpected end of file, expecting \";\" or \"}\" in t.conf:1" },
    { "{", "unexpected \"{\" in t.conf:1" },
    { "a;\n{ b; }", "unexpected \"{\" in t.conf:2" },
    { ";", "unexpected \";\" in t.conf:1" },
    { "a;\n;", "unexpected \";\" in t.conf:2" },
    { "a { ; }", "unexpected \";\" in t.conf:1" },
    { "a \"b\"c;", "unexpected \"c\" in t.conf:1" },
    { "a\n\"b\"'c';", "unexpected \"'\" in t.conf:2" },
    { "a \"b\"};", "unexpected \"}\" in t.conf:1" },
    { "a \"b\"\x01;", "unexpected \"\\x01\" in t.conf:1" },
    { "http;", "directive \"http\" has no opening \"{\" in t.conf:1" },
    { "http {\n server\n;\n}", "directive \"server\" has no opening \"{\" in t.conf:3" },
    { "location /;", "directive \"location\" has no opening \"{\" in t.conf:1" },
    { "map $a $b;", "directive \"map\" has no opening \"{\" in t.conf:1" },
    { "upstream u {\n server a;\n}\nserver;",
      "directive \"server\" has no opening \"{\" in t.conf:4" },
    { "include;", "invalid number of arguments in \"include\" directive in t.conf:1" },
    { "http {\n\n  include a b;\n}",
      "invalid number of arguments in \"include\" directive in t.conf:3" },
    { "include a {}", "directive \"include\" is not terminated by \";\" in t.conf:1" },
    { "include \"\";", "invalid empty path in \"include\" directive in t.conf:1" },
    { "a;\ninclude /nonexistent-rampart/x.conf;",
      "open() \"/nonexistent-rampart/x.conf\" failed (2: No such file or directory) in t.conf:2" },
};

static void test_err_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < RP_ARRAY_LEN(err_cases); i++) {
        rp_conf_tree_t t;
        char err[256] = "";
        int rc = rp_conf_parse_string("t.conf", err_cases[i].in, strlen(err_cases[i].in), &t, err,
                                      sizeof(err));
        if (rc != RP_ERROR)
            fail_msg("case %zu (%s) parsed", i, err_cases[i].in);
        if (strcmp(err, err_cases[i].err) != 0)
            fail_msg("case %zu (%s):\n got  %s\n want %s", i, err_cases[i].in, err,
                     err_cases[i].err);
        assert_null(t.priv);
    }
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char in[] = "a;\nb c\0d;";
    rp_conf_tree_t t;
    char err[256];
    assert_int_equal(rp_conf_parse_string("t.conf", in, sizeof(in) - 1, &t, err, sizeof(err)),
                     RP_ERROR);
    assert_string_equal(err, "unexpected NUL character in t.conf:2");
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    rp_conf_tree_t t;
    char err[8];
    assert_int_equal(rp_conf_parse_string("t.conf", "}", 1, &t, err, sizeof(err)), RP_ERROR);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(rp_conf_parse_string("t.conf", "}", 1, &t, NULL, 0), RP_ERROR);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    char in[2048];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        in[n++] = 'a';
        in[n++] = '{';
    }
    for (int i = 0; i < 100; i++)
        in[n++] = '}';
    rp_conf_tree_t t;
    char err[256];
    assert_int_equal(rp_conf_parse_string("t.conf", in, n, &t, err, sizeof(err)), RP_OK);
    rp_conf_tree_free(&t);
    n = 0;
    for (int i = 0; i < 101; i++) {
        in[n++] = 'a';
        in[n++] = '{';
    }
    assert_int_equal(rp_conf_parse_string("t.conf", in, n, &t, err, sizeof(err)), RP_ERROR);
    assert_string_equal(err, "blocks nested deeper than 100 levels in t.conf:1");
}

static void test_many_nodes(void **state)
{
    (void)state;
    /* enough directives and arguments to grow every vector several times */
    size_t cap = 200000, n = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    n += (size_t)snprintf(in + n, cap - n, "http {\n");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(in + n, cap - n, "d%d a b c d e f g h i j k l m n o p q %d;\n", i, i);
    n += (size_t)snprintf(in + n, cap - n, "}\n");
    rp_conf_tree_t t;
    char err[256];
    assert_int_equal(rp_conf_parse_string("t.conf", in, n, &t, err, sizeof(err)), RP_OK);
    const rp_conf_node_t *h = &t.root.children[0];
    assert_int_equal(h->nchildren, 2000);
    assert_string_equal(h->children[1999].name, "d1999");
    assert_int_equal(h->children[1999].line, 2001);
    assert_int_equal(h->children[1999].nargs, 18);
    assert_string_equal(h->children[1999].args[17], "1999");
    rp_conf_tree_free(&t);
    free(in);
}

/* ---- includes, in a temporary directory ---- */

static char tmpdir[256];

static void write_file(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rp-ast-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char p[512];
    snprintf(p, sizeof(p), "%s/conf.d", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/sub", tmpdir);
    mkdir(p, 0700);
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int parse_main(const char *rel, rp_conf_tree_t *t, char *err, size_t errlen)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    return rp_conf_parse_file(p, t, err, errlen);
}

static void test_include_glob(void **state)
{
    (void)state;
    write_file("conf.d/b.conf", "server {\n  listen 2;\n}\n");
    write_file("conf.d/a.conf", "\n\nserver { listen 1; }\n");
    write_file("conf.d/c.txt", "not included;\n");
    write_file("up.conf", "server x:1;\nserver y:2;\n");
    write_file("loc.conf", "proxy_pass http://u;\n");
    write_file("top.conf", "worker_processes 2;\n");
    write_file("main.conf", "include top.conf;\n"
                            "http {\n"
                            "  upstream u {\n"
                            "    include up.conf;\n"
                            "  }\n"
                            "  include conf.d/*.conf;\n"
                            "  include nothing/*.conf;\n"
                            "  server {\n"
                            "    location / { include loc.conf; }\n"
                            "  }\n"
                            "}\n");
    rp_conf_tree_t t;
    char err[512] = "";
    if (parse_main("main.conf", &t, err, sizeof(err)) != RP_OK)
        fail_msg("%s", err);
    dump_t d;
    assert_string_equal(dump_tree(&d, &t, 1),
                        "worker_processes@top.conf:1[2];"
                        "http@main.conf:2{"
                        "upstream@main.conf:3[u]{server@up.conf:1[x:1];server@up.conf:2[y:2];}"
                        "server@a.conf:3{listen@a.conf:3[1];}"
                        "server@b.conf:1{listen@b.conf:2[2];}"
                        "server@main.conf:8{location@main.conf:9[/]{proxy_pass@loc.conf:1[http://"
                        "u];}}"
                        "}");
    /* nodes of one file share one file string */
    const rp_conf_node_t *up = &t.root.children[1].children[0];
    assert_ptr_equal(up->children[0].file, up->children[1].file);
    char want[512];
    snprintf(want, sizeof(want), "%s/up.conf", tmpdir);
    assert_string_equal(up->children[0].file, want);
    rp_conf_tree_free(&t);
}

static void test_include_relative_to_main(void **state)
{
    (void)state;
    /* a nested include is resolved against the main file's directory, as
     * nginx resolves against its prefix, not against the including file */
    write_file("sub/one.conf", "include sub/two.conf;\n");
    write_file("sub/two.conf", "two;\n");
    write_file("rel.conf", "include sub/one.conf;\n");
    rp_conf_tree_t t;
    char err[512] = "";
    if (parse_main("rel.conf", &t, err, sizeof(err)) != RP_OK)
        fail_msg("%s", err);
    dump_t d;
    assert_string_equal(dump_tree(&d, &t, 1), "two@two.conf:1;");
    rp_conf_tree_free(&t);

    /* parse_string: the name's directory is the base */
    char name[512];
    snprintf(name, sizeof(name), "%s/virtual.conf", tmpdir);
    const char *in = "a;\ninclude sub/two.conf;\nb;";
    assert_int_equal(rp_conf_parse_string(name, in, strlen(in), &t, err, sizeof(err)), RP_OK);
    assert_string_equal(dump_tree(&d, &t, 1), "a@virtual.conf:1;two@two.conf:1;b@virtual.conf:3;");
    rp_conf_tree_free(&t);

    /* an absolute include path is used as is */
    snprintf(name, sizeof(name), "include %s/sub/two.conf;", tmpdir);
    assert_int_equal(
        rp_conf_parse_string("/elsewhere/x.conf", name, strlen(name), &t, err, sizeof(err)), RP_OK);
    assert_string_equal(dump_tree(&d, &t, 1), "two@two.conf:1;");
    rp_conf_tree_free(&t);
}

static void test_include_errors(void **state)
{
    (void)state;
    char err[512], want[600];
    rp_conf_tree_t t;

    write_file("self.conf", "include self.conf;\n");
    assert_int_equal(parse_main("self.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want),
             "includes nested deeper than 16 levels (include loop?) in %s/self.conf:1", tmpdir);
    assert_string_equal(err, want);
    assert_null(t.priv);

    /* 16 levels are fine: l0 includes l1 ... l15 includes l16 */
    for (int i = 0; i <= 16; i++) {
        char rel[32], body[64];
        snprintf(rel, sizeof(rel), "l%d.conf", i);
        if (i < 16)
            snprintf(body, sizeof(body), "include l%d.conf;\n", i + 1);
        else
            snprintf(body, sizeof(body), "deepest;\n");
        write_file(rel, body);
    }
    if (parse_main("l0.conf", &t, err, sizeof(err)) != RP_OK)
        fail_msg("%s", err);
    assert_int_equal(t.root.nchildren, 1);
    assert_string_equal(t.root.children[0].name, "deepest");
    rp_conf_tree_free(&t);

    write_file("bad-inc.conf", "a;\nb {\n}\n}\n");
    write_file("has-bad.conf", "http {\n  include bad-inc.conf;\n}\n");
    assert_int_equal(parse_main("has-bad.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want), "unexpected \"}\" in %s/bad-inc.conf:4", tmpdir);
    assert_string_equal(err, want);

    write_file("open-inc.conf", "http {\n");
    write_file("has-open.conf", "include open-inc.conf;\n}\n");
    assert_int_equal(parse_main("has-open.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want), "unexpected end of file, expecting \"}\" in %s/open-inc.conf:2",
             tmpdir);
    assert_string_equal(err, want);

    write_file("missing.conf", "\ninclude nope.conf;\n");
    assert_int_equal(parse_main("missing.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want),
             "open() \"%s/nope.conf\" failed (2: No such file or directory) in %s/missing.conf:2",
             tmpdir, tmpdir);
    assert_string_equal(err, want);

    write_file("dir.conf", "include sub;\n");
    assert_int_equal(parse_main("dir.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want), "read() \"%s/sub\" failed (21: Is a directory) in %s/dir.conf:1",
             tmpdir, tmpdir);
    assert_string_equal(err, want);

    assert_int_equal(parse_main("no-such-main.conf", &t, err, sizeof(err)), RP_ERROR);
    snprintf(want, sizeof(want),
             "open() \"%s/no-such-main.conf\" failed (2: No such file or directory)", tmpdir);
    assert_string_equal(err, want);
}

static void test_reference_config(void **state)
{
    (void)state;
    const char *in = "upstream backend_servers {\n"
                     "    server server1.example.com;\n"
                     "    server server2.example.com;\n"
                     "\n"
                     "    zone backend 64k;\n"
                     "\n"
                     "    # Health checks\n"
                     "    health_check interval=5 fails=2 passes=2 uri=/health;\n"
                     "}\n"
                     "\n"
                     "server {\n"
                     "    listen 80;\n"
                     "    location / {\n"
                     "        proxy_pass http://backend_servers;\n"
                     "    }\n"
                     "}\n";
    rp_conf_tree_t t;
    char err[256];
    dump_t d;
    assert_int_equal(rp_conf_parse_string("hc.conf", in, strlen(in), &t, err, sizeof(err)), RP_OK);
    assert_string_equal(dump_tree(&d, &t, 0),
                        "upstream@1[backend_servers]{server@2[server1.example.com];"
                        "server@3[server2.example.com];zone@5[backend][64k];"
                        "health_check@8[interval=5][fails=2][passes=2][uri=/health];}"
                        "server@11{listen@12[80];location@13[/]{proxy_pass@14[http://"
                        "backend_servers];}}");
    rp_conf_tree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_cases),       cmocka_unit_test(test_quoted_flags),
        cmocka_unit_test(test_length_bounded), cmocka_unit_test(test_err_cases),
        cmocka_unit_test(test_nul_byte),       cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_deep_nesting),   cmocka_unit_test(test_many_nodes),
        cmocka_unit_test(test_include_glob),   cmocka_unit_test(test_include_relative_to_main),
        cmocka_unit_test(test_include_errors), cmocka_unit_test(test_reference_config),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
