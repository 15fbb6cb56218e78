/* nginx-syntax lexer and parser producing an rp_conf_tree_t.
 *
 * The lexer follows nginx's rules where they are observable by an operator,
 * so that a config nginx accepts is split into the same words here:
 *  - `#` starts a comment only where a new word could start;
 *  - `;` and `{` end an unquoted word, `}` closes a block only at the start
 *    of a word (inside a word it is an ordinary character, which is what lets
 *    `${name}` through), and `{` right after `$` belongs to the word;
 *  - a quoted string is a whole word and must be followed by white space,
 *    `;`, `{` or `)` (the latter for `if ($a = "b")`);
 *  - `\"`, `\'`, `\\`, `\t`, `\r`, `\n` are unescaped in every word, other
 *    backslashes are kept (regexes like `\.php$` rely on that).
 * Everything the tree points to lives in one arena (tree->priv); the
 * scratch buffers used while parsing are malloc'ed and freed before return.
 */
#include "conf/ast.h"
#include "core/arena.h"
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RP_CONF_MAX_INCLUDE_DEPTH 16
/* Real configs nest ~6 deep (http/server/location/location/if); the limit
 * only keeps hostile input from exhausting the stack. */
#define RP_CONF_MAX_BLOCK_DEPTH 100
/* A config file larger than this is certainly a mistake (a log file given
 * to `include`, say); refuse it instead of reading gigabytes. */
#define RP_CONF_MAX_FILE_SIZE (64u * 1024 * 1024)

typedef struct {
    rp_arena_t *arena;
    const char *base_dir; /* "" when the main file has no directory part */
    char *err;
    size_t errlen;
    int failed;
    char *tok; /* scratch for the word being read */
    size_t toklen;
    size_t tokcap;
    int block_depth;
} parser_t;

typedef struct {
    const char *p;
    const char *end;
    const char *file; /* arena copy, shared by the nodes of this file */
    int line;
    int include_depth;
} src_t;

typedef struct {
    rp_conf_node_t *v;
    size_t n;
    size_t cap;
} nodevec_t;

typedef struct {
    char **v;
    unsigned char *q;
    size_t n;
    size_t cap;
} argvec_t;

enum tok { T_WORD, T_SEMI, T_LBRACE, T_RBRACE, T_EOF, T_ERR };

static int fail(parser_t *ps, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser_t *ps, const char *file, int line, const char *fmt, ...)
{
    if (ps->failed)
        return RP_ERROR;
    ps->failed = 1;
    if (!ps->err || ps->errlen == 0)
        return RP_ERROR;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (file && (size_t)n < ps->errlen)
        snprintf(ps->err + n, ps->errlen - (size_t)n, " in %s:%d", file, line);
    return RP_ERROR;
}

static int fail_oom(parser_t *ps, const src_t *s)
{
    return fail(ps, s ? s->file : NULL, s ? s->line : 0, "out of memory");
}

/* ---- lexer ---- */

static int tok_put(parser_t *ps, char c)
{
    if (ps->toklen + 1 >= ps->tokcap) {
        size_t ncap = ps->tokcap ? ps->tokcap * 2 : 256;
        char *n = realloc(ps->tok, ncap);
        if (!n)
            return RP_ERROR;
        ps->tok = n;
        ps->tokcap = ncap;
    }
    ps->tok[ps->toklen++] = c;
    return RP_OK;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Describes a character for an `unexpected "x"` message without putting
 * control bytes into logs. */
static const char *show_char(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(buf, 8, "%c", c);
    else
        snprintf(buf, 8, "\\x%02x", u);
    return buf;
}

static int eof_error(parser_t *ps, const src_t *s)
{
    return fail(ps, s->file, s->line, "unexpected end of file, expecting \";\" or \"}\"");
}

/* Handles the character after a backslash (s->p points at the backslash).
 * Returns RP_ERROR on a backslash at end of input (reported by the caller as
 * end of file) or on out-of-memory. */
static int lex_escape(parser_t *ps, src_t *s)
{
    if (s->p + 1 >= s->end) {
        s->p = s->end;
        return eof_error(ps, s);
    }
    char n = s->p[1];
    int rc;
    switch (n) {
    case '"':
    case '\'':
    case '\\':
        rc = tok_put(ps, n);
        break;
    case 't':
        rc = tok_put(ps, '\t');
        break;
    case 'r':
        rc = tok_put(ps, '\r');
        break;
    case 'n':
        rc = tok_put(ps, '\n');
        break;
    case '\0':
        return fail(ps, s->file, s->line, "unexpected NUL character");
    default:
        if (n == '\n')
            s->line++;
        rc = tok_put(ps, '\\');
        if (rc == RP_OK)
            rc = tok_put(ps, n);
        break;
    }
    if (rc != RP_OK)
        return fail_oom(ps, s);
    s->p += 2;
    return RP_OK;
}

static enum tok lex_quoted(parser_t *ps, src_t *s)
{
    char q = *s->p++;
    for (;;) {
        if (s->p >= s->end) {
            eof_error(ps, s);
            return T_ERR;
        }
        char c = *s->p;
        if (c == '\\') {
            if (lex_escape(ps, s) != RP_OK)
                return T_ERR;
            continue;
        }
        if (c == q) {
            s->p++;
            break;
        }
        if (c == '\0') {
            fail(ps, s->file, s->line, "unexpected NUL character");
            return T_ERR;
        }
        if (c == '\n')
            s->line++;
        if (tok_put(ps, c) != RP_OK) {
            fail_oom(ps, s);
            return T_ERR;
        }
        s->p++;
    }
    /* nginx requires a separator after a closing quote: `"a"b` is almost
     * certainly a typo, not a request to glue two words. */
    if (s->p < s->end) {
        char c = *s->p;
        if (!is_space(c) && c != ';' && c != '{' && c != ')') {
            char buf[8];
            fail(ps, s->file, s->line, "unexpected \"%s\"", show_char(c, buf));
            return T_ERR;
        }
    }
    return T_WORD;
}

static enum tok lex_bare(parser_t *ps, src_t *s)
{
    int after_dollar = 0;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '{' && after_dollar) {
            /* `${name}`: the brace belongs to the variable, not a block */
            after_dollar = 0;
        } else {
            if (is_space(c) || c == ';' || c == '{')
                break;
            after_dollar = c == '$';
            if (c == '\\') {
                if (lex_escape(ps, s) != RP_OK)
                    return T_ERR;
                continue;
            }
            if (c == '\0') {
                fail(ps, s->file, s->line, "unexpected NUL character");
                return T_ERR;
            }
        }
        if (tok_put(ps, c) != RP_OK) {
            fail_oom(ps, s);
            return T_ERR;
        }
        s->p++;
    }
    return T_WORD;
}

/* Reads the next token. For T_WORD the text is in ps->tok (NUL-terminated),
 * *quoted tells whether it was quoted and *line where it starts. */
static enum tok next_token(parser_t *ps, src_t *s, int *quoted, int *line)
{
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '\n') {
            s->line++;
            s->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            s->p++;
        } else if (c == '#') {
            while (s->p < s->end && *s->p != '\n')
                s->p++;
        } else {
            break;
        }
    }
    *line = s->line;
    *quoted = 0;
    if (s->p >= s->end)
        return T_EOF;
    switch (*s->p) {
    case ';':
        s->p++;
        return T_SEMI;
    case '{':
        s->p++;
        return T_LBRACE;
    case '}':
        s->p++;
        return T_RBRACE;
    }
    ps->toklen = 0;
    enum tok t;
    if (*s->p == '"' || *s->p == '\'') {
        *quoted = 1;
        t = lex_quoted(ps, s);
    } else {
        t = lex_bare(ps, s);
    }
    if (t == T_WORD && tok_put(ps, '\0') != RP_OK) {
        fail_oom(ps, s);
        return T_ERR;
    }
    return t;
}

/* ---- vectors ---- */

static int nodevec_push(nodevec_t *nv, const rp_conf_node_t *n)
{
    if (nv->n == nv->cap) {
        size_t ncap = nv->cap ? nv->cap * 2 : 8;
        rp_conf_node_t *v = realloc(nv->v, ncap * sizeof(*v));
        if (!v)
            return RP_ERROR;
        nv->v = v;
        nv->cap = ncap;
    }
    nv->v[nv->n++] = *n;
    return RP_OK;
}

static int argvec_push(argvec_t *av, char *s, int quoted)
{
    if (av->n == av->cap) {
        size_t ncap = av->cap ? av->cap * 2 : 8;
        char **v = realloc(av->v, ncap * sizeof(*v));
        if (!v)
            return RP_ERROR;
        av->v = v;
        unsigned char *q = realloc(av->q, ncap);
        if (!q)
            return RP_ERROR;
        av->q = q;
        av->cap = ncap;
    }
    av->v[av->n] = s;
    av->q[av->n] = (unsigned char)(quoted != 0);
    av->n++;
    return RP_OK;
}

/* Fills node from the words collected so far; arrays go to the arena. */
static int make_node(parser_t *ps, const argvec_t *av, const char *file, int line,
                     rp_conf_node_t *node)
{
    memset(node, 0, sizeof(*node));
    size_t nargs = av->n - 1;
    char **args = rp_arena_alloc(ps->arena, (nargs + 1) * sizeof(char *));
    unsigned char *q = rp_arena_alloc(ps->arena, nargs + 1);
    if (!args || !q)
        return RP_ERROR;
    for (size_t i = 0; i < nargs; i++) {
        args[i] = av->v[i + 1];
        q[i] = av->q[i + 1];
    }
    args[nargs] = NULL; /* handy for callers that walk until NULL */
    q[nargs] = 0;
    node->name = av->v[0];
    node->args = args;
    node->quoted = q;
    node->nargs = nargs;
    node->file = file;
    node->line = line;
    return RP_OK;
}

/* Directives that only make sense with a body. The parser knows these so
 * that `http;` fails with nginx's message even before the directive table
 * sees it; `server` is a block everywhere except inside `upstream`. */
static int needs_block(const char *name, const char *parent)
{
    static const char *const blocks[] = {
        "http",  "events", "stream",       "location", "upstream",      "map",
        "types", "if",     "limit_except", "geo",      "split_clients",
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(blocks); i++)
        if (strcmp(name, blocks[i]) == 0)
            return 1;
    if (strcmp(name, "server") == 0)
        return !(parent && strcmp(parent, "upstream") == 0);
    return 0;
}

/* ---- files and includes ---- */

/* Reads a whole file into malloc'ed memory. On failure returns NULL with
 * errno set and *what naming the failing call. */
static char *read_file(const char *path, size_t *len, const char **what)
{
    *what = "open()";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    *what = "fstat()";
    if (fstat(fd, &st) < 0)
        goto fail;
    *what = "read()";
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    if (cap > RP_CONF_MAX_FILE_SIZE) {
        errno = EFBIG;
        goto fail;
    }
    char *buf = malloc(cap);
    if (!buf)
        goto fail;
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= RP_CONF_MAX_FILE_SIZE) {
                free(buf);
                errno = EFBIG;
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            errno = e;
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return buf;
fail : {
    int e = errno;
    close(fd);
    errno = e;
    return NULL;
}
}

static int parse_body(parser_t *ps, src_t *s, nodevec_t *out, int in_block, const char *parent);

static int parse_included(parser_t *ps, const src_t *from, int line, const char *path,
                          nodevec_t *out, const char *parent)
{
    size_t len;
    const char *what;
    char *text = read_file(path, &len, &what);
    if (!text) {
        int e = errno;
        return fail(ps, from->file, line, "%s \"%s\" failed (%d: %s)", what, path, e, strerror(e));
    }
    src_t s = { text, text + len, rp_arena_strdup(ps->arena, path), 1, from->include_depth + 1 };
    int rc;
    if (!s.file)
        rc = fail_oom(ps, from);
    else
        rc = parse_body(ps, &s, out, 0, parent);
    free(text);
    return rc;
}

static int do_include(parser_t *ps, const src_t *s, int line, const rp_conf_node_t *node,
                      nodevec_t *out, const char *parent)
{
    if (node->nargs != 1)
        return fail(ps, s->file, line, "invalid number of arguments in \"include\" directive");
    if (s->include_depth >= RP_CONF_MAX_INCLUDE_DEPTH)
        return fail(ps, s->file, line, "includes nested deeper than %d levels (include loop?)",
                    RP_CONF_MAX_INCLUDE_DEPTH);
    const char *arg = node->args[0];
    if (arg[0] == '\0')
        return fail(ps, s->file, line, "invalid empty path in \"include\" directive");
    char *path;
    if (arg[0] == '/' || ps->base_dir[0] == '\0') {
        path = rp_arena_strdup(ps->arena, arg);
    } else {
        size_t bl = strlen(ps->base_dir), al = strlen(arg);
        int slash = ps->base_dir[bl - 1] != '/';
        path = rp_arena_alloc(ps->arena, bl + (size_t)slash + al + 1);
        if (path) {
            memcpy(path, ps->base_dir, bl);
            if (slash)
                path[bl] = '/';
            memcpy(path + bl + slash, arg, al + 1);
        }
    }
    if (!path)
        return fail_oom(ps, s);

    if (!strpbrk(path, "*?["))
        return parse_included(ps, s, line, path, out, parent);

    /* glob(3) sorts its results, which gives the deterministic order
     * operators expect from an include of conf.d/ with a glob. No match is fine. */
    glob_t g;
    memset(&g, 0, sizeof(g));
    int grc = glob(path, 0, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        globfree(&g);
        return RP_OK;
    }
    if (grc != 0) {
        globfree(&g);
        return fail(ps, s->file, line, "glob() \"%s\" failed", path);
    }
    int rc = RP_OK;
    for (size_t i = 0; i < g.gl_pathc && rc == RP_OK; i++)
        rc = parse_included(ps, s, line, g.gl_pathv[i], out, parent);
    globfree(&g);
    return rc;
}

/* ---- parser ---- */

/* Parses directives until EOF (in_block 0: a whole file) or the closing
 * brace (in_block 1), appending nodes to out. `parent` is the name of the
 * enclosing block directive (NULL at top level). */
static int parse_body(parser_t *ps, src_t *s, nodevec_t *out, int in_block, const char *parent)
{
    argvec_t av = { 0 };
    int dline = 0, rc = RP_ERROR;
    for (;;) {
        int quoted, tline;
        enum tok t = next_token(ps, s, &quoted, &tline);
        if (t == T_ERR)
            goto done;
        if (t == T_WORD) {
            char *w = rp_arena_strndup(ps->arena, ps->tok, ps->toklen - 1);
            if (!w || argvec_push(&av, w, quoted) != RP_OK) {
                fail_oom(ps, s);
                goto done;
            }
            if (av.n == 1)
                dline = tline;
            continue;
        }
        if (t == T_EOF) {
            if (av.n > 0)
                eof_error(ps, s);
            else if (in_block)
                fail(ps, s->file, s->line, "unexpected end of file, expecting \"}\"");
            else
                rc = RP_OK;
            goto done;
        }
        if (t == T_RBRACE) {
            if (av.n > 0 || !in_block)
                fail(ps, s->file, tline, "unexpected \"}\"");
            else
                rc = RP_OK;
            goto done;
        }
        if (av.n == 0) {
            fail(ps, s->file, tline, t == T_SEMI ? "unexpected \";\"" : "unexpected \"{\"");
            goto done;
        }

        rp_conf_node_t node;
        if (make_node(ps, &av, s->file, dline, &node) != RP_OK) {
            fail_oom(ps, s);
            goto done;
        }
        av.n = 0;
        int is_include = strcmp(node.name, "include") == 0;

        if (t == T_SEMI) {
            if (is_include) {
                if (do_include(ps, s, tline, &node, out, parent) != RP_OK)
                    goto done;
                continue;
            }
            if (needs_block(node.name, parent)) {
                fail(ps, s->file, tline, "directive \"%s\" has no opening \"{\"", node.name);
                goto done;
            }
        } else { /* T_LBRACE */
            if (is_include) {
                fail(ps, s->file, tline, "directive \"include\" is not terminated by \";\"");
                goto done;
            }
            if (ps->block_depth >= RP_CONF_MAX_BLOCK_DEPTH) {
                fail(ps, s->file, tline, "blocks nested deeper than %d levels",
                     RP_CONF_MAX_BLOCK_DEPTH);
                goto done;
            }
            nodevec_t kids = { 0 };
            ps->block_depth++;
            int brc = parse_body(ps, s, &kids, 1, node.name);
            ps->block_depth--;
            if (brc == RP_OK && kids.n > 0) {
                node.children = rp_arena_alloc(ps->arena, kids.n * sizeof(rp_conf_node_t));
                if (node.children) {
                    memcpy(node.children, kids.v, kids.n * sizeof(rp_conf_node_t));
                    node.nchildren = kids.n;
                } else {
                    brc = fail_oom(ps, s);
                }
            }
            free(kids.v);
            if (brc != RP_OK)
                goto done;
            node.is_block = 1;
        }
        if (nodevec_push(out, &node) != RP_OK) {
            fail_oom(ps, s);
            goto done;
        }
    }
done:
    free(av.v);
    free(av.q);
    return rc;
}

static int parse_main(const char *name, const char *text, size_t len, rp_conf_tree_t *tree,
                      char *err, size_t errlen)
{
    memset(tree, 0, sizeof(*tree));
    if (err && errlen)
        err[0] = '\0';
    rp_arena_t *a = malloc(sizeof(*a));
    if (!a) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return RP_ERROR;
    }
    rp_arena_init(a, 16384);
    tree->priv = a;

    parser_t ps = { .arena = a, .err = err, .errlen = errlen };
    if (!name)
        name = "(string)";
    const char *slash = strrchr(name, '/');
    char *base = slash ? rp_arena_strndup(a, name, slash == name ? 1 : (size_t)(slash - name))
                       : rp_arena_strdup(a, "");
    src_t s = { text, text + len, rp_arena_strdup(a, name), 1, 0 };
    nodevec_t top = { 0 };
    int rc;
    char *rootname = rp_arena_strdup(a, "");
    if (!base || !s.file || !rootname) {
        rc = fail_oom(&ps, NULL);
    } else {
        ps.base_dir = base;
        rc = parse_body(&ps, &s, &top, 0, NULL);
    }
    if (rc == RP_OK && top.n > 0) {
        tree->root.children = rp_arena_alloc(a, top.n * sizeof(rp_conf_node_t));
        if (tree->root.children) {
            memcpy(tree->root.children, top.v, top.n * sizeof(rp_conf_node_t));
            tree->root.nchildren = top.n;
        } else {
            rc = fail_oom(&ps, NULL);
        }
    }
    free(top.v);
    free(ps.tok);
    if (rc != RP_OK) {
        rp_conf_tree_free(tree);
        return RP_ERROR;
    }
    tree->root.name = rootname;
    tree->root.args = NULL;
    tree->root.file = s.file;
    tree->root.line = 0;
    tree->root.is_block = 1;
    return RP_OK;
}

int rp_conf_parse_string(const char *name, const char *text, size_t len, rp_conf_tree_t *tree,
                         char *err, size_t errlen)
{
    return parse_main(name, text ? text : "", text ? len : 0, tree, err, errlen);
}

int rp_conf_parse_file(const char *path, rp_conf_tree_t *tree, char *err, size_t errlen)
{
    memset(tree, 0, sizeof(*tree));
    size_t len;
    const char *what;
    char *text = read_file(path, &len, &what);
    if (!text) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "%s \"%s\" failed (%d: %s)", what, path, e, strerror(e));
        return RP_ERROR;
    }
    int rc = parse_main(path, text, len, tree, err, errlen);
    free(text);
    return rc;
}

void rp_conf_tree_free(rp_conf_tree_t *tree)
{
    if (!tree)
        return;
    if (tree->priv) {
        rp_arena_destroy(tree->priv);
        free(tree->priv);
    }
    memset(tree, 0, sizeof(*tree));
}
