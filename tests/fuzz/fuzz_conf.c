/* libFuzzer target for the configuration parser (src/conf/ast.c).
 *
 * Feeds the input to rp_conf_parse_string (not NUL-terminated, so reads
 * past len are caught by ASan) and walks every tree that parses: each node
 * must carry a file and a positive line, every argument must be a
 * NUL-terminated string inside its allocation, and the args array must end
 * with NULL. Relative includes resolve against a directory that does not
 * exist; and when the input holds the word "include", every '/' becomes
 * '_', so no absolute path (/dev/tty, /dev/zero) can be opened: the lexer
 * keeps a backslash before '/', so no escape can make one either.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ast.h"

static size_t walk(const rp_conf_node_t *n, int depth, size_t maxlen)
{
    size_t count = 1;
    if (!n->name || !n->file || n->line <= 0)
        abort();
    if (strlen(n->name) > maxlen)
        abort();
    if (n->nargs && (!n->args || !n->quoted))
        abort();
    for (size_t i = 0; i < n->nargs; i++) {
        if (!n->args[i] || strlen(n->args[i]) > maxlen || n->quoted[i] > 1)
            abort();
    }
    if (n->args && n->args[n->nargs] != NULL)
        abort();
    if (!n->is_block && (n->nchildren || n->children))
        abort();
    if (n->nchildren && !n->children)
        abort();
    if (!strcmp(n->name, "include")) /* includes never stay in the tree */
        abort();
    for (size_t i = 0; i < n->nchildren; i++) {
        if (n->children[i].line < n->line)
            abort(); /* children come after their parent's name */
        count += walk(&n->children[i], depth + 1, maxlen);
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy makes any read past `size` an ASan error */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    if (memmem(text, size, "include", 7))
        for (size_t i = 0; i < size; i++)
            if (text[i] == '/')
                text[i] = '_';
    rp_conf_tree_t tree;
    char err[512];
    err[0] = 'x';
    if (rp_conf_parse_string("/nonexistent-rampart-fuzz/f.conf", text, size, &tree, err,
                             sizeof(err)) == 0) {
        if (!tree.root.is_block || !tree.root.file)
            abort();
        for (size_t i = 0; i < tree.root.nchildren; i++)
            walk(&tree.root.children[i], 1, size);
        rp_conf_tree_free(&tree);
    } else {
        /* every error names its place */
        if (!memchr(err, '\0', sizeof(err)) || !strstr(err, " in /nonexistent-rampart-fuzz/"))
            abort();
        if (tree.priv)
            abort();
    }
    free(text);
    return 0;
}
