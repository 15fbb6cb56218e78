/* DNS queries and answers for the upstream resolver (dns.h). */
#include "proxy/dns.h"

#include <string.h>
#include <sys/socket.h>

size_t rp_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype)
{
    size_t len = strlen(name);
    if (len && name[len - 1] == '.')
        len--;
    if (!len || len > 253 || cap < 12 + len + 2 + 4)
        return 0;
    uint8_t *p = buf;
    p[0] = (uint8_t)(id >> 8);
    p[1] = (uint8_t)id;
    p[2] = 0x01; /* RD: recursion desired */
    p[3] = 0;
    p[4] = 0, p[5] = 1; /* one question */
    memset(p + 6, 0, 6);
    p += 12;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && name[j] != '.')
            j++;
        size_t l = j - i;
        if (l == 0 || l > 63)
            return 0;
        *p++ = (uint8_t)l;
        for (size_t k = i; k < j; k++) {
            char c = name[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return 0;
            *p++ = (uint8_t)c;
        }
        i = j + 1;
    }
    *p++ = 0;
    *p++ = (uint8_t)(qtype >> 8);
    *p++ = (uint8_t)qtype;
    *p++ = 0;
    *p++ = 1; /* class IN */
    return (size_t)(p - buf);
}

/* Skips a (possibly compressed) name at p[*off]; -1 when malformed. */
static int skip_name(const uint8_t *p, size_t n, size_t *off)
{
    size_t o = *off;
    for (int labels = 0; labels < 128; labels++) {
        if (o >= n)
            return -1;
        uint8_t l = p[o];
        if (l == 0) {
            *off = o + 1;
            return 0;
        }
        if ((l & 0xc0) == 0xc0) { /* a pointer ends the name here */
            if (o + 2 > n)
                return -1;
            *off = o + 2;
            return 0;
        }
        if (l & 0xc0)
            return -1;
        o += 1 + (size_t)l;
    }
    return -1;
}

int rp_dns_parse(const uint8_t *p, size_t n, uint16_t id, int qtype, rp_dns_addr_t *out, size_t max,
                 size_t *count, uint32_t *ttl)
{
    *count = 0;
    *ttl = 0;
    if (n < 12 || ((uint16_t)(p[0] << 8 | p[1])) != id)
        return -1;
    if (!(p[2] & 0x80) || (p[2] & 0x02)) /* not a response, or truncated */
        return -1;
    int rcode = p[3] & 0x0f;
    if (rcode == 3)
        return 0; /* NXDOMAIN: no such name, no address */
    if (rcode != 0)
        return -1;
    unsigned qd = (unsigned)(p[4] << 8 | p[5]), an = (unsigned)(p[6] << 8 | p[7]);
    size_t off = 12;
    for (unsigned i = 0; i < qd; i++) {
        if (skip_name(p, n, &off) != 0 || off + 4 > n)
            return -1;
        off += 4;
    }
    uint32_t min = UINT32_MAX;
    for (unsigned i = 0; i < an; i++) {
        if (skip_name(p, n, &off) != 0 || off + 10 > n)
            return -1;
        int type = p[off] << 8 | p[off + 1];
        int cls = p[off + 2] << 8 | p[off + 3];
        uint32_t t = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
                     (uint32_t)p[off + 6] << 8 | p[off + 7];
        size_t rdl = (size_t)(p[off + 8] << 8 | p[off + 9]);
        off += 10;
        if (off + rdl > n)
            return -1;
        size_t want = qtype == RP_DNS_A ? 4 : 16;
        if (type == qtype && cls == 1 && rdl == want && *count < max) {
            rp_dns_addr_t *a = &out[(*count)++];
            memset(a, 0, sizeof(*a));
            a->family = qtype == RP_DNS_A ? AF_INET : AF_INET6;
            memcpy(a->addr, p + off, want);
            if (t < min)
                min = t;
        }
        off += rdl;
    }
    *ttl = *count ? min : 0;
    return 0;
}
