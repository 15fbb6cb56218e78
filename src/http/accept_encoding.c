/* Accept-Encoding negotiation (accept_encoding.h). */
#include "http/accept_encoding.h"
#include "core/common.h"

#include <string.h>

const char *rp_coding_name(int coding)
{
    static const char *const names[] = { "identity", "gzip", "br", "zstd" };
    return coding >= 0 && coding < RP_CE_COUNT ? names[coding] : "identity";
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int token_is(rp_str_t t, const char *lit)
{
    size_t n = strlen(lit);
    if (t.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t.data[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c | 0x20);
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as
 * thousandths; -1 when invalid. */
static int qvalue(rp_str_t v)
{
    if (v.len == 0 || v.len > 5)
        return -1;
    if (v.data[0] != '0' && v.data[0] != '1')
        return -1;
    int q = (v.data[0] - '0') * 1000;
    if (v.len == 1)
        return q;
    if (v.data[1] != '.')
        return -1;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        char c = v.data[i];
        if (c < '0' || c > '9')
            return -1;
        q += (c - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

int rp_accept_encoding_choose(rp_str_t value, const int *offered, size_t noffered)
{
    /* q per coding (thousandths), -1: not listed */
    int q[RP_CE_COUNT], star = -1;
    for (int i = 0; i < RP_CE_COUNT; i++)
        q[i] = -1;
    const char *p = value.data, *e = value.data + value.len;
    while (p < e) {
        const char *elem_end = memchr(p, ',', (size_t)(e - p));
        if (!elem_end)
            elem_end = e;
        /* coding [ ; param ]* */
        const char *s = p;
        while (s < elem_end && is_ws(*s))
            s++;
        const char *t = s;
        while (t < elem_end && *t != ';' && !is_ws(*t))
            t++;
        rp_str_t name = rp_str(s, (size_t)(t - s));
        int qv = 1000, ok = name.len > 0;
        const char *x = t;
        while (ok && x < elem_end) {
            while (x < elem_end && is_ws(*x))
                x++;
            if (x == elem_end)
                break;
            if (*x != ';') {
                ok = 0;
                break;
            }
            x++;
            while (x < elem_end && is_ws(*x))
                x++;
            const char *pe = x;
            while (pe < elem_end && *pe != ';')
                pe++;
            const char *pv = pe;
            while (pv > x && is_ws(pv[-1]))
                pv--;
            rp_str_t param = rp_str(x, (size_t)(pv - x));
            if (param.len >= 2 && (param.data[0] == 'q' || param.data[0] == 'Q')) {
                size_t k = 1;
                while (k < param.len && is_ws(param.data[k]))
                    k++;
                if (k < param.len && param.data[k] == '=') {
                    k++;
                    while (k < param.len && is_ws(param.data[k]))
                        k++;
                    qv = qvalue(rp_str(param.data + k, param.len - k));
                    if (qv < 0)
                        ok = 0;
                }
            }
            x = pe;
        }
        if (ok) {
            int c = -1;
            if (token_is(name, "gzip") || token_is(name, "x-gzip"))
                c = RP_CE_GZIP;
            else if (token_is(name, "br"))
                c = RP_CE_BR;
            else if (token_is(name, "zstd"))
                c = RP_CE_ZSTD;
            else if (token_is(name, "identity"))
                c = RP_CE_IDENTITY;
            else if (name.len == 1 && name.data[0] == '*')
                star = RP_MAX(star, qv);
            /* a coding listed twice keeps its highest q */
            if (c >= 0)
                q[c] = RP_MAX(q[c], qv);
        }
        p = elem_end < e ? elem_end + 1 : e;
    }
    int best = -1, best_q = 0;
    for (size_t i = 0; i < noffered; i++) {
        int c = offered[i];
        if (c <= RP_CE_IDENTITY || c >= RP_CE_COUNT)
            continue;
        int qc = q[c] >= 0 ? q[c] : star >= 0 ? star : 0;
        if (qc > best_q) {
            best = c;
            best_q = qc;
        }
    }
    /* identity: acceptable unless excluded explicitly, or by *;q=0 */
    int qi = q[RP_CE_IDENTITY] >= 0 ? q[RP_CE_IDENTITY] : star == 0 ? 0 : 1;
    if (best >= 0 && (qi == 0 || best_q >= qi || q[RP_CE_IDENTITY] < 0))
        return best;
    if (qi > 0)
        return RP_CE_IDENTITY;
    return best >= 0 ? best : -1;
}
