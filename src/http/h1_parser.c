/* HTTP/1.x head parser and chunked decoder (RFC 9110, RFC 9112).
 *
 * How the incremental head parser works: each call searches for line ends
 * from p->scanned on (bytes are never searched twice) and validates every
 * line as soon as it is complete, so garbage is rejected early. Slices cannot
 * survive between calls (the buffer may move), so when the head end is found
 * in a call that did not start at offset 0, the whole head is parsed once
 * more in one pass to build the slices. The cost is bounded by two passes
 * over the head, and a head that arrives in one read (the usual case) is
 * parsed exactly once.
 *
 * Errors are reported in a fixed order so that feeding a message byte by byte
 * gives the same answer as feeding it whole: per line, limits first, then
 * syntax (in line order); then, once the head is complete, the checks that
 * look at several fields (Host, Content-Length, Transfer-Encoding).
 */
#include "http/h1_parser.h"

#include <string.h>

#include "core/common.h"

/* Defaults when rp_h1_parser_init gets no limits. */
#define H1_DEFAULT_MAX_LINE 8192
#define H1_DEFAULT_MAX_FIELD 8192
#define H1_DEFAULT_MAX_HEAD 32768
#define H1_DEFAULT_MAX_FIELDS 100

#define H1_CHUNK_LINE_MAX 4096
#define H1_DEFAULT_MAX_TRAILER 8192

/* p->state */
#define H1_ST_IDLE 0
#define H1_ST_FINISHED 1 /* returned RP_OK or RP_ERROR; next call starts over */

/* Character classes. */
#define C_TCHAR 0x01  /* token (RFC 9110 5.6.2) */
#define C_FVALUE 0x02 /* field-vchar, SP, HTAB (RFC 9110 5.5), obs-text included */
#define C_TARGET 0x04 /* VCHAR: request-target bytes */
#define C_HEX 0x08
#define C_DIGIT 0x10
#define C_REGNAME 0x20 /* unreserved / sub-delims / '%' (RFC 3986 3.2.2) */
#define C_QDTEXT 0x40  /* qdtext (RFC 9110 5.6.4) */

static const uint8_t ctab[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x42, 0x67, 0x06, 0x47, 0x67, 0x67, 0x67, 0x67, 0x66, 0x66, 0x67, 0x67, 0x66, 0x67, 0x67, 0x46,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x46, 0x66, 0x46, 0x66, 0x46, 0x46,
    0x46, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67,
    0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x46, 0x06, 0x46, 0x47, 0x67,
    0x47, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67,
    0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x46, 0x47, 0x46, 0x67, 0x00,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};

#define IS(c, cls) (ctab[(uint8_t)(c)] & (cls))
#define IS_WS(c) ((c) == ' ' || (c) == '\t')

static const rp_str_t empty_str = { "", 0 };

/* ---------------------------------------------------------------- helpers */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (rp_lower(c) - 'a') + 10;
}

/* Case-insensitive compare of s with a lower-case literal of the same length. */
static int lc_eq(const char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rp_lower(s[i]) != lower[i])
            return 0;
    return 1;
}

#define LC_IS(str, lit) ((str).len == sizeof(lit) - 1 && lc_eq((str).data, (lit), sizeof(lit) - 1))

/* Iterates the elements of a comma list (RFC 9110 5.6.1); empty elements are
 * skipped as the RFC asks recipients to. Returns 0 at the end. */
static int list_next(rp_str_t list, size_t *pos, rp_str_t *item)
{
    while (*pos < list.len) {
        size_t i = *pos, j = i;
        while (j < list.len && list.data[j] != ',')
            j++;
        *pos = j + 1;
        *item = rp_str_trim(rp_str(list.data + i, j - i));
        if (item->len)
            return 1;
    }
    return 0;
}

/* uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2). host is reg-name
 * (which covers IPv4) or an IP-literal in brackets. An empty value is valid
 * only for a Host field (RFC 9110 7.2: empty when the target has no
 * authority); port_required is for CONNECT's authority-form. */
static int host_valid(const char *s, size_t n, int port_required)
{
    size_t i = 0;

    if (n == 0)
        return !port_required;
    if (s[0] == '[') {
        int colons = 0;
        for (i = 1; i < n && (IS(s[i], C_HEX) || s[i] == ':' || s[i] == '.'); i++)
            colons += s[i] == ':';
        if (i >= n || s[i] != ']' || colons < 2)
            return 0;
        i++;
    } else {
        while (i < n && IS(s[i], C_REGNAME)) {
            if (s[i] == '%') {
                if (n - i < 3 || !IS(s[i + 1], C_HEX) || !IS(s[i + 2], C_HEX))
                    return 0;
                i += 2;
            }
            i++;
        }
        if (i == 0)
            return 0;
    }
    if (i == n)
        return !port_required;
    if (s[i] != ':')
        return 0;
    i++;
    /* port: 1-5 digits up to 65535; an empty port is legal URI syntax but
     * useless, and rejecting it removes a normalisation ambiguity. */
    if (i == n || n - i > 5)
        return 0;
    unsigned port = 0;
    for (; i < n; i++) {
        if (!IS(s[i], C_DIGIT))
            return 0;
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    return port <= 65535;
}

/* --------------------------------------------------------- line parsers */

typedef struct {
    int status;        /* 0, or the status to answer */
    const char *error; /* static reason for the log */
} h1_err_t;

static int fail(h1_err_t *e, int status, const char *msg)
{
    e->status = status;
    e->error = msg;
    return status;
}

/* Request-target forms (RFC 9112 3.2). */
static int parse_target(rp_h1_request_t *req, h1_err_t *e)
{
    rp_str_t t = req->target;

    req->path = empty_str;
    req->authority = empty_str;
    if (t.data[0] == '/') {
        /* RFC 9112 3.2.3: CONNECT uses only the authority-form */
        if (req->method_id == RP_METHOD_CONNECT)
            return fail(e, 400, "CONNECT needs an authority-form target");
        req->target_form = RP_TARGET_ORIGIN;
        req->path = t;
        return 0;
    }
    if (t.len == 1 && t.data[0] == '*') {
        /* RFC 9112 3.2.4: asterisk-form only for a server-wide OPTIONS */
        if (req->method_id != RP_METHOD_OPTIONS)
            return fail(e, 400, "asterisk-form target with a method other than OPTIONS");
        req->target_form = RP_TARGET_ASTERISK;
        return 0;
    }
    size_t skip = 0;
    if (t.len >= 7 && lc_eq(t.data, "http://", 7))
        skip = 7;
    else if (t.len >= 8 && lc_eq(t.data, "https://", 8))
        skip = 8;
    if (skip) {
        if (req->method_id == RP_METHOD_CONNECT)
            return fail(e, 400, "CONNECT needs an authority-form target");
        size_t i = skip;
        while (i < t.len && t.data[i] != '/' && t.data[i] != '?' && t.data[i] != '#')
            i++;
        rp_str_t auth = rp_str(t.data + skip, i - skip);
        if (auth.len == 0)
            return fail(e, 400, "absolute-form target without authority");
        /* RFC 9110 4.2.4: userinfo is deprecated for http(s) and a known
         * phishing vector; '@' is not in host syntax so host_valid rejects it. */
        if (!host_valid(auth.data, auth.len, 0))
            return fail(e, 400, "invalid authority in absolute-form target");
        if (i == t.len) {
            req->path = RP_STR("/");
        } else if (t.data[i] == '/') {
            req->path = rp_str(t.data + i, t.len - i);
        } else {
            /* "http://h?q": the path would have to be synthesised as "/?q",
             * which a slice cannot express; no real client sends this. */
            return fail(e, 400, "absolute-form target with an empty path");
        }
        req->authority = auth;
        req->target_form = RP_TARGET_ABSOLUTE;
        return 0;
    }
    if (req->method_id == RP_METHOD_CONNECT) {
        if (!host_valid(t.data, t.len, 1))
            return fail(e, 400, "invalid authority-form target");
        req->authority = t;
        req->target_form = RP_TARGET_AUTHORITY;
        return 0;
    }
    return fail(e, 400, "invalid request-target");
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3). Returns the minor
 * version (0, 1), -505 for a well-formed other version, -400 for garbage. */
static int parse_version(const char *v, size_t n)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || !IS(v[5], C_DIGIT) ||
        !IS(v[7], C_DIGIT))
        return -400;
    if (v[5] == '1' && (v[7] == '0' || v[7] == '1'))
        return v[7] - '0';
    return -505;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 3).
 * Exactly one SP each: lenient whitespace splitting is a smuggling vector. */
static int request_line(const char *l, size_t n, rp_h1_request_t *req, h1_err_t *e)
{
    size_t i = 0;

    while (i < n && IS(l[i], C_TCHAR))
        i++;
    if (i == 0 || i == n || l[i] != ' ')
        return fail(e, 400, "invalid method");
    req->method = rp_str(l, i);
    req->method_id = rp_http_method_id(req->method);

    size_t t = ++i;
    while (i < n && IS(l[i], C_TARGET))
        i++;
    if (i == t)
        return fail(e, 400, "empty request-target");
    if (i == n)
        return fail(e, 400, "missing HTTP version");
    if (l[i] != ' ')
        return fail(e, 400, "invalid character in request-target");
    req->target = rp_str(l + t, i - t);
    i++;

    int v = parse_version(l + i, n - i);
    if (v == -505)
        return fail(e, 505, "unsupported HTTP version");
    if (v < 0)
        return fail(e, 400, "invalid HTTP version");
    req->version_minor = v;
    return parse_target(req, e);
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4).
 * A missing SP after the code is tolerated: the reason is optional anyway. */
static int status_line(const char *l, size_t n, rp_h1_response_t *resp, h1_err_t *e)
{
    if (n < 12 || l[8] != ' ')
        return fail(e, 400, "invalid status line");
    int v = parse_version(l, 8);
    if (v < 0)
        return fail(e, 400, "unsupported HTTP version in status line");
    if (!IS(l[9], C_DIGIT) || !IS(l[10], C_DIGIT) || !IS(l[11], C_DIGIT))
        return fail(e, 400, "invalid status code");
    int status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (status < 100 || status > 599)
        return fail(e, 400, "status code out of range");
    if (n > 12 && l[12] != ' ')
        return fail(e, 400, "invalid status code");
    size_t r = n > 12 ? 13 : 12;
    for (size_t i = r; i < n; i++)
        if (!IS(l[i], C_FVALUE))
            return fail(e, 400, "invalid character in reason phrase");
    resp->version_minor = v;
    resp->status = status;
    resp->reason = rp_str(l + r, n - r);
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 5). */
static int field_line(const char *l, size_t n, rp_http_field_t *f, h1_err_t *e)
{
    size_t i = 0;

    while (i < n && IS(l[i], C_TCHAR))
        i++;
    if (i == 0 || i == n || l[i] != ':') {
        if (i == 0 && IS_WS(l[0]))
            /* RFC 9112 5.2: obs-fold (and whitespace after the start line,
             * RFC 9112 2.2) is rejected rather than unfolded. */
            return fail(e, 400, "obsolete line folding");
        if (i < n && IS_WS(l[i]))
            /* RFC 9112 5.1: MUST reject whitespace before the colon */
            return fail(e, 400, "whitespace before colon in field line");
        if (i == 0 && l[0] == ':')
            return fail(e, 400, "empty field name");
        if (i == n)
            return fail(e, 400, "field line without colon");
        return fail(e, 400, "invalid character in field name");
    }
    f->name = rp_str(l, i);
    i++;
    while (i < n && IS_WS(l[i]))
        i++;
    size_t vs = i;
    /* RFC 9110 5.5: CR, LF and NUL are never allowed; other CTLs and DEL
     * are rejected too (no legitimate use, several parser-confusion risks). */
    for (; i < n; i++)
        if (!IS(l[i], C_FVALUE))
            return fail(e, 400, "invalid character in field value");
    size_t ve = n;
    while (ve > vs && IS_WS(l[ve - 1]))
        ve--;
    f->value = rp_str(l + vs, ve - vs);
    return 0;
}

/* ------------------------------------------------------------ head scan */

typedef struct {
    int is_req;
    rp_h1_request_t *req;
    rp_h1_response_t *resp;
    rp_http_field_t *fields;
    size_t *nfields;
    size_t *head_len;
} h1_msg_t;

static void reset_parser(rp_h1_parser_t *p)
{
    p->scanned = 0;
    p->line_start = 0;
    p->line_no = 0;
    p->state = H1_ST_IDLE;
}

/* Limits. The answer must not depend on how the input was split into reads,
 * so this works out which limit a byte-by-byte feed would have hit first:
 * while the line is incomplete, the line limit trips once more than
 * max + 1 bytes of it are buffered (+1: a CR whose LF is still to come) and
 * the head limit once more than max_head bytes are; when the LF arrives, the
 * line content and the head end are checked. `upto` is the number of bytes
 * buffered while the line was still incomplete (the LF offset when it is
 * complete). Returns 1 with e set when a limit is exceeded. */
static int over_limit(const rp_h1_parser_t *p, const h1_msg_t *m, size_t ls, size_t upto,
                      int complete, size_t llen, h1_err_t *e)
{
    const rp_h1_limits_t *lim = &p->limits;
    size_t maxl = p->line_no == 0 ? lim->max_line : lim->max_field;
    size_t never = SIZE_MAX;
    size_t line_at = never, head_at = never;

    if (upto - ls >= 2 && upto - ls - 2 >= maxl)
        line_at = ls + maxl + 2;
    else if (complete && llen > maxl)
        line_at = upto + 1;
    if (lim->max_head < upto)
        head_at = lim->max_head + 1;
    else if (complete && upto + 1 > lim->max_head)
        head_at = upto + 1;

    if (line_at == never && head_at == never)
        return 0;
    if (line_at <= head_at) {
        if (p->line_no > 0)
            fail(e, 431, "field line too long");
        else if (m->is_req)
            fail(e, 414, "request line too long");
        else
            fail(e, 400, "status line too long");
    } else {
        fail(e, 431, "head too large");
    }
    return 1;
}

/* Finds and validates lines from p->scanned on. Returns RP_OK when the head
 * end was found (*head_len set), RP_AGAIN, or RP_ERROR with e set. */
static int scan_head(rp_h1_parser_t *p, const char *buf, size_t len, h1_msg_t *m, h1_err_t *e)
{
    size_t pos = p->scanned;

    for (;;) {
        size_t ls = p->line_start;
        const char *nl = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;

        if (nl == NULL) {
            if (over_limit(p, m, ls, len, 0, 0, e))
                return RP_ERROR;
            p->scanned = len;
            return RP_AGAIN;
        }

        size_t end = (size_t)(nl - buf);
        size_t le = end;
        /* RFC 9112 2.2: CRLF, or a bare LF (accepted, see the header). A CR
         * anywhere else stays in the line and is rejected as a CTL. */
        if (le > ls && buf[le - 1] == '\r')
            le--;
        size_t llen = le - ls;
        const char *l = buf + ls;

        if (over_limit(p, m, ls, end, 1, llen, e))
            return RP_ERROR;

        if (llen == 0) {
            if (p->line_no > 0) {
                *m->head_len = end + 1;
                p->line_start = p->scanned = end + 1;
                return RP_OK;
            }
            /* RFC 9112 2.2: a server SHOULD ignore empty lines before the
             * request-line (clients send stray CRLF after a body). A response
             * has no such allowance. */
            if (!m->is_req) {
                fail(e, 400, "empty line before status line");
                return RP_ERROR;
            }
        } else if (p->line_no == 0) {
            int st =
                m->is_req ? request_line(l, llen, m->req, e) : status_line(l, llen, m->resp, e);
            if (st)
                return RP_ERROR;
            p->line_no = 1;
        } else {
            size_t idx = (size_t)p->line_no - 1;
            if (idx >= p->limits.max_fields) {
                fail(e, 431, "too many header fields");
                return RP_ERROR;
            }
            if (field_line(l, llen, &m->fields[idx], e))
                return RP_ERROR;
            *m->nfields = idx + 1;
            p->line_no++;
        }
        p->line_start = p->scanned = pos = end + 1;
    }
}

static void request_clear(rp_h1_request_t *req)
{
    rp_http_field_t *fields = req->fields;
    memset(req, 0, sizeof(*req));
    req->fields = fields;
    req->method = req->target = req->path = req->authority = empty_str;
    req->host = req->connection = empty_str;
}

static void response_clear(rp_h1_response_t *resp)
{
    rp_http_field_t *fields = resp->fields;
    memset(resp, 0, sizeof(*resp));
    resp->fields = fields;
    resp->reason = resp->connection = empty_str;
}

/* Runs the scan; when the head completes in a call that did not start from
 * the beginning, parses it again in one pass so every slice points into the
 * current buffer. */
static int parse_head(rp_h1_parser_t *p, const char *buf, size_t len, h1_msg_t *m, h1_err_t *e)
{
    if (p->state != H1_ST_IDLE || len < p->scanned)
        reset_parser(p); /* re-parse after a result, or the caller shrank the buffer */
    int fresh = p->scanned == 0;
    int rc = scan_head(p, buf, len, m, e);
    if (rc == RP_OK && !fresh) {
        if (m->is_req)
            request_clear(m->req);
        else
            response_clear(m->resp);
        reset_parser(p);
        rc = scan_head(p, buf, len, m, e);
        RP_ASSERT(rc == RP_OK);
    }
    if (rc != RP_AGAIN)
        p->state = H1_ST_FINISHED;
    return rc;
}

/* ------------------------------------------------------ field analysis */

typedef struct {
    int has_cl;
    int ncl; /* Content-Length field lines */
    uint64_t cl;
    int has_te;
    int te_chunked;      /* chunked seen */
    int te_last_chunked; /* final coding is chunked */
    int te_other;        /* a coding other than chunked */
    int close, keep_alive, conn_upgrade;
    int has_upgrade;
    int expect_continue;
    int nhost;
    rp_str_t host;
    rp_str_t connection;
} h1_info_t;

/* Content-Length = 1*DIGIT (RFC 9110 8.6); a list of identical values is
 * accepted as one, differing values are an error (smuggling risk). */
static int content_length(rp_str_t v, h1_info_t *in, h1_err_t *e)
{
    size_t pos = 0, i;
    rp_str_t item;
    int any = 0;

    /* empty list elements are not tolerated here: "5," is suspicious */
    for (i = 0; i < v.len; i++)
        if (v.data[i] == ',') {
            size_t a = i, b = i + 1;
            while (a > 0 && IS_WS(v.data[a - 1]))
                a--;
            while (b < v.len && IS_WS(v.data[b]))
                b++;
            if (a == 0 || b == v.len || v.data[b] == ',')
                return fail(e, 400, "empty Content-Length element");
        }
    while (list_next(v, &pos, &item)) {
        uint64_t n = 0;
        for (i = 0; i < item.len; i++) {
            if (!IS(item.data[i], C_DIGIT))
                return fail(e, 400, "invalid Content-Length");
            unsigned d = (unsigned)(item.data[i] - '0');
            if (n > ((uint64_t)INT64_MAX - d) / 10)
                return fail(e, 400, "Content-Length overflows");
            n = n * 10 + d;
        }
        if (in->has_cl && n != in->cl)
            return fail(e, 400, "differing Content-Length values");
        in->has_cl = 1;
        in->cl = n;
        any = 1;
    }
    if (!any)
        return fail(e, 400, "empty Content-Length");
    return 0;
}

/* Transfer-Encoding = #transfer-coding (RFC 9112 6.1); codings accumulate
 * across several field lines in order. */
static int transfer_encoding(rp_str_t v, h1_info_t *in, h1_err_t *e)
{
    size_t pos = 0;
    rp_str_t item;
    int any = 0;

    while (list_next(v, &pos, &item)) {
        size_t i = 0;
        while (i < item.len && IS(item.data[i], C_TCHAR))
            i++;
        if (i == 0)
            return fail(e, 400, "invalid transfer coding");
        rp_str_t name = rp_str(item.data, i);
        while (i < item.len && IS_WS(item.data[i]))
            i++;
        int params = i < item.len;
        if (params && item.data[i] != ';')
            return fail(e, 400, "invalid transfer coding");
        if (LC_IS(name, "chunked")) {
            /* RFC 9112 6.1: chunked MUST NOT be applied more than once */
            if (in->te_chunked)
                return fail(e, 400, "chunked applied twice");
            if (params)
                return fail(e, 400, "parameters on chunked");
            in->te_chunked = 1;
            in->te_last_chunked = 1;
        } else {
            in->te_other = 1;
            in->te_last_chunked = 0;
        }
        any = 1;
    }
    if (!any)
        return fail(e, 400, "empty Transfer-Encoding");
    in->has_te = 1;
    return 0;
}

static void connection_tokens(rp_str_t v, h1_info_t *in)
{
    size_t pos = 0;
    rp_str_t item;

    while (list_next(v, &pos, &item)) {
        if (LC_IS(item, "close"))
            in->close = 1;
        else if (LC_IS(item, "keep-alive"))
            in->keep_alive = 1;
        else if (LC_IS(item, "upgrade"))
            in->conn_upgrade = 1;
    }
}

static int collect(const rp_http_field_t *f, size_t n, h1_info_t *in, h1_err_t *e)
{
    memset(in, 0, sizeof(*in));
    in->host = empty_str;
    in->connection = empty_str;

    for (size_t i = 0; i < n; i++) {
        rp_str_t name = f[i].name, v = f[i].value;
        switch (name.len) {
        case 4:
            if (lc_eq(name.data, "host", 4)) {
                if (in->nhost++ == 0)
                    in->host = v;
            }
            break;
        case 6:
            if (lc_eq(name.data, "expect", 6)) {
                size_t pos = 0;
                rp_str_t item;
                while (list_next(v, &pos, &item))
                    if (LC_IS(item, "100-continue"))
                        in->expect_continue = 1;
            }
            break;
        case 7:
            if (lc_eq(name.data, "upgrade", 7))
                in->has_upgrade = 1;
            break;
        case 10:
            if (lc_eq(name.data, "connection", 10)) {
                if (in->connection.len == 0)
                    in->connection = v;
                connection_tokens(v, in);
            }
            break;
        case 14:
            if (lc_eq(name.data, "content-length", 14)) {
                in->ncl++;
                if (content_length(v, in, e))
                    return e->status;
            }
            break;
        case 17:
            if (lc_eq(name.data, "transfer-encoding", 17) && transfer_encoding(v, in, e))
                return e->status;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* -------------------------------------------------------------- request */

void rp_h1_parser_init(rp_h1_parser_t *p, const rp_h1_limits_t *limits)
{
    memset(p, 0, sizeof(*p));
    if (limits) {
        p->limits = *limits;
    } else {
        p->limits.max_line = H1_DEFAULT_MAX_LINE;
        p->limits.max_field = H1_DEFAULT_MAX_FIELD;
        p->limits.max_head = H1_DEFAULT_MAX_HEAD;
        p->limits.max_fields = H1_DEFAULT_MAX_FIELDS;
    }
}

/* Empty results still point into the buffer (at `at`), so a caller that
 * rebases slices onto a copy of the head, or hands them to memchr, never
 * meets a pointer from elsewhere. */
static void anchor(rp_str_t *s, const char *at)
{
    if (s->len == 0)
        s->data = at;
}

static int request_analyze(rp_h1_request_t *req, h1_err_t *e)
{
    h1_info_t in;

    if (collect(req->fields, req->nfields, &in, e))
        return e->status;

    /* RFC 9112 3.2: 400 for a 1.1 request without Host and for any request
     * with more than one Host field. */
    if (in.nhost > 1)
        return fail(e, 400, "several Host fields");
    if (in.nhost == 0 && req->version_minor == 1)
        return fail(e, 400, "missing Host field");
    if (in.nhost == 1 && !host_valid(in.host.data, in.host.len, 0))
        return fail(e, 400, "invalid Host field");
    /* RFC 9112 3.2.2: the absolute-form authority wins over Host */
    req->host = req->target_form == RP_TARGET_ABSOLUTE ? req->authority : in.host;

    /* RFC 9110 8.6 lets a recipient accept identical repeated values; a
     * comma list in one line is accepted, but several Content-Length lines
     * are rejected like nginx does: two lines usually mean two parties
     * (client and an intermediary) disagreeing about the framing. */
    if (in.ncl > 1)
        return fail(e, 400, "several Content-Length fields");
    if (in.has_te) {
        /* RFC 9112 6.1: TE in HTTP/1.0 means faulty framing */
        if (req->version_minor == 0)
            return fail(e, 400, "Transfer-Encoding in an HTTP/1.0 request");
        /* RFC 9112 6.1: a server MAY reject TE with CL; rampart always does,
         * the pair is the classic request smuggling vector. */
        if (in.has_cl)
            return fail(e, 400, "Content-Length with Transfer-Encoding");
        /* RFC 9112 6.3 (4): chunked present but not final -> 400, the body
         * length cannot be determined */
        if (in.te_chunked && !in.te_last_chunked)
            return fail(e, 400, "final transfer coding is not chunked");
        /* RFC 9112 6.1: a coding the server does not understand -> 501;
         * rampart decodes no transfer coding besides chunked. This covers
         * "gzip" alone and "gzip, chunked". */
        if (in.te_other)
            return fail(e, 501, "unsupported transfer coding");
        req->body_kind = RP_BODY_CHUNKED;
    } else if (in.has_cl) {
        req->body_kind = RP_BODY_LENGTH;
        req->content_length = in.cl;
    } else {
        req->body_kind = RP_BODY_NONE;
    }

    req->connection = in.connection;
    /* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with keep-alive */
    req->keep_alive = in.close ? 0 : (req->version_minor == 1 ? 1 : in.keep_alive);
    /* RFC 9110 10.1.1 and 7.8: Expect and Upgrade are ignored in HTTP/1.0 */
    req->expect_continue = req->version_minor == 1 && in.expect_continue;
    req->upgrade = req->version_minor == 1 && in.conn_upgrade && in.has_upgrade;

    const char *at = req->method.data;
    anchor(&req->host, at);
    anchor(&req->connection, at);
    anchor(&req->path, at);
    anchor(&req->authority, at);
    return 0;
}

int rp_h1_parse_request(rp_h1_parser_t *p, const char *buf, size_t len, rp_h1_request_t *req)
{
    h1_err_t e = { 0, NULL };
    h1_msg_t m = { 1, req, NULL, req->fields, &req->nfields, &req->head_len };

    if (p->scanned == 0 || p->state != H1_ST_IDLE || len < p->scanned)
        request_clear(req);
    int rc = parse_head(p, buf, len, &m, &e);
    if (rc == RP_OK && request_analyze(req, &e))
        rc = RP_ERROR;
    if (rc == RP_ERROR) {
        req->error_status = e.status;
        req->error = e.error;
    }
    return rc;
}

/* ------------------------------------------------------------- response */

static int response_analyze(rp_h1_response_t *resp, int req_method, h1_err_t *e)
{
    h1_info_t in;
    int st = resp->status;

    if (collect(resp->fields, resp->nfields, &in, e))
        return e->status;
    resp->connection = in.connection;
    anchor(&resp->connection, resp->reason.data);
    int persist = in.close ? 0 : (resp->version_minor == 1 ? 1 : in.keep_alive);

    /* Framing errors are checked even where the framing is then ignored:
     * a backend that sends them is broken or compromised. */
    if (in.has_te && in.has_cl)
        return fail(e, 502, "Content-Length with Transfer-Encoding");
    if (in.has_te && resp->version_minor == 0)
        return fail(e, 502, "Transfer-Encoding in an HTTP/1.0 response");

    /* RFC 9112 6.3 (1), (2) */
    if (req_method == RP_METHOD_HEAD || st < 200 || st == 204 || st == 304) {
        resp->body_kind = RP_BODY_NONE;
        if (st == 101) {
            resp->upgrade = in.has_upgrade;
            persist = 0; /* the connection now speaks another protocol */
        }
    } else if (req_method == RP_METHOD_CONNECT && st < 300) {
        resp->body_kind = RP_BODY_NONE;
        persist = 0; /* tunnel */
    } else if (in.has_te) {
        /* RFC 9112 6.3 (4): chunked last -> chunked, else read until close */
        resp->body_kind = in.te_last_chunked ? RP_BODY_CHUNKED : RP_BODY_CLOSE;
    } else if (in.has_cl) {
        resp->body_kind = RP_BODY_LENGTH;
        resp->content_length = in.cl;
    } else {
        resp->body_kind = RP_BODY_CLOSE; /* RFC 9112 6.3 (8) */
    }
    if (resp->body_kind == RP_BODY_CLOSE)
        persist = 0;
    resp->keep_alive = persist;
    return 0;
}

int rp_h1_parse_response(rp_h1_parser_t *p, const char *buf, size_t len, int req_method,
                         rp_h1_response_t *resp)
{
    h1_err_t e = { 0, NULL };
    h1_msg_t m = { 0, NULL, resp, resp->fields, &resp->nfields, &resp->head_len };

    if (p->scanned == 0 || p->state != H1_ST_IDLE || len < p->scanned)
        response_clear(resp);
    int rc = parse_head(p, buf, len, &m, &e);
    if (rc == RP_OK && response_analyze(resp, req_method, &e))
        rc = RP_ERROR;
    if (rc == RP_ERROR)
        resp->error = e.error;
    return rc;
}

/* -------------------------------------------------------------- chunked */

enum {
    CK_SIZE0 = 0,      /* first hex digit of a chunk-size */
    CK_SIZE,           /* more hex digits */
    CK_SIZE_WS,        /* BWS after the size: only ';' may follow */
    CK_EXT_PRE_NAME,   /* after ';' */
    CK_EXT_NAME,       /* in ext-name */
    CK_EXT_AFTER_NAME, /* BWS after ext-name: '=' or ';' */
    CK_EXT_PRE_VAL,    /* after '=' */
    CK_EXT_TOKEN,      /* token ext-val */
    CK_EXT_QUOTED,     /* quoted-string ext-val */
    CK_EXT_QESC,       /* after a backslash in quoted-string */
    CK_EXT_AFTER_VAL,  /* right after a quoted-string */
    CK_EXT_VAL_WS,     /* BWS after a value: only ';' may follow */
    CK_SIZE_LF,        /* CR seen at the end of the size line */
    CK_DATA,
    CK_DATA_CR, /* chunk data done, CRLF expected */
    CK_DATA_LF,
    CK_TR_START, /* start of a trailer line, or the final empty line */
    CK_TR_NAME,
    CK_TR_VALUE,
    CK_TR_LF,
    CK_TR_END_LF,
    CK_DONE,
    CK_ERROR,
};

void rp_h1_chunked_init(rp_h1_chunked_t *c)
{
    memset(c, 0, sizeof(*c));
    c->max_trailer = H1_DEFAULT_MAX_TRAILER;
}

/* RFC 9112 7.1:
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * Whitespace is accepted only where BWS stands; a bare LF ends a line as in
 * the head (policy in the header); anything else is an error, since lenient
 * chunk parsing is how chunked smuggling works. */
int rp_h1_chunked_decode(rp_h1_chunked_t *c, char *buf, size_t len, size_t *consumed,
                         size_t *out_len)
{
    size_t r = 0, w = 0;
    int st = c->state;

    while (r < len && st != CK_DONE && st != CK_ERROR) {
        if (st == CK_DATA) {
            size_t n = len - r;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (w != r)
                memmove(buf + w, buf + r, n);
            w += n;
            r += n;
            c->remaining -= n;
            if (c->remaining == 0)
                st = CK_DATA_CR;
            continue;
        }

        char ch = buf[r++];
        if (st <= CK_SIZE_LF) {
            /* the line terminator does not count towards the limit */
            if (ch != '\r' && ch != '\n' && ++c->line_len > H1_CHUNK_LINE_MAX) {
                st = CK_ERROR;
                break;
            }
        } else if (st >= CK_TR_START) {
            if (++c->trailer_bytes > c->max_trailer) {
                st = CK_ERROR;
                break;
            }
        }

        /* end of the size line (CR LF or bare LF) */
        int eol = 0;
        switch (st) {
        case CK_SIZE0:
            if (!IS(ch, C_HEX))
                st = CK_ERROR;
            else {
                c->remaining = (uint64_t)hexval(ch);
                st = CK_SIZE;
            }
            break;
        case CK_SIZE:
            if (IS(ch, C_HEX)) {
                /* at most 16 digits, and the value stays below 2^63 */
                if (c->line_len > 16 || (c->remaining >> 59) != 0)
                    st = CK_ERROR;
                else
                    c->remaining = (c->remaining << 4) | (uint64_t)hexval(ch);
            } else if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (IS_WS(ch))
                st = CK_SIZE_WS;
            else if (ch == '\r')
                st = CK_SIZE_LF;
            else if (ch == '\n')
                eol = 1;
            else
                st = CK_ERROR;
            break;
        case CK_SIZE_WS:
            if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (!IS_WS(ch))
                st = CK_ERROR;
            break;
        case CK_EXT_PRE_NAME:
            if (IS(ch, C_TCHAR))
                st = CK_EXT_NAME;
            else if (!IS_WS(ch))
                st = CK_ERROR;
            break;
        case CK_EXT_NAME:
        case CK_EXT_TOKEN:
            if (IS(ch, C_TCHAR))
                break;
            if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (ch == '=' && st == CK_EXT_NAME)
                st = CK_EXT_PRE_VAL;
            else if (IS_WS(ch))
                st = st == CK_EXT_NAME ? CK_EXT_AFTER_NAME : CK_EXT_VAL_WS;
            else if (ch == '\r')
                st = CK_SIZE_LF;
            else if (ch == '\n')
                eol = 1;
            else
                st = CK_ERROR;
            break;
        case CK_EXT_AFTER_NAME:
            if (ch == '=')
                st = CK_EXT_PRE_VAL;
            else if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (!IS_WS(ch))
                st = CK_ERROR;
            break;
        case CK_EXT_PRE_VAL:
            if (ch == '"')
                st = CK_EXT_QUOTED;
            else if (IS(ch, C_TCHAR))
                st = CK_EXT_TOKEN;
            else if (!IS_WS(ch))
                st = CK_ERROR;
            break;
        case CK_EXT_QUOTED:
            if (ch == '"')
                st = CK_EXT_AFTER_VAL;
            else if (ch == '\\')
                st = CK_EXT_QESC;
            else if (!IS(ch, C_QDTEXT))
                st = CK_ERROR;
            break;
        case CK_EXT_QESC:
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            st = IS(ch, C_FVALUE) ? CK_EXT_QUOTED : CK_ERROR;
            break;
        case CK_EXT_AFTER_VAL:
            if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (IS_WS(ch))
                st = CK_EXT_VAL_WS;
            else if (ch == '\r')
                st = CK_SIZE_LF;
            else if (ch == '\n')
                eol = 1;
            else
                st = CK_ERROR;
            break;
        case CK_EXT_VAL_WS:
            if (ch == ';')
                st = CK_EXT_PRE_NAME;
            else if (!IS_WS(ch))
                st = CK_ERROR;
            break;
        case CK_SIZE_LF:
            if (ch == '\n')
                eol = 1;
            else
                st = CK_ERROR;
            break;
        case CK_DATA_CR:
            /* RFC 9112 7.1: chunk-data is followed by CRLF, mandatory */
            if (ch == '\r')
                st = CK_DATA_LF;
            else if (ch == '\n')
                st = CK_SIZE0;
            else
                st = CK_ERROR;
            break;
        case CK_DATA_LF:
            st = ch == '\n' ? CK_SIZE0 : CK_ERROR;
            break;
        case CK_TR_START:
            /* RFC 9112 7.1.2: trailer fields are discarded here; obs-fold and
             * malformed lines are still errors so framing stays unambiguous */
            if (ch == '\r')
                st = CK_TR_END_LF;
            else if (ch == '\n')
                st = CK_DONE;
            else if (IS(ch, C_TCHAR))
                st = CK_TR_NAME;
            else
                st = CK_ERROR;
            break;
        case CK_TR_NAME:
            if (ch == ':')
                st = CK_TR_VALUE;
            else if (!IS(ch, C_TCHAR))
                st = CK_ERROR;
            break;
        case CK_TR_VALUE:
            if (ch == '\r')
                st = CK_TR_LF;
            else if (ch == '\n')
                st = CK_TR_START;
            else if (!IS(ch, C_FVALUE))
                st = CK_ERROR;
            break;
        case CK_TR_LF:
            st = ch == '\n' ? CK_TR_START : CK_ERROR;
            break;
        case CK_TR_END_LF:
            st = ch == '\n' ? CK_DONE : CK_ERROR;
            break;
        default:
            st = CK_ERROR;
            break;
        }
        if (eol) {
            c->line_len = 0;
            if (c->remaining == 0) {
                c->trailer_bytes = 0;
                st = CK_TR_START;
            } else {
                st = CK_DATA;
            }
        }
    }

    c->state = st;
    *consumed = r;
    *out_len = w;
    if (st == CK_ERROR)
        return RP_ERROR;
    return st == CK_DONE ? RP_OK : RP_AGAIN;
}

/* -------------------------------------------------------------- helpers */

int rp_http_method_id(rp_str_t m)
{
    /* methods are case-sensitive (RFC 9110 9.1) */
#define M(lit, id)                                                                                 \
    if (m.len == sizeof(lit) - 1 && memcmp(m.data, lit, m.len) == 0)                               \
    return id
    switch (m.len) {
    case 3:
        M("GET", RP_METHOD_GET);
        M("PUT", RP_METHOD_PUT);
        break;
    case 4:
        M("HEAD", RP_METHOD_HEAD);
        M("POST", RP_METHOD_POST);
        break;
    case 5:
        M("TRACE", RP_METHOD_TRACE);
        M("PATCH", RP_METHOD_PATCH);
        break;
    case 6:
        M("DELETE", RP_METHOD_DELETE);
        break;
    case 7:
        M("OPTIONS", RP_METHOD_OPTIONS);
        M("CONNECT", RP_METHOD_CONNECT);
        break;
    default:
        break;
    }
#undef M
    return RP_METHOD_OTHER;
}

int rp_http_method_idempotent(int method_id)
{
    switch (method_id) {
    case RP_METHOD_GET:
    case RP_METHOD_HEAD:
    case RP_METHOD_PUT:
    case RP_METHOD_DELETE:
    case RP_METHOD_OPTIONS:
    case RP_METHOD_TRACE:
        return 1;
    default:
        return 0;
    }
}

int rp_http_is_hop_by_hop(rp_str_t name)
{
    switch (name.len) {
    case 2:
        return lc_eq(name.data, "te", 2);
    case 7:
        return lc_eq(name.data, "upgrade", 7) || lc_eq(name.data, "trailer", 7);
    case 10:
        return lc_eq(name.data, "connection", 10) || lc_eq(name.data, "keep-alive", 10);
    case 16:
        return lc_eq(name.data, "proxy-connection", 16);
    case 17:
        return lc_eq(name.data, "transfer-encoding", 17);
    default:
        return 0;
    }
}

const char *rp_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 207:
        return "Multi-Status";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 418:
        return "I'm a teapot";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    case 511:
        return "Network Authentication Required";
    default:
        return "Unknown";
    }
}
