/* Configuration semantic layer: errors with file:line, defaults, merging,
 * listen / server_name / location / upstream / proxy_pass parsing, maps,
 * the reference configs of tests/fixtures/configs. */
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

static rp_conf_t *load(const char *text, char *err, size_t errlen)
{
    write_file("t.conf", text);
    char path[512], prefix[512];
    snprintf(path, sizeof(path), "%s/t.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    return rp_conf_load(path, prefix, NULL, RP_CONF_TEST, err, errlen);
}

static rp_conf_t *load_ok(const char *text)
{
    char err[512] = "";
    rp_conf_t *c = load(text, err, sizeof(err));
    if (!c)
        fail_msg("unexpected error: %s\nconfig:\n%s", err, text);
    return c;
}

/* ---- errors: '@' in the expectation stands for the file path ---- */

typedef struct {
    const char *conf;
    const char *err;
} err_case_t;

static const err_case_t err_cases[] = {
    { "foo;", "unknown directive \"foo\" in @:1" },
    { "http {\n  server {\n    bogus 1;\n  }\n}", "unknown directive \"bogus\" in @:3" },
    { "proxy_pass http://x;\nworker_processes 1;",
      "\"proxy_pass\" directive is not allowed here in @:1" },
    { "http { proxy_pass http://127.0.0.1; }",
      "\"proxy_pass\" directive is not allowed here in @:1" },
    { "http { server { listen 80; proxy_pass http://127.0.0.1; } }",
      "\"proxy_pass\" directive is not allowed here in @:1" },
    { "http {\n server {\n  listen;\n }\n}",
      "invalid number of arguments in \"listen\" directive in @:3" },
    { "worker_processes;", "invalid number of arguments in \"worker_processes\" directive in @:1" },
    { "daemon maybe;",
      "invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \"off\" in @:1" },
    { "worker_processes 0;", "invalid value \"0\" in \"worker_processes\" directive in @:1" },
    { "http {\n zstd_dict_file /x;\n}",
      "\"zstd_dict_file\" directive is not supported yet in @:2" },
    { "http { gzip_static sometimes; }",
      "invalid value \"sometimes\" in \"gzip_static\" directive, it must be \"on\", \"off\" or "
      "\"always\" in @:1" },
    { "http {\n gzip_comp_level 10;\n}",
      "\"gzip_comp_level\" must be between 1 and 9, not \"10\" in @:2" },
    { "http { gzip on; gzip maybe; }", "\"gzip\" directive is duplicate in @:1" },
    { "http { gzip_proxied any sometimes; }",
      "invalid value \"sometimes\" in \"gzip_proxied\" directive in @:1" },
    { "http { gzip_types text; }",
      "invalid MIME type \"text\" in \"gzip_types\" directive in @:1" },
    { "http { gzip_types te*t/html; }",
      "invalid MIME type \"te*t/html\" in \"gzip_types\" directive in @:1" },
    { "http { brotli_window 3000; }",
      "\"brotli_window\" must be a power of two from 1k to 16m, not \"3000\" in @:1" },
    { "http { compression_preference gzip deflate; }",
      "unknown coding \"deflate\" in \"compression_preference\", it must be gzip, br or zstd in "
      "@:1" },
    { "http { compression_preference br br; }",
      "coding \"br\" is listed twice in \"compression_preference\" in @:1" },
    { "http { gzip_buffers 0 4k; }",
      "invalid value \"0 4k\" in \"gzip_buffers\" directive in @:1" },
    { "http { gzip_http_version 2; }", "invalid value \"2\" in \"gzip_http_version\" directive, it "
                                       "must be \"1.0\" or \"1.1\" in @:1" },
    { "http { ssl_early_data on; }", "\"ssl_early_data\" directive is not supported yet in @:1" },
    { "http { proxy_cache_path /x keys_zone=a:1m; }",
      "\"proxy_cache_path\" directive is not supported yet in @:1" },
    { "http { upstream u { server 127.0.0.1; zone u 64x; } }", "invalid zone size \"64x\" in @:1" },
    { "http { limit_req_zone $remote_addr zone=a:1m rate=1r/s; }",
      "\"limit_req_zone\" directive is not supported yet in @:1" },
    { "http { limit_conn_zone $remote_addr zone=a:1m; }",
      "\"limit_conn_zone\" directive is not supported yet in @:1" },
    { "http { http2 maybe; }",
      "invalid value \"maybe\" in \"http2\" directive, it must be \"on\" or \"off\" in @:1" },
    { "http { server { location / { http2 on; } } }",
      "\"http2\" directive is not allowed here in @:1" },
    { "http { http2_push /x; }", "unknown directive \"http2_push\" in @:1" },
    { "http { server { location / { proxy_ssl_crl x.pem; } } }",
      "\"proxy_ssl_crl\" directive is not supported yet in @:1" },
    { "http { server { location / { proxy_ssl_verify on; proxy_ssl_verify on; } } }",
      "\"proxy_ssl_verify\" directive is duplicate in @:1" },
    { "http { server { location / {\n proxy_ssl_verify on;\n proxy_pass https://127.0.0.1; } } }",
      "no proxy_ssl_trusted_certificate for proxy_ssl_verify in @:2" },
    { "http {\n proxy_ssl_verify on;\n server { location / { proxy_pass https://127.0.0.1; } } }",
      "no proxy_ssl_trusted_certificate for proxy_ssl_verify in @:2" },
    { "http { proxy_ssl_protocols TLSv1.2 SSLv3; }",
      "\"SSLv3\" is not supported (insecure, RFC 7568) in @:1" },
    { "http { proxy_ssl_verify_depth 101; }",
      "invalid value \"101\" in \"proxy_ssl_verify_depth\" directive in @:1" },
    { "http { proxy_ssl_session_reuse maybe; }",
      "invalid value \"maybe\" in \"proxy_ssl_session_reuse\" directive, it must be \"on\" or "
      "\"off\" in @:1" },
    { "http { proxy_ssl_name $nosuchvar; }", "unknown \"nosuchvar\" variable in @:1" },
    { "http { server { location / { proxy_pass https://127.0.0.1:99999; } } }",
      "invalid port in \"https://127.0.0.1:99999\" in @:1" },
    { "http { server { listen 443 ssl; } }",
      "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in @:1" },
    { "http { http2_max_concurrent_streams 0; }",
      "invalid value \"0\" in \"http2_max_concurrent_streams\" directive in @:1" },
    { "http { server { listen 443 quic; } }",
      "the \"quic\" parameter of the \"listen\" directive is not supported yet in @:1" },
    { "http { server { listen unix:/tmp/x.sock; } }",
      "unix domain sockets in \"listen\" are not supported yet in @:1" },
    { "http { server { listen 70000; } }",
      "invalid port in \"70000\" of the \"listen\" directive in @:1" },
    { "http { server { listen 127.0.0.1:0; } }",
      "invalid port in \"127.0.0.1:0\" of the \"listen\" directive in @:1" },
    { "http { server { listen 80 foo; } }", "invalid parameter \"foo\" in @:1" },
    { "http { server { listen 80 backlog=x; } }", "invalid backlog \"x\" in @:1" },
    { "http {\n server { listen 127.0.0.1:8080 default_server; }\n"
      " server { listen 127.0.0.1:8080 default_server; }\n}",
      "a duplicate default server for 127.0.0.1:8080 in @:3" },
    { "http {\n server { listen 127.0.0.1:8080 backlog=10; }\n"
      " server { listen 127.0.0.1:8080 backlog=20; }\n}",
      "duplicate listen options for 127.0.0.1:8080 in @:3" },
    { "http { server { listen 127.0.0.1:8080; listen 127.0.0.1:8080; } }",
      "a duplicate listen 127.0.0.1:8080 in @:1" },
    { "http {\n server {\n  location / {\n   proxy_read_timeout 5s;\n   proxy_read_timeout 6s;\n  "
      "}\n }\n}",
      "\"proxy_read_timeout\" directive is duplicate in @:5" },
    { "http { proxy_read_timeout 5x; }",
      "invalid value \"5x\" in \"proxy_read_timeout\" directive in @:1" },
    { "http { proxy_read_timeout 1s1m; }",
      "invalid value \"1s1m\" in \"proxy_read_timeout\" directive in @:1" },
    { "http { client_max_body_size 1q; }",
      "invalid value \"1q\" in \"client_max_body_size\" directive in @:1" },
    { "http { server_tokens yes; }",
      "invalid value \"yes\" in \"server_tokens\" directive, it must be \"on\" or \"off\" in @:1" },
    { "http { server { location / { proxy_pass http://$host; } } }",
      "\"proxy_pass\" with variables is not supported yet in @:1" },
    { "http { server { location / { proxy_pass ftp://x; } } }",
      "invalid URL prefix in \"ftp://x\" in @:1" },
    { "http { server { location ~ \\.php$ { proxy_pass http://127.0.0.1/x; } } }",
      "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside "
      "named location, or inside \"if\" statement, or inside \"limit_except\" block in @:1" },
    { "http { server { location @f { proxy_pass http://127.0.0.1/; } } }",
      "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside "
      "named location, or inside \"if\" statement, or inside \"limit_except\" block in @:1" },
    { "http { server { location / { proxy_pass http://127.0.0.1; proxy_pass http://127.0.0.1; } } "
      "}",
      "\"proxy_pass\" directive is duplicate in @:1" },
    { "http {\n server {\n  location / {\n   proxy_pass http://no-such-upstream.invalid;\n  }\n "
      "}\n}",
      "host not found in upstream \"no-such-upstream.invalid\" in @:4" },
    { "http { upstream u { server 127.0.0.1 service=x; } }",
      "the \"service\" parameter of upstream \"server\" is not supported yet in @:1" },
    { "http { upstream u {\n server b.invalid:80 resolve;\n} }",
      "no resolver defined to resolve b.invalid in @:2" },
    { "http { resolver; }", "invalid number of arguments in \"resolver\" directive in @:1" },
    { "http { resolver 1.2.3.4 bogus; }", "invalid parameter \"bogus\" in @:1" },
    { "http { resolver 1.2.3.4 ipv4=off ipv6=off; }",
      "\"ipv4\" and \"ipv6\" cannot both be \"off\" in @:1" },
    { "http { resolver_timeout 0; }",
      "invalid value \"0\" in \"resolver_timeout\" directive in @:1" },
    { "http { upstream u { server 127.0.0.1 max_fails=x; } }",
      "invalid parameter \"max_fails=x\" in @:1" },
    { "http { upstream u { server 127.0.0.1 fail_timeout=1q; } }",
      "invalid parameter \"fail_timeout=1q\" in @:1" },
    { "http { upstream u { least_conn; ip_hash; server 127.0.0.1; } }",
      "load balancing method redefined in @:1" },
    { "http { upstream u {\n hash $uri;\n server 127.0.0.1;\n server 127.0.0.2 backup;\n} }",
      "load balancing method doesn't support parameter \"backup\" in @:4" },
    { "http { upstream u { hash $uri other; server 127.0.0.1; } }",
      "invalid parameter \"other\" in @:1" },
    { "http { upstream u { random three; server 127.0.0.1; } }",
      "invalid parameter \"three\" in @:1" },
    { "http { upstream u { random two fastest; server 127.0.0.1; } }",
      "invalid parameter \"fastest\" in @:1" },
    { "http { upstream u { least_time body; server 127.0.0.1; } }",
      "invalid parameter \"body\" in @:1" },
    { "http { upstream u { least_conn 1; server 127.0.0.1; } }",
      "invalid number of arguments in \"least_conn\" directive in @:1" },
    { "http { upstream u { server 127.0.0.1; health_check interval=0; } }",
      "invalid parameter \"interval=0\" in @:1" },
    { "http { upstream u { server 127.0.0.1; health_check uri=x; } }",
      "invalid parameter \"uri=x\" in @:1" },
    { "http { upstream u { server 127.0.0.1; health_check persistent; } }",
      "\"persistent\" requires \"mandatory\" in @:1" },
    { "http { upstream u { server 127.0.0.1; health_check; health_check; } }",
      "\"health_check\" directive is duplicate in @:1" },
    { "http { upstream u { server 127.0.0.1; health_check match=nope; } }",
      "match \"nope\" not found in @:1" },
    { "http { match m { status 99; } }", "invalid status \"99\" in \"match\" block in @:1" },
    { "http { match m { status 300-200; } }",
      "invalid status \"300-200\" in \"match\" block in @:1" },
    { "http { match m { header X >> y; } }", "invalid operator \">>\" in \"match\" block in @:1" },
    { "http { match m { body = x; } }", "invalid \"body\" in \"match\" block in @:1" },
    { "http { match m { body ~ \"(\"; } }",
      "pcre2_compile() failed: missing closing parenthesis in \"(\" at \"\" in @:1" },
    { "http { match m { sleep 1; } }", "unknown directive \"sleep\" in \"match\" block in @:1" },
    { "http { match m { status 200; }\nmatch m { status 200; } }", "duplicate match \"m\" in @:2" },
    { "http { server { health_check; } }",
      "\"health_check\" directive is not allowed here in @:1" },
    { "http { proxy_next_upstream error bogus; }",
      "invalid value \"bogus\" in \"proxy_next_upstream\" directive in @:1" },
    { "http { proxy_next_upstream error off; }",
      "invalid value \"off\" in \"proxy_next_upstream\" directive in @:1" },
    { "http { proxy_next_upstream_tries x; }",
      "invalid value \"x\" in \"proxy_next_upstream_tries\" directive in @:1" },
    { "http { upstream u { server 127.0.0.1 weight=0; } }",
      "invalid parameter \"weight=0\" in @:1" },
    { "http { upstream u { server 127.0.0.1 foo; } }", "invalid parameter \"foo\" in @:1" },
    { "http { upstream u { keepalive 4; } }", "no servers are inside upstream in @:1" },
    { "http { upstream u { server 127.0.0.1; }\nupstream u { server 127.0.0.1; } }",
      "duplicate upstream \"u\" in @:2" },
    { "http {\n upstream u {\n  server no-such-host.invalid:81;\n }\n}",
      "host not found in upstream \"no-such-host.invalid:81\" in @:3" },
    { "http { server { location /a { location /b { } } } }",
      "location \"/b\" is outside location \"/a\" in @:1" },
    { "http { server { location = /a { location /a/b { } } } }",
      "location \"/a/b\" cannot be inside the exact location \"/a\" in @:1" },
    { "http { server { location /a { location @n { } } } }",
      "named location \"@n\" can be on the server level only in @:1" },
    { "http { server { location @n { location /x { } } } }",
      "location \"/x\" cannot be inside the named location \"@n\" in @:1" },
    { "http { server { location /a { }\nlocation ^~ /a { } } }",
      "duplicate location \"/a\" in @:2" },
    { "http { server { location ~ ( { } } }", NULL /* pcre message varies */ },
    { "http { server { location !! /a { } } }", "invalid location modifier \"!!\" in @:1" },
    { "http { server { server_name w*w.example.com; } }",
      "invalid server name or wildcard \"w*w.example.com\" in @:1" },
    { "http { server { return abc; } }", "invalid return code \"abc\" in @:1" },
    { "http { server { return 1000; } }", "invalid return code \"1000\" in @:1" },
    { "http { error_page 200 /x; }", "value \"200\" must be between 300 and 599 in @:1" },
    { "http { error_page 404 =abc /x; }", "invalid value \"=abc\" in @:1" },
    { "http { add_header X-A b sometimes; }", "invalid parameter \"sometimes\" in @:1" },
    { "http { proxy_http_version 2.0; }",
      "invalid value \"2.0\" in \"proxy_http_version\" directive in @:1" },
    { "http { access_log /x nosuchformat; }", "unknown log format \"nosuchformat\" in @:1" },
    { "http { log_format combined '$status'; }",
      "duplicate \"log_format\" name \"combined\" in @:1" },
    { "http { log_format a escape=xml '$status'; }", "unknown log format escaping \"xml\" in @:1" },
    { "http { proxy_set_header X-A $nosuchvar; }", "unknown \"nosuchvar\" variable in @:1" },
    { "http { map $host $host { } }", "the duplicate \"host\" variable in @:1" },
    { "http { map $host x { } }", "invalid variable name \"x\" in @:1" },
    { "http { map $host $m {\n a b c;\n} }", "invalid number of the map parameters in @:2" },
    { "http { server { } server; }", "directive \"server\" has no opening \"{\" in @:1" },
    { "http { server { listen 80 { } } }",
      "directive \"listen\" is not terminated by \";\" in @:1" },
    { "events { use kqueue; }", "invalid event type \"kqueue\" in @:1" },
    { "events { worker_connections 10; worker_connections 10; }",
      "\"worker_connections\" directive is duplicate in @:1" },
    { "http { } http { }", "\"http\" directive is duplicate in @:1" },
    { "error_log /x loud;", "invalid log level \"loud\" in @:1" },
    { "http { default_type a/b; default_type c/d; }",
      "\"default_type\" directive is duplicate in @:1" },
    { "http { default_type; }",
      "invalid number of arguments in \"default_type\" directive in @:1" },
    { "http { default_type \"a/b\r\nX: y\"; }",
      "invalid value \"a/b\r\nX: y\" in \"default_type\" directive in @:1" },
    { "http {\n types {\n  text/html { }\n }\n}", "unexpected \"{\" in \"types\" block in @:3" },
    { "http { types { \"text/html\r\nX: y\" html; } }",
      "invalid content type \"text/html\r\nX: y\" in \"types\" block in @:1" },
    { "http { types { text/html \"\"; } }", "invalid extension \"\" in \"types\" block in @:1" },
    { "http { types x { } }", "invalid number of arguments in \"types\" directive in @:1" },
    { "http { types; }", NULL },
    { "http { server { listen 1; location / { types_hash_max_size big; } } }",
      "invalid value \"big\" in \"types_hash_max_size\" directive in @:1" },
    { "http { types_hash_bucket_size; }",
      "invalid number of arguments in \"types_hash_bucket_size\" directive in @:1" },
    /* alias */
    { "http {\n server {\n  location /a/ {\n   root /r;\n   alias /x/;\n  }\n }\n}",
      "\"alias\" directive is duplicate, \"root\" directive was specified earlier in @:5" },
    { "http { server {\nlocation /a/ { alias /x/;\nroot /r; } } }",
      "\"root\" directive is duplicate, \"alias\" directive was specified earlier in @:3" },
    { "http { server { location /a/ { alias /x/;\nalias /y/; } } }",
      "\"alias\" directive is duplicate in @:2" },
    { "http { server { location ~ ^/a/(.*)$ {\n alias /x/$1; } } }",
      "\"alias\" inside a location given by regular expression is not supported yet in @:2" },
    { "http { server { location ~* \\.png$ { alias /x/; } } }",
      "\"alias\" inside a location given by regular expression is not supported yet in @:1" },
    { "http { server { location @n { alias /x/; } } }",
      "the \"alias\" directive cannot be used inside the named location in @:1" },
    { "http { server { location /a/ { alias $document_root/x; } } }",
      "the $document_root variable cannot be used in the \"alias\" directive in @:1" },
    { "http { server {\n alias /x/; } }", "\"alias\" directive is not allowed here in @:2" },
    { "http { alias /x/; }", "\"alias\" directive is not allowed here in @:1" },
    { "http { server { location /a/ { alias; } } }",
      "invalid number of arguments in \"alias\" directive in @:1" },
    { "http { server { location /a/ { alias /x /y; } } }",
      "invalid number of arguments in \"alias\" directive in @:1" },
    /* nginx compatibility directives */
    { "http {\n sendfile yes;\n}",
      "invalid value \"yes\" in \"sendfile\" directive, it must be \"on\" or \"off\" in @:2" },
    { "http { sendfile on; sendfile off; }", "\"sendfile\" directive is duplicate in @:1" },
    { "http { tcp_nopush 1; }",
      "invalid value \"1\" in \"tcp_nopush\" directive, it must be \"on\" or \"off\" in @:1" },
    { "http { tcp_nodelay; }", "invalid number of arguments in \"tcp_nodelay\" directive in @:1" },
    { "events { sendfile on; }", "\"sendfile\" directive is not allowed here in @:1" },
    { "http { server_names_hash_bucket_size 6x4; }",
      "invalid value \"6x4\" in \"server_names_hash_bucket_size\" directive in @:1" },
    { "http { server_names_hash_max_size 0; }",
      "invalid value \"0\" in \"server_names_hash_max_size\" directive in @:1" },
    { "http { server { server_names_hash_bucket_size 64; } }",
      "\"server_names_hash_bucket_size\" directive is not allowed here in @:1" },
    { "http { server { location / { variables_hash_max_size 1024; } } }",
      "\"variables_hash_max_size\" directive is not allowed here in @:1" },
    { "http { variables_hash_bucket_size x; }",
      "invalid value \"x\" in \"variables_hash_bucket_size\" directive in @:1" },
    { "http { map_hash_bucket_size; }",
      "invalid number of arguments in \"map_hash_bucket_size\" directive in @:1" },
    { "http { map_hash_max_size -1; }",
      "invalid value \"-1\" in \"map_hash_max_size\" directive in @:1" },
    { "http { server { location / { proxy_headers_hash_max_size big; } } }",
      "invalid value \"big\" in \"proxy_headers_hash_max_size\" directive in @:1" },
    { "http { proxy_headers_hash_bucket_size 1 2; }",
      "invalid number of arguments in \"proxy_headers_hash_bucket_size\" directive in @:1" },
    { "http { client_body_buffer_size 16q; }",
      "invalid value \"16q\" in \"client_body_buffer_size\" directive in @:1" },
    { "http { client_body_buffer_size 8k;\nclient_body_buffer_size 8k; }",
      "\"client_body_buffer_size\" directive is duplicate in @:2" },
    { "http { client_body_temp_path /t 1 3; }",
      "invalid value \"3\" in \"client_body_temp_path\" directive in @:1" },
    { "http { client_body_temp_path /t 1 2 2 1; }",
      "invalid number of arguments in \"client_body_temp_path\" directive in @:1" },
    { "http { client_body_temp_path /t x; }",
      "invalid value \"x\" in \"client_body_temp_path\" directive in @:1" },
    { "http { client_body_temp_path /a; client_body_temp_path /b; }",
      "\"client_body_temp_path\" directive is duplicate in @:1" },
    { "http { client_body_temp_path \"\"; }",
      "invalid value \"\" in \"client_body_temp_path\" directive in @:1" },
    { "http { proxy_temp_path /t 0; }",
      "invalid value \"0\" in \"proxy_temp_path\" directive in @:1" },
    { "http { proxy_temp_path; }",
      "invalid number of arguments in \"proxy_temp_path\" directive in @:1" },
    { "http { proxy_max_temp_file_size 1x; }",
      "invalid value \"1x\" in \"proxy_max_temp_file_size\" directive in @:1" },
    { "http { proxy_temp_file_write_size; }",
      "invalid number of arguments in \"proxy_temp_file_write_size\" directive in @:1" },
    { "http { underscores_in_headers maybe; }",
      "invalid value \"maybe\" in \"underscores_in_headers\" directive, it must be \"on\" or "
      "\"off\" in @:1" },
    { "http { server { location / { underscores_in_headers on; } } }",
      "\"underscores_in_headers\" directive is not allowed here in @:1" },
    { "http { server { location / { ignore_invalid_headers off; } } }",
      "\"ignore_invalid_headers\" directive is not allowed here in @:1" },
    { "http { server { ignore_invalid_headers on;\nignore_invalid_headers on; } }",
      "\"ignore_invalid_headers\" directive is duplicate in @:2" },
    { "http { reset_timedout_connection 2; }",
      "invalid value \"2\" in \"reset_timedout_connection\" directive, it must be \"on\" or "
      "\"off\" in @:1" },
    { "http { log_not_found x; }",
      "invalid value \"x\" in \"log_not_found\" directive, it must be \"on\" or \"off\" in "
      "@:1" },
    { "http { log_subrequest x; }",
      "invalid value \"x\" in \"log_subrequest\" directive, it must be \"on\" or \"off\" in "
      "@:1" },
    { "http {\n charset utf-8;\n}", "\"charset\" directive is not supported yet in @:2" },
    { "http { charset_types text/xml; }",
      "\"charset_types\" directive is not supported yet in @:1" },
    { "http { server { location / { autoindex on; } } }",
      "\"autoindex\" directive is not supported yet in @:1" },
    { "http { autoindex_exact_size off; }",
      "\"autoindex_exact_size\" directive is not supported yet in @:1" },
    { "http { open_file_cache max=1000 inactive=20s; }",
      "\"open_file_cache\" directive is not supported yet in @:1" },
    { "http { open_file_cache_valid 30s; }",
      "\"open_file_cache_valid\" directive is not supported yet in @:1" },
    { "http { open_file_cache_errors on; }",
      "\"open_file_cache_errors\" directive is not supported yet in @:1" },
    /* proxy_redirect */
    { "http { proxy_redirect default; }",
      "\"proxy_redirect default\" should be placed after the \"proxy_pass\" directive in @:1" },
    { "http { server { location / {\nproxy_redirect default;\nproxy_pass http://127.0.0.1; } } }",
      "\"proxy_redirect default\" should be placed after the \"proxy_pass\" directive in @:2" },
    { "http { proxy_redirect on; }", "invalid parameter \"on\" in @:1" },
    { "http { proxy_redirect default /x; }", "invalid parameter \"default\" in @:1" },
    { "http { proxy_redirect off /x; }", "invalid parameter \"off\" in @:1" },
    { "http { proxy_redirect; }",
      "invalid number of arguments in \"proxy_redirect\" directive in @:1" },
    { "http { proxy_redirect a b c; }",
      "invalid number of arguments in \"proxy_redirect\" directive in @:1" },
    { "http { proxy_redirect http://a/ /;\nproxy_redirect off; }",
      "\"proxy_redirect\" directive is duplicate in @:2" },
    { "http { proxy_redirect ~ /; }", "empty regex in \"proxy_redirect\" directive in @:1" },
    { "http { proxy_redirect ~* /; }", "empty regex in \"proxy_redirect\" directive in @:1" },
    { "http { proxy_redirect ~^(x /; }",
      "pcre2_compile() failed: missing closing parenthesis in \"^(x\" at \"\" in @:1" },
    { "http { proxy_redirect http://a/ http://$nosuch/; }", "unknown \"nosuch\" variable in @:1" },
    { "http { proxy_redirect http://$nosuch/ /; }", "unknown \"nosuch\" variable in @:1" },
    { "http { upstream u { server 127.0.0.1; proxy_redirect off; } }",
      "\"proxy_redirect\" directive is not allowed here in @:1" },
};

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        char err[1024] = "";
        rp_conf_t *c = load(err_cases[i].conf, err, sizeof(err));
        if (c)
            fail_msg("case %zu: expected an error for:\n%s", i, err_cases[i].conf);
        if (!err_cases[i].err)
            continue;
        char want[1024], path[512];
        snprintf(path, sizeof(path), "%s/t.conf", dir);
        const char *at = strrchr(err_cases[i].err, '@');
        snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - err_cases[i].err), err_cases[i].err,
                 path, at + 1);
        if (strcmp(err, want) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err, want);
    }
}

/* Found by fuzz_conf_load: an argument longer than the error buffer
 * pushed " in FILE:LINE" out of the message. The sentence is cut instead. */
static void test_error_keeps_place(void **state)
{
    char conf[3000], err[256], want[300];
    memset(conf, 'x', 2000);
    snprintf(conf + 2000, sizeof(conf) - 2000, ";\n");
    rp_conf_t *c = load(conf, err, sizeof(err));
    assert_null(c);
    snprintf(want, sizeof(want), "... in %s/t.conf:1", dir);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_string_equal(err + strlen(err) - strlen(want), want);
    assert_memory_equal(err, "unknown directive \"xxxx", 23);
    /* a message that fits is untouched */
    c = load("\n\nfoo;", err, sizeof(err));
    assert_null(c);
    snprintf(want, sizeof(want), "unknown directive \"foo\" in %s/t.conf:3", dir);
    assert_string_equal(err, want);
}

/* ---- values ---- */

typedef struct {
    const char *v;
    int64_t ms;
} time_case_t;

static void test_times(void **state)
{
    static const time_case_t cases[] = {
        { "5", 5000 },
        { "5s", 5000 },
        { "250ms", 250 },
        { "1m30s", 90000 },
        { "1m30", 90000 },
        { "2h", 7200000 },
        { "1d", 86400000 },
        { "1w", 604800000 },
        { "1M", 2592000000LL },
        { "1y", 31536000000LL },
        { "1h1m1s1ms", 3661001 },
        { "0", 0 },
        { "x", -1 },
        { "", -1 },
        { "1s1s", -1 },
        { "1s1m", -1 },
        { "5q", -1 },
        { "-1", -1 },
        { "1.5s", -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "http { send_timeout \"%s\"; }", cases[i].v);
        char err[512] = "";
        rp_conf_t *c = load(text, err, sizeof(err));
        if (cases[i].ms < 0) {
            if (c)
                fail_msg("time \"%s\" accepted", cases[i].v);
            continue;
        }
        if (!c)
            fail_msg("time \"%s\": %s", cases[i].v, err);
        /* http-level value reaches the implicit... there is no server: check
         * through a server instead */
        rp_conf_unref(c);
        snprintf(text, sizeof(text), "http { send_timeout \"%s\"; server { listen 127.0.0.1:1; } }",
                 cases[i].v);
        c = load_ok(text);
        assert_int_equal(c->servers[0]->conf.send_timeout, cases[i].ms);
        rp_conf_unref(c);
    }
}

static void test_sizes(void **state)
{
    static const struct {
        const char *v;
        int64_t n;
    } cases[] = {
        { "0", 0 },        { "512", 512 },    { "8k", 8192 },       { "8K", 8192 },
        { "1m", 1048576 }, { "2M", 2097152 }, { "1g", 1073741824 }, { "x", -1 },
        { "1t", -1 },      { "k", -1 },       { "-1", -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], err[512] = "";
        snprintf(text, sizeof(text),
                 "http { client_max_body_size \"%s\"; server { listen 127.0.0.1:1; } }",
                 cases[i].v);
        rp_conf_t *c = load(text, err, sizeof(err));
        if (cases[i].n < 0) {
            if (c)
                fail_msg("size \"%s\" accepted", cases[i].v);
            continue;
        }
        if (!c)
            fail_msg("size \"%s\": %s", cases[i].v, err);
        assert_int_equal(c->servers[0]->conf.client_max_body_size, cases[i].n);
        rp_conf_unref(c);
    }
}

/* ---- defaults and main ---- */

static void check_complete(const rp_loc_conf_t *lc)
{
    assert_true(lc->return_code >= 0);
    assert_non_null(lc->root);
    assert_true(lc->nindex >= 1);
    assert_true(lc->proxy_http_version == 10 || lc->proxy_http_version == 11);
    const int64_t v64[] = { lc->proxy_connect_timeout, lc->proxy_read_timeout,
                            lc->proxy_send_timeout,    lc->proxy_buffer_size,
                            lc->proxy_buffers_size,    lc->client_max_body_size,
                            lc->client_body_timeout,   lc->send_timeout,
                            lc->keepalive_timeout,     lc->keepalive_requests };
    for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++)
        assert_true(v64[i] >= 0);
    const int v[] = { lc->proxy_buffering,   lc->proxy_request_buffering,
                      lc->proxy_buffers_num, lc->proxy_intercept_errors,
                      lc->server_tokens,     lc->sendfile,
                      lc->tcp_nopush,        lc->tcp_nodelay,
                      lc->proxy_redirect,    lc->reset_timedout_connection,
                      lc->log_not_found };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_true(v[i] >= 0);
    assert_true(lc->client_body_buffer_size >= 0);
    assert_true(lc->nproxy_set_headers >= 2);
    assert_non_null(lc->default_type.data);
}

static void check_tree(const rp_location_t *l)
{
    check_complete(&l->conf);
    for (size_t i = 0; i < l->nchildren; i++) {
        assert_ptr_equal(l->children[i]->parent, l);
        check_tree(l->children[i]);
    }
}

static void test_defaults(void **state)
{
    rp_conf_t *c = load_ok("http { server { location / { location /a { } } location @x { } } }");
    char want[600];
    assert_int_equal(c->refs, 1);
    assert_int_equal(c->worker_processes, 1);
    assert_int_equal(c->daemon, 1);
    assert_true(c->worker_connections >= 32 && c->worker_connections <= 65536);
    assert_int_equal(c->worker_connections_set, 0);
    snprintf(want, sizeof(want), "%s/logs/rampart.pid", dir);
    assert_string_equal(c->pid_path, want);
    snprintf(want, sizeof(want), "%s/logs/error.log", dir);
    assert_string_equal(c->error_log_path, want);
    assert_int_equal(c->error_log_level, RP_LOG_ERR);
    assert_int_equal(c->has_http, 1);
    assert_int_equal(c->nservers, 1);
    rp_server_t *s = c->servers[0];
    /* no listen: 0.0.0.0:80 */
    assert_int_equal(c->nlistens, 1);
    assert_string_equal(c->listens[0].addr.text, "0.0.0.0:80");
    assert_int_equal(c->listens[0].backlog, 511);
    assert_ptr_equal(c->listens[0].default_server, s);
    assert_int_equal(s->nnames, 1);
    assert_int_equal(s->names[0].name.len, 0);
    assert_int_equal(s->client_header_buffer_size, 1024);
    assert_int_equal(s->large_client_header_buffers_num, 4);
    assert_int_equal(s->large_client_header_buffers_size, 8192);
    assert_int_equal(s->client_header_timeout, 60000);
    assert_int_equal(s->underscores_in_headers, 0);
    assert_int_equal(s->ignore_invalid_headers, 1);
    const rp_loc_conf_t *lc = &s->conf;
    assert_int_equal(lc->sendfile, 1); /* rampart's default (nginx: off) */
    assert_int_equal(lc->tcp_nopush, 0);
    assert_int_equal(lc->tcp_nodelay, 1);
    assert_int_equal(lc->client_body_buffer_size, 16384);
    assert_null(lc->client_body_temp_path);
    assert_int_equal(lc->reset_timedout_connection, 0);
    assert_int_equal(lc->log_not_found, 1);
    assert_int_equal(lc->proxy_redirect, 1);
    assert_null(lc->proxy_redirects);
    check_complete(lc);
    assert_int_equal(lc->return_code, 0);
    assert_null(lc->proxy_pass);
    assert_int_equal(lc->proxy_http_version, 11);
    assert_int_equal(lc->proxy_connect_timeout, 60000);
    assert_int_equal(lc->proxy_read_timeout, 60000);
    assert_int_equal(lc->proxy_buffering, 1);
    assert_int_equal(lc->proxy_buffer_size, 4096);
    assert_int_equal(lc->proxy_buffers_num, 8);
    assert_int_equal(lc->client_max_body_size, 1048576);
    assert_int_equal(lc->keepalive_timeout, 75000);
    assert_int_equal(lc->keepalive_requests, 1000);
    assert_int_equal(lc->server_tokens, 0);
    assert_true(rp_str_eq(lc->default_type, RP_STR("text/plain")));
    snprintf(want, sizeof(want), "%s/html", dir);
    assert_string_equal(lc->root->raw.data, want);
    assert_int_equal(lc->nindex, 1);
    assert_true(rp_str_eq(lc->index[0], RP_STR("index.html")));
    assert_int_equal(lc->nproxy_set_headers, 2);
    assert_true(rp_str_eq(lc->proxy_set_headers[0].name, RP_STR("Host")));
    assert_true(rp_str_eq(lc->proxy_set_headers[0].value->raw, RP_STR("$proxy_host")));
    assert_true(rp_str_eq(lc->proxy_set_headers[1].name, RP_STR("Connection")));
    assert_int_equal(lc->proxy_set_headers[1].value->raw.len, 0);
    /* access_log default: logs/access.log combined (not opened under -t) */
    assert_int_equal(lc->naccess_logs, 1);
    assert_string_equal(lc->access_logs[0].format->name, "combined");
    assert_null(lc->access_logs[0].file);
    assert_string_equal(c->log_formats[0]->name, "combined");
    for (size_t i = 0; i < s->nlocations; i++)
        check_tree(s->locations[i]);
    for (size_t i = 0; i < s->nnamed_locations; i++)
        check_tree(s->named_locations[i]);
    rp_conf_ref(c);
    assert_int_equal(c->refs, 2);
    rp_conf_unref(c);
    rp_conf_unref(c);
}

static void test_main(void **state)
{
    rp_conf_t *c = load_ok("worker_processes 3;\nworker_rlimit_nofile 4096;\npid off;\n"
                           "user nobody nogroup;\ndaemon off;\nerror_log stderr info;\n"
                           "events { worker_connections 777; use epoll; multi_accept on; }\n");
    assert_int_equal(c->worker_processes, 3);
    assert_int_equal(c->worker_rlimit_nofile, 4096);
    assert_null(c->pid_path);
    assert_string_equal(c->user, "nobody");
    assert_string_equal(c->group, "nogroup");
    assert_int_equal(c->daemon, 0);
    assert_string_equal(c->error_log_path, "stderr");
    assert_int_equal(c->error_log_level, RP_LOG_INFO);
    assert_int_equal(c->worker_connections, 777);
    assert_int_equal(c->worker_connections_set, 1);
    assert_int_equal(c->has_http, 0);
    rp_conf_unref(c);

    c = load_ok("worker_processes auto; worker_rlimit_nofile 10064; user www;");
    assert_true(c->worker_processes >= 1);
    assert_string_equal(c->group, "www");
    assert_int_equal(c->worker_connections,
                     RP_MAX(32, RP_MIN((10064 - 64) / (2 * c->worker_processes), 65536)));
    rp_conf_unref(c);

    /* -g directives apply before the file */
    char err[512] = "", path[512], prefix[512];
    write_file("g.conf", "worker_processes 2;");
    snprintf(path, sizeof(path), "%s/g.conf", dir);
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    c = rp_conf_load(path, prefix, "daemon off;", RP_CONF_TEST, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->daemon, 0);
    rp_conf_unref(c);
    c = rp_conf_load(path, prefix, "daemon off;", RP_CONF_TEST, err, sizeof(err));
    rp_conf_unref(c);
    c = rp_conf_load(path, prefix, "worker_processes 4;", RP_CONF_TEST, err, sizeof(err));
    assert_null(c);
    snprintf(prefix, sizeof(prefix), "\"worker_processes\" directive is duplicate in %s/g.conf:1",
             dir);
    assert_string_equal(err, prefix);
}

/* ---- merging ---- */

static void test_merge(void **state)
{
    rp_conf_t *c =
        load_ok("http {\n"
                "  proxy_read_timeout 10s;\n"
                "  proxy_set_header X-Http 1;\n"
                "  add_header X-H h;\n"
                "  proxy_hide_header X-Powered-By;\n"
                "  error_page 502 503 /50x.html;\n"
                "  keepalive_timeout 0;\n"
                "  client_header_buffer_size 2k;\n"
                "  server {\n"
                "    listen 127.0.0.1:1;\n"
                "    proxy_read_timeout 20s;\n"
                "    large_client_header_buffers 8 16k;\n"
                "    location / {\n"
                "      proxy_set_header Host $host;\n"
                "      proxy_set_header X-Real-IP $remote_addr;\n"
                "      location /a { proxy_read_timeout 1m; add_header X-A a always; }\n"
                "    }\n"
                "    location /b { error_page 404 = @nf; proxy_set_header Connection upgrade; }\n"
                "    location @nf { return 404; }\n"
                "  }\n"
                "}\n");
    rp_server_t *s = c->servers[0];
    assert_int_equal(s->client_header_buffer_size, 2048);
    assert_int_equal(s->large_client_header_buffers_num, 8);
    assert_int_equal(s->large_client_header_buffers_size, 16384);
    assert_int_equal(s->conf.proxy_read_timeout, 20000);
    assert_int_equal(s->conf.keepalive_timeout, 0);
    /* http-level proxy_set_header inherited, defaults merged under it */
    assert_int_equal(s->conf.nproxy_set_headers, 3);
    assert_true(rp_str_eq(s->conf.proxy_set_headers[0].name, RP_STR("X-Http")));
    assert_true(rp_str_eq(s->conf.proxy_set_headers[1].name, RP_STR("Host")));
    assert_true(rp_str_eq(s->conf.proxy_set_headers[2].name, RP_STR("Connection")));
    assert_int_equal(s->conf.nproxy_hide_headers, 1);
    assert_true(rp_str_eq(s->conf.proxy_hide_headers[0], RP_STR("x-powered-by")));

    assert_int_equal(s->nlocations, 2);
    rp_location_t *root = s->locations[0];
    assert_int_equal(root->conf.proxy_read_timeout, 20000);
    /* own proxy_set_header replaces http's: Host set by the user, so only
     * Connection is added */
    assert_int_equal(root->conf.nproxy_set_headers, 3);
    assert_true(rp_str_eq(root->conf.proxy_set_headers[0].name, RP_STR("Host")));
    assert_true(rp_str_eq(root->conf.proxy_set_headers[0].value->raw, RP_STR("$host")));
    assert_true(rp_str_eq(root->conf.proxy_set_headers[1].name, RP_STR("X-Real-IP")));
    assert_true(rp_str_eq(root->conf.proxy_set_headers[2].name, RP_STR("Connection")));
    assert_int_equal(root->conf.nadd_headers, 1);
    assert_int_equal(root->conf.nerror_pages, 1);
    assert_int_equal(root->conf.error_pages[0].ncodes, 2);
    assert_int_equal(root->conf.error_pages[0].codes[1], 503);
    assert_int_equal(root->conf.error_pages[0].response, 0);

    rp_location_t *a = root->children[0];
    assert_int_equal(root->nchildren, 1);
    assert_int_equal(a->conf.proxy_read_timeout, 60000);
    assert_int_equal(a->conf.nproxy_set_headers, 3); /* inherited from / */
    assert_int_equal(a->conf.nadd_headers, 1);       /* own list only */
    assert_true(rp_str_eq(a->conf.add_headers[0].name, RP_STR("X-A")));
    assert_int_equal(a->conf.add_headers[0].always, 1);

    rp_location_t *b = s->locations[1];
    assert_int_equal(b->conf.nerror_pages, 1);
    assert_int_equal(b->conf.error_pages[0].response, -1);
    assert_true(rp_str_eq(b->conf.error_pages[0].uri->raw, RP_STR("@nf")));
    assert_int_equal(b->conf.nproxy_set_headers, 2);
    assert_true(rp_str_eq(b->conf.proxy_set_headers[0].name, RP_STR("Connection")));
    assert_true(rp_str_eq(b->conf.proxy_set_headers[1].name, RP_STR("Host")));

    assert_int_equal(s->nnamed_locations, 1);
    assert_int_equal(s->named_locations[0]->match, RP_LOC_NAMED);
    assert_true(rp_str_eq(s->named_locations[0]->name, RP_STR("@nf")));
    assert_int_equal(s->named_locations[0]->conf.return_code, 404);
    rp_conf_unref(c);
}

/* The nginx-compatibility directives: values and inheritance
 * http -> server -> location -> nested location. */
static void test_compat_directives(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           "  sendfile on; tcp_nopush on; tcp_nodelay off;\n"
                           "  client_body_buffer_size 128k;\n"
                           "  client_body_temp_path body_tmp 1 2;\n"
                           "  reset_timedout_connection on; log_not_found off;\n"
                           "  underscores_in_headers on;\n"
                           "  server { listen 127.0.0.1:1; }\n"
                           "  server {\n"
                           "    listen 127.0.0.1:2;\n"
                           "    ignore_invalid_headers off; underscores_in_headers off;\n"
                           "    sendfile off; client_body_temp_path /var/tmp;\n"
                           "    location / {\n"
                           "      tcp_nopush off; client_body_buffer_size 1m;\n"
                           "      location /a { sendfile on; log_not_found on; }\n"
                           "    }\n"
                           "  }\n"
                           "}\n");
    char want[600];
    snprintf(want, sizeof(want), "%s/body_tmp", dir);
    rp_server_t *s1 = c->servers[0], *s2 = c->servers[1];
    assert_int_equal(s1->underscores_in_headers, 1);
    assert_int_equal(s1->ignore_invalid_headers, 1);
    assert_int_equal(s2->underscores_in_headers, 0);
    assert_int_equal(s2->ignore_invalid_headers, 0);
    const rp_loc_conf_t *l1 = &s1->conf;
    assert_int_equal(l1->sendfile, 1);
    assert_int_equal(l1->tcp_nopush, 1);
    assert_int_equal(l1->tcp_nodelay, 0);
    assert_int_equal(l1->client_body_buffer_size, 128 * 1024);
    assert_string_equal(l1->client_body_temp_path, want); /* relative to the prefix */
    assert_int_equal(l1->reset_timedout_connection, 1);
    assert_int_equal(l1->log_not_found, 0);
    const rp_loc_conf_t *l2 = &s2->conf;
    assert_int_equal(l2->sendfile, 0);
    assert_string_equal(l2->client_body_temp_path, "/var/tmp");
    const rp_loc_conf_t *root = &s2->locations[0]->conf;
    assert_int_equal(root->sendfile, 0);
    assert_int_equal(root->tcp_nopush, 0);
    assert_int_equal(root->tcp_nodelay, 0);
    assert_int_equal(root->client_body_buffer_size, 1024 * 1024);
    assert_string_equal(root->client_body_temp_path, "/var/tmp");
    const rp_loc_conf_t *a = &s2->locations[0]->children[0]->conf;
    assert_int_equal(a->sendfile, 1);
    assert_int_equal(a->log_not_found, 1);
    assert_int_equal(a->client_body_buffer_size, 1024 * 1024);
    assert_int_equal(a->reset_timedout_connection, 1);
    rp_conf_unref(c);

    /* accepted, validated, no effect: each in every context nginx allows */
    static const char *const accepted[] = {
        "server_names_hash_bucket_size 64; server_names_hash_max_size 512;",
        "variables_hash_max_size 1024; variables_hash_bucket_size 64;",
        "map_hash_bucket_size 128; map_hash_max_size 4096;",
        "proxy_headers_hash_max_size 512; proxy_headers_hash_bucket_size 128;",
        "server { location / { proxy_headers_hash_max_size 1k; } }",
        "types_hash_max_size 2048;",
        "proxy_temp_path /var/cache/x;",
        "proxy_temp_path /var/cache/x 1 2;",
        "server { location / { proxy_temp_path tmp 2; } }",
        "proxy_max_temp_file_size 0; proxy_temp_file_write_size 64k;",
        "server { location / { proxy_max_temp_file_size 1024m; } }",
        "log_subrequest on; server { log_subrequest off; location / { log_subrequest on; } }",
        "client_body_temp_path /t 1 2 2;",
        "server { location / { client_body_temp_path /t; } }",
        "sendfile ON; tcp_nopush Off;",
        "proxy_redirect off; proxy_redirect default;",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "http { %s }", accepted[i]);
        rp_conf_unref(load_ok(text));
    }
}

/* default_type: http -> server -> location -> nested location, each level
 * inheriting unless it sets its own; "text/plain" when nobody sets it. */
static void test_default_type(void **state)
{
    static const struct {
        const char *conf;
        const char *srv, *loc, *nested;
    } cases[] = {
        { "http { server { location / { location /a { } } } }", "text/plain", "text/plain",
          "text/plain" },
        { "http { default_type application/octet-stream; server { location / { location /a { } } } "
          "}",
          "application/octet-stream", "application/octet-stream", "application/octet-stream" },
        { "http { default_type a/h; server { default_type a/s; location / { location /a { } } } }",
          "a/s", "a/s", "a/s" },
        { "http { server { location / { default_type a/l; location /a { } } } }", "text/plain",
          "a/l", "a/l" },
        { "http { default_type a/h; server { location / { location /a { default_type "
          "\"text/html; charset=utf-8\"; } } } }",
          "a/h", "a/h", "text/html; charset=utf-8" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_conf_t *c = load_ok(cases[i].conf);
        const rp_server_t *s = c->servers[0];
        const rp_location_t *l = s->locations[0];
        if (!rp_str_eq(s->conf.default_type, rp_str_cstr(cases[i].srv)) ||
            !rp_str_eq(l->conf.default_type, rp_str_cstr(cases[i].loc)) ||
            !rp_str_eq(l->children[0]->conf.default_type, rp_str_cstr(cases[i].nested)))
            fail_msg("case %zu: got %.*s / %.*s / %.*s", i, (int)s->conf.default_type.len,
                     s->conf.default_type.data, (int)l->conf.default_type.len,
                     l->conf.default_type.data, (int)l->children[0]->conf.default_type.len,
                     l->children[0]->conf.default_type.data);
        rp_conf_unref(c);
    }
}

static void test_return_and_logs(void **state)
{
    rp_conf_t *c = load_ok(
        "http {\n"
        "  log_format main escape=json '$remote_addr \"$request\" ' '$status';\n"
        "  access_log logs/a.log main buffer=32k flush=5s;\n"
        "  server { listen 127.0.0.1:1; return 301 https://$host$request_uri;\n"
        "    location /x { access_log off; } location /y { return 200 \"hi\\n\"; } }\n"
        "  server { listen 127.0.0.1:2; access_log /tmp/b.log; location / { return http://e/; } }\n"
        "}\n");
    rp_server_t *s = c->servers[0];
    assert_int_equal(s->conf.return_code, 301);
    assert_true(rp_str_eq(s->conf.return_text->raw, RP_STR("https://$host$request_uri")));
    /* server-level return runs before locations: they inherit it */
    assert_int_equal(s->locations[0]->conf.return_code, 301);
    assert_int_equal(s->locations[1]->conf.return_code, 200);
    assert_true(rp_str_eq(s->locations[1]->conf.return_text->raw, RP_STR("hi\n")));
    assert_int_equal(s->conf.naccess_logs, 1);
    assert_string_equal(s->conf.access_logs[0].format->name, "main");
    assert_int_equal(s->conf.access_logs[0].format->escape, RP_LOG_ESCAPE_JSON);
    assert_true(rp_str_eq(s->conf.access_logs[0].format->tpl->raw,
                          RP_STR("$remote_addr \"$request\" $status")));
    assert_int_equal(s->conf.access_logs[0].buffer, 32768);
    assert_int_equal(s->conf.access_logs[0].flush, 5000);
    assert_int_equal(s->locations[0]->conf.naccess_logs, 0);
    rp_server_t *s2 = c->servers[1];
    assert_int_equal(s2->conf.return_code, 0);
    assert_int_equal(s2->locations[0]->conf.return_code, 302);
    assert_string_equal(s2->conf.access_logs[0].format->name, "combined");
    assert_int_equal(c->nlog_formats, 2);
    rp_conf_unref(c);
}

/* ---- listen ---- */

static void test_listen(void **state)
{
    rp_conf_t *c = load_ok(
        "http {\n"
        "  server { listen 127.0.0.1:8080; server_name a; }\n"
        "  server { listen 127.0.0.1:8080 default_server backlog=100 reuseport; server_name b; }\n"
        "  server { listen 8081; listen [::1]:8082 ipv6only=off; listen *:8083; listen [::]:8084; "
        "}\n"
        "  server { listen 127.0.0.2; }\n"
        "}\n");
    assert_int_equal(c->nlistens, 6);
    rp_listen_t *l = &c->listens[0];
    assert_string_equal(l->addr.text, "127.0.0.1:8080");
    assert_int_equal(l->nservers, 2);
    assert_ptr_equal(l->default_server, c->servers[1]);
    assert_int_equal(l->backlog, 100);
    assert_int_equal(l->reuseport, 1);
    assert_string_equal(c->listens[1].addr.text, "0.0.0.0:8081");
    assert_string_equal(c->listens[2].addr.text, "[::1]:8082");
    assert_int_equal(c->listens[2].ipv6only, 0);
    assert_int_equal(c->listens[2].addr.addr.ss_family, AF_INET6);
    assert_string_equal(c->listens[3].addr.text, "0.0.0.0:8083");
    assert_string_equal(c->listens[4].addr.text, "[::]:8084");
    assert_int_equal(c->listens[4].ipv6only, 1);
    assert_string_equal(c->listens[5].addr.text, "127.0.0.2:80");
    assert_ptr_equal(c->listens[5].default_server, c->servers[3]);
    rp_conf_unref(c);
}

/* ---- server_name ---- */

static void test_server_names(void **state)
{
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:1;\n"
                           "server_name Example.COM *.Wild.org www.example.* .dot.net "
                           "\"~^(?<n>w+)\\d\\.Re\\.com$\" _;\n"
                           "server_name more.example; } }");
    rp_server_t *s = c->servers[0];
    assert_int_equal(s->nnames, 7);
    static const struct {
        int kind;
        const char *name;
    } want[] = {
        { RP_NAME_EXACT, "example.com" },
        { RP_NAME_WILD_START, ".wild.org" },
        { RP_NAME_WILD_END, "www.example." },
        { RP_NAME_DOT, ".dot.net" },
        { RP_NAME_REGEX, "^(?<n>w+)\\d\\.Re\\.com$" },
        { RP_NAME_EXACT, "_" },
        { RP_NAME_EXACT, "more.example" },
    };
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(s->names[i].kind, want[i].kind);
        assert_true(rp_str_eq(s->names[i].name, rp_str_cstr(want[i].name)));
        if (want[i].kind == RP_NAME_REGEX)
            assert_non_null(s->names[i].re);
        else
            assert_null(s->names[i].re);
    }
    rp_conf_unref(c);
}

/* ---- locations ---- */

static void test_locations(void **state)
{
    rp_conf_t *c = load_ok("http { server { listen 127.0.0.1:1;\n"
                           "location / { location ~ \\.php$ { } location /img/ { } }\n"
                           "location = /exact { }\n"
                           "location =/glued { }\n"
                           "location ^~ /static/ { location ~* \\.JPG$ { } }\n"
                           "location ~ ^/api/(\\d+)$ { }\n"
                           "location ~* \\.css$ { }\n"
                           "location @fallback { }\n"
                           "location /exact { }\n"
                           "} }");
    rp_server_t *s = c->servers[0];
    static const struct {
        int match;
        const char *name;
        size_t nchildren;
    } want[] = {
        { RP_LOC_PREFIX, "/", 2 },
        { RP_LOC_EXACT, "/exact", 0 },
        { RP_LOC_EXACT, "/glued", 0 },
        { RP_LOC_PREFIX_NOREGEX, "/static/", 1 },
        { RP_LOC_REGEX, "^/api/(\\d+)$", 0 },
        { RP_LOC_REGEX_ICASE, "\\.css$", 0 },
        { RP_LOC_PREFIX, "/exact", 0 },
    };
    assert_int_equal(s->nlocations, 7);
    for (size_t i = 0; i < 7; i++) {
        rp_location_t *l = s->locations[i];
        assert_int_equal(l->match, want[i].match);
        assert_true(rp_str_eq(l->name, rp_str_cstr(want[i].name)));
        assert_int_equal(l->nchildren, want[i].nchildren);
        assert_null(l->parent);
        if (l->match == RP_LOC_REGEX || l->match == RP_LOC_REGEX_ICASE)
            assert_non_null(l->re);
        assert_int_equal(l->line, (int)(i < 6 ? i + 2 : 9));
    }
    assert_int_equal(s->locations[0]->children[0]->match, RP_LOC_REGEX);
    assert_ptr_equal(s->locations[0]->children[1]->parent, s->locations[0]);
    assert_int_equal(s->locations[3]->children[0]->match, RP_LOC_REGEX_ICASE);
    assert_int_equal(s->nnamed_locations, 1);
    rp_conf_unref(c);
}

/* alias: parsed like root (relative to the prefix unless it starts with
 * '$'); root and alias are one inherited setting, as in nginx */
static void test_alias(void **state)
{
    rp_conf_t *c = load_ok("http { root /top; server { listen 127.0.0.1:1;\n"
                           "location /static/ { alias /srv/files/;\n"
                           "  location /static/img/ { }\n"
                           "  location /static/css/ { root /css; }\n"
                           "  location /static/js/ { alias /js/; }\n"
                           "  location ~ \\.png$ { } }\n"
                           "location = /favicon.ico { alias rel/fav.ico; }\n"
                           "location ^~ /d/ { alias $host/; }\n"
                           "location /plain/ { }\n"
                           "location @named { }\n"
                           "} }");
    rp_server_t *s = c->servers[0];
    char want[512];
    assert_null(s->conf.alias);
    assert_string_equal(s->conf.root->raw.data, "/top");

    const rp_location_t *st = s->locations[0];
    assert_non_null(st->conf.alias);
    assert_string_equal(st->conf.alias->raw.data, "/srv/files/");
    assert_int_equal(st->conf.alias_len, strlen("/static/"));
    assert_ptr_equal(st->conf.root, st->conf.alias); /* $document_root */
    assert_int_equal(st->nchildren, 4);

    /* neither set: the parent's alias and its prefix length */
    const rp_loc_conf_t *img = &st->children[0]->conf;
    assert_ptr_equal(img->alias, st->conf.alias);
    assert_int_equal(img->alias_len, strlen("/static/"));
    assert_ptr_equal(img->root, st->conf.alias);
    /* root at this level: no alias */
    const rp_loc_conf_t *css = &st->children[1]->conf;
    assert_null(css->alias);
    assert_int_equal(css->alias_len, 0);
    assert_string_equal(css->root->raw.data, "/css");
    /* own alias: its own prefix */
    const rp_loc_conf_t *js = &st->children[2]->conf;
    assert_string_equal(js->alias->raw.data, "/js/");
    assert_int_equal(js->alias_len, strlen("/static/js/"));
    /* a regex location may inherit an alias, only not write one */
    const rp_loc_conf_t *png = &st->children[3]->conf;
    assert_ptr_equal(png->alias, st->conf.alias);
    assert_int_equal(png->alias_len, strlen("/static/"));

    const rp_loc_conf_t *fav = &s->locations[1]->conf;
    snprintf(want, sizeof(want), "%s/rel/fav.ico", dir);
    assert_string_equal(fav->alias->raw.data, want);
    assert_int_equal(fav->alias_len, strlen("/favicon.ico"));

    const rp_loc_conf_t *d = &s->locations[2]->conf;
    assert_string_equal(d->alias->raw.data, "$host/");
    assert_int_equal(d->alias_len, 3);

    const rp_loc_conf_t *plain = &s->locations[3]->conf;
    assert_null(plain->alias);
    assert_string_equal(plain->root->raw.data, "/top");
    assert_null(s->named_locations[0]->conf.alias);
    rp_conf_unref(c);
}

/* ---- upstreams and proxy_pass ---- */

static rp_upstream_t *ups_named(rp_conf_t *c, const char *name)
{
    for (size_t i = 0; i < c->nupstreams; i++)
        if (strcmp(c->upstreams[i]->name, name) == 0)
            return c->upstreams[i];
    return NULL;
}

static void test_health_check_conf(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           "  match ok { status 200-299 304; header Content-Type ~ text;\n"
                           "             header ! X-Bad; body !~ \"maintenance\"; }\n"
                           "  upstream a { server 127.0.0.1:1;\n"
                           "    health_check interval=2s jitter=100ms fails=3 passes=2 uri=/hc\n"
                           "                 port=8081 match=ok mandatory persistent; }\n"
                           "  upstream b { server 127.0.0.1:2; }\n"
                           "  server { listen 127.0.0.1:1;\n"
                           "    location / { proxy_pass http://b; health_check; }\n"
                           "  }\n"
                           "}\n");
    rp_upstream_t *a = ups_named(c, "a"), *b = ups_named(c, "b");
    assert_non_null(a->hc);
    assert_int_equal(a->hc->interval, 2000);
    assert_int_equal(a->hc->jitter, 100);
    assert_int_equal(a->hc->fails, 3);
    assert_int_equal(a->hc->passes, 2);
    assert_string_equal(a->hc->uri, "/hc");
    assert_int_equal(a->hc->port, 8081);
    assert_int_equal(a->hc->mandatory, 1);
    assert_int_equal(a->hc->persistent, 1);
    rp_match_t *m = a->hc->match;
    assert_non_null(m);
    assert_string_equal(m->name, "ok");
    assert_int_equal(m->nstatus, 2);
    assert_int_equal(m->status[0].lo, 200);
    assert_int_equal(m->status[0].hi, 299);
    assert_int_equal(m->status[1].lo, 304);
    assert_int_equal(m->status[1].hi, 304);
    assert_int_equal(m->nheaders, 2);
    assert_string_equal(m->headers[0].name, "content-type");
    assert_int_equal(m->headers[0].op, RP_MATCH_RE);
    assert_int_equal(m->headers[1].op, RP_MATCH_ABSENT);
    assert_int_equal(m->body_op, RP_MATCH_NRE);
    /* written in the location: given to the location's upstream */
    assert_non_null(b->hc);
    assert_int_equal(b->hc->interval, 5000);
    assert_int_equal(b->hc->fails, 1);
    assert_string_equal(b->hc->uri, "/");
    assert_null(b->hc->match);
    rp_conf_unref(c);
}

static void test_upstream_methods(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           "  upstream rr { server 127.0.0.1; zone rr 64k; }\n"
                           "  upstream lc { least_conn; server 127.0.0.1; }\n"
                           "  upstream ih { ip_hash; server 127.0.0.1; }\n"
                           "  upstream h { hash $request_uri; server 127.0.0.1; }\n"
                           "  upstream hc { hash $cookie_id consistent; server 127.0.0.1; }\n"
                           "  upstream r { random; server 127.0.0.1; }\n"
                           "  upstream r2 { random two; server 127.0.0.1; }\n"
                           "  upstream r3 { random two least_time=last_byte; server 127.0.0.1; }\n"
                           "  upstream lt { least_time header inflight; server 127.0.0.1; }\n"
                           "  server { listen 127.0.0.1:1;\n"
                           "    proxy_next_upstream error http_503 non_idempotent;\n"
                           "    proxy_next_upstream_tries 3; proxy_next_upstream_timeout 5s;\n"
                           "    location / { proxy_pass http://rr; }\n"
                           "    location /off { proxy_next_upstream off; proxy_pass http://rr; }\n"
                           "  }\n"
                           "  server { listen 127.0.0.1:2; location / { proxy_pass http://rr; } }\n"
                           "}\n");
    assert_int_equal(ups_named(c, "rr")->balance, RP_BALANCE_RR);
    assert_int_equal(ups_named(c, "lc")->balance, RP_BALANCE_LEAST_CONN);
    assert_int_equal(ups_named(c, "ih")->balance, RP_BALANCE_IP_HASH);
    rp_upstream_t *h = ups_named(c, "h"), *hc = ups_named(c, "hc");
    assert_int_equal(h->balance, RP_BALANCE_HASH);
    assert_int_equal(h->hash_consistent, 0);
    assert_non_null(h->hash_key);
    assert_int_equal(hc->hash_consistent, 1);
    assert_int_equal(ups_named(c, "r")->random_two, 0);
    assert_int_equal(ups_named(c, "r2")->random_two, 1);
    assert_int_equal(ups_named(c, "r2")->two_method, RP_BALANCE_LEAST_CONN);
    assert_int_equal(ups_named(c, "r3")->two_method, RP_BALANCE_LEAST_TIME);
    assert_int_equal(ups_named(c, "r3")->lt_mode, RP_LT_LAST_BYTE);
    rp_upstream_t *lt = ups_named(c, "lt");
    assert_int_equal(lt->balance, RP_BALANCE_LEAST_TIME);
    assert_int_equal(lt->lt_mode, RP_LT_HEADER);
    assert_int_equal(lt->lt_inflight, 1);
    assert_null(ups_named(c, "rr")->hc);
    const rp_loc_conf_t *l0 = &c->servers[0]->locations[0]->conf;
    assert_int_equal(l0->proxy_next_upstream, RP_NEXT_ERROR | RP_NEXT_503 | RP_NEXT_NON_IDEMPOTENT);
    assert_int_equal(l0->proxy_next_upstream_tries, 3);
    assert_int_equal(l0->proxy_next_upstream_timeout, 5000);
    assert_int_equal(c->servers[0]->locations[1]->conf.proxy_next_upstream, 0);
    const rp_loc_conf_t *l2 = &c->servers[1]->locations[0]->conf;
    assert_int_equal(l2->proxy_next_upstream,
                     RP_NEXT_ERROR | RP_NEXT_TIMEOUT | RP_NEXT_INVALID_HEADER);
    assert_int_equal(l2->proxy_next_upstream_tries, 0);
    assert_int_equal(l2->proxy_next_upstream_timeout, 0);
    rp_conf_unref(c);
}

static void test_upstreams(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           "  server { listen 127.0.0.1:1;\n"
                           "    location / { proxy_pass http://later; }\n"
                           "    location /api/ { proxy_pass http://later/v1/; }\n"
                           "    location /direct { proxy_pass http://127.0.0.1:9001; }\n"
                           "    location /d2 { proxy_pass http://127.0.0.1:9001/; }\n"
                           "    location /d3 { proxy_pass http://127.0.0.1; }\n"
                           "    location /d4 { proxy_pass http://[::1]:9003/x; }\n"
                           "    location ~ \\.php$ { proxy_pass http://later; }\n"
                           "  }\n"
                           "  upstream later {\n"
                           "    server 127.0.0.1:9001 weight=3 max_conns=7 max_fails=2;\n"
                           "    server 127.0.0.2 fail_timeout=30s slow_start=5s down drain;\n"
                           "    server [::1]:9002 backup max_fails=0;\n"
                           "    keepalive 16; keepalive_timeout 30s; keepalive_requests 50;\n"
                           "  }\n"
                           "}\n");
    rp_upstream_t *u = NULL;
    for (size_t i = 0; i < c->nupstreams; i++)
        if (strcmp(c->upstreams[i]->name, "later") == 0)
            u = c->upstreams[i];
    assert_non_null(u);
    assert_int_equal(u->implicit, 0);
    assert_int_equal(u->nservers, 3);
    assert_string_equal(u->servers[0].name, "127.0.0.1:9001");
    assert_string_equal(u->servers[0].addr.text, "127.0.0.1:9001");
    assert_int_equal(u->servers[0].weight, 3);
    assert_string_equal(u->servers[1].addr.text, "127.0.0.2:80");
    assert_int_equal(u->servers[1].weight, 1);
    assert_string_equal(u->servers[2].addr.text, "[::1]:9002");
    assert_int_equal(u->balance, RP_BALANCE_RR);
    assert_int_equal(u->has_backup, 1);
    assert_int_equal(u->servers[0].max_conns, 7);
    assert_int_equal(u->servers[0].max_fails, 2);
    assert_int_equal(u->servers[0].fail_timeout, 10000);
    assert_int_equal(u->servers[0].slow_start, 0);
    assert_int_equal(u->servers[0].backup + u->servers[0].down + u->servers[0].drain, 0);
    assert_int_equal(u->servers[1].max_fails, 1);
    assert_int_equal(u->servers[1].fail_timeout, 30000);
    assert_int_equal(u->servers[1].slow_start, 5000);
    assert_int_equal(u->servers[1].down, 1);
    assert_int_equal(u->servers[1].drain, 1);
    assert_int_equal(u->servers[2].backup, 1);
    assert_int_equal(u->servers[2].max_fails, 0);
    assert_int_equal(u->keepalive, 16);
    assert_int_equal(u->keepalive_timeout, 30000);
    assert_int_equal(u->keepalive_requests, 50);
    assert_int_equal(u->line, 11);

    rp_server_t *s = c->servers[0];
    rp_proxy_pass_t *pp = s->locations[0]->conf.proxy_pass;
    assert_ptr_equal(pp->upstream, u);
    assert_int_equal(pp->has_uri, 0);
    assert_true(rp_str_eq(pp->host, RP_STR("later")));
    assert_true(rp_str_eq(pp->port, RP_STR("80")));
    pp = s->locations[1]->conf.proxy_pass;
    assert_ptr_equal(pp->upstream, u);
    assert_int_equal(pp->has_uri, 1);
    assert_true(rp_str_eq(pp->uri, RP_STR("/v1/")));

    rp_proxy_pass_t *d1 = s->locations[2]->conf.proxy_pass, *d2 = s->locations[3]->conf.proxy_pass;
    assert_int_equal(d1->upstream->implicit, 1);
    assert_string_equal(d1->upstream->name, "127.0.0.1:9001");
    assert_ptr_equal(d1->upstream, d2->upstream); /* shared implicit upstream */
    assert_int_equal(d1->upstream->nservers, 1);
    assert_int_equal(d1->upstream->keepalive, 32);
    assert_int_equal(d1->upstream->keepalive_timeout, 60000);
    assert_true(rp_str_eq(d1->host, RP_STR("127.0.0.1:9001")));
    assert_true(rp_str_eq(d1->port, RP_STR("9001")));
    assert_int_equal(d2->has_uri, 1);
    assert_true(rp_str_eq(d2->uri, RP_STR("/")));
    rp_proxy_pass_t *d3 = s->locations[4]->conf.proxy_pass;
    assert_true(rp_str_eq(d3->host, RP_STR("127.0.0.1")));
    assert_string_equal(d3->upstream->servers[0].addr.text, "127.0.0.1:80");
    rp_proxy_pass_t *d4 = s->locations[5]->conf.proxy_pass;
    assert_true(rp_str_eq(d4->host, RP_STR("[::1]:9003")));
    assert_string_equal(d4->upstream->servers[0].addr.text, "[::1]:9003");
    assert_ptr_equal(s->locations[6]->conf.proxy_pass->upstream, u);
    /* proxy_pass is not inherited */
    assert_null(s->conf.proxy_pass);
    rp_conf_unref(c);

    /* localhost resolves to every address it has (at least one) */
    c = load_ok("http { upstream l { server localhost:9005; } }");
    assert_true(c->upstreams[0]->nservers >= 1);
    for (size_t i = 0; i < c->upstreams[0]->nservers; i++)
        assert_string_equal(c->upstreams[0]->servers[i].name, "localhost:9005");
    rp_conf_unref(c);
}

/* proxy_pass https://: default port 443, $proxy_host/$proxy_port, the
 * default proxy_ssl_name, proxy_ssl_* inheritance and shared contexts. */
static void test_proxy_https(void **state)
{
    rp_conf_t *c = load_ok("http {\n"
                           "  proxy_ssl_server_name on;\n"
                           "  proxy_ssl_protocols TLSv1.3;\n"
                           "  server { listen 127.0.0.1:1;\n"
                           "    proxy_ssl_session_reuse off;\n"
                           "    location /a { proxy_pass https://127.0.0.1; }\n"
                           "    location /b { proxy_pass https://127.0.0.1:8443/x/; }\n"
                           "    location /c { proxy_pass https://secure; proxy_ssl_name $host;\n"
                           "      proxy_ssl_verify_depth 3;\n"
                           "      location /c/d { proxy_pass https://[::1]:443; } }\n"
                           "    location /e { proxy_pass http://127.0.0.1:443; }\n"
                           "    location /f { proxy_pass https://127.0.0.1; }\n"
                           "  }\n"
                           "  upstream secure { server 127.0.0.1:8443; }\n"
                           "}\n");
    rp_server_t *s = c->servers[0];
    rp_loc_conf_t *a = &s->locations[0]->conf, *b = &s->locations[1]->conf;
    rp_loc_conf_t *cc = &s->locations[2]->conf, *d = &s->locations[2]->children[0]->conf;
    rp_loc_conf_t *e = &s->locations[3]->conf, *f = &s->locations[4]->conf;
    assert_int_equal(a->proxy_pass->ssl, 1);
    assert_true(rp_str_eq(a->proxy_pass->host, RP_STR("127.0.0.1")));
    assert_true(rp_str_eq(a->proxy_pass->port, RP_STR("443")));
    assert_string_equal(a->proxy_pass->upstream->name, "127.0.0.1:443");
    assert_string_equal(a->proxy_pass->upstream->servers[0].addr.text, "127.0.0.1:443");
    assert_true(rp_str_eq(a->proxy_pass->ssl_name, RP_STR("127.0.0.1")));
    assert_true(rp_str_eq(a->proxy_ssl.name->raw, RP_STR("127.0.0.1")));
    assert_true(rp_str_eq(b->proxy_pass->host, RP_STR("127.0.0.1:8443")));
    assert_true(rp_str_eq(b->proxy_pass->port, RP_STR("8443")));
    assert_true(rp_str_eq(b->proxy_pass->uri, RP_STR("/x/")));
    assert_true(rp_str_eq(cc->proxy_pass->host, RP_STR("secure")));
    assert_true(rp_str_eq(cc->proxy_pass->port, RP_STR("443")));
    assert_string_equal(cc->proxy_pass->upstream->servers[0].addr.text, "127.0.0.1:8443");
    assert_true(rp_str_eq(cc->proxy_ssl.name->raw, RP_STR("$host")));
    assert_true(rp_str_eq(d->proxy_pass->host, RP_STR("[::1]")));
    assert_true(rp_str_eq(d->proxy_pass->ssl_name, RP_STR("::1")));
    /* inherited from the parent location: the explicit name and depth */
    assert_true(rp_str_eq(d->proxy_ssl.name->raw, RP_STR("$host")));
    assert_int_equal(d->proxy_ssl.verify_depth, 3);
    /* http://host:443 is plain HTTP to port 443, with ":443" in $proxy_host */
    assert_int_equal(e->proxy_pass->ssl, 0);
    assert_null(e->proxy_ssl_ctx);
    assert_true(rp_str_eq(e->proxy_pass->host, RP_STR("127.0.0.1:443")));
    /* defaults and inheritance http -> server -> location */
    assert_int_equal(a->proxy_ssl.verify, 0);
    assert_int_equal(a->proxy_ssl.verify_depth, 1);
    assert_int_equal(a->proxy_ssl.server_name, 1);
    assert_int_equal(a->proxy_ssl.protocols, RP_SSL_TLSv1_3);
    assert_int_equal(a->proxy_ssl.session_reuse, 0);
    assert_null(a->proxy_ssl.ciphers.value);
    assert_int_equal(s->conf.proxy_ssl.session_reuse, 0);
    assert_int_equal(c->servers[0]->conf.proxy_ssl.server_name, 1);
    /* a context per distinct setting, shared otherwise; none without https */
    assert_non_null(a->proxy_ssl_ctx);
    assert_ptr_equal(a->proxy_ssl_ctx, b->proxy_ssl_ctx);
    assert_ptr_equal(a->proxy_ssl_ctx, f->proxy_ssl_ctx);
    assert_non_null(cc->proxy_ssl_ctx);
    assert_ptr_not_equal(a->proxy_ssl_ctx, cc->proxy_ssl_ctx);
    assert_ptr_equal(cc->proxy_ssl_ctx, d->proxy_ssl_ctx);
    assert_null(s->conf.proxy_ssl_ctx);
    rp_conf_unref(c);

    /* defaults with nothing set */
    c = load_ok("http { server { listen 127.0.0.1:1; location / { proxy_pass https://x.test; } } "
                "upstream x.test { server 127.0.0.1:9443; } }");
    rp_loc_conf_t *l = &c->servers[0]->locations[0]->conf;
    assert_int_equal(l->proxy_ssl.server_name, 0);
    assert_int_equal(l->proxy_ssl.session_reuse, 1);
    assert_int_equal(l->proxy_ssl.protocols, RP_SSL_TLSv1_2 | RP_SSL_TLSv1_3);
    assert_true(rp_str_eq(l->proxy_ssl.name->raw, RP_STR("x.test")));
    assert_true(rp_str_eq(l->proxy_pass->host, RP_STR("x.test")));
    rp_conf_unref(c);
}

/* ---- maps ---- */

static void test_maps(void **state)
{
    rp_conf_t *c =
        load_ok("http {\n"
                "  server { listen 127.0.0.1:1; location / { proxy_set_header Connection "
                "$connection_upgrade;\n"
                "      proxy_set_header X-M $second; proxy_pass http://127.0.0.1:9; } }\n"
                "  map $http_upgrade $connection_upgrade {\n"
                "    default upgrade;\n"
                "    '' close;\n"
                "  }\n"
                "  map $host $second { hostnames; *.example.com $connection_upgrade; ~^www a; }\n"
                "}\n");
    assert_int_equal(c->nmaps, 2);
    rp_map_t *m = c->maps[0];
    assert_true(rp_str_eq(m->name, RP_STR("connection_upgrade")));
    assert_true(rp_str_eq(m->source->raw, RP_STR("$http_upgrade")));
    assert_true(rp_str_eq(m->deflt->raw, RP_STR("upgrade")));
    assert_int_equal(m->nentries, 1);
    assert_true(rp_str_eq(m->entries[0].value->raw, RP_STR("close")));
    assert_int_equal(c->maps[1]->hostnames, 1);
    assert_int_equal(c->maps[1]->nentries, 2);
    assert_int_equal(c->maps[1]->deflt->raw.len, 0);
    rp_loc_conf_t *lc = &c->servers[0]->locations[0]->conf;
    assert_int_equal(lc->nproxy_set_headers, 3);
    assert_int_equal(lc->proxy_set_headers[0].value->nparts, 1);
    assert_int_equal(lc->proxy_set_headers[0].value->parts[0].var.id, RP_VAR_MAP);
    assert_ptr_equal(lc->proxy_set_headers[0].value->parts[0].var.map, m);
    rp_conf_unref(c);
}

/* ---- files: fragments, includes, dump, reference configs ---- */

static void test_fragment_and_include(void **state)
{
    write_file("inc.conf", "location /inc { return 204; }\n");
    rp_conf_t *c = load_ok(
        "worker_processes 2;\n"
        "upstream u { server 127.0.0.1:9001; }\n"
        "server { listen 127.0.0.1:1; include inc.conf; location / { proxy_pass http://u; } }\n");
    assert_int_equal(c->worker_processes, 2);
    assert_int_equal(c->has_http, 1);
    assert_int_equal(c->nservers, 1);
    assert_int_equal(c->servers[0]->nlocations, 2);
    assert_int_equal(c->servers[0]->locations[0]->conf.return_code, 204);
    rp_conf_unref(c);

    char path[512];
    snprintf(path, sizeof(path), "%s/t.conf", dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(rp_conf_dump(path, NULL, out), RP_OK);
    fclose(out);
    char want[600];
    snprintf(want, sizeof(want), "# configuration file %s:\nworker_processes 2;\n", path);
    assert_true(strncmp(buf, want, strlen(want)) == 0);
    snprintf(want, sizeof(want),
             "# configuration file %s/inc.conf:\nlocation /inc { return 204; }\n", dir);
    assert_non_null(strstr(buf, want));
    free(buf);
}

static void test_reference_configs(void **state)
{
    static const struct {
        const char *file;
        const char *err;
    } cases[] = {
        { "caching.conf", "\"proxy_cache_path\" directive is not supported yet" },
        /* loads up to its upstream, which the fragment does not define */
        { "compression.conf", "host not found in upstream \"backend_servers\"" },
        /* loads up to the host names of its servers (example.com) */
        { "health-checks.conf", "host not found in upstream \"server1.example.com\"" },
        { "tls-termination.conf", "host not found in upstream \"your_backend_servers\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char src[512], text[8192];
        /* unit tests run from the repository root (make unit) */
        snprintf(src, sizeof(src), "tests/fixtures/configs/%s", cases[i].file);
        FILE *f = fopen(src, "r");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        for (int wrapped = 0; wrapped < 2; wrapped++) {
            char conf[9000], err[1024] = "";
            snprintf(conf, sizeof(conf), wrapped ? "http {\n%s}\n" : "%s", text);
            rp_conf_t *c = load(conf, err, sizeof(err));
            assert_null(c);
            if (!strstr(err, cases[i].err))
                fail_msg("%s (wrapped %d): %s", cases[i].file, wrapped, err);
            assert_non_null(strstr(err, "t.conf:"));
        }
    }
}

static void test_no_test_flag_opens_logs(void **state)
{
    char path[512], prefix[512], err[512] = "";
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    write_file("l.conf", "error_log stderr; http { access_log l.log; server { listen 127.0.0.1:1; "
                         "location / { access_log off; } location /x { access_log l2.log; } } }");
    snprintf(path, sizeof(path), "%s/l.conf", dir);
    rp_conf_t *c = rp_conf_load(path, prefix, NULL, 0, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->nlog_files, 2);
    assert_non_null(c->servers[0]->conf.access_logs[0].file);
    assert_null(c->servers[0]->locations[0]->conf.access_logs);
    char lp[600];
    snprintf(lp, sizeof(lp), "%s/l.log", dir);
    assert_int_equal(access(lp, F_OK), 0);
    rp_conf_unref(c);
}

static void test_quickstart(void **state)
{
    char err[512] = "";
    if (access("examples/quickstart.conf", F_OK) != 0)
        return; /* run from elsewhere than the repository root */
    rp_conf_t *c = rp_conf_load("examples/quickstart.conf", NULL, "daemon off;", RP_CONF_TEST, err,
                                sizeof(err));
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->daemon, 0);
    assert_string_equal(c->error_log_path, "stderr");
    assert_int_equal(c->nservers, 3);
    assert_int_equal(c->nlistens, 3);
    assert_int_equal(c->servers[1]->conf.return_code, 200);
    assert_int_equal(c->servers[0]->locations[0]->conf.proxy_pass->upstream->nservers, 2);
    rp_conf_unref(c);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rp-test-conf-XXXXXX");
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
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_keeps_place),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_main),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_compat_directives),
        cmocka_unit_test(test_default_type),
        cmocka_unit_test(test_return_and_logs),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_server_names),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_upstreams),
        cmocka_unit_test(test_upstream_methods),
        cmocka_unit_test(test_health_check_conf),
        cmocka_unit_test(test_maps),
        cmocka_unit_test(test_fragment_and_include),
        cmocka_unit_test(test_proxy_https),
        cmocka_unit_test(test_reference_configs),
        cmocka_unit_test(test_no_test_flag_opens_logs),
        cmocka_unit_test(test_quickstart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
