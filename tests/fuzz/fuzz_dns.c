/* libFuzzer target for the DNS answer parser (src/proxy/dns.c): any bytes
 * as an answer to an A and to an AAAA query. Checked: no crash, read out
 * of bounds or UB; addresses found are of the asked family, within max. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/dns.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_dns: check failed: %s (line %d)\n", #c, __LINE__);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
    for (int k = 0; k < 2; k++) {
        int qt = k ? RP_DNS_AAAA : RP_DNS_A;
        rp_dns_addr_t out[8];
        size_t count = 99;
        uint32_t ttl;
        int rc = rp_dns_parse(buf, size, id, qt, out, 8, &count, &ttl);
        CHECK(rc == 0 || rc == -1);
        CHECK(count <= 8);
        for (size_t i = 0; rc == 0 && i < count; i++)
            CHECK(out[i].family == (qt == RP_DNS_A ? AF_INET : AF_INET6));
    }
    /* queries: never longer than the buffer */
    char name[300];
    size_t nl = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, data, nl);
    name[nl] = '\0';
    uint8_t q[512];
    size_t ql = rp_dns_query(q, sizeof(q), 7, name, RP_DNS_A);
    CHECK(ql <= sizeof(q));
    free(buf);
    return 0;
}
