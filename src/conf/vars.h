/* Variables ($name) and string templates with variables.
 *
 * A template is compiled once at configuration time into literal and
 * variable parts; evaluating it asks a getter supplied by the request layer
 * for each variable's value. This module knows variable names, not requests.
 */
#ifndef RP_CONF_VARS_H
#define RP_CONF_VARS_H

#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

enum rp_var_id {
    RP_VAR_NONE = 0,
    RP_VAR_HOST,
    RP_VAR_REMOTE_ADDR,
    RP_VAR_REMOTE_PORT,
    RP_VAR_SERVER_ADDR,
    RP_VAR_SERVER_PORT,
    RP_VAR_SERVER_NAME,
    RP_VAR_SERVER_PROTOCOL,
    RP_VAR_SCHEME,
    RP_VAR_HTTPS,
    RP_VAR_REQUEST_URI,
    RP_VAR_URI,  /* also $document_uri */
    RP_VAR_ARGS, /* also $query_string */
    RP_VAR_IS_ARGS,
    RP_VAR_REQUEST_METHOD,
    RP_VAR_REQUEST,
    RP_VAR_REQUEST_LENGTH,
    RP_VAR_REQUEST_TIME,
    RP_VAR_REQUEST_ID,
    RP_VAR_CONTENT_LENGTH,
    RP_VAR_CONTENT_TYPE,
    RP_VAR_PROXY_HOST,
    RP_VAR_PROXY_PORT,
    RP_VAR_PROXY_ADD_X_FORWARDED_FOR,
    RP_VAR_STATUS,
    RP_VAR_BODY_BYTES_SENT,
    RP_VAR_BYTES_SENT,
    RP_VAR_UPSTREAM_ADDR,
    RP_VAR_UPSTREAM_STATUS,
    RP_VAR_UPSTREAM_RESPONSE_TIME,
    RP_VAR_UPSTREAM_CONNECT_TIME,
    RP_VAR_UPSTREAM_HEADER_TIME,
    RP_VAR_UPSTREAM_CACHE_STATUS,
    RP_VAR_TIME_LOCAL,
    RP_VAR_TIME_ISO8601,
    RP_VAR_MSEC,
    RP_VAR_CONNECTION,
    RP_VAR_CONNECTION_REQUESTS,
    RP_VAR_REMOTE_USER,
    RP_VAR_SSL_PROTOCOL,
    RP_VAR_SSL_CIPHER,
    RP_VAR_SSL_SERVER_NAME,
    RP_VAR_SSL_SESSION_REUSED,
    RP_VAR_SSL_CLIENT_VERIFY,
    RP_VAR_SSL_CLIENT_S_DN,
    RP_VAR_SSL_CLIENT_FINGERPRINT,
    RP_VAR_HOSTNAME,
    RP_VAR_PID,
    RP_VAR_GZIP_RATIO,
    /* prefixed: ref->arg holds the rest of the name */
    RP_VAR_HTTP_,          /* $http_user_agent: request field, '_' matches '-' */
    RP_VAR_SENT_HTTP_,     /* response field sent to the client */
    RP_VAR_UPSTREAM_HTTP_, /* response field from the backend */
    RP_VAR_COOKIE_,        /* $cookie_NAME */
    RP_VAR_ARG_,           /* $arg_NAME */
    RP_VAR_CAPTURE,        /* $1..$9: ref->index */
    RP_VAR_NAMED_CAPTURE,  /* (?<name>...) of a server_name or location
                              regex: ref->arg is the name as written */
    RP_VAR_MAP,            /* a `map` result: ref->map */
};

typedef struct rp_map_s rp_map_t;

typedef struct {
    int id;              /* enum rp_var_id */
    rp_str_t arg;        /* for prefixed variables: suffix, lower-case */
    int index;           /* RP_VAR_CAPTURE: 0..9 */
    const rp_map_t *map; /* RP_VAR_MAP */
} rp_var_ref_t;

typedef struct {
    rp_str_t lit; /* literal text when var.id == RP_VAR_NONE */
    rp_var_ref_t var;
} rp_tpl_part_t;

typedef struct {
    rp_str_t raw; /* source text */
    rp_tpl_part_t *parts;
    size_t nparts;
    int is_const; /* no variables: raw is the value */
} rp_tpl_t;

/* Supplied by the request layer: stores the value of `ref` in *out (memory
 * from `a` or memory that outlives the evaluation). Returns RP_OK, or
 * RP_DECLINED when the variable has no value (evaluates to "").
 * Must not be called for RP_VAR_MAP (rp_tpl_eval resolves maps). */
typedef int (*rp_var_get_fn)(void *ctx, const rp_var_ref_t *ref, rp_arena_t *a, rp_str_t *out);

/* Map entry: exact, hostname wildcard (`hostnames` maps only) or regex.
 * Exact keys match case-insensitively, as nginx's map hash does; use a `~`
 * regex for a case-sensitive match. */
typedef struct {
    rp_str_t key;
    void *re; /* pcre2_code * when regex, else NULL */
    rp_tpl_t *value;
} rp_map_entry_t;

struct rp_map_s {
    rp_str_t name;           /* result variable name without '$' */
    rp_tpl_t *source;        /* e.g. "$http_upgrade" */
    rp_map_entry_t *entries; /* in config order */
    size_t nentries;
    rp_tpl_t *deflt; /* value when nothing matches ("" if unset) */
    int hostnames;   /* `hostnames;`: keys may be *.example.com / .example.com */
};

/* Names registered by `map` blocks; compile looks them up. */
typedef struct {
    rp_map_t **maps;
    size_t nmaps;
    char **captures; /* named groups of the config's regexes */
    size_t ncaptures;
} rp_var_registry_t;

/* Looks a variable name up (without '$'). Returns RP_OK and fills ref, or
 * RP_ERROR for an unknown name. `reg` may be NULL. Builtins win over maps,
 * maps over prefixed names. This function has no arena: for prefixed names
 * ref->arg points into `name` as written; rp_tpl_compile stores a
 * lower-case copy, which is what the request layer sees. */
int rp_var_lookup(rp_str_t name, const rp_var_registry_t *reg, rp_var_ref_t *ref);

/* Compiles text with $name and ${name} references. "$$" is not special (as
 * in nginx a lone '$' not followed by a name char is literal). Unknown
 * variables fail with err = "unknown \"name\" variable". Memory from `a`. */
rp_tpl_t *rp_tpl_compile(rp_arena_t *a, const char *text, const rp_var_registry_t *reg, char *err,
                         size_t errlen);

/* Evaluates into memory from `out_arena`. Returns RP_OK or RP_ERROR (out of
 * memory). */
int rp_tpl_eval(const rp_tpl_t *t, rp_var_get_fn get, void *ctx, rp_arena_t *out_arena,
                rp_str_t *out);

/* Evaluates a map against the current request: exact keys first, then
 * (hostnames) the longest matching `*.x`/`.x` wildcard, then the longest
 * `x.*` wildcard, then regexes in config order, else the default. When a
 * regex entry matches, $0..$9 in its value are that match's groups (as in
 * nginx); other variables, and captures in the other values, go to `get`. */
int rp_map_eval(const rp_map_t *m, rp_var_get_fn get, void *ctx, rp_arena_t *out_arena,
                rp_str_t *out);

/* Makes an empty map `map <source> $name { }` in arena `a` (which owns it:
 * compiled regexes are freed by an arena cleanup). NULL on out-of-memory. */
rp_map_t *rp_map_new(rp_arena_t *a, rp_str_t name, rp_tpl_t *source);

/* Adds one line of a map block. `key` as written (quotes removed);
 * key_quoted is accepted for the record, quotes have no meaning for map
 * keys in nginx either. With value NULL the line had one word: `hostnames`
 * sets the flag (must precede wildcard keys), `volatile` is accepted and
 * ignored, anything else is an error. `default` sets the default; a leading
 * `~` makes a regex (`~*` caseless) compiled now with PCRE2; a leading `\`
 * is dropped so `\default` or `\~x` are exact keys. Returns RP_OK, or
 * RP_ERROR with a sentence in err (the caller appends file:line). */
int rp_map_add(rp_arena_t *a, rp_map_t *m, const char *key, int key_quoted, rp_tpl_t *value,
               char *err, size_t errlen);

#endif
