/* Pointer+length strings. Nothing in the data path relies on NUL
 * termination of request bytes. */
#ifndef RP_CORE_STR_H
#define RP_CORE_STR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *data;
    size_t len;
} rp_str_t;

#define RP_STR(lit) ((rp_str_t){ (lit), sizeof(lit) - 1 })
#define RP_NULL_STR ((rp_str_t){ NULL, 0 })

static inline rp_str_t rp_str(const char *p, size_t n)
{
    rp_str_t s = { p, n };
    return s;
}

rp_str_t rp_str_cstr(const char *s);
int rp_str_eq(rp_str_t a, rp_str_t b);
/* ASCII case-insensitive comparison. */
int rp_str_caseeq(rp_str_t a, rp_str_t b);
int rp_str_caseeq_cstr(rp_str_t a, const char *s);
int rp_str_has_prefix(rp_str_t s, rp_str_t prefix);
/* Trims SP and HTAB at both ends. */
rp_str_t rp_str_trim(rp_str_t s);
static inline char rp_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}
/* Case-insensitive comparison with a string literal (length known at
 * compile time: no strlen on the hot path). */
#define rp_str_caseeq_lit(s, lit) rp_str_caseeq((s), RP_STR(lit))
/* Writes v in decimal (hex when `hex`) into buf (>= 21 bytes); returns the
 * length. No locale, no printf. */
size_t rp_u64_fmt(char *buf, uint64_t v, int hex);
/* Finds token `tok` (case-insensitive) in a comma-separated list. */
int rp_str_list_has_token(rp_str_t list, rp_str_t tok);

#endif
