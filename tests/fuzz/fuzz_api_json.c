/* libFuzzer target for the runtime API's JSON change parser
 * (src/proxy/api_json.c). Checked: no crash, leak or UB; a parsed change
 * has at least one member and every value in its documented range; the
 * result does not depend on the bytes after the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "proxy/api_json.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_api_json: check failed: %s (line %d)\n", #c, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_api_change_t ch;
    char why[128] = "";
    /* an exact-size copy: reading past it is caught by ASan */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int rc = rp_api_parse_change(buf, size, &ch, why, sizeof(why));
    if (rc == RP_OK) {
        CHECK(ch.has_weight || ch.has_max_conns || ch.has_backup || ch.has_down || ch.has_drain ||
              ch.has_max_fails || ch.has_server);
        CHECK(!ch.has_max_fails || (ch.max_fails >= 0 && ch.max_fails <= 1000000));
        CHECK(!ch.has_server || (ch.server[0] && strlen(ch.server) < sizeof(ch.server)));
        CHECK(!ch.has_weight || (ch.weight >= 1 && ch.weight <= 1000000));
        CHECK(!ch.has_max_conns || (ch.max_conns >= 0 && ch.max_conns <= 1000000000));
        CHECK(ch.backup == 0 || ch.backup == 1);
        CHECK(ch.down == 0 || ch.down == 1);
        CHECK(ch.drain == 0 || ch.drain == 1);
    } else {
        CHECK(rc == RP_ERROR && why[0]);
    }
    free(buf);
    return 0;
}
