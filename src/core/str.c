#include "core/str.h"
#include "core/common.h"

#include <string.h>

rp_str_t rp_str_cstr(const char *s)
{
    rp_str_t r = { s, s ? strlen(s) : 0 };
    return r;
}

int rp_str_eq(rp_str_t a, rp_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

int rp_str_caseeq(rp_str_t a, rp_str_t b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (rp_lower(a.data[i]) != rp_lower(b.data[i]))
            return 0;
    return 1;
}

int rp_str_caseeq_cstr(rp_str_t a, const char *s)
{
    return rp_str_caseeq(a, rp_str_cstr(s));
}

int rp_str_has_prefix(rp_str_t s, rp_str_t p)
{
    return s.len >= p.len && memcmp(s.data, p.data, p.len) == 0;
}

rp_str_t rp_str_trim(rp_str_t s)
{
    while (s.len && (s.data[0] == ' ' || s.data[0] == '\t')) {
        s.data++;
        s.len--;
    }
    while (s.len && (s.data[s.len - 1] == ' ' || s.data[s.len - 1] == '\t'))
        s.len--;
    return s;
}

int rp_str_list_has_token(rp_str_t list, rp_str_t tok)
{
    size_t i = 0;
    while (i < list.len) {
        size_t j = i;
        while (j < list.len && list.data[j] != ',')
            j++;
        rp_str_t item = rp_str_trim(rp_str(list.data + i, j - i));
        if (rp_str_caseeq(item, tok))
            return 1;
        i = j + 1;
    }
    return 0;
}

void *rp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "rampart: [emerg] out of memory\n");
        exit(2);
    }
    return p;
}

void *rp_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) {
        fprintf(stderr, "rampart: [emerg] out of memory\n");
        exit(2);
    }
    return p;
}

char *rp_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = rp_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

size_t rp_u64_fmt(char *buf, uint64_t v, int hex)
{
    char tmp[24];
    size_t n = 0;
    unsigned base = hex ? 16 : 10;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}
