/* Configuration text -> syntax tree (nginx syntax).
 *
 * `directive arg ...;` and `directive arg ... { ... }`, `#` comments to end
 * of line, single- and double-quoted strings with \" \' \\ \n \t escapes,
 * `include <glob>;` expanded in place (relative paths against the directory
 * of the main config file, as nginx does with its prefix; files of a glob in
 * sorted order; a glob matching nothing is fine, a plain path that cannot be
 * read is an error). Variables are kept as text ($name, ${name}); the
 * semantic layer compiles them. Every node records its file and line.
 */
#ifndef RP_CONF_AST_H
#define RP_CONF_AST_H

#include <stddef.h>

typedef struct rp_conf_node_s rp_conf_node_t;

struct rp_conf_node_s {
    char *name;            /* directive name */
    char **args;           /* nargs NUL-terminated strings, quotes removed */
    unsigned char *quoted; /* quoted[i] != 0 when args[i] was quoted */
    size_t nargs;
    const char *file;         /* owned by the tree; shared by nodes of one file */
    int line;                 /* line of the directive name */
    int is_block;             /* 1 when followed by { ... } */
    rp_conf_node_t *children; /* block body */
    size_t nchildren;
};

typedef struct {
    rp_conf_node_t root; /* name "", is_block 1, children = top-level */
    void *priv;          /* storage owned by the parser */
} rp_conf_tree_t;

/* Errors are written into err as "<sentence> in <file>:<line>", e.g.
 * "unexpected \"}\" in /etc/rampart/rampart.conf:12",
 * "unexpected end of file, expecting \";\" or \"}\" in x.conf:40",
 * "open() \"/x/y.conf\" failed (2: No such file or directory) in a.conf:3".
 * Includes nest at most 16 deep (deeper is an error: include loop). */
int rp_conf_parse_file(const char *path, rp_conf_tree_t *tree, char *err, size_t errlen);
/* Same, from memory; `name` is used as the file name in errors and as the
 * base for relative includes (its directory). */
int rp_conf_parse_string(const char *name, const char *text, size_t len, rp_conf_tree_t *tree,
                         char *err, size_t errlen);
void rp_conf_tree_free(rp_conf_tree_t *tree);

#endif
