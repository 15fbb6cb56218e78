/* libFuzzer target for the configuration semantic layer (src/conf/conf.c,
 * conf_http.c, conf_upstream.c, redirect.c, vars.c, mime.c): the directive
 * table, values (sizes, times), listen / server_name / location /
 * proxy_pass / upstream / map / log_format / types / proxy_redirect, and
 * the merge of settings.
 *
 * Each input is written to one file in a per-process temporary directory
 * (the same path every time) and loaded with rp_conf_load(RP_CONF_TEST),
 * with that directory as the prefix: -t opens no log file, so nothing else
 * is created. Inputs holding the word "include" are skipped: escapes cannot
 * spell a letter (ast.c), so the directive needs the literal word, and
 * without it no file but ours is read (fuzz_conf.c covers includes).
 * rp_conf_resolve_numeric_only keeps getaddrinfo() off the network.
 *
 * A loaded generation is walked for the invariants conf.h promises (no
 * RP_UNSET after merging, names set, upstreams with servers, every listen
 * with a default server); a failure must carry "... in FILE:LINE".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/mime.h"
#include "conf/redirect.h"
#include "core/common.h"
#include "core/log.h"

static char dir[64];
static char path[96];
static int verbose;           /* FUZZ_CONF_LOAD_VERBOSE=1: print each outcome */
static rp_arena_t eval_arena; /* scratch for evaluating templates */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_conf_load: invariant failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/rp-fuzz-conf-load-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/f.conf", dir);
    atexit(cleanup);
    rp_conf_resolve_numeric_only = 1;
    verbose = getenv("FUZZ_CONF_LOAD_VERBOSE") != NULL;
    /* warnings (duplicate MIME extensions, ...) would flood the output */
    rp_log_set_error_log(NULL, RP_LOG_EMERG);
    rp_arena_init(&eval_arena, 4096);
    return 0;
}

static void check_str(rp_str_t s)
{
    CHECK(s.data != NULL || s.len == 0);
}

/* What compiled templates, maps and redirect rules are applied to: every
 * variable has a value, so map keys, regex captures and literal parts all
 * run. Named arguments ($http_x, $arg_x) evaluate to their own name. */
static int fake_get(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out)
{
    (void)ctx;
    (void)a;
    if (ref->arg.len)
        *out = ref->arg;
    else
        *out = RP_STR("www.example.com");
    return RP_OK;
}

static void eval_tpl(const rp_tpl_t *t)
{
    rp_str_t v;
    if (t && rp_tpl_eval(t, fake_get, NULL, &eval_arena, &v) == RP_OK)
        check_str(v);
}

static void eval_loc(const rp_loc_conf_t *c, const rp_location_t *loc)
{
    eval_tpl(c->return_text);
    eval_tpl(c->root);
    for (size_t i = 0; i < c->nadd_headers; i++)
        eval_tpl(c->add_headers[i].value);
    for (size_t i = 0; i < c->nproxy_set_headers; i++)
        eval_tpl(c->proxy_set_headers[i].value);
    static const char *const values[] = { "http://127.0.0.1:8080/a/b", "/x", "", "http://x/" };
    for (size_t i = 0; i < RP_ARRAY_LEN(values); i++) {
        rp_str_t out;
        if (rp_proxy_redirect(c, loc, rp_str_cstr(values[i]), fake_get, NULL, &eval_arena, &out) ==
            RP_OK)
            check_str(out);
        if (rp_proxy_redirect_refresh(c, loc, rp_str_cstr(values[i]), fake_get, NULL, &eval_arena,
                                      &out) == RP_OK)
            check_str(out);
    }
    rp_arena_reset(&eval_arena);
}

static void check_loc_conf(const rp_loc_conf_t *c)
{
    CHECK(c->return_code != RP_UNSET);
    CHECK(c->return_code == 0 || (c->return_code >= 100 && c->return_code <= 999));
    CHECK(c->proxy_http_version == 10 || c->proxy_http_version == 11);
    CHECK(c->proxy_connect_timeout >= 0);
    CHECK(c->proxy_read_timeout >= 0);
    CHECK(c->proxy_send_timeout >= 0);
    CHECK(c->proxy_buffering == 0 || c->proxy_buffering == 1);
    CHECK(c->proxy_request_buffering == 0 || c->proxy_request_buffering == 1);
    CHECK(c->proxy_buffer_size >= 0);
    CHECK(c->proxy_buffers_num >= 2 && c->proxy_buffers_size >= 1);
    CHECK(c->proxy_intercept_errors == 0 || c->proxy_intercept_errors == 1);
    CHECK(c->client_max_body_size >= 0);
    CHECK(c->client_body_timeout >= 0);
    CHECK(c->send_timeout >= 0);
    CHECK(c->keepalive_timeout >= 0);
    CHECK(c->keepalive_requests >= 0);
    CHECK(c->server_tokens == 0 || c->server_tokens == 1);
    CHECK(c->proxy_redirect == 0 || c->proxy_redirect == 1);
    CHECK(c->sendfile == 0 || c->sendfile == 1);
    CHECK(c->tcp_nopush == 0 || c->tcp_nopush == 1);
    CHECK(c->tcp_nodelay == 0 || c->tcp_nodelay == 1);
    CHECK(c->client_body_buffer_size >= 0);
    CHECK(c->reset_timedout_connection == 0 || c->reset_timedout_connection == 1);
    CHECK(c->log_not_found == 0 || c->log_not_found == 1);
    CHECK(c->root != NULL);
    CHECK(!c->alias || c->root == c->alias);
    CHECK(c->index != NULL && c->nindex > 0);
    for (size_t i = 0; i < c->nindex; i++)
        CHECK(c->index[i].data && c->index[i].len > 0);
    CHECK(c->default_type.data != NULL);
    CHECK(c->types != NULL);
    /* a finished table answers lookups (sorted, no NULL entries) */
    rp_str_t t = rp_mime_type(c, RP_STR("/a/b.html"));
    check_str(t);
    CHECK(t.data != NULL);
    CHECK(c->nerror_pages == 0 || c->error_pages);
    for (size_t i = 0; i < c->nerror_pages; i++) {
        const rp_error_page_t *e = &c->error_pages[i];
        CHECK(e->ncodes > 0 && e->codes && e->uri);
        for (size_t k = 0; k < e->ncodes; k++)
            CHECK(e->codes[k] >= 300 && e->codes[k] <= 599);
    }
    CHECK(c->nadd_headers == 0 || c->add_headers);
    for (size_t i = 0; i < c->nadd_headers; i++)
        CHECK(c->add_headers[i].name.data && c->add_headers[i].value);
    /* the defaults (Host, Connection) are always there unless overridden */
    CHECK(c->nproxy_set_headers >= 1 && c->proxy_set_headers);
    for (size_t i = 0; i < c->nproxy_set_headers; i++)
        CHECK(c->proxy_set_headers[i].name.data && c->proxy_set_headers[i].value);
    for (size_t i = 0; i < c->nproxy_hide_headers; i++)
        CHECK(c->proxy_hide_headers[i].data);
    for (size_t i = 0; i < c->nproxy_pass_headers; i++)
        CHECK(c->proxy_pass_headers[i].data);
    if (c->proxy_pass) {
        const rp_proxy_pass_t *pp = c->proxy_pass;
        CHECK(pp->upstream != NULL);
        CHECK(pp->host.data && pp->port.data && pp->url.data);
        CHECK(!pp->has_uri || pp->uri.data);
    }
    CHECK(c->proxy_redirect || (!c->proxy_redirects && c->nproxy_redirects == 0));
    for (size_t i = 0; i < c->nproxy_redirects; i++) {
        const rp_proxy_redirect_t *r = &c->proxy_redirects[i];
        CHECK((r->pattern != NULL) != (r->re != NULL));
        CHECK(r->replacement != NULL);
    }
    CHECK(c->naccess_logs == 0 || c->access_logs);
    for (size_t i = 0; i < c->naccess_logs; i++) {
        CHECK(c->access_logs[i].format != NULL);
        CHECK(c->access_logs[i].file == NULL); /* RP_CONF_TEST opens none */
    }
}

static void check_location(const rp_location_t *l, const rp_location_t *parent, int depth)
{
    CHECK(depth < 200);
    CHECK(l->parent == parent);
    CHECK(l->name.data && l->name.len > 0);
    CHECK(l->file && l->line > 0);
    CHECK(l->match >= RP_LOC_PREFIX && l->match <= RP_LOC_NAMED);
    CHECK((l->re != NULL) == (l->match == RP_LOC_REGEX || l->match == RP_LOC_REGEX_ICASE));
    CHECK(l->nchildren == 0 || l->children);
    if (l->conf.alias)
        CHECK(l->conf.alias_len <= 4096);
    check_loc_conf(&l->conf);
    eval_loc(&l->conf, l);
    for (size_t i = 0; i < l->nchildren; i++)
        check_location(l->children[i], l, depth + 1);
}

static int has_server(const rp_conf_t *c, const rp_server_t *s)
{
    for (size_t i = 0; i < c->nservers; i++)
        if (c->servers[i] == s)
            return 1;
    return 0;
}

static void check_conf(const rp_conf_t *c)
{
    CHECK(c->refs == 1);
    CHECK(c->file && c->prefix);
    CHECK(c->worker_processes >= 1);
    CHECK(c->worker_connections >= 1);
    CHECK(c->daemon == 0 || c->daemon == 1);
    CHECK(c->error_log_path != NULL);
    CHECK(c->error_log_level >= RP_LOG_EMERG && c->error_log_level <= RP_LOG_DEBUG);
    CHECK(!c->user == !c->group);
    if (!c->has_http) {
        CHECK(c->nservers == 0 && c->nlistens == 0 && c->nupstreams == 0);
        return;
    }
    CHECK(c->nlog_formats >= 1 && strcmp(c->log_formats[0]->name, "combined") == 0);
    for (size_t i = 0; i < c->nlog_formats; i++)
        CHECK(c->log_formats[i]->name && c->log_formats[i]->tpl);
    for (size_t i = 0; i < c->nmaps; i++) {
        CHECK(c->maps[i] != NULL);
        rp_str_t v;
        if (rp_map_eval(c->maps[i], fake_get, NULL, &eval_arena, &v) == RP_OK)
            check_str(v);
        rp_arena_reset(&eval_arena);
    }
    for (size_t i = 0; i < c->nservers; i++) {
        const rp_server_t *s = c->servers[i];
        CHECK(s && s->file && s->line > 0);
        CHECK(s->nnames > 0 && s->names);
        for (size_t k = 0; k < s->nnames; k++) {
            const rp_server_name_t *n = &s->names[k];
            CHECK(n->name.data != NULL);
            CHECK((n->re != NULL) == (n->kind == RP_NAME_REGEX));
        }
        CHECK(s->client_header_buffer_size >= 0);
        CHECK(s->large_client_header_buffers_num >= 1);
        CHECK(s->large_client_header_buffers_size >= 1);
        CHECK(s->client_header_timeout >= 0);
        CHECK(s->underscores_in_headers == 0 || s->underscores_in_headers == 1);
        CHECK(s->ignore_invalid_headers == 0 || s->ignore_invalid_headers == 1);
        check_loc_conf(&s->conf);
        eval_loc(&s->conf, NULL);
        CHECK(s->nlocations == 0 || s->locations);
        for (size_t k = 0; k < s->nlocations; k++) {
            CHECK(s->locations[k]->match != RP_LOC_NAMED);
            check_location(s->locations[k], NULL, 0);
        }
        for (size_t k = 0; k < s->nnamed_locations; k++) {
            CHECK(s->named_locations[k]->match == RP_LOC_NAMED);
            check_location(s->named_locations[k], NULL, 0);
        }
    }
    /* every server listens somewhere */
    for (size_t i = 0; i < c->nservers; i++) {
        int found = 0;
        for (size_t k = 0; k < c->nlistens && !found; k++)
            for (size_t j = 0; j < c->listens[k].nservers; j++)
                if (c->listens[k].servers[j] == c->servers[i])
                    found = 1;
        CHECK(found);
    }
    for (size_t i = 0; i < c->nlistens; i++) {
        const rp_listen_t *l = &c->listens[i];
        CHECK(l->nservers > 0 && l->servers);
        CHECK(l->default_server && has_server(c, l->default_server));
        CHECK(l->addr.addrlen > 0 && l->addr.text[0]);
        CHECK(l->backlog >= 1);
        for (size_t k = i + 1; k < c->nlistens; k++)
            CHECK(strcmp(l->addr.text, c->listens[k].addr.text) != 0);
        for (size_t k = 0; k < l->nservers; k++)
            CHECK(has_server(c, l->servers[k]));
    }
    for (size_t i = 0; i < c->nupstreams; i++) {
        const rp_upstream_t *u = c->upstreams[i];
        CHECK(u && u->name);
        CHECK(u->nservers > 0 && u->servers);
        CHECK(u->keepalive >= 1);
        CHECK(u->keepalive_timeout >= 0 && u->keepalive_requests >= 0);
        CHECK(u->file && u->line > 0);
        for (size_t k = 0; k < u->nservers; k++) {
            CHECK(u->servers[k].name);
            CHECK(u->servers[k].weight >= 1);
            CHECK(u->servers[k].addr.addrlen > 0 && u->servers[k].addr.text[0]);
        }
    }
}

/* "<sentence> in <file>:<line>" (conf.h). */
static void check_err(const char *err, size_t cap)
{
    size_t len = strnlen(err, cap);
    if (len == cap || len == 0) {
        fprintf(stderr, "fuzz_conf_load: empty or unterminated error\n");
        abort();
    }
    /* no exemptions: a message too long for the buffer is cut before its
     * place (rp__conf_err); the lexer's messages quote at most one
     * character or a fixed directive name */
    size_t i = len;
    while (i > 0 && err[i - 1] >= '0' && err[i - 1] <= '9')
        i--;
    if (i == len || i == 0 || err[i - 1] != ':' || !strstr(err, " in ")) {
        fprintf(stderr, "fuzz_conf_load: error without file:line: \"%s\"\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memmem(data, size, "include", 7))
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    close(fd);

    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    char err[512];
    memset(err, 'x', sizeof(err));
    rp_conf_t *c = rp_conf_load(path, prefix, NULL, RP_CONF_TEST, err, sizeof(err));
    if (verbose)
        fprintf(stderr, "fuzz_conf_load: %s\n", c ? "loaded" : err);
    if (c) {
        check_conf(c);
        rp_conf_unref(c);
    } else {
        check_err(err, sizeof(err));
    }
    return 0;
}
