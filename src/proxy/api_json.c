/* Strict parser for the runtime API's change objects (api_json.h). */
#include "proxy/api_json.h"
#include "core/common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *p, *e;
    char *why;
    size_t whylen;
} js_t;

static int fail(js_t *j, const char *msg)
{
    snprintf(j->why, j->whylen, "%s", msg);
    return RP_ERROR;
}

static void ws(js_t *j)
{
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A member name: ASCII only (other escapes make it unknown anyway). */
static int key(js_t *j, char *out, size_t cap)
{
    if (j->p >= j->e || *j->p != '"')
        return fail(j, "expected a member name");
    j->p++;
    size_t n = 0;
    while (j->p < j->e && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20)
            return fail(j, "control character in a string");
        if (c == '\\') {
            if (j->p >= j->e)
                return fail(j, "unterminated string");
            char x = *j->p++;
            if (x == 'u') {
                int v = 0;
                for (int k = 0; k < 4; k++) {
                    int h = j->p < j->e ? hexval(*j->p++) : -1;
                    if (h < 0)
                        return fail(j, "invalid \\u escape");
                    v = v * 16 + h;
                }
                c = v < 0x80 ? (unsigned char)v : '?';
            } else {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                const char *k = memchr(from, x, 8);
                if (!k || !x)
                    return fail(j, "invalid escape");
                c = (unsigned char)to[k - from];
            }
        }
        if (n + 1 < cap)
            out[n] = (char)c;
        n++;
    }
    if (j->p >= j->e)
        return fail(j, "unterminated string");
    j->p++;
    if (n + 1 > cap)
        n = cap - 1, out[0] = '?'; /* too long: never a known name */
    out[n] = '\0';
    return RP_OK;
}

static int integer(js_t *j, int64_t lo, int64_t hi, int *out)
{
    const char *s = j->p;
    if (j->p < j->e && *j->p == '-')
        j->p++;
    if (j->p >= j->e || *j->p < '0' || *j->p > '9')
        return fail(j, "expected an integer");
    if (*j->p == '0' && j->p + 1 < j->e && j->p[1] >= '0' && j->p[1] <= '9')
        return fail(j, "leading zero in a number");
    int64_t v = 0;
    while (j->p < j->e && *j->p >= '0' && *j->p <= '9') {
        v = v * 10 + (*j->p++ - '0');
        if (v > 10000000000LL)
            return fail(j, "number out of range");
    }
    if (j->p < j->e && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return fail(j, "expected an integer");
    if (*s == '-')
        v = -v;
    if (v < lo || v > hi)
        return fail(j, "number out of range");
    *out = (int)v;
    return RP_OK;
}

static int boolean(js_t *j, int *out)
{
    size_t left = (size_t)(j->e - j->p);
    if (left >= 4 && memcmp(j->p, "true", 4) == 0) {
        j->p += 4;
        *out = 1;
        return RP_OK;
    }
    if (left >= 5 && memcmp(j->p, "false", 5) == 0) {
        j->p += 5;
        *out = 0;
        return RP_OK;
    }
    return fail(j, "expected true or false");
}

int rp_api_parse_change(const char *p, size_t n, rp_api_change_t *ch, char *why, size_t whylen)
{
    memset(ch, 0, sizeof(*ch));
    js_t j = { p, p + n, why, whylen };
    if (n > 4096)
        return fail(&j, "body too large");
    ws(&j);
    if (j.p >= j.e || *j.p != '{')
        return fail(&j, "expected a JSON object");
    j.p++;
    ws(&j);
    int members = 0;
    if (j.p < j.e && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            char k[32];
            if (key(&j, k, sizeof(k)) != RP_OK)
                return RP_ERROR;
            ws(&j);
            if (j.p >= j.e || *j.p != ':')
                return fail(&j, "expected ':'");
            j.p++;
            ws(&j);
            int rc;
            unsigned seen;
            if (strcmp(k, "weight") == 0) {
                seen = ch->has_weight;
                ch->has_weight = 1;
                rc = integer(&j, 1, 1000000, &ch->weight);
            } else if (strcmp(k, "max_conns") == 0) {
                seen = ch->has_max_conns;
                ch->has_max_conns = 1;
                rc = integer(&j, 0, 1000000000, &ch->max_conns);
            } else if (strcmp(k, "backup") == 0) {
                seen = ch->has_backup;
                ch->has_backup = 1;
                rc = boolean(&j, &ch->backup);
            } else if (strcmp(k, "down") == 0) {
                seen = ch->has_down;
                ch->has_down = 1;
                rc = boolean(&j, &ch->down);
            } else if (strcmp(k, "max_fails") == 0) {
                seen = ch->has_max_fails;
                ch->has_max_fails = 1;
                rc = integer(&j, 0, 1000000, &ch->max_fails);
            } else if (strcmp(k, "server") == 0) {
                seen = ch->has_server;
                ch->has_server = 1;
                char tmp[sizeof(ch->server) + 1];
                rc = key(&j, tmp, sizeof(tmp));
                if (rc == RP_OK &&
                    (strlen(tmp) >= sizeof(ch->server) || !tmp[0] || strchr(tmp, '?')))
                    rc = fail(&j, "invalid server address");
                if (rc == RP_OK)
                    memcpy(ch->server, tmp, strlen(tmp) + 1);
            } else if (strcmp(k, "drain") == 0) {
                seen = ch->has_drain;
                ch->has_drain = 1;
                rc = boolean(&j, &ch->drain);
            } else {
                char msg[64];
                snprintf(msg, sizeof(msg), "unknown member \"%.32s\"", k);
                return fail(&j, msg);
            }
            if (rc != RP_OK)
                return RP_ERROR;
            if (seen)
                return fail(&j, "repeated member");
            members++;
            ws(&j);
            if (j.p < j.e && *j.p == ',') {
                j.p++;
                ws(&j);
                continue;
            }
            if (j.p < j.e && *j.p == '}') {
                j.p++;
                break;
            }
            return fail(&j, "expected ',' or '}'");
        }
    }
    ws(&j);
    if (j.p != j.e)
        return fail(&j, "trailing bytes after the object");
    if (!members)
        return fail(&j, "nothing to change");
    return RP_OK;
}
