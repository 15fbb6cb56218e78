/* Return codes, assertions and small helpers shared by every module. */
#ifndef RP_CORE_COMMON_H
#define RP_CORE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define RP_OK 0
#define RP_ERROR (-1)
#define RP_AGAIN (-2)
#define RP_DONE (-4)
#define RP_DECLINED (-5)

#define RP_UNSET (-1)

#define RP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RP_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Invariants stay checked in every build: a broken invariant in a proxy is a
 * security problem, and the check costs a predictable branch. */
#define RP_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0)) {                                                        \
            fprintf(stderr, "rampart: assertion failed: %s at %s:%d\n", #cond, __FILE__,           \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define RP_LIKELY(x) __builtin_expect(!!(x), 1)
#define RP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Out-of-memory policy (docs/architecture.md): allocation failure at start-up
 * or reload is a clean error; on the data path the affected connection is
 * closed with a 5xx where possible. rp_xmalloc is only for start-up paths. */
void *rp_xmalloc(size_t n);
void *rp_xcalloc(size_t n, size_t m);
char *rp_xstrdup(const char *s);

#endif
