/* Accept-Encoding negotiation (src/http/accept_encoding.c), RFC 9110
 * 12.5.3: q-values, "*", identity, ties broken by the server's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "http/accept_encoding.h"

#define I RP_CE_IDENTITY
#define G RP_CE_GZIP
#define B RP_CE_BR
#define Z RP_CE_ZSTD
#define NONE (-1)

static const int all[] = { Z, B, G }; /* the default preference */
static const int gz_only[] = { G };
static const int br_first[] = { B, G, Z };

typedef struct {
    const char *value;
    const int *offered;
    size_t n;
    int want;
} case_t;

#define ALL all, 3
#define GZ gz_only, 1
#define BRF br_first, 3

static const case_t cases[] = {
    /* plain lists: the server's order decides among equals */
    { "gzip", ALL, G },
    { "gzip, deflate, br", ALL, B },
    { "gzip, deflate, br, zstd", ALL, Z },
    { "gzip, deflate, br, zstd", BRF, B },
    { "br;q=1.0, gzip;q=0.8, *;q=0.1", ALL, B },
    { "gzip;q=0.9, br;q=0.8", ALL, G },
    { "gzip;q=1, br;q=1", ALL, B },
    { "deflate", ALL, I },
    { "compress, deflate", ALL, I },
    { "", ALL, I },
    { "   ", ALL, I },
    { ",,,", ALL, I },
    /* only what is offered */
    { "br, zstd", GZ, I },
    { "br, gzip;q=0.1", GZ, G },
    { "gzip", NULL, 0, I },
    /* case and aliases */
    { "GZIP", ALL, G },
    { "Gzip;Q=0.5", ALL, G },
    { "x-gzip", ALL, G },
    { "BR", ALL, B },
    { "ZSTD ; q=0.3", ALL, Z },
    /* q=0 excludes */
    { "gzip;q=0", ALL, I },
    { "gzip;q=0.000, br", ALL, B },
    { "gzip;q=0, br;q=0, zstd;q=0", ALL, I },
    /* "*" */
    { "*", ALL, Z },
    { "*", GZ, G },
    { "*;q=0.5, gzip;q=0", ALL, Z },
    { "*;q=0.5, zstd;q=0, br;q=0", ALL, G },
    { "*;q=0", ALL, NONE },
    { "*;q=0, identity", ALL, I },
    { "*;q=0, gzip", ALL, G },
    /* identity */
    { "identity", ALL, I },
    { "identity;q=0", ALL, NONE },
    { "identity;q=0, gzip", ALL, G },
    { "identity;q=0, gzip;q=0", ALL, NONE },
    { "gzip;q=0.5, identity;q=1", ALL, I },
    { "gzip;q=0.5, identity;q=0.5", ALL, G },
    { "gzip, identity;q=0.9", ALL, G },
    /* q-value syntax: invalid elements are ignored */
    { "gzip;q=1.5", ALL, I },
    { "gzip;q=2", ALL, I },
    { "gzip;q=0.1234", ALL, I },
    { "gzip;q=.5", ALL, I },
    { "gzip;q=", ALL, I },
    { "gzip;q=abc, br", ALL, B },
    { "gzip;q=1.000", ALL, G },
    { "gzip;q=1.001", ALL, I },
    { "gzip;q=0.001", ALL, G },
    { "gzip; q = 0.5", ALL, G },
    { "gzip ; level=9", ALL, G },
    { "gzip;;", ALL, G },
    { "gzip x", ALL, I },
    /* a coding listed twice keeps its highest q */
    { "gzip;q=0, gzip;q=0.5", ALL, G },
    { "gzip;q=0.2, br;q=0.3, gzip;q=0.9", ALL, G },
    /* spaces and tabs around */
    { " \tgzip\t , br ", BRF, B },
    { "zstd;q=0.5,br;q=0.6", ALL, B },
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const case_t *c = &cases[i];
        int got = rp_accept_encoding_choose(rp_str_cstr(c->value), c->offered, c->n);
        if (got != c->want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, c->value, got, c->want);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rp_coding_name(G), "gzip");
    assert_string_equal(rp_coding_name(B), "br");
    assert_string_equal(rp_coding_name(Z), "zstd");
    assert_string_equal(rp_coding_name(I), "identity");
    assert_string_equal(rp_coding_name(99), "identity");
}

/* Every prefix of a long value parses without reading past it. */
static void test_prefixes(void **state)
{
    (void)state;
    const char *v = "br;q=1.0, gzip;q=0.8, zstd;q=0.9, identity;q=0.1, *;q=0";
    for (size_t n = 0; n <= strlen(v); n++) {
        int got = rp_accept_encoding_choose(rp_str(v, n), all, 3);
        assert_true(got >= NONE && got < RP_CE_COUNT);
    }
    assert_int_equal(rp_accept_encoding_choose(rp_str_cstr(v), all, 3), B);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
