/* The JSON a runtime API change carries (api.c): one flat object, parsed
 * strictly. Kept apart from api.c so that it can be fuzzed alone. */
#ifndef RP_PROXY_API_JSON_H
#define RP_PROXY_API_JSON_H

#include <stddef.h>

typedef struct {
    unsigned has_weight : 1;
    unsigned has_max_conns : 1;
    unsigned has_backup : 1;
    unsigned has_down : 1;
    unsigned has_drain : 1;
    unsigned has_max_fails : 1;
    unsigned has_server : 1;
    int max_fails;           /* 0..1000000 */
    char server[64];         /* "address:port" (POST only) */
    int weight;              /* 1..1000000 */
    int max_conns;           /* 0..1000000000 (0: no limit) */
    int backup, down, drain; /* 0 or 1 */
} rp_api_change_t;

/* Parses `{"weight": 2, "down": false, ...}` from p[0..n): members weight,
 * max_conns, max_fails (integers), backup, down, drain (true/false) and
 * server (a string of at most 63 bytes), each at most once, at least one. Anything else (unknown or
 * repeated members, other types, values out of range, trailing bytes, nesting, a body over 4 KiB)
 * is RP_ERROR with a short reason in why. */
int rp_api_parse_change(const char *p, size_t n, rp_api_change_t *ch, char *why, size_t whylen);

#endif
