/* A minimal DNS stub for `server ... resolve` (RFC 1035): building A/AAAA
 * queries and reading the addresses out of the answers. No sockets here:
 * resolve.c sends and receives. */
#ifndef RP_PROXY_DNS_H
#define RP_PROXY_DNS_H

#include <stddef.h>
#include <stdint.h>

#define RP_DNS_A 1
#define RP_DNS_AAAA 28

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
} rp_dns_addr_t;

/* Writes a recursive query for name (a host name, no trailing dot needed)
 * and type into buf. Returns its length, or 0 when the name is not a valid
 * host name or buf is too small. */
size_t rp_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype);

/* Reads the answer p[0..n) to query id of type qtype: the addresses of
 * that type (at most max, in *count) and the smallest TTL among them.
 * Returns 0 for an answer (NXDOMAIN and "no data" are answers with no
 * address), -1 for a response that is not for this query, truncated,
 * malformed, or a server failure. Never reads outside p[0..n). */
int rp_dns_parse(const uint8_t *p, size_t n, uint16_t id, int qtype, rp_dns_addr_t *out, size_t max,
                 size_t *count, uint32_t *ttl);

#endif
